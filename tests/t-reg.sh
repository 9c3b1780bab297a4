# .reg patches (check/fix --reg): merged as regedit merges them, journaled,
# verified, undone; read back with libregf (tests/regf-keys) and
# hivexregedit; every malformed patch refused with nothing written.
. "$TESTS/lib.sh"
SW=WINDOWS/system32/config/SOFTWARE
P=$TESTS/reg/basic.reg
# dump HIVE KEY: what libregf reads under KEY (the independent reader)
dump() { "$TESTS/regf-keys" "$1" "$2"; }

fresh sbs2003 vol
nb 1 "check --reg: there is work" check --json --reg "$P" vol
jq -r '.changes[] | [.action, .key, .value // "-"] | join(" ")' out >planned
for want in 'create-key ControlSet001\Services\AcmeAgent -' \
	'set-value ControlSet001\Services\AcmeAgent\Parameters Greeting' \
	'create-key Acme\Tool -' 'create-key Classes\.acme -' \
	'delete-value Microsoft\Windows NT\CurrentVersion CSDVersion' \
	'delete-key Classes\Exchange.XExch50Sink -'; do
	check "check --reg plans: $want" grep -qxF "$want" planned
done
check "check --reg: CurrentControlSet is every set Select names: ControlSet001 (Current, Default)" grep -qxF 'create-key ControlSet001\Services\AcmeAgent -' planned
check "check --reg: ... and ControlSet002 (LastKnownGood)" grep -qxF 'create-key ControlSet002\Services\AcmeAgent -' planned
jqok "check --reg: the report says where CurrentControlSet went" '.notes | any(test("CurrentControlSet is each control set Select names \\(ControlSet001, ControlSet002\\)"))' out
check "check --reg: a key that is not there to delete is no change" sh -c '! grep -q NoSuchVendor planned'
check "check --reg: the XEXCH50 fix does not run with --reg" sh -c '! grep -qi "XEXCH50\\\\SuppressExternal\|remove-binding" planned'
check "check --reg wrote nothing" cmp -s vol/$SYS "$FIXTURES/sbs2003/$SYS"

nb 0 "fix --reg" fix --reg "$P" vol
K='\ControlSet001\Services\AcmeAgent\Parameters'
dump vol/$SYS "$K" >params
check "libregf: Greeting, with its quotes and backslash" grep -qF "$(printf 'Greeting\t1\t')" params
check "libregf: Greeting reads 'say \"hi\" to C:\\temp'" grep -qF 'say "hi" to C:\temp' params
check "libregf: Count is REG_DWORD 42" grep -qF "$(printf 'Count\t4\t2a000000')" params
check "libregf: the default value" grep -qF "$(printf '@\t1\t')" params
check "libregf: Blob, continued over two lines, is 01..05" grep -qF "$(printf 'Blob\t3\t0102030405')" params
check "libregf: Paths is REG_MULTI_SZ" grep -qF "$(printf 'Paths\t7\t61000000620000000000')" params
check "libregf: Big is REG_QWORD" grep -qF "$(printf 'Big\t11\t0100000000000000')" params
check "libregf: Home is REG_EXPAND_SZ %SystemRoot%" grep -qF "$(printf 'Home\t2\t')" params
dump vol/$SW '\Acme\Tool' >tool
check "libregf: UTF-8 text stored as UTF-16 (naïve café ✓)" grep -qF 'naïve café ✓' tool
regexport vol/$SW '\Classes\.acme' >acme.reg
check "hivexregedit: HKEY_CLASSES_ROOT went to SOFTWARE\\Classes" grep -qF '[\Classes\.acme]' acme.reg
check "hivexregedit: the deleted value is gone" sh -c "! hivexget vol/$SW '\\Microsoft\\Windows NT\\CurrentVersion' CSDVersion >/dev/null 2>&1"
check "hivexregedit: the deleted key is gone" sh -c "! regexport vol/$SW '\\Classes\\Exchange.XExch50Sink' >/dev/null 2>&1"
check "the other hive keys are kept (Select)" test "$(hivexget vol/$SYS '\Select' Current)" = 1
nb 0 "fix --reg again" fix --reg "$P" vol
has "fix --reg again: nothing to change" out 'clean, nothing to change'
nb 0 "check --reg after the fix: nothing to do" check --reg "$P" vol
nb 0 "undo" undo vol
check "undo: SYSTEM byte for byte" cmp -s vol/$SYS "$FIXTURES/sbs2003/$SYS"
check "undo: SOFTWARE byte for byte" cmp -s vol/$SW "$FIXTURES/sbs2003/$SW"

