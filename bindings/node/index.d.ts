// Type declarations for the `smolvm` package (index.js).
/// <reference types="node" />
import { Duplex } from 'node:stream';

/** Where SmolVM keeps its state; unset fields take the library's defaults. */
export interface RuntimeOptions {
  /** Store and per-VM folders; default $SMOLVM_STATE_DIR, else ~/.local/state/smolvm. */
  stateDir?: string;
  /** Guest images; default $SMOLVM_CACHE_DIR, else ~/.cache/smolvm. */
  cacheDir?: string;
  /** Extra plugin folders, ':'-separated. */
  pluginPath?: string;
  /** Store plugin; default "sqlite". */
  store?: string;
}

/** A new VM. Unset fields take the library's defaults; it validates them all. */
/** What a callback sees of one run(); result or error once it ended. */
export interface RunContext {
  vmId: string;
  command: string | string[];
  shell: 'login' | 'raw';
  timeoutMs: number;
  result?: RunResult<string | Buffer>;
  error?: Error;
}

/**
 * Runs around every run() of a handle (the SmolVM Python project's
 * callbacks). What onPreRun throws rejects run() before anything reaches the
 * guest; what the other two throw becomes a process warning.
 */
export interface Callback {
  onPreRun?(ctx: RunContext): void | Promise<void>;
  onPostRun?(ctx: RunContext): void | Promise<void>;
  onRunError?(ctx: RunContext): void | Promise<void>;
}

export interface CreateOptions extends RuntimeOptions {
  /** Callbacks of the handle create() returns (see Callback). */
  callbacks?: Callback[];
  /** [a-z0-9][a-z0-9-]{0,62}; default "vm-" + 8 random hex digits. */
  id?: string;
  /** 1..32, default 2. */
  vcpuCount?: number;
  /** 128..16384, default 512. */
  memSizeMib?: number;
  diskMode?: 'isolated' | 'shared';
  /** Isolated disk size; default the image's size, else at least that (the guest's / grows into it). */
  diskSizeMib?: number;
  /** A named image (`smolvm image ls`); default the default image. The VM keeps the image the name leads to now. */
  image?: string;
  kernelPath?: string;
  rootfsPath?: string;
  /** Appended to the kernel command line. */
  bootArgs?: string;
  vmm?: 'qemu' | 'firecracker' | 'auto';
  executor?: 'agent' | 'ssh' | 'auto';
  network?: 'none' | 'nftables' | 'iptables' | 'auto';
  accel?: 'auto' | 'kvm' | 'tcg';
  /** How long start() waits for the guest (rounded up to seconds); default 120 s. */
  bootTimeoutMs?: number;
  /**
   * 'auto' (default): the first start restores the image's template where the VM fits one
   * (info().boot and bootReason say which boot it got and why); 'cold': always boot the kernel.
   */
  boot?: 'auto' | 'cold';
  /**
   * Ephemeral: the process that starts the VM owns it; when that process ends without
   * detach() (exit, any signal, SIGKILL included), the VM's supervisor deletes it.
   */
  deleteWithOwner?: boolean;
  /**
   * Lifetimes, enforced by the VM's supervisor with or without a client (0 or absent: none).
   * ttlS: running time one boot may have, paused time not counted; then onTtl. idleTimeoutS:
   * time with no command or copy under way; then onIdle ('pause': the next command resumes it).
   */
  ttlS?: number;
  onTtl?: 'delete' | 'stop';
  idleTimeoutS?: number;
  onIdle?: 'pause' | 'stop' | 'delete' | 'hibernate';
}

/** Bounds of one file transfer (since ABI 1.2); 0 or absent: the default. */
export interface TransferOptions {
  /** Most bytes received from the guest and written on the host; default 1 GiB. */
  maxBytes?: number;
  /** Deadline for the whole transfer; default 300000 (5 minutes). */
  timeoutMs?: number;
}

