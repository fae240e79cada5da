// Protocol v2 on a really booted VM through the C ABI: commands as another
// user (the image's `user`, uid 1000), on a terminal (size, RESIZE and
// SIGWINCH, one stream), and the refusals that name what is wrong.
#include <signal.h>

#include <string>

#include "tests/support/vm_fixture.h"

namespace vmtest {
namespace {

class TerminalVm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vm_ = create_and_start("terminal"); }
  static void TearDownTestSuite() {
    if (vm_) {
      EXPECT_EQ(smolvm_vm_delete(vm_), 0) << smolvm_last_error();
      smolvm_vm_free(vm_);
    }
  }
  void SetUp() override { ASSERT_NE(vm_, nullptr) << "the VM did not start"; }
  static smolvm_vm* vm_;
};
smolvm_vm* TerminalVm::vm_ = nullptr;

struct Ran {
  int rc = 0;
  int exit_code = -1;
  std::string out, err;
};

Ran exec_as(smolvm_vm* vm, const char* user, const char* command) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = command;
  o.user = user;
  o.timeout_ms = 30000;
  Ran r;
  smolvm_exec_result* res = nullptr;
  r.rc = smolvm_vm_exec(&res, vm, &o);
  if (r.rc != 0) {
    r.err = smolvm_last_error();
    return r;
  }
  r.exit_code = res->exit_code;
  r.out.assign(reinterpret_cast<const char*>(res->stdout_data), res->stdout_len);
  r.err.assign(reinterpret_cast<const char*>(res->stderr_data), res->stderr_len);
  smolvm_exec_result_free(res);
  return r;
}

TEST_F(TerminalVm, TheImageHasAnUnprivilegedUserCommandsRunAs) {
  Ran r = exec_as(vm_, "user", "id -un; id -u; id -g; echo $HOME; pwd; touch /root/x 2>&1 || :");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("touch")), "user\n1000\n1000\n/home/user\n/home/user\n");
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  r = exec_as(vm_, "1000:1000", "id -u; id -g");
  EXPECT_EQ(r.out, "1000\n1000\n");
  r = exec_as(vm_, nullptr, "id -u");
  EXPECT_EQ(r.out, "0\n");
}

TEST_F(TerminalVm, AnUnknownUserIsRefusedNamingIt) {
  const Ran r = exec_as(vm_, "mallory", "true");
  EXPECT_EQ(r.rc, SMOLVM_EINVAL);
  EXPECT_NE(r.err.find("user 'mallory' is not in the guest's /etc/passwd"), std::string::npos)
      << r.err;
}

// Handles events until the output holds text; false on exit or timeout.
bool wait_for(smolvm_exec* ex, std::string& out, const std::string& text) {
  smolvm_exec_event ev;
  while (out.find(text) == std::string::npos) {
    if (smolvm_exec_next_event(&ev, ex, 20000) != 0) return false;
    if (ev.type == SMOLVM_EVENT_EXIT) return false;
    EXPECT_EQ(ev.type, SMOLVM_EVENT_STDOUT) << "a terminal has one output stream";
    out.append(reinterpret_cast<const char*>(ev.data), ev.len);
  }
  return true;
}

TEST_F(TerminalVm, ACommandOnATerminalSeesItsSizeAndResizes) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command =
      "tty; stty size; echo TERM=$TERM; trap 'echo winch $(stty size)' WINCH; echo ready; "
      "until read line; do :; done; echo got $line; exit 5";
  o.shell = "raw";  // dash runs a WINCH trap while read waits; bash -c waits for the line
  o.user = "user";
  o.pty_rows = 30;
  o.pty_cols = 100;
  o.term = "vt100";
  smolvm_exec* ex = nullptr;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0) << smolvm_last_error();
  std::string out;
  ASSERT_TRUE(wait_for(ex, out, "ready")) << out;
  EXPECT_EQ(out.rfind("/dev/pts/", 0), 0u) << out;
  EXPECT_NE(out.find("30 100\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("TERM=vt100\r\n"), std::string::npos) << out;
  ASSERT_EQ(smolvm_exec_resize(ex, 40, 120), 0) << smolvm_last_error();
  EXPECT_TRUE(wait_for(ex, out, "winch 40 120")) << out;
  const std::string line = "typed\n";
  ASSERT_EQ(smolvm_exec_write_stdin(ex, reinterpret_cast<const uint8_t*>(line.data()), line.size()),
            0);
  EXPECT_TRUE(wait_for(ex, out, "got typed")) << out;
  smolvm_exec_event ev;
  int code = -1;
  while (smolvm_exec_next_event(&ev, ex, 20000) == 0) {
    if (ev.type == SMOLVM_EVENT_EXIT) code = ev.exit_code;
  }
  EXPECT_EQ(code, 5);
  smolvm_exec_free(ex);
}

TEST_F(TerminalVm, BadSizesAndResizingWithoutATerminalAreRefused) {
  smolvm_exec_options o;
  smolvm_exec_options_init(&o);
  o.command = "sleep 30";
  o.pty_rows = 24;
  o.pty_cols = 1001;
  smolvm_exec* ex = nullptr;
  EXPECT_EQ(smolvm_exec_start(&ex, vm_, &o), SMOLVM_EINVAL);
  EXPECT_NE(std::string(smolvm_last_error()).find("pty_cols=1001: must be 1..1000"),
            std::string::npos)
      << smolvm_last_error();
  o.pty_rows = o.pty_cols = 0;
  ASSERT_EQ(smolvm_exec_start(&ex, vm_, &o), 0) << smolvm_last_error();
  EXPECT_EQ(smolvm_exec_resize(ex, 10, 10), SMOLVM_EINVAL);
  EXPECT_NE(std::string(smolvm_last_error()).find("no terminal"), std::string::npos)
      << smolvm_last_error();
  smolvm_exec_free(ex);
}

}  // namespace
}  // namespace vmtest
