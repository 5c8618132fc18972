#include "format.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace jhtc::monitor {
namespace {

JournalEvent event(double ts, std::string name,
                   std::vector<std::pair<std::string, std::string>> context) {
  return JournalEvent{ts, std::move(name), std::move(context)};
}

RunSummary two_level_run() {
  RunSummary s("root");
  s.apply("root",
          event(1000, "batch_started", {{"parent", ""}, {"level", "0"}, {"throttle", "26"}}));
  s.apply("kid",
          event(1001, "batch_started", {{"parent", "root"}, {"level", "1"}, {"throttle", "60"}}));
  s.apply("root", event(1002, "task_queued", {{"task", "0"}}));
  for (int i = 0; i < 4; ++i)
    s.apply("kid", event(1003, "task_done", {{"task", std::to_string(i)}}));
  s.apply("kid", event(1004, "task_failed", {{"task", "4"}, {"reason", "held:\nout of memory"}}));
  s.apply("kid", event(1005, "bytes_held", {{"bytes", "2048"}}));
  return s;
}

TEST(Format, DurationShowsDaysOnlyWhenThereAreSome) {
  EXPECT_EQ(format_duration(0), "00:00:00");
  EXPECT_EQ(format_duration(3725), "01:02:05");
  EXPECT_EQ(format_duration(3 * 86400 + 22 * 3600 + 10 * 60 + 5), "3d 22:10:05");
  EXPECT_EQ(format_duration(-1), "-");
}

TEST(Format, BytesUseBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(1ull << 40), "1.0 TiB");
}

TEST(Format, RateSwitchesToPerMinuteBelowOnePerSecond) {
  EXPECT_EQ(format_rate(2), "2.0 tasks/s");
  EXPECT_EQ(format_rate(0.5), "30.0 tasks/min");
}

TEST(Format, ProgressBarFillsInProportion) {
  EXPECT_EQ(progress_bar(1, 4, 10), "[##......]");
  EXPECT_EQ(progress_bar(0, 0, 6), "[....]");
  EXPECT_EQ(progress_bar(4, 4, 6), "[####]");
}

TEST(Format, LevelTableHasOneRowPerLevelWithItsCounts) {
  auto lines = level_table(two_level_run().levels());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("Throttle"), std::string::npos);
  EXPECT_EQ(lines[1].rfind("L0 ", 0), 0u);
  // L1: 1 batch, 5 calls, 5 jobs, 0 queued, 0 submitted, 0 running, 4 done, 1 failed, throttle 60
  std::istringstream row(lines[2]);
  std::string level;
  std::vector<int> numbers(9);
  row >> level;
  for (int& n : numbers) row >> n;
  EXPECT_EQ(level, "L1");
  EXPECT_EQ(numbers, (std::vector<int>{1, 5, 5, 0, 0, 0, 4, 1, 60}));
}

TEST(Format, FooterShowsTimesRateAndDiskFigures) {
  RunSummary s = two_level_run();
  auto lines = footer_lines(s.figures(1100), DiskUsage{true, 1000, 100});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("Elapsed 00:01:40"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("3.0 tasks/min"), std::string::npos) << lines[0];  // 5 finished in 100 s
  EXPECT_NE(lines[0].find("ETA 00:00:20"), std::string::npos) << lines[0];   // 1 left
  EXPECT_NE(lines[1].find("run holds 2.0 KiB"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("(10%)"), std::string::npos) << lines[1];
  EXPECT_NE(footer_lines(s.figures(1100), DiskUsage{})[1].find("unknown"), std::string::npos);
}

TEST(Format, SummaryTextListsTreeFailuresWithOneLineReasons) {
  std::string text = summary_text(two_level_run(), DiskUsage{}, 1100);
  EXPECT_NE(text.find("Root batch root"), std::string::npos);
  EXPECT_NE(text.find("- root L0"), std::string::npos) << text;
  EXPECT_NE(text.find("    kid L1"), std::string::npos) << text;
  EXPECT_NE(text.find("Failed tasks: 1\n  kid task 4: held: out of memory\n"), std::string::npos)
      << text;
}

TEST(Format, SummaryTextShowsOnlyTheNewestFailures) {
  RunSummary s("r");
  for (int i = 0; i < 30; ++i)
    s.apply("r", event(1, "task_failed", {{"task", std::to_string(i)}, {"reason", "x"}}));
  std::string text = summary_text(s, DiskUsage{}, 2, 20);
  EXPECT_NE(text.find("(10 earlier not shown)"), std::string::npos);
  EXPECT_EQ(text.find("r task 9:"), std::string::npos);
  EXPECT_NE(text.find("r task 10:"), std::string::npos);
}

}  // namespace
}  // namespace jhtc::monitor

