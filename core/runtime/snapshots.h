// Snapshots: a VM's memory, device state and disk at one moment, kept in a
// folder of the state dir (snapshots/<id>/) that is its own record:
//   manifest.json  what it is (Snapshot below)
//   state          the VMM's saved memory and device state (save_state)
//   disk.qcow2     the VM's disk then: a read-only layer from now on
//   used-by/       markers of the VMs and snapshots built on that layer
// The folder appears whole (written under snapshots/.tmp-<id>, then
// renamed) or not at all. No store row: listing reads the folders, as
// `smolvm image ls` reads the images.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/store/vm_record.h"

namespace smolvm {

struct Snapshot {
  std::string id;    // "snap-" + 8 hex digits
  std::string name;  // the user's, may be ""
  std::string dir;   // its folder (not stored: where it was found)
  std::string source_vm;
  int64_t created_at_ms = 0;
  // The machine it can be restored onto: exactly this one.
  uint32_t vcpu_count = 0, mem_size_mib = 0;
  std::string kernel_path, rootfs_path;  // the image (its files)
  std::string vmm, executor, accel;
  // The source's network plugin, or "none": every restore gets a network of
  // that plugin with its own lease, TAP, MAC and address (none: no NIC).
  std::string network = kNoNetwork;
  uint64_t state_bytes = 0, disk_bytes = 0;
  // The disk layers a restored VM's disk sits on, oldest first: the source
  // VM's own layers (it may itself be restored), then this disk.qcow2.
  std::vector<std::string> layers;
  // The source VM's spec (VmSpec JSON): env, boot timeout... for restores.
  nlohmann::json spec = nlohmann::json::object();
};

// [a-z0-9][a-z0-9._-]{0,62}: is_valid_image_name, the rule of names people type.
bool is_valid_snapshot_name(const std::string& name);
std::string generate_snapshot_id();

// A snapshot of rec as it runs: the machine it was saved on and its spec
// (id, name, time, sizes and layers are the taker's to fill).
Snapshot snapshot_of(const VmRecord& rec);

// A folder a snapshot is written into, removed unless kept (every failure
// between its making and its publishing).
struct StagingFolder {
  std::string path;
  bool keep = false;
  ~StagingFolder();
};

nlohmann::json to_json(const Snapshot& s);
// Reads a manifest; EINVAL naming the folder and the field when a required
// one is missing or of the wrong type (a damaged snapshot is refused, not
// guessed at).
Snapshot snapshot_from_json(const nlohmann::json& j, const std::string& dir);

// Every snapshot in the state dir, oldest first; a folder whose manifest
// does not read is skipped (its error in problems when given).
std::vector<Snapshot> list_snapshots(const std::string& state_dir,
                                     std::vector<std::string>* problems = nullptr);
// By id or name; ENOTFOUND naming it when no snapshot has it.
Snapshot find_snapshot(const std::string& state_dir, const std::string& id_or_name);

// What a restore of s may ask for: 0 means "the snapshot's". EINVAL naming
// the field, both values and why when it differs (a saved VM can only run
// on the machine it was saved from).
void check_restore_matches(const Snapshot& s, uint32_t vcpu_count, uint32_t mem_size_mib,
                           const std::string& kernel_path, const std::string& rootfs_path);

// The saved state as a restore will load it: EINVAL when it is missing or
// its size is not the one recorded (a truncated or replaced file).
void check_snapshot_files(const Snapshot& s);

}  // namespace smolvm
