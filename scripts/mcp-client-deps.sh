#!/usr/bin/env bash
# Installs the MCP client that tests/cli/mcp drives `smolvm mcp` with: the
# official TypeScript SDK from npm, at the exact version pinned by
# tests/cli/mcp/package.json and package-lock.json. It goes into
# ~/.cache/smolvm/npm/<hash of those two files> (never into the source
# tree), once; later runs reuse it. Prints that folder.
# Usage: mcp-client-deps.sh
set -euo pipefail
src="$(cd "$(dirname "$0")/../tests/cli/mcp" && pwd)"
command -v npm >/dev/null || { echo "mcp-client-deps: npm is missing (scripts/install-deps.sh installs nodejs)" >&2; exit 1; }
key="$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/smolvm/npm"
dest="$cache/$key"
if [ ! -f "$dest/.complete" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.install.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  cp "$src/package.json" "$src/package-lock.json" "$tmp/"
  # npm ci installs exactly the lock file's versions and refuses a lock
  # that does not match package.json. No install scripts run.
  (cd "$tmp" && npm_config_update_notifier=false npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  touch "$tmp/.complete"
  # Another run may have finished first: its copy is as good as ours.
  mv -T "$tmp" "$dest" 2>/dev/null || true
fi
echo "$dest"
