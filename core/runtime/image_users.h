// Which cached images VMs use, so that `smolvm image prune` removes only the
// images no VM needs.
//
// Each VM leaves a marker in its image's folder: images/<key>/used-by/<hash
// of the VM's folder>, a symlink to that folder. The image is in use while
// any marker's target exists. That holds across state folders (tests, two
// users of one cache) without a registry, and a VM that vanished without a
// delete (a crash, then gc) leaves only a dangling link that prune clears.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smolvm {

// The image folder (cache_dir/images/<key>) holding `rootfs`, or "" when
// it is not a cached image.
std::string image_dir_of(const std::string& rootfs, const std::string& cache_dir);

// Marks the image holding `rootfs` as used by the VM whose folder is vm_dir.
// A no-op for a rootfs outside cache_dir/images (the user's own files).
void add_image_user(const std::string& rootfs, const std::string& cache_dir,
                    const std::string& vm_dir);
// Removes that mark (best effort: a leftover only keeps an image longer).
void remove_image_user(const std::string& rootfs, const std::string& cache_dir,
                       const std::string& vm_dir);

// The same markers for any folder others depend on (a snapshot, whose disk
// layer restored VMs and later snapshots build on): dir/used-by/<hash>, a
// link to the user's folder.
void add_folder_user(const std::string& dir, const std::string& user_dir);
void remove_folder_user(const std::string& dir, const std::string& user_dir);
// The folders (of users that still exist) using dir.
std::vector<std::string> folder_users(const std::string& dir);

// Holds images/.lock (flock) while alive: `smolvm image build` publishes an
// image, moves images/default and names images under it, and prune and
// `image rm` remove under it, so neither sees the other half-way.
class ImagesLock {
 public:
  explicit ImagesLock(const std::string& images_dir);
  ~ImagesLock();
  ImagesLock(const ImagesLock&) = delete;
  ImagesLock& operator=(const ImagesLock&) = delete;

 private:
  int fd_ = -1;
};

// Space a folder's files take on disk (they are sparse).
uint64_t bytes_on_disk(const std::string& dir);

struct CachedImage {
  std::string kind = "image";  // or "layer" (core/runtime/layer_prune.h)
  std::string key;             // the folder's name under images/ (layers/)
  std::string path;            // the folder
  uint64_t bytes = 0;          // space it takes on disk (its files are sparse)
  std::string kept_because;    // "" when removed (or, dry run, removable)
};

// Every image in cache_dir/images, each removed unless it is the default,
// has a name (core/runtime/image_names.h) or a VM folder still uses it; with dry_run nothing is
// removed. Holds images/.lock (as `smolvm image build` does while it publishes an image and moves
// images/default), so a new image is never removed between being published and becoming the
// default. Then the recipe layers no kept image is made of (prune_layers), listed after the
// images. Throws smolvm::Error when the cache cannot be read or an image cannot be removed.
std::vector<CachedImage> prune_images(const std::string& cache_dir, bool dry_run);

}  // namespace smolvm
