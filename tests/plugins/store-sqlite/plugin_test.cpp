// plugin_test.cpp - the descriptor, argument checks at the ABI, and that a
// callback may call back into the store.
#include <cstring>

#include "store_fixture.h"

namespace smolvm::store_test {
namespace {

TEST(StorePlugin, DescriptorMatchesAbi) {
  const LoadedPlugin& p = plugin();
  ASSERT_NE(p.vt, nullptr) << p.error;
  EXPECT_EQ(p.descriptor->abi_major, uint32_t{SMOLVM_PLUGIN_ABI_MAJOR});
  EXPECT_LE(p.descriptor->abi_minor, uint32_t{SMOLVM_PLUGIN_ABI_MINOR});
  EXPECT_EQ(p.descriptor->kind, uint32_t{SMOLVM_PLUGIN_STORE});
  EXPECT_STREQ(p.descriptor->name, "sqlite");
  EXPECT_NE(p.descriptor->description, nullptr);
  EXPECT_EQ(p.vt->struct_size, sizeof(smolvm_store_vtable));
  // Every slot after struct_size is filled.
  const auto* slots =
      reinterpret_cast<void (*const*)()>(reinterpret_cast<const char*>(p.vt) + sizeof(size_t));
  size_t count = (sizeof(smolvm_store_vtable) - sizeof(size_t)) / sizeof(void (*)());
  for (size_t i = 0; i < count; ++i) EXPECT_NE(slots[i], nullptr) << "slot " << i;
}

using StoreArgs = StoreTest;

TEST_F(StoreArgs, RejectsNullAndEmptyArguments) {
  void* s = nullptr;
  EXPECT_EQ(vt_->open(&s, nullptr, &err_), SMOLVM_EINVAL);
  EXPECT_STREQ(err_.message, "open: location: must not be NULL or empty");
  EXPECT_EQ(vt_->open(&s, "", &err_), SMOLVM_EINVAL);
  EXPECT_EQ(s, nullptr);

  StoreClient c = open();
  EXPECT_EQ(c.insert(nullptr), SMOLVM_EINVAL);
  EXPECT_STREQ(err_.message, "vm_insert: id: must not be NULL or empty");
  EXPECT_EQ(c.insert("a", nullptr), SMOLVM_EINVAL);
  EXPECT_EQ(c.insert("a", "run|ning"), SMOLVM_EINVAL);
  EXPECT_EQ(vt_->vm_insert(c.store, nullptr, &err_), SMOLVM_EINVAL);
  EXPECT_EQ(vt_->vm_insert(nullptr, nullptr, &err_), SMOLVM_EINVAL);
  EXPECT_EQ(vt_->vm_list(c.store, nullptr, nullptr, &err_), SMOLVM_EINVAL);
  EXPECT_EQ(vt_->lease_acquire(c.store, "a", 1, 2, nullptr, nullptr, &err_), SMOLVM_EINVAL);
  // A NULL error buffer is tolerated.
  EXPECT_EQ(vt_->vm_delete(c.store, "missing", nullptr), SMOLVM_ENOTFOUND);
  vt_->close(nullptr);
}

struct Reentry {
  StoreClient* client;
  int gets = 0;
};

TEST_F(StoreArgs, CallbackMayCallIntoTheStore) {
  StoreClient c = open();
  ASSERT_EQ(c.insert("a"), 0) << err_.message;
  ASSERT_EQ(c.insert("b"), 0) << err_.message;
  Reentry r{&c};
  auto cb = [](void* ctx, const smolvm_store_vm* row) {
    auto* r = static_cast<Reentry*>(ctx);
    Vm vm;
    // Would deadlock if the plugin held its lock across the callback.
    if (r->client->get(row->id, &vm) == 0 && vm.id == row->id) ++r->gets;
    r->client->update(row->id, "stopped", nullptr);
  };
  ASSERT_EQ(vt_->vm_list(c.store, cb, &r, &err_), 0) << err_.message;
  EXPECT_EQ(r.gets, 2);
  for (const Vm& vm : c.vms()) EXPECT_EQ(vm.state, "stopped");
}

}  // namespace
}  // namespace smolvm::store_test
