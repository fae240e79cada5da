// Each command's help and the refusals that need no VM, through the real
// binary: every command in the list has a usage, every option a command
// accepts is in its help with the values it takes (the ranges are the C
// ABI's own constants), and a bad value or option says which, what was
// given and what is allowed, before anything is made.
#include <smolvm/smolvm.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "tests/cli/cli_fixture.h"

namespace {

class CliHelp : public CliTest {
 protected:
  // A file where the default image would be: enough for `create` to record
  // a VM (nothing here boots one).
  void fake_default_image() const {
    const std::string img = dir_ + "/cache/images/default";
    std::filesystem::create_directories(img);
    for (const char* f : {"/vmlinux", "/rootfs.ext4"}) {
      FILE* out = fopen((img + f).c_str(), "w");
      ASSERT_NE(out, nullptr);
      fputs("not an image", out);
      fclose(out);
    }
  }
  void expect_no_vm() const {
    const CliResult ls = cli("ls -q");
    EXPECT_EQ(ls.output, "") << ls.output;
  }
};

// The names in the "commands:" block of `smolvm --help`.
std::vector<std::string> listed_commands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help.substr(help.find("commands:\n") + 10));
  std::string line;
  while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    out.push_back(name);
  }
  return out;
}

TEST_F(CliHelp, EveryListedCommandHasAUsage) {
  const CliResult top = cli("--help");
  EXPECT_EQ(top.code, 0);
  const auto commands = listed_commands(top.output);
  ASSERT_GE(commands.size(), 17u) << top.output;
  for (const auto& c : commands) {
    if (c == "version") continue;  // prints the version whatever follows
    const CliResult r = cli(c + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_EQ(r.output.rfind("usage: smolvm " + c, 0), 0u) << c << ":\n" << r.output;
    EXPECT_EQ(cli(c + " -h").output, r.output) << c;
  }
}

// Each option every command's parser accepts (cli/cmd_*.cpp), in its help.
TEST_F(CliHelp, EachCommandsHelpNamesEveryOptionItTakes) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> options = {
      {"create", {"--id",      "--vcpus",  "--mem",          "--disk-mode", "--disk-size",
                  "--kernel",  "--rootfs", "--boot-args",    "--vmm",       "--executor",
                  "--network", "--accel",  "--boot-timeout", "--start",     "--profile",
                  "--ttl",     "--on-ttl", "--idle-timeout", "--on-idle",   "--from-snapshot",
                  "--image"}},
      {"snapshot", {"create", "ls", "inspect", "rm", "--name", "--stop", "--json"}},
      {"fork", {"-n", "--ttl", "--on-ttl", "--idle-timeout", "--on-idle"}},
      {"run", {"--rm", "-e", "-w", "-t", "-i", "--shell", "[create options]"}},
      {"exec", {"-e", "-w", "-t", "-i", "--shell"}},
      {"cp", {"--max-bytes", "--timeout"}},
      {"stop", {"-t"}},
      {"rm", {"-f"}},
      {"ls", {"--json", "-q"}},
      {"port", {"--addr", "--udp", "add", "rm", "ls"}},
      {"logs", {"-f", "--raw"}},
      {"image",
       {"build", "import", "ls", "inspect", "rm", "prune", "-f RECIPE", "--name", "--force",
        "--quiet", "--dry-run", "--json"}},
      {"doctor", {"--json"}},
      {"plugins", {"--json"}},
  };
  for (const auto& [command, flags] : options) {
    const std::string help = cli(command + " --help").output;
    for (const auto& f : flags) {
      EXPECT_NE(help.find(f), std::string::npos) << command << " --help omits " << f << ":\n"
                                                 << help;
    }
  }
}

TEST_F(CliHelp, ChoicesAndRangesAreListedAsTheLibraryHasThem) {
  const std::string create = cli("create --help").output;
  for (const char* values : {"isolated|shared", "auto|kvm|tcg", "none|auto|NAME", "--vmm auto|NAME",
                             "--executor auto|NAME", "`smolvm plugins`"}) {
    EXPECT_NE(create.find(values), std::string::npos) << values << " not in:\n" << create;
  }
  const auto range = [](long lo, long hi) {
    return "(" + std::to_string(lo) + ".." + std::to_string(hi) + ")";
  };
  EXPECT_NE(create.find(std::to_string(SMOLVM_VCPU_DEFAULT) + " vCPUs " +
                        range(SMOLVM_VCPU_MIN, SMOLVM_VCPU_MAX)),
            std::string::npos)
      << create;
  EXPECT_NE(create.find(std::to_string(SMOLVM_MEM_MIB_DEFAULT) + " MiB " +
                        range(SMOLVM_MEM_MIB_MIN, SMOLVM_MEM_MIB_MAX)),
            std::string::npos)
      << create;
  EXPECT_NE(create.find("up to\n" + std::to_string(SMOLVM_DISK_MIB_MAX)), std::string::npos)
      << create;
  EXPECT_NE(cli("run --help").output.find("--shell login|raw"), std::string::npos);
  EXPECT_NE(cli("exec --help").output.find("--shell login|raw"), std::string::npos);
  EXPECT_NE(cli("cp --help").output.find(std::to_string(SMOLVM_TRANSFER_MAX_BYTES_DEFAULT)),
            std::string::npos);
}

