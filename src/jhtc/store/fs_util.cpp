#include "store/fs_util.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>

#include "jhtc/errors.hpp"

namespace jhtc::store {

void throw_errno(int err, std::string_view what, const std::filesystem::path& path) {
  throw std::system_error(err, std::generic_category(),
                          std::string(what) + " '" + path.string() + "'");
}

namespace {

std::string owner_name(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  std::string name = "uid " + std::to_string(uid);
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    name = std::string(found->pw_name) + " (" + name + ")";
  }
  return name;
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

const char* type_name(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a regular file";
}

[[noreturn]] void refuse_path(const std::filesystem::path& path, const struct stat& st,
                              const std::string& why, const char* accepted) {
  throw UnsafePathError("refusing '" + path.string() + "': " + why + " (owner " +
                        owner_name(st.st_uid) + ", mode " + octal_mode(st.st_mode) +
                        "); accepted: " + accepted + " owned by " + owner_name(::geteuid()) +
                        " and not writable by group or others");
}

}  // namespace

void check_owned(const std::filesystem::path& path, const struct stat& st, bool directory) {
  const char* accepted = directory ? "a directory" : "a regular file";
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    refuse_path(path, st, std::string("it is ") + type_name(st.st_mode), accepted);
  }
  if (st.st_uid != ::geteuid()) refuse_path(path, st, "it is owned by another user", accepted);
  if ((st.st_mode & 022) != 0) {
    refuse_path(path, st, "it is writable by group or others", accepted);
  }
}

void make_dirs(const std::filesystem::path& dir, unsigned mode) {
  if (dir.empty()) return;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    // A file of ours in the way is a plain error; a link or a foreign directory is not.
    if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) && st.st_uid == ::geteuid()) {
      throw_errno(ENOTDIR, "cannot create directory", dir);
    }
    check_owned(dir, st, true);
    return;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    const auto parent = dir.parent_path();
    if (::stat(parent.c_str(), &st) != 0) make_dirs(parent, mode);
  }
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno != EEXIST) throw_errno(errno, "cannot create directory", dir);
    // Another process won the race: it must be ours all the same.
    if (::lstat(dir.c_str(), &st) != 0) throw_errno(errno, "cannot stat", dir);
    check_owned(dir, st, true);
    return;
  }
  // mkdir applies the umask; the mode we promise must not depend on it.
  if (::chmod(dir.c_str(), mode) != 0) throw_errno(errno, "cannot chmod directory", dir);
}

Fd open_regular_file(const std::filesystem::path& path, const char* what, struct stat* st) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    const int err = errno;
    struct stat link {};
    if (err == ELOOP && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      throw IntegrityError("refusing '" + path.string() + "': the " + what +
                           " is a symbolic link; it is never followed");
    }
    throw_errno(err, std::string("cannot open ") + what, path);
  }
  if (::fstat(fd.get(), st) != 0) throw_errno(errno, std::string("cannot stat ") + what, path);
  if (!S_ISREG(st->st_mode)) {
    throw IntegrityError("refusing '" + path.string() + "': the " + what + " is " +
                         type_name(st->st_mode) + ", not a regular file");
  }
  return fd;
}

std::string unique_temp_name(std::string_view prefix) {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << prefix << host_name() << '.' << ::getpid() << '.' << counter++ << '.' << std::hex
       << rng();
  return name.str();
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void write_all(int fd, std::span<const std::byte> bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot write", path);
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

namespace {
std::atomic<std::uint64_t> fsyncs{0};
}  // namespace

int fsync_counted(int fd) {
  fsyncs.fetch_add(1, std::memory_order_relaxed);
  return ::fsync(fd);
}

std::uint64_t fsync_calls() { return fsyncs.load(std::memory_order_relaxed); }

void fsync_dir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Some file systems refuse fsync on directories; the rename is still atomic.
  if (fd.get() >= 0) fsync_counted(fd.get());
}

void write_file_atomically(const std::filesystem::path& path,
                           std::span<const std::span<const std::byte>> parts, unsigned mode,
                           Durability durability) {
  const bool sync = durability == Durability::crash_safe;
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const auto temp = dir / unique_temp_name("." + path.filename().string() + ".tmp.");
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) throw_errno(errno, "cannot create", temp);
  try {
    if (::fchmod(fd.get(), mode) != 0) throw_errno(errno, "cannot chmod", temp);
    for (auto part : parts) write_all(fd.get(), part, temp);
    if (sync && fsync_counted(fd.get()) != 0) throw_errno(errno, "cannot fsync", temp);
    if (::close(fd.release()) != 0) throw_errno(errno, "cannot close", temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno(errno, "cannot rename onto", path);
  } catch (...) {
    ::unlink(temp.c_str());  // never leave a half-written file behind
    throw;
  }
  if (sync) fsync_dir(dir);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::uint64_t process_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && fields >> field; ++i) {
  }
  std::uint64_t ticks = 0;
  fields >> ticks;
  return ticks;
}

double age_seconds(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec - st.st_mtim.tv_sec) +
         static_cast<double>(now.tv_nsec - st.st_mtim.tv_nsec) * 1e-9;
}

void touch(const std::filesystem::path& path) {
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) != 0)
    throw_errno(errno, "cannot touch", path);
}

}  // namespace jhtc::store
