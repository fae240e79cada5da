// Finds the guest kernel and rootfs a VM boots: the user's own, or the
// default image that `smolvm image build` put in the cache.
#pragma once

#include <string>

namespace smolvm {

struct ImagePaths {
  std::string kernel;
  std::string rootfs;
};

// Absolute paths; throws ENOTFOUND naming the missing file and how to get it.
ImagePaths resolve_image(const std::string& kernel_path, const std::string& rootfs_path,
                         const std::string& cache_dir);

std::string default_image_dir(const std::string& cache_dir);

}  // namespace smolvm
