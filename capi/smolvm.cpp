// The C ABI (include/smolvm/smolvm.h) over the C++ core. Every entry point
// runs its body through guard(), which turns any exception into a status
// code and the thread's last error: nothing C++ crosses this boundary.
#include "smolvm/smolvm.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "core/common/error.h"
#include "core/common/names.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/host/doctor.h"
#include "core/plugins/plugin_report_json.h"
#include "core/profile/recipe.h"
#include "core/runtime/guest_session.h"
#include "core/runtime/image_names.h"
#include "core/runtime/image_users.h"
#include "core/runtime/runtime.h"
#include "core/runtime/vm_env.h"
#include "core/state/vm_state.h"

// smolvm.h maps smolvm_X_init(p) to smolvm_X_init_version for callers; the
// exported functions of that name (for binaries built before 1.2) are
// defined here.
#undef smolvm_runtime_options_init
#undef smolvm_vm_options_init
#undef smolvm_vm_info_init
#undef smolvm_exec_options_init

struct smolvm_runtime {
  std::unique_ptr<smolvm::Runtime> rt;
};

// The guest connection of a VM handle, shared with the streams started on
// it so that neither frees it under the other. A call that lost the
// connection marks it broken (guard_guest), and the handle's next call opens
// a new one instead of failing the same way forever.
struct GuestLink {
  std::unique_ptr<smolvm::GuestSession> session;
  bool broken = false;
};

struct smolvm_vm {
  smolvm_runtime* owner = nullptr;
  std::string id;
  std::shared_ptr<GuestLink> session;  // opened on first use
  smolvm::VmRecord info_rec;           // backs smolvm_vm_info strings
  std::string info_error;
  std::string info_limits;

  smolvm::GuestSession& guest() {
    // A VM that hibernated (or was restarted elsewhere) since is reached
    // anew: the new session wakes it.
    if (!session || session->broken || !session->session->current()) {
      auto link = std::make_shared<GuestLink>();
      link->session = std::make_unique<smolvm::GuestSession>(*owner->rt, id);
      session = std::move(link);
    }
    return *session->session;
  }
};

struct smolvm_profile {
  smolvm::Profile profile;
};

struct smolvm_exec {
  std::shared_ptr<GuestLink> link;  // outlives stream (declared first)
  std::unique_ptr<smolvm::ExecStream> stream;
  bool done = false;
};

