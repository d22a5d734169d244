#!/usr/bin/env bash
# The dashboard against the canned reports it is made of: for each generator profile,
# `report --html` over the converted 1 GiB log (Parquet, as a lake is queried) and over
# the raw log, next to the slowest of its reports run alone. Medians of RUNS runs.
#   benches/dashboard.sh            (SIZE, RUNS, PROFILES, WORK as in setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/setup.sh

REPORTS="requests_over_time terminations_over_time latency_over_time termination_codes servers client_aborts"
for profile in $PROFILES; do
    log=$(generated_log "$profile")
    announce "$profile" "$log"
    lake="$WORK/dashboard-lake-$profile/"
    [ -d "$lake" ] || "$HALAKE" convert "$log" -o "$lake" -q
    for input in "$lake" "$log"; do
        kind=$([ "$input" = "$log" ] && echo "raw log" || echo "Parquet")
        slowest=0 slowest_name=""
        for report in $REPORTS; do
            read -r seconds _ < <(measure "$HALAKE" report "$report" "$input" --format csv)
            if awk "BEGIN { exit !($seconds > $slowest) }"; then slowest=$seconds slowest_name=$report; fi
        done
        read -r page rss < <(measure "$HALAKE" report --html "$WORK/dashboard-$profile.html" "$input")
        printf '  %-8s dashboard %6.2f s (%4d MiB, %s KB)  slowest report %-22s %6.2f s  ratio %.2f\n' \
            "$kind" "$page" "$rss" "$(( $(stat -c %s "$WORK/dashboard-$profile.html") / 1024 ))" \
            "$slowest_name" "$slowest" "$(awk "BEGIN { print $page / $slowest }")"
    done
done
