// The metadata journal: one append-only JSON-lines file per batch, read by the
// monitor (jhtc-monitor, `python -m joblib_htcondor.ui`) and nothing else.
//
//   <journal_dir>/<root_batch_id>/<batch_id>.jsonl      journal_dir = <shared_data_dir>/journal
//
// Each line is one event, flux-core style:
//   {"ts":1714560000.123456,"name":"task_done","context":{"task":17}}
//
//   batch_started  {batch, parent, root, level, throttle, host, pid, scheduler,
//                   request_cpus, request_memory_mb, request_gpus}
//   task_queued    {task, calls}      task_submitted {task, job}   task_running {task, job}
//   task_done      {task, usage}      task_failed    {task, reason, job, usage}
//   task_retried   {task, reason, usage, hold_code, hold_subcode, request_memory_mb}
//   task_cancelled {task}
//
// "usage" is an object with the figures the scheduler reported (any of wall_s,
// cpu_user_s, cpu_sys_s, memory_mb, disk_kb, alloc_cpus, alloc_memory_mb,
// request_memory_mb); hold_code/hold_subcode follow a hold, request_memory_mb a
// retry that asks for more memory. Every field after task is optional for readers.
//   bytes_held     {bytes}            (absolute: what the batch holds in the shared dir now)
//   batch_finished {state}
//
// An append is one write(2) of one whole line on an O_APPEND descriptor, so it
// costs the same at the 10th and the 100,000th event and concurrent writers (threads
// or processes) never interleave their lines on a local filesystem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jhtc/engine.hpp"

namespace jhtc {

// Who a batch is; written once, as batch_started.
struct BatchInfo {
  std::string batch_id;         // unique within the root; the file name's stem
  std::string parent_batch_id;  // empty for the root batch
  std::string root_batch_id;    // == batch_id for the root batch
  int level = 0;                // recursion level, 0 for the root
  std::size_t throttle = 0;     // the batch's throttle (most tasks in the scheduler)
  std::string scheduler;        // "htcondor", "local", ...
  double request_cpus = 0;      // the level's requests; 0: not given
  std::int64_t request_memory_mb = 0;
  int request_gpus = 0;
};

// Appends the events of one batch to its journal.
//
// Thread-safety: every member may be called from any thread, concurrently.
// Failure: the constructor throws std::invalid_argument for an id that is empty or
// is not a plain file name, and std::system_error when the file cannot be created.
// Appends never throw (they run on engine threads, and a journal must never fail a
// run): a failed write is counted in write_errors() and described by last_error().
//
// Python hands a writer to the engine as a std::shared_ptr<JournalWriter> (nanobind
// converts a `_core.JournalWriter` argument); make_journal_observer() adapts it.
class JournalWriter {
 public:
  JournalWriter(const std::string& journal_dir, BatchInfo info);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void task_queued(TaskId task, int calls = 1);
  void task_submitted(TaskId task, std::string_view job_id);
  void task_running(TaskId task, std::string_view job_id);
  void task_done(TaskId task, const JobUsage& usage = {});
  void task_failed(TaskId task, std::string_view reason, std::string_view job_id = {},
                   const JobUsage& usage = {});
  void task_retried(TaskId task, const RetryNote& note);
  void task_retried(TaskId task, std::string_view reason) {
    RetryNote note;
    note.reason = std::string(reason);
    task_retried(task, note);
  }
  void task_cancelled(TaskId task);
  void bytes_held(std::uint64_t bytes);
  // Writes batch_finished once; later calls do nothing. `state`: "done", "failed",
  // "cancelled", ... (free text shown by the monitor).
  void finish(std::string_view state);

  const std::string& path() const { return path_; }
  const BatchInfo& info() const { return info_; }
  bool finished() const;
  std::size_t write_errors() const;
  std::string last_error() const;

 private:
  struct State;
  void append(std::string_view name, const std::string& context_json);

  BatchInfo info_;
  std::string path_;
  std::unique_ptr<State> state_;
};

// An EngineObserver that writes every engine event to `writer` (which it keeps alive).
// Throws std::invalid_argument for a null writer.
std::shared_ptr<EngineObserver> make_journal_observer(std::shared_ptr<JournalWriter> writer);

// One decoded line. Context values are kept as text: strings unescaped, numbers,
// booleans and null as written, nested objects and arrays as raw JSON.
struct JournalEvent {
  double ts = 0;
  std::string name;
  std::vector<std::pair<std::string, std::string>> context;

  const std::string* find(std::string_view key) const;  // nullptr when absent
  std::string text(std::string_view key) const;         // "" when absent
  std::optional<std::int64_t> integer(
      std::string_view key) const;  // nullopt if absent or not an integer
};

// Encodes one event as a line (ending in '\n'); `context_json` is a JSON object.
std::string encode_journal_line(double ts, std::string_view name, std::string_view context_json);

// Decodes one line (without its '\n'); nullopt when it is not a journal event.
std::optional<JournalEvent> decode_journal_line(std::string_view line);

// Incremental, pure reader: feed it bytes as they arrive, get whole events back.
// A partial last line is kept until its newline arrives (a journal being written);
// a corrupt line is skipped and counted, with a warning describing the last one.
//
// Thread-safety: none (one reader per file per thread). Never throws on bad input.
class JournalReader {
 public:
  std::vector<JournalEvent> feed(std::string_view bytes);

  std::size_t corrupt_lines() const { return corrupt_lines_; }
  const std::string& last_warning() const { return last_warning_; }
  std::size_t pending_bytes() const { return pending_.size(); }
  std::uint64_t lines_read() const { return line_number_; }

 private:
  void take_line(std::string_view line, std::vector<JournalEvent>& out);

  std::string pending_;
  std::uint64_t line_number_ = 0;
  std::size_t corrupt_lines_ = 0;
  std::string last_warning_;
};

}  // namespace jhtc