namespace {

thread_local std::string last_error;

int set_error(int status, const std::string& message) {
  last_error = message;
  return status;
}

template <typename F>
int guard(F&& body) {
  try {
    body();
    return SMOLVM_OK;
  } catch (const smolvm::Error& e) {
    return set_error(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(SMOLVM_ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return set_error(SMOLVM_ERROR, e.what());
  } catch (...) {
    return set_error(SMOLVM_ERROR, "unknown internal error");
  }
}

void need(const void* p, const char* name) {
  if (!p) smolvm::fail(SMOLVM_EINVAL, std::string(name) + " must not be NULL");
}

// The size of each version of a caller-versioned struct, oldest first
// (version N is sizes[N - 1]). A new field appended to a struct adds a
// version here and bumps SMOLVM_<STRUCT>_VERSION in smolvm.h.
template <typename T>
struct Versions;
template <>
struct Versions<smolvm_runtime_options> {
  static constexpr const char* name = "runtime options";
  static constexpr size_t sizes[] = {sizeof(smolvm_runtime_options)};
};
template <>
struct Versions<smolvm_vm_options> {
  static constexpr const char* name = "vm options";
  static constexpr size_t sizes[] = {offsetof(smolvm_vm_options, delete_with_owner),
                                     offsetof(smolvm_vm_options, on_ttl),
                                     offsetof(smolvm_vm_options, boot), sizeof(smolvm_vm_options)};
};
template <>
struct Versions<smolvm_vm_info> {
  static constexpr const char* name = "vm info";
  static constexpr size_t sizes[] = {offsetof(smolvm_vm_info, disk_size_mib),
                                     offsetof(smolvm_vm_info, on_ttl),
                                     offsetof(smolvm_vm_info, boot), sizeof(smolvm_vm_info)};
};
template <>
struct Versions<smolvm_start_options> {
  static constexpr const char* name = "start options";
  static constexpr size_t sizes[] = {sizeof(smolvm_start_options)};
};
template <>
struct Versions<smolvm_transfer_options> {
  static constexpr const char* name = "transfer options";
  static constexpr size_t sizes[] = {sizeof(smolvm_transfer_options)};
};
template <>
struct Versions<smolvm_exec_options> {
  static constexpr const char* name = "exec options";
  static constexpr size_t sizes[] = {offsetof(smolvm_exec_options, shell),
                                     offsetof(smolvm_exec_options, user),
                                     sizeof(smolvm_exec_options)};
};

template <>
struct Versions<smolvm_snapshot_options> {
  static constexpr const char* name = "snapshot options";
  static constexpr size_t sizes[] = {sizeof(smolvm_snapshot_options)};
};
template <>
struct Versions<smolvm_restore_options> {
  static constexpr const char* name = "restore options";
  static constexpr size_t sizes[] = {offsetof(smolvm_restore_options, on_ttl),
                                     sizeof(smolvm_restore_options)};
};

// A copy of text the caller frees with smolvm_free.
char* owned_string(const std::string& text) {
  char* out = strdup(text.c_str());
  if (!out) throw std::bad_alloc();
  return out;
}

// Zeroes the caller's struct as far as its version goes and records that
// size; never writes past it. Returns the size.
template <typename T>
size_t init_version(T* p, unsigned int version) {
  using V = Versions<T>;
  constexpr size_t known = std::size(V::sizes);
  if (version < 1 || version > known) {
    smolvm::fail(SMOLVM_EINVAL, std::string(V::name) + " version " + std::to_string(version) +
                                    ": this library knows 1.." + std::to_string(known) +
                                    " (smolvm.h " + std::to_string(SMOLVM_ABI_MAJOR) + "." +
                                    std::to_string(SMOLVM_ABI_MINOR) +
                                    "); the program was built against a newer smolvm.h");
  }
  need(p, "the struct to initialise");
  const size_t size = V::sizes[version - 1];
  std::memset(static_cast<void*>(p), 0, size);
  p->struct_size = static_cast<uint32_t>(size);
  return size;
}

// guard() for a call on a guest connection: a failure of the connection
// itself (EIO, EPROTO) marks it broken, so only this call fails. So does a
// deadline (ETIMEOUT): a call given up half-way may leave the connection
// mid-frame (a put cut off by its timeout shuts it down), and a new one
// costs a connect.
template <typename F>
int guard_guest(const std::shared_ptr<GuestLink>* link, F&& body) {
  const int rc = guard(std::forward<F>(body));
  if ((rc == SMOLVM_EIO || rc == SMOLVM_EPROTO || rc == SMOLVM_ETIMEOUT) && link && *link) {
    (*link)->broken = true;
  }
  return rc;
}

// Refuses a struct from a newer library (fields we would not honour) and
// one too small to hold the fields of version 1.
template <typename T>
void check_struct(const T* p) {
  const char* name = Versions<T>::name;
  const size_t min_size = Versions<T>::sizes[0];
  if (!p) smolvm::fail(SMOLVM_EINVAL, std::string(name) + " must not be NULL");
  if (p->struct_size < min_size || p->struct_size > sizeof(T)) {
    smolvm::fail(SMOLVM_EINVAL,
                 std::string(name) + ".struct_size=" + std::to_string(p->struct_size) +
                     ": must be " + std::to_string(min_size) + ".." + std::to_string(sizeof(T)) +
                     " (call the matching _init function first)");
  }
}

// Whether a caller's struct (of struct_size bytes) holds a field added in
// a later minor version.
#define SMOLVM_HAS_FIELD(p, type, field) \
  ((p)->struct_size >= offsetof(type, field) + sizeof((p)->field))

// NULL: the defaults; 0 in a field: that field's default.
smolvm::transfer::Limits transfer_limits(const smolvm_transfer_options* opts) {
  smolvm::transfer::Limits limits;
  if (!opts) return limits;
  check_struct(opts);
  limits.max_bytes = opts->max_bytes;
  limits.timeout_ms = opts->timeout_ms;
  return limits;
}

std::string str_or(const char* s, const char* fallback) { return s ? s : fallback; }

uint8_t* copy_bytes(const std::string& s) {
  auto* p = static_cast<uint8_t*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = 0;  // convenient for callers that print text
  return p;
}

// A caller's array of count strings, each checked not NULL (named by what).
std::vector<std::string> strings_of(const char* const* items, size_t count, const char* what) {
  if (count > 0) need(items, what);
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    need(items[i], what);
    out.emplace_back(items[i]);
  }
  return out;
}

smolvm::ExecRequest to_request(const smolvm_exec_options* o) {
  check_struct(o);
  smolvm::ExecRequest r;
  if (o->argv) r.argv = strings_of(o->argv, o->argc, "exec options argv entry");
  if (o->command) r.command = o->command;
  if (o->env) r.env = strings_of(o->env, o->env_count, "exec options env entry");
  if (o->cwd) r.cwd = o->cwd;
  r.timeout_ms = o->timeout_ms;
  if (SMOLVM_HAS_FIELD(o, smolvm_exec_options, shell) && o->shell) r.shell = o->shell;
  if (SMOLVM_HAS_FIELD(o, smolvm_exec_options, term)) {
    if (o->user) r.user = o->user;
    if (o->pty_rows || o->pty_cols) {
      r.pty = smolvm::ExecTerminal{o->pty_rows, o->pty_cols, o->term ? o->term : ""};
    } else if (o->term) {
      smolvm::fail(SMOLVM_EINVAL, std::string("exec options term '") + o->term +
                                      "': a terminal needs pty_rows and pty_cols");
    }
  }
  smolvm::check_exec_request(r);
  return r;
}

}  // namespace

extern "C" {

const char* smolvm_status_str(int status) { return smolvm::status_name(status); }

const char* smolvm_last_error(void) { return last_error.c_str(); }

const char* smolvm_version(void) { return SMOLVM_VERSION_STRING; }

void smolvm_free(void* ptr) { std::free(ptr); }

void smolvm_strarray_dispose(smolvm_strarray* array) {
  if (!array) return;
  for (size_t i = 0; i < array->count; ++i) std::free(array->strings[i]);
  std::free(array->strings);
  array->strings = nullptr;
  array->count = 0;
}

void smolvm_buf_dispose(smolvm_buf* buf) {
  if (!buf) return;
  std::free(buf->data);
  buf->data = nullptr;
  buf->size = 0;
}

const char* smolvm_vm_state_str(int state) { return smolvm::vm_state_name(state); }

int smolvm_runtime_options_init_version(smolvm_runtime_options* opts, unsigned int version) {
  return guard([&] { init_version(opts, version); });
}

int smolvm_runtime_options_init(smolvm_runtime_options* opts) {
  return smolvm_runtime_options_init_version(opts, 1);
}

int smolvm_runtime_open(smolvm_runtime** out, const smolvm_runtime_options* opts) {
  return guard([&] {
    need(out, "out");
    *out = nullptr;
    smolvm::RuntimeOptions o;
    if (opts) {
      check_struct(opts);
      o.state_dir = str_or(opts->state_dir, "");
      o.cache_dir = str_or(opts->cache_dir, "");
      o.plugin_path = str_or(opts->plugin_path, "");
      o.store = str_or(opts->store, "sqlite");
    }
    auto rt = std::make_unique<smolvm_runtime>();
    rt->rt = std::make_unique<smolvm::Runtime>(o);
    *out = rt.release();
  });
}

void smolvm_runtime_close(smolvm_runtime* rt) { delete rt; }

int smolvm_runtime_list(smolvm_strarray* out, smolvm_runtime* rt) {
  return guard([&] {
    need(out, "out");
    need(rt, "rt");
    *out = smolvm_strarray{};
    auto all = rt->rt->list();
    out->strings = static_cast<char**>(std::calloc(all.size() + 1, sizeof(char*)));
    if (!out->strings) throw std::bad_alloc();
    for (const auto& rec : all) {
      out->strings[out->count] = strdup(rec.id.c_str());
      if (!out->strings[out->count]) {
        smolvm_strarray_dispose(out);
        throw std::bad_alloc();
      }
      ++out->count;
    }
  });
}

int smolvm_runtime_gc(uint32_t* out_fixed, smolvm_runtime* rt) {
  return guard([&] {
    need(rt, "rt");
    const uint32_t fixed = rt->rt->gc();
    if (out_fixed) *out_fixed = fixed;
  });
}

namespace {
// The runtime's cache folder, or the default one for a NULL runtime.
std::string cache_of(smolvm_runtime* rt) {
  return rt ? rt->rt->cache_dir() : smolvm::resolve_cache_dir("");
}
}  // namespace

int smolvm_image_prune(char** out_json, smolvm_runtime* rt, int dry_run) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    const std::string cache = cache_of(rt);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& img : smolvm::prune_images(cache, dry_run != 0)) {
      list.push_back({{"kind", img.kind},
                      {"key", img.key},
                      {"path", img.path},
                      {"bytes", img.bytes},
                      {"removed", !dry_run && img.kept_because.empty()},
                      {"kept_because", img.kept_because}});
    }
    *out_json = owned_string(list.dump(2));
  });
}

