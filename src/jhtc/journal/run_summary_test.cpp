#include "journal/run_summary.hpp"

#include <gtest/gtest.h>

namespace jhtc {
namespace {

JournalEvent event(double ts, std::string name,
                   std::vector<std::pair<std::string, std::string>> context = {}) {
  return JournalEvent{ts, std::move(name), std::move(context)};
}

JournalEvent started(double ts, std::string batch, std::string parent, int level, int throttle) {
  return event(ts, "batch_started",
               {{"batch", batch},
                {"parent", parent},
                {"root", "r"},
                {"level", std::to_string(level)},
                {"throttle", std::to_string(throttle)},
                {"host", "h"},
                {"pid", "42"}});
}

JournalEvent task(double ts, std::string name, int id) {
  return event(ts, std::move(name), {{"task", std::to_string(id)}});
}

TEST(RunSummary, TaskMovesBetweenCountsAndTotalCountsEachTaskOnce) {
  RunSummary s("r");
  s.apply("r", started(100, "r", "", 0, 5));
  s.apply("r", task(101, "task_queued", 1));
  s.apply("r", task(101, "task_queued", 2));
  s.apply("r", task(102, "task_submitted", 1));
  s.apply("r", task(103, "task_running", 1));
  TaskCounts c = s.batch("r")->counts;
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(c.queued, 1u);
  EXPECT_EQ(c.running, 1u);
  EXPECT_EQ(c.submitted, 0u);
  s.apply("r", event(104, "task_retried", {{"task", "1"}, {"reason", "evicted"}}));
  c = s.batch("r")->counts;
  EXPECT_EQ(c.queued, 2u);
  EXPECT_EQ(c.running, 0u);
  EXPECT_EQ(s.batch("r")->retries, 1u);
  s.apply("r", task(105, "task_done", 1));
  s.apply("r", task(106, "task_cancelled", 2));
  c = s.batch("r")->counts;
  EXPECT_EQ(c.total, 2u);
  EXPECT_EQ(c.done, 1u);
  EXPECT_EQ(c.cancelled, 1u);
  EXPECT_EQ(c.queued, 0u);
}

TEST(RunSummary, FinishedTaskIgnoresLateEventsOfAnEarlierAttempt) {
  RunSummary s("r");
  s.apply("r", task(1, "task_done", 9));
  s.apply("r", task(2, "task_running", 9));
  EXPECT_EQ(s.batch("r")->counts.done, 1u);
  EXPECT_EQ(s.batch("r")->counts.running, 0u);
  EXPECT_EQ(s.batch("r")->counts.total, 1u);
}

TEST(RunSummary, FailuresKeepBatchTaskAndReason) {
  RunSummary s("r");
  s.apply("r", started(1, "r", "", 0, 1));
  s.apply("r", event(2, "task_failed", {{"task", "3"}, {"reason", "held: memory"}}));
  ASSERT_EQ(s.failures().size(), 1u);
  EXPECT_EQ(s.failures()[0].batch_id, "r");
  EXPECT_EQ(s.failures()[0].task, 3u);
  EXPECT_EQ(s.failures()[0].reason, "held: memory");
  EXPECT_EQ(s.batch("r")->counts.failed, 1u);
}

TEST(RunSummary, FailuresAreOrderedByTimeWhateverTheReadingOrder) {
  RunSummary s("r");
  s.apply("b", event(30, "task_failed", {{"task", "1"}, {"reason", "third"}}));
  s.apply("a", event(10, "task_failed", {{"task", "1"}, {"reason", "first"}}));
  s.apply("a", event(20, "task_failed", {{"task", "2"}, {"reason", "second"}}));
  ASSERT_EQ(s.failures().size(), 3u);
  EXPECT_EQ(s.failures()[0].reason, "first");
  EXPECT_EQ(s.failures()[1].reason, "second");
  EXPECT_EQ(s.failures()[2].reason, "third");
}

TEST(RunSummary, LevelsSumTheirBatchesAndTakeTheLargestThrottle) {
  RunSummary s("r");
  s.apply("r", started(1, "r", "", 0, 26));
  s.apply("a", started(2, "a", "r", 1, 60));
  s.apply("b", started(3, "b", "r", 1, 60));
  for (int i = 0; i < 3; ++i) s.apply("a", task(4, "task_queued", i));
  for (int i = 0; i < 2; ++i) s.apply("b", task(4, "task_done", i));
  s.apply("b", event(5, "batch_finished", {{"state", "done"}}));
  auto levels = s.levels();
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[0].level, 0);
  EXPECT_EQ(levels[0].throttle, 26u);
  EXPECT_EQ(levels[1].batches, 2u);
  EXPECT_EQ(levels[1].batches_finished, 1u);
  EXPECT_EQ(levels[1].throttle, 60u);
  EXPECT_EQ(levels[1].counts.total, 5u);
  EXPECT_EQ(levels[1].counts.queued, 3u);
  EXPECT_EQ(levels[1].counts.done, 2u);
}

TEST(RunSummary, TreeOrdersChildrenByStartAndAdoptsOrphans) {
  RunSummary s("r");
  s.apply("late", started(5, "late", "r", 1, 1));
  s.apply("r", started(1, "r", "", 0, 1));
  s.apply("early", started(2, "early", "r", 1, 1));
  s.apply("orphan", started(3, "orphan", "missing", 1, 1));
  auto roots = s.tree_roots();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0]->batch_id, "r");
  EXPECT_EQ(roots[1]->batch_id, "orphan");
  auto kids = s.children(*roots[0]);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0]->batch_id, "early");
  EXPECT_EQ(kids[1]->batch_id, "late");
}

