'use strict';
// SmolVM for Node: disposable Linux microVMs.
//
//   const { SmolVM } = require('smolvm');
//   const vm = await SmolVM.create({ memSizeMib: 1024 });
//   try {
//     await vm.start();
//     const r = await vm.run('uname -a');
//   } finally {
//     await vm.delete();
//     await vm.close();
//   }
//
// Every native call runs on a worker thread (lib/worker.js), so awaiting
// one never blocks the event loop. Calls on one SmolVM run in order; use
// SmolVM.fromId(vm.id) for a second handle that runs commands alongside.
const fs = require('node:fs');
const path = require('node:path');
const errors = require('./lib/errors');
const { channel } = require('./lib/channel');
const { aroundRun, checkCallback, checkCallbacks } = require('./lib/callbacks');
const { Terminal } = require('./lib/terminal');

const { ConfigError, VMStateError, AbortError } = errors;

// JavaScript option name -> smolvm_vm_options field, and its type.
const VM_FIELDS = {
  id: ['vm_id', 'string'],
  vcpuCount: ['vcpu_count', 'u32'],
  memSizeMib: ['mem_size_mib', 'u32'],
  diskMode: ['disk_mode', 'string'],
  diskSizeMib: ['disk_size_mib', 'u32'],
  image: ['image', 'string'],
  kernelPath: ['kernel_path', 'string'],
  rootfsPath: ['rootfs_path', 'string'],
  bootArgs: ['boot_args', 'string'],
  vmm: ['vmm', 'string'],
  executor: ['executor', 'string'],
  network: ['network', 'string'],
  accel: ['accel', 'string'],
  bootTimeoutMs: ['boot_timeout_s', 'u32'], // the C ABI counts seconds
  boot: ['boot', 'string'],
  deleteWithOwner: ['delete_with_owner', 'bool'],
  ttlS: ['ttl_s', 'u32'],
  onTtl: ['on_ttl', 'string'],
  idleTimeoutS: ['idle_timeout_s', 'u32'],
  onIdle: ['on_idle', 'string'],
};
const RUNTIME_FIELDS = ['stateDir', 'cacheDir', 'pluginPath', 'store'];
// fromSnapshot option -> smolvm_restore_options field, and its type.
const RESTORE_FIELDS = {
  id: ['vm_id', 'string'],
  vcpuCount: ['vcpu_count', 'u32'],
  memSizeMib: ['mem_size_mib', 'u32'],
  deleteWithOwner: ['delete_with_owner', 'bool'],
  ttlS: ['ttl_s', 'u32'],
  onTtl: ['on_ttl', 'string'],
  idleTimeoutS: ['idle_timeout_s', 'u32'],
  onIdle: ['on_idle', 'string'],
};
const RUN_FIELDS = ['timeoutMs', 'signal', 'env', 'cwd', 'stdin', 'encoding', 'shell', 'user'];
const PTY_FIELDS = ['rows', 'cols', 'term', 'timeoutMs', 'env', 'cwd', 'shell', 'user'];
// What shell() runs: the image's login shell, bash where there is one.
const LOGIN_SHELL = 'command -v bash >/dev/null && exec bash -l || exec /bin/sh -l';

const U32_MAX = 0xffffffff;

function checkU32(name, v) {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new ConfigError(`${name}=${String(v)}: must be an integer 0..${U32_MAX}`, { code: 'EINVAL' });
  }
}
// { maxBytes, timeoutMs } of one transfer; 0 or absent: the library's
// defaults (1 GiB, 300000 ms).
function transferBounds(options) {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options: must be an object', { code: 'EINVAL' });
  }
  checkKeys('transfer option', options, ['maxBytes', 'timeoutMs']);
  const { maxBytes = 0, timeoutMs = 0 } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new ConfigError(`maxBytes=${String(maxBytes)}: must be an integer 0..${Number.MAX_SAFE_INTEGER} (0: 1 GiB)`, { code: 'EINVAL' });
  }
  checkU32('timeoutMs', timeoutMs);
  return { maxBytes, timeoutMs };
}
function checkString(name, v) {
  if (typeof v !== 'string') throw new ConfigError(`${name}: must be a string, not ${typeof v}`, { code: 'EINVAL' });
  // C would end the text at the NUL and drop the rest silently.
  if (v.includes('\0')) {
    throw new ConfigError(`${name}: must not contain NUL characters (text ends at the first one)`, { code: 'EINVAL' });
  }
}
// A typo must not silently fall back to a default.
function checkKeys(what, obj, known) {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      throw new ConfigError(`${what} '${k}': unknown (known: ${known.join(', ')})`, { code: 'EINVAL' });
    }
  }
}