# The same patch as regedit saves it: UTF-16LE with a BOM, CRLF.
fresh sbs2003 v16
{ printf '\377\376'; sed 's/$/\r/' "$P" | iconv -f UTF-8 -t UTF-16LE; } >utf16.reg
nb 0 "UTF-16LE with BOM and CRLF: fix" fix --reg utf16.reg v16
dump v16/$SYS "$K" >params16
check "UTF-16LE: libregf reads the same values as from the UTF-8 patch" cmp -s params params16
dump v16/$SW '\Acme\Tool' >tool16
check "UTF-16LE: the same text" cmp -s tool tool16

# REGEDIT4: ANSI text (Windows-1252), hex(2) in single bytes.
fresh sbs2003 v4
printf 'REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Acme\\Old]\r\n"Name"="caf\351"\r\n"Where"=hex(2):25,57,49,4e,44,49,52,25,00\r\n' >r4.reg
nb 0 "REGEDIT4: fix" fix --reg r4.reg v4
dump v4/$SW '\Acme\Old' >old
check "REGEDIT4: café from Windows-1252" grep -qF "$(printf 'Name\t1\t630061006600e9000000\tcafé')" old
check "REGEDIT4: hex(2)'s ANSI bytes stored as UTF-16 (%WINDIR%)" grep -qF "$(printf 'Where\t2\t2500570049004e0044004900520025000000\t%%WINDIR%%')" old

# A value whose type changes is listed with old and new; CurrentControlSet
# follows Select\Current.
fresh sbs2003 vt
printf '[\\Select]\n"Current"=dword:00000002\n' >cur2.reg
"$MKHIVE" -o vt/$SYS "$HIVES/system/base.reg" "$HIVES/system/smtpsvc1.reg" "$HIVES/system/smtpsvc2.reg" cur2.reg
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control]\n"Probe"="x"\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"CurrentBuildNumber"=dword:00000ece\n' >types.reg
nb 1 "type change: check" check --json --reg types.reg vt
jqok "type change: listed with the old string and the new dword" \
	'.changes[] | select(.value == "CurrentBuildNumber") | .old == "sz:3790" and .new == "dword:00000ece"' out
jqok "CurrentControlSet follows Select: ControlSet002 (Current) and ControlSet001 (Default)" \
	'([.changes[] | select(.key | startswith("ControlSet002\\Control"))] | length == 1) and ([.changes[] | select(.key | startswith("ControlSet001\\Control"))] | length == 1)' out

# Malformed or unsupported patches: a usage error naming the file and the
# line, and nothing read or written.
fresh sbs2003 vb
treesum vb >snap
bad_reg() { # NAME PATTERN CONTENT
	printf '%b' "$3" >bad.reg
	nb 2 "bad patch, $1: refused" fix --reg bad.reg vb
	has "bad patch, $1: says what and where" err "$2"
	same_tree "bad patch, $1: nothing written" vb snap
}
bad_reg "no header" 'bad.reg line 1, column [0-9]+: the first line must be' '[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n'
bad_reg "unclosed string" 'bad.reg line 3, column [0-9]+: a string value must be one quoted string' 'Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n"a"="unclosed\n'
bad_reg "bad hex" 'bad.reg line 3, column [0-9]+: hex data is bytes' 'Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n"a"=hex:zz\n'
bad_reg "dword too long" 'bad.reg line 3, column [0-9]+: dword: takes one to eight hex digits' 'Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\n"a"=dword:123456789\n'
bad_reg "a value before any key" 'bad.reg line 2, column [0-9]+: a value before any \[KEY\]' 'Windows Registry Editor Version 5.00\n"a"="b"\n'
bad_reg "HKEY_USERS\\ and not a SID" 'bad.reg line 2, column [0-9]+: HKEY_USERS\\Someone\\Software\\A is not in a hive nobounce patches' 'Windows Registry Editor Version 5.00\n[HKEY_USERS\\Someone\\Software\\A]\n'
bad_reg "HKEY_CURRENT_CONFIG" 'bad.reg line 2, column [0-9]+: HKEY_CURRENT_CONFIG.*is not in a hive nobounce patches' 'Windows Registry Editor Version 5.00\n[HKEY_CURRENT_CONFIG\\Software\\A]\n'
bad_reg "a whole hive deleted" 'would delete a whole hive' 'Windows Registry Editor Version 5.00\n[-HKEY_LOCAL_MACHINE\\SOFTWARE]\n'
bad_reg "an unknown root" 'does not start with HKEY_LOCAL_MACHINE' 'Windows Registry Editor Version 5.00\n[HKEY_NOWHERE\\A]\n'
bad_reg "a stray line" 'bad.reg line 3, column [0-9]+: expected \[KEY\]' 'Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\A]\nnonsense\n'
printf '\377\376\000\330' >bad.reg
nb 2 "bad patch, broken UTF-16: refused" fix --reg bad.reg vb
has "bad patch, broken UTF-16: says so" err 'is neither UTF-16LE'
nb 2 "--reg goes with check or fix only" undo --reg "$P" vb
nb 2 "--reg of a missing file" fix --reg nowhere.reg vb
same_tree "after every refusal, the target is byte-identical" vb snap

