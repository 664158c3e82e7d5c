#!/usr/bin/env python3
"""Hostile HTTP clients against ADDR:PORT, bounded in count and time: idle
connections that never send (slowloris), headers that never end, garbage
bytes, oversized headers, a body on a GET, HTTP/0.9, a non-HTTP protocol.
Seeded, so a failure repeats.

Usage: http_abuse.py ADDR PORT [SEED [SECONDS]]
Prints how many of each it made; exits 0 (the judge is the caller, who
asks the server afterwards)."""
import random
import socket
import sys
import time

addr, port = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
secs = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
end = time.monotonic() + secs
held = []
made = {}


def conn():
    s = socket.socket()
    s.settimeout(1)
    s.connect((addr, port))
    return s


def note(kind):
    made[kind] = made.get(kind, 0) + 1


cases = ["idle", "endless-headers", "garbage", "huge-header", "get-with-body",
         "http09", "tls-hello", "bad-method", "nul-in-url"]
i = 0
while time.monotonic() < end and i < 400:
    kind = cases[i % len(cases)]
    i += 1
    try:
        s = conn()
        if kind == "idle":
            held.append(s)
        elif kind == "endless-headers":
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            for _ in range(rng.randint(1, 20)):
                s.sendall(b"X-%d: %s\r\n" % (rng.randint(0, 1 << 30), b"a" * rng.randint(1, 200)))
            held.append(s)
        elif kind == "garbage":
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096))))
            s.close()
        elif kind == "huge-header":
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\n\r\n")
            s.close()
        elif kind == "get-with-body":
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"c" * 1000)
            s.close()
        elif kind == "http09":
            s.sendall(b"GET /metrics\r\n\r\n")
            s.close()
        elif kind == "tls-hello":
            s.sendall(bytes([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01]) + bytes(rng.getrandbits(8) for _ in range(160)))
            s.close()
        elif kind == "bad-method":
            s.sendall(b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
            s.close()
        elif kind == "nul-in-url":
            s.sendall(b"GET /met\x00rics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        note(kind)
    except OSError:
        note(kind + "-refused")
    if len(held) > 40:
        held.pop(0).close()
print(" ".join("%s=%d" % kv for kv in sorted(made.items())))
for s in held:
    s.close()
