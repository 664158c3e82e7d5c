#!/usr/bin/python3
"""A UDP datagram larger than a narrow link, from the server to the client.

    udp_big.py serve ADDR PORT SIZE SECS
        Answer each datagram with one of SIZE bytes, sent again every 0.3 s
        (six times): the first leaves with DF (Linux's default path-MTU
        discovery), and only once the fragmentation-needed error has reached
        this host does the next one leave in fragments. Serves SECS seconds.
    udp_big.py ask SERVER PORT BIND SIZE SECS
        Ask from BIND (addr:port) and wait up to SECS seconds for a whole
        datagram of SIZE bytes. Exit 0 when it came, 1 when not.
"""
import socket
import sys
import time


def serve(addr, port, size, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    end = time.monotonic() + secs
    payload = bytes(i % 251 for i in range(size))
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            _, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        for _ in range(6):
            try:
                s.sendto(payload, peer)
            except OSError:
                pass	# EMSGSIZE while the new path MTU settles
            time.sleep(0.3)


def ask(server, port, bind, size, secs):
    host, bport = bind.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(bport)))
    s.sendto(b"big?", (server, port))
    end = time.monotonic() + secs
    want = bytes(i % 251 for i in range(size))
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            data, _ = s.recvfrom(65536)
        except socket.timeout:
            break
        if data == want:
            print("got %d bytes" % len(data))
            return 0
        print("got %d bytes, not the datagram" % len(data))
    print("no datagram of %d bytes in %s s" % (size, secs))
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(ask(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]),
                     float(sys.argv[6])))
