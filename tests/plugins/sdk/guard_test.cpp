// guard(): every exception a slot's body can throw becomes a status and a
// message naming the operation and, where the message does not, the
// subject; nothing leaves it.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>
#include <string>

#include "smolvm/plugin_sdk.h"

namespace {

using smolvm::sdk::Error;
using smolvm::sdk::guard;

TEST(Guard, ARuntimeErrorIsAnUnclassifiedFailureNamingOperationAndSubject) {
  smolvm_plugin_error err{};
  const int rc = guard(&err, "vm_insert", "vm-123", [] { throw std::runtime_error("disk full"); });
  EXPECT_EQ(rc, SMOLVM_ERROR);
  EXPECT_STREQ(err.message, "vm_insert 'vm-123': disk full");
}

TEST(Guard, BadAllocIsOutOfMemory) {
  smolvm_plugin_error err{};
  const int rc = guard(&err, "launch", "vm-7", [] { throw std::bad_alloc(); });
  EXPECT_EQ(rc, SMOLVM_ENOMEM);
  EXPECT_STREQ(err.message, "launch 'vm-7': out of memory");
}

TEST(Guard, TheSdkErrorCarriesItsStatus) {
  smolvm_plugin_error err{};
  // Its message names the subject already: only the operation is added.
  int rc =
      guard(&err, "vm_insert", "a", [] { throw Error(SMOLVM_EEXISTS, "vm 'a' already exists"); });
  EXPECT_EQ(rc, SMOLVM_EEXISTS);
  EXPECT_STREQ(err.message, "vm_insert: vm 'a' already exists");
  // A message from elsewhere (a library's own words) gets the subject too.
  rc = guard(&err, "vm_get", "a", [] { throw Error(SMOLVM_EBUSY, "database is locked", false); });
  EXPECT_EQ(rc, SMOLVM_EBUSY);
  EXPECT_STREQ(err.message, "vm_get 'a': database is locked");
  // A status that is not a failure cannot be thrown as one.
  EXPECT_EQ(Error(0, "x").status(), SMOLVM_ERROR);
  EXPECT_EQ(Error(7, "x").status(), SMOLVM_ERROR);
}

TEST(Guard, AThrowOfSomethingThatIsNoStdExceptionIsCaughtToo) {
  smolvm_plugin_error err{};
  const int rc = guard(&err, "kill", "vm-9", [] { throw 42; });
  EXPECT_EQ(rc, SMOLVM_ERROR);
  EXPECT_STREQ(err.message, "kill 'vm-9': an exception that is not a std::exception");
}

TEST(Guard, WithoutASubjectTheOperationAlone) {
  smolvm_plugin_error err{};
  EXPECT_EQ(guard(&err, "probe", nullptr, [] { throw std::logic_error("bad"); }), SMOLVM_ERROR);
  EXPECT_STREQ(err.message, "probe: bad");
}

TEST(Guard, AReturnedStatusPassesThroughAndGetsAMessageIfItHasNone) {
  smolvm_plugin_error err{};
  EXPECT_EQ(guard(&err, "setup", "vm-1",
                  [&] { return smolvm::sdk::set_error(&err, SMOLVM_EPERM, "no CAP_NET_ADMIN"); }),
            SMOLVM_EPERM);
  EXPECT_STREQ(err.message, "no CAP_NET_ADMIN");
  EXPECT_EQ(guard(&err, "setup", "vm-1", [] { return SMOLVM_EIO; }), SMOLVM_EIO);
  EXPECT_STREQ(err.message, "setup 'vm-1': failed without a message");
}

TEST(Guard, SuccessClearsAStaleMessage) {
  smolvm_plugin_error err{};
  smolvm::sdk::set_error(&err, SMOLVM_EIO, "from an earlier call");
  EXPECT_EQ(guard(&err, "vm_list", nullptr, [] {}), SMOLVM_OK);
  EXPECT_STREQ(err.message, "");
  EXPECT_EQ(guard(&err, "vm_list", nullptr, [] { return 0; }), SMOLVM_OK);
}

TEST(Guard, ANullErrorStillGetsTheStatus) {
  EXPECT_EQ(guard(nullptr, "x", "y", [] { throw std::bad_alloc(); }), SMOLVM_ENOMEM);
}

TEST(Guard, VoidAndValueSlotsSwallowWhatIsThrown) {
  bool ran = false;
  smolvm::sdk::guard_void([&] {
    ran = true;
    throw std::runtime_error("in release");
  });
  EXPECT_TRUE(ran);
  EXPECT_EQ(smolvm::sdk::guard_value<int64_t>(-1, []() -> int64_t { throw 1; }), -1);
  EXPECT_EQ(smolvm::sdk::guard_value<int64_t>(-1, [] { return int64_t{77}; }), 77);
}

TEST(Guard, NeedNamesTheArgument) {
  smolvm_plugin_error err{};
  const char* absent = nullptr;
  EXPECT_EQ(guard(&err, "launch", nullptr, [&] { smolvm::sdk::need(absent, "config"); }),
            SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "launch: config: must not be NULL");
}

TEST(Guard, CopyOutNamesBothSizes) {
  char small[4];
  smolvm_plugin_error err{};
  EXPECT_EQ(guard(&err, "probe", nullptr,
                  [&] { smolvm::sdk::copy_out(small, sizeof small, "toolong", "probe JSON"); }),
            SMOLVM_EINVAL);
  EXPECT_STREQ(err.message, "probe: probe JSON needs 8 bytes; the buffer has 4");
  char fits[8];
  smolvm::sdk::copy_out(fits, sizeof fits, "toolong", "probe JSON");
  EXPECT_STREQ(fits, "toolong");
}

}  // namespace
