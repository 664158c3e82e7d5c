#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TCP server that records who connects.

Usage: tcp_peers.py ADDR PORT LOGFILE [LIFETIME_S]

Appends "ip:port" of every connection's peer (as seen, i.e. after NAT) to
LOGFILE, reads what it sends and closes. Exits after LIFETIME_S (30).
"""
import socket
import sys
import time

addr, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + (float(sys.argv[4]) if len(sys.argv) > 4 else 30.0)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
with open(log, "a", buffering=1) as f:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            c, peer = s.accept()
        except socket.timeout:
            break
        f.write("%s:%d\n" % peer)
        c.settimeout(1)
        try:
            c.recv(4096)
        except OSError:
            pass
        c.close()
