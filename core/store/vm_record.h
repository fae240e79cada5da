// VmRecord: one VM's row in the store, typed. The spec is the VmSpec it was
// created from (core/config/vm_spec.h); VmRuntime is everything learned or
// made for it since: paths, the plugins chosen, processes, network lease,
// limits and executor data. Both are stored as JSON, converted only here
// (runtime) and in vm_spec.cpp (spec), so each key is named once.
//
// Changes to a stored record go through core/state/vm_writer.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/vm_spec.h"

namespace smolvm {

// VmRuntime::paused_by of a VM its idle policy paused.
inline constexpr const char* kPausedByIdle = "idle";
// VmRuntime::paused_by of a VM its supervisor holds still while it saves it
// (a snapshot); it runs again by itself once the snapshot is written.
inline constexpr const char* kPausedBySnapshot = "snapshot";
// VmRuntime::paused_by of a stopped VM its idle policy hibernated: its
// memory and devices are saved in its hibernation folder (restore_state
// names that file), and its next start restores them.
inline constexpr const char* kHibernated = "hibernated";

struct VmRuntime {
  // Files of the VM, fixed at create.
  std::string vm_dir;
  std::string kernel_path, rootfs_path;
  std::string disk_path;  // "" for a shared disk
  // The user and working directory of a command that names none, from the
  // image's defaults (core/runtime/image.h), read once at create.
  std::string image_user, image_workdir;
  uint32_t disk_size_mib = 0;
  std::string console_log;
  std::string supervisor_socket;
  std::string token;  // clients' password for the supervisor socket

  // The plugins resolved from the spec's "auto" (create), and the
  // accelerator and kernel command line of the current boot (start).
  // Records older than networking have no "network": they have none.
  std::string vmm, executor, network = "none";
  std::string accel;
  std::string boot_args;
  // The current boot's wait for the guest when its start gave one
  // (smolvm_vm_start_ex); 0: the spec's boot_timeout_s. See boot_timeout_ms().
  uint32_t boot_timeout_ms = 0;

  // Processes. A pid with its start time (-1: unknown) names one process
  // even after its pid is reused. 0: none.
  int64_t supervisor_pid = 0, vmm_pid = 0;
  // Set while create runs, so gc can tell a create in progress from one
  // whose process was killed.
  int64_t creator_pid = 0, creator_start = -1;
  // An ephemeral VM's owner (core/runtime/owner_link.h).
  int64_t owner_pid = 0, owner_start = -1;

  // The network lease (core/network/network.h); empty without a network.
  struct Lease {
    std::string ip, tap, mac, gateway, dns;
    uint32_t prefix = 16;
  } lease;

  // What the supervisor confined the VMM with, as it reported them
  // (core/supervisor/cgroup.h, privileges.h, vmm_user.h): shown by
  // `smolvm inspect`, and the cgroup's paths let a later process remove
  // groups a dead supervisor left. null when not recorded.
  struct Limits {
    nlohmann::json cgroup, privileges, vmm_user;
  } limits;

  // The executor plugin's own data for this VM, a JSON object it sets in
  // its hooks and gets back in every hook and at connect (plugin.h,
  // smolvm_executor_vm): e.g. the SSH executor's key and pinned host key.
  nlohmann::json executor_data = nlohmann::json::object();

  // The last boot and its end.
  int64_t started_at_ms = 0, stopped_at_ms = 0;
  std::string agent_version;
  std::string last_error;   // "" when the last start or stop went well
  std::string last_exit;    // how the VM last ended when that was not an error
  bool setup_done = false;  // the profile's setup commands ran

  // The spec's lifetime as the supervisor keeps it (core/supervisor/
  // lifetime.h), written when the VM starts running, pauses or resumes.
  // ttl_deadline_ms: when the ttl passes (epoch ms) while it runs, 0
  // otherwise; ttl_left_ms: the running time left, frozen while paused.
  // paused_by: "idle" when the idle policy paused it (a command resumes it),
  // "snapshot" while a snapshot is being written (commands wait for it).
  int64_t ttl_deadline_ms = 0, ttl_left_ms = 0;
  std::string paused_by;  // kPausedByIdle, kPausedBySnapshot or ""

  // A VM restored from a snapshot (core/runtime/snapshots.h): the
  // snapshot's id, the read-only disk layers under its disk (oldest first;
  // the disk is an overlay on the last), and the saved state its first
  // start loads instead of booting ("" once that start loaded it: later
  // starts boot its disk).
  std::vector<std::string> disk_layers;
  std::string snapshot;
  std::string restore_state;

  // How the VM's guest came up at its first start (core/runtime/
  // templates.h): boot "snapshot" (restored from a template or a snapshot)
  // or "cold", and why in words; template_dir: the template its disk sits
  // on ("" if none).
  std::string boot, boot_reason, template_dir;

  // Keys this version does not know (written by a newer one), kept so that
  // rewriting the record does not drop them.
  nlohmann::json unknown = nlohmann::json::object();
};

struct VmRecord {
  std::string id;
  std::string state;
  VmSpec spec;
  VmRuntime runtime;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// How long the current boot may wait for the guest agent, in ms.
int64_t boot_timeout_ms(const VmRecord& rec);
// The running time left of the VM's ttl at now_ms (epoch ms), as
// smolvm_vm_info.ttl_left_ms: -1 without a ttl, the frozen rest while
// paused, the whole ttl while neither running nor paused.
int64_t ttl_left_ms(const VmRecord& rec, int64_t now_ms);

nlohmann::json to_json(const VmRuntime& rt);
// Reads a stored runtime document. Every record written since the first
// release reads back: missing keys keep their defaults, and a value of the
// wrong type is ignored like a missing one (a hand-edited store must not
// stop `smolvm ls`). Records older than executor data kept an executor's
// fields as top-level keys "<executor>_<field>": they become its data.
VmRuntime runtime_from_json(const nlohmann::json& j);

}  // namespace smolvm