TEST_F(CliHelp, UnknownCommandIsAUsageErrorWithTheList) {
  const CliResult r = cli("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output.rfind("smolvm: unknown command 'frobnicate'\n", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("commands:"), std::string::npos);
}

TEST_F(CliHelp, UnknownOptionsAndMissingValuesNameTheOption) {
  for (const char* command : {"create", "run", "exec", "cp", "stop", "rm", "ls", "logs"}) {
    const CliResult r = cli(std::string(command) + " --bogus x");
    EXPECT_EQ(r.code, 2) << command;
    EXPECT_EQ(r.output,
              "smolvm " + std::string(command) + ": unknown option '--bogus' (see --help)\n");
  }
  const CliResult r = cli("create --mem");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "smolvm create: --mem needs a value\n");
  EXPECT_EQ(cli("stop x -t abc").output,
            "smolvm stop: --timeout=abc: must be a whole number 1..3600\n");
  EXPECT_EQ(cli("cp --max-bytes 0 a x:/b").output,
            "smolvm cp: --max-bytes=0: must be 1..4611686018427387904\n");
  expect_no_vm();
}

TEST_F(CliHelp, BadChoicesNameFieldValueAndWhatIsAllowed) {
  CliResult r = cli("create --disk-mode bogus");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "smolvm: disk_mode='bogus': must be one of isolated|shared\n");
  r = cli("create --accel fast");
  EXPECT_EQ(r.output, "smolvm: accel='fast': must be one of auto|kvm|tcg\n");
  fake_default_image();
  // Backends are the installed plugins of each kind: the refusal lists them.
  r = cli("create --vmm nope");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output.rfind("smolvm: vmm='nope': no such vmm plugin (allowed: auto, ", 0), 0u)
      << r.output;
  EXPECT_NE(r.output.find("qemu"), std::string::npos) << r.output;
  r = cli("create --executor nope");
  EXPECT_EQ(r.output.rfind("smolvm: executor='nope': no such executor plugin (allowed: auto, ", 0),
            0u)
      << r.output;
  EXPECT_NE(r.output.find("agent"), std::string::npos) << r.output;
  r = cli("create --network nope");
  EXPECT_EQ(
      r.output.rfind("smolvm: network='nope': no such network plugin (allowed: auto, none", 0), 0u)
      << r.output;
  r = cli("create --disk-mode shared --disk-size 100");
  EXPECT_EQ(r.output,
            "smolvm: disk_size_mib=100: only an isolated disk can be sized; disk_mode is 'shared' "
            "(the image itself)\n");
  r = cli("create --profile /nonexistent.yaml --mem 256");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output,
            "smolvm create: --mem cannot be combined with --profile (set it in the profile, or "
            "with its SMOLVM_PROFILE_* environment override)\n");
  expect_no_vm();
}

// A one-shot VM is not made (nor booted) for a command that would be
// refused anyway.
TEST_F(CliHelp, RunRefusesABadShellOrNoCommandBeforeMakingAVm) {
  fake_default_image();
  CliResult r = cli("run --rm --shell zsh -- ls");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "smolvm run: --shell zsh: must be login or raw\n");
  // Without a command only an image's Entrypoint or Cmd would do; the
  // default image has neither.
  r = cli("run --rm");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output,
            "smolvm run: no command given (put it after --); only an image with an Entrypoint or "
            "Cmd runs without one (--image NAME)\n");
  r = cli("run --rm --image no-such-image");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("smolvm run: no command given (put it after --), and image "
                          "'no-such-image' has no Entrypoint or Cmd to run instead "
                          "(image='no-such-image': no such image"),
            std::string::npos)
      << r.output;
  r = cli("run --rm --");
  EXPECT_EQ(r.code, 2);
  expect_no_vm();
  // On a VM that does not exist, the same refusal comes first.
  r = cli("exec no-such-vm --shell zsh -- ls");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "smolvm exec: --shell zsh: must be login or raw\n");
}

}  // namespace
