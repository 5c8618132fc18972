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
// With a disk budget (max_shared_disk), a task's files are written only when the
// bytes the batch holds in the shared directory leave room for them:
//
//   submit_deferred(cost) --> [waiting for disk] --take_admitted()--> caller writes
//   the files --> staged(actual cost) --> [queued] --> ... as above --> outcome
//   --> caller deletes the files --> files_removed(): room for the next ones
//
// A task that could never fit (the blobs the batch holds until it ends leave less
// than its cost) ends as `refused`, with the figures in its reason.
//
// Thread-safety: every public member may be called from any thread.
// A job held for exceeding its memory is retried asking for more (see
// EngineConfig::memory_retry_factor), outside max_retries.
//
// Failure: submit() after shutdown throws std::logic_error; a driver failure to
// submit fails the affected tasks (their outcome carries the driver's message).
// No exception leaves the engine's threads: a driver call that fails there (after
// the driver's own retries) fails the tasks it concerned, as scheduler errors; an
// unexpected error fails every unfinished task, and later submits throw
// SchedulerError. shutdown() stops the threads even when removing the jobs fails,
// then throws that failure; the destructor never throws.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// How the dispatch thread finds the end of a burst: joblib hands tasks over one at a
// time, and a burst should reach the scheduler as one transaction. The burst ends
// after `quiet` with no new task, or `most` after its first task, so that a steady
// trickle (never quiet) still goes out; at once when it fills the free throttle slots.
// quiet 0: no gathering.
struct GatherTiming {
  std::chrono::milliseconds quiet{20};
  std::chrono::milliseconds most{250};
};

struct EngineConfig {
  std::size_t throttle = 1;   // most tasks in the scheduler at once (>= 1)
  bool count_running = true;  // running tasks count against the throttle
  int max_retries = 2;        // extra attempts after a hold, kill or missing result
  std::chrono::milliseconds event_timeout{500};  // tracking loop's longest sleep
  GatherTiming gather{};                         // when a burst of submits ends
  std::uint64_t disk_budget = 0;  // bytes the batch may hold in the shared dir; 0: no limit
  // Memory holds (the driver's DriverEvent::memory_exceeded): the job is retried
  // asking for memory_retry_factor times its last request, at most
  // max_request_memory_mb; these retries do not count against max_retries. A hold
  // at the ceiling fails the task, naming the peak and the ceiling. Without a
  // request (request_memory_mb 0) or a ceiling (0), a memory hold is an ordinary retry.
  std::int64_t request_memory_mb = 0;  // the batch's request (the job template's)
  double memory_retry_factor = 2;      // > 1
  std::int64_t max_request_memory_mb = 0;
  // A cap shared with the other batches of this level of the run (throttle_scope
  // "level"), on top of `throttle`: jobs go out through driver.submit_within(), and
  // those it does not take wait at the front of the queue until it has room.
  std::optional<LevelLimit> level_limit;
};

// What a task adds to the shared directory.
struct DiskCost {
  std::uint64_t files = 0;  // its task file: freed when the task ends
  std::uint64_t blobs = 0;  // data blobs no earlier task of the batch wrote: held until
                            // the batch ends
};

// refused: the engine would not run the task (it exceeds the disk budget by itself).
enum class OutcomeKind { done, failed, cancelled, refused };

struct TaskOutcome {
  TaskId task = 0;
  OutcomeKind kind = OutcomeKind::done;
  std::string reason;  // failed: the scheduler's own words (hold reason, signal, exit code)
  std::string job_id;  // the last job that ran the task
  int attempts = 0;
  // failed because the scheduler could not be driven (a condor_* call failed after
  // its retries), not because the job failed; Python raises SchedulerError.
  bool scheduler_error = false;
  JobUsage usage;        // what the last job used, as the scheduler reported it
  int memory_holds = 0;  // jobs of this task held for exceeding their memory
};

// Why a task runs again; the figures the journal keeps with task_retried.
struct RetryNote {
  std::string reason;
  JobUsage usage;     // what the ended job used
  int hold_code = 0;  // after a hold: the scheduler's codes
  int hold_subcode = 0;
  std::int64_t request_memory_mb = 0;  // > 0: the retry asks for this much memory
};

// A task of an earlier batch (a killed run's) that this engine may take over:
// what the caller would have submitted, under the earlier batch's task number.
struct AdoptionTask {
  TaskId earlier_task = 0;  // its number in the earlier batch (the scheduler's JhtcTask)
  std::string task_file;    // the earlier batch's files, which its job reads and writes
  std::string result_file;
  int calls = 1;
};

// A task taken over: this engine's id for it, and the job it follows.
struct AdoptedTask {
  TaskId earlier_task = 0;
  TaskId task = 0;
  int attempt = 0;
  std::string job_id;
};

struct EngineStats {
  std::size_t queued = 0, submitted = 0, running = 0, done = 0, failed = 0, cancelled = 0;
  std::size_t retries = 0;
  std::size_t transactions = 0;      // calls to driver.submit()
  std::size_t waiting_for_disk = 0;  // deferred tasks not yet admitted by the disk budget
  std::uint64_t disk_held = 0;       // bytes of the shared directory the batch holds
};

