/*
 * plugin.h - the SmolVM plugin ABI.
 *
 * A plugin is a shared object exporting one C function, smolvm_plugin_entry,
 * that returns a descriptor: ABI version, kind, name, the plugin's own
 * version and a vtable of the kind's functions. The host refuses a plugin
 * whose ABI major differs from its own or whose minor is newer, and one
 * whose vtable is too small for the minor it declares or lacks a mandatory
 * slot, with a message naming the file and both versions (the contract of
 * SQLite loadable extensions and GStreamer plugins).
 *
 * Growth: within a major, structs and vtables only ever gain fields and
 * slots at their end, each marked "Since 1.N". Every vtable and config
 * starts with its own size, so both sides can tell what the other was built
 * with: the host accepts a plugin whose vtable covers the mandatory slots of
 * the minor it declares, and calls a later slot only when the plugin's size
 * covers it (SMOLVM_VTABLE_HAS); a plugin reads a later config field only
 * when the host's struct_size covers it (SMOLVM_VMM_CONFIG_HAS).
 *
 * Errors: each function returns 0 or a negative smolvm_status and writes a
 * message into the caller's smolvm_plugin_error. No exception, longjmp or
 * allocation crosses the boundary; strings handed to a callback are valid
 * only during that call.
 *
 * A plugin sees only this header and smolvm.h. plugins/sdk (smolvm/plugin_sdk.h)
 * writes the descriptor and entry points and guards every slot for C++
 * plugins.
 */
#ifndef SMOLVM_PLUGIN_H
#define SMOLVM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "smolvm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMOLVM_PLUGIN_ABI_MAJOR 1
#define SMOLVM_PLUGIN_ABI_MINOR 5

#define SMOLVM_PLUGIN_ENTRY_SYMBOL "smolvm_plugin_entry"

typedef enum smolvm_plugin_kind {
  SMOLVM_PLUGIN_VMM = 1,
  SMOLVM_PLUGIN_EXECUTOR = 2,
  SMOLVM_PLUGIN_NETWORK = 3,
  SMOLVM_PLUGIN_STORE = 4
} smolvm_plugin_kind;

typedef struct smolvm_plugin_error {
  char message[1024];
} smolvm_plugin_error;

typedef struct smolvm_plugin_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor; /* the minor this plugin was built against */
  uint32_t kind;      /* smolvm_plugin_kind */
  const char* name;
  const char* description;
  const void* vtable; /* smolvm_<kind>_vtable, starting with its size */
  /* Since 1.3 (the host reads them only when abi_minor >= 3): */
  const char* version; /* the plugin's own version, e.g. "1.4.0" */
  size_t vtable_size;  /* equals the vtable's struct_size */
} smolvm_plugin_descriptor;

typedef const smolvm_plugin_descriptor* (*smolvm_plugin_entry_fn)(void);

/* Every plugin defines smolvm_plugin_entry with default visibility:
 *   SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor *smolvm_plugin_entry(void);
 * and, since 1.3, the same function under a name of its own,
 * smolvm_plugin_<kind>_<name> (e.g. smolvm_plugin_vmm_qemu), which the host
 * looks up in its own process before searching plugin folders: a plugin
 * linked into the program itself is used without a file. */
#define SMOLVM_PLUGIN_EXPORT __attribute__((visibility("default")))

/* ---- store ---------------------------------------------------------- *
 * Durable state shared by every process: VMs, network leases, port
 * forwards and the processes that belong to each VM. Must be safe when many
 * processes use the same file at once. */

typedef struct smolvm_store_vm {
  const char* id;
  const char* state;        /* smolvm_vm_state_str() names */
  const char* spec_json;    /* the validated VM spec */
  const char* runtime_json; /* what the running VM is: pids, paths, accel */
  int64_t created_at_ms;
  int64_t updated_at_ms;
} smolvm_store_vm;

typedef struct smolvm_store_lease {
  const char* vm_id;
  const char* ip; /* dotted quad */
  const char* tap;
} smolvm_store_lease;

typedef struct smolvm_store_forward {
  const char* vm_id;
  const char* protocol; /* "tcp" | "udp" */
  const char* host_addr;
  uint32_t host_port;
  uint32_t guest_port;
} smolvm_store_forward;

