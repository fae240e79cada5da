'use strict';
// The native worker: the one thread that loads smolvm_native.node and makes
// every native call, so that none of them ever blocks the main event loop.
//
// Why exactly one: SWIG 4.1's V8 wrappers keep their class templates in
// process-wide statics that each load overwrites with handles of its own
// isolate, so the addon is safe in only one isolate per process. Native
// handles therefore live here, named by number, and the main thread
// (lib/channel.js) sends {id, op, args} and gets {id, ok, value|error}.
//
// Commands do not hold the thread: exec polls its stream without waiting
// and yields between polls, so other VMs' calls and aborts get through.
// Other calls (start, stop, ...) block this thread for their duration.
const { parentPort } = require('worker_threads');
const native = require('./addon').load();

const handles = new Map(); // number -> { rt, vm }
let nextHandle = 1;
const runs = new Map(); // call id -> run state
const terminals = new Map(); // call id of its start -> terminal state

// Read right after the failing call: the message is per thread, and this
// thread makes every call.
function nativeError(status) {
  const st = status < 0 ? status : native.smolvm_swig_last_status();
  return { status: st, code: native.smolvm_status_str(st), message: native.smolvm_swig_last_error() };
}
function check(rc) {
  if (rc < 0) throw nativeError(rc);
  return rc;
}
function must(ptr) {
  if (ptr === null) throw nativeError(0);
  return ptr;
}
function vmOf(handle) {
  const h = handles.get(handle);
  if (!h) throw { status: null, code: 'ECLOSED', message: 'the SmolVM handle is closed' };
  return h.vm;
}

function openRuntime(r = {}) {
  return must(native.smolvm_swig_runtime_open(r.stateDir, r.cacheDir, r.pluginPath, r.store));
}
function register(rt, vm) {
  const handle = nextHandle++;
  handles.set(handle, { rt, vm });
  return { handle, id: native.smolvm_vm_id(vm) };
}

// args.vm: C field name -> string or number, checked by index.js.
function create({ runtime, vm: fields }) {
  const opts = must(native.smolvm_swig_vm_opts_new());
  let rt = null;
  try {
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value === 'number') check(native.smolvm_swig_vm_opts_set_u32(opts, field, value));
      else check(native.smolvm_swig_vm_opts_set_str(opts, field, value));
    }
    rt = openRuntime(runtime);
    return register(rt, must(native.smolvm_swig_vm_create(rt, opts)));
  } catch (e) {
    if (rt) native.smolvm_runtime_close(rt);
    throw e;
  } finally {
    native.smolvm_swig_vm_opts_free(opts);
  }
}

// A handle on the VM make(rt) returns, on a runtime opened for it (closed
// again when make fails).
function openVm(runtime, make) {
  const rt = openRuntime(runtime);
  try {
    return register(rt, must(make(rt)));
  } catch (e) {
    native.smolvm_runtime_close(rt);
    throw e;
  }
}

function open({ runtime, id }) {
  return openVm(runtime, (rt) => native.smolvm_swig_vm_open(rt, id));
}

function info({ handle }) {
  const p = must(native.smolvm_swig_vm_info(vmOf(handle)));
  try {
    return {
      id: p.id, state: p.state_name, vcpuCount: p.vcpu_count, memSizeMib: p.mem_size_mib,
      diskMode: p.disk_mode, diskSizeMib: p.disk_size_mib, vmm: p.vmm, executor: p.executor, network: p.network,
      accel: p.accel, kernelPath: p.kernel_path, rootfsPath: p.rootfs_path,
      diskPath: p.disk_path, ip: p.ip, stateDir: p.state_dir, consoleLog: p.console_log,
      supervisorPid: p.supervisor_pid, vmmPid: p.vmm_pid, createdAtMs: p.created_at_ms,
      startedAtMs: p.started_at_ms, lastError: p.last_error,
      ttlS: p.ttl_s, onTtl: p.on_ttl, ttlLeftMs: p.ttl_left_ms,
      idleTimeoutS: p.idle_timeout_s, onIdle: p.on_idle, pausedBy: p.paused_by,
      boot: p.boot, bootReason: p.boot_reason,
    };
  } finally {
    native.smolvm_swig_vm_info_free(p);
  }
}

