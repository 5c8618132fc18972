// The dispatch engine: one per joblib batch (one Parallel call at one recursion level).
//
//   submit() --> [queued] --dispatch thread--> driver.submit(all ready, one transaction)
//                   ^                                   |
//                   | retry (held, killed, no result)   v
//               [tracking thread] <-- driver.wait_events() <-- scheduler
//                   |
//                   v
//   next_outcome() <-- [outcomes]   (done / failed with the scheduler's reason / cancelled)
//
// The throttle caps the tasks that are in the scheduler (queued or running there);
// with count_running = false, running tasks stop counting (delete_task_file_on_load).
//
// Thread-safety: every public member may be called from any thread.
// Failure: submit() after shutdown throws std::logic_error; a driver failure to
// submit fails the affected tasks (their outcome carries the driver's message).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

struct EngineConfig {
  std::size_t throttle = 1;          // most tasks in the scheduler at once (>= 1)
  bool count_running = true;         // running tasks count against the throttle
  int max_retries = 2;               // extra attempts after a hold, kill or missing result
  std::chrono::milliseconds event_timeout{500};  // tracking loop's longest sleep
  std::chrono::milliseconds coalesce{20};        // wait this long for a burst of submits
};

enum class OutcomeKind { done, failed, cancelled };

struct TaskOutcome {
  TaskId task = 0;
  OutcomeKind kind = OutcomeKind::done;
  std::string reason;   // failed: the scheduler's own words (hold reason, signal, exit code)
  std::string job_id;   // the last job that ran the task
  int attempts = 0;
};

struct EngineStats {
  std::size_t queued = 0, submitted = 0, running = 0, done = 0, failed = 0, cancelled = 0;
  std::size_t retries = 0;
  std::size_t transactions = 0;  // calls to driver.submit()
};

// Watches the engine without touching it (the metadata journal is one). Called on
// the engine's threads; must not call back into the engine.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void on_queued(TaskId) {}
  virtual void on_submitted(TaskId, const std::string& /*job_id*/) {}
  virtual void on_running(TaskId, const std::string& /*job_id*/) {}
  virtual void on_retried(TaskId, const std::string& /*reason*/) {}
  virtual void on_finished(const TaskOutcome&) {}
};

class Engine {
 public:
  Engine(EngineConfig config, std::unique_ptr<SchedulerDriver> driver,
         std::shared_ptr<EngineObserver> observer = nullptr);
  ~Engine();  // cancels what is outstanding and joins the threads
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a task. `result_file` is where the worker writes its result; an exit
  // code 0 without it counts as an infrastructure failure (retried).
  TaskId submit(std::string task_file, std::string result_file);

  // The next finished task, or nullopt after `timeout`. Blocks without polling.
  std::optional<TaskOutcome> next_outcome(std::chrono::milliseconds timeout);

  // Removes every outstanding job (and its descendants) from the scheduler; their
  // outcomes arrive as cancelled. The engine stays usable.
  void cancel_all(const std::string& reason);

  // cancel_all() then stops the threads. Idempotent.
  void shutdown();

  EngineStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace jhtc
