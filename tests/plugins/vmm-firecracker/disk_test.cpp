// Disk copies (reflink or sparse copy) and the jail's staged files, on real
// files in a temporary folder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "plugins/vmm-firecracker/fc_disk.h"
#include "plugins/vmm-firecracker/fc_jail.h"
#include "plugins/vmm-firecracker/fc_launch.h"
#include "tests/support/temp_dir.h"

namespace {

constexpr off_t kMiB = 1 << 20;

void write_at(int fd, off_t off, const std::string& data) {
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), off), static_cast<ssize_t>(data.size()));
}

// 64 MiB with data at three places and holes elsewhere.
void make_sparse(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 64 * kMiB), 0);
  write_at(fd, 0, std::string(4096, 'a'));
  write_at(fd, 10 * kMiB + 123, "in the middle");
  write_at(fd, 64 * kMiB - 4096, std::string(4096, 'z'));
  close(fd);
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}

TEST(CloneFile, CopiesContentsAndKeepsHoles) {
  smolvm::test::TempDir dir;
  make_sparse(dir / "base.ext4");
  smolvm_fc::CopyMethod used;
  std::string error;
  ASSERT_TRUE(smolvm_fc::clone_file(dir / "base.ext4", dir / "disk.raw", used, error)) << error;
  std::cout << "copy method on this file system: " << smolvm_fc::copy_method_name(used) << "\n";
  EXPECT_EQ(smolvm::test::read_file(dir / "disk.raw"), smolvm::test::read_file(dir / "base.ext4"));
  const struct stat st = stat_of(dir / "disk.raw");
  EXPECT_EQ(st.st_size, 64 * kMiB);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Only the three written blocks (plus file system rounding) are allocated.
  EXPECT_LT(st.st_blocks * 512, 2 * kMiB);
}

TEST(CloneFile, SparseCopyOfADenseFile) {
  smolvm::test::TempDir dir;
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>('a' + i % 26);
  smolvm::test::write_file(dir / "dense", data);
  std::string error;
  ASSERT_TRUE(smolvm_fc::sparse_copy(dir / "dense", dir / "copy", error)) << error;
  EXPECT_EQ(smolvm::test::read_file(dir / "copy"), data);
}

TEST(CloneFile, EmptyFile) {
  smolvm::test::TempDir dir;
  smolvm::test::write_file(dir / "empty", "");
  smolvm_fc::CopyMethod used;
  std::string error;
  ASSERT_TRUE(smolvm_fc::clone_file(dir / "empty", dir / "copy", used, error)) << error;
  EXPECT_EQ(stat_of(dir / "copy").st_size, 0);
}

TEST(CloneFile, NeverOverwrites) {
  smolvm::test::TempDir dir;
  smolvm::test::write_file(dir / "base", "base");
  smolvm::test::write_file(dir / "disk.raw", "someone else's");
  smolvm_fc::CopyMethod used;
  std::string error;
  EXPECT_FALSE(smolvm_fc::clone_file(dir / "base", dir / "disk.raw", used, error));
  EXPECT_NE(error.find("File exists"), std::string::npos) << error;
  EXPECT_EQ(smolvm::test::read_file(dir / "disk.raw"), "someone else's");
}

TEST(CloneFile, MissingSource) {
  smolvm::test::TempDir dir;
  smolvm_fc::CopyMethod used;
  std::string error;
  EXPECT_FALSE(smolvm_fc::clone_file(dir / "nope", dir / "disk.raw", used, error));
  EXPECT_NE(error.find(dir / "nope"), std::string::npos) << error;
  EXPECT_NE(access((dir / "disk.raw").c_str(), F_OK), 0);
}

// A VM folder as the runtime makes it, planned for the jailer.
struct JailFixture {
  smolvm::test::TempDir dir;
  std::string vm_dir = dir / "vm-1";
  smolvm_fc::LaunchPlan plan;

  // kernel: a path, or a name in the fixture's folder.
  JailFixture(const char* mode, const std::string& kernel_at) {
    const std::string kernel = kernel_at[0] == '/' ? kernel_at : dir / kernel_at;
    mkdir(vm_dir.c_str(), 0700);
    smolvm::test::write_file(kernel, "kernel image");
    smolvm::test::write_file(dir / "rootfs.ext4", "base image");
    smolvm::test::write_file(vm_dir + "/disk.raw", "the VM's disk");
    smolvm::test::write_file(vm_dir + "/vmm.log", "");
    smolvm_vmm_config c{};
    c.struct_size = sizeof c;
    c.vm_id = "vm-1";
    c.vcpu_count = 1;
    c.mem_size_mib = 128;
    c.kernel_path = kernel.c_str();
    const std::string rootfs = dir / "rootfs.ext4";
    const std::string disk = vm_dir + "/disk.raw";
    c.rootfs_path = rootfs.c_str();
    c.disk_mode = mode;
    c.disk_path = disk.c_str();
    c.accel = "kvm";
    c.vm_dir = vm_dir.c_str();
    smolvm_fc::LaunchSettings s;
    s.firecracker = "/usr/bin/firecracker";
    s.jailer = "/usr/bin/jailer";
    s.uid = getuid();
    s.gid = getgid();
    std::string problem;
    plan = smolvm_fc::plan_launch(c, s, problem);
    EXPECT_EQ(problem, "");
  }
};

