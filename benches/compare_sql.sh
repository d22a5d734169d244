#!/usr/bin/env bash
# halake's reports against halog on one generated file per traffic profile, in one run:
# - raw logs, no conversion: halake report vs the matching halog option;
# - Parquet: halake report over the converted file vs halog on the raw file, and vs
#   DuckDB running the same SQL on the same Parquet.
# Prints medians and ratios, a table per profile.
#
#   benches/compare_sql.sh                 # 1 GiB per profile, 3 runs each
#   SIZE=200MB RUNS=5 PROFILES=web benches/compare_sql.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source benches/setup.sh

declare -A HALOG=([status_codes]=-st [termination_codes]=-tc [servers]=-srv [timer_percentiles]=-pct [urls]=-u)
for PROFILE in $PROFILES; do
    LOG=$(generated_log "$PROFILE")
    PARQUET="$WORK/reports-$PROFILE-$SIZE.parquet"
    [ -s "$PARQUET" ] || "$HALAKE" convert "$LOG" -o "$PARQUET" -q
    echo
    echo "profile $PROFILE: $LOG, $(stat -c %s "$LOG") bytes; $PARQUET"

    args=()
    for report in status_codes termination_codes servers timer_percentiles urls; do
        args+=(-n "halog ${HALOG[$report]}" "halog ${HALOG[$report]} < $LOG > /dev/null")
        args+=(-n "halake $report raw" "$HALAKE report $report $LOG --format csv > /dev/null")
        args+=(-n "halake $report parquet" "$HALAKE report $report $PARQUET --format csv > /dev/null")
    done
    for report in status_codes termination_codes servers; do
        # DuckDB asks the same question in its own dialect (halake's functions are not there).
        args+=(-n "duckdb $report parquet" "python3 benches/duckdb_query.py $PARQUET $THREADS $report")
    done
    hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/hyperfine-sql.json" "${args[@]}" >/dev/null

    python3 - "$WORK/hyperfine-sql.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
halog = {"status_codes": "-st", "termination_codes": "-tc", "servers": "-srv", "timer_percentiles": "-pct", "urls": "-u"}
print(f"{'report':<18} {'halog':>8} {'raw':>8} {'raw/halog':>10} {'parquet':>8} {'halog/parquet':>14} {'duckdb':>8} {'parquet/duckdb':>15}")
for report, option in halog.items():
    h = results[f"halog {option}"]
    raw = results[f"halake {report} raw"]
    pq = results[f"halake {report} parquet"]
    duck = results.get(f"duckdb {report} parquet")
    duck_text = f"{duck:>8.2f} {pq / duck:>14.2f}x" if duck else f"{'':>8} {'':>15}"
    print(f"{report:<18} {h:>8.2f} {raw:>8.2f} {raw / h:>9.2f}x {pq:>8.2f} {h / pq:>13.1f}x {duck_text}")
PY
done
