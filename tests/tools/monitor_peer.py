#!/usr/bin/python3
"""A peer of the monitor socket @xcgn-monitor, as another local user would
be one.

    monitor_peer.py read SECS OUT
        Connect and write what arrives (one datagram a line) to OUT for
        SECS seconds; "refused-connect" when nothing listens.
    monitor_peer.py squat SECS READY
        Bind the name first and serve every client one record with
        control characters in it (a terminal's escape sequences); touch
        READY once bound.
"""
import socket
import sys
import time

NAME = b"\0xcgn-monitor"


def read(secs, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with open(out, "w", buffering=1) as f:
        try:
            s.connect(NAME)
        except OSError as e:
            f.write("refused-connect %s\n" % e)
            return
        end = time.monotonic() + secs
        while time.monotonic() < end:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                d = s.recv(4096)
            except socket.timeout:
                break
            if not d:
                f.write("closed\n")
                break
            f.write(d.decode(errors="replace") + "\n")


def squat(secs, ready):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(NAME)
    s.listen(4)
    open(ready, "w").close()
    s.settimeout(secs)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            break
        c.send(b'{"event":"alloc","time":"\x1b]2;owned\x07\x1b[2J","subscriber":"100.64.1.1"}')
        time.sleep(0.2)
        c.close()


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(float(sys.argv[2]), sys.argv[3])
    else:
        squat(float(sys.argv[2]), sys.argv[3])
