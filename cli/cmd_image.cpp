// smolvm image: build, import, save, load, ls, inspect, rm, prune.
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/config/vm_spec.h"  // kDefaultImageName

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

std::string joined(const nlohmann::json& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s.get<std::string>();
  return out.empty() ? "-" : out;
}

// A builder script of guest/: installed beside share/smolvm, else the source
// tree's; the variable overrides both.
std::string guest_script(const char* variable, const std::string& file) {
  const std::string script =
      first_existing({env_or(variable), exe_dir() + "/../share/smolvm/guest/" + file,
                      std::string(SMOLVM_SOURCE_DIR) + "/guest/" + file});
  if (script.empty()) throw UsageError("guest/" + file + " not found; set " + variable);
  return script;
}

std::string agent_path() {
  const std::string agent =
      first_existing({env_or("SMOLVM_AGENT"), exe_dir() + "/../lib/smolvm/smolvm-agent"});
  if (agent.empty()) {
    throw UsageError("the static smolvm-agent was not found next to smolvm; set SMOLVM_AGENT");
  }
  return agent;
}

// Runs a builder (bash SCRIPT ARGS...) in this process's place: it prints its
// own progress and leaves nothing behind when it fails or is interrupted.
int exec_builder(std::vector<std::string> args) {
  std::vector<char*> cargv;
  for (auto& s : args) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  ::execvp("bash", cargv.data());
  std::perror("smolvm: exec bash");
  return 1;
}

// A plan for guest/build-recipe.sh in a file of its own, which the builder
// removes.
std::string write_plan(const nlohmann::json& plan) {
  char path[] = "/tmp/smolvm-plan-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("cannot make a temporary file for the build's plan");
  const std::string text = plan.dump();
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) {
    ::unlink(path);
    throw std::runtime_error("cannot write the build's plan to " + std::string(path));
  }
  return path;
}

// The recipe, checked by the library, as the plan the builder reads.
std::string recipe_plan(const std::string& recipe) {
  return write_plan(
      library_json([&](char** out) { return smolvm_image_recipe_load(out, recipe.c_str()); }));
}

// An import is a recipe of nothing but its base, the archive.
std::string import_plan(const std::string& archive, const std::string& name) {
  std::error_code ec;
  const std::string path = std::filesystem::absolute(archive, ec).lexically_normal().string();
  return write_plan({{"name", name},
                     {"source", path},
                     {"base", {{"kind", "archive"}, {"archive", path}}},
                     {"steps", nlohmann::json::array()},
                     {"env", nlohmann::json::array()},
                     {"user", ""},
                     {"workdir", ""},
                     {"disk_size_mib", 0}});
}

// The archive's file name as an image name: "my_app-1.2.tar" -> "my_app-1.2".
std::string name_of_archive(const std::string& archive) {
  std::string stem = std::filesystem::path(archive).filename().string();
  for (const char* ext : {".tar", ".oci"}) {
    if (stem.size() > std::strlen(ext) && stem.ends_with(ext))
      stem.resize(stem.size() - std::strlen(ext));
  }
  std::string out;
  for (const char c : stem) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok =
        (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-';
    out += ok ? l : '-';
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out[0]))) out.erase(0, 1);
  return out.substr(0, 63);
}

// Runs guest/build-recipe.sh for an import in this process's place.
int image_import(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {"--name"}, {"--force", "--quiet"});
  if (a.positional.size() != 1)
    throw UsageError("usage: smolvm image import FILE|FOLDER [--name NAME]");
  const std::string name = a.has("--name") ? a.get("--name") : name_of_archive(a.positional[0]);
  if (name.empty())
    throw UsageError("cannot make an image name of '" + a.positional[0] + "': give --name");
  std::vector<std::string> args = {"bash",
                                   guest_script("SMOLVM_RECIPE_BUILDER", "build-recipe.sh"),
                                   "--plan",
                                   import_plan(a.positional[0], name),
                                   "--image-builder",
                                   guest_script("SMOLVM_IMAGE_BUILDER", "build-image.sh"),
                                   "--agent",
                                   agent_path(),
                                   "--name",
                                   name};
  if (a.has("--force")) args.push_back("--force");
  if (a.has("--quiet")) args.push_back("--quiet");
  return exec_builder(args);
}

