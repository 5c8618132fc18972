#include "htcondor/tool_retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <system_error>
#include <thread>

#include "jhtc/errors.hpp"

namespace jhtc::htcondor {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::chrono::milliseconds wait_before(int attempt, const RetryPolicy& policy) {
  // attempt 1 is the second call
  auto wait = policy.first_wait;
  for (int i = 1; i < attempt && wait < policy.max_wait; ++i) wait *= 2;
  return std::min(wait, policy.max_wait);
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  const auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

}  // namespace

std::chrono::milliseconds RetryPolicy::total_wait() const {
  std::chrono::milliseconds sum{0};
  for (int attempt = 1; attempt < attempts; ++attempt) sum += wait_before(attempt, *this);
  return sum;
}

bool looks_transient(const util::CommandResult& result, bool retry_timeouts) {
  if (result.succeeded()) return false;
  if (result.timed_out) return retry_timeouts;
  // The words HTCondor's tools print when the daemon is down, restarting or overloaded.
  static constexpr std::array<std::string_view, 8> kUnreachable = {
      "failed to connect",    "can't connect",      "cannot connect",    "connection refused",
      "connection timed out", "can't find address", "unable to contact", "communication error"};
  const std::string text = lower(result.err + "\n" + result.out);
  return std::any_of(kUnreachable.begin(), kUnreachable.end(),
                     [&](std::string_view words) { return text.find(words) != std::string::npos; });
}

RetriedResult run_with_retry(const ToolRunner& run, const std::vector<std::string>& argv,
                             const RetryPolicy& policy, const Sleeper& sleep) {
  RetriedResult retried;
  const int attempts = std::max(1, policy.attempts);
  while (true) {
    retried.result = run(argv);
    ++retried.attempts;
    if (retried.attempts >= attempts || !looks_transient(retried.result, policy.retry_timeouts))
      return retried;
    sleep(wait_before(retried.attempts, policy));
  }
}

RetriedResult run_tool_with_retry(const std::vector<std::string>& argv,
                                  std::chrono::seconds timeout, const RetryPolicy& policy) {
  const auto run = [timeout](const std::vector<std::string>& command) {
    return util::run_command(command, {.timeout = timeout});
  };
  const auto sleep = [](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); };
  try {
    return run_with_retry(run, argv, policy, sleep);
  } catch (const std::system_error& error) {
    throw SchedulerError((argv.empty() ? std::string("a tool") : argv.front()) +
                         " could not be run: " + error.what());
  }
}

std::string failure_text(const std::string& what, const RetriedResult& retried,
                         const RetryPolicy& policy) {
  std::string text = what + " " + retried.result.status_text();
  if (retried.attempts > 1) {
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(
        RetryPolicy{retried.attempts, policy.first_wait, policy.max_wait}.total_wait());
    text += " (" + std::to_string(retried.attempts) + " attempts, " +
            std::to_string(waited.count()) + " s of waiting between them)";
  }
  const std::string words =
      one_line(retried.result.err.empty() ? retried.result.out : retried.result.err);
  return words.empty() ? text : text + ": " + words;
}

}  // namespace jhtc::htcondor
