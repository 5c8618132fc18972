// FileWatch: inotify on the file's directory, an eventfd for interrupt(), poll(2) on both.
#include "jhtc/file_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "util/watch_system.hpp"

namespace jhtc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kWatchMask = IN_MODIFY | IN_CREATE | IN_MOVED_TO;

long statfs_type(const char* path) {
  struct statfs info {};
  if (::statfs(path, &info) != 0) return 0;
  return static_cast<long>(info.f_type);
}

int real_add_watch(int fd, const char* path, std::uint32_t mask) {
  return ::inotify_add_watch(fd, path, mask);
}

std::string errno_text(const char* call, int error) {
  return std::string(call) + ": " + std::generic_category().message(error);
}

}  // namespace

const WatchSystem& WatchSystem::real() {
  static const WatchSystem system{::inotify_init1, real_add_watch, statfs_type};
  return system;
}

const char* network_file_system_name(long file_system_type) {
  // statfs(2) and linux/magic.h; f_type is compared as the 32-bit magic it is.
  switch (static_cast<std::uint32_t>(file_system_type)) {
    case 0x6969:
      return "nfs";
    case 0x517B:
      return "smb";
    case 0xFF534D42:
      return "cifs";
    case 0xFE534D42:
      return "smb2";
    case 0x65735546:
      return "fuse (sshfs and others)";
    case 0x00C36400:
      return "ceph";
    case 0x0BD00BD0:
      return "lustre";
    case 0x47504653:
      return "gpfs";
    case 0x5346414F:  // two magics, one name
    case 0x6B414653:
      return "afs";
    case 0x01021997:
      return "9p";
    case 0x73757245:
      return "coda";
    case 0x7461636F:
      return "ocfs2";
    case 0x01161970:
      return "gfs2";
    case 0x19830326:
      return "beegfs";
    default:
      return "";
  }
}

struct FileWatch::State {
  std::string name;  // the file's name in its directory, as inotify reports it
  FileWatchOptions options;
  WatchMethod method = WatchMethod::polling;
  std::string polling_reason;
  int wake_fd = -1;
  int inotify_fd = -1;

  void start_inotify(const std::string& directory, const WatchSystem& system);
  void stop_inotify(std::string reason);
  // Reads what inotify has; true when it concerns the file (or may: an overflow).
  bool drain_inotify();
  std::chrono::milliseconds tick() const {
    return method == WatchMethod::inotify ? options.safety_poll : options.poll_interval;
  }
};

void FileWatch::State::start_inotify(const std::string& directory, const WatchSystem& system) {
  inotify_fd = system.inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) {
    polling_reason = errno_text("inotify_init1", errno);
    return;
  }
  if (system.inotify_add_watch(inotify_fd, directory.c_str(), kWatchMask | IN_ONLYDIR) < 0) {
    stop_inotify(errno_text("inotify_add_watch", errno) + " (" + directory + ")");
    return;
  }
  const char* network = network_file_system_name(system.file_system_type(directory.c_str()));
  if (*network == '\0') {
    method = WatchMethod::inotify;
    return;
  }
  method = WatchMethod::inotify_and_polling;
  polling_reason = std::string(directory) + " is on " + network +
                   ", where inotify does not see other machines' writes";
}

void FileWatch::State::stop_inotify(std::string reason) {
  if (inotify_fd >= 0) ::close(inotify_fd);
  inotify_fd = -1;
  method = WatchMethod::polling;
  polling_reason = std::move(reason);
}

bool FileWatch::State::drain_inotify() {
  alignas(inotify_event) std::array<char, 8192> buffer{};
  bool ours = false;
  while (true) {
    const ssize_t n = ::read(inotify_fd, buffer.data(), buffer.size());
    if (n <= 0) return ours;  // EAGAIN: drained
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) ours = true;  // events were lost: read to see
      if (event->mask & IN_IGNORED) {                // the directory went away with its watch
        stop_inotify("the watched directory was removed");
        return true;
      }
      if (event->len > 0 && name == event->name) ours = true;
    }
  }
}

FileWatch::FileWatch(const std::string& path, FileWatchOptions options)
    : FileWatch(path, options, WatchSystem::real()) {}

FileWatch::FileWatch(const std::string& path, FileWatchOptions options, const WatchSystem& system)
    : state_(std::make_unique<State>()) {
  state_->options = options;
  const std::filesystem::path file(path);
  state_->name = file.filename().string();
  state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (state_->wake_fd < 0)
    throw std::system_error(errno, std::generic_category(), "eventfd for a file watch");
  const std::string directory =
      file.has_parent_path() ? file.parent_path().string() : std::string(".");
  if (options.use_inotify)
    state_->start_inotify(directory, system);
  else
    state_->polling_reason = "inotify was turned off";
}

FileWatch::~FileWatch() {
  if (state_->inotify_fd >= 0) ::close(state_->inotify_fd);
  ::close(state_->wake_fd);
}

void FileWatch::interrupt() {
  const std::uint64_t one = 1;
  // Fails only when the counter would overflow: the wait is woken already.
  [[maybe_unused]] const ssize_t n = ::write(state_->wake_fd, &one, sizeof one);
}

WatchWake FileWatch::wait_until(Clock::time_point deadline) {
  State& s = *state_;
  const auto until = std::min(deadline, Clock::now() + s.tick());
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    std::array<pollfd, 2> fds{{{s.wake_fd, POLLIN, 0}, {s.inotify_fd, POLLIN, 0}}};
    const nfds_t count = s.inotify_fd >= 0 ? 2 : 1;
    const int ready =
        ::poll(fds.data(), count, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return WatchWake::poll_tick;
    if (fds[0].revents & POLLIN) {
      std::uint64_t counter = 0;
      [[maybe_unused]] const ssize_t n = ::read(s.wake_fd, &counter, sizeof counter);
      return WatchWake::interrupted;
    }
    if (count == 2 && fds[1].revents != 0 && s.drain_inotify()) return WatchWake::file_event;
    if (Clock::now() >= until)
      return until == deadline ? WatchWake::deadline : WatchWake::poll_tick;
  }
}

WatchMethod FileWatch::method() const { return state_->method; }

std::string FileWatch::polling_reason() const { return state_->polling_reason; }

std::string FileWatch::description() const {
  const std::string every = std::to_string(state_->tick().count()) + " ms";
  switch (state_->method) {
    case WatchMethod::inotify:
      return "inotify (a safety poll every " + every + ")";
    case WatchMethod::inotify_and_polling:
      return "inotify and a poll every " + every + ": " + state_->polling_reason;
    case WatchMethod::polling:
      return "a poll every " + every + ": " + state_->polling_reason;
  }
  return {};
}

}  // namespace jhtc
