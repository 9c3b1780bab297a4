# PEEXCH50's SMTP sink bindings in MetaBase.xml: byte-exact removal.
. "$TESTS/lib.sh"
MB=WINDOWS/system32/inetsrv/MetaBase.xml
EXPECTED=$HIVES/metabase/MetaBase.expected.xml

fresh sbs2003 vol
nb 1 "check finds four bindings" check --json vol
jq -r '.changes[] | select(.action == "remove-binding") | [.instance, .event, .value // "-", .old] | join("|")' out >planned
cat >planned.want <<'W'
1|OnInboundCommand|Exchange SMTP Protocol XEXCH50 Inbound XEXCH50|Exchange.XExch50Sink.1
1|OnServerResponse|Exchange SMTP Protocol XEXCH50 EHLO Response|Exchange.XExch50Response
2|OnBeforeData|Exchange SMTP Protocol XEXCH50 Before Data|{A1B2C3D4-0003-4E58-8535-304558434835}
2|OnTransportSubmission|-|Exchange.XExch50Sink.1
W
check "each binding reported with instance, event type, display name, sink class" cmp -s planned planned.want
nb 0 "fix" fix vol
check "MetaBase.xml equals the expected file byte for byte" cmp -s vol/$MB "$EXPECTED"
check "xmllint reads the result" xmllint --noout vol/$MB
check "MBSchema.xml is untouched" cmp -s vol/WINDOWS/system32/inetsrv/MBSchema.xml "$FIXTURES/sbs2003/WINDOWS/system32/inetsrv/MBSchema.xml"
check "History is untouched" diff -r vol/WINDOWS/system32/inetsrv/History "$FIXTURES/sbs2003/WINDOWS/system32/inetsrv/History"
for b in 22222222-BBBB 44444444-DDDD '66666666-FFFF-4E58-8535-000000000006}/SinkClass'; do
	check "other bindings stay: $b" grep -qF "$b" vol/$MB
done
check "the comment mentioning a binding path stays" grep -qF '<!-- comments are kept' vol/$MB
sed -n '/^<IIS_Global/,/^<\/IIS_Global>/p' "$FIXTURES/sbs2003/$MB" >global.before
sed -n '/^<IIS_Global/,/^<\/IIS_Global>/p' vol/$MB >global.after
check "IIS_Global (ChangeNumber, SessionKey) stays as it was" sh -c 'test -s global.before && cmp -s global.before global.after'
nb 0 "a second fix" fix vol
has "a second fix finds nothing" out 'clean, nothing to change'
nb 0 "undo" undo vol
check "undo restores MetaBase.xml byte for byte" cmp -s vol/$MB "$FIXTURES/sbs2003/$MB"

# The same file with a BOM and CRLF line ends.
fresh sbs2003crlf vol
nb 0 "BOM + CRLF: fix" fix vol
{ printf '\357\273\277'; sed 's/$/\r/' "$EXPECTED"; } >expected.crlf
check "BOM + CRLF: equals the expected file (BOM, CRLF, tabs, multi-line values kept)" cmp -s vol/$MB expected.crlf
check "BOM + CRLF: xmllint reads the result" xmllint --noout vol/$MB

# No metabase (IIS not installed): the hives are still fixed.
fresh sbs2003 vol
rm -r vol/WINDOWS/system32/inetsrv
nb 0 "no MetaBase.xml: fix" fix --json vol
jqok "no MetaBase.xml: only hive changes" '[.changes[].file] | unique == ["WINDOWS/system32/config/SOFTWARE", "WINDOWS/system32/config/SYSTEM"]' out

