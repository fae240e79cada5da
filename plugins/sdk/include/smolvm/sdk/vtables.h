// smolvm/sdk/vtables.h - a kind's vtable built from a C++ plugin's slot
// functions, each called through guard() with its operation and subject.
//
// A plugin names itself with an empty tag type and writes each slot as a
// free function, in the tag's namespace, whose first parameter is the tag
// and whose others are the slot's own:
//
//   struct Qemu {};
//   int probe(Qemu, char* out_json, size_t cap, smolvm_plugin_error* err);
//   int launch(Qemu, void** out, const smolvm_vmm_config* cfg, smolvm_plugin_error* err);
//   ...
//   SMOLVM_PLUGIN_DEFINE_CXX(vmm, qemu, "1.0.0", "QEMU microvm", Qemu)
//
// The SDK finds them by argument-dependent lookup. A slot function returns
// its status (having written err) or returns void and throws to fail
// (smolvm::sdk::Error for a status of its own). The SDK checks the pointer
// arguments a plugin must not be handed NULL, so a slot function can rely on
// them. Optional slots (executor file_read_bounded, file_write_bounded,
// probe, exec_resize and the VM hooks vm_created, vm_booting, vm_ready; vmm cleanup,
// pause and resume, save_state and launch_restore) are left NULL when the
// plugin has no function for them; file_read and file_write, when missing,
// are served by the bounded ones.
#ifndef SMOLVM_SDK_VTABLES_H
#define SMOLVM_SDK_VTABLES_H

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "smolvm/plugin.h"
#include "smolvm/sdk/guard.h"