int smolvm_image_list(char** out_json, smolvm_runtime* rt, const char* name_or_key) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    const std::string cache = cache_of(rt);
    std::vector<smolvm::ImageEntry> images;
    if (name_or_key) {
      images.push_back(smolvm::find_image(cache, name_or_key));
    } else {
      images = smolvm::list_images(cache);
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& img : images) {
      list.push_back({{"key", img.key},
                      {"path", img.path},
                      {"names", img.names},
                      {"bytes", img.bytes},
                      {"users", img.users},
                      {"manifest", nlohmann::json::parse(img.manifest, nullptr, false, true)}});
      if (list.back()["manifest"].is_discarded())
        list.back()["manifest"] = nlohmann::json::object();
    }
    *out_json = owned_string(list.dump(2));
  });
}

int smolvm_image_remove(smolvm_runtime* rt, const char* name_or_key) {
  return guard([&] {
    need(name_or_key, "name_or_key");
    smolvm::remove_image(cache_of(rt), name_or_key);
  });
}

int smolvm_image_recipe_load(char** out_json, const char* path) {
  return guard([&] {
    need(out_json, "out_json");
    need(path, "path");
    *out_json = nullptr;
    *out_json = owned_string(smolvm::to_json(smolvm::load_recipe(path)).dump(2));
  });
}

