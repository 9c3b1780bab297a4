# The SYSTEM edit on the SBS 2003 volume: check, fix, fix again, undo.
# (t-com.sh and t-metabase.sh check the SOFTWARE and MetaBase.xml edits.)
. "$TESTS/lib.sh"
fresh sbs2003 vol
treesum vol >pristine
regexport vol/$SYS >before.reg
inode=$(stat -c %i vol/$SYS)

nb 1 "check finds work" check vol
has "check names the product" out 'Microsoft Windows Server 2003 \(5\.2\.3790, Service Pack 2\) in WINDOWS: needs fix'
has "check plans the value in ControlSet001" out 'set-value +ControlSet001\\Services\\SMTPSVC\\XEXCH50\\SuppressExternal = dword:00000001'
has "check plans the missing XEXCH50 key in ControlSet002" out 'create-key +ControlSet002\\Services\\SMTPSVC\\XEXCH50$'
same_tree "check changes nothing" vol pristine

# check opens nothing for writing (strace sees every open)
if command -v strace >/dev/null; then
	strace -f -y -e trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat,truncate,ftruncate \
		-o trace "$NOBOUNCE" check vol >/dev/null 2>&1
	if grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|creat\(|rename|unlink|truncate' trace |
		grep -v -E 'memfd|/proc/self/fd/' | grep -q .; then
		flunk "check opened something for writing: $(grep -E 'O_WRONLY|O_RDWR|O_CREAT' trace | grep -v memfd | head -3)"
	else
		pass "check opens every file of the target read-only (strace)"
	fi
else
	skip "strace missing"
fi

nb 0 "fix succeeds" fix vol
has "fix reports fixed" out 'in WINDOWS: fixed$'
check "hivexget: ControlSet001 SuppressExternal = 1" test "$(hget vol/$SYS '\ControlSet001\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
check "hivexget: ControlSet002 SuppressExternal = 1" test "$(hget vol/$SYS '\ControlSet002\Services\SMTPSVC\XEXCH50' SuppressExternal)" = 1
check "hivexget: Exch50AuthCheckEnabled kept" test "$(hget vol/$SYS '\ControlSet001\Services\SMTPSVC\XEXCH50' Exch50AuthCheckEnabled)" = 1
regexport vol/$SYS >after.reg
diff before.reg after.reg | grep '^[<>]' >delta
cat >delta.want <<'W'
> "SuppressExternal"=dword:00000001
> 
> [\ControlSet002\Services\SMTPSVC\XEXCH50]
> "SuppressExternal"=dword:00000001
W
check "hivexregedit: the export differs by exactly the fix" cmp -s delta delta.want
reged -x vol/$SYS 'HKEY_LOCAL_MACHINE\SYSTEM' '\ControlSet002\Services\SMTPSVC\XEXCH50' reged.reg >/dev/null 2>&1
check "reged reads the new key and value" grep -q '"SuppressExternal"=dword:00000001' reged.reg
J=vol/WINDOWS/nobounce-1.journal
check "the journal's header says run 1, complete" sh -c "head -c 512 $J | sed -n '2,3p' | tr '\n' ' ' | grep -q '^state: complete  *run: 1 $'"
set -- $(sed -n 's/^index: \([0-9]*\) \([0-9]*\) sha256:\([0-9a-f]*\)$/\1 \2 \3/p' $J | head -1)
dd if=$J of=index.json bs=4096 iflag=skip_bytes,count_bytes skip=$1 count=$2 status=none
check "the journal's index matches its checksum" test "$(sha256sum <index.json | cut -d' ' -f1)" = "$3"
check "the journal's index names the three files, with their hashes before and after" sh -c "jq -e --arg b $(sha256sum <"$FIXTURES/sbs2003/$SYS" | cut -d' ' -f1) --arg a $(sha256sum <vol/$SYS | cut -d' ' -f1) '(.files | length) == 3 and .files[0].path == \"$SYS\" and .files[0].sha256_before == \$b and .files[0].sha256_after == \$a' index.json >/dev/null"
check "no full copy without --backup" sh -c '! find vol -name "*.bak" | grep -q .'
cp -a vol byhand
check "the journal applied by hand (dd, truncate) restores the originals" sh -c "cd byhand && '$TESTS/journal-apply' . WINDOWS/nobounce-1.journal"
rm byhand/WINDOWS/nobounce-1.journal
same_tree "the journal applied by hand: every byte as it was" byhand pristine
check "fix kept the inode (rewritten in place)" test "$(stat -c %i vol/$SYS)" = "$inode"
seq=$(od -A n -t u4 -j 4 -N 8 vol/$SYS | tr -s ' ')
check "the written hive is clean (sequence numbers equal: $seq)" sh -c "set -- $seq; test \$1 = \$2"

treesum vol >fixed1
nb 0 "a second fix succeeds" fix vol
has "a second fix finds nothing to do" out 'clean, nothing to change'
same_tree "a second fix changes no byte" vol fixed1
nb 0 "check after fix is clean" check vol

nb 0 "undo succeeds" undo vol
has "undo reports restored" out 'restored'
same_tree "undo restores every file byte for byte and removes the journal" vol pristine
nb 0 "undo with nothing to undo is fine" undo vol
has "undo says there is nothing to undo" out 'nothing to undo'

# JSON: one object per line, with the fields nobounce(1) documents
fresh sbs2003 vol
nb 1 "check --json" check --json vol
check "check --json prints one line" test "$(wc -l <out)" = 1
jqok "JSON fields: target status windows changes error" '
	.target == "vol" and .status == "needs-fix" and .error == null and
	.windows.systemroot == "WINDOWS" and .windows.product == "Microsoft Windows Server 2003" and
	.windows.version == "5.2" and .windows.build == "3790" and .windows.service_pack == "Service Pack 2" and
	([.changes[] | select(.file == "WINDOWS/system32/config/SYSTEM")] | length) == 3 and
	.changes[0].file == "WINDOWS/system32/config/SYSTEM" and .changes[0].action == "set-value" and
	.changes[0].key == "ControlSet001\\Services\\SMTPSVC\\XEXCH50" and .changes[0].value == "SuppressExternal" and
	.changes[0].old == null and .changes[0].new == "dword:00000001"' out
nb 0 "fix --json" fix --json vol
jqok "fix --json says fixed, run 1" '.status == "fixed" and .run == 1 and .journal == "WINDOWS/nobounce-1.journal"' out
nb 0 "undo --json" undo --json vol
jqok "undo --json says restored with the file" '.status == "restored" and .changes[0].action == "restore-file" and .changes[0].file == "WINDOWS/system32/config/SYSTEM"' out
nb 0 "-q prints nothing on success" fix -q vol
check "-q output is empty" test ! -s out
nb 0 "-v shows the steps" undo -v vol
has "-v names each write" err 'writing WINDOWS/system32/config/SYSTEM at 0 '
"$NOBOUNCE" fix -q vol
nb 0 "fix, then commit" commit vol
has "commit says the fix stays" out 'dropped the journal of run\(s\) 1: the fix stays'
check "commit leaves no nobounce file" sh -c '! find vol -name "*nobounce*" | grep -q .'
nb 0 "after commit, undo has nothing to undo" undo vol
has "after commit, undo says so" out 'nothing to undo'
nb 0 "after commit, check is clean" check vol

# several targets in one run: worst exit code wins
fresh sbs2003 a
fresh noexchange b
nb 1 "check of two targets: 1 when one needs work" check a b
nb 3 "a failing target makes the run fail, the others still run" check a /nonexistent b
has "the good targets are still reported" out '^b: .*not applicable'

# A directory target relies on the host file system's fsync: fix's writes
# reach it in the journal's order (docs/safety.md), seen by strace: the
# journal and its directory synced before the journal says "applying", that
# synced before the first write to a file, and every file synced before the
# journal says "complete".
if command -v strace >/dev/null; then
	fresh sbs2003 vol
	strace -f -y -e trace=pwrite64,write,ftruncate,fsync,fdatasync -o wtrace "$NOBOUNCE" fix -q vol
	order=$(awk '
		/memfd:/ { next }
		/(pwrite64|write|ftruncate)\(/ && /nobounce-[0-9]+\.journal>/ { jw++; if (jw == 2) ja = NR; jlast = NR; next }
		/fsync\(/ && /nobounce-[0-9]+\.journal>/ { if (!jf) jf = NR; if (ja && !jaf) jaf = NR; next }
		/fsync\(/ && /\/WINDOWS>\)/ { if (jf && !jd) jd = NR; next }
		/(pwrite64|write|ftruncate)\(/ && /(SYSTEM|SOFTWARE|MetaBase\.xml)>/ {
			if (!fw) fw = NR; match($0, /[A-Za-z.]+>/); f = substr($0, RSTART, RLENGTH); last[f] = NR; next }
		/fsync\(/ && /(SYSTEM|SOFTWARE|MetaBase\.xml)>/ { match($0, /[A-Za-z.]+>/); synced[substr($0, RSTART, RLENGTH)] = NR }
		END {
			ok = jf && jd > jf && ja > jd && jaf > ja && fw > jaf
			for (f in last) { n++; if (!(synced[f] > last[f] && synced[f] < jlast)) ok = 0 }
			print (ok && n == 3) ? "in order" : "out of order: journal synced " jf ", its directory " jd ", applying " ja "/" jaf ", first file write " fw ", complete " jlast
		}' wtrace)
	check "directory target: journal, its directory, applying, the files, their syncs, complete ($order)" test "$order" = "in order"
fi

# A primary file may hold padding or remnant data of any length after its
# last hive bin (the format specification): the fix plans on the bins and
# leaves those bytes as they are where the bins do not grow into them;
# libregf and hivexregedit read the result.  9,000 bytes: the fix's new bin
# takes 4 KiB of them; 1,234 bytes: it takes them all.
for extra in 9000 1234; do
	fresh sbs2003 pad
	SYSP=pad/$SYS
	head -c $extra /dev/urandom >>$SYSP
	cp $SYSP pad.orig
	pd="$extra bytes after the last bin"
	nb 1 "$pd: check finds the work" check pad
	nb 0 "$pd: fix" fix pad
	new_end=$((4096 + $(od -A n -t u4 -j 40 -N 4 $SYSP)))
	want=$(stat -c %s pad.orig)
	[ $new_end -gt $want ] && want=$new_end
	check "$pd: the file is $want bytes (the new bins end at $new_end)" test "$(stat -c %s $SYSP)" = $want
	if [ $new_end -lt "$(stat -c %s pad.orig)" ]; then
		tail -c +$((new_end + 1)) pad.orig >tail.want
		check "$pd: the $(wc -c <tail.want) bytes past the new bins are as they were" \
			sh -c "tail -c +$((new_end + 1)) $SYSP | cmp -s - tail.want"
	fi
	check "$pd: hivexget reads SuppressExternal" test "$(hivexget $SYSP '\ControlSet001\Services\SMTPSVC\XEXCH50' SuppressExternal 2>&1)" = 1
	check "$pd: libregf reads the fixed hive" sh -c "'$TESTS/regf-keys' $SYSP '\\ControlSet001\\Services\\SMTPSVC\\XEXCH50' | grep -q 'SuppressExternal	4	01000000'"
	nb 0 "$pd: a second fix finds nothing" fix pad
	has "$pd: clean" out 'clean, nothing to change'
	nb 0 "$pd: undo" undo pad
	check "$pd: undo restores the file byte for byte" cmp -s $SYSP pad.orig
done
