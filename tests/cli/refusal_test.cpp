// The CLI refuses bad input with a message that says what is wrong (issue
// #25), before it creates anything: the real binary, a private state folder.
#include <cstdio>

#include "tests/cli/cli_fixture.h"

namespace {

class CliRefusal : public CliTest {
 protected:
  // Nothing was recorded: `ls` lists no VM.
  void expect_no_vm() const {
    const CliResult ls = cli("ls -q");
    EXPECT_EQ(ls.output, "") << ls.output;
  }
};

TEST_F(CliRefusal, ImagePathsThatAreNotFilesSayWhatTheyAre) {
  CliResult r = cli("create --kernel /tmp");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "smolvm: kernel_path='/tmp': is a folder; name the image file in it\n");
  r = cli("create --kernel /dev/zero");
  EXPECT_EQ(r.output,
            "smolvm: kernel_path='/dev/zero': not a regular file (a device, FIFO or socket)\n");
  r = cli("create --kernel /etc/hostname --rootfs /tmp");
  EXPECT_EQ(r.output, "smolvm: rootfs_path='/tmp': is a folder; name the image file in it\n");
  r = cli("create --kernel /no/such/kernel");
  EXPECT_EQ(r.output, "smolvm: kernel_path='/no/such/kernel': no such file\n");
  expect_no_vm();
}

TEST_F(CliRefusal, ImageNamesAndRecipesAreCheckedBeforeAnyWork) {
  CliResult r = cli("create --image no-such-image");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("smolvm: image='no-such-image': no such image in "), std::string::npos)
      << r.output;
  r = cli("create --image ../x");
  EXPECT_EQ(r.output, "smolvm: image='../x': must match [a-z0-9][a-z0-9._-]{0,62}\n");
  r = cli("image rm no-such-image");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("image='no-such-image': no such image"), std::string::npos) << r.output;
  r = cli("image build -f /no/such/recipe.yaml");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "smolvm: /no/such/recipe.yaml: cannot open: No such file or directory\n");
  expect_no_vm();
}

TEST_F(CliRefusal, AnEmptyIdIsRefusedNotReplaced) {
  const std::string rule =
      "vm_id='': must match [a-z0-9][a-z0-9-]{0,62} (lower-case letters, digits and '-', 1 to "
      "63 characters, not starting with '-')\n";
  CliResult r = cli("create --id ''");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "smolvm: " + rule);
  r = cli("create --id=");
  EXPECT_EQ(r.output, "smolvm: " + rule);
  const std::string profile = dir_ + "/p.yaml";
  FILE* f = fopen(profile.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("apiVersion: smolvm/v1\nkind: VMProfile\nname: p\n", f);
  fclose(f);
  r = cli("create --profile '" + profile + "' --id ''");
  EXPECT_EQ(r.output, "smolvm: " + rule);
  expect_no_vm();
}

TEST_F(CliRefusal, NumbersReportTheFieldsRealRange) {
  EXPECT_EQ(cli("create --mem -1").output,
            "smolvm create: --mem=-1: must not be negative; allowed: 128..16384\n");
  EXPECT_EQ(cli("create --mem=64").output, "smolvm create: --mem=64: must be 128..16384\n");
  EXPECT_EQ(cli("create --mem ''").output,
            "smolvm create: --mem=: must be a whole number 128..16384\n");
  EXPECT_EQ(cli("create --vcpus 0").output, "smolvm create: --vcpus=0: must be 1..32\n");
  EXPECT_EQ(cli("create --vcpus -2").output,
            "smolvm create: --vcpus=-2: must not be negative; allowed: 1..32\n");
  EXPECT_EQ(cli("create --disk-size 10").output,
            "smolvm create: --disk-size=10: must be 0 or 64..1048576\n");
  EXPECT_EQ(cli("create --boot-timeout -1").output,
            "smolvm create: --boot-timeout=-1: must not be negative; allowed: 0 or 1..3600\n");
  EXPECT_EQ(cli("create --boot-timeout 3601").output,
            "smolvm create: --boot-timeout=3601: must be 0 or 1..3600\n");
  EXPECT_EQ(cli("run --rm --timeout -5 -- true").output,
            "smolvm run: --timeout=-5: must not be negative; allowed: 0..86400\n");
  EXPECT_EQ(cli("create --mem -1").code, 2);
  expect_no_vm();
}

}  // namespace
