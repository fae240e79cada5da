// Snapshots of a VM with a network, run by run_in_netns.sh like net_test.cpp:
// every VM restored from one gets its own lease, TAP, MAC and address (the
// guest moved onto them before anything else runs in it), reaches the
// upstream namespace's server and sees the files written before the
// snapshot; deleting the restored VMs leaves no TAP, rule or lease of theirs,
// and a restore whose guest cannot take its new address leaves none either.
#include <cstdio>
#include <string>

#include "tests/network/net_support.h"

namespace vmtest {
namespace {

// What the guest itself says of eth0: "MAC ADDRESS/PREFIX..." and its
// default route.
std::string guest_link(smolvm_vm* vm) {
  return run(vm,
             "echo $(cat /sys/class/net/eth0/address) "
             "$(ip -4 -o addr show dev eth0 | awk '{print $4}'); ip route show default")
      .out;
}

// A field of the VM's lease (mac, tap) as the store holds it.
std::string lease_field(smolvm_vm* vm, const std::string& field) {
  std::string v =
      sh("sqlite3 '" + state_dir() + "/smolvm.db' \"select json_extract(runtime_json, '$." + field +
         "') from vms where id = '" + info(vm).id + "'\"");
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

void remove_vm(smolvm_vm*& vm) {
  if (!vm) return;
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  smolvm_vm_free(vm);
  vm = nullptr;
}

// One networked source VM and its snapshot, shared by the tests below.
class NetSnapshot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    taps_before_ = tap_count();
    rules_before_ = vm_rule_lines();
    leases_before_ = lease_count();
    src_ = create_net("nsnap-src");
    if (!src_ || smolvm_vm_start(src_) != 0) {
      std::printf("source VM: %s\n", last_error().c_str());
      return;
    }
    if (run(src_, "echo before > /root/before").exit_code == 0) snap_ = snapshot(src_, nullptr);
    source_rules_ = vm_rule_lines();
  }
  static void TearDownTestSuite() {
    remove_vm(src_);
    for (const std::string& s : snapshots_) {
      if (cli("snapshot rm " + s).status != 0) ADD_FAILURE() << "snapshot rm " << s;
    }
    EXPECT_EQ(tap_count(), taps_before_) << sh("ip -o link show");
    EXPECT_EQ(vm_rule_lines(), rules_before_) << sh("nft list ruleset; iptables-save");
    EXPECT_EQ(lease_count(), leases_before_);
  }
  void SetUp() override {
    ASSERT_FALSE(snap_.empty()) << "the source VM did not start or could not be snapshotted";
    snapshots_.insert(snap_);
  }

  static smolvm_vm* src_;
  static std::string snap_;
  static std::set<std::string> snapshots_;
  static int taps_before_, rules_before_, leases_before_, source_rules_;
};
smolvm_vm* NetSnapshot::src_ = nullptr;
std::string NetSnapshot::snap_;
std::set<std::string> NetSnapshot::snapshots_;
int NetSnapshot::taps_before_ = 0;
int NetSnapshot::rules_before_ = 0;
int NetSnapshot::leases_before_ = 0;
int NetSnapshot::source_rules_ = 0;

TEST_F(NetSnapshot, TwoForksEachGetTheirOwnAddressMacAndTapAndReachUpstream) {
  smolvm_vm* forks[2] = {restore(snap_, "nsnap-a"), restore(snap_, "nsnap-b")};
  for (smolvm_vm* f : forks) {
    ASSERT_NE(f, nullptr) << last_error();
    ASSERT_EQ(smolvm_vm_start(f), 0) << last_error();
  }
  EXPECT_EQ(tap_count(), taps_before_ + 3) << sh("ip -o link show");
  std::set<std::string> ips = {info(src_).ip}, macs;
  for (smolvm_vm* f : forks) {
    const smolvm_vm_info i = info(f);
    EXPECT_STREQ(i.network, plugin());
    EXPECT_STREQ(i.boot, "snapshot") << i.boot_reason;
    ips.insert(i.ip);
    // The guest has the lease's MAC and only the lease's address.
    const std::string link = guest_link(f);
    std::printf("%s: %s", i.id, link.c_str());
    const std::string mac = link.substr(0, link.find(' '));
    macs.insert(mac);
    EXPECT_EQ(mac, lease_field(f, "mac"));
    EXPECT_TRUE(links().count(lease_field(f, "tap"))) << sh("ip -o link show");
    EXPECT_EQ(link.substr(link.find(' ') + 1, link.find('\n') - link.find(' ') - 1),
              std::string(i.ip) + "/16")
        << link;
    EXPECT_NE(link.find("default via 172.16.0.1 dev eth0"), std::string::npos) << link;
    const Result up = fetch_upstream_hello(f);
    EXPECT_EQ(up.out, "hello from upstream\n") << i.id << ": " << up.err;
    EXPECT_EQ(run(f, "cat /root/before").out, "before\n");
  }
  EXPECT_EQ(ips.size(), 3u) << "the forks and their source share an address";
  EXPECT_EQ(macs.size(), 2u);
  EXPECT_FALSE(macs.count(guest_link(src_).substr(0, 17))) << "a fork kept its source's MAC";
  // The source kept its address and runs on beside them.
  EXPECT_EQ(fetch_upstream_hello(src_).out, "hello from upstream\n");

  const int leases = lease_count();
  for (smolvm_vm*& f : forks) remove_vm(f);
  EXPECT_EQ(tap_count(), taps_before_ + 1) << sh("ip -o link show");
  EXPECT_EQ(vm_rule_lines(), source_rules_) << sh("nft list ruleset; iptables-save");
  EXPECT_EQ(lease_count(), leases - 2);
}

// A real fault: the source's guest loses iproute2 before it is saved, so its
// restore cannot take its address. The start fails saying so, and its TAP
// and rules are gone at once; its lease goes with the VM.
TEST_F(NetSnapshot, ARestoreWhoseGuestCannotTakeItsAddressLeavesNoTapNorRule) {
  // The binary itself: /sbin/ip is a link to it.
  ASSERT_EQ(run(src_, "mv \"$(readlink -f \"$(command -v ip)\")\" /root/ip.hidden").exit_code, 0);
  const std::string without_ip = snapshot(src_, nullptr);
  ASSERT_FALSE(without_ip.empty());
  snapshots_.insert(without_ip);
  const int taps = tap_count(), leases = lease_count();
  smolvm_vm* bad = restore(without_ip, "nsnap-bad");
  ASSERT_NE(bad, nullptr) << last_error();
  EXPECT_EQ(lease_count(), leases + 1);
  EXPECT_NE(smolvm_vm_start(bad), 0);
  const std::string why = last_error();
  std::printf("restore without ip: %s\n", why.c_str());
  EXPECT_NE(why.find("move its network to " + std::string(info(bad).ip)), std::string::npos) << why;
  EXPECT_STREQ(info(bad).state_name, "failed");
  EXPECT_EQ(tap_count(), taps) << sh("ip -o link show");
  EXPECT_EQ(vm_rule_lines(), source_rules_) << sh("nft list ruleset; iptables-save");
  remove_vm(bad);
  EXPECT_EQ(lease_count(), leases);
}

}  // namespace
}  // namespace vmtest
