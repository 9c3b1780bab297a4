# The fixture variants: what must change, what must not.
. "$TESTS/lib.sh"

# No Exchange: nothing to do, nothing written.
fresh noexchange vol
treesum vol >snap
nb 0 "no SMTPSVC: check exits 0" check vol
has "no SMTPSVC: not applicable, and why, without -v" out 'not applicable$'
has "no SMTPSVC: the reason" out 'not an Exchange server: ControlSet001 has no Services.SMTPSVC'
nb 0 "no SMTPSVC: fix succeeds" fix vol
same_tree "no SMTPSVC: fix writes nothing (no journal)" vol snap

# Already fixed by hand.
fresh fixed vol
treesum vol >snap
nb 0 "already fixed: check is clean" check vol
nb 0 "already fixed: fix succeeds" fix vol
same_tree "already fixed: fix writes nothing" vol snap

# Wrong type or value: replaced, the old data reported.
fresh wrongtype vol
nb 1 "wrong type: check finds work" check --json vol
jqok "wrong type: REG_SZ \"1\" reported as the old data" '.changes[] | select(.key | startswith("ControlSet001")) | .old == "sz:1"' out
jqok "wrong type: dword 0 reported as the old data" '.changes[] | select(.key | startswith("ControlSet002")) | .old == "dword:00000000"' out
nb 0 "wrong type: fix" fix vol
regexport vol/$SYS '\ControlSet001\Services\SMTPSVC\XEXCH50' >x1
regexport vol/$SYS '\ControlSet002\Services\SMTPSVC\XEXCH50' >x2
check "wrong type: ControlSet001 now holds one REG_DWORD 1" sh -c 'grep -c SuppressExternal x1 | grep -qx 1 && grep -q "\"SuppressExternal\"=dword:00000001" x1'
check "wrong type: ControlSet002 now holds REG_DWORD 1" grep -q '"SuppressExternal"=dword:00000001' x2

# Two control sets, only one with SMTPSVC: the other is not touched.
fresh oneset vol
regexport vol/$SYS '\ControlSet002' >cs2.before
nb 0 "one set with SMTPSVC: fix" fix --json vol
jqok "one set with SMTPSVC: only ControlSet001 changed" '[.changes[].key] == ["ControlSet001\\Services\\SMTPSVC\\XEXCH50"]' out
regexport vol/$SYS '\ControlSet002' >cs2.after
check "one set with SMTPSVC: ControlSet002 exports identically" cmp -s cs2.before cs2.after
check "one set with SMTPSVC: hivexget reads the value" test "$(hget vol/$SYS '\ControlSet001\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1

# WINNT as the system root.
fresh winnt vol
nb 0 "WINNT: fix" fix --json vol
jqok "WINNT: reported as the system root" '.windows.systemroot == "WINNT" and .status == "fixed"' out
check "WINNT: hivexget reads the value" test "$(hget vol/WINNT/system32/config/SYSTEM '\ControlSet002\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
check "WINNT: the journal lies in WINNT" test -f vol/WINNT/nobounce-1.journal

# Mixed letter case everywhere: windows/System32/CONFIG/system, services, smtpsvc.
fresh mixedcase vol
treesum vol >snap
nb 1 "mixed case: check finds work" check --json vol
jqok "mixed case: keys reported as stored" '[.changes[].key] == ["ControlSet001\\services\\smtpsvc\\Xexch50", "ControlSet002\\services\\SmtpSvc\\XEXCH50", "ControlSet002\\services\\SmtpSvc\\XEXCH50"]' out
jqok "mixed case: file reported as stored" '.changes[0].file == "windows/System32/CONFIG/system"' out
nb 0 "mixed case: fix" fix vol
check "mixed case: hivexget reads ControlSet001" test "$(hget vol/windows/System32/CONFIG/system '\ControlSet001\services\smtpsvc\Xexch50' SuppressExternal)" = 1
check "mixed case: hivexget reads ControlSet002" test "$(hget vol/windows/System32/CONFIG/system '\ControlSet002\services\SmtpSvc\XEXCH50' SuppressExternal)" = 1
check "mixed case: no second XEXCH50 key was made" sh -c "hivexregedit --export vol/windows/System32/CONFIG/system '\\ControlSet001' | grep -ci 'xexch50\\]' | grep -qx 1"
nb 0 "mixed case: undo" undo vol
same_tree "mixed case: undo restores everything" vol snap

# No Windows at all.
fresh nowindows vol
treesum vol >snap
nb 3 "no Windows: check exits 3" check --json vol
jqok "no Windows: no-windows, saying what to give" '.status == "error" and .error.kind == "no-windows" and .windows == null and (.error.message | test("root directory of the mounted system volume"))' out
nb 3 "no Windows: fix exits 3" fix vol
same_tree "no Windows: nothing written" vol snap

# Two names that differ only in case: ambiguous on a case-sensitive copy.
fresh sbs2003 vol
cp vol/$SYS vol/WINDOWS/system32/config/system
treesum vol >snap
nb 3 "SYSTEM and system side by side: refused" fix vol
has "the error says they differ only in case" err 'differ only in letter case'
same_tree "ambiguous names: nothing written" vol snap

# Windows 2000 Server with Exchange 2003: IIS 5's metabase is binary
fresh win2000 vol
cp vol/WINNT/system32/inetsrv/MetaBase.bin bin.before
nb 0 "Windows 2000: fix" fix --json vol
jqok "Windows 2000: fixed, and the note says the bindings stay in MetaBase.bin and what to run" \
	'.status == "fixed" and (.notes | map(test("MetaBase.bin: IIS 5 .* sink bindings stay in it, naming classes that no longer exist.*regsvr32 /u")) | any)' out
check "Windows 2000: MetaBase.bin is byte-identical" cmp -s vol/WINNT/system32/inetsrv/MetaBase.bin bin.before
check "Windows 2000: hivexget reads SuppressExternal" sh -c "hivexget vol/WINNT/system32/config/SYSTEM 'ControlSet001\\Services\\SMTPSVC\\XEXCH50' SuppressExternal | grep -q 1"
nb 0 "Windows 2000: check afterwards says it too, in the text report" check vol
has "Windows 2000: the text report carries the note" out 'MetaBase.bin: IIS 5 \(Windows 2000\)'
