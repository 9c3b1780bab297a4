# PEEXCH50's COM registration in SOFTWARE: exactly the DLL's keys go.
. "$TESTS/lib.sh"
SW=WINDOWS/system32/config/SOFTWARE
fresh sbs2003 vol
regexport vol/$SW >before.reg
check "the fixture SOFTWARE holds over 10,000 CLSIDs" test "$(grep -c '^\[\\Classes\\CLSID\\{[^\\]*}\]$' before.reg)" -gt 10000

nb 1 "check finds PEEXCH50's classes" check --json vol
jq -r '.changes[] | select(.file == "WINDOWS/system32/config/SOFTWARE") | .action + " " + .key' out >planned
cat >planned.want <<'W'
delete-key Classes\CLSID\{A1B2C3D4-0001-4E58-8535-304558434835}
delete-key Classes\CLSID\{A1B2C3D4-0002-4E58-8535-304558434835}
delete-key Classes\CLSID\{a1b2c3d4-0003-4e58-8535-304558434835}
delete-key Classes\Exchange.XExch50Response
delete-key Classes\Exchange.XExch50Response.1
delete-key Classes\Exchange.XExch50Sink
delete-key Classes\Exchange.XExch50Sink.1
delete-key Classes\TypeLib\{A1B2C3D4-1000-4E58-8535-304558434835}
delete-key Classes\Interface\{A1B2C3D4-2001-4E58-8535-304558434835}
delete-key Classes\Interface\{A1B2C3D4-2002-4E58-8535-304558434835}
W
check "check plans exactly the DLL's classes, ProgIDs, type library and interfaces" cmp -s planned planned.want

nb 0 "fix" fix vol
regexport vol/$SW >after.reg
diff before.reg after.reg >delta
check "hivexregedit: nothing was added or changed in SOFTWARE" sh -c '! grep -q "^>" delta'
# every removed line lies in a removed key: list the removed keys' headers
grep '^< \[' delta | sed 's/^< //' >gone
sed 's/^delete-key /[\\/; s/$/]/' planned.want >roots
awk 'NR == FNR { r[tolower($0)] = 1; next }
	{ k = tolower($0); sub(/\]$/, "", k); ok = 0
	  for (x in r) { p = x; sub(/\]$/, "", p); if (k == p || index(k, p "\\") == 1) ok = 1 }
	  if (!ok) { print "unexpected: " $0; bad = 1 } }
	END { exit bad }' roots gone >unexpected
check "hivexregedit: every removed key lies under a planned one" test ! -s unexpected
check "hivexregedit: every planned key is gone" sh -c "test \$(grep -c . roots) = \$(grep -ciFx -f roots gone)"

# decoys stay: exps.dll's class, ProgID, type library and interface; the
# .old copy; the look-alike; the 10,000 ordinary classes
for k in 'Classes\CLSID\{B0B0B0B0-0001-4E58-8535-455850534B31}' 'Classes\Exchange.ExpsSink.1' \
	'Classes\TypeLib\{B0B0B0B0-1000-4E58-8535-455850534B31}' 'Classes\Interface\{B0B0B0B0-2001-4E58-8535-455850534B31}' \
	'Classes\CLSID\{C0C0C0C0-0001-4E58-8535-4F4C44434F50}' 'Classes\CLSID\{D0D0D0D0-0001-4E58-8535-4C4F4F4B414C}' \
	'Classes\Other.LookAlike.1'; do
	check "decoy kept: $k" grep -qiF "[\\$k]" after.reg
done
check "the 10,000 ordinary classes are all still there" test "$(grep -c '^\[\\Classes\\CLSID\\{[^\\]*}\]$' after.reg)" = "$(( $(grep -c '^\[\\Classes\\CLSID\\{[^\\]*}\]$' before.reg) - 3 ))"
reged -x vol/$SW 'HKEY_LOCAL_MACHINE\SOFTWARE' '\Classes\CLSID' reged.reg >/dev/null 2>&1
check "reged walks Classes\\CLSID of the fixed hive" grep -q 'B0B0B0B0-0001-4E58-8535-455850534B31' reged.reg
check "reged no longer sees PEEXCH50's classes" sh -c '! grep -qi "A1B2C3D4-000" reged.reg'

