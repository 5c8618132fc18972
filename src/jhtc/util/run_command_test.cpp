#include "util/run_command.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace jhtc::util {
namespace {

using namespace std::chrono_literals;

TEST(RunCommand, CapturesStdoutStderrAndTheExitCode) {
  const auto r = run_command({"sh", "-c", "printf out; printf err >&2; exit 3"});
  EXPECT_EQ(r.out, "out");
  EXPECT_EQ(r.err, "err");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.succeeded());
  EXPECT_EQ(r.status_text(), "exited with 3");
}

TEST(RunCommand, PassesArgumentsWithoutAShell) {
  const auto r = run_command({"printf", "%s|", "a b", "$HOME", ";", "'q'"});
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out, "a b|$HOME|;|'q'|");
}

TEST(RunCommand, ReportsTheSignalThatEndedTheProgram) {
  const auto r = run_command({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.status_text(), "killed by signal 15");
}

TEST(RunCommand, KillsTheProgramAndItsChildrenAtTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  // The grandchild `sleep` holds stdout open; the group kill must end it too.
  const auto r = run_command({"sh", "-c", "echo started; sleep 30 & sleep 30"}, {.timeout = 300ms});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_LT(took, 5s);
  EXPECT_EQ(r.status_text(), "timed out and was killed");
}

TEST(RunCommand, AProgramWithinItsTimeoutIsNotKilled) {
  const auto r = run_command({"sh", "-c", "sleep 0.1; echo done"}, {.timeout = 10s});
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out, "done\n");
}

TEST(RunCommand, ReadsLargeOutputOnBothStreamsWithoutDeadlock) {
  const auto r =
      run_command({"sh", "-c", "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2"});
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err.size(), 2000000u);
}

TEST(RunCommand, TruncatesOutputBeyondTheLimit) {
  const auto r = run_command({"head", "-c", "100000", "/dev/zero"}, {.max_output_bytes = 1000});
  EXPECT_TRUE(r.succeeded());
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.out.size(), 1000u);
}

TEST(RunCommand, StdinIsEmpty) {
  const auto r = run_command({"cat"}, {.timeout = 5s});
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.out, "");
}

TEST(RunCommand, ThrowsWhenTheProgramCannotBeStarted) {
  EXPECT_THROW(run_command({"/nonexistent/program"}), std::system_error);
  EXPECT_THROW(run_command({"jhtc-no-such-program-on-path"}), std::system_error);
  EXPECT_THROW(run_command({}), std::invalid_argument);
}

TEST(RunCommand, RunsConcurrentlyFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> correct{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([i, &correct] {
      for (int k = 0; k < 5; ++k) {
        const auto r =
            run_command({"sh", "-c", "echo $0", std::to_string(i * 10 + k)}, {.timeout = 10s});
        if (r.succeeded() && r.out == std::to_string(i * 10 + k) + "\n") ++correct;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(correct.load(), 40);
}

TEST(FindOnPath, FindsProgramsAndRejectsMissingOnes) {
  const auto sh = find_on_path("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_EQ(sh->front(), '/');
  EXPECT_EQ(find_on_path("/bin/sh"), std::optional<std::string>("/bin/sh"));
  EXPECT_FALSE(find_on_path("jhtc-no-such-program-on-path").has_value());
  EXPECT_FALSE(find_on_path("/nonexistent/sh").has_value());
  EXPECT_FALSE(find_on_path("").has_value());
}

}  // namespace
}  // namespace jhtc::util
