// What the plugin says about this host. The KVM classification reads
// /dev/kvm and /sys/module under a root the test can point at a folder of
// its own; the probe itself runs against the real host.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "plugins/vmm-firecracker/fc_host.h"
#include "smolvm/plugin.h"
#include "tests/support/temp_dir.h"

namespace {

// Sets (or unsets) an environment variable for the scope of a test.
class Env {
 public:
  Env(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~Env() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fake host root with /dev/kvm (a plain file) and the named modules.
void make_root(const smolvm::test::TempDir& dir, bool kvm,
               std::initializer_list<const char*> modules) {
  mkdir((dir / "dev").c_str(), 0755);
  mkdir((dir / "sys").c_str(), 0755);
  mkdir((dir / "sys/module").c_str(), 0755);
  if (kvm) smolvm::test::write_file(dir / "dev/kvm", "");
  for (const char* m : modules) mkdir((dir / ("sys/module/" + std::string(m))).c_str(), 0755);
}

TEST(ClassifyKvm, PvmAloneIsNotUsable) {
  smolvm::test::TempDir root;
  make_root(root, true, {"kvm", "kvm_pvm"});
  const auto k = smolvm_fc::classify_kvm(root.path());
  EXPECT_EQ(k.kind, "pvm");
  EXPECT_FALSE(k.usable);
  EXPECT_NE(k.detail.find("this host's /dev/kvm is PVM"), std::string::npos) << k.detail;
}

TEST(ClassifyKvm, HardwareKvmIsUsable) {
  for (const char* module : {"kvm_intel", "kvm_amd"}) {
    smolvm::test::TempDir root;
    make_root(root, true, {"kvm", module, "kvm_pvm"});
    const auto k = smolvm_fc::classify_kvm(root.path());
    EXPECT_EQ(k.kind, "hardware") << module;
    EXPECT_TRUE(k.usable) << module;
    EXPECT_NE(k.detail.find(module), std::string::npos) << k.detail;
  }
}

TEST(ClassifyKvm, NoDevKvm) {
  smolvm::test::TempDir root;
  make_root(root, false, {"kvm_intel"});
  const auto k = smolvm_fc::classify_kvm(root.path());
  EXPECT_EQ(k.kind, "absent");
  EXPECT_FALSE(k.usable);
}

TEST(ClassifyKvm, DevKvmNotReadWritable) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "running as root, which opens any file: an unreadable /dev/kvm cannot be "
                    "caused here";
  }
  smolvm::test::TempDir root;
  make_root(root, true, {"kvm_intel"});
  chmod((root / "dev/kvm").c_str(), 0);
  const auto k = smolvm_fc::classify_kvm(root.path());
  EXPECT_EQ(k.kind, "inaccessible");
  EXPECT_FALSE(k.usable);
}

TEST(Probe, ThisHost) {
  Env no_jailer("SMOLVM_FIRECRACKER_JAILER", nullptr);
  const bool binary = !smolvm_fc::which(smolvm_fc::firecracker_setting()).empty();
  const auto kvm = smolvm_fc::classify_kvm();
  const auto p = smolvm_fc::probe_host();
  std::cout << "probe: " << smolvm_fc::probe_json(p) << "\n";
  EXPECT_EQ(p.available, binary && kvm.usable);
  EXPECT_EQ(p.kvm_kind, kvm.kind);
  if (!binary) {
    EXPECT_EQ(p.binary, "");
    EXPECT_NE(p.reason.find(smolvm_fc::firecracker_setting() + " not found"), std::string::npos)
        << p.reason;
    EXPECT_NE(p.reason.find("download a release binary from the Firecracker GitHub releases"),
              std::string::npos)
        << p.reason;
  }
  if (kvm.kind == "pvm") {
    EXPECT_NE(p.reason.find("this host's /dev/kvm is PVM"), std::string::npos) << p.reason;
  }
  if (p.available) {
    EXPECT_EQ(p.reason, "");
  }
}

TEST(Probe, ReadsTheVersionOfTheConfiguredBinary) {
  // A stand-in script for `firecracker --version` (no real binary here),
  // printing what Firecracker 1.x prints.
  smolvm::test::TempDir dir;
  const std::string fake = dir / "firecracker";
  smolvm::test::write_file(fake,
                           "#!/bin/sh\necho 'Firecracker v1.17.0'\necho\n"
                           "echo 'Supported snapshot data format versions: v8.0.0'\n",
                           0755);
  Env bin("SMOLVM_FIRECRACKER", fake.c_str());
  Env no_jailer("SMOLVM_FIRECRACKER_JAILER", nullptr);
  const auto p = smolvm_fc::probe_host();
  EXPECT_EQ(p.binary, fake);
  EXPECT_EQ(p.version, "Firecracker v1.17.0");
  EXPECT_EQ(p.reason.find("not found"), std::string::npos) << p.reason;
  EXPECT_EQ(p.available, smolvm_fc::classify_kvm().usable);
}

TEST(Probe, NamesAMissingConfiguredBinary) {
  Env bin("SMOLVM_FIRECRACKER", "/nonexistent/firecracker");
  const auto p = smolvm_fc::probe_host();
  EXPECT_FALSE(p.available);
  EXPECT_NE(p.reason.find("/nonexistent/firecracker not found (download"), std::string::npos)
      << p.reason;
}

TEST(Probe, NamesAMissingJailerAndABadUid) {
  Env jailer("SMOLVM_FIRECRACKER_JAILER", "/nonexistent/jailer");
  Env uid("SMOLVM_FIRECRACKER_UID", "nobody");
  const auto p = smolvm_fc::probe_host();
  EXPECT_FALSE(p.available);
  EXPECT_NE(p.reason.find("SMOLVM_FIRECRACKER_JAILER=/nonexistent/jailer not found"),
            std::string::npos)
      << p.reason;
  EXPECT_NE(p.reason.find("SMOLVM_FIRECRACKER_UID='nobody'"), std::string::npos) << p.reason;
}

TEST(Probe, JailerSettingsFromTheEnvironment) {
  {
    Env jailer("SMOLVM_FIRECRACKER_JAILER", nullptr);
    EXPECT_EQ(smolvm_fc::jailer_setting().jailer, "");
  }
  Env jailer("SMOLVM_FIRECRACKER_JAILER", "jailer");
  Env uid("SMOLVM_FIRECRACKER_UID", "1234");
  Env gid("SMOLVM_FIRECRACKER_GID", "5678");
  const auto s = smolvm_fc::jailer_setting();
  EXPECT_EQ(s.jailer, "jailer");
  EXPECT_EQ(s.uid, 1234u);
  EXPECT_EQ(s.gid, 5678u);
  EXPECT_EQ(s.problem, "");
}

TEST(Which, SearchesPathLikeExecvp) {
  smolvm::test::TempDir dir;
  smolvm::test::write_file(dir / "fc-tool", "#!/bin/sh\n", 0755);
  smolvm::test::write_file(dir / "not-exec", "", 0644);
  const std::string path = "/nonexistent:" + dir.path();
  Env p("PATH", path.c_str());
  EXPECT_EQ(smolvm_fc::which("fc-tool"), dir / "fc-tool");
  EXPECT_EQ(smolvm_fc::which("missing"), "");
  // Even for root, X_OK needs an execute bit.
  EXPECT_EQ(smolvm_fc::which("not-exec"), "");
  EXPECT_EQ(smolvm_fc::which(dir / "fc-tool"), dir / "fc-tool");
}

TEST(Plugin, LoadsAndProbesThroughTheAbi) {
  const std::string so = std::string(SMOLVM_PLUGIN_BUILD_DIR) + "/smolvm-vmm-firecracker.so";
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto entry = reinterpret_cast<smolvm_plugin_entry_fn>(dlsym(h, SMOLVM_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr);
  const smolvm_plugin_descriptor* d = entry();
  EXPECT_EQ(d->abi_major, SMOLVM_PLUGIN_ABI_MAJOR);
  EXPECT_EQ(d->kind, static_cast<uint32_t>(SMOLVM_PLUGIN_VMM));
  EXPECT_STREQ(d->name, "firecracker");
  const auto* vt = static_cast<const smolvm_vmm_vtable*>(d->vtable);
  EXPECT_EQ(vt->struct_size, sizeof(smolvm_vmm_vtable));
  char out[4096];
  smolvm_plugin_error err{};
  ASSERT_EQ(vt->probe(out, sizeof out, &err), 0) << err.message;
  const auto j = nlohmann::json::parse(out);
  EXPECT_TRUE(j.at("available").is_boolean());
  EXPECT_TRUE(j.at("binary").is_string());
  EXPECT_TRUE(j.at("version").is_string());
  EXPECT_TRUE(j.at("reason").is_string());
  EXPECT_EQ(j.at("accels"), nlohmann::json::array({"kvm"}));
  EXPECT_EQ(vt->probe(out, 8, &err), SMOLVM_EINVAL);
  // Launch refuses before starting anything when the host cannot run it.
  if (!j.at("available").get<bool>()) {
    smolvm_vmm_config cfg{};
    cfg.struct_size = sizeof cfg;
    cfg.vm_dir = "/tmp";
    cfg.console_log = "/tmp/unused-console.log";
    void* inst = nullptr;
    EXPECT_NE(vt->launch(&inst, &cfg, &err), 0);
    EXPECT_EQ(inst, nullptr);
    EXPECT_NE(std::string(err.message).find("vmm=firecracker"), std::string::npos) << err.message;
  }
  dlclose(h);
}

}  // namespace
