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
# the device works again, fix finishes the job and undo instead restores.
# A write that failed inside one of NTFS's own updates left its undo log,
# which the next run puts back; without one (the test's own stand-in for
# chkdsk, ntfsfix, mends what a failed write left) the next run either
# finishes or says damaged-volume and writes nothing.
for n in 0 1 3 10 30 100 300; do
	rm -rf "$NOBOUNCE_STATE_DIR"
	cp --sparse=always pristine.img d.img
	NOBOUNCE_EIO_AFTER=$n "$F" fix --json d.img >out 2>err
	rc=$?
	if [ $rc = 3 ]; then
		jqok "EIO after $n writes: a clean io error" '.status == "error" and .error.kind == "io"' out
	else
		check "EIO after $n writes: or the run finished before (exit $rc)" test $rc = 0
	fi
	if ls "$NOBOUNCE_STATE_DIR"/*.undo >/dev/null 2>&1; then
		pass "EIO after $n writes: an NTFS update was cut short, and its undo log is kept"
	else
		part d.img
		put_back d.img
	fi
	# the copy first: it takes its pages from d.img's undo log and leaves it
	cp --sparse=always d.img d2.img
	for cmd in undo fix; do
		img=d.img want=fixed
		[ $cmd = undo ] && img=d2.img want=original
		cp --sparse=always $img was.img
		"$NOBOUNCE" $cmd --json $img >out 2>err
		rc=$?
		if [ $rc = 0 ]; then
			check "EIO after $n writes: $cmd then finishes: every file $want" test "$(state $img)" = $want
		else
			jqok "EIO after $n writes: $cmd then refuses: damaged-volume" '.error.kind == "damaged-volume"' out
			has "EIO after $n writes: $cmd then refuses: names chkdsk, not ntfsfix" err "Run 'chkdsk /f' on it from Windows \('ntfsfix' cannot repair this\)"
			check "EIO after $n writes: $cmd then refuses: the image is byte-identical" cmp -s $img was.img
			check "EIO after $n writes: $cmd then refuses: every file as it was" test "$(state $img)" = original
		fi
	done
done

# A device whose reads start failing: a clean io error that says what the
# disk said (libntfs-3g itself sees only EIO), without -v.  Before the first
# write nothing is written; after it (the read-back fails), the next undo
# puts every file back.
for n in 0 5 100 200 300 600; do
	rm -rf "$NOBOUNCE_STATE_DIR"
	cp --sparse=always pristine.img r.img
	NOBOUNCE_EIO_READS_AFTER=$n "$F" fix --json r.img >out 2>err
	rc=$?
	if [ $rc = 3 ]; then
		jqok "reads fail after $n: a clean io error" '.status == "error" and .error.kind == "io"' out
		has "reads fail after $n: the message keeps the disk's cause" err 'pread of [0-9]* bytes at byte [0-9]* failed: Input/output error'
		if cmp -s r.img pristine.img; then
			pass "reads fail after $n: the image is byte-identical"
		else
			"$NOBOUNCE" undo -q r.img 2>err
			check "reads fail after $n: past the first write, undo puts every file back" test "$(state r.img)" = original
		fi
	else
		flunk "reads fail after $n: fix exited $rc: $(cat err)"
	fi
done

# A volume with no room for the journal: ENOSPC, a clean error, nothing left.
MKIMAGE_MB=22 "$HIVES/mkimage" "$NTFSPUT" tiny.img mbr "$ORIG" -- --fill 16
START=$(sfdisk --json tiny.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json tiny.img | jq '.partitiontable.partitions[0].size')
nb 3 "a full volume: fix fails" fix --json tiny.img
jqok "a full volume: a clean io error" '.error.kind == "io"' out
has "a full volume: the message names the journal and says why" err 'nobounce-1.journal: .*the volume is full'
check "a full volume: every file as it was" test "$(state tiny.img)" = original
check "a full volume: no journal left behind" sh -c '! ntfsls p.ntfs -p /WINDOWS | grep -q nobounce'

# Room for the journal (a few pages), none for full copies of the hives.
MKIMAGE_MB=22 "$HIVES/mkimage" "$NTFSPUT" small.img mbr "$ORIG" -- --fill 1024
START=$(sfdisk --json small.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json small.img | jq '.partitiontable.partitions[0].size')
cp --sparse=always small.img small2.img
nb 3 "a nearly full volume: fix --backup fails" fix --backup --json small.img
has "a nearly full volume: the message names the copy" err 'nobounce-1.bak: .*the volume is full'
check "a nearly full volume: every file as it was" test "$(state small.img)" = original
check "a nearly full volume: no copy or journal left behind" sh -c \
	'! ntfsls p.ntfs -p /WINDOWS/system32/config | grep -q nobounce && ! ntfsls p.ntfs -p /WINDOWS | grep -q nobounce'
nb 0 "a nearly full volume: fix (the journal only) succeeds" fix small.img
check "a nearly full volume: every file fixed" test "$(state small.img)" = fixed
mkdir bk
nb 0 "a nearly full volume: fix --backup-dir (copies on the host) succeeds" fix --backup-dir bk small2.img
check "a nearly full volume with --backup-dir: every file fixed" test "$(state small2.img)" = fixed
check "a nearly full volume with --backup-dir: the copies are on the host" test "$(ls bk | wc -l)" = 3
nb 0 "undo --backup-dir: restores" undo --backup-dir bk small2.img
check "undo --backup-dir: every file as it was" test "$(state small2.img)" = original
check "undo --backup-dir: the copies on the host are removed" test "$(ls bk | wc -l)" = 0