export interface RunOptions {
  /** The command and everything it started are killed after this long
   * (result.timedOut); run() settles at most a short grace later. 0: none. */
  timeoutMs?: number;
  /** How a string command runs: 'login' (default: the VM user's login
   * shell, -l -c) or 'raw' (/bin/sh -c). */
  shell?: 'login' | 'raw';
  /** Run as this guest user: a name ('user', uid 1000, in the default image), a uid or 'uid:gid'. */
  user?: string;
  /** Kills the command from the host; run() then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Added to the guest's environment: { KEY: 'value' } or ['KEY=value']. */
  env?: Record<string, string> | string[];
  /** Working directory; default /. */
  cwd?: string;
  /** Sent to the command, then stdin is closed. */
  stdin?: string | Uint8Array;
  /** How stdout and stderr are decoded; 'buffer' keeps the bytes. Default 'utf8'. */
  encoding?: BufferEncoding | 'buffer';
}

/** A command on a terminal (SmolVM.pty): RunOptions' timeoutMs, shell, user, env and cwd. */
export interface PtyOptions extends Pick<RunOptions, 'timeoutMs' | 'shell' | 'user' | 'env' | 'cwd'> {
  /** The terminal's size: rows and cols each 1..1000; default 24 x 80. */
  rows?: number;
  cols?: number;
  /** TERM in the guest; default 'xterm-256color'. */
  term?: string;
}

/**
 * A command on a terminal in the guest (SmolVM.pty, SmolVM.shell), as a Duplex stream: write()
 * types into the terminal; 'data' events, async iteration and readUntil() give what it shows
 * (stdout and stderr as one stream, with the terminal's \r\n) until the command exits.
 * end() closes the command's stdin; destroy() kills a command that still runs.
 */
