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
nb 0 "--version" --version
has "--version names the program" out '^nobounce [0-9]'
nb 3 "a missing target fails" check /nonexistent/volume
has "the error names the target" err '^nobounce: /nonexistent/volume: '
printf 'x' >plainfile
nb 3 "a plain file is not a volume" check plainfile
has "the error says to give a directory" err 'not a directory'
