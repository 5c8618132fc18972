// The driver's mechanics against stand-in condor_* scripts put first on PATH:
// what it runs, how it splits and rolls back submissions, how it tails the log.
// The real pool is exercised by htcondor_driver_pool_test.
#include "htcondor/htcondor_driver.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "jhtc/errors.hpp"

namespace jhtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void write_file(const fs::path& path, const std::string& text, bool executable = false) {
  std::ofstream(path, std::ios::trunc) << text;
  if (executable) fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

class FakeCondor : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("jhtc-fake-condor-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "bin");
    write_file(root_ / "bin/condor_submit", R"SH(#!/bin/sh
for a; do f=$a; done
echo "$@" >> "$FAKE/submit.args"
n=$(wc -l < "${f%.sub}.items")
c=$(cat "$FAKE/next_cluster" 2>/dev/null || echo 10); echo $((c+1)) > "$FAKE/next_cluster"
if [ -e "$FAKE/fail_at_$c" ]; then echo "ERROR: the schedd refused cluster $c" >&2; exit 1; fi
echo "WARNING: noise"; echo "$c.0 - $c.$((n-1))"
)SH",
               true);
    write_file(root_ / "bin/condor_q", R"SH(#!/bin/sh
if [ -e "$FAKE/schedd_down" ]; then echo "Failed to connect to the schedd" >&2; exit 1; fi
case " $* " in *" -totals "*) echo "Total for all users: 0 jobs";; *) cat "$FAKE/q.out" 2>/dev/null;; esac
)SH",
               true);
    write_file(root_ / "bin/condor_history", "#!/bin/sh\ncat \"$FAKE/history.out\" 2>/dev/null\n",
               true);
    write_file(root_ / "bin/condor_rm", R"SH(#!/bin/sh
for a; do printf '[%s]' "$a" >> "$FAKE/rm.args"; done; echo >> "$FAKE/rm.args"
if [ -e "$FAKE/rm_gone" ]; then echo; echo "Job 10.0 not found" >&2; exit 1; fi
if [ -e "$FAKE/rm_denied" ]; then echo "Job 10.0 not found"; echo "Permission denied" >&2; exit 1; fi
if [ -e "$FAKE/rm_unreachable" ]; then echo; echo "ERROR: Failed to connect to local queue manager" >&2; exit 1; fi
)SH",
               true);
    old_path_ = getenv("PATH");
    setenv("PATH", ((root_ / "bin").string() + ":" + old_path_).c_str(), 1);
    setenv("FAKE", root_.c_str(), 1);
    t_.batch_name = "jhtc-test-L0-b1";
    t_.batch_dir = (root_ / "batch").string();
    t_.log_dir = (root_ / "batch/logs").string();
    t_.python = "sh";
    t_.worker_args = {"-c", "exit 0", "worker"};
    o_.poll_interval = 20ms;
  }
  void TearDown() override {
    setenv("PATH", old_path_.c_str(), 1);
    fs::remove_all(root_);
  }

  std::vector<JobRequest> jobs(int n) const {
    std::vector<JobRequest> out;
    for (int i = 0; i < n; ++i)
      out.push_back({static_cast<TaskId>(i + 1), 0, "/tasks/" + std::to_string(i + 1)});
    return out;
  }
  void append_log(const std::string& text) const {
    std::ofstream(root_ / "batch/condor.log", std::ios::app) << text;
  }
  static std::string event(int code, const std::string& id, const std::string& body = "") {
    return (code < 10 ? "00" : "0") + std::to_string(code) + " (" + id +
           ".000) 2026-11-24 05:00:00 Event\n" + body + "...\n";
  }

  fs::path root_;
  std::string old_path_;
  JobTemplate t_;
  HTCondorOptions o_;
};

TEST_F(FakeCondor, WithoutCondorSubmitOnPathTheDriverIsUnavailable) {
  setenv("PATH", "/nonexistent", 1);
  try {
    make_htcondor_driver(t_, o_);
    FAIL() << "no exception";
  } catch (const SchedulerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("condor_submit is not on PATH"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("scheduler=\"local\""), std::string::npos);
  }
}

