// The embedded local scheduler. One lock guards everything; wait_events() sleeps in
// poll() on the pidfds of the running jobs plus an eventfd that submit(), remove()
// and wake() write to, so nothing is polled on a timer.
#include "local/local_driver.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "jhtc/errors.hpp"
#include "local/process.hpp"

namespace jhtc {
namespace {

using Clock = std::chrono::steady_clock;

struct RunningJob {
  JobRequest request;
  local::SpawnedProcess process;
  bool removing = false;
  Clock::time_point kill_at{};
  std::string removal_reason;
};

class LocalDriver final : public SchedulerDriver {
 public:
  explicit LocalDriver(JobTemplate job_template);
  ~LocalDriver() override;

  std::string_view name() const override { return "local"; }
  void submit(std::span<const JobRequest> jobs) override;
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override;
  void remove(std::span<const JobKey> jobs, std::string_view reason) override;
  void remove_all(std::string_view reason) override;
  void wake() override;

 private:
  void start_pending_jobs();  // each of these expects mutex_ held
  void request_removal(RunningJob& job, std::string_view reason);
  void reap(TaskId task);
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
};

DriverEvent event_for(DriverEventKind kind, const JobRequest& job, std::string job_id) {
  DriverEvent event;
  event.kind = kind;
  event.task = job.task;
  event.attempt = job.attempt;
  event.job_id = std::move(job_id);
  return event;
}

LocalDriver::LocalDriver(JobTemplate job_template) : template_(std::move(job_template)) {
  unsigned cores = available_cores();
  if (auto it = template_.options.find("cores"); it != template_.options.end())
    cores = static_cast<unsigned>(std::stoul(it->second));
  if (auto it = template_.options.find("kill_grace_ms"); it != template_.options.end())
    kill_grace_ = std::chrono::milliseconds(std::stol(it->second));
  if (template_.cpus <= 0)
    throw std::invalid_argument("request_cpus must be positive, got " +
                                std::to_string(template_.cpus));
  if (template_.cpus > cores) {
    throw std::invalid_argument("request_cpus=" + std::to_string(template_.cpus) +
                                " exceeds the " + std::to_string(cores) +
                                " cores the local scheduler can use");
  }
  max_running_ = std::max(1u, static_cast<unsigned>(std::floor(cores / template_.cpus)));
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw SchedulerError("eventfd failed");
}

LocalDriver::~LocalDriver() {
  std::lock_guard lock(mutex_);
  for (auto& [task, job] : running_) {
    local::signal_process_group(job.process, SIGKILL);
    local::reap_process(job.process);
  }
  close(wake_fd_);
}

std::string LocalDriver::log_path(const JobRequest& job, const char* suffix) const {
  return template_.log_dir + "/" + std::to_string(job.task) + "." + std::to_string(job.attempt) +
         suffix;
}

void LocalDriver::submit(std::span<const JobRequest> jobs) {
  std::lock_guard lock(mutex_);
  for (const JobRequest& job : jobs) {
    pending_.push_back(job);
    events_.push_back(event_for(DriverEventKind::submitted, job,
                                "local-" + std::to_string(job.task) + "." +
                                    std::to_string(job.attempt)));
  }
  start_pending_jobs();
  wake();
}

void LocalDriver::start_pending_jobs() {
  while (!pending_.empty() && running_.size() < max_running_) {
    JobRequest job = std::move(pending_.front());
    pending_.pop_front();
    std::vector<std::string> argv{template_.python};
    argv.insert(argv.end(), template_.worker_args.begin(), template_.worker_args.end());
    argv.push_back(job.task_file);
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
}

std::vector<DriverEvent> LocalDriver::wait_events(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<TaskId> tasks;
  {
    std::lock_guard lock(mutex_);
    if (!events_.empty()) return std::exchange(events_, {});
    fds.push_back({wake_fd_, POLLIN, 0});
    for (const auto& [task, job] : running_) {
      fds.push_back({job.process.pidfd, POLLIN, 0});
      tasks.push_back(task);
      if (job.removing) {  // wake up in time to escalate to SIGKILL
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(job.kill_at - Clock::now());
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
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) reap(tasks[i - 1]);
  }
  escalate_overdue_kills();
  start_pending_jobs();
  return std::exchange(events_, {});
}

void LocalDriver::reap(TaskId task) {
  auto it = running_.find(task);
  if (it == running_.end()) return;
  RunningJob& job = it->second;
  const std::string job_id = std::to_string(job.process.pid);
  const local::ExitStatus status = local::reap_process(job.process);
  DriverEvent event;
  if (job.removing) {
    event = event_for(DriverEventKind::removed, job.request, job_id);
    event.reason = job.removal_reason;
  } else {
    event = event_for(DriverEventKind::exited, job.request, job_id);
    event.exit_code = status.exit_code;
    event.signal = status.signal;
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

std::unique_ptr<SchedulerDriver> make_local_driver(JobTemplate job_template) {
  return std::make_unique<LocalDriver>(std::move(job_template));
}

}  // namespace jhtc
