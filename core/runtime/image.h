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
// `env` over the environment the image's recipe gave it (its manifest's
// defaults.env, KEY=VALUE): the VM's own entry wins over the image's of the
// same name. An image without one (the default image, a user's own rootfs)
// adds nothing. EINVAL naming the manifest for an entry that is not KEY=VALUE.
std::vector<std::string> env_with_image_defaults(const std::string& rootfs,
                                                 const std::vector<std::string>& env);

uint32_t disk_size_mib_for(uint32_t requested_mib, const std::string& rootfs);

}  // namespace smolvm