# An image: the same patch through NTFS, undone, the volume read by ntfs-3g.
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" d.img mbr "$FIXTURES/sbs2003"
cp d.img d.orig
nb 0 "image: fix --reg" fix --reg "$P" d.img
START=$(sfdisk --json d.img | jq '.partitiontable.partitions[0].start')
dd if=d.img of=part.img bs=512 skip="$START" 2>/dev/null
ntfscat part.img "$SYS" >sys.img 2>/dev/null
check "image: ntfscat reads the patched SYSTEM; libregf finds Count" sh -c "'$TESTS/regf-keys' sys.img '$K' | grep -qF \"\$(printf 'Count\t4\t2a000000')\""
nb 0 "image: undo" undo d.img
dd if=d.img of=part.img bs=512 skip="$START" 2>/dev/null
for f in $SYS $SW; do
	ntfscat part.img "$f" >now.img 2>/dev/null
	check "image: undo: ntfscat reads $f as it was" cmp -s now.img "$FIXTURES/sbs2003/$f"
done

# export: keys as regedit exports them; merged back, they make the same
# keys (read by libregf); --utf16 is regedit's own encoding; -o leaves no
# half file.
fresh sbs2003 ve
S1='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\SMTPSVC'
S2='HKCR\Exchange.XExch50Sink'
nb 0 "export: two keys" export ve "$S1" "$S2"
cp out exported.reg
check "export: regedit's header first" test "$(head -1 exported.reg)" = 'Windows Registry Editor Version 5.00'
check "export: the key under its full root name" grep -qxF '[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\SMTPSVC\XEXCH50]' exported.reg
check "export: HKEY_CLASSES_ROOT spelled out" grep -qxF '[HKEY_CLASSES_ROOT\Exchange.XExch50Sink\CurVer]' exported.reg
check "export: a REG_EXPAND_SZ as hex(2), wrapped as regedit wraps it" grep -q '^"ImagePath"=hex(2):25,00,.*,\\$' exported.reg
check "export: no line longer than 80 columns" sh -c "! awk 'length > 80' exported.reg | grep -q ."
check "export: wrote nothing" cmp -s ve/$SYS "$FIXTURES/sbs2003/$SYS"
dump ve/$SYS '\ControlSet001\Services\SMTPSVC' >smtp.before
dump ve/$SW '\Classes\Exchange.XExch50Sink' >sink.before
printf 'Windows Registry Editor Version 5.00\n\n[-%s]\n\n[-%s]\n' "$S1" 'HKEY_CLASSES_ROOT\Exchange.XExch50Sink' >wipe.reg
nb 0 "export: the keys deleted, then the export merged back, in one run" fix --reg wipe.reg --reg exported.reg ve
dump ve/$SYS '\ControlSet001\Services\SMTPSVC' >smtp.after
dump ve/$SW '\Classes\Exchange.XExch50Sink' >sink.after
check "export round trip: libregf reads SMTPSVC as it was ($(wc -l <smtp.after) lines)" cmp -s smtp.before smtp.after
check "export round trip: and the ProgID" cmp -s sink.before sink.after
nb 0 "export --utf16" export --utf16 ve "$S1" "$S2"
check "export --utf16: a UTF-16LE byte-order mark" test "$(head -c 2 out | od -A n -t x1 | tr -d ' ')" = fffe
tail -c +3 out | iconv -f UTF-16LE -t UTF-8 | sed 's/\r$//' >u8.reg
check "export --utf16: the same text, with CRLF" cmp -s u8.reg exported.reg
check "export --utf16: every line ends CRLF" test "$(tail -c +3 out | iconv -f UTF-16LE -t UTF-8 | tr -cd '\r' | wc -c)" = "$(wc -l <exported.reg)"
nb 0 "export -o" export -o o.reg ve "$S1" "$S2"
check "export -o: the file holds what stdout would" cmp -s o.reg exported.reg
mkfifo pipe.reg
ln -s o.reg link.reg
nb 2 "export -o a pipe: refused (a rename would replace it)" export -o pipe.reg ve "$S1"
has "export -o a pipe: says why" err 'pipe.reg: is not a regular file, and would be replaced by one'
check "export -o a pipe: it is still a pipe" test -p pipe.reg
nb 2 "export -o a symbolic link: refused" export -o link.reg ve "$S1"
check "export -o a symbolic link: it is still one" test -L link.reg
nb 3 "export of a key that is not there" export -o missing.reg ve "$S1" 'HKLM\SOFTWARE\NoSuchVendor'
has "export: names the missing key" err 'HKLM\\SOFTWARE\\NoSuchVendor: no such key'
check "export -o: no file, and no temporary, after a failure" sh -c '! ls missing.reg* >/dev/null 2>&1'
nb 2 "export of a key under HKEY_USERS that is no SID: a usage error" export ve 'HKU\Someone\Software'
nb 0 "export --json" export --json ve "$S2"
jqok "export --json: the key and its text" '.command == "export" and .key == "HKCR\\Exchange.XExch50Sink" and (.reg | startswith("[HKEY_CLASSES_ROOT\\Exchange.XExch50Sink]"))' out
jqok "export --json: a key with no CurrentControlSet has no note" '.notes == []' out
nb 0 "export --json of CurrentControlSet" export --json ve "$S1"
jqok "export: says which control set it read" '.notes | any(test("CurrentControlSet read as ControlSet001 \\(Select\\\\Current\\)"))' out