int smolvm_doctor(char** out_json, smolvm_runtime* rt) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    nlohmann::json report;
    if (rt) {
      report = smolvm::run_doctor(rt->rt->plugins(), rt->rt->state_dir(), rt->rt->cache_dir());
    } else {
      smolvm::PluginRegistry plugins("");
      report =
          smolvm::run_doctor(plugins, smolvm::resolve_state_dir(""), smolvm::resolve_cache_dir(""));
    }
    *out_json = owned_string(report.dump(2));
  });
}

int smolvm_plugins_inspect(char** out_json, smolvm_runtime* rt) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    nlohmann::json report;
    if (rt) {
      report = smolvm::inspect_plugins_json(rt->rt->plugins());
    } else {
      report = smolvm::inspect_plugins_json(smolvm::PluginRegistry(""));
    }
    *out_json = owned_string(report.dump(2));
  });
}

int smolvm_profile_load(smolvm_profile** out, const char* path) {
  return guard([&] {
    need(out, "out");
    need(path, "path");
    *out = nullptr;
    auto p = std::make_unique<smolvm_profile>();
    p->profile = smolvm::load_profile(path);
    smolvm::apply_env_overrides(p->profile);
    *out = p.release();
  });
}

void smolvm_profile_free(smolvm_profile* profile) { delete profile; }

const char* smolvm_profile_name(const smolvm_profile* profile) {
  return profile ? profile->profile.name.c_str() : "";
}

int smolvm_vm_options_from_profile(smolvm_vm_options* out, const smolvm_profile* profile) {
  return guard([&] {
    need(profile, "profile");
    check_struct(out);
    if (!profile->profile.snapshot.empty()) {
      smolvm::fail(SMOLVM_EINVAL, "profile '" + profile->profile.name + "' restores snapshot '" +
                                      profile->profile.snapshot +
                                      "': VM options cannot say that; use "
                                      "smolvm_vm_create_from_profile");
    }
    const smolvm::VmSpec& s = profile->profile.spec;
    // Filled whole here, then copied up to the caller's struct_size: an
    // older caller's struct is shorter than ours.
    smolvm_vm_options full{};
    full.struct_size = out->struct_size;
    auto c = [](const std::string& v) { return v.empty() ? nullptr : v.c_str(); };
    full.vm_id = c(s.vm_id);
    full.vcpu_count = s.vcpu_count;
    full.mem_size_mib = s.mem_size_mib;
    full.disk_mode = s.disk_mode.c_str();
    full.kernel_path = c(s.kernel_path);
    full.rootfs_path = c(s.rootfs_path);
    full.boot_args = c(s.boot_args);
    full.vmm = s.vmm.c_str();
    full.executor = s.executor.c_str();
    full.network = s.network.c_str();
    full.accel = s.accel.c_str();
    full.boot_timeout_s = s.boot_timeout_s;
    full.disk_size_mib = s.disk_size_mib;
    full.boot = s.boot.c_str();
    std::memcpy(out, &full, out->struct_size);
  });
}

int smolvm_vm_create_from_profile(smolvm_vm** out, smolvm_runtime* rt,
                                  const smolvm_profile* profile, const char* vm_id) {
  return guard([&] {
    need(out, "out");
    need(rt, "rt");
    need(profile, "profile");
    *out = nullptr;
    auto vm = std::make_unique<smolvm_vm>();
    vm->owner = rt;
    if (vm_id) smolvm::check_vm_id(vm_id);  // NULL: the profile's id or a generated one
    vm->id = rt->rt->create_from_profile(profile->profile, str_or(vm_id, "")).id;
    *out = vm.release();
  });
}

int smolvm_vm_options_init_version(smolvm_vm_options* opts, unsigned int version) {
  return guard([&] {
    init_version(opts, version);
    opts->vcpu_count = SMOLVM_VCPU_DEFAULT;
    opts->mem_size_mib = SMOLVM_MEM_MIB_DEFAULT;
  });
}

int smolvm_vm_options_init(smolvm_vm_options* opts) {
  return smolvm_vm_options_init_version(opts, 1);
}

