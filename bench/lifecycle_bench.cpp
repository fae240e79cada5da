// Lifecycle benchmark: SmolVM's phases beside bare QEMU booting the same
// kernel and rootfs to the same init marker, interleaved run by run so both
// see the same machine conditions. Prints a markdown table and writes JSON.
//
// usage: lifecycle_bench [--runs N] [--execs M] [--json FILE]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <smolvm/smolvm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

void die(const std::string& what) {
  std::fprintf(stderr, "lifecycle_bench: %s: %s\n", what.c_str(), smolvm_last_error());
  std::exit(1);
}

std::string first_line(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[512] = {0};
  if (!fgets(buf, sizeof buf, p)) buf[0] = 0;
  pclose(p);
  std::string s = buf;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Bare QEMU: the same machine, kernel, rootfs (read-only snapshot) and
// devices SmolVM uses, started directly; timed until the guest agent prints
// its ready line on the console. Nothing of SmolVM is involved.
double bare_qemu_ready_ms(const std::string& kernel, const std::string& rootfs,
                          const std::string& accel, const std::string& tmp) {
  const std::string sock = tmp + "/bare-agent.sock";
  std::vector<std::string> args = {
      "qemu-system-x86_64",
      "-M",
      "microvm,acpi=off",
      "-accel",
      accel,
      "-cpu",
      accel == "kvm" ? "host" : "max",
      "-m",
      "512",
      "-smp",
      "2",
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-no-reboot",
      "-kernel",
      kernel,
      "-append",
      "console=ttyS0 root=/dev/vda rw reboot=t panic=-1 quiet loglevel=4 "
      "smolvm.channel=virtio-serial init=/sbin/smolvm-init",
      "-serial",
      "stdio",
      "-drive",
      "id=root,if=none,format=raw,snapshot=on,file=" + rootfs,
      "-device",
      "virtio-blk-device,drive=root",
      "-chardev",
      "socket,id=agent,server=on,wait=off,path=" + sock,
      "-device",
      "virtio-serial-device,max_ports=2",
      "-device",
      "virtserialport,chardev=agent,name=smolvm.agent",
      "-object",
      "rng-random,id=rng0,filename=/dev/urandom",
      "-device",
      "virtio-rng-device,rng=rng0"};
  int out[2];
  if (pipe(out) != 0) return -1;
  const auto t0 = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string console;
  double ready = -1;
  char buf[4096];
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) break;
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    console.append(buf, static_cast<size_t>(n));
    if (console.find("smolvm-agent: ready") != std::string::npos) {
      ready = ms_since(t0);
      break;
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(out[0]);
  unlink(sock.c_str());
  return ready;
}

struct Series {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
};

}  // namespace