TEST_F(FakeCondor, ASilentScheddMakesTheDriverUnavailable) {
  write_file(root_ / "schedd_down", "");
  try {
    make_htcondor_driver(t_, o_);
    FAIL() << "no exception";
  } catch (const SchedulerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("Failed to connect to the schedd"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("scheduler=\"local\""), std::string::npos);
  }
}

TEST_F(FakeCondor, BadOptionsAreRefusedAtConstructionNamingTheField) {
  const auto refusal = [this](const std::function<void(HTCondorOptions&)>& spoil) {
    HTCondorOptions options = o_;
    spoil(options);
    try {
      make_htcondor_driver(t_, options);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_TRUE(refusal([](auto& o) { o.max_per_submission = 0; }).starts_with("max_per_submission"));
  EXPECT_TRUE(refusal([](auto& o) { o.poll_interval = 0ms; }).starts_with("poll_interval: 0 ms"));
  EXPECT_TRUE(refusal([](auto& o) { o.unmatched_after = -1s; }).starts_with("unmatched_after"));
  EXPECT_TRUE(refusal([](auto& o) { o.command_timeout = 0s; }).starts_with("command_timeout"));
  EXPECT_TRUE(refusal([](auto& o) { o.retry_attempts = 0; }).starts_with("retry_attempts"));
  EXPECT_TRUE(refusal([](auto& o) { o.level = 1000; }).starts_with("level"));
  EXPECT_TRUE(refusal([](auto& o) {
                o.extra_directives = {{"queue", "5"}};
              }).starts_with("extra_directives"));
  setenv("PATH", "/nonexistent", 1);  // checked before HTCondor is looked for
  EXPECT_TRUE(refusal([](auto& o) { o.abort_timeout = 0s; }).starts_with("abort_timeout"));
  setenv("PATH", ((root_ / "bin").string() + ":" + old_path_).c_str(), 1);
  t_.python = "jhtc-no-such-python";
  EXPECT_TRUE(refusal([](auto&) {}).starts_with("python"));
}

TEST_F(FakeCondor, SplitsLargeSubmissionsAndMapsProcsToTasks) {
  o_.max_per_submission = 3;
  o_.schedd = "submit.example";
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(7));
  const std::string args = read_file(root_ / "submit.args");
  EXPECT_EQ(std::count(args.begin(), args.end(), '\n'), 3) << args;  // 3 + 3 + 1
  EXPECT_NE(args.find("-name submit.example -terse"), std::string::npos) << args;
  append_log(event(0, "10.000") + event(0, "10.002") + event(0, "11.000") + event(0, "12.000"));
  const auto events = driver->wait_events(2s);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].task, 1u);
  EXPECT_EQ(events[1].task, 3u);
  EXPECT_EQ(events[2].task, 4u);
  EXPECT_EQ(events[3].task, 7u);
  EXPECT_EQ(events[3].job_id, "12.0");
  EXPECT_EQ(events[3].kind, DriverEventKind::submitted);
}

TEST_F(FakeCondor, AFailedSubmissionRaisesTheSchedulersErrorAndRollsBack) {
  o_.max_per_submission = 2;
  write_file(root_ / "fail_at_11", "");
  auto driver = make_htcondor_driver(t_, o_);
  try {
    driver->submit(jobs(4));
    FAIL() << "no exception";
  } catch (const SchedulerError& error) {
    EXPECT_NE(std::string(error.what()).find("the schedd refused cluster 11"), std::string::npos);
  }
  EXPECT_NE(read_file(root_ / "rm.args").find("[10]"), std::string::npos);
  append_log(event(0, "10.000") + event(9, "10.000"));  // the rolled-back cluster is not reported
  EXPECT_TRUE(driver->wait_events(200ms).empty());
}

TEST_F(FakeCondor, TailsTheLogAcrossPartialWritesAndIgnoresOtherJobs) {
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(2));
  const std::string terminated = event(5, "10.001", "\t(1) Normal termination (return value 3)\n");
  append_log(event(0, "99.000") + terminated.substr(0, 30));
  EXPECT_TRUE(driver->wait_events(150ms).empty());
  append_log(terminated.substr(30));
  const auto events = driver->wait_events(2s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, DriverEventKind::exited);
  EXPECT_EQ(events[0].task, 2u);
  EXPECT_EQ(events[0].exit_code, 3);
}

