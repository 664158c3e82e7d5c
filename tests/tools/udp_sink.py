#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Receive UDP datagrams on ADDR:PORT and append each, as it came, to
OUTFILE (IPFIX messages one after another make an IPFIX file that
ipfixDump reads), until STOPFILE exists or SECONDS pass.

Usage: udp_sink.py ADDR PORT OUTFILE STOPFILE [SECONDS]"""
import os
import socket
import sys
import time

addr, port, out, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
secs = float(sys.argv[5]) if len(sys.argv) > 5 else 120
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((addr, port))
s.settimeout(0.2)
end = time.monotonic() + secs
n = 0
with open(out, "wb") as f:
    while time.monotonic() < end and not os.path.exists(stop):
        try:
            d = s.recv(65535)
        except socket.timeout:
            continue
        f.write(d)
        f.flush()
        n += 1
print(n)
