#!/usr/bin/python3
"""How late NAT log records reach the file: follow LOG for SECS seconds and
print the largest delay, in ms, between a record's own time (when the
datapath made the event) and when it appeared, and how many were seen.

    natlog_delay.py LOG SECS
"""
import datetime
import json
import os
import sys
import time

path, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
f = open(path)
f.seek(0, os.SEEK_END)
worst, n, buf = 0.0, 0, ""
while time.time() < end:
    chunk = f.read()
    now = time.time()
    if not chunk:
        time.sleep(0.02)
        continue
    buf += chunk
    lines = buf.split("\n")
    buf = lines.pop()
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        t = r.get("time")
        if not t:
            continue
        at = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        worst = max(worst, (now - at) * 1000)
        n += 1
print("%d %.0f" % (n, worst))
