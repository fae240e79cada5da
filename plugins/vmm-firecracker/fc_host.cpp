#include "plugins/vmm-firecracker/fc_host.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "smolvm/sdk/process.h"

namespace smolvm_fc {
namespace {

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

bool parse_id(const char* text, uint32_t& out) {
  if (!text || !*text) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (*end != '\0' || errno != 0 || v > 0xfffffffeUL) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

const char* const kInstallHint =
    "download a release binary from the Firecracker GitHub releases "
    "(github.com/firecracker-microvm/firecracker/releases, firecracker-<version>-x86_64.tgz) and "
    "put firecracker (and jailer) on PATH or set SMOLVM_FIRECRACKER";

KvmState classify_kvm(const std::string& root) {
  KvmState k;
  const std::string dev = root + "/dev/kvm";
  const bool intel = exists(root + "/sys/module/kvm_intel");
  const bool amd = exists(root + "/sys/module/kvm_amd");
  const bool pvm = exists(root + "/sys/module/kvm_pvm");
  if (!exists(dev)) {
    k.kind = "absent";
    k.detail = "this host has no /dev/kvm; Firecracker needs hardware KVM (kvm_intel or kvm_amd)";
    return k;
  }
  if (!intel && !amd) {
    k.kind = pvm ? "pvm" : "absent";
    k.detail = pvm ? "this host's /dev/kvm is PVM (kvm_pvm), which runs only PVM-patched guest "
                     "kernels; Firecracker needs hardware KVM (kvm_intel or kvm_amd)"
                   : "/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded; Firecracker "
                     "needs hardware KVM";
    return k;
  }
  const int fd = open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    k.kind = "inaccessible";
    k.detail = "/dev/kvm is not read-writable by this user (add it to the kvm group)";
    return k;
  }
  close(fd);
  k.kind = "hardware";
  k.usable = true;
  k.detail = intel ? "hardware KVM (kvm_intel)" : "hardware KVM (kvm_amd)";
  return k;
}

std::string firecracker_setting() {
  const char* env = std::getenv("SMOLVM_FIRECRACKER");
  return env && *env ? env : "firecracker";
}

JailerSetting jailer_setting() {
  JailerSetting s;
  s.uid = getuid();
  s.gid = getgid();
  const char* jailer = std::getenv("SMOLVM_FIRECRACKER_JAILER");
  if (!jailer || !*jailer) return s;
  s.jailer = jailer;
  const char* uid = std::getenv("SMOLVM_FIRECRACKER_UID");
  const char* gid = std::getenv("SMOLVM_FIRECRACKER_GID");
  if (uid && *uid && !parse_id(uid, s.uid)) {
    s.problem = std::string("SMOLVM_FIRECRACKER_UID='") + uid + "': must be a numeric uid";
  } else if (gid && *gid && !parse_id(gid, s.gid)) {
    s.problem = std::string("SMOLVM_FIRECRACKER_GID='") + gid + "': must be a numeric gid";
  }
  return s;
}

int cgroup_version() { return exists("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1; }

ProbeResult probe_host() {
  ProbeResult p;
  const std::string wanted = firecracker_setting();
  p.binary = which(wanted);
  std::vector<std::string> problems;
  if (p.binary.empty()) {
    problems.push_back(wanted + " not found" +
                       (wanted.find('/') == std::string::npos ? " on PATH" : "") + " (" +
                       kInstallHint + ")");
  } else {
    p.version = smolvm::sdk::first_line_of({p.binary, "--version"});
  }
  const KvmState kvm = classify_kvm();
  p.kvm_kind = kvm.kind;
  if (!kvm.usable) problems.push_back(kvm.detail);
  const JailerSetting js = jailer_setting();
  if (!js.jailer.empty()) {
    p.jailer = which(js.jailer);
    if (p.jailer.empty()) {
      problems.push_back("SMOLVM_FIRECRACKER_JAILER=" + js.jailer + " not found");
    }
    if (!js.problem.empty()) problems.push_back(js.problem);
  }
  for (const auto& s : problems) p.reason += (p.reason.empty() ? "" : "; ") + s;
  p.available = problems.empty();
  return p;
}

std::string probe_json(const ProbeResult& p) {
  nlohmann::json j = nlohmann::json::object();
  j["available"] = p.available;
  j["binary"] = p.binary;
  j["version"] = p.version;
  j["reason"] = p.reason;
  j["accels"] = nlohmann::json::array({"kvm"});
  // Preferred by vmm=auto wherever it runs: it boots faster and its VMM is
  // smaller than QEMU's (rank 10).
  j["rank"] = 20;
  j["memory_overhead_mib"] = {{"kvm", 64}};
  j["fix"] =
      "optional: on a host with hardware KVM, put a Firecracker release binary (and jailer) on "
      "PATH or set SMOLVM_FIRECRACKER; vmm=auto then prefers it";
  j["kvm"] = p.kvm_kind;
  j["jailer"] = p.jailer;
  // A version line is whatever the binary printed: never fail on its bytes.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace smolvm_fc
