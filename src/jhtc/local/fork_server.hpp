// The client side of the local scheduler's fork server (the "zygote"): one long-lived
// `python -m joblib_htcondor.worker --serve` per process (and interpreter), shared by
// every local driver of the process, that imports the heavy modules once and forks a
// child per job (python/joblib_htcondor/_fork_server.py has the protocol).
//
// Each driver holds its own connection: a socketpair whose other end travels to the
// zygote over its control channel (SCM_RIGHTS). A job the zygote forks inherits a
// control channel of its own; adopt_fork_server_channel() makes the drivers of nested
// batches inside that job connect through it, so every level forks from one zygote.
// The zygote kills the jobs of a connection that closes, and all its jobs when its
// first control channel closes (the process that started it is gone).
//
// Thread-safety: connect_fork_server() and adopt_fork_server_channel() may be called
// from any thread; a ForkServerConnection is used by one driver under its mutex.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
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

class ForkServerProcess;

class ForkServerConnection {
 public:
  // Closes the connection: the zygote kills this connection's jobs still running.
  ~ForkServerConnection();
  ForkServerConnection(const ForkServerConnection&) = delete;
  ForkServerConnection& operator=(const ForkServerConnection&) = delete;

  // Readable when reports arrived or the zygote died.
  int fd() const { return channel_; }
  bool alive() const { return alive_; }
  // The zygote's pid (adopted channel: the parent of this process).
  pid_t server_pid() const;

  // Asks for one job (the worker runs `task_file` as attempt `attempt`). Returns
  // false (and the connection is dead) when the channel is broken; paths must not
  // contain tabs or newlines (std::invalid_argument).
  bool request(std::uint64_t job, const std::string& task_file, int attempt,
               const std::string& stdout_path, const std::string& stderr_path);

  // Reads the reports available without blocking. A closed or broken channel, or
  // a line that is not a report, marks the connection dead.
  std::vector<ForkServerReport> read_reports();

  // Why the connection is gone: the zygote's exit status and the last line of its
  // stderr. A zygote still there (it broke the protocol) is killed and reaped.
  std::string describe_death();

 private:
  friend std::unique_ptr<ForkServerConnection> connect_fork_server(
      const std::vector<std::string>&, const std::map<std::string, std::string>&,
      const std::map<std::string, std::string>&);
  ForkServerConnection(int channel, std::shared_ptr<ForkServerProcess> server);
  bool send_line(const std::string& line);
  void parse_line(const std::string& line, std::vector<ForkServerReport>& out);

  int channel_ = -1;
  bool alive_ = true;
  std::string buffer_;
  std::shared_ptr<ForkServerProcess> server_;
};

// Connects to this process's fork server for `argv` (PYTHON WORKER_ARGS; the server
// runs `argv --serve`), starting it with `server_env` added to the environment when
// none runs or the one that ran has exited. Jobs of the connection run with exactly
// `job_env` as their environment. Throws SchedulerError when the zygote cannot be
// started or reached.
std::unique_ptr<ForkServerConnection> connect_fork_server(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& server_env,
    const std::map<std::string, std::string>& job_env);

// In a job forked by a zygote: `fd` is the control channel it inherited; drivers of
// this process then connect through it, whatever their argv.
void adopt_fork_server_channel(int fd);

// Escapes backslash, tab and newline so that a field fits the line protocol.
std::string escape_field(const std::string& text);

}  // namespace jhtc::local
