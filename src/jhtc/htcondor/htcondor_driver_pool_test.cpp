// Integration tier: the driver against the real testbed pool. Skipped unless
// JHTC_TESTBED=1; run as the pool user with `testbed/pool run -- BINARY`.
// Jobs are `/bin/sh -c SCRIPT worker TASKFILE`; the task file's name chooses
// what the job does (exit 0, exit 3, or sleep until removed or held).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "htcondor/condor_tools.hpp"
#include "htcondor/htcondor_driver.hpp"
#include "jhtc/errors.hpp"
#include "util/run_command.hpp"

namespace jhtc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Pool : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* testbed = getenv("JHTC_TESTBED");
    if (!testbed || std::string(testbed) != "1")
      GTEST_SKIP() << "set JHTC_TESTBED=1 (testbed/pool run --)";
    const char* shared = getenv("JHTC_TESTBED_SHARED");
    root_ = fs::path(shared ? shared : fs::temp_directory_path().c_str()) /
            ("htcondor-driver-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    t_.batch_name = "jhtc-pooltest-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
    t_.batch_dir = (root_ / "batch").string();
    t_.log_dir = (root_ / "logs").string();
    t_.python = "/bin/sh";
    t_.worker_args = {"-c", "case \"$1\" in *fail*) exit 3;; *sleep*) sleep 300;; esac; exit 0",
                      "worker"};
    t_.memory_mb = 16;
    o_.poll_interval = std::chrono::milliseconds(100);
  }
  void TearDown() override {
    if (driver_) driver_->remove_all("test teardown");
    if (!root_.empty()) fs::remove_all(root_);
  }

  std::vector<JobRequest> make_jobs(int n, const std::map<int, std::string>& special = {}) {
    std::vector<JobRequest> jobs;
    for (int i = 1; i <= n; ++i) {
      const auto it = special.find(i);
      jobs.push_back(
          {static_cast<TaskId>(i), 0,
           (root_ / ("task-" + std::to_string(i) + (it == special.end() ? "" : "-" + it->second)))
               .string()});
    }
    return jobs;
  }

  // Collects events until `done` says enough or the deadline passes.
  template <typename Done>
  void collect(std::vector<DriverEvent>& all, Clock::duration limit, Done done) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline)
      for (DriverEvent& e : driver_->wait_events(1s)) all.push_back(std::move(e));
  }

  static int count(const std::vector<DriverEvent>& events, DriverEventKind kind) {
    return static_cast<int>(std::count_if(events.begin(), events.end(),
                                          [kind](const DriverEvent& e) { return e.kind == kind; }));
  }

  fs::path root_;
  JobTemplate t_;
  HTCondorOptions o_;
  std::unique_ptr<SchedulerDriver> driver_;
};

