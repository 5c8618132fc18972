#include "local/fork_server.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "jhtc/errors.hpp"
#include "local/fork_server_process.hpp"
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

}  // namespace

ForkServerConnection::ForkServerConnection(int channel, std::shared_ptr<ForkServerProcess> server)
    : channel_(channel), server_(std::move(server)) {}

ForkServerConnection::~ForkServerConnection() { close(channel_); }

pid_t ForkServerConnection::server_pid() const { return server_->pid(); }

bool ForkServerConnection::send_line(const std::string& line) {
  if (!alive_) return false;
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

bool ForkServerConnection::request(std::uint64_t job, const std::string& task_file, int attempt,
                                   const std::string& stdout_path, const std::string& stderr_path) {
  for (const std::string* path : {&task_file, &stdout_path, &stderr_path})
    if (path->find_first_of("\t\n") != std::string::npos)
      throw std::invalid_argument("path with a tab or newline: " + *path);
  return send_line(std::to_string(job) + "\t" + task_file + "\t" + std::to_string(attempt) + "\t" +
                   stdout_path + "\t" + stderr_path + "\n");
}

std::vector<ForkServerReport> ForkServerConnection::read_reports() {
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

void ForkServerConnection::parse_line(const std::string& line, std::vector<ForkServerReport>& out) {
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

std::string ForkServerConnection::describe_death() {
  alive_ = false;
  return server_->describe_death();
}

std::string escape_field(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace jhtc::local
