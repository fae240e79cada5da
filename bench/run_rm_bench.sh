#!/usr/bin/env bash
# `smolvm run --rm -- true` end to end, as a user types it: from the
# template (the default) beside a cold boot (SMOLVM_TEMPLATE=0), interleaved
# run by run so both see the same machine; prints p50/p95 and the ratio.
#
# usage: bench/run_rm_bench.sh [RUNS]   (default 10; SMOLVM_BUILD_DIR, as run.sh)
# VMs run under a throwaway SMOLVM_STATE_DIR; the template is the cache's
# (made by the first default run if there is none).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
smolvm=${SMOLVM_BUILD_DIR:-$root/build}/bin/smolvm
runs=${1:-10}
state=$(mktemp -d /tmp/smolvm-runrm.XXXXXX)
trap 'rm -rf "$state"' EXIT
export SMOLVM_STATE_DIR=$state
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
"$smolvm" run --rm -- true >/dev/null  # the template exists from here on
tmpl=() cold=()
for ((r = 0; r < runs; r++)); do
  if ((r % 2 == 0)); then
    tmpl+=("$(ms "$smolvm" run --rm -- true)")
    cold+=("$(SMOLVM_TEMPLATE=0 ms "$smolvm" run --rm -- true)")
  else
    cold+=("$(SMOLVM_TEMPLATE=0 ms "$smolvm" run --rm -- true)")
    tmpl+=("$(ms "$smolvm" run --rm -- true)")
  fi
done
p() { local q=$1; shift; printf '%s\n' "$@" | sort -n | awk -v q="$q" '{a[NR]=$1} END{i=int(NR*q/100+0.999); if(i<1)i=1; print a[i]}'; }
t50=$(p 50 "${tmpl[@]}") t95=$(p 95 "${tmpl[@]}") c50=$(p 50 "${cold[@]}") c95=$(p 95 "${cold[@]}")
echo "## \`smolvm run --rm -- true\`: $runs runs each, interleaved (load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "| boot | p50 ms | p95 ms |"
echo "|---|---:|---:|"
echo "| from the template (default) | $t50 | $t95 |"
echo "| cold (SMOLVM_TEMPLATE=0) | $c50 | $c95 |"
echo
awk -v t="$t50" -v c="$c50" 'BEGIN{printf "ratio (p50): %.2f\n", t / c}'
