#!/usr/bin/env python3
"""Long-lived flows through a cluster of xcgn nodes, and what became of them.

  cluster_flows.py server ADDR TCPPORT UDPPORT
      A TCP echo server and a UDP echo server whose reply is the datagram
      followed by " IP:PORT", the source it saw: the public endpoint.

  cluster_flows.py client SERVER TCPPORT UDPPORT CTRL_DIR OUT_JSON SUB...
      For every subscriber address SUB: one TCP connection streaming
      pseudo-random bytes (each echo compared byte for byte), one UDP socket
      sending numbered datagrams (each reply compared, its public endpoint
      noted), and fresh UDP flows (a new socket every 100 ms: which public
      endpoint a new flow gets). Runs until CTRL_DIR/stop exists, then
      writes what happened to OUT_JSON.

  cluster_flows.py report OUT_JSON T_FAIL T_BACK FAILED NODE=POOL...
      Reads the client's record and says, for the failure of node FAILED at
      T_FAIL and its return at T_BACK: how long each of its subscribers took
      to get working new flows through a survivor and to come back, and
      whether every flow of the other nodes' subscribers carried on
      byte-exact with its public endpoint unchanged. Exit 1 if any did not.
"""
import hashlib
import ipaddress
import json
import os
import socket
import socketserver
import sys
import threading
import time

TICK = 0.1
CHUNK = 1024


class TCPEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def server(addr, tport, uport):
    tcp = ThreadedTCP((addr, tport), TCPEcho)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, uport))
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(data + (" %s:%d" % peer).encode(), peer)


class Flows:
    def __init__(self, srv, tport, uport, ctrl, sub):
        self.srv, self.tport, self.uport, self.ctrl, self.sub = srv, tport, uport, ctrl, sub
        self.tcp = {"bytes": 0, "error": None, "error_t": None, "last_ok": None}
        self.udp = {"sent": 0, "replied": 0, "bad": 0, "endpoints": [], "last_ok": None}
        self.probes = []   # [t, endpoint or None] when the answer changes

    def stopped(self):
        return os.path.exists(os.path.join(self.ctrl, "stop"))

    def run_tcp(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((self.sub, 0))
            s.settimeout(5)
            s.connect((self.srv, self.tport))
            i = 0
            while not self.stopped():
                chunk = hashlib.sha256(("%s:%d" % (self.sub, i)).encode()).digest() * (CHUNK // 32)
                s.sendall(chunk)
                got = b""
                while len(got) < len(chunk):
                    part = s.recv(len(chunk) - len(got))
                    if not part:
                        raise ConnectionError("closed by the peer")
                    got += part
                if got != chunk:
                    raise ValueError("echo differs at chunk %d" % i)
                self.tcp["bytes"] += len(chunk)
                self.tcp["last_ok"] = time.time()
                i += 1
                time.sleep(TICK)
        except Exception as e:  # the flow is broken: say how and when
            self.tcp["error"] = repr(e)
            self.tcp["error_t"] = time.time()

    def run_udp(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.sub, 0))
        s.settimeout(0.5)
        seq = 0
        while not self.stopped():
            msg = ("%s %d" % (self.sub, seq)).encode()
            s.sendto(msg, (self.srv, self.uport))
            self.udp["sent"] += 1
            deadline = time.time() + 0.5
            while time.time() < deadline:
                try:
                    data, _ = s.recvfrom(2048)
                except socket.timeout:
                    break
                if not data.startswith(msg + b" "):
                    if data.split(b" ")[0] != self.sub.encode():
                        self.udp["bad"] += 1
                    continue    # a late reply to an earlier one
                ep = data[len(msg) + 1:].decode()
                if not self.udp["endpoints"] or self.udp["endpoints"][-1][1] != ep:
                    self.udp["endpoints"].append([time.time(), ep])
                self.udp["replied"] += 1
                self.udp["last_ok"] = time.time()
                break
            seq += 1
            time.sleep(TICK)

    def run_probes(self):
        last = "unset"
        while not self.stopped():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.sub, 0))
            s.settimeout(0.2)
            ep = None
            try:
                s.sendto(b"probe", (self.srv, self.uport))
                data, _ = s.recvfrom(2048)
                if data.startswith(b"probe "):
                    ep = data[6:].decode()
            except OSError:
                pass
            s.close()
            # Which node: the address; the port changes with every flow.
            where = ep.split(":")[0] if ep else None
            if where != last:
                self.probes.append([time.time(), where])
                last = where
            time.sleep(TICK)


