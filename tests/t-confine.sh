# What an image may make nobounce open, tried as an attacker would: files an
# image refers to (backing files, qcow2 data files, VMDK extents, a raw disk
# whose first sector pretends to be another format, differencing VHD/VHDX),
# hard links, disks in use, damaged or unusual partition tables, leftovers
# and output.  Every refusal: exit 3, the reason, the target byte-identical
# and every host file outside it byte-identical (hashed before and after).
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
F=$NOBOUNCE_FAULTS_BIN
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"
export TMPDIR="$PWD/tmp"
mkdir -p "$TMPDIR" host img
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1

fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
"$HIVES/mkimage" "$NTFSPUT" pristine.img mbr "$FIXTURES/sbs2003"
START=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].size')

# host_snap / host_same DESC: every file under host/ and img/ -- all that an
# image could reach -- hashed, but for the target and the files it may
# write, listed in $TGT
hostsum() {
	find host img -type f -print0 | sort -z | xargs -0 -r sha256sum |
		awk -v t=" $TGT " '{ if (index(t, " " $2 " ") == 0) print }'
}
host_snap() {
	hostsum >host.snap
}
host_same() {
	hostsum >host.now
	if cmp -s host.snap host.now; then pass "$1: every host file outside the target is unchanged"; else
		flunk "$1: a host file changed: $(diff host.snap host.now | head -3 | tr '\n' ' ')"
	fi
}

# refused DESC KIND PATTERN [ARGS...] TARGET: fix exits 3 with KIND and a
# message matching PATTERN; the target and every host file are unchanged
refused() {
	d=$1 kind=$2 pat=$3
	shift 3
	eval "tgt=\${$#}"
	TGT=$tgt
	cp "$tgt" before.bin
	host_snap
	nb 3 "$d: refused" fix --json "$@"
	jqok "$d: error kind $kind" ".status == \"error\" and .error.kind == \"$kind\"" out
	has "$d: the message says why and what to do" err "$pat"
	check "$d: the target is byte-identical" cmp -s "$tgt" before.bin
	host_same "$d"
}

# same_files DESC RAW REFDIR: the three files in RAW's first partition
# (ntfscat) equal REFDIR's
same_files() {
	dd if="$2" of=p.ntfs bs=512 skip="$START" count="$SIZE" status=none
	ok=1
	for f in $FILES; do
		ntfscat p.ntfs "$f" >got 2>/dev/null && cmp -s got "$3/$f" || ok=0
	done
	if [ $ok = 1 ]; then pass "$1"; else flunk "$1"; fi
}
# fixed_ok DESC IMAGE [FMT]: the image reads back (qemu-img, run beside it:
# qemu takes a data file's relative name from where it runs) as the
# directory fix
fixed_ok() {
	(cd "$(dirname "$2")" && qemu-img convert -f "${3:-qcow2}" -O raw "$(basename "$2")" "$OLDPWD/back.img")
	same_files "$1" back.img ref
}

cp pristine.img host/victim.raw
cp pristine.img host/victim2.raw

# ---- qcow2 data files ----
qemu-img create -q -f qcow2 -o data_file="$PWD/host/victim.raw",data_file_raw=on img/data-out.qcow2 64M
# (qemu-img create rewrote the victim as it made the image: hashed from here)
refused "qcow2 whose data file is a host file" unsafe-image \
	"names $PWD/host/victim.raw as its data file, which is not in the image's own directory" \
	img/data-out.qcow2
cp img/data-out.qcow2 img/disguised.img
refused "a raw disk whose first sector is a qcow2 header with a data file" unsafe-image \
	"looks like a qcow2 image that refers to other files.*give --format qcow2.*--format raw" \
	img/disguised.img
refused "the same, with --format qcow2: the data file rule" unsafe-image \
	"not in the image's own directory" --format qcow2 img/disguised.img
