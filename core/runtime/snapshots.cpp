#include "core/runtime/snapshots.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/config/vm_spec.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kManifest = "manifest.json";

[[noreturn]] void damaged(const std::string& dir, const std::string& why) {
  fail(SMOLVM_EINVAL, "snapshot " + dir + " is damaged: " + why);
}

template <class T>
T field(const json& j, const char* key, const std::string& dir) {
  const auto it = j.find(key);
  if (it == j.end()) damaged(dir, std::string(kManifest) + " has no '" + key + "'");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    damaged(dir, std::string(kManifest) + ": '" + key + "' has the wrong type");
  }
}

std::string mismatch(const char* field_name, const std::string& asked, const std::string& saved,
                     const std::string& id) {
  return field_name + std::string("=") + asked + ": snapshot " + id + " was taken with " + saved +
         ", and a saved VM runs only on the machine it was saved from (leave " + field_name +
         " unset to take the snapshot's)";
}

}  // namespace

bool is_valid_snapshot_name(const std::string& name) {
  return is_valid_image_name(name);  // one rule for both, so profiles can check either
}

std::string generate_snapshot_id() { return "snap-" + random_hex(4); }

Snapshot snapshot_of(const VmRecord& rec) {
  Snapshot s;
  s.source_vm = rec.id;
  s.vcpu_count = rec.spec.vcpu_count;
  s.mem_size_mib = rec.spec.mem_size_mib;
  s.kernel_path = rec.runtime.kernel_path;
  s.rootfs_path = rec.runtime.rootfs_path;
  s.vmm = rec.runtime.vmm;
  s.executor = rec.runtime.executor;
  s.accel = rec.runtime.accel;
  s.network = rec.runtime.network.empty() ? s.network : rec.runtime.network;
  s.spec = to_json(rec.spec);
  return s;
}

StagingFolder::~StagingFolder() {
  if (!keep && !path.empty()) remove_tree(path);
}

json to_json(const Snapshot& s) {
  return json{{"id", s.id},
              {"name", s.name},
              {"source_vm", s.source_vm},
              {"created_at_ms", s.created_at_ms},
              {"vcpu_count", s.vcpu_count},
              {"mem_size_mib", s.mem_size_mib},
              {"kernel_path", s.kernel_path},
              {"rootfs_path", s.rootfs_path},
              {"vmm", s.vmm},
              {"executor", s.executor},
              {"accel", s.accel},
              {"network", s.network},
              {"state_bytes", s.state_bytes},
              {"disk_bytes", s.disk_bytes},
              {"layers", s.layers},
              {"spec", s.spec}};
}

Snapshot snapshot_from_json(const json& j, const std::string& dir) {
  if (!j.is_object()) damaged(dir, std::string(kManifest) + " is not a JSON object");
  Snapshot s;
  s.dir = dir;
  s.id = field<std::string>(j, "id", dir);
  s.name = field<std::string>(j, "name", dir);
  s.source_vm = field<std::string>(j, "source_vm", dir);
  s.created_at_ms = field<int64_t>(j, "created_at_ms", dir);
  s.vcpu_count = field<uint32_t>(j, "vcpu_count", dir);
  s.mem_size_mib = field<uint32_t>(j, "mem_size_mib", dir);
  s.kernel_path = field<std::string>(j, "kernel_path", dir);
  s.rootfs_path = field<std::string>(j, "rootfs_path", dir);
  s.vmm = field<std::string>(j, "vmm", dir);
  s.executor = field<std::string>(j, "executor", dir);
  s.accel = field<std::string>(j, "accel", dir);
  // Snapshots written before networked VMs could be saved have none.
  if (j.contains("network")) s.network = field<std::string>(j, "network", dir);
  if (s.network.empty()) damaged(dir, std::string(kManifest) + ": 'network' is empty");
  s.state_bytes = field<uint64_t>(j, "state_bytes", dir);
  s.disk_bytes = field<uint64_t>(j, "disk_bytes", dir);
  s.layers = field<std::vector<std::string>>(j, "layers", dir);
  s.spec = field<json>(j, "spec", dir);
  if (s.layers.empty()) damaged(dir, "no disk layers");
  if (!s.spec.is_object()) damaged(dir, "'spec' is not an object");
  return s;
}

