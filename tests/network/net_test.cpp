// Networking with real VMs, TAPs and firewall rules, run by run_in_netns.sh
// inside a namespace of its own (with an "upstream" namespace beside it).
// The plugin under test is $SMOLVM_TEST_NETWORK.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "tests/network/net_support.h"

namespace vmtest {
namespace {

// A plain TCP connect + HTTP GET with a timeout; "" if it fails.
std::string http_get(const std::string& addr, uint32_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

// A guest command that tries a TCP connection; prints ok or fail.
std::string guest_connect(smolvm_vm* vm, const std::string& addr, uint32_t port) {
  return run(vm, "python3 -c \"import socket\ntry:\n socket.create_connection(('" + addr + "'," +
                     std::to_string(port) +
                     "),timeout=2); print('ok')\nexcept Exception: print('fail')\"")
      .out;
}

class Net : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    taps_before_ = tap_count();
    rules_before_ = vm_rule_lines();
    a_ = create_net("net-a");
    b_ = create_net("net-b");
    for (smolvm_vm* vm : {a_, b_}) {
      if (vm) {
        EXPECT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
      }
    }
    if (b_) {
      // A web server in B, detached from the command that starts it.
      run(b_,
          "mkdir -p /srv && echo hello from guest > /srv/index.txt && "
          "setsid -f python3 -m http.server 8000 --directory /srv >/dev/null 2>&1 </dev/null");
      run(b_,
          "for i in $(seq 100); do python3 -c \"import socket; "
          "socket.create_connection(('127.0.0.1',8000),1)\" 2>/dev/null && break; sleep 0.1; done");
    }
  }
  static void TearDownTestSuite() {
    for (smolvm_vm* vm : {a_, b_}) {
      if (!vm) continue;
      smolvm_vm_delete(vm);
      smolvm_vm_free(vm);
    }
  }
  void SetUp() override { ASSERT_TRUE(a_ && b_) << "the test VMs did not start"; }
  static std::string ip_of(smolvm_vm* vm) { return info(vm).ip; }

