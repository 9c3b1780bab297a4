# Windows dynamic disks (LDM), on disks Windows Server 2008 R2 made: a
# mirrored volume's two halves (one an MBR dynamic disk, one a GPT one),
# spanned, striped and RAID-5 volumes, and a simple volume derived from the
# mirror's first half.  The fixture tree is put into the NTFS Windows made
# on the mirror.  Results are read back with ldmtool, ntfscat and cmp.
. "$TESTS/lib.sh"
realdata || exit 0
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
F=$NOBOUNCE_FAULTS_BIN
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"
for d in mirrored-1 mirrored-2 spanned-1 spanned-2 striped-1 striped-2 raid5-1 raid5-2 raid5-3; do
	unxz_to "ldm/ldm-2008r2-$d.img" "$d.img"
done
# ldm COMMAND...: ldmtool's answers, as a JSON stream (its prompts left out)
ldm() { printf '%s\n' "$@" | ldmtool 2>/dev/null | grep -v '^ldm>'; }
G=$(ldm "scan mirrored-1.img mirrored-2.img" | jq -r '.[0]' | grep -E '^[0-9a-f-]{36}$')
check "ldmtool finds the disk group ($G)" test -n "$G"

# ldm_at PARTITION DISKS...: the partition's byte offset on its disk, by ldmtool
ldm_at() {
	p=$1
	shift
	disk=$(ldm "scan $*" "show partition $G $p" | jq -s -r '.[1].disk')
	start=$(ldm "scan $*" "show partition $G $p" | jq -s '.[1].start')
	ds=$(ldm "scan $*" "show disk $G $disk" | jq -s '.[1]."data-start"')
	echo $(((ds + start) * 512))
}
A=$(ldm_at Disk5-01 mirrored-1.img mirrored-2.img)
B=$(ldm_at Disk6-01 mirrored-1.img mirrored-2.img)
SECT=32768
check "ldmtool places the mirror's halves ($A, $B)" test "$A" -gt 0 -a "$B" -gt 0

# half IMG OFFSET OUT: one half of the mirror (16 MiB) as a file
half() { dd if="$1" of="$3" bs=512 skip=$(($2 / 512)) count=$SECT status=none; }
put() { dd if="$3" of="$1" bs=512 seek=$(($2 / 512)) conv=notrunc status=none; }

# the fixture tree, in the NTFS Windows made on the mirror, on both halves
half mirrored-1.img "$A" leg.ntfs
"$NTFSPUT" leg.ntfs "$FIXTURES/sbs2003small"
put mirrored-1.img "$A" leg.ntfs
put mirrored-2.img "$B" leg.ntfs
cp mirrored-1.img m1.orig
cp mirrored-2.img m2.orig
fresh sbs2003small ref
"$NOBOUNCE" fix -q ref

halves_same() { # DESC IMG1 IMG2
	half "$2" "$A" h1
	half "$3" "$B" h2
	check "$1" cmp -s h1 h2
}
files_are() { # DESC IMG OFFSET REFDIR
	half "$2" "$3" hf
	ok=1
	for f in $FILES; do ntfscat hf "$f" 2>/dev/null | cmp -s - "$4/$f" || ok=0; done
	check "$1" test $ok = 1
}
outside_same() { # DESC IMG ORIG OFFSET: every byte but the half's as it was
	ok=1
	cmp -s -n "$4" "$2" "$3" || ok=0
	cmp -s -i $(($4 + SECT * 512)) "$2" "$3" || ok=0
	check "$1" test $ok = 1
}

# ---- one half alone ----
cp m1.orig one.img
nb 1 "one half of a mirror: check finds the work" check --json one.img
jqok "one half: check says fix will refuse, and why" '.volume.name == "Volume3" and .volume.type == "mirrored" and (.notes | join("; ") | test("fix will refuse this volume: only 1 of the mirror.s 2 halves"))' out
nb 3 "one half of a mirror: fix refused" fix --json one.img
jqok "one half: incomplete-mirror" '.error.kind == "incomplete-mirror" and (.error.message | test("--degraded"))' out
check "one half: the disk is byte-identical" cmp -s one.img m1.orig

