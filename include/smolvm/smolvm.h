/*
 * smolvm.h - the stable C ABI of SmolVM.
 *
 * Conventions (after libgit2):
 *  - Every function that can fail returns 0 on success or a negative
 *    smolvm_status. The message of the last failure on the calling thread is
 *    smolvm_last_error(); it names the field, the value and what is allowed.
 *  - Outputs come first in the parameter list, as pointers.
 *  - Option and info structs start with `uint32_t struct_size`; fields are
 *    only ever appended. Call the matching *_init() to fill the defaults, then
 *    set what you need. Since 1.2 each struct has a version compiled into the
 *    caller (SMOLVM_<STRUCT>_VERSION): smolvm_X_init(p) is a macro for
 *    smolvm_X_init_version(p, SMOLVM_X_VERSION), and SMOLVM_X_INIT is a
 *    static initializer. The library writes no more than the caller's
 *    version holds and reads appended fields only when struct_size covers
 *    them. The plain functions smolvm_X_init(), which binaries built before
 *    1.2 call, fill the 1.0 layout only. A struct_size larger than the
 *    library knows is refused.
 *  - Strings passed in are copied. Strings returned are owned by the handle
 *    they came from (valid until the next call on that handle or its free)
 *    unless the comment says "free with ...".
 *  - Handles are opaque. A smolvm_vm handle is a view of a VM: freeing it
 *    never stops the VM; any process can open the VM again by id.
 *  - No C++ exception ever crosses this boundary.
 *
 * Thread safety: a smolvm_runtime may be shared between threads. A smolvm_vm
 * handle may be used by one thread at a time; open one handle per thread to
 * run commands concurrently (they multiplex onto the same VM).
 */
#ifndef SMOLVM_H
#define SMOLVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SMOLVM_BUILDING_LIBRARY)
#define SMOLVM_API __attribute__((visibility("default")))
#else
#define SMOLVM_API
#endif

/* The ABI version. The major changes only when an existing declaration
 * changes incompatibly; it is part of the library's SONAME. */
#define SMOLVM_ABI_MAJOR 1
#define SMOLVM_ABI_MINOR 6

/* ---- status codes --------------------------------------------------- */

typedef enum smolvm_status {
  SMOLVM_OK = 0,
  SMOLVM_ERROR = -1,         /* unclassified failure */
  SMOLVM_EINVAL = -2,        /* bad argument or configuration value */
  SMOLVM_ENOTFOUND = -3,     /* no such VM, file, plugin or image */
  SMOLVM_ESTATE = -4,        /* operation not allowed in the VM's state */
  SMOLVM_ETIMEOUT = -5,      /* a deadline passed */
  SMOLVM_EEXISTS = -6,       /* the id or resource is taken */
  SMOLVM_EPLUGIN = -7,       /* a plugin is missing, mismatched or failed */
  SMOLVM_EIO = -8,           /* file system or process failure on the host */
  SMOLVM_EPERM = -9,         /* missing privilege or capability */
  SMOLVM_EUNSUPPORTED = -10, /* the host or backend cannot do this */
  SMOLVM_EBUSY = -11,        /* the store or resource is busy */
  SMOLVM_EPROTO = -12,       /* the guest agent broke the protocol */
  SMOLVM_ENOMEM = -13,       /* out of memory */
  SMOLVM_EDONE = -14         /* a stream has no more events */
} smolvm_status;

/* Short fixed name of a status code ("EINVAL"...); never NULL. */
SMOLVM_API const char* smolvm_status_str(int status);

/* Message of the last failure on this thread, or "" if none. Valid until the
 * next failing call on this thread. */
SMOLVM_API const char* smolvm_last_error(void);

/* Library version, e.g. "0.1.0". */
SMOLVM_API const char* smolvm_version(void);

/* Frees memory the library returned with a "free with smolvm_free" note. */
SMOLVM_API void smolvm_free(void* ptr);

/* A list of strings; dispose with smolvm_strarray_dispose. */
typedef struct smolvm_strarray {
  char** strings;
  size_t count;
} smolvm_strarray;
SMOLVM_API void smolvm_strarray_dispose(smolvm_strarray* array);

/* A byte buffer; dispose with smolvm_buf_dispose. */
typedef struct smolvm_buf {
  uint8_t* data;
  size_t size;
} smolvm_buf;
SMOLVM_API void smolvm_buf_dispose(smolvm_buf* buf);

/* ---- runtime -------------------------------------------------------- */

typedef struct smolvm_runtime smolvm_runtime;

/* The store plugin a runtime opens when none is named (since 1.3). */
#define SMOLVM_STORE_DEFAULT "sqlite"

typedef struct smolvm_runtime_options {
  uint32_t struct_size;
  /* Folder for the store and per-VM state. NULL: $SMOLVM_STATE_DIR, else
   * $XDG_STATE_HOME/smolvm, else ~/.local/state/smolvm. */
  const char* state_dir;
  /* Folder for images. NULL: $SMOLVM_CACHE_DIR, else ~/.cache/smolvm. */
  const char* cache_dir;
  /* Extra plugin folders, ':'-separated, searched before $SMOLVM_PLUGIN_PATH
   * and the install's lib/smolvm/plugins. NULL: none. */
  const char* plugin_path;
  /* Store plugin name. NULL: SMOLVM_STORE_DEFAULT, "sqlite". */
  const char* store;
} smolvm_runtime_options;

/* Versions: 1 (1.0). */
#define SMOLVM_RUNTIME_OPTIONS_VERSION 1
/* Since 1.2: fills the defaults of the given version's layout. */
SMOLVM_API int smolvm_runtime_options_init_version(smolvm_runtime_options* opts,
                                                   unsigned int version);
