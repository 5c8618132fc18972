#include "htcondor/condor_tools.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace jhtc::htcondor {
namespace {

TEST(CondorTools, ToolCommandAddsPoolAndSchedd) {
  EXPECT_EQ(tool_command("condor_q", "", ""), std::vector<std::string>{"condor_q"});
  EXPECT_EQ(tool_command("condor_rm", "cm.example.org:9618", "submit1.example.org"),
            (std::vector<std::string>{"condor_rm", "-pool", "cm.example.org:9618", "-name",
                                      "submit1.example.org"}));
}

TEST(CondorTools, ToolCommandRefusesNamesThatCouldBeOptions) {
  for (const char* bad : {"-constraint", "a b", "a\nb"})
    EXPECT_THROW(tool_command("condor_q", "", bad), std::invalid_argument) << bad;
  EXPECT_THROW(tool_command("condor_q", "--help", ""), std::invalid_argument);
}

TEST(CondorTools, ParsesTerseSubmitOutput) {
  const auto ranges = parse_terse_output(
      "WARNING: the Queue variable 'code' was unused by condor_submit. Is it a typo?\n"
      "1234.0 - 1234.4999\n7.0 - 7.0\n");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].cluster, 1234);
  EXPECT_EQ(ranges[0].first, 0);
  EXPECT_EQ(ranges[0].last, 4999);
  EXPECT_EQ(ranges[0].count(), 5000);
  EXPECT_EQ(ranges[1].count(), 1);
}

TEST(CondorTools, IgnoresTerseLinesThatAreNotRanges) {
  EXPECT_TRUE(parse_terse_output("").empty());
  EXPECT_TRUE(parse_terse_output("1.0 - 2.3\n").empty());  // two clusters in one range
  EXPECT_TRUE(parse_terse_output("1.5 - 1.3\n").empty());  // backwards
  EXPECT_TRUE(parse_terse_output("1.0 - 1.3 extra\n").empty());
  EXPECT_TRUE(parse_terse_output("1.0 1.3\n").empty());
  EXPECT_TRUE(parse_terse_output("x.0 - x.3\n").empty());
}

TEST(CondorTools, LineageConstraintMatchesTheLineageAndItsDescendantsOnly) {
  EXPECT_EQ(
      lineage_constraint("jhtc-r1-L0-b1"),
      "JhtcLineage =?= \"jhtc-r1-L0-b1\" || substr(JhtcLineage, 0, 14) =?= \"jhtc-r1-L0-b1/\"");
}

TEST(CondorTools, HostileLineageIsRefusedNamingTheParameter) {
  for (const char* hostile :
       {"x\" || true || \"", "x\\", "", "a//b", "/a", "a/", "a b", "a\nb", "a)||(true"}) {
    try {
      lineage_constraint(hostile);
      ADD_FAILURE() << "accepted: " << hostile;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("lineage:"), std::string::npos) << error.what();
    }
  }
  EXPECT_NO_THROW(lineage_constraint("20261201-021500-L0-42-a1b2c3/20261201-021501-L1-7-ffffff"));
}

TEST(CondorTools, ClassAdStringEscapesQuotesAndBackslashes) {
  EXPECT_EQ(classad_string("plain"), "\"plain\"");
  EXPECT_EQ(classad_string("x\" || true || \""), "\"x\\\" || true || \\\"\"");
  EXPECT_EQ(classad_string("a\\b"), "\"a\\\\b\"");
  EXPECT_THROW(classad_string("a\nb"), std::invalid_argument);
}

TEST(CondorTools, IdleJobConstraintNamesOneJobAndIdleOnly) {
  EXPECT_EQ(idle_job_constraint(12, 3), "ClusterId == 12 && ProcId == 3 && JobStatus == 1");
}

TEST(CondorTools, ParsesQueueAndHistoryRecords) {
  const auto records = parse_queue_records(
      "2.1 3 undefined false undefined undefined undefined probe rm (by user htc)\n"
      "1.1 4 3 false undefined undefined undefined undefined\n"
      "1.2 4 undefined true 9 undefined undefined undefined\n"
      "5.0 5 undefined false undefined 34 102 Job has gone over memory limit\n"
      "garbage line\n");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].status, 3);
  EXPECT_EQ(records[0].reason, "probe rm (by user htc)");
  EXPECT_EQ(records[1].exit_code, 3);
  EXPECT_EQ(records[1].reason, "");
  EXPECT_TRUE(records[2].by_signal);
  EXPECT_EQ(records[2].signal, 9);
  EXPECT_FALSE(records[2].exit_code.has_value());
  EXPECT_EQ(records[3].cluster, 5);
  EXPECT_EQ(records[3].hold_code, 34);
  EXPECT_EQ(records[3].hold_subcode, 102);
  EXPECT_EQ(records[3].reason, "Job has gone over memory limit");
}

