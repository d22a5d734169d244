"""Appends a log to a followed file at a steady rate and measures how far behind the
follower's committed parts are: every half second, the age of the oldest line written
but not yet in a committed part (from the follower's manifest offsets).

    python3 benches/follow_live.py SOURCE.log LIVE.log LAKE/ RATE SECONDS
"""
import bisect
import json
import os
import sys
import time

source, live, lake, rate, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
manifest = os.path.join(lake, "_halake_manifest.follow.json")


def committed():
    try:
        with open(manifest) as f:
            entries = json.load(f)["inputs"]
    except (OSError, ValueError):
        return 0
    return sum(e["follow"]["offset"] for e in entries if e.get("follow"))


lines = open(source, "rb").read().splitlines(keepends=True)
tick = 0.01
per_tick = max(1, int(rate * tick))
written_at, written = [], []  # when each write ended, and the bytes written by then
total, lags, next_sample = 0, [], 0.0
start = time.monotonic()
with open(live, "ab", buffering=0) as out:
    i = 0
    while time.monotonic() - start < seconds and i < len(lines):
        block = b"".join(lines[i : i + per_tick])
        i += per_tick
        out.write(block)
        total += len(block)
        now = time.monotonic()
        written_at.append(now)
        written.append(total)
        if now - start >= next_sample:
            done = committed()
            first_unread = bisect.bisect_right(written, done)
            lags.append(now - written_at[first_unread] if first_unread < len(written) else 0.0)
            next_sample += 0.5
        sleep = start + len(written) * tick - time.monotonic()
        if sleep > 0:
            time.sleep(sleep)
end = time.monotonic()
achieved = i / (end - start)
while committed() < total:
    time.sleep(0.05)
caught_up = time.monotonic() - end
lags.sort()
print(f"written {i} lines in {end - start:.1f} s ({achieved:,.0f} lines/s); "
      f"lag from write to committed part: median {lags[len(lags) // 2]:.1f} s, max {lags[-1]:.1f} s; "
      f"all committed {caught_up:.1f} s after the last write")
