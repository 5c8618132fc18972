// RunReportBuilder::build: the folded attempts (run_report_fold.hpp) into a RunReport.
#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <set>

#include "journal/run_report_fold.hpp"
#include "journal/run_summary.hpp"

namespace jhtc {
namespace {

using report::Attempt;
using report::BatchFold;

std::size_t outcome_index(JobOutcome outcome) { return static_cast<std::size_t>(outcome); }

// The time axis is cut into equal bins; a time maps to the bin that holds it.
struct Axis {
  double t0 = 0, t1 = 0, bin_s = 1;
  std::size_t bins = 1;
  std::size_t bin_of(double ts) const {
    if (ts <= t0) return 0;
    auto index = static_cast<std::size_t>((ts - t0) / bin_s);
    return std::min(index, bins - 1);
  }
  double bin_start(std::size_t index) const { return t0 + bin_s * static_cast<double>(index); }
};

// Rows for the bars: a bar takes the lowest row free since it was queued.
std::size_t assign_lanes(std::vector<JobBar>& bars, double now) {
  std::vector<std::size_t> order(bars.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return bars[a].queued_ts < bars[b].queued_ts;
  });
  using Busy = std::pair<double, std::size_t>;  // (free from, lane)
  std::priority_queue<Busy, std::vector<Busy>, std::greater<>> busy;
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> free_lanes;
  std::size_t lanes = 0;
  for (std::size_t i : order) {
    JobBar& bar = bars[i];
    while (!busy.empty() && busy.top().first <= bar.queued_ts) {
      free_lanes.push(busy.top().second);
      busy.pop();
    }
    if (free_lanes.empty()) {
      bar.lane = lanes++;
    } else {
      bar.lane = free_lanes.top();
      free_lanes.pop();
    }
    busy.push({bar.end_ts > 0 ? bar.end_ts : now, bar.lane});
  }
  return lanes;
}

// Adds `value` per second over [from, to) to the bins it covers, pro rata.
void spread(std::vector<OutcomeBin>& bins, const Axis& axis, std::size_t outcome, double from,
            double to) {
  if (to <= from) return;
  for (std::size_t b = axis.bin_of(from); b < bins.size(); ++b) {
    double lo = std::max(from, axis.bin_start(b)), hi = std::min(to, axis.bin_start(b + 1));
    if (b + 1 == bins.size()) hi = to;
    if (hi > lo) bins[b].running[outcome] += (hi - lo) / axis.bin_s;
    if (axis.bin_start(b + 1) >= to) break;
  }
}

std::vector<OutcomeBin> outcome_bins(const std::vector<JobBar>& bars, const Axis& axis,
                                     double now) {
  std::vector<OutcomeBin> bins(axis.bins);
  for (const JobBar& bar : bars) {
    std::size_t outcome = outcome_index(bar.outcome);
    double end = bar.end_ts > 0 ? bar.end_ts : now;
    if (bar.running_ts > 0) spread(bins, axis, outcome, bar.running_ts, end);
    if (bar.end_ts > 0) ++bins[axis.bin_of(bar.end_ts)].ended[outcome];
  }
  return bins;
}

// The most queued / idle / running jobs and capacity at any moment of each bin.
struct Step {
  double ts;
  int queued, idle, running, capacity;
};

void add_span(std::vector<Step>& steps, double from, double to, int Step::*field) {
  if (from <= 0 || to <= from) return;
  Step up{from, 0, 0, 0, 0}, down{to, 0, 0, 0, 0};
  up.*field = 1;
  down.*field = -1;
  steps.push_back(up);
  steps.push_back(down);
}

std::vector<ConcurrencyBin> concurrency(std::vector<Step> steps, const Axis& axis) {
  std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.ts < b.ts; });
  std::vector<ConcurrencyBin> bins(axis.bins);
  long queued = 0, idle = 0, running = 0, capacity = 0;
  std::size_t next = 0;
  auto raise = [&](ConcurrencyBin& bin) {
    auto at_least = [](std::uint32_t& slot, long value) {
      slot = std::max<std::uint32_t>(slot, static_cast<std::uint32_t>(std::max(0L, value)));
    };
    at_least(bin.queued, queued);
    at_least(bin.idle, idle);
    at_least(bin.running, running);
    at_least(bin.in_scheduler, idle + running);
    at_least(bin.capacity, capacity);
  };
  for (std::size_t b = 0; b < bins.size(); ++b) {
    raise(bins[b]);  // what was there when the bin began
    double bin_end = b + 1 == bins.size() ? INFINITY : axis.bin_start(b + 1);
    while (next < steps.size() && steps[next].ts < bin_end) {
      // Steps at the same instant apply together: one job ending as the next starts
      // is not two at once.
      double ts = steps[next].ts;
      for (; next < steps.size() && steps[next].ts == ts; ++next) {
        queued += steps[next].queued;
        idle += steps[next].idle;
        running += steps[next].running;
        capacity += steps[next].capacity;
      }
      raise(bins[b]);
    }
  }
  return bins;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double nice_width(double raw) {
  if (raw <= 0) return 1;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (step * power >= raw) return step * power;
  }
  return 10 * power;
}