// Watches the engine without touching it (the metadata journal is one). Called on
// the engine's threads; must not call back into the engine.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void on_queued(TaskId, int /*calls*/) {}
  virtual void on_submitted(TaskId, const std::string& /*job_id*/) {}
  virtual void on_running(TaskId, const std::string& /*job_id*/) {}
  virtual void on_retried(TaskId, const RetryNote&) {}
  virtual void on_finished(const TaskOutcome&) {}
};

class Engine {
 public:
  Engine(EngineConfig config, std::unique_ptr<SchedulerDriver> driver,
         std::shared_ptr<EngineObserver> observer = nullptr);
  // Cancels what is outstanding and joins the threads. In a child forked from the
  // process that created the engine (a multiprocessing worker, say) it does nothing
  // and leaks the state: the threads were not copied, and the jobs, files and level
  // lock are the parent's, which is still using them.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a task. `result_file` is where the worker writes its result; an exit
  // code 0 without it counts as an infrastructure failure (retried). `calls`: how
  // many user calls the task runs (joblib groups them), for the journal.
  TaskId submit(std::string task_file, std::string result_file, int calls = 1);

  // Queues a task whose files are not written yet; `estimate` is what writing them
  // will add to the shared directory. The task waits until the disk budget admits
  // it; take_admitted() then names it, and the caller writes its files and calls
  // staged(). Without a budget every task is admitted at once.
  TaskId submit_deferred(std::string task_file, std::string result_file, DiskCost estimate,
                         int calls = 1);

  // resume=True: takes over the jobs that the earlier batch `lineage` (a run that
  // died without cancelling) left, for the tasks named. Each task whose job the
  // scheduler still knows (queued, running, held, or ended since) becomes a task
  // of this engine that follows that job from the start of `event_log`; its
  // outcome arrives as any other. The rest are not adopted (not in the result):
  // the caller submits them. An adopted task is not retried here (a new job would
  // need the earlier batch's identity): one that fails ends failed, and the
  // caller may submit it again. Adopted tasks hold throttle slots, even beyond
  // the throttle. cancel_all() removes the earlier lineage's jobs too. Throws
  // SchedulerError when the scheduler did not answer (nothing adopted),
  // std::invalid_argument for a malformed lineage, std::logic_error after shutdown.
  std::vector<AdoptedTask> adopt(std::string_view lineage, std::string_view event_log,
                                 std::span<const AdoptionTask> tasks);

  // Deferred tasks admitted since the last call: each is handed out once.
  std::vector<TaskId> take_admitted();

  // The files of an admitted task are written (`actual`: what that added); the
  // task may be dispatched. Unknown or ended tasks are ignored, but their blobs
  // still count (they are on disk). `input_files`: what the task's job needs
  // besides its task file when the driver transfers files (JobRequest::input_files).
  void staged(TaskId id, DiskCost actual, std::vector<std::string> input_files = {});

  // The files of a finished task are deleted: the budget may admit waiting tasks.
  // (A finished task's files count until then, so the budget is never exceeded
  // while the caller is still deleting them.)
  void files_removed(TaskId id);

  // Data blobs that reached the shared directory outside a task's files (large
  // results): they count against the budget until the batch ends.
  void add_disk_blobs(std::uint64_t bytes);

  // Ends one unfinished task as cancelled (its job, if any, is removed). No-op
  // for an unknown or finished task.
  void withdraw(TaskId id, const std::string& reason);

  // Removes the task's job only if the scheduler has not started it (one atomic
  // step there); true when removed. The task then ends as failed (its job was
  // removed): the caller, who runs the task itself, ignores that outcome. False
  // for a task not in the scheduler, running, or finished. Throws SchedulerError
  // when the scheduler did not answer.
  bool remove_if_idle(TaskId id);

  // The next finished task, or nullopt after `timeout`. Blocks without polling.
  // Once shutdown() has begun it no longer waits: what is left, then nullopt.
  std::optional<TaskOutcome> next_outcome(std::chrono::milliseconds timeout);

  // Removes every outstanding job (and its descendants) from the scheduler; their
  // outcomes arrive as cancelled. The engine stays usable. Throws SchedulerError
  // when the removal failed (the outcomes are cancelled all the same).
  void cancel_all(const std::string& reason);

  // cancel_all() within the driver's short bound (remove_all_quickly), for a
  // signal handler. Throws SchedulerError when the removal failed.
  void abort_now(const std::string& reason);

  // True in a child forked from the process that created the engine. There,
  // cancel_all, abort_now and shutdown do nothing and the other calls throw
  // std::logic_error: the engine's threads, jobs and files are the parent's.
  bool inherited_through_fork() const;

  // cancel_all() then stops the threads. Idempotent. The threads are stopped and
  // joined even when cancel_all() fails; its SchedulerError is thrown afterwards.
  void shutdown();

  EngineStats stats() const;

 private:
  struct State;
  void refuse_if_inherited(const char* caller) const;  // throws std::logic_error

  std::unique_ptr<State> state_;
  pid_t creator_pid_;
};

}  // namespace jhtc
