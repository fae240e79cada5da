#include "tests/hardening/hardening.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace hardening {

using vmtest::files_in;
using vmtest::pid_alive;

::testing::AssertionResult host_unaffected() {
  if (sh("true") != 0) return ::testing::AssertionFailure() << "the host cannot fork/exec";
  std::ifstream f("/proc/meminfo");
  std::string key;
  long kb = 0;
  while (f >> key >> kb) {
    if (key == "MemAvailable:") break;
    f.ignore(64, '\n');
  }
  if (kb < 512 * 1024) {
    return ::testing::AssertionFailure() << "host MemAvailable is down to " << kb / 1024 << " MiB";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult nothing_left(const std::string& vm_dir, int64_t supervisor_pid,
                                        int64_t vmm_pid, bool deleted) {
  if (vm_dir.empty()) return ::testing::AssertionFailure() << "no VM folder to check";
  for (int i = 0; i < 250 && (pid_alive(supervisor_pid) || pid_alive(vmm_pid)); ++i) {
    usleep(20000);
  }
  if (pid_alive(supervisor_pid)) {
    return ::testing::AssertionFailure() << "supervisor " << supervisor_pid << " still runs";
  }
  if (pid_alive(vmm_pid))
    return ::testing::AssertionFailure() << "VMM " << vmm_pid << " still runs";
  // Any process (a VMM we do not know the pid of, a helper) still naming
  // the VM's folder on its command line.
  for (const auto& pid : files_in("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmd = smolvm::test::read_file("/proc/" + pid + "/cmdline");
    if (cmd.find(vm_dir + "/") != std::string::npos && pid_alive(std::stoll(pid))) {
      return ::testing::AssertionFailure() << "process " << pid << " still uses " << vm_dir;
    }
  }
  struct stat st {};
  if (deleted && stat(vm_dir.c_str(), &st) == 0) {
    return ::testing::AssertionFailure() << vm_dir << " is left behind";
  }
  for (const auto& f : files_in(vm_dir)) {
    if (f.find(".sock") != std::string::npos) {
      return ::testing::AssertionFailure() << vm_dir << "/" << f << " is left behind";
    }
  }
  return ::testing::AssertionSuccess();
}

std::string memory_hog(smolvm_vm* vm) {
  const vmtest::Result r = vmtest::run(vm,
                                       "python3 -c 'b=[]\nwhile True: b.append(bytearray(8<<20))' "
                                       "2>/dev/null; echo exit=$?",
                                       60000);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out, "exit=0\n");
  return r.out;
}

}  // namespace hardening
