# Transaction-log recovery: `nobounce recover` against what Windows itself
# recovered, real Windows 10 logs, synthetic logs; damaged logs refused; and
# check/fix/undo on a dirty volume.
. "$TESTS/lib.sh"
MKLOG=$(dirname "$MKHIVE")/mklog

# ---- synthetic old-format log (the Server 2003 kind), the hive growing ----
cp "$FIXTURES/sbs2003/$SYS" before.hiv
printf '[\\ControlSet001\\Services\\SMTPSVC]\n"Later"=dword:00000005\n[\\ControlSet001\\Services\\Added]\n"x"="y"\n' >later.reg
"$MKHIVE" -o after.hiv --base before.hiv later.reg
mkdir -p h
"$MKLOG" before.hiv after.hiv h/SYSTEM h/system.log
check "the synthetic primary is dirty and the log grows the hive" \
	test "$(stat -c %s after.hiv)" -gt "$(stat -c %s before.hiv)"
nb 0 "recover, nothing written: says it can" recover h/SYSTEM
has "recover: names the log it would use (found case-insensitively)" out 'h/system.log: dirty pages applied|system.log: dirty pages applied'
check "recover without -o writes nothing" test "$(ls h | wc -l)" = 2
nb 0 "recover -o OUT" recover h/SYSTEM -o rec.hiv
regexport rec.hiv >rec.reg
regexport after.hiv >after.reg
check "synthetic old format: the recovered hive exports as the logged state" cmp -s rec.reg after.reg
nb 0 "recover of the recovered hive: clean" recover rec.hiv
has "the recovered hive is clean" out 'clean: a whole hive, nothing to recover'
nb 3 "recover -o never overwrites" recover h/SYSTEM -o rec.hiv
if [ -x "$NOBOUNCE_FAULTS_BIN" ]; then
	mkdir -p kdir
	NOBOUNCE_FAULT=recover-written:0 "$NOBOUNCE_FAULTS_BIN" recover h/SYSTEM -o kdir/out.hiv >/dev/null 2>&1
	check "recover -o killed once the bytes are written: exit 137 ($?)" test $? = 137
	check "recover -o killed: no OUT, and no temporary left" test -z "$(ls -A kdir)"
	nb 0 "recover -o after the kill: OUT made whole" recover h/SYSTEM -o kdir/out.hiv
	check "recover -o after the kill: OUT is the recovered hive" cmp -s kdir/out.hiv rec.hiv
fi

# damaged old-format logs: refused, with the log named
cp h/system.log good.log
head -c 1500 good.log >h/system.log
nb 3 "a truncated old-format log: refused" recover --json h/SYSTEM
jqok "a truncated log: bad-log naming the log" '.error.kind == "bad-log" and (.error.message | test("system.log: truncated"))' out
cp good.log h/system.log
printf 'XXXX' | dd of=h/system.log bs=1 seek=1024 conv=notrunc status=none
nb 3 "an old-format log whose pages are not hive bins: refused" recover h/SYSTEM
has "pages not hive bins: says so" err 'do not form valid hive bins'
rm h/system.log
nb 3 "a dirty hive with no log: refused" recover h/SYSTEM
has "no log: says so" err 'no transaction log beside it'

# old format as Windows 2000 writes it (file type 2): recovered the same way
mkdir -p w2k
"$MKLOG" --type 2 before.hiv after.hiv w2k/SYSTEM w2k/SYSTEM.LOG
check "the Windows 2000 log says file type 2" test "$(od -A n -t u4 -j 28 -N 4 w2k/SYSTEM.LOG | tr -d ' ')" = 2
nb 0 "old format, type 2 (Windows 2000): recover -o" recover w2k/SYSTEM -o w2k.rec
regexport w2k.rec >w2k.reg
check "type 2: the recovered hive exports as the logged state" cmp -s w2k.reg after.reg

