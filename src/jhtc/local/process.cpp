#include "local/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "jhtc/errors.hpp"
#include "util/errno_text.hpp"

extern char** environ;

namespace jhtc::local {
namespace {

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// posix_spawn reports its own failures as a return value, not errno.
void check_spawn(int rc, const char* what) {
  if (rc != 0) throw SchedulerError(std::string(what) + ": " + util::errno_text(rc));
}

}  // namespace

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    if (!extra.contains(std::string(name))) env.emplace_back(text);
  }
  for (const auto& [name, value] : extra) env.emplace_back(name).append("=").append(value);
  return env;
}

SpawnedProcess spawn_process(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& extra_env,
                             const std::string& stdout_path, const std::string& stderr_path,
                             int pass_fd) {
  std::vector<std::string> args = argv;
  std::vector<std::string> env = merged_environment(extra_env);
  auto arg_pointers = pointers_to(args);
  auto env_pointers = pointers_to(env);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  check_spawn(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init");
  check_spawn(posix_spawnattr_init(&attributes), "posix_spawnattr_init");
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), flags, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), flags, 0600);
  // glibc >= 2.29 clears FD_CLOEXEC even when pass_fd is already 3.
  if (pass_fd >= 0) posix_spawn_file_actions_adddup2(&actions, pass_fd, 3);
  // The caller (Python) may ignore or block signals; the worker must start clean.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &actions, &attributes, arg_pointers.data(),
                              env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    throw SchedulerError("cannot start " + args[0] + ": " + util::errno_text(rc));
  }
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int error = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw SchedulerError(std::string("pidfd_open failed: ") + util::errno_text(error));
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  return {pid, pidfd};
}

ExitStatus reap_process(SpawnedProcess& process) {
  int status = 0;
  struct rusage usage {};
  pid_t rc;
  do {
    rc = wait4(process.pid, &status, 0, &usage);
  } while (rc < 0 && errno == EINTR);
  if (process.pidfd >= 0) close(process.pidfd);
  process.pidfd = -1;
  if (rc < 0) return {};  // already reaped elsewhere: unknown status
  ExitStatus result = decode_wait_status(status);
  result.user_s = static_cast<double>(usage.ru_utime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  result.sys_s = static_cast<double>(usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
  result.maxrss_kb = usage.ru_maxrss;  // Linux: kilobytes
  return result;
}

ExitStatus decode_wait_status(int status) {
  ExitStatus result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

void signal_process_group(const SpawnedProcess& process, int signal) {
  if (process.pid > 0) kill(-process.pid, signal);
}

}  // namespace jhtc::local
