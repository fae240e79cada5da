// The core's side of a VM's network (core/network): the address pool and
// what is derived from an address, leases taken from a real SQLite store,
// and the guest's boot arguments. The network plugins themselves run with
// real VMs in network namespaces (tests/network).
#include "core/network/network.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <set>
#include <string>

#include "core/common/error.h"
#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm {
namespace {

// Sets $SMOLVM_NETWORK_POOL for one test ("" unsets it).
class PoolOverride {
 public:
  explicit PoolOverride(const std::string& cidr) {
    if (const char* old = getenv("SMOLVM_NETWORK_POOL")) old_ = old;
    set(cidr);
  }
  ~PoolOverride() { set(old_); }

 private:
  static void set(const std::string& v) {
    if (v.empty()) {
      unsetenv("SMOLVM_NETWORK_POOL");
    } else {
      setenv("SMOLVM_NETWORK_POOL", v.c_str(), 1);
    }
  }
  std::string old_;
};

uint32_t ip(const std::string& text) {
  uint32_t out = 0;
  EXPECT_TRUE(parse_ipv4(text, out)) << text;
  return out;
}

TEST(NetworkAddresses, Ipv4TextRoundTrips) {
  for (const char* text : {"0.0.0.0", "10.1.2.3", "172.16.0.1", "255.255.255.255"}) {
    EXPECT_EQ(ipv4_str(ip(text)), text);
  }
  EXPECT_EQ(ip("172.16.0.2"), 0xac100002u);
  uint32_t out = 7;
  for (const char* bad : {"", "10.0.0", "256.0.0.1", "10.0.0.1/24", "a.b.c.d", " 10.0.0.1"}) {
    EXPECT_FALSE(parse_ipv4(bad, out)) << bad;
  }
}

TEST(NetworkAddresses, TapNameIsTheOffsetInThePoolAndFitsIfnamsiz) {
  const Pool pool{ip("10.0.0.0"), 8};
  EXPECT_EQ(tap_name_for(ip("10.0.0.2"), pool), "svm-2");
  EXPECT_EQ(tap_name_for(ip("10.0.1.0"), pool), "svm-100");
  // The largest offset of the largest pool still fits the kernel's 15.
  const std::string longest = tap_name_for(pool.last(), pool);
  EXPECT_EQ(longest, "svm-fffffe");
  EXPECT_LE(longest.size(), 15u);
}

TEST(NetworkAddresses, MacIsLocallyAdministeredUnicastAndCarriesTheAddress) {
  const std::string mac = mac_for(ip("172.16.0.2"));
  EXPECT_EQ(mac, "06:00:ac:10:00:02");
  const unsigned first = std::stoul(mac.substr(0, 2), nullptr, 16);
  EXPECT_TRUE(first & 0x02) << "locally administered";
  EXPECT_FALSE(first & 0x01) << "unicast";
  EXPECT_NE(mac_for(ip("172.16.0.3")), mac);
}

TEST(NetworkPool, DefaultIs172_16Slash16) {
  PoolOverride o("");
  const Pool p = network_pool();
  EXPECT_EQ(ipv4_str(p.network), "172.16.0.0");
  EXPECT_EQ(p.prefix, 16u);
  EXPECT_EQ(ipv4_str(p.gateway()), "172.16.0.1");
  EXPECT_EQ(ipv4_str(p.first()), "172.16.0.2");
  EXPECT_EQ(ipv4_str(p.last()), "172.16.255.254");
}

TEST(NetworkPool, HostBitsOfTheEnvironmentsCidrAreDropped) {
  PoolOverride o("10.5.7.9/24");
  const Pool p = network_pool();
  EXPECT_EQ(ipv4_str(p.network), "10.5.7.0");
  EXPECT_EQ(ipv4_str(p.gateway()), "10.5.7.1");
  EXPECT_EQ(ipv4_str(p.last()), "10.5.7.254");
}

TEST(NetworkPool, BadCidrNamesTheVariableTheValueAndTheRange) {
  for (const std::string bad :
       {"10.0.0.0", "10.0.0.0/7", "10.0.0.0/29", "10.0.0.0/16x", "10.0.0/16", "10.0.0.0/"}) {
    PoolOverride o(bad);
    const test::Failure f = test::failure_of([] { network_pool(); });
    EXPECT_EQ(f.status, SMOLVM_EINVAL) << bad;
    EXPECT_EQ(f.message, "SMOLVM_NETWORK_POOL='" + bad + "': must be an IPv4 CIDR from /8 to /28");
  }
  for (const char* edge : {"10.0.0.0/8", "192.168.4.16/28"}) {
    PoolOverride o(edge);
    EXPECT_NO_THROW(network_pool()) << edge;
  }
}

// A lease of 10.0.0.0/24 as allocate_network makes it, without a resolver.
Lease lease_of_10_0_0_2() {
  Lease lease;
  lease.ip = "10.0.0.2";
  lease.prefix = 24;
  lease.gateway = "10.0.0.1";
  lease.mac = "06:00:0a:00:00:02";
  return lease;
}

TEST(NetworkBootArgs, AddressGatewayAndDnsOnlyWhenKnown) {
  EXPECT_EQ(network_boot_args(Lease{}), "");
  Lease lease = lease_of_10_0_0_2();
  EXPECT_EQ(network_boot_args(lease), "smolvm.ip=10.0.0.2/24 smolvm.gw=10.0.0.1");
  lease.dns = "192.0.2.53";
  EXPECT_EQ(network_boot_args(lease),
            "smolvm.ip=10.0.0.2/24 smolvm.gw=10.0.0.1 smolvm.dns=192.0.2.53");
}

TEST(GuestNetworkCommands, MoveEth0OntoTheLeaseOnlyWhenThereIsOne) {
  EXPECT_EQ(guest_network_commands(Lease{}), "");
  Lease lease = lease_of_10_0_0_2();
  const std::string moves =
      "ip link set dev eth0 address 06:00:0a:00:00:02 && ip -4 addr flush dev eth0 && "
      "ip neigh flush dev eth0 && ip addr add 10.0.0.2/24 brd + dev eth0 && "
      "ip route replace default via 10.0.0.1 dev eth0";
  EXPECT_EQ(guest_network_commands(lease), moves);
  lease.dns = "192.0.2.53";
  EXPECT_EQ(guest_network_commands(lease),
            moves + " && echo 'nameserver 192.0.2.53' >/etc/resolv.conf");
}

// The host's own resolver file: whatever it says, a loopback resolver is
// useless to a guest and is never handed on.
TEST(NetworkDns, HostDnsIsANonLoopbackNameserverOfResolvConf) {
  const std::string dns = host_dns();
  if (dns.empty()) return;  // no usable nameserver here: nothing is made up
  const uint32_t addr = ip(dns);
  EXPECT_NE(addr >> 24, 127u);
  std::ifstream in("/etc/resolv.conf");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(dns), std::string::npos);
}

