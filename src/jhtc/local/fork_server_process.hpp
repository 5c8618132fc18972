// The zygote as the process that uses it knows it: started here (a child of this
// process) or adopted (the control channel a forked job inherited). Internal to
// fork_server.cpp and its registry.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "local/process.hpp"

namespace jhtc::local {

class ForkServerProcess {
 public:
  // Starts `argv --serve` with the control channel as its fd 3, `env` added to the
  // environment and its stderr in an unlinked temporary file. Throws SchedulerError.
  ForkServerProcess(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env);
  // The control channel inherited from the zygote that forked this process.
  explicit ForkServerProcess(int adopted_control);
  // Closes the control channel; a zygote started here is killed and reaped.
  ~ForkServerProcess();
  ForkServerProcess(const ForkServerProcess&) = delete;
  ForkServerProcess& operator=(const ForkServerProcess&) = delete;

  // A new connection's end, the other sent to the zygote; -1 when that failed.
  int open_connection();
  // True when a zygote started here has exited (never for an adopted one).
  bool exited();
  pid_t pid() const;
  // The zygote's exit status and the last line of its stderr; kills it first if
  // it still runs (it broke the protocol or dropped a connection).
  std::string describe_death();

 private:
  mutable std::mutex mutex_;
  SpawnedProcess zygote_;  // pid -1 when adopted
  int control_ = -1;
  int stderr_fd_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
};

}  // namespace jhtc::local