/* For binaries built before 1.2: fills the 1.0 layout only. */
SMOLVM_API int smolvm_runtime_options_init(smolvm_runtime_options* opts);
#define smolvm_runtime_options_init(opts) \
  smolvm_runtime_options_init_version((opts), SMOLVM_RUNTIME_OPTIONS_VERSION)
#define SMOLVM_RUNTIME_OPTIONS_INIT \
  { .struct_size = sizeof(smolvm_runtime_options) }

/* Opens the runtime (store, plugin registry). opts may be NULL. */
SMOLVM_API int smolvm_runtime_open(smolvm_runtime** out, const smolvm_runtime_options* opts);
SMOLVM_API void smolvm_runtime_close(smolvm_runtime* rt);

/* Ids of every VM in the store, oldest first. */
SMOLVM_API int smolvm_runtime_list(smolvm_strarray* out, smolvm_runtime* rt);

/* Reconciles the store with reality after a crash: VMs whose supervisor is
 * gone are marked stopped, their leftover processes, sockets and network
 * resources removed; folders with no VM are deleted. *out_fixed (may be NULL)
 * receives how many things were repaired. */
SMOLVM_API int smolvm_runtime_gc(uint32_t* out_fixed, smolvm_runtime* rt);

/* Checks what this host offers SmolVM (KVM kind, VMM binaries, guest image,
 * network tools, privileges) and writes a JSON report to *out_json (free
 * with smolvm_free). rt may be NULL: the default plugin path is used. */
SMOLVM_API int smolvm_doctor(char** out_json, smolvm_runtime* rt);

/* Since 1.3. Loads every plugin file in the search path of rt (NULL: the
 * default path) and writes a JSON object to *out_json (free with
 * smolvm_free): {"search_path": [...], "plugins": [{"path", "kind", "name",
 * "version", "abi", "vtable_size", "description", "error"}...]}, in search
 * order. "error" is "" for a plugin that loads and would be used, else why it
 * is refused (ABI mismatch, a vtable too small, a file name that does not
 * match its descriptor, shadowed by an earlier folder's). */
SMOLVM_API int smolvm_plugins_inspect(char** out_json, smolvm_runtime* rt);

/* Since 1.1. Removes every cached guest image (<cache>/images/<key>) that is
 * neither the default, nor named (since 1.6), nor used by a VM, in any state
 * folder, and writes a JSON array to *out_json (free with smolvm_free), one
 * object per image: {"key", "path", "bytes" (space on disk), "removed": bool,
 * "kept_because": "the default image" | "named NAME" | "used by a VM" | "",
 * "kind": "image"}. Then the image recipes' layers (<cache>/layers/<key>)
 * that no kept image is made of go too, each listed after the images as an
 * object of "kind": "layer" (kept_because "part of a kept image", or while
 * a build runs "a build is running (...)"). dry_run != 0
 * removes nothing and reports what would go ("removed" stays false,
 * "kept_because" ""). rt may be NULL: the default cache folder is used. */
SMOLVM_API int smolvm_image_prune(char** out_json, smolvm_runtime* rt, int dry_run);

/* Since 1.6. The cached images, as a JSON array written to *out_json (free
 * with smolvm_free), one object per image: {"key", "path", "names": [...]
 * ("default" for the default image), "bytes", "users": ["vm ID" |
 * "snapshot NAME"...], "manifest": {...} (what built it, and the defaults
 * it gives its VMs)}. name_or_key non-NULL: that image only (an array of
 * one), SMOLVM_ENOTFOUND if there is none. rt may be NULL: the default
 * cache folder is used. */
SMOLVM_API int smolvm_image_list(char** out_json, smolvm_runtime* rt, const char* name_or_key);

/* Since 1.6. Removes an image by name or key. A name goes, and its image
 * with it unless another name (or the default) still leads there; a key
 * removes the image and all its names. Removing the image is refused with
 * SMOLVM_EBUSY naming the VMs and snapshots that use it, and for the
 * default image. */
SMOLVM_API int smolvm_image_remove(smolvm_runtime* rt, const char* name_or_key);

/* Since 1.6. Reads and checks an image recipe (YAML, kind: ImageRecipe,
 * schemas/image-recipe.schema.json) and the recipes it is based on, and
 * writes what `smolvm image build -f` builds from it as JSON to *out_json
 * (free with smolvm_free): {"name", "source", "base": {"kind": "default" |
 * "image" | "recipe", "image", "recipe": {...}}, "steps": [{"kind":
 * "packages" | "file" | "run", "at": "file:line:column", "packages" | "src",
 * "dest" | "command"}], "env": ["K=V"...], "user", "workdir",
 * "disk_size_mib"}. A bad recipe: SMOLVM_EINVAL with "file:line:column:
 * key=value: rule". */
SMOLVM_API int smolvm_image_recipe_load(char** out_json, const char* path);

/* ---- VM options ----------------------------------------------------- */

#define SMOLVM_VCPU_MIN 1
#define SMOLVM_VCPU_MAX 32
#define SMOLVM_VCPU_DEFAULT 2
#define SMOLVM_MEM_MIB_MIN 128
#define SMOLVM_MEM_MIB_MAX 16384
#define SMOLVM_MEM_MIB_DEFAULT 512
/* disk_size_mib: 0 (the image's size) or the image's size..this. */
#define SMOLVM_DISK_MIB_MAX 1048576
/* Since 1.2: the smallest disk_size_mib other than 0, and the longest
 * boot_timeout_s (0 there means the default). */
#define SMOLVM_DISK_MIB_MIN 64
#define SMOLVM_BOOT_TIMEOUT_S_MAX 3600
/* Since 1.5: the longest ttl_s and idle_timeout_s (30 days). */
#define SMOLVM_LIFETIME_S_MAX 2592000

