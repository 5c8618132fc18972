// Engine, JobTemplate, the driver options, LevelLimit and TaskOutcome. Every call that may block
// releases the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/chrono.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>
#include <string>

#include "jhtc/engine.hpp"
#include "jhtc/journal.hpp"
#include "jhtc/scheduler_driver.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// A duration given in seconds from Python; negative or not a number is refused.
std::chrono::milliseconds seconds_to_ms(double seconds, const char* parameter) {
  if (!(seconds >= 0) || seconds > 86400)
    throw std::invalid_argument(std::string(parameter) + ": " + std::to_string(seconds) +
                                " is not a number of seconds from 0 to 86400");
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

void bind_job_template(nb::module_& m) {
  nb::class_<jhtc::FileTransfer>(m, "FileTransfer",
                                 "HTCondor's file transfer instead of a shared filesystem.")
      .def(nb::init<>())
      .def_rw("root", &jhtc::FileTransfer::root)
      .def_rw("common_inputs", &jhtc::FileTransfer::common_inputs)
      .def("enabled", &jhtc::FileTransfer::enabled);
  nb::class_<jhtc::JobTemplate>(m, "JobTemplate",
                                "What every job of one batch shares (see scheduler_driver.hpp).")
      .def(nb::init<>())
      .def_rw("batch_name", &jhtc::JobTemplate::batch_name)
      .def_rw("batch_dir", &jhtc::JobTemplate::batch_dir)
      .def_rw("log_dir", &jhtc::JobTemplate::log_dir)
      .def_rw("python", &jhtc::JobTemplate::python)
      .def_rw("worker_args", &jhtc::JobTemplate::worker_args)
      .def_rw("cpus", &jhtc::JobTemplate::cpus)
      .def_rw("memory_mb", &jhtc::JobTemplate::memory_mb)
      .def_rw("disk_mb", &jhtc::JobTemplate::disk_mb)
      .def_rw("gpus", &jhtc::JobTemplate::gpus)
      .def_rw("priority", &jhtc::JobTemplate::priority)
      .def_rw("environment", &jhtc::JobTemplate::environment)
      .def_rw("file_transfer", &jhtc::JobTemplate::file_transfer);
}

// Durations are datetime.timedelta or float seconds (nanobind's chrono caster); the
// driver refuses a value out of range when the Engine makes it, naming the field.
void bind_driver_options(nb::module_& m) {
  using jhtc::HTCondorOptions;
  nb::class_<HTCondorOptions>(m, "HTCondorOptions",
                              "The HTCondor driver's options (see driver_options.hpp).")
      .def(nb::init<>())
      .def_rw("pool", &HTCondorOptions::pool, "Collector for the tools' -pool; '': local.")
      .def_rw("schedd", &HTCondorOptions::schedd, "Schedd for the tools' -name; '': local.")
      .def_rw("universe", &HTCondorOptions::universe)
      .def_rw("initial_dir", &HTCondorOptions::initial_dir, "The jobs' initialdir; '': none.")
      .def_rw("extra_directives", &HTCondorOptions::extra_directives,
              "Extra submit commands as (key, value) pairs.")
      .def_rw("lineage", &HTCondorOptions::lineage, "Batch ids root/.../this; '': batch_name.")
      .def_rw("level", &HTCondorOptions::level, "Recursion level (JhtcLevel); None: not set.")
      .def_rw("event_log", &HTCondorOptions::event_log, "'': <batch_dir>/condor.log.")
      .def_rw("event_log_inotify", &HTCondorOptions::event_log_inotify)
      .def_rw("poll_interval", &HTCondorOptions::poll_interval)
      .def_rw("reconcile_after", &HTCondorOptions::reconcile_after)
      .def_rw("unmatched_after", &HTCondorOptions::unmatched_after,
              "An idle job no machine matches is reported after this long; None: never.")
      .def_rw("max_per_submission", &HTCondorOptions::max_per_submission)
      .def_rw("probe_timeout", &HTCondorOptions::probe_timeout)
      .def_rw("command_timeout", &HTCondorOptions::command_timeout)
      .def_rw("abort_timeout", &HTCondorOptions::abort_timeout)
      .def_rw("retry_attempts", &HTCondorOptions::retry_attempts)
      .def_rw("retry_first_wait", &HTCondorOptions::retry_first_wait)
      .def_rw("retry_max_wait", &HTCondorOptions::retry_max_wait);
  using jhtc::LocalOptions;
  nb::class_<LocalOptions>(m, "LocalOptions",
                           "The local scheduler's options (see driver_options.hpp).")
      .def(nb::init<>())
      .def_rw("cores", &LocalOptions::cores, "Cores the jobs share; None: this process's.")
      .def_rw("kill_grace", &LocalOptions::kill_grace, "SIGTERM to SIGKILL on removal.")
      .def_rw("fork_server", &LocalOptions::fork_server,
              "Fork jobs from the process's fork server (else spawn each).");
  using jhtc::LevelLimit;
  nb::class_<LevelLimit>(m, "LevelLimit",
                         "One cap shared by every batch of a recursion level of a run.")
      .def(nb::init<int, std::size_t, std::string>(), "level"_a, "cap"_a, "lock_path"_a)
      .def_rw("level", &LevelLimit::level)
      .def_rw("cap", &LevelLimit::cap)
      .def_rw("lock_path", &LevelLimit::lock_path);
}

nb::dict usage_as_dict(const jhtc::JobUsage& u) {
  nb::dict d;
  const auto put = [&d](const char* key, const auto& figure) {
    if (figure) d[key] = *figure;
  };
  put("wall_s", u.wall_s);
  put("cpu_user_s", u.cpu_user_s);
  put("cpu_sys_s", u.cpu_sys_s);
  put("memory_mb", u.memory_mb);
  put("disk_kb", u.disk_kb);
  put("alloc_cpus", u.alloc_cpus);
  put("alloc_memory_mb", u.alloc_memory_mb);
  put("request_memory_mb", u.request_memory_mb);
  return d;
}

void bind_outcome(nb::module_& m) {
  nb::enum_<jhtc::OutcomeKind>(m, "OutcomeKind")
      .value("done", jhtc::OutcomeKind::done)
      .value("failed", jhtc::OutcomeKind::failed)
      .value("cancelled", jhtc::OutcomeKind::cancelled)
      .value("refused", jhtc::OutcomeKind::refused);
  nb::class_<jhtc::TaskOutcome>(m, "TaskOutcome")
      .def_ro("task", &jhtc::TaskOutcome::task)
      .def_ro("kind", &jhtc::TaskOutcome::kind)
      .def_ro("reason", &jhtc::TaskOutcome::reason)
      .def_ro("job_id", &jhtc::TaskOutcome::job_id)
      .def_ro("attempts", &jhtc::TaskOutcome::attempts)
      .def_ro("scheduler_error", &jhtc::TaskOutcome::scheduler_error,
              "Failed because a scheduler call failed after its retries (not the job).")
      .def_ro("memory_holds", &jhtc::TaskOutcome::memory_holds)
      .def_prop_ro(
          "usage", [](const jhtc::TaskOutcome& o) { return usage_as_dict(o.usage); },
          "What the last job used: the figures the scheduler reported, by name.");
}

nb::dict stats_as_dict(const jhtc::EngineStats& s) {
  nb::dict d;
  d["queued"] = s.queued;
  d["submitted"] = s.submitted;
  d["running"] = s.running;
  d["done"] = s.done;
  d["failed"] = s.failed;
  d["cancelled"] = s.cancelled;
  d["retries"] = s.retries;
  d["transactions"] = s.transactions;
  d["waiting_for_disk"] = s.waiting_for_disk;
  d["disk_held"] = s.disk_held;
  return d;
}

void bind_adoption(nb::module_& m) {
  nb::class_<jhtc::AdoptionTask>(m, "AdoptionTask",
                                 "A task of an earlier batch that Engine.adopt may take over.")
      .def(
          "__init__",
          [](jhtc::AdoptionTask* self, jhtc::TaskId earlier_task, std::string task_file,
             std::string result_file, int calls) {
            new (self) jhtc::AdoptionTask{earlier_task, std::move(task_file),
                                          std::move(result_file), calls};
          },
          "earlier_task"_a, "task_file"_a, "result_file"_a, "calls"_a = 1)
      .def_ro("earlier_task", &jhtc::AdoptionTask::earlier_task)
      .def_ro("task_file", &jhtc::AdoptionTask::task_file)
      .def_ro("result_file", &jhtc::AdoptionTask::result_file)
      .def_ro("calls", &jhtc::AdoptionTask::calls);
  nb::class_<jhtc::AdoptedTask>(m, "AdoptedTask", "A task Engine.adopt took over, and its job.")
      .def_ro("earlier_task", &jhtc::AdoptedTask::earlier_task)
      .def_ro("task", &jhtc::AdoptedTask::task)
      .def_ro("attempt", &jhtc::AdoptedTask::attempt)
      .def_ro("job_id", &jhtc::AdoptedTask::job_id);
}

}  // namespace

