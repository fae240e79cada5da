// `smolvm mcp` driven by a client no one here wrote: the official MCP
// TypeScript SDK (pinned in package.json, installed by
// scripts/mcp-client-deps.sh), over its StdioClientTransport, on real VMs:
// initialize, tools/list, every tool, bad arguments as MCP errors, and the
// session's sandboxes deleted when the client closes (persistent ones
// kept) and when the server gets SIGTERM, SIGINT or SIGKILL. One VM boots;
// the others are restored from its snapshot.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { createRequire } = require('node:module');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const sdkDir = process.env.SMOLVM_MCP_SDK_DIR;
const smolvm = process.env.SMOLVM_CLI;
if (!smolvm) throw new Error('SMOLVM_CLI (the smolvm binary) is not set: run through tests/cli/mcp/run.sh');
if (!sdkDir || !fs.existsSync(path.join(sdkDir, 'node_modules/@modelcontextprotocol/sdk/package.json'))) {
  throw new Error(`the MCP SDK is not installed in SMOLVM_MCP_SDK_DIR=${sdkDir}: run scripts/mcp-client-deps.sh`);
}
const sdk = createRequire(path.join(sdkDir, 'package.json'));
const { Client } = sdk('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = sdk('@modelcontextprotocol/sdk/client/stdio.js');
const { McpError, ErrorCode, EmptyResultSchema } = sdk('@modelcontextprotocol/sdk/types.js');
const sdkVersion = JSON.parse(fs.readFileSync(
  path.join(sdkDir, 'node_modules/@modelcontextprotocol/sdk/package.json'), 'utf8')).version;

const LONG = { timeout: 300000 };  // a boot or snapshot under TCG

function cli(...args) {
  return execFileSync(smolvm, args, { encoding: 'utf8' });
}
function vmIds() {
  return cli('ls', '-q').split('\n').filter(Boolean);
}

async function connect() {
  const transport = new StdioClientTransport({ command: smolvm, args: ['mcp'], env: process.env, stderr: 'pipe' });
  const stderr = [];
  transport.stderr.on('data', (d) => stderr.push(d.toString()));
  const client = new Client({ name: 'smolvm-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr, transport };
}

// A tool's structured result; fails on isError.
async function call(client, name, args, options = LONG) {
  const r = await client.callTool({ name, arguments: args }, undefined, options);
  assert.equal(r.isError, false, `${name} failed: ${JSON.stringify(r.content)}`);
  assert.equal(r.content[0].type, 'text');
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return r.structuredContent;
}

// A tool's own failure: a result with isError and a text saying why.
async function failure(client, name, args) {
  const r = await client.callTool({ name, arguments: args }, undefined, LONG);
  assert.equal(r.isError, true, `${name} should fail: ${JSON.stringify(r)}`);
  return r.content[0].text;
}

async function mcpError(promise, code, says) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof McpError, `not an McpError: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, says);
    return true;
  });
}

test(`smolvm mcp with @modelcontextprotocol/sdk ${sdkVersion}`, async (t) => {
  const before = new Set(vmIds());
  const { client, stderr } = await connect();
  let id, snapshot, kept;
  try {
    await t.test('initialize: server info, tools capability, a version the SDK speaks', async () => {
      assert.equal(client.getServerVersion().name, 'smolvm');
      assert.ok(client.getServerCapabilities().tools);
      assert.match(client.getInstructions(), /create_sandbox/);
      await client.ping();
    });

    await t.test('tools/list: every tool with a description and an object schema', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), [
        'create_sandbox', 'delete_sandbox', 'expose_port', 'list_sandboxes', 'read_file',
        'restore_sandbox', 'run_command', 'snapshot_sandbox', 'write_file']);
      for (const tool of tools) {
        assert.equal(tool.inputSchema.type, 'object', tool.name);
        assert.ok(tool.description.length > 40, tool.name);
      }
    });

    await t.test('bad arguments, tools and methods are MCP errors, not crashes', async () => {
      await mcpError(client.callTool({ name: 'create_sandbox', arguments: { memory_mib: 64 } }),
        ErrorCode.InvalidParams, /create_sandbox\.memory_mib=64: must be 128\.\.16384/);
      await mcpError(client.callTool({ name: 'run_command', arguments: { id: 'x' } }),
        ErrorCode.InvalidParams, /command is required/);
      await mcpError(client.callTool({ name: 'create_sandbox', arguments: { network: 'host' } }),
        ErrorCode.InvalidParams, /network="host": must be one of "none", "default"/);
      await mcpError(client.callTool({ name: 'no_such_tool', arguments: {} }),
        ErrorCode.InvalidParams, /unknown tool 'no_such_tool'/);
      await mcpError(client.request({ method: 'no/such/method', params: {} }, EmptyResultSchema),
        ErrorCode.MethodNotFound, /no\/such\/method/);
      // A tool that fails on its own is a result with isError.
      assert.match(await failure(client, 'run_command', { id: 'no-such-vm', command: 'true' }),
        /no-such-vm/);
      await client.ping();  // still serving
    });

    await t.test('create_sandbox boots a VM bound to the session', async () => {
      const s = await call(client, 'create_sandbox', { vcpus: 1, memory_mib: 256 });
      id = s.id;
      assert.equal(s.state, 'running');
      assert.equal(s.vcpus, 1);
      assert.equal(s.memory_mib, 256);
      assert.equal(s.created_by_this_session, true);
      assert.equal(s.persistent, false);
      assert.ok(vmIds().includes(id));
    });

    await t.test('run_command: exit code, both streams, env, cwd, user, progress', async () => {
      const progress = [];
      const r = await call(client, 'run_command', {
        id, command: 'for i in 1 2 3; do echo line$i; sleep 0.8; done; echo "$GREETING from $(pwd) as $(id -un)" >&2; exit 3',
        env: { GREETING: 'hi' }, cwd: '/tmp', user: 'user',
      }, { ...LONG, onprogress: (p) => progress.push(p) });
      assert.equal(r.exit_code, 3);
      assert.equal(r.stdout, 'line1\nline2\nline3\n');
      assert.equal(r.stderr, 'hi from /tmp as user\n');
      assert.equal(r.timed_out, false);
      assert.ok(progress.length >= 1, `no progress notification in ${r.duration_ms} ms`);
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
      assert.match(progress[0].message, /running for \d+ s/);
    });

    await t.test('run_command: long output is cut with a note, a timeout kills', async () => {
      const r = await call(client, 'run_command', { id, command: "head -c 100000 /dev/zero | tr '\\0' a" });
      assert.equal(r.stdout_dropped_bytes, 100000 - 32768);
      assert.match(r.stdout, /\[\.\.\. 67232 bytes dropped: the output was 100000 bytes \.\.\.\]/);
      assert.ok(r.stdout.startsWith('a'.repeat(16384) + '\n['));
      assert.ok(r.stdout.endsWith(']\n' + 'a'.repeat(16384)));

      const t0 = Date.now();
      const slow = await call(client, 'run_command', { id, command: 'sleep 60', timeout_s: 1 });
      assert.equal(slow.timed_out, true);
      assert.match(slow.note, /timeout_s=1/);
      assert.ok(Date.now() - t0 < 20000);
    });

    await t.test('a cancelled run_command is killed and gets no result', async () => {
      const abort = new AbortController();
      const running = client.callTool({ name: 'run_command', arguments: { id, command: 'sleep 45; echo late' } },
        undefined, { ...LONG, signal: abort.signal });
      await new Promise((ok) => setTimeout(ok, 1500));
      abort.abort('changed my mind');
      await assert.rejects(running, /changed my mind/);
      // notifications/cancelled killed it: no sleep is left in the guest.
      const deadline = Date.now() + 10000;
      let left;
      do {
        left = await call(client, 'run_command', { id, command: 'pgrep -x sleep || echo none' });
      } while (left.stdout !== 'none\n' && Date.now() < deadline);
      assert.equal(left.stdout, 'none\n');
      await client.ping();
    });

    await t.test('write_file and read_file, text and base64', async () => {
      const text = 'héllo\nworld\n';
      assert.equal((await call(client, 'write_file', { id, path: '/work/a.txt', content: text })).bytes,
        Buffer.byteLength(text));
      const back = await call(client, 'read_file', { id, path: '/work/a.txt' });
      assert.equal(back.content, text);
      assert.equal(back.encoding, 'text');

      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 10]);
      await call(client, 'write_file', { id, path: '/work/b.bin', content: bytes.toString('base64'), encoding: 'base64', mode: 0o755 });
      const bin = await call(client, 'read_file', { id, path: '/work/b.bin', encoding: 'base64' });
      assert.deepEqual(Buffer.from(bin.content, 'base64'), bytes);
      const mode = await call(client, 'run_command', { id, command: 'stat -c %a /work/b.bin' });
      assert.equal(mode.stdout, '755\n');

      assert.match(await failure(client, 'read_file', { id, path: '/work/b.bin' }), /not UTF-8 text .*base64/);
      assert.match(await failure(client, 'read_file', { id, path: '/work/b.bin', max_bytes: 3 }), /max_bytes/);
      assert.match(await failure(client, 'read_file', { id, path: '/no/such/file' }), /read_file failed/);
    });

    await t.test('list_sandboxes shows the session\'s sandbox', async () => {
      const { sandboxes } = await call(client, 'list_sandboxes', {});
      const mine = sandboxes.find((s) => s.id === id);
      assert.ok(mine, JSON.stringify(sandboxes));
      assert.equal(mine.created_by_this_session, true);
    });

    await t.test('expose_port is refused for a sandbox without network, naming why', async () => {
      assert.match(await failure(client, 'expose_port', { id, guest_port: 8000 }), /network/);
    });

    await t.test('snapshot_sandbox and restore_sandbox (persistent): the copy runs on', async () => {
      await call(client, 'run_command', { id, command: 'echo before-snapshot > /root/mark' });
      const s = await call(client, 'snapshot_sandbox', { id, name: `mcp-test-${process.pid}` });
      snapshot = s.snapshot;
      const r = await call(client, 'restore_sandbox', { snapshot, persistent: true });
      kept = r.id;
      assert.notEqual(kept, id);
      assert.equal(r.state, 'running');
      assert.equal(r.persistent, true);
      const mark = await call(client, 'run_command', { id: kept, command: 'cat /root/mark' });
      assert.equal(mark.stdout, 'before-snapshot\n');
    });

    await t.test('delete_sandbox deletes; a second delete fails as a tool error', async () => {
      // A throwaway restore to delete, so the session's first sandbox is
      // left for the close to delete.
      const r = await call(client, 'restore_sandbox', { snapshot });
      assert.deepEqual(await call(client, 'delete_sandbox', { id: r.id }), { id: r.id, deleted: true });
      assert.ok(!vmIds().includes(r.id));
      assert.match(await failure(client, 'delete_sandbox', { id: r.id }), /delete_sandbox failed/);
    });
  } finally {
    await client.close();
  }

  await t.test('closing the client deletes the session\'s sandbox, not the persistent one', async () => {
    const deadline = Date.now() + 60000;
    while (vmIds().includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const left = vmIds();
    assert.ok(!left.includes(id), `${id} still there; server stderr:\n${stderr.join('')}`);
    assert.ok(left.includes(kept), `persistent ${kept} is gone`);
    assert.match(stderr.join(''), new RegExp(`deleted sandbox ${id}`));
  });

  // A session ended by a signal: SIGTERM and SIGINT end it in order, and
  // after SIGKILL the sandboxes' supervisors delete them (delete_with_owner).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL']) {
    await t.test(`${signal} to the server deletes the session's sandboxes`, async () => {
      const session = await connect();
      const r = await call(session.client, 'restore_sandbox', { snapshot });
      assert.ok(vmIds().includes(r.id));
      const pid = session.transport.pid;
      process.kill(pid, signal);
      const deadline = Date.now() + 60000;
      while (vmIds().includes(r.id) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200));
      assert.ok(!vmIds().includes(r.id), `${r.id} outlived its session; server stderr:\n${session.stderr.join('')}`);
      if (signal !== 'SIGKILL') assert.match(session.stderr.join(''), /stopping after a signal/);
      await session.client.close();
    });
  }

  for (const x of vmIds()) if (!before.has(x)) cli('rm', '-f', x);
  if (snapshot) cli('snapshot', 'rm', snapshot);
});
