# nbdkit python plugin: serves an image file and records, in order, every
# write (its offset and bytes) and every flush, for the power-cut tests.
#
#   nbdkit python tests/powercut/record.py file=IMAGE log=LOG
#
# LOG holds records: b"W" + offset (8 bytes, little-endian) + length (4) +
# the bytes, and b"F" for a flush.  Zeroing is recorded as a write of zeros;
# there is no trim and no FUA, so every write is durable only after a flush.
import builtins
import os
import struct

import nbdkit

API_VERSION = 2
path = None
logpath = None


def config(key, value):
    global path, logpath
    if key == "file":
        path = value
    elif key == "log":
        logpath = value
    else:
        raise RuntimeError("unknown parameter " + key)


def thread_model():
    return nbdkit.THREAD_MODEL_SERIALIZE_ALL_REQUESTS


def open(readonly):
    return {"fd": os.open(path, os.O_RDONLY if readonly else os.O_RDWR),
            "log": builtins.open(logpath, "ab")}


def close(h):
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
    h["log"].write(b"F")
    h["log"].flush()
    os.fsync(h["fd"])
