#!/usr/bin/env bash
# Regenerates the sample RDB files in this folder from real servers.
#
#   bash Samples/make-samples.sh [SERVERS_DIR]
#
# Needs Debian's redis-server and redis-cli (7.0). With SERVERS_DIR (the WORKDIR given to
# ../shared/tools/setup_servers.sh) it also writes the Valkey 9.1 and Redis 7.4 samples.
# Each server runs on 127.0.0.1 only, in a temporary directory, and is shut down at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
servers="${1:-}"
port=7390

run_sample() {   # run_sample NAME SERVER_BINARY [extra config...]
  local name="$1" bin="$2"; shift 2
  local dir; dir="$(mktemp -d)"
  "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log" "$@"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fill "$name"
  redis-cli -p "$port" save >/dev/null
  cp "$dir/dump.rdb" "$here/$name.rdb"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  sleep 0.3
  rm -rf "$dir"
  echo "wrote Samples/$name.rdb ($(stat -c %s "$here/$name.rdb") bytes)"
}

cli() { redis-cli -p "$port" "$@" >/dev/null; }

fill() {
  local name="$1"
  cli set greeting "hello, world"
  cli set counter 42
  cli set big:int 9223372036854775807
  cli set "user:1000:name" "Ada Lovelace" 
  cli set "user:1001:name" "Alan Turing"
  cli set session:9f1c "token-abc" PX 86400000
  cli set compressible "$(printf 'abcabcabc%.0s' $(seq 1 40))"
  printf 'binary\x00\xffvalue' | redis-cli -p "$port" -x set binary:key >/dev/null
  cli rpush queue:jobs job-1 job-2 job-3 17 -5
  cli sadd tags redis valkey rdb
  cli sadd ids 1 2 3 1000000
  cli zadd leaderboard 100 alice 250.5 bob -3 carol inf dave
  cli hset "user:1000" name Ada born 1815 lang "Analytical Engine"
  cli xadd events 1700000000000-0 type login user 1000
  cli xadd events 1700000000001-0 type logout user 1000
  cli xadd events 1700000000002-0 type login user 1001
  cli xgroup create events auditors 0
  redis-cli -p "$port" xreadgroup group auditors checker count 2 streams events '>' >/dev/null
  cli xack events auditors 1700000000000-0
  cli select 3
  cli -n 3 set other:db "in database 3"
  case "$name" in
    redis-7.0-*|redis-7.4-*)
      printf '#!lua name=samplelib\nredis.register_function("hello", function() return "hi" end)\n' \
        | redis-cli -p "$port" -x function load >/dev/null ;;
  esac
  case "$name" in
    redis-7.4-*|valkey-9.1-*)
      cli hset "hfe:cart" apples 3 pears 5 plums 7
      cli hpexpireat "hfe:cart" 4102444800000 fields 2 apples pears ;;
  esac
}

run_sample redis-7.0-mixed "$(command -v redis-server)"

if [ -n "$servers" ]; then
  run_sample valkey-9.1-mixed "$servers/bin/valkey-9.1/valkey-server"
  LD_LIBRARY_PATH="$servers/bin/ssl11" run_sample redis-7.4-mixed "$servers/bin/redis-stack-7.4/redis-server"
fi
