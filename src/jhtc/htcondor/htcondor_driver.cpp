// The HTCondor driver.
//
//   submit() ──► submit-N.sub + submit-N.items ──► condor_submit -terse ──► cluster ranges
//                                                                              │ (cluster, proc) ->
//                                                                              (task, attempt)
//   wait_events() ◄── translate ◄── EventLogParser ◄── new bytes of <batch_dir>/condor.log
//                                                     (and of adopted batches' logs)
//                 ◄── condor_q / condor_history -af:j   (only after a long silence)
//
// Two locks: tail_mutex_ serialises readers of the log (one parser, one offset);
// mutex_ guards the job table and the pending events and is never held while a
// condor_* tool runs.
#include "htcondor/htcondor_driver.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "htcondor/condor_tools.hpp"
#include "htcondor/event_translation.hpp"
#include "htcondor/hold_hints.hpp"
#include "htcondor/job_removal.hpp"
#include "htcondor/level_lock.hpp"
#include "htcondor/submit_description.hpp"
#include "htcondor/tool_retry.hpp"
#include "jhtc/errors.hpp"
#include "jhtc/file_watch.hpp"
#include "util/run_command.hpp"

namespace jhtc {
namespace {

using namespace htcondor;
using Clock = std::chrono::steady_clock;
using JobRef = std::pair<std::int64_t, int>;  // (cluster, proc)

// With inotify on a local disk the log is read when it grows; this poll is the safety net.
constexpr std::chrono::milliseconds kSafetyPoll{2000};

constexpr std::string_view kLocalHint = "; to run on this machine instead, use scheduler=\"local\"";

// One event log being followed: the batch's own, or an adopted batch's.
struct LogTail {
  std::string path;
  int fd = -1;
  off_t offset = 0;
  EventLogParser parser;
};

struct JobState {
  JobKey key;
  std::int64_t request_memory_mb = 0;  // what this job asked for; 0: nothing
  bool held = false;
  bool done = false;
  bool ran = false;        // started at least once
  bool unmatched = false;  // reported as matching no machine
  Clock::time_point submitted_at = Clock::now();
  JobUsage usage;  // what the log said so far (image-size updates: the peak memory)
};

template <typename Duration>
void check_positive(const char* field, Duration value, const char* unit) {
  if (value.count() <= 0)
    throw std::invalid_argument(std::string(field) + ": " + std::to_string(value.count()) + " " +
                                unit + " is not positive; accepted: a duration > 0");
}

// The fields HTCondorOptions bounds, checked before HTCondor is looked for; the field is named.
void check_options(const HTCondorOptions& o) {
  check_positive("poll_interval", o.poll_interval, "ms");
  check_positive("reconcile_after", o.reconcile_after, "s");
  if (o.unmatched_after) check_positive("unmatched_after", *o.unmatched_after, "s");
  check_positive("probe_timeout", o.probe_timeout, "s");
  check_positive("command_timeout", o.command_timeout, "s");
  check_positive("abort_timeout", o.abort_timeout, "s");
  check_positive("retry_first_wait", o.retry_first_wait, "ms");
  check_positive("retry_max_wait", o.retry_max_wait, "ms");
  if (o.max_per_submission == 0)
    throw std::invalid_argument("max_per_submission: 0 jobs per condor_submit; accepted: >= 1");
  if (o.retry_attempts < 1)
    throw std::invalid_argument("retry_attempts: " + std::to_string(o.retry_attempts) +
                                " calls; accepted: >= 1");
  check_level(o.level);  // the rest of the submit description's values: at its trial build
  checked_extra_directives(o.extra_directives);
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out;
}

// condor_rm exits 1 when every job it was given is gone already; that is not a failure.
bool only_jobs_gone(const util::CommandResult& r) {
  if (r.exit_code != 1) return false;
  bool any = false;
  for (const std::string* text : {&r.out, &r.err}) {
    std::size_t at = 0;
    while (at < text->size()) {
      std::size_t end = text->find('\n', at);
      if (end == std::string::npos) end = text->size();
      const std::string_view line = std::string_view(*text).substr(at, end - at);
      at = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (!line.starts_with("Job ") ||
          !(line.ends_with(" not found") || line.ends_with(" marked for removal")))
        return false;
      any = true;
    }
  }
  return any;
}

class HTCondorDriver final : public SchedulerDriver {
 public:
  HTCondorDriver(JobTemplate job_template, HTCondorOptions options);
  ~HTCondorDriver() override {
    for (LogTail& tail : tails_)
      if (tail.fd >= 0) ::close(tail.fd);
  }

