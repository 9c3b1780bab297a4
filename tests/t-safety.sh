# Bad input gets a clear error and nothing is written: dirty and damaged
# hives, links out of the volume, special files, a held lock, undo after a
# later change, an interrupted run.
. "$TESTS/lib.sh"
S=$HIVES/system

# undo_refused NAME KIND [ARGS...]: undo ARGS on ./vol exits 3 with error
# KIND and writes nothing
undo_refused() {
	_n=$1 _k=$2
	shift 2
	treesum vol >snap
	nb 3 "$_n: refused" undo --json "$@" vol
	jqok "$_n: error kind $_k" ".error.kind == \"$_k\"" out
	same_tree "$_n: nothing written" vol snap
}

# refused NAME KIND PATTERN: fix on ./vol exits 3, says PATTERN, writes nothing
refused() {
	treesum vol >snap
	nb 3 "$1: fix refused" fix --json vol
	jqok "$1: error kind $2" ".status == \"error\" and .error.kind == \"$2\"" out
	has "$1: the message names the file and says why" err "$3"
	same_tree "$1: the target is byte-identical" vol snap
	check "$1: no journal or copy was left" sh -c '! find vol -name "*nobounce*" | grep -q .'
}

fresh sbs2003 vol
"$MKHIVE" -o vol/$SYS --sequence 7:6 "$S/base.reg" "$S/smtpsvc1.reg" "$S/smtpsvc2.reg"
refused "dirty SYSTEM" dirty-hive 'WINDOWS/system32/config/SYSTEM: the hive is dirty \(sequence numbers 7 and 6 differ.*shut it down cleanly'
nb 3 "dirty SYSTEM: check fails too" check vol

fresh noexchange vol
"$MKHIVE" -o vol/$SYS --sequence 3:2 "$S/base.reg"
refused "dirty SYSTEM that needs no edit" dirty-hive 'the hive is dirty'

fresh sbs2003 vol
"$MKHIVE" -o vol/WINDOWS/system32/config/SOFTWARE --sequence 9:8 "$HIVES/software/base.reg"
refused "dirty SOFTWARE" dirty-hive 'config/SOFTWARE: the hive is dirty'

fresh sbs2003 vol
printf 'X' | dd of=vol/$SYS bs=1 seek=100 conv=notrunc 2>/dev/null
refused "bad base block checksum" damaged-hive 'checksum is wrong'

fresh sbs2003 vol
truncate -s 8192 vol/$SYS
refused "truncated hive" damaged-hive 'truncated: the base block says 12288 bytes, the file has 8192'

# bytes after the last bin are allowed (t-system); bins that are damaged
# are not, with or without them
fresh sbs2003 vol
printf 'garbage' >>vol/$SYS
dd if=/dev/zero of=vol/$SYS bs=1 seek=4096 count=4 conv=notrunc 2>/dev/null
refused "bytes after the last bin, and no first hbin" damaged-hive 'first hive bin is missing'

fresh sbs2003 vol
dd if=/dev/zero of=vol/$SYS bs=1 seek=4096 count=4 conv=notrunc 2>/dev/null
refused "no first hbin" damaged-hive 'first hive bin is missing'

fresh sbs2003 vol
head -c 12288 /dev/urandom >vol/$SYS
refused "random bytes" damaged-hive 'not a registry hive'

fresh sbs2003 vol
# a cell size of zero in the first bin: nobounce's reader (and hivex) refuse it
printf '\000\000\000\000' | dd of=vol/$SYS bs=1 seek=4128 conv=notrunc 2>/dev/null
refused "a broken cell" damaged-hive 'the cell at 0x20 has a size \(0\) that does not fit its bin. Restore the hive from a backup'

# a bin that no key reads, added at the end with a broken cell: planning
# never reads it, but a hive with work to do has every bin checked, so check
# refuses what fix would; a hive with nothing to do is not refused for it
bad_bin() { # HIVE: a 4 KiB bin appended to the bins, its one cell 12 bytes long
	python3 - "$1" <<'PY'
import struct, sys
p = sys.argv[1]
h = bytearray(open(p, "rb").read())
bins = struct.unpack_from("<I", h, 0x28)[0]
b = bytearray(4096)
b[0:4] = b"hbin"
struct.pack_into("<III", b, 4, bins, 4096, 0)
struct.pack_into("<i", b, 32, 12)
h[4096 + bins:4096 + bins] = b
struct.pack_into("<I", h, 0x28, bins + 4096)
x = 0
for i in range(127):
    x ^= struct.unpack_from("<I", h, 4 * i)[0]
struct.pack_into("<I", h, 0x1FC, {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x))
open(p, "wb").write(h)
PY
}
fresh sbs2003 vol
bad_bin vol/$SYS
nb 3 "a broken cell in a bin nothing reads: check refuses" check --json vol
jqok "a broken cell in a bin nothing reads: error kind damaged-hive" '.status == "error" and .error.kind == "damaged-hive"' out
refused "a broken cell in a bin nothing reads" damaged-hive 'SYSTEM: the cell at 0x[0-9a-f]* has a size \(12\) that does not fit its bin'
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
"$NOBOUNCE" commit -q vol
bad_bin vol/$SYS
treesum vol >snap
nb 0 "a broken cell in an unread bin of a hive with nothing to do: check is clean" check vol
nb 0 "a broken cell in an unread bin of a hive with nothing to do: fix has nothing to do" fix vol
same_tree "a broken cell in an unread bin of a hive with nothing to do: nothing written" vol snap

