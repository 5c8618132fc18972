// The contract between the engine and a scheduler (HTCondor, the embedded local
// scheduler). A driver runs `python -m joblib_htcondor.worker TASKFILE ATTEMPT` jobs and
// reports what happens to them as DriverEvents; it knows nothing of joblib.
//
// Thread-safety: every member may be called from any thread, concurrently (the
// engine's dispatch thread submits while its tracking thread waits for events and
// removes jobs, and the caller's thread may cancel everything).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/driver_options.hpp"

namespace jhtc {

using TaskId = std::uint64_t;

// HTCondor's file transfer instead of a shared filesystem (docs/data-transfer.md): the
// submit side keeps its working directory `root`; each job gets its task file, its
// JobRequest::input_files and `common_inputs` in its scratch directory at the same
// paths relative to `root`, and its result file comes back to where the engine reads
// it. Empty `root`: the jobs see the submit side's files directly (shared filesystem).
// Drivers that cannot transfer files (local) refuse a non-empty root.
struct FileTransfer {
  std::string root;                        // absolute; every transferred path lies below it
  std::vector<std::string> common_inputs;  // absolute paths every job needs (the signing key)

  bool enabled() const { return !root.empty(); }
};

// Everything a batch's jobs share. Set once per batch (one joblib batch = one engine).
struct JobTemplate {
  std::string batch_name;          // unique, e.g. "jhtc-<run>-L0-<batch>"
  std::string batch_dir;           // owner-only dir the driver may use for its files
  std::string log_dir;             // per-job stdout/stderr: <log_dir>/<task>.<attempt>.{out,err}
  std::string python = "python3";  // interpreter running the worker
  std::vector<std::string> worker_args;  // {"-m", "joblib_htcondor.worker"}; then TASKFILE ATTEMPT
  double cpus = 1;
  std::int64_t memory_mb = 0;                      // 0: leave to the scheduler's default
  std::int64_t disk_mb = 0;                        // 0: leave to the scheduler's default
  int gpus = 0;                                    // 0: no GPU asked for
  int priority = 0;                                // higher runs first (children above parents)
  std::map<std::string, std::string> environment;  // extra environment of the worker
  FileTransfer file_transfer;  // off (empty root) unless the backend asks for it
  // What only one scheduler knows of (its pool, its fork server) is in its own
  // options struct: driver_options.hpp.
};

// One cap on the jobs in the scheduler shared by every batch of one recursion level
// of a run, whichever process or node runs the batch (throttle_scope="level"), as
// Taskflow's semaphore caps a group of tasks. The scheduler itself counts what is in
// use (HTCondor: the run's idle, running and held jobs whose JhtcLevel is `level`),
// under an exclusive lock on the file `lock_path` so that two batches never both
// see the same free room (empty: no lock, for a single batch).
struct LevelLimit {
  int level = 0;          // the batch's recursion level; jobs are counted by it
  std::size_t cap = 1;    // most jobs of that level in the scheduler at once (>= 1)
  std::string lock_path;  // on a file system every batch of the run sees
};

// One attempt of one task: what a job is, as the engine knows it.
struct JobKey {
  TaskId task = 0;
  int attempt = 0;
};

struct JobRequest {
  TaskId task = 0;
  int attempt = 0;             // 0 for the first run, incremented on each retry
  std::string task_file;       // absolute path, passed to the worker
  std::int64_t memory_mb = 0;  // this job's memory request; 0: the template's
  // What the job's node needs and gives back under FileTransfer (absolute paths
  // below its root); ignored on a shared filesystem.
  std::string result_file;               // where the worker writes its result
  std::vector<std::string> input_files;  // besides task_file: the blobs the task reads
};

// What one job used, as far as the scheduler reports it; a figure it did not
// report stays empty. HTCondor: the terminated event's usage table and the image
// size updates; local: wait4's rusage and the wall clock.
struct JobUsage {
  std::optional<double> wall_s;  // from start to end of the run
  std::optional<double> cpu_user_s;
  std::optional<double> cpu_sys_s;
  std::optional<std::int64_t> memory_mb;  // peak (resident set)
  std::optional<std::int64_t> disk_kb;
  std::optional<std::int64_t> alloc_cpus;  // what the slot gave the job
  std::optional<std::int64_t> alloc_memory_mb;
  std::optional<std::int64_t> request_memory_mb;  // what the job asked for

  bool empty() const {
    return !wall_s && !cpu_user_s && !cpu_sys_s && !memory_mb && !disk_kb && !alloc_cpus &&
           !alloc_memory_mb && !request_memory_mb;
  }
  // Takes the figures `later` reports; the peak memory is the larger of both.
  void merge(const JobUsage& later) {
    const auto take = [](auto& mine, const auto& theirs) {
      if (theirs) mine = theirs;
    };
    take(wall_s, later.wall_s);
    take(cpu_user_s, later.cpu_user_s);
    take(cpu_sys_s, later.cpu_sys_s);
    if (later.memory_mb) memory_mb = std::max(memory_mb.value_or(0), *later.memory_mb);
    take(disk_kb, later.disk_kb);
    take(alloc_cpus, later.alloc_cpus);
    take(alloc_memory_mb, later.alloc_memory_mb);
    take(request_memory_mb, later.request_memory_mb);
  }
};

enum class DriverEventKind {
  submitted,  // accepted by the scheduler (job_id set)
  running,    // started executing
  evicted,    // stopped and put back in the queue; will run again
  held,       // held by the scheduler; reason, hold_code, hold_subcode set
  released,   // released from hold
  exited,     // process ended: exit_code >= 0, or signal > 0
  removed,    // removed from the queue (by us or by an administrator); reason set
  unmatched,  // idle, and the scheduler found no machine that could ever run it; reason set
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
  bool memory_exceeded = false;  // held: the scheduler's codes say the job outgrew its memory
  std::string reason;
  JobUsage usage;  // held, evicted, exited: what the job used up to then
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

// A job an earlier process submitted for a batch (resume=True: a rerun takes the
// jobs of a killed run over instead of submitting them again).
struct ExistingJob {
  TaskId task = 0;        // the task in the earlier batch's numbering (its JhtcTask)
  int attempt = 0;        // the latest attempt of that task the scheduler knows
  std::string job_id;     // the scheduler's id ("123.4")
  bool in_queue = false;  // idle, running or held; false: it left the queue already
};

// A job found by find_jobs(), to be tracked as this attempt of this driver's task.
struct TrackedJob {
  std::string job_id;
  JobKey key;
};

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

