/* smolvm_api.i - the SWIG interface shared by every language binding.
 *
 * CONTRACT (read this before writing a binding)
 * ------------------------------------------------------------------------
 * Use: a language's own .i sets `%module`, adds its own typemaps (see
 * "What each language supplies"), then `%include "smolvm_api.i"`. This file
 * has no %module and nothing language-specific. Its helper code is written
 * in the common subset of C99 and C++11, so it compiles with or without
 * SWIG's -c++ (Node needs -c++; Python and Go may use either).
 *
 * What a binding may call, grouped:
 *  - Infallible C ABI functions, wrapped unchanged: smolvm_version,
 *    smolvm_status_str, smolvm_vm_state_str, smolvm_vm_id,
 *    smolvm_runtime_close, smolvm_vm_free, smolvm_exec_result_free.
 *  - Constants: every SMOLVM_* status, state, event type and limit
 *    (SMOLVM_EINVAL, SMOLVM_STATE_RUNNING, SMOLVM_EVENT_EXIT,
 *    SMOLVM_MEM_MIB_MIN, ...).
 *  - smolvm_swig_* helpers below. They replace every C ABI function that has
 *    out-parameters, option structs or byte buffers; those C functions are
 *    %ignored here and must not be called from a binding.
 *
 * Errors (the one rule):
 *  - A helper returning `int` returns 0 (or a count >= 0) on success and a
 *    negative smolvm_status on failure.
 *  - A helper returning a pointer returns NULL on failure.
 *  - After any failing helper, smolvm_swig_last_status() is the status and
 *    smolvm_swig_last_error() the message (it names the field, the value and
 *    what is allowed). Both are per OS thread and stay valid until the next
 *    failing helper on that thread. Messages from the C ABI are copied, so
 *    helper-made errors ("unknown field") and library errors read the same.
 *  - Go: a goroutine can move to another OS thread between two cgo calls.
 *    Read the error in the same locked section as the call
 *    (runtime.LockOSThread / UnlockOSThread), or in a %exception block that
 *    runs inside the same C wrapper as the call.
 *
 * Ownership: every handle a helper returns is freed explicitly by the
 * binding with the matching function. No proxy owns memory (no
 * %newobject), so the wrappers never free anything behind your back.
 *    smolvm_runtime*       smolvm_runtime_close   (after its VMs are freed)
 *    smolvm_vm*            smolvm_vm_free         (never stops the VM)
 *    smolvm_swig_vm_opts*  smolvm_swig_vm_opts_free
 *    smolvm_swig_exec_opts* smolvm_swig_exec_opts_free
 *    smolvm_exec_result*   smolvm_exec_result_free
 *    smolvm_swig_stream*   smolvm_swig_stream_free (kills a running command)
 *    smolvm_swig_buf*      smolvm_swig_buf_free
 *    smolvm_vm_info*       smolvm_swig_vm_info_free
 *    smolvm_swig_snapshot_opts* smolvm_swig_snapshot_opts_free
 *    smolvm_swig_restore_opts*  smolvm_swig_restore_opts_free
 *  smolvm_exec_result and smolvm_vm_info are exposed as read-only structs
 *  (SWIG field getters); smolvm_vm_info here is a deep copy whose strings
 *  live as long as it does. Everything else is opaque.
 *
 * Threads: a runtime may be shared between threads; a VM handle or stream
 * is used by one thread at a time (serialize, or open one handle per
 * thread). Blocking helpers: smolvm_swig_vm_start/stop/delete,
 * smolvm_swig_vm_snapshot, smolvm_swig_exec_run, smolvm_swig_stream_start/next, the file helpers.
 * Release your language's global lock around them (Python: -threads).
 *
 * What each language supplies (typemaps, before or after the %include):
 *  - OUT bytes: helpers return `smolvm_swig_bytes` (a {data, len} view by
 *    value, valid until the next call on the object it came from). Map it to
 *    the native byte type, copying: Python bytes, Go []byte, Node Buffer.
 *      %typemap(out) smolvm_swig_bytes
 *        %{ $result = PyBytes_FromStringAndSize($1.data, (Py_ssize_t)$1.len); %}
 *  - IN bytes: parameters named `(const char *bytes, size_t bytes_len)`.
 *    Map them from the native byte type, e.g.
 *      %apply (char *STRING, size_t LENGTH) { (const char *bytes, size_t bytes_len) };
 *    (Go: a string or []byte; Python: any buffer, see bindings/python).
 *  Strings in (const char *) are copied by the callee; NULL means default.
 *
 * Streaming is a pull API (no callbacks, which SWIG cannot do for Node):
 *    s = smolvm_swig_stream_start(vm, opts)
 *    loop: t = smolvm_swig_stream_next(s, wait_ms)   -1 waits forever
 *      t == SMOLVM_EVENT_STDOUT/STDERR: smolvm_swig_stream_data(s)
 *      t == SMOLVM_EVENT_EXIT: smolvm_swig_stream_exit_code/signal/
 *           timed_out/duration_us(s); the next call returns SMOLVM_EDONE
 *      t == SMOLVM_ETIMEOUT: nothing within wait_ms; call again
 *      other negative: failure (see Errors)
 *    smolvm_swig_stream_free(s)
 *
 * Options are builders with named fields so new C ABI fields need no new
 * helper: smolvm_swig_vm_opts_set_str(o, "disk_mode", "shared"),
 * smolvm_swig_vm_opts_set_u32(o, "mem_size_mib", 2048). An unknown field
 * name fails with SMOLVM_EINVAL naming it. Field names are those of
 * smolvm_vm_options in smolvm.h. The snapshot and restore options work the
 * same way (smolvm_swig_snapshot_opts_set_str(o, "name", "ready"),
 * smolvm_swig_restore_opts_set_u32(o, "mem_size_mib", 512)), with the
 * fields of smolvm_snapshot_options and smolvm_restore_options.
 * ------------------------------------------------------------------------ */

%{
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include "smolvm/smolvm.h"
%}

%include <stdint.i>

/* ---- text arguments ---------------------------------------------------
 * A C string ends at its first NUL, so "echo a\0; rm -rf /x" would reach
 * the library as "echo a" and the rest would vanish silently. Every text
 * (const char *) argument is therefore refused when it holds a NUL: Python
 * raises ValueError (as Python's own APIs do), Node throws an Error, both
 * naming the argument. Byte buffers (const char *bytes, size_t bytes_len)
 * may hold any byte. Go converts strings with its own typemap; the Go
 * package checks its strings before the call (bindings/go/text.go). More
 * specific typemaps of a language (a named parameter) still win. */
#if defined(SWIGPYTHON) || defined(SWIGJAVASCRIPT)
%typemap(in, noblock=1, fragment="SWIG_AsCharPtrAndSize")
    const char * (int res, char *buf = 0, size_t size = 0, int alloc = 0) {
  res = SWIG_AsCharPtrAndSize($input, &buf, &size, &alloc);
  if (!SWIG_IsOK(res)) {
    %argument_fail(res, "$type", $symname, $argnum);
  }
  if (buf && size > 0 && strlen(buf) + 1 != size) {
    SWIG_exception_fail(SWIG_ValueError, "$1_name: embedded null character (text arguments must not contain NUL)");
  }
  $1 = ($1_ltype)buf;
}
%typemap(freearg, noblock=1, match="in") const char * {
  if (alloc$argnum == SWIG_NEWOBJ) %delete_array(buf$argnum);
}
#endif

