// Waits until a file may have grown: the HTCondor driver follows its batch's event
// log with it (the file may not exist yet; its directory must).
//
//   wait_until(deadline) returns
//     file_event   inotify reported a write, creation or rename of the file
//     poll_tick    a poll interval passed: the caller reads to see what is new
//     interrupted  another thread called interrupt()
//     deadline     the deadline came first
//
// How, chosen at construction (method(), description()):
// - inotify on the file's directory, with a safety poll every `safety_poll`: on a
//   local file system inotify misses nothing but a queue overflow, reported as an event.
// - inotify and a poll every `poll_interval` on a network file system (NFS, FUSE such as
//   sshfs, SMB/CIFS, Ceph, Lustre, GPFS, AFS, 9p): inotify there reports writes made on
//   this machine only, so a schedd on another node writing the shared log is seen by the
//   poll alone.
// - polling every `poll_interval` when inotify is not to be had (inotify_init1 or
//   inotify_add_watch failed: the per-user limits of instances or watches, or a kernel
//   without it), or `use_inotify` is false. polling_reason() says why.
//
// Thread-safety: wait_until() from one thread at a time; interrupt() from any thread,
// also before or during a wait (an interrupt before the wait ends the next wait at once).
// Failure: the constructor throws std::system_error when it cannot make its wake-up
// descriptor (eventfd: out of file descriptors); inotify failures fall back to polling,
// never throw. wait_until() does not throw: a failing poll() is reported as poll_tick.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace jhtc {

struct FileWatchOptions {
  std::chrono::milliseconds poll_interval{250};  // polling, or inotify on a network fs
  std::chrono::milliseconds safety_poll{2000};   // inotify on a local file system
  bool use_inotify = true;
};

enum class WatchMethod { inotify, inotify_and_polling, polling };
enum class WatchWake { file_event, poll_tick, interrupted, deadline };

struct WatchSystem;  // the system calls, replaceable by tests (src/jhtc/util/watch_system.hpp)

class FileWatch {
 public:
  explicit FileWatch(const std::string& path, FileWatchOptions options = {});
  FileWatch(const std::string& path, FileWatchOptions options, const WatchSystem& system);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  WatchWake wait_until(std::chrono::steady_clock::time_point deadline);
  void interrupt();

  WatchMethod method() const;
  std::string polling_reason() const;  // empty with inotify alone
  std::string description() const;     // one line for a log: the method and why

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace jhtc