def client(srv, tport, uport, ctrl, out, subs):
    flows = [Flows(srv, int(tport), int(uport), ctrl, s) for s in subs]
    threads = []
    for f in flows:
        for fn in (f.run_tcp, f.run_udp, f.run_probes):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            threads.append(t)
    for t in threads:
        t.join(timeout=60)
    with open(out, "w") as fh:
        json.dump({f.sub: {"tcp": f.tcp, "udp": f.udp, "probes": f.probes} for f in flows}, fh)


def node_of(addr, pools):
    if addr is None:
        return None
    a = ipaddress.ip_address(addr.split(":")[0])
    for node, net in pools.items():
        if a in net:
            return node
    return "?"


def report(path, t_fail, t_back, failed, pools_args):
    t_fail, t_back = float(t_fail), float(t_back)
    pools = {}
    for arg in pools_args:
        node, net = arg.split("=")
        pools[node] = ipaddress.ip_network(net)
    with open(path) as fh:
        rec = json.load(fh)
    ok = True
    rehome, back, moved = {}, {}, {}
    total = intact = 0
    for sub, r in sorted(rec.items()):
        eps = r["udp"]["endpoints"]
        home = node_of(eps[0][1], pools) if eps else None
        if home is None:
            print("%s: no UDP reply ever" % sub)
            ok = False
            continue
        if home == failed:
            # The first fresh flow after the failure that a survivor served.
            for t, where in r["probes"]:
                n = node_of(where, pools)
                if t >= t_fail and n not in (None, failed) and sub not in rehome:
                    rehome[sub] = (t - t_fail, n, where)
                if t >= t_back and n == failed and sub not in back:
                    back[sub] = t - t_back
            if sub not in rehome:
                print("%s (node %s): no new flow through a survivor" % (sub, failed))
                ok = False
            continue
        # A survivor's subscriber: both its flows carried on, unchanged.
        total += 2
        t = r["tcp"]
        if t["error"] is None and t["last_ok"] and t["last_ok"] > t_back:
            intact += 1
        else:
            print("%s (node %s): TCP flow broken: %s" % (sub, home, t["error"]))
        u = r["udp"]
        if len(eps) == 1 and u["bad"] == 0 and u["last_ok"] and u["last_ok"] > t_back:
            intact += 1
        else:
            print("%s (node %s): UDP flow moved or stopped: endpoints %s, bad %d"
                  % (sub, home, [e[1] for e in eps], u["bad"]))
        lost = u["sent"] - u["replied"]
        if lost > 2:    # the last one or two may be in flight at the stop
            print("%s (node %s): %d of %d UDP datagrams unanswered"
                  % (sub, home, lost, u["sent"]))
        # Fresh flows of a survivor's subscriber stayed on its node.
        for tt, where in r["probes"]:
            n = node_of(where, pools)
            if n not in (None, home):
                moved[sub] = (tt, n)
    for sub, (tt, n) in sorted(moved.items()):
        print("%s: a new flow went to node %s at +%.2f s" % (sub, n, tt - t_fail))
        ok = False
    nfailed = sum(1 for r in rec.values() if r["udp"]["endpoints"]
                  and node_of(r["udp"]["endpoints"][0][1], pools) == failed)
    worst = max((v[0] for v in rehome.values()), default=float("nan"))
    for sub, (dt, n, where) in sorted(rehome.items()):
        print("rehome %s %s %.3f %s %s" % (sub, n, dt, where, "back %.3f" % back[sub]
                                             if sub in back else "not back"))
    print("returned: %d of %d subscribers of node %s back on it in %.2f s (rebalancing)"
          % (len(back), nfailed, failed, max(back.values(), default=float("nan"))))
    if intact != total or len(rehome) != nfailed or not nfailed:
        ok = False
    print("failover: %d subscribers re-homed in %.2f s, %d of %d surviving flows intact"
          % (len(rehome), worst, intact, total))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 6 and sys.argv[1] == "client":
        client(*sys.argv[2:7], sys.argv[7:])
    elif len(sys.argv) > 5 and sys.argv[1] == "report":
        sys.exit(report(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
