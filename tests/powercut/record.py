# nbdkit python plugin: serves an image file and records, in order, every
# write (its offset and bytes) and every flush, for the power-cut tests.
#
#   nbdkit python tests/powercut/record.py file=IMAGE log=LOG [statedir=DIR]
#
# LOG holds records: b"W" + offset (8 bytes, little-endian) + length (4) +
# the bytes, and b"F" for a flush.  Zeroing is recorded as a write of zeros;
# there is no trim and no FUA, so every write is durable only after a flush.
# With statedir, each flush and the close are preceded by b"S" + a snapshot
# of the host directory where nobounce keeps its undo logs: the file count
# (4 bytes), then per file its name's length (2), name, length (4), bytes.
# A log nobounce made durable before an update's writes and removes after
# the flush that follows them is in the snapshot of that flush.
import builtins
import os
import struct

import nbdkit

API_VERSION = 2
path = None
logpath = None
statedir = None


def config(key, value):
    global path, logpath, statedir
    if key == "file":
        path = value
    elif key == "log":
        logpath = value
    elif key == "statedir":
        statedir = value
    else:
        raise RuntimeError("unknown parameter " + key)


def thread_model():
    return nbdkit.THREAD_MODEL_SERIALIZE_ALL_REQUESTS


def open(readonly):
    return {"fd": os.open(path, os.O_RDONLY if readonly else os.O_RDWR),
            "log": builtins.open(logpath, "ab")}


def snapshot(h):
    if statedir is None:
        return
    names = sorted(os.listdir(statedir)) if os.path.isdir(statedir) else []
    rec = bytearray(b"S" + struct.pack("<I", len(names)))
    for n in names:
        with builtins.open(os.path.join(statedir, n), "rb") as f:
            data = f.read()
        b = n.encode()
        rec += struct.pack("<H", len(b)) + b + struct.pack("<I", len(data)) + data
    h["log"].write(bytes(rec))
    h["log"].flush()


def close(h):
    snapshot(h)
    os.close(h["fd"])
    h["log"].close()


def get_size(h):
    return os.fstat(h["fd"]).st_size


def pread(h, buf, offset, flags):
    buf[:] = os.pread(h["fd"], len(buf), offset)


def record(h, offset, data):
    h["log"].write(b"W" + struct.pack("<QI", offset, len(data)) + data)
    h["log"].flush()


def pwrite(h, buf, offset, flags):
    data = bytes(buf)
    record(h, offset, data)
    os.pwrite(h["fd"], data, offset)


def zero(h, count, offset, flags):
    pwrite(h, bytes(count), offset, 0)


def can_flush(h):
    return True


def flush(h, flags):
    snapshot(h)
    h["log"].write(b"F")
    h["log"].flush()
    os.fsync(h["fd"])
