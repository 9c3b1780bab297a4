# Every input that ever crashed a fuzz harness, and every seed, replayed
# through the harnesses (built without libFuzzer; under make asan with
# AddressSanitizer and UndefinedBehaviorSanitizer).
. "$TESTS/lib.sh"
B=$(dirname "$MKHIVE")
for name in metabase hive probe hivelog ntindex undolog mftrec journal imgfmt regfile; do
	bin=$B/replay-$name
	[ -x "$bin" ] || { flunk "$bin is missing"; continue; }
	set -- $(find "$TESTS/fuzz/regress/$name" -type f 2>/dev/null)
	if [ $# -gt 0 ]; then
		check "$name: the $# inputs that once crashed it run clean" "$bin" "$@"
	fi
done
# the fixtures as inputs: hives, metabases, a disk image's first 64 KiB
# (names may hold spaces: "Documents and Settings")
find "$FIXTURES" -type f -size -100k ! -name '*.xml' -print0 >small.lst
check "hive: the $(tr -cd '\0' <small.lst | wc -c) small fixture files run clean" xargs -0 "$B/replay-hive" <small.lst
find "$HIVES/metabase" "$FIXTURES" -name '*.xml' \( -path "$HIVES/*" -o -name MetaBase.xml \) -print0 >mb.lst
check "metabase: the $(tr -cd '\0' <mb.lst | wc -c) fixture metabases run clean" xargs -0 "$B/replay-metabase" <mb.lst
"$HIVES/mkimage" "$B/ntfsput" d.img mbr "$FIXTURES/nowindows"
head -c 65536 d.img >head.img
check "probe: an sfdisk table runs clean" "$B/replay-probe" head.img
# a dirty hive and its log, as the log fuzzer takes them
cp "$FIXTURES/sbs2003/$SYS" a.hiv
printf '[\\ControlSet001\\Services\\SMTPSVC]\n"Later"=dword:00000005\n' >l.reg
"$MKHIVE" -o b.hiv --base a.hiv l.reg
"$B/mklog" a.hiv b.hiv p.hiv p.log
n=$(($(stat -c %s p.hiv) / 64))
{ printf "\\$(printf %03o $((n / 256)))\\$(printf %03o $((n % 256)))"; cat p.hiv p.log; } >seed.bin
check "hivelog: a dirty hive with its log runs clean" "$B/replay-hivelog" seed.bin
# directory indexes as the index fuzzer takes them: sound, and looping
mkdir -p vol/d
for i in $(seq 40); do : >"vol/d/file-$i.txt"; done
"$HIVES/mkimage" "$B/ntfsput" ix.img none vol
"$HIVES/ntfsindex" seed ix.img / root.ix
"$HIVES/ntfsindex" seed ix.img /d dir.ix
"$HIVES/ntfsindex" loop ix.img /d
"$HIVES/ntfsindex" seed ix.img /d loop.ix
check "ntindex: a root index, a grown one and a looping one run clean" "$B/replay-ntindex" root.ix dir.ix loop.ix
# an undo log as a fix killed before its first NTFS update leaves it
"$HIVES/mkimage" "$B/ntfsput" u.img none "$FIXTURES/sbs2003"
NOBOUNCE_STATE_DIR=$PWD/st NOBOUNCE_FAULT=undo-logged:0 "$NOBOUNCE_FAULTS_BIN" fix -q u.img 2>/dev/null
set -- st/*.undo
check "undolog: a fix killed with its undo log written left one ($#: $1)" test -f "$1"
check "undolog: that log runs clean" "$B/replay-undolog" "$@"
# MFT records, as a fixture volume holds them: its first 24 and every one
# ntfsput made
ntfscat -i 0 u.img >mft.bin
split -b 1024 -a 3 mft.bin rec.
set -- rec.*
check "mftrec: the $# records of a fixture's MFT run clean" "$B/replay-mftrec" "$@"
# a fix's journal, and images qemu-img made (tests/fuzz/seeds-formats)
"$TESTS/fuzz/seeds-formats" "$B" seeds
set -- seeds/journal/*
check "journal: a fixture's journal, whole and as the harness builds one ($#), runs clean" "$B/replay-journal" "$@"
set -- seeds/imgfmt/*
check "imgfmt: $# images qemu-img made (qcow2, VMDK, VHD, VHDX) run clean" "$B/replay-imgfmt" "$@"
# the .reg patches of t-reg, and one as regedit saves it (UTF-16LE, BOM, CRLF)
{ printf '\377\376'; sed 's/$/\r/' "$TESTS/reg/basic.reg" | iconv -f UTF-8 -t UTF-16LE; } >utf16.reg
check "regfile: the test patches, UTF-8 and UTF-16LE, run clean" "$B/replay-regfile" "$TESTS"/reg/*.reg utf16.reg