# HKEY_USERS\.DEFAULT, HKLM\SAM and HKLM\SECURITY go to config\DEFAULT,
# SAM and SECURITY; a patch for a hive the installation lacks is refused.
fresh sbs2003 vd
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\.DEFAULT\\Control Panel\\Desktop]\n"Wallpaper"="none.bmp"\n\n[HKLM\\SAM\\SAM\\Domains\\Account]\n"Probe"=dword:00000001\n' >users.reg
treesum vd >vd.snap
nb 3 "a patch for DEFAULT on an installation without one: refused" fix --json --reg users.reg vd
has "a missing hive: named" err 'the patch changes the (DEFAULT|SAM) hive, and this installation has none'
same_tree "a missing hive: nothing written" vd vd.snap
printf '[\\Control Panel]\n@=""\n' >empty-default.reg
"$MKHIVE" -o vd/WINDOWS/system32/config/DEFAULT --file-name '\SystemRoot\System32\Config\DEFAULT' empty-default.reg
printf '[\\SAM]\n@=""\n' >empty-sam.reg
"$MKHIVE" -o vd/WINDOWS/system32/config/SAM --file-name '\SystemRoot\System32\Config\SAM' empty-sam.reg
cp vd/WINDOWS/system32/config/DEFAULT default.orig
cp vd/WINDOWS/system32/config/SAM sam.orig
nb 0 "HKU\\.DEFAULT and HKLM\\SAM: fix" fix --reg users.reg vd
check "libregf: HKU\\.DEFAULT went to config\\DEFAULT" sh -c "'$TESTS/regf-keys' vd/WINDOWS/system32/config/DEFAULT '\\Control Panel\\Desktop' | grep -qF 'none.bmp'"
check "libregf: HKLM\\SAM went to config\\SAM" sh -c "'$TESTS/regf-keys' vd/WINDOWS/system32/config/SAM '\\SAM\\Domains\\Account' | grep -qF \"\$(printf 'Probe\t4\t01000000')\""
nb 0 "export of HKU\\.DEFAULT" export vd 'HKU\.DEFAULT\Control Panel\Desktop'
check "export: HKEY_USERS\\.DEFAULT spelled out" grep -qxF '[HKEY_USERS\.DEFAULT\Control Panel\Desktop]' out
nb 0 "HKU\\.DEFAULT and HKLM\\SAM: undo" undo vd
check "undo: DEFAULT and SAM byte for byte" sh -c 'cmp -s vd/WINDOWS/system32/config/DEFAULT default.orig && cmp -s vd/WINDOWS/system32/config/SAM sam.orig'