typedef struct smolvm_store_process {
  const char* vm_id;
  const char* role; /* "supervisor", "vmm", ... */
  int64_t pid;
  int64_t start_time; /* /proc/<pid>/stat field 22, to detect pid reuse */
} smolvm_store_process;

typedef void (*smolvm_store_vm_cb)(void* ctx, const smolvm_store_vm* row);
typedef void (*smolvm_store_lease_cb)(void* ctx, const smolvm_store_lease* row);
typedef void (*smolvm_store_forward_cb)(void* ctx, const smolvm_store_forward* row);
typedef void (*smolvm_store_process_cb)(void* ctx, const smolvm_store_process* row);

typedef struct smolvm_store_vtable {
  size_t struct_size;
  /* Opens (creating and migrating as needed) the store at location. */
  int (*open)(void** out, const char* location, smolvm_plugin_error* err);
  void (*close)(void* store);
  /* SMOLVM_EEXISTS if the id is taken. */
  int (*vm_insert)(void* store, const smolvm_store_vm* row, smolvm_plugin_error* err);
  /* Replaces state, spec_json and runtime_json (NULL keeps a field). When
   * expect_state is not NULL the update happens only if the current state is
   * one of the '|'-separated names in it, else SMOLVM_ESTATE. */
  int (*vm_update)(void* store, const smolvm_store_vm* row, const char* expect_state,
                   smolvm_plugin_error* err);
  /* SMOLVM_ENOTFOUND if absent. */
  int (*vm_get)(void* store, const char* id, smolvm_store_vm_cb cb, void* ctx,
                smolvm_plugin_error* err);
  /* Oldest first. */
  int (*vm_list)(void* store, smolvm_store_vm_cb cb, void* ctx, smolvm_plugin_error* err);
  /* Removes the VM with its leases, forwards and processes in one
   * transaction; SMOLVM_ENOTFOUND if absent. */
  int (*vm_delete)(void* store, const char* id, smolvm_plugin_error* err);

  /* Picks the lowest free address in [first, last] (host byte order) for
   * vm_id atomically; SMOLVM_EBUSY when the pool is exhausted. Returns the
   * existing lease if vm_id has one. */
  int (*lease_acquire)(void* store, const char* vm_id, uint32_t first, uint32_t last,
                       const char* tap, uint32_t* out_ip, smolvm_plugin_error* err);
  int (*lease_release)(void* store, const char* vm_id, smolvm_plugin_error* err);
  int (*lease_list)(void* store, smolvm_store_lease_cb cb, void* ctx, smolvm_plugin_error* err);

  /* SMOLVM_EEXISTS if host_addr:host_port/protocol is taken. */
  int (*forward_add)(void* store, const smolvm_store_forward* row, smolvm_plugin_error* err);
  int (*forward_remove)(void* store, const smolvm_store_forward* row, smolvm_plugin_error* err);
  /* vm_id NULL: all VMs. */
  int (*forward_list)(void* store, const char* vm_id, smolvm_store_forward_cb cb, void* ctx,
                      smolvm_plugin_error* err);

  /* Records (replacing) the process with this role for the VM. */
  int (*process_set)(void* store, const smolvm_store_process* row, smolvm_plugin_error* err);
  /* role NULL: all roles of the VM. */
  int (*process_clear)(void* store, const char* vm_id, const char* role, smolvm_plugin_error* err);
  int (*process_list)(void* store, const char* vm_id, smolvm_store_process_cb cb, void* ctx,
                      smolvm_plugin_error* err);
} smolvm_store_vtable;

/* ---- vmm ------------------------------------------------------------ *
 * Starts and stops the virtual machine monitor. Used by the per-VM
 * supervisor process, which owns the instance for the VM's whole life. */

