// vms_test.cpp - the vms table: insert, get, list order, update semantics,
// compare-and-set, delete and its cascade.
#include <string>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

using StoreVms = StoreTest;

TEST_F(StoreVms, InsertGetListRoundTrip) {
  StoreClient c = open();
  smolvm_store_vm row{"vm-b", "created", "{\"vcpu\":2}", "{\"pid\":1}", 1000, 2000};
  ASSERT_EQ(vt_->vm_insert(c.store, &row, &err_), 0) << err_.message;
  ASSERT_EQ(c.insert("vm-a"), 0) << err_.message;  // NULL json, zero times

  Vm b;
  ASSERT_EQ(c.get("vm-b", &b), 0) << err_.message;
  EXPECT_EQ(b.state, "created");
  EXPECT_EQ(b.spec_json, "{\"vcpu\":2}");
  EXPECT_EQ(b.runtime_json, "{\"pid\":1}");
  EXPECT_EQ(b.created_at_ms, 1000);
  EXPECT_EQ(b.updated_at_ms, 2000);

  Vm a;
  ASSERT_EQ(c.get("vm-a", &a), 0) << err_.message;
  EXPECT_EQ(a.spec_json, "{}");
  EXPECT_EQ(a.runtime_json, "{}");
  EXPECT_GT(a.created_at_ms, 1600000000000);
  EXPECT_EQ(a.updated_at_ms, a.created_at_ms);

  // Oldest first means insertion order, not id order or caller clocks.
  std::vector<Vm> all = c.vms();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "vm-b");
  EXPECT_EQ(all[1].id, "vm-a");

  EXPECT_EQ(c.get("vm-c", nullptr), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "vm_get: vm 'vm-c' not found");
}

TEST_F(StoreVms, DuplicateIdIsEexists) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("vm-a"), 0) << err_.message;
  EXPECT_EQ(c.insert("vm-a", "running"), SMOLVM_EEXISTS);
  EXPECT_STREQ(err_.message, "vm_insert: vm 'vm-a' already exists");
  Vm a;
  ASSERT_EQ(c.get("vm-a", &a), 0);
  EXPECT_EQ(a.state, "created");
}

TEST_F(StoreVms, UpdateKeepsNullFieldsAndStampsTime) {
  StoreClient c = open();
  smolvm_store_vm row{"vm-a", "created", "{\"s\":1}", "{\"r\":1}", 1000, 1000};
  ASSERT_EQ(vt_->vm_insert(c.store, &row, &err_), 0) << err_.message;

  smolvm_store_vm change{"vm-a", nullptr, nullptr, "{\"r\":2}", 0, 5000};
  ASSERT_EQ(vt_->vm_update(c.store, &change, nullptr, &err_), 0) << err_.message;
  Vm a;
  ASSERT_EQ(c.get("vm-a", &a), 0);
  EXPECT_EQ(a.state, "created");
  EXPECT_EQ(a.spec_json, "{\"s\":1}");
  EXPECT_EQ(a.runtime_json, "{\"r\":2}");
  EXPECT_EQ(a.created_at_ms, 1000);
  EXPECT_EQ(a.updated_at_ms, 5000);

  ASSERT_EQ(c.update("vm-a", "starting", nullptr), 0) << err_.message;
  ASSERT_EQ(c.get("vm-a", &a), 0);
  EXPECT_EQ(a.state, "starting");
  EXPECT_GT(a.updated_at_ms, 1600000000000);  // now, as the caller gave 0

  EXPECT_EQ(c.update("vm-x", "starting", nullptr), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "vm_update: vm 'vm-x' not found");
}

TEST_F(StoreVms, CompareAndSetOnState) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("vm-a", "stopped"), 0) << err_.message;

  ASSERT_EQ(c.update("vm-a", "starting", "created|stopped"), 0) << err_.message;
  EXPECT_EQ(c.update("vm-a", "starting", "created|stopped"), SMOLVM_ESTATE);
  EXPECT_STREQ(err_.message, "vm_update: vm 'vm-a' is starting, expected one of created|stopped");
  // A name that merely contains the state is no match.
  EXPECT_EQ(c.update("vm-a", "running", "startingx|xstarting"), SMOLVM_ESTATE);
  ASSERT_EQ(c.update("vm-a", "running", "starting"), 0) << err_.message;
  Vm a;
  ASSERT_EQ(c.get("vm-a", &a), 0);
  EXPECT_EQ(a.state, "running");

  EXPECT_EQ(c.update("vm-x", "running", "created"), SMOLVM_ENOTFOUND);
  EXPECT_EQ(c.update("vm-a", "running", "created||stopped"), SMOLVM_EINVAL);
  EXPECT_EQ(c.update("vm-a", "running", ""), SMOLVM_EINVAL);
}

TEST_F(StoreVms, DeleteCascadesToLeasesForwardsAndProcesses) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("vm-a"), 0) << err_.message;
  ASSERT_EQ(c.insert("vm-b"), 0) << err_.message;
  uint32_t ip = 0;
  for (const char* id : {"vm-a", "vm-b"}) {
    ASSERT_EQ(c.acquire(id, ip_num("10.0.0.2"), ip_num("10.0.0.9"), &ip), 0) << err_.message;
    ASSERT_EQ(c.set_process(id, "vmm", 100, 7), 0) << err_.message;
  }
  ASSERT_EQ(c.forward("vm-a", "tcp", "127.0.0.1", 8080, 80), 0) << err_.message;
  ASSERT_EQ(c.forward("vm-b", "tcp", "127.0.0.1", 8081, 80), 0) << err_.message;

  ASSERT_EQ(c.del("vm-a"), 0) << err_.message;
  EXPECT_EQ(c.get("vm-a", nullptr), SMOLVM_ENOTFOUND);
  ASSERT_EQ(c.leases().size(), 1u);
  EXPECT_EQ(c.leases()[0].vm_id, "vm-b");
  ASSERT_EQ(c.forwards().size(), 1u);
  EXPECT_EQ(c.forwards()[0].vm_id, "vm-b");
  ASSERT_EQ(c.processes().size(), 1u);
  EXPECT_EQ(c.processes()[0].vm_id, "vm-b");

  EXPECT_EQ(c.del("vm-a"), SMOLVM_ENOTFOUND);
  EXPECT_STREQ(err_.message, "vm_delete: vm 'vm-a' not found");
}

}  // namespace
}  // namespace smolvm::store_test
