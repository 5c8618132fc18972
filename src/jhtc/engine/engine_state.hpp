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
  int attempt = 0;
  TaskPhase phase = TaskPhase::queued;
  bool holds_slot = false;  // counted against the throttle
  std::string job_id;
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
  std::deque<TaskOutcome> outcomes;
  DiskBudget disk{0};
  std::vector<TaskId> admitted;  // deferred tasks to hand to take_admitted()
  std::size_t slots_in_use = 0;
  TaskId next_task_id = 0;
  bool stopping = false;
  EngineStats stats;

  std::thread dispatcher;
  std::thread tracker;

  // Each of these expects `mutex` held.
  // A new unfinished task in `phase`; throws std::logic_error (naming `caller`) after shutdown.
  TaskId add_task(std::string task_file, std::string result_file, TaskPhase phase,
                  const char* caller);
  std::size_t free_slots() const;
  void release_slot(TaskRecord& task);
  void finish(TaskRecord& task, OutcomeKind kind, std::string reason);
  // Requeues the task for another attempt, or fails it when its retries are spent.
  void retry_or_fail(TaskRecord& task, const std::string& reason);
  void handle(const DriverEvent& event, std::vector<JobKey>& to_remove);
  void requeue_untaken(std::span<const JobRequest> untaken);
  // An admitted deferred task goes to staging, for take_admitted() to hand out.
  void hand_out(TaskRecord& task);
  // Moves the deferred tasks that the disk budget admits now to staging.
  void admit_waiting();
  // admit_waiting(), and refuses waiting tasks that can never fit, in order.
  void admit_or_refuse();

  void run_dispatch_loop();
  void run_tracking_loop();
};

}  // namespace jhtc