  std::string_view name() const override { return "htcondor"; }
  void submit(std::span<const JobRequest> jobs) override;
  std::size_t submit_within(const LevelLimit& limit, std::span<const JobRequest> jobs) override;
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override;
  void remove(std::span<const JobKey> keys, std::string_view reason) override;
  void remove_all(std::string_view reason) override;
  void remove_all_quickly(std::string_view reason) override;
  bool remove_if_idle(JobKey key) override;
  std::vector<ExistingJob> find_jobs(std::string_view lineage) override;
  void track_jobs(std::string_view lineage, std::string_view event_log,
                  std::span<const TrackedJob> jobs) override;
  void wake() override;
  std::size_t tracked_jobs() const;

 private:
  RemovalCall removal_call() const {
    return {tool_command("condor_rm", o_.pool, o_.schedd), o_.command_timeout, retry_};
  }
  // Runs a condor_* tool; a transient failure is retried as retry_ says (once only
  // with retry = false). Throws SchedulerError when the tool cannot be started.
  RetriedResult run_tool(const std::string& tool, std::vector<std::string> args,
                         bool retry = true) const;
  std::vector<ProcRange> submit_chunk(const SubmitText& text, std::uint64_t seq);
  std::vector<JobEvent> read_new_events();                       // expects tail_mutex_
  void read_tail(LogTail& tail, std::vector<JobEvent>& events);  // expects tail_mutex_
  void remove_adopted_lineages(const RemovalCall& call, std::string_view reason);
  void absorb(std::vector<JobEvent> fresh);             // expects mutex_
  void apply(const DriverEvent& event, JobState& job);  // expects mutex_
  void reconcile_if_silent();                           // expects tail_mutex_
  void report_unmatched();                              // expects tail_mutex_
  void forget_finished();                               // expects mutex_
  std::size_t count_level_jobs(int level) const;
  LevelLock take_level_lock(const std::string& path) const;

  JobTemplate t_;
  HTCondorOptions o_;
  std::string lineage_;
  std::string log_path_;
  RetryPolicy retry_;
  Clock::time_point last_unmatched_check_ = Clock::now();

  std::mutex tail_mutex_;
  std::vector<LogTail> tails_;            // [0]: the batch's own log; then adopted batches' logs
  std::unique_ptr<FileWatch> log_watch_;  // wakes the tail when the own log grows
  Clock::time_point last_news_ = Clock::now();