typedef struct smolvm_vm_options {
  uint32_t struct_size;
  /* [a-z0-9][a-z0-9-]{0,62}; NULL: "vm-" + 8 random hex digits ("" is
   * refused, since 1.2). */
  const char* vm_id;
  uint32_t vcpu_count;   /* 1..32, default 2 */
  uint32_t mem_size_mib; /* 128..16384, default 512 */
  /* "isolated" (default): a private copy-on-write disk per VM, kept across
   * stop/start, removed on delete. "shared": every VM boots the same
   * read-only base image. Under QEMU its writes go to a throwaway overlay
   * and are lost when it stops; under Firecracker the root is read-only
   * (/tmp, /run and /dev/shm stay writable). */
  const char* disk_mode;
  /* Guest kernel and root file system; NULL: the files of `image` (1.6),
   * else of the default image built by `smolvm image build`. */
  const char* kernel_path;
  const char* rootfs_path;
  /* Appended to the kernel command line. NULL: nothing. */
  const char* boot_args;
  /* Plugin names; NULL or "auto" picks the best the host supports. */
  const char* vmm;      /* "qemu" | "firecracker" | "auto" */
  const char* executor; /* "agent" | "ssh" | "auto" */
  /* "none" (default: no NIC, the sandbox reaches nothing), "auto" (the best
   * network plugin the host supports), "nftables" or "iptables". A network
   * needs CAP_NET_ADMIN. */
  const char* network;
  /* Acceleration: "auto" (default) uses KVM where the host has hardware KVM,
   * TCG otherwise; "kvm" or "tcg" to force. */
  const char* accel;
  /* Seconds start() waits for the guest agent; 0: default (120). */
  uint32_t boot_timeout_s;
  /* Since 1.1. Size of an isolated disk in MiB: 0 (default) keeps the
   * image's size; otherwise at least the image's size and at most 1048576.
   * The guest's root file system grows to fill it at boot; the host file
   * still takes only what the guest writes. Not with disk_mode "shared". */
  uint32_t disk_size_mib;
  /* Since 1.2. Non-zero: an ephemeral VM, bound to its owner - the process
   * that starts it (recorded with the VM, so whoever starts it owns it).
   * When that process ends without smolvm_vm_detach, however it ends
   * (exit, any signal, SIGKILL included), the VM's supervisor deletes the
   * VM as smolvm_vm_delete would. A fork()ed child that has not exec'd
   * keeps the owner alive until it exits. A VM that is not running when
   * its owner ends is deleted by smolvm_gc. */
  uint32_t delete_with_owner;
  /* Since 1.5: lifetimes, enforced by the VM's supervisor whether or not a
   * client is attached. ttl_s: how long one boot may run, paused time not
   * counted; then on_ttl: "delete" (default) or "stop". idle_timeout_s: how
   * long the VM may go without a command or file transfer under way; then
   * on_idle: "pause" (default; the next command or transfer resumes it),
   * "stop", "delete" or, since 1.6, "hibernate" (its memory and devices
   * are saved into its folder and it stops, freeing the VMM's memory; the
   * next start or command restores it as it stood; an isolated disk and no
   * network only). 0: no limit (default); at most
   * SMOLVM_LIFETIME_S_MAX. NULL actions take the defaults. (The strings
   * come first so that no field of 1.5 lies in the padding a 1.2 caller's
   * struct ends with.) */
  const char* on_ttl;
  const char* on_idle;
  uint32_t ttl_s;
  uint32_t idle_timeout_s;
  /* Since 1.6: how the first start gets the guest. "auto" (default, NULL):
   * restored from a template - a snapshot of a freshly booted guest of the
   * same image, vCPUs, memory, VMM, executor and accel, made by the first
   * such start and kept beside the image in the cache - where the VM fits
   * one (no network, no boot_args, an isolated disk); "cold": always boots
   * the kernel. SMOLVM_TEMPLATE=0 in the environment makes every VM cold.
   * smolvm_vm_info.boot says which happened and why. */
  const char* boot;
  /* Since 1.6: a named image (`smolvm image ls`), NULL: the default one, or
   * kernel_path/rootfs_path. Not with rootfs_path. The VM keeps the image
   * the name led to when it was created. */
  const char* image;
} smolvm_vm_options;

/* Versions: 1 (1.0; 1.1's disk_size_mib took what was padding in 1.0),
 * 2 (1.2: delete_with_owner), 3 (1.5: ttl_s, idle_timeout_s, on_ttl,
 * on_idle), 4 (1.6: boot, image). */
#define SMOLVM_VM_OPTIONS_VERSION 4
/* Since 1.2: fills the defaults of the given version's layout. */
SMOLVM_API int smolvm_vm_options_init_version(smolvm_vm_options* opts, unsigned int version);
/* For binaries built before 1.2: fills the 1.0 layout only. */
SMOLVM_API int smolvm_vm_options_init(smolvm_vm_options* opts);
#define smolvm_vm_options_init(opts) \
  smolvm_vm_options_init_version((opts), SMOLVM_VM_OPTIONS_VERSION)
#define SMOLVM_VM_OPTIONS_INIT                                                   \
  {                                                                              \
    .struct_size = sizeof(smolvm_vm_options), .vcpu_count = SMOLVM_VCPU_DEFAULT, \
    .mem_size_mib = SMOLVM_MEM_MIB_DEFAULT                                       \
  }

/* ---- profiles ------------------------------------------------------- */

/* A VM profile in YAML (schemas/vm-profile.schema.json): resources, disk,
 * image, backends, port forwards, env and setup commands. */
