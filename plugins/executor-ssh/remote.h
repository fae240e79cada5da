// What executor-ssh sends to and reads from the guest's shell: the wrapper
// that runs a request in a process group the host can signal, the marker
// that tells the host that group, and names of signals and keys. Pure
// functions, unit-tested without a VM.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smolvm_ssh {

std::string shell_quote(std::string_view s);

struct RemoteRequest {
  std::vector<std::string> argv;  // or command
  std::string command;
  std::vector<std::string> env;  // KEY=VALUE, later entries win
  std::string cwd;               // "" = "/" (as the agent does)
  // command runs in the user's login shell ($SHELL -l -c, as the agent's
  // /etc/passwd shell), or raw in /bin/sh -c.
  bool login_shell = true;
  // The command's own cgroup in the guest (see new_cgroup_name); "" = none.
  std::string cgroup;
};

// Where the guest's static agent lives; its --in-cgroup and --kill-cgroup
// modes put a command into a cgroup of its own and kill that group.
inline constexpr const char* kGuestAgent = "/sbin/smolvm-agent";

// "ssh-" + 16 random hex digits: one cgroup name per command.
std::string new_cgroup_name();

// The helper line that kills a command on SIGKILL: its cgroup (everything
// it started, also what left the process group), then its process group.
// Exits 3 if the guest had no group for it (no cgroup2, or no agent).
// `kill -9 -PGID`, not `kill -9 -- -PGID`: dash's kill takes no `--`.
std::string build_group_kill_command(const std::string& cgroup, long pgid);

// The line sshd hands root's login shell. sshd runs every session's shell
// in a new session (setsid), so the shell's pid is its process group; the
// wrapper reports it on stderr, then execs the command in the same process,
// which keeps the group; with req.cgroup set, through the guest agent's
// --in-cgroup, which first moves the process into that cgroup. A timeout or
// kill then signals the whole group from a second channel (SIGKILL: the
// cgroup too, build_group_kill_command).
std::string build_remote_command(const RemoteRequest& req);

// Pulls the pgid marker out of the head of a stderr stream, passing every
// other byte through untouched.
class PgidFilter {
 public:
  // Returns the bytes that are the command's own stderr.
  std::string feed(std::string_view data);
  // At end of stream: whatever was held back while looking for the marker.
  std::string flush();
  long pgid() const { return pgid_; }
  bool settled() const { return settled_; }

 private:
  std::string held_;
  long pgid_ = 0;
  bool settled_ = false;  // marker found, or given up on
};

// "KILL", "SIGKILL", "KILL@openssh.com" -> 9; unknown -> 0.
int signal_from_name(std::string_view name);

// The base64 blob of an "ssh-ed25519 <base64> [comment]" line, decoded;
// "" if the line is not one.
std::string key_blob(std::string_view key_line);

// OpenSSH's fingerprint of a key blob: "SHA256:" + unpadded base64.
std::string fingerprint(std::string_view blob);

}  // namespace smolvm_ssh
