#!/usr/bin/env bash
# rdbkit check and redis-check-rdb on the same RDB, alternately, PAIRS times: each pair's times and ratio,
# then the median ratio. This machine's speed drifts by up to 30 % between minutes; a ratio taken within
# one pair (two runs seconds apart) is steadier than two medians taken minutes apart.
#
#   Benchmarks/bench-check-pairs.sh [FILE.rdb] [PAIRS]
#
# FILE defaults to Benchmarks/data/mixed-1g.rdb (see bench-rdb.sh for how to make it); PAIRS to 9.
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-Benchmarks/data/mixed-1g.rdb}"
pairs="${2:-9}"
[ -f "$file" ] || { echo "missing $file (see the header of Benchmarks/bench-rdb.sh)" >&2; exit 1; }
command -v redis-check-rdb >/dev/null || { echo "redis-check-rdb not found (apt install redis-server)" >&2; exit 1; }
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
t="$(mktemp)"
trap 'rm -f "$t"' EXIT
cat "$file" >/dev/null   # into the page cache
"$bin" check "$file" >/dev/null   # warm-up; also fails the script if the file does not check
ratios=()
echo "| pair | rdbkit check | CPU (user+sys) | peak RSS | redis-check-rdb | ratio |"
echo "|---:|---:|---:|---:|---:|---:|"
for i in $(seq "$pairs"); do
  /usr/bin/time -o "$t" -f '%e %U %S %M' "$bin" check "$file" >/dev/null
  read -r ours user sys rss < "$t"
  /usr/bin/time -o "$t" -f '%e' redis-check-rdb "$file" >/dev/null
  read -r theirs < "$t"
  ratio=$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')
  ratios+=("$ratio")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  echo "| $i | $ours s | $cpu s | $(awk -v k="$rss" 'BEGIN { printf "%.1f MiB", k / 1024 }') | $theirs s | ${ratio}x |"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo
echo "median ratio over $pairs pairs: ${median}x (redis-check-rdb's time / rdbkit check's)"
