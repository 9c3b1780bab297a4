# Command line: usage errors, help, version.
. "$TESTS/lib.sh"
nb 2 "no arguments is a usage error"
nb 2 "an unknown command is a usage error" frobnicate x
nb 2 "a command without a target is a usage error" check
nb 2 "--force goes only with undo" fix --force x
nb 2 "an unknown option is a usage error" check --bogus x
nb 2 "-v with -q is a usage error" check -v -q x
nb 0 "--help" --help
has "--help shows the synopsis" out 'usage: nobounce check'
has "--help warns about public-folder replication" out 'public-folder replication'
has "--help lists every exit status" out '0 done.*1 check.*2 usage' 
nb 0 "--version" --version
has "--version names the program" out '^nobounce [0-9]'
nb 3 "a missing target fails" check /nonexistent/volume
has "the error names the target" err '^nobounce: /nonexistent/volume: '
printf 'x' >plainfile
nb 3 "a plain file is not a volume" check plainfile
has "the error says it is not a disk image" err "not a disk image"

# The man page documents every option --help shows, and every exit status.
man1=$TESTS/../docs/nobounce.1
"$NOBOUNCE" --help >help
for opt in $(grep -oE -- '--[a-z][a-z-]*[a-z]' help | sort -u); do
	esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	check "nobounce.1 documents $opt" grep -q -- "$esc" "$man1"
done
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
