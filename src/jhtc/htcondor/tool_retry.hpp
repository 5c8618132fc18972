// Runs a condor_* tool again when it failed in a way that passes: the schedd not
// answering ("Failed to connect to local queue manager"), a refused or timed-out
// connection. Waits between attempts double from first_wait up to max_wait, so the
// whole call is bounded (docs/failures.md names the defaults' bound). Anything
// else (permission denied, a bad constraint, no job matched) is returned at once.
//
// The policy is pure: the runner and the sleep are passed in, so the bound is
// unit-tested without a scheduler or a clock; run_tool_with_retry() passes the real
// ones. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "util/run_command.hpp"

namespace jhtc::htcondor {

struct RetryPolicy {
  int attempts = 5;                            // calls in all, >= 1
  std::chrono::milliseconds first_wait{1000};  // before the second call
  std::chrono::milliseconds max_wait{8000};    // no wait is longer
  bool retry_timeouts = true;  // false for condor_submit: a timed-out submission may
                               // have reached the queue, and a retry would duplicate it

  // The waits of a call that fails every time, summed (what the bound adds to
  // `attempts` runs of the tool).
  std::chrono::milliseconds total_wait() const;
};

// True when `result` says the scheduler could not be reached, rather than refused.
// A timeout counts only with `retry_timeouts`.
bool looks_transient(const util::CommandResult& result, bool retry_timeouts = true);

using ToolRunner = std::function<util::CommandResult(const std::vector<std::string>& argv)>;
using Sleeper = std::function<void(std::chrono::milliseconds)>;

struct RetriedResult {
  util::CommandResult result;  // of the last call
  int attempts = 0;            // calls made
};

// Calls `run(argv)` until it succeeds, fails in a non-transient way, or the
// policy's attempts are spent; sleeps through `sleep` between calls.
// Exceptions of `run` (the tool cannot be started) propagate at once.
RetriedResult run_with_retry(const ToolRunner& run, const std::vector<std::string>& argv,
                             const RetryPolicy& policy, const Sleeper& sleep);

// run_with_retry() for real: each call is util::run_command(argv) bounded by
// `timeout`, the waits are sleeps of this thread. The one place a condor_* tool is
// run (the driver, job removal, pool capacity). Throws SchedulerError ("condor_rm
// could not be run: ...", argv[0] first) when the tool cannot be started.
RetriedResult run_tool_with_retry(const std::vector<std::string>& argv,
                                  std::chrono::seconds timeout, const RetryPolicy& policy);

// "condor_rm exited with 1 (5 attempts over 15 s): ERROR: Failed to connect ..." for a
// SchedulerError: the tool's own words, on one line.
std::string failure_text(const std::string& what, const RetriedResult& retried,
                         const RetryPolicy& policy);

}  // namespace jhtc::htcondor
