#!/usr/bin/env python3
"""design.py TOOLDIR DESIGN_MD: checks docs/design.md's table of files
against tool/: every source file opens with a comment that starts with its
own name ("/* vol_dir: ..."), every .c file and every header without a .c
of its own is in the table, in the rows of its own folder, and the table
names no file that does not exist.  Prints the count, then one line per
fault; exits 1 on any."""
import os, re, sys
top, design = sys.argv[1], sys.argv[2]
bad = []
files = {}
for d in sorted(os.listdir(top)):
    p = os.path.join(top, d)
    if os.path.isdir(p):
        for f in sorted(os.listdir(p)):
            if f.endswith((".c", ".h")):
                files[d + "/" + f] = open(os.path.join(p, f)).read()
for name, text in files.items():
    base = os.path.basename(name)[:-2]
    m = re.match(r"/\* SPDX-License-Identifier: [^\n]*\*/\n/\* ([a-z0-9_]+):", text)
    if not m:
        bad.append("%s: does not open with a comment that starts '/* %s:'" % (name, base))
    elif m.group(1) != base:
        bad.append("%s: its first comment names %s, not %s" % (name, m.group(1), base))
# the table: | `layer/`: ... | `tool/layer/file.c`, `other.h` | ... |
listed = {}
layer = None
for line in open(design):
    cells = [c.strip() for c in line.split("|")]
    if len(cells) < 4 or not cells[2].startswith("`tool/"):
        continue
    m = re.match(r"`([a-z]+)/`", cells[1])
    if m:
        layer = m.group(1)
    names = re.findall(r"`([^`]+)`", cells[2])
    folder = names[0].split("/")[1]
    for n in names:
        n = n[len("tool/"):] if n.startswith("tool/") else folder + "/" + n
        if n.split("/")[0] != layer:
            bad.append("design.md: %s is listed in the rows of %s/" % (n, layer))
        listed[n] = True
for n in listed:
    if n not in files:
        bad.append("design.md names %s, which is not in tool/" % n)
for name in files:
    if name.endswith(".c") or (name[:-2] + ".c") not in files:
        if name not in listed and not (name.endswith(".h") and name[:-2] + ".c" in listed):
            bad.append("%s: not in design.md's table" % name)
print("%d files, %d in design.md's table" % (len(files), len(listed)))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
