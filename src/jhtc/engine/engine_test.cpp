// Engine behaviour against a scripted driver: the test plays the scheduler.
#include "jhtc/engine.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "jhtc/errors.hpp"

namespace jhtc {
namespace {

using namespace std::chrono_literals;

DriverEvent event(DriverEventKind kind, TaskId task, int attempt, std::string job_id,
                  int exit_code = -1) {
  DriverEvent e;
  e.kind = kind;
  e.task = task;
  e.attempt = attempt;
  e.job_id = std::move(job_id);
  e.exit_code = exit_code;
  return e;
}

struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<JobRequest>> transactions;
  std::vector<DriverEvent> pending_events;
  std::vector<JobKey> removed;
  int remove_all_calls = 0;
  bool fail_submit = false;
  bool fail_remove = false;      // remove() throws, as the HTCondor driver does after its retries
  bool fail_remove_all = false;  // remove_all() throws likewise
  bool fail_wait = false;        // wait_events() throws once, then clears it
  bool block_submit = false;     // submit() waits until the test clears it
  bool submit_entered = false;
  std::vector<ExistingJob> existing;  // what find_jobs() answers
  std::vector<TrackedJob> tracked;    // what track_jobs() was given
  std::string tracked_lineage, tracked_log;
  bool fail_track = false;  // track_jobs() throws
  // Whether SIGTERM was blocked in the thread that called submit() (the dispatcher)
  // and wait_events() (the tracker); -1: not called yet.
  int submit_blocked_sigterm = -1;
  int wait_blocked_sigterm = -1;
};

int sigterm_blocked_here() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, SIGTERM);
}

class ScriptedDriver final : public SchedulerDriver {
 public:
  explicit ScriptedDriver(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  std::string_view name() const override { return "scripted"; }
  void submit(std::span<const JobRequest> jobs) override {
    std::unique_lock lock(script_->mutex);
    script_->submit_entered = true;
    script_->submit_blocked_sigterm = sigterm_blocked_here();
    script_->changed.notify_all();
    script_->changed.wait(lock, [&] { return !script_->block_submit; });
    if (script_->fail_submit) throw std::runtime_error("schedd said no");
    script_->transactions.emplace_back(jobs.begin(), jobs.end());
    script_->changed.notify_all();
  }
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(script_->mutex);
    script_->wait_blocked_sigterm = sigterm_blocked_here();
    if (std::exchange(script_->fail_wait, false)) throw std::runtime_error("event log unreadable");
    script_->changed.wait_for(lock, timeout,
                              [&] { return !script_->pending_events.empty() || woken_; });
    woken_ = false;
    return std::exchange(script_->pending_events, {});
  }
  void remove(std::span<const JobKey> jobs, std::string_view) override {
    std::lock_guard lock(script_->mutex);
    if (script_->fail_remove)
      throw SchedulerError(
          "condor_rm exited with 1: ERROR: Failed to connect to local queue manager");
    script_->removed.insert(script_->removed.end(), jobs.begin(), jobs.end());
    script_->changed.notify_all();
  }
  void remove_all(std::string_view) override {
    std::lock_guard lock(script_->mutex);
    if (script_->fail_remove_all)
      throw SchedulerError(
          "condor_rm exited with 1: ERROR: Failed to connect to local queue manager");
    ++script_->remove_all_calls;
  }
  std::vector<ExistingJob> find_jobs(std::string_view) override {
    std::lock_guard lock(script_->mutex);
    return script_->existing;
  }
  void track_jobs(std::string_view lineage, std::string_view event_log,
                  std::span<const TrackedJob> jobs) override {
    std::lock_guard lock(script_->mutex);
    if (script_->fail_track) throw std::invalid_argument("job_id: \"x\" is not CLUSTER.PROC");
    script_->tracked_lineage = lineage;
    script_->tracked_log = event_log;
    script_->tracked.assign(jobs.begin(), jobs.end());
  }
  void wake() override {
    std::lock_guard lock(script_->mutex);
    woken_ = true;
    script_->changed.notify_all();
  }