TEST_F(FakeCondor, HeldAndRemovedCarryTheirReasons) {
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(1));
  append_log(event(12, "10.000", "\tvia condor_hold (by user htc)\n\tCode 1 Subcode 0\n") +
             event(9, "10.000", "\tcancelled (by user htc)\n") +
             event(5, "10.000", "\t(1) Normal termination (return value 0)\n"));
  const auto events = driver->wait_events(2s);
  ASSERT_EQ(events.size(), 2u);  // nothing after the job ended
  EXPECT_EQ(events[0].kind, DriverEventKind::held);
  EXPECT_EQ(events[0].hold_code, 1);
  EXPECT_EQ(events[0].reason, "via condor_hold (by user htc)");
  EXPECT_EQ(events[1].kind, DriverEventKind::removed);
  EXPECT_EQ(events[1].reason, "cancelled (by user htc)");
}

TEST_F(FakeCondor, RemoveIsOneCondorRmOfTheOutstandingJobs) {
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(3));
  append_log(event(5, "10.001", "\t(1) Normal termination (return value 0)\n"));
  driver->wait_events(2s);
  const std::vector<JobKey> keys{{1, 0}, {2, 0}, {3, 0}, {3, 1}};
  driver->remove(keys, "no longer\nneeded");
  EXPECT_EQ(read_file(root_ / "rm.args"), "[-reason][no longer needed][10.0][10.2]\n");
}

TEST_F(FakeCondor, RemovingJobsThatAreGoneIsNotAnErrorButOtherFailuresAre) {
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(1));
  const std::vector<JobKey> keys{{1, 0}};
  write_file(root_ / "rm_gone", "");
  EXPECT_NO_THROW(driver->remove(keys, "x"));
  fs::remove(root_ / "rm_gone");
  write_file(root_ / "rm_denied", "");
  try {
    driver->remove(keys, "x");
    FAIL() << "no exception";
  } catch (const SchedulerError& error) {
    EXPECT_NE(std::string(error.what()).find("Permission denied"), std::string::npos);
  }
  EXPECT_THROW(driver->remove_all("x"), SchedulerError);
}

TEST_F(FakeCondor, UnreachableScheddIsRetriedWithinTheBoundThenQuoted) {
  o_.retry_attempts = 3;
  o_.retry_first_wait = 10ms;
  auto driver = make_htcondor_driver(t_, o_);
  write_file(root_ / "rm_unreachable", "");
  try {
    driver->remove_all("cancelled");
    ADD_FAILURE() << "remove_all succeeded against an unreachable schedd";
  } catch (const SchedulerError& error) {
    EXPECT_NE(std::string(error.what()).find("condor_rm exited with 1 (3 attempts"),
              std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("Failed to connect to local queue manager"),
              std::string::npos);
  }
  std::istringstream calls(read_file(root_ / "rm.args"));
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(calls), {}, '\n'), 3) << "three calls in all";
  fs::remove(root_ / "rm.args");
  EXPECT_THROW(driver->remove_all_quickly("SIGINT"), SchedulerError);
  std::istringstream quick(read_file(root_ / "rm.args"));
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(quick), {}, '\n'), 1)
      << "no retry when aborting";
  fs::remove(root_ / "rm_unreachable");
  EXPECT_NO_THROW(driver->remove_all("the schedd is back"));
}

TEST_F(FakeCondor, RemoveAllSelectsTheLineageAndItsDescendants) {
  o_.lineage = "root-b1/child-b7";
  auto driver = make_htcondor_driver(t_, o_);
  driver->remove_all("cancelled");
  EXPECT_EQ(read_file(root_ / "rm.args"),
            "[-reason][cancelled][-constraint][JhtcLineage =?= \"root-b1/child-b7\" || "
            "substr(JhtcLineage, 0, 17) =?= \"root-b1/child-b7/\"]\n");
}