int smolvm_vm_create(smolvm_vm** out, smolvm_runtime* rt, const smolvm_vm_options* opts) {
  return guard([&] {
    need(out, "out");
    need(rt, "rt");
    *out = nullptr;
    smolvm::VmSpec spec;
    if (opts) {
      check_struct(opts);
      // NULL asks for a generated id; "" is a mistake, not that request.
      if (opts->vm_id) smolvm::check_vm_id(opts->vm_id);
      spec.vm_id = str_or(opts->vm_id, "");
      spec.vcpu_count = opts->vcpu_count;
      spec.mem_size_mib = opts->mem_size_mib;
      spec.disk_mode = str_or(opts->disk_mode, "isolated");
      spec.kernel_path = str_or(opts->kernel_path, "");
      spec.rootfs_path = str_or(opts->rootfs_path, "");
      spec.boot_args = str_or(opts->boot_args, "");
      spec.vmm = str_or(opts->vmm, "auto");
      spec.executor = str_or(opts->executor, "auto");
      spec.network = str_or(opts->network, "none");
      spec.accel = str_or(opts->accel, "auto");
      if (opts->boot_timeout_s) spec.boot_timeout_s = opts->boot_timeout_s;
      if (SMOLVM_HAS_FIELD(opts, smolvm_vm_options, disk_size_mib)) {
        spec.disk_size_mib = opts->disk_size_mib;
      }
      if (SMOLVM_HAS_FIELD(opts, smolvm_vm_options, delete_with_owner)) {
        spec.delete_with_owner = opts->delete_with_owner != 0;
      }
      if (SMOLVM_HAS_FIELD(opts, smolvm_vm_options, idle_timeout_s)) {
        spec.ttl_s = opts->ttl_s;
        spec.idle_timeout_s = opts->idle_timeout_s;
        if (opts->on_ttl) spec.on_ttl = opts->on_ttl;
        if (opts->on_idle) spec.on_idle = opts->on_idle;
      }
      if (SMOLVM_HAS_FIELD(opts, smolvm_vm_options, boot) && opts->boot) spec.boot = opts->boot;
      if (SMOLVM_HAS_FIELD(opts, smolvm_vm_options, image)) spec.image = str_or(opts->image, "");
    }
    auto vm = std::make_unique<smolvm_vm>();
    vm->owner = rt;
    vm->id = rt->rt->create(spec).id;
    *out = vm.release();
  });
}

int smolvm_vm_open(smolvm_vm** out, smolvm_runtime* rt, const char* vm_id) {
  return guard([&] {
    need(out, "out");
    need(rt, "rt");
    need(vm_id, "vm_id");
    *out = nullptr;
    rt->rt->get(vm_id);  // exists?
    auto vm = std::make_unique<smolvm_vm>();
    vm->owner = rt;
    vm->id = vm_id;
    *out = vm.release();
  });
}

void smolvm_vm_free(smolvm_vm* vm) { delete vm; }

int smolvm_vm_start(smolvm_vm* vm) { return smolvm_vm_start_ex(vm, nullptr); }

int smolvm_start_options_init_version(smolvm_start_options* opts, unsigned int version) {
  return guard([&] { init_version(opts, version); });
}

int smolvm_vm_start_ex(smolvm_vm* vm, const smolvm_start_options* opts) {
  return guard([&] {
    need(vm, "vm");
    uint32_t boot_timeout_ms = 0;
    if (opts) {
      check_struct(opts);
      boot_timeout_ms = opts->boot_timeout_ms;
    }
    vm->session.reset();
    vm->owner->rt->start(vm->id, boot_timeout_ms);
  });
}

int smolvm_vm_stop(smolvm_vm* vm, uint32_t timeout_ms) {
  return guard([&] {
    need(vm, "vm");
    vm->session.reset();
    vm->owner->rt->stop(vm->id, timeout_ms);
  });
}

int smolvm_vm_pause(smolvm_vm* vm) {
  return guard([&] {
    need(vm, "vm");
    vm->session.reset();  // its commands cannot run while the guest stands still
    vm->owner->rt->pause(vm->id);
  });
}

int smolvm_vm_resume(smolvm_vm* vm) {
  return guard([&] {
    need(vm, "vm");
    vm->owner->rt->resume(vm->id);
  });
}

int smolvm_vm_delete(smolvm_vm* vm) {
  return guard([&] {
    need(vm, "vm");
    vm->session.reset();
    vm->owner->rt->remove(vm->id);
  });
}

int smolvm_vm_detach(smolvm_vm* vm) {
  return guard([&] {
    need(vm, "vm");
    vm->owner->rt->detach(vm->id);
  });
}

int smolvm_vm_env_set(smolvm_vm* vm, const char* const* entries, size_t count, int merge) {
  return guard([&] {
    need(vm, "vm");
    smolvm::set_vm_env(vm->owner->rt->store(), vm->id, strings_of(entries, count, "env entry"),
                       merge != 0);
  });
}

int smolvm_vm_env_unset(smolvm_vm* vm, const char* const* names, size_t count) {
  return guard([&] {
    need(vm, "vm");
    smolvm::unset_vm_env(vm->owner->rt->store(), vm->id, strings_of(names, count, "env name"));
  });
}

int smolvm_vm_env_list(char** out_json, smolvm_vm* vm) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    need(vm, "vm");
    const nlohmann::json env = smolvm::env_map(vm->owner->rt->get(vm->id).spec.env);
    *out_json = owned_string(env.dump());
  });
}

const char* smolvm_vm_id(const smolvm_vm* vm) { return vm ? vm->id.c_str() : ""; }

int smolvm_vm_info_init_version(smolvm_vm_info* out, unsigned int version) {
  return guard([&] { init_version(out, version); });
}

int smolvm_vm_info_init(smolvm_vm_info* out) { return smolvm_vm_info_init_version(out, 1); }