/* ---- what bindings must not call directly --------------------------- */

%ignore smolvm_last_error;            /* use smolvm_swig_last_error */
%ignore smolvm_free;
%ignore smolvm_strarray;
%ignore smolvm_strarray_dispose;
%ignore smolvm_buf;
%ignore smolvm_buf_dispose;
%ignore smolvm_runtime_options;
%ignore smolvm_runtime_options_init;
%ignore smolvm_runtime_open;
%ignore smolvm_runtime_list;
%ignore smolvm_runtime_gc;
%ignore smolvm_doctor;
%ignore smolvm_image_prune; /* the CLI's; a facade can wrap it like doctor */
%ignore smolvm_plugins_inspect; /* the CLI's, like image_prune */
%ignore smolvm_profile_load;               /* use smolvm_swig_vm_create_from_profile */
%ignore smolvm_profile_free;
%ignore smolvm_profile_name;
%ignore smolvm_vm_options_from_profile;
%ignore smolvm_vm_create_from_profile;
%ignore smolvm_vm_expose;                  /* use smolvm_swig_vm_expose */
%ignore smolvm_vm_unexpose;
%ignore smolvm_vm_list_ports;
%ignore smolvm_vm_options;
%ignore smolvm_vm_options_init;
%ignore smolvm_vm_create;
%ignore smolvm_vm_open;
%ignore smolvm_vm_start;
%ignore smolvm_vm_stop;
%ignore smolvm_vm_delete;
%ignore smolvm_vm_detach;
%ignore smolvm_vm_pause;
%ignore smolvm_vm_resume;
%ignore smolvm_vm_info_init;
%ignore smolvm_vm_get_info;
%ignore smolvm_exec_options;
%ignore smolvm_exec_options_init;
%ignore smolvm_vm_exec;
%ignore smolvm_vm_run;
%ignore smolvm_exec;
%ignore smolvm_exec_event;
%ignore smolvm_exec_event::type;  /* "type" is a Go keyword */
%ignore smolvm_exec_start;
%ignore smolvm_exec_next_event;
%ignore smolvm_exec_write_stdin;
%ignore smolvm_exec_close_stdin;
%ignore smolvm_exec_kill;
%ignore smolvm_exec_resize;
%ignore smolvm_exec_free;
%ignore smolvm_vm_write_file;
%ignore smolvm_vm_read_file;
%ignore smolvm_vm_put;
%ignore smolvm_vm_get;
%ignore smolvm_vm_read_file_ex;
%ignore smolvm_vm_put_ex;
%ignore smolvm_vm_get_ex;
%ignore smolvm_transfer_options_init;
%ignore smolvm_transfer_options;
%ignore smolvm_start_options;             /* use smolvm_swig_vm_start_within */
%ignore smolvm_start_options_init;
%ignore smolvm_vm_start_ex;
%ignore smolvm_vm_env_set;                /* use smolvm_swig_vm_env_* */
%ignore smolvm_vm_env_unset;
%ignore smolvm_vm_env_list;
/* Snapshots (C ABI 1.5): use smolvm_swig_snapshot_* and the option builders. */
%ignore smolvm_snapshot_options;
%ignore smolvm_snapshot_options_init_version;
%ignore smolvm_vm_snapshot;
%ignore smolvm_snapshot_list;
%ignore smolvm_snapshot_inspect;
%ignore smolvm_snapshot_delete;
%ignore smolvm_restore_options;
%ignore smolvm_restore_options_init_version;
%ignore smolvm_vm_create_from_snapshot;
/* Raw pointers inside the read-only structs: use the helpers instead. */
%ignore smolvm_exec_result::stdout_data;
%ignore smolvm_exec_result::stdout_len;
%ignore smolvm_exec_result::stderr_data;
%ignore smolvm_exec_result::stderr_len;
%ignore smolvm_vm_info::struct_size;

/* Read-only structs, created and freed only by the library. */
%nodefaultctor smolvm_exec_result;
%nodefaultdtor smolvm_exec_result;
%nodefaultctor smolvm_vm_info;
%nodefaultdtor smolvm_vm_info;

/* The opaque handles. */
%nodefaultctor smolvm_runtime;
%nodefaultdtor smolvm_runtime;
%nodefaultctor smolvm_vm;
%nodefaultdtor smolvm_vm;

#define SMOLVM_API
%immutable;  /* every struct member in smolvm.h is read-only here */
%include "smolvm/smolvm.h"
%mutable;

/* ---- helper implementation (not parsed by SWIG) ---------------------- */