typedef struct smolvm_profile smolvm_profile;

/* Loads a profile file: `extends` resolved, SMOLVM_PROFILE_* environment
 * overrides applied, everything validated. Errors name the file, line,
 * column, key path and what is allowed. */
SMOLVM_API int smolvm_profile_load(smolvm_profile** out, const char* path);
SMOLVM_API void smolvm_profile_free(smolvm_profile* profile);
SMOLVM_API const char* smolvm_profile_name(const smolvm_profile* profile);

/* Fills *out (set out->struct_size first, or smolvm_vm_options_init) with
 * the profile's VM options; strings are owned by the profile. Port
 * forwards, env and setup are not VM options: smolvm_vm_create_from_profile
 * applies them. EINVAL for a profile that names a snapshot (a restore,
 * which only smolvm_vm_create_from_profile does). */
SMOLVM_API int smolvm_vm_options_from_profile(smolvm_vm_options* out,
                                              const smolvm_profile* profile);

/* ---- VMs ------------------------------------------------------------ */

typedef struct smolvm_vm smolvm_vm;

typedef enum smolvm_vm_state {
  SMOLVM_STATE_CREATED = 0,
  SMOLVM_STATE_STARTING = 1,
  SMOLVM_STATE_RUNNING = 2,
  SMOLVM_STATE_STOPPING = 3,
  SMOLVM_STATE_STOPPED = 4,
  SMOLVM_STATE_FAILED = 5,
  SMOLVM_STATE_PAUSED = 6 /* since 1.4: running, its vCPUs stopped (smolvm_vm_pause) */
} smolvm_vm_state;

/* "created", "starting", ...; never NULL. */
SMOLVM_API const char* smolvm_vm_state_str(int state);

/* Validates opts and records a new VM (state "created"), with its disk. On
 * failure nothing is left behind. */
SMOLVM_API int smolvm_vm_create(smolvm_vm** out, smolvm_runtime* rt, const smolvm_vm_options* opts);

/* Creates a VM from a profile: its options, its env (defaults for every
 * command), its setup commands (run once, after the first start) and its
 * port forwards; on failure nothing is left. vm_id NULL: the profile's id,
 * or a generated one ("" is refused, since 1.2). A profile that names a
 * snapshot makes a VM restored from it, as smolvm_vm_create_from_snapshot
 * (its env after the snapshot's, its setup run after the first start). */
SMOLVM_API int smolvm_vm_create_from_profile(smolvm_vm** out, smolvm_runtime* rt,
                                             const smolvm_profile* profile, const char* vm_id);

/* Opens an existing VM by id, from any process. */
SMOLVM_API int smolvm_vm_open(smolvm_vm** out, smolvm_runtime* rt, const char* vm_id);

/* Releases the handle. The VM itself is untouched. NULL is allowed. */
SMOLVM_API void smolvm_vm_free(smolvm_vm* vm);

/* Boots the VM and returns once its agent answers. On failure the VM is
 * left "failed" with the reason, and no process or socket remains. */
SMOLVM_API int smolvm_vm_start(smolvm_vm* vm);

/* Since 1.4: how one start goes. */
typedef struct smolvm_start_options {
  uint32_t struct_size;
  /* How long this start waits for the guest agent, in ms; 0: the VM's
   * boot_timeout_s. The VM's own setting is unchanged. */
  uint32_t boot_timeout_ms;
} smolvm_start_options;

/* Versions: 1 (1.4). */
#define SMOLVM_START_OPTIONS_VERSION 1
SMOLVM_API int smolvm_start_options_init_version(smolvm_start_options* opts, unsigned int version);
#define smolvm_start_options_init(opts) \
  smolvm_start_options_init_version((opts), SMOLVM_START_OPTIONS_VERSION)
#define SMOLVM_START_OPTIONS_INIT \
  { .struct_size = sizeof(smolvm_start_options), .boot_timeout_ms = 0 }

/* Since 1.4: smolvm_vm_start with options (NULL: the defaults). */
SMOLVM_API int smolvm_vm_start_ex(smolvm_vm* vm, const smolvm_start_options* opts);

/* Asks the guest to shut down, waits up to timeout_ms (0: 10000), then
 * forces it off. A stopped VM is a no-op. */
SMOLVM_API int smolvm_vm_stop(smolvm_vm* vm, uint32_t timeout_ms);

/* Since 1.4. Stops the running VM's vCPUs: the guest does not run (its
 * clock and processes stand still) while its memory, devices, supervisor
 * and VMM stay. The VM is "paused" until smolvm_vm_resume; stop and delete
 * work on it, commands and file transfers are refused (SMOLVM_ESTATE). A
 * paused VM outlives the processes that paused it. SMOLVM_ESTATE naming
 * the state for a VM that is not running (a paused one included);
 * SMOLVM_EUNSUPPORTED when its VMM plugin cannot pause. */
SMOLVM_API int smolvm_vm_pause(smolvm_vm* vm);

/* Since 1.4. Lets a paused VM run again where it stood. SMOLVM_ESTATE
 * naming the state for a VM that is not paused. */
SMOLVM_API int smolvm_vm_resume(smolvm_vm* vm);

/* Stops the VM if needed and removes every file, process and record of it.
 * The handle must still be freed. */
SMOLVM_API int smolvm_vm_delete(smolvm_vm* vm);

/* Since 1.2. Ends an ephemeral VM's bond to its owner (see
 * smolvm_vm_options.delete_with_owner): it becomes an ordinary VM that
 * outlives this process and is bound to nobody when started again. A no-op
 * for a VM that is not ephemeral; SMOLVM_ESTATE if another process that is
 * still alive started it. */