 private:
  std::shared_ptr<Script> script_;
  bool woken_ = false;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jhtc-engine-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  Engine& start(EngineConfig config) {
    config.event_timeout = 20ms;
    engine_ = std::make_unique<Engine>(config, std::make_unique<ScriptedDriver>(script_));
    return *engine_;
  }
  std::string result_path(int i) const { return (dir_ / (std::to_string(i) + ".result")).string(); }
  void write_result(TaskId task) { std::ofstream(result_path(static_cast<int>(task))) << "ok"; }
  TaskId submit(int i) { return engine_->submit("task" + std::to_string(i), result_path(i)); }

  // Waits until the driver has seen `n` jobs in all; returns them.
  std::vector<JobRequest> wait_for_jobs(std::size_t n) {
    std::unique_lock lock(script_->mutex);
    auto count = [&] {
      std::size_t total = 0;
      for (auto& t : script_->transactions) total += t.size();
      return total;
    };
    EXPECT_TRUE(script_->changed.wait_for(lock, 5s, [&] { return count() >= n; }))
        << "driver saw " << count() << " jobs, expected " << n;
    std::vector<JobRequest> all;
    for (auto& t : script_->transactions) all.insert(all.end(), t.begin(), t.end());
    return all;
  }
  // Waits until a job of `task` reached the driver; returns its latest attempt.
  JobRequest wait_for_task(TaskId task) {
    std::unique_lock lock(script_->mutex);
    JobRequest found;
    const bool seen = script_->changed.wait_for(lock, 5s, [&] {
      for (auto& t : script_->transactions)
        for (auto& job : t)
          if (job.task == task) found = job;
      return found.task == task && !found.task_file.empty();
    });
    EXPECT_TRUE(seen) << "no job of task " << task << " within 5 s";
    return found;
  }
  void emit(DriverEvent event) {
    std::lock_guard lock(script_->mutex);
    script_->pending_events.push_back(std::move(event));
    script_->changed.notify_all();
  }
  void exit_ok(const JobRequest& job) {
    write_result(job.task);
    emit(event(DriverEventKind::exited, job.task, job.attempt, "1." + std::to_string(job.task), 0));
  }
  TaskOutcome next() {
    auto outcome = engine_->next_outcome(5s);
    EXPECT_TRUE(outcome.has_value()) << "no outcome within 5 s";
    return outcome.value_or(TaskOutcome{});
  }

  std::shared_ptr<Script> script_ = std::make_shared<Script>();
  std::unique_ptr<Engine> engine_;
  std::filesystem::path dir_;
};

TEST_F(EngineTest, ItsThreadsLeaveSignalsToTheCallersThreads) {
  // A SIGTERM taken by an engine thread would leave a Python main thread blocked in
  // a C call without running its handler (util/quiet_thread.hpp).
  ASSERT_EQ(sigterm_blocked_here(), 0);
  start({.throttle = 1});
  submit(0);
  wait_for_jobs(1);
  for (int i = 0; i < 500; ++i) {  // the tracker waits in a loop from the start: 20 ms each
    std::lock_guard lock(script_->mutex);
    if (script_->wait_blocked_sigterm != -1) break;
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->submit_blocked_sigterm, 1) << "the dispatcher thread";
  EXPECT_EQ(script_->wait_blocked_sigterm, 1) << "the tracker thread";
  EXPECT_EQ(sigterm_blocked_here(), 0) << "the creating thread's mask is left as it was";
}

TEST_F(EngineTest, ThrottleCapsTasksInTheScheduler) {
  start({.throttle = 2});
  for (int i = 0; i < 5; ++i) submit(i);
  auto jobs = wait_for_jobs(2);
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(wait_for_jobs(2).size(), 2u) << "a third job went out past the throttle";
  exit_ok(jobs[0]);
  EXPECT_EQ(next().kind, OutcomeKind::done);
  EXPECT_EQ(wait_for_jobs(3).size(), 3u);
}

