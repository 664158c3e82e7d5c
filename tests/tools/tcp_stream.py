#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP transfer checked byte for byte, paced to last a while.

Usage: tcp_stream.py recv ADDR PORT OUTFILE [LIFETIME_S]
       tcp_stream.py send SRC DST PORT MBYTES SECONDS

The sender sends MBYTES of a deterministic stream spread over SECONDS and
prints its SHA-256; the receiver takes one connection and writes the SHA-256
of what it got and the byte count to OUTFILE. Both give up after their
bound, so a failed test leaves nothing behind.
"""
import hashlib
import socket
import sys
import time

CHUNK = 65536


def chunk(i):
    return hashlib.sha256(b"%d" % i).digest() * (CHUNK // 32)


if sys.argv[1] == "recv":
    addr, port, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    life = float(sys.argv[5]) if len(sys.argv) > 5 else 120
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(life)
    c, _ = ls.accept()
    c.settimeout(life)
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    with open(out, "w") as f:
        f.write("%s %d\n" % (h.hexdigest(), n))
else:
    src, dst, port, mb, secs = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    s = socket.create_connection((dst, port), timeout=30, source_address=(src, 0))
    n = mb * (1 << 20) // CHUNK
    h = hashlib.sha256()
    t0 = time.monotonic()
    for i in range(n):
        d = chunk(i)
        s.sendall(d)
        h.update(d)
        ahead = t0 + secs * (i + 1) / n - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    s.close()
    print("%s %d" % (h.hexdigest(), n * CHUNK))