  mutable std::mutex mutex_;
  bool woken_ = false;
  std::uint64_t submit_seq_ = 0;
  int submits_in_flight_ = 0;
  std::map<JobRef, JobState> jobs_;
  std::map<std::pair<TaskId, int>, JobRef> by_key_;
  std::set<std::int64_t> abandoned_clusters_;  // rolled back after a failed submit
  std::vector<std::string> adopted_lineages_;  // removed with the batch's own (remove_all)
  std::vector<std::string> new_logs_;          // adopted logs read_new_events has not opened
  std::vector<JobEvent> stash_;  // events of clusters a running submit() has not registered yet
  std::vector<DriverEvent> pending_;
  std::vector<JobKey> finished_;  // jobs ended by an event of pending_
};

HTCondorDriver::HTCondorDriver(JobTemplate job_template, HTCondorOptions options)
    : t_(std::move(job_template)), o_(std::move(options)) {
  check_options(o_);
  retry_.attempts = o_.retry_attempts;
  retry_.first_wait = o_.retry_first_wait;
  retry_.max_wait = o_.retry_max_wait;
  if (!util::find_on_path("condor_submit"))
    throw SchedulerUnavailable("HTCondor is not available: condor_submit is not on PATH" +
                               std::string(kLocalHint));
  if (t_.python.find('/') == std::string::npos) {
    const auto python = util::find_on_path(t_.python);
    if (!python) throw std::invalid_argument("python: \"" + t_.python + "\" is not found on PATH");
    t_.python = *python;
  }
  t_.batch_dir = std::filesystem::absolute(t_.batch_dir).lexically_normal().string();
  t_.log_dir = std::filesystem::absolute(t_.log_dir).lexically_normal().string();
  lineage_ = o_.lineage.empty() ? t_.batch_name : o_.lineage;
  check_lineage(lineage_);
  JobRequest probe_job{0, 0, "/probe"};
  if (t_.file_transfer.enabled()) {  // a transferred file must lie below the root
    probe_job.task_file = t_.file_transfer.root + "/probe/probe.task";
    probe_job.result_file = t_.file_transfer.root + "/probe/probe.result";
  }
  build_submit_description(t_, o_, std::span(&probe_job, 1),
                           "");  // refuses bad values now, not at submit
  tool_command("condor_q", o_.pool, o_.schedd);

  util::CommandResult probe;
  try {
    std::vector<std::string> argv = tool_command("condor_q", o_.pool, o_.schedd);
    argv.emplace_back("-totals");
    probe = util::run_command(argv, {.timeout = o_.probe_timeout});
  } catch (const std::system_error& error) {
    throw SchedulerUnavailable(std::string("HTCondor is not available: ") + error.what() +
                               std::string(kLocalHint));
  }
  if (!probe.succeeded())
    throw SchedulerUnavailable("the HTCondor schedd does not answer: condor_q -totals " +
                               probe.status_text() + ": " + one_line(probe.err) +
                               std::string(kLocalHint));
  std::filesystem::create_directories(t_.batch_dir);
  std::filesystem::create_directories(t_.log_dir);
  log_path_ = o_.event_log.empty() ? t_.batch_dir + "/condor.log" : o_.event_log;
  tails_.emplace_back().path = log_path_;
  log_watch_ = std::make_unique<FileWatch>(
      log_path_, FileWatchOptions{.poll_interval = o_.poll_interval,
                                  .safety_poll = std::max(o_.poll_interval, kSafetyPoll),
                                  .use_inotify = o_.event_log_inotify});
}

RetriedResult HTCondorDriver::run_tool(const std::string& tool, std::vector<std::string> args,
                                       bool retry) const {
  std::vector<std::string> argv = tool_command(tool, o_.pool, o_.schedd);
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  RetryPolicy policy = retry_;
  if (!retry) policy.attempts = 1;
  // A timed-out condor_submit may have queued its jobs: repeating it could run them twice.
  policy.retry_timeouts = tool != "condor_submit";
  return run_tool_with_retry(argv, o_.command_timeout, policy);
}

std::vector<ProcRange> HTCondorDriver::submit_chunk(const SubmitText& text, std::uint64_t seq) {
  const std::string stem = t_.batch_dir + "/submit-" + std::to_string(seq);
  std::ofstream(stem + ".items", std::ios::trunc) << text.items;
  std::ofstream sub(stem + ".sub", std::ios::trunc);
  sub << text.description;
  sub.close();
  if (!sub) throw SchedulerError("cannot write " + stem + ".sub");
  const RetriedResult result = run_tool("condor_submit", {"-terse", stem + ".sub"});
  if (!result.result.succeeded())
    throw SchedulerError(failure_text("condor_submit", result, retry_));
  return parse_terse_output(result.result.out);
}

void HTCondorDriver::submit(std::span<const JobRequest> jobs) {
  if (jobs.empty()) return;
  std::uint64_t first_seq = 0;
  std::vector<std::span<const JobRequest>> chunks;
  const std::size_t most = o_.max_per_submission;
  for (std::size_t at = 0; at < jobs.size(); at += most)
    chunks.push_back(jobs.subspan(at, std::min(most, jobs.size() - at)));
  {
    std::lock_guard lock(mutex_);
    first_seq = submit_seq_ + 1;
    submit_seq_ += chunks.size();
    ++submits_in_flight_;
  }
  std::vector<SubmitText>
      texts;  // all built before anything is submitted: a refusal submits nothing
  std::vector<ProcRange> ranges;
  std::vector<std::int64_t> clusters;
  try {
    for (std::size_t i = 0; i < chunks.size(); ++i)
      texts.push_back(build_submit_description(
          t_, o_, chunks[i], t_.batch_dir + "/submit-" + std::to_string(first_seq + i) + ".items"));
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      std::vector<ProcRange> got = submit_chunk(texts[i], first_seq + i);
      int count = 0;
      for (const ProcRange& r : got) count += r.count(), clusters.push_back(r.cluster);
      ranges.insert(ranges.end(), got.begin(), got.end());
      if (count != static_cast<int>(chunks[i].size()))
        throw SchedulerError("condor_submit reported " + std::to_string(count) + " jobs for " +
                             std::to_string(chunks[i].size()) + " submitted");
    }
  } catch (...) {
    std::vector<std::string> ids;
    ids.reserve(clusters.size());
    for (std::int64_t c : clusters) ids.push_back(std::to_string(c));
    {
      std::lock_guard lock(mutex_);
      abandoned_clusters_.insert(clusters.begin(), clusters.end());
      --submits_in_flight_;
    }
    if (!ids.empty()) {  // undo the chunks that went in, so that none of the jobs stays
      ids.insert(ids.begin(), {"-reason", "submission of the batch failed"});
      try {
        run_tool("condor_rm", ids);
      } catch (const SchedulerError&) {
      }
    }
    throw;
  }
  std::lock_guard lock(mutex_);
  std::size_t index = 0;
  for (const ProcRange& r : ranges) {
    for (int proc = r.first; proc <= r.last; ++proc, ++index) {
      const JobKey key{jobs[index].task, jobs[index].attempt};
      const std::int64_t memory = jobs[index].memory_mb > 0 ? jobs[index].memory_mb : t_.memory_mb;
      jobs_[{r.cluster, proc}] = JobState{key, memory};
      by_key_[{key.task, key.attempt}] = {r.cluster, proc};
    }
  }
  --submits_in_flight_;
  last_news_ = Clock::now();
  log_watch_->interrupt();  // the stash may now translate
}

// Shared by every parent of the run, on whichever node: see level_lock.hpp for why
// not a plain flock.
LevelLock HTCondorDriver::take_level_lock(const std::string& path) const {
  try {
    return LevelLock(path, o_.command_timeout);
  } catch (const std::system_error& e) {
    throw SchedulerError(e.what());
  }
}

std::size_t HTCondorDriver::count_level_jobs(int level) const {
  const std::string root = lineage_.substr(0, lineage_.find('/'));
  const RetriedResult r =
      run_tool("condor_q", {"-constraint", level_constraint(root, level), "-af", "ProcId"});
  if (!r.result.succeeded())
    throw SchedulerError(failure_text("condor_q (level count)", r, retry_));
  return count_jobs(r.result.out);
}

std::size_t HTCondorDriver::submit_within(const LevelLimit& limit,
                                          std::span<const JobRequest> jobs) {
  // The limit counts jobs by their JhtcLevel: this batch's jobs must carry that level.
  if (o_.level != limit.level)
    throw std::invalid_argument("level_limit.level: " + std::to_string(limit.level) +
                                " is not the batch's level (HTCondorOptions::level " +
                                (o_.level ? std::to_string(*o_.level) : "unset") +
                                "); accepted: the same level");
  if (jobs.empty()) return 0;
  // The schedd's count is the truth shared by every parent of the run; the lock
  // keeps two parents from both seeing the same free room.
  const LevelLock lock = take_level_lock(limit.lock_path);
  const std::size_t in_use = count_level_jobs(limit.level);
  const std::size_t room = in_use >= limit.cap ? 0 : limit.cap - in_use;
  const std::size_t take = std::min(room, jobs.size());
  if (take > 0) submit(jobs.first(take));
  return take;
}

std::vector<JobEvent> HTCondorDriver::read_new_events() {
  {
    std::lock_guard lock(mutex_);
    for (std::string& path : std::exchange(new_logs_, {})) tails_.emplace_back().path = path;
  }
  std::vector<JobEvent> events;
  for (LogTail& tail : tails_) read_tail(tail, events);
  return events;
}

void HTCondorDriver::read_tail(LogTail& tail, std::vector<JobEvent>& events) {
  if (tail.fd < 0) tail.fd = ::open(tail.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (tail.fd < 0) return;  // created by the first submission
  tail.parser.set_today(local_today());
  char buffer[1 << 16];
  ssize_t n = 0;
  while ((n = ::pread(tail.fd, buffer, sizeof buffer, tail.offset)) > 0) {
    tail.offset += n;
    tail.parser.feed(std::string_view(buffer, static_cast<std::size_t>(n)),
                     [&events](JobEvent&& e) { events.push_back(std::move(e)); });
  }
}

void HTCondorDriver::apply(const DriverEvent& event, JobState& job) {
  if (job.done) return;  // e.g. the log catching up after a reconciliation
  switch (event.kind) {
    case DriverEventKind::held: {
      if (job.held) return;
      job.held = true;
      DriverEvent explained = event;
      explained.reason = explain_hold(event.reason, event.hold_code, event.hold_subcode,
                                      t_.file_transfer.enabled() ? std::string() : t_.batch_dir);
      pending_.push_back(std::move(explained));
      return;
    }
    case DriverEventKind::released:
      job.held = false;
      break;
    case DriverEventKind::running:
      job.held = false;
      job.ran = true;
      break;
    case DriverEventKind::exited:
    case DriverEventKind::removed:
      job.done = true;
      finished_.push_back(job.key);  // forgotten once wait_events() hands this event out
      break;
    case DriverEventKind::unmatched:  // not done: the engine's condor_rm follows
      if (job.unmatched) return;
      job.unmatched = true;
      break;
    default:
      break;
  }
  pending_.push_back(event);
}

void HTCondorDriver::absorb(std::vector<JobEvent> fresh) {
  if (!fresh.empty()) last_news_ = Clock::now();
  std::vector<JobEvent> events = std::move(stash_);
  stash_.clear();
  for (JobEvent& e : fresh) events.push_back(std::move(e));
  for (JobEvent& e : events) {
    const auto it = jobs_.find({e.cluster, e.proc});
    if (it == jobs_.end()) {
      if (submits_in_flight_ > 0 && !abandoned_clusters_.count(e.cluster))
        stash_.push_back(std::move(e));
      continue;  // not ours (or rolled back)
    }
    JobState& job = it->second;
    if (e.code == kImageSize) job.usage.merge(e.usage);
    if (auto event = translate_log_event(e, job.key)) {
      job.usage.merge(event->usage);  // the terminated event's table
      event->usage = job.usage;       // a hold or an eviction reports the peak so far
      if (!event->usage.request_memory_mb && job.request_memory_mb > 0)
        event->usage.request_memory_mb = job.request_memory_mb;
      apply(*event, job);
    }
  }
}

void HTCondorDriver::reconcile_if_silent() {
  std::vector<std::string> clusters;
  {
    std::lock_guard lock(mutex_);
    if (Clock::now() - last_news_ < o_.reconcile_after) return;
    last_news_ = Clock::now();
    std::set<std::int64_t> open;
    for (const auto& [ref, job] : jobs_)
      if (!job.done) open.insert(ref.first);
    for (std::int64_t c : open) clusters.push_back(std::to_string(c));
  }
  if (clusters.empty()) return;
  std::vector<QueueRecord> records;
  for (bool history : {false, true}) {
    std::vector<std::string> args = clusters;
    args.emplace_back("-af:j");
    for (std::string& a : queue_attributes(history)) args.push_back(std::move(a));
    try {
      // Once: the tracking thread waits on this, and the next silence asks again.
      const util::CommandResult r =
          run_tool(history ? "condor_history" : "condor_q", args, /*retry=*/false).result;
      if (!r.succeeded()) continue;
      for (QueueRecord& q : parse_queue_records(r.out)) records.push_back(std::move(q));
    } catch (const SchedulerError&) {
    }
  }
  std::lock_guard lock(mutex_);
  for (const QueueRecord& r : records) {
    const auto it = jobs_.find({r.cluster, r.proc});
    if (it == jobs_.end()) continue;
    if (auto event = translate_queue_record(r, it->second.key, it->second.held)) {
      event->usage = it->second.usage;
      apply(*event, it->second);
    }
  }
}

// Jobs idle since unmatched_after that the negotiator found no machine for: the
// schedd's LastRejMatchReason, then condor_q -better-analyze's words for why.
void HTCondorDriver::report_unmatched() {
  if (!o_.unmatched_after) return;
  const std::chrono::seconds unmatched_after = *o_.unmatched_after;
  const auto now = Clock::now();
  const auto every = std::min<Clock::duration>(unmatched_after, std::chrono::seconds(30));
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    if (now - last_unmatched_check_ < every) return;
    last_unmatched_check_ = now;
    for (const auto& [ref, job] : jobs_)
      if (!job.done && !job.ran && !job.held && !job.unmatched &&
          now - job.submitted_at >= unmatched_after)
        ids.push_back(std::to_string(ref.first) + "." + std::to_string(ref.second));
  }
  if (ids.empty()) return;
  std::vector<std::pair<std::int64_t, int>> unmatched;
  std::string why;
  try {
    std::vector<std::string> args = ids;
    for (const char* a : {"-af:j", "JobStatus", "LastRejMatchReason"}) args.emplace_back(a);
    const util::CommandResult q = run_tool("condor_q", args).result;
    if (!q.succeeded()) return;  // asked again at the next check
    unmatched = parse_unmatched(q.out);
    if (unmatched.empty()) return;
    const auto& [cluster, proc] = unmatched.front();  // a batch's jobs ask for the same
    const util::CommandResult analysis =
        run_tool("condor_q",
                 {"-better-analyze", std::to_string(cluster) + "." + std::to_string(proc)})
            .result;
    why = summarize_better_analyze(analysis.out);
  } catch (const SchedulerError&) {
    return;
  }
  std::lock_guard lock(mutex_);
  for (const auto& ref : unmatched) {
    const auto it = jobs_.find(ref);
    if (it == jobs_.end() || it->second.ran || it->second.done || it->second.unmatched) continue;
    DriverEvent event =
        make_driver_event(DriverEventKind::unmatched, it->second.key,
                          std::to_string(ref.first) + "." + std::to_string(ref.second));
    event.reason = "matched no machine of the pool for " + std::to_string(unmatched_after.count()) +
                   " s (condor_q -better-analyze: " + (why.empty() ? "no reason given" : why) +
                   "); it would wait forever (raise max_idle_unmatched if the pool may grow)";
    apply(event, it->second);
  }
}

std::vector<DriverEvent> HTCondorDriver::wait_events(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::lock_guard tail(tail_mutex_);
  while (true) {
    std::vector<JobEvent> fresh = read_new_events();
    std::unique_lock lock(mutex_);
    absorb(std::move(fresh));
    if (!pending_.empty() || woken_) break;
    lock.unlock();
    reconcile_if_silent();
    report_unmatched();
    lock.lock();
    if (!pending_.empty() || woken_ || Clock::now() >= deadline) break;
    lock.unlock();
    log_watch_->wait_until(deadline);  // whatever ended it, the log is read again
  }
  std::lock_guard lock(mutex_);
  woken_ = false;
  forget_finished();
  return std::exchange(pending_, {});
}

// A finished job's last event is being reported: nothing will ask about it again
// (remove() and remove_if_idle() skip finished jobs, and a late log line for it is
// dropped as "not ours"), so the tables stay as large as the jobs in flight.
void HTCondorDriver::forget_finished() {
  for (const JobKey& key : finished_) {
    const auto it = by_key_.find({key.task, key.attempt});
    if (it == by_key_.end()) continue;
    jobs_.erase(it->second);
    by_key_.erase(it);
  }
  finished_.clear();
}

std::size_t HTCondorDriver::tracked_jobs() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + by_key_.size();
}

