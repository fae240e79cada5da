// PATH search on folders made here: execvp's rules for which(), and
// find_system_tool()'s sbin fallback that never takes the current folder.
#include "smolvm/sdk/path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

class PathSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smolvm-sdk-path-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    make(dir_ / "bin" / "tool", 0755);
    make(dir_ / "bin" / "plain", 0644);
    make(dir_ / "later" / "tool", 0755);
    make(dir_ / "cwd" / "here", 0755);
    const char* path = std::getenv("PATH");
    saved_path_ = path ? path : "";
    saved_cwd_ = fs::current_path();
  }
  void TearDown() override {
    setenv("PATH", saved_path_.c_str(), 1);
    fs::current_path(saved_cwd_);
    fs::remove_all(dir_);
  }
  static void make(const fs::path& p, mode_t mode) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "#!/bin/sh\n";
    chmod(p.c_str(), mode);
  }
  fs::path dir_, saved_cwd_;
  std::string saved_path_;
};

TEST_F(PathSearch, WhichTakesTheFirstExecutableOnPath) {
  const std::string bin = (dir_ / "bin").string(), later = (dir_ / "later").string();
  setenv("PATH", (bin + ":" + later).c_str(), 1);
  EXPECT_EQ(smolvm::sdk::which("tool"), bin + "/tool");
  setenv("PATH", (later + ":" + bin).c_str(), 1);
  EXPECT_EQ(smolvm::sdk::which("tool"), later + "/tool");
  EXPECT_EQ(smolvm::sdk::which("plain"), "") << "not executable";
  EXPECT_EQ(smolvm::sdk::which("missing"), "");
  EXPECT_EQ(smolvm::sdk::which(""), "");
  EXPECT_EQ(smolvm::sdk::which(bin + "/tool"), bin + "/tool") << "a path is checked as is";
  EXPECT_EQ(smolvm::sdk::which(bin + "/plain"), "");
}

TEST_F(PathSearch, AnEmptyEntryIsTheCurrentFolderForWhichOnly) {
  fs::current_path(dir_ / "cwd");
  setenv("PATH", ("/nonexistent::" + (dir_ / "bin").string()).c_str(), 1);
  EXPECT_EQ(smolvm::sdk::which("here"), "./here");
  EXPECT_EQ(smolvm::sdk::find_system_tool("here"), "");
  EXPECT_EQ(smolvm::sdk::find_system_tool("tool"), (dir_ / "bin" / "tool").string());
}

TEST_F(PathSearch, SystemToolsAreFoundInSbinOffThePath) {
  setenv("PATH", (dir_ / "bin").string().c_str(), 1);
  // sh is in /bin or /usr/bin on every host, never in our folder.
  const std::string sh = smolvm::sdk::find_system_tool("sh");
  EXPECT_TRUE(sh == "/usr/sbin/sh" || sh == "/sbin/sh" || sh == "/usr/bin/sh" || sh == "/bin/sh")
      << sh;
  EXPECT_EQ(smolvm::sdk::which("sh"), "") << "which() looks on PATH alone";
}

}  // namespace
