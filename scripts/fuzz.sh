#!/usr/bin/env bash
# Fuzzes the RDB reader, the AOF scanner and the listpack, ziplist, intset, zipmap and LZF decoders with
# libFuzzer, SECONDS_PER_TARGET (default 60) per target and variant, and prints a summary.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Variants (FUZZ_VARIANTS, default "plain asan"):
#   plain  --sanitize=fuzzer: coverage only, fastest; catches traps, hangs and RSS growth.
#   asan   also AddressSanitizer: memory errors, single allocations over -malloc_limit_mb, and heap growth
#          beyond 1 MiB + RDBKIT_FUZZ_HEAP_FACTOR (default 256) x the input size (FuzzHarness).
# Other settings: FUZZ_TARGETS (default all seven: FuzzRDB FuzzAOF FuzzListpack FuzzZiplist FuzzIntset
# FuzzZipmap FuzzLZF), FUZZ_SCRATCH (build directory, default .build-fuzz), FUZZ_WORK (working corpora and
# findings, default $FUZZ_SCRATCH/work), FUZZ_MAX_LEN (default 65536 for RDB/AOF, 16384 for blobs).
#
# Seeds: Tests/Fixtures/fuzz-seeds/<target>/ (cut out of the corpus RDB files by
# `FuzzRDB --extract-seeds`, see FuzzHarness.main), plus the corpus RDB files of at most 64 KiB and every
# corpus AOF file; dictionaries for FuzzRDB and FuzzAOF in Tests/Fixtures/fuzz-dicts/. The working corpora
# persist between runs and grow.
#
# Exit status: 0 when nothing was found; 1 when any target crashed, hung (-timeout), ran out of memory
# (-rss_limit_mb / -malloc_limit_mb) or exceeded the heap allowance: the reproducers stay under
# $FUZZ_WORK/findings/<target>-<variant>/ (replay one with the binary the summary names, or with a plain
# `swift build --product FuzzX && .build/debug/FuzzX FILE`). 2 when a build failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-60}
SCRATCH=${FUZZ_SCRATCH:-$ROOT/.build-fuzz}
WORK=${FUZZ_WORK:-$SCRATCH/work}
TARGETS=${FUZZ_TARGETS:-"FuzzRDB FuzzAOF FuzzListpack FuzzZiplist FuzzIntset FuzzZipmap FuzzLZF"}
VARIANTS=${FUZZ_VARIANTS:-"plain asan"}
SEEDS=$ROOT/Tests/Fixtures/fuzz-seeds
CORPUS=$ROOT/Tests/Fixtures/corpus

case $SECONDS_PER_TARGET in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 64 ;;
esac

export SWIFT_BACKTRACE=enable=no  # Swift's crash handler confuses the sanitizers and can hang
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

# --- Build -------------------------------------------------------------------------------------------------
build() {  # variant
  local flags=(-c release --scratch-path "$SCRATCH/$1" --sanitize=fuzzer -Xswiftc -DRDBKIT_FUZZING)
  if [ "$1" = asan ]; then
    # Not `--sanitize=address` too: SwiftPM passes both in random order and swiftc keeps the last.
    flags+=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -DRDBKIT_FUZZING_ASAN)
  fi
  local t log=$SCRATCH/build-$1.log
  mkdir -p "$SCRATCH"
  for t in $TARGETS; do
    echo "== build $t ($1)"
    # Retried once: a source edited while building fails it ("was modified during the build").
    if ! swift build "${flags[@]}" --product "$t" >"$log" 2>&1 && ! swift build "${flags[@]}" --product "$t" >"$log" 2>&1; then
      grep -E "error" "$log" | head -20 >&2
      echo "build of $t ($1) failed: $log" >&2
      return 1
    fi
  done
}

# --- Seeds -------------------------------------------------------------------------------------------------
seed_dir() {  # target → its seed sub-directory
  case $1 in
    FuzzRDB) echo rdb ;; FuzzAOF) echo aof ;; FuzzListpack) echo listpack ;; FuzzZiplist) echo ziplist ;;
    FuzzIntset) echo intset ;; FuzzZipmap) echo zipmap ;; FuzzLZF) echo lzf ;;
  esac
}

add_seeds() {  # target corpus-dir
  local kind
  kind=$(seed_dir "$1")
  mkdir -p "$2"
  {
    [ -d "$SEEDS/$kind" ] && find "$SEEDS/$kind" -type f
    case $kind in
      rdb) find "$CORPUS" -type f -name '*.rdb' -size -64k ;;
      aof) find "$CORPUS" -type f -path '*/aof/*' \( -name '*.aof' -o -name '*.manifest' -o -name '*.rdb' \) -size -64k ;;
    esac
  } | while read -r f; do
    local name
    name=$(sha1sum <"$f" | cut -c1-40)
    [ -e "$2/$name" ] || cp "$f" "$2/$name"
  done
}

# --- Run ---------------------------------------------------------------------------------------------------
SUMMARY=()
FOUND=0

run() {  # target variant
  local t=$1 v=$2 bin=$SCRATCH/$2/release/$1
  local corpus=$WORK/corpus/$t findings=$WORK/findings/$t-$v log=$WORK/logs/$t-$v.log
  local max_len=${FUZZ_MAX_LEN:-}
  [ -n "$max_len" ] || case $t in FuzzRDB | FuzzAOF) max_len=65536 ;; *) max_len=16384 ;; esac
  local dict=()
  case $t in
    FuzzRDB) dict=(-dict="$ROOT/Tests/Fixtures/fuzz-dicts/rdb.dict") ;;
    FuzzAOF) dict=(-dict="$ROOT/Tests/Fixtures/fuzz-dicts/aof.dict") ;;
  esac
  local rss=256
  [ "$v" = asan ] && rss=2048  # shadow memory and quarantine count in the RSS
  mkdir -p "$findings" "$WORK/logs"
  add_seeds "$t" "$corpus"
  echo "== fuzz $t ($v) for ${SECONDS_PER_TARGET}s: $(ls "$corpus" | wc -l) inputs in $corpus"
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=$rss -malloc_limit_mb=256 \
    -max_len="$max_len" -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
    "$corpus" >"$log" 2>&1
  local status=$?
  local execs cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  local new
  new=$(find "$findings" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) \
    -newer "$log.start" 2>/dev/null | sort)
  local verdict=ok
  if [ -n "$new" ] || [ $status -ne 0 ]; then
    FOUND=1
    verdict="FOUND (exit $status): $(grep -m1 -E '^==[0-9]+== ?ERROR|^ERROR: libFuzzer|Fatal error|ALARM: working on the last' "$log" | cut -c1-160)"
  fi
  SUMMARY+=("$(printf '%-13s %-5s execs %-10s cov %-6s ft %-6s corpus %-6s %s' "$t" "$v" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")")
  local f
  for f in $new; do SUMMARY+=("    reproducer: $f   (replay: $bin $f)"); done
  [ $status -ne 0 ] && [ -z "$new" ] && SUMMARY+=("    see $log")
  return 0
}

for v in $VARIANTS; do
  build "$v" || exit 2
done
for v in $VARIANTS; do
  for t in $TARGETS; do
    mkdir -p "$WORK/logs"
    touch "$WORK/logs/$t-$v.log.start"
    run "$t" "$v"
  done
done

echo
echo "== summary (${SECONDS_PER_TARGET}s per target and variant; logs in $WORK/logs)"
printf '%s\n' "${SUMMARY[@]}"
exit $FOUND