nb 3 "the same, with --format raw: read as the raw disk it is" check --format raw --json img/disguised.img
jqok "the same, with --format raw: no Windows in it, nothing else opened; says what to give" '.error.kind == "no-windows" and (.error.message | test("read as raw.*give --format"))' out

mkdir -p img/dd
# (qemu-img takes data_file relative to where it runs; the image, to itself)
(cd img/dd && qemu-img convert -O qcow2 -o data_file=data.raw,data_file_raw=on ../../pristine.img own.qcow2)
TGT="img/dd/own.qcow2 img/dd/data.raw"
host_snap
nb 0 "qcow2 with its own data file beside it: fix" fix img/dd/own.qcow2
fixed_ok "qcow2 with its own data file: the files read back as the directory fix" img/dd/own.qcow2
host_same "qcow2 with its own data file"
check "qcow2 with its own data file: qemu-img check" sh -c 'cd img/dd && qemu-img check -q own.qcow2' 

for how in symlink hardlink mode owner; do
	rm -rf img/d2 && mkdir img/d2
	(cd img/d2 && qemu-img convert -O qcow2 -o data_file=data.raw,data_file_raw=on ../../pristine.img x.qcow2)
	case $how in
	symlink) rm img/d2/data.raw && ln -s "$PWD/host/victim2.raw" img/d2/data.raw
		why="it is a symbolic link" ;;
	hardlink) ln img/d2/data.raw host/data-link.raw
		why="more than one link" ;;
	mode) chmod 444 img/d2/data.raw
		why="its mode forbids writing" ;;
	owner) chown nobody img/d2/data.raw
		why="belongs to another user" ;;
	esac
	[ $how = owner ] && [ $ROOT = 0 ] && { skip "data file of another owner: needs root"; continue; }
	refused "qcow2 whose data file beside it is refused ($how)" unsafe-image "$why" img/d2/x.qcow2
	rm -f host/data-link.raw
done

# ---- VMDK ----
qemu-img convert -O vmdk -o subformat=monolithicFlat pristine.img img/flat.vmdk
sed "s|\"flat-flat.vmdk\"|\"$PWD/host/victim.raw\"|" img/flat.vmdk >img/evil.vmdk
refused "VMDK whose extent is a host file" unsafe-image "does not lie beside its descriptor" img/evil.vmdk
sed "s|\"flat-flat.vmdk\"|\"../host/victim.raw\"|" img/flat.vmdk >img/evil2.vmdk
refused "VMDK whose extent climbs out with .." unsafe-image "does not lie beside its descriptor" img/evil2.vmdk
{
	printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
	printf 'createType="monolithicFlat"\nRW 137216 FLAT "%s" 0\n' "$PWD/host/victim.raw"
} >img/desc.img
truncate -s 1M img/desc.img
refused "a raw disk whose first sector is a VMDK descriptor" unsafe-image \
	"looks like a vmdk image that refers to other files" img/desc.img

