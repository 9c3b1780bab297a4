# The house's order: tool/ holds one folder per layer, and each file
# includes only headers of its own folder or of the folders after it:
#   cli -> run -> txn -> fix -> reg -> vol -> disk -> lib
# every include of ours written in full ("disk/blockdev.h"), and no two
# files that depend on each other (tests/layers.py).
. "$TESTS/lib.sh"
python3 "$TESTS/layers.py" "$TOOL" >layers.out 2>&1
rc=$?
check "every include follows the layers' order, nothing depends on itself ($(head -1 layers.out)) $(tail -n +2 layers.out | head -5 | tr '\n' ' ')" test $rc = 0
# the checker itself: what it must catch
mkdir -p fake/lib fake/cli fake/vol
echo '#include "cli/x.h"' >fake/lib/y.h
: >fake/cli/x.h
printf '#include "vol/b.h"\n' >fake/vol/a.h
printf '#include "vol/a.h"\n' >fake/vol/b.h
echo '#include "b.h"' >fake/vol/c.c
: >fake/vol/d_impl.h
echo '#include "vol/d_impl.h"' >fake/cli/e.c
python3 "$TESTS/layers.py" fake >probe.out 2>&1
check "the checker catches an include up the order" grep -q 'up the order, from lib to cli' probe.out
check "the checker catches two files that include each other" grep -q 'a cycle: vol/a -> vol/b -> vol/a' probe.out
check "the checker catches an include not written in full" grep -q 'includes "b.h", which is not written' probe.out
check "the checker catches a door's inside included from another folder" grep -q 'cli/e.c includes "vol/d_impl.h": the inside of a door' probe.out

# docs/design.md's table against the files and their first comments
# (tests/design.py)
python3 "$TESTS/design.py" "$TOOL" "$TESTS/../docs/design.md" >design.out 2>&1
rc=$?
check "design.md lists every file, each opens with a comment naming itself ($(head -1 design.out)) $(tail -n +2 design.out | head -5 | tr '\n' ' ')" test $rc = 0
mkdir -p dfake/vol dfake/lib
printf '/* SPDX-License-Identifier: GPL-2.0-or-later */\n/* vol_dir: x */\n' >dfake/vol/a.c
printf '/* SPDX-License-Identifier: GPL-2.0-or-later */\n/* b: x */\n' >dfake/vol/b.c
printf '/* SPDX-License-Identifier: GPL-2.0-or-later */\n/* c: x */\n' >dfake/lib/c.c
printf '| layer | file | what |\n|---|---|---|\n| `vol/`: v | `tool/vol/a.c`, `gone.c` | x |\n|  | `tool/lib/c.c` | x |\n' >dfake.md
python3 "$TESTS/design.py" dfake dfake.md >dprobe.out 2>&1
check "the design check catches a first comment naming another file" grep -q 'vol/a.c: its first comment names vol_dir, not a' dprobe.out
check "the design check catches a file not in the table" grep -q 'vol/b.c: not in design.md' dprobe.out
check "the design check catches a table naming a file that is gone" grep -q 'design.md names vol/gone.c' dprobe.out
check "the design check catches a file in another folder's rows" grep -q 'lib/c.c is listed in the rows of vol/' dprobe.out
