#!/usr/bin/env python3
"""layers.py TOOLDIR: checks that tool/ is one folder per layer, each file
including only its own folder's headers or those of the folders after it
(cli -> run -> txn -> fix -> reg -> vol -> disk -> lib), every include of
ours written as FOLDER/FILE, that a door's inside (NAME_impl.h) is included
only in its own folder, and that no two files depend on each other.
Prints the count, then one line per fault; exits 1 on any."""
import os, re, sys
order = ["cli", "run", "txn", "fix", "reg", "vol", "disk", "lib"]
top = sys.argv[1]
bad, files, deps = [], {}, {}
for d in sorted(os.listdir(top)):
    p = os.path.join(top, d)
    if not os.path.isdir(p):
        if d.endswith((".c", ".h")):
            bad.append("%s: a source outside the layer folders" % d)
        continue
    if d not in order:
        bad.append("%s/: not a layer of %s" % (d, " -> ".join(order)))
        continue
    for f in sorted(os.listdir(p)):
        if f.endswith((".c", ".h")):
            files[d + "/" + f] = open(os.path.join(p, f)).read()
for name, text in files.items():
    layer = name.split("/")[0]
    deps[name] = set()
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
        if inc not in files:
            bad.append('%s: includes "%s", which is not written as FOLDER/FILE of tool/' % (name, inc))
            continue
        to = inc.split("/")[0]
        if inc.endswith("_impl.h") and to != layer:
            bad.append('%s includes "%s": the inside of a door of another folder' % (name, inc))
        if order.index(to) < order.index(layer):
            bad.append('%s (%s) includes "%s": up the order, from %s to %s' % (name, layer, inc, layer, to))
        deps[name].add(inc)
# a file depends on another when it or its header includes that one's header
def unit(f):  # a door's inside (X_impl.h) is part of X
    f = f[:-2]
    return f[:-5] if f.endswith("_impl") else f
udeps = {}
for f, ds in deps.items():
    udeps.setdefault(unit(f), set()).update(unit(d) for d in ds if unit(d) != unit(f))
seen, stack = {}, []
def visit(u):
    seen[u] = 1
    stack.append(u)
    for v in sorted(udeps.get(u, ())):
        if seen.get(v) == 1:
            bad.append("a cycle: " + " -> ".join(stack[stack.index(v):] + [v]))
        elif v not in seen:
            visit(v)
    stack.pop()
    seen[u] = 2
for u in sorted(udeps):
    if u not in seen:
        visit(u)
print("%d files in %d layers" % (len(files), len({f.split("/")[0] for f in files})))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
