// plugin.cpp - the ABI boundary: the slot functions, which check their
// arguments, lock the handle and call the operation. They throw StoreError;
// the SDK's guard around each slot turns it into a status and a message.
#include <unistd.h>

#include <mutex>
#include <string>
#include <utility>

#include "plugins/store-sqlite/store.h"
#include "smolvm/plugin_sdk.h"

namespace smolvm::store_sqlite {
namespace {

// The plugin's tag: its slot functions take it first (smolvm/sdk/vtables.h),
// and the SDK wraps each in its guard with the operation and the id.
struct Sqlite {};

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

void open(Sqlite, void** out, const char* location, smolvm_plugin_error*) {
  if (out == nullptr) throw StoreError(SMOLVM_EINVAL, "out: must not be NULL");
  *out = nullptr;
  *out = new Store(require(location, "location"));
}

void close(Sqlite, void* handle) {
  Store* store = static_cast<Store*>(handle);
  if (store != nullptr && store->pid != getpid()) store->db.abandon();
  delete store;
}

const smolvm_store_vm& need_row(const smolvm_store_vm* row) {
  if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
  return *row;
}

void vm_insert(Sqlite, void* store, const smolvm_store_vm* row, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { vm_insert(db, need_row(row)); });
}

void vm_update(Sqlite, void* store, const smolvm_store_vm* row, const char* expect_state,
               smolvm_plugin_error*) {
  locked(store, [&](Db& db) { vm_update(db, need_row(row), expect_state); });
}

smolvm_store_vm to_c(const VmRow& r) {
  return {r.id.c_str(),           r.state.c_str(), r.spec_json.c_str(),
          r.runtime_json.c_str(), r.created_at_ms, r.updated_at_ms};
}

void vm_get(Sqlite, void* store, const char* id, smolvm_store_vm_cb cb, void* ctx,
            smolvm_plugin_error*) {
  require_cb(cb);
  VmRow row = locked(store, [&](Db& db) { return vm_get(db, id); });
  smolvm_store_vm c = to_c(row);
  cb(ctx, &c);
}

void vm_list(Sqlite, void* store, smolvm_store_vm_cb cb, void* ctx, smolvm_plugin_error*) {
  require_cb(cb);
  for (const VmRow& row : locked(store, [&](Db& db) { return vm_list(db); })) {
    smolvm_store_vm c = to_c(row);
    cb(ctx, &c);
  }
}

void vm_delete(Sqlite, void* store, const char* id, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { vm_delete(db, id); });
}

void lease_acquire(Sqlite, void* store, const char* vm_id, uint32_t first, uint32_t last,
                   const char* tap, uint32_t* out_ip, smolvm_plugin_error*) {
  if (out_ip == nullptr) throw StoreError(SMOLVM_EINVAL, "out_ip: must not be NULL");
  *out_ip = locked(store, [&](Db& db) { return lease_acquire(db, vm_id, first, last, tap); });
}

void lease_release(Sqlite, void* store, const char* vm_id, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { lease_release(db, vm_id); });
}

void lease_list(Sqlite, void* store, smolvm_store_lease_cb cb, void* ctx, smolvm_plugin_error*) {
  require_cb(cb);
  for (const LeaseRow& row : locked(store, [&](Db& db) { return lease_list(db); })) {
    smolvm_store_lease c{row.vm_id.c_str(), row.ip.c_str(), row.tap.c_str()};
    cb(ctx, &c);
  }
}

const smolvm_store_forward& need_row(const smolvm_store_forward* row) {
  if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
  return *row;
}

void forward_add(Sqlite, void* store, const smolvm_store_forward* row, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { forward_add(db, need_row(row)); });
}

void forward_remove(Sqlite, void* store, const smolvm_store_forward* row, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { forward_remove(db, need_row(row)); });
}

void forward_list(Sqlite, void* store, const char* vm_id, smolvm_store_forward_cb cb, void* ctx,
                  smolvm_plugin_error*) {
  require_cb(cb);
  for (const ForwardRow& row : locked(store, [&](Db& db) { return forward_list(db, vm_id); })) {
    smolvm_store_forward c{row.vm_id.c_str(), row.protocol.c_str(), row.host_addr.c_str(),
                           row.host_port, row.guest_port};
    cb(ctx, &c);
  }
}

void process_set(Sqlite, void* store, const smolvm_store_process* row, smolvm_plugin_error*) {
  if (row == nullptr) throw StoreError(SMOLVM_EINVAL, "row: must not be NULL");
  locked(store, [&](Db& db) { process_set(db, *row); });
}

void process_clear(Sqlite, void* store, const char* vm_id, const char* role, smolvm_plugin_error*) {
  locked(store, [&](Db& db) { process_clear(db, vm_id, role); });
}

void process_list(Sqlite, void* store, const char* vm_id, smolvm_store_process_cb cb, void* ctx,
                  smolvm_plugin_error*) {
  require_cb(cb);
  for (const ProcessRow& row : locked(store, [&](Db& db) { return process_list(db, vm_id); })) {
    smolvm_store_process c{row.vm_id.c_str(), row.role.c_str(), row.pid, row.start_time};
    cb(ctx, &c);
  }
}

}  // namespace
}  // namespace smolvm::store_sqlite

SMOLVM_PLUGIN_DEFINE_CXX(
    store, sqlite, SMOLVM_PLUGIN_VERSION,
    "SQLite store (WAL): VMs, address leases, port forwards and processes, shared by every "
    "process",
    smolvm::store_sqlite::Sqlite)
