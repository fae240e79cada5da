// The core's view of the store plugin: C++ types in, C++ types out,
// smolvm::Error on failure. Only this file speaks the store vtable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plugins/loader.h"
#include "core/store/vm_record.h"

namespace smolvm {

struct ProcessRecord {
  std::string vm_id;
  std::string role;
  int64_t pid = 0;
  int64_t start_time = -1;
};

struct ForwardRecord {
  std::string vm_id;
  std::string protocol;
  std::string host_addr;
  uint32_t host_port = 0;
  uint32_t guest_port = 0;
};

struct LeaseRecord {
  std::string vm_id;
  std::string ip;
  std::string tap;
};

class Store {
 public:
  Store(const LoadedPlugin& plugin, const std::string& location);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void insert(const VmRecord& rec);
  // Compare-and-set on state when expect is non-empty ("a|b"). Fields left
  // empty (state "", spec/runtime null) keep their value. The runtime's
  // writers go through core/state/vm_writer.h, which always sets expect.
  void update(const std::string& id, const std::string& state, const VmSpec* spec,
              const VmRuntime* runtime, const std::string& expect);
  std::optional<VmRecord> find(const std::string& id);
  VmRecord get(const std::string& id);  // ENOTFOUND if absent
  std::vector<VmRecord> list();
  // False if it was already gone.
  bool remove(const std::string& id);

  void set_process(const ProcessRecord& p);
  void clear_processes(const std::string& vm_id, const std::string& role);
  std::vector<ProcessRecord> processes(const std::string& vm_id);

  std::vector<LeaseRecord> leases();
  // The lowest free address in [first, last] (host byte order), atomically.
  uint32_t acquire_lease(const std::string& vm_id, uint32_t first, uint32_t last,
                         const std::string& tap);

  void add_forward(const ForwardRecord& f);  // EEXISTS if the host side is taken
  void remove_forward(const ForwardRecord& f);
  std::vector<ForwardRecord> forwards(const std::string& vm_id);  // "" = all

 private:
  const smolvm_store_vtable& vt_;
  void* handle_ = nullptr;
};

}  // namespace smolvm
