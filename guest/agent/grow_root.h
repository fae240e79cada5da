// Growing the root file system into a disk larger than the image (a VM
// created with disk_size_mib): done by the agent at boot, online, with the
// kernel's own ext4 resize, so the image needs no e2fsprogs.
#pragma once

#include <cstdint>

namespace smolvm::agent {

// Size fields of an ext4 primary superblock (the 1024 bytes at offset 1024
// of the device). False when `superblock` is not ext4.
struct Ext4Size {
  uint64_t blocks = 0;
  uint64_t block_size = 0;
};
bool parse_ext4_superblock(const unsigned char (&superblock)[1024], Ext4Size& out);

// Grows / to fill its block device when the device is larger. Best effort
// like the rest of init: a failure is logged and the VM boots at the old
// size. Costs one superblock read when there is nothing to do.
void grow_root_filesystem();

}  // namespace smolvm::agent
