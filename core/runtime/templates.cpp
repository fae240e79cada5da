#include "core/runtime/templates.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/runtime/image_users.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

std::string templates_dir_of(const std::string& dir) {
  return fs::path(dir).parent_path().string();
}

// What differs between the template's machine and the key, or "".
std::string key_mismatch(const Snapshot& s, const TemplateKey& key) {
  if (s.vcpu_count != key.vcpu_count || s.mem_size_mib != key.mem_size_mib) {
    return "it was made for " + std::to_string(s.vcpu_count) + " vCPUs and " +
           std::to_string(s.mem_size_mib) + " MiB";
  }
  if (s.kernel_path != key.kernel_path || s.rootfs_path != key.rootfs_path) {
    return "it was made from another image (" + s.rootfs_path + ")";
  }
  if (s.vmm != key.vmm || s.executor != key.executor || s.accel != key.accel) {
    return "it was made for vmm=" + s.vmm + " executor=" + s.executor + " accel=" + s.accel;
  }
  return {};
}

}  // namespace

std::string template_misfit(const TemplateFit& fit) {
  if (fit.template_env == "0") return "disabled by SMOLVM_TEMPLATE=0";
  if (fit.boot_mode == "cold") return "disabled by the VM's options (boot=cold)";
  if (fit.restoring) return "";  // a snapshot of its own: restored, not a template's
  if (!fit.first_start) return "a later start boots the VM's own disk";
  if (fit.disk_mode != "isolated") {
    return "disk_mode=" + fit.disk_mode + " (a template's disk layer needs an isolated disk)";
  }
  if (!fit.network.empty() && fit.network != "none") {
    return "the VM has a network (" + fit.network +
           "); a template's guest has none and would keep its address";
  }
  if (!fit.boot_args.empty()) return "the VM sets kernel args (boot_args)";
  if (fit.disk_size_mib != 0) {
    return "the VM sizes its disk (disk_size_mib=" + std::to_string(fit.disk_size_mib) +
           "); a template's guest has the image's size";
  }
  if (!fit.executor_boot_args.empty()) {
    return "executor " + fit.executor + " passes kernel args of its own to each VM";
  }
  if (!fit.image_cached) {
    return "the image is the user's own files, not a cached image (templates are kept beside "
           "cached images)";
  }
  if (!fit.image_kernel) {
    return "the VM boots a kernel of its own (kernel_path is not its image's; templates are kept "
           "per image)";
  }
  if (!fit.image_tools) {
    return "the image lacks date or perl, which a guest restored from a template runs to set its "
           "clock and reseed its RNG (a clone must not share its siblings' random numbers)";
  }
  if (!fit.vmm_can_restore) {
    return "the VMM plugin " + fit.vmm + " cannot save and restore a VM (plugin ABI 1.5)";
  }
  return "";
}

std::string template_dir(const std::string& image_dir, const TemplateKey& key) {
  return image_dir + "/templates/" + std::to_string(key.vcpu_count) + "cpu-" +
         std::to_string(key.mem_size_mib) + "mib-" + key.vmm + "-" + key.executor + "-" + key.accel;
}

FoundTemplate find_template(const std::string& dir, const TemplateKey& key,
                            std::string* removed_why) {
  FoundTemplate out;
  if (!path_exists(dir)) return out;
  std::string why;
  try {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(dir + "/manifest.json"));
    } catch (const nlohmann::json::exception& e) {
      fail(SMOLVM_EINVAL,
           "template " + dir + " is damaged: manifest.json is not JSON (" + e.what() + ")");
    }
    out.snapshot = snapshot_from_json(j, dir);
    check_snapshot_files(out.snapshot);
    why = key_mismatch(out.snapshot, key);
    if (!why.empty()) why = "template " + dir + " does not fit: " + why;
  } catch (const Error& e) {
    why = e.what();
  }
  if (why.empty()) {
    out.found = true;
    return out;
  }
  // Never half-used: a template that does not read whole goes, and the
  // start that found it makes a new one.
  FoundTemplate none;
  none.kept = !discard_template(dir);
  if (removed_why) *removed_why = why;
  return none;
}

bool remove_template(const std::string& dir) {
  const std::string aside =
      templates_dir_of(dir) + "/.rm-" + fs::path(dir).filename().string() + "." + random_hex(4);
  if (::rename(dir.c_str(), aside.c_str()) != 0) return false;
  return remove_tree(aside);
}

bool discard_template(const std::string& dir) {
  if (!folder_users(dir).empty()) return false;
  return remove_template(dir);
}

std::vector<Snapshot> list_templates(const std::string& image_dir) {
  std::vector<Snapshot> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(image_dir + "/templates", ec)) {
    const std::string name = e.path().filename().string();
    if (name[0] == '.' || !e.is_directory()) continue;
    try {
      out.push_back(
          snapshot_from_json(nlohmann::json::parse(read_file(e.path().string() + "/manifest.json")),
                             e.path().string()));
    } catch (const std::exception&) {
      // Half-written or damaged: the next start that needs it replaces it.
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Snapshot& a, const Snapshot& b) { return a.dir < b.dir; });
  return out;
}

TemplateLock::TemplateLock(const std::string& dir) : path_(dir + ".lock") {}

TemplateLock::~TemplateLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool TemplateLock::try_lock() {
  make_dirs(templates_dir_of(path_), 0755);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_errno(SMOLVM_EIO, "cannot open " + path_);
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
  ::close(fd_);
  fd_ = -1;
  return false;
}

}  // namespace smolvm
