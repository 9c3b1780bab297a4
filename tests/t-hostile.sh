# Hostile volumes and images: a link or reparse point at every component of
# every path nobounce opens, files larger than any real one, names that are
# not UTF-16, keys nested past Windows' limit.  Each: exit 3 (or a correct
# result), the target unchanged, nothing outside it touched.
. "$TESTS/lib.sh"
NTFSPUT=$(dirname "$MKHIVE")/ntfsput
PATHS="WINDOWS WINDOWS/system32 WINDOWS/system32/config WINDOWS/system32/config/SYSTEM
WINDOWS/system32/config/SOFTWARE WINDOWS/system32/inetsrv WINDOWS/system32/inetsrv/MetaBase.xml"

# A symbolic link at each component, pointing at a copy outside the volume.
for p in $PATHS; do
	rm -rf vol outside
	fresh sbs2003 vol
	mkdir outside
	mv "vol/$p" outside/x
	ln -s "$PWD/outside/x" "vol/$p"
	treesum vol >snap
	treesum outside >osnap
	nb 3 "symlink at $p: fix refused" fix --json vol
	jqok "symlink at $p: unsafe-path naming it" ".error.kind == \"unsafe-path\" and (.error.message | startswith(\"$p: is a symbolic link\"))" out
	same_tree "symlink at $p: the volume is unchanged" vol snap
	same_tree "symlink at $p: the outside target is unchanged" outside osnap
done

# The journal as a link, for undo: refused, nothing written on either side.
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
mv vol/WINDOWS/nobounce-1.journal outside.journal
ln -s "$PWD/outside.journal" vol/WINDOWS/nobounce-1.journal
treesum vol >snap
osum=$(sha256sum <outside.journal)
nb 3 "a journal that is a symlink: undo refused" undo --json vol
jqok "a journal that is a symlink: unsafe-path" '.error.kind == "unsafe-path"' out
same_tree "a journal that is a symlink: nothing written" vol snap
check "a journal that is a symlink: the file it points to is unchanged" test "$(sha256sum <outside.journal)" = "$osum"

