# NBD URIs as targets (nbd+unix:///?socket=...), through libnbd: nbdkit's
# file and memory plugins and qemu-nbd.  fix, undo and check give the same
# files as the same image opened as a file; a read-only export is refused
# for writing; a server that goes away mid-run is a clean io error, and the
# next run on the export finishes the job.
. "$TESTS/lib.sh"
SW=WINDOWS/system32/config/SOFTWARE
MB=WINDOWS/system32/inetsrv/MetaBase.xml
command -v nbdkit >/dev/null || { skip "nbdkit is missing (make deps installs it)"; exit 0; }
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" orig.raw mbr "$FIXTURES/sbs2003"
START=$(sfdisk --json orig.raw | jq '.partitiontable.partitions[0].start')
# files IMG: the three files of the image's volume, one hash each
files() {
	dd if="$1" of=p.img bs=512 skip="$START" 2>/dev/null
	for f in $SYS $SW $MB; do ntfscat p.img "$f" | sha256sum; done
}
cp orig.raw ref.raw
"$NOBOUNCE" fix -q ref.raw
files ref.raw >fixed.want
files orig.raw >orig.want
serve() { # SOCKET ARGS...: an nbdkit on a Unix socket, gone with the test
	s=$1
	shift
	nbdkit --exit-with-parent -U "$PWD/$s" --pidfile "$PWD/$s.pid" "$@" &
	for _ in $(seq 50); do [ -S "$s" ] && [ -s "$s.pid" ] && break; sleep 0.1; done
}
stop() { kill "$(cat "$1.pid")" 2>/dev/null; rm -f "$1" "$1.pid"; sleep 0.2; }
uri() { echo "nbd+unix:///?socket=$PWD/$1"; }

# nbdkit's file plugin
cp orig.raw f.raw
serve f.sock file f.raw
nb 1 "nbdkit file: check finds the work" check --json "$(uri f.sock)"
jqok "nbdkit file: the report says nobounce cannot see other clients" '.notes | any(test("NBD export: nobounce cannot see"))' out
nb 1 "nbdkit file: -x check" -x check "$(uri f.sock)"
has "nbdkit file: -x shows libnbd's debug messages" err '^libnbd: debug: .*nbd_connect_uri'
nb 0 "nbdkit file: fix" fix "$(uri f.sock)"
nb 0 "nbdkit file: check after it: clean" check "$(uri f.sock)"
stop f.sock
files f.raw >got
check "nbdkit file: the files equal the image fixed as a file" cmp -s got fixed.want
serve f.sock file f.raw
nb 0 "nbdkit file: undo" undo "$(uri f.sock)"
stop f.sock
files f.raw >got
check "nbdkit file: undo leaves the original files" cmp -s got orig.want

# a disk that says it wrote what it dropped: undo reads back every range it
# wrote, refuses, keeps the journal; on a sound disk the next undo finishes
if nbdkit python --version >/dev/null 2>&1; then
	cp orig.raw l.raw
	"$NOBOUNCE" fix -q l.raw
	serve l.sock python "$TESTS/nbd-lie.py" file=l.raw
	nb 3 "a disk that drops undo's writes: undo fails" undo "$(uri l.sock)"
	has "a disk that drops undo's writes: the read-back finds it" err 'reads back different from what was written'
	nb 1 "a disk that drops undo's writes: check still finds a pending run" check "$(uri l.sock)"
	stop l.sock
	serve l.sock file l.raw
	nb 0 "a disk that drops undo's writes: undo on a sound disk" undo "$(uri l.sock)"
	stop l.sock
	files l.raw >got
	check "a disk that drops undo's writes: then the files are the originals" cmp -s got orig.want
else
	skip "nbdkit's python plugin is missing (make deps installs it)"
fi

# nbdkit's memory plugin: the image copied in with nbdcopy, and out again
serve m.sock memory size="$(stat -c %s orig.raw)"
nbdcopy orig.raw "$(uri m.sock)"
nb 0 "nbdkit memory: fix" fix "$(uri m.sock)"
nbdcopy "$(uri m.sock)" m.raw
files m.raw >got
check "nbdkit memory: the files equal the image fixed as a file" cmp -s got fixed.want
nb 0 "nbdkit memory: undo" undo "$(uri m.sock)"
nbdcopy "$(uri m.sock)" m.raw
files m.raw >got
check "nbdkit memory: undo leaves the original files" cmp -s got orig.want
stop m.sock

# qemu-nbd serving a qcow2 on a Unix socket
qemu-img convert -O qcow2 orig.raw q.qcow2
qemu-nbd -k "$PWD/q.sock" -f qcow2 q.qcow2 --fork --pid-file "$PWD/q.pid" --persistent
nb 0 "qemu-nbd: fix" fix "$(uri q.sock)"
nb 0 "qemu-nbd: check after it: clean" check "$(uri q.sock)"
kill "$(cat q.pid)"
sleep 0.3
qemu-img convert -O raw q.qcow2 q.raw
files q.raw >got
check "qemu-nbd: the files equal the image fixed as a file" cmp -s got fixed.want
check "qemu-nbd: qemu-img check finds the qcow2 clean" qemu-img check -q q.qcow2

# a read-only export, and a format an export cannot have
cp orig.raw r.raw
serve r.sock -r file r.raw
nb 3 "read-only export: fix refused" fix --json "$(uri r.sock)"
jqok "read-only export: error kind read-only" '.error.kind == "read-only"' out
nb 1 "read-only export: check works" check "$(uri r.sock)"
nb 3 "an export with --format qcow2: refused" fix --format qcow2 "$(uri r.sock)"
has "an export with --format qcow2: says why" err 'an NBD export is the disk.s bytes as its server decodes them'
stop r.sock
check "read-only export: the image is byte-identical" cmp -s r.raw orig.raw
nb 3 "no server: a clean io error" check --json "$(uri none.sock)"
jqok "no server: error kind io" '.error.kind == "io"' out

# a server that goes away in the middle of a fix: every write slowed down,
# the server killed once the fix is under way
cp orig.raw g.raw
serve g.sock --filter=delay file g.raw delay-write=40ms
"$NOBOUNCE" fix --json "$(uri g.sock)" >gone.out 2>gone.err &
fixpid=$!
for _ in $(seq 100); do
	ls "$NOBOUNCE_STATE_DIR"/*.undo >/dev/null 2>&1 && break
	grep -q . gone.out 2>/dev/null && break
	sleep 0.05
done
sleep 0.3
stop g.sock
wait $fixpid
rc=$?
if [ $rc = 0 ]; then
	skip "the fix finished before the server was stopped"
else
	check "server gone mid-fix: exit 3" test $rc = 3
	jqok "server gone mid-fix: a clean io error" '.status == "error" and .error.kind == "io"' gone.out
fi
serve g.sock file g.raw
nb 0 "server back: fix finishes the job" fix "$(uri g.sock)"
stop g.sock
files g.raw >got
check "server back: the files equal the image fixed as a file" cmp -s got fixed.want
