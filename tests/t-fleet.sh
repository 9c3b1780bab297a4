# Fleets: many targets per run, in parallel workers, with progress; a worker
# that dies, a target that hangs, SIGINT mid-run.
. "$TESTS/lib.sh"
F=$NOBOUNCE_FAULTS_BIN
NTFSPUT=$(dirname "$MKHIVE")/ntfsput

# A mix: fixable, not an Exchange server, broken, no Windows at all.
for i in 1 2 3; do fresh sbs2003 fix$i; done
fresh noexchange clean1
fresh nowindows na1
fresh sbs2003 broken1
head -c 12288 /dev/urandom >broken1/$SYS
nb 3 "a mixed fleet: exit 3 (one target is broken)" fix -j 2 --json fix1 fix2 fix3 clean1 na1 broken1
check "a mixed fleet: one JSON line per target" test "$(wc -l <out)" = 6
jqok "a mixed fleet: every status as expected" -s 'map({(.target): [.status, .error.kind]}) | add == {"fix1":["fixed",null],"fix2":["fixed",null],"fix3":["fixed",null],"clean1":["not-applicable",null],"na1":["error","no-windows"],"broken1":["error","damaged-hive"]}' out
jqok "a mixed fleet: each line has its elapsed time in ms" -s 'all(.[]; .elapsed_ms | type == "number" and . >= 0 and floor == .)' out
has "a mixed fleet: the summary on stderr counts by status" err '^nobounce: 6 targets in [0-9.]+ s: 3 fixed, 1 not-applicable, 2 error$'
check "a mixed fleet: no progress line when stderr is not a terminal" sh -c '! grep -q "\[[0-9]*/6\]" err'
for i in 1 2 3; do
	check "a mixed fleet: fix$i has SuppressExternal" test "$(hget fix$i/$SYS '\ControlSet002\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
done
nb 1 "check over a fleet: 1 when one needs work" check -j 2 fix1 clean1 "$(fresh sbs2003 more && echo more)"
nb 0 "check over a clean fleet: 0" check -j 2 fix1 clean1
nb 3 "check over a fleet with a folder that holds no Windows: 3" check -j 2 fix1 clean1 na1

# Targets from a file and from standard input.
printf 'fix1\n# a comment\n\nclean1\n' >list
nb 0 "--from FILE" check --json --from list
check "--from FILE: two targets" test "$(wc -l <out)" = 2
printf 'fix2\nfix3\n' | "$NOBOUNCE" undo --json --from - >out 2>err
check "--from -: both undone (exit $?)" sh -c "test \$(jq -r .status out | sort -u) = restored"

# A worker killed mid-write: reported for its target, the others finish,
# and the next fix completes it.
fresh sbs2003 dies
fresh noexchange c2
NOBOUNCE_FAULT=mid-write:1 "$F" fix -j 2 --json dies c2 >out 2>err
check "a worker killed mid-write: the run fails (exit $?)" test $? = 3
jqok "a worker killed mid-write: reported as crashed, the other target not applicable" -s 'map({(.target): [.status, (.error.kind // null)]}) | add == {"dies": ["error", "crashed"], "c2": ["not-applicable", null]}' out
has "a worker killed mid-write: the message says what to do" err "dies: its worker died \(signal 9\); run 'nobounce check'"
nb 0 "a worker killed mid-write: fix completes the target" fix dies
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
for f in $SYS WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv/MetaBase.xml; do
	check "a worker killed mid-write: $f as a clean run leaves it" cmp -s dies/$f ref/$f
done

# A target that hangs past --timeout: stopped, reported, the others finish.
fresh sbs2003 hangs
fresh noexchange c3
start=$(date +%s)
NOBOUNCE_FAULT=before-create:0 NOBOUNCE_FAULT_ACTION=stop "$F" fix --timeout 1 --json hangs c3 >out 2>err
rc=$?
took=$(($(date +%s) - start))
check "a hanging target: the run fails (exit $rc)" test $rc = 3
check "a hanging target: stopped within a few seconds ($took s)" test $took -le 6
jqok "a hanging target: reported as timeout, the other not applicable" -s 'map({(.target): [.status, (.error.kind // null)]}) | add == {"hangs": ["error", "timeout"], "c3": ["not-applicable", null]}' out
nb 0 "a hanging target: fix completes it afterwards" fix hangs
check "a hanging target: its SYSTEM is as a clean run leaves it" cmp -s hangs/$SYS ref/$SYS
fresh sbs2003 hangs2
NOBOUNCE_FAULT=before-create:0 NOBOUNCE_FAULT_ACTION=stop "$F" fix --timeout 0.01 --json hangs2 c3 >out 2>err
has "a --timeout under a second is said as given, not as 0 s" err "hangs2: did not finish within 0.01 s"