struct UsedAgainstAsked {
  report::Usage usage;
  double request_memory_mb;
  double cores;
};

ResourceUse resource_use(const std::vector<UsedAgainstAsked>& jobs, std::size_t memory_bins) {
  ResourceUse use;
  std::set<std::int64_t> requests;
  double top = 0;
  for (const UsedAgainstAsked& job : jobs) {
    const report::Usage& u = job.usage;
    if (!u.any()) continue;
    ++use.jobs;
    if (u.cpu_user_s >= 0 || u.cpu_sys_s >= 0)
      use.cpu_hours += (std::max(0.0, u.cpu_user_s) + std::max(0.0, u.cpu_sys_s)) / 3600;
    if (u.wall_s >= 0) {
      use.wall_hours += u.wall_s / 3600;
      use.core_hours += u.wall_s * job.cores / 3600;
    }
    if (job.request_memory_mb > 0)
      requests.insert(static_cast<std::int64_t>(job.request_memory_mb));
    if (u.memory_mb >= 0) {
      top = std::max(top, u.memory_mb);
      use.peak_memory_mb = std::max(use.peak_memory_mb, static_cast<std::int64_t>(u.memory_mb));
      if (job.request_memory_mb > 0 && u.memory_mb > job.request_memory_mb) ++use.over_request;
    }
  }
  use.request_memory_mb.assign(requests.begin(), requests.end());
  if (use.jobs == 0 || memory_bins == 0) return use;
  if (!requests.empty()) top = std::max(top, static_cast<double>(*requests.rbegin()));
  use.memory_bin_mb = nice_width(top * 1.05 / static_cast<double>(memory_bins));
  use.memory_counts.assign(static_cast<std::size_t>(std::ceil(top * 1.05 / use.memory_bin_mb)) + 1,
                           0);
  for (const UsedAgainstAsked& job : jobs) {
    if (job.usage.memory_mb < 0) continue;
    auto index = static_cast<std::size_t>(job.usage.memory_mb / use.memory_bin_mb);
    ++use.memory_counts[std::min(index, use.memory_counts.size() - 1)];
  }
  return use;
}

// The largest sum of every batch's latest bytes_held, in time order.
std::uint64_t peak_bytes(std::vector<report::BytesSample> samples) {
  std::stable_sort(samples.begin(), samples.end(),
                   [](const auto& a, const auto& b) { return a.ts < b.ts; });
  std::map<const BatchFold*, std::uint64_t> latest;
  std::uint64_t total = 0, peak = 0;
  for (const auto& sample : samples) {
    std::uint64_t& held = latest[sample.batch];
    total = total - held + sample.bytes;
    held = sample.bytes;
    peak = std::max(peak, total);
  }
  return peak;
}