void bind_engine(nb::module_& m) {
  m.def(
      "remove_lineage",
      [](const std::string& scheduler, const std::string& lineage, const std::string& reason,
         const std::optional<std::string>& pool, const std::optional<std::string>& schedd,
         double timeout_s) {
        jhtc::SchedulerAddress where{scheduler, pool.value_or(""), schedd.value_or(""),
                                     std::chrono::seconds(static_cast<long>(timeout_s))};
        return jhtc::remove_lineage(where, lineage, reason);
      },
      "scheduler"_a, "lineage"_a, "reason"_a, "pool"_a.none() = nb::none(),
      "schedd"_a.none() = nb::none(), "timeout_s"_a = 60.0,
      nb::call_guard<nb::gil_scoped_release>(),
      "Removes every job of a lineage and below (validated, quoted); True when a job was "
      "marked. ValueError for a malformed lineage, SchedulerError when the scheduler failed.");
  nb::class_<jhtc::MachineCapacity>(m, "MachineCapacity",
                                    "One machine of a pool, with everything it has.")
      .def_ro("machine", &jhtc::MachineCapacity::machine)
      .def_ro("cpus", &jhtc::MachineCapacity::cpus)
      .def_ro("memory_mb", &jhtc::MachineCapacity::memory_mb);
  m.def(
      "pool_capacity",
      [](const std::string& scheduler, const std::optional<std::string>& pool, double timeout_s) {
        jhtc::SchedulerAddress where{scheduler, pool.value_or(""), "",
                                     std::chrono::seconds(static_cast<long>(timeout_s))};
        return jhtc::pool_capacity(where);
      },
      "scheduler"_a, "pool"_a.none() = nb::none(), "timeout_s"_a = 30.0,
      nb::call_guard<nb::gil_scoped_release>(),
      "The machines of the scheduler's pool, each once (HTCondor: condor_status; local: this "
      "machine). ValueError for an unknown scheduler or a malformed pool, SchedulerError when "
      "the scheduler failed.");
  m.def("adopt_local_fork_server", &jhtc::adopt_local_fork_server, "fd"_a,
        "In a job forked by the local scheduler's fork server: the local drivers of this "
        "process fork their jobs through the control channel `fd` the job inherited.");
  bind_job_template(m);
  bind_driver_options(m);
  bind_outcome(m);
  bind_adoption(m);
  nb::class_<jhtc::Engine>(m, "Engine", "One joblib batch's dispatch engine (see engine.hpp).")
      .def(
          "__init__",
          [](jhtc::Engine* self, jhtc::JobTemplate job_template, jhtc::DriverOptions options,
             std::size_t throttle, bool count_running, int max_retries, double gather_quiet_s,
             double gather_most_s, const std::shared_ptr<jhtc::JournalWriter>& journal,
             std::uint64_t disk_budget, double memory_retry_factor,
             std::int64_t max_request_memory_mb, std::optional<jhtc::LevelLimit> level_limit) {
            jhtc::EngineConfig config;
            config.throttle = throttle;
            config.count_running = count_running;
            config.max_retries = max_retries;
            config.gather.quiet = seconds_to_ms(gather_quiet_s, "gather_quiet_s");
            config.gather.most = seconds_to_ms(gather_most_s, "gather_most_s");
            config.disk_budget = disk_budget;
            config.request_memory_mb = job_template.memory_mb;
            config.memory_retry_factor = memory_retry_factor;
            config.max_request_memory_mb = max_request_memory_mb;
            config.level_limit = std::move(level_limit);
            nb::gil_scoped_release release;
            auto driver = jhtc::make_driver(std::move(job_template), std::move(options));
            auto observer = journal ? jhtc::make_journal_observer(journal) : nullptr;
            new (self) jhtc::Engine(config, std::move(driver), std::move(observer));
          },
          "job_template"_a, "options"_a, "throttle"_a, "count_running"_a = true,
          "max_retries"_a = 2, "gather_quiet_s"_a = 0.02, "gather_most_s"_a = 0.25,
          "journal"_a.none() = nb::none(), "disk_budget"_a = 0, "memory_retry_factor"_a = 2.0,
          "max_request_memory_mb"_a = 0, "level_limit"_a.none() = nb::none(),
          "The options' type picks the scheduler: HTCondorOptions or LocalOptions.")
      .def("submit", &jhtc::Engine::submit, "task_file"_a, "result_file"_a, "calls"_a = 1,
           nb::call_guard<nb::gil_scoped_release>())
      .def(
          "submit_deferred",
          [](jhtc::Engine& engine, std::string task_file, std::string result_file,
             std::uint64_t files, std::uint64_t blobs, int calls) {
            return engine.submit_deferred(std::move(task_file), std::move(result_file),
                                          {.files = files, .blobs = blobs}, calls);
          },
          "task_file"_a, "result_file"_a, "files"_a, "blobs"_a, "calls"_a = 1,
          nb::call_guard<nb::gil_scoped_release>(),
          "Queues a task whose files are written once the disk budget admits it.")
      .def(
          "adopt",
          [](jhtc::Engine& engine, const std::string& lineage, const std::string& event_log,
             const std::vector<jhtc::AdoptionTask>& tasks) {
            return engine.adopt(lineage, event_log, tasks);
          },
          "lineage"_a, "event_log"_a, "tasks"_a, nb::call_guard<nb::gil_scoped_release>(),
          "resume=True: takes over the jobs of a killed run's batch (see engine.hpp); returns "
          "the AdoptedTasks. SchedulerError when the scheduler did not answer.")
      .def("take_admitted", &jhtc::Engine::take_admitted, nb::call_guard<nb::gil_scoped_release>())
      .def(
          "staged",
          [](jhtc::Engine& engine, jhtc::TaskId task, std::uint64_t files, std::uint64_t blobs,
             std::vector<std::string> input_files) {
            engine.staged(task, {.files = files, .blobs = blobs}, std::move(input_files));
          },
          "task"_a, "files"_a, "blobs"_a, "input_files"_a = std::vector<std::string>{},
          nb::call_guard<nb::gil_scoped_release>())
      .def("files_removed", &jhtc::Engine::files_removed, "task"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def("add_disk_blobs", &jhtc::Engine::add_disk_blobs, "bytes"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def("withdraw", &jhtc::Engine::withdraw, "task"_a, "reason"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def(
          "next_outcome",
          [](jhtc::Engine& engine, double timeout_s) {
            return engine.next_outcome(
                std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
          },
          "timeout_s"_a, nb::call_guard<nb::gil_scoped_release>(),
          "The next finished task, or None after timeout_s seconds.")
      .def("remove_if_idle", &jhtc::Engine::remove_if_idle, "task"_a,
           nb::call_guard<nb::gil_scoped_release>(),
           "Removes the task's job only if it has not started; True when removed.")
      .def("abort_now", &jhtc::Engine::abort_now, "reason"_a,
           nb::call_guard<nb::gil_scoped_release>(),
           "cancel_all within the driver's short bound (one condor_rm, abort_timeout).")
      .def("cancel_all", &jhtc::Engine::cancel_all, "reason"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def("shutdown", &jhtc::Engine::shutdown, nb::call_guard<nb::gil_scoped_release>())
      .def("stats", [](const jhtc::Engine& engine) { return stats_as_dict(engine.stats()); });
}
