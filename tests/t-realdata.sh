# Real Windows hives from ../shared/realdata (SKIP when it is absent).
. "$TESTS/lib.sh"
realdata || exit 0

# mkvol DIR HIVE: a volume whose SYSTEM is HIVE
mkvol() {
	mkdir -p "$1/WINDOWS/system32/config"
	cp "$2" "$1/$SYS"
}

# The real Windows 10 SYSTEM hive: no SMTPSVC, so nothing to do.
unxz_to regipy/SYSTEM win10
mkvol vol win10
nb 0 "real SYSTEM without SMTPSVC: check is clean" check vol
nb 0 "real SYSTEM without SMTPSVC: fix" fix vol
check "real SYSTEM without SMTPSVC: byte-identical after fix" cmp -s vol/$SYS win10
check "real SYSTEM without SMTPSVC: no journal" test ! -e vol/WINDOWS/nobounce-1.journal

# The same hive with SMTPSVC added by the builder: the export differs by
# exactly the SuppressExternal line (ControlSet001\services is lower case).
"$MKHIVE" -o win10smtp --base win10 "$HIVES/system/realsmtp.reg"
rm -rf vol
mkvol vol win10smtp
regexport vol/$SYS >before.reg
nb 0 "real SYSTEM with SMTPSVC: fix" fix --json vol
jqok "real SYSTEM: the key found under lower-case services" '[.changes[].key] == ["ControlSet001\\services\\SMTPSVC\\XEXCH50"]' out
regexport vol/$SYS >after.reg
diff before.reg after.reg | grep '^[<>]' >delta
printf '> "SuppressExternal"=dword:00000001\n' >delta.want
check "real SYSTEM: hivexregedit export differs by exactly SuppressExternal" cmp -s delta delta.want
nb 0 "real SYSTEM: undo" undo vol
check "real SYSTEM: undo restores it byte for byte" cmp -s vol/$SYS win10smtp

# A .reg patch on the real Windows 10 SYSTEM: CurrentControlSet (its
# services key is lower case), a new service, a deleted value; the export
# of the result differs by exactly what the patch says; merged twice it
# changes nothing; undone byte for byte.
rm -rf vol
mkvol vol win10
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\AcmeAgent]\n"Start"=dword:00000003\n"ImagePath"="C:\\\\acme\\\\agent.exe"\n' >real.reg
regexport vol/$SYS >before.reg
nb 0 "real SYSTEM: fix --reg" fix --json --reg real.reg vol
jqok "real SYSTEM: the service under the lower-case services key, in each set Select names" \
	'[.changes[] | select(.action == "create-key") | .key] | all(test("^ControlSet00[0-9]\\\\services\\\\AcmeAgent$"))' out
regexport vol/$SYS >after.reg
diff before.reg after.reg | grep '^[<>]' | grep -v '^> $' | sort -u >delta
check "real SYSTEM: hivexregedit sees only the new service's key and two values" \
	sh -c "test \$(grep -c '^> \\[.*AcmeAgent\\]' delta) -ge 1 && ! grep -q '^<' delta && test \$(grep -c '^> \"' delta) = 2"
check "real SYSTEM: libregf reads Start = 3" sh -c "'$TESTS/regf-keys' vol/$SYS '\\ControlSet001\\services\\AcmeAgent' | grep -qF \"\$(printf 'Start\t4\t03000000')\""
nb 0 "real SYSTEM: fix --reg again" fix --reg real.reg vol
has "real SYSTEM: the second merge changes nothing" out 'clean, nothing to change'
nb 0 "real SYSTEM: undo of the patch" undo vol
check "real SYSTEM: undo restores it byte for byte" cmp -s vol/$SYS win10

# The dirty real SYSTEM_B: refused, untouched.
unxz_to regipy/SYSTEM_B sysb
rm -rf vol
mkvol vol sysb
nb 3 "real dirty SYSTEM_B: refused" fix --json vol
jqok "real dirty SYSTEM_B: dirty-hive" '.error.kind == "dirty-hive"' out
has "real dirty SYSTEM_B: says which numbers" err 'sequence numbers 1622 and 1621 differ'
check "real dirty SYSTEM_B: unchanged" cmp -s vol/$SYS sysb

# Damaged hives from yarp, each as SYSTEM: refused, untouched.
for h in yarp/TruncatedHive yarp/GarbageHive yarp/BadBaseBlockHive/BadBaseBlockHive; do
	unxz_to $h bad
	rm -rf vol
	mkvol vol bad
	nb 3 "damaged $h: refused" fix --json vol
	jqok "damaged $h: a hive error" '.error.kind == "damaged-hive" or .error.kind == "dirty-hive"' out
	check "damaged $h: unchanged" cmp -s vol/$SYS bad
done

# Hives with format features nobounce must read without complaint (no
# Select key: reported as not a SYSTEM hive, nothing written).
for h in yarp/BigDataHive yarp/ManySubkeysHive yarp/StringValuesHive hivex/special hivex/minimal hivex/rlenvalue_test_hive; do
	unxz_to $h hv
	rm -rf vol
	mkvol vol hv
	nb 3 "$h as SYSTEM: refused as not a SYSTEM hive" fix --json vol
	jqok "$h: not-system-hive" '.error.kind == "not-system-hive"' out
	check "$h: unchanged" cmp -s vol/$SYS hv
done