namespace smolvm::sdk::detail {

template <class T>
const char* vm_of(const T* p) {
  return p != nullptr ? p->vm_id : nullptr;
}

// probe is the same slot in the vmm and network vtables.
template <class P>
int probe_slot(char* out, size_t cap, smolvm_plugin_error* err) noexcept {
  return guard(err, "probe", nullptr, [&] {
    need(out, "out_json");
    return probe(P{}, out, cap, err);
  });
}

template <class P>
struct VmmSlots {
  static int prepare_disk_slot(const smolvm_vmm_config* cfg, char* out, size_t cap,
                               smolvm_plugin_error* err) noexcept {
    return guard(err, "prepare_disk", vm_of(cfg), [&] {
      need(cfg, "config");
      need(out, "out_path");
      return prepare_disk(P{}, cfg, out, cap, err);
    });
  }
  static int launch_slot(void** out, const smolvm_vmm_config* cfg,
                         smolvm_plugin_error* err) noexcept {
    return guard(err, "launch", vm_of(cfg), [&] {
      need(out, "out_instance");
      need(cfg, "config");
      return launch(P{}, out, cfg, err);
    });
  }
  static int64_t pid_slot(void* instance) noexcept {
    return guard_value<int64_t>(-1, [&] { return instance ? pid(P{}, instance) : -1; });
  }
  static int agent_connect_slot(void* instance, int* out_fd, uint32_t timeout_ms,
                                smolvm_plugin_error* err) noexcept {
    return guard(err, "agent_connect", nullptr, [&] {
      need(instance, "instance");
      need(out_fd, "out_fd");
      return agent_connect(P{}, instance, out_fd, timeout_ms, err);
    });
  }
  static int kill_slot(void* instance, smolvm_plugin_error* err) noexcept {
    return guard(err, "kill", nullptr, [&] {
      need(instance, "instance");
      return kill(P{}, instance, err);
    });
  }
  static void release_slot(void* instance) noexcept {
    guard_void([&] {
      if (instance != nullptr) release(P{}, instance);
    });
  }
  static int cleanup_slot(const smolvm_vmm_config* cfg, smolvm_plugin_error* err) noexcept {
    return guard(err, "cleanup", vm_of(cfg), [&] {
      need(cfg, "config");
      need(cfg->vm_dir, "vm_dir");
      return cleanup(P{}, cfg, err);
    });
  }
  static constexpr bool has_cleanup = requires(const smolvm_vmm_config* c, smolvm_plugin_error* e) {
    cleanup(P{}, c, e);
  };
  static int pause_slot(void* instance, smolvm_plugin_error* err) noexcept {
    return guard(err, "pause", nullptr, [&] {
      need(instance, "instance");
      return pause(P{}, instance, err);
    });
  }
  static int resume_slot(void* instance, smolvm_plugin_error* err) noexcept {
    return guard(err, "resume", nullptr, [&] {
      need(instance, "instance");
      return resume(P{}, instance, err);
    });
  }
  // pause and resume come as a pair: a VMM that can stop its vCPUs can
  // start them again.
  static constexpr bool has_pause = requires(void* i, smolvm_plugin_error* e) {
    pause(P{}, i, e);
    resume(P{}, i, e);
  };
  static int save_state_slot(void* instance, int state_fd, smolvm_plugin_error* err) noexcept {
    return guard(err, "save_state", nullptr, [&] {
      need(instance, "instance");
      return save_state(P{}, instance, state_fd, err);
    });
  }
  static int launch_restore_slot(void** out, const smolvm_vmm_config* cfg, int state_fd,
                                 smolvm_plugin_error* err) noexcept {
    return guard(err, "launch_restore", vm_of(cfg), [&] {
      need(out, "out_instance");
      need(cfg, "config");
      return launch_restore(P{}, out, cfg, state_fd, err);
    });
  }
  // save_state and launch_restore come as a pair: a state that can be
  // saved is one the same VMM can load.
  static constexpr bool has_snapshot =
      requires(void* i, void** o, const smolvm_vmm_config* c, smolvm_plugin_error* e) {
    save_state(P{}, i, 0, e);
    launch_restore(P{}, o, c, 0, e);
  };
};

template <class P>
struct ExecutorSlots {
  static int connect_slot(void** out, const smolvm_executor_target* target, uint32_t timeout_ms,
                          smolvm_plugin_error* err) noexcept {
    return guard(err, "connect", vm_of(target), [&] {
      need(out, "out_conn");
      need(target, "target");
      return connect(P{}, out, target, timeout_ms, err);
    });
  }
  static void disconnect_slot(void* conn) noexcept {
    guard_void([&] {
      if (conn != nullptr) disconnect(P{}, conn);
    });
  }
  static int exec_start_slot(void** out, void* conn, const smolvm_executor_request* req,
                             smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_start", nullptr, [&] {
      need(out, "out_exec");
      need(conn, "conn");
      need(req, "request");
      return exec_start(P{}, out, conn, req, err);
    });
  }
  static int exec_next_event_slot(void* exec, smolvm_executor_event* out, int32_t wait_ms,
                                  smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_next_event", nullptr, [&] {
      need(exec, "exec");
      need(out, "out_event");
      return exec_next_event(P{}, exec, out, wait_ms, err);
    });
  }
  static int exec_write_stdin_slot(void* exec, const uint8_t* data, size_t len,
                                   smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_write_stdin", nullptr, [&] {
      need(exec, "exec");
      if (len > 0) need(data, "data");
      return exec_write_stdin(P{}, exec, data, len, err);
    });
  }
  static int exec_close_stdin_slot(void* exec, smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_close_stdin", nullptr, [&] {
      need(exec, "exec");
      return exec_close_stdin(P{}, exec, err);
    });
  }
  static int exec_kill_slot(void* exec, int signal, smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_kill", nullptr, [&] {
      need(exec, "exec");
      return exec_kill(P{}, exec, signal, err);
    });
  }
  static int exec_resize_slot(void* exec, uint32_t rows, uint32_t cols,
                              smolvm_plugin_error* err) noexcept {
    return guard(err, "exec_resize", nullptr, [&] {
      need(exec, "exec");
      return exec_resize(P{}, exec, rows, cols, err);
    });
  }
  static void exec_free_slot(void* exec) noexcept {
    guard_void([&] {
      if (exec != nullptr) exec_free(P{}, exec);
    });
  }

  static int file_write_slot(void* conn, const char* path, const uint8_t* data, size_t len,
                             uint32_t mode, smolvm_plugin_error* err) noexcept {
    return guard(err, "file_write", path, [&] {
      need(conn, "conn");
      need(path, "guest_path");
      if (len > 0) need(data, "data");
      if constexpr (requires { file_write(P{}, conn, path, data, len, mode, err); }) {
        return file_write(P{}, conn, path, data, len, mode, err);
      } else {
        // Served by file_write_bounded: the buffer becomes its source.
        struct Slice {
          const uint8_t* data;
          size_t left;
        } slice{data, len};
        smolvm_bytes_source source = [](void* p, uint8_t* buf, size_t cap, size_t* out_len) {
          auto* s = static_cast<Slice*>(p);
          *out_len = std::min(cap, s->left);
          if (*out_len > 0) std::memcpy(buf, s->data, *out_len);
          s->data += *out_len;
          s->left -= *out_len;
          return 0;
        };
        return file_write_bounded(P{}, conn, path, source, &slice, mode, 0u, err);
      }
    });
  }
  static int file_read_slot(void* conn, const char* path, smolvm_bytes_cb sink, void* ctx,
                            smolvm_plugin_error* err) noexcept {
    return guard(err, "file_read", path, [&] {
      need(conn, "conn");
      need(path, "guest_path");
      need(sink, "sink");
      if constexpr (requires { file_read(P{}, conn, path, sink, ctx, err); }) {
        return file_read(P{}, conn, path, sink, ctx, err);
      } else {
        // Served by file_read_bounded: a sink that never stops, no limit.
        struct Plain {
          smolvm_bytes_cb sink;
          void* ctx;
        } plain{sink, ctx};
        smolvm_bytes_sink stoppable = [](void* p, const uint8_t* d, size_t n) {
          auto* s = static_cast<Plain*>(p);
          s->sink(s->ctx, d, n);
          return 0;
        };
        return file_read_bounded(P{}, conn, path, stoppable, &plain, 0u, err);
      }
    });
  }
  static int file_read_bounded_slot(void* conn, const char* path, smolvm_bytes_sink sink, void* ctx,
                                    uint32_t timeout_ms, smolvm_plugin_error* err) noexcept {
    return guard(err, "file_read_bounded", path, [&] {
      need(conn, "conn");
      need(path, "guest_path");
      need(sink, "sink");
      return file_read_bounded(P{}, conn, path, sink, ctx, timeout_ms, err);
    });
  }
  static int file_write_bounded_slot(void* conn, const char* path, smolvm_bytes_source source,
                                     void* ctx, uint32_t mode, uint32_t timeout_ms,
                                     smolvm_plugin_error* err) noexcept {
    return guard(err, "file_write_bounded", path, [&] {
      need(conn, "conn");
      need(path, "guest_path");
      need(source, "source");
      return file_write_bounded(P{}, conn, path, source, ctx, mode, timeout_ms, err);
    });
  }

  static int vm_created_slot(const smolvm_executor_vm* vm, smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_created", vm_of(vm), [&] {
      need(vm, "vm");
      return vm_created(P{}, vm, err);
    });
  }
  static int vm_booting_slot(const smolvm_executor_vm* vm, char* out, size_t cap,
                             smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_booting", vm_of(vm), [&] {
      need(vm, "vm");
      need(out, "out_args");
      return vm_booting(P{}, vm, out, cap, err);
    });
  }
  static int vm_ready_slot(const smolvm_executor_vm* vm, smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_ready", vm_of(vm), [&] {
      need(vm, "vm");
      return vm_ready(P{}, vm, err);
    });
  }

  static constexpr bool has_probe = requires(char* o, size_t n, smolvm_plugin_error* e) {
    probe(P{}, o, n, e);
  };
  static constexpr bool has_vm_created =
      requires(const smolvm_executor_vm* v, smolvm_plugin_error* e) {
    vm_created(P{}, v, e);
  };
  static constexpr bool has_vm_booting =
      requires(const smolvm_executor_vm* v, char* o, size_t n, smolvm_plugin_error* e) {
    vm_booting(P{}, v, o, n, e);
  };
  static constexpr bool has_vm_ready =
      requires(const smolvm_executor_vm* v, smolvm_plugin_error* e) {
    vm_ready(P{}, v, e);
  };
  static constexpr bool has_exec_resize =
      requires(void* x, uint32_t r, uint32_t c, smolvm_plugin_error* e) {
    exec_resize(P{}, x, r, c, e);
  };
  static constexpr bool has_read_bounded = requires(void* c, const char* p, smolvm_bytes_sink s,
                                                    void* x, uint32_t t, smolvm_plugin_error* e) {
    file_read_bounded(P{}, c, p, s, x, t, e);
  };
  static constexpr bool has_write_bounded =
      requires(void* c, const char* p, smolvm_bytes_source s, void* x, uint32_t m, uint32_t t,
               smolvm_plugin_error* e) {
    file_write_bounded(P{}, c, p, s, x, m, t, e);
  };
};

