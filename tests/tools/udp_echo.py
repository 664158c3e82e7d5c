#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""UDP echo server that also records who it saw.

Usage: udp_echo.py ADDR PORT LOGFILE [LIFETIME_S [detail]]

Every datagram is sent back to its sender, and the sender's address and
port ("ip:port", as the server observes them, i.e. after NAT) is appended
to LOGFILE once per new sender; with "detail", every datagram gives a line
"ip:port unix_time payload". Exits by itself after LIFETIME_S seconds
(default 300), so a failed test never leaves it behind.
"""
import socket
import sys
import time

addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
detail = len(sys.argv) > 5 and sys.argv[5] == "detail"
deadline = time.monotonic() + lifetime

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Bursts of thousands of flows at once overflowed the default receive
# buffer (about 270 small datagrams) and counted as unanswered flows: room
# for 8 MiB (FORCE: past rmem_max, as root).
s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
s.bind((addr, port))
seen = set()
with open(log, "a", buffering=1) as f:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        if detail:
            f.write("%s:%d %.3f %s\n" % (peer[0], peer[1], time.time(),
                                         data.decode(errors="replace")))
        elif peer not in seen:
            seen.add(peer)
            f.write("%s:%d\n" % peer)
        s.sendto(data, peer)