function runtimeArgs(options) {
  const r = {};
  for (const k of RUNTIME_FIELDS) {
    if (options[k] !== undefined && options[k] !== null) {
      checkString(k, options[k]);
      r[k] = options[k];
    }
  }
  return r;
}

function vmArgs(options) {
  return { runtime: runtimeArgs(options), vm: nativeFields(options, VM_FIELDS) };
}

// options (checked against fieldTypes and the runtime's) as C field -> value.
function nativeFields(options, fieldTypes) {
  checkKeys('option', options, [...Object.keys(fieldTypes), ...RUNTIME_FIELDS]);
  const fields = {};
  for (const [name, [field, type]] of Object.entries(fieldTypes)) {
    const v = options[name];
    if (v === undefined || v === null) continue;
    if (type === 'string') {
      checkString(name, v);
      fields[field] = v;
    } else if (type === 'bool') {
      if (typeof v !== 'boolean') throw new ConfigError(`${name}: must be a boolean, not ${typeof v}`, { code: 'EINVAL' });
      fields[field] = v ? 1 : 0;
    } else {
      checkU32(name, v);
      fields[field] = name === 'bootTimeoutMs' ? Math.ceil(v / 1000) : v;
    }
  }
  return fields;
}

// A snapshot's record from the library's JSON.
function shapeSnapshot(j) {
  return {
    id: j.id, name: j.name, sourceVm: j.source_vm, createdAtMs: j.created_at_ms,
    vcpuCount: j.vcpu_count, memSizeMib: j.mem_size_mib, kernelPath: j.kernel_path,
    rootfsPath: j.rootfs_path, vmm: j.vmm, executor: j.executor, accel: j.accel,
    stateBytes: j.state_bytes, diskBytes: j.disk_bytes, layers: j.layers, dir: j.dir,
    usedBy: j.used_by,
  };
}

function checkSnapshotArg(snapshot) {
  checkString('snapshot', snapshot);
  if (snapshot === '') throw new ConfigError("snapshot '': must be a snapshot's id or name", { code: 'EINVAL' });
}

/** Every snapshot, oldest first. options: where the state lives (stateDir ...). */
async function listSnapshots(options = {}) {
  checkKeys('option', options, RUNTIME_FIELDS);
  const list = await channel().call('snapshotList', { runtime: runtimeArgs(options) }).promise;
  return list.map(shapeSnapshot);
}

/** One snapshot's record, by id or name; NotFoundError if none has it. */
async function getSnapshot(snapshot, options = {}) {
  checkSnapshotArg(snapshot);
  checkKeys('option', options, RUNTIME_FIELDS);
  return shapeSnapshot(await channel().call('snapshotInspect', { runtime: runtimeArgs(options), snapshot }).promise);
}

/**
 * Removes a snapshot, by id or name. VMStateError naming them while VMs restored from it (or
 * snapshots of those) use its disk.
 */
async function deleteSnapshot(snapshot, options = {}) {
  checkSnapshotArg(snapshot);
  checkKeys('option', options, RUNTIME_FIELDS);
  await channel().call('snapshotDelete', { runtime: runtimeArgs(options), snapshot }).promise;
}

