#include "journal/run_summary.hpp"

#include <algorithm>

#include "journal/usage_json.hpp"

namespace jhtc {

void TaskCounts::add(const TaskCounts& other) {
  total += other.total;
  queued += other.queued;
  submitted += other.submitted;
  running += other.running;
  done += other.done;
  failed += other.failed;
  cancelled += other.cancelled;
  calls += other.calls;
  calls_finished += other.calls_finished;
}

void UsageTotals::add(const UsageTotals& other) {
  core_hours += other.core_hours;
  cpu_hours += other.cpu_hours;
  peak_memory_mb = std::max(peak_memory_mb, other.peak_memory_mb);
  memory_mb.insert(memory_mb.end(), other.memory_mb.begin(), other.memory_mb.end());
  request_memory_mb = std::max(request_memory_mb, other.request_memory_mb);
  held_for_memory += other.held_for_memory;
  jobs_measured += other.jobs_measured;
}

std::int64_t UsageTotals::median_memory_mb() const {
  if (memory_mb.empty()) return 0;
  std::vector<std::int32_t> sorted = memory_mb;
  const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
  std::nth_element(sorted.begin(), middle, sorted.end());
  return *middle;
}

RunSummary::BatchRecord& RunSummary::record(std::string_view batch_id) {
  if (last_record_ && last_record_->summary.batch_id == batch_id) return *last_record_;
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) {
    it = batches_.emplace(std::string(batch_id), BatchRecord{}).first;
    it->second.summary.batch_id = std::string(batch_id);
    it->second.summary.state = "running";
  }
  last_record_ = &it->second;
  return it->second;
}

void RunSummary::apply(std::string_view batch_id, const JournalEvent& event) {
  BatchRecord& rec = record(batch_id);
  BatchSummary& batch = rec.summary;
  if (earliest_ts_ == 0 || event.ts < earliest_ts_) earliest_ts_ = event.ts;
  batch.last_ts = std::max(batch.last_ts, event.ts);
  if (event.name == "batch_started") {
    apply_started(rec, event);
  } else if (event.name == "batch_finished") {
    batch.finished = true;
    batch.finished_ts = event.ts;
    batch.state = event.text("state");
  } else if (event.name == "bytes_held") {
    batch.bytes_held =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, event.integer("bytes").value_or(0)));
  } else if (event.name.starts_with("task_")) {
    apply_task(rec, event);
  } else {
    ++ignored_events_;
  }
}

void RunSummary::mark_owner_gone(std::string_view batch_id) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end() || it->second.summary.finished) return;
  it->second.summary.state = "dead";
}

std::vector<const BatchSummary*> RunSummary::unfinished() const {
  std::vector<const BatchSummary*> out;
  for (const auto& [id, rec] : batches_) {
    const BatchSummary& b = rec.summary;
    if (b.started && !b.finished && b.state != "dead") out.push_back(&b);
  }
  return out;
}

void RunSummary::apply_started(BatchRecord& rec, const JournalEvent& event) {
  BatchSummary& batch = rec.summary;
  if (batch.started) return;  // a restarted writer appends a second one: keep the first
  batch.started = true;
  batch.started_ts = event.ts;
  batch.parent_batch_id = event.text("parent");
  batch.host = event.text("host");
  batch.scheduler = event.text("scheduler");
  batch.level = static_cast<int>(event.integer("level").value_or(0));
  batch.throttle =
      static_cast<std::size_t>(std::max<std::int64_t>(0, event.integer("throttle").value_or(0)));
  batch.pid = event.integer("pid").value_or(0);
  batch.request_cpus = static_cast<double>(event.integer("request_cpus").value_or(0));
  batch.usage.request_memory_mb =
      std::max(batch.usage.request_memory_mb, event.integer("request_memory_mb").value_or(0));
  if (!batch.parent_batch_id.empty() && batch.parent_batch_id != batch.batch_id) {
    std::string self = batch.batch_id;
    std::string parent = batch.parent_batch_id;
    record(parent).summary.children.push_back(self);  // may rehome last_record_
    last_record_ = nullptr;
  }
}

void RunSummary::apply_task(BatchRecord& rec, const JournalEvent& event) {
  auto task_number = event.integer("task");
  if (!task_number || *task_number < 0) {
    ++ignored_events_;
    return;
  }
  TaskId task = static_cast<TaskId>(*task_number);
  const std::string& name = event.name;
  if (name == "task_queued" || name == "task_retried") {
    if (name == "task_retried") {
      ++rec.summary.retries;
      add_usage(rec, event);
      if (event.integer("request_memory_mb").value_or(0) > 0) ++rec.summary.usage.held_for_memory;
    } else if (const auto calls = event.integer("calls");
               calls && *calls > 1 && !rec.tasks.count(task)) {
      rec.calls[task] = static_cast<std::uint32_t>(std::min<std::int64_t>(*calls, 1 << 30));
    }
    move_task(rec, task, TaskState::queued);
  } else if (name == "task_submitted") {
    move_task(rec, task, TaskState::submitted);
  } else if (name == "task_running") {
    move_task(rec, task, TaskState::running);
  } else if (name == "task_done") {
    move_task(rec, task, TaskState::done);
    add_usage(rec, event);
  } else if (name == "task_cancelled") {
    move_task(rec, task, TaskState::cancelled);
  } else if (name == "task_failed") {
    move_task(rec, task, TaskState::failed);
    add_usage(rec, event);
    if (!failures_.empty() && event.ts < failures_.back().ts) failures_sorted_ = false;
    failures_.push_back({rec.summary.batch_id, task, event.ts, event.text("reason")});
  } else {
    ++ignored_events_;
  }
}

