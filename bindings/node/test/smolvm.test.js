'use strict';
// Boots ONE real VM, shared by every test: boots are the slow part (about
// 1.5 s under TCG). Run with `node --test test/` (ctest: node-binding).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  SmolVM, Terminal, SmolVMError, ConfigError, NotFoundError, VMStateError, AbortError, CommandBlockedError,
  listSnapshots, getSnapshot, deleteSnapshot,
} = require('..');

const qemu = (process.env.PATH || '').split(':').some((d) => fs.existsSync(path.join(d, 'qemu-system-x86_64')));
const skip = qemu ? false : 'qemu-system-x86_64 is not on PATH; these tests boot a real VM';
if (skip) console.log(`SKIP: ${skip}`);

describe('SmolVM with a real VM', { skip }, () => {
  let vm;

  before(async () => {
    const t0 = Date.now();
    vm = await SmolVM.create({ memSizeMib: 256, vcpuCount: 1 });
    await vm.start();
    console.log(`shared VM ${vm.id} booted in ${Date.now() - t0} ms`);
  });

  after(async () => {
    if (!vm) return;
    const id = vm.id;
    await vm.delete();
    await vm.close();
    await assert.rejects(SmolVM.fromId(id), NotFoundError, 'the id is gone after delete()');
  });

  it('is running after start()', async () => {
    const info = await vm.info();
    assert.equal(info.id, vm.id);
    assert.equal(info.state, 'running');
    assert.equal(info.memSizeMib, 256);
    assert.ok(info.diskSizeMib >= 64, `disk ${info.diskSizeMib} MiB`); // the image's size
    assert.ok(['kvm', 'tcg'].includes(info.accel), `accel ${info.accel}`);
  });

  it('returns output and a non-zero exit code as a result', async () => {
    const r = await vm.run('echo hello; echo oops >&2; exit 3');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
    assert.ok(r.durationMs > 0);
  });

  it('runs argv with env, cwd and stdin; returns Buffers on request', async () => {
    const r = await vm.run(['/bin/sh', '-c', 'cat; echo "$GREETING"; pwd'], {
      env: { GREETING: 'hi there' }, cwd: '/tmp', stdin: 'from stdin\n', encoding: 'buffer',
    });
    assert.ok(Buffer.isBuffer(r.stdout));
    assert.equal(r.stdout.toString(), 'from stdin\nhi there\n/tmp\n');
  });

  it('keeps the event loop running while a command runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    try {
      const r = await vm.run('sleep 1');
      assert.equal(r.exitCode, 0);
    } finally {
      clearInterval(timer);
    }
    assert.ok(Date.now() - t0 >= 900, 'the command really slept');
    // About 100 ticks if nothing blocks, fewer on a loaded machine; a loop
    // blocked by the native call would give 0 or 1.
    assert.ok(ticks >= 5, `setInterval fired only ${ticks} times during run('sleep 1')`);
  });

  it('runs the commands of two handles side by side', async () => {
    const other = await SmolVM.fromId(vm.id);
    try {
      // Each prints its start and end on the guest clock (ns); the spans
      // overlap only if the two commands really ran at the same time.
      const cmd = 'date +%s%N; sleep 1; date +%s%N';
      const [a, b] = await Promise.all([vm.run(cmd), other.run(cmd)]);
      const [a0, a1] = a.stdout.trim().split('\n').map(BigInt);
      const [b0, b1] = b.stdout.trim().split('\n').map(BigInt);
      assert.ok(a0 < b1 && b0 < a1, `spans [${a0}, ${a1}] and [${b0}, ${b1}] do not overlap`);
    } finally {
      await other.close();
    }
  });

  it('runs a string in the login shell, or in /bin/sh with shell: raw', async () => {
    const r = await vm.run('echo $((2**40)); [[ a == a ]] && echo yes');
    assert.equal(r.stdout, '1099511627776\nyes\n');
    const probe = 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo posix; fi';
    assert.equal((await vm.run(probe)).stdout, 'bash\n');
    assert.equal((await vm.run(probe, { shell: 'login' })).stdout, 'bash\n');
    assert.equal((await vm.run(probe, { shell: 'raw' })).stdout, 'posix\n');
    await assert.rejects(vm.run('true', { shell: 'zsh' }), (e) => e instanceof ConfigError && /shell 'zsh'/.test(e.message));
  });

  it('reports a guest-side timeout as a result', async () => {
    const r = await vm.run('sleep 20', { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.notEqual(r.exitCode, 0);
  });

  it('kills the command when its AbortSignal fires', async () => {
    const t0 = Date.now();
    // 3177 marks the process; the check below must not match itself,
    // hence the pattern 317[7].
    const err = await vm.run('echo started; sleep 3177', { signal: AbortSignal.timeout(500) }).then(
      () => assert.fail('run() resolved despite the abort'), (e) => e);
    assert.ok(err instanceof AbortError && err instanceof SmolVMError, `got ${err}`);
    assert.equal(err.code, 'ABORT_ERR');
    assert.match(err.result.stdout, /started/);
    assert.ok(Date.now() - t0 < 5000, 'aborted promptly');
    const left = await vm.run('grep -l 317[7] /proc/[0-9]*/cmdline 2>/dev/null; true');
    assert.equal(left.stdout, '', 'the aborted command still runs');
    // An already aborted signal starts nothing.
    await assert.rejects(vm.run('true', { signal: AbortSignal.abort() }), AbortError);
  });

  it('runs callbacks around run(): onPreRun vetoes, the others observe', async () => {
    const seen = [];
    const guard = {
      async onPreRun(ctx) {
        seen.push(`pre ${ctx.command} ${ctx.shell}`);
        if (/\brm\b/.test(ctx.command)) {
          throw new CommandBlockedError('no deletes', { vmId: ctx.vmId, command: ctx.command });
        }
      },
      onPostRun(ctx) { seen.push(`post ${ctx.result.exitCode} ${ctx.result.stdout.trim()}`); },
      onRunError(ctx) { seen.push(`error ${ctx.error.name}`); },
    };
    const audit = { onPostRun() { throw new Error('an observer that fails'); } };
    const h = await SmolVM.fromId(vm.id, { callbacks: [guard] });
    const warnings = [];
    const onWarning = (w) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      assert.equal(h.addCallback(audit), h);
      await assert.rejects(h.run('touch /tmp/cb-vetoed; rm -f /tmp/none'),
        (e) => e instanceof CommandBlockedError && e.code === 'EBLOCKED' && e.vmId === vm.id);
      const r = await h.run('test -e /tmp/cb-vetoed && echo ran; echo hi; exit 3', { shell: 'raw' });
      assert.equal(r.exitCode, 3); // the failing observer changed nothing
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(h.run('true', { signal: ac.signal }), AbortError);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(seen, [
        'pre touch /tmp/cb-vetoed; rm -f /tmp/none login',
        'pre test -e /tmp/cb-vetoed && echo ran; echo hi; exit 3 raw', 'post 3 hi',
        'pre true login', 'error AbortError',
      ]);
      assert.ok(warnings.some((m) => /onPostRun failed: an observer that fails/.test(m)), String(warnings));
      assert.equal((await vm.run('echo plain')).stdout, 'plain\n'); // the shared handle has none
      assert.throws(() => h.addCallback({}), ConfigError);
      await assert.rejects(SmolVM.fromId(vm.id, { callbacks: [{ onPreRun: 1 }] }), ConfigError);
    } finally {
      process.off('warning', onWarning);
      await h.close();
    }
  });

  it('round-trips binary files', async () => {
    const data = Buffer.from([0, 1, 2, 0x78, 0xff, 0x0a]);
    await vm.writeFile('/tmp/node-test/blob', data, { mode: 0o600 });
    assert.deepEqual(await vm.readFile('/tmp/node-test/blob'), data);
    await assert.rejects(vm.readFile('/no/such/file'), SmolVMError);
  });

  it('bounds file transfers with maxBytes and timeoutMs', async () => {
    await vm.run('mkdir -p /tmp/node-test && head -c 100000 /dev/zero > /tmp/node-test/100k');
    await assert.rejects(vm.readFile('/tmp/node-test/100k', { maxBytes: 50000 }), /max_bytes=50000/);
    assert.equal((await vm.readFile('/tmp/node-test/100k', { maxBytes: 100000 })).length, 100000);
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'svnode-'));
    try {
      await assert.rejects(vm.getFile('/tmp/node-test/100k', path.join(dir, 'f'), { maxBytes: 50000 }), /max_bytes=50000/);
      assert.deepEqual(fs.readdirSync(dir), []);
      await vm.getFile('/tmp/node-test/100k', dir, { timeoutMs: 60000 });
      assert.equal(fs.statSync(path.join(dir, '100k')).size, 100000);
      await vm.putFile(path.join(dir, '100k'), '/tmp/node-test/back');
      assert.equal((await vm.run('wc -c < /tmp/node-test/back')).stdout, '100000\n');
      await assert.rejects(vm.getFile('/tmp/node-test/100k', dir, { maxByte: 1 }), /unknown/);
      await assert.rejects(vm.readFile('/tmp/node-test/100k', { timeoutMs: -1 }), /timeoutMs=-1/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pauses and resumes; refuses commands while paused, naming the state', async () => {
    await vm.writeFile('/tmp/before-pause', 'kept');
    await vm.pause();
    try {
      assert.equal((await vm.info()).state, 'paused');
      await assert.rejects(vm.run('true'), (e) => e instanceof VMStateError && e.code === 'ESTATE' &&
        /is paused: resume it first/.test(e.message));
      await assert.rejects(vm.pause(), (e) => e instanceof VMStateError &&
        /is paused: only a running VM can be paused/.test(e.message));
    } finally {
      await vm.resume();
    }
    assert.equal((await vm.info()).state, 'running');
    assert.equal((await vm.readFile('/tmp/before-pause')).toString(), 'kept');
    await assert.rejects(vm.resume(), (e) => e instanceof VMStateError &&
      /is running: only a paused VM can be resumed/.test(e.message));
  });

  it('keeps the VM\'s environment for every command and handle', async () => {
    assert.deepEqual(await vm.setEnvVars({ GREETING: 'hello world', MODE: 'dev' }), ['GREETING', 'MODE']);
    const other = await SmolVM.fromId(vm.id);
    try {
      assert.equal((await other.run(['printenv', 'GREETING'])).stdout, 'hello world\n');
      await assert.rejects(vm.setEnvVars({ OK: '1', '2BAD': 'x' }), (e) => e instanceof ConfigError && /env name '2BAD'/.test(e.message));
      assert.deepEqual(await other.unsetEnvVars(['MODE', 'NEVER']), { MODE: 'dev' });
      assert.deepEqual(await vm.listEnvVars(), { GREETING: 'hello world' });
      assert.deepEqual(await vm.setEnvVars({}, { merge: false }), []);
    } finally {
      await other.close();
    }
  });

  it('uploads and downloads one file to resolved paths', async () => {
    const dir = fs.mkdtempSync('/tmp/svnode-');
    try {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
      assert.equal(await vm.uploadFile(path.join(dir, 'notes.txt'), '/tmp/node-up/deep/'), '/tmp/node-up/deep/notes.txt');
      const got = await vm.downloadFile('/tmp/node-up/deep/notes.txt', path.join(dir, 'new', 'sub') + '/');
      assert.equal(got, path.join(dir, 'new', 'sub', 'notes.txt'));
      assert.equal(fs.readFileSync(got, 'utf8'), 'hello');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('snapshots the VM and restores a new VM from it that sees the files written before', async () => {
    await vm.writeFile('/root/before-snapshot', 'kept');
    const name = `node-${process.pid}-${Date.now()}`;
    const snap = await vm.snapshot({ name });
    try {
      assert.match(snap.id, /^snap-[0-9a-f]{8}$/);
      assert.equal(snap.name, name);
      assert.equal(snap.sourceVm, vm.id);
      assert.equal(snap.memSizeMib, 256);
      assert.ok(snap.stateBytes > 0 && Math.abs(Date.now() - snap.createdAtMs) < 60000);
      assert.equal((await vm.info()).state, 'running', 'the source runs on');
      await vm.writeFile('/root/after-snapshot', 'later');
      await assert.rejects(vm.snapshot({ name }), (e) => e instanceof SmolVMError && e.code === 'EEXISTS');
      await assert.rejects(vm.snapshot({ colour: 'red' }), (e) => e instanceof ConfigError && /colour/.test(e.message));
      await assert.rejects(SmolVM.fromSnapshot(name, { memSizeMib: 512 }),
        (e) => e instanceof ConfigError && /mem_size_mib=512/.test(e.message));
      await assert.rejects(SmolVM.fromSnapshot('no-such-snapshot'), NotFoundError);

      await assert.rejects(SmolVM.fromSnapshot(name, { onIdle: 'sleep' }),
        (e) => e instanceof ConfigError && /on_idle='sleep'/.test(e.message));
      const restored = await SmolVM.fromSnapshot(name, { ttlS: 3600, onTtl: 'stop', idleTimeoutS: 300 });
      try {
        const before = await restored.info();
        assert.equal(before.state, 'created');
        // Its own lifetimes (the source's are not carried over).
        assert.deepEqual([before.ttlS, before.onTtl, before.idleTimeoutS, before.onIdle], [3600, 'stop', 300, 'pause']);
        await restored.start(); // loads the snapshot
        assert.equal((await restored.readFile('/root/before-snapshot')).toString(), 'kept');
        assert.notEqual((await restored.run('test -e /root/after-snapshot')).exitCode, 0);
        await assert.rejects(deleteSnapshot(name),
          (e) => e instanceof VMStateError && e.message.includes(restored.id));
        const listed = (await listSnapshots()).find((s) => s.id === snap.id);
        assert.equal(listed.usedBy.length, 1);
      } finally {
        await restored.delete();
        await restored.close();
      }
    } finally {
      await deleteSnapshot(snap.id);
    }
    await assert.rejects(getSnapshot(name), NotFoundError);
  });

  it('reattaches with fromId; close() releases only that handle', async () => {
    const other = await SmolVM.fromId(vm.id);
    assert.equal((await other.run('echo again')).stdout, 'again\n');
    await other.close();
    await other.close(); // twice is fine
    assert.equal(other.closed, true);
    await assert.rejects(other.run('true'), (e) => e instanceof VMStateError && e.code === 'ECLOSED');
    assert.equal((await vm.run('true')).exitCode, 0, 'the VM still runs for the first handle');
  });

  // Issue 21's terminal checks, on one shell: its size, a resize, python3
  // typed into it, and its exit code.
  it('runs a shell on a terminal: stty size, resize, python3, exit code', async () => {
    const term = await vm.shell({ rows: 30, cols: 100 });
    assert.ok(term instanceof Terminal);
    try {
      // Quoted apart so that the echo of the typed line is not the prompt.
      term.write("PS1='gu''est# '; stty size\n");
      assert.match((await term.readUntil('guest# ')).toString(), /30 100/);
      await term.resize(40, 120);
      term.write('stty size\n');
      await term.readUntil('40 120');
      term.write('python3\n');
      await term.readUntil('>>> ');
      term.write('print(6*7)\n');
      await term.readUntil('42');
      term.write('exit()\n');
      await term.readUntil('guest# ');
      term.write('exit 9\n');
      assert.equal(await term.wait({ timeoutMs: 30000 }), 9);
      assert.equal(term.exitCode, 9);
    } finally {
      term.destroy();
    }
  });

  it('streams a pty command as another user; refuses a bad size naming it', async () => {
    const term = await vm.pty('id -un; stty size; echo $TERM', { rows: 10, cols: 20, term: 'vt100', user: 'user', shell: 'raw' });
    const chunks = [];
    for await (const chunk of term) chunks.push(chunk); // ends when the command exits
    assert.equal(Buffer.concat(chunks).toString(), 'user\r\n10 20\r\nvt100\r\n');
    assert.equal(await term.wait(), 0);
    // More than the agent's 1 MiB of stdin credit in one write, its callback
    // once all of it went; Ctrl-D at a line's start ends input on a terminal.
    const counter = await vm.pty('stty -echo; echo ready; wc -c', { shell: 'raw' });
    await counter.readUntil('ready');
    const lines = ('x'.repeat(79) + '\n').repeat(26214);
    await new Promise((resolve, reject) => counter.write(lines + '\x04', (e) => (e ? reject(e) : resolve())));
    assert.match((await counter.readUntil('\n')).toString(), /^\s*2097120\r\n$/);
    assert.equal(await counter.wait({ timeoutMs: 30000 }), 0);
    await assert.rejects(vm.pty('true', { rows: 0 }), (e) => e instanceof ConfigError && /^rows=0: must be 1\.\.1000/.test(e.message));
    await assert.rejects(vm.pty('true', { rowz: 3 }), (e) => e instanceof ConfigError && /pty option 'rowz'/.test(e.message));
    // 3178 and 3179 mark the processes; the pattern 317[89] does not match itself.
    const sleeper = await vm.pty('sleep 3178');
    try {
      await assert.rejects(sleeper.resize(24, 1001), (e) => e instanceof ConfigError && /cols=1001/.test(e.message));
      await assert.rejects(sleeper.wait({ timeoutMs: 200 }), (e) => e.code === 'ETIMEOUT');
    } finally {
      sleeper.destroy();
    }
    const other = await SmolVM.fromId(vm.id);
    const orphan = await other.pty('sleep 3179');
    await other.close();
    await assert.rejects(orphan.wait(), (e) => e instanceof VMStateError && e.code === 'ECLOSED');
    // The kills reach the guest after destroy() and close() return: allow them 5 s.
    const left = await vm.run('for i in $(seq 50); do grep -lq 317[89] /proc/[0-9]*/cmdline 2>/dev/null || exit 0; sleep 0.1; done; exit 1');
    assert.equal(left.exitCode, 0, 'a destroyed terminal\'s command still runs');
  });

  it('refuses text with NUL and requests over the size limit, and stays usable', async () => {
    const nul = (field) => (e) => e instanceof ConfigError && e.code === 'EINVAL' &&
      e.message.startsWith(`${field}: must not contain NUL`);
    await assert.rejects(vm.run('echo a\0; touch /tmp/nul-ran'), nul('command'));
    await assert.rejects(vm.run(['echo', 'a\0b']), nul('command[1]'));
    await assert.rejects(vm.run('true', { env: { A: 'x\0y' } }), nul('env entry'));
    await assert.rejects(vm.run('true', { cwd: '/tmp\0x' }), nul('cwd'));
    await assert.rejects(vm.writeFile('/tmp/a\0b', 'x'), nul('path'));
    assert.equal((await vm.run('test -e /tmp/nul-ran || echo clean')).stdout, 'clean\n');
    await vm.writeFile('/tmp/nul-data', Buffer.from('a\0b')); // data may hold NUL
    assert.deepEqual(await vm.readFile('/tmp/nul-data'), Buffer.from('a\0b'));
    await assert.rejects(vm.run('echo ' + 'x'.repeat(2 << 20)), (e) => e instanceof ConfigError &&
      /^command: 2097157 bytes; .* must fit in 131072 bytes together/.test(e.message));
    assert.equal((await vm.run('echo still usable')).stdout, 'still usable\n');
  });
});

describe('SmolVM errors (no VM needed)', () => {
  it('rejects a bad value with the native message', async () => {
    const err = await SmolVM.create({ memSizeMib: 64 }).then(() => assert.fail('created'), (e) => e);
    assert.ok(err instanceof ConfigError && err instanceof SmolVMError && err instanceof Error);
    assert.equal(err.code, 'EINVAL');
    assert.equal(err.status, -2);
    assert.match(err.message, /mem_size_mib=64: must be 128\.\.16384/);
    const small = await SmolVM.create({ diskSizeMib: 100 }).then(() => assert.fail('created'), (e) => e);
    assert.match(small.message, /disk_size_mib=100: must be at least the image's size/);
    const unnamed = await SmolVM.create({ image: 'node-no-such-image' }).then(() => assert.fail('created'), (e) => e);
    assert.equal(unnamed.code, 'ENOTFOUND');
    assert.match(unnamed.message, /image='node-no-such-image': no such image/);
    const warm = await SmolVM.create({ boot: 'warm' }).then(() => assert.fail('created'), (e) => e);
    assert.ok(warm instanceof ConfigError);
    assert.match(warm.message, /boot='warm': must be one of auto\|cold/);
  });

  it('keeps the lifetime policy and refuses a bad action', async () => {
    const vm = await SmolVM.create({ ttlS: 3600, idleTimeoutS: 120, onIdle: 'delete' });
    try {
      const i = await vm.info();
      assert.deepEqual([i.ttlS, i.onTtl, i.ttlLeftMs, i.idleTimeoutS, i.onIdle, i.pausedBy],
        [3600, 'delete', 3600000, 120, 'delete', '']);
    } finally {
      await vm.delete();
    }
    await assert.rejects(SmolVM.create({ onIdle: 'nap' }),
      (e) => e instanceof ConfigError && /on_idle='nap': must be one of pause\|stop\|delete/.test(e.message));
  });

  it('rejects an unknown option instead of ignoring it', async () => {
    await assert.rejects(SmolVM.create({ memSize: 1024 }), (e) => e instanceof ConfigError && /memSize/.test(e.message));
  });

  it('deletes a deleteWithOwner VM when its owner process is killed', async () => {
    const { spawn } = require('node:child_process');
    const script = `
      const { SmolVM } = require(${JSON.stringify(path.join(__dirname, '..'))});
      (async () => {
        const vm = await SmolVM.create({ memSizeMib: 256, vcpuCount: 1, deleteWithOwner: true });
        await vm.start();
        console.log(vm.id);
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
    await (await SmolVM.fromId(id)).close();
    child.kill('SIGKILL'); // no close(), no exit handler runs
    const t0 = Date.now();
    for (;;) {
      try {
        await (await SmolVM.fromId(id)).close();
      } catch (e) {
        assert.ok(e instanceof NotFoundError, String(e));
        break;
      }
      assert.ok(Date.now() - t0 < 15000, `${id} outlived its killed owner`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('starts within a boot timeout of its own', { skip }, async () => {
    const v = await SmolVM.create({ memSizeMib: 256, vcpuCount: 1 });
    try {
      await assert.rejects(v.start({ bootTimeoutMs: 1 }), (e) => /within 1 ms/.test(e.message));
      await assert.rejects(v.start({ bootTimeoutMs: -1 }), ConfigError);
    } finally {
      await v.delete();
      await v.close();
    }
  });

  it('rejects a missing id with NotFoundError', async () => {
    await assert.rejects(SmolVM.fromId('vm-no-such-vm'),
      (e) => e instanceof NotFoundError && e.code === 'ENOTFOUND' && /vm-no-such-vm/.test(e.message));
  });
});

describe('SmolVM.fromProfile', { skip }, () => {
  it('creates a VM with the profile\'s resources and names a bad profile\'s line', async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'svnode-'));
    const good = path.join(dir, 'p.yaml');
    fs.writeFileSync(good, 'apiVersion: smolvm/v1\nkind: VMProfile\nname: node-profile\n' +
      'resources: { vcpu_count: 1, mem_size_mib: 384 }\n');
    const vm = await SmolVM.fromProfile(good);
    try {
      const info = await vm.info();
      assert.equal(info.memSizeMib, 384);
      assert.equal(info.state, 'created');
    } finally {
      await vm.delete();
      await vm.close();
    }
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'apiVersion: smolvm/v1\nkind: VMProfile\nname: b\nresources: { mem_size_mib: 64 }\n');
    await assert.rejects(SmolVM.fromProfile(bad), (e) => e instanceof ConfigError &&
      /bad\.yaml:4:.*mem_size_mib=64/.test(e.message));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
