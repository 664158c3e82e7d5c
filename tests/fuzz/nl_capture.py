#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Capture rtnetlink dumps (routes, rules, links, addresses) of the network
namespace it runs in, as the kernel sends them, one file each and one with
all of them: the seed corpus of fuzz_netlink.

Usage: nl_capture.py OUTDIR
"""
import os
import socket
import struct
import sys

NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_DONE = 3
DUMPS = {
    "routes": (26, struct.pack("BBBBBBBBI", socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)),
    "rules": (34, struct.pack("BBBBBBBBI", socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)),
    "links": (18, struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)),
    "addrs": (22, struct.pack("BBBBI", socket.AF_INET, 0, 0, 0, 0)),
}


def dump(kind, hdr):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    s.bind((0, 0))
    msg = struct.pack("IHHII", 16 + len(hdr), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + hdr
    s.send(msg)
    out = b""
    while True:
        buf = s.recv(65536)
        off, done = 0, False
        while off + 16 <= len(buf):
            length, typ = struct.unpack_from("IH", buf, off)
            if typ == NLMSG_DONE or length < 16:
                done = True
                break
            out += buf[off:off + ((length + 3) & ~3)]
            off += (length + 3) & ~3
        if done:
            break
    s.close()
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    everything = b""
    for name, (kind, hdr) in DUMPS.items():
        data = dump(kind, hdr)
        everything += data
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    with open(os.path.join(outdir, "all"), "wb") as f:
        f.write(everything)


if __name__ == "__main__":
    main()