void HTCondorDriver::remove(std::span<const JobKey> keys, std::string_view reason) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const JobKey& key : keys) {
      const auto it = by_key_.find({key.task, key.attempt});
      if (it != by_key_.end() && !jobs_.at(it->second).done)
        ids.push_back(std::to_string(it->second.first) + "." + std::to_string(it->second.second));
    }
  }
  if (ids.empty()) return;
  ids.insert(ids.begin(),
             {"-reason", one_line(reason.empty() ? "removed by joblib_htcondor" : reason)});
  const RetriedResult r = run_tool("condor_rm", ids);
  if (!r.result.succeeded() && !only_jobs_gone(r.result))
    throw SchedulerError(failure_text("condor_rm", r, retry_));
}

void HTCondorDriver::remove_all(std::string_view reason) {
  remove_lineage_jobs(removal_call(), lineage_, reason);
  remove_adopted_lineages(removal_call(), reason);
}

void HTCondorDriver::remove_all_quickly(std::string_view reason) {
  RemovalCall call = removal_call();
  call.timeout = o_.abort_timeout;
  call.retry.attempts = 1;
  remove_lineage_jobs(call, lineage_, reason);
  remove_adopted_lineages(call, reason);
}

void HTCondorDriver::remove_adopted_lineages(const RemovalCall& call, std::string_view reason) {
  std::vector<std::string> lineages;
  {
    std::lock_guard lock(mutex_);
    lineages = adopted_lineages_;
  }
  for (const std::string& lineage : lineages) remove_lineage_jobs(call, lineage, reason);
}

