#!/usr/bin/env bash
# A long fuzzing campaign: every target for SECONDS_<target> seconds (default 120), two
# at a time, from the committed seeds, new inputs to a scratch directory. Prints the
# executions of each and the total; a failure stops it with the crashing input saved
# under fuzz/artifacts/ (commit it to fuzz/corpus/<target>/ as a regression seed).
#   fuzz/campaign.sh                     SECONDS_parse_lines=600 fuzz/campaign.sh
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cache/halake/cargo-fuzz/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/halake/target}-fuzz"
targets=(parse_lines structured_lines compile_format read_config read_manifest syslog_frames)
cargo +nightly fuzz build --sanitizer none --fuzz-dir . >/dev/null
run() {
    local target=$1 seconds_var="SECONDS_$1" scratch log
    scratch=$(mktemp -d)
    log="$scratch.log"
    cargo +nightly fuzz run --sanitizer none --fuzz-dir . "$target" "$scratch" "corpus/$target" \
        -- -max_total_time="${!seconds_var:-120}" -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 >"$log" 2>&1 \
        || { cat "$log"; echo "fuzz $target FAILED" >&2; return 1; }
    echo "$target $(sed -n 's/^stat::number_of_executed_units: *//p' "$log") ${!seconds_var:-120}"
    rm -rf "$scratch" "$log"
}
results=$(mktemp)
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run "${targets[i]}" >>"$results" &
    run "${targets[i + 1]}" >>"$results" &
    wait
done
echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(git rev-parse --short HEAD)"
awk '{ printf "%-18s %12d executions in %s s\n", $1, $2, $3; total += $2 } END { printf "%-18s %12d executions\n", "total", total }' "$results"