typedef struct smolvm_vmm_config {
  uint32_t struct_size;
  const char* vm_id;
  uint32_t vcpu_count;
  uint32_t mem_size_mib;
  const char* kernel_path;
  const char* rootfs_path; /* the base image */
  const char* disk_mode;   /* "isolated" | "shared" */
  const char* disk_path;   /* the VM's own disk (isolated), else NULL */
  const char* accel;       /* resolved: "kvm" | "tcg" */
  const char* boot_args;   /* full kernel command line additions */
  const char* vm_dir;      /* private per-VM folder for sockets and disks */
  const char* console_log; /* file receiving the guest console */
  const char* tap_name;    /* NULL: no network device */
  const char* mac;
  /* Since 1.1 (check struct_size): the unprivileged user the VMM process
   * runs as, chosen by the supervisor, unique to this VM while it runs.
   * 0: keep the caller's. The VMM must then reach its files only through
   * descriptors opened before the switch: the supervisor's folders are
   * closed to that user. */
  uint32_t run_as_uid;
  uint32_t run_as_gid;
  /* Since 1.1: the size prepare_disk gives the isolated disk, in MiB, never
   * below the base image's (core checks). 0: the base image's size. */
  uint32_t disk_size_mib;
  /* Since 1.2: when above 2, the write end of a pipe that receives the
   * guest console (the supervisor keeps console_log from it, bounded in
   * size); the VMM writes the console there instead of opening console_log.
   * 0 (or a config without the field): open console_log. See
   * SMOLVM_VMM_CONSOLE_FD. */
  int32_t console_fd;
  /* Since 1.5: read-only qcow2 disk layers between the base image and the
   * VM's disk (snapshots' disk states, oldest first; the VM's disk is an
   * overlay on the last). layer_count 0: the disk's backing is the base.
   * prepare_disk makes the disk on the last layer when there are layers. */
  const char* const* layer_paths;
  uint32_t layer_count;
} smolvm_vmm_config;

/* True when cfg carries `field` (a plugin built for a newer minor can be
 * handed an older, shorter config). */
#define SMOLVM_VMM_CONFIG_HAS(cfg, field) \
  ((cfg)->struct_size >=                  \
   offsetof(smolvm_vmm_config, field) + sizeof(((smolvm_vmm_config*)0)->field))

/* The console pipe of cfg, or -1 when the VMM opens console_log itself. */
#define SMOLVM_VMM_CONSOLE_FD(cfg) \
  (SMOLVM_VMM_CONFIG_HAS(cfg, console_fd) && (cfg)->console_fd > 2 ? (cfg)->console_fd : -1)

typedef struct smolvm_vmm_vtable {
  size_t struct_size;
  /* Describes what the host offers this backend as a JSON object with at
   * least {"available": bool, "binary": str, "version": str, "reason": str,
   * "accels": [..]}. Written NUL-terminated into out (cap bytes). Since 1.3
   * also (absent keys take the defaults core documents):
   *   "rank": int, vmm=auto takes the available VMM with the highest (0);
   *   "memory_overhead_mib": {"<accel>": MiB}, the VMM's own memory beyond
   *     the guest's RAM under each accel, added to the VM's memory limit;
   *   "fix": str, what the user can do when it is not available. */
  int (*probe)(char* out_json, size_t cap, smolvm_plugin_error* err);
  /* Makes the per-VM disk for isolated mode under cfg->vm_dir and writes
   * its path to out_path. Called once, at create. */
  int (*prepare_disk)(const smolvm_vmm_config* cfg, char* out_path, size_t cap,
                      smolvm_plugin_error* err);
  /* Starts the VMM as a child of the calling process. Its own output (what
   * it prints on stderr, e.g. why it refused the kernel) goes to
   * cfg->vm_dir/vmm.log: the supervisor quotes its end when the VMM exits
   * during boot. */
  int (*launch)(void** out_instance, const smolvm_vmm_config* cfg, smolvm_plugin_error* err);
  int64_t (*pid)(void* instance);
  /* Connects the byte stream to the guest agent (virtio-serial socket,
   * hybrid vsock...), waiting up to timeout_ms for it to exist. */
  int (*agent_connect)(void* instance, int* out_fd, uint32_t timeout_ms, smolvm_plugin_error* err);
  /* Forces the VM off now (QMP quit, API, then SIGKILL). Idempotent. */
  int (*kill)(void* instance, smolvm_plugin_error* err);
  /* Frees the instance after the VMM process has been reaped. */
  void (*release)(void* instance);
  /* Since 1.3 (optional: core checks struct_size and NULL). Removes what
   * launch left in cfg->vm_dir (sockets, state files) once the VMM process
   * is gone, in the supervisor at exit and in whichever process repairs a VM
   * whose supervisor died. Only vm_id and vm_dir are set. Idempotent. */
  int (*cleanup)(const smolvm_vmm_config* cfg, smolvm_plugin_error* err);
  /* Since 1.4 (optional: core checks struct_size and NULL, and refuses to
   * pause a VM whose VMM has neither). Stops the guest's vCPUs, returning
   * once they stand still (QMP stop, Firecracker's PATCH /vm Paused);
   * memory, devices and the agent channel stay. resume lets them run
   * again. Each is called only in the state it leaves. */
  int (*pause)(void* instance, smolvm_plugin_error* err);
  int (*resume)(void* instance, smolvm_plugin_error* err);
  /* Since 1.5 (optional: core checks struct_size and NULL, and refuses to
   * snapshot or restore a VM whose VMM lacks them, saying so). save_state
   * writes the paused VM's memory and device state to state_fd (a file
   * open for writing, left open for the caller) and returns once all of
   * it is written and the VM's disk is flushed, the VM still paused; the
   * caller may copy the disk now, and resume lets the VM run on. Each VMM
   * process may refuse a later save_state (SMOLVM_EUNSUPPORTED, saying
   * why) when it cannot save twice. */
  int (*save_state)(void* instance, int state_fd, smolvm_plugin_error* err);
  /* As launch, but the VMM does not boot the kernel: it loads the state
   * save_state wrote, read from state_fd (open for reading, the caller's:
   * the VMM takes its own copy), and runs the VM from there. The config
   * must describe the same machine (vCPUs, memory, devices) as the saved
   * one; core checks. A state that does not load ends the VMM process with
   * its reason in vmm.log, like a refused config. */
  int (*launch_restore)(void** out_instance, const smolvm_vmm_config* cfg, int state_fd,
                        smolvm_plugin_error* err);
} smolvm_vmm_vtable;