std::vector<ExistingJob> HTCondorDriver::find_jobs(std::string_view lineage) {
  const std::string constraint = exact_lineage_constraint(lineage);
  std::map<TaskId, ExistingJob> latest;
  // The queue first: a job that leaves it between the two questions is then seen
  // in the queue's answer, one that left before in the history's (the schedd writes
  // the history as a job leaves). Asked the other way round, a job that ends in
  // between is in neither answer and its task would run again.
  for (bool from_queue : {true, false}) {
    std::vector<std::string> args{"-constraint", constraint, "-af:j"};
    for (std::string& a : existing_job_attributes()) args.push_back(std::move(a));
    const RetriedResult r = run_tool(from_queue ? "condor_q" : "condor_history", args);
    if (!r.result.succeeded())
      throw SchedulerError(failure_text(from_queue ? "condor_q" : "condor_history", r, retry_));
    merge_existing_jobs(r.result.out, from_queue, latest);
  }
  std::vector<ExistingJob> jobs;
  jobs.reserve(latest.size());
  for (auto& [task, job] : latest) jobs.push_back(std::move(job));
  return jobs;
}

void HTCondorDriver::track_jobs(std::string_view lineage, std::string_view event_log,
                                std::span<const TrackedJob> jobs) {
  check_lineage(lineage);
  std::vector<JobRef> refs;
  for (const TrackedJob& job : jobs) {
    const auto ref = parse_job_ref(job.job_id);
    if (!ref) throw std::invalid_argument("job_id: \"" + job.job_id + "\" is not CLUSTER.PROC");
    refs.push_back(*ref);
  }
  std::lock_guard lock(mutex_);
  adopted_lineages_.emplace_back(lineage);
  for (std::size_t i = 0; i < refs.size(); ++i) {
    jobs_[refs[i]] = JobState{jobs[i].key, t_.memory_mb};
    by_key_[{jobs[i].key.task, jobs[i].key.attempt}] = refs[i];
  }
  // Read from its start: the jobs' submit, start and end events replay in order.
  new_logs_.emplace_back(event_log);
  last_news_ = Clock::now();
  // Only the batch's own log is watched: an adopted log is read on every wake, at the
  // latest after the safety poll; this wake opens it at once.
  log_watch_->interrupt();
}

