// run_report_json: the report as the renderer reads it. Times of bars and bins are
// seconds from RunReport::t0 (shorter, and what an axis needs); header times are epoch.
#include <cinttypes>
#include <cstdio>

#include "jhtc/run_report.hpp"
#include "util/json_text.hpp"

namespace jhtc {
namespace {

class Writer {
 public:
  std::string& out() { return out_; }
  void key(std::string_view name) {
    separate();
    json::append_string(out_, name);
    out_ += ':';
    fresh_ = true;
  }
  void open(char bracket) {
    separate();
    out_ += bracket;
    fresh_ = true;
  }
  void close(char bracket) {
    out_ += bracket;
    fresh_ = false;
  }
  void string(std::string_view value) {
    separate();
    json::append_string(out_, value);
  }
  void number(double value, int decimals = 3) {
    separate();
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    out_ += text;
  }
  void integer(std::int64_t value) {
    separate();
    out_ += std::to_string(value);
  }
  void boolean(bool value) {
    separate();
    out_ += value ? "true" : "false";
  }
  void null() {
    separate();
    out_ += "null";
  }
  template <typename T>
  void field(std::string_view name, const T& value) {
    key(name);
    if constexpr (std::is_same_v<T, bool>)
      boolean(value);
    else if constexpr (std::is_integral_v<T>)
      integer(static_cast<std::int64_t>(value));
    else if constexpr (std::is_floating_point_v<T>)
      number(value);
    else
      string(value);
  }
  // Seconds since t0, or null for a time that never came (0).
  void offset(std::string_view name, double ts, double t0) {
    key(name);
    if (ts > 0)
      number(ts - t0);
    else
      null();
  }

