// Shared pieces of the CLI commands: errors from the C API, the runtime,
// output helpers.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/args.h"
#include "smolvm/smolvm.h"

namespace smolvm_cli {

// A failed C API call: the CLI prints "smolvm: <message>" and exits 1 (125
// for run/exec, whose own exit codes belong to the guest command).
struct ApiError : std::runtime_error {
  int status;
  ApiError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};

void check(int rc);

// RAII owners of C API handles.
struct Runtime {
  smolvm_runtime* rt = nullptr;
  Runtime();
  ~Runtime() { smolvm_runtime_close(rt); }
};
struct Vm {
  smolvm_vm* vm = nullptr;
  Vm(Runtime& rt, const std::string& id);
  explicit Vm(smolvm_vm* v) : vm(v) {}
  ~Vm() { smolvm_vm_free(vm); }
};

// The JSON a C ABI call hands back as a string the caller frees.
template <class Call>
nlohmann::json library_json(Call call) {
  char* raw = nullptr;
  check(call(&raw));
  const auto json = nlohmann::json::parse(raw);
  smolvm_free(raw);
  return json;
}

nlohmann::json info_json(smolvm_vm* vm);
std::string format_time_ms(int64_t ms);
// A span for people, its two largest units: "45s", "4m59s", "2h5m", "3d4h".
std::string format_span_s(uint64_t s);
// `smolvm ls`'s LIFETIME column from info_json's "lifetime": what is left
// of the ttl and the idle timeout ("ttl 4m59s, idle 5m"), "-" for none.
std::string lifetime_summary(const nlohmann::json& lifetime);

// Each command: argv after the command name; returns the exit code.
int cmd_create(const std::vector<std::string>& argv);
int cmd_start(const std::vector<std::string>& argv);
int cmd_stop(const std::vector<std::string>& argv);
int cmd_pause(const std::vector<std::string>& argv);
int cmd_resume(const std::vector<std::string>& argv);
int cmd_rm(const std::vector<std::string>& argv);
int cmd_ls(const std::vector<std::string>& argv);
int cmd_inspect(const std::vector<std::string>& argv);
int cmd_port(const std::vector<std::string>& argv);
int cmd_env(const std::vector<std::string>& argv);
int cmd_logs(const std::vector<std::string>& argv);
int cmd_run(const std::vector<std::string>& argv);
int cmd_exec(const std::vector<std::string>& argv);
int cmd_shell(const std::vector<std::string>& argv);
int cmd_cp(const std::vector<std::string>& argv);
int cmd_ssh(const std::vector<std::string>& argv);
int cmd_gc(const std::vector<std::string>& argv);
int cmd_doctor(const std::vector<std::string>& argv);
int cmd_plugins(const std::vector<std::string>& argv);
int cmd_image(const std::vector<std::string>& argv);
int cmd_snapshot(const std::vector<std::string>& argv);
int cmd_fork(const std::vector<std::string>& argv);
int cmd_mcp(const std::vector<std::string>& argv);
extern const char* const kSnapshotUsage;
extern const char* const kForkUsage;
extern const char* const kImageUsage;
// A VM restored from snapshot (cli/cmd_snapshot.cpp), with what a create
// may say of it (--id, --vcpus, --mem: these must match the snapshot's).
smolvm_vm* restore_vm(Runtime& rt, const std::string& snapshot, const Args& a);

// Flags shared by create and run --rm.
extern const std::set<std::string> kCreateValueFlags;
void fill_vm_options(const Args& a, smolvm_vm_options& o, std::vector<std::string>& keep);
// The lifetime flags (create, create --from-snapshot, fork).
extern const std::set<std::string> kLifetimeFlags;
// Fills the lifetime fields (ttl_s, idle_timeout_s, on_ttl, on_idle) of
// vm or restore options from --ttl, --idle-timeout, --on-ttl, --on-idle;
// keep holds the strings until the options are used.
template <typename Options>
void fill_lifetime(const Args& a, Options& o, std::vector<std::string>& keep) {
  // The ranges are the library's own (smolvm.h).
  o.ttl_s = static_cast<uint32_t>(a.seconds("--ttl", SMOLVM_LIFETIME_S_MAX));
  o.idle_timeout_s = static_cast<uint32_t>(a.seconds("--idle-timeout", SMOLVM_LIFETIME_S_MAX));
  keep.reserve(keep.size() + 2);  // the pointers below stay valid
  if (a.has("--on-ttl")) o.on_ttl = keep.emplace_back(a.get("--on-ttl")).c_str();
  if (a.has("--on-idle")) o.on_idle = keep.emplace_back(a.get("--on-idle")).c_str();
}

}  // namespace smolvm_cli
