# Helpers for tests/t-*.sh (sourced).  Each test runs in a fresh temporary
# directory; $NOBOUNCE, $MKHIVE, $FIXTURES, $HIVES, $REALDATA come from run.

pass() { echo "ok - $T: $*"; echo p >>"$COUNTS"; }
flunk() { echo "not ok - $T: $*"; echo f >>"$COUNTS"; }
skip() { echo "skip - $T: $*"; echo s >>"$COUNTS"; }

# nbd_servers: the qemu-nbd processes serving a file of this test's
# directory (qemu-nbd gets its images as descriptors, so its command line
# names none of them)
nbd_servers() {
	here=$(pwd -P)
	for p in $(pgrep -x qemu-nbd); do
		ls -l "/proc/$p/fd" 2>/dev/null | grep -qF -- "$here/" && echo "$p"
	done
}

# check DESC COMMAND...: passes when the command succeeds
check() {
	d=$1
	shift
	if "$@"; then pass "$d"; else flunk "$d"; fi
}

# json_seen FILE: its JSON lines join those tests/run checks against the
# schema at the end
json_seen() {
	[ -n "${JSONLOG:-}" ] && grep '^{"command":' "$1" 2>/dev/null | sed "s/^/$T\t/" >>"$JSONLOG"
	return 0
}

# nb WANT-RC DESC ARGS...: runs nobounce; stdout in out, stderr in err
nb() {
	want=$1 d=$2
	shift 2
	"$NOBOUNCE" "$@" >out 2>err
	rc=$?
	json_seen out
	if [ "$rc" = "$want" ]; then
		pass "$d (exit $rc)"
	else
		flunk "$d: exit $rc, expected $want; stderr: $(head -c 600 err)"
	fi
}

# fresh NAME [DEST]: a private copy of a fixture volume
fresh() {
	rm -rf "${2:-$1}"
	cp -a "$FIXTURES/$1" "${2:-$1}"
}

# treesum DIR: one line per file with its hash and its path below DIR
treesum() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# same_tree DESC DIR SNAPSHOT-FILE: DIR is byte for byte as recorded
same_tree() {
	treesum "$2" >"$3.now"
	if cmp -s "$3" "$3.now"; then pass "$1"; else
		flunk "$1: $(diff "$3" "$3.now" | head -5 | tr '\n' ' ')"
	fi
}

# grep_out DESC FILE PATTERN: FILE matches the extended regex
has() {
	if grep -Eq -- "$3" "$2"; then pass "$1"; else
		flunk "$1: no /$3/ in $2: $(head -c 400 "$2")"
	fi
}

# export HIVE [KEY]: hivexregedit's export, the independent reader
regexport() {
	hivexregedit --export "$1" "${2:-\\}"
}

# hget HIVE KEY VALUE: hivexget's reading of one value
hget() {
	hivexget "$1" "$2" "$3"
}

# jqok DESC FILTER FILE: jq's verdict on a JSON document
jqok() { # [DESC -s FILTER FILE]: -s reads every line as one array
	slurp=
	if [ "$2" = -s ]; then
		slurp=-s d=$1
		shift 2
		set -- "$d" "$@"
	fi
	json_seen "$3"
	if jq $slurp -e "$2" "$3" >/dev/null 2>jq.err; then pass "$1"; else
		flunk "$1: jq says no ($(head -c 300 jq.err)) to: $(head -c 600 "$3")"
	fi
}

realdata() {
	if [ ! -d "$REALDATA" ]; then
		skip "SKIP: $REALDATA is missing: real-hive tests not run"
		return 1
	fi
	return 0
}

# unxz_to NAME OUT: a real hive from ../shared/realdata
unxz_to() {
	xz -dc "$REALDATA/$1.xz" >"$2"
}

SYS=WINDOWS/system32/config/SYSTEM

# fault_at POINT REGEX ARGS...: how many times a traced run of the fault
# build (nobounce -v ARGS) reaches POINT before it first reaches it after a
# step line matching REGEX -- the N of NOBOUNCE_FAULT=POINT:N that kills a
# run right there.  The traced run changes its target: give it a copy.
fault_at() {
	_p=$1 _re=$2
	shift 2
	NOBOUNCE_FAULT=trace "$NOBOUNCE_FAULTS_BIN" -v "$@" >/dev/null 2>trace.err
	awk -v p="fault point $_p:" -v re="$_re" '$0 ~ re { seen = 1 }
		seen && index($0, p) { sub(/.*:/, ""); sub(/ reached.*/, ""); print; exit }' trace.err
}