TEST_F(EngineTest, AdoptTakesOverTheEarlierBatchsJobsOfTheTasksAskedFor) {
  start({.throttle = 1, .max_retries = 2});
  script_->existing = {{7, 1, "40.2", true}, {8, 0, "41.0", false}, {9, 0, "41.1", true}};
  const AdoptionTask wanted[] = {{7, "old/7.task", result_path(70)},
                                 {8, "old/8.task", result_path(80)},
                                 {10, "old/10.task", result_path(100)}};
  const auto adopted = engine_->adopt("run/old", "old/condor.log", wanted);
  ASSERT_EQ(adopted.size(), 2u);  // 9 was not asked for, 10 has no job
  EXPECT_EQ(adopted[0].earlier_task, 7u);
  EXPECT_EQ(adopted[0].attempt, 1);
  EXPECT_EQ(adopted[0].job_id, "40.2");
  EXPECT_EQ(script_->tracked_lineage, "run/old");
  EXPECT_EQ(script_->tracked_log, "old/condor.log");
  ASSERT_EQ(script_->tracked.size(), 2u);
  EXPECT_EQ(script_->tracked[0].key.task, adopted[0].task);
  EXPECT_EQ(script_->tracked[0].key.attempt, 1);
  // The job ends: the outcome is the adopted task's, read from the earlier batch's result.
  std::ofstream(result_path(70)) << "ok";
  emit(event(DriverEventKind::exited, adopted[0].task, 1, "40.2", 0));
  const TaskOutcome done = next();
  EXPECT_EQ(done.task, adopted[0].task);
  EXPECT_EQ(done.kind, OutcomeKind::done);
  EXPECT_EQ(done.attempts, 2);
  // A new task waits: the adopted ones hold the throttle's one slot (and more).
  const TaskId fresh = submit(1);
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_TRUE(script_->transactions.empty()) << "a job went out past the throttle";
  }
  // An adopted job that fails is not retried here: no job would have its identity.
  emit(event(DriverEventKind::exited, adopted[1].task, 0, "41.0", 1));
  const TaskOutcome failed = next();
  EXPECT_EQ(failed.kind, OutcomeKind::failed);
  EXPECT_NE(failed.reason.find("exited with code 1"), std::string::npos) << failed.reason;
  EXPECT_EQ(wait_for_task(fresh).task_file, "task1");  // its slot went to the waiting task
  std::lock_guard lock(script_->mutex);
  for (const auto& t : script_->transactions)
    for (const auto& job : t) EXPECT_EQ(job.task, fresh) << "an adopted task was resubmitted";
}

TEST_F(EngineTest, AdoptFindingNoJobsAdoptsNothingAndTracksNothing) {
  start({.throttle = 2});
  const AdoptionTask wanted[] = {{3, "old/3.task", result_path(3)}};
  EXPECT_TRUE(engine_->adopt("run/old", "old/condor.log", wanted).empty());
  EXPECT_TRUE(script_->tracked_log.empty());
  EXPECT_EQ(engine_->stats().submitted, 0u);
}

TEST_F(EngineTest, AdoptThatCannotTrackTheJobsThrowsAndEndsTheTasksItMade) {
  start({.throttle = 1});
  script_->existing = {{4, 0, "50.0", true}};
  script_->fail_track = true;
  const AdoptionTask wanted[] = {{4, "old/4.task", result_path(4)}};
  EXPECT_THROW(engine_->adopt("run/old", "old/condor.log", wanted), std::invalid_argument);
  const TaskOutcome ended = next();
  EXPECT_EQ(ended.kind, OutcomeKind::cancelled);
  EXPECT_NE(ended.reason.find("could not be adopted"), std::string::npos) << ended.reason;
  const TaskId fresh = submit(1);  // its throttle slot is free again
  EXPECT_EQ(wait_for_task(fresh).task, fresh);
}

// The longest gather (60 s) is beyond wait_for_jobs' 5 s: only the quiet ends this burst.
TEST_F(EngineTest, BurstFollowedByQuietIsOneTransaction) {
  start({.throttle = 100, .gather = {.quiet = 1s, .most = 60s}});
  for (int i = 0; i < 50; ++i) submit(i);
  wait_for_jobs(50);
  EXPECT_EQ(engine_->stats().transactions, 1u);
}

