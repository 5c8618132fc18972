// Engine: public members and the two threads. Event handling is in task_transitions.cpp.
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include "engine/burst_gather.hpp"
#include "engine/engine_state.hpp"
#include "jhtc/errors.hpp"
#include "util/quiet_thread.hpp"

namespace jhtc {

Engine::Engine(EngineConfig config, std::unique_ptr<SchedulerDriver> driver,
               std::shared_ptr<EngineObserver> observer)
    : state_(std::make_unique<State>()), creator_pid_(::getpid()) {
  if (config.throttle == 0) throw std::invalid_argument("throttle must be at least 1");
  if (config.max_retries < 0) throw std::invalid_argument("max_retries must be >= 0");
  if (config.request_memory_mb < 0 || config.max_request_memory_mb < 0)
    throw std::invalid_argument("request_memory_mb and max_request_memory_mb must be >= 0");
  if (config.max_request_memory_mb > 0 && !(config.memory_retry_factor > 1))
    throw std::invalid_argument("memory_retry_factor must be a number > 1");
  if (config.level_limit && config.level_limit->cap == 0)
    throw std::invalid_argument("level_limit.cap must be at least 1");
  if (config.level_limit && config.level_limit->level < 0)
    throw std::invalid_argument("level_limit.level must be >= 0");
  if (!driver) throw std::invalid_argument("Engine needs a scheduler driver");
  state_->config = config;
  state_->disk = DiskBudget(config.disk_budget);
  state_->driver = std::move(driver);
  state_->observer = std::move(observer);
  // Neither thread takes a signal meant for the caller's main thread (quiet_thread.hpp).
  state_->dispatcher = util::start_quiet_thread([s = state_.get()] { s->run_dispatch_loop(); });
  state_->tracker = util::start_quiet_thread([s = state_.get()] { s->run_tracking_loop(); });
}

Engine::~Engine() {
  // In a forked child the mutex may be copied locked and the threads do not exist:
  // joining them, or removing the parent's jobs, would hang or do harm.
  if (inherited_through_fork()) {
    (void)state_.release();  // NOLINT(bugprone-unused-return-value): leaked on purpose
    return;
  }
  try {
    shutdown();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; the
                   // threads are joined, and shutdown()'s caller saw the error
  }
}

bool Engine::inherited_through_fork() const { return ::getpid() != creator_pid_; }

void Engine::refuse_if_inherited(const char* caller) const {
  if (inherited_through_fork())
    throw std::logic_error(std::string(caller) +
                           ": this engine belongs to the process this one was forked from");
}

TaskId Engine::State::add_task(std::string task_file, std::string result_file, TaskPhase phase,
                               const char* caller, int calls) {
  if (stopping) throw std::logic_error(std::string(caller) + " after shutdown");
  if (!broken.empty()) throw SchedulerError(std::string(caller) + ": " + broken);
  TaskRecord task;
  task.id = next_task_id++;
  task.task_file = std::move(task_file);
  task.result_file = std::move(result_file);
  task.phase = phase;
  const TaskId id = task.id;
  tasks.emplace(id, std::move(task));
  if (observer) observer->on_queued(id, calls);
  return id;
}

TaskId Engine::submit(std::string task_file, std::string result_file, int calls) {
  refuse_if_inherited("Engine::submit");
  std::lock_guard lock(state_->mutex);
  const TaskId id = state_->add_task(std::move(task_file), std::move(result_file),
                                     TaskPhase::queued, "Engine::submit", calls);
  state_->ready.push_back(id);
  ++state_->arrivals;
  state_->dispatch_wakeup.notify_one();
  return id;
}

TaskId Engine::submit_deferred(std::string task_file, std::string result_file, DiskCost estimate,
                               int calls) {
  refuse_if_inherited("Engine::submit_deferred");
  std::lock_guard lock(state_->mutex);
  const TaskId id = state_->add_task(std::move(task_file), std::move(result_file),
                                     TaskPhase::waiting_for_disk, "Engine::submit_deferred", calls);
  if (state_->disk.request(id, estimate)) {
    state_->hand_out(state_->tasks.at(id));
  } else {
    state_->admit_or_refuse();
  }
  return id;
}

std::vector<TaskId> Engine::take_admitted() {
  refuse_if_inherited("Engine::take_admitted");
  std::lock_guard lock(state_->mutex);
  std::vector<TaskId> ids;
  for (TaskId id : std::exchange(state_->admitted, {})) {
    auto it = state_->tasks.find(id);
    if (it != state_->tasks.end() && it->second.phase == TaskPhase::staging) ids.push_back(id);
  }
  return ids;
}

void Engine::staged(TaskId id, DiskCost actual, std::vector<std::string> input_files) {
  refuse_if_inherited("Engine::staged");
  std::lock_guard lock(state_->mutex);
  state_->disk.settle(id, actual);
  auto it = state_->tasks.find(id);
  if (it != state_->tasks.end() && it->second.phase == TaskPhase::staging) {
    it->second.input_files = std::move(input_files);
    it->second.phase = TaskPhase::queued;
    state_->ready.push_back(id);
    ++state_->arrivals;
    state_->dispatch_wakeup.notify_one();
  }
  // The actual cost may differ from the estimate, either way.
  state_->admit_or_refuse();
}

void Engine::files_removed(TaskId id) {
  refuse_if_inherited("Engine::files_removed");
  std::lock_guard lock(state_->mutex);
  if (state_->tasks.contains(id)) return;  // not finished: its files are still needed
  state_->disk.release(id);
  state_->admit_waiting();
}

void Engine::add_disk_blobs(std::uint64_t bytes) {
  refuse_if_inherited("Engine::add_disk_blobs");
  std::lock_guard lock(state_->mutex);
  state_->disk.add_blobs(bytes);
  state_->admit_or_refuse();
}

void Engine::withdraw(TaskId id, const std::string& reason) {
  refuse_if_inherited("Engine::withdraw");
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

bool Engine::remove_if_idle(TaskId id) {
  refuse_if_inherited("Engine::remove_if_idle");
  JobKey job;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->tasks.find(id);
    if (it == state_->tasks.end() || it->second.phase != TaskPhase::in_scheduler) return false;
    job = {it->second.id, it->second.attempt};
  }
  return state_->driver->remove_if_idle(job);
}

std::optional<TaskOutcome> Engine::next_outcome(std::chrono::milliseconds timeout) {
  refuse_if_inherited("Engine::next_outcome");
  std::unique_lock lock(state_->mutex);
  // After shutdown() nothing more can come: the caller's collector drains what is
  // left and returns at once instead of sleeping out its timeout at every batch's end.
  if (!state_->outcome_ready.wait_for(
          lock, timeout, [&] { return !state_->outcomes.empty() || state_->stopping; }) ||
      state_->outcomes.empty())
    return std::nullopt;
  TaskOutcome outcome = std::move(state_->outcomes.front());
  state_->outcomes.pop_front();
  return outcome;
}

void Engine::cancel_all(const std::string& reason) {
  if (!inherited_through_fork()) state_->cancel_all(reason, false);
}

void Engine::abort_now(const std::string& reason) {
  if (!inherited_through_fork()) state_->cancel_all(reason, true);
}

void Engine::State::cancel_all(const std::string& reason, bool quickly) {
  bool any_in_scheduler = false;
  {
    std::lock_guard lock(mutex);
    // Every unfinished task ends now; late events about their jobs are ignored,
    // so no caller ever waits on a job that the scheduler forgot.
    std::vector<TaskId> ids;
    ids.reserve(tasks.size());
    for (auto& [id, task] : tasks) {
      any_in_scheduler = any_in_scheduler || task.phase >= TaskPhase::submitting;
      ids.push_back(id);
    }
    for (TaskId id : ids) finish(tasks.at(id), OutcomeKind::cancelled, reason);
    ready.clear();
    admitted.clear();
    any_in_scheduler = any_in_scheduler || jobs_may_be_left;
  }
  if (!any_in_scheduler) return;
  if (quickly)
    driver->remove_all_quickly(reason);
  else
    driver->remove_all(reason);
  std::lock_guard lock(mutex);
  jobs_may_be_left = false;  // only after a removal that did not throw
}

void Engine::shutdown() {
  if (inherited_through_fork()) return;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping && !state_->dispatcher.joinable()) return;
  }
  std::exception_ptr removal_failed;
  try {
    cancel_all("the engine was shut down");
  } catch (...) {
    removal_failed = std::current_exception();
  }
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->dispatch_wakeup.notify_all();
  state_->tracker_pause.notify_all();
  state_->outcome_ready.notify_all();
  state_->driver->wake();
  if (state_->dispatcher.joinable()) state_->dispatcher.join();
  if (state_->tracker.joinable()) state_->tracker.join();
  if (removal_failed) std::rethrow_exception(removal_failed);
}