// Runs guest/build-image.sh (or build-recipe.sh for -f) in this process's
// place: it prints its own progress and leaves nothing behind when it fails
// or is interrupted.
int image_build(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {"--name", "--file", "--kernel"}, {"--force", "--quiet"},
                            {{"-f", "--file"}});
  const std::string kernel = a.get("--kernel", "built");
  if (kernel != "built" && kernel != "stock" && kernel != "auto") {
    throw UsageError("--kernel '" + kernel + "': must be built, stock or auto");
  }
  const std::string agent = agent_path();
  std::vector<std::string> args;
  if (a.has("--file")) {
    const std::string image_script = guest_script("SMOLVM_IMAGE_BUILDER", "build-image.sh");
    args = {"bash",
            guest_script("SMOLVM_RECIPE_BUILDER", "build-recipe.sh"),
            "--plan",
            recipe_plan(a.get("--file")),
            "--image-builder",
            image_script,
            "--agent",
            agent};
  } else {
    args = {"bash",     guest_script("SMOLVM_IMAGE_BUILDER", "build-image.sh"),
            "--agent",  agent,
            "--kernel", kernel};
  }
  if (a.has("--name")) args.insert(args.end(), {"--name", a.get("--name")});
  if (a.has("--force")) args.push_back("--force");
  if (a.has("--quiet")) args.push_back("--quiet");
  return exec_builder(args);
}

// Runs guest/image-archive.sh SUBCOMMAND ARGS... in this process's place.
int exec_archiver(std::vector<std::string> args, const Args& a) {
  args.insert(args.begin(), {"bash", guest_script("SMOLVM_IMAGE_ARCHIVER", "image-archive.sh")});
  if (a.has("--quiet")) args.push_back("--quiet");
  return exec_builder(args);
}

// One file of an image, to move it to another host (guest/image-archive.sh).
int image_save(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {"--output"}, {"--quiet"}, {{"-o", "--output"}});
  if (a.positional.size() != 1 || !a.has("--output")) {
    throw UsageError("usage: smolvm image save NAME|KEY -o FILE");
  }
  const std::string which = a.positional[0];
  const auto img = library_json([&](char** out) {
                     return smolvm_image_list(out, nullptr, which.c_str());
                   }).at(0);
  // The name the file carries for load: the one asked for, else the image's first.
  std::string name;
  for (const auto& n : img["names"]) {
    const std::string s = n.get<std::string>();
    if (s == smolvm::kDefaultImageName) continue;
    if (s == which || name.empty()) name = s;
  }
  return exec_archiver({"save", img["path"].get<std::string>(), name, a.get("--output")}, a);
}

// An image from a file image save wrote, checked before it reaches the cache.
int image_load(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {"--name"}, {"--quiet"});
  if (a.positional.size() != 1) throw UsageError("usage: smolvm image load FILE [--name NAME]");
  std::vector<std::string> args = {"load", a.positional[0]};
  if (a.has("--name")) args.insert(args.end(), {"--name", a.get("--name")});
  return exec_archiver(args, a);
}

int image_ls(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {}, {"--json"});
  const auto list =
      library_json([](char** out) { return smolvm_image_list(out, nullptr, nullptr); });
  if (a.has("--json")) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("%-18s %-24s %-20s %-7s %8s  %s\n", "KEY", "NAMES", "CREATED", "KERNEL", "SIZE",
              "USED BY");
  for (const auto& img : list) {
    const auto& m = img["manifest"];
    // Images from before kernel_kind all had the built kernel.
    std::printf("%-18s %-24s %-20s %-7s %4llu MiB  %s\n", img["key"].get<std::string>().c_str(),
                joined(img["names"]).c_str(), m.value("created", std::string("?")).c_str(),
                m.value("kernel_kind", std::string("built")).c_str(),
                static_cast<unsigned long long>(img["bytes"].get<uint64_t>() >> 20),
                joined(img["users"]).c_str());
    // Its templates (README "Sandboxes start from a template"), by
    // machine; .tmp- and .rm- folders are being written or removed.
    std::error_code none;  // an image without templates
    const std::filesystem::path templates =
        std::filesystem::path(img["path"].get<std::string>()) / "templates";
    for (const auto& t : std::filesystem::directory_iterator(templates, none)) {
      const std::string variant = t.path().filename().string();
      if (variant[0] == '.' || !t.is_directory()) continue;
      std::printf("  template %s\n", variant.c_str());
    }
  }
  return 0;
}

int image_inspect(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {}, {});
  if (a.positional.size() != 1) throw UsageError("usage: smolvm image inspect NAME|KEY");
  const std::string which = a.positional[0];
  const auto list =
      library_json([&](char** out) { return smolvm_image_list(out, nullptr, which.c_str()); });
  std::cout << list.at(0).dump(2) << "\n";
  return 0;
}

