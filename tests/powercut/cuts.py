#!/usr/bin/env python3
"""cuts.py: the disk states a power cut can leave during a recorded run, and
what nobounce makes of each.

  cuts.py BASE LOG FIXED NOBOUNCE [--sector 512|4096] [--sample N] [--seed S]
          [--keep DIR]

BASE is a bare NTFS volume image as it was before the recorded run, LOG the
run's writes and flushes as tests/powercut/record.py wrote them, FIXED the
image a clean fix leaves.  The device model: writes since the last flush
may be lost or land in any order; a sector (512 bytes, or 4096 with
--sector 4096) is written whole or not at all.  For each flush epoch, the
states are: every write before it, plus a subset of the writes after it
(every subset when there are at most 4; else every prefix, every all but
one and seeded random subsets), and each multi-sector write of the epoch
torn (its first sectors only, or all but its first).

Each state, with the host state directory as the cut left it (the undo
logs of NTFS updates), is then given to `nobounce check` (it must not
refuse), to `nobounce fix` (it must leave exactly FIXED's files, a volume
ntfs-3g lists and reads whole, and no undo log), and to `nobounce undo`
(the same, with BASE's files).  Prints one line per state that is
not ok, then: "states N ok N refused N wrong N".  --sample N checks N of the
states, chosen by the seed, the epochs' first and last states always among
them.  Exit 0 when every state checked is ok."""
import argparse
import hashlib
import itertools
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

FILES = ["WINDOWS/system32/config/SYSTEM", "WINDOWS/system32/config/SOFTWARE",
         "WINDOWS/system32/inetsrv/MetaBase.xml"]


def read_log(path):
    """The log's epochs: (writes, state) for each flush and for the writes
    after the last flush; writes are (offset, bytes), state the host state
    directory's files ({name: bytes}) as the flush that ends the epoch found
    them (or the close, for the last)."""
    d = open(path, "rb").read()
    epochs, cur, snap, i = [], [], {}, 0
    while i < len(d):
        c = d[i:i + 1]
        if c == b"F":
            epochs.append((cur, snap))
            cur = []
            i += 1
        elif c == b"W":
            off, n = struct.unpack_from("<QI", d, i + 1)
            cur.append((off, d[i + 13:i + 13 + n]))
            i += 13 + n
        elif c == b"S":
            (count,) = struct.unpack_from("<I", d, i + 1)
            i += 5
            snap = {}
            for _ in range(count):
                (nl,) = struct.unpack_from("<H", d, i)
                name = d[i + 2:i + 2 + nl].decode()
                (dl,) = struct.unpack_from("<I", d, i + 2 + nl)
                snap[name] = d[i + 6 + nl:i + 6 + nl + dl]
                i += 6 + nl + dl
        else:
            sys.exit("cuts.py: %s: not a record at byte %d" % (path, i))
    epochs.append((cur, snap))
    return [e for e in epochs if e[0]]