TEST(CondorTools, LevelConstraintSelectsOneLevelOfOneRunThatHoldsAPlaceInTheSchedd) {
  EXPECT_EQ(level_constraint("root-b1", 1),
            "JhtcLevel =?= 1 && (JhtcLineage =?= \"root-b1\" || substr(JhtcLineage, 0, 8) =?= "
            "\"root-b1/\") && (JobStatus == 1 || JobStatus == 2 || JobStatus == 5)");
}

TEST(CondorTools, CountJobsCountsNonBlankLines) {
  EXPECT_EQ(count_jobs(""), 0u);
  EXPECT_EQ(count_jobs("0\n1\n\n  \n2"), 3u);
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

TEST(CondorTools, UnmatchedJobsAreIdleOnesTheNegotiatorFoundNoMachineFor) {
  const auto jobs = parse_unmatched(
      "22.0 1 no match found \n22.1 2 undefined\n22.2 1 undefined\n23.0 1 no match found\nbad\n");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0], (std::pair<std::int64_t, int>{22, 0}));
  EXPECT_EQ(jobs[1], (std::pair<std::int64_t, int>{23, 0}));
}

// Recorded on the testbed: a job with request_gpus = 1 on a pool without GPUs.
constexpr std::string_view kBetterAnalyze = R"(
The Requirements expression for job 21.000 reduces to these conditions:

         Slots
Step    Matched  Condition
-----  --------  ---------
[0]           1  TARGET.Arch == "X86_64"
[5]           1  TARGET.Memory >= RequestMemory
[7]           0  TARGET.GPUs >= RequestGPUs
[9]           1  TARGET.FileSystemDomain == MY.FileSystemDomain

No successful match recorded.
Last failed match: Tue Dec  1 02:54:33 2026

WARNING:  Be advised:
   No machines matched the jobs's constraints
)";

TEST(CondorTools, BetterAnalyzeIsSummarisedToTheConditionsNoSlotMeets) {
  EXPECT_EQ(summarize_better_analyze(kBetterAnalyze),
            "no slot meets TARGET.GPUs >= RequestGPUs; No machines matched the jobs's constraints");
  EXPECT_EQ(summarize_better_analyze("nothing useful\n"), "");
}

TEST(CondorTools, MachineCapacityCountsEachMachineOnceAndSkipsUndefinedTotals) {
  // A partitionable slot and its dynamic slots repeat the machine's totals; a
  // machine whose totals are undefined, or a malformed line, cannot be counted.
  const std::vector<MachineCapacity> machines = parse_machine_capacity(
      "a.example.org 8 32768\n"
      "a.example.org 8 32768\n"
      "b.example.org undefined 4096\n"
      "c.example.org 4 undefined\n"
      "undefined 4 4096\n"
      "d.example.org 4\n"
      "e.example.org four 4096\n"
      "\n"
      "  f.example.org\t2.0 2048.5\r\n");
  ASSERT_EQ(machines.size(), 2u);
  EXPECT_EQ(machines[0].machine, "a.example.org");
  EXPECT_EQ(machines[0].cpus, 8);
  EXPECT_EQ(machines[0].memory_mb, 32768);
  EXPECT_EQ(machines[1].machine, "f.example.org");
  EXPECT_EQ(machines[1].cpus, 2);
  EXPECT_EQ(machines[1].memory_mb, 2048.5);
  EXPECT_TRUE(parse_machine_capacity("").empty());
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

TEST(ExistingJobs, LatestAttemptPerTaskWinsAndAQueuedJobBeatsItsHistoryRecord) {
  std::map<TaskId, ExistingJob> latest;
  // condor_history: task 0 attempt 0 removed, task 1 completed.
  merge_existing_jobs("40.0 0 0 3\n40.1 1 0 4\nnot a job line\n41.0 2 x 4\n", false, latest);
  // condor_q: task 0's retry runs, task 2 is held; a completed job still in the queue.
  merge_existing_jobs("42.0 0 1 2\n42.1 2 0 5\n42.2 3 0 4\n", true, latest);
  ASSERT_EQ(latest.size(), 4u);
  EXPECT_EQ(latest.at(0).job_id, "42.0");
  EXPECT_EQ(latest.at(0).attempt, 1);
  EXPECT_TRUE(latest.at(0).in_queue);
  EXPECT_EQ(latest.at(1).job_id, "40.1");
  EXPECT_FALSE(latest.at(1).in_queue);
  EXPECT_TRUE(latest.at(2).in_queue);
  EXPECT_FALSE(latest.at(3).in_queue);  // status 4: leaving, no longer running
}

TEST(ExistingJobs, ExactLineageConstraintSelectsThatBatchOnlyAndRefusesMalformedOnes) {
  EXPECT_EQ(exact_lineage_constraint("run/b-1"), "JhtcLineage =?= \"run/b-1\"");
  EXPECT_THROW(exact_lineage_constraint("x\" || true || \""), std::invalid_argument);
  EXPECT_FALSE(parse_job_ref("12").has_value());
  EXPECT_EQ(parse_job_ref("12.3")->second, 3);
}

}  // namespace
}  // namespace jhtc::htcondor
