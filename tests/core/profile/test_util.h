// Helpers shared by the profile tests: a valid document header, and the
// shared scratch folder and failure_of under the names the tests use.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/common/error.h"
#include "tests/support/failure.h"
#include "tests/support/temp_dir.h"

namespace smolvm::testing {

// A scratch folder of real files (tests/support).
using smolvm::test::TempDir;

// The smolvm::Error a call throws (tests/support).
using smolvm::test::Failure;
using smolvm::test::failure_of;

// A profile header every valid document needs, as lines 1-3.
inline constexpr const char* kHeader = "apiVersion: smolvm/v1\nkind: VMProfile\nname: t\n";

}  // namespace smolvm::testing
