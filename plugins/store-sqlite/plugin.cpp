// plugin.cpp - the ABI boundary: the descriptor, and vtable functions that
// lock the handle, call the operation and turn every exception into a status
// and a message. Nothing thrown gets past guard().
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "plugins/store-sqlite/store.h"
#include "smolvm/plugin_sdk.h"

namespace smolvm::store_sqlite {
namespace {

void write_error(smolvm_plugin_error* err, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
void write_error(smolvm_plugin_error* err, const char* fmt, ...) {
  if (err == nullptr) return;
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(err->message, sizeof err->message, fmt, args);
  va_end(args);
}

// Runs body; returns 0 or the negative status of what it threw, with a
// message that starts with the operation (and, for SQLite's own messages
// which do not know it, the id the operation was about).
template <class F>
int guard(smolvm_plugin_error* err, const char* op, const char* subject, F&& body) noexcept {
  try {
    std::forward<F>(body)();
    if (err != nullptr) err->message[0] = '\0';
    return SMOLVM_OK;
  } catch (const StoreError& e) {
    if (e.from_sqlite() && subject != nullptr) {
      write_error(err, "%s '%s': %s", op, subject, e.what());
    } else {
      write_error(err, "%s: %s", op, e.what());
    }
    return e.status();
  } catch (const std::bad_alloc&) {
    write_error(err, "%s: out of memory", op);
    return SMOLVM_ENOMEM;
  } catch (const std::exception& e) {
    write_error(err, "%s: %s", op, e.what());
    return SMOLVM_ERROR;
  } catch (...) {
    write_error(err, "%s: unknown exception", op);
    return SMOLVM_ERROR;
  }
}

// Runs f(db) holding the handle's lock and returns its result.
template <class F>
auto locked(void* handle, F&& f) {
  if (handle == nullptr) throw StoreError(SMOLVM_EINVAL, "store handle is NULL");
  Store* store = static_cast<Store*>(handle);
  if (store->pid != getpid()) {
    throw StoreError(SMOLVM_EINVAL, "store handle of " + store->db.path() + " was opened by pid " +
                                        std::to_string(store->pid) +
                                        " and cannot be used after fork(); open a new one");
  }
  std::lock_guard<std::mutex> lock(store->mu);
  return std::forward<F>(f)(store->db);
}

template <class Cb>
void require_cb(Cb cb) {
  if (cb == nullptr) throw StoreError(SMOLVM_EINVAL, "callback: must not be NULL");
}

int st_open(void** out, const char* location, smolvm_plugin_error* err) {
  return guard(err, "open", nullptr, [&] {
    if (out == nullptr) throw StoreError(SMOLVM_EINVAL, "out: must not be NULL");
    *out = nullptr;
    *out = new Store(require(location, "location"));
  });
}

void st_close(void* handle) {
  Store* store = static_cast<Store*>(handle);
  if (store != nullptr && store->pid != getpid()) store->db.abandon();
  delete store;
}

int st_vm_insert(void* store, const smolvm_store_vm* row, smolvm_plugin_error* err) {
  const char* id = row != nullptr ? row->id : nullptr;
  return guard(err, "vm_insert", id, [&] {
    if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
    locked(store, [&](Db& db) { vm_insert(db, *row); });
  });
}

int st_vm_update(void* store, const smolvm_store_vm* row, const char* expect_state,
                 smolvm_plugin_error* err) {
  const char* id = row != nullptr ? row->id : nullptr;
  return guard(err, "vm_update", id, [&] {
    if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
    locked(store, [&](Db& db) { vm_update(db, *row, expect_state); });
  });
}

smolvm_store_vm to_c(const VmRow& r) {
  return {r.id.c_str(),           r.state.c_str(), r.spec_json.c_str(),
          r.runtime_json.c_str(), r.created_at_ms, r.updated_at_ms};
}

int st_vm_get(void* store, const char* id, smolvm_store_vm_cb cb, void* ctx,
              smolvm_plugin_error* err) {
  return guard(err, "vm_get", id, [&] {
    require_cb(cb);
    VmRow row = locked(store, [&](Db& db) { return vm_get(db, id); });
    smolvm_store_vm c = to_c(row);
    cb(ctx, &c);
  });
}

int st_vm_list(void* store, smolvm_store_vm_cb cb, void* ctx, smolvm_plugin_error* err) {
  return guard(err, "vm_list", nullptr, [&] {
    require_cb(cb);
    for (const VmRow& row : locked(store, [&](Db& db) { return vm_list(db); })) {
      smolvm_store_vm c = to_c(row);
      cb(ctx, &c);
    }
  });
}

int st_vm_delete(void* store, const char* id, smolvm_plugin_error* err) {
  return guard(err, "vm_delete", id, [&] { locked(store, [&](Db& db) { vm_delete(db, id); }); });
}

int st_lease_acquire(void* store, const char* vm_id, uint32_t first, uint32_t last, const char* tap,
                     uint32_t* out_ip, smolvm_plugin_error* err) {
  return guard(err, "lease_acquire", vm_id, [&] {
    if (out_ip == nullptr) throw StoreError(SMOLVM_EINVAL, "out_ip: must not be NULL");
    *out_ip = locked(store, [&](Db& db) { return lease_acquire(db, vm_id, first, last, tap); });
  });
}

int st_lease_release(void* store, const char* vm_id, smolvm_plugin_error* err) {
  return guard(err, "lease_release", vm_id,
               [&] { locked(store, [&](Db& db) { lease_release(db, vm_id); }); });
}

int st_lease_list(void* store, smolvm_store_lease_cb cb, void* ctx, smolvm_plugin_error* err) {
  return guard(err, "lease_list", nullptr, [&] {
    require_cb(cb);
    for (const LeaseRow& row : locked(store, [&](Db& db) { return lease_list(db); })) {
      smolvm_store_lease c{row.vm_id.c_str(), row.ip.c_str(), row.tap.c_str()};
      cb(ctx, &c);
    }
  });
}

int st_forward_add(void* store, const smolvm_store_forward* row, smolvm_plugin_error* err) {
  return guard(err, "forward_add", row != nullptr ? row->vm_id : nullptr, [&] {
    if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
    locked(store, [&](Db& db) { forward_add(db, *row); });
  });
}

int st_forward_remove(void* store, const smolvm_store_forward* row, smolvm_plugin_error* err) {
  return guard(err, "forward_remove", row != nullptr ? row->vm_id : nullptr, [&] {
    if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
    locked(store, [&](Db& db) { forward_remove(db, *row); });
  });
}

int st_forward_list(void* store, const char* vm_id, smolvm_store_forward_cb cb, void* ctx,
                    smolvm_plugin_error* err) {
  return guard(err, "forward_list", vm_id, [&] {
    require_cb(cb);
    for (const ForwardRow& row : locked(store, [&](Db& db) { return forward_list(db, vm_id); })) {
      smolvm_store_forward c{row.vm_id.c_str(), row.protocol.c_str(), row.host_addr.c_str(),
                             row.host_port, row.guest_port};
      cb(ctx, &c);
    }
  });
}

int st_process_set(void* store, const smolvm_store_process* row, smolvm_plugin_error* err) {
  return guard(err, "process_set", row != nullptr ? row->vm_id : nullptr, [&] {
    if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
    locked(store, [&](Db& db) { process_set(db, *row); });
  });
}

int st_process_clear(void* store, const char* vm_id, const char* role, smolvm_plugin_error* err) {
  return guard(err, "process_clear", vm_id,
               [&] { locked(store, [&](Db& db) { process_clear(db, vm_id, role); }); });
}

int st_process_list(void* store, const char* vm_id, smolvm_store_process_cb cb, void* ctx,
                    smolvm_plugin_error* err) {
  return guard(err, "process_list", vm_id, [&] {
    require_cb(cb);
    for (const ProcessRow& row : locked(store, [&](Db& db) { return process_list(db, vm_id); })) {
      smolvm_store_process c{row.vm_id.c_str(), row.role.c_str(), row.pid, row.start_time};
      cb(ctx, &c);
    }
  });
}

const smolvm_store_vtable kVtable = {
    sizeof(smolvm_store_vtable),
    st_open,
    st_close,
    st_vm_insert,
    st_vm_update,
    st_vm_get,
    st_vm_list,
    st_vm_delete,
    st_lease_acquire,
    st_lease_release,
    st_lease_list,
    st_forward_add,
    st_forward_remove,
    st_forward_list,
    st_process_set,
    st_process_clear,
    st_process_list,
};

}  // namespace
}  // namespace smolvm::store_sqlite

SMOLVM_PLUGIN_DEFINE(
    store, sqlite, SMOLVM_PLUGIN_VERSION,
    "SQLite store (WAL): VMs, address leases, port forwards and processes, shared by every "
    "process",
    smolvm::store_sqlite::kVtable)