template <class P>
struct NetworkSlots {
  static int setup_slot(const smolvm_network_config* cfg, smolvm_plugin_error* err) noexcept {
    return guard(err, "setup", vm_of(cfg), [&] {
      need(cfg, "config");
      return setup(P{}, cfg, err);
    });
  }
  static int teardown_slot(const smolvm_network_config* cfg, smolvm_plugin_error* err) noexcept {
    return guard(err, "teardown", vm_of(cfg), [&] {
      need(cfg, "config");
      return teardown(P{}, cfg, err);
    });
  }
  static int forward_add_slot(const smolvm_network_forward* fwd,
                              smolvm_plugin_error* err) noexcept {
    return guard(err, "forward_add", vm_of(fwd), [&] {
      need(fwd, "forward");
      return forward_add(P{}, fwd, err);
    });
  }
  static int forward_remove_slot(const smolvm_network_forward* fwd,
                                 smolvm_plugin_error* err) noexcept {
    return guard(err, "forward_remove", vm_of(fwd), [&] {
      need(fwd, "forward");
      return forward_remove(P{}, fwd, err);
    });
  }
};

// The store checks its own arguments (its messages are part of its tests);
// the SDK adds the guard and the subject.
template <class P>
struct StoreSlots {
  static int open_slot(void** out, const char* location, smolvm_plugin_error* err) noexcept {
    return guard(err, "open", location, [&] { return open(P{}, out, location, err); });
  }
  static void close_slot(void* store) noexcept {
    guard_void([&] { close(P{}, store); });
  }
  static int vm_insert_slot(void* s, const smolvm_store_vm* row,
                            smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_insert", row ? row->id : nullptr,
                 [&] { return vm_insert(P{}, s, row, err); });
  }
  static int vm_update_slot(void* s, const smolvm_store_vm* row, const char* expect,
                            smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_update", row ? row->id : nullptr,
                 [&] { return vm_update(P{}, s, row, expect, err); });
  }
  static int vm_get_slot(void* s, const char* id, smolvm_store_vm_cb cb, void* ctx,
                         smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_get", id, [&] { return vm_get(P{}, s, id, cb, ctx, err); });
  }
  static int vm_list_slot(void* s, smolvm_store_vm_cb cb, void* ctx,
                          smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_list", nullptr, [&] { return vm_list(P{}, s, cb, ctx, err); });
  }
  static int vm_delete_slot(void* s, const char* id, smolvm_plugin_error* err) noexcept {
    return guard(err, "vm_delete", id, [&] { return vm_delete(P{}, s, id, err); });
  }
  static int lease_acquire_slot(void* s, const char* vm_id, uint32_t first, uint32_t last,
                                const char* tap, uint32_t* out_ip,
                                smolvm_plugin_error* err) noexcept {
    return guard(err, "lease_acquire", vm_id,
                 [&] { return lease_acquire(P{}, s, vm_id, first, last, tap, out_ip, err); });
  }
  static int lease_release_slot(void* s, const char* vm_id, smolvm_plugin_error* err) noexcept {
    return guard(err, "lease_release", vm_id, [&] { return lease_release(P{}, s, vm_id, err); });
  }
  static int lease_list_slot(void* s, smolvm_store_lease_cb cb, void* ctx,
                             smolvm_plugin_error* err) noexcept {
    return guard(err, "lease_list", nullptr, [&] { return lease_list(P{}, s, cb, ctx, err); });
  }
  static int forward_add_slot(void* s, const smolvm_store_forward* row,
                              smolvm_plugin_error* err) noexcept {
    return guard(err, "forward_add", vm_of(row), [&] { return forward_add(P{}, s, row, err); });
  }
  static int forward_remove_slot(void* s, const smolvm_store_forward* row,
                                 smolvm_plugin_error* err) noexcept {
    return guard(err, "forward_remove", vm_of(row),
                 [&] { return forward_remove(P{}, s, row, err); });
  }
  static int forward_list_slot(void* s, const char* vm_id, smolvm_store_forward_cb cb, void* ctx,
                               smolvm_plugin_error* err) noexcept {
    return guard(err, "forward_list", vm_id,
                 [&] { return forward_list(P{}, s, vm_id, cb, ctx, err); });
  }
  static int process_set_slot(void* s, const smolvm_store_process* row,
                              smolvm_plugin_error* err) noexcept {
    return guard(err, "process_set", vm_of(row), [&] { return process_set(P{}, s, row, err); });
  }
  static int process_clear_slot(void* s, const char* vm_id, const char* role,
                                smolvm_plugin_error* err) noexcept {
    return guard(err, "process_clear", vm_id,
                 [&] { return process_clear(P{}, s, vm_id, role, err); });
  }
  static int process_list_slot(void* s, const char* vm_id, smolvm_store_process_cb cb, void* ctx,
                               smolvm_plugin_error* err) noexcept {
    return guard(err, "process_list", vm_id,
                 [&] { return process_list(P{}, s, vm_id, cb, ctx, err); });
  }
};

}  // namespace smolvm::sdk::detail

