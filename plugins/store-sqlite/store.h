// store.h - the store handle and its operations, one group per table
// (vms.cpp, leases.cpp, forwards.cpp, processes.cpp). Operations take the
// ABI's input structs, throw StoreError, and return owned rows; plugin.cpp
// hands those rows to the caller's callback after the lock is released, so a
// callback may call back into the store.
#ifndef SMOLVM_STORE_SQLITE_STORE_H
#define SMOLVM_STORE_SQLITE_STORE_H

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/store-sqlite/db.h"
#include "smolvm/plugin.h"

namespace smolvm::store_sqlite {

struct Store {
  explicit Store(const std::string& path);
  // One operation at a time per handle: SQLITE_OPEN_FULLMUTEX serializes
  // single calls, but a transaction spans many and must not interleave with
  // another thread's statements on the same connection.
  std::mutex mu;
  Db db;
  // SQLite connections must not be used across fork() (it corrupts files,
  // see sqlite.org/howtocorrupt.html 2.6), so the handle remembers its process.
  pid_t pid;
};

// Applies pending schema migrations (migrations.cpp).
void migrate(Db& db);
// The schema version this build writes and understands.
int latest_schema_version();

// Throws EINVAL naming field when s is NULL or empty.
const char* require(const char* s, const char* field);

struct VmRow {
  std::string id, state, spec_json, runtime_json;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

void vm_insert(Db& db, const smolvm_store_vm& row);
void vm_update(Db& db, const smolvm_store_vm& row, const char* expect_state);
VmRow vm_get(Db& db, const char* id);
std::vector<VmRow> vm_list(Db& db);
void vm_delete(Db& db, const char* id);
// Throws ENOTFOUND unless the VM exists; call inside a WriteTxn.
void vm_require(Db& db, const char* id);

struct LeaseRow {
  std::string vm_id, ip, tap;
};

uint32_t lease_acquire(Db& db, const char* vm_id, uint32_t first, uint32_t last, const char* tap);
void lease_release(Db& db, const char* vm_id);
std::vector<LeaseRow> lease_list(Db& db);

struct ForwardRow {
  std::string vm_id, protocol, host_addr;
  uint32_t host_port = 0;
  uint32_t guest_port = 0;
};

void forward_add(Db& db, const smolvm_store_forward& row);
void forward_remove(Db& db, const smolvm_store_forward& row);
std::vector<ForwardRow> forward_list(Db& db, const char* vm_id);

struct ProcessRow {
  std::string vm_id, role;
  int64_t pid = 0;
  int64_t start_time = 0;
};

void process_set(Db& db, const smolvm_store_process& row);
void process_clear(Db& db, const char* vm_id, const char* role);
std::vector<ProcessRow> process_list(Db& db, const char* vm_id);

}  // namespace smolvm::store_sqlite

#endif  // SMOLVM_STORE_SQLITE_STORE_H
