#!/usr/bin/env bash
# Runs the network tests inside network namespaces made here, once per
# network plugin, and deletes them afterwards. Nothing leaves them:
#
#   [ns host: VMs, TAPs, nftables/iptables] --veth 10.254.0.1/30 -- 10.254.0.2/30 [ns upstream: HTTP server]
#
# usage: run_in_netns.sh NET_TESTS_BINARY [plugin...]
set -euo pipefail
bin=$1; shift
plugins=("$@")
[ ${#plugins[@]} -gt 0 ] || plugins=(nftables iptables)
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: network tests need root to create network namespaces"
  exit 0
fi
tag=$$
host=svt-host-$tag
up=svt-up-$tag
www=$(mktemp -d /tmp/svt-www-XXXXXX)
cleanup() {
  ip netns pids "$up" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$host" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$host" 2>/dev/null || true
  ip netns del "$up" 2>/dev/null || true
  rm -rf "$www"
}
trap cleanup EXIT

ip netns add "$host"
ip netns add "$up"
ip link add "svt-h$tag" netns "$host" type veth peer name "svt-u$tag" netns "$up"
ip -n "$host" link set lo up
ip -n "$up" link set lo up
ip -n "$host" addr add 10.254.0.1/30 dev "svt-h$tag"
ip -n "$up" addr add 10.254.0.2/30 dev "svt-u$tag"
ip -n "$host" link set "svt-h$tag" up
ip -n "$up" link set "svt-u$tag" up
# The upstream namespace is the VMs' "internet": everything else routes to it.
ip -n "$host" route add default via 10.254.0.2

echo "hello from upstream" >"$www/hello.txt"
ip netns exec "$up" python3 -m http.server 8080 --bind 10.254.0.2 --directory "$www" \
  >"$www/upstream.log" 2>&1 &
for _ in $(seq 50); do
  ip netns exec "$host" python3 -c "import urllib.request as u; u.urlopen('http://10.254.0.2:8080/hello.txt', timeout=1)" 2>/dev/null && break
  sleep 0.1
done

status=0
for plugin in "${plugins[@]}"; do
  echo "=== network tests with network-$plugin"
  # A fresh host namespace state per plugin: no table or chain of the other.
  ip netns exec "$host" nft flush ruleset 2>/dev/null || true
  ip netns exec "$host" env SMOLVM_TEST_NETWORK="$plugin" SMOLVM_TEST_UPSTREAM_LOG="$www/upstream.log" SMOLVM_TEST_UPSTREAM_NS="$up" \
    "$bin" --gtest_filter=-NetUnshared.* || status=1
  # A namespace made with unshare -n inside ours: its /sys still shows ours.
  ip netns exec "$host" nft flush ruleset 2>/dev/null || true
  ip netns exec "$host" unshare -n env SMOLVM_TEST_NETWORK="$plugin" \
    "$bin" --gtest_filter=NetUnshared.* || status=1
done
exit $status
