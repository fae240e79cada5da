// db.cpp - connection setup and the RAII helpers declared in db.h.
#include "plugins/store-sqlite/db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "smolvm/smolvm.h"

namespace smolvm::store_sqlite {
namespace {

// Long enough to ride out a burst of many processes creating VMs at once;
// short enough that a wedged writer surfaces as EBUSY instead of a hang.
constexpr int kBusyTimeoutMs = 10000;

int status_from_errno(int e) {
  return (e == EACCES || e == EPERM || e == EROFS) ? SMOLVM_EPERM : SMOLVM_EIO;
}

// Creates the missing folders above the database file with mode 0700: the
// store holds per-VM secrets and paths, so it is private to the user. Folders
// that already exist are left as they are.
void make_parent_dirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      int e = errno;
      throw StoreError(status_from_errno(e), "mkdir " + dir + ": " + std::strerror(e));
    }
  }
}

// Creates the file ourselves so that it never exists with a wider mode, even
// for a moment. SQLite gives its -wal and -shm files the main file's mode.
// An existing file is never opened here: closing any descriptor of it would
// drop the POSIX locks SQLite holds through this process's other handles,
// and the next process to close the database would then take itself for the
// last one and delete the -wal and -shm under them.
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int rc = 0;
  if (fd >= 0) {
    rc = ::fchmod(fd, 0600);  // exactly 0600 whatever the umask
  } else if (errno == EEXIST) {
    // What opening it read-write would have said (a read-only file system,
    // a file of someone else's), without a descriptor.
    if (::access(path.c_str(), R_OK | W_OK) != 0) {
      int e = errno;
      throw StoreError(status_from_errno(e), "open " + path + ": " + std::strerror(e));
    }
    struct stat st {};
    rc = ::stat(path.c_str(), &st);
    if (rc == 0 && (st.st_mode & 07777) != 0600) rc = ::chmod(path.c_str(), 0600);
  } else {
    int e = errno;
    throw StoreError(status_from_errno(e), "open " + path + ": " + std::strerror(e));
  }
  int e = errno;
  if (fd >= 0) ::close(fd);  // a file no handle has opened yet
  if (rc != 0)
    throw StoreError(status_from_errno(e), "chmod 0600 " + path + ": " + std::strerror(e));
}

}  // namespace

int status_from_sqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return SMOLVM_EBUSY;
    case SQLITE_NOMEM:
      return SMOLVM_ENOMEM;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return SMOLVM_EPERM;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
      return SMOLVM_EIO;
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_UNIQUE:
          return SMOLVM_EEXISTS;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return SMOLVM_ENOTFOUND;
        default:
          return SMOLVM_EINVAL;
      }
    default:
      return SMOLVM_ERROR;
  }
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Db::Db(const std::string& path) : path_(path) {
  make_parent_dirs(path_);
  create_private_file(path_);
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  try {
    if (rc != SQLITE_OK) {
      if (db_ == nullptr) throw StoreError(SMOLVM_ENOMEM, "sqlite3_open_v2: out of memory");
      fail(rc);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    set_wal();
    // NORMAL is durable across application crashes in WAL mode and only
    // risks the last commits on power loss, without an fsync per commit.
    exec("PRAGMA synchronous=NORMAL");
    // Per connection: cascades from vms to its leases, forwards, processes.
    exec("PRAGMA foreign_keys=ON");
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Db::~Db() { sqlite3_close_v2(db_); }

// Switching a fresh file to WAL needs an exclusive lock, and when many
// processes open a new file at once SQLite may return SQLITE_BUSY here
// without consulting the busy handler, so retry up to the busy timeout.
void Db::set_wal() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    Stmt pragma(*this, "PRAGMA journal_mode=WAL");
    int rc = pragma.try_step();
    if (rc == SQLITE_ROW) {
      std::string mode = pragma.text_at(0);
      if (mode != "wal") {
        throw StoreError(SMOLVM_EUNSUPPORTED, "journal_mode=WAL refused (still '" + mode +
                                                  "'); the file system of " + path_ +
                                                  " must support shared memory");
      }
      return;
    }
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) fail(rc);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Db::exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc);
}

int64_t Db::changes() const { return sqlite3_changes64(db_); }

void Db::fail(int rc) const {
  const char* msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  throw StoreError(status_from_sqlite(rc),
                   std::string(msg) + " (SQLite error " + std::to_string(rc) + ", " + path_ + ")",
                   true);
}

Stmt::Stmt(Db& db, const char* sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, const char* text) {
  int rc = text == nullptr ? sqlite3_bind_null(stmt_, index)
                           : sqlite3_bind_text(stmt_, index, text, -1, SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail(rc);
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc);
  return *this;
}

int Stmt::try_step() { return sqlite3_step(stmt_); }

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc);
}

void Stmt::run() {
  while (step()) {
  }
}

int64_t Stmt::int_at(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Stmt::text_at(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Stmt::null_at(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

WriteTxn::WriteTxn(Db& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
  open_ = true;
}

WriteTxn::~WriteTxn() {
  // Errors are ignored: SQLite may already have rolled back (e.g. after
  // SQLITE_FULL), and a destructor has no one to report to.
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTxn::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace smolvm::store_sqlite
