// The executor-agent plugin through the plugin ABI, as the host loads it
// (dlopen of the built .so), against the supervisor's side of the protocol
// over a real Unix socket (tests/protocol/supervisor_peer.h): connect with
// and without the right token, and file reads, whole, missing and stopped
// by the sink. Commands through a real guest agent: tests/integration.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include "smolvm/plugin.h"
#include "supervisor_peer.h"

namespace {

class AgentExecutor : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = std::string(SMOLVM_PLUGIN_BUILD_DIR) + "/smolvm-executor-agent.so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(handle_, "smolvm_plugin_entry"));
    ASSERT_NE(entry, nullptr);
    vt_ = static_cast<const smolvm_executor_vtable*>(entry()->vtable);
    peer_.files["/etc/hostname"] = "guest\n";
    peer_.files["/big"] = std::string(5000, 'b');
  }
  void TearDown() override {
    if (conn_) vt_->disconnect(conn_);
    if (handle_) dlclose(handle_);
  }
  int connect(const char* token) {
    peer_.serve_one();
    smolvm_executor_target t{};
    t.struct_size = sizeof t;
    t.vm_id = "a1";
    t.supervisor_socket = peer_.path().c_str();
    t.token = token;
    t.vm_dir = "/nonexistent";
    t.data_json = "{}";
    return vt_->connect(&conn_, &t, 2000, &err_);
  }

  smolvm::test::SupervisorPeer peer_;
  void* handle_ = nullptr;
  const smolvm_executor_vtable* vt_ = nullptr;
  void* conn_ = nullptr;
  smolvm_plugin_error err_{};
};

TEST_F(AgentExecutor, ConnectsAsItselfAndAWrongTokenIsRefused) {
  EXPECT_EQ(connect("wrong"), SMOLVM_EPERM);
  EXPECT_NE(std::string(err_.message).find("the supervisor refused the connection: bad token"),
            std::string::npos)
      << err_.message;
  conn_ = nullptr;
  ASSERT_EQ(connect("secret"), 0) << err_.message;
  EXPECT_EQ(peer_.hello_client(), "executor-agent");
  // It has no VM hooks: it needs nothing made for a VM.
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(vt_, vm_created));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(vt_, vm_booting));
  EXPECT_FALSE(SMOLVM_EXECUTOR_HAS(vt_, vm_ready));
}

TEST_F(AgentExecutor, ReadsFilesWholeMissingAndStopped) {
  ASSERT_EQ(connect("secret"), 0) << err_.message;
  std::string got;
  ASSERT_EQ(vt_->file_read(
                conn_, "/etc/hostname",
                [](void* ctx, const uint8_t* d, size_t n) {
                  static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(d), n);
                },
                &got, &err_),
            0)
      << err_.message;
  EXPECT_EQ(got, "guest\n");

  EXPECT_EQ(
      vt_->file_read_bounded(
          conn_, "/missing", [](void*, const uint8_t*, size_t) { return 0; }, nullptr, 1000, &err_),
      SMOLVM_ENOTFOUND);
  EXPECT_NE(std::string(err_.message).find("cannot read /missing"), std::string::npos)
      << err_.message;

  EXPECT_EQ(vt_->file_read_bounded(
                conn_, "/big", [](void*, const uint8_t*, size_t) -> int { return SMOLVM_EINVAL; },
                nullptr, 1000, &err_),
            SMOLVM_EINVAL);
  EXPECT_NE(std::string(err_.message).find("reading /big was stopped"), std::string::npos)
      << err_.message;
}

}  // namespace