# A journal planted in the image that names a file nobounce never edits,
# or a copy on the host: refused, nothing written anywhere.
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
J=vol/WINDOWS/nobounce-1.journal
echo "host file" >hostfile
hsum=$(sha256sum <hostfile)
for evil in path:WINDOWS/system32/drivers/etc/hosts copy:../../hostfile; do
	what=${evil%%:*} val=${evil#*:}
	set -- $(sed -n 's/^index: \([0-9]*\) \([0-9]*\) .*/\1 \2/p' $J | head -1)
	dd if=$J of=ix.json bs=4096 iflag=skip_bytes,count_bytes skip=$1 count=$2 status=none
	cp $J evil.journal
	if [ $what = path ]; then
		jq -c --arg v "$val" '.files[0].path = $v' ix.json >ix2.json
	else
		jq -c --arg v "$val" '.files[0].copy = $v | .files[0].copy_on = "host"' ix.json >ix2.json
	fi
	# a well-formed journal: the index and the header's checksum agree
	len=$(stat -c %s ix2.json)
	sha=$(sha256sum <ix2.json | cut -d' ' -f1)
	dd if=ix2.json of=evil.journal bs=4096 seek=1 conv=notrunc status=none
	head -c 512 $J | sed "s/^index: .*/index: 4096 $len sha256:$sha/" >head.txt
	head -c $((512 - $(stat -c %s head.txt))) /dev/zero | tr '\0' ' ' >>head.txt
	dd if=head.txt of=evil.journal conv=notrunc status=none
	cp -a vol evil && cp evil.journal evil/WINDOWS/nobounce-1.journal
	treesum evil >snap
	nb 3 "a planted journal ($what $val): undo refused" undo --force --backup-dir . --json evil
	jqok "a planted journal ($what $val): bad-journal" '.error.kind == "bad-journal"' out
	has "a planted journal ($what $val): for what it names, not its checksum" err 'never edits|named oddly'
	same_tree "a planted journal ($what $val): nothing written" evil snap
	check "a planted journal ($what $val): the host file is untouched" test "$(sha256sum <hostfile)" = "$hsum"
	rm -rf evil
done

# A reparse point (junction) at each directory and file on NTFS.
for p in $PATHS; do
	check "NTFS reparse point at $p: the image is made" "$HIVES/mkimage" "$NTFSPUT" j.img mbr "$FIXTURES/sbs2003" -- --junction "/$p"
	cp --sparse=always j.img before.img
	nb 3 "NTFS reparse point at $p: fix refused" fix --json j.img
	jqok "NTFS reparse point at $p: unsafe-path naming it" ".error.kind == \"unsafe-path\" and (.error.message | startswith(\"$p: is a reparse point\"))" out
	check "NTFS reparse point at $p: the image is byte-identical" cmp -s j.img before.img
done

# NTFS metadata that would make a write spin or land in another file: a
# directory index that loops (libntfs-3g's lookup would descend it forever),
# a hive cross-linked with a sibling file or with one elsewhere (every MFT
# record is read), a hive whose clusters $Bitmap calls free.  Each refused as damaged, in bounded time, nothing written.
rm -rf big && cp -a "$FIXTURES/sbs2003" big
for i in $(seq 40); do echo x >"big/WINDOWS/file-$i.txt"; done # WINDOWS gets index blocks
cp "big/$SYS" "big/$SYS.sav"
mkdir big/backup && cp "big/$SYS" big/backup/SYSTEM.old # a copy elsewhere on the volume
damaged_ntfs() { # DESC TEXT CMD... : on ntfs.img
	d=$1 want=$2
	shift 2
	cp --sparse=always ntfs.img before.img
	for cmd in check fix; do
		timeout 60 "$NOBOUNCE" "$cmd" --json "$@" ntfs.img >out 2>err
		rc=$?
		json_seen out
		check "$d: $cmd refused, in bounded time (exit $rc)" test $rc = 3
		jqok "$d: $cmd says damaged-volume, and why" \
			".error.kind == \"damaged-volume\" and (.error.message | test(\"$want\")) and (.error.message | test(\"chkdsk /f\"))" out
		check "$d: $cmd left the image byte-identical" cmp -s ntfs.img before.img
	done
}
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big
"$HIVES/ntfsindex" loop ntfs.img /
damaged_ntfs "the root directory's index loops" '^/ .the root directory.: the directory.s index is damaged: an index block is pointed to twice'
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big
"$HIVES/ntfsindex" loop ntfs.img /WINDOWS
damaged_ntfs "WINDOWS's index loops" '^WINDOWS: the directory.s index is damaged: .*loops'
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big -- --crosslink "/$SYS" "/$SYS.sav"
damaged_ntfs "SYSTEM cross-linked with SYSTEM.sav" "^$SYS: some of its clusters are also used by the file .SYSTEM.sav. in MFT record [0-9]+ .the NTFS volume is cross-linked."
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big -- --crosslink "/$SYS" /backup/SYSTEM.old
damaged_ntfs "SYSTEM cross-linked with a file in another directory" "^$SYS: some of its clusters are also used by the file .SYSTEM.old. in MFT record [0-9]+ .the NTFS volume is cross-linked."
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big -- --free "/$SYS"
damaged_ntfs "SYSTEM's clusters marked free" "^$SYS: its clusters [0-9]+-[0-9]+ are marked free in .Bitmap"
# any other loop in NTFS's metadata: each operation may read only so much
# (16 GiB and four times the volume; the fault build takes a small budget
# from NOBOUNCE_READ_BUDGET to show what running out does)
"$HIVES/mkimage" "$NTFSPUT" ntfs.img none big
cp --sparse=always ntfs.img before.img
for cmd in check fix; do
	NOBOUNCE_READ_BUDGET=1000000 "$NOBOUNCE_FAULTS_BIN" $cmd --json ntfs.img >out 2>err
	rc=$?
	check "an operation that reads past its budget: $cmd refused (exit $rc)" test $rc = 3
	jqok "an operation that reads past its budget: $cmd says damaged-volume, a loop, chkdsk" \
		'.error.kind == "damaged-volume" and (.error.message | test("reading it took more than 1000000 bytes.*metadata loops.*chkdsk /f"))' out
	check "an operation that reads past its budget: $cmd left the image byte-identical" cmp -s ntfs.img before.img
done
nb 0 "the same volume, undamaged: fixed" fix --json ntfs.img

# The undo log of an NTFS update, as a fix killed after writing it leaves it
# (no page of the update written yet), then turned against the next run.
"$HIVES/mkimage" "$NTFSPUT" u0.img none "$FIXTURES/sbs2003"
undo_state() { # a fresh image and state directory, the log in it as the kill left it
	rm -rf st && mkdir -m 700 st && cp --sparse=always u0.img u.img
	NOBOUNCE_STATE_DIR=$PWD/st NOBOUNCE_FAULT=undo-logged:0 "$NOBOUNCE_FAULTS_BIN" fix -q u.img 2>/dev/null
	LOG=$(ls st/*.undo 2>/dev/null | head -1)
	cp --sparse=always u.img ubefore.img
}
undo_nb() { # WANT DESC CMD: nobounce CMD on u.img with the state directory
	want=$1 d=$2
	shift 2
	NOBOUNCE_STATE_DIR=$PWD/st "$NOBOUNCE" "$@" --json u.img >out 2>err
	rc=$?
	json_seen out
	check "$d (exit $rc)" test $rc = "$want"
}
undo_state
check "a fix killed after its undo log was written left one" test -f "$LOG"
undo_nb 1 "that log, no page written: check reads the volume" check
undo_nb 0 "that log, no page written: fix" fix
check "that log, no page written: fix removed it" test ! -e "$LOG"
undo_state
# a page of the log's update rewritten by someone else: the log does not fit
off=$(od -An -tu8 -j 32 -N 8 "$LOG" | tr -d ' ')
printf '\377\377\377\377' | dd of=u.img bs=1 seek=$((off + 100)) conv=notrunc status=none
cp --sparse=always u.img ubefore.img
undo_nb 3 "an undo log whose page the volume no longer holds: refused" fix
jqok "an undo log that does not fit: stray-file, naming the log and what to do" \
	'.error.kind == "stray-file" and (.error.message | test("does not fit this volume.*Move it away"))' out
check "an undo log that does not fit: the image is byte-identical" cmp -s u.img ubefore.img
check "an undo log that does not fit: the log is kept" test -f "$LOG"
undo_state
ln -sf /etc/passwd "$LOG.tmp" && mv -f "$LOG.tmp" "$LOG"
undo_nb 3 "an undo log that is a symbolic link: refused" fix
jqok "an undo log that is a symbolic link: unsafe-path" '.error.kind == "unsafe-path" or .error.kind == "io"' out
check "an undo log that is a symbolic link: the image is byte-identical" cmp -s u.img ubefore.img
undo_state
printf 'x' | dd of="$LOG" bs=1 seek=$(($(stat -c %s "$LOG") - 1)) conv=notrunc status=none
undo_nb 0 "an undo log cut short (its checksum broken): taken as written before any page, fix goes on" fix
check "an undo log cut short: removed" test ! -e "$LOG"
undo_state
python3 - "$LOG" <<'PY'
import hashlib, struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
struct.pack_into("<Q", d, 8, 12345 * 4096)  # another partition's offset
d[-32:] = hashlib.sha256(bytes(d[:-32])).digest()
open(p, "wb").write(bytes(d))
PY
undo_nb 3 "an undo log naming another volume: refused" fix
jqok "an undo log naming another volume: stray-file" '.error.kind == "stray-file" and (.error.message | test("another volume"))' out
check "an undo log naming another volume: the image is byte-identical" cmp -s u.img ubefore.img

# Larger than any real one (sparse): refused by a documented limit, unread.
fresh sbs2003 vol
truncate -s 2G vol/$SYS
treesum vol >snap
nb 3 "a 2 GiB sparse SYSTEM: refused" fix --json vol
jqok "a 2 GiB sparse SYSTEM: too-large" '.error.kind == "too-large"' out
has "a 2 GiB sparse SYSTEM: the limit is named" err 'more than the 536870912 a real one can be'

# Key names that are not valid UTF-16 (lone surrogates) beside the keys
# nobounce reads: a correct result or a clean refusal.
printf '[\\ControlSet001\\Services\\SMTPSVC\\\355\240\200bad]\n"x"=dword:00000001\n[\\ControlSet001\\Services\\\355\260\200]\n' >bad.reg
printf '[\\Classes\\CLSID\\\355\240\200]\n[\\Classes\\\355\240\201x]\n' >badsw.reg
fresh sbs2003 vol
"$MKHIVE" -o vol/$SYS "$HIVES/system/base.reg" "$HIVES/system/smtpsvc1.reg" bad.reg
"$MKHIVE" -o vol/WINDOWS/system32/config/SOFTWARE "$HIVES/software/base.reg" "$HIVES/software/exchange.reg" badsw.reg
treesum vol >snap
"$NOBOUNCE" fix --json vol >out 2>err
rc=$?
if [ $rc = 0 ]; then
	check "names not valid UTF-16: fixed, and hivexget reads the value" \
		test "$(hget vol/$SYS '\ControlSet001\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
else
	check "names not valid UTF-16: refused (exit $rc)" test $rc = 3
	same_tree "names not valid UTF-16: refused, nothing written" vol snap
fi

# Keys nested deeper than Windows allows (512): the walk refuses to write.
awk 'BEGIN { k = "\\Classes\\Deep"; for (i = 0; i < 600; i++) { k = k "\\d"; }
	print "[" k "]" }' >deep.reg
fresh sbs2003 vol
"$MKHIVE" -o vol/WINDOWS/system32/config/SOFTWARE "$HIVES/software/base.reg" "$HIVES/software/exchange.reg" deep.reg
treesum vol >snap
nb 3 "keys nested 600 deep: refused" fix --json vol
jqok "keys nested 600 deep: damaged-hive" '.error.kind == "damaged-hive"' out
has "keys nested 600 deep: the message says so" err 'nested deeper than 512 levels'
same_tree "keys nested 600 deep: nothing written" vol snap

# A cycle in the key tree: LoopB's subkey list made to point back at LoopA.
# The planners never recurse; the walk that verifies the edited hive must
# notice and refuse.
printf '[\\Classes\\LoopA\\LoopB\\LoopC]\n' >loop.reg
fresh sbs2003 vol
SW=vol/WINDOWS/system32/config/SOFTWARE
"$MKHIVE" -o $SW "$HIVES/software/base.reg" "$HIVES/software/exchange.reg" loop.reg
perl -e '
	open(my $f, "+<", $ARGV[0]) or die; binmode $f; local $/; my $d = <$f>;
	my %nk;   # name -> cell offset (relative to the first hbin)
	while ($d =~ /nk/g) {
		my $p = pos($d) - 2; my $len = unpack("v", substr($d, $p + 72, 2));
		$nk{substr($d, $p + 76, $len)} = $p - 4 - 4096;
	}
	my $b = $nk{LoopB} + 4096 + 4; my $list = unpack("V", substr($d, $b + 28, 4));
	substr($d, 4096 + $list + 4 + 4, 4) = pack("V", $nk{LoopA});
	seek($f, 0, 0); print $f $d; close $f;' $SW
check "a cycle: hivex still opens the patched hive" sh -c "hivexregedit --export $SW '\\\\Classes\\\\LoopA' 2>&1 | head -1 | grep -q ."
treesum vol >snap
nb 3 "a cycle in the key tree: refused" fix --json vol
jqok "a cycle: damaged-hive" '.error.kind == "damaged-hive"' out
has "a cycle: the message says so" err 'reached twice: the hive.s key tree has a cycle'
same_tree "a cycle: nothing written" vol snap