export class Terminal extends Duplex {
  private constructor();
  /** Set once the command exited: its exit status, or 128+signal. */
  readonly exitCode: number | null;
  /** The signal that ended the command, or null. */
  readonly signalCode: number | null;
  /** The command's timeoutMs killed it. */
  readonly timedOut: boolean;
  /** A new window size (1..1000 each); the terminal's foreground programs get SIGWINCH. */
  resize(rows: number, cols: number): Promise<void>;
  /**
   * What the terminal shows until marker appears (included). Rejects with a TimeoutError
   * (.output: what came) after timeoutMs (default 30000) or when the command exits first.
   */
  readUntil(marker: string | Uint8Array, options?: { timeoutMs?: number }): Promise<Buffer>;
  /**
   * The exit code once the command exits, dropping output nobody reads; a TimeoutError if it
   * still runs after timeoutMs (0, the default: no limit).
   */
  wait(options?: { timeoutMs?: number }): Promise<number>;
  on(event: 'exit', listener: (exitCode: number, signal: number | null) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** How a command ended. A non-zero exit code is a result, not an error. */
export interface RunResult<T = string> {
  /** The exit status, or 128+signal when killed. */
  exitCode: number;
  /** The signal that ended it, or 0. */
  signal: number;
  /** The guest-side timeoutMs killed it. */
  timedOut: boolean;
  stdout: T;
  stderr: T;
  durationMs: number;
}

export interface VMInfo {
  id: string;
  state: 'created' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'failed';
  vcpuCount: number;
  memSizeMib: number;
  diskMode: string;
  /** The disk's size as the guest sees it. */
  diskSizeMib: number;
  vmm: string;
  executor: string;
  network: string;
  /** "kvm" or "tcg" once started, else "". */
  accel: string;
  kernelPath: string;
  rootfsPath: string;
  /** "" in shared mode. */
  diskPath: string;
  /** "" without network. */
  ip: string;
  stateDir: string;
  consoleLog: string;
  supervisorPid: number;
  vmmPid: number;
  createdAtMs: number;
  startedAtMs: number;
  /** Why it failed or stopped unexpectedly, or "". */
  lastError: string;
  /** The lifetime policy (0: none) and what is left of it. */
  ttlS: number;
  onTtl: string;
  /** Running time left of this boot's ttl (frozen while paused, the whole ttl while not running); -1 without one. */
  ttlLeftMs: number;
  idleTimeoutS: number;
  onIdle: string;
  /** 'idle' when the idle policy paused the VM (the next command resumes it), else ''. */
  pausedBy: string;
  /** How the guest came up at the last start: "snapshot" (restored from a
   * template of a freshly booted guest, or a snapshot) or "cold", and why. */
  boot: string;
  bootReason: string;
}

/** A snapshot's record (what `smolvm snapshot inspect` shows). */
export interface SnapshotInfo {
  /** "snap-" + 8 hex digits. */
  id: string;
  /** '' when it has none. Every call taking a snapshot accepts its id or its name. */
  name: string;
  /** The VM it was taken of. */
  sourceVm: string;
  createdAtMs: number;
  /** A restore runs on exactly this machine. */
  vcpuCount: number;
  memSizeMib: number;
  kernelPath: string;
  rootfsPath: string;
  vmm: string;
  executor: string;
  accel: string;
  /** The saved memory and device state. */
  stateBytes: number;
  /** The disk layer. */
  diskBytes: number;
  /** The disk layers a restore sits on, oldest first. */
  layers: string[];
  /** Its folder. */
  dir: string;
  /** Folders of the VMs and snapshots built on its disk (they keep it from deletion). */
  usedBy: string[];
}

export interface SnapshotOptions {
  /** [a-z0-9][a-z0-9._-]{0,62}, unique among snapshots; default none. */
  name?: string;
  /** Stop the VM after its snapshot instead of letting it run on. */
  stop?: boolean;
}

export interface RestoreOptions extends RuntimeOptions {
  /** Callbacks of the handle fromSnapshot() returns (see Callback). */
  callbacks?: Callback[];
  /** The new VM's id; default generated. */
  id?: string;
  /** Default the snapshot's; anything else must equal it. */
  vcpuCount?: number;
  memSizeMib?: number;
  /** As CreateOptions.deleteWithOwner. */
  deleteWithOwner?: boolean;
  /** The new VM's lifetimes, as CreateOptions' (the source's are not carried over). */
  ttlS?: number;
  onTtl?: 'delete' | 'stop';
  idleTimeoutS?: number;
  onIdle?: 'pause' | 'stop' | 'delete' | 'hibernate';
}

/**
 * A handle on one VM. Every method runs the native call on a worker thread
 * and never blocks the event loop; calls on one handle run in order.
 * close() releases the handle, never the VM: stop() or delete() for that.
 */
export class SmolVM {
  private constructor();
  /** Records a new VM (state "created"); start() boots it. */
  static create(options?: CreateOptions): Promise<SmolVM>;
  /** Attaches to an existing VM by id, from any process. */
  static fromId(id: string, options?: RuntimeOptions & { callbacks?: Callback[] }): Promise<SmolVM>;
  /** A new VM from a snapshot (id or name); its first start() restores it. */
  static fromSnapshot(snapshot: string, options?: RestoreOptions): Promise<SmolVM>;
  /** Adds a callback after those given; returns this. */
  addCallback(callback: Callback): this;
  /** A new VM from a YAML profile; options.id overrides the profile's id. */
  static fromProfile(profilePath: string, options?: RuntimeOptions & { id?: string }): Promise<SmolVM>;
  readonly id: string;
  /** True after close(). */
  readonly closed: boolean;
  /** Boots the VM; resolves once its guest agent answers (bootTimeoutMs 0: the VM's own). */
  start(options?: { bootTimeoutMs?: number }): Promise<void>;
  /** Variables every later command sees, kept with the VM; resolves to the names set. */
  setEnvVars(vars: Record<string, string>, options?: { merge?: boolean }): Promise<string[]>;
  /** Removes variables; resolves to those removed with their values. */
  unsetEnvVars(names: string[]): Promise<Record<string, string>>;
  listEnvVars(): Promise<Record<string, string>>;
  /** A string runs in the login shell (options.shell); an array runs directly. */
  run(command: string | string[], options: RunOptions & { encoding: 'buffer' }): Promise<RunResult<Buffer>>;
  run(command: string | string[], options?: RunOptions): Promise<RunResult<string>>;
  /**
   * Starts a command on a terminal (it leads the terminal's session: job control, Ctrl-C and
   * full-screen programs work); resolves once it started. Callbacks see run() only.
   */
  pty(command: string | string[], options?: PtyOptions): Promise<Terminal>;
  /** An interactive login shell (bash in the default image) on a terminal; no SSH or network. */
  shell(options?: Omit<PtyOptions, 'shell'>): Promise<Terminal>;
  /** Shuts the guest down, forcing it off after timeoutMs (0: 10 s). */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Saves the VM's memory, device state and disk (running or paused; a running guest is synced
   * first). It runs on afterwards (a paused one stays paused), or stops with stop: true.
   */
  snapshot(options?: SnapshotOptions): Promise<SnapshotInfo>;
  /** Stops the guest's vCPUs (state "paused"); commands reject with VMStateError until resume(). */
  pause(): Promise<void>;
  /** Lets a paused VM run again where it stood. */
  resume(): Promise<void>;
  /** Stops the VM if needed and removes every trace of it. */
  delete(): Promise<void>;
  /** Ends an ephemeral VM's bond to this process: it outlives the process. */
  detach(): Promise<void>;
  info(): Promise<VMInfo>;
  /** mode 0 is 0644; parent folders are made. */
  writeFile(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Reads a whole guest file, within the transfer bounds. */
  readFile(path: string, options?: TransferOptions): Promise<Buffer>;
  /** Copies a host file or folder into the guest; a FIFO or device is refused. */
  putFile(hostPath: string, guestPath: string, options?: TransferOptions): Promise<void>;
  /**
   * Copies a guest file or folder to the host, treating what the guest sends
   * as hostile: no owner, setuid bit or special file lands, symlinks are never
   * followed, hostPath's own owner and mode never change, a failed copy leaves
   * nothing. A file copied onto an existing folder goes into it.
   */
  getFile(guestPath: string, hostPath: string, options?: TransferOptions): Promise<void>;
  /** One file in, guest folders made; resolves to where it landed ('/' at the end: the file's name). */
  uploadFile(hostPath: string, guestPath: string, options?: TransferOptions): Promise<string>;
  /** One file out, host folders made; resolves to where it landed. */
  downloadFile(guestPath: string, hostPath: string, options?: TransferOptions): Promise<string>;
  /** Releases the native handle after the calls already made. Idempotent. */
  close(): Promise<void>;
}

/** Every failure; the message is the native library's own. */
export class SmolVMError extends Error {
  /** The smolvm_status (negative), or null for errors made in JavaScript. */
  readonly status: number | null;
  /** 'EINVAL', 'ENOTFOUND', ..., 'ECLOSED' (closed handle), 'ABORT_ERR'. */
  readonly code: string;
  /** The call that failed ('create', 'start', 'run', ...), when known. */
  readonly op: string | null;
}
/** A bad option or argument (EINVAL). */
export class ConfigError extends SmolVMError {}
/** No such VM, file, plugin or image (ENOTFOUND). */
export class NotFoundError extends SmolVMError {}
/** Not allowed in the VM's state (ESTATE), or the handle is closed (ECLOSED). */
export class VMStateError extends SmolVMError {}
/** A deadline passed (ETIMEOUT). */
export class TimeoutError extends SmolVMError {}
/** A callback's onPreRun refused the command (code 'EBLOCKED'); nothing ran. */
export class CommandBlockedError extends SmolVMError {
  constructor(message: string, options?: { vmId?: string; command?: string | string[]; cause?: unknown });
  readonly vmId: string | null;
  readonly command: string | string[] | null;
}
/** run() was aborted by its signal. */
export class AbortError extends SmolVMError {
  /** The output so far (exitCode is null if the command did not report its end). */
  readonly result?: Omit<RunResult<string | Buffer>, 'exitCode' | 'signal' | 'durationMs'> & {
    exitCode: number | null;
    signal: number | null;
    durationMs: number | null;
  };
}

/** Every snapshot, oldest first. */
export function listSnapshots(options?: RuntimeOptions): Promise<SnapshotInfo[]>;
/** One snapshot's record, by id or name; NotFoundError if none has it. */
export function getSnapshot(snapshot: string, options?: RuntimeOptions): Promise<SnapshotInfo>;
/** Removes a snapshot (by id or name); VMStateError while VMs restored from it exist. */
export function deleteSnapshot(snapshot: string, options?: RuntimeOptions): Promise<void>;
