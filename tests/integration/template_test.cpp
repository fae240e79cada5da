// VMs that start from a template (core/runtime/templates.h) on real QEMU:
// the first start of a machine makes the template, the next ones restore
// it and each gets its own RNG, clock and disk; SMOLVM_TEMPLATE=0 and
// boot=cold boot cold; a damaged template is removed and made again,
// never half-used; another memory size gets a template of its own.
// Each test uses a memory size no other test uses, so the templates it
// makes and damages in the shared image cache are its own.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

namespace fs = std::filesystem;

smolvm_vm* started(const std::string& id, uint32_t mem, const char* boot = nullptr) {
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = id.c_str();
  o.vcpu_count = 1;
  o.mem_size_mib = mem;
  o.boot = boot;
  smolvm_vm* vm = nullptr;
  if (smolvm_vm_create(&vm, runtime(), &o) != 0) {
    ADD_FAILURE() << "create " << id << ": " << last_error();
    return nullptr;
  }
  if (smolvm_vm_start(vm) != 0) ADD_FAILURE() << "start " << id << ": " << last_error();
  return vm;
}

// The default image's templates folder, as the runtime names it (the
// image's own folder, not the images/default link).
std::string templates_dir() {
  return fs::canonical(cache_dir() + "/images/default").string() + "/templates";
}

// The folder of the template for 1 vCPU and mem MiB (any accel).
std::string template_of(uint32_t mem) {
  const std::string infix = "1cpu-" + std::to_string(mem) + "mib-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(templates_dir(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(infix, 0) == 0 && name.find(".lock") == std::string::npos) {
      return e.path().string();
    }
  }
  return "";
}

void forget_template(uint32_t mem) {
  if (const std::string dir = template_of(mem); !dir.empty()) fs::remove_all(dir);
}

std::string out_of(smolvm_vm* vm, const std::string& command) {
  const Result r = run(vm, command);
  EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
  return r.out;
}

void remove_vm(smolvm_vm* vm) {
  EXPECT_EQ(smolvm_vm_delete(vm), 0) << last_error();
  smolvm_vm_free(vm);
}

TEST(Template, TheFirstStartMakesItTheNextRestoreItEachWithItsOwnRngClockAndDisk) {
  constexpr uint32_t kMem = 232;
  forget_template(kMem);
  smolvm_vm* maker = started("tplmaker", kMem);
  ASSERT_NE(maker, nullptr);
  smolvm_vm_info i = info(maker);
  EXPECT_STREQ(i.boot, "cold");
  EXPECT_NE(std::string(i.boot_reason).find("no template yet: made "), std::string::npos)
      << i.boot_reason;
  const std::string dir = template_of(kMem);
  ASSERT_FALSE(dir.empty()) << "no template in " << templates_dir();
  // Published whole and read-only.
  for (const char* f : {"manifest.json", "state", "disk.qcow2"}) {
    EXPECT_EQ(fs::status(dir + "/" + f).permissions() & fs::perms::owner_write, fs::perms::none)
        << f;
  }

  smolvm_vm* a = started("tpla", kMem);
  smolvm_vm* b = started("tplb", kMem);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (smolvm_vm* vm : {a, b}) {
    i = info(vm);
    EXPECT_STREQ(i.boot, "snapshot") << i.id;
    EXPECT_EQ(std::string(i.boot_reason), "restored from template " + dir) << i.id;
  }
  const CliResult inspect = cli("inspect tpla");
  EXPECT_NE(inspect.out.find("\"boot\": \"snapshot\""), std::string::npos) << inspect.out;

  // Clones share nothing a clone must not: RNG output, uuids, the clock.
  const std::string cmd = "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'";
  const std::string ra = out_of(a, cmd), rb = out_of(b, cmd), rm = out_of(maker, cmd);
  EXPECT_NE(ra, rb);
  EXPECT_NE(ra, rm);
  const std::string uuid = "cat /proc/sys/kernel/random/uuid";
  EXPECT_NE(out_of(a, uuid), out_of(b, uuid));
  for (smolvm_vm* vm : {a, b}) {
    // Within 1 s of the host's clock while the command ran (its round
    // trip is not the guest's error).
    const double before = host_now();
    const double guest = std::stod(out_of(vm, "date +%s.%N"));
    const double after = host_now();
    EXPECT_GT(guest, before - 1.0) << info(vm).id;
    EXPECT_LT(guest, after + 1.0) << info(vm).id;
  }
  // Their disks are their own.
  ASSERT_EQ(run(a, "echo mine > /root/a && sync").exit_code, 0);
  EXPECT_EQ(run(b, "test -e /root/a").exit_code, 1);
  EXPECT_EQ(run(maker, "test -e /root/a").exit_code, 1);
  EXPECT_EQ(out_of(a, "cat /root/a"), "mine\n");

  // A later start boots the VM's own disk, cold, and the file is there.
  ASSERT_EQ(smolvm_vm_stop(a, 10000), 0) << last_error();
  ASSERT_EQ(smolvm_vm_start(a), 0) << last_error();
  i = info(a);
  EXPECT_STREQ(i.boot, "cold");
  EXPECT_STREQ(i.boot_reason, "a later start boots the VM's own disk");
  EXPECT_EQ(out_of(a, "cat /root/a"), "mine\n");
  for (smolvm_vm* vm : {a, b, maker}) remove_vm(vm);
  // The template stays for the next VM; no VM marks it used any more.
  EXPECT_TRUE(fs::exists(dir + "/state"));
  EXPECT_TRUE(fs::is_empty(dir + "/used-by"));
}