bool HTCondorDriver::remove_if_idle(JobKey key) {
  JobRef ref;
  {
    std::lock_guard lock(mutex_);
    const auto it = by_key_.find({key.task, key.attempt});
    if (it == by_key_.end() || jobs_.at(it->second).done) return false;
    ref = it->second;
  }
  return remove_job_if_idle(removal_call(), ref.first, ref.second,
                            "the parent runs this task itself");
}

void HTCondorDriver::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  log_watch_->interrupt();
}

}  // namespace

std::unique_ptr<SchedulerDriver> make_htcondor_driver(JobTemplate job_template,
                                                      HTCondorOptions options) {
  return std::make_unique<HTCondorDriver>(std::move(job_template), std::move(options));
}

std::size_t tracked_htcondor_jobs(const SchedulerDriver& driver) {
  const auto* htcondor = dynamic_cast<const HTCondorDriver*>(&driver);
  if (htcondor == nullptr) throw std::invalid_argument("driver: not the HTCondor driver");
  return htcondor->tracked_jobs();
}

bool remove_htcondor_lineage(const SchedulerAddress& where, std::string_view lineage,
                             std::string_view reason) {
  return remove_lineage_jobs(
      {tool_command("condor_rm", where.pool, where.schedd), where.timeout, RetryPolicy{}}, lineage,
      reason);
}

}  // namespace jhtc