  static smolvm_vm *a_, *b_;
  static int taps_before_, rules_before_;
};
smolvm_vm* Net::a_ = nullptr;
smolvm_vm* Net::b_ = nullptr;
int Net::taps_before_ = 0;
int Net::rules_before_ = 0;

TEST_F(Net, EachVmHasItsOwnTapAndAddress) {
  const smolvm_vm_info ia = info(a_), ib = info(b_);
  EXPECT_STREQ(ia.network, plugin());
  EXPECT_STRNE(ia.ip, "");
  EXPECT_STRNE(ia.ip, ib.ip);
  EXPECT_EQ(tap_count(), taps_before_ + 2);
  EXPECT_EQ(run(a_, "ip -4 -o addr show eth0 | awk '{print $4}'").out,
            std::string(ia.ip) + "/16\n");
}

TEST_F(Net, GuestReachesUpstreamThroughNat) {
  Result r = fetch_upstream_hello(a_);
  EXPECT_EQ(r.out, "hello from upstream\n") << r.err;
  // The upstream saw the host's address, not the guest's: masquerade.
  std::ifstream log(std::getenv("SMOLVM_TEST_UPSTREAM_LOG"));
  std::string line, last;
  while (std::getline(log, line)) {
    if (line.find("hello.txt") != std::string::npos) last = line;
  }
  EXPECT_EQ(last.rfind("10.254.0.1 ", 0), 0u) << last;
}

TEST_F(Net, HostClientReachesGuestServerThroughAPortForward) {
  uint32_t port = 0;
  ASSERT_EQ(smolvm_vm_expose(&port, b_, 8000, 0, nullptr, nullptr), 0) << smolvm_last_error();
  EXPECT_GT(port, 0u);
  EXPECT_EQ(http_get("127.0.0.1", port, "/index.txt"), "hello from guest\n");
  char* json = nullptr;
  ASSERT_EQ(smolvm_vm_list_ports(&json, b_), 0);
  EXPECT_NE(std::string(json).find("\"guest_port\":8000"), std::string::npos) << json;
  smolvm_free(json);
  // Every host address, reached from the upstream namespace.
  uint32_t any = 0;
  ASSERT_EQ(smolvm_vm_expose(&any, b_, 8000, 0, "0.0.0.0", "tcp"), 0) << smolvm_last_error();
  const char* up = std::getenv("SMOLVM_TEST_UPSTREAM_NS");
  if (up) {
    EXPECT_EQ(sh(std::string("ip netns exec ") + up +
                 " python3 -c \"import urllib.request as u; print(u.urlopen('http://10.254.0.1:" +
                 std::to_string(any) + "/index.txt', timeout=5).read().decode(), end='')\""),
              "hello from guest\n");
  }
  // Removing a forward closes it.
  ASSERT_EQ(smolvm_vm_unexpose(b_, port, nullptr, nullptr), 0) << smolvm_last_error();
  EXPECT_EQ(http_get("127.0.0.1", port, "/index.txt"), "");
  EXPECT_EQ(smolvm_vm_unexpose(b_, port, nullptr, nullptr), SMOLVM_ENOTFOUND);
}

TEST_F(Net, ConflictsAndBadForwardsAreRefused) {
  // A host port some other program holds.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  listen(fd, 1);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const uint32_t taken = ntohs(sa.sin_port);
  EXPECT_EQ(smolvm_vm_expose(nullptr, b_, 8000, taken, nullptr, nullptr), SMOLVM_EEXISTS);
  EXPECT_NE(std::string(smolvm_last_error()).find("in use"), std::string::npos)
      << smolvm_last_error();
  close(fd);
  EXPECT_EQ(smolvm_vm_expose(nullptr, b_, 0, 0, nullptr, nullptr), SMOLVM_EINVAL);
  EXPECT_EQ(smolvm_vm_expose(nullptr, b_, 80, 0, "localhost", nullptr), SMOLVM_EINVAL);
  EXPECT_EQ(smolvm_vm_expose(nullptr, b_, 80, 0, nullptr, "sctp"), SMOLVM_EINVAL);
  smolvm_vm* none = create("net-none");
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(smolvm_vm_expose(nullptr, none, 80, 0, nullptr, nullptr), SMOLVM_EUNSUPPORTED);
  EXPECT_NE(std::string(smolvm_last_error()).find("network=none"), std::string::npos);
  smolvm_vm_delete(none);
  smolvm_vm_free(none);
}

TEST_F(Net, AVmCannotReachAnotherVmNorHostServices) {
  // Sanity: the server in B answers the host.
  EXPECT_EQ(http_get(ip_of(b_), 8000, "/index.txt"), "hello from guest\n");
  EXPECT_EQ(guest_connect(a_, ip_of(b_), 8000), "fail\n");
  // A service on the host (this namespace) on every address.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  listen(fd, 8);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const uint32_t port = ntohs(sa.sin_port);
  EXPECT_EQ(guest_connect(a_, info(a_).ip == std::string() ? "" : "172.16.0.1", port), "fail\n");
  EXPECT_EQ(guest_connect(a_, "10.254.0.1", port), "fail\n");
  close(fd);
}

TEST_F(Net, AVmCannotSendFromAnAddressNotItsOwn) {
  // The guest gives its eth0 a made-up address and B's address; packets it
  // sends from either are dropped at the host (and counted), from its own
  // address they go out, and B, which spoofs nothing, is untouched.
  const std::string own = ip_of(a_), other = ip_of(b_), made_up = "172.16.250.250";
  ASSERT_EQ(
      run(a_, "ip addr add " + made_up + "/32 dev eth0 && ip addr add " + other + "/32 dev eth0")
          .exit_code,
      0);
  // Not one of their segments reaches upstream (without the check they
  // would, and only the replies would go astray).
  const long drops = spoofed_drops(), segments = upstream_tcp_segments_in();
  EXPECT_NE(fetch_upstream_hello(a_, made_up, 2).out, "hello from upstream\n");
  EXPECT_NE(fetch_upstream_hello(a_, other, 2).out, "hello from upstream\n");
  EXPECT_EQ(upstream_tcp_segments_in(), segments);
  EXPECT_GT(spoofed_drops(), drops);
  EXPECT_EQ(fetch_upstream_hello(a_, own).out, "hello from upstream\n");
  EXPECT_EQ(fetch_upstream_hello(b_).out, "hello from upstream\n");
  EXPECT_EQ(
      run(a_, "ip addr del " + made_up + "/32 dev eth0 && ip addr del " + other + "/32 dev eth0")
          .exit_code,
      0);
  // No IPv6 from a TAP: the rules above are IPv4 only.
  for (const auto& link : links()) {
    if (link.rfind("svm-", 0) != 0) continue;
    EXPECT_EQ(sh("cat /proc/sys/net/ipv6/conf/" + link + "/disable_ipv6"), "1\n") << link;
  }
}

TEST_F(Net, AnOlderNftablesTableGainsAntiSpoofingWithoutCuttingOffRunningVms) {
  if (std::string(plugin()) != "nftables") GTEST_SKIP() << "the nftables table's upgrade";
  // The table as an older SmolVM made it, with A and B running: no
  // sources set, counter nor antispoof chain.
  sh("nft delete chain ip smolvm antispoof; nft delete set ip smolvm sources; "
     "nft delete counter ip smolvm spoofed");
  ASSERT_NE(sh("nft list table ip smolvm").find("taps"), std::string::npos);
  ASSERT_EQ(sh("nft list table ip smolvm").find("sources"), std::string::npos);
  // Any use of the table (here a port forward) brings it up to date, with
  // the running VMs' TAP . address pairs taken from their routes.
  ASSERT_EQ(smolvm_vm_expose(nullptr, a_, 9, 0, nullptr, nullptr), 0) << smolvm_last_error();
  const std::string sources = sh("nft list set ip smolvm sources");
  EXPECT_NE(sources.find(" . " + ip_of(a_)), std::string::npos) << sources;
  EXPECT_NE(sources.find(" . " + ip_of(b_)), std::string::npos) << sources;
  EXPECT_EQ(fetch_upstream_hello(a_).out, "hello from upstream\n");
  const long drops = spoofed_drops();
  ASSERT_EQ(run(a_, "ip addr add 172.16.250.251/32 dev eth0").exit_code, 0);
  EXPECT_NE(fetch_upstream_hello(a_, "172.16.250.251", 2).out, "hello from upstream\n");
  EXPECT_GT(spoofed_drops(), drops);
  run(a_, "ip addr del 172.16.250.251/32 dev eth0");
}

TEST_F(Net, SupervisorCrashThenGcLeavesNoTapNorRule) {
  smolvm_vm* c = create_net("net-c");
  ASSERT_EQ(smolvm_vm_start(c), 0) << smolvm_last_error();
  ASSERT_EQ(smolvm_vm_expose(nullptr, c, 22, 0, nullptr, nullptr), 0) << smolvm_last_error();
  const std::string tap = "svm-";
  const int taps = tap_count(), rules = vm_rule_lines();
  EXPECT_GT(rules, 0);
  kill(static_cast<pid_t>(info(c).supervisor_pid), SIGKILL);
  usleep(300000);
  uint32_t fixed = 0;
  EXPECT_EQ(smolvm_runtime_gc(&fixed, runtime()), 0) << smolvm_last_error();
  EXPECT_GE(fixed, 1u);
  EXPECT_EQ(tap_count(), taps - 1);
  EXPECT_LT(vm_rule_lines(), rules);
  const int leases = lease_count();
  EXPECT_EQ(smolvm_vm_delete(c), 0);
  EXPECT_EQ(lease_count(), leases - 1);
  smolvm_vm_free(c);
}

TEST_F(Net, AFailedStartLeavesNoTap) {
  const std::string kernel = state_dir() + "/not-a-kernel";
  std::ofstream(kernel) << "garbage";
  const int taps = tap_count(), rules = vm_rule_lines();
  smolvm_vm* bad = create_net("net-bad", kernel.c_str());
  EXPECT_NE(smolvm_vm_start(bad), 0);
  EXPECT_EQ(tap_count(), taps);
  EXPECT_EQ(vm_rule_lines(), rules);
  EXPECT_EQ(smolvm_vm_delete(bad), 0);
  smolvm_vm_free(bad);
}

TEST_F(Net, TwentyConcurrentCreatesGetDistinctAddressesAndTaps) {
  constexpr int kN = 20;
  std::vector<std::string> ips(kN), taps(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([i, &ips] {
      smolvm_vm_options o;
      smolvm_vm_options_init(&o);
      const std::string id = "many-" + std::to_string(i);
      o.vm_id = id.c_str();
      o.network = plugin();
      smolvm_vm* vm = nullptr;
      if (smolvm_vm_create(&vm, runtime(), &o) != 0) return;
      ips[i] = info(vm).ip;
      smolvm_vm_free(vm);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct(ips.begin(), ips.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kN));
  EXPECT_EQ(distinct.count(""), 0u);
  const int leases = lease_count();
  for (int i = 0; i < kN; ++i) EXPECT_EQ(cli("rm many-" + std::to_string(i)).status, 0);
  EXPECT_EQ(lease_count(), leases - kN);
}

TEST_F(Net, WithoutCapNetAdminANetworkedVmIsRefusedWithAHint) {
  // The CLI with CAP_NET_ADMIN dropped from its bounding set (as a user
  // without the capability would be); its error goes to stderr.
  CliResult r;
  FILE* p = popen(("SMOLVM_STATE_DIR='" + state_dir() +
                   "' setpriv --bounding-set=-net_admin --inh-caps=-net_admin '" SMOLVM_CLI
                   "' create --network " +
                   std::string(plugin()) + " 2>&1")
                      .c_str(),
                  "r");
  char buf[1024];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = p ? pclose(p) : -1;
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_NE(r.out.find("needs CAP_NET_ADMIN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("network=none"), std::string::npos) << r.out;
}

TEST_F(Net, ZZDeletingEveryVmRemovesEveryTapRuleAndLease) {
  for (smolvm_vm*& vm : {std::ref(a_), std::ref(b_)}) {
    ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
    smolvm_vm_free(vm);
    vm = nullptr;
  }
  EXPECT_EQ(tap_count(), taps_before_);
  EXPECT_EQ(vm_rule_lines(), rules_before_) << sh("nft list ruleset; iptables-save");
  EXPECT_EQ(lease_count(), 0);
}

// Run by run_in_netns.sh under `unshare -n`: a namespace whose /sys is not
// its own. rm used to leave the TAP there (tap_exists read /sys/class/net)
// and every later networked VM failed with TUNSETIFF: EBUSY.
TEST(NetUnshared, RmRemovesTheTapAndTheNextNetworkedVmStarts) {
  // The premise: a device made in our namespace is missing from /sys.
  ASSERT_EQ(sh("ip tuntap add dev svt-probe mode tap && echo ok"), "ok\n");
  const auto sysfs = files_in("/sys/class/net");
  const bool foreign_sysfs = std::find(sysfs.begin(), sysfs.end(), "svt-probe") == sysfs.end();
  sh("ip link del svt-probe");
  ASSERT_TRUE(foreign_sysfs) << "not in a namespace made with unshare -n (run_in_netns.sh is)";
  for (int round = 0; round < 2; ++round) {
    smolvm_vm* vm = create_net("uns-" + std::to_string(round));
    ASSERT_NE(vm, nullptr);
    ASSERT_EQ(smolvm_vm_start(vm), 0) << smolvm_last_error();
    EXPECT_EQ(tap_count(), 1) << sh("ip -o link show");
    EXPECT_EQ(run(vm, "echo up").out, "up\n");
    ASSERT_EQ(smolvm_vm_delete(vm), 0) << smolvm_last_error();
    smolvm_vm_free(vm);
    EXPECT_EQ(tap_count(), 0) << sh("ip -o link show");
  }
}

}  // namespace
}  // namespace vmtest
