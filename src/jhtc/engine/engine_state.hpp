// Internal state of jhtc::Engine, shared by its dispatch and tracking threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/disk_budget.hpp"
#include "jhtc/engine.hpp"

namespace jhtc {

// waiting_for_disk and staging come before queued for deferred tasks only: the
// disk budget has not admitted the task yet / the caller is writing its files.
enum class TaskPhase { waiting_for_disk, staging, queued, submitting, in_scheduler, running };

struct TaskRecord {
  TaskId id = 0;
  std::string task_file;
  std::string result_file;
  std::vector<std::string> input_files;  // file transfer: the blobs its job needs
  int attempt = 0;
  TaskPhase phase = TaskPhase::queued;
  bool holds_slot = false;  // counted against the throttle
  std::string job_id;
  int failures = 0;            // retries spent on ordinary failures (max_retries)
  std::int64_t memory_mb = 0;  // the next job's memory request; 0: the batch's
  int memory_holds = 0;
  JobUsage last_usage;   // what the last ended job used
  bool adopted = false;  // an earlier batch's job (Engine::adopt): never retried here
};

// How long a dispatch waits before asking a full shared cap again.
inline constexpr std::chrono::seconds kSharedCapRecheck{1};

struct Engine::State {
  EngineConfig config;
  std::unique_ptr<SchedulerDriver> driver;
  std::shared_ptr<EngineObserver> observer;

  mutable std::mutex mutex;
  std::condition_variable dispatch_wakeup;
  std::condition_variable outcome_ready;

  std::unordered_map<TaskId, TaskRecord> tasks;  // unfinished tasks only
  std::deque<TaskId> ready;                      // waiting for a throttle slot
  std::size_t arrivals = 0;  // tasks the caller made ready so far: a burst is still growing
  std::deque<TaskOutcome> outcomes;
  DiskBudget disk{0};
  std::vector<TaskId> admitted;  // deferred tasks to hand to take_admitted()
  std::size_t slots_in_use = 0;
  TaskId next_task_id = 0;
  bool stopping = false;
  std::string broken;  // set when a thread met an unexpected error: the engine cannot go on
  // A removal failed: jobs of ended tasks may still be queued, and the next
  // cancel_all() must call remove_all() even when no task is in the scheduler.
  bool jobs_may_be_left = false;
  std::condition_variable tracker_pause;  // a failed wait_events() waits on it before the next
  EngineStats stats;

  std::thread dispatcher;
  std::thread tracker;

  // Each of these expects `mutex` held.
  // A new unfinished task in `phase`; throws std::logic_error (naming `caller`) after shutdown.
  TaskId add_task(std::string task_file, std::string result_file, TaskPhase phase,
                  const char* caller, int calls);
  std::size_t free_slots() const;
  void release_slot(TaskRecord& task);
  void finish(TaskRecord& task, OutcomeKind kind, std::string reason, bool scheduler_error = false);
  // Every unfinished task ends as failed with this scheduler error.
  void fail_unfinished(const std::string& reason);
  // The attempts whose jobs could not be removed: their tasks fail with the error
  // (the scheduler did not answer for the whole retry bound; the caller hears it).
  void fail_unremoved(std::span<const JobKey> jobs, const std::string& error);
  // Requeues the task for another attempt, or fails it when its retries are spent.
  void retry_or_fail(TaskRecord& task, const RetryNote& note);
  // A memory hold: requeues asking for more memory, or fails at the ceiling.
  void retry_with_more_memory(TaskRecord& task, const DriverEvent& hold);
  void requeue(TaskRecord& task, const RetryNote& note);
  // The event's usage, with the task's memory request when the driver left it out.
  JobUsage usage_with_request(const DriverEvent& event, const TaskRecord& task) const;
  void handle(const DriverEvent& event, std::vector<JobKey>& to_remove);
  void requeue_untaken(std::span<const JobRequest> untaken);
  // An admitted deferred task goes to staging, for take_admitted() to hand out.
  void hand_out(TaskRecord& task);
  // Moves the deferred tasks that the disk budget admits now to staging.
  void admit_waiting();
  // admit_waiting(), and refuses waiting tasks that can never fit, in order.
  void admit_or_refuse();

  // Engine::cancel_all / abort_now; takes `mutex` itself.
  void cancel_all(const std::string& reason, bool quickly);

  // Expects `lock` held on `mutex`; returns when the burst is to be submitted.
  void gather_burst(std::unique_lock<std::mutex>& lock);
  void run_dispatch_loop();
  void dispatch_until_stopped();
  void run_tracking_loop();
  void track_once();
  // Records an error that escaped a thread's loop: fails what is unfinished.
  void break_engine(const std::string& thread, const std::string& what);
};

}  // namespace jhtc