int smolvm_vm_get_info(smolvm_vm_info* out, smolvm_vm* vm) {
  return guard([&] {
    need(vm, "vm");
    // 1.0 callers pass the struct without disk_size_mib.
    check_struct(out);
    const uint32_t size = out->struct_size;
    vm->info_rec = vm->owner->rt->get(vm->id);
    const auto& r = vm->info_rec;
    const auto& rt = r.runtime;
    // Strings point into the handle's copy of the record, which stays put
    // until the next call.
    // Filled whole, copied as far as the caller's struct goes.
    smolvm_vm_info full{};
    smolvm_vm_info* i = &full;
    i->struct_size = size;
    i->id = r.id.c_str();
    i->state = static_cast<int>(smolvm::parse_state(r.state));
    i->state_name = smolvm::vm_state_name(i->state);
    i->vcpu_count = r.spec.vcpu_count;
    i->mem_size_mib = r.spec.mem_size_mib;
    i->disk_mode = r.spec.disk_mode.c_str();
    i->vmm = rt.vmm.c_str();
    i->executor = rt.executor.c_str();
    i->network = rt.network.c_str();
    i->accel = rt.accel.c_str();
    i->kernel_path = rt.kernel_path.c_str();
    i->rootfs_path = rt.rootfs_path.c_str();
    i->disk_path = rt.disk_path.c_str();
    i->ip = rt.lease.ip.c_str();
    i->state_dir = rt.vm_dir.c_str();
    i->console_log = rt.console_log.c_str();
    i->supervisor_pid = rt.supervisor_pid;
    i->vmm_pid = rt.vmm_pid;
    i->created_at_ms = r.created_at_ms;
    i->started_at_ms = rt.started_at_ms;
    i->last_error = rt.last_error.c_str();
    nlohmann::json limits = nlohmann::json::object();
    if (!rt.limits.cgroup.is_null()) limits["cgroup"] = rt.limits.cgroup;
    if (!rt.limits.privileges.is_null()) limits["privileges"] = rt.limits.privileges;
    if (!rt.limits.vmm_user.is_null()) limits["vmm_user"] = rt.limits.vmm_user;
    vm->info_limits = limits.dump();
    i->limits = vm->info_limits.c_str();
    i->disk_size_mib = rt.disk_size_mib;
    i->on_ttl = r.spec.on_ttl.c_str();
    i->on_idle = r.spec.on_idle.c_str();
    i->paused_by = rt.paused_by.c_str();
    i->ttl_left_ms = smolvm::ttl_left_ms(r, smolvm::now_ms());
    i->ttl_s = r.spec.ttl_s;
    i->idle_timeout_s = r.spec.idle_timeout_s;
    i->boot = rt.boot.c_str();
    i->boot_reason = rt.boot_reason.c_str();
    std::memcpy(out, &full, size);
  });
}

int smolvm_exec_options_init_version(smolvm_exec_options* opts, unsigned int version) {
  return guard([&] { init_version(opts, version); });
}

int smolvm_exec_options_init(smolvm_exec_options* opts) {
  return smolvm_exec_options_init_version(opts, 1);
}

int smolvm_vm_exec(smolvm_exec_result** out, smolvm_vm* vm, const smolvm_exec_options* opts) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(out, "out");
    need(vm, "vm");
    *out = nullptr;
    const smolvm::ExecRequest req = to_request(opts);
    std::string input;
    if (opts->stdin_data) {
      input.assign(reinterpret_cast<const char*>(opts->stdin_data), opts->stdin_len);
    }
    const smolvm::ExecResult r = vm->guest().run(req, input);
    auto* res = static_cast<smolvm_exec_result*>(std::calloc(1, sizeof(smolvm_exec_result)));
    if (!res) throw std::bad_alloc();
    res->exit_code = r.exit_code;
    res->signal = r.signal;
    res->timed_out = r.timed_out ? 1 : 0;
    res->duration_us = r.duration_us;
    try {
      res->stdout_data = copy_bytes(r.out);
      res->stdout_len = r.out.size();
      res->stderr_data = copy_bytes(r.err);
      res->stderr_len = r.err.size();
    } catch (...) {
      smolvm_exec_result_free(res);
      throw;
    }
    *out = res;
  });
}

int smolvm_vm_run(smolvm_exec_result** out, smolvm_vm* vm, const char* command,
                  uint32_t timeout_ms) {
  smolvm_exec_options o;
  smolvm_exec_options_init_version(&o, SMOLVM_EXEC_OPTIONS_VERSION);
  o.command = command;
  o.timeout_ms = timeout_ms;
  if (!command) return set_error(SMOLVM_EINVAL, "command must not be NULL");
  return smolvm_vm_exec(out, vm, &o);
}

void smolvm_exec_result_free(smolvm_exec_result* result) {
  if (!result) return;
  std::free(result->stdout_data);
  std::free(result->stderr_data);
  std::free(result);
}

