# Users' hives: HKEY_CURRENT_USER (--user NAME or SID) and HKEY_USERS\<SID>
# to a profile's NTUSER.DAT, their Software\Classes to its UsrClass.dat,
# with the profiles found in SOFTWARE's ProfileList and in the profile
# folders; patched, exported, recovered and undone; read back with libregf
# and hivexregedit.  Refusals name the profiles and write nothing.
. "$TESTS/lib.sh"
MKLOG=$(dirname "$MKHIVE")/mklog
DS='Documents and Settings'
ADM="$DS/Administrator"
UC='Local Settings/Application Data/Microsoft/Windows/UsrClass.dat'
SID=S-1-5-21-1004336348-1177238915-682003330
dump() { "$TESTS/regf-keys" "$1" "$2"; }
# reads DESC HIVE KEY TEXT: libregf reads TEXT under KEY
reads() {
	if dump "$2" "$3" | grep -qF -- "$4"; then pass "$1"; else flunk "$1"; fi
}
TAB=$(printf '\t')

cat >u.reg <<EOF
Windows Registry Editor Version 5.00

[HKEY_CURRENT_USER\\Control Panel\\Desktop]
"Wallpaper"="corp.bmp"

[HKEY_CURRENT_USER\\Software\\Classes\\.acme]
@="acmefile"

[HKEY_USERS\\$SID-1108\\Environment]
"ACME"="1"

[HKEY_USERS\\$SID-1108_Classes\\acmefile\\shell\\open\\command]
@="notepad.exe %1"
EOF

fresh profiles vol
treesum vol >pristine
nb 3 "HKEY_CURRENT_USER without --user: refused" check --json --reg u.reg vol
jqok "without --user: choose-user" '.error.kind == "choose-user"' out
has "without --user: the profiles are listed, with their SIDs" err "Administrator \\($SID-500\\)"
has "without --user: a folder found without ProfileList is listed too" err 'Default User[,;]'
has "without --user: a profile that cannot be used is marked so" err "roamer \\($SID-1109, cannot be used\\)"
same_tree "without --user: nothing written" vol pristine
nb 3 "--user that names no profile: refused" fix --json --reg u.reg --user nobody vol
jqok "--user nobody: choose-user, naming it" '.error.kind == "choose-user" and (.error.message | test("--user nobody: no profile"))' out
same_tree "--user nobody: nothing written" vol pristine
nb 2 "--user without --reg: a usage error" check --user Administrator vol
nb 2 "--user with undo: a usage error" undo --user Administrator vol

nb 1 "check --reg --user: there is work" check --json --reg u.reg --user administrator vol
jq -r '.changes[] | [.file, .action, .key, .value // "-"] | join("|")' out >planned
for want in "$ADM/NTUSER.DAT|set-value|Control Panel\\Desktop|Wallpaper" \
	"$ADM/$UC|create-key|.acme|-" \
	"$DS/jsmith/NTUSER.DAT|set-value|Environment|ACME" \
	"$DS/jsmith/$UC|create-key|acmefile\\shell\\open\\command|-"; do
	check "check plans: $want" grep -qxF "$want" planned
done
check "check: HKEY_CURRENT_USER went only to --user's hive" sh -c "! grep -q 'Default User\\|LocalService' planned"
same_tree "check --reg --user wrote nothing" vol pristine

nb 0 "fix --reg --user" fix --reg u.reg --user Administrator vol
reads "libregf: the administrator's Wallpaper" "vol/$ADM/NTUSER.DAT" '\Control Panel\Desktop' corp.bmp
reads "libregf: HKCU\\Software\\Classes went to the root of UsrClass.dat" "vol/$ADM/$UC" '\.acme' acmefile
reads "libregf: HKU\\<SID> went to that profile's NTUSER.DAT" "vol/$DS/jsmith/NTUSER.DAT" '\Environment' "ACME${TAB}1${TAB}"
check "hivexget: HKU\\<SID>_Classes went to that profile's UsrClass.dat" test "$(hget "vol/$DS/jsmith/$UC" '\acmefile\shell\open\command' @)" = 'notepad.exe %1'
check "the other values of the hive are kept" test "$(hget "vol/$ADM/NTUSER.DAT" '\Environment' TEMP)" = '%USERPROFILE%\Local Settings\Temp'
for f in "$DS/Default User/NTUSER.DAT" "$DS/LocalService/NTUSER.DAT" "$DS/jsmith/NTUSER.DAT.LOG" WINDOWS/system32/config/SOFTWARE; do
	[ -e "$FIXTURES/profiles/$f" ] || continue
	check "untouched: $f" cmp -s "vol/$f" "$FIXTURES/profiles/$f"
