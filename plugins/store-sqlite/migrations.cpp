// migrations.cpp - the schema, as an ordered list of steps recorded in the
// schema_version table. Each step runs in its own BEGIN IMMEDIATE
// transaction that re-reads the version first, so any number of processes
// may open a fresh or old file at once and each step is applied exactly once.
// Append new steps; never edit a released one.
#include <iterator>
#include <string>

#include "plugins/store-sqlite/store.h"
#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Not STRICT tables: that would make the file unreadable by SQLite < 3.37.
constexpr Migration kMigrations[] = {
    {1, "vms, leases, forwards, processes", R"sql(
CREATE TABLE vms (
  id TEXT NOT NULL PRIMARY KEY,
  state TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  runtime_json TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  -- Insertion order, for listing oldest first independent of clocks.
  seq INTEGER NOT NULL UNIQUE
);
CREATE TABLE leases (
  ip TEXT NOT NULL PRIMARY KEY,
  -- The address in host byte order, so a pool range is an index scan.
  ip_num INTEGER NOT NULL UNIQUE,
  vm_id TEXT NOT NULL UNIQUE REFERENCES vms(id) ON DELETE CASCADE,
  tap TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL
);
CREATE TABLE forwards (
  vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  host_addr TEXT NOT NULL,
  host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
  guest_port INTEGER NOT NULL CHECK (guest_port BETWEEN 1 AND 65535),
  UNIQUE (protocol, host_addr, host_port)
);
-- Cascading deletes look children up by vm_id.
CREATE INDEX forwards_vm_id ON forwards(vm_id);
CREATE TABLE processes (
  vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  pid INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  PRIMARY KEY (vm_id, role)
);
)sql"},
};

constexpr bool versions_are_consecutive() {
  for (size_t i = 0; i < std::size(kMigrations); ++i) {
    if (kMigrations[i].version != static_cast<int>(i) + 1) return false;
  }
  return true;
}
static_assert(versions_are_consecutive(), "migration versions must be 1, 2, 3, ...");

constexpr int kLatest = static_cast<int>(std::size(kMigrations));

int current_version(Db& db) {
  Stmt table(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!table.step()) return 0;
  Stmt version(db, "SELECT coalesce(max(version), 0) FROM schema_version");
  version.step();
  return static_cast<int>(version.int_at(0));
}

// A newer smolvm may have changed the meaning of tables we would write to.
void refuse_newer(const Db& db, int version) {
  if (version > kLatest) {
    throw StoreError(SMOLVM_EUNSUPPORTED,
                     db.path() + ": database schema version " + std::to_string(version) +
                         " is newer than this store plugin supports (" + std::to_string(kLatest) +
                         "); use the smolvm that wrote it or a newer one");
  }
}

}  // namespace

int latest_schema_version() { return kLatest; }

void migrate(Db& db) {
  // Fast path without the write lock: versions only ever grow, so a file at
  // the latest version (the usual case) needs nothing.
  int version = current_version(db);
  refuse_newer(db, version);
  while (version < kLatest) {
    WriteTxn txn(db);
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER NOT NULL PRIMARY KEY, "
        "applied_at_ms INTEGER NOT NULL, "
        "description TEXT NOT NULL)");
    // Another process may have migrated while we waited for the lock.
    version = current_version(db);
    refuse_newer(db, version);
    if (version < kLatest) {
      const Migration& step = kMigrations[version];
      db.exec(step.sql);
      Stmt record(db,
                  "INSERT INTO schema_version (version, applied_at_ms, description) "
                  "VALUES (?1, ?2, ?3)");
      record.bind(1, int64_t{step.version}).bind(2, now_ms()).bind(3, step.description).run();
      version = step.version;
    }
    txn.commit();
  }
}

}  // namespace smolvm::store_sqlite
