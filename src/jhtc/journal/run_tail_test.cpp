#include "journal/run_tail.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "jhtc/content_store.hpp"
#include "journal/journal_test_util.hpp"

namespace jhtc {
namespace {

using testing::batch_info;
using testing::TempDir;

TEST(RunTail, MissingDirectoryReadsAsEmpty) {
  RunTail tail("/nonexistent/jhtc", "r");
  EXPECT_EQ(tail.poll(), 0u);
  EXPECT_TRUE(tail.caught_up());
  EXPECT_EQ(tail.summary().batch_count(), 0u);
  EXPECT_TRUE(list_root_batches("/nonexistent/jhtc").empty());
}

TEST(RunTail, PollReadsOnlyWhatWasAppendedAndPicksUpNewFiles) {
  TempDir dir;
  JournalWriter root(dir.path(), batch_info("r", "", "r", 0, 2));
  root.task_queued(1);
  RunTail tail(dir.path(), "r");
  EXPECT_EQ(tail.poll(), 2u);
  EXPECT_EQ(tail.poll(), 0u);
  std::uint64_t read = tail.bytes_read();
  JournalWriter child(dir.path(), batch_info("c", "r", "r", 1, 3));
  child.task_queued(1);
  root.task_done(1);
  EXPECT_EQ(tail.poll(), 3u);
  EXPECT_EQ(tail.files(), 2u);
  EXPECT_EQ(tail.summary().levels().size(), 2u);
  EXPECT_EQ(tail.summary().batch("r")->counts.done, 1u);
  EXPECT_LT(tail.bytes_read() - read, 400u);  // not the whole files again
}

TEST(RunTail, PartialLineIsCompletedByALaterPoll) {
  TempDir dir;
  { JournalWriter root(dir.path(), batch_info("r", "", "r", 0, 1)); }
  std::string line = encode_journal_line(5, "task_queued", R"({"task":8})");
  std::ofstream out(dir.path() + "/r/r.jsonl", std::ios::app | std::ios::binary);
  out << line.substr(0, 12) << std::flush;
  RunTail tail(dir.path(), "r");
  EXPECT_EQ(tail.poll(), 1u);
  out << line.substr(12) << std::flush;
  EXPECT_EQ(tail.poll(), 1u);
  EXPECT_EQ(tail.summary().batch("r")->counts.queued, 1u);
  EXPECT_EQ(tail.corrupt_lines(), 0u);
}

TEST(RunTail, CorruptLineIsSkippedWithAWarningNamingTheFile) {
  TempDir dir;
  { JournalWriter root(dir.path(), batch_info("r", "", "r", 0, 1)); }
  std::ofstream(dir.path() + "/r/r.jsonl", std::ios::app)
      << "garbage\n"
      << encode_journal_line(6, "task_done", R"({"task":1})");
  RunTail tail(dir.path(), "r");
  EXPECT_EQ(tail.poll(), 2u);
  EXPECT_EQ(tail.corrupt_lines(), 1u);
  EXPECT_NE(tail.last_warning().find("r.jsonl"), std::string::npos);
  EXPECT_EQ(tail.summary().batch("r")->counts.done, 1u);
}

TEST(RunTail, ByteBudgetSplitsCatchingUpOverSeveralPolls) {
  TempDir dir;
  JournalWriter root(dir.path(), batch_info("r", "", "r", 0, 1));
  for (TaskId t = 0; t < 1000; ++t) root.task_queued(t);
  RunTail tail(dir.path(), "r");
  tail.poll(4096);
  EXPECT_FALSE(tail.caught_up());
  int polls = 1;
  while (!tail.caught_up() && polls < 1000) {
    tail.poll(4096);
    ++polls;
  }
  EXPECT_GT(polls, 5);
  EXPECT_EQ(tail.summary().batch("r")->counts.queued, 1000u);
}

TEST(RunTail, BatchWhoseProcessIsGoneShowsAsDead) {
  TempDir dir;
  const std::string journal = dir.path() + "/journal";
  std::filesystem::create_directories(journal + "/r");
  ContentStore store(dir.path() + "/store");
  store.open_batch("r");  // owned by this (live) process; "c" has no owner record
  auto started = [](const std::string& id, double ts) {
    return encode_journal_line(ts, "batch_started",
                               R"({"batch":")" + id +
                                   R"(","parent":"r","root":"r","level":1,)"
                                   R"("throttle":1,"host":"h","pid":1,"scheduler":"local"})");
  };
  const double long_ago = 1e9, just_now = 4e9;  // 2001, and far beyond any test's clock
  std::ofstream(journal + "/r/r.jsonl") << started("r", long_ago);
  std::ofstream(journal + "/r/c.jsonl") << started("c", long_ago);
  std::ofstream(journal + "/r/young.jsonl") << started("young", just_now);
  RunTail tail(journal, "r");
  tail.poll();
  EXPECT_EQ(tail.summary().batch("r")->state, "running");
  EXPECT_EQ(tail.summary().batch("c")->state, "dead");
  EXPECT_EQ(tail.summary().batch("young")->state, "running") << "judged within its grace";
  std::ofstream(journal + "/r/c.jsonl", std::ios::app)
      << encode_journal_line(long_ago + 1, "batch_finished", R"({"state":"done"})");
  tail.poll();
  EXPECT_EQ(tail.summary().batch("c")->state, "done") << "its own last word wins";
}

TEST(RunTail, WithoutAStoreNothingIsJudged) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/r");
  std::ofstream(dir.path() + "/r/r.jsonl")
      << encode_journal_line(1e9, "batch_started", R"({"batch":"r","root":"r","pid":1})");
  RunTail tail(dir.path(), "r");
  tail.poll();
  EXPECT_EQ(tail.summary().batch("r")->state, "running");
}

TEST(RunTail, ListRootBatchesGivesTheSubdirectoriesSorted) {
  TempDir dir;
  JournalWriter b(dir.path(), batch_info("b", "", "b", 0, 1));
  JournalWriter a(dir.path(), batch_info("a", "", "a", 0, 1));
  EXPECT_EQ(list_root_batches(dir.path()), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace jhtc
