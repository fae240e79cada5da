#include "plugins/executor-ssh/vm_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "protocol/base64.h"
#include "smolvm/sdk/guard.h"
#include "smolvm/sdk/process.h"

namespace smolvm_ssh {
namespace {

using smolvm::sdk::Error;

constexpr const char* kGuestHostKey = "/etc/ssh/ssh_host_ed25519_key.pub";
// Init makes the host key in the background while the agent already
// serves; under TCG that takes well under a second.
constexpr int64_t kHostKeyWaitMs = 30000;
constexpr int kPollMs = 20;
// A .pub line is about 100 bytes; anything near this is not one.
constexpr size_t kHostKeyMaxBytes = 4096;
// An ed25519 public key blob: a partly written file decodes to fewer bytes.
constexpr size_t kEd25519BlobBytes = 51;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(SMOLVM_EIO, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Written beside, then renamed over: a reader never sees half a file.
void write_private_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(SMOLVM_EIO, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (::chmod(tmp.c_str(), 0600) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(SMOLVM_EIO, "cannot write " + path + ": " + why);
  }
}

}  // namespace

VmData parse_vm_data(const char* data_json) {
  VmData d;
  if (data_json == nullptr) return d;
  const auto j = nlohmann::json::parse(data_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return d;
  if (auto it = j.find("key_path"); it != j.end() && it->is_string()) d.key_path = *it;
  if (auto it = j.find("host_key"); it != j.end() && it->is_string()) d.host_key = *it;
  return d;
}

std::string to_json(const VmData& data) {
  nlohmann::json j = nlohmann::json::object();
  if (!data.key_path.empty()) j["key_path"] = data.key_path;
  if (!data.host_key.empty()) j["host_key"] = data.host_key;
  return j.dump();
}

std::string key_path_of(const VmData& data, const std::string& vm_dir) {
  return data.key_path.empty() ? vm_dir + "/ssh_key" : data.key_path;
}

std::string normalize_key_line(const std::string& text) {
  const auto sp = text.find(' ');
  if (sp == std::string::npos || text.compare(0, sp, "ssh-ed25519") != 0) return "";
  auto end = text.find_first_of(" \r\n", sp + 1);
  if (end == std::string::npos) end = text.size();
  const std::string blob = text.substr(sp + 1, end - sp - 1);
  const auto raw = smolvm::proto::base64_decode(blob);
  if (!raw || raw->size() != kEd25519BlobBytes) return "";
  return "ssh-ed25519 " + blob;
}

void make_key_pair(const smolvm_executor_vm& vm, VmData& data) {
  const std::string path = std::string(vm.vm_dir) + "/ssh_key";
  ::unlink(path.c_str());
  ::unlink((path + ".pub").c_str());
  const auto r = smolvm::sdk::run_tool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                        std::string("smolvm-") + vm.vm_id, "-f", path});
  if (r.exit_code != 0) {
    throw Error(SMOLVM_ERROR,
                "cannot make the VM's SSH key with ssh-keygen (package openssh-client): " +
                    (r.output.empty() ? "exit " + std::to_string(r.exit_code) : r.output));
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    throw Error(SMOLVM_EIO, "chmod 0600 " + path + ": " + std::strerror(errno));
  }
  data.key_path = path;
}

std::string boot_args(const smolvm_executor_vm& vm, VmData& data) {
  const std::string dir = vm.vm_dir;
  if (vm.disk_mode != nullptr && std::string(vm.disk_mode) == "shared") {
    data.host_key.clear();
    ::unlink((dir + "/known_hosts").c_str());
  }
  std::string pub = read_text(key_path_of(data, dir) + ".pub");
  while (!pub.empty() && (pub.back() == '\n' || pub.back() == '\r')) pub.pop_back();
  return "smolvm.ssh_key=" + smolvm::proto::base64_encode(pub);
}

void pin_host_key(const smolvm_executor_vm& vm, VmData& data) {
  if (!data.host_key.empty()) return;
  if (vm.read_guest_file == nullptr) {
    throw Error(SMOLVM_EPLUGIN,
                "the host gave vm_ready no read_guest_file: cannot learn the "
                "guest's SSH host key");
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kHostKeyWaitMs);
  std::string key, last_error = "the file did not appear";
  std::string buf(kHostKeyMaxBytes, '\0');
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    size_t len = 0;
    smolvm_plugin_error err{};
    const int rc = vm.read_guest_file(vm.host, kGuestHostKey,
                                      reinterpret_cast<uint8_t*>(buf.data()), buf.size(), &len,
                                      static_cast<uint32_t>(std::max<int64_t>(left, 1)), &err);
    if (rc == 0) {
      key = normalize_key_line(buf.substr(0, len));
      if (!key.empty()) break;
      last_error = "it is not a complete ssh-ed25519 public key";
    } else if (rc != SMOLVM_ENOTFOUND) {
      throw Error(rc, std::string("cannot read the guest's SSH host key ") + kGuestHostKey + ": " +
                          err.message);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(SMOLVM_ETIMEOUT, std::string("SSH host key was not learned: ") + kGuestHostKey +
                                       " within " + std::to_string(kHostKeyWaitMs / 1000) + " s (" +
                                       last_error + "; see the console log for sshd's start)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  data.host_key = key;
  if (vm.guest_ip != nullptr) {
    write_private_file(std::string(vm.vm_dir) + "/known_hosts",
                       std::string(vm.guest_ip) + " " + key + "\n");
  }
}

}  // namespace smolvm_ssh
