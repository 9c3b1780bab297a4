# I/O errors: a failing device (EIO from the test device layer after N
# writes) and a full volume (ENOSPC on a tiny NTFS image) give a clean error
# and a consistent target: every file as it was, or every file fixed, and a
# later fix finishes the job.
. "$TESTS/lib.sh"
F=$NOBOUNCE_FAULTS_BIN
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
ORIG=$FIXTURES/sbs2003
"$HIVES/mkimage" "$NTFSPUT" pristine.img mbr "$ORIG"
START=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].size')

# part IMG: the NTFS partition as a file; when a failed write left its
# metadata inconsistent ($MFTMirr), repaired by ntfsfix as chkdsk would
part() {
	dd if="$1" of=p.ntfs bs=512 skip="$START" count="$SIZE" status=none
	ntfsls p.ntfs >/dev/null 2>&1 || ntfsfix -d p.ntfs >/dev/null 2>&1
}
put_back() { dd if=p.ntfs of="$1" bs=512 seek="$START" conv=notrunc status=none; }

# state IMG: "original", "fixed" or "mixed" (the three files, via ntfscat)
state() {
	part "$1"
	o=0 x=0
	for f in $FILES; do
		ntfscat p.ntfs "$f" >got 2>/dev/null
		cmp -s got "$ORIG/$f" && o=$((o + 1))
		cmp -s got "ref/$f" && x=$((x + 1))
	done
	if [ $o = 3 ]; then echo original; elif [ $x = 3 ]; then echo fixed; else echo mixed; fi
}

# A device whose writes start failing after N writes: a clean error; once
# the device works again (and chkdsk has mended NTFS's own metadata where a
# write failed half-way), fix finishes the job and undo instead restores.
for n in 0 1 3 10 30 100 300; do
	cp --sparse=always pristine.img d.img
	NOBOUNCE_EIO_AFTER=$n "$F" fix --json d.img >out 2>err
	rc=$?
	if [ $rc = 3 ]; then
		jqok "EIO after $n writes: a clean io error" '.status == "error" and .error.kind == "io"' out
	else
		check "EIO after $n writes: or the run finished before (exit $rc)" test $rc = 0
	fi
	part d.img
	put_back d.img
	cp --sparse=always d.img d2.img
	nb 0 "EIO after $n writes: a later fix finishes" fix d.img
	check "EIO after $n writes: then every file is fixed" test "$(state d.img)" = fixed
	nb 0 "EIO after $n writes: undo instead" undo d2.img
	check "EIO after $n writes: then every file is as it was" test "$(state d2.img)" = original
done

# A volume too small for the backups: ENOSPC.
MKIMAGE_MB=22 "$HIVES/mkimage" "$NTFSPUT" tiny.img mbr "$ORIG"
START=$(sfdisk --json tiny.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json tiny.img | jq '.partitiontable.partitions[0].size')
cp --sparse=always tiny.img before.img
nb 3 "a full volume: fix fails" fix --json tiny.img
jqok "a full volume: a clean io error" '.error.kind == "io"' out
has "a full volume: the message names the file" err 'nobounce-1.bak|SOFTWARE|manifest'
check "a full volume: every file as it was" test "$(state tiny.img)" = original
check "a full volume: no backup or manifest left behind" sh -c \
	'! ntfsls p.ntfs -p /WINDOWS/system32/config | grep -q nobounce && ! ntfsls p.ntfs -p /WINDOWS | grep -q nobounce'
mkdir bk
nb 0 "a full volume: --backup-dir on the host makes room" fix --backup-dir bk tiny.img
check "a full volume with --backup-dir: every file fixed" test "$(state tiny.img)" = fixed
