'use strict';
// The main thread's side of the native worker (lib/worker.js): posts calls,
// resolves their promises from the replies. One worker per process.
const path = require('path');
const { Worker } = require('worker_threads');
const { SmolVMError, AbortError, fromNative } = require('./errors');

class Channel {
  constructor() {
    this.pending = new Map(); // call id -> { resolve, reject, op }
    this.listeners = new Map(); // call id -> fn(event message) (terminals)
    this.nextId = 1;
    this.dead = null; // the error that ended the worker
    this.worker = new Worker(path.join(__dirname, 'worker.js'));
    // An idle worker must not keep the process alive (a forgotten close()
    // would hang it); a pending call must.
    this.worker.unref();
    this.worker.on('message', (m) => (m.event ? this.listeners.get(m.id)?.(m) : this.reply(m)));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the native worker exited (code ${code})`)));
  }

  /** Posts op; returns { id, promise }. The id can be aborted with abort(). */
  call(op, args) {
    const id = this.nextId++;
    if (this.dead) return { id, promise: Promise.reject(this.lost(op)) };
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, op }));
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ id, op, args });
    return { id, promise };
  }

  /** Posts op without waiting for (or expecting) a reply. */
  post(op, args) {
    if (!this.dead) this.worker.postMessage({ id: 0, op, args });
  }

  /**
   * Hands the events the worker posts under call id ({id, event, ...}) to
   * fn until unlisten(id). A listener holds the process alive, as a pending
   * call does: its command still runs.
   */
  listen(id, fn) {
    this.listeners.set(id, fn);
    this.worker.ref();
  }

  unlisten(id) {
    if (this.listeners.delete(id)) this.settled(null);
  }

  /** Asks the worker to kill the command of exec call id. */
  abort(id) {
    if (this.pending.has(id)) this.post('abort', { id });
  }

  reply({ id, ok, value, error, aborted, partial }) {
    const p = this.pending.get(id);
    if (!p) return;
    this.settled(id);
    if (ok) return p.resolve(value);
    if (aborted) {
      const e = new AbortError(`smolvm: ${p.op} aborted, command killed`, { code: 'ABORT_ERR', op: p.op });
      e.partial = partial; // raw output so far; index.js shapes it
      return p.reject(e);
    }
    p.reject(fromNative(error, p.op));
  }

  settled(id) {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.listeners.size === 0) this.worker.unref();
  }

  lost(op) {
    return new SmolVMError(`smolvm ${op}: ${this.dead.message}`, { op, cause: this.dead });
  }

  // The worker failed to start (e.g. no addon) or died: every call in
  // flight fails with the reason; the next SmolVM gets a new worker, but
  // handles of this one are lost.
  fail(e) {
    if (this.dead) return;
    this.dead = e;
    for (const [id, p] of this.pending) {
      this.settled(id);
      p.reject(this.lost(p.op));
    }
    for (const [id, fn] of this.listeners) {
      this.listeners.delete(id);
      fn({ id, event: 'lost', error: this.lost('terminal') });
    }
    if (current === this) current = null;
  }
}

let current = null;

/** The process's channel, started on first use (or after a crash). */
function channel() {
  if (!current) current = new Channel();
  return current;
}

module.exports = { channel };