int smolvm_exec_start(smolvm_exec** out, smolvm_vm* vm, const smolvm_exec_options* opts) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(out, "out");
    need(vm, "vm");
    *out = nullptr;
    const smolvm::ExecRequest req = to_request(opts);
    auto ex = std::make_unique<smolvm_exec>();
    ex->stream = vm->guest().start(req);
    ex->link = vm->session;
    if (opts->stdin_data && opts->stdin_len)
      ex->stream->write_stdin(opts->stdin_data, opts->stdin_len);
    *out = ex.release();
  });
}

int smolvm_exec_next_event(smolvm_exec_event* out, smolvm_exec* ex, int32_t wait_ms) {
  int rc = SMOLVM_OK;
  const int g = guard_guest(ex ? &ex->link : nullptr, [&] {
    need(out, "out");
    need(ex, "ex");
    if (ex->done) {
      rc = SMOLVM_EDONE;
      return;
    }
    smolvm_executor_event ev{};
    rc = ex->stream->next(ev, wait_ms);
    if (rc != 0) return;
    *out = smolvm_exec_event{ev.type,   ev.data,      ev.len,        ev.exit_code,
                             ev.signal, ev.timed_out, ev.duration_us};
    if (ev.type == SMOLVM_EVENT_EXIT) ex->done = true;
  });
  if (g != SMOLVM_OK) return g;
  if (rc == SMOLVM_ETIMEOUT) return set_error(rc, "no event within the wait time");
  if (rc == SMOLVM_EDONE) return set_error(rc, "the command has exited; no more events");
  return rc;
}

int smolvm_exec_write_stdin(smolvm_exec* ex, const uint8_t* data, size_t len) {
  return guard_guest(ex ? &ex->link : nullptr, [&] {
    need(ex, "ex");
    if (len) need(data, "data");
    ex->stream->write_stdin(data, len);
  });
}

int smolvm_exec_close_stdin(smolvm_exec* ex) {
  return guard_guest(ex ? &ex->link : nullptr, [&] {
    need(ex, "ex");
    ex->stream->close_stdin();
  });
}

int smolvm_exec_kill(smolvm_exec* ex, int signal) {
  return guard_guest(ex ? &ex->link : nullptr, [&] {
    need(ex, "ex");
    if (signal < 1 || signal > 64) {
      smolvm::fail(SMOLVM_EINVAL, "signal=" + std::to_string(signal) + ": must be 1..64");
    }
    ex->stream->kill(signal);
  });
}

int smolvm_exec_resize(smolvm_exec* ex, uint32_t rows, uint32_t cols) {
  return guard_guest(ex ? &ex->link : nullptr, [&] {
    need(ex, "ex");
    ex->stream->resize(rows, cols);
  });
}

void smolvm_exec_free(smolvm_exec* ex) {
  try {
    delete ex;
  } catch (...) {
  }
}

int smolvm_vm_expose(uint32_t* out_host_port, smolvm_vm* vm, uint32_t guest_port,
                     uint32_t host_port, const char* host_addr, const char* protocol) {
  return guard([&] {
    need(vm, "vm");
    const uint32_t port = vm->owner->rt->expose(
        vm->id, guest_port, host_port, str_or(host_addr, "127.0.0.1"), str_or(protocol, "tcp"));
    if (out_host_port) *out_host_port = port;
  });
}

int smolvm_vm_unexpose(smolvm_vm* vm, uint32_t host_port, const char* host_addr,
                       const char* protocol) {
  return guard([&] {
    need(vm, "vm");
    vm->owner->rt->unexpose(vm->id, host_port, str_or(host_addr, "127.0.0.1"),
                            str_or(protocol, "tcp"));
  });
}

int smolvm_vm_list_ports(char** out_json, smolvm_vm* vm) {
  return guard([&] {
    need(out_json, "out_json");
    need(vm, "vm");
    *out_json = nullptr;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : vm->owner->rt->ports(vm->id)) {
      list.push_back({{"protocol", f.protocol},
                      {"host_addr", f.host_addr},
                      {"host_port", f.host_port},
                      {"guest_port", f.guest_port}});
    }
    *out_json = owned_string(list.dump());
  });
}

int smolvm_vm_write_file(smolvm_vm* vm, const char* guest_path, const uint8_t* data, size_t len,
                         uint32_t mode) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(vm, "vm");
    need(guest_path, "guest_path");
    if (len) need(data, "data");
    const std::string bytes = len ? std::string(reinterpret_cast<const char*>(data), len) : "";
    vm->guest().write_file(guest_path, bytes, mode ? mode : 0644);
  });
}

int smolvm_transfer_options_init_version(smolvm_transfer_options* opts, unsigned int version) {
  return guard([&] {
    init_version(opts, version);
    opts->max_bytes = SMOLVM_TRANSFER_MAX_BYTES_DEFAULT;
    opts->timeout_ms = SMOLVM_TRANSFER_TIMEOUT_MS_DEFAULT;
  });
}

int smolvm_vm_read_file_ex(smolvm_buf* out, smolvm_vm* vm, const char* guest_path,
                           const smolvm_transfer_options* opts) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(out, "out");
    need(vm, "vm");
    need(guest_path, "guest_path");
    *out = smolvm_buf{};
    const auto limits = transfer_limits(opts);  // refused before any work
    const std::string data = vm->guest().read_file(guest_path, limits);
    out->data = copy_bytes(data);
    out->size = data.size();
  });
}

