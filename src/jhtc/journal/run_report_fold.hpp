// What RunReportBuilder keeps while it reads: every attempt of every task, per batch.
// Internal to the report (run_report_builder.cpp folds, run_report_build.cpp builds).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jhtc/run_report.hpp"

namespace jhtc::report {

// Usage figures of one job; a negative value is unknown (the field was absent).
struct Usage {
  double wall_s = -1, cpu_user_s = -1, cpu_sys_s = -1, memory_mb = -1, alloc_cpus = -1,
         request_memory_mb = -1;
  bool any() const { return wall_s >= 0 || cpu_user_s >= 0 || cpu_sys_s >= 0 || memory_mb >= 0; }
};

struct Attempt {
  double queued_ts = 0, submitted_ts = 0, running_ts = 0, end_ts = 0;
  JobOutcome outcome = JobOutcome::unfinished;
  std::string job_id;
  double request_memory_mb =
      0;  // raised by a retry (task_retried's request_memory_mb); 0: the batch's
  Usage usage;
};

struct TaskFold {
  std::vector<Attempt> attempts;
  bool finished = false;
};

struct BatchFold {
  std::string id;
  bool started = false;
  std::int64_t request_cpus = 0, request_memory_mb = 0, request_gpus = 0;
  std::int64_t calls = 0;            // user calls grouped into its tasks (task_queued's "calls")
  std::map<TaskId, TaskFold> tasks;  // ordered: bars come out in task order
};

struct FailureFold {
  const BatchFold* batch = nullptr;
  TaskId task = 0;
  int attempt = 0;
  std::string job_id;
  double ts = 0;
  JobOutcome outcome = JobOutcome::failed;
  int hold_code = -1, hold_subcode = -1;
  std::string reason;
};

struct BytesSample {
  double ts = 0;
  const BatchFold* batch = nullptr;
  std::uint64_t bytes = 0;
};

std::optional<double> parse_number(std::string_view text);
// A usage object as the journal keeps it (raw JSON); unknown or malformed fields stay unknown.
Usage parse_usage(std::string_view raw_object);

}  // namespace jhtc::report

namespace jhtc {

struct RunReportBuilder::State {
  std::map<std::string, report::BatchFold, std::less<>> batches;  // nodes stay put: pointers hold
  report::BatchFold* last = nullptr;  // events arrive file by file: skip the lookup
  std::vector<report::FailureFold> failures;
  std::vector<report::BytesSample> bytes;

  report::BatchFold& batch(std::string_view batch_id);
};

}  // namespace jhtc
