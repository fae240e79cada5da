#!/usr/bin/env bash
# Runs the SmolVM benchmark suite with one command and writes bench/results/:
# lifecycle.json, density.json, concurrency.json (with the host, accel, CPU,
# kernel, QEMU version and load of each run), results.md (every table),
# chart.png and README-section.md, then prints the comparison with the numbers
# SmolVM's docs state.
#
# usage: bench/run.sh [--quick] [--only lifecycle,ssh,stream,concurrency,density]
#                     [--runs N] [--vms N] [--idle S] [--seconds S]
#   --quick    smoke run in under 5 minutes: 3 lifecycle runs, 2 fork-of-10
#              runs, 2 SSH runs, 3
#              streamed-output runs, 8 VMs idle 10 s, 3 s per concurrency cell
#              (K = 1, 2, 4)
#   default    20 lifecycle runs, 10 fork-of-10 runs (each beside 10 cold
#              VMs), 10 SSH runs, 10 streamed-output runs (1 and 64 MiB), 48
#              VMs of 128 MiB idle 30 s, 10 s per cell (K = 1, 2, 4, 8): about
#              17 minutes on 2 TCG cores
# Builds into $SMOLVM_BUILD_DIR (default build/) and needs the guest image
# (built if missing: `smolvm image build`, about 5 minutes the first time).
# VMs run under a throwaway SMOLVM_STATE_DIR in /tmp (the user's own VMs are
# never touched), with network=none, except the SSH-ready runs: they need a
# TAP and rules, so they run inside network namespaces made here and deleted
# afterwards (needs root; skipped otherwise). Nothing touches the host's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMOLVM_BUILD_DIR:-$root/build}
results=$root/bench/results
runs=20 fork_runs=10 ssh_runs=10 stream_runs=10 execs=10 vms=48 idle=30 seconds=10 clients=1,2,4,8
only=lifecycle,ssh,stream,concurrency,density
while [ $# -gt 0 ]; do
  case $1 in
    --quick) runs=3 fork_runs=2 ssh_runs=2 stream_runs=3 execs=5 vms=8 idle=10 seconds=3 clients=1,2,4 ;;
    --only) only=$2; shift ;;
    --runs) runs=$2; shift ;;
    --vms) vms=$2; shift ;;
    --idle) idle=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# Configure every time (cheap): a build folder made before bench/ had its
# targets learns them.
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target lifecycle_bench stream_bench density_bench concurrency_bench \
  smolvm-cli smolvm-agent smolvm-executor-ssh smolvm-network-nftables >/dev/null
"$build/bin/smolvm" image build --quiet >/dev/null
mkdir -p "$results"

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
has() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }
if has lifecycle; then
  echo "== lifecycle: $runs runs"
  "$build/bin/lifecycle_bench" --runs "$runs" --execs "$execs" --fork-runs "$fork_runs" \
    --json "$results/lifecycle.json" >"$results/lifecycle.md"
fi
if has ssh; then
  rm -f "$results/ssh.json"
  if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null; then
    echo "== SSH ready: skipped (needs root and nft to make a network namespace)"
  else
    echo "== SSH ready: $ssh_runs runs in a network namespace"
    tag=$$ ns=svb-host-$$ up=svb-up-$$
    cleanup_ns() {
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns del "$ns" 2>/dev/null || true
      ip netns del "$up" 2>/dev/null || true
    }
    trap cleanup_ns EXIT
    # [ns: VMs, TAPs, nftables] --veth-- [ns up: the VMs' "internet", empty]
    ip netns add "$ns"
    ip netns add "$up"
    ip link add "svb-h$tag" netns "$ns" type veth peer name "svb-u$tag" netns "$up"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 10.254.1.1/30 dev "svb-h$tag"
    ip -n "$up" addr add 10.254.1.2/30 dev "svb-u$tag"
    ip -n "$ns" link set "svb-h$tag" up
    ip -n "$up" link set "svb-u$tag" up
    ip -n "$ns" route add default via 10.254.1.2
    ip netns exec "$ns" "$build/bin/lifecycle_bench" --ssh nftables --runs "$ssh_runs" \
      --execs "$execs" --json "$results/ssh.json" >"$results/ssh.md" ||
      echo "SSH ready: the run failed (see above); no ssh.json"
    cleanup_ns
    trap - EXIT
  fi
fi
if has stream; then
  echo "== streamed output: $stream_runs runs"
  "$build/bin/stream_bench" --runs "$stream_runs" --json "$results/stream.json" >"$results/stream.md"
fi
# Concurrency before density: 48 VMs leave the host busy for a while.
if has concurrency; then
  echo "== concurrency: clients $clients, $seconds s each"
  "$build/bin/concurrency_bench" --clients "$clients" --seconds "$seconds" \
    --json "$results/concurrency.json" >"$results/concurrency.md"
fi
if has density; then
  echo "== density: $vms VMs, idle $idle s"
  "$build/bin/density_bench" --vms "$vms" --idle "$idle" \
    --json "$results/density.json" >"$results/density.md"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$root/bench/report.py" "$results"
