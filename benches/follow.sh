#!/usr/bin/env bash
# Following a live log, per profile. First a whole file caught up with
# `convert --follow --catch-up` against a plain conversion of it (median time, peak
# RSS). Then a writer appending RATE lines/s for LIVE_SECONDS while a follower rolls
# every ROLL: how long a line takes from its write to a committed part, and the
# follower's peak RSS.
#   WORK=DIR SIZE=1GiB RUNS=3 PROFILES="web api" RATE=100000 LIVE_SECONDS=30 ROLL=5s benches/follow.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/setup.sh
RATE="${RATE:-100000}"
LIVE_SECONDS="${LIVE_SECONDS:-30}"
ROLL="${ROLL:-5s}"

for profile in $PROFILES; do
    log=$(generated_log "$profile")
    announce "$profile" "$log"
    printf '%-22s %9s %10s\n' run "median s" "peak RSS"
    read -r t r < <(disk_conversion "$profile" "$log")
    printf '%-22s %9s %6s MiB\n' convert "$t" "$r"
    read -r t r < <(measure bash -c "rm -rf '$WORK/lake-$profile'; exec '$HALAKE' convert --follow '$log' -o '$WORK/lake-$profile/' --catch-up -q")
    printf '%-22s %9s %6s MiB\n' "convert --follow" "$t" "$r"

    live="$WORK/live-$profile.log"
    lake="$WORK/live-lake-$profile/"
    rm -rf "$live" "$lake"
    : >"$live"
    /usr/bin/time -f '%M' -o "$WORK/follow-rss" "$HALAKE" convert --follow "$live" -o "$lake" --roll "$ROLL" -q &
    follower=$!
    python3 benches/follow_live.py "$log" "$live" "$lake" "$RATE" "$LIVE_SECONDS"
    kill -TERM "$(pgrep -P "$follower" halake || echo "$follower")" 2>/dev/null || true
    wait "$follower" || true
    echo "follower at $RATE lines/s, rolls of $ROLL: peak RSS $(( $(cat "$WORK/follow-rss") / 1024 )) MiB"
    rm -f "$live"
done
