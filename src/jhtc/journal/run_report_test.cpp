#include "jhtc/run_report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "journal/journal_test_util.hpp"
#include "journal/run_summary.hpp"
#include "util/json_text.hpp"

namespace jhtc {
namespace {

using Context = std::vector<std::pair<std::string, std::string>>;

// Feeds the same events to a RunSummary and a RunReportBuilder, as read_run_report does.
class Journal {
 public:
  explicit Journal(std::string root = "r") : summary_(root) {}
  Journal& on(std::string batch, double ts, std::string name, Context context = {}) {
    JournalEvent event{ts, std::move(name), std::move(context)};
    summary_.apply(batch, event);
    builder_.apply(batch, event);
    return *this;
  }
  Journal& started(std::string batch, std::string parent, int level, int throttle, double ts,
                   Context extra = {}) {
    Context c{{"batch", batch},
              {"parent", parent},
              {"root", "r"},
              {"level", std::to_string(level)},
              {"throttle", std::to_string(throttle)},
              {"host", "h"},
              {"pid", "42"},
              {"scheduler", "htcondor"}};
    c.insert(c.end(), extra.begin(), extra.end());
    return on(batch, ts, "batch_started", c);
  }
  Journal& task(std::string batch, double ts, std::string name, int task, Context extra = {}) {
    Context c{{"task", std::to_string(task)}};
    c.insert(c.end(), extra.begin(), extra.end());
    return on(batch, ts, std::move(name), c);
  }
  // queued at q, submitted and running at r as job `job`, ended by `end_name` at e.
  Journal& job(std::string batch, int task, double q, double r, double e, std::string job,
               std::string end_name = "task_done", Context end_extra = {}) {
    this->task(batch, q, "task_queued", task);
    this->task(batch, r, "task_submitted", task, {{"job", job}});
    this->task(batch, r, "task_running", task, {{"job", job}});
    return this->task(batch, e, end_name, task, end_extra);
  }
  RunReport report(double now, ReportOptions options = {}) const {
    return builder_.build(summary_, now, options);
  }