# Bad metabases: refused, and nothing at all is written (not even SYSTEM).
bad() {
	treesum vol >snap
	nb 3 "$1: refused" fix --json vol
	jqok "$1: error kind $2" ".error.kind == \"$2\"" out
	has "$1: the message names the file" err "$3"
	same_tree "$1: the whole target is byte-identical" vol snap
}
fresh sbs2003 vol
head -c 3000 "$FIXTURES/sbs2003/$MB" >vol/$MB
bad "truncated MetaBase.xml" bad-metabase 'inetsrv/MetaBase.xml: is not well-formed XML \(line [0-9]+'
fresh sbs2003 vol
sed 's|</MBProperty>|</MBPropertyX>|' "$FIXTURES/sbs2003/$MB" >vol/$MB
bad "mismatched tags" bad-metabase 'not well-formed'
fresh sbs2003 vol
{ echo '<?xml version="1.0"?>'; echo '<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'; sed 1d "$FIXTURES/sbs2003/$MB"; } >vol/$MB
bad "an external entity" bad-metabase 'DOCTYPE declaration'
fresh sbs2003 vol
sed 's|<configuration xmlns="urn:microsoft-catalog:XML_Metabase_V64_0">|<config>|; s|</configuration>|</config>|' "$FIXTURES/sbs2003/$MB" >vol/$MB
bad "not a metabase" bad-metabase 'not an IIS 6 metabase'
fresh sbs2003 vol
truncate -s 100M vol/$MB
bad "a 100 MB sparse MetaBase.xml" too-large 'more than the 67108864 a real one can be'

# An older schema version in the namespace is accepted.
fresh sbs2003 vol
sed 's|XML_Metabase_V64_0|XML_Metabase_V54_0|' "$FIXTURES/sbs2003/$MB" >vol/$MB
nb 0 "V54_0 namespace: fix" fix vol
check "V54_0 namespace: bindings removed" sh -c "! grep -q 11111111-AAAA vol/$MB"

# The classes a run found are kept in its journal: bindings still found
# after the COM keys are gone (a metabase restored from History, say).
fresh sbs2003 vol
"$NOBOUNCE" fix -q vol
cp "$FIXTURES/sbs2003/$MB" vol/$MB
nb 1 "COM keys gone, bindings back: check finds them" check --json vol
jqok "the classes come from the journal" '[.changes[].action] == ["remove-binding","remove-binding","remove-binding","remove-binding"]' out
nb 0 "COM keys gone, bindings back: fix" fix vol
check "COM keys gone, bindings back: MetaBase.xml equals the expected file" cmp -s vol/$MB "$EXPECTED"

# Killed between the files (after SOFTWARE, before MetaBase.xml): fix again
# completes the same result a clean run gives.
fresh sbs2003 ref
"$NOBOUNCE" fix -q ref
fresh sbs2003 vol
n=$(fault_at before-write "writing $MB" fix vol)
fresh sbs2003 vol
NOBOUNCE_FAULT=before-write:$n "$NOBOUNCE_FAULTS_BIN" fix vol >/dev/null 2>&1
check "killed after the SOFTWARE write (exit 137)" test $? = 137
nb 0 "killed between files: fix again" fix vol
for f in WINDOWS/system32/config/SYSTEM WINDOWS/system32/config/SOFTWARE $MB; do
	check "killed between files: $f equals a clean run's" cmp -s vol/$f ref/$f
done

# The form IIS writes a property its schema does not know in
# (Name="UnknownName_0", UserType="IIS_MD_UT_SERVER"), with the transport
# submission sink "Exchange Transport XEXCH50 Submission Sink" and a decoy
# of the same display name whose sink class is another DLL's: the match is
# the sink class, never the name (hives/mbvariant).
fresh unknownname vu
nb 1 "UnknownName_0: check" check --json vu
jq -r '.changes[] | select(.action == "remove-binding") | [.instance, .event, .value // "-", .old] | join("|")' out >planned
check "UnknownName_0: five bindings, the submission sink among them" \
	grep -qxF '1|OnTransportSubmission|Exchange Transport XEXCH50 Submission Sink|Exchange.XExch50Sink.1' planned
check "UnknownName_0: the four of the usual form too ($(wc -l <planned))" test "$(wc -l <planned)" = 5
nb 0 "UnknownName_0: fix" fix vu
"$HIVES/mbvariant" "$EXPECTED" decoy >expected.unknown
check "UnknownName_0: MetaBase.xml equals the expected file byte for byte (the decoy kept)" cmp -s vu/$MB expected.unknown
check "UnknownName_0: xmllint reads the result" xmllint --noout vu/$MB
check "UnknownName_0: the decoy's binding stays" grep -qF '{88888888-2222-4E58-8535-000000000008}/SinkClass' vu/$MB
nb 0 "UnknownName_0: undo" undo vu
check "UnknownName_0: undo restores MetaBase.xml byte for byte" cmp -s vu/$MB "$FIXTURES/unknownname/$MB"