# ---- both halves ----
cp m1.orig m1.img
cp m2.orig m2.img
nb 0 "both halves: fix" fix --json m1.img m2.img
jqok "both halves: one volume, fixed, both members named at ldmtool's offsets" \
	"select(.volume) | .status == \"fixed\" and .volume.name == \"Volume3\" and ([.volume.members[] | [.disk, .target, .offset]] == [[\"Disk5\", \"m1.img\", $A], [\"Disk6\", \"m2.img\", $B]])" out
halves_same "both halves: the halves are byte-identical" m1.img m2.img
files_are "both halves: the files equal the directory fix" m1.img "$A" ref
check "both halves: ntfsfix -n finds NTFS consistent" sh -c 'ntfsfix -n h1 | grep -q "processed successfully"'
outside_same "both halves: every byte of m1.img outside its half is as it was" m1.img m1.orig "$A"
outside_same "both halves: every byte of m2.img outside its half is as it was" m2.img m2.orig "$B"
cp m1.img m1.fixed
cp m2.img m2.fixed
nb 0 "both halves, given the other way round: a second fix" fix m2.img m1.img
check "a second fix changes no byte of either disk" sh -c 'cmp -s m1.img m1.fixed && cmp -s m2.img m2.fixed'
nb 0 "both halves: undo" undo m1.img m2.img
halves_same "undo: the halves are byte-identical" m1.img m2.img
files_are "undo: the files are the originals" m1.img "$A" "$FIXTURES/sbs2003small"

# ---- qcow2 halves (through qemu-nbd) ----
qemu-img convert -O qcow2 m1.orig q1.qcow2
qemu-img convert -O qcow2 m2.orig q2.qcow2
nb 0 "qcow2 halves: fix" fix q1.qcow2 q2.qcow2
qemu-img convert -O raw q1.qcow2 q1.raw
qemu-img convert -O raw q2.qcow2 q2.raw
halves_same "qcow2 halves: byte-identical" q1.raw q2.raw
files_are "qcow2 halves: the files equal the directory fix" q1.raw "$A" ref

# ---- a run killed between the halves ----
if [ -x "$F" ]; then
	cp m1.orig k1.img
	cp m2.orig k2.img
	n=$(fault_at between-legs "writing WINDOWS/system32/config/SOFTWARE" fix k1.img k2.img)
	cp m1.orig k1.img
	cp m2.orig k2.img
	NOBOUNCE_FAULT=between-legs:$n "$F" fix k1.img k2.img >/dev/null 2>&1
	half k1.img "$A" h1
	half k2.img "$B" h2
	check "killed between the halves: they differ" sh -c '! cmp -s h1 h2'
	nb 0 "killed between the halves: the next fix" fix k1.img k2.img
	has "killed between the halves: it copied the first half over first" out "run on it was cut short; [0-9]+ bytes were copied from the mirror's first half"
	halves_same "killed between the halves: then the halves are byte-identical" k1.img k2.img
	files_are "killed between the halves: the files equal the directory fix" k1.img "$A" ref
else
	skip "the fault build is missing"
fi

# ---- a degraded mirror ----
cp m1.orig d1.img
nb 0 "--degraded: one half, its other gone for good: fix" fix --json --degraded d1.img
jqok "--degraded: fixed, and said so" '.status == "fixed" and .volume.degraded == true' out
files_are "--degraded: the files equal the directory fix" d1.img "$A" ref
nb 0 "--degraded: check says what to do in Windows" check --degraded d1.img
has "--degraded: Remove Mirror, Add Mirror" out "degraded mirror: Disk6 was not given.*Remove Mirror.*Add Mirror"

