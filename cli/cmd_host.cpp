// Host commands: doctor, plugins, gc, image.
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
namespace {

std::string exe_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : p.parent_path().string();
}

std::string first_existing(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (!c.empty() && ::access(c.c_str(), F_OK) == 0) return c;
  }
  return "";
}

std::string env_or(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string cache_dir() {
  if (auto v = env_or("SMOLVM_CACHE_DIR"); !v.empty()) return v;
  if (auto v = env_or("XDG_CACHE_HOME"); !v.empty()) return v + "/smolvm";
  return env_or("HOME") + "/.cache/smolvm";
}

// The JSON a C ABI call hands back as a string the caller frees.
template <class Call>
nlohmann::json library_json(Call call) {
  char* raw = nullptr;
  check(call(&raw));
  const auto json = nlohmann::json::parse(raw);
  smolvm_free(raw);
  return json;
}

}  // namespace

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

int cmd_image(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help") {
    std::cout << "usage: smolvm image build [--force] [--kernel built|stock|auto]\n"
                 "                                      build (or reuse) the default guest image;\n"
                 "                                      --kernel stock: Debian's kernel, no\n"
                 "                                      compiling (slower boot); auto: the built\n"
                 "                                      kernel if cached, else stock\n"
                 "       smolvm image ls                list cached images and their templates\n"
                 "       smolvm image prune [--dry-run] [--json]\n"
                 "                                      remove images no VM uses\n";
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "build") {
    const Args a = parse_args(rest, {"--kernel"}, {"--force", "--quiet"});
    const std::string kernel = a.get("--kernel", "built");
    if (kernel != "built" && kernel != "stock" && kernel != "auto") {
      throw UsageError("--kernel '" + kernel + "': must be built, stock or auto");
    }
    const std::string dir = exe_dir();
    const std::string script = first_existing(
        {env_or("SMOLVM_IMAGE_BUILDER"), dir + "/../share/smolvm/guest/build-image.sh",
         std::string(SMOLVM_SOURCE_DIR) + "/guest/build-image.sh"});
    const std::string agent =
        first_existing({env_or("SMOLVM_AGENT"), dir + "/../lib/smolvm/smolvm-agent"});
    if (script.empty())
      throw UsageError("guest/build-image.sh not found; set SMOLVM_IMAGE_BUILDER");
    if (agent.empty()) {
      throw UsageError("the static smolvm-agent was not found next to smolvm; set SMOLVM_AGENT");
    }
    std::vector<std::string> args = {"bash", script, "--agent", agent, "--kernel", kernel};
    if (a.has("--force")) args.push_back("--force");
    if (a.has("--quiet")) args.push_back("--quiet");
    std::vector<char*> cargv;
    for (auto& s : args) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    ::execvp("bash", cargv.data());
    std::perror("smolvm: exec bash");
    return 1;
  }
  if (argv[0] == "ls") {
    parse_args(rest, {}, {});
    const std::string images = cache_dir() + "/images";
    std::error_code ec;
    const auto def = std::filesystem::read_symlink(images + "/default", ec);
    std::printf("%-18s %-8s %-20s %-7s %s\n", "KEY", "DEFAULT", "CREATED", "KERNEL", "PATH");
    for (const auto& e : std::filesystem::directory_iterator(images, ec)) {
      const std::string name = e.path().filename().string();
      if (name == "default" || name[0] == '.' || !e.is_directory()) continue;
      std::ifstream in(e.path() / "manifest.json");
      const auto m = nlohmann::json::parse(in, nullptr, false);
      // Images from before kernel_kind all had the built kernel.
      const std::string kernel_kind =
          m.is_object() ? m.value("kernel_kind", std::string("built")) : "?";
      std::printf("%-18s %-8s %-20s %-7s %s\n", name.c_str(), def.filename() == name ? "*" : "",
                  m.is_object() ? m.value("created", std::string("?")).c_str() : "?",
                  kernel_kind.c_str(), e.path().string().c_str());
      // Its templates (README "Sandboxes start from a template"), by
      // machine; .tmp- and .rm- folders are being written or removed.
      std::error_code none;  // an image without templates
      for (const auto& t : std::filesystem::directory_iterator(e.path() / "templates", none)) {
        const std::string variant = t.path().filename().string();
        if (variant[0] == '.' || !t.is_directory()) continue;
        std::printf("  template %s\n", variant.c_str());
      }
    }
    return 0;
  }
  if (argv[0] == "prune") {
    const Args a = parse_args(rest, {}, {"--dry-run", "--json"});
    const bool dry = a.has("--dry-run");
    const auto list =
        library_json([dry](char** out) { return smolvm_image_prune(out, nullptr, dry ? 1 : 0); });
    if (a.has("--json")) {
      std::cout << list.dump(2) << "\n";
      return 0;
    }
    uint64_t freed = 0;
    for (const auto& img : list) {
      const std::string why = img["kept_because"];
      const uint64_t mib = img["bytes"].get<uint64_t>() >> 20;
      if (why.empty()) freed += img["bytes"].get<uint64_t>();
      std::printf("%-18s %-24s %6llu MiB\n", img["key"].get<std::string>().c_str(),
                  why.empty() ? (dry ? "would be removed" : "removed") : ("kept: " + why).c_str(),
                  static_cast<unsigned long long>(mib));
    }
    std::printf("%s %llu MiB\n", dry ? "would free" : "freed",
                static_cast<unsigned long long>(freed >> 20));
    return 0;
  }
  throw UsageError("image takes build, ls or prune, not '" + argv[0] + "'");
}

}  // namespace smolvm_cli