SMOLVM_API int smolvm_vm_detach(smolvm_vm* vm);

/* Since 1.4: the VM's environment, the NAME=VALUE variables every command
 * in it sees (the profile's env: to begin with), kept with the VM: every
 * handle, process and later start sees a change. Names match
 * [A-Za-z_][A-Za-z0-9_]*; a bad entry is refused (SMOLVM_EINVAL naming it)
 * and nothing changes.
 * smolvm_vm_env_set: entries "NAME=VALUE"; merge 0 replaces the whole
 * environment, else the entries are added or replace those of their name.
 * smolvm_vm_env_unset: removes the names (absent ones are no error).
 * smolvm_vm_env_list: {"NAME": "VALUE", ...} into out_json (smolvm_free). */
SMOLVM_API int smolvm_vm_env_set(smolvm_vm* vm, const char* const* entries, size_t count,
                                 int merge);
SMOLVM_API int smolvm_vm_env_unset(smolvm_vm* vm, const char* const* names, size_t count);
SMOLVM_API int smolvm_vm_env_list(char** out_json, smolvm_vm* vm);

/* The VM's id; owned by the handle. */
SMOLVM_API const char* smolvm_vm_id(const smolvm_vm* vm);

typedef struct smolvm_vm_info {
  uint32_t struct_size;
  const char* id;
  int state;              /* smolvm_vm_state */
  const char* state_name; /* smolvm_vm_state_str(state) */
  uint32_t vcpu_count;
  uint32_t mem_size_mib;
  const char* disk_mode;
  const char* vmm;      /* resolved plugin name */
  const char* executor; /* resolved plugin name */
  const char* network;  /* resolved plugin name */
  const char* accel;    /* "kvm" or "tcg" once started, else "" */
  const char* kernel_path;
  const char* rootfs_path;
  const char* disk_path; /* the VM's own disk, "" in shared mode */
  const char* ip;        /* guest address, "" without network */
  const char* state_dir; /* per-VM folder */
  const char* console_log;
  int64_t supervisor_pid; /* 0 when not running */
  int64_t vmm_pid;        /* 0 when not running */
  int64_t created_at_ms;  /* Unix epoch milliseconds */
  int64_t started_at_ms;  /* 0 if never started */
  const char* last_error; /* why it failed or stopped unexpectedly, or "" */
  /* JSON object, as applied at the last start ("{}" if never started):
   * "cgroup": {"enabled": true, "version", "cpu_max", "memory_max",
   * "pids_max", and "path" (v2) or "paths" (v1)} or {"enabled": false,
   * "reason"}; "privileges": the supervisor's; "vmm_user": {"uid", "gid",
   * "unique": true} when the VMM runs as a uid of its own, else with a
   * "reason". */
  const char* limits;
  /* Since 1.1: the size of the VM's disk as the guest sees it, in MiB. */
  uint32_t disk_size_mib;
  /* Since 1.5: the VM's lifetime policy as created (see smolvm_vm_options;
   * 0: none), and what is left of it. ttl_left_ms: running time left in
   * this boot (frozen while paused; the whole ttl while not running), -1
   * without a ttl. paused_by: "idle" when its idle policy paused it (the
   * next command resumes it), "snapshot" while a snapshot of it is written
   * (calls on it wait for that), since 1.6 "hibernated" for a stopped VM
   * its idle policy hibernated (the next start or command restores it),
   * "" otherwise. */
  const char* on_ttl;
  const char* on_idle;
  const char* paused_by;
  int64_t ttl_left_ms;
  uint32_t ttl_s;
  uint32_t idle_timeout_s;
  /* Since 1.6: how the guest came up at the last start: "snapshot"
   * (restored from a template or a snapshot) or "cold" ("" if never
   * started), and why, in words (e.g. "restored from template <dir>",
   * "disabled by SMOLVM_TEMPLATE=0", "the VM sets kernel args"). */
  const char* boot;
  const char* boot_reason;
} smolvm_vm_info;

/* Versions: 1 (1.0), 2 (1.1: disk_size_mib), 3 (1.5: the lifetime
 * fields), 4 (1.6: boot, boot_reason). */
#define SMOLVM_VM_INFO_VERSION 4
/* Since 1.2: zeroes the given version's layout and sets its struct_size. */
SMOLVM_API int smolvm_vm_info_init_version(smolvm_vm_info* out, unsigned int version);
/* For binaries built before 1.2: the 1.0 layout only. */
SMOLVM_API int smolvm_vm_info_init(smolvm_vm_info* out);
#define smolvm_vm_info_init(out) smolvm_vm_info_init_version((out), SMOLVM_VM_INFO_VERSION)
#define SMOLVM_VM_INFO_INIT \
  { .struct_size = sizeof(smolvm_vm_info) }

/* Fills *out from the store (fresh on every call). Initialise it first
 * (smolvm_vm_info_init). Strings are owned by the handle. */
SMOLVM_API int smolvm_vm_get_info(smolvm_vm_info* out, smolvm_vm* vm);

/* ---- commands ------------------------------------------------------- */

/* Since 1.2: a command with a timeout ends within timeout_ms plus this
 * grace, whatever the guest does. At timeout_ms the host itself kills the
 * command (everything it started: its cgroup in the guest); the guest's exit
 * event is awaited this long. If it does not come, smolvm_vm_exec and
 * smolvm_vm_run fail with SMOLVM_ETIMEOUT, and a stream ends with an exit
 * event made up by the host: timed_out 1, signal 9, exit_code 137. */
#define SMOLVM_EXEC_GRACE_MS 1500