# ---- two copies of one disk (clones of one machine) ----
cp m1.orig c1.img
cp m1.orig c2.img
cp m2.orig c3.img
nb 3 "two copies of one disk: refused" fix --json c1.img c2.img c3.img
jqok "two copies of one disk: same-disk, naming both" '.error.kind == "same-disk" and (.error.message | test("c1.img and c2.img are the same dynamic disk"))' out
check "two copies of one disk: no disk changed" sh -c 'cmp -s c1.img m1.orig && cmp -s c2.img m1.orig && cmp -s c3.img m2.orig'

# ---- halves that differ ----
cp m1.orig x1.img
cp m2.orig x2.img
# a byte of the root directory's MFT record, on the second half only: $MFT's
# first cluster and the cluster size come from the NTFS boot sector
bps=$(od -An -tu2 -j $((B + 11)) -N 2 x2.img | tr -d ' ')
spc=$(od -An -tu1 -j $((B + 13)) -N 1 x2.img | tr -d ' ')
mft=$(od -An -tu8 -j $((B + 48)) -N 8 x2.img | tr -d ' ')
printf 'X' | dd of=x2.img bs=1 seek=$((B + mft * bps * spc + 5 * 1024 + 600)) conv=notrunc status=none
cp x2.img x2.before
nb 3 "halves that differ: refused" fix --json x1.img x2.img
jqok "halves that differ: mirror-differs, with the way out" '.error.kind == "mirror-differs" and (.error.message | test("Healthy.*--resync-mirror"))' out
check "halves that differ: nothing written" sh -c 'cmp -s x1.img m1.orig && cmp -s x2.img x2.before'
nb 0 "halves that differ: --resync-mirror copies the first half, then fixes" fix --resync-mirror x1.img x2.img
halves_same "--resync-mirror: the halves are byte-identical" x1.img x2.img

# ---- a simple volume ----
"$HIVES/ldm-simple" m1.orig simple.img
ldm "scan simple.img" "show volume $G Volume3" | jq -s '.[1]' >simple.json
jqok "ldmtool reads the derived disk's Volume3 as simple" '.type == "simple"' simple.json
nb 0 "a simple dynamic volume: fix" fix --json simple.img
jqok "a simple dynamic volume: fixed" '.status == "fixed" and .volume.type == "simple"' out
files_are "a simple dynamic volume: the files equal the directory fix" simple.img "$A" ref

# ---- spanned, striped, RAID-5: never written ----
for d in spanned-1 spanned-2 striped-1 striped-2 raid5-1 raid5-2 raid5-3; do cp $d.img $d.orig; done
nb 3 "spanned, striped and RAID-5 disks: nothing nobounce can write" check -v --json spanned-1.img spanned-2.img striped-1.img striped-2.img raid5-1.img raid5-2.img raid5-3.img
jqok "spanned, striped and RAID-5 disks: one group, no-windows, saying why" 'select(.target | test("spanned-1.img")) | .error.kind == "no-windows" and (.error.message | test("simple and mirrored"))' out
for t in spanned striped raid5; do
	has "$t volumes are listed under -v" err "$t volumes cannot hold a Windows system"
done
nb 3 "spanned, striped and RAID-5 disks: fix" fix spanned-1.img spanned-2.img striped-1.img striped-2.img raid5-1.img raid5-2.img raid5-3.img
ok=1
for d in spanned-1 spanned-2 striped-1 striped-2 raid5-1 raid5-2 raid5-3; do cmp -s $d.img $d.orig || ok=0; done
check "spanned, striped and RAID-5 disks: never written" test $ok = 1

# ---- a fleet of basic and dynamic disks ----
"$HIVES/mkimage" "$NTFSPUT" basic.img mbr "$FIXTURES/sbs2003"
cp m1.orig f1.img
cp m2.orig f2.img
nb 0 "a fleet: a basic disk and a mirror's halves" fix -j 2 --json f1.img basic.img f2.img
jqok "a fleet: the basic disk fixed on its own, the halves together" -s '[.[] | [.target, .status]] | sort == [["basic.img", "fixed"], ["f1.img + f2.img", "fixed"]]' out
halves_same "a fleet: the mirror's halves are byte-identical" f1.img f2.img