 private:
  RunSummary summary_;
  RunReportBuilder builder_;
};

const LevelReport& level(const RunReport& report, int n) {
  for (const LevelReport& lr : report.levels)
    if (lr.level == n) return lr;
  throw std::out_of_range("no level " + std::to_string(n));
}

TEST(RunReport, AJobIsOneBarFromQueuedThroughRunningToItsEnd) {
  Journal run;
  run.started("r", "", 0, 4, 100)
      .job("r", 1, 101, 103, 110, "7.0")
      .on("r", 111, "batch_finished", {{"state", "done"}});
  RunReport report = run.report(500);
  ASSERT_EQ(report.levels.size(), 1u);
  const LevelReport& l0 = level(report, 0);
  ASSERT_EQ(l0.bars.size(), 1u);
  const JobBar& bar = l0.bars[0];
  EXPECT_EQ(bar.task, 1u);
  EXPECT_EQ(bar.attempt, 0);
  EXPECT_EQ(bar.job_id, "7.0");
  EXPECT_DOUBLE_EQ(bar.queued_ts, 101);
  EXPECT_DOUBLE_EQ(bar.running_ts, 103);
  EXPECT_DOUBLE_EQ(bar.end_ts, 110);
  EXPECT_EQ(bar.outcome, JobOutcome::done);
  EXPECT_EQ(report.batches[bar.batch], "r");
  EXPECT_TRUE(report.header.finished);
  EXPECT_DOUBLE_EQ(report.header.start_ts, 100);
  EXPECT_DOUBLE_EQ(report.header.elapsed_s, 11)
      << "a finished run ends when its root finished, not now";
  EXPECT_DOUBLE_EQ(report.t1, 111);
}

TEST(RunReport, HeldJobRetriedIsTwoBarsAndAFailureRowWithTheHoldCode) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.job("r", 3, 101, 102, 105, "9.0", "task_retried",
          {{"reason", "job 9.0 was held: via condor_hold (by user x)"},
           {"hold_code", "1"},
           {"hold_subcode", "0"}});
  run.task("r", 106, "task_submitted", 3, {{"job", "10.0"}})
      .task("r", 107, "task_running", 3, {{"job", "10.0"}})
      .task("r", 109, "task_done", 3);
  RunReport report = run.report(200);
  const LevelReport& l0 = level(report, 0);
  ASSERT_EQ(l0.bars.size(), 2u);
  EXPECT_EQ(l0.bars[0].outcome, JobOutcome::held_retried);
  EXPECT_EQ(l0.bars[0].job_id, "9.0");
  EXPECT_DOUBLE_EQ(l0.bars[0].end_ts, 105);
  EXPECT_EQ(l0.bars[1].attempt, 1);
  EXPECT_EQ(l0.bars[1].job_id, "10.0");
  EXPECT_DOUBLE_EQ(l0.bars[1].queued_ts, 105) << "the retry waits from the moment it was decided";
  EXPECT_EQ(l0.bars[1].outcome, JobOutcome::done);
  EXPECT_EQ(l0.outcomes[static_cast<int>(JobOutcome::held_retried)], 1u);
  EXPECT_EQ(l0.tasks, 1u);
  EXPECT_EQ(l0.jobs, 2u);
  ASSERT_EQ(report.failures.size(), 1u);
  const FailureRow& row = report.failures[0];
  EXPECT_EQ(row.outcome, JobOutcome::held_retried);
  EXPECT_EQ(row.job_id, "9.0");
  EXPECT_EQ(row.attempt, 0);
  EXPECT_EQ(row.task, 3u);
  EXPECT_EQ(row.hold_code, 1);
  EXPECT_EQ(row.hold_subcode, 0);
  EXPECT_EQ(row.reason, "job 9.0 was held: via condor_hold (by user x)");
  EXPECT_EQ(report.header.retries, 1u);
}

TEST(RunReport, HoldIsRecognisedFromTheEnginesReasonInJournalsWithoutHoldCode) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.job("r", 1, 101, 102, 103, "5.0", "task_retried",
          {{"reason", "job 5.0 was held: memory (HoldReasonCode 34, HoldReasonSubCode 102)"}});
  run.job("r", 2, 101, 102, 103, "6.0", "task_retried",
          {{"reason", "the worker was killed by signal 9"}});
  RunReport report = run.report(200);
  ASSERT_EQ(report.failures.size(), 2u);
  const FailureRow& held = report.failures[0].task == 1 ? report.failures[0] : report.failures[1];
  const FailureRow& killed = report.failures[0].task == 1 ? report.failures[1] : report.failures[0];
  EXPECT_EQ(held.outcome, JobOutcome::held_retried);
  EXPECT_EQ(held.hold_code, 34);
  EXPECT_EQ(held.hold_subcode, 102);
  EXPECT_EQ(killed.outcome, JobOutcome::retried);
  EXPECT_EQ(killed.hold_code, -1);
}

TEST(RunReport, FailedTaskKeepsReasonJobAndAttemptAndLateEventsDoNotReviveIt) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.job("r", 4, 101, 102, 104, "8.0", "task_failed",
          {{"reason", "the worker exited with code 1"}, {"job", "8.0"}});
  run.task("r", 105, "task_running", 4, {{"job", "8.0"}});
  RunReport report = run.report(200);
  const LevelReport& l0 = level(report, 0);
  ASSERT_EQ(l0.bars.size(), 1u);
  EXPECT_EQ(l0.bars[0].outcome, JobOutcome::failed);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].reason, "the worker exited with code 1");
  EXPECT_EQ(report.failures[0].job_id, "8.0");
  EXPECT_EQ(report.header.failed_tasks, 1u);
}

TEST(RunReport, RunStillGoingEndsItsAxisAtNowAndLeavesOpenJobsUnfinished) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.task("r", 101, "task_queued", 1).task("r", 102, "task_running", 1, {{"job", "1.0"}});
  RunReport report = run.report(150);
  EXPECT_FALSE(report.header.finished);
  EXPECT_DOUBLE_EQ(report.t1, 150);
  const LevelReport& l0 = level(report, 0);
  ASSERT_EQ(l0.bars.size(), 1u);
  EXPECT_EQ(l0.bars[0].outcome, JobOutcome::unfinished);
  EXPECT_DOUBLE_EQ(l0.bars[0].end_ts, 0);
  EXPECT_EQ(l0.concurrency.back().running, 1u) << "still running at the end of the axis";
}

