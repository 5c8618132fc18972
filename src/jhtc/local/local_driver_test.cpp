// The local scheduler with real processes (/bin/sh stands in for the worker).
#include "local/local_driver.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "jhtc/errors.hpp"

namespace jhtc {
namespace {

using namespace std::chrono_literals;

class LocalDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jhtc-local-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    driver_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Each job runs `sh -c SCRIPT TASKFILE`; the task file's name is the script's $0.
  SchedulerDriver& start(const std::string& script, unsigned cores = 4, double cpus = 1) {
    JobTemplate t;
    t.batch_name = "test";
    t.log_dir = dir_.string();
    t.python = "/bin/sh";
    t.worker_args = {"-c", script};
    t.cpus = cpus;
    t.environment = {{"JHTC_TEST_VAR", "from-template"}};
    t.options = {{"cores", std::to_string(cores)}, {"kill_grace_ms", "300"}};
    driver_ = make_local_driver(t);
    return *driver_;
  }
  void submit(std::vector<JobRequest> jobs) { driver_->submit(jobs); }
  // Collects events until `done` says enough, or 10 s pass.
  std::vector<DriverEvent> collect(const std::function<bool(const std::vector<DriverEvent>&)>& done) {
    std::vector<DriverEvent> all;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done(all) && std::chrono::steady_clock::now() < deadline) {
      auto events = driver_->wait_events(200ms);
      all.insert(all.end(), events.begin(), events.end());
    }
    return all;
  }
  static std::size_t count(const std::vector<DriverEvent>& events, DriverEventKind kind) {
    return std::count_if(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; });
  }

  std::filesystem::path dir_;
  std::unique_ptr<SchedulerDriver> driver_;
};

TEST_F(LocalDriverTest, ReportsExitCodesOfEachJob) {
  start("exit $(basename $0)");
  submit({{0, 0, "0"}, {1, 0, "3"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 2; });
  std::map<TaskId, int> codes;
  for (auto& e : events)
    if (e.kind == DriverEventKind::exited) codes[e.task] = e.exit_code;
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[1], 3);
  EXPECT_EQ(count(events, DriverEventKind::submitted), 2u);
}

TEST_F(LocalDriverTest, ReportsTheSignalThatKilledAWorker) {
  start("kill -9 $$");
  submit({{0, 0, "x"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().signal, 9);
}

TEST_F(LocalDriverTest, RunsNoMoreJobsThanCoresAllow) {
  // Each job records the number of running siblings in a shared file.
  const std::string marker = (dir_ / "running").string();
  start("echo start >> " + marker + "; sleep 0.3; echo stop >> " + marker, 4, 2);
  std::vector<JobRequest> jobs;
  for (TaskId i = 0; i < 6; ++i) jobs.push_back({i, 0, "t"});
  submit(jobs);
  collect([](auto& e) { return count(e, DriverEventKind::exited) == 6; });
  std::ifstream in(marker);
  int running = 0, peak = 0;
  for (std::string line; std::getline(in, line);) {
    running += line == "start" ? 1 : -1;
    peak = std::max(peak, running);
  }
  EXPECT_EQ(peak, 2) << "4 cores / request_cpus 2 allows exactly 2 at once";
}

TEST_F(LocalDriverTest, WorkerSeesTemplateEnvironmentAndWritesLogs) {
  start("echo $JHTC_TEST_VAR; echo oops >&2");
  submit({{7, 1, "t"}});
  collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  std::ifstream out(dir_ / "7.1.out"), err(dir_ / "7.1.err");
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "from-template");
  std::getline(err, line);
  EXPECT_EQ(line, "oops");
}

TEST_F(LocalDriverTest, RemoveEndsRunningAndPendingJobs) {
  start("sleep 30", 1);
  submit({{0, 0, "t"}, {1, 0, "t"}});
  collect([](auto& e) { return count(e, DriverEventKind::running) == 1; });
  const auto before = std::chrono::steady_clock::now();
  driver_->remove_all("test cancels");
  auto events = collect([](auto& e) { return count(e, DriverEventKind::removed) == 2; });
  EXPECT_EQ(count(events, DriverEventKind::removed), 2u);
  EXPECT_EQ(count(events, DriverEventKind::exited), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  for (auto& e : events) {
    if (e.kind == DriverEventKind::removed) {
      EXPECT_EQ(e.reason, "test cancels");
    }
  }
}

TEST_F(LocalDriverTest, WorkerIgnoringSigtermIsKilledAfterGrace) {
  start("trap '' TERM; sleep 30 & wait; sleep 30", 1);
  submit({{0, 0, "t"}});
  collect([](auto& e) { return count(e, DriverEventKind::running) == 1; });
  std::this_thread::sleep_for(100ms);  // let the trap be installed
  driver_->remove(std::vector<JobKey>{{0, 0}}, "stop");
  auto events = collect([](auto& e) { return count(e, DriverEventKind::removed) == 1; });
  EXPECT_EQ(count(events, DriverEventKind::removed), 1u);
}

TEST_F(LocalDriverTest, RefusesMoreCpusThanCores) {
  EXPECT_THROW(start("true", 2, 3), std::invalid_argument);
}

TEST_F(LocalDriverTest, MissingInterpreterFailsTheJobNotTheDriver) {
  JobTemplate t;
  t.log_dir = dir_.string();
  t.python = "/nonexistent/python";
  t.options = {{"cores", "1"}};
  driver_ = make_local_driver(t);
  submit({{0, 0, "t"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().exit_code, 127);
  EXPECT_NE(events.back().reason.find("/nonexistent/python"), std::string::npos);
}

}  // namespace
}  // namespace jhtc