static std::size_t& slot(TaskCounts& counts, int state) {
  std::size_t* slots[] = {&counts.queued, &counts.submitted, &counts.running,
                          &counts.done,   &counts.failed,    &counts.cancelled};
  return *slots[state];
}

// Finished tasks stay finished: a late event of an earlier attempt must not revive them.
void RunSummary::move_task(BatchRecord& rec, TaskId task, TaskState to) {
  TaskCounts& counts = rec.summary.counts;
  const auto calls_it = rec.calls.find(task);
  const std::size_t calls = calls_it == rec.calls.end() ? 1 : calls_it->second;
  auto [it, inserted] = rec.tasks.try_emplace(task, to);
  if (inserted) {
    ++counts.total;
    counts.calls += calls;
  } else {
    if (it->second >= TaskState::done) return;
    --slot(counts, static_cast<int>(it->second));
    it->second = to;
  }
  ++slot(counts, static_cast<int>(to));
  if (to >= TaskState::done) counts.calls_finished += calls;
}

// One ended job's figures (a retried job ended too: its usage counts).
void RunSummary::add_usage(BatchRecord& rec, const JournalEvent& event) {
  const std::string* text = event.find("usage");
  if (!text) return;
  const JobUsage u = decode_usage(*text);
  UsageTotals& totals = rec.summary.usage;
  if (u.empty()) return;
  ++totals.jobs_measured;
  if (u.wall_s) {
    const double cpus = u.alloc_cpus                   ? static_cast<double>(*u.alloc_cpus)
                        : rec.summary.request_cpus > 0 ? rec.summary.request_cpus
                                                       : 1.0;
    totals.core_hours += *u.wall_s * cpus / 3600;
  }
  totals.cpu_hours += (u.cpu_user_s.value_or(0) + u.cpu_sys_s.value_or(0)) / 3600;
  if (u.memory_mb && *u.memory_mb >= 0) {
    totals.peak_memory_mb = std::max(totals.peak_memory_mb, *u.memory_mb);
    totals.memory_mb.push_back(
        static_cast<std::int32_t>(std::min<std::int64_t>(*u.memory_mb, 1 << 30)));
  }
  // request_mem is the level's setting (batch_started); a usage figure stands in
  // only for journals without it (a retry's raised request is not the setting).
  if (u.request_memory_mb && totals.request_memory_mb == 0)
    totals.request_memory_mb = *u.request_memory_mb;
}

const std::vector<TaskFailure>& RunSummary::failures() const {
  if (!failures_sorted_) {
    std::stable_sort(failures_.begin(), failures_.end(),
                     [](const TaskFailure& a, const TaskFailure& b) { return a.ts < b.ts; });
    failures_sorted_ = true;
  }
  return failures_;
}

const BatchSummary* RunSummary::batch(std::string_view batch_id) const {
  auto it = batches_.find(batch_id);
  return it == batches_.end() ? nullptr : &it->second.summary;
}

std::vector<const BatchSummary*> RunSummary::sorted(const std::vector<std::string>& ids) const {
  std::vector<const BatchSummary*> out;
  for (const auto& id : ids) {
    if (const BatchSummary* b = batch(id)) out.push_back(b);
  }
  std::sort(out.begin(), out.end(), [](const BatchSummary* a, const BatchSummary* b) {
    if (a->started_ts != b->started_ts) return a->started_ts < b->started_ts;
    return a->batch_id < b->batch_id;
  });
  return out;
}

std::vector<const BatchSummary*> RunSummary::tree_roots() const {
  std::vector<std::string> ids;
  for (const auto& [id, rec] : batches_) {
    const BatchSummary* parent = batch(rec.summary.parent_batch_id);
    bool orphan = rec.summary.parent_batch_id.empty() || !parent || !parent->started;
    if (rec.summary.started && orphan) ids.push_back(id);
  }
  return sorted(ids);
}

std::vector<const BatchSummary*> RunSummary::children(const BatchSummary& batch) const {
  return sorted(batch.children);
}

std::vector<LevelSummary> RunSummary::levels() const {
  std::map<int, LevelSummary> by_level;
  for (const auto& [id, rec] : batches_) {
    const BatchSummary& b = rec.summary;
    if (!b.started) continue;
    LevelSummary& level = by_level[b.level];
    level.level = b.level;
    ++level.batches;
    level.batches_finished += b.finished ? 1 : 0;
    level.throttle = std::max(level.throttle, b.throttle);
    level.counts.add(b.counts);
    level.usage.add(b.usage);
  }
  std::vector<LevelSummary> out;
  out.reserve(by_level.size());
  for (auto& [level, summary] : by_level) out.push_back(summary);
  return out;
}

RunFigures RunSummary::figures(double now) const {
  RunFigures f;
  const BatchSummary* root = batch(root_batch_id_);
  f.state = root ? root->state : "unknown";
  f.start_ts = root && root->started ? root->started_ts : earliest_ts_;
  double end = root && root->finished ? root->finished_ts : now;
  f.elapsed_s = f.start_ts > 0 ? std::max(0.0, end - f.start_ts) : 0;
  for (const auto& [id, rec] : batches_) {
    f.counts.add(rec.summary.counts);
    f.usage.add(rec.summary.usage);
    f.bytes_held += rec.summary.bytes_held;
  }
  f.batches = batches_.size();
  std::size_t finished = f.counts.finished();
  if (f.elapsed_s > 0) f.throughput_per_s = static_cast<double>(finished) / f.elapsed_s;
  std::size_t left = f.counts.total - finished;
  if (left == 0) {
    f.eta_s = 0;
  } else if (f.throughput_per_s > 0) {
    f.eta_s = static_cast<double>(left) / f.throughput_per_s;
  }
  return f;
}

}  // namespace jhtc
