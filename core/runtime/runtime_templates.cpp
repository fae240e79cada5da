// Runtime's use of templates (core/runtime/templates.h): which boot a
// start takes, and making a template from a VM that just booted.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/common/paths.h"
#include "core/common/process.h"
#include "core/runtime/image.h"
#include "core/runtime/image_users.h"
#include "core/runtime/runtime.h"
#include "core/runtime/supervisor_client.h"
#include "core/runtime/templates.h"
#include "core/state/vm_writer.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTemplateEnv = "SMOLVM_TEMPLATE";

std::string template_env() {
  const char* v = std::getenv(kTemplateEnv);
  const std::string value = v ? v : "";
  if (!value.empty() && value != "0" && value != "1") {
    fail(SMOLVM_EINVAL, std::string(kTemplateEnv) + "='" + value +
                            "': must be 0 (every VM boots cold) or 1 (the default: a VM's first "
                            "start restores a template where one fits)");
  }
  return value;
}

// What a template was made with is read-only from now on: VMs restored
// from it map its state and build on its disk layer.
void make_read_only(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) ::chmod(e.path().c_str(), 0444);
  }
}

// What a crashed maker left: its staging folders (the lock is held, so
// none of them is being written).
void remove_leftovers(const std::string& dir) {
  const fs::path d(dir);
  const std::string prefix = ".tmp-" + d.filename().string() + ".";
  const std::string aside = ".rm-" + d.filename().string() + ".";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(d.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 || name.rfind(aside, 0) == 0) remove_tree(e.path().string());
  }
}

}  // namespace

Runtime::BootPlan Runtime::plan_boot(VmRecord& rec, const std::string& accel,
                                     const std::string& executor_boot_args) {
  BootPlan plan;
  plan.boot = kBootCold;
  if (!rec.runtime.restore_state.empty()) {
    plan.boot = kBootSnapshot;
    plan.reason = "restored from snapshot " + rec.runtime.snapshot;
    return plan;
  }
  const auto& vmm = plugins_.get(SMOLVM_PLUGIN_VMM, rec.runtime.vmm).vtable<smolvm_vmm_vtable>();
  const std::string image_dir = image_dir_of(rec.runtime.rootfs_path, cache_dir_);
  TemplateFit fit;
  fit.boot_mode = rec.spec.boot;
  fit.template_env = template_env();
  fit.first_start = rec.runtime.started_at_ms == 0;
  fit.network = rec.runtime.network;
  fit.disk_mode = rec.spec.disk_mode;
  fit.boot_args = rec.spec.boot_args;
  fit.disk_size_mib = rec.spec.disk_size_mib;
  fit.executor_boot_args = executor_boot_args;
  fit.executor = rec.runtime.executor;
  fit.image_cached = !image_dir.empty();
  fit.image_kernel = image_dir_of(rec.runtime.kernel_path, cache_dir_) == image_dir;
  fit.image_tools = image_has_template_tools(rec.runtime.rootfs_path);
  fit.vmm_can_restore = SMOLVM_VMM_HAS(&vmm, save_state) && SMOLVM_VMM_HAS(&vmm, launch_restore);
  fit.vmm = rec.runtime.vmm;
  plan.reason = template_misfit(fit);
  if (!plan.reason.empty()) return plan;

  const TemplateKey key{rec.runtime.kernel_path,
                        rec.runtime.rootfs_path,
                        rec.spec.vcpu_count,
                        rec.spec.mem_size_mib,
                        rec.runtime.vmm,
                        rec.runtime.executor,
                        accel};
  const std::string dir = template_dir(image_dir, key);
  std::string removed;
  const FoundTemplate found = find_template(dir, key, &removed);
  if (found.kept) {
    plan.reason = removed +
                  "; kept while VMs or snapshots use its disk layer (delete them, and "
                  "the next start makes a new one)";
    return plan;
  }
  if (!found.found) {
    plan.make_dir = dir;
    if (!removed.empty()) plan.before = removed + "; removed; ";
    plan.reason = plan.before + "no template yet: this start makes " + dir;
    return plan;
  }
  // The VM's disk, fresh from create (nothing ran on it), moves onto the
  // template's layer: the guest's memory expects that disk.
  const std::string vm_dir = rec.runtime.vm_dir;
  add_folder_user(dir, vm_dir);  // `image prune` keeps the image; the layer stays
  try {
    if (!rec.runtime.disk_path.empty()) ::unlink(rec.runtime.disk_path.c_str());
    rec.runtime.disk_path = prepare_disk(rec, found.snapshot.layers);
  } catch (...) {
    remove_folder_user(dir, vm_dir);
    rec.runtime.disk_path = prepare_disk(rec, {});
    throw;
  }
  rec.runtime.disk_layers = found.snapshot.layers;
  rec.runtime.restore_state = snapshot_state_file(dir);
  rec.runtime.template_dir = dir;
  plan.boot = kBootSnapshot;
  plan.template_dir = dir;
  plan.from = found.snapshot;
  plan.reason = "restored from template " + dir;
  return plan;
}

void Runtime::unplan_boot(const VmRecord& rec, const BootPlan& plan) {
  if (plan.template_dir.empty()) return;
  try {
    if (!rec.runtime.disk_path.empty()) ::unlink(rec.runtime.disk_path.c_str());
    const std::string disk = prepare_disk(rec, {});
    update_record(*store_, rec.id, [&](VmRecord& r) { r.runtime.disk_path = disk; });
  } catch (const Error&) {
    // The VM's record was not changed (the transition failed): its disk
    // path is the one just made, or the next start makes it again.
  }
  remove_folder_user(plan.template_dir, rec.runtime.vm_dir);
}

std::string Runtime::make_template(const std::string& id, const std::string& dir) {
  const int64_t began = monotonic_ms();
  try {
    TemplateLock lock(dir);
    if (!lock.try_lock()) return "no template yet: another start is making " + dir;
    if (path_exists(dir)) return "no template yet when this start began; another made " + dir;
    remove_leftovers(dir);
    const std::string staging = fs::path(dir).parent_path().string() + "/.tmp-" +
                                fs::path(dir).filename().string() + "." +
                                std::to_string(::getpid());
    make_dirs(staging, 0755);
    StagingFolder guard{staging};
    const VmRecord rec = store_->get(id);
    std::string error;
    proto::VmSnapshotted done;
    const int rc = request_snapshot(rec.runtime.supervisor_socket, rec.runtime.token, staging,
                                    /*stop=*/false, done, error);
    if (rc != 0) fail(rc, error);
    Snapshot s = snapshot_of(rec);
    s.id = "template";
    s.name = fs::path(dir).filename().string();
    s.dir = dir;
    s.created_at_ms = now_ms();
    s.state_bytes = done.state_bytes;
    s.disk_bytes = done.disk_bytes;
    s.layers = {snapshot_disk_file(dir)};
    s.spec = to_json(VmSpec{});  // the clones' own specs apply, not the maker's
    write_file_atomic(staging + "/manifest.json", to_json(s).dump(2) + "\n", 0444);
    make_read_only(staging);
    if (::rename(staging.c_str(), dir.c_str()) != 0) {
      fail_errno(SMOLVM_EIO, "cannot publish " + staging + " as " + dir);
    }
    guard.keep = true;
    return "no template yet: made " + dir + " from this boot (" +
           std::to_string(monotonic_ms() - began) + " ms)";
  } catch (const std::exception& e) {
    return std::string("no template yet, and none could be made: ") + e.what();
  }
}

}  // namespace smolvm
