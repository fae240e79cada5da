// What load_profile accepts, what it makes of it, and the exact message for
// what it refuses: file:line:column, key path, value and the allowed range.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/profile/profile.h"
#include "test_util.h"

namespace smolvm {
namespace {

using testing::failure_of;
using testing::kHeader;

// The message for text as profiles/web.yaml, which must be refused (EINVAL).
std::string error_of(const std::string& text) {
  const testing::Failure f =
      failure_of([&] { load_profile_from_string(text, "profiles/web.yaml"); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL) << f.message;
  return f.message;
}

Profile loaded(const std::string& body, const std::string& name = "profiles/web.yaml") {
  return load_profile_from_string(kHeader + body, name);
}

TEST(ProfileLoader, ReadsTheIssueExampleThroughItsBase) {
  const Profile p = load_profile(PROFILE_EXAMPLES_DIR "/python-sandbox.yaml");
  EXPECT_EQ(p.name, "python-sandbox");
  EXPECT_EQ(p.spec.vm_id, "");  // each create makes a new VM
  EXPECT_EQ(p.spec.vcpu_count, 2u);
  EXPECT_EQ(p.spec.mem_size_mib, 1024u);
  EXPECT_EQ(p.spec.disk_mode, "isolated");
  EXPECT_EQ(p.disk_size_mib, 2048u);
  EXPECT_EQ(p.spec.kernel_path, "");
  EXPECT_EQ(p.spec.rootfs_path, "");
  EXPECT_EQ(p.spec.vmm, "auto");
  EXPECT_EQ(p.spec.executor, "agent");
  EXPECT_EQ(p.spec.network, "nftables");
  EXPECT_EQ(p.spec.accel, "auto");
  EXPECT_EQ(p.spec.boot_timeout_s, 120u);
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].guest_port, 8000);
  EXPECT_EQ(p.ports[0].host_port, 0);  // auto
  EXPECT_EQ(p.ports[0].host_addr, "127.0.0.1");
  EXPECT_EQ(p.ports[0].protocol, "tcp");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p.env, (Env{{"LANG", "C.UTF-8"}, {"TZ", "UTC"}, {"PYTHONUNBUFFERED", "1"}}));
  EXPECT_EQ(p.setup, std::vector<std::string>{"mkdir -p /workspace"});
  const std::string dir = std::filesystem::path(PROFILE_EXAMPLES_DIR).lexically_normal().string();
  EXPECT_EQ(p.source_path, dir + "/python-sandbox.yaml");
  EXPECT_EQ(p.extends_chain,
            (std::vector<std::string>{dir + "/python-sandbox.yaml", dir + "/base.yaml"}));
}

TEST(ProfileLoader, EveryExampleLoads) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(PROFILE_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    const testing::Failure f = failure_of([&] { load_profile(entry.path().string()); });
    EXPECT_EQ(f.message, "") << entry.path();
  }
  EXPECT_GE(count, 5);
}

TEST(ProfileLoader, AMinimalProfileHasVmSpecDefaults) {
  const Profile p = loaded("");
  const VmSpec d;
  EXPECT_EQ(p.name, "t");
  EXPECT_EQ(p.spec.vm_id, "");
  EXPECT_EQ(p.spec.vcpu_count, d.vcpu_count);
  EXPECT_EQ(p.spec.mem_size_mib, d.mem_size_mib);
  EXPECT_EQ(p.spec.disk_mode, d.disk_mode);
  EXPECT_EQ(p.spec.vmm, d.vmm);
  EXPECT_EQ(p.spec.executor, d.executor);
  EXPECT_EQ(p.spec.network, d.network);
  EXPECT_EQ(p.spec.accel, d.accel);
  EXPECT_EQ(p.spec.boot_timeout_s, d.boot_timeout_s);
  EXPECT_EQ(p.disk_size_mib, 0u);
  EXPECT_TRUE(p.ports.empty() && p.env.empty() && p.setup.empty());
}