function close({ handle }) {
  const h = handles.get(handle);
  if (!h) return; // closing twice is fine
  // A terminal's stream uses the handle: it ends first (its command killed).
  for (const [id, t] of terminals) {
    if (t.handle === handle) {
      endTerminal(id, t, { event: 'closed' });
    }
  }
  handles.delete(handle);
  native.smolvm_vm_free(h.vm);
  native.smolvm_runtime_close(h.rt); // after its VM, as the C ABI requires
}

function readFile({ handle, path, maxBytes, timeoutMs }) {
  const buf = must(native.smolvm_swig_vm_read_file(vmOf(handle), path, maxBytes, timeoutMs));
  try {
    return native.smolvm_swig_buf_bytes(buf);
  } finally {
    native.smolvm_swig_buf_free(buf);
  }
}

function profile({ runtime, path, id }) {
  return openVm(runtime, (rt) => native.smolvm_swig_vm_create_from_profile(rt, path, id));
}

// fn(list) with a native string list of items, freed after.
function withList(items, fn) {
  const list = must(native.smolvm_swig_strlist_new());
  try {
    for (const item of items) check(native.smolvm_swig_strlist_add(list, item));
    return fn(list);
  } finally {
    native.smolvm_swig_strlist_free(list);
  }
}

// The JSON in a native buffer (NULL: the call failed), freed after.
function readJson(buf) {
  must(buf);
  try {
    return JSON.parse(Buffer.from(native.smolvm_swig_buf_bytes(buf)).toString('utf8'));
  } finally {
    native.smolvm_swig_buf_free(buf);
  }
}

// fn(rt) on a runtime opened for the call.
function withRuntime(runtime, fn) {
  const rt = openRuntime(runtime);
  try {
    return fn(rt);
  } finally {
    native.smolvm_runtime_close(rt);
  }
}

// fn(opts) on a new native option builder, freed after.
function withBuilder(make, free, fn) {
  const opts = must(make());
  try {
    return fn(opts);
  } finally {
    free(opts);
  }
}

// Saves the VM; resolves to the new snapshot's record (raw JSON fields).
function snapshot({ handle, name, stop }) {
  const h = handles.get(handle);
  const vm = vmOf(handle);
  return withBuilder(native.smolvm_swig_snapshot_opts_new, native.smolvm_swig_snapshot_opts_free, (o) => {
    if (name !== undefined) check(native.smolvm_swig_snapshot_opts_set_str(o, 'name', name));
    check(native.smolvm_swig_snapshot_opts_set_u32(o, 'stop', stop ? 1 : 0));
    const buf = must(native.smolvm_swig_vm_snapshot(vm, o));
    let id;
    try {
      id = Buffer.from(native.smolvm_swig_buf_bytes(buf)).toString('utf8');
    } finally {
      native.smolvm_swig_buf_free(buf);
    }
    return readJson(native.smolvm_swig_snapshot_inspect(h.rt, id));
  });
}

// args.fields: C field name -> string or number, checked by index.js.
function restore({ runtime, snapshot: s, fields }) {
  return withBuilder(native.smolvm_swig_restore_opts_new, native.smolvm_swig_restore_opts_free, (o) => {
    for (const [field, value] of Object.entries(fields)) {
      if (typeof value === 'number') check(native.smolvm_swig_restore_opts_set_u32(o, field, value));
      else check(native.smolvm_swig_restore_opts_set_str(o, field, value));
    }
    return openVm(runtime, (rt) => native.smolvm_swig_vm_create_from_snapshot(rt, s, o));
  });
}

