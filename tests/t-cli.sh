# Command line: usage errors, help, version.
. "$TESTS/lib.sh"
nb 2 "no arguments is a usage error"
nb 2 "an unknown command is a usage error" frobnicate x
nb 2 "a command without a target is a usage error" check
nb 2 "--force goes only with undo" fix --force x
nb 2 "an unknown option is a usage error" check --bogus x
nb 2 "-v with -q is a usage error" check -v -q x
# a usage error is one line, and where to look; not the whole help
for args in "" "frobnicate x" "check" "check --bogus x" "check -j 1.5 x" "check --timeout nan x" "fix --force x"; do
	# shellcheck disable=SC2086
	"$NOBOUNCE" $args >out 2>err
	rc=$?
	check "usage error '$args': exit 2, one line and 'Try nobounce --help' ($(wc -l <err) lines)" \
		sh -c "[ $rc = 2 ] && [ \$(wc -l <err) -le 2 ] && grep -q \"^Try 'nobounce --help'\" err && [ ! -s out ]"
done
nb 2 "-j 1.5 is refused" check -j 1.5 x
has "-j 1.5: says a whole number" err "-j takes a whole number from 1 to 256, not '1.5'"
nb 2 "--timeout nan is refused" check --timeout nan x
nb 2 "--timeout inf is refused" check --timeout inf x
mkdir adir
nb 2 "--from a directory is refused" check --from adir
has "--from a directory: says so" err "--from adir: is a directory"
nb 2 "--format junk is refused" check --format junk x
has "--format: the choices include auto" err "auto raw qcow2"
nb 0 "--help" --help
has "--help shows the synopsis" out 'usage: nobounce check'
has "--help warns about public-folder replication" out 'public-folder replication'
has "--help lists every exit status" out '0 done.*1 check.*2 usage' 
nb 0 "--version" --version
has "--version names the program" out '^nobounce [0-9]'
has "--version names the libraries it was built with" out '^built with hivex [0-9.]+, libxml-2.0 [0-9.]+, libntfs-3g [0-9.]+, libnbd [0-9.]+, jansson [0-9.]+, nettle [0-9.]+'
nb 3 "a missing target fails" check /nonexistent/volume
has "the error names the target" err '^nobounce: /nonexistent/volume: '
printf 'x' >plainfile
nb 3 "a plain file is not a volume" check --json plainfile
has "the error says it is not a disk image, and what to give" err "not a disk image. Give a disk image, a partition image, a block device or a mounted volume's directory"
head -c 2000000 /dev/urandom >random.img
nb 3 "2 MB of random bytes: exit 3" check random.img
has "2 MB of random bytes: says what to give" err "random.img: no NTFS file system on it \(read as raw\).*Give the whole disk image or device, or the root directory of the mounted system volume.*--format"
fresh sbs2003 vol
nb 3 "the WINDOWS folder given: exit 3" check vol/WINDOWS
has "the WINDOWS folder given: named as such" err "this looks like the WINDOWS folder itself. Give the root directory"
nb 3 "the config folder given: exit 3" check vol/WINDOWS/system32/config
has "the config folder given: named as such" err "this looks like the system32/config folder"
nb 3 "a hive file given: exit 3" check vol/$SYS
has "a hive file given: named as such" err "this is a registry hive, not a disk or volume.*nobounce recover"
nb 1 "--format auto detects, as without it" check --format auto --json vol
nb 1 "the same target twice (dir and dir/): run once" check --json vol vol/
check "the same target twice: reported once" test "$(wc -l <out)" = 1
has "the same target twice: said so" err "vol/ is vol again; it is run once"
nb 0 "undo of a volume never fixed" undo --json vol
jqok "undo of a volume never fixed: its own status" '.status == "nothing-to-undo"' out
nb 0 "undo of a volume never fixed, as text" undo vol
has "undo of a volume never fixed: says nothing to undo" out 'nothing to undo$'

# permission denied names the file and the user
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 . # the test's own directory: nobody may pass through
	fresh sbs2003 priv
	chmod 700 priv
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOBOUNCE" check priv >out 2>err
	rc=$?
	check "permission denied: exit 3 ($rc)" test $rc = 3
	has "permission denied: names the user" err "priv: permission denied: user nobody \(uid [0-9]+\) may not open this directory"
	head -c 1048576 /dev/zero >priv.img
	chmod 600 priv.img
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$NOBOUNCE" check priv.img >out 2>err
	has "permission denied on an image: names the user, the owner and the mode" err "priv.img: permission denied: user nobody \(uid [0-9]+\) may not read it \(owner uid 0, mode 0600\)"