TEST(ProfileLoader, ReadsEveryField) {
  const Profile p = loaded(
      "id: sandbox-7\n"
      "resources: {vcpu_count: 32, mem_size_mib: 16384}\n"
      "disk: {mode: isolated, size_mib: 64}\n"
      "boot: {args: console=ttyS0, timeout_s: 3600, mode: cold}\n"
      "backend: {vmm: qemu, executor: ssh, network: iptables, accel: tcg}\n"
      "network:\n"
      "  ports:\n"
      "    - {guest: 53, host: 5353, host_addr: 0.0.0.0, protocol: udp}\n"
      "env: {B: '2', A: \"1\"}\n"
      "setup:\n"
      "  - |\n"
      "    set -e\n"
      "    true\n");
  EXPECT_EQ(p.spec.vm_id, "sandbox-7");
  EXPECT_EQ(p.spec.vcpu_count, 32u);
  EXPECT_EQ(p.spec.mem_size_mib, 16384u);
  EXPECT_EQ(p.disk_size_mib, 64u);
  EXPECT_EQ(p.spec.boot_args, "console=ttyS0");
  EXPECT_EQ(p.spec.boot_timeout_s, 3600u);
  EXPECT_EQ(p.spec.boot, "cold");
  EXPECT_EQ(p.spec.vmm, "qemu");
  EXPECT_EQ(p.spec.executor, "ssh");
  EXPECT_EQ(p.spec.network, "iptables");
  EXPECT_EQ(p.spec.accel, "tcg");
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].guest_port, 53);
  EXPECT_EQ(p.ports[0].host_port, 5353);
  EXPECT_EQ(p.ports[0].host_addr, "0.0.0.0");
  EXPECT_EQ(p.ports[0].protocol, "udp");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p.env, (Env{{"B", "2"}, {"A", "1"}}));  // file order
  EXPECT_EQ(p.setup, std::vector<std::string>{"set -e\ntrue\n"});
}

TEST(ProfileLoader, ImagePathsResolveAgainstTheProfilesFolder) {
  Profile p =
      loaded("image: {kernel: k/vmlinux, rootfs: /images/root.ext4}\n", "/srv/profiles/web.yaml");
  EXPECT_EQ(p.spec.kernel_path, "/srv/profiles/k/vmlinux");
  EXPECT_EQ(p.spec.rootfs_path, "/images/root.ext4");
  p = loaded("image: {rootfs: ../images/./root.ext4}\n", "/srv/profiles/web.yaml");
  EXPECT_EQ(p.spec.kernel_path, "");  // the default kernel
  EXPECT_EQ(p.spec.rootfs_path, "/srv/images/root.ext4");
  p = loaded("image: default\n", "/srv/profiles/web.yaml");
  EXPECT_EQ(p.spec.image, "");
  EXPECT_EQ(p.spec.kernel_path, "");
  EXPECT_EQ(p.spec.rootfs_path, "");
}

TEST(ProfileLoader, ANamedImage) {
  const Profile p = loaded("image: python-data\n", "/srv/profiles/web.yaml");
  EXPECT_EQ(p.spec.image, "python-data");
  EXPECT_EQ(p.spec.rootfs_path, "");
}

// YAML 1.2 core schema, as the JSON Schema side reads it too.
TEST(ProfileLoader, TypesScalarsByTheYaml12CoreSchema) {
  const Profile p = loaded(
      "resources: {vcpu_count: 0x4, mem_size_mib: 1e3}\n"
      "disk: {size_mib: 0o100}\n"
      "env: {A: yes, B: on, C: 'null'}\n"
      "setup: [no, 'true']\n");
  EXPECT_EQ(p.spec.vcpu_count, 4u);
  EXPECT_EQ(p.spec.mem_size_mib, 1000u);  // an integral number is an integer
  EXPECT_EQ(p.disk_size_mib, 64u);
  EXPECT_EQ(p.setup, (std::vector<std::string>{"no", "true"}));
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(p.env, (Env{{"A", "yes"}, {"B", "on"}, {"C", "null"}}));
  EXPECT_EQ(error_of(std::string(kHeader) + "env: {A: yes, B: on, C: 'null', D: 012}\n"),
            "profiles/web.yaml:4:36: env.D=012: must be a string, not an integer");
}

struct Refusal {
  const char* body;  // after the three header lines, so it starts at line 4
  const char* message;
};

class ProfileRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(ProfileRefusal, NamesFileLineColumnPathValueAndRule) {
  EXPECT_EQ(error_of(std::string(kHeader) + GetParam().body), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProfileRefusal,
    ::testing::Values(
        // Unknown keys, at the key.
        Refusal{"resources:\n  vcpu_count: 2\n  cpus: 4\n",
                "profiles/web.yaml:6:3: resources.cpus: unknown key; allowed: vcpu_count, "
                "mem_size_mib"},
        Refusal{"network: {ports: [{guest: 80, hots: 81}]}\n",
                "profiles/web.yaml:4:31: network.ports[0].hots: unknown key; allowed: guest, "
                "host, host_addr, protocol"},
        // Wrong types.
        Refusal{"resources: {vcpu_count: \"2\"}\n",
                "profiles/web.yaml:4:25: resources.vcpu_count='2': must be an integer, not a "
                "string"},
        Refusal{"resources: {vcpu_count: 2.5}\n",
                "profiles/web.yaml:4:25: resources.vcpu_count=2.5: must be an integer"},
        Refusal{"resources: {vcpu_count: false}\n",
                "profiles/web.yaml:4:25: resources.vcpu_count=false: must be an integer, not a "
                "boolean"},
        Refusal{"resources:\n", "profiles/web.yaml:4:1: resources: must be a mapping, not null"},
        Refusal{"setup: echo hi\n",
                "profiles/web.yaml:4:8: setup='echo hi': must be a list, not a string"},
        Refusal{"setup: [1]\n",
                "profiles/web.yaml:4:9: setup[0]=1: must be a string, not an integer"},
        Refusal{"setup: [~]\n", "profiles/web.yaml:4:9: setup[0]: must be a string, not null"},
        Refusal{"env:\n  PORT: 8080\n",
                "profiles/web.yaml:5:9: env.PORT=8080: must be a string, not an integer"},
        // Out of range: VmSpec's rules, with the profile's path.
        Refusal{"resources:\n  mem_size_mib: 64\n",
                "profiles/web.yaml:5:17: resources.mem_size_mib=64: must be 128..16384"},
        Refusal{"resources: {vcpu_count: 33}\n",
                "profiles/web.yaml:4:25: resources.vcpu_count=33: must be 1..32"},
        Refusal{"resources: {vcpu_count: -1}\n",
                "profiles/web.yaml:4:25: resources.vcpu_count=-1: must be 1..32"},
        Refusal{"resources: {mem_size_mib: 4294967296}\n",
                "profiles/web.yaml:4:27: resources.mem_size_mib=4294967296: must be "
                "128..16384"},
        Refusal{"boot: {timeout_s: 0}\n",
                "profiles/web.yaml:4:19: boot.timeout_s=0: must be 1..3600"},
        Refusal{"disk: {size_mib: 10}\n",
                "profiles/web.yaml:4:18: disk.size_mib=10: must be 64..1048576"},
        // Bad enums, and backend names no plugin can have (which plugins
        // are installed is checked at create).
        Refusal{"backend: {vmm: KVM}\n",
                "profiles/web.yaml:4:16: backend.vmm='KVM': must be auto or a plugin name of 1 to "
                "32 lower-case letters, digits and '_'"},
        Refusal{"backend: {executor: v-sock}\n",
                "profiles/web.yaml:4:21: backend.executor='v-sock': must be auto or a plugin name "
                "of 1 to 32 lower-case letters, digits and '_'"},
        Refusal{"backend: {network: br0/1}\n",
                "profiles/web.yaml:4:20: backend.network='br0/1': must be auto or a plugin name of "
                "1 to 32 lower-case letters, digits and '_'"},
        Refusal{"boot: {mode: warm}\n",
                "profiles/web.yaml:4:14: boot.mode='warm': must be one of auto|cold"},
        Refusal{"backend: {accel: hvf}\n",
                "profiles/web.yaml:4:18: backend.accel='hvf': must be one of auto|kvm|tcg"},
        Refusal{"disk: {mode: cow}\n",
                "profiles/web.yaml:4:14: disk.mode='cow': must be one of isolated|shared"},
        Refusal{"image: Latest/1\n",
                "profiles/web.yaml:4:8: image='Latest/1': must be default, an image's name "
                "([a-z0-9][a-z0-9._-]{0,62}, `smolvm image ls`) or a mapping with kernel and/or "
                "rootfs"},
        // Names and ids.
        Refusal{"id: Web_1\n",
                "profiles/web.yaml:4:5: id='Web_1': must match [a-z0-9][a-z0-9-]{0,62} "
                "(lower-case letters, digits and '-', 1 to 63 characters, not starting with "
                "'-')"},
        Refusal{"env: {9LIVES: x}\n",
                "profiles/web.yaml:4:7: env: variable name '9LIVES' must match "
                "[A-Za-z_][A-Za-z0-9_]* (at most 255 characters)"},
        // Ports.
        Refusal{"network:\n  ports:\n    - guest: 80\n      host: 0\n",
                "profiles/web.yaml:7:13: network.ports[0].host=0: must be 1..65535 or auto"},
        Refusal{"network: {ports: [{guest: 65536}]}\n",
                "profiles/web.yaml:4:27: network.ports[0].guest=65536: must be 1..65535"},
        Refusal{"network: {ports: [{guest: 80, host_addr: localhost}]}\n",
                "profiles/web.yaml:4:42: network.ports[0].host_addr='localhost': must be an "
                "IPv4 address like 127.0.0.1"},
        Refusal{"network: {ports: [{guest: 80, protocol: TCP}]}\n",
                "profiles/web.yaml:4:41: network.ports[0].protocol='TCP': must be one of "
                "tcp|udp"},
        Refusal{"network: {ports: [{host: 80}]}\n",
                "profiles/web.yaml:4:19: network.ports[0].guest: required"},
        // Strings.
        Refusal{"image: {kernel: ''}\n",
                "profiles/web.yaml:4:17: image.kernel='': must not be empty"},
        Refusal{"image: {}\n", "profiles/web.yaml:4:8: image: must name kernel, rootfs or both"},
        Refusal{"setup: [\"a\\0b\"]\n",
                "profiles/web.yaml:4:9: setup[0]='a\\x00b': must not contain NUL characters"},
        Refusal{"boot: {args: \"a\\tb\"}\n",
                "profiles/web.yaml:4:14: boot.args='a\\tb': must be printable ASCII on one "
                "line"},
        // Columns count characters, not bytes.
        Refusal{"env: {A: \"\xC3\xA9\xC3\xA9\", B: 1}\n",
                "profiles/web.yaml:4:19: env.B=1: must be a string, not an integer"},
        // Rules across fields.
        Refusal{"backend: {network: none}\nnetwork: {ports: [{guest: 80}]}\n",
                "profiles/web.yaml:5:11: network.ports: forwarding ports needs a network, but "
                "backend.network is 'none' (profiles/web.yaml:4:20)"},
        Refusal{"network: {ports: [{guest: 80}]}\n",
                "profiles/web.yaml:4:11: network.ports: forwarding ports needs a network, but "
                "backend.network is 'none' (the default)"},
        Refusal{"disk: {mode: shared, size_mib: 100}\n",
                "profiles/web.yaml:4:22: disk.size_mib: only an isolated disk can be sized; "
                "disk.mode is 'shared' (profiles/web.yaml:4:14)"},
        // YAML that is not plain data.
        Refusal{"resources: {vcpu_count: 2}\nresources: {vcpu_count: 4}\n",
                "profiles/web.yaml:5:1: duplicate key 'resources'"},
        Refusal{"resources: {1: 2}\n",
                "profiles/web.yaml:4:13: mapping keys must be strings, not an integer (quote "
                "it)"},
        Refusal{"? [a]\n: b\n", "profiles/web.yaml:4:3: mapping keys must be strings, not a list"},
        Refusal{"resources: !!map {}\n",
                "profiles/web.yaml:4:12: YAML tag !!map is not allowed: a profile is plain data"},
        Refusal{"env: !secret {A: b}\n",
                "profiles/web.yaml:4:6: YAML tag !secret is not allowed: a profile is plain data"},
        Refusal{"setup: &s [*s]\n",
                "profiles/web.yaml:4:12: alias refers to a node that contains it (a cycle)"},
        Refusal{"env: {A: &x a, B: &x b}\n", "profiles/web.yaml:4:19: anchor &x is defined twice"},
        Refusal{"---\nname: again\n",
                "profiles/web.yaml:4:1: a profile is one YAML document; found a second one"},
        Refusal{"resources: {vcpu_count: 2\n",
                "profiles/web.yaml:5:1: YAML syntax error: end of map flow not found"},
        Refusal{"setup: [\"a\x01\"]\n",
                "profiles/web.yaml:4:11: character U+0001 is not allowed in YAML"},
        Refusal{"setup: [\"\xC3\"]\n",
                "profiles/web.yaml:4:10: not valid UTF-8 (profiles are UTF-8 text)"},
        Refusal{"setup: [\"a\xE2\x80\xA8"
                "b\"]\n",
                "profiles/web.yaml:4:11: character U+2028 is not allowed: YAML 1.1 and 1.2 "
                "disagree whether it breaks the line"}));

TEST(ProfileLoader, HeaderFieldsAreRequiredAndFixed) {
  EXPECT_EQ(error_of("kind: VMProfile\nname: x\n"), "profiles/web.yaml:1:1: apiVersion: required");
  EXPECT_EQ(error_of("apiVersion: smolvm/v1\nkind: VMProfile\n"),
            "profiles/web.yaml:1:1: name: required");
  EXPECT_EQ(error_of("apiVersion: smolvm/v1\nkind: Pod\nname: x\n"),
            "profiles/web.yaml:2:7: kind='Pod': must be VMProfile");
  EXPECT_EQ(error_of("apiVersion: 1\nkind: VMProfile\nname: x\n"),
            "profiles/web.yaml:1:13: apiVersion=1: must be a string, not an integer");
  EXPECT_EQ(error_of("apiVersion: smolvm/v1\nkind: VMProfile\nname: Web App\n"),
            "profiles/web.yaml:3:7: name='Web App': must match [a-z0-9][a-z0-9._-]{0,62} "
            "(lower-case letters, digits, '.', '_' and '-', 1 to 63 characters)");
  // A file that does not even mention smolvm/v1 or VMProfile is not quoted.
  const std::string not_a_profile =
      "profiles/web.yaml: not a SmolVM profile: a profile is a YAML mapping with apiVersion: "
      "smolvm/v1 and kind: VMProfile (the file's content is not shown)";
  EXPECT_EQ(error_of(""), not_a_profile);
  EXPECT_EQ(error_of("# only a comment\n"), not_a_profile);
  EXPECT_EQ(error_of("# VMProfile\n"),
            "profiles/web.yaml:1:1: a profile must be a YAML mapping (apiVersion: smolvm/v1, "
            "kind: VMProfile, name: ...), not null");
}

TEST(ProfileLoader, LongValuesAreCutShortInMessages) {
  const std::string args(3000, 'a');
  EXPECT_EQ(error_of(std::string(kHeader) + "boot: {args: " + args + "}\n"),
            "profiles/web.yaml:4:14: boot.args='" + std::string(80, 'a') +
                "...': must be one line of at most 2048 characters");
}

TEST(ProfileLoader, FilesThatCannotBeRead) {
  testing::TempDir dir;
  testing::Failure f = failure_of([&] { load_profile((dir / "none.yaml")); });
  EXPECT_EQ(f.status, SMOLVM_ENOTFOUND);
  EXPECT_EQ(f.message, (dir / "none.yaml") + ": cannot open: No such file or directory");

  f = failure_of([&] { load_profile(dir.path()); });
  EXPECT_EQ(f.status, SMOLVM_EINVAL);
  EXPECT_EQ(f.message, dir.path() + ": not a regular file");

  // A FIFO with no writer would block a plain open(); it must be refused.
  const std::string fifo = (dir / "fifo.yaml");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  f = failure_of([&] { load_profile(fifo); });
  EXPECT_EQ(f.message, fifo + ": not a regular file");

  f = failure_of([&] { load_profile("/dev/zero"); });
  EXPECT_EQ(f.message, "/dev/zero: not a regular file");
}

TEST(ProfileLoader, AcceptsEveryYamlLineBreak) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    const std::string text = "apiVersion: smolvm/v1" + eol + "kind: VMProfile" + eol + "name: t" +
                             eol + "resources: {vcpu_count: 99}" + eol;
    EXPECT_EQ(error_of(text), "profiles/web.yaml:4:25: resources.vcpu_count=99: must be 1..32");
  }
}

TEST(ProfileLoader, ReadsARealFileWithABom) {
  testing::TempDir dir;
  const std::string path = dir.write(
      "bom.yaml", "\xEF\xBB\xBF" + std::string(kHeader) + "resources: {vcpu_count: 99}\n");
  EXPECT_EQ(failure_of([&] { load_profile(path); }).message,
            path + ":4:25: resources.vcpu_count=99: must be 1..32");
  dir.write("ok.yaml", "\xEF\xBB\xBF" + std::string(kHeader));
  EXPECT_EQ(load_profile((dir / "ok.yaml")).name, "t");
}

}  // namespace
}  // namespace smolvm
