// The store-wide lock (<root>/.lock, flock): writers hold it shared while they
// record a reference and write a blob, release() and collect_garbage() hold it
// exclusively while they sweep. Each acquisition opens its own descriptor, because
// flock locks belong to the open file description: two threads sharing one would
// convert each other's locks instead of waiting.
#pragma once

#include <filesystem>

#include "store/fs_util.hpp"

namespace jhtc::store {

class StoreLock {
 public:
  enum class Mode { shared, exclusive };
  // Blocks until the lock is held. A file system without locks (ENOLCK) degrades
  // to no locking rather than failing every task. The lock file is created 0600;
  // an existing one that is not a regular file of the user, not writable by
  // others, is refused (UnsafePathError): another user could hold it forever.
  StoreLock(const std::filesystem::path& root, Mode mode);
  ~StoreLock() = default;  // closing the descriptor releases the lock
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  Fd fd_;
};

}  // namespace jhtc::store
