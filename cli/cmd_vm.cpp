// Lifecycle commands: create, start, stop, rm, ls, inspect, logs.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>

#include "cli/common.h"
#include "cli/console_text.h"
#include "core/supervisor/console_log.h"

namespace smolvm_cli {
namespace {

std::string one_id(const Args& a, const char* cmd) {
  if (a.positional.size() != 1) throw UsageError(std::string(cmd) + " takes exactly one VM id");
  return a.positional[0];
}

}  // namespace

int cmd_create(const std::vector<std::string>& argv) {
  std::set<std::string> values = kCreateValueFlags;
  values.insert("--profile");
  values.insert("--from-snapshot");
  const Args a = parse_args(argv, values, {"--start"});
  if (!a.positional.empty()) throw UsageError("create takes no positional arguments (use --id)");
  Runtime rt;
  smolvm_vm* raw = nullptr;
  if (a.has("--from-snapshot")) {
    // The machine is the snapshot's: only what may restate it is taken.
    for (const auto& f : kCreateValueFlags) {
      if (f != "--id" && f != "--vcpus" && f != "--mem" && !kLifetimeFlags.count(f) && a.has(f)) {
        throw UsageError(f +
                         " cannot be combined with --from-snapshot (a restored VM is the "
                         "snapshot's machine)");
      }
    }
    if (a.has("--profile")) throw UsageError("--profile cannot be combined with --from-snapshot");
    raw = restore_vm(rt, a.get("--from-snapshot"), a);
  } else if (a.has("--profile")) {
    for (const auto& f : kCreateValueFlags) {
      if (f != "--id" && a.has(f)) {
        throw UsageError(f +
                         " cannot be combined with --profile (set it in the profile, or with "
                         "its SMOLVM_PROFILE_* environment override)");
      }
    }
    smolvm_profile* p = nullptr;
    check(smolvm_profile_load(&p, a.get("--profile").c_str()));
    // --id '' is refused by the library, not taken as "no id".
    const std::string id = a.get("--id");
    const int rc =
        smolvm_vm_create_from_profile(&raw, rt.rt, p, a.has("--id") ? id.c_str() : nullptr);
    smolvm_profile_free(p);
    check(rc);
  } else {
    smolvm_vm_options o;
    std::vector<std::string> keep;
    fill_vm_options(a, o, keep);
    check(smolvm_vm_create(&raw, rt.rt, &o));
  }
  Vm vm(raw);
  if (a.has("--start")) check(smolvm_vm_start(vm.vm));
  std::cout << smolvm_vm_id(vm.vm) << "\n";
  return 0;
}

int cmd_start(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--boot-timeout"}, {});
  smolvm_start_options opts = SMOLVM_START_OPTIONS_INIT;
  opts.boot_timeout_ms =
      static_cast<uint32_t>(a.number("--boot-timeout", 0, 1, SMOLVM_BOOT_TIMEOUT_S_MAX) * 1000);
  Runtime rt;
  Vm vm(rt, one_id(a, "start"));
  // This process ends right after the start: as the owner of an ephemeral
  // VM it would take the VM with it. A VM started here is an ordinary one.
  check(smolvm_vm_detach(vm.vm));
  const auto t0 = std::chrono::steady_clock::now();
  check(smolvm_vm_start_ex(vm.vm, &opts));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const auto info = info_json(vm.vm);
  std::cout << smolvm_vm_id(vm.vm) << " running (" << info["accel"].get<std::string>() << ", " << ms
            << " ms)\n";
  return 0;
}

int cmd_stop(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--timeout"}, {}, {{"-t", "--timeout"}});
  const auto timeout_s = a.number("--timeout", 10, 1, 3600);
  Runtime rt;
  Vm vm(rt, one_id(a, "stop"));
  check(smolvm_vm_stop(vm.vm, static_cast<uint32_t>(timeout_s * 1000)));
  std::cout << smolvm_vm_id(vm.vm) << " stopped\n";
  return 0;
}

namespace {

// smolvm pause ID, smolvm resume ID.
int set_paused(const std::vector<std::string>& argv, bool pause) {
  const Args a = parse_args(argv, {}, {});
  Runtime rt;
  Vm vm(rt, one_id(a, pause ? "pause" : "resume"));
  check(pause ? smolvm_vm_pause(vm.vm) : smolvm_vm_resume(vm.vm));
  std::cout << smolvm_vm_id(vm.vm) << (pause ? " paused\n" : " resumed\n");
  return 0;
}

}  // namespace

int cmd_pause(const std::vector<std::string>& argv) { return set_paused(argv, true); }

int cmd_resume(const std::vector<std::string>& argv) { return set_paused(argv, false); }

int cmd_rm(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--force"}, {{"-f", "--force"}});
  if (a.positional.empty()) throw UsageError("rm takes one or more VM ids");
  Runtime rt;
  int rc = 0;
  for (const auto& id : a.positional) {
    smolvm_vm* raw = nullptr;
    int r = smolvm_vm_open(&raw, rt.rt, id.c_str());
    if (r == 0) {
      r = smolvm_vm_delete(raw);
      smolvm_vm_free(raw);
    }
    if (r == 0) {
      std::cout << id << "\n";
    } else if (!(a.has("--force") && r == SMOLVM_ENOTFOUND)) {
      std::cerr << "smolvm: " << smolvm_last_error() << "\n";
      rc = 1;
    }
  }
  return rc;
}

int cmd_ls(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--json", "--quiet"}, {{"-q", "--quiet"}});
  Runtime rt;
  smolvm_strarray ids{};
  check(smolvm_runtime_list(&ids, rt.rt));
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < ids.count; ++i) {
    smolvm_vm* raw = nullptr;
    if (smolvm_vm_open(&raw, rt.rt, ids.strings[i]) != 0) continue;  // deleted meanwhile
    Vm vm(raw);
    all.push_back(info_json(vm.vm));
  }
  smolvm_strarray_dispose(&ids);
  if (a.has("--json")) {
    std::cout << all.dump(2) << "\n";
    return 0;
  }
  if (a.has("--quiet")) {
    for (const auto& v : all) std::cout << v["id"].get<std::string>() << "\n";
    return 0;
  }
  std::printf("%-22s %-9s %5s %7s %-9s %-5s %-19s %s\n", "ID", "STATE", "VCPUS", "MEM", "DISK",
              "ACCEL", "CREATED", "LIFETIME");
  for (const auto& v : all) {
    std::printf("%-22s %-9s %5u %6uM %-9s %-5s %-19s %s\n", v["id"].get<std::string>().c_str(),
                v["state"].get<std::string>().c_str(), v["vcpu_count"].get<unsigned>(),
                v["mem_size_mib"].get<unsigned>(), v["disk_mode"].get<std::string>().c_str(),
                v["accel"].get<std::string>().empty() ? "-" : v["accel"].get<std::string>().c_str(),
                v["created_at"].get<std::string>().c_str(),
                lifetime_summary(v["lifetime"]).c_str());
  }
  return 0;
}