TGT="img/flat.vmdk img/flat-flat.vmdk"
host_snap
nb 0 "monolithicFlat VMDK (descriptor + extent beside it): fix" fix img/flat.vmdk
fixed_ok "monolithicFlat VMDK: the files read back as the directory fix" img/flat.vmdk vmdk
host_same "monolithicFlat VMDK"
mkdir img/split
qemu-img convert -O vmdk -o subformat=twoGbMaxExtentSparse pristine.img img/split/s.vmdk
TGT=$(echo img/split/*)
host_snap
nb 0 "split VMDK: fix" fix img/split/s.vmdk
fixed_ok "split VMDK: the files read back as the directory fix" img/split/s.vmdk vmdk
host_same "split VMDK"

# An extent swapped for a link to a host file after nobounce judged it:
# qemu-nbd never looks the name up (its copy of the descriptor names the
# descriptor nobounce judged), so the judged file is the one written.
if [ -x "$F" ]; then
	rm -rf img/race && mkdir img/race
	qemu-img convert -O vmdk -o subformat=monolithicFlat pristine.img img/race/r.vmdk
	TGT="img/race/r.vmdk img/race/r-flat.vmdk img/race/moved.raw"
	host_snap
	NOBOUNCE_FAULT=image-judged:0 NOBOUNCE_FAULT_ACTION=stop "$F" fix img/race/r.vmdk >out 2>err &
	pid=$!
	for i in $(seq 50); do [ "$(ps -o stat= -p $pid | cut -c1)" = T ] && break; sleep 0.1; done
	mv img/race/r-flat.vmdk img/race/moved.raw
	ln -s "$PWD/host/victim.raw" img/race/r-flat.vmdk
	kill -CONT $pid
	wait $pid
	check "an extent swapped for a link after it was judged: the judged file is fixed ($?)" test $? = 0
	host_same "an extent swapped for a link after it was judged"
	rm img/race/r-flat.vmdk
	mv img/race/moved.raw img/race/r-flat.vmdk
	fixed_ok "an extent swapped for a link: the judged extent holds the fix" img/race/r.vmdk vmdk
else
	skip "the extent race needs the fault build"
fi

# ---- backing files ----
qemu-img convert -O qcow2 pristine.img img/tpl.qcow2
qemu-img create -q -f qcow2 -b tpl.qcow2 -F qcow2 img/clone.qcow2
TGT=img/clone.qcow2
host_snap
nb 0 "a linked clone beside its template: fix" fix img/clone.qcow2
fixed_ok "a linked clone: the files read back as the directory fix" img/clone.qcow2
host_same "a linked clone (its template among them)"
qemu-img create -q -f qcow2 -u -b b.qcow2 -F qcow2 img/a.qcow2 64M
qemu-img create -q -f qcow2 -u -b a.qcow2 -F qcow2 img/b.qcow2 64M
refused "a backing chain that loops" unsafe-image "loops back" img/a.qcow2
cp img/data-out.qcow2 img/base.img
qemu-img create -q -f qcow2 -u -b base.img -F qcow2 img/over.qcow2 64M
# qemu-img no longer writes a backing file without its format: take the
# format's header extension (0xE2792ACA) away, as older tools left it
ext=$(LC_ALL=C grep -obUaP '\xe2\x79\x2a\xca' img/over.qcow2 | head -1 | cut -d: -f1)
printf '\000\000\022\064' | dd of=img/over.qcow2 bs=1 seek="$ext" conv=notrunc status=none
refused "a backing file of no stated format whose first sector pretends" unsafe-image \
	"base.img looks like a qcow2 image that refers to other files" img/over.qcow2
if [ $ROOT = 1 ]; then
	chmod 755 "$PWD" img
	mkdir -p host/private img/pub
	chmod 700 host/private
	qemu-img convert -O qcow2 pristine.img host/private/secret.qcow2
	chmod 600 host/private/secret.qcow2
	chmod 777 img/pub
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	asnobody qemu-img create -q -f qcow2 -u -b "$PWD/host/private/secret.qcow2" -F qcow2 \
		img/pub/attack.qcow2 64M
	refused "a backing file the image's owner cannot read (run as root)" unsafe-image \
		"owner \(uid 65534\) cannot read it" img/pub/attack.qcow2
	cp img/tpl.qcow2 img/pub/tpl.qcow2
	chmod 644 img/pub/tpl.qcow2
	asnobody qemu-img create -q -f qcow2 -b tpl.qcow2 -F qcow2 img/pub/mine.qcow2
	TGT=img/pub/mine.qcow2
	host_snap
	nb 0 "another user's clone of a template they may read: fixed as root" fix img/pub/mine.qcow2
	fixed_ok "another user's clone: the files read back as the directory fix" img/pub/mine.qcow2
	host_same "another user's clone"
else
	skip "backing files of another owner: needs root"
fi

# ---- differencing VHD and VHDX ----
be32() { # VALUE: four bytes, big-endian, as printf escapes
	printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}
qemu-img create -q -f vpc -o subformat=dynamic img/diff.vhd 64M
sz=$(stat -c %s img/diff.vhd)
for off in 0 $((sz - 512)); do # footer type 4, checksum recomputed
	printf "$(be32 4)$(be32 0)" | dd of=img/diff.vhd bs=1 seek=$((off + 60)) conv=notrunc status=none
	sum=$(dd if=img/diff.vhd bs=512 skip=$((off / 512)) count=1 status=none | od -An -v -tu1 |
		awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}')
	printf "$(be32 $(((~sum) & 0xffffffff)))" | dd of=img/diff.vhd bs=1 seek=$((off + 64)) conv=notrunc status=none
done
refused "a differencing VHD" unsafe-image "is a differencing VHD disk.*Merge" img/diff.vhd
qemu-img create -q -f vhdx img/diff.vhdx 64M
meta=$(LC_ALL=C grep -obUaP 'metadata' img/diff.vhdx | head -1 | cut -d: -f1)
item=$(LC_ALL=C grep -obUaP '\x37\x67\xa1\xca\x36\xfa\x43\x4d' img/diff.vhdx | head -1 | cut -d: -f1)
ioff=$(od -An -tu4 -j $((item + 16)) -N 4 img/diff.vhdx | tr -d ' ')
printf '\002' | dd of=img/diff.vhdx bs=1 seek=$((meta + ioff + 4)) conv=notrunc status=none
refused "a differencing VHDX (HasParent)" unsafe-image "is a differencing VHDX disk" img/diff.vhdx

# the two footer copies of a dynamic VHD saying different kinds of disk
qemu-img create -q -f vpc -o subformat=dynamic img/two.vhd 64M
printf "$(be32 4)$(be32 0)" | dd of=img/two.vhd bs=1 seek=60 conv=notrunc status=none
refused "a VHD whose two footer copies disagree" unsafe-image "two footer copies disagree" img/two.vhd

# ---- hard links ----
fresh sbs2003 vol
ln vol/$SYS host/system-link
host_snap
treesum vol >snap
nb 3 "directory: SYSTEM hard-linked outside the volume: refused" fix --json vol
jqok "directory: SYSTEM hard-linked: unsafe-path" '.error.kind == "unsafe-path" and (.error.message | test("has 2 names"))' out
same_tree "directory: SYSTEM hard-linked: the volume is unchanged" vol snap
host_same "directory: SYSTEM hard-linked"
rm host/system-link
fresh sbs2003 vol
ln vol/WINDOWS/system32/inetsrv/MetaBase.xml vol/MetaBase-copy.xml
nb 3 "directory: MetaBase.xml with a second name: refused" fix vol
has "directory: MetaBase.xml with a second name: says so" err "MetaBase.xml: has 2 names"
"$HIVES/mkimage" "$NTFSPUT" img/hl.img mbr "$FIXTURES/sbs2003" -- \
	--link /WINDOWS/system32/config/SYSTEM /WINDOWS/system32/config/SOFTWARE
refused "NTFS: SYSTEM and SOFTWARE are one file (a hard link)" unsafe-path "SYSTEM: has 2 names" img/hl.img

# ---- disks in use ----
cp pristine.img img/ro.img
chmod 444 img/ro.img
refused "an image whose mode forbids writing (even for root)" read-only-image "chmod u\\+w" img/ro.img
nb 1 "an image whose mode forbids writing: check still works" check -q img/ro.img
cp pristine.img img/q.img
qemu-nbd --fork --socket="$TMPDIR/q.sock" -f raw img/q.img
refused "a raw image a running qemu writes to" in-use "virtual machine" img/q.img
nb 3 "a raw image a running qemu writes to: check refused too" check img/q.img
pkill -f "$TMPDIR/q.sock"
sleep 0.3
qemu-nbd --fork --read-only --socket="$TMPDIR/q.sock" -f raw img/q.img
nb 1 "a raw image a qemu only reads: check works beside it" check -q img/q.img
refused "a raw image a qemu only reads: fix refused" in-use "virtual machine" img/q.img
pkill -f "$TMPDIR/q.sock"
sleep 0.3
if [ $ROOT = 1 ] && L=$(losetup -f --show img/q.img 2>/dev/null); then
	refused "an image file attached to a loop device" in-use "attached to $L.*losetup -d" img/q.img
	cp pristine.img img/dev.img
	L2=$(losetup -f --show img/dev.img)
	blockdev --setrw "$L2"
	nb 0 "a block device nobody holds: fix" fix "$L2"
	losetup -d "$L2"
	same_files "a block device: the files read back as the directory fix" img/dev.img ref
	truncate -s 64M img/ext.img
	L2=$(losetup -f --show img/ext.img)
	blockdev --setrw "$L2"
	mkfs.ext4 -q "$L2" && mkdir -p mnt && mount "$L2" mnt
	nb 3 "a mounted block device: check refused" check --json "$L2"
	jqok "a mounted block device: in-use, unmount first" '.error.kind == "in-use" and (.error.message | test("Unmount"))' out
	umount mnt
	blockdev --setro "$L2"
	nb 3 "a read-only block device: fix refused" fix --json "$L2"
	jqok "a read-only block device: read-only-image" '.error.kind == "read-only-image"' out
	blockdev --setrw "$L2" # the flag outlives the loop device's binding
	losetup -d "$L2"
	losetup -d "$L"
else
	skip "loop devices: needs root and /dev/loop*"
fi

# ---- partition tables ----
"$HIVES/mkimage" "$NTFSPUT" gpt.img gpt "$FIXTURES/sbs2003"
GSTART=$(sfdisk --json gpt.img | jq '.partitiontable.partitions[0].start')
gsz=$(stat -c %s gpt.img)
cp gpt.img img/g1.img
printf 'X' | dd of=img/g1.img bs=1 seek=$((512 + 40)) conv=notrunc status=none
nb 0 "GPT with a damaged primary header: fix" fix --json img/g1.img
jqok "GPT with a damaged primary header: the backup was used, and the report says so" \
	'.status == "fixed" and (.partition.note | test("primary GPT is damaged; its backup copy was used"))' out
nb 0 "GPT with a damaged primary header: the text report says so too" check img/g1.img
has "GPT with a damaged primary header: text" out "partition table: the primary GPT is damaged"
cp gpt.img img/g2.img
printf 'X' | dd of=img/g2.img bs=1 seek=$((1024 + 130)) conv=notrunc status=none
nb 0 "GPT with a damaged primary entry array: the backup is used" fix --json img/g2.img
jqok "GPT with a damaged primary entry array: noted" '.partition.note != null' out
printf 'X' | dd of=img/g1.img bs=1 seek=$((gsz - 512 + 40)) conv=notrunc status=none
refused "GPT with both copies damaged" damaged-image "both copies of the GPT are damaged" img/g1.img
cp pristine.img img/overlap.img # entry 2 a copy of entry 1
dd if=pristine.img of=img/overlap.img bs=1 skip=446 seek=462 count=16 conv=notrunc status=none
refused "an MBR whose two partitions overlap" damaged-image "partitions 1 and 2 overlap" img/overlap.img
truncate -s 80M img/g3.img
printf 'label: gpt\ntable-length: 2048\nstart=%s, size=%s, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' \
	"$GSTART" "$SIZE" | sfdisk -q img/g3.img
dd if=gpt.img of=img/g3.img bs=512 skip="$GSTART" seek="$GSTART" count="$SIZE" conv=notrunc status=none
nb 0 "GPT with 2048 entries (legal when its CRC holds): fix" fix --json img/g3.img
jqok "GPT with 2048 entries: partition 1 fixed" '.status == "fixed" and .partition.scheme == "gpt"' out
if [ $ROOT = 1 ] && losetup -f >/dev/null 2>&1; then
	for t in gpt dos; do
		ty=7
		[ $t = gpt ] && ty=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
		truncate -s 80M img/k.img
		L=$(losetup -b 4096 -f --show img/k.img)
		printf 'label: %s\nstart=256, size=16384, type=%s\n' $t $ty | sfdisk -q "$L" 2>/dev/null
		truncate -s 64M kp
		mkntfs -F -Q -q -s 4096 -p 256 kp >/dev/null 2>&1
		"$NTFSPUT" kp "$FIXTURES/sbs2003"
		dd if=kp of="$L" bs=4096 seek=256 conv=notrunc status=none
		nb 0 "4Kn $t disk as a block device: fix" fix --json "$L"
		jqok "4Kn $t disk as a block device: partition at byte 1 MiB" '.status == "fixed" and .partition.offset == 1048576' out
		nb 0 "4Kn $t disk as a block device: undo" undo -q "$L"
		losetup -d "$L"
		nb 0 "4Kn $t disk as an image file: fix" fix --json img/k.img
		jqok "4Kn $t disk as an image file: the sector size read from the table" '.status == "fixed" and .partition.offset == 1048576' out
		dd if=img/k.img of=kp bs=4096 skip=256 count=16384 status=none
		ok=1
		for f in $FILES; do ntfscat kp "$f" >got 2>/dev/null && cmp -s got "ref/$f" || ok=0; done
		check "4Kn $t disk: ntfscat reads the directory result" test $ok = 1
	done
else
	skip "4Kn disks: need root and loop devices"
fi

# ---- leftovers and output ----
if [ $ROOT = 1 ] && mkdir -p full && mount -t tmpfs -o size=28m tmpfs full 2>/dev/null; then
	cp -a "$FIXTURES/sbs2003" full/vol
	avail=$(df -k --output=avail full | tail -1)
	head -c $(((avail - 16) * 1024)) /dev/zero >full/filler 2>/dev/null
	treesum full/vol >snap
	nb 3 "a directory too full for the journal: refused" fix --json full/vol
	jqok "a directory too full: io" '.error.kind == "io"' out
	same_tree "a directory too full: the volume is as it was, no journal left" full/vol snap
	rm full/filler
	nb 0 "a directory too full: once there is room, fix succeeds" fix full/vol
	umount full
else
	skip "a full directory volume: needs root (tmpfs)"
fi
fresh sbs2003 vol
"$NOBOUNCE" fix --json vol >/dev/full 2>err
check "standard output on a full disk: exit 4 ($?)" test $? = 4
has "standard output on a full disk: said on stderr" err "standard output: write error"
nb 0 "standard output on a full disk: the target was fixed all the same" check vol
has "standard output on a full disk: check finds it clean" out "clean, nothing to change"
fresh sbs2003 vol1
fresh sbs2003 vol2
("$NOBOUNCE" fix -j 1 --json vol1 vol2 2>err; echo $? >rc) | head -c 1 >/dev/null
check "standard output a closed pipe (a fleet): exit 4 ($(cat rc))" test "$(cat rc)" = 4
has "standard output a closed pipe: said on stderr" err "standard output: write error"
nb 0 "standard output a closed pipe: the first target was fixed" check -q vol1
nl=$(printf 'evil\nnobounce: fixed')
fresh sbs2003 "$nl"
nb 1 "a target named with a newline: check" check "$nl"
check "a target named with a newline: no line is forged" sh -c '! grep -q "^nobounce: fixed" out && grep -q "^evil\\\\nnobounce: fixed: Microsoft" out'
nb 1 "a target named with a newline: JSON keeps the name exactly" check --json "$nl"
jqok "a target named with a newline: JSON target" '.target == "evil\nnobounce: fixed"' out
