#include "store/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace jhtc::store {

StoreLock::StoreLock(const std::filesystem::path& root, Mode mode) {
  const auto path = root / ".lock";
  fd_ = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                  kPrivateFileMode));
  if (fd_.get() < 0) throw_errno(errno, "cannot open lock file", path);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno(errno, "cannot stat lock file", path);
  check_owned(path, st, false);
  const int op = mode == Mode::shared ? LOCK_SH : LOCK_EX;
  while (::flock(fd_.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (errno == ENOLCK || errno == EOPNOTSUPP) return;
    throw_errno(errno, "cannot lock", path);
  }
}

}  // namespace jhtc::store
