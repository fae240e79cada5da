// Finds the guest kernel and rootfs a VM boots: the user's own, or the
// default image that `smolvm image build` put in the cache.
#pragma once

#include <cstdint>
#include <string>

namespace smolvm {

struct ImagePaths {
  std::string kernel;
  std::string rootfs;
};

// Canonical paths (symlinks such as images/default resolved, so a VM keeps
// the image it was created with across rebuilds); throws ENOTFOUND naming
// the missing file and how to get it.
ImagePaths resolve_image(const std::string& kernel_path, const std::string& rootfs_path,
                         const std::string& cache_dir);

std::string default_image_dir(const std::string& cache_dir);

// The size in MiB of the disk a VM gets from `rootfs`: `requested_mib`
// when set (refused with EINVAL below the image's own size, which the
// guest's file system fills and cannot shrink from), else the image's size
// rounded up to whole MiB.
uint32_t disk_size_mib_for(uint32_t requested_mib, const std::string& rootfs);

}  // namespace smolvm
