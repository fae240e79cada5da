// The agent's ext4 superblock reader, against real file systems made by
// mkfs.ext4 (the same tool that makes the guest image), in each layout the
// reader must handle: 4 KiB and 1 KiB blocks, with and without 64bit.
#include "guest/agent/grow_root.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace smolvm::agent {
namespace {

struct Made {
  bool ok = false;
  unsigned char superblock[1024] = {};
};

// A sparse file of `mib` MiB formatted by mkfs.ext4 `options`; its
// superblock.
Made make_ext4(const std::string& options, unsigned mib) {
  char path[] = "/tmp/smolvm-ext4-XXXXXX";
  const int fd = ::mkstemp(path);
  Made m;
  if (fd < 0) return m;
  ::close(fd);
  const std::string cmd =
      "mkfs.ext4 -q -F " + options + " " + path + " " + std::to_string(mib) + "M >/dev/null 2>&1";
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream f(path, std::ios::binary);
    f.seekg(1024);
    m.ok = static_cast<bool>(f.read(reinterpret_cast<char*>(m.superblock), 1024));
  }
  ::unlink(path);
  return m;
}

bool have_mkfs() { return std::system("command -v mkfs.ext4 >/dev/null 2>&1") == 0; }

TEST(GrowRoot, ReadsTheSizeOfRealExt4FileSystems) {
  if (!have_mkfs()) GTEST_SKIP() << "mkfs.ext4 not found (apt-get install e2fsprogs)";
  struct Case {
    const char* options;
    unsigned mib;
    uint64_t block_size;
  } cases[] = {{"-b 4096 -O 64bit", 96, 4096},
               {"-b 4096 -O ^64bit", 96, 4096},
               {"-b 1024 -O ^64bit", 80, 1024},
               {"-b 1024 -O 64bit", 80, 1024}};
  for (const auto& c : cases) {
    const Made m = make_ext4(c.options, c.mib);
    ASSERT_TRUE(m.ok) << "mkfs.ext4 " << c.options;
    Ext4Size size;
    ASSERT_TRUE(parse_ext4_superblock(m.superblock, size)) << c.options;
    EXPECT_EQ(size.block_size, c.block_size) << c.options;
    EXPECT_EQ(size.blocks * size.block_size, uint64_t{c.mib} << 20) << c.options;
  }
}

TEST(GrowRoot, RefusesWhatIsNotExt4) {
  unsigned char zeros[1024] = {};
  Ext4Size size;
  EXPECT_FALSE(parse_ext4_superblock(zeros, size));
  if (!have_mkfs()) GTEST_SKIP() << "mkfs.ext4 not found (apt-get install e2fsprogs)";
  Made m = make_ext4("-b 4096", 64);
  ASSERT_TRUE(m.ok);
  m.superblock[0x18] = 40;  // an impossible block size: a corrupt superblock
  EXPECT_FALSE(parse_ext4_superblock(m.superblock, size));
}

}  // namespace
}  // namespace smolvm::agent
