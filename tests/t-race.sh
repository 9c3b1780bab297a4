# Confinement against a racing attacker: the user who owns an image's
# directory runs a loop beside a root-run nobounce -- swapping a file for a
# link (renameat2 RENAME_EXCHANGE) or rewriting a name in place -- to make
# it read a root-only host file into the user's image, or write a mounted
# device.  Each race runs $RACE_RUNS times; every host file outside the
# target is hashed before and after, the image is searched for the secret's
# bytes, and strace shows what qemu-nbd opened.  Then what a race needs no
# luck for: links made by another user, FUSE mounts and loop devices of an
# image file, a newline in its name, a journal with a second name, a bind
# mount inside a directory target, and who may read what a fix copies.
. "$TESTS/lib.sh"
[ "$(id -u)" = 0 ] || { skip "races against a root-run nobounce: needs root"; exit 0; }
command -v setpriv >/dev/null || { skip "needs setpriv"; exit 0; }
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
RUNS=${RACE_RUNS:-20}
export TMPDIR="$PWD/tmp"
mkdir -p "$TMPDIR" host img
chmod 755 "$PWD" img
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# racer MODE ARGS...: the attacker's loop, as nobody, in the background.  Not
# "asnobody race ... &": that backgrounds a subshell, and killing it would
# leave the loop running into the next step.  $rp is the loop's own pid.
racer() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$RACE" "$@" & rp=$!; }
unrace() { kill "$rp" 2>/dev/null; wait "$rp" 2>/dev/null; }

"$HIVES/mkimage" "$NTFSPUT" pristine.img mbr "$FIXTURES/sbs2003"
SECRET=$PWD/host/secret
# a root-only file, as large as an extent, full of a marker
yes 'SECRET-MARKER-0123456789' | head -c "$(stat -c %s pristine.img)" >"$SECRET"
chmod 600 "$SECRET"