function execArgs(command, o, [what, known] = ['run option', RUN_FIELDS]) {
  checkKeys(what, o, known);
  const args = {};
  if (typeof command === 'string') {
    checkString('command', command);
    args.command = command;
  } else if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')) {
    command.forEach((a, i) => checkString(`command[${i}]`, a));
    args.argv = command;
  } else throw new ConfigError('command: must be a string (a shell command line) or a non-empty array of strings', { code: 'EINVAL' });
  if (o.env !== undefined) {
    const entries = Array.isArray(o.env) ? o.env : Object.entries(o.env).map(([k, v]) => `${k}=${v}`);
    entries.forEach((e) => checkString('env entry', e));
    args.env = entries;
  }
  if (o.cwd !== undefined) {
    checkString('cwd', o.cwd);
    args.cwd = o.cwd;
  }
  if (o.stdin !== undefined) {
    if (typeof o.stdin === 'string') args.stdin = Buffer.from(o.stdin);
    else if (ArrayBuffer.isView(o.stdin)) args.stdin = o.stdin;
    else throw new ConfigError('stdin: must be a string, Buffer or Uint8Array', { code: 'EINVAL' });
  }
  if (o.timeoutMs !== undefined) {
    checkU32('timeoutMs', o.timeoutMs);
    args.timeoutMs = o.timeoutMs;
  }
  if (o.shell !== undefined) {
    if (o.shell !== 'login' && o.shell !== 'raw') {
      throw new ConfigError(`shell '${o.shell}': must be 'login' or 'raw'`, { code: 'EINVAL' });
    }
    args.shell = o.shell;
  }
  if (o.user !== undefined) {
    // A guest user: a name, a uid or 'uid:gid'; the guest names an unknown one.
    checkString('user', String(o.user));
    args.user = String(o.user);
  }
  if (o.encoding !== undefined && o.encoding !== 'buffer' && !Buffer.isEncoding(o.encoding)) {
    throw new ConfigError(`encoding '${o.encoding}': must be 'buffer' or a Buffer encoding`, { code: 'EINVAL' });
  }
  return args;
}

// Buffers arrive from the worker as plain Uint8Arrays.
const asBuffer = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

function shapeResult(r, encoding = 'utf8') {
  const decode = (u8) => (encoding === 'buffer' ? asBuffer(u8) : asBuffer(u8).toString(encoding));
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut: r.timedOut,
    stdout: decode(r.stdout),
    stderr: decode(r.stderr),
    durationMs: r.durationMs,
  };
}

// A SmolVM dropped without close() frees its native handle when collected.
const unclosed = new FinalizationRegistry(({ ch, handle }) => ch.post('close', { handle }));

class SmolVM {
  #channel;
  #handle;
  #id;
  #tail = Promise.resolve(); // calls on this handle run one after another
  #callbacks;

  /** @private Use SmolVM.create or SmolVM.fromId. */
  constructor(ch, { handle, id }, callbacks = []) {
    this.#channel = ch;
    this.#handle = handle;
    this.#id = id;
    this.#callbacks = callbacks;
    unclosed.register(this, { ch, handle }, this);
  }

  /**
   * Records a new VM (state "created"); start() boots it. options.callbacks:
   * see addCallback().
   */
  static async create(options = {}) {
    const { callbacks, ...rest } = options;
    const checked = checkCallbacks(callbacks);
    const ch = channel();
    return new SmolVM(ch, await ch.call('create', vmArgs(rest)).promise, checked);
  }

  /**
   * Records a new VM from a YAML profile (see examples/profiles): its
   * resources, backends, env, setup commands and port forwards.
   * SMOLVM_PROFILE_* environment variables override its fields. options.id
   * overrides the profile's id. A bad profile rejects with a ConfigError
   * naming the file, line, column and key path.
   */
  static async fromProfile(profilePath, options = {}) {
    checkString('profilePath', profilePath);
    const { id = '', ...runtime } = options;
    checkString('id', id);
    checkKeys('option', runtime, RUNTIME_FIELDS);
    const ch = channel();
    return new SmolVM(ch, await ch.call('profile', { runtime: runtimeArgs(runtime), path: profilePath, id }).promise);
  }

  /**
   * Records a new VM from a snapshot (by id or name): its own id (options.id, else generated),
   * token, cgroup and disk, the disk a copy-on-write layer on the snapshot's. Its first start()
   * loads the snapshot instead of booting: the guest runs on from the moment it was saved, its
   * RNG reseeded and its clock set from the host's. options.vcpuCount and memSizeMib, if given,
   * must equal the snapshot's (ConfigError naming the mismatch); deleteWithOwner, callbacks and
   * the lifetimes (ttlS, onTtl, idleTimeoutS, onIdle: the source's are not carried over) as for
   * create(). NotFoundError if there is no such snapshot.
   */
  static async fromSnapshot(snapshot, options = {}) {
    checkSnapshotArg(snapshot);
    const { callbacks, ...rest } = options;
    const checked = checkCallbacks(callbacks);
    const fields = nativeFields(rest, RESTORE_FIELDS);
    const ch = channel();
    return new SmolVM(ch, await ch.call('restore', { runtime: runtimeArgs(rest), snapshot, fields }).promise, checked);
  }