typedef struct smolvm_exec_options {
  uint32_t struct_size;
  /* Either argv (argc entries, run directly) or command (a shell command
   * line, run as `shell` says). Exactly one must be set. */
  const char* const* argv;
  size_t argc;
  const char* command;
  /* "KEY=VALUE" entries added to the guest's default environment. */
  const char* const* env;
  size_t env_count;
  const char* cwd;           /* NULL: / */
  const uint8_t* stdin_data; /* for smolvm_vm_exec; NULL: empty stdin */
  size_t stdin_len;
  /* Kill the command and everything it started (its cgroup in the guest,
   * also processes that left its process group) after this long; the
   * result then says timed_out. 0: no limit. */
  uint32_t timeout_ms;
  /* Since 1.2: how command runs. NULL or "login": by the VM user's login
   * shell with -l -c (bash in the default image: $((..)), [[ ]], source,
   * the profile's environment); "raw": by POSIX /bin/sh -c. Ignored with
   * argv. */
  const char* shell;
  /* Since 1.6: who the command runs as: NULL or "" the VM's default user
   * (root), a user name of the guest ("user", uid 1000, in the default
   * image) or "uid[:gid]". An unknown name fails the command with
   * SMOLVM_EINVAL naming it. A user's command starts in its home when cwd
   * is NULL. */
  const char* user;
  /* Since 1.6: with pty_rows and pty_cols both non-zero (each
   * 1..SMOLVM_TERMINAL_SIZE_MAX) the command runs on a pseudo-terminal of
   * that size as its controlling terminal (job control works), TERM=term
   * (NULL: "xterm-256color"). Its output, stderr included, comes as
   * SMOLVM_EVENT_STDOUT; stdin is what is typed. smolvm_exec_resize
   * changes the size. */
  uint32_t pty_rows;
  uint32_t pty_cols;
  const char* term;
} smolvm_exec_options;

/* Since 1.6: the largest terminal: rows and cols each at most this. */
#define SMOLVM_TERMINAL_SIZE_MAX 1000

/* Since 1.2: a command's argv, command, env (the VM's defaults included) and
 * cwd must fit in this many bytes together, each string counted with its
 * terminating NUL. A larger request is refused with SMOLVM_EINVAL before
 * anything is sent, naming the largest field; pass big data as stdin or a
 * file instead. Strings must not contain NUL (bindings refuse them). */
#define SMOLVM_EXEC_REQUEST_MAX_BYTES 131072

/* Versions: 1 (1.0), 2 (1.2: shell), 3 (1.6: user, pty_rows, pty_cols, term). */
#define SMOLVM_EXEC_OPTIONS_VERSION 3
/* Since 1.2: fills the defaults of the given version's layout. */
SMOLVM_API int smolvm_exec_options_init_version(smolvm_exec_options* opts, unsigned int version);
/* For binaries built before 1.2: fills the 1.0 layout only. */
SMOLVM_API int smolvm_exec_options_init(smolvm_exec_options* opts);
#define smolvm_exec_options_init(opts) \
  smolvm_exec_options_init_version((opts), SMOLVM_EXEC_OPTIONS_VERSION)
#define SMOLVM_EXEC_OPTIONS_INIT \
  { .struct_size = sizeof(smolvm_exec_options) }

typedef struct smolvm_exec_result {
  int exit_code; /* the exit status, or 128+signal when killed */
  int signal;    /* the signal that ended it, or 0 */
  int timed_out; /* 1 if the timeout killed it */
  uint8_t* stdout_data;
  size_t stdout_len;
  uint8_t* stderr_data;
  size_t stderr_len;
  uint64_t duration_us;
} smolvm_exec_result;

/* Runs a command to completion and collects its output. A non-zero exit
 * code is a result, not a failure. Free with smolvm_exec_result_free. */
SMOLVM_API int smolvm_vm_exec(smolvm_exec_result** out, smolvm_vm* vm,
                              const smolvm_exec_options* opts);

/* Shorthand: command in the VM user's login shell, with a timeout (0:
 * none). */
SMOLVM_API int smolvm_vm_run(smolvm_exec_result** out, smolvm_vm* vm, const char* command,
                             uint32_t timeout_ms);

SMOLVM_API void smolvm_exec_result_free(smolvm_exec_result* result);

/* Streaming: start a command and pull its events. */
typedef struct smolvm_exec smolvm_exec;

typedef enum smolvm_event_type {
  SMOLVM_EVENT_STDOUT = 1,
  SMOLVM_EVENT_STDERR = 2,
  SMOLVM_EVENT_EXIT = 3
} smolvm_event_type;

typedef struct smolvm_exec_event {
  int type; /* smolvm_event_type */
  /* Output bytes, valid until the next call on the smolvm_exec. */
  const uint8_t* data;
  size_t len;
  /* Set on SMOLVM_EVENT_EXIT. */
  int exit_code;
  int signal;
  int timed_out;
  uint64_t duration_us;
} smolvm_exec_event;

/* opts->stdin_data is sent first; more with smolvm_exec_write_stdin. Stdin is
 * closed by smolvm_exec_close_stdin (or when the stream is freed). */
SMOLVM_API int smolvm_exec_start(smolvm_exec** out, smolvm_vm* vm, const smolvm_exec_options* opts);

/* Waits up to wait_ms (-1: forever) for the next event. Returns
 * SMOLVM_ETIMEOUT if none came in time, SMOLVM_EDONE after the exit event. */
SMOLVM_API int smolvm_exec_next_event(smolvm_exec_event* out, smolvm_exec* ex, int32_t wait_ms);
SMOLVM_API int smolvm_exec_write_stdin(smolvm_exec* ex, const uint8_t* data, size_t len);
SMOLVM_API int smolvm_exec_close_stdin(smolvm_exec* ex);
/* Sends a signal to every process the command started (its cgroup in the
 * guest; its process group where the guest has no cgroup2). */
