#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Many subscribers at once: FLOWS UDP flows from each of COUNT addresses.

Usage: udp_many.py FIRST_ADDR COUNT FLOWS FIRST_PORT DST PORT [TIMEOUT_S]

Addresses FIRST_ADDR, FIRST_ADDR+1, ... (they must be this host's), each
sending one datagram from ports FIRST_PORT..FIRST_PORT+FLOWS-1 to DST:PORT;
the payload starts with the sender's address (udp_echo.py's detail log
then names who sent what). Prints how many echoes came back.
"""
import ipaddress
import resource
import socket
import sys
import time

first = ipaddress.IPv4Address(sys.argv[1])
count, flows, port0 = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dst, dport = sys.argv[5], int(sys.argv[6])
timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 3.0

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count * flows + 64)), hard))

socks = []
for a in range(count):
    src = str(first + a)
    for f in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, port0 + f))
        s.setblocking(False)
        msg = b"%s flow %d" % (src.encode(), f)
        s.sendto(msg, (dst, dport))
        socks.append((s, msg))
        if len(socks) % 50 == 0:
            time.sleep(0.005)

answered = set()
deadline = time.monotonic() + timeout
while time.monotonic() < deadline and len(answered) < len(socks):
    for i, (s, msg) in enumerate(socks):
        if i in answered:
            continue
        try:
            if s.recv(2048) == msg:
                answered.add(i)
        except BlockingIOError:
            pass
    time.sleep(0.01)
print(len(answered))
