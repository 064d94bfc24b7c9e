#!/usr/bin/env bash
# Copies the generated RDB and AOF corpus from ../shared/corpus/generated into Tests/Fixtures/corpus.
#
#   bash Tests/Fixtures/update-fixtures.sh [SHARED_CORPUS_GENERATED_DIR]
#
# Per server: every rdb/*.rdb, every rdb/*.expected.json compressed with `gzip -9n` (no name, no
# timestamp, so reruns are byte-identical) to .expected.json.gz, rdb/big.expected.json.gz as is,
# and broken/rdb/*.rdb with verdicts.json and index.json.
# AOF: every aof/<variant>/ (appendonly.aof or appendonlydir/), aof/<variant>.expected.json as
# .expected.json.gz, aof/<variant>.commands.txt, and broken/aof/<case>/{input,fixed,result}/.
# The relative layout is the one of ../shared/corpus/generated/<server>/, so the paths of
# verdicts.json (cwd + args) resolve inside the copy.
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
  if [ -d "$in/aof" ]; then
    mkdir -p "$out/aof"
    for d in "$in"/aof/*/; do
      variant="$(basename "$d")"
      cp -R "$d" "$out/aof/$variant"
      if [ -e "$in/aof/$variant.expected.json" ]; then
        gzip -9n -c "$in/aof/$variant.expected.json" > "$out/aof/$variant.expected.json.gz"
      fi
      if [ -e "$in/aof/$variant.commands.txt" ]; then
        cp "$in/aof/$variant.commands.txt" "$out/aof/"
      fi
    done
  fi
  if [ -d "$in/broken/aof" ]; then
    for d in "$in"/broken/aof/*/; do
      name="$(basename "$d")"
      mkdir -p "$out/broken/aof/$name"
      for part in input fixed result; do
        if [ -d "$d$part" ]; then cp -R "$d$part" "$out/broken/aof/$name/$part"; fi
      done
    done
  fi
  cp "$in/verdicts.json" "$in/index.json" "$out/"
  # The shared corpus is read-only; the copies get normal permissions (files 644, directories 755).
  chmod -R u+w,go-w,a+rX "$out"
  aofs=0
  [ -d "$out/aof" ] && aofs=$(find "$out/aof" -mindepth 1 -maxdepth 1 -type d | wc -l)
  brokenaof=0
  [ -d "$out/broken/aof" ] && brokenaof=$(find "$out/broken/aof" -mindepth 1 -maxdepth 1 -type d | wc -l)
  echo "update-fixtures: $server: $(ls "$out/rdb" | grep -c '\.rdb$') rdb, $(ls "$out/broken/rdb" | wc -l) broken rdb, $aofs aof, $brokenaof broken aof"
done
