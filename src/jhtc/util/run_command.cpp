// One poll() loop watches both pipes and a pidfd of the child, so a timeout is
// honoured even when the child closed its outputs or left a grandchild holding them.
#include "util/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace jhtc::util {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);  // dup2 clears close-on-exec
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawnattr_setpgroup(&attr, 0);
  // Signals the caller ignores or blocks must not stay so in the child.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (error != 0) throw_errno(error, "cannot start " + argv[0]);
  return pid;
}

// Appends what is readable; false at end of file.
bool drain(int fd, std::string& into, std::size_t limit, bool& truncated) {
  char buffer[65536];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const std::size_t room = into.size() < limit ? limit - into.size() : 0;
  into.append(buffer, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
  if (static_cast<std::size_t>(n) > room) truncated = true;
  return true;
}

void record_status(int status, CommandResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
}

}  // namespace

std::string CommandResult::status_text() const {
  if (timed_out) return "timed out and was killed";
  if (signal > 0) return "killed by signal " + std::to_string(signal);
  return "exited with " + std::to_string(exit_code);
}

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty() || argv[0].empty()) throw std::invalid_argument("run_command: argv is empty");
  int out_pipe[2];
  int err_pipe[2];
  make_pipe(out_pipe);
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  make_pipe(err_pipe);
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  const pid_t pid = spawn(argv, out_write.get(), err_write.get());
  out_write.reset();
  err_write.reset();
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) {
    const int error = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw_errno(error, "pidfd_open");
  }

  CommandResult result;
  auto deadline = Clock::now() + options.timeout;
  bool out_open = true, err_open = true, exited = false;
  while (!exited || out_open || err_open) {
    pollfd fds[3] = {{out_open ? out_read.get() : -1, POLLIN, 0},
                     {err_open ? err_read.get() : -1, POLLIN, 0},
                     {exited ? -1 : pidfd.get(), POLLIN, 0}};
    int wait_ms = -1;
    if (options.timeout.count() > 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    const int ready = ::poll(fds, 3, wait_ms);
    if (ready < 0 && errno != EINTR) throw_errno(errno, "poll");
    if (ready == 0 && wait_ms >= 0) {
      deadline = Clock::now() + std::chrono::seconds(1);
      if (!result.timed_out) {
        result.timed_out = true;
        ::kill(-pid, SIGKILL);  // the whole group: grandchildren may hold the pipes
      } else if (exited) {
        break;  // a process outside the group still holds a pipe: stop reading
      }
      continue;
    }
    if (out_open && fds[0].revents)
      out_open = drain(out_read.get(), result.out, options.max_output_bytes, result.truncated);
    if (err_open && fds[1].revents)
      err_open = drain(err_read.get(), result.err, options.max_output_bytes, result.truncated);
    if (!exited && fds[2].revents) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      record_status(status, result);
      exited = true;
    }
  }
  return result;
}

std::optional<std::string> find_on_path(std::string_view name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string_view::npos) {
    std::string path(name);
    if (::access(path.c_str(), X_OK) == 0) return path;
    return std::nullopt;
  }
  // getenv: only while a driver is built, before its engine's threads start; the
  // library never writes the environment (docs/ci.md, clang-tidy).
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  const char* env = std::getenv("PATH");
  std::string_view dirs = env ? env : "/usr/bin:/bin";
  while (true) {
    const std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

}  // namespace jhtc::util
