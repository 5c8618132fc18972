#include "store/fs_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>

namespace jhtc::store {

void throw_errno(int err, std::string_view what, const std::filesystem::path& path) {
  throw std::system_error(err, std::generic_category(),
                          std::string(what) + " '" + path.string() + "'");
}

void make_dirs(const std::filesystem::path& dir, unsigned mode) {
  if (dir.empty()) return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw_errno(ENOTDIR, "cannot create directory", dir);
    return;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) make_dirs(dir.parent_path(), mode);
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno == EEXIST) return;  // another process won the race: keep its mode
    throw_errno(errno, "cannot create directory", dir);
  }
  // mkdir applies the umask; the mode we promise must not depend on it.
  if (::chmod(dir.c_str(), mode) != 0) throw_errno(errno, "cannot chmod directory", dir);
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

void fsync_dir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Some file systems refuse fsync on directories; the rename is still atomic.
  if (fd.get() >= 0) ::fsync(fd.get());
}

void write_file_atomically(const std::filesystem::path& path,
                           std::span<const std::span<const std::byte>> parts, unsigned mode) {
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const auto temp = dir / unique_temp_name("." + path.filename().string() + ".tmp.");
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) throw_errno(errno, "cannot create", temp);
  try {
    if (::fchmod(fd.get(), mode) != 0) throw_errno(errno, "cannot chmod", temp);
    for (auto part : parts) write_all(fd.get(), part, temp);
    if (::fsync(fd.get()) != 0) throw_errno(errno, "cannot fsync", temp);
    if (::close(fd.release()) != 0) throw_errno(errno, "cannot close", temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno(errno, "cannot rename onto", path);
  } catch (...) {
    ::unlink(temp.c_str());  // never leave a half-written file behind
    throw;
  }
  fsync_dir(dir);
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