// Never quiet for 60 s: without the longest gather nothing would be submitted while
// tasks keep coming.
TEST_F(EngineTest, TrickleOfSubmitsIsCutAtTheLongestGather) {
  start({.throttle = 1000, .gather = {.quiet = 60s, .most = 200ms}});
  int submitted = 0;
  bool cut = false;
  while (!cut && submitted < 500) {
    submit(submitted++);
    std::this_thread::sleep_for(10ms);
    std::lock_guard lock(script_->mutex);
    cut = !script_->transactions.empty();
  }
  ASSERT_TRUE(cut) << "no transaction during a trickle of " << submitted << " tasks";
  submit(submitted++);  // the trickle goes on after the cut, and goes out too
  EXPECT_EQ(wait_for_jobs(submitted).size(), static_cast<std::size_t>(submitted));
}

TEST_F(EngineTest, BurstThatFillsTheFreeSlotsGoesOutWithoutWaitingForQuiet) {
  start({.throttle = 3, .gather = {.quiet = 60s, .most = 60s}});
  for (int i = 0; i < 3; ++i) submit(i);
  EXPECT_EQ(wait_for_jobs(3).size(), 3u);
}

TEST_F(EngineTest, HeldJobIsRemovedAndRetriedThenFailsWithHoldReason) {
  start({.throttle = 4, .max_retries = 1});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  DriverEvent held = event(DriverEventKind::held, job.task, 0, "7.0");
  held.reason = "memory usage exceeded request_memory";
  held.hold_code = 34;
  held.hold_subcode = 102;
  emit(held);
  auto retry = wait_for_jobs(2)[1];
  EXPECT_EQ(retry.attempt, 1);
  {
    std::lock_guard lock(script_->mutex);
    ASSERT_EQ(script_->removed.size(), 1u);
    EXPECT_EQ(script_->removed[0].attempt, 0) << "must remove the held attempt, not the retry";
  }
  held.attempt = 1;
  held.job_id = "8.0";
  emit(held);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("memory usage exceeded request_memory"), std::string::npos);
  EXPECT_NE(outcome.reason.find("HoldReasonCode 34"), std::string::npos);
  EXPECT_NE(outcome.reason.find("8.0"), std::string::npos);
  EXPECT_EQ(outcome.attempts, 2);
}

TEST_F(EngineTest, HeldJobThatCannotBeRemovedFailsItsTaskAsSchedulerErrorAndTheEngineLives) {
  // The issue-14 reproduction: before the barrier, this terminate()d the process.
  start({.throttle = 4, .max_retries = 2});
  {
    std::lock_guard lock(script_->mutex);
    script_->fail_remove = true;
  }
  submit(0);
  auto job = wait_for_jobs(1)[0];
  DriverEvent held = event(DriverEventKind::held, job.task, 0, "7.0");
  held.reason = "policy";
  emit(held);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_TRUE(outcome.scheduler_error);
  EXPECT_NE(outcome.reason.find("Failed to connect to local queue manager"), std::string::npos)
      << outcome.reason;
  {
    std::lock_guard lock(script_->mutex);
    script_->fail_remove = false;
  }
  exit_ok(wait_for_task(submit(1)));  // the engine still works
  EXPECT_EQ(next().kind, OutcomeKind::done);
  // The held job may still be queued: shutdown removes the batch's jobs although
  // no task of the engine is in the scheduler any more.
  engine_->shutdown();
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->remove_all_calls, 1);
}

TEST_F(EngineTest, ShutdownJoinsItsThreadsThenThrowsWhenRemovingTheJobsFails) {
  start({.throttle = 4});
  submit(0);
  wait_for_jobs(1);
  {
    std::lock_guard lock(script_->mutex);
    script_->fail_remove_all = true;
  }
  EXPECT_THROW(engine_->shutdown(), SchedulerError);
  EXPECT_EQ(next().kind, OutcomeKind::cancelled);
  EXPECT_NO_THROW(engine_->shutdown());  // idempotent: stopped already
  EXPECT_THROW(submit(1), std::logic_error);
}

TEST_F(EngineTest, DestructorDoesNotThrowWhenRemovingTheJobsFails) {
  start({.throttle = 4});
  submit(0);
  wait_for_jobs(1);
  {
    std::lock_guard lock(script_->mutex);
    script_->fail_remove_all = true;
  }
  EXPECT_NO_THROW(engine_.reset());
}

