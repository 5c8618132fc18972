// Spawning and ending worker processes for the local scheduler.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace jhtc::local {

struct SpawnedProcess {
  pid_t pid = -1;
  int pidfd = -1;  // readable when the process has exited
};

// Starts argv[0] (searched on PATH) in a new process group with stdout and stderr
// sent to the given files and `extra_env` added to this process's environment.
// `pass_fd` >= 0 is handed to the process as its fd 3 (the fork server's channel).
// Throws SchedulerError with the OS reason when the process cannot be started.
SpawnedProcess spawn_process(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& extra_env,
                             const std::string& stdout_path, const std::string& stderr_path,
                             int pass_fd = -1);

// This process's environment with `extra` added (an entry of `extra` wins), as
// NAME=VALUE strings: what a spawned or forked job sees.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra);

struct ExitStatus {
  int exit_code = -1;  // >= 0 when the process exited
  int signal = 0;      // > 0 when a signal ended it
  // wait4's rusage of the process (and its waited-for children); negative: unknown
  double user_s = -1;
  double sys_s = -1;
  long maxrss_kb = -1;
};

// Decodes a status as waitpid() returns it.
ExitStatus decode_wait_status(int status);

// Reaps an exited process (wait4: with its rusage) and closes its pidfd.
ExitStatus reap_process(SpawnedProcess& process);

// Sends `signal` to the process's whole group.
void signal_process_group(const SpawnedProcess& process, int signal);

}  // namespace jhtc::local
