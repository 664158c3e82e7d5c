#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Crafted packets for the conformance suite (scapy).

  craft.py echo SRC DST ID [COUNT]
  craft.py syn SRC SPORT DST DPORT
  craft.py udp SRC SPORT DST DPORT PAYLOAD
  craft.py icmp-err SRC DST TYPE CODE PROTO QSRC QSPORT QDST QDPORT [badsum|badinner|badl4|options]
  craft.py gre SRC DST
  craft.py read PCAP

read prints one JSON object per IPv4 packet of a capture: addresses,
ports or ICMP type, code and id, and for ICMP errors the quoted packet's
addresses and ports. Run the senders with `ip netns exec NS`.
"""
import json
import sys

from scapy.all import GRE, ICMP, IP, IPerror, TCP, TCPerror, UDP, UDPerror, Raw, conf, rdpcap, send

conf.verb = 0


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "echo":
        n = int(a[3]) if len(a) > 3 else 1
        send(IP(src=a[0], dst=a[1]) / ICMP(type=8, id=int(a[2], 0), seq=1) / Raw(b"conformance"),
             count=n)
    elif cmd == "syn":
        send(IP(src=a[0], dst=a[2]) / TCP(sport=int(a[1]), dport=int(a[3]), flags="S", seq=1000))
    elif cmd == "udp":
        send(IP(src=a[0], dst=a[2]) / UDP(sport=int(a[1]), dport=int(a[3])) / Raw(a[4].encode()))
    elif cmd == "icmp-err":
        src, dst, typ, code, proto, qs, qsp, qd, qdp = a[:9]
        flavour = a[9] if len(a) > 9 else ""
        inner = IP(src=qs, dst=qd, options=[b"\x01\x01\x01\x00"] if flavour == "options" else [])
        if proto == "udp":
            inner = inner / UDP(sport=int(qsp), dport=int(qdp)) / Raw(b"q" * 8)
        elif proto == "icmp":
            inner = inner / ICMP(type=8, id=int(qsp), seq=1)
        else:
            inner = inner / TCP(sport=int(qsp), dport=int(qdp), flags="S", seq=1000)
        inner = IP(bytes(inner))        # checksums computed
        if flavour == "badinner":
            inner.chksum ^= 0x1111
        if flavour == "badl4" and UDP in inner:
            inner[UDP].chksum ^= 0x1111     # the quoted transport checksum
        pkt = IP(src=src, dst=dst) / ICMP(type=int(typ), code=int(code)) / Raw(bytes(inner))
        pkt = IP(bytes(pkt))
        if flavour == "badsum":
            pkt[ICMP].chksum ^= 0x5a5a
        send(pkt)
    elif cmd == "gre":
        send(IP(src=a[0], dst=a[1]) / GRE() / IP(src="192.0.2.1", dst="192.0.2.2") / Raw(b"x" * 16))
    elif cmd == "read":
        for p in rdpcap(a[0]):
            if IP not in p:
                continue
            o = {"src": p[IP].src, "dst": p[IP].dst, "proto": p[IP].proto}
            if TCP in p and TCPerror not in p:
                o.update(sport=p[TCP].sport, dport=p[TCP].dport, flags=str(p[TCP].flags))
            elif UDP in p and UDPerror not in p:
                o.update(sport=p[UDP].sport, dport=p[UDP].dport)
            if ICMP in p:
                o.update(type=p[ICMP].type, code=p[ICMP].code, id=p[ICMP].id)
                if IPerror in p:
                    q = p[IPerror]
                    o.update(qsrc=q.src, qdst=q.dst)
                    if UDPerror in p:
                        o.update(qsport=p[UDPerror].sport, qdport=p[UDPerror].dport)
                    if TCPerror in p:
                        o.update(qsport=p[TCPerror].sport, qdport=p[TCPerror].dport)
            print(json.dumps(o), flush=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
