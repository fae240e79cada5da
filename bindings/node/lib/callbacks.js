'use strict';
// Callbacks around run(), as the SmolVM Python project's: an agent's guard
// (onPreRun may veto a command) and its audit log (onPostRun, onRunError).
// Each may be async; they run outside the handle's queue, so a callback may
// call the VM's own methods.
const { ConfigError } = require('./errors');

const HOOKS = ['onPreRun', 'onPostRun', 'onRunError'];

function checkCallback(cb, where) {
  const ok = cb !== null && typeof cb === 'object'
    && HOOKS.every((k) => cb[k] === undefined || typeof cb[k] === 'function')
    && HOOKS.some((k) => typeof cb[k] === 'function');
  if (!ok) {
    throw new ConfigError(`${where}: must be an object with one or more of the functions ${HOOKS.join(', ')}`, { code: 'EINVAL' });
  }
  return cb;
}

/** The callbacks option (undefined: none), checked. */
function checkCallbacks(list) {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new ConfigError('callbacks: must be an array', { code: 'EINVAL' });
  return list.map((cb, i) => checkCallback(cb, `callbacks[${i}]`));
}

// What onPostRun and onRunError throw is reported as a process warning and
// dropped: an observer cannot change the outcome.
async function observe(callbacks, hook, ctx) {
  for (const cb of callbacks) {
    if (!cb[hook]) continue;
    try {
      await cb[hook](ctx);
    } catch (e) {
      process.emitWarning(`smolvm: a callback's ${hook} failed: ${e?.message ?? e}`, { code: 'SMOLVM_CALLBACK' });
    }
  }
}

/**
 * run() between the callbacks: each onPreRun first (what one throws, e.g. a
 * CommandBlockedError, rejects run() and nothing reaches the guest), then
 * onPostRun with ctx.result, or onRunError with ctx.error.
 */
async function aroundRun(callbacks, ctx, run) {
  for (const cb of callbacks) {
    if (cb.onPreRun) await cb.onPreRun(ctx);
  }
  try {
    ctx.result = await run();
  } catch (e) {
    ctx.error = e;
    await observe(callbacks, 'onRunError', ctx);
    throw e;
  }
  await observe(callbacks, 'onPostRun', ctx);
  return ctx.result;
}

module.exports = { aroundRun, checkCallback, checkCallbacks };