EngineStats Engine::stats() const {
  refuse_if_inherited("Engine::stats");
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

void Engine::State::break_engine(const std::string& thread, const std::string& what) {
  std::lock_guard lock(mutex);
  broken = "the engine's " + thread + " thread failed: " + what;
  fail_unfinished(broken);
}

// The barrier: nothing thrown in the loop leaves the thread (std::terminate).
void Engine::State::run_dispatch_loop() {
  try {
    dispatch_until_stopped();
  } catch (const std::exception& error) {
    break_engine("dispatch", error.what());
  } catch (...) {
    break_engine("dispatch", "unknown exception");
  }
}

void Engine::State::dispatch_until_stopped() {
  std::unique_lock lock(mutex);
  while (true) {
    dispatch_wakeup.wait(lock, [&] { return stopping || (!ready.empty() && free_slots() > 0); });
    if (stopping) return;
    gather_burst(lock);
    if (stopping) return;
    std::vector<JobRequest> jobs;
    while (!ready.empty() && free_slots() > 0) {
      TaskRecord& task = tasks.at(ready.front());
      ready.pop_front();
      task.phase = TaskPhase::submitting;
      task.holds_slot = true;
      ++slots_in_use;
      jobs.push_back({task.id, task.attempt, task.task_file, task.memory_mb, task.result_file,
                      task.input_files});
    }
    if (jobs.empty()) continue;
    ++stats.transactions;
    lock.unlock();
    std::string failure;
    std::size_t taken = jobs.size();
    try {
      if (config.level_limit)
        taken = driver->submit_within(*config.level_limit, jobs);
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
      try {
        driver->remove(orphans, "cancelled while being submitted");
      } catch (const std::exception&) {
        // Their tasks are cancelled already; the batch's remove_all (shutdown)
        // removes the jobs by lineage.
        lock.lock();
        jobs_may_be_left = true;
        lock.unlock();
      }
      lock.lock();
    }
  }
}

// joblib hands tasks over one at a time: waits until the burst that has begun goes
// quiet, reaches its longest gather, or fills the free slots.
void Engine::State::gather_burst(std::unique_lock<std::mutex>& lock) {
  if (config.gather.quiet.count() <= 0) return;
  BurstGather burst(config.gather, std::chrono::steady_clock::now());
  std::size_t seen = arrivals;
  while (!stopping && ready.size() < free_slots()) {
    const bool woken = dispatch_wakeup.wait_until(lock, burst.ends_at(), [&] {
      return stopping || arrivals != seen || ready.size() >= free_slots();
    });
    if (!woken) return;  // quiet, or the burst's longest gather is over
    if (arrivals != seen) {
      seen = arrivals;
      burst.task_arrived(std::chrono::steady_clock::now());
    }
  }
}

// Jobs the level limit (throttle_scope="level") did not take go back to the front of the queue.
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
    // The barrier: an error here fails the tasks it concerns, and tracking goes on.
    try {
      track_once();
    } catch (const std::exception& error) {
      std::unique_lock lock(mutex);
      fail_unfinished(std::string("the scheduler's events could not be read: ") + error.what());
      tracker_pause.wait_for(lock, config.event_timeout, [&] { return stopping; });
    } catch (...) {
      break_engine("tracking", "unknown exception");
      return;
    }
  }
}

void Engine::State::track_once() {
  std::vector<DriverEvent> events = driver->wait_events(config.event_timeout);
  std::vector<JobKey> to_remove;
  {
    std::lock_guard lock(mutex);
    for (const DriverEvent& event : events) handle(event, to_remove);
  }
  if (to_remove.empty()) return;
  try {
    driver->remove(to_remove, "retrying the task in a new job");
  } catch (const std::exception& error) {
    // Their newer attempts' jobs are not removed here: the scheduler just failed
    // for the whole retry bound; the batch's remove_all removes them by lineage.
    std::lock_guard lock(mutex);
    fail_unremoved(to_remove, error.what());
  }
}

}  // namespace jhtc
