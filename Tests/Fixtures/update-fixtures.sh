#!/usr/bin/env bash
# Copies the generated RDB corpus from ../shared/corpus/generated into Tests/Fixtures/corpus.
#
#   bash Tests/Fixtures/update-fixtures.sh [SHARED_CORPUS_GENERATED_DIR]
#
# Per server: every rdb/*.rdb, every rdb/*.expected.json compressed with `gzip -9n` (no name, no
# timestamp, so reruns are byte-identical) to .expected.json.gz, rdb/big.expected.json.gz as is,
# and broken/rdb/*.rdb with verdicts.json and index.json.
# Nothing is copied from ../shared/corpus/upstream: those files are used from ../shared only (licensing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/../../../shared/corpus/generated}"
dst="$here/corpus"
servers=(redis-6.0.9 redis-6.2 redis-7.0.15 redis-stack-7.4 valkey-9.1)

if [ ! -d "$src" ]; then
  echo "update-fixtures: $src not found" >&2
  exit 1
fi
src="$(cd "$src" && pwd)"

for server in "${servers[@]}"; do
  in="$src/$server"
  out="$dst/$server"
  [ -d "$in/rdb" ] || { echo "update-fixtures: $in/rdb not found" >&2; exit 1; }
  rm -rf "$out"
  mkdir -p "$out/rdb" "$out/broken/rdb"
  for f in "$in"/rdb/*.rdb; do
    cp "$f" "$out/rdb/"
  done
  for f in "$in"/rdb/*.expected.json; do
    gzip -9n -c "$f" > "$out/rdb/$(basename "$f").gz"
  done
  for f in "$in"/rdb/*.expected.json.gz; do
    [ -e "$f" ] && cp "$f" "$out/rdb/"
  done
  for f in "$in"/broken/rdb/*.rdb; do
    cp "$f" "$out/broken/rdb/"
  done
  cp "$in/verdicts.json" "$in/index.json" "$out/"
  chmod -R u+w "$out"
  echo "update-fixtures: $server: $(ls "$out/rdb" | grep -c '\.rdb$') rdb, $(ls "$out/broken/rdb" | wc -l) broken"
done