int image_rm(const std::vector<std::string>& rest) {
  const Args a = parse_args(rest, {}, {});
  if (a.positional.empty()) throw UsageError("usage: smolvm image rm NAME|KEY...");
  int rc = 0;
  for (const auto& which : a.positional) {
    if (smolvm_image_remove(nullptr, which.c_str()) != 0) {
      std::cerr << "smolvm: " << smolvm_last_error() << "\n";
      rc = 1;
      continue;
    }
    std::cout << which << "\n";
  }
  return rc;
}

int image_prune(const std::vector<std::string>& rest) {
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
    std::printf("%-6s %-18s %-24s %6llu MiB\n", img.value("kind", "image").c_str(),
                img["key"].get<std::string>().c_str(),
                why.empty() ? (dry ? "would be removed" : "removed") : ("kept: " + why).c_str(),
                static_cast<unsigned long long>(mib));
  }
  std::printf("%s %llu MiB\n", dry ? "would free" : "freed",
              static_cast<unsigned long long>(freed >> 20));
  return 0;
}

}  // namespace

const char* const kImageUsage =
    "usage: smolvm image build [-f RECIPE.yaml] [--name NAME] [--kernel built|stock|auto]\n"
    "                          [--force] [--quiet]\n"
    "       smolvm image import FILE|FOLDER [--name NAME] [--force] [--quiet]\n"
    "       smolvm image save NAME|KEY -o FILE [--quiet]\n"
    "       smolvm image load FILE [--name NAME] [--quiet]\n"
    "       smolvm image ls [--json]\n"
    "       smolvm image inspect NAME|KEY\n"
    "       smolvm image rm NAME|KEY...\n"
    "       smolvm image prune [--dry-run] [--json]\n"
    "build: the default guest kernel and rootfs into ~/.cache/smolvm/images\n"
    "(cached by a hash of their inputs: a second build is a no-op); it becomes\n"
    "the default image, or with --name gets that name and the default stays.\n"
    "--kernel stock: Debian's cloud kernel (no compiling, boots in seconds rather\n"
    "than one); auto: the built kernel if it is cached, else stock.\n"
    "build -f: an image from a recipe (kind: ImageRecipe, examples/images/), named\n"
    "by --name or the recipe's name; every step is a layer cached by a hash of its\n"
    "inputs, so an unchanged recipe is a no-op and a changed step rebuilds only\n"
    "from there. A failure or Ctrl-C leaves the cache as it was.\n"
    "import: a container image (docker save output, an OCI layout folder or tar)\n"
    "as a named image (default name: the file's): skopeo and umoci unpack it,\n"
    "whiteouts applied; device nodes are dropped and links kept inside the root; the\n"
    "agent is added as init; its Env, WorkingDir, User, Entrypoint and Cmd are kept\n"
    "in the manifest, its Env becoming its VMs' environment.\n"
    "save: the image as one file (.tar.zst, else .tar.gz/.tgz or .tar by its\n"
    "name): its manifest, kernel and sparse rootfs with their sizes and SHA-256.\n"
    "load: such a file into the cache, named by --name or the name it was saved\n"
    "under. The file is not trusted: anything but plain files with plain names,\n"
    "sizes or hashes that differ from its index, a manifest naming other files or\n"
    "another key are refused before the image reaches the cache; an image already\n"
    "there is not loaded again (only named).\n"
    "A VM boots a named image with `smolvm create --image NAME` (profile\n"
    "`image: NAME`) and keeps the image the name led to when it was created.\n"
    "rm: removes a name, and its image unless another name leads there; a KEY\n"
    "removes the image and its names. Removing an image is refused while a VM or\n"
    "snapshot uses it.\n"
    "prune: removes every image that is neither the default, nor named, nor\n"
    "used by a VM (in any state folder), then every recipe layer (layers/) no\n"
    "kept image is made of. --dry-run only lists.";

int cmd_image(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help") {
    std::cout << kImageUsage << "\n";
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "build") return image_build(rest);
  if (argv[0] == "import") return image_import(rest);
  if (argv[0] == "save") return image_save(rest);
  if (argv[0] == "load") return image_load(rest);
  if (argv[0] == "ls") return image_ls(rest);
  if (argv[0] == "inspect") return image_inspect(rest);
  if (argv[0] == "rm") return image_rm(rest);
  if (argv[0] == "prune") return image_prune(rest);
  throw UsageError("image takes build, import, save, load, ls, inspect, rm or prune, not '" +
                   argv[0] + "'");
}

}  // namespace smolvm_cli