 private:
  void separate() {
    if (!fresh_ && !out_.empty() && out_.back() != ':') out_ += ',';
    fresh_ = false;
  }
  std::string out_;
  bool fresh_ = true;
};

void write_outcome_counts(Writer& w, const auto& values, auto write_value) {
  w.open('{');
  for (std::size_t i = 0; i < kJobOutcomeCount; ++i) {
    w.key(job_outcome_name(static_cast<JobOutcome>(i)));
    write_value(values[i]);
  }
  w.close('}');
}

void write_header(Writer& w, const ReportHeader& h) {
  w.key("header");
  w.open('{');
  w.field("root_batch_id", h.root_batch_id);
  w.field("state", h.state);
  w.field("finished", h.finished);
  w.field("scheduler", h.scheduler);
  w.field("host", h.host);
  w.field("start_ts", h.start_ts);
  w.field("end_ts", h.end_ts);
  w.field("elapsed_s", h.elapsed_s);
  w.field("bytes_held", h.bytes_held);
  w.field("peak_bytes_held", h.peak_bytes_held);
  w.field("batches", h.batches);
  w.field("tasks", h.tasks);
  w.field("jobs", h.jobs);
  w.field("retries", h.retries);
  w.field("failed_tasks", h.failed_tasks);
  w.key("throttle");
  w.open('[');
  for (std::size_t t : h.throttle) w.integer(static_cast<std::int64_t>(t));
  w.close(']');
  w.field("request_cpus", h.request_cpus);
  w.field("request_memory_mb", h.request_memory_mb);
  w.field("request_gpus", h.request_gpus);
  w.field("calls", h.calls);
  w.field("corrupt_lines", h.corrupt_lines);
  w.field("generated_ts", h.generated_ts);
  w.close('}');
}

void write_usage(Writer& w, const ResourceUse& u) {
  w.key("usage");
  w.open('{');
  w.field("jobs", u.jobs);
  w.field("cpu_hours", u.cpu_hours);
  w.field("core_hours", u.core_hours);
  w.field("wall_hours", u.wall_hours);
  w.field("memory_bin_mb", u.memory_bin_mb);
  w.key("memory_counts");
  w.open('[');
  for (auto c : u.memory_counts) w.integer(c);
  w.close(']');
  w.field("peak_memory_mb", u.peak_memory_mb);
  w.key("request_memory_mb");
  w.open('[');
  for (auto r : u.request_memory_mb) w.integer(r);
  w.close(']');
  w.field("over_request", u.over_request);
  w.close('}');
}

void write_level(Writer& w, const LevelReport& lr, double t0) {
  w.open('{');
  w.field("level", lr.level);
  w.field("batches", lr.batches);
  w.field("throttle", lr.throttle);
  w.field("tasks", lr.tasks);
  w.field("jobs", lr.jobs);
  w.key("outcomes");
  write_outcome_counts(w, lr.outcomes,
                       [&](std::size_t n) { w.integer(static_cast<std::int64_t>(n)); });
  w.field("lanes", lr.lanes);
  w.field("binned", lr.binned);
  w.key("bars");
  w.open('[');
  for (const JobBar& bar : lr.bars) {
    w.open('{');
    w.field("batch", bar.batch);
    w.field("task", bar.task);
    w.field("attempt", bar.attempt);
    w.field("job", bar.job_id);
    w.offset("queued", bar.queued_ts, t0);
    w.offset("running", bar.running_ts, t0);
    w.offset("end", bar.end_ts, t0);
    w.field("outcome", job_outcome_name(bar.outcome));
    w.field("lane", bar.lane);
    w.close('}');
  }
  w.close(']');
  w.key("outcome_bins");
  w.open('[');
  for (const OutcomeBin& bin : lr.outcome_bins) {
    w.open('{');
    w.key("running");
    write_outcome_counts(w, bin.running, [&](double v) { w.number(v); });
    w.key("ended");
    write_outcome_counts(w, bin.ended, [&](std::uint32_t n) { w.integer(n); });
    w.close('}');
  }
  w.close(']');
  w.key("concurrency");
  w.open('{');
  const char* names[] = {"queued", "idle", "running", "in_scheduler", "capacity"};
  std::uint32_t ConcurrencyBin::*fields[] = {
      &ConcurrencyBin::queued, &ConcurrencyBin::idle, &ConcurrencyBin::running,
      &ConcurrencyBin::in_scheduler, &ConcurrencyBin::capacity};
  for (std::size_t f = 0; f < 5; ++f) {
    w.key(names[f]);
    w.open('[');
    for (const ConcurrencyBin& bin : lr.concurrency) w.integer(bin.*fields[f]);
    w.close(']');
  }
  w.close('}');
  write_usage(w, lr.usage);
  w.close('}');
}

void write_failure(Writer& w, const FailureRow& f, double t0) {
  w.open('{');
  w.field("ts", f.ts);
  w.offset("at", f.ts, t0);
  w.field("level", f.level);
  w.field("batch", f.batch_id);
  w.field("task", f.task);
  w.field("attempt", f.attempt);
  w.field("job", f.job_id);
  w.field("outcome", job_outcome_name(f.outcome));
  w.field("hold_code", f.hold_code);
  w.field("hold_subcode", f.hold_subcode);
  w.field("reason", f.reason);
  w.close('}');
}

}  // namespace

std::string run_report_json(const RunReport& report) {
  Writer w;
  w.open('{');
  w.field("format", 1);
  write_header(w, report.header);
  w.field("t0", report.t0);
  w.field("t1", report.t1);
  w.key("bin_s");
  w.number(report.bin_s, 6);
  w.key("batches");
  w.open('[');
  for (const std::string& id : report.batches) w.string(id);
  w.close(']');
  w.key("levels");
  w.open('[');
  for (const LevelReport& lr : report.levels) write_level(w, lr, report.t0);
  w.close(']');
  w.key("failures");
  w.open('[');
  for (const FailureRow& f : report.failures) write_failure(w, f, report.t0);
  w.close(']');
  w.field("failures_omitted", report.failures_omitted);
  w.close('}');
  return std::move(w.out());
}

}  // namespace jhtc
