#include "local/fork_server.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "jhtc/errors.hpp"
#include "util/errno_text.hpp"

namespace jhtc::local {
namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

template <typename Number>
bool parse_number(std::string_view text, Number& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

ForkServer::ForkServer(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& extra_env,
                       const std::string& stdout_path, const std::string& stderr_path)
    : stderr_path_(stderr_path) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw SchedulerError(std::string("socketpair failed: ") + util::errno_text(errno));
  channel_ = fds[0];
  try {
    zygote_ = spawn_process(argv, extra_env, stdout_path, stderr_path, fds[1]);
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[1]);
}

ForkServer::~ForkServer() {
  close(channel_);
  if (zygote_.pidfd >= 0) {
    kill(zygote_.pid, SIGKILL);
    reap_process(zygote_);
  }
}

bool ForkServer::request(std::uint64_t job, const std::string& task_file, int attempt,
                         const std::string& stdout_path, const std::string& stderr_path) {
  for (const std::string* path : {&task_file, &stdout_path, &stderr_path})
    if (path->find_first_of("\t\n") != std::string::npos)
      throw std::invalid_argument("path with a tab or newline: " + *path);
  if (!alive_) return false;
  const std::string line = std::to_string(job) + "\t" + task_file + "\t" + std::to_string(attempt) +
                           "\t" + stdout_path + "\t" + stderr_path + "\n";
  // Blocking: a request is a few hundred bytes, the socket buffer holds hundreds.
  // MSG_NOSIGNAL: a dead zygote must not raise SIGPIPE in the caller's process.
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(channel_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      alive_ = false;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::vector<ForkServerReport> ForkServer::read_reports() {
  std::vector<ForkServerReport> reports;
  char chunk[4096];
  while (alive_) {
    const ssize_t n = recv(channel_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {  // EOF or error: the zygote is gone
      alive_ = false;
      break;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    for (std::size_t end; alive_ && (end = buffer_.find('\n')) != std::string::npos;) {
      parse_line(buffer_.substr(0, end), reports);
      buffer_.erase(0, end + 1);
    }
  }
  return reports;
}

void ForkServer::parse_line(const std::string& line, std::vector<ForkServerReport>& out) {
  const auto fields = split_tabs(line);
  ForkServerReport report;
  // exited carries wait4's rusage after the status: user and system seconds, max RSS.
  const bool with_usage = fields.size() == 6 && fields[0] == "exited";
  bool ok = (fields.size() == 3 || with_usage) && parse_number(fields[1], report.job);
  if (ok && fields[0] == "started") {
    report.kind = ForkServerReport::Kind::started;
    ok = parse_number(fields[2], report.pid) && report.pid > 0;
  } else if (ok && fields[0] == "exited") {
    int status = 0;
    report.kind = ForkServerReport::Kind::exited;
    ok = parse_number(fields[2], status);
    report.status = decode_wait_status(status);
    if (ok && with_usage) {
      report.status.user_s = std::strtod(std::string(fields[3]).c_str(), nullptr);
      report.status.sys_s = std::strtod(std::string(fields[4]).c_str(), nullptr);
      ok = parse_number(fields[5], report.status.maxrss_kb);
    }
  } else if (ok && fields[0] == "failed") {
    report.kind = ForkServerReport::Kind::failed;
    report.message = fields[2];
  } else {
    ok = false;
  }
  if (!ok) {  // not our protocol: trust nothing more from this channel
    alive_ = false;
    return;
  }
  out.push_back(std::move(report));
}

std::string ForkServer::describe_death() {
  alive_ = false;
  std::string what = "the fork server (pid " + std::to_string(zygote_.pid) + ") ";
  if (zygote_.pidfd >= 0) {
    kill(zygote_.pid, SIGKILL);  // e.g. it broke the protocol: make sure it is gone
    const ExitStatus status = reap_process(zygote_);
    if (status.signal > 0)
      what += "was killed by signal " + std::to_string(status.signal);
    else
      what += "exited with code " + std::to_string(status.exit_code);
  } else {
    what += "is gone";
  }
  if (const std::string last = last_line_of(stderr_path_); !last.empty())
    what += " (its stderr, " + stderr_path_ + ": " + last + ")";
  return what;
}

}  // namespace jhtc::local
