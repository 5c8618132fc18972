#include "journal/run_summary.hpp"

#include <algorithm>

namespace jhtc {

void TaskCounts::add(const TaskCounts& other) {
  total += other.total;
  queued += other.queued;
  submitted += other.submitted;
  running += other.running;
  done += other.done;
  failed += other.failed;
  cancelled += other.cancelled;
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
    if (name == "task_retried") ++rec.summary.retries;
    move_task(rec, task, TaskState::queued);
  } else if (name == "task_submitted") {
    move_task(rec, task, TaskState::submitted);
  } else if (name == "task_running") {
    move_task(rec, task, TaskState::running);
  } else if (name == "task_done") {
    move_task(rec, task, TaskState::done);
  } else if (name == "task_cancelled") {
    move_task(rec, task, TaskState::cancelled);
  } else if (name == "task_failed") {
    move_task(rec, task, TaskState::failed);
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
  auto [it, inserted] = rec.tasks.try_emplace(task, to);
  if (inserted) {
    ++counts.total;
  } else {
    if (it->second >= TaskState::done) return;
    --slot(counts, static_cast<int>(it->second));
    it->second = to;
  }
  ++slot(counts, static_cast<int>(to));
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
  }
  std::vector<LevelSummary> out;
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
