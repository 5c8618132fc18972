// The embedded local scheduler. One lock guards everything; wait_events() sleeps in
// poll() on the pidfds of the spawned jobs, the fork server's channel (it reports
// the start and exit of the jobs it forked) and an eventfd that submit(), remove()
// and wake() write to, so nothing is polled on a timer.
#include "local/local_driver.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "jhtc/errors.hpp"
#include "local/fork_server.hpp"
#include "local/process.hpp"

namespace jhtc {
namespace {

using Clock = std::chrono::steady_clock;

struct RunningJob {
  JobRequest request;
  local::SpawnedProcess process;  // forked jobs: pid -1 until started, pidfd always -1
  std::uint64_t fork_job = 0;     // != 0: run by the fork server under this number
  bool removing = false;
  Clock::time_point started_at = Clock::now();  // for the wall time of the run
  Clock::time_point kill_at{};
  std::string removal_reason;
};

class LocalDriver final : public SchedulerDriver {
 public:
  LocalDriver(JobTemplate job_template, const LocalOptions& options);
  ~LocalDriver() override;

  std::string_view name() const override { return "local"; }
  void submit(std::span<const JobRequest> jobs) override;
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override;
  void remove(std::span<const JobKey> jobs, std::string_view reason) override;
  void remove_all(std::string_view reason) override;
  bool remove_if_idle(JobKey key) override;
  void wake() override;

 private:
  void start_pending_jobs();  // each of these expects mutex_ held
  void start_fork_server();
  bool fork_job(const JobRequest& job);
  void spawn_job(const JobRequest& job);
  void handle_fork_reports();
  void handle_fork_server_death();
  void request_removal(RunningJob& job, std::string_view reason);
  void reap(TaskId task);
  void finish(TaskId task, const local::ExitStatus& status);
  void escalate_overdue_kills();
  std::string log_path(const JobRequest& job, const char* suffix) const;

  JobTemplate template_;
  unsigned max_running_ = 1;
  std::chrono::milliseconds kill_grace_{5000};
  int wake_fd_ = -1;

