#include "core/runtime/image.h"

#include <filesystem>

#include "core/common/error.h"
#include "core/common/files.h"

namespace smolvm {
namespace {

std::string absolute_existing(const std::string& field, const std::string& path,
                              const std::string& hint) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  if (ec || !std::filesystem::is_regular_file(abs, ec)) {
    fail(SMOLVM_ENOTFOUND, field + "='" + path + "': no such file" + hint);
  }
  return abs.lexically_normal().string();
}

}  // namespace

std::string default_image_dir(const std::string& cache_dir) {
  return cache_dir + "/images/default";
}

ImagePaths resolve_image(const std::string& kernel_path, const std::string& rootfs_path,
                         const std::string& cache_dir) {
  const std::string dir = default_image_dir(cache_dir);
  const std::string hint =
      kernel_path.empty() || rootfs_path.empty()
          ? " (the default guest image is missing: build it with `smolvm image build`)"
          : "";
  ImagePaths p;
  p.kernel = absolute_existing("kernel_path", kernel_path.empty() ? dir + "/vmlinux" : kernel_path,
                               kernel_path.empty() ? hint : "");
  p.rootfs =
      absolute_existing("rootfs_path", rootfs_path.empty() ? dir + "/rootfs.ext4" : rootfs_path,
                        rootfs_path.empty() ? hint : "");
  return p;
}

}  // namespace smolvm
