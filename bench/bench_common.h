// Shared helpers of the SmolVM benchmarks: timing, percentiles, the host
// description recorded with every result, /proc scans, and the bare-VMM
// baselines (QEMU, Firecracker) that boot the same kernel and rootfs with no
// SmolVM involved.
#pragma once

#include <smolvm/plugin.h>
#include <smolvm/smolvm.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

double ms_since(Clock::time_point t0);
double percentile(std::vector<double> v, double p);

// Samples of one measured quantity, in milliseconds.
struct Series {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double p50() const { return percentile(v, 0.5); }
  double p95() const { return percentile(v, 0.95); }
  double max() const { return percentile(v, 1.0); }
  json to_json() const;
};

[[noreturn]] void die(const std::string& tool, const std::string& what);

// First line of a shell command's output, without the newline.
std::string first_line(const std::string& cmd);
// Whole output of a shell command.
std::string command_output(const std::string& cmd);

// The machine: CPU model, host kernel, QEMU version, cores, memory, load,
// KVM kind. `accel` is what SmolVM resolved for its VMs.
json host_env(const std::string& accel);
double loadavg1();

// A fresh state folder under /tmp, exported as SMOLVM_STATE_DIR so the
// benchmark never touches the user's VMs.
std::string make_state_dir(const char* tag);
void remove_tree(const std::string& path);

// ---- /proc ------------------------------------------------------------

bool process_alive(int64_t pid);  // exists and is not a zombie
// Pids whose command line contains `needle`.
std::vector<int64_t> pids_with_cmdline(const std::string& needle);
// pid and every descendant of it.
std::set<int64_t> process_tree(int64_t pid);
// Sum of Pss (or Rss) in KiB over smaps_rollup of the given pids.
uint64_t pss_kib(const std::set<int64_t>& pids);
uint64_t rss_kib(const std::set<int64_t>& pids);
// utime + stime in clock ticks over the given pids.
uint64_t cpu_ticks(const std::set<int64_t>& pids);
// qemu-system / firecracker / smolvm-supervisor processes on the host.
int count_vmm_processes();

// ---- bare VMM baselines ----------------------------------------------

struct GuestImage {
  std::string kernel;  // vmlinux
  std::string rootfs;  // raw ext4
  std::string accel;   // kvm | tcg
  uint32_t vcpus = 2;
  uint32_t mem_mib = 512;
};

// QEMU launched by this build's vmm-qemu plugin, as SmolVM's supervisor
// launches it (the same command line, disk overlay, files and sandbox), with
// the given kernel arguments (the guest's init) and nothing of SmolVM around
// it: no supervisor, no client library, and no agent unless it is the init.
class PluginQemu {
 public:
  PluginQemu() = default;
  PluginQemu(const PluginQemu&) = delete;
  PluginQemu& operator=(const PluginQemu&) = delete;
  ~PluginQemu();
  // dir: a fresh folder for the VM's disk, sockets and logs.
  bool launch(const GuestImage& img, const std::string& dir, const std::string& boot_args,
              std::string& err);
  bool wait_console(const std::string& marker, int timeout_ms);
  const std::string& console_text() const { return console_text_; }
  // The host end of the agent's virtio-serial port, or -1 (err says why).
  int connect_agent(std::string& err);
  std::string qmp_path() const { return dir_ + "/qmp.sock"; }
  pid_t pid() const { return pid_; }
  // SIGTERM until exit; the time it took, or -1 if nothing ran.
  double terminate();

 private:
  const smolvm_vmm_vtable* vt_ = nullptr;
  void* instance_ = nullptr;
  pid_t pid_ = -1;
  int console_ = -1;
  std::string dir_, console_text_;
};

// Bare QEMU (PluginQemu) with the agent as init: the time until the console
// prints "smolvm-agent: ready", then the time SIGTERM takes to end QEMU.
// Returns false if the marker never came.
struct BareBoot {
  double ready_ms = -1;
  double terminate_ms = -1;
};
bool bare_qemu_agent_boot(const GuestImage& img, const std::string& tmp, BareBoot& out);

// Bare QEMU (PluginQemu) with /bin/sh as init driving the agent's
// virtio-serial port by a shell loop: the transport floor of every exec and
// file phase, no SmolVM code in host or guest.
class BareShellVm {
 public:
  ~BareShellVm();
  bool boot(const GuestImage& img, const std::string& tmp, std::string& err);
  double boot_ms() const { return boot_ms_; }
  double true_round_trip();       // fork+exec /bin/true, 1-byte answer
  double read_out(size_t bytes);  // head -c bytes /dev/zero to the host
  double put(size_t bytes);       // host -> guest tmpfs file
  double get(size_t bytes);       // guest tmpfs file -> host
  double terminate();             // SIGTERM until exit
  pid_t qemu_pid() const { return vm_.pid(); }
  // A QMP command ("stop", "cont") on a fresh connection, as vmm-qemu sends
  // it: connect, greeting, qmp_capabilities, the command, its return. -1 on
  // failure.
  double qmp(const char* command);

 private:
  bool read_exact(size_t n);
  bool send(const void* data, size_t n);
  PluginQemu vm_;
  int sock_ = -1;
  double boot_ms_ = -1;
};

// Firecracker: why it cannot run here, or "" if it can.
std::string firecracker_skip_reason();
// Firecracker booting the same kernel and rootfs (read-only) to the same
// marker; ready_ms and terminate_ms as for QEMU.
bool bare_firecracker_agent_boot(const GuestImage& img, const std::string& tmp, BareBoot& out);

}  // namespace bench