# SIGINT mid-run: no new target starts; targets being written finish; every
# target ends untouched or fully fixed.
for i in 1 2 3 4 5 6; do fresh sbs2003 s$i; done
NOBOUNCE_FAULT=before-write:1 NOBOUNCE_FAULT_ACTION=stop "$F" fix -j 2 --json s1 s2 s3 s4 s5 s6 >out 2>err &
pid=$!
for i in $(seq 1 50); do
	[ "$(pgrep -P $pid | xargs -r ps -o stat= -p | grep -c '^T')" = 2 ] && break
	sleep 0.1
done
kids=$(pgrep -P $pid)
check "SIGINT: two workers are caught mid-fix" test "$(echo $kids | wc -w)" = 2
kill -INT $pid
sleep 0.3
kill -CONT $kids
wait $pid
rc=$?
check "SIGINT: the run says it did not finish (exit $rc)" test $rc = 3
has "SIGINT: the summary says what was not started" err '2 fixed, 4 not started \(interrupted\)'
check "SIGINT: every target has its JSON line ($(wc -l <out))" test "$(wc -l <out)" = 6
jqok "SIGINT: those not started say so" -s '[.[] | select(.status == "error")] | length == 4 and all(.error.kind == "interrupted" and (.error.message | test("^not started: Interrupt came first; nothing was written")))' out
fixed=0 untouched=0 other=0
for i in 1 2 3 4 5 6; do
	if cmp -s s$i/$SYS ref/$SYS && cmp -s s$i/WINDOWS/system32/config/SOFTWARE ref/WINDOWS/system32/config/SOFTWARE; then
		fixed=$((fixed + 1))
	elif [ "$(treesum s$i | sed 's| ./| |')" = "$(treesum "$FIXTURES/sbs2003" | sed 's| ./| |')" ]; then
		untouched=$((untouched + 1))
	else
		other=$((other + 1))
	fi
done
check "SIGINT: every target untouched ($untouched) or fully fixed ($fixed), none between ($other)" test $other = 0 -a $fixed = 2

# 64 images with -j 2, progress on a terminal (script gives a pty).
"$HIVES/mkimage" "$NTFSPUT" one.img mbr "$FIXTURES/winnt"
for i in $(seq 1 64); do cp --sparse=always one.img img$i.img; done
script -qec "'$NOBOUNCE' fix -j 2 --json img*.img >out64" prog >/dev/null
check "64 images: one JSON line each" test "$(wc -l <out64)" = 64
jqok "64 images: all fixed" -s 'length == 64 and all(.[]; .status == "fixed")' out64
check "64 images: a progress line on the terminal reaching 64/64" grep -q '\[64/64\] 0 failed' prog
has "64 images: the summary" prog '64 targets in [0-9.]+ s: 64 fixed'
dd if=img17.img of=p17 bs=512 skip=2048 count=131072 status=none
fresh winnt refnt
"$NOBOUNCE" fix -q refnt
ntfscat p17 WINNT/system32/config/SYSTEM >got 2>/dev/null
check "64 images: image 17's SYSTEM equals the directory result (ntfscat)" cmp -s got refnt/WINNT/system32/config/SYSTEM

