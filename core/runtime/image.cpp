#include "core/runtime/image.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/config/vm_spec.h"
#include "core/runtime/image_names.h"

namespace smolvm {
namespace {

// The file's canonical path, every symlink resolved. A VM records this, not
// the path it was given: its isolated disk is a qcow2 overlay whose backing
// file is this path, and images/default is a symlink that the next
// `smolvm image build` may move to another image. Through the link, the VM's
// own writes would then sit on top of a different base.
std::string canonical_existing(const std::string& field, const std::string& path,
                               const std::string& hint) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto real = fs::canonical(path, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    fail(SMOLVM_ENOTFOUND, field + "='" + path + "': no such file" + hint);
  }
  if (ec) fail(SMOLVM_EINVAL, field + "='" + path + "': " + ec.message());
  const fs::file_type type = fs::status(real, ec).type();
  if (type == fs::file_type::directory) {
    fail(SMOLVM_EINVAL, field + "='" + path + "': is a folder; name the image file in it");
  }
  if (type != fs::file_type::regular) {
    fail(SMOLVM_EINVAL, field + "='" + path + "': not a regular file (a device, FIFO or socket)");
  }
  return real.string();
}

}  // namespace

std::string default_image_dir(const std::string& cache_dir) {
  return cache_dir + "/images/default";
}

ImagePaths resolve_image(const std::string& image, const std::string& kernel_path,
                         const std::string& rootfs_path, const std::string& cache_dir) {
  const std::string dir =
      image.empty() ? default_image_dir(cache_dir) : named_image_dir(cache_dir, image);
  const std::string hint =
      !image.empty() ? " (image '" + image + "' is incomplete: build it again)"
      : kernel_path.empty() || rootfs_path.empty()
          ? " (the default guest image is missing: build it with `smolvm image build`)"
          : "";
  ImagePaths p;
  p.kernel = canonical_existing("kernel_path", kernel_path.empty() ? dir + "/vmlinux" : kernel_path,
                                kernel_path.empty() ? hint : "");
  p.rootfs =
      canonical_existing("rootfs_path", rootfs_path.empty() ? dir + "/rootfs.ext4" : rootfs_path,
                         rootfs_path.empty() ? hint : "");
  return p;
}

std::vector<std::string> env_with_image_defaults(const std::string& rootfs,
                                                 const std::vector<std::string>& env) {
  const std::string manifest = std::filesystem::path(rootfs).parent_path() / "manifest.json";
  if (!path_exists(manifest)) return env;
  const auto j = nlohmann::json::parse(read_file(manifest), nullptr, false);
  if (!j.is_object() || !j.contains("defaults") || !j["defaults"].is_object() ||
      !j["defaults"].contains("env") || !j["defaults"]["env"].is_array()) {
    return env;
  }
  const auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (const auto& e : j["defaults"]["env"]) {
    const std::string kv = e.is_string() ? e.get<std::string>() : e.dump();
    try {
      check_env_entry(kv);
    } catch (const Error& err) {
      fail(SMOLVM_EINVAL, manifest + ": defaults.env: " + err.what());
    }
    bool overridden = false;
    for (const std::string& own : env) overridden = overridden || name_of(own) == name_of(kv);
    if (!overridden) out.push_back(kv);
  }
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

uint32_t disk_size_mib_for(uint32_t requested_mib, const std::string& rootfs) {
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(rootfs, ec);
  if (ec) fail(SMOLVM_ENOTFOUND, "rootfs_path='" + rootfs + "': " + ec.message());
  const uintmax_t image_mib = (bytes + (1u << 20) - 1) >> 20;
  if (requested_mib == 0) return static_cast<uint32_t>(image_mib);
  if (requested_mib < image_mib) {
    fail(SMOLVM_EINVAL, "disk_size_mib=" + std::to_string(requested_mib) +
                            ": must be at least the image's size, " + std::to_string(image_mib) +
                            " MiB (" + rootfs + "), up to " + std::to_string(kDiskMaxMib));
  }
  return requested_mib;
}

}  // namespace smolvm
