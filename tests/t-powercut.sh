# A power cut at any moment of a run: every write nobounce makes reaches the
# disk through an NBD server that records it (tests/powercut/record.py,
# under nbdfuse, so the real binary writes what it takes for a raw image),
# and tests/powercut/cuts.py rebuilds each state a cut can leave (writes
# since the last flush lost or reordered, sectors torn) and gives it to
# ntfs-3g, to fix and to undo.  Recorded: a fix, an undo, and a fix that
# recovers from a cut in the middle of a fix.
#
# make check checks a sample of the states (POWERCUT_SAMPLE, default 8 per
# recording and sector size); make powercut every state.  In every state,
# check must not refuse, fix must leave exactly a clean fix's files and
# undo the originals, on a volume ntfs-3g reads whole, with no undo log
# left: none refused, none wrong.
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
SAMPLE=${POWERCUT_SAMPLE:-8}
CUTS=$TESTS/powercut/cuts.py
for p in nbdkit nbdfuse fusermount3; do
	command -v $p >/dev/null || { skip "$p is not installed"; exit 0; }
done
[ -e /dev/fuse ] || { skip "no /dev/fuse here"; exit 0; }

# record IMAGE LOG CMD [STATE]: runs nobounce CMD on IMAGE served by the
# recorder, with the host state directory (its undo logs; a copy of STATE
# when given) snapshotted at each flush
record() {
	mkdir -p m
	rm -rf state
	if [ -n "${4:-}" ]; then cp -a "$4" state; else mkdir -m 700 state; fi
	: >"$2"
	nbdfuse m/disk.img --command nbdkit -s python "$TESTS/powercut/record.py" \
		file="$PWD/$1" log="$PWD/$2" statedir="$PWD/state" &
	fp=$!
	for _ in $(seq 50); do [ -e m/disk.img ] && break; sleep 0.1; done
	NOBOUNCE_STATE_DIR=$PWD/state "$NOBOUNCE" "$3" -q m/disk.img >rec.out 2>&1
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

# a cut half-way through the fix's longest epoch after its first (where the
# journal says the files are being written), then a fix that recovers
PYTHONPATH=$TESTS/powercut python3 - fix.log base.img mid.img mid.state <<'PY'
import os, shutil, sys
import cuts
ep = cuts.read_log(sys.argv[1])
k = max(range(1, len(ep)), key=lambda j: len(ep[j][0]))
writes = [w for e in ep[:k] for w in e[0]] + ep[k][0][:len(ep[k][0]) // 2]
cuts.build(sys.argv[2], sys.argv[3], writes)
os.makedirs(sys.argv[4], mode=0o700)
for name, data in ep[k][1].items():  # named for the image as nbdfuse showed it
    open(os.path.join(sys.argv[4], name), "wb").write(data)
print("# t-powercut: the recovery starts from epoch %d, %d of its %d writes" % (k, len(ep[k][0]) // 2, len(ep[k][0])))
PY
cp mid.img recovered.img
record recovered.img rec.log fix mid.state
rc=$?
check "a fix after a cut mid-fix, recorded (exit $rc)" test $rc = 0
check "the recovering fix left the clean fix's files" same_files recovered.img fixed.img

for sector in 512 4096; do
	for run in "fix base.img fix.log" "undo fixed.img undo.log" "recovery mid.img rec.log"; do
		set -- $run
		[ -s "$3" ] || continue
		python3 "$CUTS" "$2" "$3" fixed.img "$NOBOUNCE" --orig base.img --sector $sector \
			--sample "$SAMPLE" --seed 20261202 >cuts.out 2>&1
		summary=$(tail -1 cuts.out)
		check "cut during $1, $sector-byte sectors: every state recovers exactly ($summary)$(grep -m1 -E '^(refused|wrong)' cuts.out | cut -c1-300)" \
			grep -q ' refused 0 wrong 0$' cuts.out
	done
done
