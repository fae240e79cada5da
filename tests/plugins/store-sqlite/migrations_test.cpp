// migrations_test.cpp - opening: folders and file modes, WAL, schema
// migrations from nothing, reopening, and refusing files it cannot use.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

using StoreOpen = StoreTest;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_F(StoreOpen, CreatesPrivateFoldersAndFile) {
  db_path_ = dir_ + "/a/b/store.db";
  StoreClient c = open();
  ASSERT_NE(c.store, nullptr);
  EXPECT_EQ(mode_of(dir_ + "/a"), 0700u);
  EXPECT_EQ(mode_of(dir_ + "/a/b"), 0700u);
  EXPECT_EQ(mode_of(db_path_), 0600u);
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  EXPECT_EQ(mode_of(db_path_ + "-wal"), 0600u);
}

TEST_F(StoreOpen, UsesWalAndRecordsSchemaVersion) {
  StoreClient c = open();
  ASSERT_NE(c.store, nullptr);
  EXPECT_EQ(sqlite_int(db_path_, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
  EXPECT_EQ(sqlite_int(db_path_, "SELECT count(*) FROM schema_version"), 1);
  EXPECT_EQ(sqlite_int(db_path_, "SELECT max(version) FROM schema_version"), 1);
  EXPECT_GT(sqlite_int(db_path_, "SELECT applied_at_ms FROM schema_version"), 0);
  EXPECT_EQ(sqlite_int(db_path_,
                       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                       "('vms', 'leases', 'forwards', 'processes')"),
            4);
}

TEST_F(StoreOpen, MigratesAnEmptyFileAndTightensItsMode) {
  db_path_ = dir_ + "/store.db";
  int fd = ::open(db_path_.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ::fchmod(fd, 0644);
  ::close(fd);
  StoreClient c = open();
  ASSERT_NE(c.store, nullptr);
  EXPECT_EQ(mode_of(db_path_), 0600u);
  EXPECT_EQ(c.insert("a"), 0) << err_.message;
  EXPECT_EQ(sqlite_int(db_path_, "SELECT max(version) FROM schema_version"), 1);
}

TEST_F(StoreOpen, ReopenKeepsDataAndDoesNotMigrateAgain) {
  StoreClient first = open();
  ASSERT_EQ(first.insert("a", "running", "{\"x\":1}"), 0) << err_.message;
  close(first);
  StoreClient second = open();
  StoreClient third = open();  // two handles on one file in one process
  Vm vm;
  ASSERT_EQ(second.get("a", &vm), 0) << err_.message;
  EXPECT_EQ(vm.state, "running");
  EXPECT_EQ(vm.spec_json, "{\"x\":1}");
  EXPECT_EQ(third.vms().size(), 1u);
  EXPECT_EQ(sqlite_int(db_path_, "SELECT count(*) FROM schema_version"), 1);
}

TEST_F(StoreOpen, RefusesANewerSchemaNamingBothVersions) {
  close(open());
  ASSERT_EQ(sqlite_exec(db_path_,
                        "INSERT INTO schema_version (version, applied_at_ms, description) "
                        "VALUES (99, 0, 'from the future')"),
            0);
  void* s = nullptr;
  EXPECT_EQ(vt_->open(&s, db_path_.c_str(), &err_), SMOLVM_EUNSUPPORTED);
  EXPECT_EQ(s, nullptr);
  std::string msg = err_.message;
  EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
  EXPECT_NE(msg.find("supports (1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(db_path_), std::string::npos) << msg;
}

TEST_F(StoreOpen, RefusesAFileThatIsNotADatabase) {
  db_path_ = dir_ + "/store.db";
  std::ofstream(db_path_) << std::string(4096, 'x');
  void* s = nullptr;
  EXPECT_EQ(vt_->open(&s, db_path_.c_str(), &err_), SMOLVM_EIO);
  EXPECT_EQ(s, nullptr);
  std::string msg = err_.message;
  EXPECT_NE(msg.find("file is not a database"), std::string::npos) << msg;
  EXPECT_NE(msg.find(db_path_), std::string::npos) << msg;
}

TEST_F(StoreOpen, ReportsAFolderThatCannotBeMade) {
  std::ofstream(dir_ + "/file") << "x";
  void* s = nullptr;
  std::string path = dir_ + "/file/sub/store.db";
  EXPECT_EQ(vt_->open(&s, path.c_str(), &err_), SMOLVM_EIO);
  std::string msg = err_.message;
  EXPECT_NE(msg.find("mkdir " + dir_ + "/file/sub"), std::string::npos) << msg;
}

}  // namespace
}  // namespace smolvm::store_test
