#!/usr/bin/env bash
# The RDB benchmark of README: rdbkit beside redis-check-rdb and cat on the same file, in one run.
#
#   Benchmarks/bench-rdb.sh [FILE.rdb] [RUNS]
#
# FILE defaults to Benchmarks/data/mixed-1g.rdb, made by
#   python3 ../shared/tools/make_bench_data.py rdb --scale 10 --seed 1 --name mixed-1g \
#       --out-dir "$PWD/Benchmarks/data" --port 7301   (an absolute path: the script starts redis-server elsewhere)
# (needs Debian's redis-server 7.0 and redis-cli). Prints a Markdown table: median wall time over
# RUNS runs (default 3, rows run round-robin) after one warm-up, MB/s, peak RSS (from /usr/bin/time -v), and the ratio
# to redis-check-rdb (its time divided by the command's: above 1 is faster). Every command reads the file from the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-Benchmarks/data/mixed-1g.rdb}"
runs="${2:-3}"
[ -f "$file" ] || { echo "missing $file (see the header of this script)" >&2; exit 1; }
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
check="$(command -v redis-check-rdb || true)"
size=$(stat -L -c %s "$file")
times_file="$(mktemp)"
trap 'rm -f "$times_file"' EXIT

# Rows as NAME and a command line (eval'd). Each row is warmed up once, then the rows run round-robin,
# RUNS rounds: every row sees the same drift of the machine's speed (it drifts by 10-30 % over minutes),
# so the ratios to redis-check-rdb hold within a run.
out_dir="$(mktemp -d -p "$(dirname "$file")")"
trap 'rm -f "$times_file"; rm -rf "$out_dir"' EXIT
names=(); cmds=()
row() { names+=("$1"); cmds+=("$2"); }
q="'$file'"
row cat "cat $q"
[ -n "$check" ] && row redis-check-rdb "'$check' $q"
row rdbkit-info "'$bin' info $q"
row rdbkit-info-skip "'$bin' info --skip-values $q"
row rdbkit-json "'$bin' json $q"
row rdbkit-json-1 "'$bin' json --threads 1 $q"
row rdbkit-check "'$bin' check $q"
row rdbkit-memory-csv "'$bin' memory $q"
row rdbkit-memory-prefix "'$bin' memory --by-prefix --top 100 --format table $q"
row rdbkit-rewrite "'$bin' rewrite $q -o '$out_dir/identity.rdb'"
row rdbkit-rewrite-match "'$bin' rewrite $q -o '$out_dir/match.rdb' --match 'user:*'"

declare -A times rss
for i in "${!names[@]}"; do eval "${cmds[$i]}" >/dev/null 2>&1 || true; done   # warm-up
for _ in $(seq "$runs"); do
  for i in "${!names[@]}"; do
    n="${names[$i]}"
    eval "/usr/bin/time -o '$times_file' -f '%e %M' ${cmds[$i]}" >/dev/null 2>/dev/null || true
    out=$(tail -1 "$times_file")
    times[$n]="${times[$n]:-} ${out% *}"
    r="${out#* }"; [ "$r" -gt "${rss[$n]:-0}" ] && rss[$n]=$r
  done
done
results=()
for n in "${names[@]}"; do
  median=$(printf '%s\n' ${times[$n]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  results+=("$n $median ${rss[$n]}")
done

ref=""
for r in "${results[@]}"; do set -- $r; [ "$1" = "redis-check-rdb" ] && ref=$2; done
echo "file: $file ($size bytes), $(nproc) cores, median of $runs runs"
echo
echo "| command | what it does | time | MB/s | peak RSS | vs redis-check-rdb |"
echo "|---|---|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  set -- $r
  case "$1" in
    cat) what="read the file (cat > /dev/null)";;
    redis-check-rdb) what="full parse + CRC64 (redis-check-rdb 7.0)";;
    rdbkit-info) what="full parse + CRC64, every value decoded (rdbkit info)";;
    rdbkit-info-skip) what="records only, values skipped by length + CRC64 (rdbkit info --skip-values)";;
    rdbkit-json) what="JSON Lines of every key to /dev/null, two cores (rdbkit json)";;
    rdbkit-json-1) what="the same on one core (rdbkit json --threads 1)";;
    rdbkit-check) what="deep check: every value decoded and validated, duplicates, CRC64 (rdbkit check)";;
    rdbkit-memory-csv) what="per-key memory CSV, two cores (rdbkit memory)";;
    rdbkit-memory-prefix) what="prefix tree + top 100 report (rdbkit memory --by-prefix --top 100)";;
    rdbkit-rewrite) what="identity rewrite, values copied byte for byte, written and synced (rdbkit rewrite)";;
    rdbkit-rewrite-match) what="rewrite --match 'user:*' (half the keys)";;
  esac
  mbs=$(awk -v s="$size" -v t="$2" 'BEGIN { printf "%.0f", s / 1e6 / t }')
  rss=$(awk -v k="$3" 'BEGIN { printf "%.1f MiB", k / 1024 }')
  ratio="—"
  [ -n "$ref" ] && ratio=$(awk -v r="$ref" -v t="$2" 'BEGIN { printf "%.2fx", r / t }')
  [ "$1" = "redis-check-rdb" ] && ratio="1.00x"
  echo "| \`$1\` | $what | $2 s | $mbs | $rss | $ratio |"
done
