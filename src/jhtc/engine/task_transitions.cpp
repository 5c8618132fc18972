// How driver events move a task through its states. Runs with Engine::State::mutex held.
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

std::size_t Engine::State::free_slots() const {
  return slots_in_use >= config.throttle ? 0 : config.throttle - slots_in_use;
}

void Engine::State::release_slot(TaskRecord& task) {
  if (!task.holds_slot) return;
  task.holds_slot = false;
  --slots_in_use;
  dispatch_wakeup.notify_one();
}

void Engine::State::finish(TaskRecord& task, OutcomeKind kind, std::string reason) {
  release_slot(task);
  // A task that never got its files has nothing to delete; the others' files
  // count until the caller says they are gone (files_removed).
  const bool had_files = task.phase != TaskPhase::waiting_for_disk;
  if (!had_files) disk.release(task.id);
  TaskOutcome outcome{task.id, kind, std::move(reason), task.job_id, task.attempt + 1};
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

void Engine::State::retry_or_fail(TaskRecord& task, const std::string& reason) {
  if (task.attempt >= config.max_retries) {
    const int attempts = task.attempt + 1;
    finish(task, OutcomeKind::failed,
           reason + " (gave up after " + std::to_string(attempts) +
               (attempts == 1 ? " attempt)" : " attempts)"));
    return;
  }
  release_slot(task);
  ++task.attempt;
  ++stats.retries;
  task.phase = TaskPhase::queued;
  task.job_id.clear();
  ready.push_front(task.id);  // a retried task was waiting longest: it goes first
  if (observer) observer->on_retried(task.id, reason);
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
      retry_or_fail(task, describe_hold(event));
      break;
    case DriverEventKind::exited:
      if (event.signal == 0 && event.exit_code == 0) {
        std::error_code ignored;
        if (std::filesystem::exists(task.result_file, ignored)) {
          finish(task, OutcomeKind::done, {});
        } else {
          retry_or_fail(task, "job " + event.job_id + " exited 0 without writing its result " +
                                  task.result_file);
        }
      } else {
        retry_or_fail(task, "job " + event.job_id + ": " + describe_exit(event));
      }
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
