// The run report: what happened in one run, per recursion level, computed from its
// journal files alone (a finished run, or one still running). Rendering is not here:
// `python -m joblib_htcondor.ui --report FILE` draws it (docs/monitor.md).
//
//   header     the run's parameters, start, end, elapsed, shared-directory bytes
//   levels[]   per recursion level: one bar per job (an attempt of a task: queued ->
//              running -> end, with its outcome), or, above max_bars_per_level, time
//              bins x outcomes; concurrency over time (queued, idle, running against
//              the throttle); resource use when the journal has usage figures
//   failures   failed tasks and retried attempts (held or not), with the scheduler's reason
//
// RunReportBuilder is pure (events in, report out; no I/O, no clock). read_run_report()
// is the I/O edge: it reads <journal_dir>/<root>/*.jsonl.
//
// Thread-safety: none; one builder per thread. Distinct calls of read_run_report()
// and run_report_json() may run concurrently.
// Failure: the builder never throws on odd input (events of unknown tasks create them,
// usage fields may be absent or malformed: they then count as unknown).
// read_run_report() throws std::invalid_argument when the journal directory holds no
// run (or not the named root), naming the directory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/journal.hpp"

namespace jhtc {

class RunSummary;

// How one job (one attempt of a task) ended. `unfinished`: still queued or running
// when the journal was read.
enum class JobOutcome : std::uint8_t { done, failed, held_retried, retried, cancelled, unfinished };
inline constexpr std::size_t kJobOutcomeCount = 6;
std::string_view job_outcome_name(JobOutcome outcome);  // "done", "held_retried", ...

struct ReportOptions {
  std::size_t max_bars_per_level = 2500;  // above: the level is drawn as time bins
  std::size_t time_bins = 240;            // bins of the run's time span (binned bars, concurrency)
  std::size_t memory_bins = 20;           // bins of the peak-memory histogram
  std::size_t max_failure_rows = 500;     // rows beyond (the newest) are counted, not listed
};

struct JobBar {
  std::size_t batch = 0;  // index into RunReport::batches
  TaskId task = 0;
  int attempt = 0;     // 0 for the first, as in the log files' names (<task>.<attempt>.err)
  std::string job_id;  // "cluster.proc" (or a pid on the local scheduler); "" if never submitted
  double queued_ts = 0;
  double running_ts = 0;  // 0: it never ran
  double end_ts = 0;      // 0: not ended yet
  JobOutcome outcome = JobOutcome::unfinished;
  std::size_t lane = 0;  // row within its level: bars that overlap in time never share one
};

// One bin of a binned level: how many jobs of each outcome were running on average
// during the bin (job-seconds / bin seconds), and how many ended in it.
struct OutcomeBin {
  std::array<double, kJobOutcomeCount> running{};
  std::array<std::uint32_t, kJobOutcomeCount> ended{};
};

// The most of each count at any moment within one time bin.
struct ConcurrencyBin {
  std::uint32_t queued = 0;  // waiting in the engine (not yet handed to the scheduler)
  std::uint32_t idle = 0;    // in the scheduler, not running
  std::uint32_t running = 0;
  std::uint32_t in_scheduler = 0;  // idle + running at one moment (not the sum of the maxima)
  std::uint32_t capacity = 0;      // sum of the throttles of the level's batches alive then
};

struct ResourceUse {
  std::size_t jobs = 0;   // jobs with usage figures (the rest are unknown)
  double cpu_hours = 0;   // CPU time used: user + system
  double core_hours = 0;  // wall time x cores allocated (or requested)
  double wall_hours = 0;
  // Peak memory of each job with a figure, binned: counts[i] covers
  // [i * memory_bin_mb, (i + 1) * memory_bin_mb).
  double memory_bin_mb = 0;
  std::vector<std::uint32_t> memory_counts;
  std::int64_t peak_memory_mb = 0;
  std::vector<std::int64_t> request_memory_mb;  // the distinct requests, ascending
  std::size_t over_request = 0;                 // jobs whose peak exceeded their request
};

struct LevelReport {
  int level = 0;
  std::size_t batches = 0;
  std::size_t throttle = 0;  // the largest throttle of the level's batches
  std::size_t tasks = 0, jobs = 0;
  std::array<std::size_t, kJobOutcomeCount> outcomes{};  // jobs by outcome
  std::size_t lanes = 0;
  bool binned = false;
  std::vector<JobBar> bars;                 // empty when binned
  std::vector<OutcomeBin> outcome_bins;     // time_bins of them when binned
  std::vector<ConcurrencyBin> concurrency;  // always time_bins of them
  ResourceUse usage;
};

struct FailureRow {
  double ts = 0;
  int level = 0;
  std::string batch_id;
  TaskId task = 0;
  int attempt = 0;
  std::string job_id;
  JobOutcome outcome = JobOutcome::failed;  // failed, held_retried or retried
  int hold_code = -1, hold_subcode = -1;    // -1: not a hold, or not known
  std::string reason;
};

struct ReportHeader {
  std::string root_batch_id, state, scheduler, host;
  double start_ts = 0, end_ts = 0, elapsed_s = 0;
  bool finished = false;  // the root batch finished; otherwise end_ts is `now`
  std::uint64_t bytes_held = 0, peak_bytes_held = 0;
  std::size_t batches = 0, tasks = 0, jobs = 0, retries = 0, failed_tasks = 0;
  std::vector<std::size_t> throttle;  // per level
  // From batch_started when the run wrote them (0: unknown).
  std::int64_t request_cpus = 0, request_memory_mb = 0, request_gpus = 0;
  std::int64_t calls = 0;  // user calls joblib grouped into the tasks (0: not in the journal)
  std::size_t corrupt_lines = 0;
  double generated_ts = 0;
};

struct RunReport {
  ReportHeader header;
  double t0 = 0, t1 = 0;             // the time axis: run start .. end (or now)
  double bin_s = 0;                  // (t1 - t0) / time_bins
  std::vector<std::string> batches;  // ids, referred to by JobBar::batch
  std::vector<LevelReport> levels;   // ascending level
  std::vector<FailureRow> failures;  // oldest first, the first max_failure_rows of them
  std::size_t failures_omitted = 0;
};

// Folds journal events into a report. apply() events of each batch in file order;
// batches may come in any order.
class RunReportBuilder {
 public:
  RunReportBuilder();
  ~RunReportBuilder();
  RunReportBuilder(RunReportBuilder&&) noexcept;
  RunReportBuilder& operator=(RunReportBuilder&&) noexcept;

  void apply(std::string_view batch_id, const JournalEvent& event);
  // `summary` is the RunSummary of the same events (state, bytes, levels); `now`
  // ends the jobs and the axis of a run still going.
  RunReport build(const RunSummary& summary, double now, const ReportOptions& options) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads every journal of one run and builds its report. `root_batch_id` empty: the
// run that started last. `now`: seconds since the epoch.
RunReport read_run_report(const std::string& journal_dir, const std::string& root_batch_id,
                          double now, const ReportOptions& options = {});

// The report as one JSON object (the contract with the renderer; docs/monitor.md).
std::string run_report_json(const RunReport& report);

}  // namespace jhtc