class NetworkLeases : public ::testing::Test {
 protected:
  NetworkLeases()
      : plugins_(SMOLVM_PLUGIN_BUILD_DIR),
        store_(plugins_.get(SMOLVM_PLUGIN_STORE, "sqlite"), dir_ / "store.db") {}
  // A lease belongs to a VM the store knows.
  Lease allocate(const std::string& vm_id) {
    VmRecord rec;
    rec.id = vm_id;
    rec.state = "created";
    rec.spec.vm_id = vm_id;
    store_.insert(rec);
    return allocate_network(store_, vm_id);
  }
  test::TempDir dir_;
  PluginRegistry plugins_;
  Store store_;
};

TEST_F(NetworkLeases, EachVmGetsTheLowestFreeAddressAndWhatFollowsFromIt) {
  PoolOverride o("10.9.0.0/28");
  const Lease a = allocate("vm-a");
  EXPECT_EQ(a.ip, "10.9.0.2");
  EXPECT_EQ(a.tap, "svm-2");
  EXPECT_EQ(a.mac, "06:00:0a:09:00:02");
  EXPECT_EQ(a.gateway, "10.9.0.1");
  EXPECT_EQ(a.prefix, 28u);
  EXPECT_EQ(a.dns, host_dns());
  const Lease b = allocate("vm-b");
  EXPECT_EQ(b.ip, "10.9.0.3");
  EXPECT_EQ(b.tap, "svm-3");
}

TEST_F(NetworkLeases, AFullPoolIsEbusyAndTakesNothing) {
  PoolOverride o("10.9.0.0/28");  // .2 to .14: 13 addresses
  std::set<std::string> ips;
  for (int i = 0; i < 13; ++i) ips.insert(allocate("vm-" + std::to_string(i)).ip);
  std::set<std::string> expected;
  for (int host = 2; host <= 14; ++host) expected.insert("10.9.0." + std::to_string(host));
  EXPECT_EQ(ips, expected);  // neither the network, the gateway nor the broadcast
  const test::Failure f = test::failure_of([&] { allocate("vm-one-too-many"); });
  EXPECT_EQ(f.status, SMOLVM_EBUSY) << f.message;
  EXPECT_EQ(store_.leases().size(), 13u);
}

TEST(NetworkBackendChoice, AnUnknownPluginIsRefusedByName) {
  PluginRegistry plugins(SMOLVM_PLUGIN_BUILD_DIR);
  const test::Failure f =
      test::failure_of([&] { NetworkBackend backend(plugins, "no-such-network"); });
  EXPECT_NE(f.status, 0);
  EXPECT_NE(f.message.find("no-such-network"), std::string::npos) << f.message;
}

}  // namespace
}  // namespace smolvm