TEST(Jail, StagesLinksAndRemovesEverything) {
  JailFixture f("isolated", "vmlinux");
  std::string error;
  ASSERT_TRUE(smolvm_fc::stage_jail(f.plan, getuid(), getgid(), error)) << error;
  const std::string root = f.plan.jail_root;
  // The VM's disk and the log are the same inodes as outside the jail.
  EXPECT_EQ(stat_of(root + "/disk.raw").st_ino, stat_of(f.vm_dir + "/disk.raw").st_ino);
  EXPECT_EQ(stat_of(root + "/vmm.log").st_ino, stat_of(f.vm_dir + "/vmm.log").st_ino);
  EXPECT_EQ(smolvm::test::read_file(root + "/kernel"), "kernel image");
  smolvm_fc::remove_jail(f.plan);
  EXPECT_NE(access(f.plan.jail_base.c_str(), F_OK), 0);
  EXPECT_EQ(smolvm::test::read_file(f.vm_dir + "/disk.raw"), "the VM's disk");
  EXPECT_EQ(smolvm::test::read_file(f.dir / "vmlinux"), "kernel image");
}

TEST(Jail, ReplacesAStaleJail) {
  JailFixture f("shared", "vmlinux");
  std::string error;
  ASSERT_TRUE(smolvm_fc::stage_jail(f.plan, getuid(), getgid(), error)) << error;
  smolvm::test::write_file(f.plan.jail_root + "/stale", "left by a crash");
  ASSERT_TRUE(smolvm_fc::stage_jail(f.plan, getuid(), getgid(), error)) << error;
  EXPECT_NE(access((f.plan.jail_root + "/stale").c_str(), F_OK), 0);
  EXPECT_EQ(smolvm::test::read_file(f.plan.jail_root + "/rootfs.img"), "base image");
  smolvm_fc::remove_jail(f.plan);
}

// Another file system than /tmp, to make hard links fail for real (EXDEV).
std::string other_file_system() {
  struct stat tmp {
  }, shm{};
  if (stat("/tmp", &tmp) != 0 || stat("/dev/shm", &shm) != 0 || tmp.st_dev == shm.st_dev) return "";
  return "/dev/shm";
}

TEST(Jail, CopiesReadOnlyInputsAcrossFileSystems) {
  const std::string other = other_file_system();
  if (other.empty()) GTEST_SKIP() << "/dev/shm is missing or on the same file system as /tmp";
  const std::string kernel = other + "/fct-kernel-" + std::to_string(getpid());
  {
    JailFixture f("isolated", kernel);
    std::string error;
    ASSERT_TRUE(smolvm_fc::stage_jail(f.plan, getuid(), getgid(), error)) << error;
    EXPECT_EQ(smolvm::test::read_file(f.plan.jail_root + "/kernel"), "kernel image");
    EXPECT_NE(stat_of(f.plan.jail_root + "/kernel").st_ino, stat_of(kernel).st_ino);
    smolvm_fc::remove_jail(f.plan);
  }
  unlink(kernel.c_str());
}

TEST(Jail, RefusesToCopyTheVmsOwnDisk) {
  // Writes must reach the VM's disk: a copy in the jail would lose them.
  const std::string other = other_file_system();
  if (other.empty()) GTEST_SKIP() << "/dev/shm is missing or on the same file system as /tmp";
  JailFixture f("isolated", "vmlinux");
  const std::string disk = other + "/fct-disk-" + std::to_string(getpid());
  smolvm::test::write_file(disk, "elsewhere");
  for (auto& s : f.plan.staged) {
    if (s.must_link && s.to == f.plan.jail_root + "/disk.raw") s.from = disk;
  }
  std::string error;
  EXPECT_FALSE(smolvm_fc::stage_jail(f.plan, getuid(), getgid(), error));
  EXPECT_NE(error.find("cannot hard-link " + disk), std::string::npos) << error;
  smolvm_fc::remove_jail(f.plan);
  unlink(disk.c_str());
}

}  // namespace
