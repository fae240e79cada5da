// Host commands: doctor, plugins, gc.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/common.h"

namespace smolvm_cli {

int cmd_doctor(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--json"});
  const auto report = library_json([](char** out) { return smolvm_doctor(out, nullptr); });
  if (a.has("--json")) {
    std::cout << report.dump(2) << "\n";
    return report["ok"].get<bool>() ? 0 : 1;
  }
  std::cout << "SmolVM " << smolvm_version() << " doctor\n";
  for (const auto& c : report["checks"]) {
    const bool ok = c["ok"].get<bool>();
    const bool required = c["required"].get<bool>();
    std::cout << (ok         ? "  [ok]   "
                  : required ? "  [FAIL] "
                             : "  [warn] ")
              << c["name"].get<std::string>() << ": " << c["message"].get<std::string>() << "\n";
    if (!ok && !c["fix"].get<std::string>().empty()) {
      std::cout << "         fix: " << c["fix"].get<std::string>() << "\n";
    }
  }
  std::cout << "accelerator: " << report["accel"].get<std::string>() << " ("
            << report["kvm"]["detail"].get<std::string>() << ")\n";
  std::cout << (report["ok"].get<bool>() ? "ready to run VMs\n"
                                         : "not ready: fix the [FAIL] lines above\n");
  return report["ok"].get<bool>() ? 0 : 1;
}

int cmd_plugins(const std::vector<std::string>& argv) {
  const Args a = parse_args(argv, {}, {"--json"});
  const auto report = library_json([](char** out) { return smolvm_plugins_inspect(out, nullptr); });
  bool all_ok = true;
  for (const auto& p : report["plugins"]) all_ok = all_ok && p["error"].get<std::string>().empty();
  if (a.has("--json")) {
    std::cout << report.dump(2) << "\n";
    return all_ok ? 0 : 1;
  }
  std::printf("%-9s %-12s %-9s %-4s %s\n", "KIND", "NAME", "VERSION", "ABI", "PATH");
  for (const auto& p : report["plugins"]) {
    const std::string version = p["version"];
    std::printf("%-9s %-12s %-9s %-4s %s\n", p["kind"].get<std::string>().c_str(),
                p["name"].get<std::string>().c_str(), version.empty() ? "-" : version.c_str(),
                p["abi"].get<std::string>().empty() ? "-" : p["abi"].get<std::string>().c_str(),
                p["path"].get<std::string>().c_str());
    if (!p["error"].get<std::string>().empty()) {
      std::printf("          refused: %s\n", p["error"].get<std::string>().c_str());
    }
  }
  if (report["plugins"].empty()) {
    std::string dirs;
    for (const auto& d : report["search_path"]) dirs += " " + d.get<std::string>();
    std::printf("no plugins found in:%s\n", dirs.empty() ? " (no folders)" : dirs.c_str());
  }
  return all_ok ? 0 : 1;
}

int cmd_gc(const std::vector<std::string>& argv) {
  parse_args(argv, {}, {});
  Runtime rt;
  uint32_t fixed = 0;
  check(smolvm_runtime_gc(&fixed, rt.rt));
  std::cout << "gc: repaired " << fixed << (fixed == 1 ? " thing\n" : " things\n");
  return 0;
}

}  // namespace smolvm_cli
