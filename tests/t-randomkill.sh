# Killed at a random moment: a qcow2 image (the form of a template fleet)
# goes through fix and undo again and again, each run killed (SIGKILL) after
# a delay drawn from a seed, wherever it happens to be -- inside
# libntfs-3g, qemu-nbd or a write -- and then finished by a run that is not
# killed.  Every time, the three files must be byte for byte the clean fix's
# or the originals, and the volume must stay readable by ntfs-3g's tools.
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
FILES="WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml"
KILLS=${NOBOUNCE_KILLS:-32}
# make check draws from a fixed seed; make powercut from a fresh one, with
# more kills.  The seed is printed: NOBOUNCE_SEED=N replays a run.
SEED=${NOBOUNCE_SEED:-20261129}
[ "$SEED" = fresh ] && SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
echo "# t-randomkill: seed $SEED, $KILLS kills (NOBOUNCE_SEED=$SEED replays it)"
export TMPDIR=${TMPDIR:-/tmp}

fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
"$HIVES/mkimage" "$NTFSPUT" pristine.img mbr "$FIXTURES/sbs2003"
START=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].start')
SIZE=$(sfdisk --json pristine.img | jq '.partitiontable.partitions[0].size')
qemu-img convert -O qcow2 pristine.img k.qcow2

# files_are REFDIR: the three files in k.qcow2 equal REFDIR's, and ntfsls
# lists WINDOWS (the directory every journal lives in)
files_are() {
	qemu-img convert -O raw k.qcow2 k.raw
	dd if=k.raw of=p.ntfs bs=512 skip="$START" count="$SIZE" status=none
	ntfsls -p /WINDOWS p.ntfs >/dev/null 2>&1 || return 1
	for f in $FILES; do
		ntfscat p.ntfs "$f" >got 2>/dev/null && cmp -s got "$1/$f" || return 1
	done
}

# nbd_gone: qemu-nbd follows its nobounce (PR_SET_PDEATHSIG); wait for it
nbd_gone() {
	for _ in $(seq 1 50); do
		[ -n "$(nbd_servers)" ] || return 0
		sleep 0.1
	done
	return 1
}

# How long a run takes (the shorter of fix and undo), to spread the kills
# over it.
t0=$(date +%s%N)
"$NOBOUNCE" fix -q k.qcow2
t1=$(date +%s%N)
"$NOBOUNCE" undo -q k.qcow2
t2=$(date +%s%N)
span=$(((t1 - t0) / 1000000))
[ $(((t2 - t1) / 1000000)) -lt $span ] && span=$(((t2 - t1) / 1000000))
check "a fix takes $span ms here; the kills fall within it" test "$span" -gt 0

# the delays and commands, from the seed, so a failure can be replayed
awk -v n=$((KILLS * 4)) -v span="$span" -v seed="$SEED" 'BEGIN { srand(seed);
	for (i = 0; i < n; i++) printf "%s %.3f\n", (rand() < 0.5 ? "fix" : "undo"), rand() * span * 0.9 / 1000 }' >plan.txt

killed=0 finished=0 i=0
state=original # what the files hold before each killed run
while [ $killed -lt $KILLS ] && read -r cmd delay; do
	i=$((i + 1))
	# undo needs a fix to undo: give it one
	if [ $cmd = undo ] && [ $state = original ]; then
		"$NOBOUNCE" fix -q k.qcow2 || flunk "kill $i: the setup fix failed"
		state=fixed
	fi
	"$NOBOUNCE" $cmd -q k.qcow2 >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	# 137: the kill came first (a process already done is only reaped)
	if [ $? = 137 ]; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
	nbd_gone || flunk "kill $i: qemu-nbd outlived its nobounce"
	# finish with the same command, or the other one, in turn
	next=$cmd
	[ $((i % 3)) = 0 ] && { [ $cmd = fix ] && next=undo || next=fix; }
	"$NOBOUNCE" $next -q k.qcow2 >out 2>err
	rc=$?
	want=ref
	[ $next = undo ] && want="$FIXTURES/sbs2003"
	if [ $rc = 0 ] && files_are "$want"; then
		pass "kill $i: $cmd killed after ${delay}s, then $next: the files are exactly $([ $next = fix ] && echo "the clean fix's" || echo the originals)"
	else
		flunk "kill $i (seed $SEED): $cmd killed after ${delay}s, then $next exits $rc: $(head -c 300 err)"
		break
	fi
	[ $next = fix ] && state=fixed || state=original
done <plan.txt
check "the runs were killed mid-way $killed times (at least $KILLS), $finished finished first" test $killed -ge $KILLS
qemu-img check k.qcow2 >qcheck.txt 2>&1
qrc=$?
# 0: clean; 3: only leaked clusters (a qemu-nbd killed before it flushed)
check "qemu-img check finds no corruption in the qcow2 image (exit $qrc)" sh -c "[ $qrc = 0 ] || [ $qrc = 3 ]"
