#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Receive one UDP datagram and write its payload to a file.

Usage: udp_recv.py ADDR PORT OUTFILE [TIMEOUT_S [HELLO_DST:PORT]]

With HELLO, first send "hello" from ADDR:PORT to HELLO_DST:PORT (to open a
mapping through a NAT), then wait. Exits 1 on timeout.
"""
import socket
import sys

addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
s.settimeout(timeout)
if len(sys.argv) > 5:
    h, p = sys.argv[5].rsplit(":", 1)
    s.sendto(b"hello", (h, int(p)))
try:
    while True:
        data, _ = s.recvfrom(65535)
        if data != b"hello":
            break
except socket.timeout:
    sys.exit(1)
with open(out, "wb") as f:
    f.write(data)