// The time axis: from the run's start to its end (or now), stretched over every job seen.
Axis time_axis(const RunFigures& figures,
               const std::map<std::string, BatchFold, std::less<>>& batches, std::size_t bins) {
  double t0 = figures.start_ts, t1 = figures.start_ts + figures.elapsed_s;
  for (const auto& [id, batch] : batches) {
    for (const auto& [task, fold] : batch.tasks) {
      for (const Attempt& a : fold.attempts) {
        if (t0 == 0 || (a.queued_ts > 0 && a.queued_ts < t0)) t0 = a.queued_ts;
        t1 = std::max(t1, a.end_ts);
      }
    }
  }
  if (t1 <= t0) t1 = t0 + 1;
  Axis axis{t0, t1, 1, std::max<std::size_t>(1, bins)};
  axis.bin_s = (t1 - t0) / static_cast<double>(axis.bins);
  return axis;
}

// What one level gathers from its batches before it is binned and summed.
struct LevelInputs {
  LevelReport report;
  std::vector<Step> steps;
  std::vector<UsedAgainstAsked> usage;
};

void add_batch(LevelInputs& level, const BatchFold& batch, const BatchSummary* info,
               std::size_t index, double t1) {
  LevelReport& lr = level.report;
  if (info && info->started) {
    ++lr.batches;
    lr.throttle = std::max(lr.throttle, info->throttle);
    const int throttle = static_cast<int>(info->throttle);
    level.steps.push_back({info->started_ts, 0, 0, 0, throttle});
    level.steps.push_back({info->finished ? info->finished_ts : t1, 0, 0, 0, -throttle});
  }
  for (const auto& [task, fold] : batch.tasks) {
    ++lr.tasks;
    for (std::size_t n = 0; n < fold.attempts.size(); ++n) {
      const Attempt& a = fold.attempts[n];
      ++lr.jobs;
      ++lr.outcomes[outcome_index(a.outcome)];
      lr.bars.push_back({index, task, static_cast<int>(n), a.job_id, a.queued_ts, a.running_ts,
                         a.end_ts, a.outcome, 0});
      const double end = a.end_ts > 0 ? a.end_ts : t1;
      const double ran = a.running_ts > 0 ? a.running_ts : end;
      add_span(level.steps, a.queued_ts, a.submitted_ts > 0 ? a.submitted_ts : ran, &Step::queued);
      if (a.submitted_ts > 0) add_span(level.steps, a.submitted_ts, ran, &Step::idle);
      if (a.running_ts > 0) add_span(level.steps, a.running_ts, end, &Step::running);
      // A job's request: its own figure, else a retry's raised one, else its batch's.
      double request = a.usage.request_memory_mb > 0 ? a.usage.request_memory_mb
                       : a.request_memory_mb > 0     ? a.request_memory_mb
                                                     : static_cast<double>(batch.request_memory_mb);
      double cores = a.usage.alloc_cpus > 0   ? a.usage.alloc_cpus
                     : batch.request_cpus > 0 ? static_cast<double>(batch.request_cpus)
                                              : 1.0;
      level.usage.push_back({a.usage, request, cores});
    }
  }
}

// Failures and retries, oldest first; beyond `max_rows` only counted.
void add_failures(RunReport& out, const std::vector<report::FailureFold>& folds,
                  const RunSummary& summary, std::size_t max_rows) {
  std::vector<const report::FailureFold*> failures;
  failures.reserve(folds.size());
  for (const auto& f : folds) failures.push_back(&f);
  std::stable_sort(failures.begin(), failures.end(),
                   [](const auto* a, const auto* b) { return a->ts < b->ts; });
  for (const report::FailureFold* f : failures) {
    if (out.failures.size() >= max_rows) {
      ++out.failures_omitted;
      continue;
    }
    const BatchSummary* info = summary.batch(f->batch->id);
    out.failures.push_back({f->ts, info ? info->level : 0, f->batch->id, f->task, f->attempt,
                            f->job_id, f->outcome, f->hold_code, f->hold_subcode, f->reason});
  }
}

using BatchFolds = std::map<std::string, BatchFold, std::less<>>;

