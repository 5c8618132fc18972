// The local scheduler with real processes (/bin/sh stands in for the worker), each
// test both with a fresh process per job and through the fork server, whose real
// protocol module (_fork_server.py) runs in python3 with a task runner that execs sh.
#include "local/local_driver.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "jhtc/errors.hpp"

namespace jhtc {
namespace {

using namespace std::chrono_literals;

// Stands in for `python -m joblib_htcondor.worker`: with --serve, the real fork
// server whose children exec `sh -c SCRIPT TASKFILE ATTEMPT`; otherwise that sh at once.
// FAKE_SERVE=fail makes the server die at start, FAKE_DELAY delays its start.
const char* const kFakeWorker = R"(
import importlib.util, os, sys, time
script = sys.argv[1]
if sys.argv[-1] != "--serve":
    os.execv("/bin/sh", ["sh", "-c", script, *sys.argv[2:]])
if os.environ.get("FAKE_SERVE") == "fail":
    sys.exit("fake fork server refuses to serve")
time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
spec = importlib.util.spec_from_file_location("fork_server", JHTC_FORK_SERVER_PY)
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)
run = lambda task, attempt: os.execv("/bin/sh", ["sh", "-c", script, task, str(attempt)])
sys.exit(server.serve(run))
)";

class LocalDriverTest : public ::testing::TestWithParam<bool> {
 protected:
  bool forking() const { return GetParam(); }
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ = std::filesystem::temp_directory_path() /
           ("jhtc-local-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    driver_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Each job runs `sh -c SCRIPT TASKFILE ATTEMPT`; the task file's name is the script's $0.
  SchedulerDriver& start(const std::string& script, unsigned cores = 4, double cpus = 1,
                         std::map<std::string, std::string> env = {}) {
    JobTemplate t;
    t.batch_name = "test";
    t.log_dir = dir_.string();
    t.cpus = cpus;
    if (forking()) {
      t.python = "python3";
      t.worker_args = {
          "-c", std::string("JHTC_FORK_SERVER_PY = '") + JHTC_FORK_SERVER_PY + "'\n" + kFakeWorker,
          script};
    } else {
      t.python = "/bin/sh";
      t.worker_args = {"-c", script};
    }
    t.environment = std::move(env);
    t.environment["JHTC_TEST_VAR"] = "from-template";
    driver_ = make_local_driver(
        t,
        {.cores = cores, .kill_grace = std::chrono::milliseconds(300), .fork_server = forking()});
    return *driver_;
  }
  void submit(std::vector<JobRequest> jobs) { driver_->submit(jobs); }
  // Collects events until `done` says enough, or 10 s pass.
  std::vector<DriverEvent> collect(
      const std::function<bool(const std::vector<DriverEvent>&)>& done) {
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

TEST_P(LocalDriverTest, ReportsExitCodesOfEachJob) {
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

TEST_P(LocalDriverTest, ReportsWhatEachJobUsedFromWait4) {
  // 100 MB touched and some CPU spent; exec: the job's process is python itself.
  start("exec python3 -c 'b = bytearray(100 * 2**20); sum(range(3 * 10**6))'");
  submit({{0, 0, "x", 300}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  const JobUsage& u = events.back().usage;
  ASSERT_TRUE(u.memory_mb && u.cpu_user_s && u.cpu_sys_s && u.wall_s);
  EXPECT_GE(*u.memory_mb, 100);  // ru_maxrss
  EXPECT_LT(*u.memory_mb, 1000);
  EXPECT_GT(*u.cpu_user_s + *u.cpu_sys_s, 0.0);
  EXPECT_GE(*u.wall_s, *u.cpu_user_s * 0.5) << "wall clock from start to exit";
  EXPECT_EQ(u.request_memory_mb, 300);
}

TEST_P(LocalDriverTest, ReportsTheSignalThatKilledAWorker) {
  start("kill -9 $$");
  submit({{0, 0, "x"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().signal, 9);
}

TEST_P(LocalDriverTest, RunsNoMoreJobsThanCoresAllow) {
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

TEST_P(LocalDriverTest, WorkerSeesTemplateEnvironmentAndWritesLogs) {
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

TEST_P(LocalDriverTest, RemoveEndsRunningAndPendingJobs) {
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

TEST_P(LocalDriverTest, WorkerIgnoringSigtermIsKilledAfterGrace) {
  start("trap '' TERM; sleep 30 & wait; sleep 30", 1);
  submit({{0, 0, "t"}});
  collect([](auto& e) { return count(e, DriverEventKind::running) == 1; });
  std::this_thread::sleep_for(100ms);  // let the trap be installed
  driver_->remove(std::vector<JobKey>{{0, 0}}, "stop");
  auto events = collect([](auto& e) { return count(e, DriverEventKind::removed) == 1; });
  EXPECT_EQ(count(events, DriverEventKind::removed), 1u);
}

TEST_P(LocalDriverTest, RefusesMoreCpusThanCores) {
  EXPECT_THROW(start("true", 2, 3), std::invalid_argument);
}

TEST_P(LocalDriverTest, OptionsOutOfRangeAreRefusedNamingTheField) {
  const auto refusal = [&](const LocalOptions& options) {
    try {
      make_local_driver(JobTemplate{}, options);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_TRUE(refusal({.cores = 0u, .fork_server = forking()}).starts_with("cores: 0"));
  EXPECT_TRUE(
      refusal({.cores = 1u, .kill_grace = std::chrono::milliseconds(-1), .fork_server = forking()})
          .starts_with("kill_grace: -1 ms"));
}

TEST_P(LocalDriverTest, MissingInterpreterFailsTheJobNotTheDriver) {
  JobTemplate t;
  t.log_dir = dir_.string();
  t.python = "/nonexistent/python";
  driver_ = make_local_driver(t, {.cores = 1, .fork_server = forking()});
  submit({{0, 0, "t"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().exit_code, 127);
  EXPECT_NE(events.back().reason.find("/nonexistent/python"), std::string::npos);
}

TEST_P(LocalDriverTest, JobsAreChildrenOfTheForkServerOnlyWhenForking) {
  const std::string file = (dir_ / "ppid").string();
  start("echo $PPID > " + file);
  submit({{0, 0, "t"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().exit_code, 0);
  std::ifstream in(file);
  pid_t parent = 0;
  in >> parent;
  ASSERT_GT(parent, 0);
  if (forking())
    EXPECT_NE(parent, ::getpid()) << "a forked job's parent is the zygote";
  else
    EXPECT_EQ(parent, ::getpid());
}

TEST_P(LocalDriverTest, RemovingAJobBeforeItStartsEndsItWhenItStarts) {
  const std::string marker = (dir_ / "finished").string();
  start("sleep 2; touch " + marker, 1, 1, {{"FAKE_DELAY", "0.5"}});
  submit({{0, 0, "t"}});
  driver_->remove(std::vector<JobKey>{{0, 0}}, "early");
  auto events = collect([](auto& e) { return count(e, DriverEventKind::removed) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::removed), 1u);
  EXPECT_EQ(count(events, DriverEventKind::exited), 0u);
  std::this_thread::sleep_for(2500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the removed job ran to its end";
}

INSTANTIATE_TEST_SUITE_P(SpawnAndFork, LocalDriverTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "fork" : "spawn"; });

// The fork server's own failures: only meaningful when forking.
using ForkServerDeathTest = LocalDriverTest;

TEST_P(ForkServerDeathTest, KillsAndReportsItsJobsThenSpawns) {
  // The first job kills its parent, the zygote, and would then run for 30 s.
  start("if [ $(basename $0) = die ]; then kill -9 $PPID; sleep 30; fi; exit 4", 2);
  const auto before = std::chrono::steady_clock::now();
  submit({{0, 0, "die"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().signal, 9);
  EXPECT_NE(events.back().reason.find("fork server"), std::string::npos) << events.back().reason;
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s) << "its sleep was not killed";
  submit({{1, 0, "live"}});  // now a fresh process: the parent is this test
  events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().exit_code, 4);
}

TEST_P(ForkServerDeathTest, JobsSentToAServerThatDiesAtStartAreSpawned) {
  // A script of its own: a zygote another test started for the same argv would serve.
  start("exit $(basename $0) # the server dies at start", 4, 1, {{"FAKE_SERVE", "fail"}});
  submit({{0, 0, "5"}, {1, 0, "0"}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 2; });
  std::map<TaskId, int> codes;
  for (auto& e : events)
    if (e.kind == DriverEventKind::exited) codes[e.task] = e.exit_code;
  EXPECT_EQ(codes[0], 5);
  EXPECT_EQ(codes[1], 0);
  EXPECT_EQ(count(events, DriverEventKind::running), 2u);
}

// Each job writes its parent's pid (the zygote's) to TASKFILE.ppid.
pid_t parent_of(const std::filesystem::path& task_file) {
  std::ifstream in(task_file.string() + ".ppid");
  pid_t parent = 0;
  in >> parent;
  return parent;
}

TEST_P(ForkServerDeathTest, OneZygoteServesEveryDriverOfTheProcess) {
  const std::string script = "echo $PPID > $0.ppid";
  start(script);
  submit({{0, 0, (dir_ / "first").string()}});
  collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  driver_.reset();  // the batch ends; the zygote stays
  start(script);
  submit({{0, 0, (dir_ / "second").string()}});
  collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  const pid_t zygote = parent_of(dir_ / "first");
  ASSERT_GT(zygote, 0);
  EXPECT_NE(zygote, ::getpid());
  EXPECT_EQ(parent_of(dir_ / "second"), zygote) << "the second batch started a zygote of its own";
}

TEST_P(ForkServerDeathTest, AJobKilledOrExitingAbruptlyLeavesTheZygoteServing) {
  start("case $(basename $0) in kill) kill -9 $$;; exit) exit 7;; esac; echo $PPID > $0.ppid");
  submit({{0, 0, (dir_ / "before").string()}});
  collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  submit({{1, 0, (dir_ / "kill").string()}, {2, 0, (dir_ / "exit").string()}});
  auto events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 2; });
  std::map<TaskId, DriverEvent> ended;
  for (auto& e : events)
    if (e.kind == DriverEventKind::exited) ended[e.task] = e;
  EXPECT_EQ(ended[1].signal, 9);
  EXPECT_EQ(ended[2].exit_code, 7);
  submit({{3, 0, (dir_ / "after").string()}});
  events = collect([](auto& e) { return count(e, DriverEventKind::exited) == 1; });
  ASSERT_EQ(count(events, DriverEventKind::exited), 1u);
  EXPECT_EQ(events.back().exit_code, 0);
  ASSERT_GT(parent_of(dir_ / "before"), 0);
  EXPECT_EQ(parent_of(dir_ / "after"), parent_of(dir_ / "before")) << "the zygote was replaced";
}

INSTANTIATE_TEST_SUITE_P(Fork, ForkServerDeathTest, ::testing::Values(true),
                         [](const auto&) { return "fork"; });

}  // namespace
}  // namespace jhtc
