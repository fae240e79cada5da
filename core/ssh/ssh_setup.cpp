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
#include "core/state/vm_writer.h"
#include "protocol/base64.h"

namespace smolvm {
namespace {

constexpr const char* kGuestHostKey = "/etc/ssh/ssh_host_ed25519_key.pub";
// Init makes the host key in the background while the agent already
// serves; under TCG that takes well under a second.
constexpr int64_t kHostKeyWaitMs = 30000;
constexpr int kPollMs = 20;

bool uses_ssh(const VmRuntime& runtime) { return runtime.executor == "ssh"; }

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

void prepare_ssh_keys(Store& store, VmRecord& rec) {
  if (!uses_ssh(rec.runtime)) return;
  const std::string path = rec.runtime.vm_dir + "/ssh_key";
  ::unlink(path.c_str());
  ::unlink((path + ".pub").c_str());
  const CommandResult r = run_command(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "smolvm-" + rec.id, "-f", path});
  if (r.exit_code != 0) {
    fail(SMOLVM_ERROR, "cannot make the VM's SSH key with ssh-keygen (package openssh-client): " +
                           (r.output.empty() ? "exit " + std::to_string(r.exit_code) : r.output));
  }
  if (::chmod(path.c_str(), 0600) != 0) fail_errno(SMOLVM_EIO, "chmod 0600 " + path);
  rec = update_record(store, rec.id, [&](VmRecord& r) { r.runtime.ssh.key_path = path; });
}

std::string ssh_boot_args(VmRuntime& runtime, const std::string& disk_mode) {
  if (!uses_ssh(runtime)) return "";
  const std::string& dir = runtime.vm_dir;
  if (disk_mode == "shared") {
    runtime.ssh.host_key.clear();
    ::unlink((dir + "/known_hosts").c_str());
  }
  const std::string key = runtime.ssh.key_path.empty() ? dir + "/ssh_key" : runtime.ssh.key_path;
  std::string pub = read_file(key + ".pub");
  while (!pub.empty() && (pub.back() == '\n' || pub.back() == '\r')) pub.pop_back();
  return "smolvm.ssh_key=" + proto::base64_encode(pub);
}

void pin_host_key(Runtime& rt, const std::string& id) {
  VmRecord rec = rt.store().get(id);
  if (!uses_ssh(rec.runtime) || !rec.runtime.ssh.host_key.empty()) return;
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
  rec = update_record(rt.store(), id, [&](VmRecord& r) { r.runtime.ssh.host_key = key; });
  write_file_atomic(rec.runtime.vm_dir + "/known_hosts", rec.runtime.lease.ip + " " + key + "\n",
                    0600);
}

}  // namespace smolvm
