#!/usr/bin/env bash
# ctest's vm.cli.mcp_client: installs the pinned MCP SDK when it is not
# cached (scripts/mcp-client-deps.sh) and runs the node test with it. A
# failed install fails the test; nothing here skips.
# Usage: run.sh SMOLVM_CLI
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
SMOLVM_MCP_SDK_DIR="$("$here/../../../scripts/mcp-client-deps.sh")"
export SMOLVM_MCP_SDK_DIR SMOLVM_CLI="$1"
exec node --test --test-reporter=spec "$here/mcp_client_test.js"
