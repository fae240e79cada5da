#include "plugins/executor-ssh/remote.h"

#include <openssl/evp.h>
#include <string.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "protocol/base64.h"
#include "protocol/shell_words.h"

namespace smolvm_ssh {
namespace {

// Record separator + a name no command prints by accident.
constexpr std::string_view kMarker = "\x1esmolvm-pgid ";
// Anything the login shell prints before the marker is passed on; past this
// much the marker is not coming (a shell that does not run the wrapper).
constexpr size_t kMarkerSearchLimit = 64 << 10;

}  // namespace

std::string shell_quote(std::string_view s) { return smolvm::proto::shell_quote(s); }

std::string build_remote_command(const RemoteRequest& req) {
  std::string cmd = "printf '\\036smolvm-pgid %d\\n' $$ >&2; cd -- ";
  cmd += shell_quote(req.cwd.empty() ? "/" : req.cwd);
  // LANG first, as the agent's init sets it. `export` is a builtin; env(1)
  // costs an exec (about 100 ms under TCG), so it is used only for keys a
  // shell cannot assign (the agent accepts any KEY).
  cmd += " || exit 1; set --";
  // Only where the agent is (the guest): the wrapper also runs on a host in
  // the unit tests, and an image without it still runs commands.
  if (!req.cgroup.empty()) {
    cmd += std::string("; [ -x ") + kGuestAgent + " ] && set -- " + kGuestAgent + " --in-cgroup " +
           shell_quote(req.cgroup) + " --";
  }
  cmd += "; export LANG=C.UTF-8";
  std::string odd;
  std::vector<std::string> env = req.env;
  if (req.argv.empty() && req.login_shell) {
    for (auto& kv : smolvm::proto::saved_env(req.env)) env.push_back(std::move(kv));
  }
  for (const auto& kv : env) {
    (smolvm::proto::is_shell_name(kv.substr(0, kv.find('='))) ? cmd : odd) += " " + shell_quote(kv);
  }
  cmd += odd.empty() ? "; exec \"$@\"" : "; exec \"$@\" env --" + odd;
  if (req.argv.empty()) {
    // sshd sets SHELL to the user's login shell from the passwd entry.
    cmd += req.login_shell ? " \"${SHELL:-/bin/sh}\" -l -c " +
                                 shell_quote(smolvm::proto::login_command(req.env, req.command))
                           : " /bin/sh -c " + shell_quote(req.command);
  } else {
    for (const auto& a : req.argv) cmd += " " + shell_quote(a);
  }
  return cmd;
}

std::string new_cgroup_name() {
  std::random_device rd;
  char name[32];
  std::snprintf(name, sizeof name, "ssh-%08x%08x", rd(), rd());
  return name;
}

std::string build_group_kill_command(const std::string& cgroup, long pgid) {
  return std::string("if [ -x ") + kGuestAgent + " ]; then " + kGuestAgent + " --kill-cgroup " +
         shell_quote(cgroup) + " 2>/dev/null; r=$?; else r=3; fi; kill -9 -" +
         std::to_string(pgid) + " 2>/dev/null; exit $r";
}

std::string PgidFilter::feed(std::string_view data) {
  if (settled_) return std::string(data);
  held_.append(data);
  const size_t at = held_.find(kMarker);
  const size_t nl = at == std::string::npos ? std::string::npos : held_.find('\n', at);
  if (nl != std::string::npos) {
    pgid_ = std::strtol(held_.c_str() + at + kMarker.size(), nullptr, 10);
    settled_ = true;
    std::string out = held_.substr(0, at) + held_.substr(nl + 1);
    held_.clear();
    return out;
  }
  if (held_.size() > kMarkerSearchLimit) return flush();
  return {};
}

std::string PgidFilter::flush() {
  settled_ = true;
  std::string out;
  out.swap(held_);
  return out;
}

int signal_from_name(std::string_view name) {
  if (const auto at = name.find('@'); at != std::string_view::npos) name = name.substr(0, at);
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (int sig = 1; sig < 65; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return 0;
}

std::string key_blob(std::string_view key_line) {
  const auto sp = key_line.find(' ');
  if (sp == std::string_view::npos || key_line.substr(0, sp) != "ssh-ed25519") return "";
  std::string_view b64 = key_line.substr(sp + 1);
  if (const auto end = b64.find_first_of(" \r\n"); end != std::string_view::npos) {
    b64 = b64.substr(0, end);
  }
  return smolvm::proto::base64_decode(b64).value_or("");
}

std::string fingerprint(std::string_view blob) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(blob.data(), blob.size(), md, &len, EVP_sha256(), nullptr) != 1) return "SHA256:?";
  return "SHA256:" +
         smolvm::proto::base64_encode(std::string_view(reinterpret_cast<char*>(md), len), false);
}

}  // namespace smolvm_ssh
