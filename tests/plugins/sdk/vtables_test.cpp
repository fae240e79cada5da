// The vtables the SDK builds from tagged slot functions: every slot
// guarded, NULL arguments refused by name, and file_read / file_write
// served by the bounded slots when a plugin has only those.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "smolvm/plugin_sdk.h"

namespace {

// An executor whose files live in one string.
struct MemExec {};
std::string g_file;
bool g_freed = false;

int connect(MemExec, void** out, const smolvm_executor_target*, uint32_t, smolvm_plugin_error*) {
  *out = &g_file;
  return 0;
}
void disconnect(MemExec, void*) { throw std::runtime_error("disconnect must not escape"); }
void exec_start(MemExec, void**, void*, const smolvm_executor_request* req, smolvm_plugin_error*) {
  throw std::runtime_error(std::string("cannot run ") + req->command);
}
int exec_next_event(MemExec, void*, smolvm_executor_event*, int32_t, smolvm_plugin_error* err) {
  return smolvm::sdk::set_error(err, SMOLVM_EDONE, "the command has exited");
}
int exec_write_stdin(MemExec, void*, const uint8_t*, size_t, smolvm_plugin_error*) { return 0; }
int exec_close_stdin(MemExec, void*, smolvm_plugin_error*) { return 0; }
int exec_kill(MemExec, void*, int, smolvm_plugin_error*) { return 0; }
void exec_free(MemExec, void*) {
  g_freed = true;
  throw 1;
}
int file_read_bounded(MemExec, void* conn, const char*, smolvm_bytes_sink sink, void* ctx, uint32_t,
                      smolvm_plugin_error*) {
  const std::string& f = *static_cast<std::string*>(conn);
  for (size_t off = 0; off < f.size(); off += 3) {
    const size_t n = std::min<size_t>(3, f.size() - off);
    if (const int stop = sink(ctx, reinterpret_cast<const uint8_t*>(f.data()) + off, n); stop) {
      return stop;
    }
  }
  return 0;
}
int file_write_bounded(MemExec, void* conn, const char*, smolvm_bytes_source source, void* ctx,
                       uint32_t, uint32_t, smolvm_plugin_error*) {
  std::string& f = *static_cast<std::string*>(conn);
  f.clear();
  uint8_t buf[2];
  for (size_t n = 1; n != 0;) {
    if (const int rc = source(ctx, buf, sizeof buf, &n); rc != 0) return rc;
    f.append(reinterpret_cast<const char*>(buf), n);
  }
  return 0;
}

constexpr smolvm_executor_vtable kMem = smolvm::sdk::executor_vtable<MemExec>();

// A VMM that fails every way it can.
struct FailingVmm {};
void probe(FailingVmm, char*, size_t, smolvm_plugin_error*) { throw std::bad_alloc(); }
int prepare_disk(FailingVmm, const smolvm_vmm_config*, char*, size_t, smolvm_plugin_error*) {
  return SMOLVM_EIO;
}
void launch(FailingVmm, void**, const smolvm_vmm_config* cfg, smolvm_plugin_error*) {
  throw smolvm::sdk::Error(SMOLVM_EUNSUPPORTED, std::string("no KVM for ") + cfg->vm_id);
}
int64_t pid(FailingVmm, void*) { throw std::runtime_error("pid"); }
int agent_connect(FailingVmm, void*, int*, uint32_t, smolvm_plugin_error*) { return 0; }
int kill(FailingVmm, void*, smolvm_plugin_error*) { return 0; }
void release(FailingVmm, void*) { throw std::runtime_error("release"); }

constexpr smolvm_vmm_vtable kFailing = smolvm::sdk::vmm_vtable<FailingVmm>();

TEST(Vtables, CarryTheirOwnSizeAndEverySlot) {
  EXPECT_EQ(kMem.struct_size, sizeof(smolvm_executor_vtable));
  EXPECT_NE(kMem.file_read, nullptr);
  EXPECT_NE(kMem.file_write, nullptr);
  EXPECT_NE(kMem.file_read_bounded, nullptr);
  EXPECT_NE(kMem.file_write_bounded, nullptr);
  EXPECT_EQ(kFailing.struct_size, sizeof(smolvm_vmm_vtable));
}

TEST(Vtables, FileReadAndWriteAreServedByTheBoundedSlots) {
  smolvm_plugin_error err{};
  void* conn = nullptr;
  ASSERT_EQ(kMem.connect(&conn, nullptr, 0, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "connect: target: must not be NULL");
  smolvm_executor_target target{};
  target.struct_size = sizeof target;
  target.vm_id = "vm-1";
  ASSERT_EQ(kMem.connect(&conn, &target, 0, &err), 0) << err.message;

  const std::string text = "hello, adapter";
  ASSERT_EQ(kMem.file_write(conn, "/f", reinterpret_cast<const uint8_t*>(text.data()), text.size(),
                            0644, &err),
            0)
      << err.message;
  EXPECT_EQ(g_file, text);
  std::string got;
  ASSERT_EQ(kMem.file_read(
                conn, "/f",
                [](void* ctx, const uint8_t* d, size_t n) {
                  static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(d), n);
                },
                &got, &err),
            0)
      << err.message;
  EXPECT_EQ(got, text);
  EXPECT_EQ(kMem.file_read(conn, nullptr, nullptr, nullptr, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "file_read: guest_path: must not be NULL");
  EXPECT_EQ(kMem.file_read(conn, "/f", nullptr, nullptr, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "file_read '/f': sink: must not be NULL");
}

TEST(Vtables, ExecutorSlotsAreGuarded) {
  smolvm_plugin_error err{};
  smolvm_executor_request req{};
  req.struct_size = sizeof req;
  req.command = "true";
  void* exec = nullptr;
  EXPECT_EQ(kMem.exec_start(&exec, &g_file, &req, &err), SMOLVM_ERROR);
  EXPECT_STREQ(err.message, "exec_start: cannot run true");
  EXPECT_EQ(kMem.exec_start(&exec, nullptr, &req, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "exec_start: conn: must not be NULL");
  smolvm_executor_event ev{};
  EXPECT_EQ(kMem.exec_next_event(&g_file, &ev, 0, &err), SMOLVM_EDONE);
  EXPECT_STREQ(err.message, "the command has exited");
  g_freed = false;
  kMem.exec_free(&g_file);  // throws inside: swallowed
  EXPECT_TRUE(g_freed);
  kMem.disconnect(&g_file);
  kMem.exec_free(nullptr);
}

TEST(Vtables, VmmSlotsAreGuarded) {
  smolvm_plugin_error err{};
  char out[64];
  EXPECT_EQ(kFailing.probe(out, sizeof out, &err), SMOLVM_ENOMEM);
  EXPECT_STREQ(err.message, "probe: out of memory");
  smolvm_vmm_config cfg{};
  cfg.struct_size = sizeof cfg;
  cfg.vm_id = "vm-42";
  EXPECT_EQ(kFailing.prepare_disk(&cfg, out, sizeof out, &err), SMOLVM_EIO);
  EXPECT_STREQ(err.message, "prepare_disk 'vm-42': failed without a message");
  void* inst = nullptr;
  EXPECT_EQ(kFailing.launch(&inst, &cfg, &err), SMOLVM_EUNSUPPORTED);
  EXPECT_STREQ(err.message, "launch: no KVM for vm-42");
  EXPECT_EQ(kFailing.launch(&inst, nullptr, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "launch: config: must not be NULL");
  EXPECT_EQ(kFailing.pid(&cfg), -1);
  EXPECT_EQ(kFailing.pid(nullptr), -1);
  kFailing.release(&cfg);
  EXPECT_EQ(kFailing.kill(nullptr, &err), SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "kill: instance: must not be NULL");
}

}  // namespace
