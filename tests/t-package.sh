# Packaging: make install / uninstall, and a Debian package built from the
# tracked sources alone (dpkg-buildpackage), read by lintian.
. "$TESTS/lib.sh"
top=$(cd "$TESTS/.." && pwd)

# the sources as a clean clone has them
mkdir src
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard | tar -C "$top" --null -T - -cf - | tar -C src -xf -
else
	tar -C "$top" --exclude=./build --exclude=./build-asan --exclude=./build-fuzz \
		-cf - . | tar -C src -xf -
fi
check "the copy has no build output" test ! -e src/build

# plain make builds and installs nothing else
make -C src -s WERROR= >make.out 2>&1
check "plain make builds the program ($(tail -1 make.out))" test -x src/build/nobounce
check "plain make runs no apt-get" sh -c '! grep -q "apt-get\|installing:" make.out'

# make install and uninstall, under DESTDIR
make -C src -s install DESTDIR="$PWD/root" PREFIX=/usr >inst.out 2>&1
for f in usr/bin/nobounce usr/share/man/man1/nobounce.1 usr/share/bash-completion/completions/nobounce; do
	check "make install puts $f" test -f "root/$f"
done
check "the installed program runs" sh -c "root/usr/bin/nobounce --version | grep -q '^nobounce '"
for f in journal.md safety.md nobounce-line.schema.json; do
	check "make install puts the docs the man page names: $f" test -f "root/usr/share/doc/nobounce/$f"
done
# the autopkgtest (debian/tests/demo) against the installed binary
(cd src && NOBOUNCE="$PWD/../root/usr/bin/nobounce" AUTOPKGTEST_TMP="$PWD/../apt" sh debian/tests/demo >../autopkgtest.out 2>&1)
rc=$?
check "the autopkgtest's demo passes against the installed binary (exit $rc): $(tail -1 autopkgtest.out)" test $rc = 0
check "debian/tests/control names the demo" grep -qx 'Tests: demo' src/debian/tests/control
check "the completion is valid bash" bash -n root/usr/share/bash-completion/completions/nobounce
make -C src -s uninstall DESTDIR="$PWD/root" PREFIX=/usr >>inst.out 2>&1
check "make uninstall leaves no file" test -z "$(find root -type f)"

# CPPFLAGS, CFLAGS and LDFLAGS reach the compiler and the linker
make -C src -s clean >/dev/null 2>&1
make -C src -n WERROR= CPPFLAGS=-DMARK_CPP CFLAGS='-O1 -DMARK_C' LDFLAGS=-Wl,-z,now >dry.out 2>&1
check "CPPFLAGS, CFLAGS and LDFLAGS are honoured" sh -c \
	'grep -q -- "-DMARK_CPP" dry.out && grep -q -- "-DMARK_C" dry.out && grep -q -- "-Wl,-z,now" dry.out'
check "WERROR= builds without -Werror" sh -c '! grep -q -- "-Werror" dry.out'

if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	skip "dpkg-buildpackage or debhelper is missing (make deps installs them)"
	exit 0
fi
(cd src && dpkg-buildpackage -us -uc -b >../dpkg.out 2>&1)
rc=$?
check "dpkg-buildpackage -us -uc -b builds (exit $rc): $(tail -1 dpkg.out)" test $rc = 0
deb=$(ls nobounce_*.deb 2>/dev/null | head -1)
check "a .deb is made ($deb)" test -n "$deb"
[ -n "$deb" ] || exit 0
dpkg-deb -c "$deb" >contents.txt
for f in ./usr/bin/nobounce ./usr/share/man/man1/nobounce.1.gz ./usr/share/bash-completion/completions/nobounce ./usr/share/doc/nobounce/copyright; do
	check "the package holds $f" grep -q " $f\$" contents.txt
done
check "the package recommends qemu-utils, and does not depend on it" sh -c "dpkg-deb -f '$deb' Recommends | grep -q qemu-utils && ! dpkg-deb -f '$deb' Depends | grep -q qemu-utils"
check "the package holds the docs the man page names" sh -c "grep -Eq ' ./usr/share/doc/nobounce/journal.md(.gz)?\$' contents.txt && grep -Eq ' ./usr/share/doc/nobounce/nobounce-line.schema.json(.gz)?\$' contents.txt"
check "the build had Debian's hardening flags" sh -c 'grep -q -- "-D_FORTIFY_SOURCE=2" dpkg.out && grep -q -- "-fstack-protector-strong" dpkg.out'
check "the build had no -Werror" sh -c '! grep -Eq -- "-Werror( |$)" dpkg.out'
if command -v lintian >/dev/null; then
	lintian --fail-on error "$deb" >lintian.out 2>&1
	rc=$?
	check "lintian reports no errors (exit $rc): $(grep '^E:' lintian.out | head -3 | tr '\n' ' ')" test $rc = 0
else
	skip "lintian is missing (make deps installs it)"
fi