%{
#if defined(__GNUC__) || defined(__clang__)
#define SMOLVM_SWIG_TLS __thread
#elif defined(__cplusplus)
#define SMOLVM_SWIG_TLS thread_local
#else
#define SMOLVM_SWIG_TLS _Thread_local
#endif

typedef struct smolvm_swig_bytes {
  const char *data;
  size_t len;
} smolvm_swig_bytes;

static SMOLVM_SWIG_TLS int smolvm_swig_tls_status = 0;
static SMOLVM_SWIG_TLS char smolvm_swig_tls_error[1024];

static int smolvm_swig_fail(int status, const char *message) {
  smolvm_swig_tls_status = status;
  snprintf(smolvm_swig_tls_error, sizeof smolvm_swig_tls_error, "%s", message ? message : "");
  return status;
}

/* Passes a C ABI status through, copying its message on failure. */
static int smolvm_swig_rc(int status) {
  if (status < 0) smolvm_swig_fail(status, smolvm_last_error());
  return status;
}

static char *smolvm_swig_strdup(const char *s) {
  size_t n;
  char *p;
  if (!s) return NULL;
  n = strlen(s) + 1;
  p = (char *)malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* Replaces *slot with a copy of value (NULL clears). */
static int smolvm_swig_set_copy(char **slot, const char *value) {
  char *copy = NULL;
  if (value) {
    copy = smolvm_swig_strdup(value);
    if (!copy) return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  }
  free(*slot);
  *slot = copy;
  return 0;
}

/* A growable list of owned strings. */
typedef struct smolvm_swig_strs {
  char **items;
  size_t count;
} smolvm_swig_strs;

static int smolvm_swig_strs_add(smolvm_swig_strs *l, const char *s) {
  char **grown;
  char *copy = smolvm_swig_strdup(s);
  if (!copy) return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  grown = (char **)realloc(l->items, (l->count + 1) * sizeof(char *));
  if (!grown) {
    free(copy);
    return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  }
  l->items = grown;
  l->items[l->count++] = copy;
  return 0;
}

static void smolvm_swig_strs_clear(smolvm_swig_strs *l) {
  size_t i;
  for (i = 0; i < l->count; ++i) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

/* ---- errors ---- */

int smolvm_swig_last_status(void) { return smolvm_swig_tls_status; }
const char *smolvm_swig_last_error(void) { return smolvm_swig_tls_error; }

/* ---- owned byte buffers ---- */

typedef struct smolvm_swig_buf {
  char *data;
  size_t len;
} smolvm_swig_buf;

static smolvm_swig_buf *smolvm_swig_buf_take(char *data, size_t len) {
  smolvm_swig_buf *b = (smolvm_swig_buf *)malloc(sizeof *b);
  if (!b) {
    free(data);
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  b->data = data;
  b->len = len;
  return b;
}

smolvm_swig_bytes smolvm_swig_buf_bytes(const smolvm_swig_buf *b) {
  smolvm_swig_bytes v;
  v.data = b && b->data ? b->data : "";
  v.len = b ? b->len : 0;
  return v;
}

size_t smolvm_swig_buf_len(const smolvm_swig_buf *b) { return b ? b->len : 0; }

void smolvm_swig_buf_free(smolvm_swig_buf *b) {
  if (!b) return;
  free(b->data);
  free(b);
}

/* ---- runtime ---- */

smolvm_runtime *smolvm_swig_runtime_open(const char *state_dir, const char *cache_dir,
                                         const char *plugin_path, const char *store) {
  smolvm_runtime_options o;
  smolvm_runtime *rt = NULL;
  if (smolvm_swig_rc(smolvm_runtime_options_init(&o)) < 0) return NULL;
  o.state_dir = state_dir;
  o.cache_dir = cache_dir;
  o.plugin_path = plugin_path;
  o.store = store;
  if (smolvm_swig_rc(smolvm_runtime_open(&rt, &o)) < 0) return NULL;
  return rt;
}

smolvm_swig_buf *smolvm_swig_runtime_list(smolvm_runtime *rt) {
  smolvm_strarray ids;
  size_t i, total = 1, at = 0;
  char *text;
  if (smolvm_swig_rc(smolvm_runtime_list(&ids, rt)) < 0) return NULL;
  for (i = 0; i < ids.count; ++i) total += strlen(ids.strings[i]) + 1;
  text = (char *)malloc(total);
  if (!text) {
    smolvm_strarray_dispose(&ids);
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  for (i = 0; i < ids.count; ++i) {
    size_t n = strlen(ids.strings[i]);
    memcpy(text + at, ids.strings[i], n);
    at += n;
    text[at++] = '\n';
  }
  text[at] = '\0';
  smolvm_strarray_dispose(&ids);
  return smolvm_swig_buf_take(text, at);
}

int smolvm_swig_runtime_gc(smolvm_runtime *rt) {
  uint32_t fixed = 0;
  int rc = smolvm_swig_rc(smolvm_runtime_gc(&fixed, rt));
  return rc < 0 ? rc : (int)fixed;
}

smolvm_swig_buf *smolvm_swig_doctor(smolvm_runtime *rt) {
  char *json = NULL;
  if (smolvm_swig_rc(smolvm_doctor(&json, rt)) < 0) return NULL;
  return smolvm_swig_buf_take(json, strlen(json));
}

/* ---- VM options ---- */

typedef struct smolvm_swig_vm_opts {
  smolvm_vm_options o;
  char *vm_id, *disk_mode, *kernel_path, *rootfs_path, *boot_args;
  char *vmm, *executor, *network, *accel;
  char *on_ttl, *on_idle, *image, *boot;
} smolvm_swig_vm_opts;

smolvm_swig_vm_opts *smolvm_swig_vm_opts_new(void) {
  smolvm_swig_vm_opts *v = (smolvm_swig_vm_opts *)calloc(1, sizeof *v);
  if (!v) {
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  if (smolvm_swig_rc(smolvm_vm_options_init(&v->o)) < 0) {
    free(v);
    return NULL;
  }
  return v;
}

void smolvm_swig_vm_opts_free(smolvm_swig_vm_opts *v) {
  if (!v) return;
  free(v->vm_id);
  free(v->disk_mode);
  free(v->kernel_path);
  free(v->rootfs_path);
  free(v->boot_args);
  free(v->vmm);
  free(v->executor);
  free(v->network);
  free(v->accel);
  free(v->on_ttl);
  free(v->on_idle);
  free(v->image);
  free(v->boot);
  free(v);
}

/* Sets a string field of smolvm_vm_options by name; NULL restores the
 * default. */
int smolvm_swig_vm_opts_set_str(smolvm_swig_vm_opts *v, const char *field, const char *value) {
  char **slot = NULL;
  const char **target = NULL;
  char msg[256];
  int rc;
  if (!v || !field) return smolvm_swig_fail(SMOLVM_EINVAL, "vm options and field must not be NULL");
#define SMOLVM_SWIG_FIELD(name) \
  if (strcmp(field, #name) == 0) { slot = &v->name; target = &v->o.name; }
  SMOLVM_SWIG_FIELD(vm_id)
  SMOLVM_SWIG_FIELD(disk_mode)
  SMOLVM_SWIG_FIELD(kernel_path)
  SMOLVM_SWIG_FIELD(rootfs_path)
  SMOLVM_SWIG_FIELD(boot_args)
  SMOLVM_SWIG_FIELD(vmm)
  SMOLVM_SWIG_FIELD(executor)
  SMOLVM_SWIG_FIELD(network)
  SMOLVM_SWIG_FIELD(accel)
  SMOLVM_SWIG_FIELD(on_ttl)
  SMOLVM_SWIG_FIELD(on_idle)
  SMOLVM_SWIG_FIELD(image)
  SMOLVM_SWIG_FIELD(boot)
#undef SMOLVM_SWIG_FIELD
  if (!slot) {
    snprintf(msg, sizeof msg,
             "vm option '%s': unknown string field (known: vm_id, disk_mode, kernel_path, "
             "rootfs_path, boot_args, vmm, executor, network, accel, on_ttl, on_idle, image, "
             "boot)",
             field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  rc = smolvm_swig_set_copy(slot, value);
  if (rc < 0) return rc;
  *target = *slot;
  return 0;
}

/* Sets an integer field of smolvm_vm_options by name. Range checks happen
 * in smolvm_swig_vm_create, with the library's messages. */
int smolvm_swig_vm_opts_set_u32(smolvm_swig_vm_opts *v, const char *field, uint32_t value) {
  char msg[256];
  if (!v || !field) return smolvm_swig_fail(SMOLVM_EINVAL, "vm options and field must not be NULL");
  if (strcmp(field, "vcpu_count") == 0) {
    v->o.vcpu_count = value;
  } else if (strcmp(field, "mem_size_mib") == 0) {
    v->o.mem_size_mib = value;
  } else if (strcmp(field, "boot_timeout_s") == 0) {
    v->o.boot_timeout_s = value;
  } else if (strcmp(field, "disk_size_mib") == 0) {
    v->o.disk_size_mib = value;
  } else if (strcmp(field, "delete_with_owner") == 0) {
    v->o.delete_with_owner = value;
  } else if (strcmp(field, "ttl_s") == 0) {
    v->o.ttl_s = value;
  } else if (strcmp(field, "idle_timeout_s") == 0) {
    v->o.idle_timeout_s = value;
  } else {
    snprintf(msg, sizeof msg,
             "vm option '%s': unknown integer field (known: vcpu_count, mem_size_mib, "
             "boot_timeout_s, disk_size_mib, delete_with_owner, ttl_s, idle_timeout_s)", field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  return 0;
}

/* ---- VMs ---- */

/* opts may be NULL: every default. */
smolvm_vm *smolvm_swig_vm_create(smolvm_runtime *rt, const smolvm_swig_vm_opts *opts) {
  smolvm_vm *vm = NULL;
  if (smolvm_swig_rc(smolvm_vm_create(&vm, rt, opts ? &opts->o : NULL)) < 0) return NULL;
  return vm;
}

/* A VM from a YAML profile (smolvm_profile_load + create_from_profile).
 * vm_id NULL or "": the profile's id or a generated one. */
smolvm_vm *smolvm_swig_vm_create_from_profile(smolvm_runtime *rt, const char *path,
                                              const char *vm_id) {
  smolvm_profile *p = NULL;
  smolvm_vm *vm = NULL;
  if (smolvm_swig_rc(smolvm_profile_load(&p, path)) < 0) return NULL;
  const int rc = smolvm_swig_rc(
      smolvm_vm_create_from_profile(&vm, rt, p, vm_id && *vm_id ? vm_id : NULL));
  smolvm_profile_free(p);
  return rc < 0 ? NULL : vm;
}

/* Port forwarding. host_addr/protocol NULL or "": 127.0.0.1 / tcp.
 * Returns the host port, or a negative status. */
long smolvm_swig_vm_expose(smolvm_vm *vm, uint32_t guest_port, uint32_t host_port,
                           const char *host_addr, const char *protocol) {
  uint32_t port = 0;
  const int rc = smolvm_swig_rc(smolvm_vm_expose(&port, vm, guest_port, host_port,
                                                 host_addr && *host_addr ? host_addr : NULL,
                                                 protocol && *protocol ? protocol : NULL));
  return rc < 0 ? rc : (long)port;
}

int smolvm_swig_vm_unexpose(smolvm_vm *vm, uint32_t host_port, const char *host_addr,
                            const char *protocol) {
  return smolvm_swig_rc(smolvm_vm_unexpose(vm, host_port, host_addr && *host_addr ? host_addr : NULL,
                                           protocol && *protocol ? protocol : NULL));
}

smolvm_vm *smolvm_swig_vm_open(smolvm_runtime *rt, const char *vm_id) {
  smolvm_vm *vm = NULL;
  if (smolvm_swig_rc(smolvm_vm_open(&vm, rt, vm_id)) < 0) return NULL;
  return vm;
}

int smolvm_swig_vm_start(smolvm_vm *vm) { return smolvm_swig_rc(smolvm_vm_start(vm)); }
/* boot_timeout_ms 0: the VM's boot_timeout_s. */
int smolvm_swig_vm_start_within(smolvm_vm *vm, uint32_t boot_timeout_ms) {
  smolvm_start_options o = SMOLVM_START_OPTIONS_INIT;
  o.boot_timeout_ms = boot_timeout_ms;
  return smolvm_swig_rc(smolvm_vm_start_ex(vm, &o));
}
int smolvm_swig_vm_stop(smolvm_vm *vm, uint32_t timeout_ms) {
  return smolvm_swig_rc(smolvm_vm_stop(vm, timeout_ms));
}
int smolvm_swig_vm_delete(smolvm_vm *vm) { return smolvm_swig_rc(smolvm_vm_delete(vm)); }
int smolvm_swig_vm_detach(smolvm_vm *vm) { return smolvm_swig_rc(smolvm_vm_detach(vm)); }
int smolvm_swig_vm_pause(smolvm_vm *vm) { return smolvm_swig_rc(smolvm_vm_pause(vm)); }
int smolvm_swig_vm_resume(smolvm_vm *vm) { return smolvm_swig_rc(smolvm_vm_resume(vm)); }

/* ---- string lists (a builder, as exec options are) ---- */

typedef struct smolvm_swig_strlist {
  char **items;
  size_t count;
} smolvm_swig_strlist;

smolvm_swig_strlist *smolvm_swig_strlist_new(void) {
  smolvm_swig_strlist *l = (smolvm_swig_strlist *)calloc(1, sizeof *l);
  if (!l) smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  return l;
}

void smolvm_swig_strlist_free(smolvm_swig_strlist *l) {
  size_t i;
  if (!l) return;
  for (i = 0; i < l->count; ++i) free(l->items[i]);
  free(l->items);
  free(l);
}

int smolvm_swig_strlist_add(smolvm_swig_strlist *l, const char *item) {
  char **grown;
  if (!l || !item) return smolvm_swig_fail(SMOLVM_EINVAL, "list and item must not be NULL");
  grown = (char **)realloc(l->items, (l->count + 1) * sizeof *grown);
  if (!grown) return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  l->items = grown;
  if (!(l->items[l->count] = strdup(item))) return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  l->count++;
  return 0;
}

/* ---- the VM's environment ---- */

int smolvm_swig_vm_env_set(smolvm_vm *vm, const smolvm_swig_strlist *entries, int merge) {
  if (!entries) return smolvm_swig_fail(SMOLVM_EINVAL, "entries must not be NULL");
  return smolvm_swig_rc(
      smolvm_vm_env_set(vm, (const char *const *)entries->items, entries->count, merge));
}

int smolvm_swig_vm_env_unset(smolvm_vm *vm, const smolvm_swig_strlist *names) {
  if (!names) return smolvm_swig_fail(SMOLVM_EINVAL, "names must not be NULL");
  return smolvm_swig_rc(
      smolvm_vm_env_unset(vm, (const char *const *)names->items, names->count));
}

smolvm_swig_buf *smolvm_swig_vm_env_list(smolvm_vm *vm) {
  char *json = NULL;
  if (smolvm_swig_rc(smolvm_vm_env_list(&json, vm)) < 0) return NULL;
  return smolvm_swig_buf_take(json, strlen(json));
}

/* A deep copy of the VM's info: one allocation holding the struct and its
 * strings. */
static const size_t smolvm_swig_info_strings[] = {
    offsetof(smolvm_vm_info, id),          offsetof(smolvm_vm_info, state_name),
    offsetof(smolvm_vm_info, disk_mode),   offsetof(smolvm_vm_info, vmm),
    offsetof(smolvm_vm_info, executor),    offsetof(smolvm_vm_info, network),
    offsetof(smolvm_vm_info, accel),       offsetof(smolvm_vm_info, kernel_path),
    offsetof(smolvm_vm_info, rootfs_path), offsetof(smolvm_vm_info, disk_path),
    offsetof(smolvm_vm_info, ip),          offsetof(smolvm_vm_info, state_dir),
    offsetof(smolvm_vm_info, console_log), offsetof(smolvm_vm_info, last_error),
    offsetof(smolvm_vm_info, limits),      offsetof(smolvm_vm_info, on_ttl),
    offsetof(smolvm_vm_info, on_idle),     offsetof(smolvm_vm_info, paused_by),
    offsetof(smolvm_vm_info, boot),        offsetof(smolvm_vm_info, boot_reason)};
#define SMOLVM_SWIG_INFO_NSTR (sizeof smolvm_swig_info_strings / sizeof smolvm_swig_info_strings[0])

static const char **smolvm_swig_info_field(smolvm_vm_info *info, size_t i) {
  return (const char **)(void *)((char *)info + smolvm_swig_info_strings[i]);
}

smolvm_vm_info *smolvm_swig_vm_info(smolvm_vm *vm) {
  smolvm_vm_info live, *copy;
  size_t i, total = sizeof live;
  char *at;
  if (smolvm_swig_rc(smolvm_vm_info_init(&live)) < 0) return NULL;
  if (smolvm_swig_rc(smolvm_vm_get_info(&live, vm)) < 0) return NULL;
  for (i = 0; i < SMOLVM_SWIG_INFO_NSTR; ++i) {
    const char *s = *smolvm_swig_info_field(&live, i);
    total += strlen(s ? s : "") + 1;
  }
  copy = (smolvm_vm_info *)malloc(total);
  if (!copy) {
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  *copy = live;
  at = (char *)(copy + 1);
  for (i = 0; i < SMOLVM_SWIG_INFO_NSTR; ++i) {
    const char *s = *smolvm_swig_info_field(&live, i);
    size_t n = strlen(s ? s : "") + 1;
    memcpy(at, s ? s : "", n);
    *smolvm_swig_info_field(copy, i) = at;
    at += n;
  }
  return copy;
}

void smolvm_swig_vm_info_free(smolvm_vm_info *info) { free(info); }

/* ---- commands ---- */

typedef struct smolvm_swig_exec_opts {
  smolvm_swig_strs argv;
  smolvm_swig_strs env;
  char *command;
  char *cwd;
  char *stdin_data;
  size_t stdin_len;
  uint32_t timeout_ms;
  char *shell;
  char *user;
  uint32_t pty_rows;
  uint32_t pty_cols;
  char *term;
} smolvm_swig_exec_opts;

smolvm_swig_exec_opts *smolvm_swig_exec_opts_new(void) {
  smolvm_swig_exec_opts *e = (smolvm_swig_exec_opts *)calloc(1, sizeof *e);
  if (!e) smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  return e;
}

void smolvm_swig_exec_opts_free(smolvm_swig_exec_opts *e) {
  if (!e) return;
  smolvm_swig_strs_clear(&e->argv);
  smolvm_swig_strs_clear(&e->env);
  free(e->command);
  free(e->cwd);
  free(e->stdin_data);
  free(e->shell);
  free(e->user);
  free(e->term);
  free(e);
}

/* A shell command line (see set_shell); exclusive with add_arg. */
int smolvm_swig_exec_opts_set_command(smolvm_swig_exec_opts *e, const char *command) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  return smolvm_swig_set_copy(&e->command, command);
}

/* Appends one argv entry (run directly, no shell). */
int smolvm_swig_exec_opts_add_arg(smolvm_swig_exec_opts *e, const char *arg) {
  if (!e || !arg) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options and arg must not be NULL");
  return smolvm_swig_strs_add(&e->argv, arg);
}

/* Appends one "KEY=VALUE" environment entry. */
int smolvm_swig_exec_opts_add_env(smolvm_swig_exec_opts *e, const char *key_value) {
  if (!e || !key_value) {
    return smolvm_swig_fail(SMOLVM_EINVAL, "exec options and env entry must not be NULL");
  }
  return smolvm_swig_strs_add(&e->env, key_value);
}

int smolvm_swig_exec_opts_set_cwd(smolvm_swig_exec_opts *e, const char *cwd) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  return smolvm_swig_set_copy(&e->cwd, cwd);
}

/* How the command line runs: NULL or "login" (the VM user's login shell,
 * -l -c), "raw" (/bin/sh -c). */
int smolvm_swig_exec_opts_set_shell(smolvm_swig_exec_opts *e, const char *shell) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  return smolvm_swig_set_copy(&e->shell, shell);
}

/* Who the command runs as: NULL (the VM's default), a name or "uid[:gid]". */
int smolvm_swig_exec_opts_set_user(smolvm_swig_exec_opts *e, const char *user) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  return smolvm_swig_set_copy(&e->user, user);
}

/* A terminal of rows x cols (both 0: none), TERM=term (NULL: the default). */
int smolvm_swig_exec_opts_set_pty(smolvm_swig_exec_opts *e, uint32_t rows, uint32_t cols,
                                  const char *term) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  e->pty_rows = rows;
  e->pty_cols = cols;
  return smolvm_swig_set_copy(&e->term, term);
}

/* 0: no limit. */
int smolvm_swig_exec_opts_set_timeout_ms(smolvm_swig_exec_opts *e, uint32_t timeout_ms) {
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  e->timeout_ms = timeout_ms;
  return 0;
}

int smolvm_swig_exec_opts_set_stdin(smolvm_swig_exec_opts *e, const char *bytes, size_t bytes_len) {
  char *copy;
  if (!e) return smolvm_swig_fail(SMOLVM_EINVAL, "exec options must not be NULL");
  copy = (char *)malloc(bytes_len ? bytes_len : 1);
  if (!copy) return smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
  if (bytes_len) memcpy(copy, bytes, bytes_len);
  free(e->stdin_data);
  e->stdin_data = copy;
  e->stdin_len = bytes_len;
  return 0;
}

static void smolvm_swig_exec_fill(smolvm_exec_options *o, const smolvm_swig_exec_opts *e) {
  smolvm_exec_options_init(o);
  if (!e) return;
  o->argv = e->argv.count ? (const char *const *)e->argv.items : NULL;
  o->argc = e->argv.count;
  o->command = e->command;
  o->env = e->env.count ? (const char *const *)e->env.items : NULL;
  o->env_count = e->env.count;
  o->cwd = e->cwd;
  o->stdin_data = (const uint8_t *)e->stdin_data;
  o->stdin_len = e->stdin_len;
  o->timeout_ms = e->timeout_ms;
  o->shell = e->shell;
  o->user = e->user;
  o->pty_rows = e->pty_rows;
  o->pty_cols = e->pty_cols;
  o->term = e->term;
}

/* Runs to completion. A non-zero exit code is a result, not a failure. */
smolvm_exec_result *smolvm_swig_exec_run(smolvm_vm *vm, const smolvm_swig_exec_opts *e) {
  smolvm_exec_options o;
  smolvm_exec_result *r = NULL;
  smolvm_swig_exec_fill(&o, e);
  if (smolvm_swig_rc(smolvm_vm_exec(&r, vm, &o)) < 0) return NULL;
  return r;
}

smolvm_swig_bytes smolvm_swig_result_stdout(const smolvm_exec_result *r) {
  smolvm_swig_bytes v;
  v.data = r && r->stdout_data ? (const char *)r->stdout_data : "";
  v.len = r && r->stdout_data ? r->stdout_len : 0;
  return v;
}

smolvm_swig_bytes smolvm_swig_result_stderr(const smolvm_exec_result *r) {
  smolvm_swig_bytes v;
  v.data = r && r->stderr_data ? (const char *)r->stderr_data : "";
  v.len = r && r->stderr_data ? r->stderr_len : 0;
  return v;
}

/* ---- streaming ---- */

typedef struct smolvm_swig_stream {
  smolvm_exec *ex;
  smolvm_exec_event ev;
} smolvm_swig_stream;

smolvm_swig_stream *smolvm_swig_stream_start(smolvm_vm *vm, const smolvm_swig_exec_opts *e) {
  smolvm_exec_options o;
  smolvm_swig_stream *s = (smolvm_swig_stream *)calloc(1, sizeof *s);
  if (!s) {
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  smolvm_swig_exec_fill(&o, e);
  if (smolvm_swig_rc(smolvm_exec_start(&s->ex, vm, &o)) < 0) {
    free(s);
    return NULL;
  }
  return s;
}

/* Waits up to wait_ms (-1: forever). Returns the event type (> 0), or
 * SMOLVM_ETIMEOUT (nothing yet), SMOLVM_EDONE (after the exit event), or
 * another negative status on failure. ETIMEOUT and EDONE are not recorded
 * as the thread's last error. */
int smolvm_swig_stream_next(smolvm_swig_stream *s, int32_t wait_ms) {
  int rc;
  if (!s) return smolvm_swig_fail(SMOLVM_EINVAL, "stream must not be NULL");
  rc = smolvm_exec_next_event(&s->ev, s->ex, wait_ms);
  if (rc == SMOLVM_ETIMEOUT || rc == SMOLVM_EDONE) return rc;
  if (rc < 0) return smolvm_swig_rc(rc);
  return s->ev.type;
}

/* The bytes of the last stdout/stderr event (valid until the next call). */
smolvm_swig_bytes smolvm_swig_stream_data(const smolvm_swig_stream *s) {
  smolvm_swig_bytes v;
  int output = s && (s->ev.type == SMOLVM_EVENT_STDOUT || s->ev.type == SMOLVM_EVENT_STDERR);
  v.data = output && s->ev.data ? (const char *)s->ev.data : "";
  v.len = output && s->ev.data ? s->ev.len : 0;
  return v;
}

int smolvm_swig_stream_exit_code(const smolvm_swig_stream *s) { return s ? s->ev.exit_code : 0; }
int smolvm_swig_stream_signal(const smolvm_swig_stream *s) { return s ? s->ev.signal : 0; }
int smolvm_swig_stream_timed_out(const smolvm_swig_stream *s) { return s ? s->ev.timed_out : 0; }
uint64_t smolvm_swig_stream_duration_us(const smolvm_swig_stream *s) {
  return s ? s->ev.duration_us : 0;
}

int smolvm_swig_stream_write_stdin(smolvm_swig_stream *s, const char *bytes, size_t bytes_len) {
  if (!s) return smolvm_swig_fail(SMOLVM_EINVAL, "stream must not be NULL");
  return smolvm_swig_rc(smolvm_exec_write_stdin(s->ex, (const uint8_t *)bytes, bytes_len));
}

int smolvm_swig_stream_close_stdin(smolvm_swig_stream *s) {
  if (!s) return smolvm_swig_fail(SMOLVM_EINVAL, "stream must not be NULL");
  return smolvm_swig_rc(smolvm_exec_close_stdin(s->ex));
}

int smolvm_swig_stream_kill(smolvm_swig_stream *s, int signal) {
  if (!s) return smolvm_swig_fail(SMOLVM_EINVAL, "stream must not be NULL");
  return smolvm_swig_rc(smolvm_exec_kill(s->ex, signal));
}

int smolvm_swig_stream_resize(smolvm_swig_stream *s, uint32_t rows, uint32_t cols) {
  if (!s) return smolvm_swig_fail(SMOLVM_EINVAL, "stream must not be NULL");
  return smolvm_swig_rc(smolvm_exec_resize(s->ex, rows, cols));
}

/* Kills the command if it still runs. NULL is allowed. */
void smolvm_swig_stream_free(smolvm_swig_stream *s) {
  if (!s) return;
  smolvm_exec_free(s->ex);
  free(s);
}

/* ---- files ---- */

/* mode 0: 0644. */
int smolvm_swig_vm_write_file(smolvm_vm *vm, const char *guest_path, const char *bytes,
                              size_t bytes_len, uint32_t mode) {
  return smolvm_swig_rc(
      smolvm_vm_write_file(vm, guest_path, (const uint8_t *)(bytes ? bytes : ""), bytes_len, mode));
}

/* Since 1.2: transfer bounds; 0 in either: its default. */
static smolvm_transfer_options smolvm_swig_transfer(uint64_t max_bytes, uint32_t timeout_ms) {
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  if (max_bytes) o.max_bytes = max_bytes;
  if (timeout_ms) o.timeout_ms = timeout_ms;
  return o;
}

smolvm_swig_buf *smolvm_swig_vm_read_file(smolvm_vm *vm, const char *guest_path,
                                          uint64_t max_bytes, uint32_t timeout_ms) {
  smolvm_buf b;
  smolvm_transfer_options o = smolvm_swig_transfer(max_bytes, timeout_ms);
  b.data = NULL;
  b.size = 0;
  if (smolvm_swig_rc(smolvm_vm_read_file_ex(&b, vm, guest_path, &o)) < 0) return NULL;
  return smolvm_swig_buf_take((char *)b.data, b.size);
}

/* Copies a host file or folder (recursively) into the guest. */
int smolvm_swig_vm_put(smolvm_vm *vm, const char *host_path, const char *guest_path,
                       uint64_t max_bytes, uint32_t timeout_ms) {
  smolvm_transfer_options o = smolvm_swig_transfer(max_bytes, timeout_ms);
  return smolvm_swig_rc(smolvm_vm_put_ex(vm, host_path, guest_path, &o));
}

/* Copies a guest file or folder (recursively) to the host. */
int smolvm_swig_vm_get(smolvm_vm *vm, const char *guest_path, const char *host_path,
                       uint64_t max_bytes, uint32_t timeout_ms) {
  smolvm_transfer_options o = smolvm_swig_transfer(max_bytes, timeout_ms);
  return smolvm_swig_rc(smolvm_vm_get_ex(vm, guest_path, host_path, &o));
}

/* ---- snapshots (C ABI 1.5) ---- */

/* A snapshot option builder: the C struct and the strings it points to. */
typedef struct smolvm_swig_snapshot_opts {
  smolvm_snapshot_options o;
  char *name;
} smolvm_swig_snapshot_opts;

smolvm_swig_snapshot_opts *smolvm_swig_snapshot_opts_new(void) {
  smolvm_swig_snapshot_opts *v = (smolvm_swig_snapshot_opts *)calloc(1, sizeof *v);
  if (!v) {
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  if (smolvm_swig_rc(smolvm_snapshot_options_init(&v->o)) < 0) {
    free(v);
    return NULL;
  }
  return v;
}

void smolvm_swig_snapshot_opts_free(smolvm_swig_snapshot_opts *v) {
  if (!v) return;
  free(v->name);
  free(v);
}

/* Fields: "name" (NULL: none). */
int smolvm_swig_snapshot_opts_set_str(smolvm_swig_snapshot_opts *v, const char *field,
                                      const char *value) {
  char msg[256];
  int rc;
  if (!v || !field) {
    return smolvm_swig_fail(SMOLVM_EINVAL, "snapshot options and field must not be NULL");
  }
  if (strcmp(field, "name") != 0) {
    snprintf(msg, sizeof msg, "snapshot option '%s': unknown string field (known: name)", field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  rc = smolvm_swig_set_copy(&v->name, value);
  if (rc < 0) return rc;
  v->o.name = v->name;
  return 0;
}

/* Fields: "stop" (non-zero: the VM is stopped after its snapshot). */
int smolvm_swig_snapshot_opts_set_u32(smolvm_swig_snapshot_opts *v, const char *field,
                                      uint32_t value) {
  char msg[256];
  if (!v || !field) {
    return smolvm_swig_fail(SMOLVM_EINVAL, "snapshot options and field must not be NULL");
  }
  if (strcmp(field, "stop") != 0) {
    snprintf(msg, sizeof msg, "snapshot option '%s': unknown integer field (known: stop)", field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  v->o.stop = value;
  return 0;
}

/* Saves the VM (opts NULL: the defaults); the buffer holds the new
 * snapshot's id. */
smolvm_swig_buf *smolvm_swig_vm_snapshot(smolvm_vm *vm, const smolvm_swig_snapshot_opts *opts) {
  char *id = NULL;
  if (smolvm_swig_rc(smolvm_vm_snapshot(&id, vm, opts ? &opts->o : NULL)) < 0) return NULL;
  return smolvm_swig_buf_take(id, strlen(id));
}

/* Every snapshot as a JSON array (see smolvm_snapshot_list). */
smolvm_swig_buf *smolvm_swig_snapshot_list(smolvm_runtime *rt) {
  char *json = NULL;
  if (smolvm_swig_rc(smolvm_snapshot_list(&json, rt)) < 0) return NULL;
  return smolvm_swig_buf_take(json, strlen(json));
}

/* One snapshot, by id or name, as a JSON object. */
smolvm_swig_buf *smolvm_swig_snapshot_inspect(smolvm_runtime *rt, const char *snapshot) {
  char *json = NULL;
  if (smolvm_swig_rc(smolvm_snapshot_inspect(&json, rt, snapshot)) < 0) return NULL;
  return smolvm_swig_buf_take(json, strlen(json));
}

int smolvm_swig_snapshot_delete(smolvm_runtime *rt, const char *snapshot) {
  return smolvm_swig_rc(smolvm_snapshot_delete(rt, snapshot));
}

/* A restore option builder. */
typedef struct smolvm_swig_restore_opts {
  smolvm_restore_options o;
  char *vm_id, *on_ttl, *on_idle;
} smolvm_swig_restore_opts;

smolvm_swig_restore_opts *smolvm_swig_restore_opts_new(void) {
  smolvm_swig_restore_opts *v = (smolvm_swig_restore_opts *)calloc(1, sizeof *v);
  if (!v) {
    smolvm_swig_fail(SMOLVM_ENOMEM, "out of memory");
    return NULL;
  }
  if (smolvm_swig_rc(smolvm_restore_options_init(&v->o)) < 0) {
    free(v);
    return NULL;
  }
  return v;
}

void smolvm_swig_restore_opts_free(smolvm_swig_restore_opts *v) {
  if (!v) return;
  free(v->vm_id);
  free(v->on_ttl);
  free(v->on_idle);
  free(v);
}

/* Fields: "vm_id" (NULL: generated), "on_ttl", "on_idle" (NULL: the
 * defaults). */
int smolvm_swig_restore_opts_set_str(smolvm_swig_restore_opts *v, const char *field,
                                     const char *value) {
  char **slot = NULL;
  const char **target = NULL;
  char msg[256];
  int rc;
  if (!v || !field) {
    return smolvm_swig_fail(SMOLVM_EINVAL, "restore options and field must not be NULL");
  }
#define SMOLVM_SWIG_FIELD(name) \
  if (strcmp(field, #name) == 0) { slot = &v->name; target = &v->o.name; }
  SMOLVM_SWIG_FIELD(vm_id)
  SMOLVM_SWIG_FIELD(on_ttl)
  SMOLVM_SWIG_FIELD(on_idle)
#undef SMOLVM_SWIG_FIELD
  if (!slot) {
    snprintf(msg, sizeof msg,
             "restore option '%s': unknown string field (known: vm_id, on_ttl, on_idle)", field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  rc = smolvm_swig_set_copy(slot, value);
  if (rc < 0) return rc;
  *target = *slot;
  return 0;
}

/* Fields: "vcpu_count", "mem_size_mib" (0: the snapshot's; anything else
 * must equal it), "delete_with_owner", "ttl_s", "idle_timeout_s" (0: none;
 * checked by smolvm_vm_create_from_snapshot). */
int smolvm_swig_restore_opts_set_u32(smolvm_swig_restore_opts *v, const char *field,
                                     uint32_t value) {
  char msg[256];
  if (!v || !field) {
    return smolvm_swig_fail(SMOLVM_EINVAL, "restore options and field must not be NULL");
  }
  if (strcmp(field, "vcpu_count") == 0) {
    v->o.vcpu_count = value;
  } else if (strcmp(field, "mem_size_mib") == 0) {
    v->o.mem_size_mib = value;
  } else if (strcmp(field, "delete_with_owner") == 0) {
    v->o.delete_with_owner = value;
  } else if (strcmp(field, "ttl_s") == 0) {
    v->o.ttl_s = value;
  } else if (strcmp(field, "idle_timeout_s") == 0) {
    v->o.idle_timeout_s = value;
  } else {
    snprintf(msg, sizeof msg,
             "restore option '%s': unknown integer field (known: vcpu_count, mem_size_mib, "
             "delete_with_owner, ttl_s, idle_timeout_s)", field);
    return smolvm_swig_fail(SMOLVM_EINVAL, msg);
  }
  return 0;
}

/* A new VM from a snapshot (by id or name); its first start restores it.
 * opts NULL: the defaults. */
smolvm_vm *smolvm_swig_vm_create_from_snapshot(smolvm_runtime *rt, const char *snapshot,
                                               const smolvm_swig_restore_opts *opts) {
  smolvm_vm *vm = NULL;
  if (smolvm_swig_rc(smolvm_vm_create_from_snapshot(&vm, rt, snapshot, opts ? &opts->o : NULL)) <
      0) {
    return NULL;
  }
  return vm;
}
%}

/* ---- helper declarations (what SWIG wraps) ---------------------------- */

/* A byte view returned by value; each language maps it to its byte type. */
typedef struct smolvm_swig_bytes smolvm_swig_bytes;

/* Opaque helper handles. */
typedef struct smolvm_swig_buf smolvm_swig_buf;
typedef struct smolvm_swig_vm_opts smolvm_swig_vm_opts;
typedef struct smolvm_swig_exec_opts smolvm_swig_exec_opts;
typedef struct smolvm_swig_stream smolvm_swig_stream;
typedef struct smolvm_swig_strlist smolvm_swig_strlist;
typedef struct smolvm_swig_snapshot_opts smolvm_swig_snapshot_opts;
typedef struct smolvm_swig_restore_opts smolvm_swig_restore_opts;

int smolvm_swig_last_status(void);
const char *smolvm_swig_last_error(void);

smolvm_swig_bytes smolvm_swig_buf_bytes(const smolvm_swig_buf *b);
size_t smolvm_swig_buf_len(const smolvm_swig_buf *b);
void smolvm_swig_buf_free(smolvm_swig_buf *b);

smolvm_runtime *smolvm_swig_runtime_open(const char *state_dir, const char *cache_dir,
                                         const char *plugin_path, const char *store);
smolvm_swig_buf *smolvm_swig_runtime_list(smolvm_runtime *rt);
int smolvm_swig_runtime_gc(smolvm_runtime *rt);
smolvm_swig_buf *smolvm_swig_doctor(smolvm_runtime *rt);

smolvm_swig_vm_opts *smolvm_swig_vm_opts_new(void);
void smolvm_swig_vm_opts_free(smolvm_swig_vm_opts *v);
int smolvm_swig_vm_opts_set_str(smolvm_swig_vm_opts *v, const char *field, const char *value);
int smolvm_swig_vm_opts_set_u32(smolvm_swig_vm_opts *v, const char *field, uint32_t value);

smolvm_vm *smolvm_swig_vm_create(smolvm_runtime *rt, const smolvm_swig_vm_opts *opts);
smolvm_vm *smolvm_swig_vm_open(smolvm_runtime *rt, const char *vm_id);
smolvm_vm *smolvm_swig_vm_create_from_profile(smolvm_runtime *rt, const char *path,
                                              const char *vm_id);
long smolvm_swig_vm_expose(smolvm_vm *vm, uint32_t guest_port, uint32_t host_port,
                           const char *host_addr, const char *protocol);
int smolvm_swig_vm_unexpose(smolvm_vm *vm, uint32_t host_port, const char *host_addr,
                            const char *protocol);
int smolvm_swig_vm_start(smolvm_vm *vm);
int smolvm_swig_vm_start_within(smolvm_vm *vm, uint32_t boot_timeout_ms);
int smolvm_swig_vm_stop(smolvm_vm *vm, uint32_t timeout_ms);
int smolvm_swig_vm_delete(smolvm_vm *vm);
int smolvm_swig_vm_detach(smolvm_vm *vm);
int smolvm_swig_vm_pause(smolvm_vm *vm);
int smolvm_swig_vm_resume(smolvm_vm *vm);
smolvm_vm_info *smolvm_swig_vm_info(smolvm_vm *vm);
void smolvm_swig_vm_info_free(smolvm_vm_info *info);

smolvm_swig_strlist *smolvm_swig_strlist_new(void);
void smolvm_swig_strlist_free(smolvm_swig_strlist *l);
int smolvm_swig_strlist_add(smolvm_swig_strlist *l, const char *item);
int smolvm_swig_vm_env_set(smolvm_vm *vm, const smolvm_swig_strlist *entries, int merge);
int smolvm_swig_vm_env_unset(smolvm_vm *vm, const smolvm_swig_strlist *names);
smolvm_swig_buf *smolvm_swig_vm_env_list(smolvm_vm *vm);

smolvm_swig_exec_opts *smolvm_swig_exec_opts_new(void);
void smolvm_swig_exec_opts_free(smolvm_swig_exec_opts *e);
int smolvm_swig_exec_opts_set_command(smolvm_swig_exec_opts *e, const char *command);
int smolvm_swig_exec_opts_add_arg(smolvm_swig_exec_opts *e, const char *arg);
int smolvm_swig_exec_opts_add_env(smolvm_swig_exec_opts *e, const char *key_value);
int smolvm_swig_exec_opts_set_cwd(smolvm_swig_exec_opts *e, const char *cwd);
int smolvm_swig_exec_opts_set_timeout_ms(smolvm_swig_exec_opts *e, uint32_t timeout_ms);
int smolvm_swig_exec_opts_set_shell(smolvm_swig_exec_opts *e, const char *shell);
int smolvm_swig_exec_opts_set_stdin(smolvm_swig_exec_opts *e, const char *bytes, size_t bytes_len);
int smolvm_swig_exec_opts_set_user(smolvm_swig_exec_opts *e, const char *user);
int smolvm_swig_exec_opts_set_pty(smolvm_swig_exec_opts *e, uint32_t rows, uint32_t cols,
                                  const char *term);

smolvm_exec_result *smolvm_swig_exec_run(smolvm_vm *vm, const smolvm_swig_exec_opts *e);
smolvm_swig_bytes smolvm_swig_result_stdout(const smolvm_exec_result *r);
smolvm_swig_bytes smolvm_swig_result_stderr(const smolvm_exec_result *r);

smolvm_swig_stream *smolvm_swig_stream_start(smolvm_vm *vm, const smolvm_swig_exec_opts *e);
int smolvm_swig_stream_next(smolvm_swig_stream *s, int32_t wait_ms);
smolvm_swig_bytes smolvm_swig_stream_data(const smolvm_swig_stream *s);
int smolvm_swig_stream_exit_code(const smolvm_swig_stream *s);
int smolvm_swig_stream_signal(const smolvm_swig_stream *s);
int smolvm_swig_stream_timed_out(const smolvm_swig_stream *s);
uint64_t smolvm_swig_stream_duration_us(const smolvm_swig_stream *s);
int smolvm_swig_stream_write_stdin(smolvm_swig_stream *s, const char *bytes, size_t bytes_len);
int smolvm_swig_stream_close_stdin(smolvm_swig_stream *s);
int smolvm_swig_stream_kill(smolvm_swig_stream *s, int signal);
int smolvm_swig_stream_resize(smolvm_swig_stream *s, uint32_t rows, uint32_t cols);
void smolvm_swig_stream_free(smolvm_swig_stream *s);

int smolvm_swig_vm_write_file(smolvm_vm *vm, const char *guest_path, const char *bytes,
                              size_t bytes_len, uint32_t mode);
smolvm_swig_buf *smolvm_swig_vm_read_file(smolvm_vm *vm, const char *guest_path,
                                          uint64_t max_bytes, uint32_t timeout_ms);
int smolvm_swig_vm_put(smolvm_vm *vm, const char *host_path, const char *guest_path,
                       uint64_t max_bytes, uint32_t timeout_ms);
int smolvm_swig_vm_get(smolvm_vm *vm, const char *guest_path, const char *host_path,
                       uint64_t max_bytes, uint32_t timeout_ms);

smolvm_swig_snapshot_opts *smolvm_swig_snapshot_opts_new(void);
void smolvm_swig_snapshot_opts_free(smolvm_swig_snapshot_opts *v);
int smolvm_swig_snapshot_opts_set_str(smolvm_swig_snapshot_opts *v, const char *field,
                                      const char *value);
int smolvm_swig_snapshot_opts_set_u32(smolvm_swig_snapshot_opts *v, const char *field,
                                      uint32_t value);
smolvm_swig_buf *smolvm_swig_vm_snapshot(smolvm_vm *vm, const smolvm_swig_snapshot_opts *opts);
smolvm_swig_buf *smolvm_swig_snapshot_list(smolvm_runtime *rt);
smolvm_swig_buf *smolvm_swig_snapshot_inspect(smolvm_runtime *rt, const char *snapshot);
int smolvm_swig_snapshot_delete(smolvm_runtime *rt, const char *snapshot);
smolvm_swig_restore_opts *smolvm_swig_restore_opts_new(void);
void smolvm_swig_restore_opts_free(smolvm_swig_restore_opts *v);
int smolvm_swig_restore_opts_set_str(smolvm_swig_restore_opts *v, const char *field,
                                     const char *value);
int smolvm_swig_restore_opts_set_u32(smolvm_swig_restore_opts *v, const char *field,
                                     uint32_t value);
smolvm_vm *smolvm_swig_vm_create_from_snapshot(smolvm_runtime *rt, const char *snapshot,
                                               const smolvm_swig_restore_opts *opts);
