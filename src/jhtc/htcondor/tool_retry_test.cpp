// The retry policy for condor_* calls, against a fake runner and a recorded sleep;
// run_tool_with_retry against real processes (sh standing in for a condor_* tool).
#include "htcondor/tool_retry.hpp"

#include <gtest/gtest.h>

#include "jhtc/errors.hpp"

namespace jhtc::htcondor {
namespace {

using namespace std::chrono_literals;

util::CommandResult failed(std::string err, int code = 1) {
  util::CommandResult r;
  r.exit_code = code;
  r.err = std::move(err);
  return r;
}

util::CommandResult ok() {
  util::CommandResult r;
  r.exit_code = 0;
  return r;
}

const util::CommandResult kScheddDown =
    failed("\nERROR: Failed to connect to local queue manager\n");

struct Recorder {
  std::vector<util::CommandResult> answers;  // one per call; the last repeats
  int calls = 0;
  std::vector<std::chrono::milliseconds> waits;
  ToolRunner runner() {
    return [this](const std::vector<std::string>&) {
      const std::size_t at = std::min<std::size_t>(calls++, answers.size() - 1);
      return answers[at];
    };
  }
  Sleeper sleeper() {
    return [this](std::chrono::milliseconds wait) { waits.push_back(wait); };
  }
};

TEST(ToolRetry, SchedulerNotAnsweringIsTransient) {
  EXPECT_TRUE(looks_transient(kScheddDown));
  EXPECT_TRUE(looks_transient(failed("Connection refused")));
  util::CommandResult timed_out = failed("", -1);
  timed_out.timed_out = true;
  EXPECT_TRUE(looks_transient(timed_out));
  EXPECT_FALSE(looks_transient(timed_out, /*retry_timeouts=*/false));
}

TEST(ToolRetry, RefusalsAndSuccessAreNotTransient) {
  EXPECT_FALSE(looks_transient(ok()));
  EXPECT_FALSE(looks_transient(failed("Permission denied")));
  EXPECT_FALSE(looks_transient(failed("Couldn't find/remove all jobs matching constraint")));
}

TEST(ToolRetry, AlwaysFailingCallStopsAtTheBoundWithDoublingCappedWaits) {
  Recorder rec{{kScheddDown}};
  const RetryPolicy policy{.attempts = 6, .first_wait = 100ms, .max_wait = 500ms};
  const RetriedResult got = run_with_retry(rec.runner(), {"condor_rm"}, policy, rec.sleeper());
  EXPECT_EQ(got.attempts, 6);
  EXPECT_EQ(rec.calls, 6);
  EXPECT_EQ(rec.waits, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 500ms, 500ms}));
  EXPECT_EQ(policy.total_wait(), 1700ms);
  EXPECT_FALSE(got.result.succeeded());
}

TEST(ToolRetry, DefaultBoundIsFiveCallsAndFifteenSecondsOfWaiting) {
  // docs/failures.md quotes these figures.
  const RetryPolicy policy;
  EXPECT_EQ(policy.attempts, 5);
  EXPECT_EQ(policy.total_wait(), 15s);
}

TEST(ToolRetry, RecoversWhenTheSchedulerAnswersAgain) {
  Recorder rec{{kScheddDown, kScheddDown, ok()}};
  const RetriedResult got =
      run_with_retry(rec.runner(), {"condor_q"}, RetryPolicy{}, rec.sleeper());
  EXPECT_TRUE(got.result.succeeded());
  EXPECT_EQ(got.attempts, 3);
  EXPECT_EQ(rec.waits.size(), 2u);
}

TEST(ToolRetry, RefusalIsReturnedAtOnce) {
  Recorder rec{{failed("Permission denied")}};
  const RetriedResult got =
      run_with_retry(rec.runner(), {"condor_rm"}, RetryPolicy{}, rec.sleeper());
  EXPECT_EQ(got.attempts, 1);
  EXPECT_TRUE(rec.waits.empty());
}

TEST(ToolRetry, TimedOutSubmissionIsNotRepeated) {
  util::CommandResult timed_out = failed("", -1);
  timed_out.timed_out = true;
  Recorder rec{{timed_out}};
  const RetriedResult got = run_with_retry(rec.runner(), {"condor_submit"},
                                           RetryPolicy{.retry_timeouts = false}, rec.sleeper());
  EXPECT_EQ(got.attempts, 1);
}

TEST(ToolRetry, FailureTextQuotesTheToolAndTheBound) {
  Recorder rec{{kScheddDown}};
  const RetryPolicy policy{.attempts = 3, .first_wait = 1000ms, .max_wait = 8000ms};
  const RetriedResult got = run_with_retry(rec.runner(), {"condor_rm"}, policy, rec.sleeper());
  EXPECT_EQ(failure_text("condor_rm", got, policy),
            "condor_rm exited with 1 (3 attempts, 3 s of waiting between them): "
            "ERROR: Failed to connect to local queue manager");
}

TEST(ToolRetry, AToolThatCannotBeStartedIsASchedulerErrorNamingIt) {
  try {
    run_tool_with_retry({"/nonexistent/condor_q", "-totals"}, std::chrono::seconds(5), {});
    FAIL() << "a missing tool was run";
  } catch (const SchedulerError& error) {
    EXPECT_TRUE(std::string(error.what()).starts_with("/nonexistent/condor_q could not be run: "))
        << error.what();
  }
}

TEST(ToolRetry, ARealToolIsRunOnceWhenItSucceeds) {
  const RetriedResult r =
      run_tool_with_retry({"sh", "-c", "echo answered"}, std::chrono::seconds(5), {});
  EXPECT_TRUE(r.result.succeeded());
  EXPECT_EQ(r.result.out, "answered\n");
  EXPECT_EQ(r.attempts, 1);
}

TEST(ToolRetry, ARealToolThatCannotReachItsDaemonIsRetriedToTheBound) {
  const RetryPolicy policy{.attempts = 3,
                           .first_wait = std::chrono::milliseconds(1),
                           .max_wait = std::chrono::milliseconds(2)};
  const RetriedResult r = run_tool_with_retry(
      {"sh", "-c", "echo 'Failed to connect to local queue manager' >&2; exit 1"},
      std::chrono::seconds(5), policy);
  EXPECT_FALSE(r.result.succeeded());
  EXPECT_EQ(r.attempts, 3);
}

}  // namespace
}  // namespace jhtc::htcondor