  // Submits the first k of `jobs` in one transaction, k being the room `limit`
  // leaves right now (0 when it is full: nothing is submitted). Returns k. Throws
  // SchedulerError as submit() does (then none was submitted); the default, for a
  // scheduler that cannot count other processes' jobs, throws std::invalid_argument.
  virtual std::size_t submit_within(const LevelLimit& limit, std::span<const JobRequest> jobs);

  // remove_all() within a short bound, for a process told to stop (SIGINT,
  // SIGTERM): one attempt, no retries, a short timeout (HTCondor:
  // HTCondorOptions::abort_timeout). Throws SchedulerError when that failed.
  virtual void remove_all_quickly(std::string_view reason) { remove_all(reason); }

  // Removes the job of this attempt only if the scheduler has not started it, in
  // one atomic step of the scheduler. True when it was removed (a `removed` event
  // follows); false when it has started, is gone, or was never submitted. Throws
  // SchedulerError when the scheduler failed to answer. A driver that cannot tell
  // leaves the job alone (false).
  virtual bool remove_if_idle(JobKey /*job*/) { return false; }

  // The latest attempt's job of every task of the batch `lineage` (that lineage
  // only, not those below it), still in the queue or already gone from it. Throws
  // std::invalid_argument for a malformed lineage, SchedulerError when the
  // scheduler did not answer. A scheduler whose jobs die with the process that
  // started them (local) finds none.
  virtual std::vector<ExistingJob> find_jobs(std::string_view /*lineage*/) { return {}; }

  // Tracks jobs that find_jobs(lineage) returned as attempts of this driver's
  // tasks: their events, read from the start of `event_log` (the earlier batch's
  // log), come out of wait_events() like those of jobs submitted here, and
  // remove_all() removes the jobs of `lineage` and below as well. Throws
  // std::invalid_argument for a malformed lineage or a job id that is not one,
  // std::logic_error when the driver cannot adopt (it found no jobs to give).
  virtual void track_jobs(std::string_view /*lineage*/, std::string_view /*event_log*/,
                          std::span<const TrackedJob> /*jobs*/) {
    throw std::logic_error("this scheduler driver cannot adopt jobs");
  }

  // Makes a blocked wait_events() return early.
  virtual void wake() = 0;
};

// Where a scheduler is, for calls made outside any batch (cleanup of dead runs).
struct SchedulerAddress {
  std::string scheduler;             // "htcondor" or "local"
  std::string pool;                  // HTCondor: the tools' -pool; empty: the local configuration
  std::string schedd;                // HTCondor: the tools' -name; empty: the local schedd
  std::chrono::seconds timeout{60};  // each condor_* call (transient failures are retried)
};

// Removes every job of `lineage` and of the lineages below it (the jobs a dead
// batch and its descendants left queued). The lineage is validated (letters,
// digits and ._-/:@+) and quoted as a ClassAd string: a value read from a file
// can select nothing outside its lineage. Returns true when the scheduler marked
// at least one job for removal. Throws std::invalid_argument for a malformed
// lineage or address (the message names it), SchedulerError when the scheduler
// failed after its retries. The local scheduler's jobs die with their batch: false.
bool remove_lineage(const SchedulerAddress& where, std::string_view lineage,
                    std::string_view reason);

// One machine a scheduler can run jobs on, with everything it has (a machine with a
// partitionable slot, or several static slots, is counted once, with its totals).
struct MachineCapacity {
  std::string machine;
  double cpus = 0;
  double memory_mb = 0;
};

// The machines of the scheduler at `where`, to size a default throttle. HTCondor:
// `condor_status -af Machine TotalCpus TotalMemory` (with -pool when set; machines
// whose totals are undefined are left out), with remove_lineage()'s timeout and
// retries. Local: this machine (the cores this process may run on, its physical
// memory). Throws std::invalid_argument for an unknown scheduler or a malformed pool,
// SchedulerError when the scheduler failed after its retries.
std::vector<MachineCapacity> pool_capacity(const SchedulerAddress& where);

// In a job forked by the local scheduler's fork server: `fd` is the control channel
// the job inherited. The local drivers of this process then fork their jobs from
// that same fork server (nested batches share it) instead of starting their own.
void adopt_local_fork_server(int fd);

// Creates the driver whose options `options` holds (HTCondorOptions: HTCondor;
// LocalOptions: the local scheduler). Throws std::invalid_argument for a template
// value or option out of range (naming it and what is accepted), SchedulerUnavailable
// when the scheduler cannot be reached (for HTCondor: no condor_submit on PATH, no
// schedd).
std::unique_ptr<SchedulerDriver> make_driver(JobTemplate job_template, DriverOptions options);

}  // namespace jhtc
