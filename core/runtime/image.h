// Finds the guest kernel and rootfs a VM boots: the user's own, or the
// default image that `smolvm image build` put in the cache.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm {

struct ImagePaths {
  std::string kernel;
  std::string rootfs;
};

// Canonical paths (symlinks such as images/default and a name's link
// resolved, so a VM keeps the image it was created with across rebuilds);
// the files of the named image `image` (core/runtime/image_names.h), or of
// the default one when that is empty, stand in for empty paths. Throws
// ENOTFOUND naming the missing image or file and how to get it.
ImagePaths resolve_image(const std::string& image, const std::string& kernel_path,
                         const std::string& rootfs_path, const std::string& cache_dir);

std::string default_image_dir(const std::string& cache_dir);

// What booting a kernel needs beyond the kernel file, read from the
// manifest of the image folder it sits in (guest/build-image.sh writes it).
// A kernel outside any image, or the built one, needs none of it.
struct KernelBoot {
  std::string kind;      // the manifest's kernel_kind ("built", "stock"), or "" (no manifest)
  std::string initrd;    // an initial RAM disk beside the kernel, or ""
  bool acpi = false;     // finds its devices through ACPI (Debian's stock kernel)
  std::string args_tcg;  // kernel arguments it needs under TCG

  bool needs_vmm_support() const { return !initrd.empty() || acpi; }
};

// Throws EINVAL naming the manifest when it is not what build-image.sh
// writes (an initrd outside the folder, arguments with odd characters).
KernelBoot kernel_boot_for(const std::string& kernel_path);

// Why a VMM plugin built for plugin ABI 1.`vmm_abi_minor` cannot boot
// `kernel`, or "": the config fields that carry an initrd and ACPI came
// with 1.6, and an older plugin would boot such a kernel without them (the
// guest then hangs looking for its disk).
std::string vmm_cannot_boot(const KernelBoot& boot, uint32_t vmm_abi_minor,
                            const std::string& kernel);

// The size in MiB of the disk a VM gets from `rootfs`: `requested_mib`
// when set (refused with EINVAL below the image's own size, which the
// guest's file system fills and cannot shrink from), else the image's size
// rounded up to whole MiB.
// What an image's recipe or imported config asks of its VMs' commands (the
// manifest's "defaults", guest/build-recipe.sh): their environment
// (KEY=VALUE), user and working directory when a command names none, and
// the command `smolvm run` runs when given none (Entrypoint then Cmd).
// The default image and a user's own rootfs have none of it.
struct ImageDefaults {
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  std::vector<std::string> command;
};

// The defaults in the manifest beside `rootfs`, read once when a VM is
// created. EINVAL naming the manifest and the field for an env entry that
// is not KEY=VALUE, a user that is not a name or uid[:gid], a workdir that
// is not an absolute path, or a field of the wrong type.
ImageDefaults image_defaults_of(const std::string& rootfs);

// `env` over the image's environment: the VM's own entry wins over the
// image's of the same name.
std::vector<std::string> env_with_image_defaults(const ImageDefaults& image,
                                                 const std::vector<std::string>& env);

// Whether a guest of the image restored from a template can be made a VM
// of its own: Runtime::refresh_restored_guest runs date and perl in it. An
// image built from a recipe or imported records "template_tools" in its
// manifest (guest/build-recipe.sh looks in its tree: a busybox or
// distroless image lacks them); the default image has both.
bool image_has_template_tools(const std::string& rootfs);

uint32_t disk_size_mib_for(uint32_t requested_mib, const std::string& rootfs);

}  // namespace smolvm