def states(epochs, sector, rng, nrandom=8):
    """(description, writes before, writes of the epoch to apply, state
    directory) for every state; a write to apply may be torn (its bytes cut
    to some sectors), and an undo log cut short while it was written."""
    done = []
    for k, (ep, snap) in enumerate(epochs):
        m = len(ep)
        subsets = set()
        if m <= 4:
            for r in range(m + 1):
                subsets.update(itertools.combinations(range(m), r))
        else:
            for r in range(m + 1):
                subsets.add(tuple(range(r)))
            for j in range(m):
                subsets.add(tuple(i for i in range(m) if i != j))
            for _ in range(nrandom):
                subsets.add(tuple(i for i in range(m) if rng.random() < 0.5))
        for s in sorted(subsets, key=lambda t: (len(t), t)):
            yield ("epoch %d: writes %s of %d" % (k, list(s), m), done,
                   [ep[i] for i in s], snap)
        for j, (off, data) in enumerate(ep):
            n = len(data) // sector
            if n < 2:
                continue
            half = n // 2
            # the writes before it landed; it landed torn
            first = (off, data[:half * sector])
            rest = (off + sector, data[sector:])
            for what, w in (("its first %d sectors" % half, first),
                            ("all but its first sector", rest)):
                yield ("epoch %d: write %d (%d bytes at %#x) torn: %s" %
                       (k, j, len(data), off, what), done, ep[:j] + [w], snap)
        # an undo log cut short while it was written: no write of the
        # update it was for can have landed, only the epoch's earlier ones
        for name, data in snap.items():
            yield ("epoch %d: the undo log %s cut short" % (k, name), done, [],
                   dict(snap, **{name: data[:len(data) // 2]}))
        done = done + ep


def build(base, out, writes):
    shutil.copyfile(base, out)
    with open(out, "r+b") as f:
        for off, data in writes:
            f.seek(off)
            f.write(data)


def volume_reads(img):
    """Whether ntfs-3g lists the volume and reads every file on it."""
    r = subprocess.run(["ntfsls", "-R", "-F", "-p", "/", "-f", img], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return "ntfsls: " + (r.stderr.strip().splitlines() or ["failed"])[-1]
    # ntfsls -R -F prints each directory as "/path/:" then its names, a
    # directory's with "/" after it
    d, names = "", []
    for line in r.stdout.splitlines():
        if line.endswith(":"):
            d = line[:-1].rstrip("/")
        elif line and not line.endswith("/"):
            names.append(d + "/" + line)
    for n in names:
        r = subprocess.run(["ntfscat", "-f", img, n], capture_output=True)
        if r.returncode != 0:
            return "ntfscat %s: %s" % (n, r.stderr.decode(errors="replace").strip()[-200:])
    return None


def files_of(img):
    out = {}
    for f in FILES:
        r = subprocess.run(["ntfscat", "-f", img, f], capture_output=True)
        out[f] = hashlib.sha256(r.stdout).hexdigest() if r.returncode == 0 else None
    return out


def state_dir(path, snap, img):
    """Makes the state directory a cut left: its undo logs renamed for the
    image they are now beside (a log names the image file's inode)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    ino = "%x" % os.stat(img).st_ino
    for name, data in snap.items():
        name = re.sub(r"-file-[0-9a-f]+\.undo$", "-file-%s.undo" % ino, name)
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


def judge(nobounce, img, work, fixed, orig, snap):
    """None when the state recovers exactly, else ('refused'|'wrong', why)."""
    for cmd, want in (("check", None), ("fix", fixed), ("undo", orig)):
        t = os.path.join(work, cmd + ".img")
        shutil.copyfile(img, t)
        sd = os.path.join(work, cmd + ".state")
        state_dir(sd, snap, t)
        env = dict(os.environ, NOBOUNCE_STATE_DIR=sd)
        r = subprocess.run([nobounce, cmd, "--json", t], capture_output=True, text=True,
                           env=env)
        if r.returncode not in ((0, 1) if cmd == "check" else (0,)):
            return ("refused", "%s exits %d: %s" % (cmd, r.returncode,
                                                     r.stderr.strip()[-300:]))
        if want is None:
            continue
        why = volume_reads(t)
        if why:
            return ("wrong", "after %s, ntfs-3g cannot read the volume: %s" % (cmd, why))
        got = files_of(t)
        bad = [f for f in FILES if got[f] != want[f]]
        if bad:
            return ("wrong", "after %s, %s differ from a clean %s" %
                    (cmd, ", ".join(bad), "fix" if cmd == "fix" else "original"))
        if os.listdir(sd):
            return ("wrong", "after %s, an undo log is left: %s" % (cmd, os.listdir(sd)))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("log")
    ap.add_argument("fixed")
    ap.add_argument("nobounce")
    ap.add_argument("--orig", help="the originals' image (default: BASE)")
    ap.add_argument("--sector", type=int, default=512)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="a directory to copy each failing state into")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    epochs = read_log(a.log)
    all_states = list(states(epochs, a.sector, rng))
    chosen = range(len(all_states))
    if a.sample and a.sample < len(all_states):
        def end(desc):
            m = re.match(r"epoch \d+: writes \[(.*)\] of (\d+)$", desc)
            return m and (m.group(1) == "" or
                          m.group(1) == ", ".join(map(str, range(int(m.group(2))))))
        ends = {i for i, st in enumerate(all_states) if end(st[0])}
        rest = [i for i in range(len(all_states)) if i not in ends]
        chosen = sorted(ends | set(rng.sample(rest, max(0, a.sample - len(ends)))))
    fixed = files_of(a.fixed)
    orig = files_of(a.orig or a.base)
    counts = {"ok": 0, "refused": 0, "wrong": 0}
    with tempfile.TemporaryDirectory() as work:
        img = os.path.join(work, "state.img")
        for i in chosen:
            what, before, now, snap = all_states[i]
            build(a.base, img, before + now)
            r = judge(a.nobounce, img, work, fixed, orig, snap)
            if r is None:
                counts["ok"] += 1
                continue
            counts[r[0]] += 1
            print("%s: state %d (%s): %s" % (r[0], i, what, r[1]))
            if a.keep:
                os.makedirs(a.keep, exist_ok=True)
                shutil.copyfile(img, os.path.join(a.keep, "state-%d.img" % i))
    print("writes %d in %d epochs; states %d, checked %d: ok %d refused %d wrong %d" %
          (sum(len(e[0]) for e in epochs), len(epochs), len(all_states), len(chosen),
           counts["ok"], counts["refused"], counts["wrong"]))
    return 0 if counts["ok"] == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