TEST_F(EngineTest, UnreadableEventsFailTheUnfinishedTasksAndTrackingGoesOn) {
  start({.throttle = 4});
  submit(0);
  wait_for_jobs(1);
  {
    std::lock_guard lock(script_->mutex);
    script_->fail_wait = true;
    script_->changed.notify_all();
  }
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_TRUE(outcome.scheduler_error);
  EXPECT_NE(outcome.reason.find("event log unreadable"), std::string::npos) << outcome.reason;
  exit_ok(wait_for_task(submit(1)));
  EXPECT_EQ(next().kind, OutcomeKind::done);
}

TEST_F(EngineTest, ExitZeroWithoutResultIsRetried) {
  start({.throttle = 4, .max_retries = 2});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  emit(event(DriverEventKind::exited, job.task, 0, "1.0", 0));
  auto retry = wait_for_jobs(2)[1];
  exit_ok(retry);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::done);
  EXPECT_EQ(outcome.attempts, 2);
  EXPECT_EQ(engine_->stats().retries, 1u);
}

TEST_F(EngineTest, KilledWorkerFailsWithSignalAfterRetries) {
  start({.throttle = 4, .max_retries = 0});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  DriverEvent killed = event(DriverEventKind::exited, job.task, 0, "3.0");
  killed.signal = 9;
  emit(killed);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("signal 9"), std::string::npos) << outcome.reason;
}

TEST_F(EngineTest, FailureReasonCarriesTheDriversOwnAccount) {
  start({.throttle = 4, .max_retries = 0});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  DriverEvent killed = event(DriverEventKind::exited, job.task, 0, "local");
  killed.signal = 9;
  killed.reason = "the fork server died";
  emit(killed);
  TaskOutcome outcome = next();
  EXPECT_NE(outcome.reason.find("signal 9 (the fork server died)"), std::string::npos)
      << outcome.reason;
}

TEST_F(EngineTest, StaleEventsOfEarlierAttemptsAreIgnored) {
  start({.throttle = 4, .max_retries = 1});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  emit(event(DriverEventKind::exited, job.task, 0, "1.0", 1));
  wait_for_jobs(2);
  DriverEvent stale = event(DriverEventKind::removed, job.task, 0, "1.0");
  stale.reason = "old news";
  emit(stale);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(engine_->next_outcome(0ms).has_value()) << "a stale event finished the task";
}

TEST_F(EngineTest, RemovalBySomebodyElseFailsWithoutRetry) {
  start({.throttle = 4, .max_retries = 3});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  DriverEvent removed = event(DriverEventKind::removed, job.task, 0, "5.0");
  removed.reason = "via condor_rm (by user admin)";
  emit(removed);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("by user admin"), std::string::npos);
}

TEST_F(EngineTest, CancelAllEndsEveryTaskAndRemovesJobs) {
  start({.throttle = 2});
  for (int i = 0; i < 4; ++i) submit(i);
  wait_for_jobs(2);
  engine_->cancel_all("user pressed ctrl-c");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(next().kind, OutcomeKind::cancelled);
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->remove_all_calls, 1);
}

TEST_F(EngineTest, JobsCancelledWhileBeingSubmittedAreRemovedOnceSubmitted) {
  script_->block_submit = true;
  start({.throttle = 2});
  submit(0);
  submit(1);
  {
    std::unique_lock lock(script_->mutex);
    ASSERT_TRUE(script_->changed.wait_for(lock, 5s, [&] { return script_->submit_entered; }));
  }
  engine_->cancel_all("cancelled mid-submission");  // remove_all finds nothing queued yet
  {
    std::lock_guard lock(script_->mutex);
    script_->block_submit = false;
    script_->changed.notify_all();
  }
  std::unique_lock lock(script_->mutex);
  EXPECT_TRUE(script_->changed.wait_for(lock, 5s, [&] { return script_->removed.size() == 2; }))
      << "jobs that reached the scheduler after cancel_all were left there";
}

TEST_F(EngineTest, RunningTasksStopCountingWhenConfigured) {
  start({.throttle = 1, .count_running = false});
  submit(0);
  submit(1);
  auto job = wait_for_jobs(1)[0];
  emit(event(DriverEventKind::running, job.task, 0, "1.0"));
  EXPECT_EQ(wait_for_jobs(2).size(), 2u);
}

