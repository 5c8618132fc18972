// BurstGather on made-up time points: when a burst of tasks is cut for submission.
#include "engine/burst_gather.hpp"

#include <gtest/gtest.h>

namespace jhtc {
namespace {

using namespace std::chrono_literals;
using TimePoint = BurstGather::TimePoint;

constexpr TimePoint kStart{1000s};

TEST(BurstGather, BurstFollowedByQuietEndsOneQuietPeriodAfterItsLastTask) {
  BurstGather burst({.quiet = 20ms, .most = 250ms}, kStart);
  for (auto at : {1ms, 2ms, 3ms, 5ms, 8ms}) {
    ASSERT_FALSE(burst.over(kStart + at)) << "cut in the middle of the burst, at " << at.count();
    burst.task_arrived(kStart + at);
  }
  EXPECT_FALSE(burst.over(kStart + 27ms));
  EXPECT_TRUE(burst.over(kStart + 28ms));
  EXPECT_EQ(burst.ends_at(), kStart + 28ms);
}

TEST(BurstGather, LoneTaskWaitsOnlyTheQuietPeriod) {
  BurstGather burst({.quiet = 20ms, .most = 250ms}, kStart);
  EXPECT_EQ(burst.ends_at(), kStart + 20ms);
}

TEST(BurstGather, TrickleThatIsNeverQuietIsCutAtTheLongestGather) {
  BurstGather burst({.quiet = 20ms, .most = 250ms}, kStart);
  TimePoint now = kStart;
  int tasks = 1;
  while (!burst.over(now + 10ms)) {  // a task every 10 ms, forever
    now += 10ms;
    burst.task_arrived(now);
    ++tasks;
    ASSERT_LT(tasks, 1000) << "the trickle was never cut";
  }
  EXPECT_EQ(burst.ends_at(), kStart + 250ms);
  EXPECT_EQ(tasks, 25);  // at 0, 10, ..., 240 ms
}

TEST(BurstGather, LateTaskFromAnEarlierClockReadingDoesNotShortenTheWait) {
  BurstGather burst({.quiet = 20ms, .most = 250ms}, kStart);
  burst.task_arrived(kStart + 15ms);
  burst.task_arrived(kStart + 5ms);
  EXPECT_EQ(burst.ends_at(), kStart + 35ms);
}

}  // namespace
}  // namespace jhtc
