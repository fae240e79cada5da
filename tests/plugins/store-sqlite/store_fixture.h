// store_fixture.h - loads smolvm-store-sqlite.so the way the host does
// (dlopen + smolvm_plugin_entry) and gives each test a private temp folder
// and helpers that copy callback rows into vectors.
#ifndef SMOLVM_TESTS_STORE_FIXTURE_H
#define SMOLVM_TESTS_STORE_FIXTURE_H

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm::store_test {

struct LoadedPlugin {
  const smolvm_plugin_descriptor* descriptor = nullptr;
  const smolvm_store_vtable* vt = nullptr;
  std::string error;  // why loading failed, if it did
};

// Loads the plugin once per process and keeps it loaded: dlclose would make
// sanitizer reports from it unreadable.
const LoadedPlugin& plugin();

struct Vm {
  std::string id, state, spec_json, runtime_json;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};
struct Lease {
  std::string vm_id, ip, tap;
};
struct Forward {
  std::string vm_id, protocol, host_addr;
  uint32_t host_port = 0;
  uint32_t guest_port = 0;
};
struct Process {
  std::string vm_id, role;
  int64_t pid = 0;
  int64_t start_time = 0;
};

// Host byte order <-> dotted quad.
uint32_t ip_num(const char* dotted);
std::string ip_str(uint32_t ip);

// Thin wrappers over the vtable for brevity in tests. Each returns the
// status; the message of the last failure is in err.
struct StoreClient {
  const smolvm_store_vtable* vt;
  void* store;
  smolvm_plugin_error* err;

  int insert(const char* id, const char* state = "created", const char* spec = nullptr) const;
  int update(const char* id, const char* state, const char* expect) const;
  int get(const char* id, Vm* out) const;
  int del(const char* id) const;
  int acquire(const char* vm_id, uint32_t first, uint32_t last, uint32_t* out) const;
  int forward(const char* vm_id, const char* proto, const char* addr, uint32_t host_port,
              uint32_t guest_port) const;
  int unforward(const char* vm_id, const char* proto, const char* addr, uint32_t host_port) const;
  int set_process(const char* vm_id, const char* role, int64_t pid, int64_t start) const;

  std::vector<Vm> vms() const;
  std::vector<Lease> leases() const;
  std::vector<Forward> forwards(const char* vm_id = nullptr) const;
  std::vector<Process> processes(const char* vm_id = nullptr) const;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Opens a store handle that TearDown closes; fails the test on error.
  StoreClient open(const std::string& path);
  StoreClient open() { return open(db_path_); }
  void close(const StoreClient& client);

  const smolvm_store_vtable* vt_ = nullptr;
  std::string dir_;      // private temp folder, removed after the test
  std::string db_path_;  // dir_/state/store.db (the folder does not exist yet)
  smolvm_plugin_error err_{};

 private:
  std::vector<void*> open_;
};

// Reads one integer with the sqlite3 C API, bypassing the plugin.
int64_t sqlite_int(const std::string& path, const char* sql);
// Runs SQL with the sqlite3 C API; returns the SQLite result code.
int sqlite_exec(const std::string& path, const char* sql);

}  // namespace smolvm::store_test

#endif  // SMOLVM_TESTS_STORE_FIXTURE_H
