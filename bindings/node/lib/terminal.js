'use strict';
// A command on a terminal in the guest (SmolVM.pty, SmolVM.shell) as a
// Duplex stream: what is written is typed into the terminal, what is read is
// what it shows. Its native stream lives in the worker (lib/worker.js),
// which posts the output here; a reader that lags pauses the worker's
// polling of it, so output waits in the guest rather than piling up here.
const { Duplex } = require('node:stream');
const { TimeoutError, VMStateError, fromNative } = require('./errors');

class Terminal extends Duplex {
  #channel;
  #id;
  #paused = false; // the worker is told not to poll it
  #ended = false; // the command exited (or the terminal failed): no more output
  #exit; // a promise of { exitCode, signal, timedOut }
  #settleExit;

  /** @private SmolVM.pty makes it: starts args on the worker. */
  constructor(ch, args) {
    super({ allowHalfOpen: true });
    this.#channel = ch;
    this.exitCode = null;
    this.signalCode = null;
    this.timedOut = false;
    this.#exit = new Promise((resolve, reject) => (this.#settleExit = { resolve, reject }));
    this.#exit.catch(() => {}); // a failure also reaches 'error'; wait() rethrows it
    const { id, promise } = ch.call('ptyStart', args);
    this.#id = id;
    ch.listen(id, (m) => this.#event(m));
    this.started = promise.catch((e) => { // @private: SmolVM.pty awaits it
      ch.unlisten(id);
      throw e;
    });
  }

  #event(m) {
    if (m.event === 'data') {
      if (!this.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)) && !this.#paused) {
        this.#paused = true;
        this.#channel.post('ptyPause', { terminal: this.#id, paused: true });
      }
      return;
    }
    this.#channel.unlisten(this.#id);
    this.#ended = true;
    if (m.event === 'exit') {
      this.exitCode = m.exitCode;
      this.signalCode = m.signal || null;
      this.timedOut = m.timedOut;
      this.#settleExit.resolve(m);
      this.emit('exit', m.exitCode, this.signalCode);
      this.push(null);
      return;
    }
    if (m.event === 'closed') {
      // close() of the SmolVM handle killed the command: as destroy(), no 'error'.
      this.#settleExit.reject(new VMStateError('smolvm terminal: the SmolVM handle was closed, which killed the command',
        { code: 'ECLOSED', op: 'terminal' }));
      this.destroy();
      return;
    }
    // 'error' (the stream failed) or 'lost' (the worker died).
    const e = m.event === 'lost' ? m.error : fromNative(m.error, 'terminal');
    this.#settleExit.reject(e);
    this.destroy(e);
  }

  _read() {
    if (this.#paused) {
      this.#paused = false;
      this.#channel.post('ptyPause', { terminal: this.#id, paused: false });
    }
  }

  // After the command exited a write is dropped, as a command's stdin is.
  _write(chunk, _encoding, callback) {
    if (this.#ended) return callback();
    this.#channel.call('ptyWrite', { terminal: this.#id, data: chunk }).promise.then(() => callback(), callback);
  }

  // end(): the command's stdin is closed (a read on the terminal gets EOF
  // once what was typed is read).
  _final(callback) {
    if (this.#ended) return callback();
    this.#channel.call('ptyCloseStdin', { terminal: this.#id }).promise.then(() => callback(), callback);
  }

  // destroy(): the command is killed if it still runs.
  _destroy(error, callback) {
    this.#channel.unlisten(this.#id);
    if (this.#ended) return callback(error);
    this.#ended = true;
    this.#settleExit.reject(error || new VMStateError('smolvm terminal: destroyed before its command exited', { code: 'ECLOSED', op: 'terminal' }));
    this.#channel.call('ptyClose', { terminal: this.#id }).promise.then(() => callback(error), () => callback(error));
  }

  /**
   * A new window size (rows, cols each 1..1000, SMOLVM_TERMINAL_SIZE_MAX); the terminal's
   * foreground programs get SIGWINCH.
   */
  async resize(rows, cols) {
    await this.#channel.call('ptyResize', { terminal: this.#id, rows, cols }).promise;
  }

  /**
   * Everything the terminal shows until marker (a string or bytes) appears in it, marker
   * included, as a Buffer. Rejects with a TimeoutError carrying what came (.output) after
   * timeoutMs or when the command exits first. Reads in paused mode: do not mix with 'data'
   * listeners.
   */
  async readUntil(marker, { timeoutMs = 30000 } = {}) {
    const want = Buffer.from(marker);
    const deadline = Date.now() + timeoutMs;
    const seen = [];
    let text = Buffer.alloc(0);
    while (!text.includes(want)) {
      const chunk = this.read();
      if (chunk !== null) {
        seen.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        text = Buffer.concat(seen);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#ended || this.destroyed) {
        const why = left <= 0 ? `within ${timeoutMs} ms` : 'before the command exited';
        const e = new TimeoutError(`smolvm terminal: ${JSON.stringify(want.toString())} did not show ${why}; ` +
          `the terminal showed ${JSON.stringify(text.subarray(-500).toString())}`, { code: 'ETIMEOUT', op: 'terminal' });
        e.output = text;
        throw e;
      }
      await this.#moreOrEnd(left);
    }
    return text;
  }

  // Resolves when there is something to read, the stream ended, or ms passed.
  #moreOrEnd(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const ev of ['readable', 'end', 'close', 'exit']) this.off(ev, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const ev of ['readable', 'end', 'close', 'exit']) this.once(ev, done);
    });
  }

  /**
   * Resolves to the command's exit code once it exits, reading (and dropping) output nobody
   * reads. Rejects with a TimeoutError if it still runs after timeoutMs (0: no limit; the
   * command keeps running), or with the error that ended the terminal.
   */
  async wait({ timeoutMs = 0 } = {}) {
    if (this.readableFlowing !== true && this.listenerCount('readable') === 0) this.resume();
    if (!timeoutMs) return (await this.#exit).exitCode;
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`smolvm terminal: the command still runs after ${timeoutMs} ms`,
        { code: 'ETIMEOUT', op: 'terminal' })), timeoutMs);
    });
    try {
      return (await Promise.race([this.#exit, late])).exitCode;
    } finally {
      clearTimeout(timer);
    }
  }
}

module.exports = { Terminal };