hostsum() {
	find host -type f -print0 | sort -z | xargs -0 -r sha256sum
}
hostsum >host.snap
host_same() {
	hostsum >host.now
	if cmp -s host.snap host.now; then pass "$1: every host file is unchanged"; else
		flunk "$1: a host file changed: $(diff host.snap host.now | head -3 | tr '\n' ' ')"
	fi
}
# nbd_opened SECRET TRACE: how many times a qemu-nbd in the strace -f -y
# trace opened SECRET (by any name: -y shows what a descriptor is)
nbd_opened() {
	awk -v s="$1" '/execve\(".*qemu-nbd"/ { nbd[$1] = 1 }
		/clone3?(\(| resumed)/ && ($1 in nbd) && match($0, /= [0-9]+$/) { nbd[substr($0, RSTART + 2)] = 1 }
		/open(at)?(\(| resumed)/ && ($1 in nbd) && index($0, s) && !/= -1/ { n++ }
		END { print n + 0 }' "$2"
}
# rcs_ok DESC FILE: every exit status recorded in FILE is 0, 1 or 3 (done,
# work found, refused), never a crash
rcs_ok() {
	if grep -qvE '^[013]$' "$2"; then flunk "$1: exit statuses $(sort "$2" | uniq -c | tr '\n' ' ')"; else
		pass "$1: every run finished or refused ($(sort "$2" | uniq -c | tr -s ' \n' ' '))"
	fi
}

# ---- a backing VMDK's extent swapped for a link to a root-only file ----
mkdir -p img/u && chown nobody:nogroup img/u
asnobody qemu-img convert -O vmdk -o subformat=monolithicFlat pristine.img img/u/base.vmdk
asnobody ln -s "$SECRET" img/u/lnk
: >rcs
won=0 opened=0 served=0
for i in $(seq "$RUNS"); do
	rm -f img/u/over.qcow2
	asnobody qemu-img create -q -f qcow2 -o cluster_size=2M -b base.vmdk -F vmdk img/u/over.qcow2
	racer swap 3 img/u/base-flat.vmdk img/u/lnk
	strace -f -qq -y -e trace=openat,open,execve,clone,clone3 -o trace "$NOBOUNCE" fix -q img/u/over.qcow2 >out 2>err
	echo $? >>rcs
	unrace
	[ -L img/u/base-flat.vmdk ] && "$RACE" swap 0 img/u/base-flat.vmdk img/u/lnk
	grep -q SECRET-MARKER img/u/over.qcow2 && won=$((won + 1))
	opened=$((opened + $(nbd_opened "$SECRET" trace)))
	grep -q 'execve(".*qemu-nbd"' trace && served=$((served + 1))
done
check "VMDK extent swapped for a link to a root-only file, $RUNS runs: the secret never reached the image (won $won)" test $won = 0
check "VMDK extent swapped: qemu-nbd (started in $served runs) never opened the secret (opened $opened)" test "$opened" = 0
rcs_ok "VMDK extent swapped for a link" rcs
host_same "VMDK extent swapped for a link"

# ---- the same VMDK's descriptor rewritten in place: extent name <-> secret ----
mkdir -p img/u2 && chown nobody:nogroup img/u2
# an extent name as long as the secret's path, so that the one can be
# written over the other
long=$(printf '%*s' $((${#SECRET} - 10)) '' | tr ' ' x)-flat.vmdk
asnobody cp img/u/base-flat.vmdk "img/u2/$long"
sed "s|\"base-flat.vmdk\"|\"$long\"|" img/u/base.vmdk >desc.tmp
asnobody cp desc.tmp img/u2/base.vmdk
off=$(grep -obUa "\"$long\"" img/u2/base.vmdk | head -1 | cut -d: -f1)
: >rcs
won=0 opened=0 served=0
for i in $(seq "$RUNS"); do
	rm -f img/u2/over.qcow2
	asnobody qemu-img create -q -f qcow2 -o cluster_size=2M -b base.vmdk -F vmdk img/u2/over.qcow2
	racer flip 3 img/u2/base.vmdk $((off + 1)) "$long" "$SECRET"
	strace -f -qq -y -e trace=openat,open,execve,clone,clone3 -o trace "$NOBOUNCE" fix -q img/u2/over.qcow2 >out 2>err
	echo $? >>rcs
	unrace
	asnobody cp desc.tmp img/u2/base.vmdk
	grep -q SECRET-MARKER img/u2/over.qcow2 && won=$((won + 1))
	opened=$((opened + $(nbd_opened "$SECRET" trace)))
	grep -q 'execve(".*qemu-nbd"' trace && served=$((served + 1))
done
check "VMDK descriptor rewritten in place (extent <-> secret), $RUNS runs: the secret never reached the image (won $won)" test $won = 0
check "VMDK descriptor rewritten in place: qemu-nbd (started in $served runs) never opened the secret (opened $opened)" test "$opened" = 0
rcs_ok "VMDK descriptor rewritten in place" rcs
host_same "VMDK descriptor rewritten in place"

# ---- a qcow2 header's external-data-file bit flipped after judging ----
mkdir -p img/u3 && chown nobody:nogroup img/u3
SECRET2=$PWD/host/secret2
qemu-img create -q -f qcow2 -o data_file="$SECRET2",data_file_raw=on img/u3/d.qcow2 64M
rm -f "$SECRET2"
cp "$SECRET" "$SECRET2" && chmod 600 "$SECRET2"
chown nobody:nogroup img/u3/d.qcow2
hostsum >host.snap
b79=$(od -An -tu1 -j 79 -N 1 img/u3/d.qcow2 | tr -d ' ')
on=$(printf '\\x%02x' "$b79")
off_=$(printf '\\x%02x' $((b79 & ~4)))
"$RACE" flip 0 img/u3/d.qcow2 79 "$off_" "$off_"
: >rcs
opened=0
for i in $(seq "$RUNS"); do
	racer flip 3 img/u3/d.qcow2 79 "$off_" "$on"
	strace -f -qq -e trace=openat,open -o trace "$NOBOUNCE" check -q img/u3/d.qcow2 >out 2>err
	echo $? >>rcs
	unrace
	grep -F "$SECRET2" trace | grep -qv '= -1' && opened=$((opened + 1))
done
check "qcow2 data-file bit flipped in a loop, $RUNS check runs: no process opened the secret (opened $opened)" test $opened = 0
rcs_ok "qcow2 data-file bit flipped" rcs
host_same "qcow2 data-file bit flipped"

# ---- a raw image swapped for a link to a mounted block device ----
if L=$(losetup -f --show "$(truncate -s 64M host/ext.img && echo host/ext.img)" 2>/dev/null); then
	# read-only: the kernel itself writes nothing to it meanwhile
	mkfs.ext4 -q "$L" && mkdir -p mnt && mount -o ro "$L" mnt && sync
	hostsum >host.snap
	devsum=$(sha256sum <"$L")
	mkdir -p img/u4 && chown nobody:nogroup img/u4
	asnobody ln -s "$L" img/u4/lnk
	: >rcs
	for i in $(seq "$RUNS"); do
		[ -L img/u4/mine.raw ] && "$RACE" swap 0 img/u4/mine.raw img/u4/lnk
		asnobody cp pristine.img img/u4/mine.raw
		racer swap 3 img/u4/mine.raw img/u4/lnk
		"$NOBOUNCE" fix -q img/u4/mine.raw >out 2>err
		echo $? >>rcs
		unrace
	done
	sync
	[ -L img/u4/mine.raw ] && "$RACE" swap 0 img/u4/mine.raw img/u4/lnk
	check "raw image swapped for a link to a mounted device, $RUNS runs: the device is unchanged" \
		test "$(sha256sum <"$L")" = "$devsum"
	rcs_ok "raw image swapped for a link to a mounted device" rcs
	nb 3 "a link another user made to a mounted device: refused" fix --json img/u4/lnk
	jqok "a link another user made: unsafe-path, names the link's maker" \
		'.error.kind == "unsafe-path" and (.error.message | test("symbolic link that uid 65534 made"))' out
	umount mnt
	losetup -d "$L"
	rm -f host/ext.img
	hostsum >host.snap
else
	skip "a mounted loop device: cannot attach one here"
fi

# ---- links, mounts and names that need no race ----
cp pristine.img host/roots.raw
hostsum >host.snap
asnobody ln -s "$PWD/host/roots.raw" img/u/theirs.raw
nb 3 "another user's link to root's image: refused" fix --json img/u/theirs.raw
jqok "another user's link to root's image: unsafe-path" '.error.kind == "unsafe-path"' out
ln -s "$PWD/host/roots.raw" img/mine-link.raw
nb 1 "root's own link to root's image: followed" check -q img/mine-link.raw
host_same "links to root's image"

nl=$(printf 'img/new\nline.raw')
cp pristine.img "$nl"
if L=$(losetup -f --show "$nl" 2>/dev/null); then
	cp "$nl" before.bin
	nb 3 "an image whose name holds a newline, attached to a loop device: refused" fix --json "$nl"
	jqok "a newline in the name: in-use, names the loop device" ".error.kind == \"in-use\" and (.error.message | test(\"$L\"))" out
	check "a newline in the name: the image is byte-identical" cmp -s "$nl" before.bin
	losetup -d "$L"
else
	skip "loop devices: cannot attach one here"
fi

START=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].size')
dd if=pristine.img of=img/p.ntfs bs=512 skip="$START" count="$SIZE" status=none
if [ -e /dev/fuse ] && command -v ntfs-3g >/dev/null && mkdir -p fmnt && ntfs-3g img/p.ntfs fmnt 2>/dev/null; then
	cp img/p.ntfs before.bin
	nb 3 "an NTFS image mounted by ntfs-3g (FUSE, no loop device): fix refused" fix --json img/p.ntfs
	jqok "an image mounted by ntfs-3g: in-use" '.error.kind == "in-use"' out
	nb 3 "an image mounted by ntfs-3g: check refused too (it may be written under us)" check --json img/p.ntfs
	umount fmnt
	check "an image mounted by ntfs-3g: byte-identical" cmp -s img/p.ntfs before.bin
else
	skip "ntfs-3g FUSE mounts: no /dev/fuse or ntfs-3g here"
fi
exec 7<img/p.ntfs
nb 3 "an image another program holds open: fix refused (no lease)" fix --json img/p.ntfs
jqok "an image another program holds open: in-use, says why" '.error.kind == "in-use" and (.error.message | test("lease"))' out
nb 1 "an image another program only reads: check works beside it" check -q img/p.ntfs
exec 7<&-
cp pristine.img img/two.raw
ln img/two.raw img/two-names.raw
nb 3 "an image with two names: fix refused" fix --json img/two.raw
jqok "an image with two names: unsafe-path" '.error.kind == "unsafe-path" and (.error.message | test("2 names"))' out
rm img/two-names.raw

fresh sbs2003 vol
nb 0 "directory target: fix" fix -q vol
j=$(ls vol/WINDOWS/nobounce-*.journal)
ln "$j" host/snapshot.journal
hostsum >host.snap
nb 3 "a journal with a second name: commit refused" commit --json vol
jqok "a journal with a second name: unsafe-path" '.error.kind == "unsafe-path" and (.error.message | test("2 names"))' out
nb 3 "a journal with a second name: undo refused" undo --json vol
host_same "a journal with a second name"
rm host/snapshot.journal
nb 0 "the second name gone: undo" undo -q vol

fresh sbs2003 vol
mkdir -p host/other
cp -a vol/WINDOWS/system32/inetsrv/. host/other/
hostsum >host.snap
if mount --bind host/other vol/WINDOWS/system32/inetsrv 2>/dev/null; then
	nb 3 "a bind mount inside a directory target: refused" fix --json vol
	jqok "a bind mount inside: unsafe-path, says unmount" '.error.kind == "unsafe-path" and (.error.message | test("mounted inside the volume"))' out
	umount vol/WINDOWS/system32/inetsrv
	host_same "a bind mount inside a directory target"
else
	skip "bind mounts: not allowed here"
fi

# ---- a directory target's config swapped with another directory in a loop ----
# The attacker owns system32 and swaps config with a copy of its own while
# root fixes the volume.  The directories are resolved once and held, so a
# run writes whichever one was named config when it looked, whole and with
# its journal, and never both: after each run at most one of the two has
# changed, into exactly what a clean fix makes, and put back under the name
# config, undo returns it to the originals exactly.
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
treesum ref/WINDOWS/system32/config >fixed.snap
treesum "$FIXTURES/sbs2003/WINDOWS/system32/config" >orig.snap
fresh sbs2003 vol
chown nobody:nogroup vol/WINDOWS/system32
cp -a vol/WINDOWS/system32/config vol/WINDOWS/system32/decoy
chown -R nobody:nogroup vol/WINDOWS/system32/decoy
: >rcs
sound=0 decoys=0
for i in $(seq "$RUNS"); do
	racer swap 3 vol/WINDOWS/system32/config vol/WINDOWS/system32/decoy
	"$NOBOUNCE" fix -q vol >out 2>err
	echo $? >>rcs
	unrace
	changed= ok=1
	for d in config decoy; do
		treesum vol/WINDOWS/system32/$d >d.snap
		cmp -s d.snap orig.snap && continue
		cmp -s d.snap fixed.snap || ok=0
		[ -z "$changed" ] || ok=0
		changed=$d
	done
	[ "$changed" = decoy ] && { decoys=$((decoys + 1)); "$RACE" swap 0 vol/WINDOWS/system32/config vol/WINDOWS/system32/decoy; }
	"$NOBOUNCE" undo -q vol >out 2>err || ok=0
	treesum vol/WINDOWS/system32/config >d.snap
	cmp -s d.snap orig.snap || ok=0
	[ $ok = 1 ] && sound=$((sound + 1))
done
rcs_ok "config swapped with another directory" rcs
check "config swapped with another directory, $RUNS runs: each wrote one of the two, whole, and undoes to the originals ($sound; the attacker's copy $decoys times)" test "$sound" = "$RUNS"
host_same "config swapped with another directory"

# ---- who may read what a fix copies ----
qemu-img convert -O qcow2 pristine.img host/private.qcow2
chmod 600 host/private.qcow2
hostsum >host.snap
qemu-img create -q -f qcow2 -b "$PWD/host/private.qcow2" -F qcow2 img/pub.qcow2
chmod 644 img/pub.qcow2
cp img/pub.qcow2 before.bin
nb 3 "root's world-readable overlay of a private file: fix refused" fix --json img/pub.qcow2
jqok "a world-readable overlay of a private file: says who may read what" '.error.kind == "unsafe-image" and (.error.message | test("everyone may read"))' out
check "a world-readable overlay of a private file: byte-identical" cmp -s img/pub.qcow2 before.bin
nb 1 "a world-readable overlay of a private file: check still works" check -q img/pub.qcow2
chmod 600 img/pub.qcow2
nb 0 "the overlay made as private as its backing file: fixed" fix -q img/pub.qcow2
host_same "who may read what a fix copies"
