#include "core/runtime/image.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/config/vm_spec.h"
#include "core/runtime/guest_session.h"
#include "core/runtime/image_names.h"
#include "core/runtime/request_limits.h"

namespace smolvm {
namespace {

// The file's canonical path, every symlink resolved. A VM records this, not
// the path it was given: its isolated disk is a qcow2 overlay whose backing
// file is this path, and images/default is a symlink that the next
// `smolvm image build` may move to another image. Through the link, the VM's
// own writes would then sit on top of a different base.
std::string canonical_existing(const std::string& field, const std::string& path,
                               const std::string& hint) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto real = fs::canonical(path, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
    fail(SMOLVM_ENOTFOUND, field + "='" + path + "': no such file" + hint);
  }
  if (ec) fail(SMOLVM_EINVAL, field + "='" + path + "': " + ec.message());
  const fs::file_type type = fs::status(real, ec).type();
  if (type == fs::file_type::directory) {
    fail(SMOLVM_EINVAL, field + "='" + path + "': is a folder; name the image file in it");
  }
  if (type != fs::file_type::regular) {
    fail(SMOLVM_EINVAL, field + "='" + path + "': not a regular file (a device, FIFO or socket)");
  }
  return real.string();
}

// The manifest of the image folder `dir`, or null when there is none.
nlohmann::json image_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  if (!path_exists(path)) return nullptr;
  auto m = nlohmann::json::parse(read_file(path), nullptr, false);
  if (!m.is_object()) fail(SMOLVM_EINVAL, path + ": not a JSON object (rebuild the image)");
  return m;
}

std::string manifest_string(const nlohmann::json& m, const char* key, const std::string& path) {
  const auto it = m.find(key);
  if (it == m.end()) return "";
  if (!it->is_string()) fail(SMOLVM_EINVAL, path + ": '" + key + "' must be a string");
  return it->get<std::string>();
}

// A file named in a manifest: a plain name inside the image's own folder.
std::string file_in_image(const std::string& dir, const std::string& name, const char* key) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    fail(SMOLVM_EINVAL, dir + "/manifest.json: " + key + "='" + name +
                            "': must be a file name in the image's folder");
  }
  return dir + "/" + name;
}

// Kernel arguments from a manifest go onto the kernel's command line:
// words of letters, digits and "_=.,-" only.
std::string checked_args(const std::string& args, const std::string& path) {
  for (const char c : args) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_=.,- ", c))) {
      fail(SMOLVM_EINVAL, path + ": kernel_boot.args_tcg='" + args +
                              "': only letters, digits, spaces and _=.,- are allowed");
    }
  }
  return args;
}

}  // namespace

std::string default_image_dir(const std::string& cache_dir) {
  return cache_dir + "/images/default";
}

ImagePaths resolve_image(const std::string& image, const std::string& kernel_path,
                         const std::string& rootfs_path, const std::string& cache_dir) {
  const std::string dir =
      image.empty() ? default_image_dir(cache_dir) : named_image_dir(cache_dir, image);
  const std::string hint =
      !image.empty() ? " (image '" + image + "' is incomplete: build it again)"
      : kernel_path.empty() || rootfs_path.empty()
          ? " (the default guest image is missing: build it with `smolvm image build`)"
          : "";
  ImagePaths p;
  std::string kernel = kernel_path;
  if (kernel.empty()) {
    // The default image names its kernel (vmlinux when built, vmlinuz when
    // it is Debian's stock kernel).
    const auto m = image_manifest(dir);
    const std::string name = m.is_object() ? manifest_string(m, "kernel", dir) : "";
    kernel = name.empty() ? dir + "/vmlinux" : file_in_image(dir, name, "kernel");
  }
  p.kernel = canonical_existing("kernel_path", kernel, kernel_path.empty() ? hint : "");
  p.rootfs =
      canonical_existing("rootfs_path", rootfs_path.empty() ? dir + "/rootfs.ext4" : rootfs_path,
                         rootfs_path.empty() ? hint : "");
  return p;
}

KernelBoot kernel_boot_for(const std::string& kernel_path) {
  KernelBoot boot;
  const std::string dir = std::filesystem::path(kernel_path).parent_path().string();
  const auto m = image_manifest(dir);
  const std::string path = dir + "/manifest.json";
  // Only the image's own kernel: a manifest beside some other file says
  // nothing about it.
  if (!m.is_object() || dir + "/" + manifest_string(m, "kernel", path) != kernel_path) return boot;
  boot.kind = manifest_string(m, "kernel_kind", path);
  if (const std::string initrd = manifest_string(m, "initrd", path); !initrd.empty()) {
    boot.initrd = canonical_existing("initrd", file_in_image(dir, initrd, "initrd"), "");
  }
  if (const auto kb = m.find("kernel_boot"); kb != m.end()) {
    if (!kb->is_object()) fail(SMOLVM_EINVAL, path + ": 'kernel_boot' must be an object");
    const auto acpi = kb->find("acpi");
    if (acpi != kb->end() && !acpi->is_boolean()) {
      fail(SMOLVM_EINVAL, path + ": kernel_boot.acpi must be true or false");
    }
    boot.acpi = acpi != kb->end() && acpi->get<bool>();
    boot.args_tcg = checked_args(manifest_string(*kb, "args_tcg", path), path);
  }
  return boot;
}

