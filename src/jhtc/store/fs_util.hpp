// File-system helpers of the store: owner-only directories, atomic writes,
// process identity for liveness checks. POSIX only; errors throw
// std::system_error whose message names the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace jhtc::store {

// Mode of the directories and files we create.
inline constexpr unsigned kPrivateDirMode = 0700;
inline constexpr unsigned kGroupDirMode = 02770;  // setgid: the group is inherited
inline constexpr unsigned kPrivateFileMode = 0600;
inline constexpr unsigned kGroupFileMode = 0640;

[[noreturn]] void throw_errno(int err, std::string_view what, const std::filesystem::path& path);

// Creates `dir` and its missing parents with `mode` (exactly, regardless of the
// umask); existing directories are left as they are.
void make_dirs(const std::filesystem::path& dir, unsigned mode);

// A name for a temporary file unique across hosts, processes and threads.
std::string unique_temp_name(std::string_view prefix);

// RAII file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release();

 private:
  int fd_;
};

// Writes all of `bytes` (retrying short writes and EINTR).
void write_all(int fd, std::span<const std::byte> bytes, const std::filesystem::path& path);

// Writes `parts` to a temporary file beside `path`, fsyncs, renames it onto
// `path` and fsyncs the directory. Readers see the old file or the new one.
void write_file_atomically(const std::filesystem::path& path,
                           std::span<const std::span<const std::byte>> parts, unsigned mode);

void fsync_dir(const std::filesystem::path& dir);

std::string host_name();
// Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat),
// 0 if the process does not exist. Tells a live owner from a reused pid.
std::uint64_t process_start_ticks(long pid);

// Seconds since the last modification of `path`, or -1 if it does not exist.
double age_seconds(const std::filesystem::path& path);
// Sets the modification time of `path` to now.
void touch(const std::filesystem::path& path);

}  // namespace jhtc::store