namespace smolvm::sdk {

template <class P>
constexpr smolvm_vmm_vtable vmm_vtable() {
  using S = detail::VmmSlots<P>;
  smolvm_vmm_vtable vt{};
  vt.struct_size = sizeof(smolvm_vmm_vtable);
  vt.probe = detail::probe_slot<P>;
  vt.prepare_disk = S::prepare_disk_slot;
  vt.launch = S::launch_slot;
  vt.pid = S::pid_slot;
  vt.agent_connect = S::agent_connect_slot;
  vt.kill = S::kill_slot;
  vt.release = S::release_slot;
  if constexpr (S::has_cleanup) vt.cleanup = S::cleanup_slot;
  if constexpr (S::has_pause) {
    vt.pause = S::pause_slot;
    vt.resume = S::resume_slot;
  }
  if constexpr (S::has_snapshot) {
    vt.save_state = S::save_state_slot;
    vt.launch_restore = S::launch_restore_slot;
  }
  return vt;
}

template <class P>
constexpr smolvm_executor_vtable executor_vtable() {
  using S = detail::ExecutorSlots<P>;
  smolvm_executor_vtable vt{};
  vt.struct_size = sizeof(smolvm_executor_vtable);
  vt.connect = S::connect_slot;
  vt.disconnect = S::disconnect_slot;
  vt.exec_start = S::exec_start_slot;
  vt.exec_next_event = S::exec_next_event_slot;
  vt.exec_write_stdin = S::exec_write_stdin_slot;
  vt.exec_close_stdin = S::exec_close_stdin_slot;
  vt.exec_kill = S::exec_kill_slot;
  vt.exec_free = S::exec_free_slot;
  vt.file_write = S::file_write_slot;
  vt.file_read = S::file_read_slot;
  if constexpr (S::has_read_bounded) vt.file_read_bounded = S::file_read_bounded_slot;
  if constexpr (S::has_write_bounded) vt.file_write_bounded = S::file_write_bounded_slot;
  if constexpr (S::has_probe) vt.probe = detail::probe_slot<P>;
  if constexpr (S::has_vm_created) vt.vm_created = S::vm_created_slot;
  if constexpr (S::has_vm_booting) vt.vm_booting = S::vm_booting_slot;
  if constexpr (S::has_vm_ready) vt.vm_ready = S::vm_ready_slot;
  if constexpr (S::has_exec_resize) vt.exec_resize = S::exec_resize_slot;
  return vt;
}

template <class P>
constexpr smolvm_network_vtable network_vtable() {
  using S = detail::NetworkSlots<P>;
  return {sizeof(smolvm_network_vtable), detail::probe_slot<P>, S::setup_slot, S::teardown_slot,
          S::forward_add_slot,           S::forward_remove_slot};
}

template <class P>
constexpr smolvm_store_vtable store_vtable() {
  using S = detail::StoreSlots<P>;
  return {sizeof(smolvm_store_vtable),
          S::open_slot,
          S::close_slot,
          S::vm_insert_slot,
          S::vm_update_slot,
          S::vm_get_slot,
          S::vm_list_slot,
          S::vm_delete_slot,
          S::lease_acquire_slot,
          S::lease_release_slot,
          S::lease_list_slot,
          S::forward_add_slot,
          S::forward_remove_slot,
          S::forward_list_slot,
          S::process_set_slot,
          S::process_clear_slot,
          S::process_list_slot};
}

}  // namespace smolvm::sdk

// SMOLVM_PLUGIN_DEFINE for a C++ plugin written as tagged slot functions:
// builds the kind's guarded vtable for Impl, then the descriptor and entry
// points. Use once, at file scope, outside any namespace.
#define SMOLVM_PLUGIN_DEFINE_CXX(kind, name, version, description, Impl)         \
  static constexpr smolvm_##kind##_vtable smolvm_plugin_vtable_##kind##_##name = \
      ::smolvm::sdk::kind##_vtable<Impl>();                                      \
  SMOLVM_PLUGIN_DEFINE(kind, name, version, description, smolvm_plugin_vtable_##kind##_##name)

#endif  // SMOLVM_SDK_VTABLES_H
