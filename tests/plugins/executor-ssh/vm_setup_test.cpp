// The SSH executor's host-side setup (plugins/executor-ssh/vm_setup.h) with
// the real ssh-keygen in a temporary folder: the key pair, the kernel
// argument, dropping the pin of a shared disk, and learning the host key
// through the host's read_guest_file callback (here a function serving a
// real key made by ssh-keygen, as the guest's agent would; the VM tests in
// tests/ssh do it through a real VM).
#include "plugins/executor-ssh/vm_setup.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "protocol/base64.h"
#include "smolvm/sdk/guard.h"

namespace smolvm_ssh {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What read_guest_file serves: a queue of answers, one per call.
struct Guest {
  std::vector<std::pair<int, std::string>> answers;  // status, contents
  size_t calls = 0;
};

int serve(void* host, const char* path, uint8_t* buf, size_t cap, size_t* out_len, uint32_t,
          smolvm_plugin_error* err) {
  auto* g = static_cast<Guest*>(host);
  EXPECT_STREQ(path, "/etc/ssh/ssh_host_ed25519_key.pub");
  const auto& [status, text] = g->answers[std::min(g->calls++, g->answers.size() - 1)];
  if (status != 0) {
    std::snprintf(err->message, sizeof err->message, "status %d", status);
    return status;
  }
  if (text.size() > cap) return SMOLVM_EINVAL;
  std::memcpy(buf, text.data(), text.size());
  *out_len = text.size();
  return 0;
}

class VmSetup : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/svssh-XXXXXX";
    dir_ = mkdtemp(tmpl);
    vm_.struct_size = sizeof vm_;
    vm_.vm_id = "s1";
    vm_.vm_dir = dir_.c_str();
    vm_.disk_mode = "isolated";
    vm_.guest_ip = "172.16.0.5";
    vm_.data_json = "{}";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
  smolvm_executor_vm vm_{};
};

TEST_F(VmSetup, TheKeyPairIsPrivateAndItsPublicHalfGoesOnTheKernelCommandLine) {
  VmData data;
  make_key_pair(vm_, data);
  EXPECT_EQ(data.key_path, dir_ + "/ssh_key");
  struct stat st {};
  ASSERT_EQ(stat(data.key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string pub = slurp(data.key_path + ".pub");
  EXPECT_EQ(pub.rfind("ssh-ed25519 ", 0), 0u) << pub;
  EXPECT_NE(pub.find("smolvm-s1"), std::string::npos) << pub;
  pub.pop_back();  // its newline is not sent
  EXPECT_EQ(boot_args(vm_, data), "smolvm.ssh_key=" + smolvm::proto::base64_encode(pub));
}

TEST_F(VmSetup, ASharedDiskDropsThePinAndKnownHostsAtEveryBoot) {
  VmData data;
  make_key_pair(vm_, data);
  data.host_key = "ssh-ed25519 AAAA";
  std::ofstream(dir_ + "/known_hosts") << "172.16.0.5 ssh-ed25519 AAAA\n";
  boot_args(vm_, data);
  EXPECT_EQ(data.host_key, "ssh-ed25519 AAAA");  // an isolated disk keeps its host key
  vm_.disk_mode = "shared";
  boot_args(vm_, data);
  EXPECT_EQ(data.host_key, "");
  EXPECT_FALSE(fs::exists(dir_ + "/known_hosts"));
}

TEST_F(VmSetup, TheHostKeyIsLearnedOnceTheGuestHasWrittenItWhole) {
  VmData made;
  make_key_pair(vm_, made);  // a real ed25519 public key to play the guest's
  const std::string pub = slurp(made.key_path + ".pub");
  const std::string key = normalize_key_line(pub);
  ASSERT_EQ(key.rfind("ssh-ed25519 AAAA", 0), 0u) << pub;
  Guest guest;
  guest.answers = {{SMOLVM_ENOTFOUND, ""}, {0, pub.substr(0, 40)}, {0, pub}};
  vm_.read_guest_file = serve;
  vm_.host = &guest;
  VmData data;
  pin_host_key(vm_, data);
  EXPECT_EQ(guest.calls, 3u);  // missing, then half written, then whole
  EXPECT_EQ(data.host_key, key);
  EXPECT_EQ(slurp(dir_ + "/known_hosts"), "172.16.0.5 " + key + "\n");
  // Pinned: not asked again.
  pin_host_key(vm_, data);
  EXPECT_EQ(guest.calls, 3u);
}

TEST_F(VmSetup, AReadErrorOtherThanNotFoundEndsTheWaitWithItsStatus) {
  Guest guest;
  guest.answers = {{SMOLVM_EPERM, ""}};
  vm_.read_guest_file = serve;
  vm_.host = &guest;
  VmData data;
  try {
    pin_host_key(vm_, data);
    ADD_FAILURE() << "pin_host_key should have failed";
  } catch (const smolvm::sdk::Error& e) {
    EXPECT_EQ(e.status(), SMOLVM_EPERM);
    EXPECT_NE(std::string(e.what()).find("status -"), std::string::npos) << e.what();
  }
  EXPECT_EQ(data.host_key, "");
  EXPECT_FALSE(fs::exists(dir_ + "/known_hosts"));
}

TEST(VmData, ReadsItsKeysAndToleratesAnythingElse) {
  const VmData d = parse_vm_data(R"({"key_path": "/k", "host_key": "ssh-ed25519 AAAA", "x": 1})");
  EXPECT_EQ(d.key_path, "/k");
  EXPECT_EQ(d.host_key, "ssh-ed25519 AAAA");
  EXPECT_EQ(to_json(d), R"({"host_key":"ssh-ed25519 AAAA","key_path":"/k"})");
  for (const char* bad : {"", "[1]", "{\"key_path\": 7}", "not json"}) {
    EXPECT_EQ(parse_vm_data(bad).key_path, "") << bad;
  }
  EXPECT_EQ(parse_vm_data(nullptr).host_key, "");
  EXPECT_EQ(to_json(VmData{}), "{}");
  EXPECT_EQ(key_path_of(VmData{}, "/s/vms/a"), "/s/vms/a/ssh_key");
}

TEST(VmData, OnlyACompleteEd25519KeyLineIsAKey) {
  EXPECT_EQ(normalize_key_line("ssh-rsa AAAAB3NzaC1yc2E root@x"), "");
  EXPECT_EQ(normalize_key_line("ssh-ed25519 AAAAC3Nz"), "");  // cut short
  EXPECT_EQ(normalize_key_line("ssh-ed25519"), "");
  EXPECT_EQ(normalize_key_line(""), "");
}

}  // namespace
}  // namespace smolvm_ssh
