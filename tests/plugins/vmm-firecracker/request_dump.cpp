// fc_request_dump: prints every API request the Firecracker backend sends,
// for a spread of configs, as JSON lines {"config","method","path","body"}.
// check_requests.py validates each body against the API spec. The requests
// come from the plugin's own code path: plan_launch picks the file names
// Firecracker is given (host paths, or chroot paths under the jailer) and
// config_requests builds the bodies.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/vmm-firecracker/fc_launch.h"
#include "plugins/vmm-firecracker/fc_requests.h"

namespace {

struct Variant {
  const char* disk_mode;
  const char* tap;
  bool jailer;
  uint32_t vcpus, mem;
};

void print(const std::string& config, const smolvm_fc::ApiRequest& r) {
  const nlohmann::json line = {
      {"config", config}, {"method", r.method}, {"path", r.path}, {"body", r.body}};
  std::printf("%s\n", line.dump().c_str());
}

}  // namespace

int main() {
  const Variant variants[] = {
      {"isolated", nullptr, false, 2, 512},        {"shared", nullptr, false, 1, 128},
      {"isolated", "smolvm-t0", false, 32, 16384}, {"shared", "smolvm-t1", false, 2, 512},
      {"isolated", nullptr, true, 2, 512},         {"shared", nullptr, true, 4, 1024},
      {"isolated", "smolvm-t2", true, 2, 512},     {"shared", "smolvm-t3", true, 1, 256},
  };
  int failures = 0;
  for (const Variant& v : variants) {
    smolvm_vmm_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.vm_id = "vm-0a1b2c3d";
    cfg.vcpu_count = v.vcpus;
    cfg.mem_size_mib = v.mem;
    cfg.kernel_path = "/cache/images/default/vmlinux";
    cfg.rootfs_path = "/cache/images/default/rootfs.ext4";
    cfg.disk_mode = v.disk_mode;
    cfg.disk_path =
        std::string(v.disk_mode) == "isolated" ? "/state/vms/vm-0a1b2c3d/disk.raw" : nullptr;
    cfg.accel = "kvm";
    cfg.boot_args = "init=/sbin/smolvm-init";
    cfg.vm_dir = "/state/vms/vm-0a1b2c3d";
    cfg.console_log = "/state/vms/vm-0a1b2c3d/console.log";
    cfg.tap_name = v.tap;
    cfg.mac = v.tap ? "06:00:ac:10:00:02" : nullptr;

    smolvm_fc::LaunchSettings s;
    s.firecracker = "/opt/firecracker/firecracker";
    if (v.jailer) {
      s.jailer = "/opt/firecracker/jailer";
      s.uid = 1000;
      s.gid = 1000;
    }
    const std::string name = std::string(v.disk_mode) + (v.tap ? "+tap" : "") +
                             (v.jailer ? "+jailer" : "") + " " + std::to_string(v.vcpus) + "cpu/" +
                             std::to_string(v.mem) + "MiB";
    std::string problem;
    const auto plan = smolvm_fc::plan_launch(cfg, s, problem);
    auto requests = problem.empty() ? smolvm_fc::config_requests(cfg, plan.files, problem)
                                    : std::vector<smolvm_fc::ApiRequest>{};
    if (!problem.empty()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), problem.c_str());
      ++failures;
      continue;
    }
    requests.push_back(smolvm_fc::instance_start());
    for (const auto& r : requests) print(name, r);
  }
  print("actions", smolvm_fc::send_ctrl_alt_del());
  print("pause", smolvm_fc::vm_state(true));
  print("resume", smolvm_fc::vm_state(false));
  return failures == 0 ? 0 : 1;
}
