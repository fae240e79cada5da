// Names of cached guest images, so that a VM is made from "python-data"
// rather than from a hash: images/names/<name> is a link to ../<key>, the
// image's folder. A VM records the folder the name led to at create time
// (resolve_image), so moving a name to a rebuilt image never changes the
// base under an existing VM's disk.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/vm_spec.h"  // kDefaultImageName

namespace smolvm {

// The folder under images/ that holds the name links.
inline constexpr const char* kImageNamesDir = "names";

// The image folder (canonical, images/<key>) a name leads to; ENOTFOUND
// naming the image and how to list them.
std::string named_image_dir(const std::string& cache_dir, const std::string& name);

// Gives the image images/<key> the name (moving it if another image had it),
// atomically and under images/.lock.
void name_image(const std::string& cache_dir, const std::string& name, const std::string& key);

// Every name (the default included) by the key it leads to, sorted.
std::map<std::string, std::vector<std::string>> image_names_by_key(const std::string& cache_dir);

struct ImageEntry {
  std::string key;                 // the folder's name under images/
  std::string path;                // the folder
  std::vector<std::string> names;  // "default" when it is the default
  uint64_t bytes = 0;              // space its files take on disk
  std::string manifest;            // its manifest.json as written ("" if none)
  std::vector<std::string> users;  // "vm ID" / "snapshot NAME" of the folders using it
};

// Every complete image in the cache (none when there is no cache).
std::vector<ImageEntry> list_images(const std::string& cache_dir);
// One image by name or key; ENOTFOUND otherwise.
ImageEntry find_image(const std::string& cache_dir, const std::string& name_or_key);

// Removes an image by name or key. A name: the link goes, and the image's
// folder with it unless another name (or the default) still leads there.
// A key: the folder and every name leading to it. Removing the folder is
// refused (EBUSY) while a VM or snapshot uses the image, naming them, and
// for the default image. Returns what was done, for the user.
std::string remove_image(const std::string& cache_dir, const std::string& name_or_key);

}  // namespace smolvm
