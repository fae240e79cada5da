'use strict';
// Error classes. Every failure the native library reports becomes one of
// these, carrying its message unchanged (it names the field, the value and
// what is allowed), its status (a negative number, as in smolvm.h) and its
// code (the status name, e.g. 'EINVAL').

class SmolVMError extends Error {
  constructor(message, { status = null, code = 'ERROR', op = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.op = op;
  }
}

/** A bad option or argument (EINVAL). */
class ConfigError extends SmolVMError {}
/** No such VM, file, plugin or image (ENOTFOUND). */
class NotFoundError extends SmolVMError {}
/** Not allowed in the VM's state, or the handle is closed (ESTATE, ECLOSED). */
class VMStateError extends SmolVMError {}
/** A deadline passed (ETIMEOUT). */
class TimeoutError extends SmolVMError {}
/** run() was aborted through its AbortSignal; .result has the output so far. */
class AbortError extends SmolVMError {}
/**
 * A callback's onPreRun refused the command (throw one there); nothing ran.
 * The SmolVM Python project's CommandBlockedError.
 */
class CommandBlockedError extends SmolVMError {
  constructor(message, { vmId = null, command = null, ...rest } = {}) {
    super(message, { code: 'EBLOCKED', ...rest });
    this.vmId = vmId;
    this.command = command;
  }
}

const byCode = {
  EINVAL: ConfigError,
  ENOTFOUND: NotFoundError,
  ESTATE: VMStateError,
  ETIMEOUT: TimeoutError,
};

/** Rebuilds an error the native worker described as {status, code, message}. */
function fromNative({ status, code, message }, op) {
  const Class = byCode[code] || SmolVMError;
  return new Class(message || code, { status, code, op });
}

module.exports = {
  SmolVMError, ConfigError, NotFoundError, VMStateError, TimeoutError, AbortError, CommandBlockedError,
  fromNative,
};
