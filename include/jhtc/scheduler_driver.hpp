// The contract between the engine and a scheduler (HTCondor, the embedded local
// scheduler). A driver runs `python -m joblib_htcondor.worker TASKFILE` jobs and
// reports what happens to them as DriverEvents; it knows nothing of joblib.
//
// Thread-safety: every member may be called from any thread, concurrently (the
// engine's dispatch thread submits while its tracking thread waits for events and
// removes jobs, and the caller's thread may cancel everything).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jhtc {

using TaskId = std::uint64_t;

// Everything a batch's jobs share. Set once per batch (one joblib batch = one engine).
struct JobTemplate {
  std::string batch_name;          // unique, e.g. "jhtc-<run>-L0-<batch>"
  std::string batch_dir;           // owner-only dir the driver may use for its files
  std::string log_dir;             // per-job stdout/stderr: <log_dir>/<task>.<attempt>.{out,err}
  std::string python = "python3";  // interpreter running the worker
  std::vector<std::string>
      worker_args;  // e.g. {"-m", "joblib_htcondor.worker"}; TASKFILE is appended
  double cpus = 1;
  std::int64_t memory_mb = 0;                      // 0: leave to the scheduler's default
  std::int64_t disk_mb = 0;                        // 0: leave to the scheduler's default
  int priority = 0;                                // higher runs first (children above parents)
  std::map<std::string, std::string> environment;  // extra environment of the worker
  // Scheduler-specific settings, by name. HTCondor: pool, schedd, universe,
  // initial_dir, extra_directives (one directive per line), lineage. Local: none yet.
  std::map<std::string, std::string> options;
};

// One attempt of one task: what a job is, as the engine knows it.
struct JobKey {
  TaskId task = 0;
  int attempt = 0;
};

struct JobRequest {
  TaskId task = 0;
  int attempt = 0;        // 0 for the first run, incremented on each retry
  std::string task_file;  // absolute path, passed to the worker
};

enum class DriverEventKind {
  submitted,  // accepted by the scheduler (job_id set)
  running,    // started executing
  evicted,    // stopped and put back in the queue; will run again
  held,       // held by the scheduler; reason, hold_code, hold_subcode set
  released,   // released from hold
  exited,     // process ended: exit_code >= 0, or signal > 0
  removed,    // removed from the queue (by us or by an administrator); reason set
};

struct DriverEvent {
  DriverEventKind kind = DriverEventKind::submitted;
  TaskId task = 0;
  int attempt = 0;
  std::string job_id;  // scheduler's id ("123.4" for HTCondor, pid for local)
  int exit_code = -1;
  int signal = 0;
  int hold_code = 0;
  int hold_subcode = 0;
  std::string reason;
};

// An event about one attempt's job; the kind-specific fields keep their defaults.
inline DriverEvent make_driver_event(DriverEventKind kind, JobKey key, std::string job_id) {
  DriverEvent event;
  event.kind = kind;
  event.task = key.task;
  event.attempt = key.attempt;
  event.job_id = std::move(job_id);
  return event;
}

class SchedulerDriver {
 public:
  virtual ~SchedulerDriver() = default;

  virtual std::string_view name() const = 0;

  // Hands all jobs to the scheduler in one transaction. Throws SchedulerError
  // when the scheduler refused them; then none of them was submitted.
  virtual void submit(std::span<const JobRequest> jobs) = 0;

  // Blocks until events are available, wake() is called, or the timeout passes.
  virtual std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) = 0;

  // Removes the jobs of these task attempts (an attempt whose job is gone already
  // is skipped). A `removed` event follows for each job the scheduler still had.
  virtual void remove(std::span<const JobKey> jobs, std::string_view reason) = 0;

  // Removes every job of this batch and of the batches its jobs started.
  virtual void remove_all(std::string_view reason) = 0;

  // Makes a blocked wait_events() return early.
  virtual void wake() = 0;
};

// Creates the driver named `scheduler` ("local" or "htcondor").
// Throws std::invalid_argument for an unknown name, SchedulerUnavailable when the
// scheduler cannot be reached (for HTCondor: no condor_submit on PATH, no schedd).
std::unique_ptr<SchedulerDriver> make_driver(std::string_view scheduler, JobTemplate job_template);

}  // namespace jhtc