int main(int argc, char** argv) {
  int runs = 10, execs = 20;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (k == "--execs")
      execs = std::atoi(argv[i + 1]);
    else if (k == "--json")
      json_path = argv[i + 1];
  }
  char tmpl[] = "/tmp/svbench-XXXXXX";
  const std::string tmp = mkdtemp(tmpl);
  setenv("SMOLVM_STATE_DIR", tmp.c_str(), 1);

  smolvm_runtime* rt = nullptr;
  if (smolvm_runtime_open(&rt, nullptr) != 0) die("runtime_open");

  std::map<std::string, Series> s;
  std::string kernel, rootfs, accel;
  double guest_fork_exec_ms = 0;
  for (int r = 0; r < runs; ++r) {
    // SmolVM
    smolvm_vm_options o;
    smolvm_vm_options_init(&o);
    smolvm_vm* vm = nullptr;
    auto t0 = Clock::now();
    if (smolvm_vm_create(&vm, rt, &o) != 0) die("create");
    const double create = ms_since(t0);
    if (smolvm_vm_start(vm) != 0) die("start");
    const double ready = ms_since(t0);
    smolvm_vm_info info;
    smolvm_vm_info_init(&info);
    smolvm_vm_get_info(&info, vm);
    kernel = info.kernel_path;
    rootfs = info.rootfs_path;
    accel = info.accel;
    double exec_total = 0;
    for (int e = 0; e < execs + 1; ++e) {
      smolvm_exec_result* res = nullptr;
      const auto te = Clock::now();
      if (smolvm_vm_run(&res, vm, "true", 0) != 0) die("run");
      const double ms = ms_since(te);
      smolvm_exec_result_free(res);
      if (e == 0) continue;  // the first opens the connection: not a round trip
      s["exec_true"].add(ms);
      exec_total += ms;
    }
    if (r == 0) {
      // The in-guest cost of one fork+exec of /bin/true, for the ratio.
      smolvm_exec_result* res = nullptr;
      smolvm_vm_run(&res, vm,
                    "s=$(date +%s%N); i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; "
                    "e=$(date +%s%N); echo $(( (e - s) / 200 ))",
                    0);
      if (res) guest_fork_exec_ms = std::atof(reinterpret_cast<char*>(res->stdout_data)) / 1e6;
      smolvm_exec_result_free(res);
    }
    const auto td = Clock::now();
    if (smolvm_vm_delete(vm) != 0) die("delete");
    const double stop_delete = ms_since(td);
    smolvm_vm_free(vm);
    s["create"].add(create);
    s["create_start_ready"].add(ready);
    s["stop_delete"].add(stop_delete);
    s["full_lifecycle"].add(ready + exec_total / execs + stop_delete);

    // Bare QEMU, same kernel, rootfs and devices, right after.
    const double bare = bare_qemu_ready_ms(kernel, rootfs, accel, tmp);
    if (bare < 0) {
      std::fprintf(stderr, "lifecycle_bench: bare QEMU never printed the ready marker\n");
      return 1;
    }
    s["bare_qemu_ready"].add(bare);
    std::fprintf(stderr, "run %d/%d: smolvm ready %.0f ms, bare qemu ready %.0f ms\n", r + 1, runs,
                 ready, bare);
  }
  smolvm_runtime_close(rt);

  const double ready50 = percentile(s["create_start_ready"].v, 0.5);
  const double bare50 = percentile(s["bare_qemu_ready"].v, 0.5);
  const double exec50 = percentile(s["exec_true"].v, 0.5);
  const std::string cpu =
      first_line("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'");
  const std::string qemu = first_line("qemu-system-x86_64 --version");
  const std::string host_kernel = first_line("uname -r");

  std::printf("SmolVM lifecycle benchmark: %d runs, %d exec round trips per run\n", runs, execs);
  std::printf("accel %s | CPU %s | host kernel %s | %s\n\n", accel.c_str(), cpu.c_str(),
              host_kernel.c_str(), qemu.c_str());
  std::printf("| phase | p50 ms | p95 ms | baseline | ratio (p50) |\n|---|---:|---:|---|---:|\n");
  auto row = [&](const char* name, const char* key, const char* base, double base50) {
    const double p50 = percentile(s[key].v, 0.5), p95 = percentile(s[key].v, 0.95);
    if (base50 > 0) {
      std::printf("| %s | %.1f | %.1f | %s %.1f ms | %.2f |\n", name, p50, p95, base, base50,
                  p50 / base50);
    } else {
      std::printf("| %s | %.1f | %.1f | - | - |\n", name, p50, p95);
    }
  };
  row("create (record + disk)", "create", "", 0);
  row("create+start to agent ready", "create_start_ready", "bare QEMU to agent ready", bare50);
  row("bare QEMU to agent ready", "bare_qemu_ready", "", 0);
  row("exec `true` round trip", "exec_true", "in-guest fork+exec", guest_fork_exec_ms);
  row("stop+delete", "stop_delete", "", 0);
  row("full lifecycle", "full_lifecycle", "bare QEMU to agent ready", bare50);
  std::printf("\nSmolVM overhead on ready over bare QEMU: %+.1f%% (target <= 10%%)\n",
              (ready50 / bare50 - 1) * 100);
  std::printf("exec round trip: %.2f ms = %.2fx the in-guest fork+exec (%.2f ms)\n", exec50,
              exec50 / guest_fork_exec_ms, guest_fork_exec_ms);

  if (!json_path.empty()) {
    std::ofstream j(json_path);
    j << "{\n  \"benchmark\": \"lifecycle\",\n  \"runs\": " << runs << ",\n  \"accel\": \"" << accel
      << "\",\n  \"cpu\": \"" << cpu << "\",\n  \"host_kernel\": \"" << host_kernel
      << "\",\n  \"qemu\": \"" << qemu << "\",\n  \"guest_fork_exec_ms\": " << guest_fork_exec_ms
      << ",\n  \"phases\": {";
    bool first = true;
    for (const auto& [k, v] : s) {
      j << (first ? "\n" : ",\n") << "    \"" << k << "\": {\"p50\": " << percentile(v.v, 0.5)
        << ", \"p95\": " << percentile(v.v, 0.95) << ", \"samples\": [";
      for (size_t i = 0; i < v.v.size(); ++i) j << (i ? ", " : "") << v.v[i];
      j << "]}";
      first = false;
    }
    j << "\n  }\n}\n";
  }
  std::string rm = "rm -rf " + tmp;
  return std::system(rm.c_str()) == 0 ? 0 : 0;
}
