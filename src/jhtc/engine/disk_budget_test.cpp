// DiskBudget: admission, settling, release and the never-fits verdict.
#include "engine/disk_budget.hpp"

#include <gtest/gtest.h>

namespace jhtc {
namespace {

TEST(DiskBudget, WithoutLimitEveryTaskIsAdmittedAndCounted) {
  DiskBudget budget(0);
  EXPECT_TRUE(budget.request(1, {.files = 10, .blobs = 1'000'000}));
  EXPECT_TRUE(budget.request(2, {.files = 10, .blobs = 0}));
  EXPECT_EQ(budget.held(), 1'000'020u);
  EXPECT_FALSE(budget.first_that_never_fits());
}

TEST(DiskBudget, TaskWaitsUntilAnEndingTaskFreesItsFiles) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 60}));
  EXPECT_FALSE(budget.request(2, {.files = 60}));
  EXPECT_TRUE(budget.admit().empty());
  EXPECT_FALSE(budget.first_that_never_fits()) << "task 1's files will be freed";
  budget.release(1);
  EXPECT_EQ(budget.admit(), std::vector<TaskId>{2});
  EXPECT_EQ(budget.held(), 60u);
}

TEST(DiskBudget, BlobsStayAfterTheirTaskEnds) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 10, .blobs = 50}));
  budget.release(1);
  EXPECT_EQ(budget.held(), 50u);
  EXPECT_FALSE(budget.request(2, {.files = 10, .blobs = 45}));
  ASSERT_TRUE(budget.first_that_never_fits());
  EXPECT_EQ(*budget.first_that_never_fits(), 2u);
}

TEST(DiskBudget, AdmissionIsFirstComeFirstServed) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 50}));
  EXPECT_FALSE(budget.request(2, {.files = 80}));
  EXPECT_FALSE(budget.request(3, {.files = 10})) << "a small task overtook a waiting one";
  budget.release(1);
  // 80 held: task 3's 10 fits as well, in order behind task 2.
  EXPECT_EQ(budget.admit(), (std::vector<TaskId>{2, 3}));
}

TEST(DiskBudget, SettlingReplacesTheEstimate) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 10, .blobs = 80}));  // the blob was already stored
  EXPECT_FALSE(budget.request(2, {.files = 30}));
  budget.settle(1, {.files = 12, .blobs = 0});
  EXPECT_EQ(budget.held(), 12u);
  EXPECT_EQ(budget.admit(), std::vector<TaskId>{2});
}

TEST(DiskBudget, ReleasingAWaitingTaskDropsIt) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 90}));
  EXPECT_FALSE(budget.request(2, {.files = 50}));
  EXPECT_FALSE(budget.request(3, {.files = 5}));
  budget.release(2);  // cancelled while waiting
  EXPECT_EQ(budget.admit(), std::vector<TaskId>{3});
  EXPECT_EQ(budget.held(), 95u);
}

TEST(DiskBudget, SettlingAnEndedTaskStillCountsItsBlobs) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 10, .blobs = 20}));
  budget.release(1);
  budget.settle(1, {.files = 10, .blobs = 20});  // cancelled while its files were written
  EXPECT_EQ(budget.held(), 40u);
}

TEST(DiskBudget, ResultBlobsCanMakeAWaitingTaskNeverFit) {
  DiskBudget budget(100);
  EXPECT_TRUE(budget.request(1, {.files = 40}));
  EXPECT_FALSE(budget.request(2, {.files = 70}));
  EXPECT_FALSE(budget.first_that_never_fits());
  budget.add_blobs(40);  // task 1's large result
  ASSERT_TRUE(budget.first_that_never_fits());
  EXPECT_EQ(*budget.first_that_never_fits(), 2u);
}

}  // namespace
}  // namespace jhtc