const calls = {
  create,
  open,
  profile,
  info,
  close,
  readFile,
  start: ({ handle, bootTimeoutMs = 0 }) =>
    void check(native.smolvm_swig_vm_start_within(vmOf(handle), bootTimeoutMs)),
  envSet: ({ handle, entries, merge }) =>
    withList(entries, (l) => void check(native.smolvm_swig_vm_env_set(vmOf(handle), l, merge ? 1 : 0))),
  envUnset: ({ handle, names }) =>
    withList(names, (l) => void check(native.smolvm_swig_vm_env_unset(vmOf(handle), l))),
  envList: ({ handle }) => readJson(native.smolvm_swig_vm_env_list(vmOf(handle))),
  stop: ({ handle, timeoutMs }) => void check(native.smolvm_swig_vm_stop(vmOf(handle), timeoutMs)),
  delete: ({ handle }) => void check(native.smolvm_swig_vm_delete(vmOf(handle))),
  detach: ({ handle }) => void check(native.smolvm_swig_vm_detach(vmOf(handle))),
  pause: ({ handle }) => void check(native.smolvm_swig_vm_pause(vmOf(handle))),
  resume: ({ handle }) => void check(native.smolvm_swig_vm_resume(vmOf(handle))),
  writeFile: ({ handle, path, data, mode }) =>
    void check(native.smolvm_swig_vm_write_file(vmOf(handle), path, data, mode)),
  putFile: ({ handle, hostPath, guestPath, maxBytes, timeoutMs }) =>
    void check(native.smolvm_swig_vm_put(vmOf(handle), hostPath, guestPath, maxBytes, timeoutMs)),
  getFile: ({ handle, guestPath, hostPath, maxBytes, timeoutMs }) =>
    void check(native.smolvm_swig_vm_get(vmOf(handle), guestPath, hostPath, maxBytes, timeoutMs)),
  snapshot,
  restore,
  snapshotList: ({ runtime }) => withRuntime(runtime, (rt) => readJson(native.smolvm_swig_snapshot_list(rt))),
  snapshotInspect: ({ runtime, snapshot: s }) =>
    withRuntime(runtime, (rt) => readJson(native.smolvm_swig_snapshot_inspect(rt, s))),
  snapshotDelete: ({ runtime, snapshot: s }) =>
    withRuntime(runtime, (rt) => void check(native.smolvm_swig_snapshot_delete(rt, s))),
};

// ---- commands ---------------------------------------------------------

const KILL_GRACE_MS = 5000; // wait for the exit event after an abort's kill
const IDLE_POLL_MS = 5; // pause between polls when no stream had output
const SIGKILL = 9;

function execOptions({ command, argv, env, cwd, stdin, timeoutMs, shell, user }) {
  const o = must(native.smolvm_swig_exec_opts_new());
  try {
    if (command !== undefined) check(native.smolvm_swig_exec_opts_set_command(o, command));
    for (const a of argv || []) check(native.smolvm_swig_exec_opts_add_arg(o, a));
    for (const e of env || []) check(native.smolvm_swig_exec_opts_add_env(o, e));
    if (cwd !== undefined) check(native.smolvm_swig_exec_opts_set_cwd(o, cwd));
    if (stdin !== undefined) check(native.smolvm_swig_exec_opts_set_stdin(o, stdin));
    if (timeoutMs) check(native.smolvm_swig_exec_opts_set_timeout_ms(o, timeoutMs));
    if (shell !== undefined) check(native.smolvm_swig_exec_opts_set_shell(o, shell));
    if (user !== undefined) check(native.smolvm_swig_exec_opts_set_user(o, user));
    return o;
  } catch (e) {
    native.smolvm_swig_exec_opts_free(o);
    throw e;
  }
}

function startRun(id, args) {
  const opts = execOptions(args);
  let stream;
  try {
    stream = must(native.smolvm_swig_stream_start(vmOf(args.handle), opts));
  } finally {
    native.smolvm_swig_exec_opts_free(opts);
  }
  // args.stdin went with the start; closing gives the command EOF rather
  // than a read that never ends.
  try {
    check(native.smolvm_swig_stream_close_stdin(stream));
  } catch (e) {
    native.smolvm_swig_stream_free(stream);
    throw e;
  }
  runs.set(id, { stream, out: [], err: [], abort: null, killDeadline: 0 });
  schedule(0);
}

function finishRun(id, run, reply) {
  runs.delete(id);
  native.smolvm_swig_stream_free(run.stream); // kills the command if it still runs
  const output = { stdout: Buffer.concat(run.out), stderr: Buffer.concat(run.err) };
  parentPort.postMessage({ id, ...reply(output) });
}

