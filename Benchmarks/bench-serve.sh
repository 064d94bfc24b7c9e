#!/usr/bin/env bash
# GET throughput of `rdbkit serve` beside redis-server 7.0 on the same data (a benchmark, not a test).
#
#   Benchmarks/bench-serve.sh [KEYS] [REQUESTS] [PIPELINE] [CLIENTS]
#
# Fills a scratch redis-server with KEYS string keys (redis-benchmark's key:__rand_int__ names, 100-byte values),
# SAVEs it, serves that RDB with `rdbkit serve` (release build), then runs
# `redis-benchmark -t get -P PIPELINE -c CLIENTS -n REQUESTS -r KEYS` against both and prints the two rates and
# their ratio. Defaults: 100000 keys, 2000000 requests, pipeline 16, 50 clients. Needs Debian's redis-server
# and redis-tools (redis-benchmark). Both servers run on this machine, beside the benchmark client.
set -euo pipefail
cd "$(dirname "$0")/.."
keys="${1:-100000}"
requests="${2:-2000000}"
pipeline="${3:-16}"
clients="${4:-50}"
swift build -c release --product rdbkit >/dev/null
bin="$(swift build -c release --show-bin-path)/rdbkit"
dir="$(mktemp -d)"
redis_port=7390
serve_port=7391
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$dir"
}
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  --dbfilename bench.rdb --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done
redis-benchmark -p "$redis_port" -t set -n "$((keys * 3))" -r "$keys" -d 100 -P 64 -q >/dev/null
redis-cli -p "$redis_port" save >/dev/null
echo "data: $(redis-cli -p "$redis_port" dbsize) keys, $(stat -c %s "$dir/bench.rdb") bytes of RDB"

"$bin" serve --port "$serve_port" "$dir/bench.rdb" 2>"$dir/serve.log" &
serve_pid=$!
until redis-cli -p "$serve_port" ping >/dev/null 2>&1; do sleep 0.1; done
head -1 "$dir/serve.log"

rate() {   # rate PORT → requests per second of GET
  redis-benchmark -p "$1" -t get -P "$pipeline" -c "$clients" -n "$requests" -r "$keys" -q \
    | tr '\r' '\n' | grep -Eo 'GET: [0-9.]+' | tail -1 | grep -Eo '[0-9.]+'
}
rate "$redis_port" >/dev/null   # warm-up
rate "$serve_port" >/dev/null
redis_rate=$(rate "$redis_port")
serve_rate=$(rate "$serve_port")
echo "redis-benchmark -t get -P $pipeline -c $clients -n $requests -r $keys"
echo "| server | GET requests/s |"
echo "|---|---|"
echo "| redis-server $(redis-server --version | grep -Eo 'v=[0-9.]+' | cut -c3-) | $redis_rate |"
echo "| rdbkit serve | $serve_rate |"
awk -v a="$serve_rate" -v b="$redis_rate" 'BEGIN { printf "rdbkit serve / redis-server: %.2f\n", a / b }'