else
	skip "permission tests need root and setpriv"
fi

# recover is for hives: anything else is said to be no hive
printf 'root:x:0:0::/root:/bin/sh\n' >passwd
: >empty
for f in passwd empty random.img; do
	nb 3 "recover $f: not a hive, exit 3" recover --json $f
	jqok "recover $f: error not-a-hive" '.status == "error" and .error.kind == "not-a-hive"' out
done
cp vol/$SYS clean.hiv
nb 0 "recover of a clean hive with -o" recover clean.hiv -o copy.hiv
check "recover of a clean hive with -o: OUT is a copy" cmp -s clean.hiv copy.hiv
has "recover of a clean hive with -o: says so" out "copied to copy.hiv as it is"

# One option table: --help, the man page and the bash completion all say
# what the binary takes (--long-options, --short-options), and no more.
man1=$TESTS/../docs/nobounce.1
"$NOBOUNCE" --help >help
"$NOBOUNCE" --long-options | sort >long
"$NOBOUNCE" --short-options | sort >short
check "--long-options lists the options ($(wc -l <long))" test "$(wc -l <long)" -ge 15
for opt in $(cat long short); do
	esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	check "nobounce.1 documents $opt" grep -q -- "$esc" "$man1"
	check "--help shows $opt" grep -qE -- "(^|[ ,])$opt([ ,]|$)" help
done
grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' help | sort -u >help.long
check "--help shows no option the binary does not take: $(comm -23 help.long long | tr '\n' ' ')" test -z "$(comm -23 help.long long)"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$man1" | grep -oE '\\-\\-[a-z](\\-|[a-z0-9])*[a-z0-9]' | sed 's/\\-/-/g' | sort -u >man.long
check "nobounce.1's OPTIONS names no option the binary does not take: $(comm -23 man.long long | tr '\n' ' ')" test -z "$(comm -23 man.long long)"
for c in check fix undo commit recover; do
	"$NOBOUNCE" $c --long-options >$c.long
	check "$c --long-options: only options $c takes ($(wc -l <$c.long))" sh -c "[ -s $c.long ] && [ -z \"\$(sort $c.long | comm -23 - long)\" ]"
done
check "recover's options are not fix's" sh -c '! grep -qx -- --backup recover.long && grep -qx -- --output recover.long'
# the completion asks the binary: simulated with bash-completion's two
# helpers replaced by plain ones, it offers exactly what fix --long-options says
if command -v bash >/dev/null; then
	cat >comp.sh <<'EOS'
_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
_filedir() { :; }
complete() { :; }
. "$1"
COMP_WORDS=(nobounce fix --); COMP_CWORD=2
_nobounce "$2" --
printf '%s\n' "${COMPREPLY[@]}" | sort
EOS
	bash comp.sh "$TOOL/cli/nobounce.bash" "$NOBOUNCE" >comp.out 2>comp.err
	"$NOBOUNCE" fix --long-options | sort >fix.sorted
	check "the bash completion offers fix's options from the binary ($(wc -l <comp.out))" cmp -s comp.out fix.sorted
	check "the bash completion lists no option itself" sh -c '! grep -E "(^|[ \"])--(json|backup|force)" "$0"' "$TOOL/cli/nobounce.bash"
fi
for code in 0 1 2 3 4; do
	check "nobounce.1 documents exit status $code" grep -qx ".B $code" "$man1"
done
if command -v groff >/dev/null; then
	groff -man -ww -z "$man1" 2>groff.err
	check "groff renders nobounce.1 without warnings" test ! -s groff.err
fi

# make install honours DESTDIR and PREFIX
make -s -C "$TESTS/.." install DESTDIR="$PWD/inst" PREFIX=/opt/nb >install.log 2>&1
check "make install puts the binary under DESTDIR/PREFIX" test -x inst/opt/nb/bin/nobounce
check "make install puts the man page under DESTDIR/PREFIX" test -f inst/opt/nb/share/man/man1/nobounce.1

# -x: a trace of what nobounce asks of its libraries
fresh sbs2003 xv
nb 1 "-x check" -x check xv
has "-x: each volume operation" err 'nobounce: trace: xv: vol read WINDOWS/system32/config/SYSTEM'
nb 1 "without -x: no trace" check xv
check "without -x: no trace" sh -c '! grep -q "trace:\|^hivex:" err'
# check reads hives in place; fix opens hivex to make the change
nb 0 "-x fix" -x fix xv
has "-x: hivex's verbose mode" err '^hivex: hivex_open'
