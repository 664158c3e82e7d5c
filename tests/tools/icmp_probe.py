#!/usr/bin/python3
"""Send two probes to a public endpoint from the internet side and report
the ICMP errors that come back, one line each:

    ttl|big TYPE/CODE [mtu N] from SRC quotes QSRC:QSPORT -> QDST:QDPORT csum ok|bad

A TTL=1 datagram (the NAT host answers time exceeded) and a DF datagram of
1400 bytes (too big for a narrower inside link: fragmentation needed).
"csum ok" means the ICMP checksum and the quoted IPv4 header checksum
verify. Usage: icmp_probe.py SERVER PUBLIC_ADDR PUBLIC_PORT SERVER_PORT
"""
import subprocess
import sys
import time

from scapy.all import ICMP, IP, UDP, AsyncSniffer, Raw, conf, raw, send
from scapy.utils import checksum

conf.verb = 0
server, paddr, pport, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

# On the device towards the pool: scapy's default is the default route's,
# and a namespace may have none.
route = subprocess.check_output(["ip", "-o", "route", "get", paddr], text=True).split()
iface = route[route.index("dev") + 1]
sn = AsyncSniffer(iface=iface, filter="icmp and dst host %s" % server, store=True)
sn.start()
time.sleep(0.5)
send(IP(src=server, dst=paddr, ttl=1) / UDP(sport=sport, dport=pport) / Raw(b"ttl1"))
send(IP(src=server, dst=paddr, flags="DF") / UDP(sport=sport, dport=pport) / Raw(b"x" * 1400))
time.sleep(2)
for p in sn.stop():
    if not p.haslayer(ICMP) or p[ICMP].type not in (3, 11):
        continue
    icmp_bytes = raw(p[ICMP])[: p[IP].len - p[IP].ihl * 4]
    q = IP(raw(p[ICMP])[8:])
    qhdr = raw(q)[: q.ihl * 4]
    ok = checksum(icmp_bytes) == 0 and checksum(qhdr) == 0
    qsport = qdport = 0
    if q.proto == 17 and len(raw(q)) >= q.ihl * 4 + 4:
        qsport, qdport = q[UDP].sport, q[UDP].dport
    kind = "ttl" if p[ICMP].type == 11 else "big"
    mtu = " mtu %d" % p[ICMP].nexthopmtu if p[ICMP].type == 3 and p[ICMP].code == 4 else ""
    print("%s %d/%d%s from %s quotes %s:%d -> %s:%d csum %s" % (
        kind, p[ICMP].type, p[ICMP].code, mtu, p[IP].src, q.src, qsport, q.dst, qdport,
        "ok" if ok else "bad"))
