// Everything QEMU uses on the host, opened by the plugin in the supervisor
// (which may be privileged) before QEMU starts, and handed over as
// descriptors: the kernel, the base image, the VM's overlay, the console
// log, the agent and QMP sockets, the TAP. QEMU itself then needs no path,
// so it can run as a user to whom the VM's folder is closed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smolvm/plugin.h"

namespace smolvm_qemu {

class VmmFiles {
 public:
  VmmFiles() = default;
  VmmFiles(const VmmFiles&) = delete;
  VmmFiles& operator=(const VmmFiles&) = delete;
  ~VmmFiles();  // closes the plugin's copies (QEMU keeps its own)

  // Opens or creates them all; on failure closes what it opened, removes
  // what it created, and sets error.
  // state_fd >= 0: a restore, QEMU gets a copy of it to load the VM from.
  bool open(const smolvm_vmm_config& cfg, std::string& error, int state_fd = -1);
  // In the order of ChildFd (qemu_args.h), then the state and the disk
  // layers: the descriptors QEMU gets.
  std::vector<int> pass_list() const;

 private:
  static int open_console(const smolvm_vmm_config& cfg, std::string& error);

  void close_all();
  static int dup_state(int state_fd, std::string& error);
  bool open_layers(const smolvm_vmm_config& cfg, std::string& error);

  int kernel_ = -1, base_ = -1, disk_ = -1, console_ = -1, agent_ = -1, qmp_ = -1, tap_ = -1;
  int state_ = -1;
  int initrd_ = -1;
  std::vector<int> layers_;
};

// Makes `path` a qcow2 overlay on the raw `base` (virtual size: the base's,
// or size_mib when non-zero). Returns "" or the error, with no file left.
std::string create_overlay(const std::string& base, const std::string& path, uint32_t size_mib);
// The same on a qcow2 layer (a snapshot's disk), with the layer's size.
std::string create_overlay_on_layer(const std::string& layer, const std::string& path);

// The listening sockets' paths in the VM's folder.
std::string agent_socket_path(const std::string& vm_dir);
std::string qmp_socket_path(const std::string& vm_dir);

}  // namespace smolvm_qemu
