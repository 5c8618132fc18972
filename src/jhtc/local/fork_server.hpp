// The client side of the local scheduler's fork server (the "zygote"): one long-lived
// `python -m joblib_htcondor.worker --serve` per driver that imports the heavy modules
// once and forks a child per job (python/joblib_htcondor/_fork_server.py has the
// protocol). The driver polls fd() with its pidfds and calls read_reports() when it
// is readable.
//
// Thread-safety: none; the local driver calls it with its mutex held.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "local/process.hpp"

namespace jhtc::local {

struct ForkServerReport {
  enum class Kind { started, exited, failed };
  Kind kind = Kind::failed;
  std::uint64_t job = 0;
  pid_t pid = -1;       // started: the child, leader of its own process group
  ExitStatus status;    // exited
  std::string message;  // failed: why the child could not be forked
};

class ForkServer {
 public:
  // Starts `argv` with the channel as its fd 3 and the given environment.
  // Throws SchedulerError when the process or the channel cannot be created.
  ForkServer(const std::vector<std::string>& argv,
             const std::map<std::string, std::string>& extra_env, const std::string& stdout_path,
             const std::string& stderr_path);
  // Closes the channel (the zygote then exits), kills and reaps the zygote. The
  // children it forked are not touched: the driver ends their process groups.
  ~ForkServer();
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  // Readable when reports arrived or the zygote died.
  int fd() const { return channel_; }
  bool alive() const { return alive_; }

  // Asks for one job (the worker runs `task_file` as attempt `attempt`). Returns
  // false (and the server is dead) when the channel is broken; paths must not
  // contain tabs or newlines (std::invalid_argument).
  bool request(std::uint64_t job, const std::string& task_file, int attempt,
               const std::string& stdout_path, const std::string& stderr_path);

  // Reads the reports available without blocking. A closed or broken channel, or
  // a line that is not a report, marks the server dead.
  std::vector<ForkServerReport> read_reports();

  // Why the zygote is gone: its exit status and the last line of its stderr.
  // Reaps it (blocking up to the time SIGKILL takes) when it is still there.
  std::string describe_death();

 private:
  void parse_line(const std::string& line, std::vector<ForkServerReport>& out);

  SpawnedProcess zygote_;
  int channel_ = -1;
  bool alive_ = true;
  std::string buffer_;
  std::string stderr_path_;
};

}  // namespace jhtc::local
