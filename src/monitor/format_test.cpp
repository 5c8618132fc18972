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
  // L1: 1 batch, 5 total, 0 queued, 0 submitted, 0 running, 4 done, 1 failed, throttle 60
  std::istringstream row(lines[2]);
  std::string level;
  std::vector<int> numbers(8);
  row >> level;
  for (int& n : numbers) row >> n;
  EXPECT_EQ(level, "L1");
  EXPECT_EQ(numbers, (std::vector<int>{1, 5, 0, 0, 0, 4, 1, 60}));
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