TEST_F(EngineTest, FailedSubmissionFailsTheTasksWithTheSchedulersMessage) {
  script_->fail_submit = true;
  start({.throttle = 4});
  submit(0);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("schedd said no"), std::string::npos);
}

TEST_F(EngineTest, ZeroThrottleIsRefused) {
  EXPECT_THROW(Engine({.throttle = 0}, std::make_unique<ScriptedDriver>(script_)),
               std::invalid_argument);
}

TEST_F(EngineTest, ShutdownWakesACollectorWaitingForOutcomes) {
  start({.throttle = 1});
  submit(0);
  std::optional<TaskOutcome> first, second;
  // Waits far longer than the test may run: only shutdown() can end the wait in time.
  std::thread collector([&] {
    first = engine_->next_outcome(std::chrono::hours(1));
    second = engine_->next_outcome(std::chrono::hours(1));
  });
  engine_->shutdown();
  collector.join();
  ASSERT_TRUE(first.has_value()) << "the task's cancelled outcome is still delivered";
  EXPECT_EQ(first->kind, OutcomeKind::cancelled);
  EXPECT_FALSE(second.has_value());
}

TEST_F(EngineTest, SubmitAfterShutdownThrows) {
  start({.throttle = 1});
  engine_->shutdown();
  EXPECT_THROW(submit(0), std::logic_error);
}

// --- deferred tasks and the disk budget (max_shared_disk) ---

TEST_F(EngineTest, DeferredTasksWaitForDiskThenRunInOrder) {
  start({.throttle = 4, .disk_budget = 100});
  auto deferred = [&](int i) {
    return engine_->submit_deferred("task" + std::to_string(i), result_path(i), {.files = 60});
  };
  TaskId first = deferred(0), second = deferred(1), third = deferred(2);
  EXPECT_EQ(engine_->take_admitted(), std::vector<TaskId>{first});
  EXPECT_TRUE(engine_->take_admitted().empty()) << "an admitted task was handed out twice";
  EXPECT_EQ(engine_->stats().waiting_for_disk, 2u);
  engine_->staged(first, {.files = 60});
  auto jobs = wait_for_jobs(1);
  EXPECT_EQ(jobs[0].task, first);
  exit_ok(jobs[0]);
  EXPECT_EQ(next().kind, OutcomeKind::done);
  EXPECT_TRUE(engine_->take_admitted().empty()) << "admitted before the files were deleted";
  engine_->files_removed(first);
  EXPECT_EQ(engine_->take_admitted(), std::vector<TaskId>{second});
  engine_->staged(second, {.files = 60});
  exit_ok(wait_for_jobs(2)[1]);
  EXPECT_EQ(next().kind, OutcomeKind::done);
  engine_->files_removed(second);
  EXPECT_EQ(engine_->take_admitted(), std::vector<TaskId>{third});
  EXPECT_EQ(engine_->stats().disk_held, 60u);
}

TEST_F(EngineTest, DeferredTaskIsNotDispatchedBeforeItIsStaged) {
  start({.throttle = 4});
  TaskId id = engine_->submit_deferred("task0", result_path(0), {.files = 10});
  EXPECT_EQ(engine_->take_admitted(), std::vector<TaskId>{id}) << "no budget admits at once";
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(script_->mutex);
    EXPECT_TRUE(script_->transactions.empty()) << "dispatched before its files were written";
  }
  engine_->staged(id, {.files = 10});
  EXPECT_EQ(wait_for_jobs(1)[0].task, id);
}

TEST_F(EngineTest, TaskThatNeverFitsTheBudgetIsRefusedWithTheFigures) {
  start({.throttle = 4, .disk_budget = 1000});
  TaskId id = engine_->submit_deferred("task0", result_path(0), {.files = 100, .blobs = 2000});
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.task, id);
  EXPECT_EQ(outcome.kind, OutcomeKind::refused);
  EXPECT_NE(outcome.reason.find("max_shared_disk"), std::string::npos) << outcome.reason;
  EXPECT_NE(outcome.reason.find("2100 bytes"), std::string::npos) << outcome.reason;
  EXPECT_TRUE(engine_->take_admitted().empty());
}

