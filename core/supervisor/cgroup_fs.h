// File-level helpers shared by the cgroup v1 and v2 backends: reading and
// writing control files, and removing only the groups SmolVM made.
#pragma once

#include <string>

namespace smolvm::cgroup_fs {

// The first line of `path`, or "" when it cannot be read.
std::string read_line(const std::string& path);
// Writes `value` to a control file in one write(2), as the kernel wants.
// Returns "" or the error naming the file and the value; *errno_out (when
// given) gets the errno, so a caller can tell a refused value (EINVAL) apart.
std::string write_file(const std::string& path, const std::string& value, int* errno_out = nullptr);
// Whether the space-separated `list` holds `word` (cgroup.controllers).
bool has_word(const std::string& list, const std::string& word);
// Whether the comma-separated `list` holds `word` (mount options, the
// controller field of /proc/self/cgroup: "rw,cpu,cpuacct").
bool has_item(const std::string& list, const std::string& word);
// mkdir that accepts an existing folder. Returns "" or the error.
std::string make_dir(const std::string& dir);
// mkdir of a VM's group. An existing empty one (left by a supervisor that
// was killed) is reused; one holding processes belongs to a live VM with the
// same id from another state folder, and is refused rather than shared.
std::string make_vm_group(const std::string& dir);
// Whether `path` has the only shape SmolVM ever creates and removes:
// absolute, ".../smolvm/<vm-id>", no "." or ".." component.
bool is_vm_group(const std::string& path);
// rmdir of a VM's group, retried while the kernel still counts a just-reaped
// VMM in it (EBUSY). Idempotent: a missing folder counts as removed.
// Refuses (returns false) for any path that is_vm_group() rejects.
bool remove_vm_group(const std::string& path);

}  // namespace smolvm::cgroup_fs