  /** Attaches to an existing VM by id, from any process; options.callbacks as for create(). */
  static async fromId(id, options = {}) {
    checkString('id', id);
    const { callbacks, ...rest } = options;
    const checked = checkCallbacks(callbacks);
    checkKeys('option', rest, RUNTIME_FIELDS);
    const ch = channel();
    return new SmolVM(ch, await ch.call('open', { runtime: runtimeArgs(rest), id }).promise, checked);
  }

  /**
   * Adds a callback after those given: an object with any of onPreRun(ctx),
   * onPostRun(ctx) and onRunError(ctx), each may be async, around every
   * run() of this handle. ctx is { vmId, command, shell, timeoutMs, result,
   * error }. What onPreRun throws (e.g. a CommandBlockedError) rejects run()
   * before anything reaches the guest; what the other two throw is a process
   * warning. Returns this.
   */
  addCallback(callback) {
    this.#callbacks.push(checkCallback(callback, 'callback'));
    return this;
  }

  get id() {
    return this.#id;
  }

  get closed() {
    return this.#handle === null;
  }

  // Queues fn(handle) behind this handle's earlier calls.
  #enqueue(op, fn) {
    const run = () => {
      if (this.#handle === null) {
        throw new VMStateError(`smolvm: ${op}: the SmolVM handle is closed`, { code: 'ECLOSED', op });
      }
      return fn(this.#handle);
    };
    const p = this.#tail.then(run);
    this.#tail = p.catch(() => {});
    return p;
  }

