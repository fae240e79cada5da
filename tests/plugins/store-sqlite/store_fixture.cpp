// store_fixture.cpp - see store_fixture.h.
#include "store_fixture.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

namespace smolvm::store_test {
namespace {

LoadedPlugin load() {
  LoadedPlugin p;
  void* lib = dlopen(SMOLVM_STORE_SQLITE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    p.error = std::string("dlopen: ") + dlerror();
    return p;
  }
  auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(lib, SMOLVM_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    p.error = std::string("dlsym: ") + dlerror();
    return p;
  }
  p.descriptor = entry();
  if (p.descriptor == nullptr || p.descriptor->kind != SMOLVM_PLUGIN_STORE ||
      p.descriptor->vtable == nullptr) {
    p.error = "smolvm_plugin_entry returned no store descriptor";
    return p;
  }
  p.vt = static_cast<const smolvm_store_vtable*>(p.descriptor->vtable);
  return p;
}

void push_vm(void* ctx, const smolvm_store_vm* r) {
  static_cast<std::vector<Vm>*>(ctx)->push_back(
      {r->id, r->state, r->spec_json, r->runtime_json, r->created_at_ms, r->updated_at_ms});
}

void push_lease(void* ctx, const smolvm_store_lease* r) {
  static_cast<std::vector<Lease>*>(ctx)->push_back({r->vm_id, r->ip, r->tap});
}

void push_forward(void* ctx, const smolvm_store_forward* r) {
  static_cast<std::vector<Forward>*>(ctx)->push_back(
      {r->vm_id, r->protocol, r->host_addr, r->host_port, r->guest_port});
}

void push_process(void* ctx, const smolvm_store_process* r) {
  static_cast<std::vector<Process>*>(ctx)->push_back({r->vm_id, r->role, r->pid, r->start_time});
}

}  // namespace

const LoadedPlugin& plugin() {
  static const LoadedPlugin loaded = load();
  return loaded;
}

uint32_t ip_num(const char* dotted) {
  in_addr a{};
  if (inet_pton(AF_INET, dotted, &a) != 1) return 0;
  return ntohl(a.s_addr);
}

std::string ip_str(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

int StoreClient::insert(const char* id, const char* state, const char* spec) const {
  smolvm_store_vm row{id, state, spec, nullptr, 0, 0};
  return vt->vm_insert(store, &row, err);
}

int StoreClient::update(const char* id, const char* state, const char* expect) const {
  smolvm_store_vm row{id, state, nullptr, nullptr, 0, 0};
  return vt->vm_update(store, &row, expect, err);
}

int StoreClient::get(const char* id, Vm* out) const {
  std::vector<Vm> rows;
  int rc = vt->vm_get(store, id, push_vm, &rows, err);
  if (rc == 0 && out != nullptr && rows.size() == 1) *out = rows[0];
  return rc;
}

int StoreClient::del(const char* id) const { return vt->vm_delete(store, id, err); }

int StoreClient::acquire(const char* vm_id, uint32_t first, uint32_t last, uint32_t* out) const {
  std::string tap = std::string("tap-") + vm_id;
  return vt->lease_acquire(store, vm_id, first, last, tap.c_str(), out, err);
}

int StoreClient::forward(const char* vm_id, const char* proto, const char* addr, uint32_t host_port,
                         uint32_t guest_port) const {
  smolvm_store_forward row{vm_id, proto, addr, host_port, guest_port};
  return vt->forward_add(store, &row, err);
}

int StoreClient::unforward(const char* vm_id, const char* proto, const char* addr,
                           uint32_t host_port) const {
  smolvm_store_forward row{vm_id, proto, addr, host_port, 0};
  return vt->forward_remove(store, &row, err);
}

int StoreClient::set_process(const char* vm_id, const char* role, int64_t pid,
                             int64_t start) const {
  smolvm_store_process row{vm_id, role, pid, start};
  return vt->process_set(store, &row, err);
}

std::vector<Vm> StoreClient::vms() const {
  std::vector<Vm> rows;
  EXPECT_EQ(vt->vm_list(store, push_vm, &rows, err), 0) << err->message;
  return rows;
}

std::vector<Lease> StoreClient::leases() const {
  std::vector<Lease> rows;
  EXPECT_EQ(vt->lease_list(store, push_lease, &rows, err), 0) << err->message;
  return rows;
}

std::vector<Forward> StoreClient::forwards(const char* vm_id) const {
  std::vector<Forward> rows;
  EXPECT_EQ(vt->forward_list(store, vm_id, push_forward, &rows, err), 0) << err->message;
  return rows;
}

std::vector<Process> StoreClient::processes(const char* vm_id) const {
  std::vector<Process> rows;
  EXPECT_EQ(vt->process_list(store, vm_id, push_process, &rows, err), 0) << err->message;
  return rows;
}

void StoreTest::SetUp() {
  const LoadedPlugin& p = plugin();
  ASSERT_NE(p.vt, nullptr) << p.error;
  vt_ = p.vt;
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/smolvm-store-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
  dir_ = pattern;
  db_path_ = dir_ + "/state/store.db";
}

void StoreTest::TearDown() {
  for (void* s : open_) vt_->close(s);
  open_.clear();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

StoreClient StoreTest::open(const std::string& path) {
  void* s = nullptr;
  int rc = vt_->open(&s, path.c_str(), &err_);
  EXPECT_EQ(rc, 0) << err_.message;
  if (s != nullptr) open_.push_back(s);
  return StoreClient{vt_, s, &err_};
}

void StoreTest::close(const StoreClient& client) {
  std::erase(open_, client.store);
  vt_->close(client.store);
}

int64_t sqlite_int(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

int sqlite_exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

}  // namespace smolvm::store_test
