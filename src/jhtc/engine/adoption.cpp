// Engine::adopt: a rerun (resume=True) takes over the jobs a killed run left.
#include <unordered_map>

#include "engine/engine_state.hpp"

namespace jhtc {

std::vector<AdoptedTask> Engine::adopt(std::string_view lineage, std::string_view event_log,
                                       std::span<const AdoptionTask> tasks) {
  std::unordered_map<TaskId, const AdoptionTask*> wanted;
  for (const AdoptionTask& task : tasks) wanted.emplace(task.earlier_task, &task);
  // Asked before any record exists: the scheduler may take a while, and nothing
  // here can have events yet.
  const std::vector<ExistingJob> found = state_->driver->find_jobs(lineage);
  std::vector<AdoptedTask> adopted;
  std::vector<TrackedJob> tracked;
  {
    std::lock_guard lock(state_->mutex);
    for (const ExistingJob& job : found) {
      const auto it = wanted.find(job.task);
      if (it == wanted.end()) continue;
      const AdoptionTask& want = *it->second;
      const TaskId id = state_->add_task(want.task_file, want.result_file, TaskPhase::in_scheduler,
                                         "Engine::adopt", want.calls);
      TaskRecord& task = state_->tasks.at(id);
      task.attempt = job.attempt;
      task.job_id = job.job_id;
      task.adopted = true;
      task.failures = state_->config.max_retries;  // no retry: see engine.hpp
      task.holds_slot = true;
      ++state_->slots_in_use;  // the log's replay reports it submitted, running, ended
      adopted.push_back({job.task, id, job.attempt, job.job_id});
      tracked.push_back({job.job_id, {id, job.attempt}});
      wanted.erase(it);  // one job per task: the driver gives the latest attempt's
    }
  }
  if (tracked.empty()) return adopted;
  try {
    state_->driver->track_jobs(lineage, event_log, tracked);
  } catch (...) {
    // Nobody follows these jobs: their tasks end, and the caller, who hears the
    // error, submits them itself (the earlier lineage's jobs are its to remove).
    std::lock_guard lock(state_->mutex);
    for (const AdoptedTask& task : adopted)
      if (auto it = state_->tasks.find(task.task); it != state_->tasks.end())
        state_->finish(it->second, OutcomeKind::cancelled, "its job could not be adopted");
    throw;
  }
  return adopted;
}

}  // namespace jhtc
