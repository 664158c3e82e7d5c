#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The kernel as the oracle of xcgn's reverse-path check.

For every (rp_filter mode, accept_local, source, arrival device) the same
UDP packet goes to the router namespace three ways:

  kernel    xcgn not attached: does the kernel's own rp_filter deliver it to
            a socket? Arrival on the dummy device and on lo comes from tc
            mirred ingress redirects on the inside veth, chosen by port.
  explain   xcgn attached: `xcgn rpf explain SRC dev DEV to DST -j`, which
            runs the datapath's check over the tables built from the FIB.
  datapath  xcgn attached, inside device only: the real XDP program; did a
            reverse-path drop counter move?

All of it twice: with the kernel's local and main tables merged (no policy
rules), then split (one rule added). Prints the matrix and exits 1 when any
two disagree.

usage: rpf_matrix.py ROUTER_NS SENDER_NS SENDER_DEV INSIDE_DEV DUMMY_DEV DST
                     OUTSIDE_DEV XCGN_BIN
"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

ROUTER, SENDER, SDEV, IDEV, DDEV, DST, ODEV, XCGN = sys.argv[1:9]
PORT_DEV = {4001: IDEV, 4002: DDEV, 4003: "lo"}
SOURCES = [
    ("subscriber", "100.64.1.10"),
    ("internet", "198.18.0.7"),
    ("unroutable", "192.0.2.200"),
    ("dummy-net", "192.0.2.10"),
    ("local-other", "203.0.113.1"),
    ("local-self", DST),
    ("loopback", "127.0.0.1"),
    ("subnet-bcast", "100.64.1.255"),
    ("limited-bcast", "255.255.255.255"),
    ("pool", "198.51.100.1"),
    ("unreach-route", "198.18.5.5"),
    ("throw-route", "198.18.6.6"),
    ("multipath", "192.0.2.130"),
]
CONFIGS = [(m, al) for m in ("strict", "loose", "off") for al in (0, 1)]
MODE_NUM = {"off": 0, "strict": 1, "loose": 2}


class NetNS:
    """Run the block in a named network namespace (this thread only)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.orig = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns " + self.name)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        libc.setns(self.orig, CLONE_NEWNET)
        os.close(self.orig)


def sysctl(ns, key, value):
    with NetNS(ns):
        with open("/proc/sys/net/ipv4/conf/" + key.replace(".", "/"), "w") as f:
            f.write(str(value))


def set_kernel(mode, al):
    for dev in ("all", IDEV, DDEV, "lo"):
        sysctl(ROUTER, dev + ".rp_filter", MODE_NUM[mode])
        sysctl(ROUTER, dev + ".accept_local", al)


def mac(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", dev], check=True,
                         capture_output=True, text=True).stdout
    return bytes.fromhex(json.loads(out)[0]["address"].replace(":", ""))


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(dmac, smac, src, dst, port):
    payload = b"rpf-matrix"
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dmac + smac + b"\x08\x00" + ip + udp


def xcgn(*args):
    return subprocess.run(["nsenter", "--net=/run/netns/" + ROUTER, XCGN] + list(args),
                          capture_output=True, text=True, timeout=20)


def rpf_drops():
    s = json.loads(xcgn("-j", "stats", "show").stdout)["drops"]
    return s["martian_source"] + s["reverse_path"] + s["spoofed_source"]


def kernel_phase(tx, rx, send):
    """Which (source, port) reach a socket, per config, xcgn detached."""
    kernel = {}

    def drain():
        got = set()
        for port, s in rx.items():
            while True:
                try:
                    _, (a, _) = s.recvfrom(2048)
                except BlockingIOError:
                    break
                got.add((a, port))
        return got

    for mode, al in CONFIGS:
        set_kernel(mode, al)
        drain()     # what the datapath phase let through before
        for _, src in SOURCES:
            for port in PORT_DEV:
                send(src, port)
        time.sleep(0.3)
        got = drain()
        for _, src in SOURCES:
            for port in PORT_DEV:
                kernel[(mode, al, src, port)] = "accept" if (src, port) in got else "drop"
    return kernel


def xcgn_phase(send):
    """`xcgn rpf explain` for every case, and the XDP program's drop
    counters for the inside device."""
    set_kernel("off", 0)
    r = xcgn("link", "attach", "inside", IDEV, "outside", ODEV)
    if r.returncode:
        sys.exit("attach failed: " + r.stderr)
    explain, datapath = {}, {}
    for mode, al in CONFIGS:
        set_kernel(mode, al)
        for cmd in (["rpf", "mode", "inside", mode], ["rpf", "sync"]):
            r = xcgn(*cmd)
            if r.returncode:
                sys.exit(" ".join(cmd) + " failed: " + r.stderr)
        for _, src in SOURCES:
            for port, dev in PORT_DEV.items():
                r = xcgn("-j", "rpf", "explain", src, "dev", dev, "to", DST)
                if r.returncode:
                    sys.exit("explain failed: " + r.stderr)
                explain[(mode, al, src, port)] = json.loads(r.stdout)["verdict"]
            before = rpf_drops()
            send(src, 4001)
            after = before
            for _ in range(20):
                time.sleep(0.02)
                after = rpf_drops()
                if after != before:
                    break
            datapath[(mode, al, src, 4001)] = "drop" if after > before else "accept"
    show = xcgn("rpf", "show").stdout
    xcgn("link", "detach")
    return explain, datapath, show


def main():
    dmac, smac = mac(ROUTER, IDEV), mac(SENDER, SDEV)
    with NetNS(SENDER):
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        tx.bind((SDEV, 0))
    with NetNS(ROUTER):
        rx = {}
        for port in PORT_DEV:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", port))
            s.setblocking(False)
            rx[port] = s

    def send(src, port):
        tx.send(frame(dmac, smac, src, DST, port))

    bad = n = drops = 0
    print("%-6s %-6s %-2s %-14s %-16s %-7s %-7s %-7s %-8s" %
          ("layout", "mode", "al", "source", "address", "arrival", "kernel", "xcgn",
           "datapath"))
    # Merged first: a policy rule, once added, splits the kernel's tables
    # for good (fib_unmerge), even after it is deleted.
    for layout in ("merged", "split"):
        if layout == "split":
            subprocess.run(["ip", "-n", ROUTER, "rule", "add", "pref", "1000", "from",
                            "192.0.2.250", "lookup", "main"], check=True)
        kernel = kernel_phase(tx, rx, send)
        explain, datapath, show = xcgn_phase(send)
        if layout == "split" and "local table, then main" not in show:
            sys.exit("xcgn did not notice the policy rule:\n" + show)
        for mode, al in CONFIGS:
            for name, src in SOURCES:
                for port, dev in PORT_DEV.items():
                    k = (mode, al, src, port)
                    dp = datapath.get(k, "-")
                    ok = kernel[k] == explain[k] and dp in ("-", kernel[k])
                    bad += not ok
                    n += 1
                    drops += kernel[k] == "drop"
                    print("%-6s %-6s %-2d %-14s %-16s %-7s %-7s %-7s %-8s%s" %
                          (layout, mode, al, name, src, "lo" if dev == "lo" else
                           "inside" if dev == IDEV else "other", kernel[k], explain[k], dp,
                           "" if ok else "   <-- DISAGREE"))
    print("%d cases, %d agree, %d disagree" % (n, n - bad, bad))
    print("kernel dropped %d, accepted %d" % (drops, n - drops))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