  std::mutex mutex_;
  std::deque<JobRequest> pending_;
  std::unordered_map<TaskId, RunningJob> running_;
  std::vector<DriverEvent> events_;
  std::unique_ptr<local::ForkServerConnection> fork_server_;  // null: spawn per job
  std::unordered_map<std::uint64_t, TaskId> forked_;          // fork_job -> task
  std::uint64_t next_fork_job_ = 1;
};

void warn(const std::string& message) {
  std::fprintf(stderr, "joblib_htcondor local scheduler: warning: %s\n", message.c_str());
}

// What wait4 said about the job's process, and the wall clock since it started.
JobUsage usage_of(const RunningJob& job, const local::ExitStatus& status) {
  JobUsage usage;
  usage.wall_s = std::chrono::duration<double>(Clock::now() - job.started_at).count();
  if (status.user_s >= 0) usage.cpu_user_s = status.user_s;
  if (status.sys_s >= 0) usage.cpu_sys_s = status.sys_s;
  if (status.maxrss_kb >= 0) usage.memory_mb = (status.maxrss_kb + 1023) / 1024;
  if (job.request.memory_mb > 0) usage.request_memory_mb = job.request.memory_mb;
  return usage;
}

DriverEvent event_for(DriverEventKind kind, const JobRequest& job, std::string job_id) {
  return make_driver_event(kind, {job.task, job.attempt}, std::move(job_id));
}

LocalDriver::LocalDriver(JobTemplate job_template, const LocalOptions& options)
    : template_(std::move(job_template)), kill_grace_(options.kill_grace) {
  if (options.cores && *options.cores == 0)
    throw std::invalid_argument("cores: 0; accepted: at least 1, or unset for this process's");
  if (kill_grace_.count() < 0)
    throw std::invalid_argument("kill_grace: " + std::to_string(kill_grace_.count()) +
                                " ms; accepted: a duration >= 0");
  const unsigned cores = options.cores.value_or(available_cores());
  if (template_.cpus <= 0)
    throw std::invalid_argument("request_cpus must be positive, got " +
                                std::to_string(template_.cpus));
  if (template_.cpus > cores) {
    throw std::invalid_argument("request_cpus=" + std::to_string(template_.cpus) + " exceeds the " +
                                std::to_string(cores) + " cores the local scheduler can use");
  }
  max_running_ = std::max(1u, static_cast<unsigned>(std::floor(cores / template_.cpus)));
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw SchedulerError("eventfd failed");
  if (options.fork_server) start_fork_server();
}

LocalDriver::~LocalDriver() {
  std::lock_guard lock(mutex_);
  for (auto& [task, job] : running_) {
    local::signal_process_group(job.process, SIGKILL);
    if (job.fork_job == 0) local::reap_process(job.process);
  }
  fork_server_.reset();  // the zygote kills what is left of this connection's jobs
  close(wake_fd_);
}

void LocalDriver::start_fork_server() {
  std::vector<std::string> argv{template_.python};
  argv.insert(argv.end(), template_.worker_args.begin(), template_.worker_args.end());
  auto env = template_.environment;
  env["JOBLIB_HTCONDOR_SERVE_FD"] = "3";
  // Bound the BLAS/OpenMP pools as HTCondor does (to request_cpus): numpy's import
  // would otherwise start OpenBLAS threads in the zygote, and forking a process
  // with threads is unsafe. A value the caller set wins.
  const std::string threads = std::to_string(std::max(1, static_cast<int>(template_.cpus)));
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    // getenv: only while a driver is built, before its engine's threads start; the
    // library never writes the environment (docs/ci.md, clang-tidy).
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    if (!env.contains(name) && std::getenv(name) == nullptr) env[name] = threads;
  try {
    fork_server_ = local::connect_fork_server(argv, env, template_.environment);
  } catch (const SchedulerError& error) {
    warn(std::string("cannot start the fork server, starting a fresh process per job: ") +
         error.what());
  }
}

std::string LocalDriver::log_path(const JobRequest& job, const char* suffix) const {
  return template_.log_dir + "/" + std::to_string(job.task) + "." + std::to_string(job.attempt) +
         suffix;
}

void LocalDriver::submit(std::span<const JobRequest> jobs) {
  std::lock_guard lock(mutex_);
  for (const JobRequest& job : jobs) {
    pending_.push_back(job);
    events_.push_back(
        event_for(DriverEventKind::submitted, job,
                  "local-" + std::to_string(job.task) + "." + std::to_string(job.attempt)));
  }
  start_pending_jobs();
  wake();
}

void LocalDriver::start_pending_jobs() {
  while (!pending_.empty() && running_.size() < max_running_) {
    JobRequest job = std::move(pending_.front());
    pending_.pop_front();
    if (fork_server_ && fork_job(job)) continue;
    if (fork_server_) {  // the channel broke: the zygote is dead; retry this job
      pending_.push_front(std::move(job));
      handle_fork_server_death();
      continue;
    }
    spawn_job(job);
  }
}

// The `running` event follows when the fork server reports the child's pid.
bool LocalDriver::fork_job(const JobRequest& job) {
  const std::uint64_t number = next_fork_job_++;
  try {
    if (!fork_server_->request(number, job.task_file, job.attempt, log_path(job, ".out"),
                               log_path(job, ".err")))
      return false;
  } catch (const std::invalid_argument& error) {
    warn(std::string(error.what()) + ": spawning this job instead of forking it");
    spawn_job(job);
    return true;
  }
  RunningJob running;
  running.request = job;
  running.fork_job = number;
  running_.emplace(job.task, std::move(running));
  forked_.emplace(number, job.task);
  return true;
}

void LocalDriver::spawn_job(const JobRequest& job) {
  std::vector<std::string> argv{template_.python};
  argv.insert(argv.end(), template_.worker_args.begin(), template_.worker_args.end());
  argv.push_back(job.task_file);
  argv.push_back(std::to_string(job.attempt));  // the worker signs its result with it
  try {
    auto process = local::spawn_process(argv, template_.environment, log_path(job, ".out"),
                                        log_path(job, ".err"));
    events_.push_back(event_for(DriverEventKind::running, job, std::to_string(process.pid)));
    RunningJob running;
    running.request = job;
    running.process = process;
    running_.emplace(job.task, std::move(running));
  } catch (const SchedulerError& error) {
    // The job could not even start: report it like a worker that failed at once.
    DriverEvent event = event_for(DriverEventKind::exited, job, "local");
    event.exit_code = 127;
    event.reason = error.what();
    events_.push_back(std::move(event));
  }
}

void LocalDriver::handle_fork_reports() {
  for (const local::ForkServerReport& report : fork_server_->read_reports()) {
    auto found = forked_.find(report.job);
    if (found == forked_.end()) continue;
    const TaskId task = found->second;
    RunningJob& job = running_.at(task);
    switch (report.kind) {
      case local::ForkServerReport::Kind::started:
        job.process.pid = report.pid;
        job.started_at = Clock::now();
        events_.push_back(
            event_for(DriverEventKind::running, job.request, std::to_string(report.pid)));
        if (job.removing) {  // removed before it started: end it now
          job.kill_at = Clock::now() + kill_grace_;
          local::signal_process_group(job.process, SIGTERM);
        }
        break;
      case local::ForkServerReport::Kind::exited:
        forked_.erase(found);
        finish(task, report.status);
        break;
      case local::ForkServerReport::Kind::failed: {
        DriverEvent event = event_for(DriverEventKind::exited, job.request, "local");
        event.exit_code = 127;
        event.reason = report.message;
        events_.push_back(std::move(event));
        forked_.erase(found);
        running_.erase(task);
        break;
      }
    }
  }
  if (!fork_server_->alive()) handle_fork_server_death();
}

// Started jobs are killed (their results cannot be trusted to be reported) and
// reported exited with the reason; unstarted ones go back to the queue. From now
// on each job is a fresh process.
void LocalDriver::handle_fork_server_death() {
  const std::string why = fork_server_->describe_death();
  std::vector<JobRequest> unstarted;
  std::size_t killed = 0;
  for (auto it = running_.begin(); it != running_.end();) {
    RunningJob& job = it->second;
    if (job.fork_job == 0) {
      ++it;
      continue;
    }
    const std::string job_id = job.process.pid > 0 ? std::to_string(job.process.pid) : "local";
    local::signal_process_group(job.process, SIGKILL);
    if (job.removing) {
      DriverEvent event = event_for(DriverEventKind::removed, job.request, job_id);
      event.reason = job.removal_reason;
      events_.push_back(std::move(event));
    } else if (job.process.pid > 0) {
      DriverEvent event = event_for(DriverEventKind::exited, job.request, job_id);
      event.signal = SIGKILL;
      event.reason = why + "; the job was killed";
      events_.push_back(std::move(event));
      ++killed;
    } else {
      unstarted.push_back(job.request);
    }
    it = running_.erase(it);
  }
  forked_.clear();
  pending_.insert(pending_.begin(), unstarted.begin(), unstarted.end());
  fork_server_.reset();
  warn(why + "; " + std::to_string(killed) + " running job(s) killed and reported failed, " +
       std::to_string(unstarted.size()) +
       " requeued; starting a fresh process per job from now on");
}

std::vector<DriverEvent> LocalDriver::wait_events(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<TaskId> tasks;
  {
    std::lock_guard lock(mutex_);
    if (!events_.empty()) return std::exchange(events_, {});
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({fork_server_ ? fork_server_->fd() : -1, POLLIN, 0});  // -1: ignored
    for (const auto& [task, job] : running_) {
      if (job.process.pidfd >= 0) {
        fds.push_back({job.process.pidfd, POLLIN, 0});
        tasks.push_back(task);
      }
      if (job.removing) {  // wake up in time to escalate to SIGKILL
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(job.kill_at - Clock::now());
        timeout = std::clamp(left, std::chrono::milliseconds(0), timeout);
      }
    }
  }
  const int ready = poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  std::lock_guard lock(mutex_);
  if (ready > 0) {
    if (fds[0].revents & POLLIN) {
      std::uint64_t drained;
      [[maybe_unused]] auto n = read(wake_fd_, &drained, sizeof drained);
    }
    for (std::size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) reap(tasks[i - 2]);
    // The server may have died (and been replaced by nothing) since the poll began.
    if (fds[1].revents != 0 && fork_server_ && fork_server_->fd() == fds[1].fd)
      handle_fork_reports();
  }
  escalate_overdue_kills();
  start_pending_jobs();
  return std::exchange(events_, {});
}

void LocalDriver::reap(TaskId task) {
  auto it = running_.find(task);
  if (it == running_.end() || it->second.fork_job != 0) return;
  finish(task, local::reap_process(it->second.process));
}

// Reports a job's end: `removed` when we asked for it, `exited` otherwise.
void LocalDriver::finish(TaskId task, const local::ExitStatus& status) {
  auto it = running_.find(task);
  RunningJob& job = it->second;
  const std::string job_id = std::to_string(job.process.pid);
  DriverEvent event;
  if (job.removing) {
    event = event_for(DriverEventKind::removed, job.request, job_id);
    event.reason = job.removal_reason;
  } else {
    event = event_for(DriverEventKind::exited, job.request, job_id);
    event.exit_code = status.exit_code;
    event.signal = status.signal;
    event.usage = usage_of(job, status);
  }
  events_.push_back(std::move(event));
  running_.erase(it);
}

void LocalDriver::escalate_overdue_kills() {
  const auto now = Clock::now();
  for (auto& [task, job] : running_) {
    if (job.removing && now >= job.kill_at) {
      local::signal_process_group(job.process, SIGKILL);
      job.kill_at = Clock::time_point::max();
    }
  }
}

void LocalDriver::request_removal(RunningJob& job, std::string_view reason) {
  if (job.removing) return;
  job.removing = true;
  job.removal_reason = reason;
  job.kill_at = Clock::now() + kill_grace_;
  local::signal_process_group(job.process, SIGTERM);
}

void LocalDriver::remove(std::span<const JobKey> jobs, std::string_view reason) {
  std::lock_guard lock(mutex_);
  for (const JobKey& key : jobs) {
    std::erase_if(pending_, [&](const JobRequest& job) {
      const bool match = job.task == key.task && job.attempt == key.attempt;
      if (match) {
        DriverEvent event = event_for(DriverEventKind::removed, job, "local");
        event.reason = reason;
        events_.push_back(std::move(event));
      }
      return match;
    });
    auto it = running_.find(key.task);
    if (it != running_.end() && it->second.request.attempt == key.attempt)
      request_removal(it->second, reason);
  }
  wake();
}

bool LocalDriver::remove_if_idle(JobKey key) {
  std::lock_guard lock(mutex_);
  const auto removed = std::erase_if(pending_, [&](const JobRequest& job) {
    if (job.task != key.task || job.attempt != key.attempt) return false;
    DriverEvent event = event_for(DriverEventKind::removed, job, "local");
    event.reason = "the parent runs this task itself";
    events_.push_back(std::move(event));
    return true;
  });
  if (removed > 0) wake();
  return removed > 0;
}

void LocalDriver::remove_all(std::string_view reason) {
  std::lock_guard lock(mutex_);
  for (const JobRequest& job : pending_) {
    DriverEvent event = event_for(DriverEventKind::removed, job, "local");
    event.reason = reason;
    events_.push_back(std::move(event));
  }
  pending_.clear();
  for (auto& [task, job] : running_) request_removal(job, reason);
  wake();
}

void LocalDriver::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
}

}  // namespace

unsigned available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

MachineCapacity local_machine_capacity() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0)
    throw SchedulerError("the local scheduler cannot read this machine's memory size");
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  return {host, static_cast<double>(available_cores()),
          static_cast<double>(pages) * static_cast<double>(page_size) / (1024.0 * 1024.0)};
}

void adopt_local_fork_server(int fd) { local::adopt_fork_server_channel(fd); }

std::unique_ptr<SchedulerDriver> make_local_driver(JobTemplate job_template,
                                                   const LocalOptions& options) {
  return std::make_unique<LocalDriver>(std::move(job_template), options);
}

}  // namespace jhtc
