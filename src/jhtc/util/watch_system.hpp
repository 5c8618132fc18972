// The system calls FileWatch makes to set up inotify: tests replace them to see the
// fallbacks (no inotify, no watch left, a network file system) on any machine.
#pragma once

#include <cstdint>

#include "jhtc/file_watch.hpp"

namespace jhtc {

struct WatchSystem {
  int (*inotify_init1)(int flags);
  int (*inotify_add_watch)(int fd, const char* path, std::uint32_t mask);
  // statfs(2)'s f_type of the file system holding `path`; 0 when statfs fails.
  long (*file_system_type)(const char* path);

  static const WatchSystem& real();
};

// The name of a network file system, on which inotify misses remote writes; empty for others.
const char* network_file_system_name(long file_system_type);

}  // namespace jhtc
