#!/usr/bin/env bash
# halake convert against the tools people use today, on one generated file per traffic
# profile (`halake generate --profile`), in one run: halog -st and -tc (Debian's haproxy
# package) and the DuckDB regex-to-Parquet pipeline. Prints, per profile, medians,
# ratios, peak RSS and output sizes.
#
#   benches/compare.sh                 # 1 GiB per profile, 3 runs each
#   SIZE=200MB RUNS=5 PROFILES=api benches/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source benches/setup.sh

for PROFILE in $PROFILES; do
    LOG=$(generated_log "$PROFILE")
    RAW=$(stat -c %s "$LOG")
    echo
    echo "profile $PROFILE: $LOG, $RAW bytes, $(wc -l < "$LOG") lines"

    declare -A COMMANDS=(
        [halake]="$HALAKE convert $LOG -o $WORK/halake.parquet -q"
        [halog-st]="halog -st < $LOG > /dev/null"
        [halog-tc]="halog -tc < $LOG > /dev/null"
        [duckdb]="python3 benches/duckdb_convert.py $LOG $WORK/duckdb.parquet $THREADS"
    )
    ORDER=(halake halog-st halog-tc duckdb)

    args=()
    for name in "${ORDER[@]}"; do args+=(-n "$name" "${COMMANDS[$name]}"); done
    hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/hyperfine.json" "${args[@]}" >/dev/null

    declare -A RSS
    for name in "${ORDER[@]}"; do
        /usr/bin/time -o "$WORK/rss-$name" -f '%M' bash -c "${COMMANDS[$name]} >/dev/null 2>&1"
        RSS[$name]=$(tail -1 "$WORK/rss-$name")
    done

    python3 - "$WORK" "$RAW" "${ORDER[@]}" -- "${RSS[halake]}" "${RSS[halog-st]}" "${RSS[halog-tc]}" "${RSS[duckdb]}" <<'PY'
import json, os, sys
args = sys.argv[1:]
work, raw = args[0], int(args[1])
split = args.index("--")
names, rss = args[2:split], args[split + 1:]
results = {r["command"]: r for r in json.load(open(os.path.join(work, "hyperfine.json")))["results"]}
halake = results["halake"]["median"]
print(f"{'tool':<10} {'median s':>9} {'vs halake':>10} {'MB/s':>7} {'peak RSS':>10} {'output':>14}")
for name, kb in zip(names, rss):
    median = results[name]["median"]
    out = {"halake": "halake.parquet", "duckdb": "duckdb.parquet"}.get(name)
    size = ""
    if out:
        bytes_ = os.path.getsize(os.path.join(work, out))
        size = f"{bytes_ / 1e6:.0f} MB {bytes_ * 100 / raw:.1f}%"
    print(f"{name:<10} {median:>9.2f} {median / halake:>9.2f}x {raw / median / 1e6:>7.0f} {int(kb) / 1024:>7.0f} MiB {size:>14}")
PY
done
