#include "hardening.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace hardening {

using vmtest::files_in;
using vmtest::pid_alive;

smolvm_vm* make_vm(const std::string& id, uint32_t vcpus, bool start, const char* boot_args,
                   uint32_t boot_timeout_s) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.vcpu_count = vcpus;
  o.mem_size_mib = 256;
  o.network = "none";
  o.boot_args = boot_args;
  if (boot_timeout_s) o.boot_timeout_s = boot_timeout_s;
  smolvm_vm* vm = nullptr;
  if (smolvm_vm_create(&vm, vmtest::runtime(), &o) != 0) {
    ADD_FAILURE() << "create " << id << ": " << smolvm_last_error();
    return nullptr;
  }
  if (start && smolvm_vm_start(vm) != 0)
    ADD_FAILURE() << "start " << id << ": " << smolvm_last_error();
  return vm;
}

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

::testing::AssertionResult answers(smolvm_vm* vm, int within_ms) {
  const int64_t t0 = now_ms();
  const vmtest::Result r = vmtest::run(vm, "echo ok", 5000);
  const int64_t took = now_ms() - t0;
  if (r.rc != 0 || r.out != "ok\n") {
    return ::testing::AssertionFailure() << "no answer: rc " << r.rc << " " << r.err;
  }
  if (took > within_ms) return ::testing::AssertionFailure() << "answered after " << took << " ms";
  return ::testing::AssertionSuccess() << took << " ms";
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
    std::ifstream f("/proc/" + pid + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
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

long status_kb(int64_t pid, const char* field) {
  const std::string v = status_field(pid, field);
  return v.empty() ? -1 : std::stol(v);
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

std::string status_field(int64_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line, want = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(want, 0) == 0) {
      const auto start = line.find_first_not_of(" \t", want.size());
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

int sh(const std::string& command, std::string* out) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  std::string text;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int st = pclose(p);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hardening