TEST(RunReport, OverlappingJobsTakeDifferentLanesAndLaterOnesReuseFreedLanes) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.job("r", 1, 100, 101, 110, "1.0")
      .job("r", 2, 100, 101, 105, "1.1")
      .job("r", 3, 106, 107, 109, "1.2");
  const RunReport report = run.report(200);  // level() refers into it: keep it alive
  const LevelReport& l0 = level(report, 0);
  ASSERT_EQ(l0.bars.size(), 3u);
  EXPECT_NE(l0.bars[0].lane, l0.bars[1].lane);
  EXPECT_EQ(l0.bars[2].lane, l0.bars[1].lane) << "task 3 starts after task 2 ended";
  EXPECT_EQ(l0.lanes, 2u);
}

TEST(RunReport, ConcurrencyCountsQueuedIdleRunningAgainstTheLiveBatchesThrottles) {
  Journal run;
  run.started("r", "", 0, 2, 100);
  run.started("c1", "r", 1, 3, 100).started("c2", "r", 1, 5, 100);
  for (int t = 0; t < 4; ++t) run.task("c1", 100, "task_queued", t);
  run.task("c1", 100, "task_submitted", 0, {{"job", "2.0"}})
      .task("c1", 100, "task_running", 0, {{"job", "2.0"}});
  run.task("c1", 100, "task_submitted", 1, {{"job", "2.1"}});
  run.on("c1", 150, "batch_finished", {{"state", "done"}})
      .on("c2", 150, "batch_finished", {{"state", "done"}});
  run.on("r", 200, "batch_finished", {{"state", "done"}});
  ReportOptions options;
  options.time_bins = 10;
  RunReport report = run.report(300, options);
  const LevelReport& l1 = level(report, 1);
  ASSERT_EQ(l1.concurrency.size(), 10u);
  EXPECT_EQ(l1.concurrency[0].queued, 2u);
  EXPECT_EQ(l1.concurrency[0].idle, 1u);
  EXPECT_EQ(l1.concurrency[0].running, 1u);
  EXPECT_EQ(l1.concurrency[0].capacity, 8u) << "3 + 5: both batches alive";
  EXPECT_EQ(l1.concurrency[9].capacity, 0u) << "both finished at 150";
  EXPECT_EQ(l1.throttle, 5u);
  EXPECT_EQ(l1.batches, 2u);
  EXPECT_EQ(report.header.throttle, (std::vector<std::size_t>{2, 5}));
}

TEST(RunReport, JobEndingAsTheNextStartsIsNotCountedTwice) {
  Journal run;
  run.started("r", "", 0, 1, 100);
  run.job("r", 1, 100, 100, 150, "1.0").job("r", 2, 150, 150, 200, "1.1");
  ReportOptions options;
  options.time_bins = 1;
  EXPECT_EQ(level(run.report(200, options), 0).concurrency[0].running, 1u);
}

TEST(RunReport, InSchedulerIsTheMostIdlePlusRunningAtOneMomentNotTheSumOfMaxima) {
  Journal run;
  run.started("r", "", 0, 1, 100);
  // Job 1 idle 100-110 then running to 150; job 2 idle 150-160, running to 200: at no
  // moment are more than one in the scheduler, though the bin saw 1 idle and 1 running.
  run.task("r", 100, "task_queued", 1).task("r", 100, "task_submitted", 1, {{"job", "1.0"}});
  run.task("r", 110, "task_running", 1, {{"job", "1.0"}}).task("r", 150, "task_done", 1);
  run.task("r", 150, "task_queued", 2).task("r", 150, "task_submitted", 2, {{"job", "1.1"}});
  run.task("r", 160, "task_running", 2, {{"job", "1.1"}}).task("r", 200, "task_done", 2);
  ReportOptions options;
  options.time_bins = 1;
  const RunReport report = run.report(200, options);
  const ConcurrencyBin& bin = level(report, 0).concurrency[0];
  EXPECT_EQ(bin.idle, 1u);
  EXPECT_EQ(bin.running, 1u);
  EXPECT_EQ(bin.in_scheduler, 1u);
}

