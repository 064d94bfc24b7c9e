#!/usr/bin/env bash
# The replay benchmark of README: rdbkit replay into an empty local redis-server 7.0 beside
# redis-cli --pipe of the same commands and the server's own load of the RDB, in one run.
#
#   Benchmarks/bench-replay.sh [FILE.rdb] [RUNS]
#
# FILE defaults to Benchmarks/data/mixed-1g.rdb (see Benchmarks/README.md for how it is made). Needs
# Debian's redis-server 7.0, redis-cli and /usr/bin/time. Every row starts a fresh empty server
# (no persistence) on a free loopback port and stops it after. Rows:
#
#   server load          redis-server started on the RDB: from exec to the first PING not answered LOADING
#   rdbkit sync          rdbkit replay --mode sync (the server loads the streamed RDB as a replica)
#   redis-cli restore    redis-cli --pipe of the RESTORE commands rdbkit sends (recorded once from the AOF
#                        of a server rdbkit replayed into)
#   rdbkit restore       rdbkit replay --mode restore
#   redis-cli commands   redis-cli --pipe of `rdbkit convert FILE -o x.aof` (SET/RPUSH/…/PEXPIREAT)
#   rdbkit commands      rdbkit replay --mode commands
#
# Time is wall time until the server holds every key (median of RUNS, default 1; a baseline and its rdbkit
# row run alternately); CPU and peak RSS are
# rdbkit's (or redis-cli's) own from /usr/bin/time. The ratio is the row's time over its baseline's.
set -euo pipefail
cd "$(dirname "$0")/.."
file="$(realpath "${1:-Benchmarks/data/mixed-1g.rdb}")"
runs="${2:-1}"
[ -f "$file" ] || { echo "missing $file (see Benchmarks/README.md)" >&2; exit 1; }
server_bin="$(command -v redis-server)"
cli="$(command -v redis-cli)"
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
work="$(mktemp -d "${TMPDIR:-/tmp}/rdbkit-replay-bench.XXXXXX")"   # about 3.5 GB of command streams
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {   # start_server DIR [ARGS…]: a fresh server; sets $port and $server_pid
  local dir="$1"; shift
  mkdir -p "$dir"
  port=$(free_port)
  "$server_bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/server.log" --daemonize no "$@" >/dev/null 2>&1 &
  server_pid=$!
}

wait_loaded() {    # until PING answers PONG (not LOADING)
  until [ "$("$cli" -p "$port" PING 2>/dev/null)" = "PONG" ]; do sleep 0.02; done
}

stop_server() { kill -9 "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; rm -rf "$1"; }

keys_on_server() { "$cli" -p "$port" DBSIZE; }

now() { date +%s.%N; }

results=()
record() { results+=("$1 $2 $3 $4 $5"); }   # name seconds cpu rss keys

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One measured run of a row: measure NAME CMD; CMD may use $port (eval'd). Times accumulate per row;
# CPU, RSS and keys are the last run's.
declare -A times cpus rsss keyss
measure() {
  local name="$1" cmd="$2"
  start_server "$work/srv"; wait_loaded
  local t0 t1
  t0=$(now)
  eval "/usr/bin/time -o '$work/time' -f '%U %S %M' $cmd" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; }
  t1=$(now)
  keyss[$name]=$(keys_on_server)
  read -r u s m < <(tail -1 "$work/time")
  times[$name]="${times[$name]:-} $(echo "$t1 - $t0" | bc)"
  cpus[$name]=$(echo "$u + $s" | bc); rsss[$name]=$m
  stop_server "$work/srv"
}
finish_row() { record "$1" "$(median ${times[$1]})" "${cpus[$1]}" "${rsss[$1]}" "${keyss[$1]}"; }

# A baseline and rdbkit's row, run alternately (the machine's speed drifts between minutes; alternating
# puts both rows under the same drift): pair NAME-A CMD-A NAME-B CMD-B.
pair() {
  for _ in $(seq "$runs"); do measure "$1" "$2"; measure "$3" "$4"; done
  finish_row "$1"; finish_row "$3"
}

# The server's own load.
load_times=()
for _ in $(seq "$runs"); do
  mkdir -p "$work/load"; ln -sf "$file" "$work/load/dump.rdb"
  t0=$(now)
  start_server "$work/load" --dbfilename dump.rdb
  wait_loaded
  t1=$(now)
  lkeys=$(keys_on_server)
  stop_server "$work/load"
  load_times+=("$(echo "$t1 - $t0" | bc)")
done
record "server-load" "$(median "${load_times[@]}")" "-" "-" "$lkeys"

for _ in $(seq "$runs"); do measure rdbkit-sync "'$bin' replay '$file' --to redis://127.0.0.1:\$port --mode sync"; done
finish_row rdbkit-sync

# The RESTORE stream: what rdbkit sends, as the server's AOF recorded it.
start_server "$work/rec" --appendonly yes --appendfsync no --auto-aof-rewrite-percentage 0 --dbfilename dump.rdb
wait_loaded
"$bin" replay "$file" --to "redis://127.0.0.1:$port" --mode restore >/dev/null 2>&1
"$cli" -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
wait "$server_pid" 2>/dev/null || true; server_pid=""
restore_stream="$(ls "$work"/rec/appendonlydir/*.incr.aof | head -1)"
mv "$restore_stream" "$work/restore.resp"; rm -rf "$work/rec"
pair redis-cli-restore "'$cli' -p \$port --pipe < '$work/restore.resp'" \
  rdbkit-restore "'$bin' replay '$file' --to redis://127.0.0.1:\$port --mode restore"
rm -f "$work/restore.resp"

"$bin" convert "$file" -o "$work/commands.aof" >/dev/null
pair redis-cli-commands "'$cli' -p \$port --pipe < '$work/commands.aof'" \
  rdbkit-commands "'$bin' replay '$file' --to redis://127.0.0.1:\$port --mode commands"
rm -f "$work/commands.aof"

get() { for r in "${results[@]}"; do set -- $r; [ "$1" = "$2" ] && { echo "$3"; return; }; done; }
size=$(stat -L -c %s "$file")
echo "file: $file ($size bytes), $(nproc) cores, redis-server $("$server_bin" --version | sed 's/.*v=\([^ ]*\).*/\1/'), median of $runs runs"
echo
echo "| row | time | keys | CPU (client) | peak RSS (client) | vs baseline |"
echo "|---|---:|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  set -- $r
  base=""
  case "$1" in
    rdbkit-sync) base=server-load ;;
    rdbkit-restore) base=redis-cli-restore ;;
    rdbkit-commands) base=redis-cli-commands ;;
  esac
  ratio="—"
  if [ -n "$base" ]; then
    for b in "${results[@]}"; do set -- $b; [ "$1" = "$base" ] && bt=$2; done
    set -- $r
    ratio=$(echo "scale=2; $2 / $bt" | bc)x
  fi
  rss="$4"; [ "$rss" != "-" ] && rss="$((rss / 1024)) MiB"
  cpu="$3"; [ "$cpu" != "-" ] && cpu="${cpu} s"
  printf '| %s | %.1f s | %s | %s | %s | %s |\n' "$1" "$2" "$5" "$cpu" "$rss" "$ratio"
done
