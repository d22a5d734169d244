"""Sends a log's lines as syslog datagrams at a steady rate, as HAProxy would.

    python3 benches/listen_send.py LOG PORT RATE SECONDS
prints the datagrams sent and the rate achieved.
"""
import socket
import sys
import time

log, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lines = open(log, "rb").read().splitlines()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tick = 0.005
per_tick = max(1, int(rate * tick))
sent, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    for line in lines[sent % len(lines): sent % len(lines) + per_tick]:
        sock.sendto(line, ("127.0.0.1", port))
        sent += 1
    pause = start + (sent / rate) - time.monotonic()
    if pause > 0:
        time.sleep(pause)
elapsed = time.monotonic() - start
print(f"{sent} {sent / elapsed:.0f}")
