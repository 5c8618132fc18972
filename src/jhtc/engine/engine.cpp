// Engine: public members and the two threads. Event handling is in task_transitions.cpp.
#include <algorithm>
#include <stdexcept>
#include <utility>

#include "engine/engine_state.hpp"
#include "engine/shared_capacity.hpp"
#include "jhtc/errors.hpp"

namespace jhtc {

Engine::Engine(EngineConfig config, std::unique_ptr<SchedulerDriver> driver,
               std::shared_ptr<EngineObserver> observer)
    : state_(std::make_unique<State>()) {
  if (config.throttle == 0) throw std::invalid_argument("throttle must be at least 1");
  if (config.max_retries < 0) throw std::invalid_argument("max_retries must be >= 0");
  if (!driver) throw std::invalid_argument("Engine needs a scheduler driver");
  state_->config = config;
  state_->disk = DiskBudget(config.disk_budget);
  state_->driver = std::move(driver);
  state_->observer = std::move(observer);
  state_->dispatcher = std::thread([s = state_.get()] { s->run_dispatch_loop(); });
  state_->tracker = std::thread([s = state_.get()] { s->run_tracking_loop(); });
}

Engine::~Engine() { shutdown(); }

TaskId Engine::State::add_task(std::string task_file, std::string result_file, TaskPhase phase,
                               const char* caller) {
  if (stopping) throw std::logic_error(std::string(caller) + " after shutdown");
  TaskRecord task;
  task.id = next_task_id++;
  task.task_file = std::move(task_file);
  task.result_file = std::move(result_file);
  task.phase = phase;
  const TaskId id = task.id;
  tasks.emplace(id, std::move(task));
  if (observer) observer->on_queued(id);
  return id;
}

TaskId Engine::submit(std::string task_file, std::string result_file) {
  std::lock_guard lock(state_->mutex);
  const TaskId id = state_->add_task(std::move(task_file), std::move(result_file),
                                     TaskPhase::queued, "Engine::submit");
  state_->ready.push_back(id);
  state_->dispatch_wakeup.notify_one();
  return id;
}

TaskId Engine::submit_deferred(std::string task_file, std::string result_file, DiskCost estimate) {
  std::lock_guard lock(state_->mutex);
  const TaskId id = state_->add_task(std::move(task_file), std::move(result_file),
                                     TaskPhase::waiting_for_disk, "Engine::submit_deferred");
  if (state_->disk.request(id, estimate)) {
    state_->hand_out(state_->tasks.at(id));
  } else {
    state_->admit_or_refuse();
  }
  return id;
}

std::vector<TaskId> Engine::take_admitted() {
  std::lock_guard lock(state_->mutex);
  std::vector<TaskId> ids;
  for (TaskId id : std::exchange(state_->admitted, {})) {
    auto it = state_->tasks.find(id);
    if (it != state_->tasks.end() && it->second.phase == TaskPhase::staging) ids.push_back(id);
  }
  return ids;
}

void Engine::staged(TaskId id, DiskCost actual) {
  std::lock_guard lock(state_->mutex);
  state_->disk.settle(id, actual);
  auto it = state_->tasks.find(id);
  if (it != state_->tasks.end() && it->second.phase == TaskPhase::staging) {
    it->second.phase = TaskPhase::queued;
    state_->ready.push_back(id);
    state_->dispatch_wakeup.notify_one();
  }
  // The actual cost may differ from the estimate, either way.
  state_->admit_or_refuse();
}

void Engine::files_removed(TaskId id) {
  std::lock_guard lock(state_->mutex);
  if (state_->tasks.contains(id)) return;  // not finished: its files are still needed
  state_->disk.release(id);
  state_->admit_waiting();
}

void Engine::add_disk_blobs(std::uint64_t bytes) {
  std::lock_guard lock(state_->mutex);
  state_->disk.add_blobs(bytes);
  state_->admit_or_refuse();
}

void Engine::withdraw(TaskId id, const std::string& reason) {
  std::optional<JobKey> job;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->tasks.find(id);
    if (it == state_->tasks.end()) return;
    TaskRecord& task = it->second;
    // A job being submitted is removed by the dispatch loop when it finds the task gone.
    if (task.phase == TaskPhase::in_scheduler || task.phase == TaskPhase::running)
      job = JobKey{task.id, task.attempt};
    if (auto queued = std::find(state_->ready.begin(), state_->ready.end(), id);
        queued != state_->ready.end())
      state_->ready.erase(queued);
    state_->finish(task, OutcomeKind::cancelled, reason);
  }
  if (job) state_->driver->remove(std::span(&*job, 1), reason);
}

std::optional<TaskOutcome> Engine::next_outcome(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->outcome_ready.wait_for(lock, timeout, [&] { return !state_->outcomes.empty(); }))
    return std::nullopt;
  TaskOutcome outcome = std::move(state_->outcomes.front());
  state_->outcomes.pop_front();
  return outcome;
}

