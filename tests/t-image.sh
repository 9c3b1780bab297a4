# Disk images as targets: MBR, GPT, logical partitions, a bare partition,
# qcow2/VMDK/VHD/VHDX/VDI; refusals; no root; nothing left running.  Results
# are read back with ntfs-3g's ntfscat/ntfsls/ntfsfix and qemu-img, and
# compared with the result of fixing the same tree as a directory.
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"
# every qemu-nbd socket directory of ours lands here, so leftovers can be seen
export TMPDIR="$PWD/tmp"
mkdir -p "$TMPDIR"

mkimg() { "$HIVES/mkimage" "$NTFSPUT" "$@"; }

# part IMG N OUT: partition N of a raw image as a file (sfdisk's view)
part() {
	sfdisk --json "$1" | jq -r --arg n "$2" \
		'.partitiontable.partitions[] | select(.node | endswith($n)) | "\(.start) \(.size)"' >pt
	read -r s n <pt
	dd if="$1" of="$3" bs=512 skip="$s" count="$n" status=none
}

# same_as DESC PARTFILE REFDIR: the three files in the partition (ntfscat)
# equal those in REFDIR
same_as() {
	ok=1
	for f in $FILES; do
		ntfscat "$2" "$f" >got 2>/dev/null && cmp -s got "$3/$f" || { ok=0; echo "# differs: $f"; }
	done
	if [ $ok = 1 ]; then pass "$1"; else flunk "$1"; fi
}

no_servers() {
	if [ -n "$(nbd_servers)" ] || ls "$TMPDIR" | grep -q nobounce-nbd; then
		flunk "$1: a qemu-nbd or its socket directory is left: $(nbd_servers) $(ls "$TMPDIR")"
	else
		pass "$1: no qemu-nbd left, no socket directory left"
	fi
}

# the directory results to compare with
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
fresh winnt refnt
"$NOBOUNCE" fix -q refnt
ORIG=$FIXTURES/sbs2003

# ---- MBR ----
mkimg mbr.img mbr "$FIXTURES/sbs2003"
cp --sparse=always mbr.img pristine.img
nb 1 "MBR: check finds work" check --json mbr.img
start=$(sfdisk --json mbr.img | jq '.partitiontable.partitions[0].start * 512')
jqok "MBR: partition 1 at sfdisk's offset ($start)" ".partition.number == 1 and .partition.scheme == \"mbr\" and .partition.offset == $start and .status == \"needs-fix\" and (.changes | length) == 17" out
check "MBR: check changes no byte of the image" cmp -s mbr.img pristine.img
nb 0 "MBR: fix" fix mbr.img
has "MBR: named by partition" out '^mbr.img \(partition 1\): Microsoft Windows Server 2003'
part mbr.img 1 p1
same_as "MBR: ntfscat reads the directory result from the image" p1 ref
check "MBR: ntfsfix -n finds the volume consistent" sh -c 'ntfsfix -n p1 | grep -q "processed successfully"'
check "MBR: ntfsls sees the journal in WINDOWS, and no copy" sh -c 'ntfsls p1 -p /WINDOWS | grep -q "^nobounce-1.journal$" && ! ntfsls p1 -p /WINDOWS/system32/config | grep -q nobounce'
ntfscat p1 WINDOWS/nobounce-1.journal >journal.bin
check "MBR: the journal read by ntfscat says complete" sh -c 'head -c 512 journal.bin | grep -q "^state: complete"'
cp --sparse=always mbr.img fixed.img
nb 0 "MBR: a second fix" fix mbr.img
has "MBR: a second fix finds nothing" out 'clean, nothing to change'
check "MBR: a second fix changes no byte of the image" cmp -s mbr.img fixed.img
nb 0 "MBR: undo" undo mbr.img
part mbr.img 1 p1
same_as "MBR: undo restores the original files" p1 "$ORIG"
check "MBR: undo removes the journal" sh -c '! ntfsls p1 -p /WINDOWS/system32/config | grep -q nobounce && ! ntfsls p1 -p /WINDOWS | grep -q nobounce'

# ---- GPT ----
mkimg gpt.img gpt "$FIXTURES/sbs2003"
nb 0 "GPT: fix" fix --json gpt.img
start=$(sfdisk --json gpt.img | jq '.partitiontable.partitions[0].start * 512')
jqok "GPT: partition 1 at sfdisk's offset" ".partition.scheme == \"gpt\" and .partition.number == 1 and .partition.offset == $start and .status == \"fixed\"" out
part gpt.img 1 p1
same_as "GPT: ntfscat reads the directory result" p1 ref

# ---- a bare NTFS partition ----
mkimg bare.img none "$FIXTURES/sbs2003"
nb 0 "bare partition: fix" fix --json bare.img
jqok "bare partition: number 0, scheme none" '.partition.number == 0 and .partition.scheme == "none" and .status == "fixed"' out
same_as "bare partition: ntfscat reads the directory result" bare.img ref

