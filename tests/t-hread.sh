# nobounce's own hive reader (tool/reg/hread.c) against hivex and libregf:
# on every fixture hive, every real Windows-made hive and a fuzz corpus, the
# three readers see the same tree (names, types, data, subkey and value
# order), or refuse.  hread and hivex must agree on every input, refusals
# included; libregf reads some damage the other two refuse (counted, and
# then hread must refuse too), and it gives other bytes than the stored ones
# for data shorter than 4 bytes, for strings' NULs and past the end of a
# string without one (tree-dump --as-libregf prints those as libregf gives
# them; "?" matches anything, and libregf's string may run on).
. "$TESTS/lib.sh"
TD=$(dirname "$MKHIVE")/tree-dump
[ -x "$TD" ] || { flunk "$TD is missing"; exit 0; }
lenient=0

# same3 DESC HIVE [--clean]
same3() {
	desc=$1 f=$2
	shift 2
	"$TD" hread "$@" "$f" >a.tree 2>a.err
	ra=$?
	"$TD" hivex "$@" "$f" >b.tree 2>b.err
	rb=$?
	"$TD" hread --as-libregf "$@" "$f" >a2.tree 2>/dev/null
	"$TESTS/regf-tree" "$@" "$f" >c.tree 2>c.err
	rc=$?
	if [ $ra = 0 ] && [ $rb = 0 ] && cmp -s a.tree b.tree; then
		if [ $rc = 0 ] && /usr/bin/python3 -c '
import sys
a = open(sys.argv[1]).read().split("\n")
c = open(sys.argv[2]).read().split("\n")
def same(x, y):
    if x == y:
        return True
    xs, ys = x.split("\t"), y.split("\t")
    # libregf reads a string with no NUL on to a NUL past its length
    return len(xs) == len(ys) == 5 and xs[:4] == ys[:4] and (
        xs[4] == "?" or (xs[3] in ("1", "2") and ys[4].startswith(xs[4])))
sys.exit(0 if len(a) == len(c) and all(same(x, y) for x, y in zip(a, c)) else 1)' a2.tree c.tree; then
			pass "$desc: hread, hivex and libregf read the same tree ($(grep -c '^K' a.tree) keys, $(grep -c '^V' a.tree) values)"
		else
			flunk "$desc: libregf reads another tree than hread and hivex: $(head -c 300 c.err)"
		fi
	elif [ $ra != 0 ] && [ $rb != 0 ]; then
		[ $rc = 0 ] && lenient=$((lenient + 1))
		pass "$desc: hread and hivex both refuse it$([ $rc = 0 ] && echo ' (libregf reads it)')"
	else
		flunk "$desc: hread exit $ra, hivex exit $rb: $(head -c 300 a.err) | $(head -c 300 b.err)"
	fi
}

find "$FIXTURES" -type f -print0 | xargs -0 grep -l --null -m1 '^regf' 2>/dev/null >hives.lst || true
# each distinct hive once (the volumes share most of theirs)
xargs -0 sha256sum <hives.lst | sort -k1,1 -u | cut -c67- | while IFS= read -r f; do
	same3 "fixture ${f#"$FIXTURES"/}" "$f"
done

if realdata; then
	for n in regipy/SYSTEM regipy/SYSTEM_B regipy/NTUSER_with_winscp.DAT yarp/EmptyHive \
		yarp/BigDataHive yarp/ManySubkeysHive yarp/StringValuesHive yarp/TruncatedHive \
		yarp/GarbageHive hivex/minimal hivex/special hivex/rlenvalue_test_hive \
		yarp/OldDirtyHive/OldDirtyHive yarp/OldDirtyHive/RecoveredHive_Windows7; do
		unxz_to "$n" real.hiv
		# dirty ones are read as they are: nobounce replays their logs first
		same3 "real $n" real.hiv --clean
	done
	# a base block whose checksum is wrong: nobounce refuses it by design
	unxz_to yarp/BadBaseBlockHive/BadBaseBlockHive bad.hiv
	"$TD" hread bad.hiv >/dev/null 2>bad.err
	check "real BadBaseBlockHive: hread refuses the bad checksum (hivex and libregf do not check it)" grep -q 'checksum is wrong' bad.err
fi

mkdir corpus
xz -dc "$TESTS/fuzz/corpus-hread.tar.xz" | tar xf - -C corpus
for f in corpus/*; do
	same3 "fuzz corpus $(basename "$f" | cut -c1-12)" "$f"
done
echo "# libregf read $lenient input(s) that hread and hivex refuse"