# ---- synthetic new-format logs (.LOG1/.LOG2): where replay starts ----
# The hive says 567/566 (a write began after 566); the log's header and its
# entry say 566: replay starts at the log header's number, not at the
# hive's primary number (which would drop the entry).
mkdir -p n1
"$MKLOG" --new 567:566 566:566 before.hiv after.hiv n1/SYSTEM n1/SYSTEM.LOG1
nb 0 "new format, entries from one below the primary: recover -o" recover --json n1/SYSTEM -o n1.rec
jqok "new format: entry 566 applied" '.applied == ["SYSTEM.LOG1: entries 566 to 566"]' out
regexport n1.rec >n1.reg
check "new format: the recovered hive exports as the logged state" cmp -s n1.reg after.reg
check "new format: its base block is clean at 566" test "$(od -A n -t u4 -j 4 -N 8 n1.rec | tr -s ' ')" = " 566 566"
# LOG1 is stale (its header, 565, is below the hive's secondary number, 566)
# and would write something else; LOG2 continues the hive
printf '[\\ControlSet001\\Services\\SMTPSVC]\n"Stale"=dword:00000001\n' >stale.reg
"$MKHIVE" -o stale.hiv --base before.hiv stale.reg
mkdir -p n2
"$MKLOG" --new 567:566 565:565 before.hiv stale.hiv n2/SYSTEM n2/SYSTEM.LOG1
"$MKLOG" --new 567:566 566:566 before.hiv after.hiv n2/SYSTEM n2/SYSTEM.LOG2
nb 0 "new format, a stale LOG1 and a good LOG2: recover -o" recover --json n2/SYSTEM -o n2.rec
jqok "a stale LOG1: ignored, said so; LOG2 applied" '(.applied[0] | test("SYSTEM.LOG1: ignored: its entries \\(from 565\\) are older than the hive \\(566\\)")) and .applied[1] == "SYSTEM.LOG2: entries 566 to 566"' out
regexport n2.rec >n2.reg
check "a stale LOG1: the result is LOG2's state" cmp -s n2.reg after.reg
rm n2/SYSTEM.LOG2
nb 3 "only a stale log: refused" recover n2/SYSTEM
has "only a stale log: says no entry continues the hive" err 'no entry that continues it'
# the dirty-hive message without logs says so, and no more
rm n2/SYSTEM.LOG1
mkdir -p vn/WINDOWS/system32/config
cp n2/SYSTEM vn/$SYS
nb 3 "a dirty hive on a volume with no log: refused" check vn
has "no log: the message does not pretend there are logs" err 'no transaction log \(.LOG, .LOG1 or .LOG2\) lies beside it'
check "no log: and says nothing of changes 'only in its logs'" sh -c '! grep -q "only in its" err'

