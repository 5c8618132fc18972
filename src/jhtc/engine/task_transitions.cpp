// How driver events move a task through its states. Runs with Engine::State::mutex held.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>

#include "engine/engine_state.hpp"

namespace jhtc {
namespace {

std::string describe_exit(const DriverEvent& event) {
  std::string text = event.signal > 0
                         ? "the worker was killed by signal " + std::to_string(event.signal)
                         : "the worker exited with code " + std::to_string(event.exit_code);
  // The driver's own account (e.g. "cannot start /x/python", "the fork server died").
  if (!event.reason.empty()) text += " (" + event.reason + ")";
  return text;
}

std::string describe_hold(const DriverEvent& event) {
  return "job " + event.job_id + " was held: " + event.reason + " (HoldReasonCode " +
         std::to_string(event.hold_code) + ", HoldReasonSubCode " +
         std::to_string(event.hold_subcode) + ")";
}

// "1.50 GiB (1610612736 bytes)": readable, and exact for whoever compares.
std::string describe_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + " bytes";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %s (%llu bytes)", value, kUnits[unit],
                static_cast<unsigned long long>(bytes));
  return text;
}

}  // namespace

JobUsage Engine::State::usage_with_request(const DriverEvent& event, const TaskRecord& task) const {
  JobUsage usage = event.usage;
  const std::int64_t asked = task.memory_mb > 0 ? task.memory_mb : config.request_memory_mb;
  if (!usage.request_memory_mb && asked > 0) usage.request_memory_mb = asked;
  return usage;
}

std::size_t Engine::State::free_slots() const {
  return slots_in_use >= config.throttle ? 0 : config.throttle - slots_in_use;
}

void Engine::State::release_slot(TaskRecord& task) {
  if (!task.holds_slot) return;
  task.holds_slot = false;
  --slots_in_use;
  dispatch_wakeup.notify_one();
}

void Engine::State::finish(TaskRecord& task, OutcomeKind kind, std::string reason,
                           bool scheduler_error) {
  release_slot(task);
  // A task that never got its files has nothing to delete; the others' files
  // count until the caller says they are gone (files_removed).
  const bool had_files = task.phase != TaskPhase::waiting_for_disk;
  if (!had_files) disk.release(task.id);
  TaskOutcome outcome{task.id,           kind,
                      std::move(reason), task.job_id,
                      task.attempt + 1,  scheduler_error,
                      task.last_usage,   task.memory_holds};
  switch (kind) {
    case OutcomeKind::done:
      ++stats.done;
      break;
    case OutcomeKind::failed:
      ++stats.failed;
      break;
    case OutcomeKind::cancelled:
      ++stats.cancelled;
      break;
    case OutcomeKind::refused:
      ++stats.failed;
      break;
  }
  if (observer) observer->on_finished(outcome);
  outcomes.push_back(std::move(outcome));
  outcome_ready.notify_all();
  tasks.erase(task.id);  // `task` dangles from here on
  if (!had_files) admit_waiting();
}

void Engine::State::fail_unfinished(const std::string& reason) {
  std::vector<TaskId> ids;
  for (const auto& [id, task] : tasks) ids.push_back(id);
  for (TaskId id : ids) finish(tasks.at(id), OutcomeKind::failed, reason, true);
  ready.clear();
  admitted.clear();
}

void Engine::State::fail_unremoved(std::span<const JobKey> jobs, const std::string& error) {
  jobs_may_be_left = true;
  for (const JobKey& job : jobs) {
    auto it = tasks.find(job.task);
    if (it == tasks.end()) continue;
    TaskRecord& task = it->second;
    if (auto queued = std::find(ready.begin(), ready.end(), task.id); queued != ready.end())
      ready.erase(queued);
    finish(task, OutcomeKind::failed,
           "job of attempt " + std::to_string(job.attempt + 1) +
               " could not be removed from the scheduler: " + error,
           true);
  }
}

void Engine::State::hand_out(TaskRecord& task) {
  task.phase = TaskPhase::staging;
  admitted.push_back(task.id);
}

void Engine::State::admit_waiting() {
  for (TaskId id : disk.admit()) {
    if (auto it = tasks.find(id); it != tasks.end()) hand_out(it->second);
  }
  // The caller that stages them may be waiting in next_outcome (the collector).
  if (!admitted.empty()) outcome_ready.notify_all();
}

void Engine::State::admit_or_refuse() {
  admit_waiting();
  while (auto id = disk.first_that_never_fits()) {
    const std::uint64_t cost = disk.cost_of(*id);
    finish(tasks.at(*id), OutcomeKind::refused,
           "the task needs " + describe_bytes(cost) +
               " in the shared directory, but the "
               "shared-disk budget (max_shared_disk) is " +
               describe_bytes(disk.limit()) + " and " + describe_bytes(disk.blobs()) +
               " of it hold data that stays until the batch ends");
  }
}

