// forwards_processes_test.cpp - port forwards (exclusive per host address,
// port and protocol) and per-VM process records.
#include <string>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

using StoreForwards = StoreTest;
using StoreProcesses = StoreTest;

TEST_F(StoreForwards, AddListRemove) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  ASSERT_EQ(c.insert("b"), 0) << err_.message;
  ASSERT_EQ(c.forward("a", "tcp", "127.0.0.1", 2222, 22), 0) << err_.message;
  ASSERT_EQ(c.forward("a", "udp", "127.0.0.1", 2222, 53), 0) << "other protocol, same port";
  ASSERT_EQ(c.forward("b", "tcp", "0.0.0.0", 8080, 80), 0) << err_.message;

  std::vector<Forward> all = c.forwards();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].vm_id, "a");
  EXPECT_EQ(all[0].protocol, "tcp");
  EXPECT_EQ(all[0].host_addr, "127.0.0.1");
  EXPECT_EQ(all[0].host_port, 2222u);
  EXPECT_EQ(all[0].guest_port, 22u);
  EXPECT_EQ(c.forwards("a").size(), 2u);
  EXPECT_EQ(c.forwards("b").size(), 1u);
  EXPECT_EQ(c.forwards("nobody").size(), 0u);

  ASSERT_EQ(c.unforward("a", "tcp", "127.0.0.1", 2222), 0) << err_.message;
  EXPECT_EQ(c.unforward("a", "tcp", "127.0.0.1", 2222), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "forward_remove: forward tcp 127.0.0.1:2222 of vm 'a' not found");
  EXPECT_EQ(c.unforward("a", "tcp", "0.0.0.0", 8080), SMOLVM_ENOTFOUND) << "b's, not a's";
  EXPECT_EQ(c.forwards().size(), 2u);
}

TEST_F(StoreForwards, TakenPortIsEexistsNamingTheHolder) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  ASSERT_EQ(c.insert("b"), 0) << err_.message;
  ASSERT_EQ(c.forward("a", "tcp", "127.0.0.1", 8080, 80), 0) << err_.message;
  EXPECT_EQ(c.forward("b", "tcp", "127.0.0.1", 8080, 81), SMOLVM_EEXISTS);
  EXPECT_STREQ(err_.message, "forward_add: forward tcp 127.0.0.1:8080 is taken by vm 'a'");
  EXPECT_EQ(c.forward("a", "tcp", "127.0.0.1", 8080, 80), SMOLVM_EEXISTS);
  ASSERT_EQ(c.unforward("a", "tcp", "127.0.0.1", 8080), 0) << err_.message;
  EXPECT_EQ(c.forward("b", "tcp", "127.0.0.1", 8080, 81), 0) << err_.message;
}

TEST_F(StoreForwards, RejectsBadFieldsAndUnknownVm) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  EXPECT_EQ(c.forward("a", "sctp", "127.0.0.1", 1, 1), SMOLVM_EINVAL);
  EXPECT_STREQ(err_.message, "forward_add: protocol='sctp': must be tcp or udp");
  EXPECT_EQ(c.forward("a", "tcp", nullptr, 1, 1), SMOLVM_EINVAL);
  EXPECT_EQ(c.forward("a", "tcp", "127.0.0.1", 0, 1), SMOLVM_EINVAL);
  EXPECT_EQ(c.forward("a", "tcp", "127.0.0.1", 65536, 1), SMOLVM_EINVAL);
  EXPECT_EQ(c.forward("a", "tcp", "127.0.0.1", 80, 0), SMOLVM_EINVAL);
  EXPECT_STREQ(err_.message, "forward_add: guest_port=0: must be 1..65535");
  EXPECT_EQ(c.forward("ghost", "tcp", "127.0.0.1", 80, 80), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "forward_add: vm 'ghost' not found");
  EXPECT_EQ(c.forwards().size(), 0u);
}

TEST_F(StoreProcesses, SetReplacesListAndClear) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  ASSERT_EQ(c.insert("b"), 0) << err_.message;
  ASSERT_EQ(c.set_process("a", "vmm", 200, 20), 0) << err_.message;
  ASSERT_EQ(c.set_process("a", "supervisor", 100, 10), 0) << err_.message;
  ASSERT_EQ(c.set_process("b", "vmm", 300, 30), 0) << err_.message;
  ASSERT_EQ(c.set_process("a", "vmm", 201, 21), 0) << "replaces";

  std::vector<Process> a = c.processes("a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].role, "supervisor");
  EXPECT_EQ(a[0].pid, 100);
  EXPECT_EQ(a[0].start_time, 10);
  EXPECT_EQ(a[1].role, "vmm");
  EXPECT_EQ(a[1].pid, 201);
  EXPECT_EQ(a[1].start_time, 21);
  EXPECT_EQ(c.processes().size(), 3u);

  ASSERT_EQ(vt_->process_clear(c.store, "a", "vmm", &err_), 0) << err_.message;
  ASSERT_EQ(c.processes("a").size(), 1u);
  ASSERT_EQ(vt_->process_clear(c.store, "a", nullptr, &err_), 0) << err_.message;
  EXPECT_EQ(c.processes("a").size(), 0u);
  ASSERT_EQ(vt_->process_clear(c.store, "a", nullptr, &err_), 0) << "idempotent";
  EXPECT_EQ(c.processes("b").size(), 1u);
}

TEST_F(StoreProcesses, RejectsUnknownVmAndBadPid) {
  StoreClient c = open();
  EXPECT_EQ(c.set_process("ghost", "vmm", 1, 1), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "process_set: vm 'ghost' not found");
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  EXPECT_EQ(c.set_process("a", "vmm", 0, 1), SMOLVM_EINVAL);
  EXPECT_EQ(c.set_process("a", nullptr, 1, 1), SMOLVM_EINVAL);
}

}  // namespace
}  // namespace smolvm::store_test
