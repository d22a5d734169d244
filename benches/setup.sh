# Shared by the comparison scripts (sourced, not run): settings, the peers they need,
# a release build, and `generated_log PROFILE`, which prints the path of that profile's
# generated input (made once per size and profile).
SIZE="${SIZE:-1GiB}"
RUNS="${RUNS:-3}"
PROFILES="${PROFILES:-web api tcp-heavy}"
WORK="${WORK:-${TMPDIR:-/tmp}/halake-bench}"
THREADS="$(nproc)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/halake/target}"

need() {
    command -v "$1" >/dev/null || { echo "$0 needs $1: $2" >&2; exit 1; }
}
need hyperfine "apt-get install hyperfine"
need halog "apt-get install haproxy"
need /usr/bin/time "apt-get install time"
python3 -c 'import duckdb' 2>/dev/null || { echo "$0 needs DuckDB: python3 -m pip install duckdb" >&2; exit 1; }

cargo build --release --quiet
HALAKE="$CARGO_TARGET_DIR/release/halake"
mkdir -p "$WORK"
echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $THREADS cores, $(git rev-parse --short HEAD)"

generated_log() {
    local log="$WORK/haproxy-$1-$SIZE.log"
    [ -s "$log" ] || "$HALAKE" generate --profile "$1" --size "$SIZE" --seed 1 -o "$log"
    echo "$log"
}

# Median of RUNS: seconds and peak RSS (MiB) of one command.
measure() {
    local times=() rss=()
    for _ in $(seq "$RUNS"); do
        local out
        out=$({ /usr/bin/time -f '%e %M' "$@" >/dev/null || echo "failed: $*" >&2; } 2>&1 | tail -1)
        case "$out" in failed:*) echo "$out" >&2; exit 1 ;; esac
        times+=("${out% *}")
        rss+=("${out#* }")
    done
    local t r
    t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    r=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    echo "$t $((r / 1024))"
}

announce() {
    echo
    echo "profile $1: $2, $(stat -c %s "$2") bytes"
}

# `measure` of converting the profile's log ($2) into a fresh dataset on disk (a fresh
# one each run: otherwise the manifest skips the input).
disk_conversion() {
    measure bash -c "rm -rf '$WORK/lake-$1'; exec '$HALAKE' convert '$2' -o '$WORK/lake-$1/' -q"
}