void Engine::State::retry_or_fail(TaskRecord& task, const RetryNote& note) {
  if (task.failures >= config.max_retries) {
    const int attempts = task.attempt + 1;
    finish(task, OutcomeKind::failed,
           note.reason + " (gave up after " + std::to_string(attempts) +
               (attempts == 1 ? " attempt)" : " attempts)"));
    return;
  }
  ++task.failures;
  requeue(task, note);
}

void Engine::State::retry_with_more_memory(TaskRecord& task, const DriverEvent& hold) {
  const std::int64_t asked = task.memory_mb > 0 ? task.memory_mb : config.request_memory_mb;
  const std::int64_t ceiling = config.max_request_memory_mb;
  const std::string peak = hold.usage.memory_mb
                               ? std::to_string(*hold.usage.memory_mb) + " MB at its peak"
                               : "an unreported peak";
  if (asked >= ceiling) {
    finish(task, OutcomeKind::failed,
           describe_hold(hold) + ": the job needs more memory than the ceiling allows: it used " +
               peak + ", asking for " + std::to_string(asked) +
               " MB, and max_request_mem (the most a memory retry may ask for) is " +
               std::to_string(ceiling) + " MB");
    return;
  }
  const auto raised =
      static_cast<std::int64_t>(std::ceil(static_cast<double>(asked) * config.memory_retry_factor));
  task.memory_mb = std::min(std::max(raised, asked + 1), ceiling);
  ++task.memory_holds;
  requeue(task, RetryNote{describe_hold(hold) + "; it used " + peak + ", asking for " +
                              std::to_string(asked) + " MB: retried asking for " +
                              std::to_string(task.memory_mb) + " MB",
                          task.last_usage, hold.hold_code, hold.hold_subcode, task.memory_mb});
}

void Engine::State::requeue(TaskRecord& task, const RetryNote& note) {
  release_slot(task);
  ++task.attempt;
  ++stats.retries;
  task.phase = TaskPhase::queued;
  task.job_id.clear();
  ready.push_front(task.id);  // a retried task was waiting longest: it goes first
  if (observer) observer->on_retried(task.id, note);
  dispatch_wakeup.notify_one();
}

void Engine::State::handle(const DriverEvent& event, std::vector<JobKey>& to_remove) {
  auto it = tasks.find(event.task);
  // Events of finished tasks and of earlier attempts are history, not news.
  if (it == tasks.end() || it->second.attempt != event.attempt) return;
  TaskRecord& task = it->second;
  switch (event.kind) {
    case DriverEventKind::submitted:
      task.job_id = event.job_id;
      if (task.phase == TaskPhase::submitting) task.phase = TaskPhase::in_scheduler;
      if (observer) observer->on_submitted(task.id, task.job_id);
      break;
    case DriverEventKind::running:
      if (!event.job_id.empty()) task.job_id = event.job_id;
      task.phase = TaskPhase::running;
      if (!config.count_running) release_slot(task);
      if (observer) observer->on_running(task.id, task.job_id);
      break;
    case DriverEventKind::evicted:
    case DriverEventKind::released:
      // Back in the scheduler's queue; it will run again by itself.
      if (task.phase == TaskPhase::running) task.phase = TaskPhase::in_scheduler;
      break;
    case DriverEventKind::held:
      to_remove.push_back({task.id, task.attempt});
      task.last_usage = usage_with_request(event, task);
      if (event.memory_exceeded && config.request_memory_mb > 0 &&
          config.max_request_memory_mb > 0 && !task.adopted) {
        retry_with_more_memory(task, event);
      } else {
        retry_or_fail(task, RetryNote{describe_hold(event), task.last_usage, event.hold_code,
                                      event.hold_subcode, 0});
      }
      break;
    case DriverEventKind::exited:
      task.last_usage = usage_with_request(event, task);
      if (event.signal == 0 && event.exit_code == 0) {
        std::error_code ignored;
        if (std::filesystem::exists(task.result_file, ignored)) {
          finish(task, OutcomeKind::done, {});
        } else {
          retry_or_fail(task,
                        RetryNote{"job " + event.job_id + " exited 0 without writing its result " +
                                      task.result_file,
                                  task.last_usage});
        }
      } else {
        retry_or_fail(
            task, RetryNote{"job " + event.job_id + ": " + describe_exit(event), task.last_usage});
      }
      break;
    case DriverEventKind::unmatched:
      // No retry: the same request would find no machine either.
      to_remove.push_back({task.id, task.attempt});
      finish(task, OutcomeKind::failed, "job " + event.job_id + " " + event.reason);
      break;
    case DriverEventKind::removed:
      // We only remove jobs of earlier attempts or cancelled tasks, which never
      // reach here: somebody else removed this one, deliberately. No retry.
      finish(task, OutcomeKind::failed,
             "job " + event.job_id + " was removed from the queue: " + event.reason);
      break;
  }
}

}  // namespace jhtc
