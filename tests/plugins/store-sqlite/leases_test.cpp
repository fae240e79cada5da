// leases_test.cpp - lowest-free address allocation, reuse after release,
// exhaustion, and pool edges.
#include <chrono>
#include <string>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

using StoreLeases = StoreTest;

TEST_F(StoreLeases, LowestFreeAddressAndReuseAfterRelease) {
  StoreClient c = open();
  const uint32_t first = ip_num("172.16.0.2"), last = ip_num("172.16.0.254");
  uint32_t ip = 0;
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_EQ(c.insert(id), 0) << err_.message;
  ASSERT_EQ(c.acquire("a", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "172.16.0.2");
  ASSERT_EQ(c.acquire("b", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "172.16.0.3");
  ASSERT_EQ(c.acquire("c", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "172.16.0.4");

  // A VM that has a lease gets the same one back.
  ASSERT_EQ(c.acquire("b", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "172.16.0.3");

  ASSERT_EQ(vt_->lease_release(c.store, "b", &err_), 0) << err_.message;
  ASSERT_EQ(vt_->lease_release(c.store, "b", &err_), 0) << "release is idempotent";
  ASSERT_EQ(c.acquire("d", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "172.16.0.3");

  std::vector<Lease> leases = c.leases();
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].ip, "172.16.0.2");
  EXPECT_EQ(leases[0].vm_id, "a");
  EXPECT_EQ(leases[0].tap, "tap-a");
  EXPECT_EQ(leases[1].vm_id, "d");
  EXPECT_EQ(leases[2].vm_id, "c");
}

TEST_F(StoreLeases, TinyPoolIsExhausted) {
  StoreClient c = open();
  // 10.0.0.0/30: .1 and .2 are the usable hosts.
  const uint32_t first = ip_num("10.0.0.1"), last = ip_num("10.0.0.2");
  uint32_t ip = 0;
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(c.insert(id), 0) << err_.message;
  ASSERT_EQ(c.acquire("a", first, last, &ip), 0) << err_.message;
  ASSERT_EQ(c.acquire("b", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(c.acquire("c", first, last, &ip), SMOLVM_EBUSY);
  EXPECT_STREQ(err_.message, "lease_acquire: address pool 10.0.0.1..10.0.0.2 exhausted");
  ASSERT_EQ(c.del("a"), 0) << err_.message;  // frees 10.0.0.1 by cascade
  ASSERT_EQ(c.acquire("c", first, last, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "10.0.0.1");
}

TEST_F(StoreLeases, PoolAtTheTopOfTheAddressSpaceDoesNotWrap) {
  StoreClient c = open();
  uint32_t ip = 0;
  for (const char* id : {"a", "b", "c"}) ASSERT_EQ(c.insert(id), 0) << err_.message;
  ASSERT_EQ(c.acquire("a", 0xfffffffe, 0xffffffff, &ip), 0) << err_.message;
  ASSERT_EQ(c.acquire("b", 0xfffffffe, 0xffffffff, &ip), 0) << err_.message;
  EXPECT_EQ(ip_str(ip), "255.255.255.255");
  EXPECT_EQ(c.acquire("c", 0xfffffffe, 0xffffffff, &ip), SMOLVM_EBUSY);
}

TEST_F(StoreLeases, RejectsUnknownVmAndBackwardsPool) {
  StoreClient c = open();
  uint32_t ip = 0;
  EXPECT_EQ(c.acquire("ghost", 1, 10, &ip), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "lease_acquire: vm 'ghost' not found");
  ASSERT_EQ(c.insert("a"), 0);
  EXPECT_EQ(c.acquire("a", 10, 1, &ip), SMOLVM_EINVAL);
  EXPECT_EQ(vt_->lease_release(c.store, "ghost", &err_), 0) << err_.message;
}

// One scan per acquire, not one query per address: filling most of a /16
// and then taking the last free addresses stays fast.
TEST_F(StoreLeases, LargePoolStaysFast) {
  StoreClient c = open();
  const uint32_t first = ip_num("172.16.0.1"), last = ip_num("172.16.255.254");
  auto start = std::chrono::steady_clock::now();
  uint32_t ip = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string id = "vm-" + std::to_string(i);
    ASSERT_EQ(c.insert(id.c_str()), 0) << err_.message;
    ASSERT_EQ(c.acquire(id.c_str(), first, last, &ip), 0) << err_.message;
    ASSERT_EQ(ip, first + static_cast<uint32_t>(i));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace smolvm::store_test
