#!/usr/bin/env bash
# Installs the given PyPI packages for python3 when any cannot be imported (module name = package name).
# Only PyPI is contacted (pip's default index); nothing is installed when every package imports.
set -euo pipefail
missing=()
for p in "$@"; do
  python3 -c "import $p" 2>/dev/null || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "pip installing: ${missing[*]}"
python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" \
  || python3 -m pip install --quiet --disable-pip-version-check --user "${missing[@]}" \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}"