// Drains what each stream has now, without waiting; false if none had any.
function pollRuns() {
  let progressed = false;
  for (const [id, run] of runs) {
    if (run.abort && !run.killDeadline) {
      run.killDeadline = Date.now() + KILL_GRACE_MS;
      native.smolvm_swig_stream_kill(run.stream, SIGKILL); // failing: it already ended
    }
    if (run.killDeadline && Date.now() > run.killDeadline) {
      finishRun(id, run, (o) => ({ ok: false, aborted: true, partial: o }));
      continue;
    }
    for (;;) {
      const t = native.smolvm_swig_stream_next(run.stream, 0);
      if (t === native.SMOLVM_ETIMEOUT) break;
      progressed = true;
      if (t === native.SMOLVM_EVENT_STDOUT || t === native.SMOLVM_EVENT_STDERR) {
        (t === native.SMOLVM_EVENT_STDOUT ? run.out : run.err).push(native.smolvm_swig_stream_data(run.stream));
        continue;
      }
      if (t === native.SMOLVM_EVENT_EXIT) {
        const exit = {
          exitCode: native.smolvm_swig_stream_exit_code(run.stream),
          signal: native.smolvm_swig_stream_signal(run.stream),
          timedOut: native.smolvm_swig_stream_timed_out(run.stream) !== 0,
          durationMs: native.smolvm_swig_stream_duration_us(run.stream) / 1000,
        };
        finishRun(id, run, (o) =>
          run.abort ? { ok: false, aborted: true, partial: { ...exit, ...o } } : { ok: true, value: { ...exit, ...o } });
      } else if (run.abort) {
        finishRun(id, run, (o) => ({ ok: false, aborted: true, partial: o })); // the kill broke the stream
      } else {
        const error = t < 0 ? nativeError(t) : { status: null, code: 'EPROTO', message: `unknown event type ${t}` };
        finishRun(id, run, () => ({ ok: false, error }));
      }
      break;
    }
  }
  return progressed;
}

// ---- terminals --------------------------------------------------------
//
// A terminal (SmolVM.pty) streams its output to the main thread as
// {id, event: 'data'|'exit'|'error'|'closed'} messages, id being its start
// call's.
// The main thread pauses a terminal whose reader lags (ptyPause): its
// stream is then not polled, so the agent's output credit runs out and the
// command waits, instead of output piling up in this process.

const TERMINAL_EVENTS_PER_TICK = 16; // lets a pause or other streams in
// What is typed goes in pieces of this size, one a tick, the terminal's
// output drained between them: a native write waits for the agent's stdin
// credit, holding this thread, and a program that echoes what it reads
// (cat on a terminal) gives credit back only while its output is read.
const TERMINAL_WRITE_CHUNK = 64 * 1024;

// Both 0 would start the command without a terminal: refused here.
function checkTerminalSize(rows, cols) {
  const max = native.SMOLVM_TERMINAL_SIZE_MAX;
  for (const [name, v] of [['rows', rows], ['cols', cols]]) {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw { status: native.SMOLVM_EINVAL, code: 'EINVAL', message: `${name}=${String(v)}: must be 1..${max}` };
    }
  }
}

function startTerminal(id, args) {
  checkTerminalSize(args.rows, args.cols);
  const opts = execOptions(args);
  let stream;
  try {
    check(native.smolvm_swig_exec_opts_set_pty(opts, args.rows, args.cols, args.term ?? ''));
    stream = must(native.smolvm_swig_stream_start(vmOf(args.handle), opts));
  } finally {
    native.smolvm_swig_exec_opts_free(opts);
  }
  terminals.set(id, { stream, handle: args.handle, paused: false, writes: [] });
  parentPort.postMessage({ id, ok: true, value: id });
  schedule(0);
}

// Frees the stream (killing a command that still runs) after telling the
// main thread how the terminal ended.
function endTerminal(id, t, message) {
  terminals.delete(id);
  native.smolvm_swig_stream_free(t.stream);
  // What was still to be typed is dropped, as a closed stdin drops it.
  for (const w of t.writes) parentPort.postMessage({ id: w.id, ok: true });
  parentPort.postMessage({ id, ...message });
}

// Types the next piece of the oldest write; replies to it once all of it went.
function writeTerminal(t) {
  const w = t.writes[0];
  const end = Math.min(w.off + TERMINAL_WRITE_CHUNK, w.data.byteLength);
  try {
    check(native.smolvm_swig_stream_write_stdin(t.stream, w.data.subarray(w.off, end)));
  } catch (e) {
    t.writes.shift();
    parentPort.postMessage({ id: w.id, ok: false, error: describe(e) });
    return;
  }
  w.off = end;
  if (w.off === w.data.byteLength) {
    t.writes.shift();
    parentPort.postMessage({ id: w.id, ok: true });
  }
}

function terminalOf(id) {
  const t = terminals.get(id);
  if (!t) throw { status: null, code: 'ECLOSED', message: 'the terminal has ended' };
  return t;
}

