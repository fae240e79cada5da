#include "guest/agent/grow_root.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include "guest/agent/log.h"

// Not in every distribution's uapi headers (linux/ext4.h is recent).
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

namespace smolvm::agent {
namespace {

constexpr unsigned kExt4Magic = 0xEF53;
constexpr uint32_t kIncompat64Bit = 0x80;

uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// "/dev/vda" for the device holding /, from its DEVNAME in sysfs (no udev
// here, so /dev/block/M:m links do not exist).
std::string root_device() {
  struct stat st;
  if (::stat("/", &st) != 0) return {};
  std::ifstream uevent("/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                       std::to_string(minor(st.st_dev)) + "/uevent");
  for (std::string line; std::getline(uevent, line);) {
    if (line.rfind("DEVNAME=", 0) == 0) return "/dev/" + line.substr(8);
  }
  return {};
}

}  // namespace

bool parse_ext4_superblock(const unsigned char (&sb)[1024], Ext4Size& out) {
  if ((sb[0x38] | sb[0x39] << 8) != kExt4Magic) return false;
  const uint32_t log_block_size = le32(sb + 0x18);
  if (log_block_size > 6) return false;  // 1 KiB..64 KiB blocks
  out.block_size = uint64_t{1024} << log_block_size;
  out.blocks = le32(sb + 0x04);
  if (le32(sb + 0x60) & kIncompat64Bit) out.blocks |= uint64_t{le32(sb + 0x150)} << 32;
  return true;
}

void grow_root_filesystem() {
  const std::string dev = root_device();
  if (dev.empty()) return;  // not on a block device (an initramfs, a 9p root)
  const int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    logf("open %s: %s; not growing /", dev.c_str(), std::strerror(errno));
    return;
  }
  unsigned char sb[1024];
  uint64_t device_bytes = 0;
  Ext4Size fs;
  const bool ext4 = ::ioctl(fd, BLKGETSIZE64, &device_bytes) == 0 &&
                    ::pread(fd, sb, sizeof sb, 1024) == static_cast<ssize_t>(sizeof sb) &&
                    parse_ext4_superblock(sb, fs);
  ::close(fd);
  if (!ext4) return;
  uint64_t target = device_bytes / fs.block_size;
  if (target <= fs.blocks) return;
  const auto mib = [&](uint64_t blocks) {
    return static_cast<unsigned long long>(blocks * fs.block_size >> 20);
  };
  const auto start = std::chrono::steady_clock::now();
  const int root = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || ::ioctl(root, EXT4_IOC_RESIZE_FS, &target) != 0) {
    logf("growing / from %llu to %llu MiB: %s", mib(fs.blocks), mib(target), std::strerror(errno));
  } else {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    logf("grew / from %llu to %llu MiB in %lld ms", mib(fs.blocks), mib(target),
         static_cast<long long>(ms));
  }
  if (root >= 0) ::close(root);
}

}  // namespace smolvm::agent
