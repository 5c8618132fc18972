#include "htcondor/level_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string_view>
#include <system_error>
#include <thread>

#include "store/fs_util.hpp"

namespace jhtc::htcondor {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), "level_lock: " + what + " " + path);
}

// Compares durations since the Unix epoch (system_clock's, since C++20): a time_point
// would have to be narrowed to the clock's own period, microseconds in libc++.
bool older_than(const struct stat& st, std::chrono::seconds age) {
  const auto mtime =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::now().time_since_epoch() - mtime > age;
}

}  // namespace

LevelLock::LevelLock(std::string path, std::chrono::seconds wait_at_most,
                     std::chrono::seconds stale_after)
    : path_(std::move(path)), stale_after_(stale_after) {
  if (path_.empty()) return;
  const auto deadline = std::chrono::steady_clock::now() + wait_at_most;
  const auto give_up_if_late = [&](const std::string& what) {
    if (std::chrono::steady_clock::now() < deadline) return;
    if (flock_fd_ >= 0) ::close(flock_fd_);
    flock_fd_ = -1;
    errno = ETIMEDOUT;
    fail("held by another process for more than " + std::to_string(wait_at_most.count()) + " s:",
         what);
  };
  const std::string flock_path = path_ + ".flock";
  flock_fd_ = ::open(flock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (flock_fd_ < 0) fail("cannot open", flock_path);
  while (::flock(flock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK || errno == EINTR) {
      give_up_if_late(flock_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (errno == ENOLCK || errno == EOPNOTSUPP) break;  // the lock file below still excludes
    const int saved = errno;
    ::close(flock_fd_);
    errno = saved;
    fail("cannot flock", flock_path);
  }
  // Jittered polling: holders on other hosts are invisible to the kernel here.
  std::minstd_rand jitter(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::random_device{}()));
  try {
    while (!try_create()) {
      give_up_if_late(path_);
      break_if_stale();
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + jitter() % 100));
    }
  } catch (...) {
    if (flock_fd_ >= 0) ::close(flock_fd_);  // no destructor runs for a constructor that throws
    flock_fd_ = -1;
    throw;
  }
  held_ = true;
}

LevelLock::~LevelLock() {
  if (held_) ::unlink(path_.c_str());
  if (flock_fd_ >= 0) ::close(flock_fd_);  // closing releases the flock
}

bool LevelLock::try_create() {
  const int fd = ::open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    fail("cannot create", path_);
  }
  const std::string owner = store::host_name() + " " + std::to_string(::getpid()) + "\n";
  // Who holds it is for a person reading the directory; the lock is the file itself.
  [[maybe_unused]] const ssize_t written = ::write(fd, owner.data(), owner.size());
  ::close(fd);
  return true;
}

// Moves a stale lock file aside under a unique name, then looks at what it moved: if a
// racing breaker removed the stale file first and a new holder created a fresh one, the
// moved file is fresh and goes back (link fails only if yet another holder exists).
void LevelLock::break_if_stale() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 || !older_than(st, stale_after_)) return;
  const std::string aside = store::unique_temp_name(path_ + ".stale.");
  if (::rename(path_.c_str(), aside.c_str()) != 0) return;  // someone else broke it
  if (::stat(aside.c_str(), &st) == 0 && !older_than(st, stale_after_))
    (void)::link(aside.c_str(), path_.c_str());
  ::unlink(aside.c_str());
}

}  // namespace jhtc::htcondor
