// Copies of disk images. Firecracker reads raw images only (no qcow2
// overlays), so a VM's own disk is a full copy of the base: a reflink where
// the file system shares extents (btrfs, XFS), else a sparse copy that
// skips the base's holes.
#pragma once

#include <string>

namespace smolvm_fc {

enum class CopyMethod { kReflink, kSparseCopy };

const char* copy_method_name(CopyMethod m);

// Creates dst (mode 0600, failing if it exists) with src's contents. On
// failure dst is removed and error says why. No fsync: the drive runs with
// Firecracker's default cache_type "Unsafe" (guest flushes are not synced
// either), and the sync doubled the copy time (README.md).
bool clone_file(const std::string& src, const std::string& dst, CopyMethod& used,
                std::string& error);

// Only the sparse copy, for measurements and for file systems whose
// reflink must be avoided.
bool sparse_copy(const std::string& src, const std::string& dst, std::string& error);

}  // namespace smolvm_fc