std::vector<Snapshot> list_snapshots(const std::string& state_dir,
                                     std::vector<std::string>* problems) {
  std::vector<Snapshot> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(snapshots_dir(state_dir), ec)) {
    const std::string name = e.path().filename().string();
    if (name[0] == '.' || !e.is_directory()) continue;  // .tmp-*: being written
    try {
      const std::string dir = e.path().string();
      json j;
      try {
        j = json::parse(read_file(dir + "/" + kManifest));
      } catch (const json::exception& pe) {
        damaged(dir, std::string(kManifest) + " is not JSON (" + pe.what() + ")");
      }
      out.push_back(snapshot_from_json(j, dir));
    } catch (const Error& err) {
      if (problems) problems->push_back(err.what());
    }
  }
  std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.created_at_ms != b.created_at_ms ? a.created_at_ms < b.created_at_ms : a.id < b.id;
  });
  return out;
}

Snapshot find_snapshot(const std::string& state_dir, const std::string& id_or_name) {
  if (id_or_name.empty()) fail(SMOLVM_EINVAL, "snapshot='': a snapshot id or name is required");
  std::vector<std::string> problems;
  for (const auto& s : list_snapshots(state_dir, &problems)) {
    if (s.id == id_or_name || s.name == id_or_name) return s;
  }
  // A damaged snapshot of that id says so rather than "not found".
  for (const auto& p : problems) {
    if (p.find("/" + id_or_name + " ") != std::string::npos) fail(SMOLVM_EINVAL, p);
  }
  fail(SMOLVM_ENOTFOUND, "snapshot '" + id_or_name + "' not found (smolvm snapshot ls lists them)");
}

void check_restore_matches(const Snapshot& s, uint32_t vcpu_count, uint32_t mem_size_mib,
                           const std::string& kernel_path, const std::string& rootfs_path) {
  if (vcpu_count != 0 && vcpu_count != s.vcpu_count) {
    fail(SMOLVM_EINVAL, mismatch("vcpu_count", std::to_string(vcpu_count),
                                 std::to_string(s.vcpu_count) + " vCPUs", s.id));
  }
  if (mem_size_mib != 0 && mem_size_mib != s.mem_size_mib) {
    fail(SMOLVM_EINVAL, mismatch("mem_size_mib", std::to_string(mem_size_mib),
                                 std::to_string(s.mem_size_mib) + " MiB", s.id));
  }
  if (!kernel_path.empty() && kernel_path != s.kernel_path) {
    fail(SMOLVM_EINVAL, mismatch("kernel_path", kernel_path, "the kernel " + s.kernel_path, s.id));
  }
  if (!rootfs_path.empty() && rootfs_path != s.rootfs_path) {
    fail(SMOLVM_EINVAL, mismatch("rootfs_path", rootfs_path, "the image " + s.rootfs_path, s.id));
  }
}

void check_snapshot_files(const Snapshot& s) {
  const std::string state = snapshot_state_file(s.dir);
  struct stat st {};
  if (::stat(state.c_str(), &st) != 0) damaged(s.dir, "its state file " + state + " is missing");
  if (static_cast<uint64_t>(st.st_size) != s.state_bytes) {
    damaged(s.dir, "its state file " + state + " has " + std::to_string(st.st_size) +
                       " bytes, the snapshot recorded " + std::to_string(s.state_bytes) +
                       " (truncated or replaced)");
  }
  for (const auto& layer : s.layers) {
    if (!path_exists(layer)) damaged(s.dir, "its disk layer " + layer + " is missing");
  }
}

}  // namespace smolvm