// Posts what one terminal has now, without waiting; false if it had none.
function pollTerminal(id, t) {
  for (let n = 0; n < TERMINAL_EVENTS_PER_TICK; n++) {
    const k = native.smolvm_swig_stream_next(t.stream, 0);
    if (k === native.SMOLVM_ETIMEOUT) return n > 0;
    if (k === native.SMOLVM_EVENT_STDOUT || k === native.SMOLVM_EVENT_STDERR) {
      parentPort.postMessage({ id, event: 'data', data: native.smolvm_swig_stream_data(t.stream) });
      continue;
    }
    if (k === native.SMOLVM_EVENT_EXIT) {
      endTerminal(id, t, {
        event: 'exit',
        exitCode: native.smolvm_swig_stream_exit_code(t.stream),
        signal: native.smolvm_swig_stream_signal(t.stream),
        timedOut: native.smolvm_swig_stream_timed_out(t.stream) !== 0,
      });
    } else {
      const error = k < 0 ? nativeError(k) : { status: null, code: 'EPROTO', message: `unknown event type ${k}` };
      endTerminal(id, t, { event: 'error', error });
    }
    return true;
  }
  return true;
}

// A paused terminal neither types nor is read: its output is not drained,
// so a write could wait for credit that never comes.
function pollTerminals() {
  let progressed = false;
  for (const [id, t] of terminals) {
    if (t.paused) continue;
    if (t.writes.length > 0) {
      writeTerminal(t);
      progressed = true;
    }
    if (pollTerminal(id, t)) progressed = true;
  }
  return progressed;
}

// Queued, typed a piece a tick (TERMINAL_WRITE_CHUNK); replies when done.
// Typed after the command ended (its exit may be on its way): dropped, as
// the C ABI drops stdin for an ended command.
function queueWrite(id, { terminal, data }) {
  const t = terminals.get(terminal);
  if (!t) return parentPort.postMessage({ id, ok: true });
  t.writes.push({ id, data, off: 0 });
  schedule(0);
}

const terminalCalls = {
  ptyResize: ({ terminal, rows, cols }) => {
    checkTerminalSize(rows, cols);
    check(native.smolvm_swig_stream_resize(terminalOf(terminal).stream, rows, cols));
  },
  ptyCloseStdin: ({ terminal }) => void check(native.smolvm_swig_stream_close_stdin(terminalOf(terminal).stream)),
  ptyClose: ({ terminal }) => {
    const t = terminals.get(terminal);
    if (t) endTerminal(terminal, t, { event: 'closed' });
  },
};

function pauseTerminal({ terminal, paused }) {
  const t = terminals.get(terminal);
  if (!t) return;
  t.paused = paused;
  if (!paused) schedule(0);
}

let scheduled = false;
function schedule(delayMs) {
  if (scheduled || (runs.size === 0 && ![...terminals.values()].some((t) => !t.paused))) return;
  scheduled = true;
  const tick = () => {
    scheduled = false;
    const terminalsProgressed = pollTerminals(); // both polled every tick
    const progressed = pollRuns() || terminalsProgressed;
    schedule(progressed ? 0 : IDLE_POLL_MS);
  };
  if (delayMs) setTimeout(tick, delayMs);
  else setImmediate(tick);
}

// ---- messages ---------------------------------------------------------

function describe(e) {
  if (e && typeof e.code === 'string' && 'status' in e) return e; // from nativeError
  // The shared SWIG typemap refuses text holding NUL (smolvm_api.i).
  const text = String((e && e.message) || e);
  if (text.includes('embedded null character')) return { status: native.SMOLVM_EINVAL, code: 'EINVAL', message: text };
  return { status: null, code: 'ERROR', message: String((e && e.message) || e) }; // e.g. a SWIG type check
}

parentPort.on('message', ({ id, op, args }) => {
  try {
    if (op === 'exec') return startRun(id, args); // replies when the command ends
    if (op === 'ptyStart') return startTerminal(id, args); // replies, then posts events
    if (op === 'ptyPause') return pauseTerminal(args);
    if (op === 'ptyWrite') return queueWrite(id, args);
    if (op === 'abort') {
      const run = runs.get(args.id);
      if (run) run.abort = true;
      return schedule(0);
    }
    const call = calls[op] || terminalCalls[op];
    if (!call) throw { status: null, code: 'ERROR', message: `unknown call '${op}'` };
    parentPort.postMessage({ id, ok: true, value: call(args) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: describe(e) });
  }
});