# ---- real logs ----
if realdata; then
	d=$REALDATA/yarp/OldDirtyHive
	mkdir old
	for f in OldDirtyHive OldDirtyHive.LOG1 OldDirtyHive.LOG2 RecoveredHive_Windows7; do
		xz -dc "$d/$f.xz" >old/$f
	done
	nb 0 "yarp OldDirtyHive (old format, Windows): recover -o" recover old/OldDirtyHive -o old.rec
	regexport old.rec >a.reg
	regexport old/RecoveredHive_Windows7 >b.reg
	check "yarp OldDirtyHive: exports exactly as Windows 7 recovered it" cmp -s a.reg b.reg
	regexport old/OldDirtyHive >c.reg 2>/dev/null
	check "yarp OldDirtyHive: (and the dirty primary alone does not)" sh -c '! cmp -s c.reg b.reg'

	mkdir new
	for f in SYSTEM_B SYSTEM_B.LOG1 SYSTEM_B.LOG2; do xz -dc "$REALDATA/regipy/$f.xz" >new/$f; done
	nb 0 "real Windows 10 SYSTEM_B (new format, LOG1 + LOG2): recover -o" recover --json new/SYSTEM_B -o new.rec
	jqok "SYSTEM_B: entries from LOG1 then LOG2, in sequence" '.applied == ["SYSTEM_B.LOG1: entries 2107 to 2110", "SYSTEM_B.LOG2: entries 2111 to 2130"]' out
	check "SYSTEM_B: hivexregedit walks the whole recovered hive" sh -c "hivexregedit --export new.rec '\\\\' >/dev/null"
	check "SYSTEM_B: its base block is clean (sequence numbers 2130 2130)" test "$(od -A n -t u4 -j 4 -N 8 new.rec | tr -s ' ')" = " 2130 2130"
	nb 0 "SYSTEM_B recovered: recover says clean" recover new.rec
	# a bad hash in the first entry of LOG2: Windows stops there, with
	# LOG1's entries applied
	cp new/SYSTEM_B.LOG2 l2
	printf 'X' | dd of=new/SYSTEM_B.LOG2 bs=1 seek=700 conv=notrunc status=none
	nb 0 "a new-format entry with a bad hash: replay stops before it" recover --json new/SYSTEM_B -o bad.rec
	jqok "bad hash: LOG1 applied, LOG2 stopped at 2111, said so" '.applied[0] == "SYSTEM_B.LOG1: entries 2107 to 2110" and (.applied[1] | test("SYSTEM_B.LOG2: the entry at 512 \\(sequence 2111\\) has a bad hash.*stopped before it"))' out
	check "bad hash: the result is clean at 2110" test "$(od -A n -t u4 -j 4 -N 8 bad.rec | tr -s ' ')" = " 2110 2110"
	check "bad hash: hivexregedit walks the result" sh -c "hivexregedit --export bad.rec '\\\\' >/dev/null"
	# an entry cut short: the entries before it apply
	head -c 20000 l2 >new/SYSTEM_B.LOG2
	nb 0 "a truncated new-format log: replay stops at the cut" recover --json new/SYSTEM_B
	jqok "truncated: says where it stopped" '.applied | map(test("cut short")) | any' out
	cp l2 new/SYSTEM_B.LOG2

	# SYSTEM_B on a volume: dirty, recoverable, nothing to change -> untouched
	mkdir -p vb/WINDOWS/system32/config
	cp new/SYSTEM_B vb/$SYS
	cp new/SYSTEM_B.LOG1 vb/$SYS.LOG1
	cp new/SYSTEM_B.LOG2 vb/$SYS.LOG2
	treesum vb >snap
	nb 0 "a dirty hive that needs no edit: fix succeeds" fix --json vb
	jqok "a dirty hive that needs no edit: not applicable (no SMTP service), logs replayed only in memory" '.status == "not-applicable" and (.notes | join("; ") | test("is dirty: replayed its logs in memory"))' out
	same_tree "a dirty hive that needs no edit: stays as it was (Windows replays it at boot)" vb snap
fi

# ---- check, fix and undo on a dirty volume (old-format log) ----
fresh sbs2003 vol
"$MKLOG" before.hiv after.hiv vol/$SYS vol/WINDOWS/system32/config/SYSTEM.LOG
treesum vol >pristine
nb 1 "dirty volume: check plans on the recovered hive" check --json vol
jqok "dirty volume: the log will be emptied after the hive is written" '[.changes[] | select(.action == "clear-log") | .file] == ["WINDOWS/system32/config/SYSTEM.LOG"]' out
same_tree "dirty volume: check writes nothing" vol pristine
nb 0 "dirty volume: fix" fix vol
check "dirty volume: the logged change is in the written hive (hivexget)" test "$(hget vol/$SYS '\ControlSet001\Services\SMTPSVC' Later)" = 5
check "dirty volume: and the fix too" test "$(hget vol/$SYS '\ControlSet002\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
check "dirty volume: the written hive is clean" test "$(od -A n -t u4 -j 4 -N 8 vol/$SYS | awk '{print ($1 == $2)}')" = 1
check "dirty volume: the log is emptied" test ! -s vol/WINDOWS/system32/config/SYSTEM.LOG
nb 0 "dirty volume: a second fix does nothing" fix vol
has "dirty volume: a second fix is clean" out 'clean, nothing to change'
nb 0 "dirty volume: undo" undo vol
same_tree "dirty volume: undo restores the dirty hive and its log byte for byte" vol pristine
nb 3 "dirty volume: --no-recover refuses as before" fix --json --no-recover vol
jqok "--no-recover: dirty-hive" '.error.kind == "dirty-hive"' out
same_tree "--no-recover: nothing written" vol pristine
head -c 700 vol/WINDOWS/system32/config/SYSTEM.LOG >vol/WINDOWS/system32/config/SYSTEM.LOG.x
mv vol/WINDOWS/system32/config/SYSTEM.LOG.x vol/WINDOWS/system32/config/SYSTEM.LOG
treesum vol >snap
nb 3 "dirty volume with a damaged log: refused" fix --json vol
jqok "damaged log: dirty-hive, saying which log and why" '.error.kind == "dirty-hive" and (.error.message | test("SYSTEM.LOG: truncated"))' out
same_tree "damaged log: nothing written" vol snap

