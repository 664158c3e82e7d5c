#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send one UDP datagram as IPv4 fragments, in the order asked (scapy).

Usage: frag_send.py SRC SPORT DST DPORT PAYLOAD_FILE ORDER [FRAGSIZE]

ORDER: "reverse" (last fragment first), "forward", or "shuffle" (a fixed
permutation, first fragment in the middle). The datagram's id is random.
"""
import random
import sys

from scapy.all import IP, UDP, Raw, conf, fragment, send

src, sport, dst, dport, path, order = sys.argv[1:7]
fragsize = int(sys.argv[7]) if len(sys.argv) > 7 else 1480
conf.verb = 0
with open(path, "rb") as f:
    payload = f.read()
pkt = IP(src=src, dst=dst, id=random.randint(1, 65535)) / UDP(sport=int(sport), dport=int(dport)) / Raw(payload)
frags = fragment(pkt, fragsize=fragsize)
if order == "reverse":
    frags = frags[::-1]
elif order == "shuffle":
    frags = frags[1:] + frags[:1]
    frags = frags[len(frags) // 2:] + frags[:len(frags) // 2]
send(frags)
print("%d fragments sent (%s)" % (len(frags), order))