int cmd_port(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {"--addr"}, {"--udp"});
  if (a.positional.empty()) throw UsageError("port takes a VM id (see --help)");
  Runtime rt;
  Vm vm(rt, a.positional[0]);
  const std::string addr = a.get("--addr", "127.0.0.1");
  const char* proto = a.has("--udp") ? "udp" : "tcp";
  const std::string action = a.positional.size() > 1 ? a.positional[1] : "ls";
  auto port = [](const std::string& s, const char* what, bool zero_ok) {
    return static_cast<uint32_t>(parse_number(what, s, 1, 65535, zero_ok));
  };
  if (action == "add" && a.positional.size() == 3) {
    const std::string spec = a.positional[2];  // GUEST or GUEST:HOST
    const auto colon = spec.find(':');
    const uint32_t guest = port(spec.substr(0, colon), "guest port", false);
    // Host port 0: the library picks a free one.
    const uint32_t host =
        colon == std::string::npos ? 0 : port(spec.substr(colon + 1), "host port", true);
    uint32_t got = 0;
    check(smolvm_vm_expose(&got, vm.vm, guest, host, addr.c_str(), proto));
    std::cout << addr << ":" << got << " -> " << smolvm_vm_id(vm.vm) << ":" << guest << "/" << proto
              << "\n";
    return 0;
  }
  if (action == "rm" && a.positional.size() == 3) {
    check(
        smolvm_vm_unexpose(vm.vm, port(a.positional[2], "host port", false), addr.c_str(), proto));
    return 0;
  }
  if (action != "ls" || a.positional.size() > 2)
    throw UsageError("port: ID [ls] | ID add GUEST[:HOST] | ID rm HOST");
  char* json = nullptr;
  check(smolvm_vm_list_ports(&json, vm.vm));
  const auto list = nlohmann::json::parse(json);
  smolvm_free(json);
  for (const auto& f : list) {
    std::cout << f["host_addr"].get<std::string>() << ":" << f["host_port"].get<unsigned>()
              << " -> " << smolvm_vm_id(vm.vm) << ":" << f["guest_port"].get<unsigned>() << "/"
              << f["protocol"].get<std::string>() << "\n";
  }
  return 0;
}

