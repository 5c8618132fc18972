#include <gtest/gtest.h>

#include <fstream>

#include "journal/journal_test_util.hpp"
#include "journal/run_tail.hpp"

namespace jhtc {
namespace {

using testing::TempDir;
using testing::batch_info;

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
  std::ofstream(dir.path() + "/r/r.jsonl", std::ios::app) << "garbage\n"
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

TEST(RunTail, ListRootBatchesGivesTheSubdirectoriesSorted) {
  TempDir dir;
  JournalWriter b(dir.path(), batch_info("b", "", "b", 0, 1));
  JournalWriter a(dir.path(), batch_info("a", "", "a", 0, 1));
  EXPECT_EQ(list_root_batches(dir.path()), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace jhtc