  #call(op, args = {}) {
    return this.#enqueue(op, (handle) => this.#channel.call(op, { handle, ...args }).promise);
  }

  /**
   * Boots the VM; resolves once its guest agent answers. bootTimeoutMs: how
   * long this start waits for the guest (0: the VM's bootTimeoutS).
   */
  start({ bootTimeoutMs = 0 } = {}) {
    try {
      checkU32('bootTimeoutMs', bootTimeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('start', { bootTimeoutMs });
  }

  /**
   * Sets variables every later command in the VM sees (any shell, argv
   * commands), kept with the VM across stop/start and for every process
   * attached to it. merge: false makes them the whole set. Resolves to the
   * names now set, sorted.
   */
  async setEnvVars(vars, { merge = true } = {}) {
    if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) {
      throw new ConfigError('vars: must be an object of name to string value', { code: 'EINVAL' });
    }
    const entries = Object.entries(vars).map(([name, value]) => {
      checkString(`env name ${name}`, name);
      checkString(`env value of ${name}`, value);
      return `${name}=${value}`;
    });
    await this.#call('envSet', { entries, merge: merge !== false });
    return Object.keys(await this.listEnvVars()).sort();
  }

  /** Removes variables; resolves to the removed ones with their values. */
  async unsetEnvVars(names) {
    if (!Array.isArray(names)) throw new ConfigError('names: must be an array of strings', { code: 'EINVAL' });
    names.forEach((n) => checkString('env name', n));
    const before = await this.listEnvVars();
    const removed = Object.fromEntries(names.filter((n) => n in before).map((n) => [n, before[n]]));
    await this.#call('envUnset', { names });
    return removed;
  }

  /** The VM's variables (see setEnvVars). */
  listEnvVars() {
    return this.#call('envList');
  }

  /** Shuts the guest down, forcing it off after timeoutMs (0: 10 s). */
  stop({ timeoutMs = 0 } = {}) {
    try {
      checkU32('timeoutMs', timeoutMs);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('stop', { timeoutMs });
  }

  /**
   * Stops the guest's vCPUs (state "paused"): its clock and processes stand still, its memory
   * and disk stay. Commands and transfers reject with VMStateError until resume(); stop() and
   * delete() work. Rejects with VMStateError naming the state if the VM is not running.
   */
  pause() {
    return this.#call('pause');
  }

  /** Lets a paused VM run again where it stood; VMStateError if it is not paused. */
  resume() {
    return this.#call('resume');
  }

  /**
   * Saves the VM's memory, device state and disk (a running or paused VM; a running guest's
   * file systems are synced first) and resolves to the snapshot's record. The VM runs on
   * afterwards (a paused one stays paused), or is stopped with stop: true. name:
   * [a-z0-9][a-z0-9._-]{0,62}, unique. Rejects with VMStateError naming the state for a VM that
   * is neither running nor paused, SmolVMError code EUNSUPPORTED for a shared disk or a VM with
   * a network, code EEXISTS for a name in use; a failure leaves no snapshot.
   */
  async snapshot(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('options: must be an object', { code: 'EINVAL' });
    }
    checkKeys('snapshot option', options, ['name', 'stop']);
    const { name, stop = false } = options;
    if (name !== undefined) checkString('name', name);
    if (typeof stop !== 'boolean') throw new ConfigError(`stop: must be a boolean, not ${typeof stop}`, { code: 'EINVAL' });
    return shapeSnapshot(await this.#call('snapshot', { name, stop }));
  }

  /** Stops the VM if needed and removes every trace of it. Still close() the handle. */
  delete() {
    return this.#call('delete');
  }

  /** Ends an ephemeral VM's bond to this process (deleteWithOwner): it outlives the process. */
  detach() {
    return this.#call('detach');
  }

  /** A fresh snapshot of the VM's record. */
  info() {
    return this.#call('info');
  }

  /**
   * Runs a command: a string goes to the VM user's login shell (-l -c; bash
   * in the default image), or to /bin/sh -c with options.shell 'raw'; an
   * array runs directly. A non-zero exit code is a result, not an error.
   * options.timeoutMs kills the command and everything it started
   * (result.timedOut) and returns at most a short grace later whatever the
   * guest does; options.signal (an
   * AbortSignal) kills it from here and rejects with an AbortError whose
   * .result holds the output so far.
   */
  run(command, options = {}) {
    let args;
    try {
      args = execArgs(command, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const ctx = {
      vmId: this.#id, command, shell: options.shell ?? 'login', timeoutMs: options.timeoutMs ?? 0,
      result: undefined, error: undefined,
    };
    return aroundRun([...this.#callbacks], ctx, () => this.#run(args, options));
  }

  #run(args, { signal, encoding }) {
    return this.#enqueue('run', async (handle) => {
      if (signal?.aborted) {
        throw new AbortError('smolvm: run aborted before it started', { code: 'ABORT_ERR', op: 'run', cause: signal.reason });
      }
      const { id, promise } = this.#channel.call('exec', { handle, ...args });
      const onAbort = () => this.#channel.abort(id);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return shapeResult(await promise, encoding);
      } catch (e) {
        if (e instanceof AbortError) {
          const p = e.partial;
          e.result = shapeResult({ exitCode: null, signal: null, timedOut: false, durationMs: null, ...p }, encoding);
          delete e.partial;
          if (signal) e.cause = signal.reason;
        }
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    });
  }

  /**
   * Starts a command on a terminal in the guest and resolves to its Terminal (a Duplex
   * stream): what is written is typed into it, what is read (data events, async iteration,
   * readUntil()) is what it shows, stdout and stderr as one stream with the terminal's \r\n;
   * resize() changes its size (the program gets SIGWINCH); wait() resolves to the exit code.
   * The command leads the terminal's session, so job control, Ctrl-C ('\x03') and full-screen
   * programs work. options: rows, cols (each 1..1000; default 24 x 80), term (TERM, default
   * xterm-256color), user (a guest user's name, a uid or 'uid:gid'; the default image has
   * 'user', uid 1000), env, cwd, shell and timeoutMs as for run(). destroy() kills a command
   * that still runs, as does close() of this handle. Callbacks see run() only.
   */
  pty(command, options = {}) {
    let args;
    try {
      const { rows = 24, cols = 80, term } = options;
      args = { ...execArgs(command, options, ['pty option', PTY_FIELDS]), rows, cols };
      if (term !== undefined) {
        checkString('term', term);
        args.term = term;
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue('pty', async (handle) => {
      const t = new Terminal(this.#channel, { handle, ...args });
      await t.started;
      return t;
    });
  }

  /**
   * An interactive login shell (bash in the default image) on a terminal: pty() of it, with
   * the same options but shell. No SSH or network is needed.
   */
  shell(options = {}) {
    if (options !== null && typeof options === 'object' && 'shell' in options) {
      return Promise.reject(new ConfigError("pty option 'shell': shell() chooses the shell itself", { code: 'EINVAL' }));
    }
    return this.pty(LOGIN_SHELL, { ...options, shell: 'raw' });
  }

  /** Writes data (string or bytes) to a guest file; mode 0 is 0644. */
  writeFile(path, data, { mode = 0 } = {}) {
    try {
      checkString('path', path);
      checkU32('mode', mode);
      if (typeof data === 'string') data = Buffer.from(data);
      else if (!ArrayBuffer.isView(data)) throw new ConfigError('data: must be a string, Buffer or Uint8Array', { code: 'EINVAL' });
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call('writeFile', { path, data, mode });
  }

  /** Reads a whole guest file into a Buffer, within { maxBytes, timeoutMs }. */
  async readFile(path, options = {}) {
    checkString('path', path);
    const bounds = transferBounds(options);
    return asBuffer(await this.#call('readFile', { path, ...bounds }));
  }

  /** Copies a host file or folder (recursively) into the guest. */
  async putFile(hostPath, guestPath, options = {}) {
    checkString('hostPath', hostPath);
    checkString('guestPath', guestPath);
    const bounds = transferBounds(options);
    await this.#call('putFile', { hostPath, guestPath, ...bounds });
  }

  /**
   * Copies a guest file or folder (recursively) to the host, treating what
   * the guest sends as hostile (no owner, setuid bit or special file lands;
   * symlinks are never followed; a failed copy leaves nothing).
   */
  async getFile(guestPath, hostPath, options = {}) {
    checkString('guestPath', guestPath);
    checkString('hostPath', hostPath);
    const bounds = transferBounds(options);
    await this.#call('getFile', { guestPath, hostPath, ...bounds });
  }

  /**
   * Copies one host file into the guest, making missing guest folders;
   * resolves to the guest path it landed at (a guestPath ending in '/' gets
   * the file's name).
   */
  async uploadFile(hostPath, guestPath, options = {}) {
    checkString('hostPath', hostPath);
    checkString('guestPath', guestPath);
    const dest = guestPath.endsWith('/') ? guestPath + path.basename(hostPath) : guestPath;
    await this.putFile(hostPath, dest, options);
    return dest;
  }

  /**
   * Copies one guest file to the host, making missing host folders;
   * resolves to the host path it landed at (a hostPath ending in '/' or
   * naming a folder gets the file's name).
   */
  async downloadFile(guestPath, hostPath, options = {}) {
    checkString('guestPath', guestPath);
    checkString('hostPath', hostPath);
    let dest = hostPath;
    if (hostPath.endsWith('/') || fs.statSync(hostPath, { throwIfNoEntry: false })?.isDirectory()) {
      dest = path.join(hostPath, path.posix.basename(guestPath.replace(/\/+$/, '')));
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    await this.getFile(guestPath, dest, options);
    return dest;
  }

  /** Releases the native handle after the calls already made; the VM keeps running. */
  close() {
    return this.#enqueue('close', async (handle) => {
      this.#handle = null;
      unclosed.unregister(this);
      await this.#channel.call('close', { handle }).promise;
    }).catch((e) => {
      if (!(e instanceof VMStateError && e.code === 'ECLOSED')) throw e; // closing twice is fine
    });
  }
}

module.exports = {
  SmolVM,
  Terminal,
  listSnapshots,
  getSnapshot,
  deleteSnapshot,
  SmolVMError: errors.SmolVMError,
  ConfigError,
  NotFoundError: errors.NotFoundError,
  VMStateError,
  TimeoutError: errors.TimeoutError,
  AbortError,
  CommandBlockedError: errors.CommandBlockedError,
};