# A SYSTEM symlink pointing outside the volume: refused, outside untouched.
fresh sbs2003 vol
mkdir outside
cp vol/$SYS outside/SYSTEM
sha_out=$(sha256sum <outside/SYSTEM)
rm vol/$SYS
ln -s "$PWD/outside/SYSTEM" vol/$SYS
refused "SYSTEM is a symlink out of the volume" unsafe-path 'SYSTEM: is a symbolic link'
check "the file outside is unchanged" test "$(sha256sum <outside/SYSTEM)" = "$sha_out"

# A directory on the path is a symlink.
fresh sbs2003 vol
mv vol/WINDOWS/system32 outside/system32
ln -s "$PWD/outside/system32" vol/WINDOWS/system32
nb 3 "system32 is a symlink: refused" fix vol
has "system32 is a symlink: the message says so" err 'WINDOWS/system32: is a symbolic link'
check "system32 is a symlink: the outside SYSTEM is unchanged" test "$(sha256sum <outside/system32/config/SYSTEM)" = "$sha_out"

# SYSTEM is a FIFO: refused at once, never opened for reading (no hang).
fresh sbs2003 vol
rm vol/$SYS
mkfifo vol/$SYS
treesum vol >snap
timeout 10 "$NOBOUNCE" fix vol >out 2>err
check "a FIFO as SYSTEM is refused without blocking (exit $?)" test $? = 3
has "a FIFO: the message says it is not a regular file" err 'not a regular file'

# Another nobounce holds the volume.
fresh sbs2003 vol
treesum vol >snap
flock -n vol sleep 5 &
sleep 0.3
nb 3 "a locked volume: refused" fix --json vol
jqok "a locked volume: error kind locked" '.error.kind == "locked"' out
same_tree "a locked volume: nothing written" vol snap
kill %1 2>/dev/null
wait

# undo after someone changed the file: refused unless --force, which needs
# the full copies of fix --backup.
fresh sbs2003 vol
treesum vol >pristine
"$NOBOUNCE" fix -q --backup vol
check "fix --backup: the copy is the original SYSTEM" cmp -s vol/$SYS.nobounce-1.bak "$FIXTURES/sbs2003/$SYS"
printf '[\\ControlSet001\\Services\\SMTPSVC]\n"Later"=dword:00000005\n' >later.reg
"$MKHIVE" -o changed.hiv --base vol/$SYS later.reg
cat changed.hiv >vol/$SYS
undo_refused "undo after a later change" changed-since
has "undo after a later change: --force is offered" err 'Use --force'
nb 0 "undo --force restores the full copy" undo --force vol
same_tree "undo --force: the original is back, the copies gone" vol pristine

# The same without full copies: the journal alone cannot undo a changed file.
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
cat changed.hiv >vol/$SYS
undo_refused "undo --force without full copies" no-backup --force

# A damaged journal: undo and fix refuse, nothing written.
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
J=vol/WINDOWS/nobounce-1.journal
size=$(stat -c %s $J)
printf 'X' | dd of=$J bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
printf 'applying' | dd of=$J bs=1 seek=26 conv=notrunc 2>/dev/null
undo_refused "a damaged journal: undo" bad-journal
has "a damaged journal: the message says what to do" err 'nobounce-1.journal: .*cannot be trusted \(its saved pages do not match their checksum\).*copy them back by hand'
nb 3 "a damaged journal: fix refused" fix --json vol
same_tree "a damaged journal: nothing written by fix" vol snap

# A run interrupted mid-write (journal still "applying", SYSTEM's first
# page old, the rest new): check says so, fix rolls back and redoes, undo
# rolls back.
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
fresh sbs2003 vol
treesum vol >pristine
"$NOBOUNCE" fix -q vol
J=vol/WINDOWS/nobounce-1.journal
check "the journal's header says complete" sh -c "head -c 512 $J | grep -q '^state: complete'"
printf 'applying' | dd of=$J bs=1 seek=26 conv=notrunc 2>/dev/null
dd if="$FIXTURES/sbs2003/$SYS" of=vol/$SYS bs=4096 count=1 conv=notrunc 2>/dev/null
cp -a vol vol2
cp -a vol vol3
set -- $(sed -n 's/^index: \([0-9]*\) \([0-9]*\) .*/\1 \2/p' $J | head -1)
dd if=$J of=index.json bs=4096 iflag=skip_bytes,count_bytes skip=$1 count=$2 status=none
nb 1 "interrupted run: check says fix is needed" check vol
has "interrupted run: check explains" out 'run 1 was interrupted'
nb 0 "interrupted run: fix completes it" fix vol
has "interrupted run: fix says it rolled back first" out 'interrupted run 1 was rolled back first'
check "interrupted run: SYSTEM equals a clean fix's" cmp -s vol/$SYS ref/$SYS
nb 0 "interrupted run: undo instead" undo vol2
same_tree "interrupted run: undo restores the original" vol2 pristine

# The same, but a page the run never wrote was changed since: the journal
# cannot lead back to the original, which undo proves in memory before it
# writes anything.
SW=WINDOWS/system32/config/SOFTWARE
check "interrupted run: SOFTWARE's second MiB was not written by the run" sh -c \
	"jq -e '[.files[] | select(.path == \"$SW\") | .ranges[] | select(.offset < 2097152 and .offset + .length > 1048576)] == []' index.json >/dev/null"
dd if=/dev/zero of=vol3/$SW bs=1 seek=1048576 count=100 conv=notrunc 2>/dev/null
treesum vol3 >snap
nb 3 "interrupted run, then changed: undo refused" undo --json vol3
jqok "interrupted run, then changed: error kind changed-since" '.error.kind == "changed-since"' out
same_tree "interrupted run, then changed: nothing written" vol3 snap