TEST_F(EngineTest, BlobsOfResultsCanMakeWaitingTasksNeverFit) {
  start({.throttle = 4, .disk_budget = 1000});
  TaskId first = engine_->submit_deferred("task0", result_path(0), {.files = 600});
  TaskId second = engine_->submit_deferred("task1", result_path(1), {.files = 600});
  ASSERT_EQ(engine_->take_admitted(), std::vector<TaskId>{first});
  engine_->add_disk_blobs(500);  // a large result: 600 no longer fits beside it, ever
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.task, second);
  EXPECT_EQ(outcome.kind, OutcomeKind::refused);
}

TEST_F(EngineTest, CancelAllEndsTasksWaitingForDisk) {
  start({.throttle = 4, .disk_budget = 100});
  engine_->submit_deferred("task0", result_path(0), {.files = 80});
  engine_->submit_deferred("task1", result_path(1), {.files = 80});
  engine_->cancel_all("stop");
  EXPECT_EQ(next().kind, OutcomeKind::cancelled);
  EXPECT_EQ(next().kind, OutcomeKind::cancelled);
  EXPECT_TRUE(engine_->take_admitted().empty()) << "a cancelled task was handed out to stage";
  EXPECT_EQ(engine_->stats().disk_held, 80u) << "the admitted task's file is not deleted yet";
  engine_->files_removed(0);
  engine_->files_removed(1);
  EXPECT_EQ(engine_->stats().disk_held, 0u);
}

TEST_F(EngineTest, FilesOfAnUnfinishedTaskAreNotReleased) {
  start({.throttle = 4, .disk_budget = 100});
  TaskId first = engine_->submit_deferred("task0", result_path(0), {.files = 80});
  engine_->submit_deferred("task1", result_path(1), {.files = 80});
  engine_->files_removed(first);  // a confused caller: the task still runs
  EXPECT_TRUE(engine_->take_admitted() == std::vector<TaskId>{first});
  EXPECT_EQ(engine_->stats().disk_held, 80u);
}

TEST_F(EngineTest, WithdrawEndsOneTaskAndRemovesItsJob) {
  start({.throttle = 4});
  TaskId kept = submit(0);
  TaskId withdrawn = submit(1);
  auto jobs = wait_for_jobs(2);
  emit(event(DriverEventKind::submitted, withdrawn, 0, "1.1"));
  std::this_thread::sleep_for(100ms);  // let the tracking thread record the job
  engine_->withdraw(withdrawn, "the parent runs it itself");
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.task, withdrawn);
  EXPECT_EQ(outcome.kind, OutcomeKind::cancelled);
  {
    std::lock_guard lock(script_->mutex);
    ASSERT_EQ(script_->removed.size(), 1u);
    EXPECT_EQ(script_->removed[0].task, withdrawn);
  }
  exit_ok(jobs[0].task == kept ? jobs[0] : jobs[1]);
  EXPECT_EQ(next().task, kept);
}

}  // namespace
}  // namespace jhtc