done
nb 0 "fix again, --user by SID" fix --reg u.reg --user "$SID-500" vol
has "fix again: nothing to change" out 'clean, nothing to change'

# export by profile: regedit's names, merged back identically
nb 0 "export HKCU and HKU\\<SID> keys" export --user Administrator vol 'HKCU\Control Panel\Desktop' 'HKCU\Software\Classes\.acme' "HKU\\$SID-1108\\Environment"
cp out users.reg
check "export: HKEY_CURRENT_USER spelt out" grep -qxF '[HKEY_CURRENT_USER\Control Panel\Desktop]' users.reg
check "export: the value it holds" grep -qxF '"Wallpaper"="corp.bmp"' users.reg
check "export: HKEY_USERS\\<SID>" grep -qxF "[HKEY_USERS\\$SID-1108\\Environment]" users.reg
check "export: HKCU\\Software\\Classes read from UsrClass.dat" grep -qxF '[HKEY_CURRENT_USER\Software\Classes\.acme]' users.reg
nb 3 "export of HKCU without --user: refused" export vol 'HKCU\Control Panel\Desktop'
has "export without --user: choose-user" err 'give --user NAME'
nb 0 "export --json of a user's key" export --json --user Administrator vol 'HKCU\Control Panel\Desktop'
jqok "export --json: the key and its text" '.key == "HKCU\\Control Panel\\Desktop" and (.reg | test("corp.bmp"))' out
fresh profiles back
printf 'Windows Registry Editor Version 5.00\n\n[-HKEY_CURRENT_USER\\Control Panel\\Desktop]\n' >wipe.reg
nb 0 "export merged back into a fresh volume" fix --reg wipe.reg --reg users.reg --user Administrator back
dump "vol/$ADM/NTUSER.DAT" '\Control Panel\Desktop' >desk.a
dump "back/$ADM/NTUSER.DAT" '\Control Panel\Desktop' >desk.b
check "export round trip: libregf reads the same Desktop key" cmp -s desk.a desk.b

nb 0 "undo" undo vol
same_tree "undo: every profile's hives byte for byte" vol pristine

# --user names a folder found without ProfileList: Default User (whose hive
# new users copy: a template's settings go there)
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\Software\\Acme]\n"Template"=dword:00000001\n' >tmpl.reg
nb 0 "--user \"Default User\"" fix --reg tmpl.reg --user 'default user' vol
reads "libregf: Default User's NTUSER.DAT has the key" "vol/$DS/Default User/NTUSER.DAT" '\Software\Acme' "Template${TAB}4${TAB}01000000"
nb 0 "undo" undo vol
same_tree "undo: byte for byte" vol pristine

# refusals: nothing written
refused() { # WANT-KIND PATTERN DESC ARGS...
	kind=$1 pat=$2 desc=$3
	shift 3
	nb 3 "$desc: refused" fix --json "$@" vol
	jqok "$desc: $kind" ".error.kind == \"$kind\"" out
	has "$desc: says why" err "$pat"
	same_tree "$desc: nothing written" vol pristine
}
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\S-1-5-21-1-2-3-4\\Software\\A]\n"x"="y"\n' >nosid.reg
refused not-applicable 'no profile of WINDOWS has the SID S-1-5-21-1-2-3-4' "a SID no profile has" --reg nosid.reg
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\%s-1109\\Software\\A]\n"x"="y"\n' "$SID" >roam.reg
refused not-applicable 'ProfileImagePath, D:\\Profiles\\roamer, is not on this volume' "a profile on another drive" --reg roam.reg
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\%s-1110\\Software\\A]\n"x"="y"\n' "$SID" >gone.reg
refused not-applicable 'departed is not there' "a profile whose folder is gone" --reg gone.reg
refused not-applicable 'the profile systemprofile .* has no NTUSER.DAT' "a profile without NTUSER.DAT" --reg tmpl.reg --user S-1-5-18
printf 'Windows Registry Editor Version 5.00\n\n[-HKEY_CURRENT_USER]\n' >whole.reg
nb 2 "[-HKEY_CURRENT_USER]: a usage error" fix --reg whole.reg --user Administrator vol
has "[-HKEY_CURRENT_USER]: would delete a whole hive" err 'would delete a whole hive'
printf 'Windows Registry Editor Version 5.00\n\n[-HKEY_CURRENT_USER\\Software\\Classes]\n' >whole.reg
nb 2 "[-HKCU\\Software\\Classes] (all of UsrClass.dat): a usage error" fix --reg whole.reg --user Administrator vol
same_tree "usage errors: nothing written" vol pristine