int cmd_inspect(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {});
  Runtime rt;
  Vm vm(rt, one_id(a, "inspect"));
  std::cout << info_json(vm.vm).dump(2) << "\n";
  return 0;
}

namespace {

// Reads the console log as the supervisor keeps it: console.log.1 (the older
// half, after a rotation) then console.log, following the rotation while the
// VM runs.
class ConsoleReader {
 public:
  explicit ConsoleReader(std::string path) : path_(std::move(path)) {}

  bool open() {
    in_.open(path_, std::ios::binary);
    if (in_) id_ = file_id(path_);
    return bool(in_);
  }
  // Whatever console.log.1 holds, once, before console.log.
  std::string older() const {
    std::ifstream old(smolvm::rotated_console_log(path_), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(old), {});
  }
  // Next bytes, "" at the current end. A rotation (console.log replaced)
  // finishes the old file, then goes on with the new one.
  std::string read() {
    char buf[65536];
    in_.read(buf, sizeof buf);
    if (in_.gcount() > 0) return std::string(buf, static_cast<size_t>(in_.gcount()));
    in_.clear();
    if (const auto now = file_id(path_); now && now != id_) {
      in_.close();
      if (open()) return read();
    }
    return {};
  }

 private:
  static std::optional<std::pair<dev_t, ino_t>> file_id(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return std::make_pair(st.st_dev, st.st_ino);
  }

  std::string path_;
  std::ifstream in_;
  std::optional<std::pair<dev_t, ino_t>> id_;
};

}  // namespace

int cmd_logs(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--follow", "--raw"}, {{"-f", "--follow"}});
  Runtime rt;
  Vm vm(rt, one_id(a, "logs"));
  const std::string path = info_json(vm.vm)["console_log"];
  ConsoleReader reader(path);
  if (!reader.open()) {
    std::cerr << "smolvm: no console log yet at " << path << " (has the VM been started?)\n";
    return 1;
  }
  const bool raw = a.has("--raw");
  ConsoleEscaper escaper;
  auto print = [&](const std::string& bytes) {
    const std::string text = raw ? bytes : escaper.feed(bytes);
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
  };
  print(reader.older());
  for (;;) {
    const std::string chunk = reader.read();
    if (!chunk.empty()) {
      print(chunk);
      continue;
    }
    std::cout.flush();
    if (!a.has("--follow")) break;
    const std::string state = info_json(vm.vm)["state"];
    if (state != "running" && state != "starting" && state != "paused") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!raw) std::cout << escaper.finish();
  std::cout.flush();
  return 0;
}

}  // namespace smolvm_cli
