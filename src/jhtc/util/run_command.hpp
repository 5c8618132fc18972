// Runs a program (argv, no shell) and captures its stdout and stderr.
//
// Uses posix_spawnp, so it is safe in a multithreaded process: nothing runs
// between fork and exec but the spawn actions. The pipes are created close-on-exec,
// so a program spawned concurrently by another thread never holds them open.
// The child gets /dev/null as stdin and runs in its own process group, which a
// timeout kills as a whole (SIGKILL).
//
// Thread-safety: run_command may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jhtc::util {

struct CommandOptions {
  std::chrono::milliseconds timeout{0};      // 0: wait as long as it takes
  std::size_t max_output_bytes = 256 << 20;  // per stream; the rest is read and dropped
};

struct CommandResult {
  int exit_code = -1;      // >= 0 when the program exited
  int signal = 0;          // > 0 when a signal ended it (SIGKILL after a timeout)
  bool timed_out = false;  // killed because the timeout passed
  bool truncated = false;  // an output exceeded max_output_bytes
  std::string out;
  std::string err;

  bool succeeded() const { return exit_code == 0 && !timed_out; }
  // "exited with 2", "killed by signal 9", "timed out after the limit"; for messages.
  std::string status_text() const;
};

// Throws std::system_error when the program cannot be started (not found,
// not executable, out of resources); an exit status, however bad, is a result.
// Throws std::invalid_argument for an empty argv.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// The absolute path of `name` on PATH (or `name` itself when it holds a '/'
// and is executable); nullopt when there is none.
std::optional<std::string> find_on_path(std::string_view name);

}  // namespace jhtc::util