void Engine::cancel_all(const std::string& reason) {
  bool any_in_scheduler = false;
  {
    std::lock_guard lock(state_->mutex);
    // Every unfinished task ends now; late events about their jobs are ignored,
    // so no caller ever waits on a job that the scheduler forgot.
    std::vector<TaskId> ids;
    ids.reserve(state_->tasks.size());
    for (auto& [id, task] : state_->tasks) {
      any_in_scheduler = any_in_scheduler || task.phase >= TaskPhase::submitting;
      ids.push_back(id);
    }
    for (TaskId id : ids) state_->finish(state_->tasks.at(id), OutcomeKind::cancelled, reason);
    state_->ready.clear();
    state_->admitted.clear();
  }
  if (any_in_scheduler) state_->driver->remove_all(reason);
}

void Engine::shutdown() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping && !state_->dispatcher.joinable()) return;
  }
  cancel_all("the engine was shut down");
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->dispatch_wakeup.notify_all();
  state_->driver->wake();
  if (state_->dispatcher.joinable()) state_->dispatcher.join();
  if (state_->tracker.joinable()) state_->tracker.join();
}

EngineStats Engine::stats() const {
  std::lock_guard lock(state_->mutex);
  EngineStats stats = state_->stats;
  stats.queued = stats.submitted = stats.running = stats.waiting_for_disk = 0;
  stats.disk_held = state_->disk.held();
  for (const auto& [id, task] : state_->tasks) {
    switch (task.phase) {
      case TaskPhase::waiting_for_disk:
        ++stats.waiting_for_disk;
        [[fallthrough]];
      case TaskPhase::staging:
      case TaskPhase::queued:
        ++stats.queued;
        break;
      case TaskPhase::submitting:
      case TaskPhase::in_scheduler:
        ++stats.submitted;
        break;
      case TaskPhase::running:
        ++stats.running;
        break;
    }
  }
  return stats;
}

void Engine::State::run_dispatch_loop() {
  std::unique_lock lock(mutex);
  while (true) {
    dispatch_wakeup.wait(lock, [&] { return stopping || (!ready.empty() && free_slots() > 0); });
    if (stopping) return;
    // joblib hands tasks over one at a time; a short pause lets a burst gather so
    // that it reaches the scheduler as one transaction.
    if (ready.size() < free_slots() && config.coalesce.count() > 0) {
      dispatch_wakeup.wait_for(lock, config.coalesce,
                               [&] { return stopping || ready.size() >= free_slots(); });
      if (stopping) return;
    }
    std::vector<JobRequest> jobs;
    while (!ready.empty() && free_slots() > 0) {
      TaskRecord& task = tasks.at(ready.front());
      ready.pop_front();
      task.phase = TaskPhase::submitting;
      task.holds_slot = true;
      ++slots_in_use;
      jobs.push_back({task.id, task.attempt, task.task_file});
    }
    if (jobs.empty()) continue;
    ++stats.transactions;
    lock.unlock();
    std::string failure;
    std::size_t taken = jobs.size();
    try {
      if (auto* shared = dynamic_cast<SharedCapacity*>(driver.get()))
        taken = shared->submit_up_to(jobs);
      else
        driver->submit(jobs);
    } catch (const std::exception& error) {
      failure = error.what();
    }
    lock.lock();
    if (failure.empty() && taken < jobs.size()) requeue_untaken(std::span(jobs).subspan(taken));
    if (failure.empty() && taken == 0)  // the shared cap is full: ask again after a pause
      dispatch_wakeup.wait_for(lock, kSharedCapRecheck, [&] { return stopping; });
    jobs.resize(failure.empty() ? taken : jobs.size());
    std::vector<JobKey> orphans;
    for (const JobRequest& job : jobs) {
      auto it = tasks.find(job.task);
      if (it == tasks.end()) {
        // Cancelled while condor_submit ran: cancel_all's remove_all may have come
        // before these jobs reached the queue, so nobody else would remove them.
        if (failure.empty()) orphans.push_back({job.task, job.attempt});
        continue;
      }
      // Retried meanwhile: the tracking thread saw this attempt's job end or removed it.
      if (it->second.attempt != job.attempt) continue;
      if (!failure.empty()) {
        finish(it->second, OutcomeKind::failed, "submission failed: " + failure);
      } else if (it->second.phase == TaskPhase::submitting) {
        it->second.phase = TaskPhase::in_scheduler;
      }
    }
    if (!orphans.empty()) {
      lock.unlock();
      driver->remove(orphans, "cancelled while being submitted");
      lock.lock();
    }
  }
}

// Jobs a shared cap (throttle_scope="level") did not take go back to the front of the queue.
void Engine::State::requeue_untaken(std::span<const JobRequest> untaken) {
  for (auto job = untaken.rbegin(); job != untaken.rend(); ++job) {
    auto it = tasks.find(job->task);
    if (it == tasks.end() || it->second.attempt != job->attempt) continue;  // cancelled meanwhile
    it->second.phase = TaskPhase::queued;
    release_slot(it->second);
    ready.push_front(job->task);
  }
}

void Engine::State::run_tracking_loop() {
  while (true) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
    }
    std::vector<DriverEvent> events = driver->wait_events(config.event_timeout);
    std::vector<JobKey> to_remove;
    {
      std::lock_guard lock(mutex);
      for (const DriverEvent& event : events) handle(event, to_remove);
    }
    if (!to_remove.empty()) driver->remove(to_remove, "retrying the task in a new job");
  }
}

}  // namespace jhtc
