# A power cut at any moment of a run: every write nobounce makes reaches the
# disk through an NBD server that records it (tests/powercut/record.py,
# under nbdfuse, so the real binary writes what it takes for a raw image),
# and tests/powercut/cuts.py rebuilds each state a cut can leave (writes
# since the last flush lost or reordered, sectors torn) and gives it to
# ntfs-3g, to fix and to undo.  Recorded: a fix, an undo, and a fix that
# recovers from a cut in the middle of a fix.
#
# make check checks a sample of the states (POWERCUT_SAMPLE, default 12 per
# recording and sector size); make powercut every state.  What must hold in
# every state: no run leaves a wrong file (each either recovers exactly or
# refuses, with the volume as it was).  States that are refused are counted
# and reported, not yet failed: see docs/safety.md.
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
SAMPLE=${POWERCUT_SAMPLE:-12}
CUTS=$TESTS/powercut/cuts.py
for p in nbdkit nbdfuse fusermount3; do
	command -v $p >/dev/null || { skip "$p is not installed"; exit 0; }
done
[ -e /dev/fuse ] || { skip "no /dev/fuse here"; exit 0; }

# record IMAGE LOG CMD: runs nobounce CMD on IMAGE served by the recorder
record() {
	mkdir -p m
	: >"$2"
	nbdfuse m/disk.img --command nbdkit -s python "$TESTS/powercut/record.py" \
		file="$PWD/$1" log="$PWD/$2" &
	fp=$!
	for _ in $(seq 50); do [ -e m/disk.img ] && break; sleep 0.1; done
	"$NOBOUNCE" "$3" -q m/disk.img >rec.out 2>&1
	rc=$?
	fusermount3 -u m
	wait $fp
	return $rc
}

"$HIVES/mkimage" "$NTFSPUT" base.img none "$FIXTURES/sbs2003"
cp base.img fixed.img
check "a fix recorded through nbdkit (exit $?)" record fixed.img fix.log fix
check "the recording holds writes and flushes" sh -c 'grep -c F fix.log >/dev/null && [ $(stat -c %s fix.log) -gt 4096 ]'
cp fixed.img undone.img
check "an undo recorded" record undone.img undo.log undo
# same_files A B: the three files nobounce changes are equal in two images
same_files() {
	for f in WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml; do
		[ "$(ntfscat "$1" "$f" | sha256sum)" = "$(ntfscat "$2" "$f" | sha256sum)" ] || return 1
	done
}
check "the recorded undo restored the originals" same_files undone.img base.img

# a cut half-way through the fix's longest epoch, then a fix that recovers
python3 - fix.log base.img mid.img <<'PY'
import struct, sys, shutil
d = open(sys.argv[1], "rb").read()
ops, i = [], 0
while i < len(d):
    if d[i:i + 1] == b"F":
        ops.append(None); i += 1
    else:
        off, n = struct.unpack_from("<QI", d, i + 1); ops.append((off, d[i + 13:i + 13 + n])); i += 13 + n
# the epochs, and the longest: its first half lands
ep, cur = [], []
for o in ops:
    if o is None:
        ep.append(cur); cur = []
    else:
        cur.append(o)
ep.append(cur)
k = max(range(len(ep)), key=lambda j: len(ep[j]))
shutil.copyfile(sys.argv[2], sys.argv[3])
with open(sys.argv[3], "r+b") as f:
    for e in ep[:k] + [ep[k][:len(ep[k]) // 2]]:
        for off, data in e:
            f.seek(off); f.write(data)
PY
cp mid.img recovered.img
record recovered.img rec.log fix
rc=$?
check "a fix after a cut mid-fix, recorded (exit $rc)" test $rc = 0 -o $rc = 3

total_refused=0
for sector in 512 4096; do
	for run in "fix base.img fix.log" "undo fixed.img undo.log" "recovery mid.img rec.log"; do
		set -- $run
		[ -s "$3" ] || continue
		python3 "$CUTS" "$2" "$3" fixed.img "$NOBOUNCE" --orig base.img --sector $sector \
			--sample "$SAMPLE" --seed 20261202 >cuts.out 2>&1
		summary=$(tail -1 cuts.out)
		wrong=$(sed -n 's/.* wrong \([0-9]*\)$/\1/p' cuts.out)
		refused=$(sed -n 's/.* refused \([0-9]*\) wrong.*/\1/p' cuts.out)
		check "cut during $1, $sector-byte sectors: no state leaves a wrong file ($summary)" test "${wrong:-x}" = 0
		if [ "${refused:-x}" != 0 ]; then
			skip "cut during $1, $sector-byte sectors: $refused states are refused, not recovered: $(grep -m1 '^refused' cuts.out | cut -c1-240)"
			total_refused=$((total_refused + refused))
		else
			pass "cut during $1, $sector-byte sectors: every state checked recovers exactly"
		fi
	done
done
echo "# t-powercut: $total_refused states refused in all"
