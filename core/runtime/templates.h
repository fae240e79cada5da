// Templates: a snapshot of a freshly booted guest (its agent answered,
// nothing run in it yet) that a VM's first start restores instead of
// booting. One per (image, vCPUs, memory, VMM, executor, accel), kept in
// the image's folder of the cache, so it goes with the image:
//   images/<key>/templates/<variant>/   manifest.json, state, disk.qcow2
// (the same files as a snapshot, core/runtime/snapshots.h). A template
// appears whole (written under templates/.tmp-<variant>.<pid>, renamed
// under templates/<variant>.lock) or not at all, and is never changed: VMs
// restored from it sit on its disk layer with overlays of their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/runtime/snapshots.h"

namespace smolvm {

// What a template must match: the machine the saved guest runs on.
struct TemplateKey {
  std::string kernel_path, rootfs_path;  // canonical, as the VM records them
  uint32_t vcpu_count = 0, mem_size_mib = 0;
  std::string vmm, executor, accel;  // resolved names
};

// How a VM's first start gets its guest, and why (smolvm_vm_info.boot).
inline constexpr const char* kBootSnapshot = "snapshot";
inline constexpr const char* kBootCold = "cold";

// What a VM brings that a template's guest cannot have; each filled from
// the VM before its first start.
struct TemplateFit {
  std::string boot_mode;           // VmSpec::boot
  std::string template_env;        // $SMOLVM_TEMPLATE ("" when unset)
  bool first_start = true;         // later starts boot the VM's own disk
  bool restoring = false;          // created from a snapshot already
  std::string network;             // resolved; only "none" fits
  std::string disk_mode;           // only "isolated" fits
  std::string boot_args;           // the spec's kernel args
  uint32_t disk_size_mib = 0;      // the spec's: a template's guest grew / to the image's
  std::string executor_boot_args;  // what the executor's booting hook adds
  std::string executor;
  bool image_cached = true;  // the image is in the cache (templates live there)
  bool image_kernel = true;  // the kernel is that image's own (the key holds no other)
  bool image_tools = true;   // the image has what a restored guest runs (image_has_template_tools)
  bool vmm_can_restore = true;  // save_state and launch_restore (plugin ABI 1.5)
  std::string vmm;
};

// "" when a template fits the VM, else why it boots cold, in words for
// `smolvm inspect` (e.g. "disabled by SMOLVM_TEMPLATE=0").
std::string template_misfit(const TemplateFit& fit);

// The template's folder for key: <image folder>/templates/<variant>.
std::string template_dir(const std::string& image_dir, const TemplateKey& key);

// The template in dir, checked whole (manifest, state size, disk layer,
// and that it matches key); found=false when there is none. A damaged one
// is discarded (discard_template), and why is in *removed_why; kept is
// set when it had to stay (in use), and then no new one can be made.
struct FoundTemplate {
  bool found = false;
  bool kept = false;
  Snapshot snapshot;
};
FoundTemplate find_template(const std::string& dir, const TemplateKey& key,
                            std::string* removed_why);

// Removes a template folder so that no reader sees half of it: renamed
// aside first. Best effort (false when it could not).
bool remove_template(const std::string& dir);
// Removes a template no longer fit for use, unless VMs or snapshots still
// sit on its disk layer (its used-by/ markers): then it stays, and false.
bool discard_template(const std::string& dir);

// Templates in an image folder, for `smolvm image ls` and `doctor`.
std::vector<Snapshot> list_templates(const std::string& image_dir);

// Holds templates/<variant>.lock while a template is made. try_lock: false
// when another process holds it (it is making that template).
class TemplateLock {
 public:
  explicit TemplateLock(const std::string& dir);
  ~TemplateLock();
  TemplateLock(const TemplateLock&) = delete;
  TemplateLock& operator=(const TemplateLock&) = delete;
  bool try_lock();

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace smolvm