TEST_F(Pool, TwentyJobsInOneTransactionReportEveryOutcome) {
  driver_ = make_htcondor_driver(t_, o_);
  driver_->submit(make_jobs(20, {{18, "fail"}, {19, "sleep"}, {20, "sleep"}}));

  std::vector<DriverEvent> events;
  std::map<TaskId, std::string> job_of;
  bool held_requested = false, removal_requested = false;
  collect(events, 180s, [&] {
    for (const DriverEvent& e : events) job_of[e.task] = e.job_id;
    if (!removal_requested && job_of.count(19)) {
      const std::vector<JobKey> keys{{19, 0}};
      driver_->remove(keys, "removed by the pool test");
      removal_requested = true;
    }
    if (!held_requested && job_of.count(20)) {
      const auto r = util::run_command(
          {"condor_hold", "-reason", "held by the pool test", job_of[20]}, {.timeout = 30s});
      EXPECT_TRUE(r.succeeded()) << r.err;
      held_requested = true;
    }
    return count(events, DriverEventKind::exited) == 18 &&
           count(events, DriverEventKind::removed) == 1 &&
           count(events, DriverEventKind::held) == 1;
  });

  EXPECT_EQ(count(events, DriverEventKind::submitted), 20);
  EXPECT_GE(count(events, DriverEventKind::running), 18);
  EXPECT_EQ(count(events, DriverEventKind::exited), 18);
  std::set<std::string> clusters;
  for (const auto& [task, id] : job_of) clusters.insert(id.substr(0, id.find('.')));
  EXPECT_EQ(clusters.size(), 1u) << "all 20 jobs must be one cluster (one transaction)";
  for (const DriverEvent& e : events) {
    if (e.kind == DriverEventKind::exited) EXPECT_EQ(e.exit_code, e.task == 18 ? 3 : 0) << e.task;
    if (e.kind == DriverEventKind::removed) {
      EXPECT_EQ(e.task, 19u);
      EXPECT_NE(e.reason.find("removed by the pool test"), std::string::npos) << e.reason;
    }
    if (e.kind == DriverEventKind::held) {
      EXPECT_EQ(e.task, 20u);
      EXPECT_EQ(e.hold_code, 1);  // condor_hold by a user
      EXPECT_NE(e.reason.find("held by the pool test"), std::string::npos) << e.reason;
    }
  }

  // 19 jobs reported finished are forgotten; the held one is still tracked (by job and
  // by task attempt)
  EXPECT_EQ(tracked_htcondor_jobs(*driver_), 2u);
  driver_->remove_all("the pool test is done");
  collect(events, 60s, [&] { return count(events, DriverEventKind::removed) == 2; });
  EXPECT_EQ(count(events, DriverEventKind::removed), 2);  // the held job went too
  EXPECT_EQ(tracked_htcondor_jobs(*driver_), 0u);
  const auto left = util::run_command(
      {"condor_q", "-constraint", htcondor::lineage_constraint(t_.batch_name), "-af", "ClusterId"},
      {.timeout = 30s});
  EXPECT_TRUE(left.succeeded());
  EXPECT_EQ(left.out, "");
}

