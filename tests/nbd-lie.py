# An nbdkit python plugin: a disk that acknowledges every write and drops
# the ones that hold a marker (the UTF-16LE text of PEEXCH50's registration),
# as a failing disk or a lying cache would.  nobounce's read-back after the
# sync must find it.  nbdkit python tests/nbd-lie.py file=IMAGE
import os

import nbdkit

API_VERSION = 2
path = None
MARKERS = ["peexch50".encode("utf-16-le"), "XExch50".encode("utf-16-le")]


def config(key, value):
    global path
    if key == "file":
        path = value
    else:
        raise RuntimeError("unknown parameter " + key)


def open(readonly):
    return os.open(path, os.O_RDONLY if readonly else os.O_RDWR)


def get_size(h):
    return os.fstat(h).st_size


def can_flush(h):
    return True


def pread(h, buf, offset, flags):
    buf[:] = os.pread(h, len(buf), offset)


def pwrite(h, buf, offset, flags):
    data = bytes(buf)
    if any(m in data for m in MARKERS):
        nbdkit.debug("dropped a write of %d bytes at %d" % (len(data), offset))
        return
    os.pwrite(h, data, offset)


def flush(h, flags):
    os.fsync(h)


def close(h):
    os.close(h)
