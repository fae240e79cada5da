#include "tests/network/net_support.h"

#include <cstdlib>

namespace vmtest {

const char* plugin() {
  const char* p = std::getenv("SMOLVM_TEST_NETWORK");
  return p ? p : "nftables";
}

std::string sh(const std::string& cmd) { return smolvm::test::output_of(cmd + " 2>/dev/null"); }

// The network devices of this process's namespace, asked of the kernel
// (netlink): /sys/class/net shows whoever mounted sysfs, which after
// `unshare -n` is another namespace.
std::set<std::string> links() {
  std::set<std::string> names;
  const std::string out = sh("ip -o link show");
  size_t pos = 0;
  while (pos < out.size()) {
    const size_t nl = out.find('\n', pos);
    const std::string line =
        out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    // "3: svm-0a: <BROADCAST,...": the name sits between ": " and the next ':' or '@'.
    const size_t a = line.find(": ");
    if (a != std::string::npos) {
      const size_t b = line.find_first_of(":@", a + 2);
      names.insert(line.substr(a + 2, b - a - 2));
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return names;
}

int tap_count() {
  int n = 0;
  for (const auto& f : links()) n += f.rfind("svm-", 0) == 0;
  return n;
}

// Rule or set-element lines that name one VM (a TAP "svm-<hex>" or a guest
// address); the fixed scaffolding names neither.
int vm_rule_lines() {
  const std::string all = sh("nft list ruleset; iptables-save");
  int n = 0;
  size_t pos = 0;
  while ((pos = all.find('\n', pos)) != std::string::npos) {
    const size_t start = all.rfind('\n', pos - 1);
    const std::string line = all.substr(start == std::string::npos ? 0 : start + 1,
                                        pos - (start == std::string::npos ? 0 : start + 1));
    if (line.find("\"svm-") != std::string::npos || line.find(" svm-") != std::string::npos ||
        line.find("172.16.") != std::string::npos) {
      ++n;
    }
    ++pos;
  }
  return n;
}

int lease_count() {
  return std::atoi(
      sh("sqlite3 '" + state_dir() + "/smolvm.db' 'select count(*) from leases'").c_str());
}

smolvm_vm* create_net(const std::string& id, const char* kernel) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.mem_size_mib = 256;
  o.network = plugin();
  o.kernel_path = kernel;
  o.boot_timeout_s = kernel ? 20 : 0;
  smolvm_vm* vm = nullptr;
  EXPECT_EQ(smolvm_vm_create(&vm, runtime(), &o), 0) << smolvm_last_error();
  return vm;
}

Result fetch_upstream_hello(smolvm_vm* vm, const std::string& source, int timeout_s) {
  return run(vm,
             "python3 -c \"import http.client as h; "
             "c = h.HTTPConnection('10.254.0.2', 8080, timeout=" +
                 std::to_string(timeout_s) + ", source_address=('" + source +
                 "', 0)); c.request('GET', '/hello.txt'); "
                 "print(c.getresponse().read().decode(), end='')\"");
}

long upstream_tcp_segments_in() {
  const char* up = std::getenv("SMOLVM_TEST_UPSTREAM_NS");
  if (!up) return -1;
  // /proc/net/snmp's "Tcp:" lines: the field names, then their values.
  return std::atol(sh(std::string("ip netns exec ") + up +
                      " awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == \"InSegs\") "
                      "c = i } else print $c }' /proc/net/snmp")
                       .c_str());
}

long spoofed_drops() {
  const std::string out = std::string(plugin()) == "iptables"
                              ? sh("iptables -w -t raw -nvxL SMOLVM-PREROUTING | awk 'NR>2 "
                                   "{ n += $1 } END { print n + 0 }'")
                              : sh("nft list counter ip smolvm spoofed | awk '/packets/ "
                                   "{ print $2 }'");
  return std::atol(out.c_str());
}

}  // namespace vmtest
