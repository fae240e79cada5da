// The VMM child of a supervisor, reached only through the VMM plugin
// (include/smolvm/plugin.h): its launch with the VM's cgroup, uid and
// console, its pid, killing and reaping it, and what it said when it died.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/store/vm_record.h"
#include "core/supervisor/cgroup.h"
#include "core/supervisor/console_log.h"
#include "core/supervisor/vmm_user.h"
#include "smolvm/plugin.h"

namespace smolvm {

class VmmProcess {
 public:
  explicit VmmProcess(const smolvm_vmm_vtable& vmm) : vmm_(vmm) {}
  VmmProcess(const VmmProcess&) = delete;
  VmmProcess& operator=(const VmmProcess&) = delete;
  ~VmmProcess() { release(); }

  // Prepares the VM's cgroup (guest memory plus the VMM's own overhead)
  // and picks the VMM's uid, launches the VMM (its console into the VM's
  // console log; the TAP only if with_tap) and moves it into the cgroup.
  // A record with a restore_state loads that state instead of booting.
  // Throws the plugin's error.
  void launch(const VmRecord& rec, bool with_tap, uint64_t memory_overhead_mib);
  bool launched() const { return inst_ != nullptr; }
  int64_t pid() const { return pid_; }
  bool exited() const { return exited_; }

  // Connects to the guest agent's channel; 0 and fd, or the plugin's
  // status and message.
  int connect_agent(uint32_t timeout_ms, int& fd, std::string& message);

  // Whether the plugin has the save_state and launch_restore slots (plugin
  // ABI 1.5).
  bool can_snapshot() const;
  // Writes the paused VM's state to state_fd; 0, or the plugin's status
  // with its message.
  int save_state(int state_fd, std::string& message);

  // Whether the plugin has the pause and resume slots (plugin ABI 1.4).
  bool can_pause() const;
  // Stops (pause) or restarts the guest's vCPUs; 0, or the plugin's status
  // with its message.
  int set_paused(bool paused, std::string& message);

  // Asks the plugin to end the VMM (it may take a while to exit).
  void kill();
  void sigkill();
  // Ends the VMM now: kill, wait up to grace_ms, then SIGKILL, and reap it.
  void kill_and_wait(int grace_ms);
  // Reaps every exited child; the VMM's wait status if it was among them.
  std::optional<int> reap_children();
  // Reaps the VMM alone if it has exited.
  std::optional<int> reap_vmm();
  void mark_exited(int status);

  // "exited with status 1", "was killed by signal 9 by the out-of-memory
  // killer of its cgroup (memory limit 512 MiB)", ...
  std::string describe_exit(int status) const;
  // What the VMM itself said: a VMM plugin sends its process's output to
  // <vm_dir>/vmm.log (plugin.h). A VMM that refuses its config (a kernel
  // that is not one, a disk it cannot open) gives its reason only there.
  // "; it said: ..." or "".
  static std::string output_hint(const std::string& vm_dir);

  VmCgroup& cgroup() { return cgroup_; }
  VmmUser& user() { return user_; }

  // Releases the plugin's instance, then closes the console log (after the
  // VMM: its last words are in the log). Idempotent.
  void release();

 private:
  int launch_restore(const std::string& state_path, const smolvm_vmm_config& cfg,
                     smolvm_plugin_error& err);

  const smolvm_vmm_vtable& vmm_;
  void* inst_ = nullptr;
  int64_t pid_ = 0;
  bool exited_ = false;
  std::unique_ptr<ConsoleLog> console_;
  VmCgroup cgroup_;
  VmmUser user_;
};

}  // namespace smolvm
