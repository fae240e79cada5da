#include "bench_common.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

namespace bench {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

json Series::to_json() const {
  double sum = 0;
  for (double x : v) sum += x;
  json samples = json::array();
  for (double x : v) samples.push_back(std::round(x * 100) / 100);
  return {{"n", v.size()},
          {"p50", p50()},
          {"p95", p95()},
          {"mean", v.empty() ? 0 : sum / static_cast<double>(v.size())},
          {"min", v.empty() ? 0 : *std::min_element(v.begin(), v.end())},
          {"max", v.empty() ? 0 : *std::max_element(v.begin(), v.end())},
          {"samples", samples}};
}

void die(const std::string& tool, const std::string& what) {
  std::fprintf(stderr, "%s: %s: %s\n", tool.c_str(), what.c_str(), smolvm_last_error());
  std::exit(1);
}

std::string command_output(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string first_line(const std::string& cmd) {
  std::string s = command_output(cmd);
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

double loadavg1() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string kvm_kind() {
  if (exists("/sys/module/kvm_intel") || exists("/sys/module/kvm_amd")) return "hardware";
  if (exists("/sys/module/kvm_pvm")) return "pvm";
  return exists("/dev/kvm") ? "unknown" : "absent";
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

json host_env(const std::string& accel) {
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {
      {"accel", accel},
      {"cpu", first_line("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'")},
      {"cores", std::thread::hardware_concurrency()},
      {"mem_total_gib",
       std::atof(first_line("awk '/MemTotal/ {print $2}' /proc/meminfo").c_str()) / 1048576.0},
      {"host_kernel", first_line("uname -r")},
      {"qemu", first_line("qemu-system-x86_64 --version")},
      {"kvm", kvm_kind()},
      {"smolvm", smolvm_version()},
      {"loadavg_1m_at_start", loadavg1()},
      {"other_vmm_processes_at_start", count_vmm_processes()},
      {"when", when},
  };
}

std::string make_state_dir(const char* tag) {
  std::string tmpl = std::string("/tmp/svbench-") + tag + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  setenv("SMOLVM_STATE_DIR", tmpl.c_str(), 1);
  return tmpl;
}

void remove_tree(const std::string& path) {
  if (path.rfind("/tmp/svbench-", 0) != 0) return;
  const std::string cmd = "rm -rf '" + path + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
}

// ---- /proc ------------------------------------------------------------

namespace {

std::vector<int64_t> all_pids() {
  std::vector<int64_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == 0 && v > 0) out.push_back(v);
  }
  closedir(d);
  return out;
}

// Fields of /proc/PID/stat after the command name: state is [0], ppid [1],
// utime [11], stime [12].
std::vector<std::string> stat_fields(int64_t pid) {
  const std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto rp = s.rfind(')');
  std::vector<std::string> out;
  if (rp == std::string::npos) return out;
  std::istringstream in(s.substr(rp + 2));
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

std::string cmdline(int64_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

uint64_t rollup_field(const std::set<int64_t>& pids, const char* field) {
  uint64_t total = 0;
  const size_t flen = std::strlen(field);
  for (int64_t pid : pids) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string line;
    while (std::getline(f, line)) {
      if (line.compare(0, flen, field) == 0 && line.size() > flen && line[flen] == ':') {
        total += std::strtoull(line.c_str() + flen + 1, nullptr, 10);
        break;
      }
    }
  }
  return total;
}

}  // namespace

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  const auto f = stat_fields(pid);
  return !f.empty() && f[0] != "Z" && f[0] != "X";
}

std::vector<int64_t> pids_with_cmdline(const std::string& needle) {
  std::vector<int64_t> out;
  const int64_t self = getpid();
  for (int64_t pid : all_pids()) {
    if (pid == self) continue;
    if (cmdline(pid).find(needle) != std::string::npos && process_alive(pid)) out.push_back(pid);
  }
  return out;
}

std::set<int64_t> process_tree(int64_t root) {
  std::set<int64_t> out;
  if (!process_alive(root)) return out;
  out.insert(root);
  bool grew = true;
  std::vector<std::pair<int64_t, int64_t>> parent;  // (pid, ppid)
  for (int64_t pid : all_pids()) {
    const auto f = stat_fields(pid);
    if (f.size() > 1 && f[0] != "Z") parent.emplace_back(pid, std::atoll(f[1].c_str()));
  }
  while (grew) {
    grew = false;
    for (const auto& [pid, pp] : parent) {
      if (out.count(pp) && !out.count(pid)) {
        out.insert(pid);
        grew = true;
      }
    }
  }
  return out;
}

uint64_t pss_kib(const std::set<int64_t>& pids) { return rollup_field(pids, "Pss"); }
uint64_t rss_kib(const std::set<int64_t>& pids) { return rollup_field(pids, "Rss"); }

uint64_t cpu_ticks(const std::set<int64_t>& pids) {
  uint64_t t = 0;
  for (int64_t pid : pids) {
    const auto f = stat_fields(pid);
    if (f.size() > 12)
      t += std::strtoull(f[11].c_str(), nullptr, 10) + std::strtoull(f[12].c_str(), nullptr, 10);
  }
  return t;
}

int count_vmm_processes() {
  int n = 0;
  for (int64_t pid : all_pids()) {
    const std::string comm = read_file("/proc/" + std::to_string(pid) + "/comm");
    if (comm.rfind("qemu-system", 0) == 0 || comm.rfind("firecracker", 0) == 0) ++n;
  }
  return n;
}

// ---- bare QEMU ----------------------------------------------------------

namespace {

// Starts argv with stdout (and optionally stdin) on pipes.
pid_t spawn(std::vector<std::string> args, int* out_fd, int* in_fd) {
  int out[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  if (in_fd && pipe2(in, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDWR);
    dup2(out[1], 1);
    dup2(in_fd ? in[0] : devnull, 0);
    dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  *out_fd = out[0];
  if (in_fd) {
    close(in[0]);
    *in_fd = in[1];
  }
  return pid;
}

// Reads the console until `marker`; false on EOF or timeout.
bool wait_marker(int fd, std::string& text, const std::string& marker, int timeout_ms) {
  const auto t0 = Clock::now();
  char buf[4096];
  while (text.find(marker) == std::string::npos) {
    const int left = timeout_ms - static_cast<int>(ms_since(t0));
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return false;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    text.append(buf, static_cast<size_t>(n));
  }
  return true;
}

double terminate_child(pid_t pid) {
  const auto t0 = Clock::now();
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return ms_since(t0);
}

constexpr const char* kMarker = "smolvm-agent: ready";

// The vmm-qemu plugin of this build, loaded once.
const smolvm_vmm_vtable* qemu_plugin(std::string& err) {
  static const smolvm_vmm_vtable* vt = nullptr;
  static std::string why;
  if (!vt && why.empty()) {
    void* h = dlopen(SMOLVM_BENCH_QEMU_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    auto entry = h ? reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(h, SMOLVM_PLUGIN_ENTRY_SYMBOL))
                   : nullptr;
    const smolvm_plugin_descriptor* d = entry ? entry() : nullptr;
    if (!d || d->kind != SMOLVM_PLUGIN_VMM) {
      const char* e = dlerror();
      why = std::string("cannot load the QEMU plugin ") + SMOLVM_BENCH_QEMU_PLUGIN + ": " +
            (e ? e : "not a vmm plugin");
    } else {
      vt = static_cast<const smolvm_vmm_vtable*>(d->vtable);
    }
  }
  err = why;
  return vt;
}

}  // namespace

PluginQemu::~PluginQemu() { terminate(); }

bool PluginQemu::launch(const GuestImage& img, const std::string& dir, const std::string& boot_args,
                        std::string& err) {
  vt_ = qemu_plugin(err);
  if (!vt_) return false;
  dir_ = dir;
  mkdir(dir.c_str(), 0700);
  int console[2];
  if (pipe2(console, O_CLOEXEC) != 0) {
    err = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  console_ = console[0];
  const std::string log = dir + "/console.log";
  smolvm_vmm_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.vm_id = "bench-bare";
  cfg.vcpu_count = img.vcpus;
  cfg.mem_size_mib = img.mem_mib;
  cfg.kernel_path = img.kernel.c_str();
  cfg.rootfs_path = img.rootfs.c_str();
  cfg.disk_mode = "isolated";
  cfg.accel = img.accel.c_str();
  cfg.boot_args = boot_args.c_str();
  cfg.vm_dir = dir_.c_str();
  cfg.console_log = log.c_str();
  cfg.console_fd = console[1];
  char disk[4096];
  smolvm_plugin_error perr{};
  if (vt_->prepare_disk(&cfg, disk, sizeof disk, &perr) != 0) {
    close(console[1]);
    err = std::string("prepare_disk: ") + perr.message;
    return false;
  }
  cfg.disk_path = disk;
  const int rc = vt_->launch(&instance_, &cfg, &perr);
  close(console[1]);
  if (rc != 0) {
    err = std::string("launch: ") + perr.message;
    return false;
  }
  pid_ = static_cast<pid_t>(vt_->pid(instance_));
  return true;
}

bool PluginQemu::wait_console(const std::string& marker, int timeout_ms) {
  return console_ >= 0 && wait_marker(console_, console_text_, marker, timeout_ms);
}

int PluginQemu::connect_agent(std::string& err) {
  int fd = -1;
  smolvm_plugin_error perr{};
  if (!instance_ || vt_->agent_connect(instance_, &fd, 10000, &perr) != 0) {
    err = std::string("agent_connect: ") + perr.message;
    return -1;
  }
  return fd;
}

double PluginQemu::terminate() {
  double ms = -1;
  if (pid_ > 0) ms = terminate_child(pid_);
  pid_ = -1;
  if (instance_) vt_->release(instance_);
  instance_ = nullptr;
  if (console_ >= 0) close(console_);
  console_ = -1;
  if (!dir_.empty()) remove_tree(dir_);
  dir_.clear();
  return ms;
}

bool bare_qemu_agent_boot(const GuestImage& img, const std::string& tmp, BareBoot& out) {
  PluginQemu q;
  std::string err;
  const auto t0 = Clock::now();
  if (!q.launch(img, tmp + "/bare-agent", "init=/sbin/smolvm-init", err)) {
    std::fprintf(stderr, "bare QEMU: %s\n", err.c_str());
    return false;
  }
  const bool ok = q.wait_console(kMarker, 120000);
  out.ready_ms = ok ? ms_since(t0) : -1;
  out.terminate_ms = q.terminate();
  return ok;
}

// The guest side: /bin/sh is init, given this script on the kernel command
// line as `-c "script"`. The kernel hands init the parameters it does not
// know, but only those without '=' and '.' (and no "--": microvm appends its
// virtio-mmio devices after the line), and strips one pair of double quotes.
// It opens the virtio-serial port once and serves one-letter requests.
static const char* kShellLoop =
    "mount -t tmpfs tmpfs /tmp; for f in /dev/vport*p1; do [ -c $f ] && exec 3<>$f; done; "
    "echo BARE-SH-READY; while read -r c <&3; do case $c in "
    "t) /bin/true; printf k >&3;; "
    "o*) head -c ${c#o} /dev/zero >&3;; "
    "p*) head -c ${c#p} <&3 >/tmp/bench-bin; printf k >&3;; "
    "g) cat /tmp/bench-bin >&3;; "
    "esac; done";

BareShellVm::~BareShellVm() {
  if (sock_ >= 0) close(sock_);
}

bool BareShellVm::boot(const GuestImage& img, const std::string& tmp, std::string& err) {
  const auto t0 = Clock::now();
  if (!vm_.launch(img, tmp + "/bare-sh", std::string("init=/bin/sh -c \"") + kShellLoop + "\"",
                  err)) {
    return false;
  }
  // The guest reads EOF from the port while no host end is connected:
  // connect before its loop starts (QEMU listens from its start).
  sock_ = vm_.connect_agent(err);
  if (sock_ < 0) return false;
  if (!vm_.wait_console("BARE-SH-READY", 120000)) {
    err = "the shell loop did not start: " + vm_.console_text().substr(0, 2000);
    return false;
  }
  boot_ms_ = ms_since(t0);
  return true;
}

bool BareShellVm::send(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = write(sock_, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool BareShellVm::read_exact(size_t n) {
  static std::vector<char> buf(1 << 20);
  while (n > 0) {
    pollfd p{sock_, POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) return false;
    const ssize_t r = read(sock_, buf.data(), std::min(n, buf.size()));
    if (r <= 0) return false;
    n -= static_cast<size_t>(r);
  }
  return true;
}

double BareShellVm::true_round_trip() {
  const auto t0 = Clock::now();
  if (!send("t\n", 2) || !read_exact(1)) return -1;
  return ms_since(t0);
}

double BareShellVm::read_out(size_t bytes) {
  const std::string req = "o" + std::to_string(bytes) + "\n";
  const auto t0 = Clock::now();
  if (!send(req.data(), req.size()) || !read_exact(bytes)) return -1;
  return ms_since(t0);
}

double BareShellVm::put(size_t bytes) {
  static const std::vector<char> data(64 << 20, 'x');
  const std::string req = "p" + std::to_string(bytes) + "\n";
  const auto t0 = Clock::now();
  if (!send(req.data(), req.size())) return -1;
  size_t left = bytes;
  while (left > 0) {
    const size_t n = std::min(left, data.size());
    if (!send(data.data(), n)) return -1;
    left -= n;
  }
  if (!read_exact(1)) return -1;
  return ms_since(t0);
}

double BareShellVm::get(size_t bytes) {
  const auto t0 = Clock::now();
  if (!send("g\n", 2) || !read_exact(bytes)) return -1;
  return ms_since(t0);
}

double BareShellVm::terminate() {
  if (sock_ >= 0) close(sock_);
  sock_ = -1;
  return vm_.terminate();
}

double BareShellVm::qmp(const char* command) {
  const auto t0 = Clock::now();
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", vm_.qmp_path().c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  // QMP answers one JSON object per line; events carry no "return".
  std::string text;
  auto read_until = [&](const char* want, size_t count) {
    char buf[4096];
    for (;;) {
      size_t n = 0;
      for (size_t at = text.find(want); at != std::string::npos; at = text.find(want, at + 1)) ++n;
      if (n >= count) return true;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return false;
      const ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0) return false;
      text.append(buf, static_cast<size_t>(got));
    }
  };
  auto send = [&](const std::string& line) {
    return write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  const bool ok = read_until("\"QMP\"", 1) && send("{\"execute\":\"qmp_capabilities\"}\n") &&
                  read_until("\"return\"", 1) &&
                  send(std::string("{\"execute\":\"") + command + "\"}\n") &&
                  read_until("\"return\"", 2);
  close(fd);
  return ok ? ms_since(t0) : -1;
}

// ---- Firecracker --------------------------------------------------------

std::string firecracker_skip_reason() {
  const std::string bin = first_line("command -v firecracker");
  std::string why;
  if (bin.empty()) {
    why =
        "no firecracker binary on PATH (not packaged for Debian, and it cannot be downloaded "
        "on this host)";
  }
  const std::string kvm = kvm_kind();
  if (kvm != "hardware") {
    if (!why.empty()) why += "; ";
    why += kvm == "pvm" ? "/dev/kvm is PVM (kvm_pvm), which cannot run a stock guest kernel, "
                          "and Firecracker needs KVM"
                        : "no hardware KVM (Firecracker needs KVM)";
  }
  return why;
}

bool bare_firecracker_agent_boot(const GuestImage& img, const std::string& tmp, BareBoot& out) {
  const std::string uds = tmp + "/fc-vsock.sock";
  const std::string cfg_path = tmp + "/fc-config.json";
  unlink(uds.c_str());
  // The same kernel command line SmolVM's Firecracker backend passes; the
  // root drive read-only (Firecracker appends root=/dev/vda ro).
  const json cfg = {
      {"boot-source",
       {{"kernel_image_path", img.kernel},
        {"boot_args",
         "console=ttyS0 reboot=k panic=1 pci=off quiet loglevel=4 smolvm.channel=vsock:1024"}}},
      {"drives", json::array({{{"drive_id", "rootfs"},
                               {"path_on_host", img.rootfs},
                               {"is_root_device", true},
                               {"is_read_only", true}}})},
      {"machine-config", {{"vcpu_count", img.vcpus}, {"mem_size_mib", img.mem_mib}}},
      {"vsock", {{"guest_cid", 3}, {"uds_path", uds}}},
  };
  std::ofstream(cfg_path) << cfg.dump(2);
  int fd = -1;
  const auto t0 = Clock::now();
  const pid_t pid = spawn({"firecracker", "--no-api", "--config-file", cfg_path}, &fd, nullptr);
  if (pid < 0) return false;
  std::string console;
  const bool ok = wait_marker(fd, console, kMarker, 60000);
  out.ready_ms = ok ? ms_since(t0) : -1;
  out.terminate_ms = terminate_child(pid);
  close(fd);
  unlink(uds.c_str());
  return ok;
}

}  // namespace bench
