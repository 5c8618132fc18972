// RunSummary: folds the journal events of every batch of one root into the figures
// the monitor shows (per level, per batch, failures, throughput, ETA).
//
// Pure: events in, figures out; no I/O, no clock (callers pass `now`).
// Thread-safety: none; one summary per thread.
// Failure: never throws on odd input; events for unknown tasks create them, events
// it does not know are counted in ignored_events().
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jhtc/journal.hpp"

namespace jhtc {

// Tasks are jobs: each joblib task runs as one job (and again when retried); calls
// are what the user wrote, which joblib groups into tasks.
struct TaskCounts {
  std::size_t total = 0, queued = 0, submitted = 0, running = 0, done = 0, failed = 0,
              cancelled = 0;
  std::size_t calls = 0, calls_finished = 0;  // user calls, and those of finished tasks
  std::size_t finished() const { return done + failed + cancelled; }
  void add(const TaskCounts& other);
};

// What the jobs used, from the usage figures of task_done/failed/retried.
struct UsageTotals {
  double core_hours = 0;  // wall time x CPUs of each ended job (allocated, else requested)
  double cpu_hours = 0;   // user + system CPU time
  std::int64_t peak_memory_mb = 0;
  std::vector<std::int32_t> memory_mb;  // each measured job's peak, for the median
  std::int64_t request_memory_mb = 0;   // the largest request seen (batch_started, usage)
  std::size_t held_for_memory = 0;      // retries that raised the memory request
  std::size_t jobs_measured = 0;        // ended jobs that reported usage
  void add(const UsageTotals& other);
  std::int64_t median_memory_mb() const;  // 0 when nothing was measured
};

struct TaskFailure {
  std::string batch_id;
  TaskId task = 0;
  double ts = 0;
  std::string reason;
};

struct BatchSummary {
  std::string batch_id, parent_batch_id, host, scheduler;
  std::string state;  // "running" until batch_finished, then its state; "dead" if its
                      // process is gone without finishing it
  int level = 0;
  std::size_t throttle = 0;
  std::int64_t pid = 0;
  bool started = false;  // batch_started seen (a parent may be known before)
  bool finished = false;
  double started_ts = 0, finished_ts = 0, last_ts = 0;
  TaskCounts counts;
  std::size_t retries = 0;
  std::uint64_t bytes_held = 0;
  double request_cpus = 0;  // batch_started's; 0: not given (old journals)
  UsageTotals usage;
  std::vector<std::string> children;  // in the order their batch_started arrived
};

struct LevelSummary {
  int level = 0;
  std::size_t batches = 0, batches_finished = 0;
  std::size_t throttle = 0;  // the largest throttle of the level's batches
  TaskCounts counts;
  UsageTotals usage;
};

struct RunFigures {
  std::string state;            // the root batch's state, "running", or "unknown"
  double start_ts = 0;          // root batch started (earliest event if unknown)
  double elapsed_s = 0;         // until now, or until the root finished
  double throughput_per_s = 0;  // finished tasks per second over elapsed_s
  double eta_s = -1;            // time left at that throughput; -1 when unknown
  std::uint64_t bytes_held = 0;
  TaskCounts counts;
  UsageTotals usage;
  std::size_t batches = 0;
};

class RunSummary {
 public:
  explicit RunSummary(std::string root_batch_id) : root_batch_id_(std::move(root_batch_id)) {}

  // Applies one event read from the journal of `batch_id`.
  void apply(std::string_view batch_id, const JournalEvent& event);
  // The process that ran the batch is gone without finishing it (killed, node
  // lost): an unfinished batch's state becomes "dead". A later batch_finished wins.
  void mark_owner_gone(std::string_view batch_id);
  // Batches that started and have not finished (nor been marked dead).
  std::vector<const BatchSummary*> unfinished() const;

  const std::string& root_batch_id() const { return root_batch_id_; }
  const BatchSummary* batch(std::string_view batch_id) const;
  std::size_t batch_count() const { return batches_.size(); }
  // Tops of the tree: batches with no parent, or whose parent has no journal.
  std::vector<const BatchSummary*> tree_roots() const;
  // A batch's children, ordered by start time then id.
  std::vector<const BatchSummary*> children(const BatchSummary& batch) const;
  std::vector<LevelSummary> levels() const;
  // Oldest first (by event time, whatever order the journals were read in).
  const std::vector<TaskFailure>& failures() const;
  RunFigures figures(double now) const;
  std::size_t ignored_events() const { return ignored_events_; }

 private:
  enum class TaskState : std::uint8_t { queued, submitted, running, done, failed, cancelled };
  struct BatchRecord {
    BatchSummary summary;
    std::unordered_map<TaskId, TaskState> tasks;
    std::unordered_map<TaskId, std::uint32_t> calls;  // only tasks of more than one call
  };

  BatchRecord& record(std::string_view batch_id);
  void apply_started(BatchRecord& record, const JournalEvent& event);
  void apply_task(BatchRecord& record, const JournalEvent& event);
  static void move_task(BatchRecord& record, TaskId task, TaskState to);
  static void add_usage(BatchRecord& record, const JournalEvent& event);
  std::vector<const BatchSummary*> sorted(const std::vector<std::string>& ids) const;

  std::string root_batch_id_;
  std::map<std::string, BatchRecord, std::less<>> batches_;
  BatchRecord* last_record_ = nullptr;         // events arrive file by file: skip the lookup
  mutable std::vector<TaskFailure> failures_;  // sorted lazily, on read
  mutable bool failures_sorted_ = true;
  double earliest_ts_ = 0;
  std::size_t ignored_events_ = 0;
};

}  // namespace jhtc
