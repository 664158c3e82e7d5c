#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hold N UDP flows open across something (a reload, a migration).

Usage: udp_hold.py SRC FIRST_PORT N DST PORT GO_FILE [WAIT_S]

Sends one datagram from each source port FIRST_PORT..FIRST_PORT+N-1 to
DST:PORT, prints how many echoes came back, waits (at most WAIT_S, default
120) for GO_FILE to exist, sends again from the same sockets and prints
how many echoes came back then. With udp_echo.py logging each new sender
once, a server that saw exactly N senders saw every flow keep its mapping.
"""
import os
import socket
import sys
import time

src, first, n, dst, port, go = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                sys.argv[4], int(sys.argv[5]), sys.argv[6])
wait = float(sys.argv[7]) if len(sys.argv) > 7 else 120.0

socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, first + i))
    s.setblocking(False)
    socks.append(s)


def round_trip(tag):
    for i, s in enumerate(socks):
        s.sendto(b"%s %d" % (tag, i), (dst, port))
        if i % 50 == 49:
            time.sleep(0.02)	# within the echo server's socket buffer
    answered = set()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and len(answered) < n:
        for i, s in enumerate(socks):
            if i in answered:
                continue
            try:
                if s.recv(2048) == b"%s %d" % (tag, i):
                    answered.add(i)
            except BlockingIOError:
                pass
        time.sleep(0.01)
    return len(answered)


print(round_trip(b"one"), flush=True)
deadline = time.monotonic() + wait
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.05)
print(round_trip(b"two"), flush=True)
