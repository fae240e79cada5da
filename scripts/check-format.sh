#!/usr/bin/env bash
# Fails if any C/C++ source of the project is not clang-format clean.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bad=$(git ls-files -co --exclude-standard -- '*.c' '*.cpp' '*.h' \
  | grep -v -E '^(build|bindings/.*/generated)/' \
  | xargs -r clang-format --dry-run 2>&1 | grep -E '^[^ ].*: (warning|error):' | cut -d: -f1 | sort -u || true)
if [ -n "$bad" ]; then
  echo "not clang-format clean (run: clang-format -i FILE):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "format: clean"
