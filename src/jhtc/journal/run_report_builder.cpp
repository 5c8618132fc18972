// RunReportBuilder::apply: journal events into per-task attempts (see run_report_fold.hpp);
// build() turns them into the report (run_report_build.cpp).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "journal/run_report_fold.hpp"
#include "util/json_text.hpp"

namespace jhtc {
namespace report {

std::optional<double> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string copy(text);  // strtod needs a terminator
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

Usage parse_usage(std::string_view raw_object) {
  Usage usage;
  json::Cursor cursor(raw_object);
  if (!cursor.consume('{')) return usage;
  if (cursor.consume('}')) return usage;
  do {
    auto key = cursor.read_string();
    if (!key || !cursor.consume(':')) return usage;
    auto value = cursor.read_value_text();
    if (!value) return usage;
    auto number = parse_number(*value);
    if (!number || *number < 0) continue;  // a malformed figure is unknown, not zero
    if (*key == "wall_s")
      usage.wall_s = *number;
    else if (*key == "cpu_user_s")
      usage.cpu_user_s = *number;
    else if (*key == "cpu_sys_s")
      usage.cpu_sys_s = *number;
    else if (*key == "memory_mb")
      usage.memory_mb = *number;
    else if (*key == "alloc_cpus")
      usage.alloc_cpus = *number;
    else if (*key == "request_memory_mb")
      usage.request_memory_mb = *number;
  } while (cursor.consume(','));
  return usage;
}

// "... (HoldReasonCode 34, HoldReasonSubCode 102)": the engine's words for a hold,
// the only sign of one in journals written before the hold_code field.
static int code_after(std::string_view reason, std::string_view label) {
  std::size_t at = reason.find(label);
  if (at == std::string_view::npos) return -1;
  auto number = std::atoi(std::string(reason.substr(at + label.size(), 12)).c_str());
  return number >= 0 ? number : -1;
}

}  // namespace report

using report::Attempt;
using report::BatchFold;
using report::TaskFold;

RunReportBuilder::RunReportBuilder() : state_(std::make_unique<State>()) {}
RunReportBuilder::~RunReportBuilder() = default;
RunReportBuilder::RunReportBuilder(RunReportBuilder&&) noexcept = default;
RunReportBuilder& RunReportBuilder::operator=(RunReportBuilder&&) noexcept = default;

BatchFold& RunReportBuilder::State::batch(std::string_view batch_id) {
  if (last && last->id == batch_id) return *last;
  auto it = batches.find(batch_id);
  if (it == batches.end()) {
    it = batches.emplace(std::string(batch_id), BatchFold{}).first;
    it->second.id = std::string(batch_id);
  }
  last = &it->second;
  return it->second;
}

static void end_attempt(Attempt& attempt, double ts, JobOutcome outcome,
                        const JournalEvent& event) {
  attempt.end_ts = ts;
  attempt.outcome = outcome;
  if (const std::string* usage = event.find("usage")) attempt.usage = report::parse_usage(*usage);
}

void RunReportBuilder::apply(std::string_view batch_id, const JournalEvent& event) {
  BatchFold& batch = state_->batch(batch_id);
  const std::string& name = event.name;
  if (name == "batch_started") {
    if (batch.started) return;
    batch.started = true;
    batch.request_cpus = event.integer("request_cpus").value_or(0);
    batch.request_memory_mb = event.integer("request_memory_mb").value_or(0);
    batch.request_gpus = event.integer("request_gpus").value_or(0);
    return;
  }
  if (name == "bytes_held") {
    auto bytes = event.integer("bytes");
    if (bytes && *bytes >= 0)
      state_->bytes.push_back({event.ts, &batch, static_cast<std::uint64_t>(*bytes)});
    return;
  }
  if (!name.starts_with("task_")) return;
  auto number = event.integer("task");
  if (!number || *number < 0) return;
  TaskFold& task = batch.tasks[static_cast<TaskId>(*number)];
  if (task.finished) return;  // a late event of an earlier attempt must not revive it
  if (task.attempts.empty()) {
    task.attempts.push_back(Attempt{event.ts});
    if (name == "task_queued")
      batch.calls += std::max<std::int64_t>(0, event.integer("calls").value_or(0));
  }
  Attempt& current = task.attempts.back();
  if (name == "task_submitted" || name == "task_running") {
    if (current.job_id.empty()) current.job_id = event.text("job");
    if (name == "task_submitted" && current.submitted_ts == 0) current.submitted_ts = event.ts;
    if (name == "task_running" && current.running_ts == 0) current.running_ts = event.ts;
  } else if (name == "task_retried") {
    std::string reason = event.text("reason");
    int hold_code = static_cast<int>(
        event.integer("hold_code").value_or(report::code_after(reason, "HoldReasonCode ")));
    int hold_subcode = static_cast<int>(
        event.integer("hold_subcode").value_or(report::code_after(reason, "HoldReasonSubCode ")));
    end_attempt(current, event.ts, hold_code >= 0 ? JobOutcome::held_retried : JobOutcome::retried,
                event);
    state_->failures.push_back({&batch, static_cast<TaskId>(*number),
                                static_cast<int>(task.attempts.size() - 1), current.job_id,
                                event.ts, current.outcome, hold_code, hold_subcode, reason});
    Attempt next{event.ts};
    next.request_memory_mb = static_cast<double>(event.integer("request_memory_mb").value_or(0));
    if (next.request_memory_mb == 0) next.request_memory_mb = current.request_memory_mb;
    task.attempts.push_back(std::move(next));
  } else if (name == "task_done" || name == "task_cancelled") {
    end_attempt(current, event.ts, name == "task_done" ? JobOutcome::done : JobOutcome::cancelled,
                event);
    task.finished = true;
  } else if (name == "task_failed") {
    end_attempt(current, event.ts, JobOutcome::failed, event);
    if (current.job_id.empty()) current.job_id = event.text("job");
    task.finished = true;
    state_->failures.push_back({&batch, static_cast<TaskId>(*number),
                                static_cast<int>(task.attempts.size() - 1), current.job_id,
                                event.ts, JobOutcome::failed, -1, -1, event.text("reason")});
  }
  // task_queued only opens the first attempt (above); a repeated one changes nothing.
}

}  // namespace jhtc