TEST(RunReport, ManyBarsAreBinnedByTimeAndOutcomeKeepingTheirTotals) {
  Journal run;
  run.started("r", "", 0, 100, 0.5);
  for (int t = 0; t < 300; ++t) {
    double q = 1 + t;
    run.job("r", t, q, q, q + 10, "1." + std::to_string(t),
            t % 3 == 0 ? "task_failed" : "task_done", {{"reason", "x"}});
  }
  ReportOptions options;
  options.max_bars_per_level = 100;
  options.time_bins = 31;
  RunReport report = run.report(400, options);
  const LevelReport& l0 = level(report, 0);
  EXPECT_TRUE(l0.binned);
  EXPECT_TRUE(l0.bars.empty());
  ASSERT_EQ(l0.outcome_bins.size(), 31u);
  std::size_t ended_done = 0, ended_failed = 0;
  double failed_job_seconds = 0;
  for (const OutcomeBin& bin : l0.outcome_bins) {
    ended_done += bin.ended[static_cast<int>(JobOutcome::done)];
    ended_failed += bin.ended[static_cast<int>(JobOutcome::failed)];
    failed_job_seconds += bin.running[static_cast<int>(JobOutcome::failed)] * report.bin_s;
  }
  EXPECT_EQ(ended_done, 200u);
  EXPECT_EQ(ended_failed, 100u);
  EXPECT_NEAR(failed_job_seconds, 100 * 10.0, 1e-6);
  EXPECT_EQ(report.failures.size(), 100u);
}

TEST(RunReport, FailureRowsBeyondTheLimitAreCountedNotListed) {
  Journal run;
  run.started("r", "", 0, 10, 1);
  for (int t = 0; t < 7; ++t) run.job("r", t, 2, 3, 4 + t, "1.0", "task_failed", {{"reason", "r"}});
  ReportOptions options;
  options.max_failure_rows = 5;
  RunReport report = run.report(100, options);
  EXPECT_EQ(report.failures.size(), 5u);
  EXPECT_EQ(report.failures_omitted, 2u);
  EXPECT_DOUBLE_EQ(report.failures.front().ts, 4) << "oldest first";
}

TEST(RunReport, NoUsageFieldsMeansUsageUnknownNotZeroMemory) {
  Journal run;
  run.started("r", "", 0, 4, 100).job("r", 1, 101, 102, 103, "1.0");
  const RunReport report = run.report(200);
  const ResourceUse& use = level(report, 0).usage;
  EXPECT_EQ(use.jobs, 0u);
  EXPECT_TRUE(use.memory_counts.empty());
  EXPECT_DOUBLE_EQ(use.core_hours, 0);
}

TEST(RunReport, UsageGivesCoreHoursAndAPeakMemoryHistogramAgainstTheRequest) {
  Journal run;
  run.started("r", "", 0, 4, 100,
              {{"request_cpus", "2"}, {"request_memory_mb", "1000"}, {"request_gpus", "0"}});
  run.job("r", 1, 101, 102, 103, "1.0", "task_done",
          {{"usage", R"({"wall_s":3600,"cpu_user_s":1800,"cpu_sys_s":0,"memory_mb":400})"}});
  run.job("r", 2, 101, 102, 103, "1.1", "task_done",
          {{"usage", R"({"wall_s":1800,"cpu_user_s":900.5,"memory_mb":1200,"alloc_cpus":4})"}});
  run.job("r", 3, 101, 102, 103, "1.2", "task_retried",
          {{"reason", "held"},
           {"hold_code", "34"},
           {"request_memory_mb", "2000"},
           {"usage", R"({"memory_mb":"lots","wall_s":-5})"}});
  run.task("r", 104, "task_done", 3, {{"usage", R"({"memory_mb":1500})"}});
  RunReport report = run.report(200);
  const ResourceUse& use = level(report, 0).usage;
  EXPECT_EQ(use.jobs, 3u) << "the malformed figures of the held attempt are unknown, not zero";
  EXPECT_NEAR(use.core_hours, 1.0 * 2 + 0.5 * 4, 1e-9) << "alloc_cpus, else request_cpus";
  EXPECT_NEAR(use.cpu_hours, 0.5 + 900.5 / 3600, 1e-9);
  EXPECT_EQ(use.peak_memory_mb, 1500);
  EXPECT_EQ(use.request_memory_mb, (std::vector<std::int64_t>{1000, 2000}));
  EXPECT_EQ(use.over_request, 1u) << "1200 > 1000; the retry's 1500 is under its raised 2000";
  ASSERT_FALSE(use.memory_counts.empty());
  EXPECT_EQ(std::accumulate(use.memory_counts.begin(), use.memory_counts.end(), 0u), 3u);
  EXPECT_GE(use.memory_bin_mb * static_cast<double>(use.memory_counts.size()), 2000.0)
      << "the histogram reaches the largest request";
  EXPECT_EQ(report.header.request_cpus, 2);
  EXPECT_EQ(report.header.request_memory_mb, 1000);
}