SMOLVM_API int smolvm_exec_kill(smolvm_exec* ex, int signal);
/* Since 1.6: a command started with a terminal (pty_rows, pty_cols) gets a
 * new window size; its foreground programs get SIGWINCH. SMOLVM_EINVAL for
 * a size out of range or a command without a terminal. */
SMOLVM_API int smolvm_exec_resize(smolvm_exec* ex, uint32_t rows, uint32_t cols);
/* Frees the stream; a command still running is killed. NULL is allowed. */
SMOLVM_API void smolvm_exec_free(smolvm_exec* ex);

/* ---- port forwarding ------------------------------------------------ */

/* Forwards host_addr:host_port (protocol "tcp" or "udp") to the guest's
 * guest_port. host_port 0 picks a free port; host_addr NULL means
 * 127.0.0.1, "0.0.0.0" every host address; protocol NULL means "tcp". The
 * forward is stored with the VM and applied whenever it runs. Needs a VM
 * with a network (EUNSUPPORTED for network=none); EEXISTS if the host port
 * is taken. *out_host_port (may be NULL) receives the host port. */
SMOLVM_API int smolvm_vm_expose(uint32_t* out_host_port, smolvm_vm* vm, uint32_t guest_port,
                                uint32_t host_port, const char* host_addr, const char* protocol);
SMOLVM_API int smolvm_vm_unexpose(smolvm_vm* vm, uint32_t host_port, const char* host_addr,
                                  const char* protocol);
/* The VM's forwards as a JSON array of {"protocol","host_addr","host_port",
 * "guest_port"}; free *out_json with smolvm_free. */
SMOLVM_API int smolvm_vm_list_ports(char** out_json, smolvm_vm* vm);

/* ---- files ---------------------------------------------------------- */

/* Writes bytes to a guest file (created or truncated, parents made). */
SMOLVM_API int smolvm_vm_write_file(smolvm_vm* vm, const char* guest_path, const uint8_t* data,
                                    size_t len, uint32_t mode);
/* Reads a whole guest file, within the default transfer bounds. Dispose
 * *out with smolvm_buf_dispose. */
SMOLVM_API int smolvm_vm_read_file(smolvm_buf* out, smolvm_vm* vm, const char* guest_path);
/* Copies a host file or folder (recursively) into the guest, with the
 * default bounds. The host path must be a regular file or a folder (a FIFO
 * or device is refused); a folder's special files are not sent. */
SMOLVM_API int smolvm_vm_put(smolvm_vm* vm, const char* host_path, const char* guest_path);
/* Copies a guest file or folder (recursively) to the host, with the default
 * bounds. What the guest sends is treated as hostile: no owner, setuid,
 * setgid or sticky bit, device, FIFO or socket from it ever lands; modes are
 * the guest's & 0777 & ~umask; symlinks are created as symlinks and never
 * followed, also ones an earlier copy left in host_path; host_path's own
 * owner and mode never change (a host_path the copy creates gets
 * 0777 & ~umask). A file copied onto an existing host folder goes into it
 * under its own name. Files stream to disk under temporary names and take
 * their final names only once the whole copy succeeded; on any failure the
 * guest command is killed and everything the copy created is removed. */
SMOLVM_API int smolvm_vm_get(smolvm_vm* vm, const char* guest_path, const char* host_path);

/* Since 1.2: the bounds of one transfer. A guest decides what it sends, so
 * every transfer has a size limit and a deadline. */
#define SMOLVM_TRANSFER_MAX_BYTES_DEFAULT (1ull << 30) /* 1 GiB */
#define SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT 300000u     /* 5 minutes */

typedef struct smolvm_transfer_options {
  uint32_t struct_size;
  /* Most bytes the transfer may move: received from the guest, and the
   * total (logical) size of files written on the host, so a sparse file
   * counts at its full size, plus 4 KiB for each file, folder or symlink.
   * 0: SMOLVM_TRANSFER_MAX_BYTES_DEFAULT. */
  uint64_t max_bytes;
  /* Deadline for the whole transfer. 0: SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT. */
  uint32_t timeout_ms;
} smolvm_transfer_options;

/* Versions: 1 (1.2). Since 1.2: fills the defaults of the given version's
 * layout; call it as smolvm_transfer_options_init(opts). */
#define SMOLVM_TRANSFER_OPTIONS_VERSION 1
SMOLVM_API int smolvm_transfer_options_init_version(smolvm_transfer_options* opts,
                                                    unsigned int version);
#define smolvm_transfer_options_init(opts) \
  smolvm_transfer_options_init_version((opts), SMOLVM_TRANSFER_OPTIONS_VERSION)
#define SMOLVM_TRANSFER_OPTIONS_INIT                 \
  {                                                  \
    .struct_size = sizeof(smolvm_transfer_options),  \
    .max_bytes = SMOLVM_TRANSFER_MAX_BYTES_DEFAULT,  \
    .timeout_ms = SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT \
  }
/* Since 1.2: as the functions above, with bounds (opts NULL: the defaults).
 * Passing max_bytes fails with SMOLVM_EIO, the deadline with
 * SMOLVM_ETIMEOUT; both messages name the field, its value and how to
 * raise it. smolvm_vm_put_ex of a file refuses one larger than max_bytes
 * before sending a byte, streams it (the client never holds it whole) and
 * ends at timeout_ms even if the guest never answers; a put cut off leaves
 * nothing under guest_path (one sent whole may still land if a frozen guest
 * resumes). */