TEST(RunSummary, FiguresGiveElapsedThroughputEtaAndBytes) {
  RunSummary s("r");
  s.apply("r", started(1000, "r", "", 0, 1));
  for (int i = 0; i < 10; ++i) s.apply("r", task(1001, "task_queued", i));
  for (int i = 0; i < 4; ++i) s.apply("r", task(1050, "task_done", i));
  s.apply("r", task(1060, "task_failed", 4));
  s.apply("r", event(1070, "bytes_held", {{"bytes", "500"}}));
  s.apply("r", event(1080, "bytes_held", {{"bytes", "300"}}));  // absolute, not added
  RunFigures f = s.figures(1100);
  EXPECT_EQ(f.state, "running");
  EXPECT_DOUBLE_EQ(f.start_ts, 1000);
  EXPECT_DOUBLE_EQ(f.elapsed_s, 100);
  EXPECT_DOUBLE_EQ(f.throughput_per_s, 0.05);  // 5 finished in 100 s
  EXPECT_DOUBLE_EQ(f.eta_s, 100);              // 5 left
  EXPECT_EQ(f.bytes_held, 300u);
  EXPECT_EQ(f.counts.total, 10u);
}

TEST(RunSummary, FinishedRootStopsTheClockAndHasNoTimeLeft) {
  RunSummary s("r");
  s.apply("r", started(1000, "r", "", 0, 1));
  s.apply("r", task(1001, "task_done", 1));
  s.apply("r", event(1010, "batch_finished", {{"state", "done"}}));
  RunFigures f = s.figures(5000);
  EXPECT_EQ(f.state, "done");
  EXPECT_DOUBLE_EQ(f.elapsed_s, 10);
  EXPECT_DOUBLE_EQ(f.eta_s, 0);
}

TEST(RunSummary, NothingFinishedMeansUnknownEta) {
  RunSummary s("r");
  s.apply("r", started(1000, "r", "", 0, 1));
  s.apply("r", task(1001, "task_queued", 1));
  EXPECT_DOUBLE_EQ(s.figures(2000).eta_s, -1);
  EXPECT_EQ(RunSummary("x").figures(1).state, "unknown");
}

TEST(RunSummary, UnknownEventsAndTaskEventsWithoutTaskAreIgnoredAndCounted) {
  RunSummary s("r");
  s.apply("r", event(1, "something_new"));
  s.apply("r", event(1, "task_done", {{"task", "x"}}));
  s.apply("r", event(1, "task_exploded", {{"task", "1"}}));
  EXPECT_EQ(s.ignored_events(), 3u);
  EXPECT_EQ(s.batch("r")->counts.total, 0u);
}

}  // namespace
}  // namespace jhtc
