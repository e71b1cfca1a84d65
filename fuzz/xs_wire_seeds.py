#!/usr/bin/env python3
"""Write the ops-mode seeds of fuzz_xs_wire (fuzz/corpus/fuzz_xs_wire/ops-*).

The layout is in the header comment of fuzz/fuzz_xs_wire.c: a set-up byte
(>= 0x20), then ops: an op byte (kind | conn << 5 | 0x80 for "in a
transaction", then a slot byte) and its arguments. Each seed is harmless:
it runs clean on the unpatched store and holds no planted bug's trigger
except where its name says so (ops-release releases a guest).
"""
import os
import sys

(READ, WRITE, MKDIR, RM, DIRECTORY, GET_PERMS, SET_PERMS, WATCH, UNWATCH, TX_START,
 TX_END, INTRODUCE, RELEASE, RESET_WATCHES, DIRECTORY_PART, DOMAIN, SET_TARGET,
 CONTROL, BULK, RECONNECT, RAW) = range(21)
BASES = {"": 0, "/a": 1, "/a/b": 2, "/local/domain/0": 3, "/local/domain/1": 4,
         "/local/domain/2": 5, "/tool": 6, "rel": 7}
SUFFIXES = {"": 0, "/x": 1, "/y": 2, "/z": 3, "/x/y": 4, "/x/z": 5}
CFG = 0x20          # homes, guests introduced, small quotas
DEFAULT = 0x01      # FZX_CFG_DEFAULT_QUOTAS


def op(kind, conn=0, tx=None):
    return bytes([kind | conn << 5 | (0x80 if tx is not None else 0)] +
                 ([tx] if tx is not None else []))


def path(base, suffix=""):
    return bytes([BASES[base] | SUFFIXES[suffix] << 3])


def perm(letter, domid):
    return bytes(["nrwb".index(letter) | domid << 2])


SEEDS = {
    "ops-basic": bytes([CFG | DEFAULT]) + op(WRITE) + path("/a") + bytes([2]) + b"hi" + op(READ) +
    path("/a") + op(DIRECTORY) + path("") + op(GET_PERMS) + path("/a") + op(WRITE, 2) +
    path("rel", "/x") + bytes([1]) + b"v" + op(READ, 2) + path("/a") + op(DIRECTORY_PART) +
    path("/local/domain/1") + bytes([0]),
    # conn 0 writes /a/x in a transaction (started by the op), conn 1 writes
    # /a/y meanwhile: the commit at the end of the input conflicts (EAGAIN)
    "ops-tx": bytes([CFG]) + op(MKDIR) + path("/a") + op(WRITE, 0, 0) +
    path("/a", "/x") + bytes([0]) + op(WRITE, 1) + path("/a", "/y") + bytes([0]) +
    op(TX_START, 2) + op(WRITE, 2, 0) + path("/local/domain/1", "/x") + bytes([0]) +
    op(TX_END, 2, 0) + bytes([0]),
    "ops-watch": bytes([CFG]) + op(WATCH, 2) + path("/local/domain/1") + bytes([0]) +
    op(WRITE) + path("/local/domain/1", "/x") + bytes([0]) + op(WATCH, 3) + path("/tool") +
    bytes([1]) + op(WRITE) + path("/tool", "/x") + bytes([0]) + op(UNWATCH, 3) +
    path("/tool") + bytes([1]) + op(RESET_WATCHES, 2),
    "ops-perms": bytes([CFG]) + op(WRITE) + path("/a", "/x") + bytes([0]) + op(SET_PERMS) +
    path("/a", "/x") + bytes([1]) + perm("n", 0) + perm("r", 1) + op(READ, 2) +
    path("/a", "/x") + op(WRITE, 2) + path("/a", "/x") + bytes([0]) + op(READ, 3) +
    path("/a", "/x") + op(SET_TARGET) + bytes([2 | 1 << 2]),
    "ops-quota": bytes([CFG]) + op(BULK, 2) + path("/local/domain/1") + bytes([2]) +
    op(WATCH, 2) + path("rel", "/x") + bytes([0]) + op(WATCH, 2) + path("rel", "/y") +
    bytes([0]) + op(CONTROL) + bytes([1, 0]) + op(CONTROL) + bytes([2 | 1 << 2, 6]),
    "ops-release": bytes([CFG]) + op(WRITE, 3) + path("/local/domain/2", "/x") + bytes([0]) +
    op(RELEASE) + bytes([2]) + op(READ, 3) + path("/local/domain/2") + op(RECONNECT, 3) +
    op(INTRODUCE) + bytes([2]) + op(DOMAIN) + bytes([4 | 2]),
    "ops-raw": bytes([CFG]) + op(RAW) + bytes([0x0f, 3]) + b"x\0y" + op(RAW, 2) +
    bytes([XS_READ := 2, 2]) + b"/\0",
}

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/fuzz_xs_wire"
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