TEST(Template, TurnedOffByTheEnvironmentOrTheVmsOptionBootsCold) {
  constexpr uint32_t kMem = 248;
  forget_template(kMem);
  setenv("SMOLVM_TEMPLATE", "0", 1);
  smolvm_vm* off = started("tploff", kMem);
  unsetenv("SMOLVM_TEMPLATE");
  ASSERT_NE(off, nullptr);
  EXPECT_STREQ(info(off).boot, "cold");
  EXPECT_STREQ(info(off).boot_reason, "disabled by SMOLVM_TEMPLATE=0");
  EXPECT_TRUE(template_of(kMem).empty()) << "a VM that booted cold made " << template_of(kMem);

  smolvm_vm* cold = started("tplcold", kMem, "cold");
  ASSERT_NE(cold, nullptr);
  EXPECT_STREQ(info(cold).boot, "cold");
  EXPECT_STREQ(info(cold).boot_reason, "disabled by the VM's options (boot=cold)");
  EXPECT_TRUE(template_of(kMem).empty());

  // A value that is neither is refused, naming it.
  setenv("SMOLVM_TEMPLATE", "yes", 1);
  smolvm_vm* bad = nullptr;
  smolvm_vm_options o;
  smolvm_vm_options_init(&o);
  o.vm_id = "tplbadenv";
  o.mem_size_mib = kMem;
  ASSERT_EQ(smolvm_vm_create(&bad, runtime(), &o), 0) << last_error();
  EXPECT_EQ(smolvm_vm_start(bad), SMOLVM_EINVAL);
  EXPECT_NE(last_error().find("SMOLVM_TEMPLATE='yes': must be 0"), std::string::npos)
      << last_error();
  unsetenv("SMOLVM_TEMPLATE");
  // And an unknown boot option at create.
  o.vm_id = "tplbadopt";
  o.boot = "warm";
  smolvm_vm* badopt = nullptr;
  EXPECT_EQ(smolvm_vm_create(&badopt, runtime(), &o), SMOLVM_EINVAL);
  EXPECT_NE(last_error().find("boot"), std::string::npos) << last_error();
  for (smolvm_vm* vm : {off, cold, bad}) remove_vm(vm);
}

TEST(Template, ADamagedTemplateIsRemovedAndMadeAgainNeverHalfUsed) {
  constexpr uint32_t kMem = 264;
  forget_template(kMem);
  smolvm_vm* maker = started("tpldmg0", kMem);
  ASSERT_NE(maker, nullptr);
  const std::string dir = template_of(kMem);
  ASSERT_FALSE(dir.empty());
  // Another memory size, another template.
  EXPECT_EQ(dir.find("-232mib-"), std::string::npos);
  EXPECT_NE(dir.find("1cpu-264mib-"), std::string::npos) << dir;
  remove_vm(maker);

  // Truncated: seen before use, removed, and this start makes a new one.
  const std::string state = dir + "/state";
  const auto size = fs::file_size(state);
  fs::permissions(state, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(state, size / 2);
  smolvm_vm* second = started("tpldmg1", kMem);
  ASSERT_NE(second, nullptr);
  smolvm_vm_info i = info(second);
  EXPECT_STREQ(i.boot, "cold");
  EXPECT_NE(std::string(i.boot_reason).find("(truncated or replaced)"), std::string::npos)
      << i.boot_reason;
  EXPECT_NE(std::string(i.boot_reason).find("removed; no template yet: made "), std::string::npos)
      << i.boot_reason;
  EXPECT_TRUE(answers(second));
  // Made again, whole (its size is the new guest's, a few KB from the old).
  ASSERT_GT(fs::file_size(state), size / 2) << "not made again";
  remove_vm(second);

  // Corrupt at its full size: QEMU refuses it, the template goes, and the
  // same start boots cold and makes it again.
  fs::permissions(state, fs::perms::owner_write, fs::perm_options::add);
  {
    const auto whole = fs::file_size(state);
    std::ofstream f(state, std::ios::binary | std::ios::trunc);
    f << std::string(whole, '\x5a');
  }
  smolvm_vm* third = started("tpldmg2", kMem);
  ASSERT_NE(third, nullptr);
  i = info(third);
  EXPECT_STREQ(i.boot, "cold");
  EXPECT_NE(std::string(i.boot_reason).find("did not load"), std::string::npos) << i.boot_reason;
  EXPECT_TRUE(answers(third));
  std::ifstream again(state, std::ios::binary);
  EXPECT_NE(again.get(), 0x5a) << "the corrupt state was kept";
  smolvm_vm* fourth = started("tpldmg3", kMem);
  ASSERT_NE(fourth, nullptr);
  EXPECT_STREQ(info(fourth).boot, "snapshot") << info(fourth).boot_reason;
  EXPECT_TRUE(answers(fourth));
  for (smolvm_vm* vm : {third, fourth}) remove_vm(vm);
  // Nothing left aside.
  for (const auto& e : fs::directory_iterator(templates_dir())) {
    const std::string name = e.path().filename().string();
    EXPECT_NE(name.rfind(".tmp-", 0), 0u) << name;
    EXPECT_NE(name.rfind(".rm-", 0), 0u) << name;
  }
}

}  // namespace
}  // namespace vmtest
