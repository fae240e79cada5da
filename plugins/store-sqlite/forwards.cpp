// forwards.cpp - host ports forwarded to guests. A host address, port and
// protocol belongs to at most one VM at a time.
#include <string>

#include "plugins/store-sqlite/store.h"
#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {
namespace {

// Checks the fields shared by add and remove; returns "tcp 0.0.0.0:8080" for
// messages.
std::string check_forward(const smolvm_store_forward& row) {
  require(row.vm_id, "vm_id");
  std::string protocol = require(row.protocol, "protocol");
  if (protocol != "tcp" && protocol != "udp") {
    throw StoreError(SMOLVM_EINVAL, "protocol='" + protocol + "': must be tcp or udp");
  }
  require(row.host_addr, "host_addr");
  if (row.host_port < 1 || row.host_port > 65535) {
    throw StoreError(SMOLVM_EINVAL,
                     "host_port=" + std::to_string(row.host_port) + ": must be 1..65535");
  }
  return protocol + " " + row.host_addr + ":" + std::to_string(row.host_port);
}

}  // namespace

void forward_add(Db& db, const smolvm_store_forward& row) {
  std::string what = check_forward(row);
  if (row.guest_port < 1 || row.guest_port > 65535) {
    throw StoreError(SMOLVM_EINVAL,
                     "guest_port=" + std::to_string(row.guest_port) + ": must be 1..65535");
  }
  WriteTxn txn(db);
  vm_require(db, row.vm_id);
  // Looked up first only to name the holder; the UNIQUE constraint is what
  // guarantees exclusivity.
  Stmt holder(
      db, "SELECT vm_id FROM forwards WHERE protocol = ?1 AND host_addr = ?2 AND host_port = ?3");
  holder.bind(1, row.protocol).bind(2, row.host_addr).bind(3, int64_t{row.host_port});
  if (holder.step()) {
    throw StoreError(SMOLVM_EEXISTS,
                     "forward " + what + " is taken by vm '" + holder.text_at(0) + "'");
  }
  Stmt insert(db,
              "INSERT INTO forwards (vm_id, protocol, host_addr, host_port, guest_port) "
              "VALUES (?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, row.vm_id)
      .bind(2, row.protocol)
      .bind(3, row.host_addr)
      .bind(4, int64_t{row.host_port})
      .bind(5, int64_t{row.guest_port})
      .run();
  txn.commit();
}

void forward_remove(Db& db, const smolvm_store_forward& row) {
  std::string what = check_forward(row);
  Stmt stmt(db,
            "DELETE FROM forwards WHERE vm_id = ?1 AND protocol = ?2 AND host_addr = ?3 "
            "AND host_port = ?4");
  stmt.bind(1, row.vm_id)
      .bind(2, row.protocol)
      .bind(3, row.host_addr)
      .bind(4, int64_t{row.host_port})
      .run();
  if (db.changes() == 0) {
    throw StoreError(SMOLVM_ENOTFOUND, "forward " + what + " of vm '" + row.vm_id + "' not found");
  }
}

std::vector<ForwardRow> forward_list(Db& db, const char* vm_id) {
  Stmt stmt(db,
            "SELECT vm_id, protocol, host_addr, host_port, guest_port FROM forwards "
            "WHERE ?1 IS NULL OR vm_id = ?1 ORDER BY rowid");
  stmt.bind(1, vm_id);
  std::vector<ForwardRow> rows;
  while (stmt.step()) {
    rows.push_back({stmt.text_at(0), stmt.text_at(1), stmt.text_at(2),
                    static_cast<uint32_t>(stmt.int_at(3)), static_cast<uint32_t>(stmt.int_at(4))});
  }
  return rows;
}

}  // namespace smolvm::store_sqlite
