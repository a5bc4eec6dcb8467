#!/usr/bin/env bash
# End-to-end replay benchmark (the figures in the README):
#   1. builds the release binary if it is missing,
#   2. generates PROFILES people over DAYS days (default 1,000,000 × 90, seed 7; about 11 M
#      events, 2.7 GB) into $BENCH_DIR/events-<profiles>p-<days>d-s<seed>.ndjson, reused if present,
#   3. times `intent replay --plan plans/showroom.yaml` on it (its summary line: events/s, MB/s),
#   4. scores the same file with DuckDB SQL and with intent on bench/warehouse.yaml and compares
#      time and scores (bench/duckdb_compare.py; needs `pip install duckdb`).
#
#   bench/replay.sh                      # 1 M profiles
#   PROFILES=100000 bench/replay.sh      # quicker
#   SKIP_DUCKDB=1 bench/replay.sh        # only the engine
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PROFILES="${PROFILES:-1000000}"
DAYS="${DAYS:-90}"
SEED="${SEED:-7}"
BENCH_DIR="${BENCH_DIR:-/tmp/intent-bench}"
INTENT="${INTENT:-$ROOT/target/release/intent}"
if [[ "$PROFILES" == 1000000 && "$DAYS" == 90 && "$SEED" == 7 ]]; then
  EVENTS="$BENCH_DIR/events.ndjson"
else
  EVENTS="$BENCH_DIR/events-${PROFILES}p-${DAYS}d-s${SEED}.ndjson"
fi

if [[ ! -x "$INTENT" ]]; then
  echo "== building $INTENT" >&2
  cargo build --release -p intent-cli
fi
mkdir -p "$BENCH_DIR"
if [[ ! -s "$EVENTS" ]]; then
  echo "== generating $PROFILES profiles × $DAYS days (seed $SEED) → $EVENTS" >&2
  "$INTENT" gen --profiles "$PROFILES" --days "$DAYS" --seed "$SEED" -o "$EVENTS.part"
  mv "$EVENTS.part" "$EVENTS"
fi
echo "== $(nproc) cores; $(du -h "$EVENTS" | cut -f1) in $EVENTS"

echo "== intent replay --plan plans/showroom.yaml (all profiles, CSV to /dev/null)"
start=$(date +%s.%N)
"$INTENT" replay --plan plans/showroom.yaml --tier all --format csv "$EVENTS" >/dev/null
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "   wall clock %.2f s\n", e - s }'

if [[ -z "${SKIP_DUCKDB:-}" ]]; then
  echo "== DuckDB SQL vs intent on bench/warehouse.yaml (same file, same as-of time)"
  python3 bench/duckdb_compare.py --intent "$INTENT" "$EVENTS"
fi
