// db.h - RAII wrappers over the SQLite C API: connection, prepared statement,
// write transaction, and the one exception type the plugin throws internally.
// The SDK's guard (smolvm/sdk/vtables.h) turns every StoreError into a
// status and a message at the ABI.
#ifndef SMOLVM_STORE_SQLITE_DB_H
#define SMOLVM_STORE_SQLITE_DB_H

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "smolvm/sdk/guard.h"

namespace smolvm::store_sqlite {

class StoreError : public smolvm::sdk::Error {
 public:
  // from_sqlite: the message is SQLite's, which does not know what it was
  // about, so the guard prefixes the operation and its subject (the id);
  // otherwise the message is complete and gets the operation alone.
  StoreError(int status, const std::string& message, bool from_sqlite = false)
      : smolvm::sdk::Error(status, message, !from_sqlite) {}
};

// Maps an SQLite result code to a smolvm_status.
int status_from_sqlite(int rc);

// Milliseconds since the Unix epoch.
int64_t now_ms();

class Db {
 public:
  // Opens (creating) the database file and applies the connection settings.
  explicit Db(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  // Runs constant SQL (DDL, pragmas, BEGIN/COMMIT); never values.
  void exec(const char* sql);
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const;
  // Throws a StoreError for rc with SQLite's message and the file path.
  [[noreturn]] void fail(int rc) const;
  // Forgets the connection without closing it: for a child after fork(),
  // where closing could release or disturb the parent's locks.
  void abandon() { db_ = nullptr; }

 private:
  void set_wal();
  std::string path_;
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in SQLite. A null pointer binds NULL.
  Stmt& bind(int index, const char* text);
  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, int64_t value);

  // Raw sqlite3_step result (SQLITE_ROW, SQLITE_DONE or an error), for
  // callers that handle particular errors such as constraint violations.
  int try_step();
  // true: a row is ready; false: done. Throws on error.
  bool step();
  // Steps a statement that returns no rows.
  void run();

  int64_t int_at(int column) const;
  // "" for NULL, so rows handed out never hold null strings.
  std::string text_at(int column) const;
  bool null_at(int column) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front (waiting through the busy
// timeout). A deferred transaction that reads and then writes would instead
// fail at once with SQLITE_BUSY when another process committed in between,
// since SQLite cannot upgrade a stale WAL snapshot.
class WriteTxn {
 public:
  explicit WriteTxn(Db& db);
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  void commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace smolvm::store_sqlite

#endif  // SMOLVM_STORE_SQLITE_DB_H