/* ---- executor ------------------------------------------------------- *
 * Runs commands and moves files in a running guest. Used in the client
 * process. */

typedef struct smolvm_executor_target {
  uint32_t struct_size;
  const char* vm_id;
  const char* supervisor_socket; /* the per-VM supervisor's Unix socket */
  const char* token;             /* per-VM secret for the supervisor */
  const char* guest_ip;          /* NULL without network */
  const char* vm_dir;
  /* Before 1.4: the guest's pinned SSH host key. No longer filled (always
   * NULL): the SSH executor keeps it in its own data_json. Kept so the
   * layout does not change. */
  const char* ssh_host_key;
  /* Since 1.4 (check struct_size): this executor's own data for the VM, a
   * JSON object (see smolvm_executor_vm), "{}" when it has none. */
  const char* data_json;
} smolvm_executor_target;

/* Since 1.4: one VM as the executor hooks see it (vm_created, vm_booting,
 * vm_ready). Strings are valid only during the hook. An executor keeps what
 * it learns or makes for a VM (a key's path, a pinned host key) in its data:
 * a JSON object the host stores with the VM, hands back to every hook and to
 * connect (smolvm_executor_target.data_json), and drops with the VM. */
typedef struct smolvm_executor_vm {
  uint32_t struct_size;
  const char* vm_id;
  const char* vm_dir;    /* the VM's private folder; deleted with the VM */
  const char* disk_mode; /* "isolated" | "shared" (thrown away at every stop) */
  const char* guest_ip;  /* NULL without network */
  const char* data_json; /* this executor's data for the VM, "{}" at first */
  /* Replaces this executor's data for the VM with data_json, a JSON object
   * of at most SMOLVM_EXECUTOR_DATA_MAX bytes, copied by the host and stored
   * when the hook returns 0 (discarded when it fails). */
  int (*set_data)(void* host, const char* data_json, smolvm_plugin_error* err);
  /* vm_ready only (NULL in the other hooks): reads the guest file at
   * guest_path into buf through the VM's supervisor and the guest agent,
   * over the VMM's own channel (trusted: never the network). *out_len gets
   * its size. SMOLVM_ENOTFOUND when it does not exist, SMOLVM_EINVAL when it
   * is larger than cap, SMOLVM_ETIMEOUT after timeout_ms. */
  int (*read_guest_file)(void* host, const char* guest_path, uint8_t* buf, size_t cap,
                         size_t* out_len, uint32_t timeout_ms, smolvm_plugin_error* err);
  void* host; /* the host's context: pass it to the callbacks above */
} smolvm_executor_vm;