TEST_F(FakeCondor, ALevelLimitSubmitsOnlyTheRoomTheScheddsCountLeaves) {
  o_.level = 1;
  auto driver = make_htcondor_driver(t_, o_);
  write_file(root_ / "q.out", "0\n1\n2\n");  // three jobs of the level in the schedd
  const LevelLimit limit{.level = 1, .cap = 5, .lock_path = (root_ / "L1.lock").string()};
  EXPECT_EQ(driver->submit_within(limit, jobs(4)), 2u);
  const std::string args = read_file(root_ / "submit.args");
  EXPECT_EQ(std::count(args.begin(), args.end(), '\n'), 1) << args;
  write_file(root_ / "q.out", "0\n1\n2\n3\n4\n");  // full
  EXPECT_EQ(driver->submit_within(limit, jobs(4)), 0u);
  EXPECT_EQ(read_file(root_ / "submit.args"), args) << "submitted past a full limit";
}

TEST_F(FakeCondor, ALevelLimitOfAnotherLevelIsRefusedNamingIt) {
  o_.level = 1;
  auto driver = make_htcondor_driver(t_, o_);
  try {
    driver->submit_within({.level = 2, .cap = 5}, jobs(1));
    FAIL() << "counted level 2 for jobs of level 1";
  } catch (const std::invalid_argument& error) {
    EXPECT_TRUE(std::string(error.what()).starts_with("level_limit.level: 2")) << error.what();
  }
  EXPECT_FALSE(fs::exists(root_ / "submit.args"));
}

TEST_F(FakeCondor, WakeInterruptsAWait) {
  auto driver = make_htcondor_driver(t_, o_);
  const auto start = std::chrono::steady_clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(100ms);
    driver->wake();
  });
  EXPECT_TRUE(driver->wait_events(10s).empty());
  waker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(FakeCondor, ReconcilesWithTheQueueAfterASilence) {
  o_.reconcile_after = 1s;
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(2));
  write_file(root_ / "q.out", "10.0 2 undefined false undefined undefined undefined undefined\n");
  write_file(root_ / "history.out", "10.1 4 7 false undefined undefined undefined undefined\n");
  const auto events = driver->wait_events(5s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, DriverEventKind::exited);
  EXPECT_EQ(events[0].task, 2u);
  EXPECT_EQ(events[0].exit_code, 7);
  append_log(event(5, "10.001", "\t(1) Normal termination (return value 7)\n"));  // late log
  EXPECT_TRUE(driver->wait_events(200ms).empty());
}

TEST_F(FakeCondor, FinishedJobsLeaveTheTablesOnceReported) {
  auto driver = make_htcondor_driver(t_, o_);
  driver->submit(jobs(3));
  EXPECT_EQ(tracked_htcondor_jobs(*driver), 6u);  // by job and by task attempt
  append_log(event(1, "10.000") +
             event(5, "10.000", "\t(1) Normal termination (return value 0)\n") +
             event(9, "10.001", "\tcancelled (by user htc)\n"));
  ASSERT_EQ(driver->wait_events(2s).size(), 3u);
  EXPECT_EQ(tracked_htcondor_jobs(*driver), 2u);  // 10.2 still in flight
  const std::vector<JobKey> finished{{1, 0}, {2, 0}};
  driver->remove(finished, "x");  // nothing left to remove: no condor_rm
  EXPECT_FALSE(fs::exists(root_ / "rm.args"));
  EXPECT_FALSE(driver->remove_if_idle({1, 0}));
  append_log(event(5, "10.000", "\t(1) Normal termination (return value 0)\n") +  // repeated
             event(5, "10.002", "\t(1) Normal termination (return value 4)\n"));
  const auto last = driver->wait_events(2s);
  ASSERT_EQ(last.size(), 1u);  // a late line of a forgotten job is not reported again
  EXPECT_EQ(last[0].task, 3u);
  EXPECT_EQ(last[0].exit_code, 4);
  EXPECT_EQ(tracked_htcondor_jobs(*driver), 0u);
}

