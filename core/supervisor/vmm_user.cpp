#include "core/supervisor/vmm_user.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/common/error.h"
#include "core/common/files.h"

namespace smolvm {
namespace {

constexpr const char* kLockDir = "/run/smolvm/vmm-uids";

// The real uid and gid from /proc/<pid>/status ("Uid:\treal\teffective...").
bool ids_of(int64_t pid, uint32_t& uid, uint32_t& gid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  bool have_uid = false, have_gid = false;
  while (f >> key) {
    if (key == "Uid:") have_uid = static_cast<bool>(f >> uid);
    if (key == "Gid:") have_gid = static_cast<bool>(f >> gid);
    f.ignore(1 << 16, '\n');
  }
  return have_uid && have_gid;
}

uint32_t base_from_env(bool& off) {
  const char* env = std::getenv("SMOLVM_VMM_UID_BASE");
  off = false;
  if (!env || !*env) return kDefaultVmmUidBase;
  const std::string v = env;
  if (v == "off") {
    off = true;
    return 0;
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(env, &end, 10);
  const unsigned long long max = 0xfffffffeull - kVmmUidCount;
  if (errno != 0 || *end != '\0' || v[0] == '-' || n < 1000 || n > max) {
    fail(SMOLVM_EINVAL, "SMOLVM_VMM_UID_BASE='" + v + "': must be off or a uid from 1000 to " +
                            std::to_string(max) + " (the first of " + std::to_string(kVmmUidCount) +
                            " uids for VMMs)");
  }
  return static_cast<uint32_t>(n);
}

}  // namespace

bool vmm_user_plan(std::string* detail) {
  bool off = false;
  uint32_t base = 0;
  try {
    base = base_from_env(off);
  } catch (const Error& e) {
    *detail = e.what();
    return false;
  }
  if (off) {
    *detail = "SMOLVM_VMM_UID_BASE=off: QEMU runs as this user (uid " +
              std::to_string(::geteuid()) + "), without capabilities";
    return false;
  }
  if (::geteuid() != 0) {
    *detail = "not root: QEMU runs as this user (uid " + std::to_string(::geteuid()) + ")";
    return false;
  }
  *detail = "each VM's QEMU runs as a uid of its own, from " + std::to_string(base) + " (" +
            std::to_string(kVmmUidCount) + " of them), without capabilities";
  return true;
}

VmmUser::~VmmUser() { release(); }

void VmmUser::release() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

void VmmUser::acquire() {
  bool off = false;
  const uint32_t base = base_from_env(off);
  if (off) {
    reason_ = "SMOLVM_VMM_UID_BASE=off";
    return;
  }
  if (::geteuid() != 0) {
    reason_ =
        "the supervisor is not root: the VMM runs as its user, uid " + std::to_string(::geteuid());
    return;
  }
  make_dirs(kLockDir, 0700);
  for (uint32_t i = 0; i < kVmmUidCount; ++i) {
    const std::string path = std::string(kLockDir) + "/" + std::to_string(base + i) + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno(SMOLVM_EIO, "open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      lock_fd_ = fd;
      uid_ = base + i;
      return;
    }
    const int e = errno;
    ::close(fd);
    if (e != EWOULDBLOCK) {
      errno = e;
      fail_errno(SMOLVM_EIO, "flock " + path);
    }
  }
  fail(SMOLVM_EBUSY, "all " + std::to_string(kVmmUidCount) + " VMM uids from " +
                         std::to_string(base) + " are taken by running VMs");
}

nlohmann::json VmmUser::confirm(int64_t vmm_pid) {
  uint32_t uid = 0, gid = 0;
  nlohmann::json out = nlohmann::json::object();
  if (!ids_of(vmm_pid, uid, gid)) {
    out["reason"] = "cannot read /proc/" + std::to_string(vmm_pid) + "/status";
    return out;
  }
  out["uid"] = uid;
  out["gid"] = gid;
  if (uid_ != 0 && uid == uid_) {
    out["unique"] = true;  // held by this VM alone while it runs
    return out;
  }
  if (uid_ != 0) {
    reason_ = "the VMM backend manages its own user (Firecracker: the jailer's --uid)";
    release();
    uid_ = 0;
  }
  out["reason"] = reason_;
  return out;
}

}  // namespace smolvm
