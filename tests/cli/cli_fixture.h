// Runs the real smolvm binary with a private state and cache folder, made
// for each test and removed after it.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>

struct CliResult {
  int code = -1;
  std::string output;  // stdout and stderr
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "smolvm-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // env: extra "NAME='value' " assignments for the command.
  CliResult cli(const std::string& args, const std::string& env = "") const {
    const std::string cmd = "SMOLVM_STATE_DIR='" + dir_ + "/state' SMOLVM_CACHE_DIR='" + dir_ +
                            "/cache' " + env + " '" SMOLVM_CLI "' " + args + " 2>&1";
    CliResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  std::string dir_;
};