TEST(RunReport, CallsAreSummedOverTasksOnceEachAndUnknownIsZero) {
  Journal run;
  run.started("r", "", 0, 4, 100).started("c", "r", 1, 4, 100);
  run.task("r", 101, "task_queued", 1, {{"calls", "5"}})
      .task("r", 101, "task_queued", 1, {{"calls", "5"}});
  run.task("c", 102, "task_queued", 1, {{"calls", "3"}}).task("c", 102, "task_queued", 2);
  EXPECT_EQ(run.report(200).header.calls, 8) << "a repeated task_queued counts once";
  Journal old;
  old.started("r", "", 0, 4, 100).task("r", 101, "task_queued", 1);
  EXPECT_EQ(old.report(200).header.calls, 0);
}

TEST(RunReport, PeakBytesIsTheLargestSumOverBatchesInTimeOrder) {
  Journal run;
  run.started("r", "", 0, 4, 100).started("c", "r", 1, 4, 100);
  // Read file by file: the child's samples come after all of the root's.
  run.on("r", 101, "bytes_held", {{"bytes", "100"}}).on("r", 110, "bytes_held", {{"bytes", "0"}});
  run.on("c", 105, "bytes_held", {{"bytes", "50"}}).on("c", 120, "bytes_held", {{"bytes", "0"}});
  RunReport report = run.report(200);
  EXPECT_EQ(report.header.peak_bytes_held, 150u);
  EXPECT_EQ(report.header.bytes_held, 0u);
}

TEST(RunReport, JsonIsOneValidObjectWithEveryPart) {
  Journal run;
  run.started("r", "", 0, 4, 100);
  run.job("r", 1, 101, 102, 103, "9.0", "task_retried",
          {{"reason", "held \"quoted\"\n"}, {"hold_code", "1"}});
  run.task("r", 104, "task_done", 1);
  std::string json = run_report_json(run.report(200));
  json::Cursor cursor(json);
  ASSERT_TRUE(cursor.read_value_text().has_value()) << json;
  EXPECT_TRUE(cursor.at_end());
  for (const char* part :
       {"\"header\":", "\"levels\":[{", "\"bars\":[{", "\"concurrency\":{", "\"usage\":{",
        "\"failures\":[{", "\"held_retried\"", "held \\\"quoted\\\"\\n", "\"running\":null"}) {
    EXPECT_NE(json.find(part), std::string::npos) << part << " in " << json;
  }
}

class ReadRunReport : public ::testing::Test {
 protected:
  void write(const std::string& root, const std::string& batch, const std::string& lines) {
    std::filesystem::create_directories(dir_.path() + "/" + root);
    std::ofstream(dir_.path() + "/" + root + "/" + batch + ".jsonl") << lines;
  }
  static std::string started(double ts, const std::string& id) {
    return encode_journal_line(
        ts, "batch_started",
        R"({"batch":")" + id + R"(","parent":"","root":")" + id + R"(","level":0,"throttle":2})");
  }
  testing::TempDir dir_;
};

TEST_F(ReadRunReport, TakesTheNewestRunWhenNoRootIsNamed) {
  write("old", "old", started(100, "old"));
  write("new", "new",
        started(200, "new") + encode_journal_line(201, "task_queued", R"({"task":1})"));
  RunReport report = read_run_report(dir_.path(), "", 300);
  EXPECT_EQ(report.header.root_batch_id, "new");
  EXPECT_EQ(report.header.tasks, 1u);
}

TEST_F(ReadRunReport, CountsCorruptLinesAndKeepsTheRest) {
  write(
      "a", "a",
      started(100, "a") + "{not json\n" + encode_journal_line(101, "task_queued", R"({"task":1})"));
  RunReport report = read_run_report(dir_.path(), "a", 300);
  EXPECT_EQ(report.header.corrupt_lines, 1u);
  EXPECT_EQ(report.header.tasks, 1u);
}

TEST_F(ReadRunReport, FailsNamingTheDirectoryWhenThereIsNoRun) {
  try {
    read_run_report(dir_.path(), "", 300);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(dir_.path()), std::string::npos) << e.what();
  }
  write("a", "a", started(100, "a"));
  try {
    read_run_report(dir_.path(), "b", 300);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("(runs there: a)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace jhtc