# ---- recover TARGET: every dirty hive of each installation, in place ----
# SYSTEM and SOFTWARE both dirty (old-format logs), on a directory and an
# image; the result equals what their logs hold, read by libregf; the logs
# are emptied; undo puts the dirty files back byte for byte.
SW=WINDOWS/system32/config/SOFTWARE
fresh sbs2003 rt
cp "$FIXTURES/sbs2003/$SW" swbefore.hiv
printf '[\\Acme]\n"Logged"=dword:00000007\n' >swlater.reg
"$MKHIVE" -o swafter.hiv --base swbefore.hiv swlater.reg
"$MKLOG" before.hiv after.hiv rt/$SYS rt/$SYS.LOG
"$MKLOG" swbefore.hiv swafter.hiv rt/$SW rt/$SW.LOG
treesum rt >rt.dirty
nb 1 "recover TARGET is not check: check on the dirty volume plans the XEXCH50 fix" check rt
nb 0 "recover TARGET" recover --json rt
jqok "recover TARGET: recovered, both hives and both logs" \
	'.command == "recover" and .status == "recovered" and ([.changes[] | select(.action == "recover-hive")] | length == 2) and ([.changes[] | select(.action == "clear-log")] | length == 2)' out
check "recover TARGET: SYSTEM is clean now (sequence numbers equal)" \
	test "$(od -A n -t u4 -j 4 -N 4 rt/$SYS)" = "$(od -A n -t u4 -j 8 -N 4 rt/$SYS)"
"$TESTS/regf-keys" rt/$SYS '\ControlSet001\Services\Added' >added
check "recover TARGET: libregf reads SYSTEM's logged key" grep -qF "$(printf 'x\t1\t')" added
"$TESTS/regf-keys" rt/$SW '\Acme' >acme
check "recover TARGET: libregf reads SOFTWARE's logged value" grep -qF "$(printf 'Logged\t4\t07000000')" acme
check "recover TARGET: the logs are emptied" test ! -s rt/$SYS.LOG -a ! -s rt/$SW.LOG
check "recover TARGET: the XEXCH50 fix was not made" sh -c "! hivexget rt/$SYS '\\ControlSet001\\Services\\SMTPSVC\\XEXCH50' SuppressExternal >/dev/null 2>&1"
nb 0 "recover TARGET again: nothing dirty" recover rt
has "recover TARGET again: clean" out 'clean, nothing to change'
nb 0 "undo of the recovery" undo rt
same_tree "undo: the dirty hives and their logs are back, byte for byte" rt rt.dirty
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" rti.img mbr rt
nb 0 "recover TARGET on an image" recover rti.img
START=$(sfdisk --json rti.img | jq '.partitiontable.partitions[0].start')
dd if=rti.img of=rtp.img bs=512 skip="$START" 2>/dev/null
ntfscat rtp.img "$SYS" >rtsys.hiv
check "recover TARGET on an image: ntfscat reads a clean SYSTEM" \
	test "$(od -A n -t u4 -j 4 -N 4 rtsys.hiv)" = "$(od -A n -t u4 -j 8 -N 4 rtsys.hiv)"
nb 2 "recover -o with a TARGET: a usage error" recover rt -o x.hiv

# config's other hives are looked at only by the runs that use them: a link
# named SAM does not stop the XEXCH50 fix, and recover TARGET refuses it
fresh sbs2003 ls
printf 'not a hive\n' >outside.txt
ln -s "$PWD/outside.txt" ls/WINDOWS/system32/config/SAM
nb 0 "a link named SAM: the XEXCH50 fix is made" fix -q ls
nb 3 "a link named SAM: recover TARGET refuses it" recover --json ls
jqok "a link named SAM: refused as an unsafe path" '.error.kind == "unsafe-path"' out
nb 0 "a link named SAM: undo of the fix" undo -q ls
check "a link named SAM: the file it points to is untouched" test "$(cat outside.txt)" = "not a hive"
