#include "tests/support/vm_fixture.h"

#include <stdlib.h>
#include <sys/time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace vmtest {

namespace {

std::string made_state_dir;
smolvm_runtime* opened_runtime = nullptr;

// The state folder goes when the tests end, unless one failed: then it is
// kept for a look at its logs, and its path printed.
class StateDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (opened_runtime) smolvm_runtime_close(opened_runtime);
    opened_runtime = nullptr;
    if (made_state_dir.empty()) return;
    if (::testing::UnitTest::GetInstance()->Passed()) {
      std::filesystem::remove_all(made_state_dir);
    } else {
      std::printf("state folder kept for inspection: %s\n", made_state_dir.c_str());
    }
  }
};
[[maybe_unused]] ::testing::Environment* const cleanup =
    ::testing::AddGlobalTestEnvironment(new StateDirCleanup);

}  // namespace

const std::string& state_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/svit-XXXXXX";
    std::string d = mkdtemp(tmpl);
    setenv("SMOLVM_STATE_DIR", d.c_str(), 1);
    made_state_dir = d;
    return d;
  }();
  return dir;
}

smolvm_runtime* runtime() {
  static smolvm_runtime* rt = [] {
    smolvm_runtime_options o;
    smolvm_runtime_options_init(&o);
    o.state_dir = state_dir().c_str();
    smolvm_runtime* r = nullptr;
    if (smolvm_runtime_open(&r, &o) != 0) {
      ADD_FAILURE() << "runtime_open: " << smolvm_last_error();
    }
    opened_runtime = r;
    return r;
  }();
  return rt;
}

namespace {

Result collect(int rc, smolvm_exec_result* r) {
  Result out;
  out.rc = rc;
  if (rc != 0) {
    out.err = smolvm_last_error();
    return out;
  }
  out.exit_code = r->exit_code;
  out.signal = r->signal;
  out.timed_out = r->timed_out;
  out.out.assign(reinterpret_cast<const char*>(r->stdout_data), r->stdout_len);
  out.err.assign(reinterpret_cast<const char*>(r->stderr_data), r->stderr_len);
  out.duration_us = r->duration_us;
  smolvm_exec_result_free(r);
  return out;
}

}  // namespace

Result run(smolvm_vm* vm, const std::string& command, uint32_t timeout_ms) {
  smolvm_exec_result* r = nullptr;
  const int rc = smolvm_vm_run(&r, vm, command.c_str(), timeout_ms);
  return collect(rc, r);
}

Result exec_argv(smolvm_vm* vm, const std::vector<std::string>& argv, const std::string& input,
                 const std::vector<std::string>& env, const std::string& cwd) {
  std::vector<const char*> a, e;
  for (const auto& s : argv) a.push_back(s.c_str());
  for (const auto& s : env) e.push_back(s.c_str());
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.argv = a.data();
  o.argc = a.size();
  o.env = e.empty() ? nullptr : e.data();
  o.env_count = e.size();
  o.cwd = cwd.empty() ? nullptr : cwd.c_str();
  o.stdin_data = reinterpret_cast<const uint8_t*>(input.data());
  o.stdin_len = input.size();
  smolvm_exec_result* r = nullptr;
  const int rc = smolvm_vm_exec(&r, vm, &o);
  return collect(rc, r);
}

smolvm_vm* create(const std::string& id, const char* disk_mode) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.disk_mode = disk_mode;
  o.mem_size_mib = 256;
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), 0) << smolvm_last_error();
  return vm;
}

smolvm_vm* create_and_start(const std::string& id) {
  smolvm_vm* vm = create(id);
  if (vm) {
    EXPECT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
  }
  return vm;
}

smolvm_vm* make_vm(const std::string& id, uint32_t vcpus, bool start, const char* boot_args,
                   uint32_t boot_timeout_s, const char* boot) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.vcpu_count = vcpus;
  o.mem_size_mib = 256;
  o.network = "none";
  o.boot_args = boot_args;
  if (boot_timeout_s) o.boot_timeout_s = boot_timeout_s;
  o.boot = boot;
  smolvm_vm* vm = nullptr;
  if (smolvm_vm_create(&vm, runtime(), &o) != 0) {
    ADD_FAILURE() << "create " << id << ": " << smolvm_last_error();
    return nullptr;
  }
  if (start && smolvm_vm_start(vm) != 0)
    ADD_FAILURE() << "start " << id << ": " << smolvm_last_error();
  return vm;
}

::testing::AssertionResult answers(smolvm_vm* vm, int within_ms) {
  const int64_t t0 = smolvm::test::now_ms();
  const Result r = run(vm, "echo ok", 5000);
  const int64_t took = smolvm::test::now_ms() - t0;
  if (r.rc != 0 || r.out != "ok\n") {
    return ::testing::AssertionFailure() << "no answer: rc " << r.rc << " " << r.err;
  }
  if (took > within_ms) return ::testing::AssertionFailure() << "answered after " << took << " ms";
  return ::testing::AssertionSuccess() << took << " ms";
}

smolvm_vm_info info(smolvm_vm* vm) {
  smolvm_vm_info i;
  smolvm_vm_info_init(&i);
  EXPECT_EQ(smolvm_vm_get_info(&i, vm), 0) << smolvm_last_error();
  return i;
}

CliResult cli(const std::string& args) {
  CliResult r;
  r.status =
      smolvm::test::sh("SMOLVM_STATE_DIR='" + state_dir() + "' '" SMOLVM_CLI "' " + args, &r.out);
  return r;
}

std::string wait_state_change(smolvm_vm* vm, const std::string& state, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const std::string now = info(vm).state_name;
    if (now != state || std::chrono::steady_clock::now() > deadline) return now;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string snapshot(smolvm_vm* vm, const char* name, bool stop) {
  smolvm_snapshot_options o = SMOLVM_SNAPSHOT_OPTIONS_INIT;
  o.name = name;
  o.stop = stop ? 1 : 0;
  char* id = nullptr;
  if (smolvm_vm_snapshot(&id, vm, &o) != 0) {
    ADD_FAILURE() << "snapshot: " << last_error();
    return "";
  }
  std::string out = id;
  smolvm_free(id);
  return out;
}

smolvm_vm* restore(const std::string& snap, const std::string& id, uint32_t mem) {
  smolvm_restore_options o;
  smolvm_restore_options_init(&o);
  o.vm_id = id.c_str();
  o.mem_size_mib = mem;
  smolvm_vm* vm = nullptr;
  return smolvm_vm_create_from_snapshot(&vm, runtime(), snap.c_str(), &o) == 0 ? vm : nullptr;
}

std::string last_error() { return smolvm_last_error(); }

double host_now() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

std::string cache_dir() {
  if (const char* d = getenv("SMOLVM_CACHE_DIR"); d && *d) return d;
  if (const char* d = getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/smolvm";
  const char* home = getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/smolvm";
}

}  // namespace vmtest
