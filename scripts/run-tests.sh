#!/usr/bin/env bash
# Builds and runs the whole test suite; fails when a test fails or when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
swift test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Swift Testing prints "Test run with N tests ... passed/failed"; XCTest "Executed N tests".
n=$(grep -Eo 'Test run with [0-9]+ test' "$log" | grep -Eo '[0-9]+' | tail -1)
if [ -z "$n" ] || [ "$n" -eq 0 ]; then
  echo "run-tests: no test was executed" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "run-tests: swift test failed (exit $status)" >&2
  exit "$status"
fi
echo "run-tests: $n tests passed"
