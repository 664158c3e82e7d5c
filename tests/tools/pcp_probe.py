#!/usr/bin/python3
"""One PCP (RFC 6887) request built by hand with scapy, sent from any source
(spoofed ones too), and its answer printed as JSON.

  pcp_probe.py IFACE SRC SPORT DST [key=value...]

  op=announce|map|peer|N   version=2   proto=17   port=5000 (internal)
  want=0 (suggested external port)   want_addr=0.0.0.0   life=120
  nonce=HEX (12 bytes)   client=SRC (the header's client address)
  peer=ADDR peer_port=N   third=ADDR (THIRD_PARTY)   third_len=16
  prefer=1 (PREFER_FAILURE)   opt=CODE:LEN (a raw option)   extra=N (bytes
  appended, to break the length)   wait=1.0 (seconds)   count=N (N requests
  at once, from ports SPORT.., and only {"answered": K} printed)

Prints {"result":..,"lifetime":..,"epoch":..,"opcode":..,"port":..,"addr":..}
or {"answer":false} when nothing came back in time.
"""
import ipaddress
import json
import struct
import sys

from scapy.all import IP, UDP, Raw, conf, sr, sr1  # noqa: E402

conf.verb = 0


def v4mapped(a):
    return b"\0" * 10 + b"\xff\xff" + ipaddress.IPv4Address(a).packed


def build(kv, src):
    ops = {"announce": 0, "map": 1, "peer": 2}
    op = kv.get("op", "map")
    op = ops[op] if op in ops else int(op)
    version = int(kv.get("version", 2))
    life = int(kv.get("life", 120))
    hdr = struct.pack("!BBHI", version, op, 0, life) + v4mapped(kv.get("client", src))
    data = b""
    if op in (1, 2):
        nonce = bytes.fromhex(kv.get("nonce", "0102030405060708090a0b0c"))
        data = nonce + struct.pack("!B3xHH", int(kv.get("proto", 17)), int(kv.get("port", 5000)),
                                   int(kv.get("want", 0)))
        wa = kv.get("want_addr", "0.0.0.0")
        data += v4mapped(wa) if wa != "0.0.0.0" else b"\0" * 16
        if op == 2:
            data += struct.pack("!H2x", int(kv.get("peer_port", 3478)))
            data += v4mapped(kv.get("peer", "203.0.113.2"))
    opts = b""
    if "third" in kv:
        tl = int(kv.get("third_len", 16))
        body = v4mapped(kv["third"])[:tl] + b"\0" * max(0, tl - 16)
        opts += struct.pack("!BBH", 1, 0, tl) + body + b"\0" * ((4 - tl % 4) % 4)
    if kv.get("prefer"):
        opts += struct.pack("!BBH", 2, 0, 0)
    if "opt" in kv:
        code, ln = (int(x) for x in kv["opt"].split(":"))
        opts += struct.pack("!BBH", code, 0, ln) + b"\0" * ((ln + 3) & ~3)
    return hdr + data + opts + b"\0" * int(kv.get("extra", 0))


def main():
    iface, src, sport, dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    kv = dict(a.split("=", 1) for a in sys.argv[5:])
    count = int(kv.get("count", 1))
    if count > 1:
        pkts = [IP(src=src, dst=dst) / UDP(sport=sport + i, dport=5351) / Raw(build(kv, src))
                for i in range(count)]
        ans, _ = sr(pkts, iface=iface, timeout=float(kv.get("wait", 1.0)))
        print(json.dumps({"answered": len(ans)}))
        return
    pkt = IP(src=src, dst=dst) / UDP(sport=sport, dport=5351) / Raw(build(kv, src))
    ans = sr1(pkt, iface=iface, timeout=float(kv.get("wait", 1.0)))
    if ans is None or UDP not in ans:
        print(json.dumps({"answer": False}))
        return
    b = bytes(ans[UDP].payload)
    out = {"answer": True, "len": len(b), "from": ans[IP].src}
    if len(b) >= 24:
        out.update(version=b[0], opcode=b[1], result=b[3],
                   lifetime=struct.unpack("!I", b[4:8])[0],
                   epoch=struct.unpack("!I", b[8:12])[0])
    if len(b) >= 60 and b[1] & 0x7f in (1, 2):
        out["port"] = struct.unpack("!H", b[42:44])[0]
        out["addr"] = str(ipaddress.IPv4Address(b[56:60]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