namespace jhtc::monitor {
namespace {

// 13 outer calls grouped into 10 jobs, each outer call running 5 inner calls in 5 jobs.
RunSummary nested_run() {
  RunSummary s("root");
  s.apply("root",
          event(1000, "batch_started", {{"parent", ""}, {"level", "0"}, {"throttle", "10"}}));
  for (int t = 0; t < 10; ++t)
    s.apply("root", event(1001, "task_queued",
                          {{"task", std::to_string(t)}, {"calls", t < 3 ? "2" : "1"}}));
  for (int b = 0; b < 13; ++b) {
    const std::string kid = "kid" + std::to_string(b);
    s.apply(kid,
            event(1002, "batch_started", {{"parent", "root"}, {"level", "1"}, {"throttle", "5"}}));
    for (int t = 0; t < 5; ++t) {
      s.apply(kid, event(1003, "task_queued", {{"task", std::to_string(t)}, {"calls", "1"}}));
      s.apply(kid, event(1004, "task_done", {{"task", std::to_string(t)}}));
    }
  }
  for (int t = 0; t < 10; ++t)
    s.apply("root", event(1005, "task_done", {{"task", std::to_string(t)}}));
  return s;
}

TEST(Format, CallsTheUserWroteAndJobsAreCountedApart) {
  const RunSummary s = nested_run();
  const auto lines = level_table(s.levels());
  EXPECT_NE(lines[0].find("Calls"), std::string::npos);
  std::istringstream l0(lines[1]), l1(lines[2]);
  std::string name;
  std::size_t batches = 0, calls = 0, jobs = 0;
  l0 >> name >> batches >> calls >> jobs;
  EXPECT_EQ(calls, 13u);
  EXPECT_EQ(jobs, 10u);
  l1 >> name >> batches >> calls >> jobs;
  EXPECT_EQ(calls, 65u);
  EXPECT_EQ(jobs, 65u);
  const std::string footer = footer_lines(s.figures(1010), DiskUsage{})[0];
  EXPECT_NE(footer.find("Calls 78/78"), std::string::npos) << footer;
  EXPECT_NE(footer.find("Jobs 75/75 finished"), std::string::npos) << footer;
}

RunSummary usage_run(const std::string& job_memory_mb, const std::vector<int>& peaks, bool held) {
  RunSummary s("root");
  s.apply("root", event(1000, "batch_started",
                        {{"parent", ""},
                         {"level", "0"},
                         {"throttle", "4"},
                         {"request_cpus", "2"},
                         {"request_memory_mb", job_memory_mb}}));
  int task = 0;
  for (int peak : peaks) {
    const std::string id = std::to_string(task++);
    s.apply("root", event(1001, "task_queued", {{"task", id}}));
    s.apply("root", event(1002, "task_done",
                          {{"task", id},
                           {"usage",
                            "{\"wall_s\":1800.000,\"cpu_user_s\":3000.000,\"cpu_sys_s\":600.000,"
                            "\"memory_mb\":" +
                                std::to_string(peak) + "}"}}));
  }
  if (held)
    s.apply("root", event(1003, "task_retried",
                          {{"task", "0"},
                           {"reason", "held"},
                           {"hold_code", "21"},
                           {"hold_subcode", "102"},
                           {"request_memory_mb", "512"},
                           {"usage", "{\"memory_mb\":260}"}}));
  return s;
}

TEST(Format, UsageTableShowsCoreHoursAndMemoryAgainstTheRequest) {
  const RunSummary s = usage_run("256", {100, 300, 200}, true);
  const auto lines = usage_table(s.levels());
  ASSERT_EQ(lines.size(), 2u);
  // 3 jobs x 0.5 h x 2 CPUs (request_cpus: no allocation reported) = 3 core-hours; CPU 3 x 1 h
  EXPECT_NE(lines[1].find("3.000     3.000"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("300 MB"), std::string::npos) << lines[1];  // peak
  EXPECT_NE(lines[1].find("256 MB"), std::string::npos) << lines[1];  // request_mem
  std::istringstream tail(lines[1].substr(lines[1].rfind("MB") + 2));
  std::size_t measured = 0, holds = 0;
  tail >> measured >> holds;
  EXPECT_EQ(measured, 4u);  // the held job reported its peak too
  EXPECT_EQ(holds, 1u);
  EXPECT_EQ(s.levels()[0].usage.median_memory_mb(), 260);  // of 100, 200, 260, 300
  const auto hints = usage_hints(s.levels());
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_NE(hints[0].find("held for exceeding request_mem"), std::string::npos) << hints[0];
}

TEST(Format, HintsWhenJobsUsedUnderAQuarterOfTheirRequest) {
  const auto hints = usage_hints(usage_run("4096", {100, 1000}, false).levels());
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_NE(hints[0].find("under a quarter"), std::string::npos) << hints[0];
  EXPECT_TRUE(usage_hints(usage_run("4096", {100, 1100}, false).levels()).empty());
  EXPECT_TRUE(usage_hints(usage_run("0", {100}, false).levels()).empty()) << "no request, no hint";
}

TEST(Format, SummaryTextCarriesTheUsageTable) {
  const std::string text = summary_text(usage_run("256", {100, 300}, true), DiskUsage{}, 1010);
  EXPECT_NE(text.find("Core-h"), std::string::npos) << text;
  EXPECT_NE(text.find("Hint: L0"), std::string::npos) << text;
  EXPECT_NE(text.find("Calls 2/2"), std::string::npos) << text;
}

}  // namespace
}  // namespace jhtc::monitor
