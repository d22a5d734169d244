#!/usr/bin/env bash
# `halake listen` over UDP: datagrams sent at RATES per second for LIVE_SECONDS by a
# Python sender (a log's lines, as HAProxy sends them), and what the listener made of
# them: lines parsed, drops from its queue and from the kernel's socket buffer, peak RSS.
#   WORK=DIR RATES="25000 50000 100000" LIVE_SECONDS=10 benches/listen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=web SIZE="${SIZE:-100MB}"
source benches/setup.sh
RATES="${RATES:-25000 50000 100000 200000}"
LIVE_SECONDS="${LIVE_SECONDS:-10}"
PORT="${PORT:-5190}"
log=$(generated_log web)

printf '%-10s %10s %10s %10s %12s %14s %9s\n' "rate/s" sent achieved lines "queue drops" "socket drops" "peak RSS"
for rate in $RATES; do
    lake="$WORK/listen-lake/"
    rm -rf "$lake"
    /usr/bin/time -f '%M' -o "$WORK/listen-rss" "$HALAKE" listen "udp://127.0.0.1:$PORT" -o "$lake" --roll 5s -q \
        >"$WORK/listen-out" 2>/dev/null &
    listener=$!
    sleep 1
    read -r sent achieved < <(python3 benches/listen_send.py "$log" "$PORT" "$rate" "$LIVE_SECONDS")
    sleep 2
    kill -TERM "$(pgrep -P "$listener" halake || echo "$listener")" 2>/dev/null || true
    wait "$listener" || true
    counts=$(grep '^listened:' "$WORK/listen-out")
    numbers=($(echo "$counts" | grep -o '[0-9]\+'))
    printf '%-10s %10s %10s %10s %12s %14s %5s MiB\n' "$rate" "$sent" "$achieved" "${numbers[3]}" "${numbers[1]}" "${numbers[2]}" \
        $(( $(cat "$WORK/listen-rss") / 1024 ))
done