# ---- two Windows partitions, one logical ----
mkimg two.img logical "$FIXTURES/sbs2003" "$FIXTURES/winnt"
nb 0 "primary + logical: fix" fix --json two.img
check "primary + logical: one JSON line per installation" test "$(wc -l <out)" = 2
jqok "primary + logical: partitions 1 and 5, both fixed" -s '[.[] | [.partition.number, .status, .windows.systemroot]] == [[1, "fixed", "WINDOWS"], [5, "fixed", "WINNT"]]' out
part two.img 1 p1
same_as "primary + logical: partition 1 equals the directory result" p1 ref
part two.img 5 p5
for f in WINNT/system32/config/SYSTEM WINNT/system32/config/SOFTWARE; do
	ntfscat p5 "$f" >got 2>/dev/null
	check "primary + logical: partition 5 $f equals the directory result" cmp -s got "refnt/$f"
done

# ---- qcow2, VMDK, VHD, VHDX, VDI ----
for fmt in qcow2 vmdk vpc vhdx vdi; do
	qemu-img convert -O $fmt pristine.img d.$fmt
	nb 1 "$fmt: check (format detected from the header)" check -q d.$fmt
	nb 0 "$fmt: fix" fix --json d.$fmt
	jqok "$fmt: fixed" '.status == "fixed" and .partition.number == 1' out
	qemu-img convert -O raw d.$fmt back.img
	part back.img 1 p1
	same_as "$fmt: the files inside equal the directory result" p1 ref
	no_servers "$fmt"
done
check "qcow2: qemu-img check finds no errors" qemu-img check -q d.qcow2
nb 0 "qcow2: undo" undo d.qcow2
qemu-img convert -O raw d.qcow2 back.img
part back.img 1 p1
same_as "qcow2: undo restores the original files" p1 "$ORIG"

# A hive larger than one NBD request (qemu-nbd caps a request at 32 MiB)
mkdir -p big/WINDOWS/system32/config
cp "$FIXTURES/sbs2003/$SYS" big/$SYS
"$HIVES/gen-clsids" 40000 >c.reg
"$MKHIVE" -o big/WINDOWS/system32/config/SOFTWARE "$HIVES/software/base.reg" "$HIVES/software/exchange.reg" c.reg
MKIMAGE_MB=160 mkimg big.img mbr big
qemu-img convert -O qcow2 big.img big.qcow2
rm -f big.img c.reg
nb 0 "a 40 MB SOFTWARE in a qcow2 (requests over 32 MiB split): fix" fix big.qcow2
nb 0 "a 40 MB SOFTWARE in a qcow2: check afterwards is clean" check big.qcow2
rm -f big.qcow2

# --format: overrides detection (raw is never guessed from a name)
cp --sparse=always pristine.img looks-like.qcow2
nb 1 "a raw image named .qcow2 is read as raw" check -q looks-like.qcow2
nb 3 "--format qcow2 on a raw image: qemu-nbd refuses it" check --json --format qcow2 pristine.img
jqok "--format qcow2 on raw: unreadable-image" '.error.kind == "unreadable-image"' out
nb 2 "--format with an unknown format is a usage error" check --format floppy pristine.img
no_servers "after a failed qemu-nbd start"

# ---- refusals: nothing written ----
# refused DESC KIND PATTERN IMG: fix exits 3 with KIND, and the image is unchanged
refused() {
	cp --sparse=always "$4" before.img
	nb 3 "$1: fix refused" fix --json "$4"
	jqok "$1: error kind $2" ".error.kind == \"$2\"" out
	has "$1: the message says why and what to do" err "$3"
	check "$1: the image is byte-identical" cmp -s "$4" before.img
}
mkimg hib.img mbr "$FIXTURES/sbs2003" -- --hibernate
refused "hibernated" hibernated "powercfg /h off" hib.img
nb 1 "hibernated: check still reports the work" check --json hib.img
jqok "hibernated: check says fix will refuse" '.notes | join("; ") | test("fix will refuse this volume: the volume is hibernated")' out
# hiberfil.sys's other signatures: "wake" (Windows resumed from it and will
# start normally) and a zeroed file are written; "RSTR" (a resume under
# way) and one nobounce does not know are refused
for sig in wake WAKE zero; do
	mkimg hs.img mbr "$FIXTURES/sbs2003" -- --hiberfil $sig
	nb 0 "hiberfil.sys saying $sig: fix" fix --json hs.img
	jqok "hiberfil.sys saying $sig: fixed" '.status == "fixed"' out
