#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Open N UDP flows from one source address, one per source port.

Usage: udp_flows.py SRC FIRST_PORT N DST PORT [TIMEOUT_S]

Sends one datagram from each source port FIRST_PORT..FIRST_PORT+N-1 to
DST:PORT and prints how many flows got their echo back.
"""
import socket
import sys
import time

src, first, n, dst, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 3.0

socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, first + i))
    s.setblocking(False)
    s.sendto(b"%s flow %d" % (src.encode(), i), (dst, port))
    socks.append(s)

answered = set()
deadline = time.monotonic() + timeout
while time.monotonic() < deadline and len(answered) < n:
    for i, s in enumerate(socks):
        if i in answered:
            continue
        try:
            data = s.recv(2048)
        except BlockingIOError:
            continue
        if data == b"%s flow %d" % (src.encode(), i):
            answered.add(i)
    time.sleep(0.01)
print(len(answered))
