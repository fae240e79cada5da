// vms.cpp - the vms table: one row per VM, with compare-and-set state
// transitions so that two processes cannot both move a VM (e.g. both start it).
#include <string>
#include <string_view>

#include "plugins/store-sqlite/store.h"
#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {
namespace {

constexpr const char* kVmColumns =
    "SELECT id, state, spec_json, runtime_json, created_at_ms, updated_at_ms FROM vms ";

VmRow read_vm(const Stmt& stmt) {
  VmRow row;
  row.id = stmt.text_at(0);
  row.state = stmt.text_at(1);
  row.spec_json = stmt.text_at(2);
  row.runtime_json = stmt.text_at(3);
  row.created_at_ms = stmt.int_at(4);
  row.updated_at_ms = stmt.int_at(5);
  return row;
}

// '|' separates names in expect_state, so a state containing it could never
// be matched exactly.
void check_state_name(const char* state, const char* field) {
  if (state[0] == '\0' || std::string_view(state).find('|') != std::string_view::npos) {
    throw StoreError(SMOLVM_EINVAL, std::string(field) + "='" + state +
                                        "': must be a non-empty state name without '|'");
  }
}

// Validates "a|b|c" (no empty names) and returns it as given.
const char* check_expect(const char* expect) {
  if (expect == nullptr) return nullptr;
  std::string_view rest(expect);
  for (;;) {
    size_t bar = rest.find('|');
    if (rest.substr(0, bar).empty()) {
      throw StoreError(SMOLVM_EINVAL, std::string("expect_state='") + expect +
                                          "': must be state names separated by '|'");
    }
    if (bar == std::string_view::npos) return expect;
    rest.remove_prefix(bar + 1);
  }
}

}  // namespace

void vm_require(Db& db, const char* id) {
  Stmt stmt(db, "SELECT 1 FROM vms WHERE id = ?1");
  if (!stmt.bind(1, id).step()) {
    throw StoreError(SMOLVM_ENOTFOUND, "vm '" + std::string(id) + "' not found");
  }
}

void vm_insert(Db& db, const smolvm_store_vm& row) {
  const char* id = require(row.id, "id");
  check_state_name(require(row.state, "state"), "state");
  int64_t created = row.created_at_ms != 0 ? row.created_at_ms : now_ms();
  int64_t updated = row.updated_at_ms != 0 ? row.updated_at_ms : created;
  // One statement, so the seq read and the insert happen under one write lock.
  Stmt stmt(db,
            "INSERT INTO vms (id, state, spec_json, runtime_json, created_at_ms, updated_at_ms, "
            "seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT coalesce(max(seq), 0) + 1 FROM vms))");
  stmt.bind(1, id)
      .bind(2, row.state)
      .bind(3, row.spec_json != nullptr ? row.spec_json : "{}")
      .bind(4, row.runtime_json != nullptr ? row.runtime_json : "{}")
      .bind(5, created)
      .bind(6, updated);
  int rc = stmt.try_step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    throw StoreError(SMOLVM_EEXISTS, "vm '" + std::string(id) + "' already exists");
  }
  if (rc != SQLITE_DONE) db.fail(rc);
}

void vm_update(Db& db, const smolvm_store_vm& row, const char* expect_state) {
  const char* id = require(row.id, "id");
  if (row.state != nullptr) check_state_name(row.state, "state");
  const char* expect = check_expect(expect_state);
  int64_t updated = row.updated_at_ms != 0 ? row.updated_at_ms : now_ms();

  // The transaction makes the diagnosis below see the row that failed the
  // compare-and-set, not a later one.
  WriteTxn txn(db);
  // The compare-and-set is this one statement. instr() over '|'-delimited
  // names is an exact set membership test because state names hold no '|'.
  Stmt update(db,
              "UPDATE vms SET state = coalesce(?1, state), spec_json = coalesce(?2, spec_json), "
              "runtime_json = coalesce(?3, runtime_json), updated_at_ms = ?4 "
              "WHERE id = ?5 AND (?6 IS NULL OR instr('|' || ?6 || '|', '|' || state || '|') > 0)");
  update.bind(1, row.state)
      .bind(2, row.spec_json)
      .bind(3, row.runtime_json)
      .bind(4, updated)
      .bind(5, id)
      .bind(6, expect)
      .run();
  if (db.changes() == 0) {
    Stmt current(db, "SELECT state FROM vms WHERE id = ?1");
    if (!current.bind(1, id).step()) {
      throw StoreError(SMOLVM_ENOTFOUND, "vm '" + std::string(id) + "' not found");
    }
    throw StoreError(SMOLVM_ESTATE, "vm '" + std::string(id) + "' is " + current.text_at(0) +
                                        ", expected one of " + expect);
  }
  txn.commit();
}

VmRow vm_get(Db& db, const char* id) {
  require(id, "id");
  Stmt stmt(db, (std::string(kVmColumns) + "WHERE id = ?1").c_str());
  if (!stmt.bind(1, id).step()) {
    throw StoreError(SMOLVM_ENOTFOUND, "vm '" + std::string(id) + "' not found");
  }
  return read_vm(stmt);
}

std::vector<VmRow> vm_list(Db& db) {
  Stmt stmt(db, (std::string(kVmColumns) + "ORDER BY seq").c_str());
  std::vector<VmRow> rows;
  while (stmt.step()) rows.push_back(read_vm(stmt));
  return rows;
}

void vm_delete(Db& db, const char* id) {
  require(id, "id");
  // One statement is one transaction; ON DELETE CASCADE (foreign_keys=ON on
  // every connection) removes the VM's leases, forwards and processes in it.
  Stmt stmt(db, "DELETE FROM vms WHERE id = ?1");
  stmt.bind(1, id).run();
  if (db.changes() == 0) {
    throw StoreError(SMOLVM_ENOTFOUND, "vm '" + std::string(id) + "' not found");
  }
}

}  // namespace smolvm::store_sqlite
