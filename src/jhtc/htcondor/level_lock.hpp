// LevelLock: mutual exclusion between the parents of one run, on any host, through a
// file in the shared directory (counting a level's jobs and submitting more must be one
// step, or two parents both see the same free room).
//
// flock alone does not do it: on a FUSE network filesystem (sshfs) or NFS without lockd
// a flock excludes only processes of the node that takes it, and succeeds elsewhere
// (measured on the multi-node testbed: docs/testbed.md). So the lock is the existence of
// `path`, created with O_CREAT|O_EXCL, which the file server performs atomically (local
// filesystems, NFSv3+, SFTP), holding "host pid". A flock on `path + ".flock"` comes
// first, so that processes of one host queue in the kernel instead of polling.
//
// A holder that died leaves the file behind: a lock file older than `stale_after` (by
// its mtime, the file server's clock against ours) is broken. Holders keep the lock for
// one condor_q and one condor_submit, seconds, so the default of 300 s is far above that.
//
// Thread-safety: one object per holder; different objects on one path exclude each other.
// Failure: std::system_error when the lock file cannot be created for another reason than
// that it exists (e.g. the directory is gone or not writable), or ETIMEDOUT after
// `wait_at_most`.
#pragma once

#include <chrono>
#include <string>

namespace jhtc::htcondor {

class LevelLock {
 public:
  // Blocks until the lock is held, at most `wait_at_most` (a holder stuck for longer
  // must not stall this batch's dispatch or shutdown): then std::system_error with
  // ETIMEDOUT. An empty path holds nothing.
  LevelLock(std::string path, std::chrono::seconds wait_at_most,
            std::chrono::seconds stale_after = std::chrono::seconds(300));
  ~LevelLock();  // removes the lock file, releases the flock
  LevelLock(const LevelLock&) = delete;
  LevelLock& operator=(const LevelLock&) = delete;

 private:
  bool try_create();
  void break_if_stale();

  std::string path_;
  std::chrono::seconds stale_after_;
  int flock_fd_ = -1;
  bool held_ = false;
};

}  // namespace jhtc::htcondor
