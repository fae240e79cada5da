#include "core/ssh/ssh_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/process.h"
#include "core/runtime/guest_session.h"
#include "core/runtime/runtime.h"
#include "protocol/base64.h"

namespace smolvm {
namespace {

constexpr const char* kGuestHostKey = "/etc/ssh/ssh_host_ed25519_key.pub";
// Init makes the host key in the background while the agent already
// serves; under TCG that takes well under a second.
constexpr int64_t kHostKeyWaitMs = 30000;
constexpr int kPollMs = 20;

bool uses_ssh(const nlohmann::json& runtime) {
  return runtime.value("executor", std::string()) == "ssh";
}

// "ssh-ed25519 <base64 blob>" from a .pub line (comment dropped), or "".
std::string normalize_key_line(const std::string& text) {
  const auto sp = text.find(' ');
  if (text.compare(0, sp, "ssh-ed25519") != 0 || sp == std::string::npos) return "";
  auto end = text.find_first_of(" \r\n", sp + 1);
  if (end == std::string::npos) end = text.size();
  const std::string blob = text.substr(sp + 1, end - sp - 1);
  const auto raw = proto::base64_decode(blob);
  // A partly written file decodes to fewer bytes than an ed25519 key's 51.
  if (!raw || raw->size() != 51) return "";
  return "ssh-ed25519 " + blob;
}

}  // namespace

void check_ssh_network(const std::string& executor, const std::string& requested_network,
                       const std::string& network) {
  if (executor != "ssh" || network != "none") return;
  fail(SMOLVM_EINVAL,
       "executor='ssh' with network='" + requested_network +
           (requested_network == network ? "" : "' (resolved to 'none'") +
           "': the SSH executor reaches sshd on the guest's IP, so it needs a network "
           "(network=nftables|iptables|auto with one available), or use executor=agent");
}

void prepare_ssh_keys(Store& store, VmRecord& rec) {
  if (!uses_ssh(rec.runtime)) return;
  const std::string path = rec.runtime.value("vm_dir", std::string()) + "/ssh_key";
  ::unlink(path.c_str());
  ::unlink((path + ".pub").c_str());
  const CommandResult r = run_command(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "smolvm-" + rec.id, "-f", path});
  if (r.exit_code != 0) {
    fail(SMOLVM_ERROR, "cannot make the VM's SSH key with ssh-keygen (package openssh-client): " +
                           (r.output.empty() ? "exit " + std::to_string(r.exit_code) : r.output));
  }
  if (::chmod(path.c_str(), 0600) != 0) fail_errno(SMOLVM_EIO, "chmod 0600 " + path);
  rec.runtime["ssh_key_path"] = path;
  store.update(rec.id, "", nullptr, &rec.runtime, "");
}

std::string ssh_boot_args(nlohmann::json& runtime, const std::string& disk_mode) {
  if (!uses_ssh(runtime)) return "";
  const std::string dir = runtime.value("vm_dir", std::string());
  if (disk_mode == "shared") {
    runtime.erase("ssh_host_key");
    ::unlink((dir + "/known_hosts").c_str());
  }
  std::string pub = read_file(runtime.value("ssh_key_path", dir + "/ssh_key") + ".pub");
  while (!pub.empty() && (pub.back() == '\n' || pub.back() == '\r')) pub.pop_back();
  return "smolvm.ssh_key=" + proto::base64_encode(pub);
}

void pin_host_key(Runtime& rt, const std::string& id) {
  VmRecord rec = rt.store().get(id);
  if (!uses_ssh(rec.runtime) || !rec.runtime.value("ssh_host_key", std::string()).empty()) return;
  // The agent, never SSH, is asked: it is PID 1 and reached through the VMM.
  GuestSession agent(rt, id, "agent");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kHostKeyWaitMs);
  std::string key, last_error = "the file did not appear";
  for (;;) {
    try {
      key = normalize_key_line(agent.read_file(kGuestHostKey));
      if (!key.empty()) break;
      last_error = "it is not a complete ssh-ed25519 public key";
    } catch (const Error& e) {
      if (e.status() != SMOLVM_ENOTFOUND) throw;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      fail(SMOLVM_ETIMEOUT, std::string("SSH host key was not learned: ") + kGuestHostKey +
                                " within " + std::to_string(kHostKeyWaitMs / 1000) + " s (" +
                                last_error + "; see the console log for sshd's start)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  rec = rt.store().get(id);  // fresh: others may have updated it meanwhile
  rec.runtime["ssh_host_key"] = key;
  const std::string dir = rec.runtime.value("vm_dir", std::string());
  write_file_atomic(dir + "/known_hosts", rec.runtime.value("ip", std::string()) + " " + key + "\n",
                    0600);
  rt.store().update(id, "", nullptr, &rec.runtime, "");
}

}  // namespace smolvm
