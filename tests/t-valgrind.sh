# A subset under valgrind (memcheck): check, fix and undo on a directory and
# on a disk image.  Any invalid read or write, use of uninitialised memory, or
# definite leak fails.  (make asan runs the whole suite under ASan/UBSan.)
. "$TESTS/lib.sh"
if [ -n "${NOBOUNCE_SANITIZED:-}" ]; then
	skip "the binary is built with ASan, which valgrind cannot run (make check runs this)"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	skip "valgrind is not installed"
	exit 0
fi
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite "$NOBOUNCE" "$@" >out 2>vg.err
}
fresh sbs2003 big
vg check big
check "valgrind: check on the SBS volume (exit $?, 1 = work found)" test $? = 1
fresh winnt vol
vg fix vol
check "valgrind: fix on a directory (exit $?)" test $? = 0
vg undo vol
check "valgrind: undo on a directory (exit $?)" test $? = 0
"$HIVES/mkimage" "$(dirname "$MKHIVE")/ntfsput" d.img mbr "$FIXTURES/winnt"
vg fix d.img
rc=$?
check "valgrind: fix on a disk image (exit $rc): $(grep -m1 '==' vg.err)" test $rc = 0
