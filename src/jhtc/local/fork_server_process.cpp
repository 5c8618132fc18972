// Starting, reaching and describing the zygote, and the process-wide registry that
// makes every local driver of a process share one (see fork_server.hpp).
#include "local/fork_server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "jhtc/errors.hpp"
#include "local/fork_server.hpp"
#include "util/errno_text.hpp"

namespace jhtc::local {
namespace {

// The last non-empty line of what the zygote wrote to its stderr.
std::string last_line_of(int fd) {
  std::string text;
  char chunk[4096];
  for (off_t offset = 0;;) {
    const ssize_t n = pread(fd, chunk, sizeof chunk, offset);
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
    offset += n;
    if (text.size() > 65536) text.erase(0, text.size() - 4096);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

int unlinked_temporary_file() {
  std::string path = (std::filesystem::temp_directory_path() / "jhtc-fork-server-XXXXXX").string();
  const int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) throw SchedulerError(std::string("mkostemp failed: ") + util::errno_text(errno));
  unlink(path.c_str());
  return fd;
}

// Sends `fd` over `control` (SCM_RIGHTS), with one byte of data.
bool send_fd(int control, int fd) {
  char byte = 'c';
  iovec data{&byte, 1};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = space;
  message.msg_controllen = sizeof space;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(control, &message, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

// The servers of this process. A forked child of the process must not use its
// parent's (two processes writing one channel): at fork the child starts empty.
struct Registry {
  pid_t pid = getpid();
  std::mutex mutex;
  std::map<std::vector<std::string>, std::shared_ptr<ForkServerProcess>> servers;
  std::shared_ptr<ForkServerProcess> adopted;
};

Registry* registry_ = nullptr;  // leaked on purpose: the zygote outlives every static

void start_empty_after_fork() {
  // Only this thread runs in the child: no lock is needed, and none may be taken (a
  // thread of the parent may have held it). The parent's channels are closed here
  // without touching the parent's zygote; the objects are leaked.
  if (registry_ != nullptr && registry_->pid != getpid()) registry_ = new Registry();
}

Registry& registry() {
  static std::once_flag once;
  std::call_once(once, [] {
    registry_ = new Registry();
    pthread_atfork(nullptr, nullptr, start_empty_after_fork);
  });
  return *registry_;
}

}  // namespace

ForkServerProcess::ForkServerProcess(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env) {
  stderr_fd_ = unlinked_temporary_file();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    close(stderr_fd_);
    throw SchedulerError(std::string("socketpair failed: ") + util::errno_text(errno));
  }
  control_ = fds[0];
  std::vector<std::string> args = argv;
  args.emplace_back("--serve");
  try {
    // /proc/self/fd in the new process: the file is unlinked, the descriptor inherited.
    zygote_ = spawn_process(args, env, "/dev/null", "/proc/self/fd/" + std::to_string(stderr_fd_),
                            fds[1]);
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    close(stderr_fd_);
    throw;
  }
  close(fds[1]);
}

ForkServerProcess::ForkServerProcess(int adopted_control) : control_(adopted_control) {}

ForkServerProcess::~ForkServerProcess() {
  close(control_);
  if (zygote_.pidfd >= 0) {
    kill(zygote_.pid, SIGKILL);
    reap_process(zygote_);
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

int ForkServerProcess::open_connection() {
  std::lock_guard lock(mutex_);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
  const bool sent = send_fd(control_, fds[1]);
  close(fds[1]);  // the zygote holds its own copy now, or never will
  if (!sent) {
    close(fds[0]);
    return -1;
  }
  return fds[0];
}

bool ForkServerProcess::exited() {
  std::lock_guard lock(mutex_);
  if (reaped_) return true;
  if (zygote_.pidfd < 0) return false;
  pollfd fd{zygote_.pidfd, POLLIN, 0};
  return poll(&fd, 1, 0) > 0;
}

pid_t ForkServerProcess::pid() const {
  std::lock_guard lock(mutex_);
  return zygote_.pid > 0 ? zygote_.pid : getppid();
}

std::string ForkServerProcess::describe_death() {
  std::lock_guard lock(mutex_);
  if (zygote_.pid <= 0) return "the fork server (pid " + std::to_string(getppid()) + ") is gone";
  std::string what = "the fork server (pid " + std::to_string(zygote_.pid) + ") ";
  if (!reaped_ && zygote_.pidfd >= 0) {
    kill(zygote_.pid, SIGKILL);  // e.g. it broke the protocol: make sure it is gone
    status_ = reap_process(zygote_);
    reaped_ = true;
  }
  if (status_.signal > 0)
    what += "was killed by signal " + std::to_string(status_.signal);
  else
    what += "exited with code " + std::to_string(status_.exit_code);
  if (const std::string last = last_line_of(stderr_fd_); !last.empty())
    what += " (its stderr: " + last + ")";
  return what;
}

std::unique_ptr<ForkServerConnection> connect_fork_server(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& server_env,
    const std::map<std::string, std::string>& job_env) {
  Registry& shared = registry();
  std::lock_guard lock(shared.mutex);
  std::shared_ptr<ForkServerProcess> server;
  int channel = -1;
  if (shared.adopted) {
    channel = shared.adopted->open_connection();
    if (channel >= 0)
      server = shared.adopted;
    else
      shared.adopted.reset();  // the zygote is gone: this process starts its own
  }
  for (int attempt = 0; channel < 0 && attempt < 2; ++attempt) {
    auto& known = shared.servers[argv];
    if (known && known->exited()) known.reset();
    if (!known) known = std::make_shared<ForkServerProcess>(argv, server_env);
    channel = known->open_connection();
    if (channel >= 0)
      server = known;
    else
      known.reset();
  }
  if (channel < 0) throw SchedulerError("cannot reach the fork server");
  std::unique_ptr<ForkServerConnection> connection(
      new ForkServerConnection(channel, std::move(server)));
  // Everything the jobs of this connection see, as a spawned job would.
  std::string line = "environ";
  for (const std::string& entry : merged_environment(job_env)) {
    line += '\t';
    line += escape_field(entry);
  }
  connection->send_line(line + "\n");  // a failure shows as a dead connection
  return connection;
}

void adopt_fork_server_channel(int fd) {
  Registry& shared = registry();
  std::lock_guard lock(shared.mutex);
  shared.adopted = std::make_shared<ForkServerProcess>(fd);
}

}  // namespace jhtc::local
