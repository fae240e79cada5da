#include "core/runtime/image_users.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/runtime/image_names.h"
#include "core/runtime/layer_prune.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

// FNV-1a: a stable name for a VM folder's marker (std::hash is not stable
// across builds, and the marker must be found again by another binary).
std::string marker_name(const std::string& vm_dir) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : vm_dir) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

uint64_t bytes_on_disk(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

namespace {

// Whether a VM folder still uses the image; removes the dangling markers
// of VMs that are gone (not in a dry run).
bool in_use(const fs::path& image, bool dry_run) {
  bool used = false;
  std::error_code ec;
  for (const auto& m : fs::directory_iterator(image / "used-by", ec)) {
    if (fs::is_directory(m.path(), ec)) {
      used = true;  // the link's target, the VM's folder, exists
    } else if (!dry_run) {
      fs::remove(m.path(), ec);
    }
  }
  return used;
}

}  // namespace

std::string image_dir_of(const std::string& rootfs, const std::string& cache_dir) {
  std::error_code ec;
  const fs::path images = fs::weakly_canonical(fs::path(cache_dir) / "images", ec);
  const fs::path dir = fs::weakly_canonical(rootfs, ec).parent_path();
  if (ec || dir.parent_path() != images || dir.filename().string()[0] == '.') return {};
  return dir.string();
}

ImagesLock::ImagesLock(const std::string& images_dir) {
  const std::string path = images_dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) {
    const int err = errno;
    if (fd_ >= 0) ::close(fd_);
    errno = err;
    fail_errno(SMOLVM_EIO, "lock " + path);
  }
}

ImagesLock::~ImagesLock() { ::close(fd_); }

void add_folder_user(const std::string& dir, const std::string& user_dir) {
  make_dirs(dir + "/used-by", 0755);
  const std::string marker = dir + "/used-by/" + marker_name(user_dir);
  ::unlink(marker.c_str());  // a leftover of an earlier user in the same folder
  if (::symlink(user_dir.c_str(), marker.c_str()) != 0) {
    fail_errno(SMOLVM_EIO, "marking " + dir + " as used by " + user_dir);
  }
}

void remove_folder_user(const std::string& dir, const std::string& user_dir) {
  ::unlink((dir + "/used-by/" + marker_name(user_dir)).c_str());
}

std::vector<std::string> folder_users(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& m : fs::directory_iterator(fs::path(dir) / "used-by", ec)) {
    if (fs::is_directory(m.path(), ec)) out.push_back(fs::read_symlink(m.path(), ec).string());
  }
  return out;
}

void add_image_user(const std::string& rootfs, const std::string& cache_dir,
                    const std::string& vm_dir) {
  const std::string dir = image_dir_of(rootfs, cache_dir);
  if (!dir.empty()) add_folder_user(dir, vm_dir);
}

void remove_image_user(const std::string& rootfs, const std::string& cache_dir,
                       const std::string& vm_dir) {
  const std::string dir = image_dir_of(rootfs, cache_dir);
  if (!dir.empty()) remove_folder_user(dir, vm_dir);
}

std::vector<CachedImage> prune_images(const std::string& cache_dir, bool dry_run) {
  const std::string images = cache_dir + "/images";
  std::vector<CachedImage> out;
  if (!path_exists(images)) return out;
  const ImagesLock lock(images);
  std::error_code ec;
  const std::string current = fs::read_symlink(images + "/default", ec).filename().string();
  const std::map<std::string, std::vector<std::string>> names = image_names_by_key(cache_dir);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(images, ec)) {
    const std::string name = e.path().filename().string();
    // default and default.tmp are links; .build-* and .lock are the
    // builder's; names/ holds the names.
    if (name[0] == '.' || name == kImageNamesDir || e.is_symlink() || !e.is_directory()) continue;
    dirs.push_back(e.path());
  }
  if (ec) fail(SMOLVM_EIO, "cannot list " + images + ": " + ec.message());
  std::vector<std::string> kept;
  for (const auto& dir : dirs) {
    CachedImage img;
    img.key = dir.filename().string();
    img.path = dir.string();
    img.bytes = bytes_on_disk(img.path);
    const bool used = in_use(dir, dry_run);  // clears dangling links on every image
    const auto named = names.find(img.key);
    if (img.key == current) {
      img.kept_because = "the default image";
    } else if (named != names.end()) {
      img.kept_because = "named " + named->second.front();
    } else if (used) {
      img.kept_because = "used by a VM";
    } else if (!dry_run && !remove_tree(img.path)) {
      fail(SMOLVM_EIO, "cannot remove " + img.path);
    }
    if (!img.kept_because.empty()) kept.push_back(img.path);
    out.push_back(img);
  }
  for (auto& layer : prune_layers(cache_dir, kept, dry_run)) out.push_back(std::move(layer));
  return out;
}

}  // namespace smolvm
