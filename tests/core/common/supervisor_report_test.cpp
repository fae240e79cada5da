// core/common/supervisor_report: the line a supervisor reports to the
// client that started it (both ends use this code).
#include "core/common/supervisor_report.h"

#include <gtest/gtest.h>

#include "smolvm/smolvm.h"

namespace smolvm {
namespace {

TEST(SupervisorReport, ReadyIsReady) {
  SupervisorReport r;
  ASSERT_TRUE(parse_supervisor_report(ready_report(), r));
  EXPECT_TRUE(r.ready);
}

TEST(SupervisorReport, AnErrorCarriesItsStatusAndAMultiLineMessage) {
  const std::string msg =
      "the guest agent did not answer within 5 s; console "
      "log x ends with:\nboot";
  SupervisorReport r;
  ASSERT_TRUE(parse_supervisor_report(error_report(SMOLVM_ETIMEOUT, msg), r));
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.status, SMOLVM_ETIMEOUT);
  EXPECT_EQ(r.message, msg);
  ASSERT_TRUE(parse_supervisor_report(error_report(SMOLVM_ERROR, "the VM stopped"), r));
  EXPECT_EQ(r.status, SMOLVM_ERROR);
  EXPECT_EQ(r.message, "the VM stopped");
}

TEST(SupervisorReport, ATextWithoutAStatusNameIsAllMessage) {
  SupervisorReport r;
  ASSERT_TRUE(parse_supervisor_report("ERROR something broke\n", r));
  EXPECT_EQ(r.status, SMOLVM_ERROR);
  EXPECT_EQ(r.message, "something broke");
}

TEST(SupervisorReport, OkIsNoFailureStatus) {
  SupervisorReport r;
  ASSERT_TRUE(parse_supervisor_report("ERROR OK what\n", r));
  EXPECT_EQ(r.status, SMOLVM_ERROR);
  EXPECT_EQ(r.message, "OK what");
}

TEST(SupervisorReport, NoReportIsNotAReport) {
  SupervisorReport r;
  EXPECT_FALSE(parse_supervisor_report("", r));
  EXPECT_FALSE(parse_supervisor_report("Segmentation fault\n", r));
}

}  // namespace
}  // namespace smolvm
