#!/usr/bin/env bash
# Runs the benchmarks and writes bench/results/lifecycle.{json,md}.
# usage: bench/run.sh [--runs N] [--execs M]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" >/dev/null
"$build/bin/smolvm" image build --quiet >/dev/null
mkdir -p "$root/bench/results"
"$build/bin/lifecycle_bench" --json "$root/bench/results/lifecycle.json" "$@" \
  | tee "$root/bench/results/lifecycle.md"
