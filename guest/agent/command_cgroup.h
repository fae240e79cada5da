// A cgroup (v2) of its own for every command, so that a timeout or a kill
// reaches everything the command started: processes that left its process
// group (setsid, double fork, nohup) stay in its cgroup, and cgroup.kill
// (Linux 5.14+) kills the whole group at once. Without cgroup2 (another
// kernel, or the agent run on a host) commands fall back to their process
// group, and the agent's log says so once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace smolvm::agent {

// Where the agent keeps its commands' groups.
inline constexpr const char* kCommandCgroupRoot = "/sys/fs/cgroup/smolvm-exec";

// Turns per-command groups on (mounting cgroup2 on /sys/fs/cgroup when
// needed). Only the guest's init calls this: on a host the agent must not
// touch the host's cgroup tree. Returns whether they are available.
bool enable_command_cgroups();
bool command_cgroups_enabled();

class CommandCgroup {
 public:
  CommandCgroup() = default;
  ~CommandCgroup();
  CommandCgroup(const CommandCgroup&) = delete;
  CommandCgroup& operator=(const CommandCgroup&) = delete;

  // Makes a fresh, empty group; false (with err) when groups are off or the
  // kernel refused. The group's folder is then open as dir_fd() for
  // clone3(CLONE_INTO_CGROUP).
  bool create(std::string& err);
  bool active() const { return dir_fd_ >= 0; }
  int dir_fd() const { return dir_fd_; }
  const std::string& path() const { return path_; }

  // SIGKILL: cgroup.kill, which also catches processes forking meanwhile.
  // Other signals: every process in the group.
  void signal(int sig) const;
  // Drops the group: removed now if empty, else once its last process is
  // gone (sweep_command_cgroups).
  void release();

 private:
  std::string path_;
  int dir_fd_ = -1;
};

// Removes released groups that have become empty; cheap, called whenever
// the agent reaps a child (an orphan's death is how a group empties).
void sweep_command_cgroups();

// Named groups for commands the agent does not start itself: executor-ssh
// runs `smolvm-agent --in-cgroup NAME -- ARGV...` through the guest's sshd,
// and on a timeout or kill `smolvm-agent --kill-cgroup NAME`. Since 1.2.

// A name is 1-64 of [A-Za-z0-9_-], so it is one folder under
// kCommandCgroupRoot and never a path.
bool valid_command_cgroup_name(const std::string& name);
// Removes the named groups left by commands that ended normally (nobody
// kills those): empty ones older than a few seconds, so that a group just
// made for a command about to join it is never taken.
void sweep_named_command_cgroups();
// Makes kCommandCgroupRoot/NAME (cgroup2 must already be mounted, as the
// guest's init does) and moves the calling process into it.
bool join_named_command_cgroup(const std::string& name, std::string& err);
// cgroup.kill on kCommandCgroupRoot/NAME, then waits up to wait_ms for it
// to empty and removes it. False with err if there is no such group (then
// no_group: no cgroup2 in this guest) or it would not empty in time.
bool kill_named_command_cgroup(const std::string& name, int wait_ms, bool& no_group,
                               std::string& err);

}  // namespace smolvm::agent