namespace jhtc {
namespace {

DriverEvent memory_hold(const JobRequest& job, std::int64_t peak_mb) {
  DriverEvent held =
      event(DriverEventKind::held, job.task, job.attempt, "9." + std::to_string(job.attempt));
  held.reason = "memory usage exceeded request_memory";
  held.hold_code = 21;
  held.hold_subcode = 102;
  held.memory_exceeded = true;
  held.usage.memory_mb = peak_mb;
  return held;
}

TEST_F(EngineTest, MemoryHoldIsRetriedAskingForMoreOutsideMaxRetries) {
  start({.throttle = 4,
         .max_retries = 0,
         .request_memory_mb = 256,
         .memory_retry_factor = 2,
         .max_request_memory_mb = 1024});
  submit(0);
  auto first = wait_for_jobs(1)[0];
  EXPECT_EQ(first.memory_mb, 0) << "the first job asks for the batch's request";
  emit(memory_hold(first, 300));
  auto second = wait_for_jobs(2)[1];
  EXPECT_EQ(second.memory_mb, 512);
  emit(memory_hold(second, 600));
  auto third = wait_for_jobs(3)[2];
  EXPECT_EQ(third.memory_mb, 1024) << "doubling is capped at the ceiling";
  exit_ok(third);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::done) << outcome.reason;  // max_retries = 0 was not spent
  EXPECT_EQ(outcome.memory_holds, 2);
  EXPECT_EQ(outcome.usage.request_memory_mb, 1024);
}

TEST_F(EngineTest, MemoryHoldAtTheCeilingFailsNamingThePeakAndTheCeiling) {
  start({.throttle = 4,
         .max_retries = 5,
         .request_memory_mb = 256,
         .memory_retry_factor = 4,
         .max_request_memory_mb = 512});
  submit(0);
  emit(memory_hold(wait_for_jobs(1)[0], 300));
  auto second = wait_for_jobs(2)[1];
  EXPECT_EQ(second.memory_mb, 512);
  emit(memory_hold(second, 700));
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("700 MB at its peak"), std::string::npos) << outcome.reason;
  EXPECT_NE(outcome.reason.find("max_request_mem"), std::string::npos) << outcome.reason;
  EXPECT_NE(outcome.reason.find("is 512 MB"), std::string::npos) << outcome.reason;
  EXPECT_EQ(outcome.usage.memory_mb, 700);
  EXPECT_EQ(wait_for_jobs(2).size(), 2u) << "no retry past the ceiling";
}

TEST_F(EngineTest, MemoryHoldWithoutARequestIsAnOrdinaryRetry) {
  start({.throttle = 4, .max_retries = 0, .max_request_memory_mb = 1024});
  submit(0);
  emit(memory_hold(wait_for_jobs(1)[0], 300));
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.kind, OutcomeKind::failed);
  EXPECT_NE(outcome.reason.find("gave up after 1 attempt"), std::string::npos) << outcome.reason;
}

TEST_F(EngineTest, OutcomeCarriesTheUsageTheDriverReported) {
  start({.throttle = 4, .request_memory_mb = 128});
  submit(0);
  auto job = wait_for_jobs(1)[0];
  write_result(job.task);
  DriverEvent exited = event(DriverEventKind::exited, job.task, 0, "1.0", 0);
  exited.usage.wall_s = 2.5;
  exited.usage.cpu_user_s = 2.0;
  exited.usage.memory_mb = 90;
  emit(exited);
  TaskOutcome outcome = next();
  EXPECT_EQ(outcome.usage.wall_s, 2.5);
  EXPECT_EQ(outcome.usage.cpu_user_s, 2.0);
  EXPECT_EQ(outcome.usage.memory_mb, 90);
  EXPECT_EQ(outcome.usage.request_memory_mb, 128) << "the engine adds the request it made";
}

TEST_F(EngineTest, MemoryRetryFactorMustExceedOne) {
  EngineConfig config{.throttle = 1, .max_request_memory_mb = 100};
  config.memory_retry_factor = 1;
  EXPECT_THROW(start(config), std::invalid_argument);
}

// A multiprocessing worker is a fork of a process with a live engine. Its copy must
// leave the parent's jobs alone: neither its destructor nor cancel_all removes them,
// and nothing waits for threads that were not copied.
TEST_F(EngineTest, AnEngineInheritedThroughForkLeavesTheParentsJobsAlone) {
  start({.throttle = 2});
  for (int i = 0; i < 2; ++i) submit(i);
  const auto jobs = wait_for_jobs(2);
  ASSERT_FALSE(engine_->inherited_through_fork());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(20);  // a hang here is a failure, not a stuck test
    int code = 0;
    if (!engine_->inherited_through_fork()) code |= 1;
    try {
      submit(9);
      code |= 2;
    } catch (const std::logic_error&) {
    }
    engine_->cancel_all("the child's exit");
    engine_.reset();
    if (script_->remove_all_calls != 0 || !script_->removed.empty()) code |= 4;
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not inherited, 2: submit accepted, 4: jobs removed";
  for (const auto& job : jobs) exit_ok(job);  // the parent's engine goes on
  EXPECT_EQ(next().kind, OutcomeKind::done);
  EXPECT_EQ(next().kind, OutcomeKind::done);
  std::lock_guard lock(script_->mutex);
  EXPECT_EQ(script_->remove_all_calls, 0);
}

}  // namespace
}  // namespace jhtc