int smolvm_vm_put_ex(smolvm_vm* vm, const char* host_path, const char* guest_path,
                     const smolvm_transfer_options* opts) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(vm, "vm");
    need(host_path, "host_path");
    need(guest_path, "guest_path");
    const auto limits = transfer_limits(opts);  // refused before any work
    vm->guest().put(host_path, guest_path, limits);
  });
}

int smolvm_vm_get_ex(smolvm_vm* vm, const char* guest_path, const char* host_path,
                     const smolvm_transfer_options* opts) {
  return guard_guest(vm ? &vm->session : nullptr, [&] {
    need(vm, "vm");
    need(guest_path, "guest_path");
    need(host_path, "host_path");
    const auto limits = transfer_limits(opts);  // refused before any work
    vm->guest().get(guest_path, host_path, limits);
  });
}

int smolvm_vm_read_file(smolvm_buf* out, smolvm_vm* vm, const char* guest_path) {
  return smolvm_vm_read_file_ex(out, vm, guest_path, nullptr);
}

int smolvm_vm_put(smolvm_vm* vm, const char* host_path, const char* guest_path) {
  return smolvm_vm_put_ex(vm, host_path, guest_path, nullptr);
}

int smolvm_vm_get(smolvm_vm* vm, const char* guest_path, const char* host_path) {
  return smolvm_vm_get_ex(vm, guest_path, host_path, nullptr);
}

// ---- snapshots ------------------------------------------------------------

namespace {

nlohmann::json snapshot_json(const smolvm::Snapshot& s) {
  nlohmann::json j = smolvm::to_json(s);
  j["dir"] = s.dir;
  j["used_by"] = smolvm::folder_users(s.dir);
  return j;
}

}  // namespace

int smolvm_snapshot_options_init_version(smolvm_snapshot_options* opts, unsigned int version) {
  return guard([&] { init_version(opts, version); });
}

int smolvm_restore_options_init_version(smolvm_restore_options* opts, unsigned int version) {
  return guard([&] { init_version(opts, version); });
}

int smolvm_vm_snapshot(char** out_id, smolvm_vm* vm, const smolvm_snapshot_options* opts) {
  return guard([&] {
    need(out_id, "out_id");
    *out_id = nullptr;
    need(vm, "vm");
    std::string name;
    bool stop = false;
    if (opts) {
      check_struct(opts);
      name = str_or(opts->name, "");
      stop = opts->stop != 0;
    }
    // Its commands cannot run while the guest stands still.
    vm->session.reset();
    *out_id = owned_string(vm->owner->rt->snapshot(vm->id, name, stop).id);
  });
}

int smolvm_snapshot_list(char** out_json, smolvm_runtime* rt) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    need(rt, "rt");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : rt->rt->snapshots()) list.push_back(snapshot_json(s));
    *out_json = owned_string(list.dump(2));
  });
}

int smolvm_snapshot_inspect(char** out_json, smolvm_runtime* rt, const char* snapshot) {
  return guard([&] {
    need(out_json, "out_json");
    *out_json = nullptr;
    need(rt, "rt");
    need(snapshot, "snapshot");
    *out_json = owned_string(snapshot_json(rt->rt->get_snapshot(snapshot)).dump(2));
  });
}

int smolvm_snapshot_delete(smolvm_runtime* rt, const char* snapshot) {
  return guard([&] {
    need(rt, "rt");
    need(snapshot, "snapshot");
    rt->rt->remove_snapshot(snapshot);
  });
}

int smolvm_vm_create_from_snapshot(smolvm_vm** out, smolvm_runtime* rt, const char* snapshot,
                                   const smolvm_restore_options* opts) {
  return guard([&] {
    need(out, "out");
    *out = nullptr;
    need(rt, "rt");
    need(snapshot, "snapshot");
    smolvm::RestoreOptions ro;
    if (opts) {
      check_struct(opts);
      if (opts->vm_id) smolvm::check_vm_id(opts->vm_id);
      ro.vm_id = str_or(opts->vm_id, "");
      ro.vcpu_count = opts->vcpu_count;
      ro.mem_size_mib = opts->mem_size_mib;
      ro.delete_with_owner = opts->delete_with_owner != 0;
      if (SMOLVM_HAS_FIELD(opts, smolvm_restore_options, idle_timeout_s)) {
        ro.ttl_s = opts->ttl_s;
        ro.idle_timeout_s = opts->idle_timeout_s;
        ro.on_ttl = str_or(opts->on_ttl, "");
        ro.on_idle = str_or(opts->on_idle, "");
      }
    }
    auto vm = std::make_unique<smolvm_vm>();
    vm->owner = rt;
    vm->id = rt->rt->create_from_snapshot(snapshot, ro).id;
    *out = vm.release();
  });
}

}  // extern "C"