# docs/fleet.md: its recipes, run as written, on this host
DOC=$TESTS/../docs/fleet.md
mkdir -p bin && ln -sf "$NOBOUNCE" bin/nobounce
# block N: the Nth fenced block of docs/fleet.md whose first line says LANG
block() {
	awk -v want="$2" -v lang="$1" '/^```/ { if (inb) { inb = 0; next } if ($0 == "```" lang) { n++; inb = (n == want) } next }
		inb { print }' "$DOC"
}
for i in 1 2 3; do fresh sbs2003 p$i; done
fresh sbs2003 pbad
head -c 12288 /dev/urandom >pbad/$SYS
printf '%s\n' "$PWD/p1" "$PWD/p2" "$PWD/p3" "$PWD/pbad" >images.txt
# the fix line (block 2: block 1 is the one-host line), hosts made ':' (here)
block sh 2 | sed 's|4/host1,4/host2|4/:|' >fix.sh
check "GNU parallel: the fix recipe is in docs/fleet.md" grep -q "nobounce fix --json {} :::: images.txt" fix.sh
PATH=$PWD/bin:$PATH sh fix.sh 2>err
rc=$?
check "GNU parallel fix: one job failed, the broken image (exit $rc)" test $rc = 1
check "GNU parallel fix: four JSON lines" test "$(wc -l <results.jsonl)" = 4
jqok "GNU parallel fix: three fixed, the broken one an error" -s '(map(select(.status == "fixed")) | length) == 3 and (map(select(.status == "error")) | length) == 1' results.jsonl
for i in 1 2 3; do fresh sbs2003 p$i; done
block sh 3 | sed 's|4/host1,4/host2|4/:|' >check.sh
PATH=$PWD/bin:$PATH sh check.sh 2>err
rc=$?
check "GNU parallel check: exit 1 (work found) is no failed job; the broken image is (exit $rc)" test $rc = 1
check "GNU parallel check: the job log shows one failure" test "$(awk 'NR > 1 && $7 != 0' check.log | wc -l)" = 1
jqok "GNU parallel check: three need a fix" -s '(map(select(.status == "needs-fix")) | length) == 3' checks.jsonl
block sh 4 >after.sh
check "GNU parallel: the jq lines afterwards run" sh -c 'sh after.sh >after.out && grep -q pbad after.out && grep -q "\"fixed\": *3" after.out'

if command -v ansible-playbook >/dev/null; then
	for i in 1 2 3; do fresh sbs2003 p$i; done
	block yaml 1 >playbook.yml
	printf '[imaging]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >inventory
	mkdir -p res
	PATH=$PWD/bin:$PATH ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$PWD/ans ANSIBLE_REMOTE_TEMP=$PWD/ans \
		ansible-playbook -i inventory playbook.yml -e images="$PWD/images.txt" -e results="$PWD/res" >ansible.out 2>&1
	rc=$?
	check "Ansible: the host fails, for the broken image (exit $rc)" test $rc = 2
	check "Ansible: the results were kept all the same ($(wc -l <res/localhost.jsonl 2>/dev/null) lines)" test "$(grep -c '^{' res/localhost.jsonl)" = 4
	jqok "Ansible: three fixed, one error" -s '(map(select(.status == "fixed")) | length) == 3' res/localhost.jsonl
	has "Ansible: the failure names the image" ansible.out 'pbad'
else
	skip "ansible-playbook is missing (make deps installs ansible-core)"
fi

# Targets as libguestfs users give them: -a IMAGE, and --format for the
# targets after it until the next (auto detects again), also per line in a
# --from file (FMT<TAB>PATH).  --reg runs across them as one fleet.
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" fb.raw mbr "$FIXTURES/sbs2003"
qemu-img convert -O qcow2 fb.raw fa.qcow2
nb 1 "--format per target: qcow2 then raw" check --json --format qcow2 fa.qcow2 --format raw fb.raw
jqok "--format per target: both read as given" -s 'length == 2 and all(.[]; .status == "needs-fix")' out
nb 3 "--format raw on a qcow2: that target alone fails" check --json --format raw fa.qcow2 --format auto fb.raw
jqok "--format raw on a qcow2: read as raw, refused; auto detects the next" -s \
	'(map(select(.target == "fa.qcow2"))[0].error.kind == "no-windows") and (map(select(.target == "fb.raw"))[0].status == "needs-fix")' out
printf 'qcow2\tfa.qcow2\n# a comment\nfb.raw\n' >fmt.list
nb 1 "--from with FMT<TAB>PATH lines" check --json --format raw --from fmt.list
jqok "--from: the line's format for fa.qcow2, --format raw for fb.raw" -s 'length == 2 and all(.[]; .status == "needs-fix")' out
printf 'qcow3\tfa.qcow2\n' >bad.list
nb 2 "--from with an unknown format before the tab: a usage error" check --from bad.list
has "--from: names the file and the word" err "bad.list: 'qcow3' before a tab is no format"
nb 1 "-a IMAGE, twice" check --json -a fa.qcow2 -a fb.raw
jqok "-a: both targets run" -s 'length == 2' out
nb 0 "fix --reg across a fleet (-j 2)" fix -q --reg "$TESTS/reg/basic.reg" -j 2 fa.qcow2 fb.raw
nb 0 "check --reg after it: both clean" check --json --reg "$TESTS/reg/basic.reg" -a fa.qcow2 fb.raw
jqok "check --reg: both clean" -s 'length == 2 and all(.[]; .status == "clean")' out
nb 0 "undo across the fleet" undo -q fa.qcow2 fb.raw
nb 1 "after undo, the XEXCH50 fix has its work again" check -q fa.qcow2 fb.raw
