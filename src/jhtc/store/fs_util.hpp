// File-system helpers of the store: owner-only directories, atomic writes,
// process identity for liveness checks. POSIX only; errors throw
// std::system_error whose message names the path.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "jhtc/durability.hpp"

namespace jhtc::store {

// Mode of the directories and files we create.
inline constexpr unsigned kPrivateDirMode = 0700;
inline constexpr unsigned kPrivateFileMode = 0600;

[[noreturn]] void throw_errno(int err, std::string_view what, const std::filesystem::path& path);

// Creates `dir` and its missing parents with `mode` (exactly, regardless of the
// umask). If `dir` exists it must be ours (check_owned): a directory planted by
// another user, or made writable for others, is refused. Existing parents are the
// caller's choice (e.g. a group-writable shared_data_dir) and are not checked.
void make_dirs(const std::filesystem::path& dir, unsigned mode);

// Throws jhtc::UnsafePathError naming `path`, its owner and mode unless `st` (from
// lstat or fstat) is a directory (`directory`) or a regular file owned by the
// effective user and not writable by group or others.
void check_owned(const std::filesystem::path& path, const struct stat& st, bool directory);

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

// Opens an existing file read-only without following a symbolic link in its last
// component and without blocking (a FIFO), and refuses (IntegrityError) anything
// but a regular file. `what` names the file in errors ("signed file", "blob").
// ENOENT and other I/O errors throw std::system_error.
Fd open_regular_file(const std::filesystem::path& path, const char* what, struct stat* st);

// Writes all of `bytes` (retrying short writes and EINTR).
void write_all(int fd, std::span<const std::byte> bytes, const std::filesystem::path& path);

// Writes `parts` to a temporary file beside `path` and renames it onto `path`:
// readers see the old file or the new one. Durability::crash_safe also fsyncs the
// file before the rename and the directory after it (include/jhtc/durability.hpp).
void write_file_atomically(const std::filesystem::path& path,
                           std::span<const std::span<const std::byte>> parts, unsigned mode,
                           Durability durability = Durability::crash_safe);

// fsync(2) of an open file, counted in fsync_calls(); returns fsync's result.
int fsync_counted(int fd);
void fsync_dir(const std::filesystem::path& dir);
// fsyncs this process has made through the two functions above: lets tests check
// which writes are durable without tracing system calls.
std::uint64_t fsync_calls();

std::string host_name();
// Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat),
// 0 if the process does not exist. Tells a live owner from a reused pid.
std::uint64_t process_start_ticks(long pid);

// Seconds since the last modification of `path`, or -1 if it does not exist.
double age_seconds(const std::filesystem::path& path);
// Sets the modification time of `path` to now.
void touch(const std::filesystem::path& path);

}  // namespace jhtc::store
