#include "htcondor/hold_hints.hpp"

#include <gtest/gtest.h>

namespace jhtc::htcondor {
namespace {

constexpr const char* kBatch = "/home/htc/shared/run/batches/b1";

TEST(HoldHints, AMissingOutputFileUnderTheBatchNamesSharedDataDir) {
  const std::string reason =
      "Error from slot1_1@node2: Failed to open '/home/htc/shared/run/batches/b1/logs/0.0.out' "
      "as standard output: No such file or directory (errno 2)";
  const std::string text = explain_hold(reason, 7, 2, kBatch);
  EXPECT_EQ(text.rfind(reason, 0), 0u) << text;  // HTCondor's reason comes first, whole
  EXPECT_NE(text.find("shared_data_dir must be on a filesystem"), std::string::npos) << text;
  EXPECT_NE(text.find("file-transfer mode"), std::string::npos) << text;
}

TEST(HoldHints, AMissingInitialDirectoryGetsTheHintToo) {
  const std::string reason =
      "Error from slot1@node1: Failed to change to directory /home/htc/shared/run/batches/b1";
  EXPECT_NE(explain_hold(reason, 14, 2, kBatch).find("shared_data_dir"), std::string::npos);
}

TEST(HoldHints, OtherHoldsKeepTheirReasonUnchanged) {
  const std::string under = "Failed to open '/home/htc/shared/run/batches/b1/logs/0.0.out'";
  EXPECT_EQ(explain_hold(under, 7, 13, kBatch), under);  // EACCES: not a missing mount
  EXPECT_EQ(explain_hold(under, 3, 0, kBatch), under);   // a policy hold
  EXPECT_EQ(explain_hold("Failed to open '/elsewhere/x.out'", 7, 2, kBatch),
            "Failed to open '/elsewhere/x.out'");
  EXPECT_EQ(explain_hold(under, 7, 2, ""), under);
}

}  // namespace
}  // namespace jhtc::htcondor
