#!/usr/bin/env bash
# `halake listen` over UDP: datagrams sent at RATES per second for LIVE_SECONDS by a
# Python sender (a log's lines, as HAProxy sends them), and what the listener made of
# them: lines parsed, drops from its queue and from the kernel's socket buffer, peak RSS,
# CPU time. Then the same traffic into rsyslog writing a file (the usual path today,
# before any conversion), when rsyslogd is installed (apt-get install rsyslog).
#   WORK=DIR RATES="25000 50000 100000" LIVE_SECONDS=10 benches/listen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=web SIZE="${SIZE:-100MB}"
source benches/setup.sh
RATES="${RATES:-25000 50000 100000 200000}"
LIVE_SECONDS="${LIVE_SECONDS:-10}"
PORT="${PORT:-5190}"
log=$(generated_log web)

# Runs a receiver (its command line after the process name to stop) under /usr/bin/time,
# sends RATE datagrams/s for LIVE_SECONDS, stops it with SIGTERM; sets sent, achieved,
# rss (MiB) and cpu (s).
receive() {
    local rate=$1 name=$2
    shift 2
    /usr/bin/time -f '%M %U %S' -o "$WORK/receiver-time" "$@" >"$WORK/receiver-out" 2>/dev/null &
    local receiver=$!
    sleep 1
    read -r sent achieved < <(python3 benches/listen_send.py "$log" "$PORT" "$rate" "$LIVE_SECONDS")
    sleep 2
    kill -TERM "$(pgrep -P "$receiver" "$name" || echo "$receiver")" 2>/dev/null || true
    wait "$receiver" || true
    local user system
    read -r rss user system < <(tail -1 "$WORK/receiver-time")
    rss=$(( rss / 1024 ))
    cpu=$(awk "BEGIN { print $user + $system }")
}

printf '%-10s %10s %10s %10s %12s %14s %9s %9s\n' "rate/s" sent achieved lines "queue drops" "socket drops" "peak RSS" "CPU s"
for rate in $RATES; do
    lake="$WORK/listen-lake/"
    rm -rf "$lake"
    receive "$rate" halake "$HALAKE" listen "udp://127.0.0.1:$PORT" -o "$lake" --roll 5s -q
    numbers=($(grep '^listened:' "$WORK/receiver-out" | grep -o '[0-9]\+'))
    printf '%-10s %10s %10s %10s %12s %14s %5s MiB %9s\n' "$rate" "$sent" "$achieved" "${numbers[3]}" "${numbers[1]}" \
        "${numbers[2]}" "$rss" "$cpu"
done

command -v rsyslogd >/dev/null || { echo "rsyslogd not installed: no comparison"; exit 0; }
echo
echo "rsyslog, UDP to a file (imudp, default file template, no other rules):"
printf '%-10s %10s %10s %10s %9s %9s\n' "rate/s" sent achieved "lines" "peak RSS" "CPU s"
for rate in $RATES; do
    out="$WORK/rsyslog.log"
    rm -f "$out" "$WORK/rsyslog.pid"
    cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="$PORT" rcvbufSize="16m")
action(type="omfile" file="$out")
CONF
    receive "$rate" rsyslogd rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslog.pid"
    printf '%-10s %10s %10s %10s %5s MiB %9s\n' "$rate" "$sent" "$achieved" "$(wc -l <"$out")" "$rss" "$cpu"
done
