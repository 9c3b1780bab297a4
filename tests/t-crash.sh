# Crash consistency: the process is killed (SIGKILL) at every fault point a
# fix or an undo reaches, on a directory and on a disk image; then fix run
# again must finish with exactly the files a clean run gives, and undo
# instead must restore the originals byte for byte.  The points are read
# from the sources, so a new write step cannot escape this test.
. "$TESTS/lib.sh"
F=$NOBOUNCE_FAULTS_BIN
[ -x "$F" ] || { flunk "the fault-point build $F is missing"; exit 0; }
points=$(grep -ho 'FAULT("[a-z-]*")' "$TOOL"/*/*.c | sed 's/FAULT("//; s/")//' | sort -u)
check "fault points found in the sources ($(echo $points | wc -w))" test -n "$points"
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"

fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
treesum "$FIXTURES/sbs2003" >pristine

same_files() { # DIR: the three files equal the clean run's, no temporary left
	for f in $FILES; do cmp -s "$1/$f" "ref/$f" || return 1; done
	! find "$1" -name '.*.tmp' | grep -q .
}

covered=0
for cmd in fix undo; do
	for p in $points; do
		n=0
		while :; do
			fresh sbs2003 vol
			[ $cmd = undo ] && "$NOBOUNCE" fix -q vol
			NOBOUNCE_FAULT=$p:$n "$F" $cmd vol >/dev/null 2>&1
			rc=$?
			[ $rc = 137 ] || break # not reached this many times
			covered=$((covered + 1))
			rm -rf vol2 vol3 && cp -a vol vol2
			# a journal the run had made whole is enough, by hand, too
			J=$(cd vol && ls WINDOWS/nobounce-*.journal 2>/dev/null | head -1)
			if [ -n "$J" ] && head -c 512 "vol/$J" | grep -Eq '^state: (applying|complete|undoing)'; then
				cp -a vol vol3
				if (cd vol3 && "$TESTS/journal-apply" . "$J" 2>../err3) && rm "vol3/$J" &&
					treesum vol3 >now3 && cmp -s pristine now3; then
					pass "$cmd killed at $p:$n: the journal applied by hand restores every original byte"
				else
					flunk "$cmd killed at $p:$n: the journal applied by hand fails: $(head -c 300 err3)"
				fi
			fi
			"$NOBOUNCE" fix -q vol >out 2>err
			rc1=$?
			"$NOBOUNCE" undo -q vol2 >out2 2>err2
			rc2=$?
			if [ $rc1 = 0 ] && same_files vol; then
				pass "$cmd killed at $p:$n: fix then finishes the clean run's files"
			else
				flunk "$cmd killed at $p:$n: fix then exits $rc1: $(head -c 300 err)"
			fi
			treesum vol2 >now
			if [ $rc2 = 0 ] && cmp -s pristine now; then
				pass "$cmd killed at $p:$n: undo then restores every original byte"
			else
				flunk "$cmd killed at $p:$n: undo then exits $rc2: $(head -c 300 err2) $(diff pristine now | head -3)"
			fi
			n=$((n + 1))
		done
	done
done
check "fault points reached and tested on a directory: $covered" test $covered -ge 20

# The same on a raw disk image (NTFS through libntfs-3g).
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
"$HIVES/mkimage" "$NTFSPUT" pristine.img mbr "$FIXTURES/sbs2003"
START=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].size')
img_files() { # IMG REFDIR: the three files in the image equal REFDIR's, and
	# ntfsls reads every directory on their way
	dd if="$1" of=p.ntfs bs=512 skip="$START" count="$SIZE" status=none
	for d in / /WINDOWS /WINDOWS/system32/config /WINDOWS/system32/inetsrv; do
		ntfsls -p "$d" p.ntfs >/dev/null 2>&1 || return 1
	done
	for f in $FILES; do
		ntfscat p.ntfs "$f" >got 2>/dev/null && cmp -s got "$2/$f" || return 1
	done
}
covered=0
for cmd in fix undo; do
	for p in $points; do
		n=0
		while :; do
			cp --sparse=always pristine.img vol.img
			[ $cmd = undo ] && "$NOBOUNCE" fix -q vol.img
			NOBOUNCE_FAULT=$p:$n "$F" $cmd vol.img >/dev/null 2>&1
			[ $? = 137 ] || break
			covered=$((covered + 1))
			# the copy first: it takes its pages from the original's undo
			# log (when the kill cut an NTFS update short) and leaves it
			cp --sparse=always vol.img vol2.img
			"$NOBOUNCE" undo -q vol2.img >err2 2>&1
			rc2=$?
			"$NOBOUNCE" fix -q vol.img >err 2>&1
			rc1=$?
			if [ $rc1 = 0 ] && img_files vol.img ref; then
				pass "image: $cmd killed at $p:$n: fix then finishes the clean run's files"
			else
				flunk "image: $cmd killed at $p:$n: fix then exits $rc1: $(head -c 300 err)"
			fi
			cp err2 err
			if [ $rc2 = 0 ] && img_files vol2.img "$FIXTURES/sbs2003" &&
				! ntfsls -p /WINDOWS p.ntfs | grep -qi nobounce; then
				pass "image: $cmd killed at $p:$n: undo then restores the original files, and leaves no journal"
			else
				flunk "image: $cmd killed at $p:$n: undo then exits $rc2: $(head -c 300 err)"
			fi
			n=$((n + 1))
		done
	done
done
check "fault points reached and tested on an image: $covered" test $covered -ge 20
