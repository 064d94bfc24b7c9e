#!/usr/bin/env bash
# The AOF load benchmark of README: `rdbkit aof load` beside redis-server 7.0 loading the same AOF.
#
#   Benchmarks/bench-aof-load.sh [FILE.aof] [RUNS]
#
# FILE defaults to Benchmarks/data/write-500m.aof (see bench-aof.sh for how it is made). Needs Debian's
# redis-server 7.0, redis-cli and /usr/bin/time. The server row starts redis-server with appendonly on a
# copy of the file in a fresh directory (Redis 7 upgrades a lone appendonly.aof to a multi-part directory
# first, which only renames it) and times from exec to the first PING not answered LOADING; its memory is
# used_memory and the process's peak RSS (VmHWM). The rdbkit row is `rdbkit aof load FILE`, wall time and
# peak RSS from /usr/bin/time. Median of RUNS runs (default 3); prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
file="$(realpath "${1:-Benchmarks/data/write-500m.aof}")"
runs="${2:-3}"
[ -f "$file" ] || { echo "missing $file (see bench-aof.sh)" >&2; exit 1; }
server_bin="$(command -v redis-server)"
cli="$(command -v redis-cli)"
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
work="$(mktemp -d "${TMPDIR:-/tmp}/rdbkit-aofload-bench.XXXXXX")"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

server_times=() used=0 server_rss=0 server_keys=0
for _ in $(seq "$runs"); do
  rm -rf "$work/srv"; mkdir -p "$work/srv"
  cp "$file" "$work/srv/appendonly.aof"
  sync "$work/srv/appendonly.aof"
  port=$(free_port)
  t0=$(now)
  "$server_bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfilename appendonly.aof \
    --aof-use-rdb-preamble no --dir "$work/srv" --logfile "$work/srv/server.log" --daemonize no >/dev/null 2>&1 &
  server_pid=$!
  until [ "$("$cli" -p "$port" PING 2>/dev/null)" = "PONG" ]; do sleep 0.01; done
  t1=$(now)
  server_times+=("$(echo "$t1 - $t0" | bc)")
  used=$("$cli" -p "$port" INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
  server_rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  server_keys=$("$cli" -p "$port" INFO keyspace | awk -F'[=,:]' '/^db/ {s += $3} END {print s}')
  kill -9 "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""
done
rm -rf "$work/srv"

"$bin" aof load "$file" >/dev/null 2>&1 || true   # warm-up
ours_times=() ours_rss=0
for _ in $(seq "$runs"); do
  /usr/bin/time -o "$work/time" -f '%e %M' "$bin" aof load --json "$file" >"$work/out.json" 2>/dev/null
  read -r t m < <(tail -1 "$work/time")
  ours_times+=("$t"); [ "$m" -gt "$ours_rss" ] && ours_rss=$m
done
ours_keys=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"])' "$work/out.json" 2>/dev/null || echo "?")

st=$(median "${server_times[@]}"); ot=$(median "${ours_times[@]}")
echo "file: $file ($(stat -L -c %s "$file") bytes), $(nproc) cores, median of $runs runs"
echo
echo "| loader | time | memory | keys | vs redis-server |"
echo "|---|---:|---:|---:|---:|"
printf '| redis-server 7.0 (appendonly yes) | %.2f s | used_memory %.0f MiB, peak RSS %.0f MiB | %s | 1.00x |\n' \
  "$st" "$(echo "$used / 1048576" | bc -l)" "$(echo "$server_rss / 1024" | bc -l)" "$server_keys"
printf '| `rdbkit aof load` | %s s | peak RSS %.0f MiB | %s | %.2fx |\n' \
  "$ot" "$(echo "$ours_rss / 1024" | bc -l)" "$ours_keys" "$(echo "$st / $ot" | bc -l)"