std::string vmm_cannot_boot(const KernelBoot& boot, uint32_t vmm_abi_minor,
                            const std::string& kernel) {
  constexpr uint32_t kInitrdMinor = 6;
  if (!boot.needs_vmm_support() || vmm_abi_minor >= kInitrdMinor) return "";
  return "(plugin ABI 1." + std::to_string(vmm_abi_minor) + ") cannot boot kernel_path='" + kernel +
         "': it needs an initrd and ACPI, which reach a VMM plugin from ABI 1.6 on; update "
         "the plugin, or build the guest's own kernel with `smolvm image build --kernel built`";
}

ImageDefaults image_defaults_of(const std::string& rootfs) {
  ImageDefaults d;
  const std::string dir = std::filesystem::path(rootfs).parent_path().string();
  const auto m = image_manifest(dir);
  const auto found = m.is_object() ? m.find("defaults") : m.end();
  if (!m.is_object() || found == m.end() || found->is_null()) return d;
  const std::string path = dir + "/manifest.json";
  if (!found->is_object()) fail(SMOLVM_EINVAL, path + ": 'defaults' must be an object");
  const nlohmann::json& j = *found;
  const auto strings = [&](const char* key) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array()) fail(SMOLVM_EINVAL, path + ": defaults." + key + " must be a list");
    for (const auto& e : *it) {
      if (!e.is_string() || e.get<std::string>().find('\0') != std::string::npos) {
        fail(SMOLVM_EINVAL,
             path + ": defaults." + key + ": " + e.dump() + " must be a string without NUL bytes");
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  };
  d.env = strings("env");
  for (const auto& kv : d.env) {
    try {
      check_env_entry(kv);
    } catch (const Error& err) {
      fail(SMOLVM_EINVAL, path + ": defaults.env: " + err.what());
    }
  }
  d.command = strings("entrypoint");
  for (auto& c : strings("cmd")) d.command.push_back(std::move(c));
  d.user = manifest_string(j, "user", path);
  d.workdir = manifest_string(j, "workdir", path);
  if (!d.workdir.empty() && d.workdir[0] != '/') {
    fail(SMOLVM_EINVAL,
         path + ": defaults.workdir='" + d.workdir + "': must be an absolute path in the guest");
  }
  // The rules a command's own user and cwd follow.
  ExecRequest as_command;
  as_command.argv = {"true"};
  as_command.user = d.user;
  as_command.cwd = d.workdir;
  try {
    check_exec_request(as_command);
    check_request_size(as_command, d.env);
  } catch (const Error& err) {
    fail(SMOLVM_EINVAL, path + ": defaults: " + err.what());
  }
  return d;
}

std::vector<std::string> env_with_image_defaults(const ImageDefaults& image,
                                                 const std::vector<std::string>& env) {
  const auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (const std::string& kv : image.env) {
    bool overridden = false;
    for (const std::string& own : env) overridden = overridden || name_of(own) == name_of(kv);
    if (!overridden) out.push_back(kv);
  }
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

bool image_has_template_tools(const std::string& rootfs) {
  const auto m = image_manifest(std::filesystem::path(rootfs).parent_path().string());
  const auto it = m.is_object() ? m.find("template_tools") : m.end();
  return it == m.end() || !it->is_boolean() || it->get<bool>();
}

uint32_t disk_size_mib_for(uint32_t requested_mib, const std::string& rootfs) {
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(rootfs, ec);
  if (ec) fail(SMOLVM_ENOTFOUND, "rootfs_path='" + rootfs + "': " + ec.message());
  const uintmax_t image_mib = (bytes + (1u << 20) - 1) >> 20;
  if (requested_mib == 0) return static_cast<uint32_t>(image_mib);
  if (requested_mib < image_mib) {
    fail(SMOLVM_EINVAL, "disk_size_mib=" + std::to_string(requested_mib) +
                            ": must be at least the image's size, " + std::to_string(image_mib) +
                            " MiB (" + rootfs + "), up to " + std::to_string(kDiskMaxMib));
  }
  return requested_mib;
}

}  // namespace smolvm