nb 0 "a second fix" fix vol
has "a second fix finds nothing" out 'clean, nothing to change'

# the matcher: which paths name the DLL
fresh noexchange vol2
cat >paths.reg <<'R'
[\Classes\CLSID\{00000001-0000-0000-0000-0000000000AA}\InprocServer32]
@="peexch50.dll"
[\Classes\CLSID\{00000002-0000-0000-0000-0000000000AA}\InprocServer32]
@=str(2):"%SystemRoot%\\..\\Program Files\\Exchsrvr\\bin\\PeExCh50.DlL"
[\Classes\CLSID\{00000003-0000-0000-0000-0000000000AA}\InprocServer32]
@="C:/Program Files/Exchsrvr/bin/peexch50.dll "
[\Classes\CLSID\{00000004-0000-0000-0000-0000000000AA}\InprocServer32]
@="C:\\Exchsrvr\\bin\\peexch50"
[\Classes\CLSID\{00000005-0000-0000-0000-0000000000BB}\InprocServer32]
@="C:\\Exchsrvr\\bin\\peexch50.dll.old"
[\Classes\CLSID\{00000006-0000-0000-0000-0000000000BB}\InprocServer32]
@="C:\\Exchsrvr\\bin\\mypeexch50.dll"
[\Classes\CLSID\{00000007-0000-0000-0000-0000000000BB}\InprocServer32]
@="C:\\peexch50.dll\\other.dll"
[\Classes\CLSID\{00000008-0000-0000-0000-0000000000BB}\InprocServer32]
@=dword:00000001
R
"$MKHIVE" -o vol2/$SW "$HIVES/software/base.reg" paths.reg
nb 1 "path forms: check" check --json vol2
jq -r '.changes[] | select(.action == "delete-key") | .key' out | sort >matched
check "path forms: bare name, %SystemRoot% + mixed case, forward slashes + blank, no extension match; .old, look-alike, directory, DWORD do not" \
	sh -c "test \"\$(tr '\n' ' ' <matched)\" = 'Classes\\CLSID\\{00000001-0000-0000-0000-0000000000AA} Classes\\CLSID\\{00000002-0000-0000-0000-0000000000AA} Classes\\CLSID\\{00000003-0000-0000-0000-0000000000AA} Classes\\CLSID\\{00000004-0000-0000-0000-0000000000AA} '"

# a type library version naming both the DLL and another file: refused
cat >mixed.reg <<'R'
[\Classes\CLSID\{00000001-0000-0000-0000-0000000000AA}\InprocServer32]
@="C:\\x\\peexch50.dll"
[\Classes\TypeLib\{00000009-0000-0000-0000-0000000000CC}\1.0\0\win32]
@="C:\\x\\peexch50.dll"
[\Classes\TypeLib\{00000009-0000-0000-0000-0000000000CC}\1.0\409\win32]
@="C:\\x\\other.dll"
R
fresh noexchange vol3
"$MKHIVE" -o vol3/$SW "$HIVES/software/base.reg" mixed.reg
treesum vol3 >snap
nb 3 "a type library shared with another file: refused" fix --json vol3
jqok "shared type library: error kind unsure" '.error.kind == "unsure"' out
same_tree "shared type library: nothing written" vol3 snap

# a type library with one version of the DLL's and one of another file's:
# only the DLL's version goes
cat >twover.reg <<'R'
[\Classes\CLSID\{00000001-0000-0000-0000-0000000000AA}\InprocServer32]
@="C:\\x\\peexch50.dll"
[\Classes\TypeLib\{0000000A-0000-0000-0000-0000000000CC}\1.0\0\win32]
@="C:\\x\\peexch50.dll"
[\Classes\TypeLib\{0000000A-0000-0000-0000-0000000000CC}\2.0\0\win32]
@="C:\\x\\other.dll"
[\Classes\Interface\{0000000B-0000-0000-0000-0000000000CC}\TypeLib]
@="{0000000A-0000-0000-0000-0000000000CC}"
R
fresh noexchange vol4
"$MKHIVE" -o vol4/$SW "$HIVES/software/base.reg" twover.reg
nb 0 "a type library with versions of two files: fix" fix --json vol4
jqok "only the DLL's version and its class go; the interface of the shared library stays" \
	'[.changes[] | select(.action == "delete-key") | .key] == ["Classes\\CLSID\\{00000001-0000-0000-0000-0000000000AA}", "Classes\\TypeLib\\{0000000A-0000-0000-0000-0000000000CC}\\1.0"]' out