/* The largest data_json set_data accepts, in bytes. */
#define SMOLVM_EXECUTOR_DATA_MAX 65536
/* The size of the buffer vm_booting writes its kernel arguments into. */
#define SMOLVM_EXECUTOR_BOOT_ARGS_MAX 4096

typedef struct smolvm_executor_request {
  uint32_t struct_size;
  const char* const* argv; /* NULL when command is set */
  size_t argc;
  const char* command;
  const char* const* env;
  size_t env_count;
  const char* cwd;
  uint32_t timeout_ms;
  /* Since 1.2 (check struct_size): how command runs. NULL or "login": the
   * user's login shell with -l -c; "raw": /bin/sh -c. */
  const char* shell;
} smolvm_executor_request;

typedef struct smolvm_executor_event {
  int type; /* smolvm_event_type */
  const uint8_t* data;
  size_t len;
  int exit_code;
  int signal;
  int timed_out;
  uint64_t duration_us;
} smolvm_executor_event;

typedef void (*smolvm_bytes_cb)(void* ctx, const uint8_t* data, size_t len);
/* Since 1.2: a sink that can stop the stream: a non-zero (negative
 * smolvm_status) return ends it, and the caller returns that value. */
typedef int (*smolvm_bytes_sink)(void* ctx, const uint8_t* data, size_t len);
/* Since 1.2: a source of bytes: fills buf with up to cap bytes, sets
 * *out_len (0: the end) and returns 0, or returns a negative smolvm_status
 * that ends the stream (and the caller returns it). */
typedef int (*smolvm_bytes_source)(void* ctx, uint8_t* buf, size_t cap, size_t* out_len);

typedef struct smolvm_executor_vtable {
  size_t struct_size;
  int (*connect)(void** out_conn, const smolvm_executor_target* target, uint32_t timeout_ms,
                 smolvm_plugin_error* err);
  void (*disconnect)(void* conn);
  int (*exec_start)(void** out_exec, void* conn, const smolvm_executor_request* req,
                    smolvm_plugin_error* err);
  /* SMOLVM_ETIMEOUT when nothing arrives in wait_ms (-1: forever),
   * SMOLVM_EDONE after the exit event. Data valid until the next call. */
  int (*exec_next_event)(void* exec, smolvm_executor_event* out, int32_t wait_ms,
                         smolvm_plugin_error* err);
  int (*exec_write_stdin)(void* exec, const uint8_t* data, size_t len, smolvm_plugin_error* err);
  int (*exec_close_stdin)(void* exec, smolvm_plugin_error* err);
  int (*exec_kill)(void* exec, int signal, smolvm_plugin_error* err);
  void (*exec_free)(void* exec);
  int (*file_write)(void* conn, const char* guest_path, const uint8_t* data, size_t len,
                    uint32_t mode, smolvm_plugin_error* err);
  int (*file_read)(void* conn, const char* guest_path, smolvm_bytes_cb sink, void* ctx,
                   smolvm_plugin_error* err);
  /* Since 1.2 (optional: core checks struct_size and NULL). As file_read,
   * but the sink may stop the read (its non-zero return is returned, and the
   * guest stops reading) and the whole read ends with SMOLVM_ETIMEOUT after
   * timeout_ms (0: no limit). Either way the guest side is released. */
  int (*file_read_bounded)(void* conn, const char* guest_path, smolvm_bytes_sink sink, void* ctx,
                           uint32_t timeout_ms, smolvm_plugin_error* err);
  /* Since 1.2 (optional: core checks struct_size and NULL). As file_write,
   * but the bytes come from source a chunk at a time (the caller never holds
   * the whole file), and the whole write, the guest's answer included, ends
   * with SMOLVM_ETIMEOUT after timeout_ms (0: no limit). A write that fails
   * or is stopped leaves nothing under guest_path where possible. */
  int (*file_write_bounded)(void* conn, const char* guest_path, smolvm_bytes_source source,
                            void* ctx, uint32_t mode, uint32_t timeout_ms,
                            smolvm_plugin_error* err);
  /* Since 1.3 (optional: core checks struct_size and NULL; an executor
   * without it is available with rank 0). {"available": bool, "reason": str,
   * "fix": str, "rank": int (executor=auto takes the available executor
   * with the highest), "needs_network": bool (create refuses it for a VM
   * without a network)}. */
  int (*probe)(char* out_json, size_t cap, smolvm_plugin_error* err);
  /* Since 1.4: hooks on a VM's life, each optional (core checks
   * struct_size and NULL) and run in the client process that acts on the
   * VM, for VMs created with this executor only. A failure undoes the act:
   * create removes the VM, start does not boot it (vm_booting) or stops it
   * again and records it failed (vm_ready).
   *
   * vm_created: the VM's folder exists, nothing runs yet; make what every
   * boot needs (e.g. a key pair) and record it with set_data. */
  int (*vm_created)(const smolvm_executor_vm* vm, smolvm_plugin_error* err);
  /* vm_booting: before every boot. Writes the kernel command-line arguments
   * the guest needs (space-separated key=value, "" for none) NUL-terminated
   * into out_args (cap bytes, SMOLVM_EXECUTOR_BOOT_ARGS_MAX). */
  int (*vm_booting)(const smolvm_executor_vm* vm, char* out_args, size_t cap,
                    smolvm_plugin_error* err);
  /* vm_ready: the guest agent answered; before the profile's setup
   * commands, which may already run through this executor. The guest is
   * untrusted: check what read_guest_file returns. */
  int (*vm_ready)(const smolvm_executor_vm* vm, smolvm_plugin_error* err);
} smolvm_executor_vtable;