TEST_F(Pool, ArgumentsAndEnvironmentArriveExactlyAsGiven) {
  t_.worker_args = {"-c", "printf '%s|%s|%s|%s' \"$A\" \"$0\" \"$1\" \"$CONDOR_CONFIG\"",
                    "it's \"x\"  y"};
  t_.environment = {{"A", "spacey 'q' \"v\" $HOME;\ttab"}};
  driver_ = make_htcondor_driver(t_, o_);
  const auto jobs = make_jobs(1);
  driver_->submit(jobs);
  std::vector<DriverEvent> events;
  collect(events, 120s, [&] { return count(events, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1);
  std::ifstream in(root_ / "logs" / "1.0.out");
  std::stringstream out;
  out << in.rdbuf();
  EXPECT_EQ(out.str(), "spacey 'q' \"v\" $HOME;\ttab|it's \"x\"  y|" + jobs[0].task_file + "|" +
                           std::string(getenv("CONDOR_CONFIG") ? getenv("CONDOR_CONFIG") : ""));
}

TEST_F(Pool, PoolAndScheddOptionsReachTheNamedSchedd) {
  const auto collector =
      util::run_command({"condor_config_val", "COLLECTOR_HOST"}, {.timeout = 30s});
  const auto schedd =
      util::run_command({"condor_status", "-schedd", "-af", "Name"}, {.timeout = 30s});
  ASSERT_TRUE(collector.succeeded() && schedd.succeeded()) << collector.err << schedd.err;
  o_.pool = collector.out.substr(0, collector.out.find('\n'));
  o_.schedd = schedd.out.substr(0, schedd.out.find('\n'));
  driver_ = make_htcondor_driver(t_, o_);
  driver_->submit(make_jobs(2));
  std::vector<DriverEvent> events;
  collect(events, 120s, [&] { return count(events, DriverEventKind::exited) == 2; });
  EXPECT_EQ(count(events, DriverEventKind::exited), 2);

  o_.schedd = "no-such-schedd@nowhere";
  try {
    make_htcondor_driver(t_, o_);
    FAIL() << "no exception";
  } catch (const SchedulerUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("scheduler=\"local\""), std::string::npos)
        << error.what();
  }
}

TEST_F(Pool, RemoveAllReachesDescendantLineagesOnly) {
  JobTemplate child = t_;
  child.batch_name = t_.batch_name + "-child";
  child.batch_dir = (root_ / "child").string();
  HTCondorOptions child_options = o_;
  child_options.lineage = t_.batch_name + "/" + child.batch_name;
  JobTemplate stranger = t_;
  stranger.batch_name = t_.batch_name + "x";  // a lineage that only shares a prefix
  stranger.batch_dir = (root_ / "stranger").string();

  driver_ = make_htcondor_driver(t_, o_);
  auto child_driver = make_htcondor_driver(child, child_options);
  auto stranger_driver = make_htcondor_driver(stranger, o_);
  driver_->submit(make_jobs(1, {{1, "sleep"}}));
  child_driver->submit(make_jobs(1, {{1, "sleep"}}));
  stranger_driver->submit(make_jobs(1, {{1, "sleep"}}));

  driver_->remove_all("parent cancelled");
  std::vector<DriverEvent> parent_events, child_events, stranger_events;
  collect(parent_events, 60s, [&] { return count(parent_events, DriverEventKind::removed) == 1; });
  const auto deadline = Clock::now() + 60s;
  while (count(child_events, DriverEventKind::removed) == 0 && Clock::now() < deadline)
    for (DriverEvent& e : child_driver->wait_events(1s)) child_events.push_back(e);
  for (DriverEvent& e : stranger_driver->wait_events(2s)) stranger_events.push_back(e);
  EXPECT_EQ(count(parent_events, DriverEventKind::removed), 1);
  EXPECT_EQ(count(child_events, DriverEventKind::removed), 1);
  EXPECT_EQ(count(stranger_events, DriverEventKind::removed), 0);
  const auto still_queued =
      util::run_command({"condor_q", "-constraint",
                         htcondor::lineage_constraint(stranger.batch_name), "-af", "ClusterId"},
                        {.timeout = 30s});
  EXPECT_TRUE(still_queued.succeeded()) << still_queued.err;
  EXPECT_NE(still_queued.out, "") << "a lineage sharing only a name prefix was removed";
  stranger_driver->remove_all("cleanup");
}

TEST_F(Pool, RemoveIfIdleRemovesAnIdleJobAndLeavesARunningOne) {
  JobTemplate never = t_;  // a job no slot matches stays idle
  never.batch_name = t_.batch_name + "-idle";
  never.batch_dir = (root_ / "idle").string();
  HTCondorOptions never_options = o_;
  never_options.extra_directives = {{"requirements", "False"}};
  auto idle_driver = make_htcondor_driver(never, never_options);
  driver_ = make_htcondor_driver(t_, o_);
  idle_driver->submit(make_jobs(1, {{1, "sleep"}}));
  driver_->submit(make_jobs(1, {{1, "sleep"}}));
  std::vector<DriverEvent> events;
  collect(events, 60s, [&] { return count(events, DriverEventKind::running) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::running), 1) << "the running job never started";
  EXPECT_FALSE(driver_->remove_if_idle({1, 0})) << "a running job was removed";
  EXPECT_TRUE(idle_driver->remove_if_idle({1, 0}));
  std::vector<DriverEvent> idle_events;
  const auto deadline = Clock::now() + 60s;
  while (count(idle_events, DriverEventKind::removed) == 0 && Clock::now() < deadline)
    for (DriverEvent& e : idle_driver->wait_events(1s)) idle_events.push_back(e);
  EXPECT_EQ(count(idle_events, DriverEventKind::removed), 1);
  EXPECT_FALSE(idle_driver->remove_if_idle({1, 0})) << "gone: nothing to remove";
  EXPECT_FALSE(driver_->remove_if_idle({7, 0})) << "never submitted";
}

TEST_F(Pool, RemoveLineageWithAHostileValueRemovesNothing) {
  driver_ = make_htcondor_driver(t_, o_);
  driver_->submit(make_jobs(1, {{1, "sleep"}}));
  const SchedulerAddress here{"htcondor", "", "", 30s};
  EXPECT_THROW(remove_lineage(here, "x\" || true || \"", "hostile"), std::invalid_argument);
  EXPECT_FALSE(remove_lineage(here, t_.batch_name + "-nobody", "no such lineage"));
  std::vector<DriverEvent> events;
  for (DriverEvent& e : driver_->wait_events(2s)) events.push_back(e);
  EXPECT_EQ(count(events, DriverEventKind::removed), 0) << "a job outside the lineage was removed";
  EXPECT_TRUE(remove_lineage(here, t_.batch_name, "the pool test is done"));
  collect(events, 60s, [&] { return count(events, DriverEventKind::removed) == 1; });
  EXPECT_EQ(count(events, DriverEventKind::removed), 1);
}

TEST_F(Pool, TwoThousandJobsGoInOneCallAndAreAllTracked) {
  t_.worker_args = {"-c", "sleep 300", "worker"};  // so that removal, not completion, ends them
  driver_ = make_htcondor_driver(t_, o_);
  const auto jobs = make_jobs(2000);
  const auto start = Clock::now();
  driver_->submit(jobs);
  const double submit_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "[figure] submit() of 2000 jobs: " << submit_s << " s\n";
  EXPECT_LT(submit_s, 60.0);

  std::vector<DriverEvent> events;
  collect(events, 120s, [&] { return count(events, DriverEventKind::submitted) == 2000; });
  EXPECT_EQ(count(events, DriverEventKind::submitted), 2000);
  const auto rm_start = Clock::now();
  driver_->remove_all("bulk test done");
  collect(events, 180s, [&] { return count(events, DriverEventKind::removed) == 2000; });
  std::cout << "[figure] remove_all() to 2000 removed events: "
            << std::chrono::duration<double>(Clock::now() - rm_start).count() << " s\n";
  EXPECT_EQ(count(events, DriverEventKind::removed), 2000);
}

// The driver's poll would come only every 10 minutes: a wait_events() that ends before
// its 120 s timeout was woken by inotify when the schedd wrote the log (a wait that
// timed out reads the log too, so only how it ended tells the two apart).
TEST_F(Pool, EventLogOnALocalDiskIsFollowedWithInotify) {
  o_.poll_interval = std::chrono::minutes(10);
  driver_ = make_htcondor_driver(t_, o_);
  driver_->submit(make_jobs(2));
  std::vector<DriverEvent> events;
  for (int call = 0; call < 20 && count(events, DriverEventKind::exited) < 2; ++call) {
    const auto started = Clock::now();
    for (DriverEvent& e : driver_->wait_events(120s)) events.push_back(std::move(e));
    ASSERT_LT(Clock::now() - started, 119s) << "wait_events() ended by its timeout: no inotify";
  }
  EXPECT_EQ(count(events, DriverEventKind::exited), 2);
}

// inotify turned off, as where it is not to be had: the poll alone reads the log.
TEST_F(Pool, EventLogIsPolledWhenInotifyIsOff) {
  o_.event_log_inotify = false;
  o_.poll_interval = std::chrono::milliseconds(100);
  driver_ = make_htcondor_driver(t_, o_);
  driver_->submit(make_jobs(2));
  std::vector<DriverEvent> events;
  const auto deadline = Clock::now() + 240s;
  while (count(events, DriverEventKind::exited) < 2 && Clock::now() < deadline)
    for (DriverEvent& e : driver_->wait_events(300s)) events.push_back(std::move(e));
  EXPECT_EQ(count(events, DriverEventKind::exited), 2);
}

}  // namespace
}  // namespace jhtc
