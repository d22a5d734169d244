#!/usr/bin/env bash
# The dashboard against the canned reports it is made of: for each generator profile,
# `report --html` over the converted 1 GiB log (Parquet, as a lake is queried) and over
# the raw log, next to the slowest of its reports run alone. The slowest report is
# found by medians of RUNS runs; then the page and that report are run in turns, PAIRS
# times, and the ratio is the median of each pair's ratio: on a shared machine the
# load drifts within a minute, and a pair sees the same load.
#   benches/dashboard.sh            (SIZE, RUNS, PROFILES, WORK as in setup.sh; PAIRS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/setup.sh
PAIRS="${PAIRS:-5}"

REPORTS="requests_over_time terminations_over_time latency_over_time termination_codes servers client_aborts"

median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for profile in $PROFILES; do
    log=$(generated_log "$profile")
    announce "$profile" "$log"
    lake="$WORK/dashboard-lake-$profile/"
    [ -d "$lake" ] || "$HALAKE" convert "$log" -o "$lake" -q
    page_html="$WORK/dashboard-$profile.html"
    for input in "$lake" "$log"; do
        kind=$([ "$input" = "$log" ] && echo "raw log" || echo "Parquet")
        slowest=0 slowest_name=""
        for report in $REPORTS; do
            read -r report_seconds _ < <(measure "$HALAKE" report "$report" "$input" --format csv)
            if awk "BEGIN { exit !($report_seconds > $slowest) }"; then
                slowest=$report_seconds slowest_name=$report
            fi
        done
        pages=() rss=() reports=() ratios=()
        for _ in $(seq "$PAIRS"); do
            read -r page page_rss < <(RUNS=1 measure "$HALAKE" report --html "$page_html" "$input")
            read -r report _ < <(RUNS=1 measure "$HALAKE" report "$slowest_name" "$input" --format csv)
            pages+=("$page") rss+=("$page_rss") reports+=("$report")
            ratios+=("$(awk "BEGIN { print $page / $report }")")
        done
        printf '  %-8s dashboard %6.2f s (%4.0f MiB, %s KB)  slowest report %-22s %6.2f s  ratio %.2f\n' \
            "$kind" "$(printf '%s\n' "${pages[@]}" | median)" "$(printf '%s\n' "${rss[@]}" | median)" "$(( $(stat -c %s "$page_html") / 1024 ))" \
            "$slowest_name" "$(printf '%s\n' "${reports[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median)"
    done
done