SMOLVM_API int smolvm_vm_read_file_ex(smolvm_buf* out, smolvm_vm* vm, const char* guest_path,
                                      const smolvm_transfer_options* opts);
SMOLVM_API int smolvm_vm_put_ex(smolvm_vm* vm, const char* host_path, const char* guest_path,
                                const smolvm_transfer_options* opts);
SMOLVM_API int smolvm_vm_get_ex(smolvm_vm* vm, const char* guest_path, const char* host_path,
                                const smolvm_transfer_options* opts);

/* ---- snapshots (since 1.5) ------------------------------------------- *
 * A snapshot is a VM's memory, device state and disk at one moment, kept in
 * the state folder (<state>/snapshots/<id>/). Its disk becomes a read-only
 * layer: the source VM runs on, and every VM restored from the snapshot
 * gets its own copy-on-write disk on that layer. Only a VM with an isolated
 * disk can be snapshotted (SMOLVM_EUNSUPPORTED otherwise), and only by a VMM
 * plugin that can save and load a VM's state (plugin ABI 1.5; vmm-qemu can).
 * A VM restored from a snapshot of a VM with a network gets a network of the
 * same plugin with its own address, MAC and TAP. */

typedef struct smolvm_snapshot_options {
  uint32_t struct_size;
  /* [a-z0-9][a-z0-9._-]{0,62}, unique among snapshots; NULL: none (the id
   * alone names it). */
  const char* name;
  /* Non-zero: the VM is stopped after its snapshot instead of running on
   * (stopped when the call returns). */
  uint32_t stop;
} smolvm_snapshot_options;

/* Versions: 1 (1.5). */
#define SMOLVM_SNAPSHOT_OPTIONS_VERSION 1
SMOLVM_API int smolvm_snapshot_options_init_version(smolvm_snapshot_options* opts,
                                                    unsigned int version);
#define smolvm_snapshot_options_init(opts) \
  smolvm_snapshot_options_init_version((opts), SMOLVM_SNAPSHOT_OPTIONS_VERSION)
#define SMOLVM_SNAPSHOT_OPTIONS_INIT \
  { .struct_size = sizeof(smolvm_snapshot_options), .name = NULL, .stop = 0 }

/* Syncs the guest's file systems, pauses the VM (if it runs), saves it and
 * its disk, and lets it run again (or stops it: opts->stop). Writes the new
 * snapshot's id to *out_id (free with smolvm_free). SMOLVM_ESTATE naming
 * the state unless the VM is running or paused. A failure leaves no
 * snapshot folder behind, and the VM as it was. opts NULL: the defaults. */
SMOLVM_API int smolvm_vm_snapshot(char** out_id, smolvm_vm* vm,
                                  const smolvm_snapshot_options* opts);

/* Every snapshot as a JSON array (free with smolvm_free), oldest first,
 * each {"id", "name", "source_vm", "created_at_ms", "vcpu_count",
 * "mem_size_mib", "kernel_path", "rootfs_path", "vmm", "executor", "accel",
 * "state_bytes", "disk_bytes", "layers", "dir", "used_by": [folders]}. */
SMOLVM_API int smolvm_snapshot_list(char** out_json, smolvm_runtime* rt);
/* One snapshot, by id or name, as one such object. */
SMOLVM_API int smolvm_snapshot_inspect(char** out_json, smolvm_runtime* rt, const char* snapshot);
/* Removes a snapshot; SMOLVM_ESTATE naming them while VMs (or snapshots of
 * them) use its disk layer. */
SMOLVM_API int smolvm_snapshot_delete(smolvm_runtime* rt, const char* snapshot);

typedef struct smolvm_restore_options {
  uint32_t struct_size;
  /* As smolvm_vm_options.vm_id: NULL generates one. */
  const char* vm_id;
  /* 0: the snapshot's. Anything else must equal it: a saved VM runs only on
   * the machine it was saved from (SMOLVM_EINVAL naming the mismatch). */
  uint32_t vcpu_count;
  uint32_t mem_size_mib;
  /* As smolvm_vm_options.delete_with_owner. */
  uint32_t delete_with_owner;
  /* Since 1.6: the restored VM's lifetimes, as smolvm_vm_options' (the
   * source's are not carried over: 0 and NULL give it none). Strings
   * first, so no field lies in the padding a 1.5 caller's struct ends
   * with. */
  const char* on_ttl;
  const char* on_idle;
  uint32_t ttl_s;
  uint32_t idle_timeout_s;
} smolvm_restore_options;

/* Versions: 1 (1.5), 2 (1.6: ttl_s, idle_timeout_s, on_ttl, on_idle). */
#define SMOLVM_RESTORE_OPTIONS_VERSION 2
SMOLVM_API int smolvm_restore_options_init_version(smolvm_restore_options* opts,
                                                   unsigned int version);
#define smolvm_restore_options_init(opts) \
  smolvm_restore_options_init_version((opts), SMOLVM_RESTORE_OPTIONS_VERSION)

/* A new VM (its own id, token, disk, cgroup and VMM uid) from a snapshot,
 * by id or name. Its first start loads the snapshot instead of booting:
 * the guest runs on from the moment it was saved, with its RNG reseeded
 * from host entropy and its clock set from the host's; later starts boot
 * its disk. A damaged snapshot (a missing or truncated state file, a
 * manifest that does not read) is refused with SMOLVM_EINVAL, leaving
 * nothing; a state the VMM cannot load fails the first start. opts NULL:
 * the defaults. */
SMOLVM_API int smolvm_vm_create_from_snapshot(smolvm_vm** out, smolvm_runtime* rt,
                                              const char* snapshot,
                                              const smolvm_restore_options* opts);

#ifdef __cplusplus
}
#endif

#endif /* SMOLVM_H */