done
mkimg hs.img mbr "$FIXTURES/sbs2003" -- --hiberfil RSTR
refused "hiberfil.sys saying RSTR" hibernated "resume from hibernation was under way .*powercfg /h off" hs.img
mkimg hs.img mbr "$FIXTURES/sbs2003" -- --hiberfil link
refused "hiberfil.sys with a signature nobounce does not know (link)" hibernated 'starts with "link", a signature nobounce does not know.*powercfg /h off' hs.img
mkimg dirty.img mbr "$FIXTURES/sbs2003" -- --dirty
refused "dirty volume" dirty-volume "chkdsk /f" dirty.img
mkimg junc.img mbr "$FIXTURES/sbs2003" -- --junction /WINDOWS/system32/inetsrv
refused "a junction on the path" unsafe-path "WINDOWS/system32/inetsrv: is a reparse point" junc.img
cp --sparse=always pristine.img out.img
# a partition entry whose size runs past the end of the image
printf '\377\377\377\000' | dd of=out.img bs=1 seek=458 conv=notrunc status=none
refused "a partition outside the image" damaged-image "partition 1 lies outside the image" out.img
cp --sparse=always pristine.img locked.img
flock -n locked.img sleep 5 &
sleep 0.3
refused "an image another run holds" locked "another nobounce run holds this image" locked.img
kill %1 2>/dev/null
wait
mkimg nowin.img mbr "$FIXTURES/nowindows"
nb 3 "no Windows on the disk: exit 3" fix --json nowin.img
jqok "no Windows on the disk: no-windows, saying what to give" '.status == "error" and .error.kind == "no-windows" and (.error.message | test("Give the disk that holds the system volume"))' out

# ---- an unprivileged user, on images it owns ----
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	chmod 755 "$PWD"
	cp --sparse=always pristine.img user.img
	qemu-img convert -O qcow2 pristine.img user.qcow2
	chown nobody user.img user.qcow2
	chown nobody "$TMPDIR"
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	asnobody env TMPDIR="$TMPDIR" "$NOBOUNCE" fix -q user.img >out 2>err
	check "unprivileged: fix of a raw image it owns (exit $?)" test $? = 0
	asnobody env TMPDIR="$TMPDIR" "$NOBOUNCE" fix -q user.qcow2 >out 2>err
	check "unprivileged: fix of a qcow2 image it owns (exit $?): $(head -c 200 err)" test $? = 0
	part user.img 1 p1
	same_as "unprivileged: the result equals the directory result" p1 ref
	chmod 444 user.img
	chown root user.img
	asnobody "$NOBOUNCE" check -q user.img >out 2>err
	check "unprivileged: check works on a read-only image (exit $?)" test $? = 0
	asnobody "$NOBOUNCE" fix --json user.img >out 2>err
	check "unprivileged: fix of a read-only image fails (exit $?)" test $? = 3
	jqok "read-only image: read-only-image" '.error.kind == "read-only-image"' out
	no_servers "unprivileged"
else
	skip "not root or no setpriv: the unprivileged-user tests need both"
fi

# ---- signals: qemu-nbd never outlives nobounce ----
F=$NOBOUNCE_FAULTS_BIN
qemu-img convert -O qcow2 pristine.img sig.qcow2
# no qemu-nbd on the PATH: say which package brings it
PATH=/nonexistent "$NOBOUNCE" check --json sig.qcow2 >out 2>err
check "no qemu-nbd: exit 3 ($?)" test $? = 3
jqok "no qemu-nbd: missing-program, naming qemu-utils" '.error.kind == "missing-program" and (.error.message | test("Install the qemu-utils package"))' out
NOBOUNCE_FAULT=before-write:1 "$F" fix sig.qcow2 >/dev/null 2>&1
check "killed (SIGKILL) while qemu-nbd serves: exit 137" test $? = 137
sleep 0.2
no_servers "after SIGKILL"
qemu-img convert -O qcow2 pristine.img sig.qcow2 # no interrupted run to roll back first
NOBOUNCE_FAULT=before-write:1 NOBOUNCE_FAULT_ACTION=stop "$F" fix sig.qcow2 >/dev/null 2>&1 &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ "$(ps -o stat= -p $pid | cut -c1)" = T ] && break
	sleep 0.2
done
check "a run stopped mid-fix has qemu-nbd running" test -n "$(nbd_servers)"
kill -TERM $pid
kill -CONT $pid
wait $pid 2>/dev/null
check "SIGTERM mid-write: held until the writes are done, then exit 3 ($?)" test $? = 3
qemu-img convert -O raw sig.qcow2 back.img
part back.img 1 p1
same_as "SIGTERM mid-write: the run finished first: the files equal the directory result" p1 ref
sleep 0.2
no_servers "after SIGTERM"
nb 0 "after the interrupted runs, fix completes the image" fix sig.qcow2
qemu-img convert -O raw sig.qcow2 back.img
part back.img 1 p1
same_as "after the interrupted runs, the files equal the directory result" p1 ref
