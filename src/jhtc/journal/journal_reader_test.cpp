#include <gtest/gtest.h>

#include "jhtc/journal.hpp"

namespace jhtc {
namespace {

std::string line(std::string_view name, std::string_view context) {
  return encode_journal_line(1714560000.25, name, context);
}

TEST(JournalLine, EncodedLineDecodesToTheSameEvent) {
  std::string text = line("task_failed", R"({"task":7,"reason":"held: \"mem\"\n\u00e9"})");
  EXPECT_EQ(text.back(), '\n');
  auto event = decode_journal_line(std::string_view(text).substr(0, text.size() - 1));
  ASSERT_TRUE(event);
  EXPECT_DOUBLE_EQ(event->ts, 1714560000.25);
  EXPECT_EQ(event->name, "task_failed");
  EXPECT_EQ(event->integer("task"), 7);
  EXPECT_EQ(event->text("reason"), "held: \"mem\"\n\xc3\xa9");
}

TEST(JournalLine, SurrogatePairDecodesToFourByteUtf8) {
  auto event = decode_journal_line(R"({"ts":1,"name":"x","context":{"s":"\ud83d\ude00"}})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->text("s"), "\xf0\x9f\x98\x80");
}

TEST(JournalLine, DecodeFailsWithoutTimestampOrName) {
  EXPECT_FALSE(decode_journal_line(R"({"name":"task_done","context":{}})"));
  EXPECT_FALSE(decode_journal_line(R"({"ts":1.5,"context":{}})"));
  EXPECT_FALSE(decode_journal_line(R"({"ts":1.5,"name":"","context":{}})"));
}

TEST(JournalLine, DecodeFailsOnTruncatedOrTrailingText) {
  EXPECT_FALSE(decode_journal_line(R"({"ts":1.5,"name":"task_done","context":{"task":)"));
  EXPECT_FALSE(decode_journal_line(R"({"ts":1.5,"name":"task_done"} x)"));
  EXPECT_FALSE(decode_journal_line(R"({"ts":"soon","name":"task_done"})"));
  EXPECT_FALSE(decode_journal_line(R"({"ts":1,"name":"a\qb"})"));
  EXPECT_FALSE(decode_journal_line("not json"));
  EXPECT_FALSE(decode_journal_line(""));
}

TEST(JournalLine, UnknownMembersAreSkippedAndNestedValuesKeptRaw) {
  auto event = decode_journal_line(
      R"({"v":[1,{"a":null}],"ts":2,"name":"n","context":{"o":{"k":[true,false]},"i":-3,"f":1.5}})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->text("o"), R"({"k":[true,false]})");
  EXPECT_EQ(event->integer("i"), -3);
  EXPECT_EQ(event->integer("f"), std::nullopt);  // not an integer
  EXPECT_EQ(event->integer("absent"), std::nullopt);
  EXPECT_EQ(event->find("absent"), nullptr);
}

TEST(JournalReader, PartialLastLineIsKeptUntilItsNewlineArrives) {
  JournalReader reader;
  std::string text = line("task_done", R"({"task":1})");
  auto first = reader.feed(std::string_view(text).substr(0, 10));
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(reader.pending_bytes(), 10u);
  auto rest = reader.feed(std::string_view(text).substr(10));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].integer("task"), 1);
  EXPECT_EQ(reader.pending_bytes(), 0u);
  EXPECT_EQ(reader.corrupt_lines(), 0u);
}

TEST(JournalReader, OneByteAtATimeGivesTheSameEventsAsOneFeed) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += line("task_queued", "{\"task\":" + std::to_string(i) + "}");
  JournalReader whole, bytewise;
  auto expected = whole.feed(text);
  std::vector<JournalEvent> got;
  for (char c : text) {
    for (auto& e : bytewise.feed(std::string_view(&c, 1))) got.push_back(std::move(e));
  }
  ASSERT_EQ(expected.size(), 20u);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].integer("task"), expected[i].integer("task"));
}

TEST(JournalReader, CorruptLineIsSkippedCountedAndWarnedAbout) {
  JournalReader reader;
  std::string text = line("task_queued", R"({"task":1})") + "{\"ts\":1,\"na\n" +
                     line("task_done", R"({"task":1})");
  auto events = reader.feed(text);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].name, "task_done");
  EXPECT_EQ(reader.corrupt_lines(), 1u);
  EXPECT_NE(reader.last_warning().find("line 2"), std::string::npos) << reader.last_warning();
}

TEST(JournalReader, BlankLinesAreNotEventsNorCorrupt) {
  JournalReader reader;
  auto events = reader.feed("\n  \n" + line("task_done", R"({"task":4})"));
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(reader.corrupt_lines(), 0u);
}

}  // namespace
}  // namespace jhtc
