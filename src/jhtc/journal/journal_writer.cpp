// JournalWriter: one O_APPEND descriptor, one write(2) per event line.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "jhtc/journal.hpp"
#include "journal/usage_json.hpp"
#include "store/fs_util.hpp"
#include "util/errno_text.hpp"
#include "util/json_text.hpp"

namespace jhtc {

namespace {

// Builds a context object member by member.
class Context {
 public:
  Context& add(std::string_view key, std::string_view value) {
    start_member(key);
    json::append_string(text_, value);
    return *this;
  }
  Context& add(std::string_view key, std::int64_t value) {
    start_member(key);
    text_ += std::to_string(value);
    return *this;
  }
  Context& add(std::string_view key, std::uint64_t value) {
    start_member(key);
    text_ += std::to_string(value);
    return *this;
  }
  Context& add(std::string_view key, double value) {
    start_member(key);
    char number[64];
    std::snprintf(number, sizeof number, "%.3f", value);
    text_ += number;
    return *this;
  }
  Context& add_object(std::string_view key, const std::string& object_json) {
    start_member(key);
    text_ += object_json;
    return *this;
  }
  bool empty() const { return text_.size() == 1; }
  std::string str() const { return text_ + "}"; }

 private:
  void start_member(std::string_view key) {
    text_ += text_.size() > 1 ? "," : "";
    json::append_string(text_, key);
    text_ += ":";
  }
  std::string text_ = "{";
};

bool is_plain_name(const std::string& id) {
  return !id.empty() && id != "." && id != ".." && id.find('/') == std::string::npos &&
         id.find('\0') == std::string::npos;
}

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

void add_usage(Context& context, const JobUsage& usage) {
  if (const std::string json = encode_usage(usage); !json.empty())
    context.add_object("usage", json);
}

}  // namespace

struct JournalWriter::State {
  int fd = -1;
  std::atomic<bool> finished{false};
  std::atomic<std::size_t> write_errors{0};
  mutable std::mutex error_mutex;
  std::string last_error;

  void record_error(const std::string& what) {
    write_errors.fetch_add(1);
    std::lock_guard lock(error_mutex);
    last_error = what;
  }
};

JournalWriter::JournalWriter(const std::string& journal_dir, BatchInfo info)
    : info_(std::move(info)), state_(std::make_unique<State>()) {
  if (!is_plain_name(info_.batch_id) || !is_plain_name(info_.root_batch_id)) {
    throw std::invalid_argument("journal: batch and root ids must be plain file names, got '" +
                                info_.batch_id + "' and '" + info_.root_batch_id + "'");
  }
  if (journal_dir.empty()) throw std::invalid_argument("journal: empty journal directory");
  // Owner-only, and refused when another user planted or opened them up
  // (UnsafePathError): the monitor trusts what it reads here.
  store::make_dirs(journal_dir, store::kPrivateDirMode);
  std::filesystem::path dir = std::filesystem::path(journal_dir) / info_.root_batch_id;
  store::make_dirs(dir, store::kPrivateDirMode);
  path_ = (dir / (info_.batch_id + ".jsonl")).string();
  state_->fd =
      ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
             store::kPrivateFileMode);
  if (state_->fd < 0) {
    throw std::system_error(errno, std::generic_category(), "journal: cannot open " + path_);
  }
  try {
    struct stat st {};
    if (::fstat(state_->fd, &st) != 0) {
      throw std::system_error(errno, std::generic_category(), "journal: cannot stat " + path_);
    }
    store::check_owned(path_, st, false);
  } catch (...) {
    ::close(state_->fd);  // the destructor does not run for a throwing constructor
    throw;
  }
  append("batch_started",
         Context()
             .add("batch", info_.batch_id)
             .add("parent", info_.parent_batch_id)
             .add("root", info_.root_batch_id)
             .add("level", std::int64_t{info_.level})
             .add("throttle", std::uint64_t{info_.throttle})
             .add("host", host_name())
             .add("pid", std::int64_t{::getpid()})
             .add("scheduler", info_.scheduler)
             .add("request_cpus",
                  std::int64_t{static_cast<std::int64_t>(std::ceil(info_.request_cpus))})
             .add("request_memory_mb", info_.request_memory_mb)
             .add("request_gpus", std::int64_t{info_.request_gpus})
             .str());
}

JournalWriter::~JournalWriter() {
  if (state_->fd >= 0) ::close(state_->fd);
}

// One write(2) per line keeps lines whole under concurrency (O_APPEND moves the
// offset and writes atomically). A short write is ended with a newline so that
// only this line is lost, not the next one too.
void JournalWriter::append(std::string_view name, const std::string& context_json) {
  std::string line = encode_journal_line(unix_now(), name, context_json);
  ssize_t written;
  do {
    written = ::write(state_->fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) {
    state_->record_error("journal: write to " + path_ + " failed: " + util::errno_text(errno));
  } else if (static_cast<std::size_t>(written) < line.size()) {
    state_->record_error("journal: short write to " + path_);
    [[maybe_unused]] ssize_t ignored = ::write(state_->fd, "\n", 1);
  }
}

void JournalWriter::task_queued(TaskId task, int calls) {
  append("task_queued",
         Context().add("task", std::uint64_t{task}).add("calls", std::int64_t{calls}).str());
}

void JournalWriter::task_submitted(TaskId task, std::string_view job_id) {
  append("task_submitted", Context().add("task", std::uint64_t{task}).add("job", job_id).str());
}

void JournalWriter::task_running(TaskId task, std::string_view job_id) {
  append("task_running", Context().add("task", std::uint64_t{task}).add("job", job_id).str());
}

void JournalWriter::task_done(TaskId task, const JobUsage& usage) {
  Context context;
  context.add("task", std::uint64_t{task});
  add_usage(context, usage);
  append("task_done", context.str());
}

void JournalWriter::task_failed(TaskId task, std::string_view reason, std::string_view job_id,
                                const JobUsage& usage) {
  Context context;
  context.add("task", std::uint64_t{task}).add("reason", reason);
  if (!job_id.empty()) context.add("job", job_id);
  add_usage(context, usage);
  append("task_failed", context.str());
}

void JournalWriter::task_retried(TaskId task, const RetryNote& note) {
  Context context;
  context.add("task", std::uint64_t{task}).add("reason", note.reason);
  add_usage(context, note.usage);
  if (note.hold_code != 0 || note.hold_subcode != 0) {
    context.add("hold_code", std::int64_t{note.hold_code});
    context.add("hold_subcode", std::int64_t{note.hold_subcode});
  }
  if (note.request_memory_mb > 0) context.add("request_memory_mb", note.request_memory_mb);
  append("task_retried", context.str());
}

void JournalWriter::task_cancelled(TaskId task) {
  append("task_cancelled", Context().add("task", std::uint64_t{task}).str());
}

void JournalWriter::bytes_held(std::uint64_t bytes) {
  append("bytes_held", Context().add("bytes", bytes).str());
}

void JournalWriter::finish(std::string_view state) {
  if (state_->finished.exchange(true)) return;
  append("batch_finished", Context().add("state", state).str());
}

bool JournalWriter::finished() const { return state_->finished.load(); }

std::size_t JournalWriter::write_errors() const { return state_->write_errors.load(); }

std::string JournalWriter::last_error() const {
  std::lock_guard lock(state_->error_mutex);
  return state_->last_error;
}

}  // namespace jhtc
