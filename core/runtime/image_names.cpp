#include "core/runtime/image_names.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "core/common/error.h"
#include "core/common/files.h"
#include "core/config/vm_spec.h"
#include "core/runtime/image_users.h"

namespace smolvm {
namespace {

namespace fs = std::filesystem;

std::string images_dir(const std::string& cache_dir) { return cache_dir + "/images"; }

// images/default for the default image, images/names/<name> otherwise.
std::string name_link(const std::string& cache_dir, const std::string& name) {
  if (name == kDefaultImageName) return images_dir(cache_dir) + "/" + kDefaultImageName;
  return images_dir(cache_dir) + "/" + kImageNamesDir + "/" + name;
}

bool is_image_key(const std::string& cache_dir, const std::string& key) {
  if (key.empty() || key[0] == '.' || key == kImageNamesDir || key == kDefaultImageName ||
      key.find('/') != std::string::npos) {
    return false;
  }
  std::error_code ec;
  const fs::path dir = fs::path(images_dir(cache_dir)) / key;
  return !fs::is_symlink(dir, ec) && fs::is_directory(dir, ec);
}

// A user folder's link target, said the way the user knows it: the VM's id
// (state/vms/<id>) or the snapshot's name (state/snapshots/<name>).
std::string describe_user(const std::string& folder) {
  const fs::path p(folder);
  const std::string kind = p.parent_path().filename().string();
  const std::string what = kind == "vms" ? "vm" : kind == "snapshots" ? "snapshot" : "folder";
  return what + " " + (what == "folder" ? folder : p.filename().string());
}

ImageEntry entry_for(const std::string& cache_dir, const std::string& key,
                     const std::map<std::string, std::vector<std::string>>& names) {
  ImageEntry e;
  e.key = key;
  e.path = images_dir(cache_dir) + "/" + key;
  if (const auto it = names.find(key); it != names.end()) e.names = it->second;
  e.bytes = bytes_on_disk(e.path);
  if (path_exists(e.path + "/manifest.json")) e.manifest = read_file(e.path + "/manifest.json");
  for (const std::string& user : folder_users(e.path)) e.users.push_back(describe_user(user));
  std::sort(e.users.begin(), e.users.end());
  return e;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void unlink_or_fail(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno(SMOLVM_EIO, "remove " + path);
}

}  // namespace

std::string named_image_dir(const std::string& cache_dir, const std::string& name) {
  check_image_name(name);
  std::error_code ec;
  const fs::path dir = fs::canonical(name_link(cache_dir, name), ec);
  if (ec || !fs::is_directory(dir, ec)) {
    fail(SMOLVM_ENOTFOUND,
         "image='" + name + "': no such image in " + images_dir(cache_dir) +
             (name == kDefaultImageName ? " (build it with `smolvm image build`)"
                                        : " (`smolvm image ls` lists the images)"));
  }
  return dir.string();
}

void name_image(const std::string& cache_dir, const std::string& name, const std::string& key) {
  check_image_name(name, "name");
  if (name == kDefaultImageName) {
    fail(SMOLVM_EINVAL, "name='default': is the default image's; choose another name");
  }
  const ImagesLock lock(images_dir(cache_dir));
  if (!is_image_key(cache_dir, key)) {
    fail(SMOLVM_ENOTFOUND, "image key '" + key + "': no such image in " + images_dir(cache_dir));
  }
  make_dirs(images_dir(cache_dir) + "/" + kImageNamesDir, 0755);
  const std::string link = name_link(cache_dir, name);
  const std::string tmp = link + ".tmp";
  ::unlink(tmp.c_str());
  if (::symlink(("../" + key).c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str())) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    fail_errno(SMOLVM_EIO, "naming image " + key + " '" + name + "'");
  }
}

std::map<std::string, std::vector<std::string>> image_names_by_key(const std::string& cache_dir) {
  std::map<std::string, std::vector<std::string>> out;
  std::error_code ec;
  const auto add = [&](const fs::path& link, const std::string& name) {
    const fs::path target = fs::read_symlink(link, ec);
    if (!ec && is_image_key(cache_dir, target.filename().string())) {
      out[target.filename().string()].push_back(name);
    }
  };
  add(name_link(cache_dir, kDefaultImageName), kDefaultImageName);
  for (const auto& e : fs::directory_iterator(images_dir(cache_dir) + "/" + kImageNamesDir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") == std::string::npos) add(e.path(), name);
  }
  for (auto& [key, names] : out) std::sort(names.begin(), names.end());
  return out;
}

std::vector<ImageEntry> list_images(const std::string& cache_dir) {
  std::vector<ImageEntry> out;
  const auto names = image_names_by_key(cache_dir);
  std::vector<std::string> keys;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(images_dir(cache_dir), ec)) {
    const std::string key = e.path().filename().string();
    if (is_image_key(cache_dir, key)) keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) out.push_back(entry_for(cache_dir, key, names));
  return out;
}

ImageEntry find_image(const std::string& cache_dir, const std::string& name_or_key) {
  const auto names = image_names_by_key(cache_dir);
  if (is_image_key(cache_dir, name_or_key)) return entry_for(cache_dir, name_or_key, names);
  const std::string dir = named_image_dir(cache_dir, name_or_key);
  return entry_for(cache_dir, fs::path(dir).filename().string(), names);
}

std::string remove_image(const std::string& cache_dir, const std::string& name_or_key) {
  std::optional<ImagesLock> lock;  // no images folder: find_image says there is no such image
  if (path_exists(images_dir(cache_dir))) lock.emplace(images_dir(cache_dir));
  const ImageEntry img = find_image(cache_dir, name_or_key);
  const bool by_key = img.key == name_or_key;
  std::vector<std::string> others;
  for (const std::string& n : img.names) {
    if (by_key || n != name_or_key) others.push_back(n);
  }
  // A name whose image another name keeps: only the link goes, whoever
  // uses the image.
  if (!by_key && name_or_key != kDefaultImageName && !others.empty()) {
    unlink_or_fail(name_link(cache_dir, name_or_key));
    return "removed the name " + name_or_key + "; image " + img.key + " stays (also " +
           join(others) + ")";
  }
  if (!img.users.empty()) {
    fail(SMOLVM_EBUSY, "image '" + name_or_key + "' is used by " + join(img.users) +
                           ": delete those first (a VM keeps the image it was created with)");
  }
  const bool is_default =
      std::find(img.names.begin(), img.names.end(), kDefaultImageName) != img.names.end();
  if (is_default && (by_key || name_or_key == kDefaultImageName)) {
    fail(SMOLVM_EBUSY, "image '" + name_or_key +
                           "' is the default image: `smolvm image build` makes another default; "
                           "`smolvm image prune` then removes this one");
  }
  if (!by_key) {
    unlink_or_fail(name_link(cache_dir, name_or_key));
  } else {
    for (const std::string& n : others) unlink_or_fail(name_link(cache_dir, n));
  }
  if (!remove_tree(img.path)) fail(SMOLVM_EIO, "cannot remove " + img.path);
  return "removed image " + img.key + (img.names.empty() ? "" : " (" + join(img.names) + ")");
}

}  // namespace smolvm