# a hostile image: a profile folder that is a link out of the volume, a
# ProfileImagePath that climbs out; nothing outside is read or written
mkdir -p outside/prof
cp "$FIXTURES/profiles/$ADM/NTUSER.DAT" outside/prof/NTUSER.DAT
sha256sum outside/prof/NTUSER.DAT >outside.sum
fresh profiles ln
rm -rf "ln/$DS/jsmith"
ln -s "$PWD/outside/prof" "ln/$DS/jsmith"
treesum ln >ln.snap
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\%s-1108\\Software\\A]\n"x"="y"\n' "$SID" >js.reg
nb 3 "a profile folder that is a link: refused" fix --json --reg js.reg ln
jqok "a profile folder that is a link: unsafe-path" '.error.kind == "unsafe-path"' out
nb 3 "--user naming it: refused" fix --json --reg tmpl.reg --user jsmith ln
check "the file the link points to is untouched" sha256sum -c --quiet outside.sum
same_tree "a profile folder that is a link: nothing written" ln ln.snap
nb 0 "the other profiles still work" fix --reg tmpl.reg --user Administrator ln
nb 0 "undo" undo ln
same_tree "undo" ln ln.snap
fresh profiles up
printf 'Windows Registry Editor Version 5.00\n\n[\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\S-1-5-21-9-9-9-1001]\n"ProfileImagePath"=str(2):"%%SystemDrive%%\\\\..\\\\..\\\\etc"\n' >climb.reg
"$MKHIVE" -o up.sw --base up/WINDOWS/system32/config/SOFTWARE climb.reg
mv up.sw up/WINDOWS/system32/config/SOFTWARE
treesum up >up.snap
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\S-1-5-21-9-9-9-1001\\Software\\A]\n"x"="y"\n' >climb-patch.reg
nb 3 "a ProfileImagePath that climbs out: refused" fix --json --reg climb-patch.reg up
has "a ProfileImagePath that climbs out: not on this volume" err 'is not on this volume'
same_tree "a ProfileImagePath that climbs out: nothing written" up up.snap

# recover TARGET: a profile's dirty NTUSER.DAT is replayed with the config
# hives, undoably
fresh profiles rv
J="rv/$DS/jsmith/NTUSER.DAT"
cp "$J" ntbefore.hiv
printf '[\\Software\\Logged]\n"Late"=dword:00000009\n' >late.reg
"$MKHIVE" -o ntafter.hiv --base ntbefore.hiv late.reg
"$MKLOG" ntbefore.hiv ntafter.hiv "$J" "$J.LOG"
treesum rv >rv.dirty
nb 0 "recover TARGET with a dirty NTUSER.DAT" recover --json rv
jqok "recover TARGET: the profile's hive recovered, its log emptied" \
	"[.changes[] | select(.action == \"recover-hive\") | .file] == [\"$DS/jsmith/NTUSER.DAT\"] and [.changes[] | select(.action == \"clear-log\") | .file] == [\"$DS/jsmith/NTUSER.DAT.LOG\"]" out
jqok "recover TARGET: the profiles it could not look at are named" '.notes | any(test("roamer .* is left as it is"))' out
reads "recover TARGET: libregf reads the logged value" "$J" '\Software\Logged' "Late${TAB}4${TAB}09000000"
check "recover TARGET: the hive is clean now" test "$(od -A n -t u4 -j 4 -N 4 "$J")" = "$(od -A n -t u4 -j 8 -N 4 "$J")"
check "recover TARGET: the log is empty" test ! -s "$J.LOG"
nb 0 "recover TARGET again: nothing dirty" recover rv
has "recover TARGET again: clean" out 'clean, nothing to change'
nb 0 "undo of the recovery" undo rv
same_tree "undo: the dirty hive and its log are back" rv rv.dirty
# a patch on the dirty profile hive: replayed, then patched
nb 0 "fix --reg on a dirty NTUSER.DAT" fix --reg js.reg rv
check "the logged value and the patch, both (hivexget)" sh -c "test \"\$(hivexget '$J' '\\Software\\Logged' Late)\" = 9 && test \"\$(hivexget '$J' '\\Software\\A' x)\" = y"
nb 0 "undo" undo rv
same_tree "undo: dirty again, byte for byte" rv rv.dirty

