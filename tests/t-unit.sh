# The unit tests of the pure functions (tests/unit.c), one check each.
. "$TESTS/lib.sh"
bin=$(dirname "$MKHIVE")/unit
[ -x "$bin" ] || { flunk "$bin is missing"; exit 0; }
"$bin" >out.txt 2>err.txt
rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) pass "${line#ok - }" ;;
	"not ok - "*) flunk "${line#not ok - }" ;;
	esac
done <out.txt
[ $rc -eq 0 ] || flunk "unit exited $rc: $(cat err.txt)"
