// Runs the real smolvm binary with a private state and cache folder, made
// for each test and removed after it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

struct CliResult {
  int code = -1;
  std::string output;  // stdout and stderr
};

class CliTest : public ::testing::Test {
 protected:
  // env: extra "NAME='value' " assignments for the command.
  CliResult cli(const std::string& args, const std::string& env = "") const {
    CliResult r;
    r.code = smolvm::test::sh("SMOLVM_STATE_DIR='" + dir_ + "/state' SMOLVM_CACHE_DIR='" + dir_ +
                                  "/cache' " + env + " '" SMOLVM_CLI "' " + args,
                              &r.output);
    return r;
  }

  smolvm::test::TempDir tmp_;
  std::string dir_ = tmp_.path();
};
