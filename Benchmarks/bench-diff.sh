#!/usr/bin/env bash
# rdbkit diff on two large RDBs beside redis-check-rdb reading both files, in one run (not a test).
#
#   Benchmarks/bench-diff.sh [FILE.rdb] [WORKDIR]
#
# FILE defaults to Benchmarks/data/mixed-1g.rdb (see bench-rdb.sh for how it is made; /work/bench/mixed-1g.rdb on
# the build machines). WORKDIR (default: a temporary directory, removed at the end) receives two modified copies
# made with rdbkit rewrite:
#   less.rdb  --match '*[0-8]'       keys whose name does not end in 0-8 are gone (only in A)
#   v62.rdb   --target redis-6.2     every value re-encoded for Redis 6.2 (ziplists, stream v1): equal
# Runs (each once, after a warm-up read of the files; /usr/bin/time -v for wall time and peak RSS):
#   redis-check-rdb FILE, redis-check-rdb COPY  (the reference: the sum of the two)
#   rdbkit diff FILE FILE, rdbkit diff FILE less.rdb, rdbkit diff FILE v62.rdb
# and prints a Markdown table with wall time, CPU time, peak RSS, exit status and the ratio to the reference.
# On a shared machine wall times are noisy: compare CPU times too (rdbkit diff uses two threads).
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-Benchmarks/data/mixed-1g.rdb}"
[ -f "$file" ] || { echo "missing $file (see the header of this script)" >&2; exit 1; }
work="${2:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"

[ -f "$work/less.rdb" ] || "$bin" rewrite "$file" -o "$work/less.rdb" --match '*[0-8]' >/dev/null
[ -f "$work/v62.rdb" ] || "$bin" rewrite "$file" -o "$work/v62.rdb" --target redis-6.2 >/dev/null
cat "$file" "$work/less.rdb" "$work/v62.rdb" >/dev/null  # page cache

measure() {  # name, command…  → "name seconds rss_kib status cpu_seconds"
  local name="$1"; shift
  local log; log="$(mktemp)"
  local status=0
  /usr/bin/time -v -o "$log" "$@" >/dev/null 2>/dev/null || status=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$log")
  rm -f "$log"
  echo "$name $wall $rss $status $cpu"
}

size=$(stat -L -c %s "$file")
echo "file: $file ($size bytes), $(nproc) cores"
echo
lines=()
lines+=("$(measure 'redis-check-rdb_A' redis-check-rdb "$file")")
lines+=("$(measure 'redis-check-rdb_less' redis-check-rdb "$work/less.rdb")")
lines+=("$(measure 'redis-check-rdb_v62' redis-check-rdb "$work/v62.rdb")")
lines+=("$(measure 'diff_A_A' "$bin" diff "$file" "$file")")
lines+=("$(measure 'diff_A_less' "$bin" diff "$file" "$work/less.rdb")")
lines+=("$(measure 'diff_A_v62' "$bin" diff "$file" "$work/v62.rdb")")

declare -A t
for l in "${lines[@]}"; do set -- $l; t[$1]=$2; done
ref_same=$(awk -v a="${t[redis-check-rdb_A]}" 'BEGIN { print 2 * a }')
ref_less=$(awk -v a="${t[redis-check-rdb_A]}" -v b="${t[redis-check-rdb_less]}" 'BEGIN { print a + b }')
ref_v62=$(awk -v a="${t[redis-check-rdb_A]}" -v b="${t[redis-check-rdb_v62]}" 'BEGIN { print a + b }')
echo "| command | time | CPU (user+sys) | peak RSS | exit | redis-check-rdb on both files | ratio (above 1: faster) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for l in "${lines[@]}"; do
  set -- $l
  ref=""
  case "$1" in
    diff_A_A) ref=$ref_same ;;
    diff_A_less) ref=$ref_less ;;
    diff_A_v62) ref=$ref_v62 ;;
  esac
  rss=$(awk -v k="$3" 'BEGIN { printf "%.1f MiB", k / 1024 }')
  if [ -n "$ref" ]; then
    ratio=$(awk -v r="$ref" -v x="$2" 'BEGIN { printf "%.2f", r / x }')
    echo "| ${1//_/ } | $2 s | $5 s | $rss | $4 | $ref s | $ratio |"
  else
    echo "| ${1//_/ } | $2 s | $5 s | $rss | $4 | | |"
  fi
done