void fill_header(RunReport& out, const RunSummary& summary, const RunFigures& figures,
                 const BatchFolds& batches, const std::vector<report::BytesSample>& bytes,
                 double now) {
  const BatchSummary* root = summary.batch(summary.root_batch_id());
  ReportHeader& h = out.header;
  h.root_batch_id = summary.root_batch_id();
  h.state = figures.state;
  h.finished = root && root->finished;
  if (root) {
    h.scheduler = root->scheduler;
    h.host = root->host;
  }
  h.start_ts = figures.start_ts > 0 ? figures.start_ts : out.t0;
  h.elapsed_s = figures.start_ts > 0 ? figures.elapsed_s : out.t1 - out.t0;
  h.end_ts = h.start_ts + h.elapsed_s;
  h.bytes_held = figures.bytes_held;
  h.peak_bytes_held = std::max(peak_bytes(bytes), figures.bytes_held);
  h.batches = figures.batches;
  h.tasks = figures.counts.total;
  h.failed_tasks = figures.counts.failed;
  for (const LevelReport& lr : out.levels) {
    h.jobs += lr.jobs;
    h.throttle.push_back(lr.throttle);
  }
  h.retries = h.jobs >= h.tasks ? h.jobs - h.tasks : 0;
  for (const auto& [id, batch] : batches) h.calls += batch.calls;
  auto root_fold = batches.find(summary.root_batch_id());
  if (root_fold != batches.end()) {
    h.request_cpus = root_fold->second.request_cpus;
    h.request_memory_mb = root_fold->second.request_memory_mb;
    h.request_gpus = root_fold->second.request_gpus;
  }
  h.generated_ts = now;
}

}  // namespace

std::string_view job_outcome_name(JobOutcome outcome) {
  static constexpr std::string_view kNames[] = {"done",    "failed",    "held_retried",
                                                "retried", "cancelled", "unfinished"};
  return kNames[outcome_index(outcome)];
}

RunReport RunReportBuilder::build(const RunSummary& summary, double now,
                                  const ReportOptions& options) const {
  RunReport out;
  const RunFigures figures = summary.figures(now);
  const Axis axis = time_axis(figures, state_->batches, options.time_bins);
  out.t0 = axis.t0;
  out.t1 = axis.t1;
  out.bin_s = axis.bin_s;

  // Batches in order of level, then start; bars refer to them by index.
  std::vector<std::pair<const BatchFold*, const BatchSummary*>> batches;
  for (const auto& [id, batch] : state_->batches) batches.emplace_back(&batch, summary.batch(id));
  std::stable_sort(batches.begin(), batches.end(), [](const auto& a, const auto& b) {
    int la = a.second ? a.second->level : 0, lb = b.second ? b.second->level : 0;
    double sa = a.second ? a.second->started_ts : 0, sb = b.second ? b.second->started_ts : 0;
    return la != lb ? la < lb : sa < sb;
  });
  std::map<int, LevelInputs> levels;
  for (const auto& [batch, info] : batches) {
    out.batches.push_back(batch->id);
    LevelInputs& level = levels[info ? info->level : 0];
    level.report.level = info ? info->level : 0;
    add_batch(level, *batch, info, out.batches.size() - 1, axis.t1);
  }
  for (auto& [number, level] : levels) {
    LevelReport& lr = level.report;
    lr.lanes = assign_lanes(lr.bars, axis.t1);
    if (lr.bars.size() > options.max_bars_per_level) {
      lr.binned = true;
      lr.outcome_bins = outcome_bins(lr.bars, axis, axis.t1);
      lr.bars.clear();
      lr.bars.shrink_to_fit();
    }
    lr.concurrency = concurrency(std::move(level.steps), axis);
    lr.usage = resource_use(level.usage, options.memory_bins);
    out.levels.push_back(std::move(lr));
  }
  add_failures(out, state_->failures, summary, options.max_failure_rows);
  fill_header(out, summary, figures, state_->batches, state_->bytes, now);
  return out;
}

}  // namespace jhtc
