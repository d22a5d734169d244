# Shared by the comparison scripts (sourced, not run): settings, the peers they need,
# a release build, and the generated input file $LOG.
SIZE="${SIZE:-1GiB}"
RUNS="${RUNS:-3}"
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
LOG="$WORK/haproxy-$SIZE.log"
[ -s "$LOG" ] || "$HALAKE" generate --size "$SIZE" --seed 1 -o "$LOG"