hivexregedit --export vol4/$SW '\Classes\TypeLib\{0000000A-0000-0000-0000-0000000000CC}' >tl.reg
check "hivexregedit: version 2.0 (other.dll) is still there" grep -qF '[\Classes\TypeLib\{0000000A-0000-0000-0000-0000000000CC}\2.0\0\win32]' tl.reg
check "hivexregedit: version 1.0 is gone" sh -c "! grep -qF '1.0]' tl.reg"
check "hivexregedit: the interface of the shared library stays" sh -c "hivexregedit --export vol4/$SW '\\Classes\\Interface' | grep -qF '{0000000B-0000-0000-0000-0000000000CC}'"

# AppIDs, as an ATL sink registers them: a class's own AppID goes with it
# (its key, DllSurrogate and all, and the executable-name entry naming it);
# one that a class that stays names too stays, and so does another
# program's.  Read back with libregf (tests/regf-keys) and hivexregedit.
fresh appid va
nb 1 "AppIDs: check" check --json va
jq -r '.changes[] | select(.file == "WINDOWS/system32/config/SOFTWARE") | .key' out >planned
for k in 'Classes\AppID\{A1B2C3D4-3001-4E58-8535-304558434835}' 'Classes\AppID\PEEXCH50.DLL'; do
	check "AppIDs: check plans $k" grep -qxF "$k" planned
done
for k in 'Classes\AppID\{A1B2C3D4-3002-4E58-8535-304558434835}' 'Classes\AppID\EXPS.DLL' 'Classes\AppID\{C0C0C0C0-3003-4E58-8535-304558434835}'; do
	check "AppIDs: check keeps $k" sh -c "! grep -qixF '$k' planned"
done
jqok "AppIDs: check names the class's subkey that regsvr32 /u would have left" \
	'.notes | any(test("CLSID\\\\\\{A1B2C3D4-0004-4E58-8535-304558434835\\}\\\\Sinks is not a subkey COM registers"))' out
jqok "AppIDs: and no standard subkey" '[.notes[] | select(test("is not a subkey COM"))] | length == 1' out
nb 0 "AppIDs: fix" fix va
"$TESTS/regf-keys" va/$SW '\Classes\AppID' >appid.after
check "AppIDs: libregf reads the fixed AppID key ($(grep -c . appid.after) lines)" test -s appid.after
for k in '{A1B2C3D4-3001-4E58-8535-304558434835}' 'PEEXCH50.DLL'; do
	check "AppIDs: libregf: \\Classes\\AppID\\$k is gone" sh -c '! grep -qixF "$1" "$2"' - "\\Classes\\AppID\\$k" appid.after
	check "AppIDs: libregf: \\Classes\\AppID\\$k was there before" sh -c '"$0" "$1" "\\Classes\\AppID" | grep -qixF "$2"' "$TESTS/regf-keys" "$FIXTURES/appid/$SW" "\\Classes\\AppID\\$k"
done
for k in '{A1B2C3D4-3002-4E58-8535-304558434835}' 'EXPS.DLL' '{C0C0C0C0-3003-4E58-8535-304558434835}'; do
	check "AppIDs: libregf: \\Classes\\AppID\\$k stays" grep -qxF "\\Classes\\AppID\\$k" appid.after
done
check "AppIDs: libregf: the shared AppID's class (exps.dll) stays, naming it" \
	sh -c "'$TESTS/regf-keys' va/$SW '\\Classes\\CLSID\\{B0B0B0B0-0009-4E58-8535-455850534B31}' | grep -qi 'AppID.*{a1b2c3d4-3002'"
regexport va/$SW '\Classes\AppID' >appid.reg
check "AppIDs: hivexregedit agrees: two AppIDs and EXPS.DLL left" test "$(grep -c '^\[' appid.reg)" = 4
nb 0 "AppIDs: undo" undo va
check "AppIDs: undo restores SOFTWARE byte for byte" cmp -s va/$SW "$FIXTURES/appid/$SW"