TEST_F(FakeCondor, TrackedJobsRefusesAnotherDriver) {
  class NotHTCondor final : public SchedulerDriver {
   public:
    std::string_view name() const override { return "other"; }
    void submit(std::span<const JobRequest>) override {}
    std::vector<DriverEvent> wait_events(std::chrono::milliseconds) override { return {}; }
    void remove(std::span<const JobKey>, std::string_view) override {}
    void remove_all(std::string_view) override {}
    void wake() override {}
  };
  NotHTCondor other;
  EXPECT_THROW(tracked_htcondor_jobs(other), std::invalid_argument);
}

// resume=True: a killed run's job ends while the rerun looks for it. Each stand-in
// answers from where the job is, then the job leaves the queue for the history:
// whichever tool is asked first, the job leaves right after that question.
TEST_F(FakeCondor, FindJobsSeesAJobThatLeavesTheQueueBetweenItsTwoQuestions) {
  const std::string move = "echo history > \"$FAKE/where\"\n";
  write_file(root_ / "bin/condor_q", R"SH(#!/bin/sh
case " $* " in *" -totals "*) echo "Total for all users: 0 jobs"; exit 0;; esac
echo "$@" >> "$FAKE/find.args"
[ "$(cat "$FAKE/where")" = queue ] && echo "20.1 4 0 2"
)SH" + move,
             true);
  write_file(root_ / "bin/condor_history", R"SH(#!/bin/sh
echo "$@" >> "$FAKE/find.args"
[ "$(cat "$FAKE/where")" = history ] && echo "20.1 4 0 4"
)SH" + move,
             true);
  write_file(root_ / "where", "queue\n");
  auto driver = make_htcondor_driver(t_, o_);
  const std::vector<ExistingJob> found = driver->find_jobs("run-b1");
  ASSERT_EQ(found.size(), 1u) << "the job was in neither answer";
  EXPECT_EQ(found[0].job_id, "20.1");
  EXPECT_EQ(found[0].task, 4u);
  EXPECT_TRUE(found[0].in_queue);  // as the queue said; its end comes from the event log
  const std::string asked =
      "-constraint JhtcLineage =?= \"run-b1\" -af:j JhtcTask JhtcAttempt "
      "JobStatus\n";
  EXPECT_EQ(read_file(root_ / "find.args"), asked + asked);
}

TEST_F(FakeCondor, PoolCapacityAsksCondorStatusForEachMachineOnceWithThePool) {
  write_file(root_ / "bin/condor_status", R"SH(#!/bin/sh
echo "$@" >> "$FAKE/status.args"
printf 'a 8 32768\na 8 32768\nb 4 undefined\nc 2 4096\n'
)SH",
             true);
  const std::vector<MachineCapacity> machines =
      pool_capacity({.scheduler = "htcondor", .pool = "cm.example.org:9618"});
  ASSERT_EQ(machines.size(), 2u);
  EXPECT_EQ(machines[0].machine, "a");
  EXPECT_EQ(read_file(root_ / "status.args"),
            "-pool cm.example.org:9618 -af Machine TotalCpus TotalMemory\n");
}

TEST_F(FakeCondor, PoolCapacityThrowsSchedulerErrorWithCondorStatusWords) {
  write_file(root_ / "bin/condor_status",
             "#!/bin/sh\necho 'ERROR: Permission denied by the collector' >&2\nexit 1\n", true);
  try {
    pool_capacity({.scheduler = "htcondor"});
    FAIL() << "no exception";
  } catch (const SchedulerError& error) {
    EXPECT_NE(std::string(error.what()).find("condor_status exited with 1"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("Permission denied by the collector"),
              std::string::npos);
  }
}

TEST(PoolCapacity, TheLocalSchedulerReportsThisMachine) {
  const std::vector<MachineCapacity> machines = pool_capacity({.scheduler = "local"});
  ASSERT_EQ(machines.size(), 1u);
  EXPECT_GE(machines[0].cpus, 1);
  EXPECT_GT(machines[0].memory_mb, 0);
  EXPECT_THROW(pool_capacity({.scheduler = "slurm"}), std::invalid_argument);
}

}  // namespace
}  // namespace jhtc
