// File copies out of a guest whose root is hostile, in one real VM: the
// guest replaces its own /usr/bin/tar with a script that sends archives
// crafted on the host (Python's tarfile, which writes whatever it is told),
// an endless stream, or nothing at all; a 20 GiB sparse file stands in for
// a huge single file. Every check is made on the host.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/processes.h"
#include "tests/support/vm_fixture.h"

namespace {

namespace fs = std::filesystem;
using smolvm::test::sh;
using vmtest::make_vm;
using vmtest::run;

struct Cli {
  int status = -1;
  std::string out;
  long peak_rss_kb = 0;  // the CLI process's own peak
  int64_t elapsed_ms = 0;
};

// Runs the smolvm CLI itself (no shell in between, so the rusage is its own).
Cli smolvm_cli(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe(out) != 0) return {};
  const auto t0 = smolvm::test::now_ms();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    std::vector<char*> argv{const_cast<char*>(SMOLVM_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::setenv("SMOLVM_STATE_DIR", vmtest::state_dir().c_str(), 1);
    ::execv(SMOLVM_CLI, argv.data());
    _exit(127);
  }
  ::close(out[1]);
  Cli r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int st = 0;
  rusage ru{};
  ::wait4(pid, &st, 0, &ru);
  r.elapsed_ms = smolvm::test::now_ms() - t0;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.peak_rss_kb = ru.ru_maxrss;
  return r;
}

// What python's tarfile makes: each archive a guest root could send.
const char* kCraft = R"PY(
import io, sys, tarfile
out, outside = sys.argv[1], sys.argv[2]
def tar(name, members):
    with tarfile.open(f"{out}/{name}", "w", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
def m(name, type=tarfile.REGTYPE, mode=0o644, uid=4242, data=None, **kw):
    i = tarfile.TarInfo(name); i.type = type; i.mode = mode; i.uid = uid; i.gid = uid
    i.size = len(data) if data is not None else 0
    for k, v in kw.items(): setattr(i, k, v)
    return (i, data)
sh = b"#!/bin/sh\nid -u\n"
tar("s1.tar", [m(".", tarfile.DIRTYPE, 0o777), m("./suidsh", mode=0o6755, uid=0, data=sh),
               m("./hostdisk", tarfile.BLKTYPE, 0o666, devmajor=254, devminor=0),
               m("./tty", tarfile.CHRTYPE, 0o666, devmajor=5, devminor=0),
               m("./fifo", tarfile.FIFOTYPE, 0o666), m("./open", data=b"x", mode=0o777)])
tar("s2a.tar", [m(".", tarfile.DIRTYPE, 0o777), m("./x", tarfile.SYMTYPE, 0o777, linkname=outside)])
tar("s2b.tar", [m("./x/pwned", data=b"owned")])
tar("s2c.tar", [m("./y", tarfile.SYMTYPE, 0o777, linkname=outside), m("./y/pwned", data=b"owned")])
tar("s3.tar", [m(".", tarfile.DIRTYPE, 0o777, uid=4242), m("./ok", data=b"ok"),
               m("../escape", data=b"x")])
tar("abs.tar", [m("./ok", data=b"ok"), m(outside + "/abs", data=b"x")])
big = b"B" * (1 << 20)
tar("bomb.tar", [m("./big", data=big)] +
    [m(f"./l{i}", tarfile.LNKTYPE, linkname="./big") for i in range(1100)])
)PY";

class HostileGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vm_ = make_vm("hostile-xfer", 1, true);
    if (!vm_) return;
    root_ = vmtest::state_dir() + "/xfer";
    fs::create_directories(root_ + "/crafted");
    fs::create_directories(root_ + "/outside");
    std::ofstream(root_ + "/craft.py") << kCraft;
    ASSERT_EQ(sh("python3 " + root_ + "/craft.py " + root_ + "/crafted " + root_ + "/outside"), 0);
    // Keep the real tar for the honest cases.
    const auto r = run(vm_, "cp /usr/bin/tar /usr/bin/tar.real && mkdir -p /h && echo ok");
    ASSERT_EQ(r.out, "ok\n") << r.err;
  }
  static void TearDownTestSuite() {
    if (vm_) {
      smolvm_vm_delete(vm_);
      smolvm_vm_free(vm_);
    }
  }
  void SetUp() override {
    if (!vm_) GTEST_SKIP() << "the VM did not start";
    ::umask(022);
  }
  // The guest's tar becomes `body` (a shell script).
  static void guest_tar(const std::string& body) {
    const std::string script = "#!/bin/sh\n" + body + "\n";
    ASSERT_EQ(
        smolvm_vm_write_file(vm_, "/usr/bin/tar", reinterpret_cast<const uint8_t*>(script.data()),
                             script.size(), 0755),
        0)
        << smolvm_last_error();
  }
  // The guest's tar sends a crafted archive.
  static void guest_sends(const std::string& crafted) {
    std::ifstream in(root_ + "/crafted/" + crafted, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    ASSERT_FALSE(data.empty()) << crafted;
    ASSERT_EQ(
        smolvm_vm_write_file(vm_, "/root/payload.tar",
                             reinterpret_cast<const uint8_t*>(data.data()), data.size(), 0644),
        0)
        << smolvm_last_error();
    guest_tar("exec cat /root/payload.tar");
  }
  static std::string host(const std::string& rel) { return root_ + "/" + rel; }
  static bool outside_empty() { return fs::is_empty(root_ + "/outside"); }
  static std::vector<std::string> listing(const std::string& dir) {
    std::vector<std::string> out;
    if (!fs::exists(dir)) return out;
    for (auto& e : fs::recursive_directory_iterator(dir)) {
      out.push_back(e.path().lexically_relative(dir).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string id() { return "hostile-xfer"; }

  static smolvm_vm* vm_;
  static std::string root_;
};

smolvm_vm* HostileGuest::vm_ = nullptr;
std::string HostileGuest::root_;

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

TEST_F(HostileGuest, S1SetuidDevicesAndDotModeNeverLand) {
  guest_sends("s1.tar");
  const Cli r = smolvm_cli({"cp", id() + ":/h", host("out1")});
  ASSERT_EQ(r.status, 0) << r.out;
  const auto suid = lstat_of(host("out1/suidsh"));
  EXPECT_EQ(suid.st_mode & 07777, 0755u);  // 06755 & 0777 & ~022: no setuid, no setgid
  EXPECT_EQ(suid.st_uid, ::getuid());
  EXPECT_EQ(lstat_of(host("out1/open")).st_mode & 07777, 0755u);
  EXPECT_EQ(listing(host("out1")), (std::vector<std::string>{"open", "suidsh"}));  // no device
  // DEST, made by the copy: 0777 & ~umask, whatever "." said.
  EXPECT_EQ(lstat_of(host("out1")).st_mode & 07777, 0755u);
}

TEST_F(HostileGuest, S3DotEntryNeverReownsOrOpensAnExistingDest) {
  fs::create_directories(host("out3"));
  ::chmod(host("out3").c_str(), 0700);
  guest_sends("s3.tar");
  const Cli r = smolvm_cli({"cp", id() + ":/h", host("out3")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("member '../escape'"), std::string::npos) << r.out;
  const auto st = lstat_of(host("out3"));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(listing(host("out3")), std::vector<std::string>{});  // "ok" was not kept
  EXPECT_FALSE(fs::exists(host("escape")));
}

TEST_F(HostileGuest, S2SymlinkLeftByAnEarlierCopyIsNeverFollowed) {
  guest_sends("s2a.tar");
  Cli r = smolvm_cli({"cp", id() + ":/h", host("out2")});
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_TRUE(fs::is_symlink(host("out2/x")));
  guest_sends("s2b.tar");
  r = smolvm_cli({"cp", id() + ":/h", host("out2")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("member './x/pwned'"), std::string::npos) << r.out;
  EXPECT_TRUE(outside_empty());
  // Within one archive, and through absolute names, the same.
  guest_sends("s2c.tar");
  r = smolvm_cli({"cp", id() + ":/h", host("out2c")});
  EXPECT_NE(r.out.find("member './y/pwned'"), std::string::npos) << r.out;
  guest_sends("abs.tar");
  r = smolvm_cli({"cp", id() + ":/h", host("out2d")});
  EXPECT_NE(r.out.find("an absolute name"), std::string::npos) << r.out;
  EXPECT_TRUE(outside_empty());
  EXPECT_FALSE(fs::exists(host("out2c")));
  EXPECT_FALSE(fs::exists(host("out2d")));
}

TEST_F(HostileGuest, HardLinkBombHitsTheDefaultLimit) {
  guest_sends("bomb.tar");
  const Cli r = smolvm_cli({"cp", id() + ":/h", host("bomb")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("max_bytes=1073741824"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--max-bytes"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(host("bomb")));
  EXPECT_LT(r.peak_rss_kb, 64 * 1024) << "the client buffered the transfer";
}

TEST_F(HostileGuest, EndlessStreamStopsAtTheLimitWithSmallMemory) {
  guest_tar("exec cat /dev/zero");
  const Cli r = smolvm_cli({"cp", "--max-bytes", "268435456", id() + ":/h", host("zero")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("max_bytes=268435456"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(host("zero")));
  EXPECT_LT(r.peak_rss_kb, 64 * 1024) << "the client buffered the transfer";
  std::printf(
      "[ figure ] endless tar stream: 256 MiB limit hit after %lld ms, client peak RSS %ld KiB\n",
      static_cast<long long>(r.elapsed_ms), r.peak_rss_kb);
  // The guest's tar was killed with the copy.
  EXPECT_EQ(run(vm_, "sleep 1; pgrep -x cat >/dev/null && echo alive || echo gone").out, "gone\n");
}

TEST_F(HostileGuest, SilentGuestHitsTheTimeoutAndIsKilled) {
  guest_tar("exec sleep 1000");
  const Cli r = smolvm_cli({"cp", "--timeout", "3", id() + ":/h", host("slow")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("timeout_ms=3000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--timeout"), std::string::npos) << r.out;
  EXPECT_GE(r.elapsed_ms, 3000);
  EXPECT_LT(r.elapsed_ms, 15000);
  std::printf("[ figure ] silent tar: --timeout 3 returned after %lld ms\n",
              static_cast<long long>(r.elapsed_ms));
  EXPECT_FALSE(fs::exists(host("slow")));
  EXPECT_EQ(run(vm_, "sleep 1; pgrep -x sleep >/dev/null && echo alive || echo gone").out,
            "gone\n");
}

TEST_F(HostileGuest, SparseFileGetStopsAtTheLimitAndLeavesNothing) {
  ASSERT_EQ(run(vm_, "truncate -s 20G /root/sparse && echo ok").out, "ok\n");
  fs::create_directories(host("sparse"));
  const Cli r =
      smolvm_cli({"cp", "--max-bytes", "268435456", id() + ":/root/sparse", host("sparse/f")});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("max_bytes=268435456"), std::string::npos) << r.out;
  EXPECT_EQ(listing(host("sparse")), std::vector<std::string>{});  // no half-written file
  EXPECT_LT(r.peak_rss_kb, 64 * 1024) << "the client buffered the file";
  std::printf(
      "[ figure ] 20 GiB sparse file: 256 MiB limit hit after %lld ms, client peak RSS %ld KiB\n",
      static_cast<long long>(r.elapsed_ms), r.peak_rss_kb);
  // read_file (into memory) is bounded too, and the VM serves the next read.
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  o.max_bytes = 1 << 20;
  smolvm_buf buf{};
  EXPECT_EQ(smolvm_vm_read_file_ex(&buf, vm_, "/root/sparse", &o), SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("max_bytes=1048576"), std::string::npos)
      << smolvm_last_error();
  smolvm_buf_dispose(&buf);
  // The agent (PID 1) was told to stop: it holds the file no longer.
  // (The listing itself must be there: "ls" failing would also count 0.)
  EXPECT_EQ(run(vm_,
                "sleep 0.5; ls -l /proc/1/fd | grep -q signalfd && "
                "ls -l /proc/1/fd | grep -c /root/sparse")
                .out,
            "0\n");
  o.max_bytes = 0;
  o.timeout_ms = 0;
  ASSERT_EQ(run(vm_, "printf hello > /root/small && echo ok").out, "ok\n");
  ASSERT_EQ(smolvm_vm_read_file_ex(&buf, vm_, "/root/small", &o), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data), buf.size), "hello");
  smolvm_buf_dispose(&buf);
  run(vm_, "rm -f /root/sparse");
}

TEST_F(HostileGuest, ExecutorOfPluginAbi11FallsBackWithinTheLimit) {
  // The same VM through a runtime whose "agent" executor is the 1.1 shim.
  smolvm_runtime_options ro;
  smolvm_runtime_options_init(&ro);
  ro.state_dir = vmtest::state_dir().c_str();
  ro.plugin_path = OLD_EXECUTOR_DIR;
  smolvm_runtime* rt = nullptr;
  ASSERT_EQ(smolvm_runtime_open(&rt, &ro), 0) << smolvm_last_error();
  smolvm_vm* old = nullptr;
  ASSERT_EQ(smolvm_vm_open(&old, rt, id().c_str()), 0) << smolvm_last_error();
  ASSERT_EQ(
      run(vm_, "head -c 67108864 /dev/zero > /root/z64 && printf hi > /root/hi && echo ok").out,
      "ok\n");
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  o.max_bytes = 1 << 20;
  smolvm_buf buf{};
  EXPECT_EQ(smolvm_vm_read_file_ex(&buf, old, "/root/z64", &o), SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("max_bytes=1048576"), std::string::npos)
      << smolvm_last_error();
  smolvm_buf_dispose(&buf);
  ASSERT_EQ(smolvm_vm_read_file_ex(&buf, old, "/root/hi", &o), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf.data), buf.size), "hi");
  smolvm_buf_dispose(&buf);
  // A put without file_write_bounded: sent in one piece, still bounded in size.
  std::ofstream(host("put11")) << "old";
  ASSERT_EQ(smolvm_vm_put_ex(old, host("put11").c_str(), "/root/put11", &o), 0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "cat /root/put11").out, "old");
  std::ofstream(host("put11big")).close();
  fs::resize_file(host("put11big"), 2u << 20);
  EXPECT_EQ(smolvm_vm_put_ex(old, host("put11big").c_str(), "/root/put11big", &o), SMOLVM_EIO);
  EXPECT_NE(std::string(smolvm_last_error()).find("max_bytes=1048576"), std::string::npos)
      << smolvm_last_error();
  // Plugin ABI 1.6 added who a command runs as and its terminal to the
  // executor request: a 1.1 executor would run it as root without one, so
  // core refuses instead, and still runs a plain command through it.
  smolvm_exec_options eo;
  smolvm_exec_options_init(&eo);
  const char* argv[] = {"id", "-u"};
  eo.argv = argv;
  eo.argc = 2;
  eo.user = "user";
  smolvm_exec_result* res = nullptr;
  EXPECT_EQ(smolvm_vm_exec(&res, old, &eo), SMOLVM_EUNSUPPORTED);
  EXPECT_NE(std::string(smolvm_last_error()).find("cannot run a command as another user"),
            std::string::npos)
      << smolvm_last_error();
  eo.user = nullptr;
  eo.pty_rows = 24;
  eo.pty_cols = 80;
  EXPECT_EQ(smolvm_vm_exec(&res, old, &eo), SMOLVM_EUNSUPPORTED);
  EXPECT_NE(std::string(smolvm_last_error()).find("cannot run a command on a terminal"),
            std::string::npos)
      << smolvm_last_error();
  eo.pty_rows = eo.pty_cols = 0;
  ASSERT_EQ(smolvm_vm_exec(&res, old, &eo), 0) << smolvm_last_error();
  EXPECT_EQ(std::string(reinterpret_cast<char*>(res->stdout_data), res->stdout_len), "0\n");
  smolvm_exec_result_free(res);
  // It was the shim that served them.
  std::ifstream maps("/proc/self/maps");
  const std::string mapped((std::istreambuf_iterator<char>(maps)), {});
  EXPECT_NE(mapped.find(std::string(OLD_EXECUTOR_DIR) + "/smolvm-executor-agent.so"),
            std::string::npos);
  smolvm_vm_free(old);
  smolvm_runtime_close(rt);
  EXPECT_EQ(run(vm_, "ls /root/put11big 2>/dev/null; rm -f /root/z64 /root/hi /root/put11").out,
            "");
}

TEST_F(HostileGuest, HonestCopiesStillWorkBothWays) {
  guest_tar("exec /usr/bin/tar.real \"$@\"");
  // A host folder with a FIFO inside: the FIFO is not sent.
  fs::create_directories(host("src/sub"));
  std::ofstream(host("src/sub/a")) << "alpha";
  fs::create_symlink("sub/a", host("src/link"));
  ASSERT_EQ(::mkfifo(host("src/fifo").c_str(), 0644), 0);
  Cli r = smolvm_cli({"cp", host("src"), id() + ":/data"});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(run(vm_, "ls -A /data | tr '\\n' ' '").out, "link sub ");
  r = smolvm_cli({"cp", id() + ":/data", host("back")});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::is_symlink(host("back/link")));
  EXPECT_EQ(fs::read_symlink(host("back/link")), "sub/a");
  std::ifstream in(host("back/sub/a"));
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "alpha");
  EXPECT_EQ(listing(host("back")), (std::vector<std::string>{"link", "sub", "sub/a"}));
  // A file onto an existing folder goes into it, as cp does.
  r = smolvm_cli({"cp", id() + ":/data/sub/a", host("back")});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::is_regular_file(host("back/a")));
  // Refusals: VM to VM, a FIFO, a device.
  r = smolvm_cli({"cp", id() + ":/data/sub/a", id() + ":/tmp/b"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("both ID:/path"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(id() + ":"));
  r = smolvm_cli({"cp", host("src/fifo"), id() + ":/tmp/f"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("only a regular file or a folder"), std::string::npos) << r.out;
  // Single files and folders through the CLI and the C ABI.
  r = smolvm_cli({"cp", host("src/sub/a"), id() + ":/cli/a"});
  ASSERT_EQ(r.status, 0) << r.out;
  smolvm_transfer_options o;
  smolvm_transfer_options_init(&o);
  ASSERT_EQ(smolvm_vm_put_ex(vm_, host("src/sub/a").c_str(), "/capi/a", &o), 0)
      << smolvm_last_error();
  ASSERT_EQ(smolvm_vm_put_ex(vm_, host("src/sub").c_str(), "/capi/dir", &o), 0)
      << smolvm_last_error();
  EXPECT_EQ(run(vm_, "cat /cli/a /capi/a /capi/dir/a").out, "alphaalphaalpha");
  r = smolvm_cli({"cp", "/dev/zero", id() + ":/tmp/z"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("only a regular file or a folder"), std::string::npos) << r.out;
  EXPECT_LT(r.elapsed_ms, 10000);
}

// A guest that never answers a put: its QEMU stopped with SIGSTOP (a frozen
// guest, for real). A small file waits for the guest's answer; 64 MiB is
// more than the supervisor holds for a stalled guest, so the client's sends
// stall too. Both end at the timeout, and the VM works once resumed.
TEST_F(HostileGuest, PutIntoAFrozenGuestHitsTheTimeout) {
  smolvm_vm_info info;
  smolvm_vm_info_init(&info);
  ASSERT_EQ(smolvm_vm_get_info(&info, vm_), 0) << smolvm_last_error();
  const auto qemu = static_cast<pid_t>(info.vmm_pid);
  ASSERT_GT(qemu, 0);
  fs::create_directories(host("put"));
  std::ofstream(host("put/small")) << "frozen";
  std::ofstream(host("put/big")).close();
  fs::resize_file(host("put/big"), 64u << 20);
  for (const std::string name : {"small", "big"}) {
    ASSERT_EQ(::kill(qemu, SIGSTOP), 0);
    const Cli r =
        smolvm_cli({"cp", "--timeout", "2", host("put/" + name), id() + ":/root/" + name});
    ::kill(qemu, SIGCONT);
    EXPECT_NE(r.status, 0) << name;
    EXPECT_NE(r.out.find("timeout_ms=2000"), std::string::npos) << r.out;
    EXPECT_GE(r.elapsed_ms, 2000) << name;
    EXPECT_LT(r.elapsed_ms, 3500) << name;
    std::printf("[ figure ] put of %s into a frozen guest: --timeout 2 returned after %lld ms\n",
                name.c_str(), static_cast<long long>(r.elapsed_ms));
  }
  // Through the C ABI on the handle the test keeps using: the put cut off
  // mid-frame by its deadline must not leave that handle unusable.
  {
    smolvm_transfer_options o;
    smolvm_transfer_options_init(&o);
    o.timeout_ms = 2000;
    ASSERT_EQ(::kill(qemu, SIGSTOP), 0);
    const int rc = smolvm_vm_put_ex(vm_, host("put/big").c_str(), "/root/big", &o);
    ::kill(qemu, SIGCONT);
    EXPECT_EQ(rc, SMOLVM_ETIMEOUT) << smolvm_last_error();
  }
  EXPECT_TRUE(vmtest::answers(vm_));
  // The big file was cut off: no trace of it, not even the agent's hidden
  // temporary file. The small one was all sent before the timeout, so the
  // resumed guest may finish it; if it does, it is whole.
  EXPECT_EQ(
      run(vm_, "sleep 1; ls -A /root | grep -c -e '^big$' -e '^\\.big\\.' -e '^\\.small\\.'").out,
      "0\n");
  EXPECT_EQ(run(vm_, "cat /root/small 2>/dev/null || echo frozen").out, "frozen");
  run(vm_, "rm -f /root/small");
}

TEST_F(HostileGuest, PutOverMaxBytesIsRefusedBeforeSending) {
  fs::create_directories(host("put"));
  std::ofstream(host("put/4k")).close();
  fs::resize_file(host("put/4k"), 4096);
  const Cli r = smolvm_cli({"cp", "--max-bytes", "1000", host("put/4k"), id() + ":/root/4k"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("max_bytes=1000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(4096 bytes)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--max-bytes"), std::string::npos) << r.out;
  EXPECT_EQ(run(vm_, "ls -A /root | grep -c 4k").out, "0\n");
}

TEST_F(HostileGuest, LargePutStreamsWithSmallMemory) {
  fs::create_directories(host("put"));
  ASSERT_EQ(sh("head -c 268435456 /dev/urandom > " + host("put/f256")), 0);
  const Cli r = smolvm_cli({"cp", host("put/f256"), id() + ":/root/f256"});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_LT(r.peak_rss_kb, 32 * 1024) << "the client buffered the file";
  std::printf("[ figure ] 256 MiB put: %lld ms, client peak RSS %ld KiB\n",
              static_cast<long long>(r.elapsed_ms), r.peak_rss_kb);
  std::string sum;
  ASSERT_EQ(sh("sha256sum < " + host("put/f256"), &sum), 0);
  EXPECT_EQ(run(vm_, "sha256sum < /root/f256; rm -f /root/f256").out, sum);
  fs::remove(host("put/f256"));
}

}  // namespace
