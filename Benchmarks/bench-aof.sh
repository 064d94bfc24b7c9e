#!/usr/bin/env bash
# The AOF benchmark of README: rdbkit check beside redis-check-aof on the same AOF, in one run.
#
#   Benchmarks/bench-aof.sh [FILE.aof] [RUNS]
#
# FILE defaults to Benchmarks/data/write-500m.aof, made by
#   python3 ../shared/tools/make_bench_data.py aof --mb 500 --seed 1 --name write-500m \
#       --out-dir "$PWD/Benchmarks/data" --port 7303
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-Benchmarks/data/write-500m.aof}"
runs="${2:-3}"
[ -f "$file" ] || { echo "missing $file (see the header of this script)" >&2; exit 1; }
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
size=$(stat -L -c %s "$file")
times_file="$(mktemp)"
trap 'rm -f "$times_file"' EXIT
measure() {
  local name="$1"; shift
  "$@" >/dev/null 2>&1 || true
  local times=() rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -o "$times_file" -f '%e %M' "$@" >/dev/null 2>/dev/null || true
    local out; out=$(tail -1 "$times_file")
    times+=("${out% *}"); local r="${out#* }"; [ "$r" -gt "$rss" ] && rss=$r
  done
  echo "$name $(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') $rss"
}
ref_line="$(measure redis-check-aof redis-check-aof "$file")"
ours_line="$(measure rdbkit-check "$bin" check "$file")"
ref=$(echo "$ref_line" | cut -d' ' -f2)
echo "file: $file ($size bytes), $(nproc) cores, median of $runs runs"
echo
echo "| command | time | MB/s | peak RSS | vs redis-check-aof |"
echo "|---|---:|---:|---:|---:|"
for l in "$ref_line" "$ours_line"; do
  set -- $l
  mbs=$(awk -v s="$size" -v t="$2" 'BEGIN { printf "%.0f", s / 1e6 / t }')
  rss=$(awk -v k="$3" 'BEGIN { printf "%.1f MiB", k / 1024 }')
  ratio=$(awk -v r="$ref" -v t="$2" 'BEGIN { printf "%.2fx", r / t }')
  echo "| \`$1\` | $2 s | $mbs | $rss | $ratio |"
done
