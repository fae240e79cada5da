// processes.cpp - the host processes that belong to a VM (supervisor, VMM),
// with their start times so that gc can tell a live process from a reused pid.
#include <string>

#include "plugins/store-sqlite/store.h"
#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {

void process_set(Db& db, const smolvm_store_process& row) {
  require(row.vm_id, "vm_id");
  require(row.role, "role");
  if (row.pid <= 0) {
    throw StoreError(SMOLVM_EINVAL, "pid=" + std::to_string(row.pid) + ": must be positive");
  }
  // The existence check gives ENOTFOUND with a message instead of a bare
  // foreign key failure; the transaction keeps the VM from vanishing between.
  WriteTxn txn(db);
  vm_require(db, row.vm_id);
  Stmt upsert(db,
              "INSERT INTO processes (vm_id, role, pid, start_time) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT (vm_id, role) DO UPDATE SET pid = excluded.pid, "
              "start_time = excluded.start_time");
  upsert.bind(1, row.vm_id).bind(2, row.role).bind(3, row.pid).bind(4, row.start_time).run();
  txn.commit();
}

void process_clear(Db& db, const char* vm_id, const char* role) {
  require(vm_id, "vm_id");
  if (role != nullptr) require(role, "role");
  // Idempotent, like lease_release: clearing what is gone is not an error.
  Stmt stmt(db, "DELETE FROM processes WHERE vm_id = ?1 AND (?2 IS NULL OR role = ?2)");
  stmt.bind(1, vm_id).bind(2, role).run();
}

std::vector<ProcessRow> process_list(Db& db, const char* vm_id) {
  Stmt stmt(db,
            "SELECT vm_id, role, pid, start_time FROM processes "
            "WHERE ?1 IS NULL OR vm_id = ?1 ORDER BY vm_id, role");
  stmt.bind(1, vm_id);
  std::vector<ProcessRow> rows;
  while (stmt.step()) {
    rows.push_back({stmt.text_at(0), stmt.text_at(1), stmt.int_at(2), stmt.int_at(3)});
  }
  return rows;
}

}  // namespace smolvm::store_sqlite