# an NTFS image: the same patch through libntfs-3g, read back with ntfscat
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" p.img mbr "$FIXTURES/profiles"
nb 0 "image: fix --reg --user" fix --reg u.reg --user Administrator p.img
START=$(sfdisk --json p.img | jq '.partitiontable.partitions[0].start')
dd if=p.img of=part.img bs=512 skip="$START" 2>/dev/null
ntfscat part.img "$ADM/NTUSER.DAT" >nt.hiv 2>/dev/null
reads "image: ntfscat reads the patched NTUSER.DAT; libregf finds the Wallpaper" nt.hiv '\Control Panel\Desktop' corp.bmp
ntfscat part.img "$ADM/$UC" >uc.hiv 2>/dev/null
reads "image: and UsrClass.dat" uc.hiv '\.acme' acmefile
nb 0 "image: undo" undo p.img
dd if=p.img of=part.img bs=512 skip="$START" 2>/dev/null
for f in "$ADM/NTUSER.DAT" "$ADM/$UC" "$DS/jsmith/NTUSER.DAT" "$DS/jsmith/$UC"; do
	ntfscat part.img "$f" >now.hiv 2>/dev/null
	check "image: undo: ntfscat reads $f as it was" cmp -s now.hiv "$FIXTURES/profiles/$f"
done

# a real user hive (Windows-made, 4.4 MB): dirty, its logs not kept --
# refused; the same hive made clean is patched and exported
if realdata; then
	fresh profiles rd
	unxz_to regipy/NTUSER_with_winscp.DAT "rd/$ADM/NTUSER.DAT"
	treesum rd >rd.snap
	nb 3 "real NTUSER.DAT, dirty with no logs: refused" fix --json --reg tmpl.reg --user Administrator rd
	jqok "real NTUSER.DAT: dirty-hive" '.error.kind == "dirty-hive"' out
	same_tree "real NTUSER.DAT: nothing written" rd rd.snap
	nb 3 "real NTUSER.DAT: export refuses it too" export --user Administrator rd 'HKCU\Software'
	# clean: the secondary sequence number set to the primary's, the checksum redone
	/usr/bin/python3 - "rd/$ADM/NTUSER.DAT" <<'EOF'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[8:12] = b[4:8]
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from("<I", b, i)[0]
struct.pack_into("<I", b, 508, x)
open(p, "wb").write(b)
EOF
	cp "rd/$ADM/NTUSER.DAT" clean.hiv
	nb 0 "real NTUSER.DAT made clean: fix --reg --user" fix --reg tmpl.reg --user Administrator rd
	reads "real NTUSER.DAT: libregf reads the new key" "rd/$ADM/NTUSER.DAT" '\Software\Acme' Template
	K='HKCU\Software\Martin Prikryl'
	nb 0 "real NTUSER.DAT: export of WinSCP's key" export --user Administrator rd "$K"
	cp out winscp.reg
	hivexregedit --export --prefix 'HKEY_CURRENT_USER' clean.hiv '\Software\Martin Prikryl' >theirs.reg 2>/dev/null
	grep -c '^\[' winscp.reg >ours.keys
	grep -c '^\[' theirs.reg >theirs.keys
	check "real NTUSER.DAT: export has as many keys as hivexregedit's ($(cat theirs.keys))" cmp -s ours.keys theirs.keys
	# (hivexregedit spells the path as the hive stores it, SOFTWARE)
	check "real NTUSER.DAT: every key hivexregedit exports, export has" sh -c "grep '^\\[' theirs.reg | tr A-Z a-z | sort >t.k; grep '^\\[' winscp.reg | tr A-Z a-z | sort >o.k; cmp -s t.k o.k"
	nb 0 "real NTUSER.DAT: undo" undo rd
	check "real NTUSER.DAT: undo byte for byte" cmp -s "rd/$ADM/NTUSER.DAT" clean.hiv
fi