/* True when vt, of vtable type `type`, provides `slot` (a plugin built for
 * an older minor has a shorter vtable, and an optional slot may be NULL). */
#define SMOLVM_VTABLE_HAS(type, vt, slot) \
  ((vt)->struct_size >= offsetof(type, slot) + sizeof(((type*)0)->slot) && (vt)->slot != NULL)

#define SMOLVM_EXECUTOR_HAS(vt, slot) SMOLVM_VTABLE_HAS(smolvm_executor_vtable, vt, slot)
#define SMOLVM_VMM_HAS(vt, slot) SMOLVM_VTABLE_HAS(smolvm_vmm_vtable, vt, slot)

/* ---- network ------------------------------------------------------ *
 * Gives a VM a TAP device, an address, outbound NAT, isolation and port
 * forwards, and removes them exactly. setup/teardown run in the VM's
 * supervisor; forwards are also added and removed by clients while the VM
 * runs. Every function is idempotent: teardown of what is already gone, or
 * forward_add of a forward that is there, succeeds. Adding or removing one
 * VM must never rewrite another VM's rules. */

typedef struct smolvm_network_config {
  uint32_t struct_size;
  const char* vm_id;
  const char* tap_name;   /* at most 15 characters */
  const char* guest_ip;   /* dotted quad */
  const char* gateway_ip; /* the host's address on every TAP */
  uint32_t prefix_len;    /* of the guest pool, e.g. 16 */
  const char* mac;        /* the guest NIC's MAC */
} smolvm_network_config;

typedef struct smolvm_network_forward {
  uint32_t struct_size;
  const char* vm_id;
  const char* protocol;  /* "tcp" | "udp" */
  const char* host_addr; /* dotted quad; "0.0.0.0": every host address */
  uint32_t host_port;
  const char* guest_ip;
  uint32_t guest_port;
  const char* tap_name;
} smolvm_network_forward;

typedef struct smolvm_network_vtable {
  size_t struct_size;
  /* {"available": bool, "binary": str, "reason": str}; since 1.3 also
   * "rank": int (network=auto takes the available plugin with the highest;
   * 0) and "fix": str. */
  int (*probe)(char* out_json, size_t cap, smolvm_plugin_error* err);
  int (*setup)(const smolvm_network_config* cfg, smolvm_plugin_error* err);
  int (*teardown)(const smolvm_network_config* cfg, smolvm_plugin_error* err);
  int (*forward_add)(const smolvm_network_forward* fwd, smolvm_plugin_error* err);
  int (*forward_remove)(const smolvm_network_forward* fwd, smolvm_plugin_error* err);
} smolvm_network_vtable;

#ifdef __cplusplus
}
#endif

#endif /* SMOLVM_PLUGIN_H */
