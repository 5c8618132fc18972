#include "tree_rows.hpp"

#include <gtest/gtest.h>

namespace jhtc::monitor {
namespace {

RunSummary tree() {
  RunSummary s("r");
  auto start = [&](std::string id, std::string parent, double ts) {
    s.apply(id,
            JournalEvent{
                ts, "batch_started", {{"parent", parent}, {"level", parent.empty() ? "0" : "1"}}});
  };
  start("r", "", 1);
  start("a", "r", 2);
  start("b", "r", 3);
  start("a1", "a", 4);
  return s;
}

std::vector<std::string> ids(const std::vector<TreeRow>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows)
    out.push_back(std::string(static_cast<std::size_t>(row.depth), ' ') + row.batch->batch_id);
  return out;
}

TEST(TreeRows, OnlyExpandedBatchesShowTheirChildren) {
  RunSummary s = tree();
  EXPECT_EQ(ids(flatten_tree(s, {})), (std::vector<std::string>{"r"}));
  EXPECT_EQ(ids(flatten_tree(s, {"r"})), (std::vector<std::string>{"r", " a", " b"}));
  EXPECT_EQ(ids(flatten_tree(s, {"r", "a"})), (std::vector<std::string>{"r", " a", "  a1", " b"}));
  auto rows = flatten_tree(s, {"r"});
  EXPECT_EQ(rows[0].marker(), '-');
  EXPECT_EQ(rows[1].marker(), '+');
  EXPECT_EQ(rows[2].marker(), ' ');
}

TEST(TreeCursor, MoveStopsAtBothEnds) {
  TreeCursor cursor;
  cursor.reset("r");
  cursor.move(-5, 3);
  EXPECT_EQ(cursor.cursor(), 0u);
  cursor.move(10, 3);
  EXPECT_EQ(cursor.cursor(), 2u);
  cursor.move(0, 0);
  EXPECT_EQ(cursor.cursor(), 0u);
}

TEST(TreeCursor, ToggleExpandsAndCollapsesTheBatchUnderTheCursor) {
  RunSummary s = tree();
  TreeCursor cursor;
  cursor.reset("r");
  auto rows = flatten_tree(s, cursor.expanded());
  cursor.move(1, rows.size());  // on "a"
  cursor.toggle(rows, TreeCursor::Toggle::flip);
  EXPECT_EQ(flatten_tree(s, cursor.expanded()).size(), 4u);
  cursor.toggle(rows, TreeCursor::Toggle::collapse);
  EXPECT_EQ(flatten_tree(s, cursor.expanded()).size(), 3u);
  cursor.move(1, rows.size());  // on "b", a leaf: nothing to expand
  cursor.toggle(rows, TreeCursor::Toggle::expand);
  EXPECT_EQ(cursor.expanded(), (std::set<std::string>{"r"}));
}

TEST(TreeCursor, ScrollKeepsTheCursorVisible) {
  TreeCursor cursor;
  cursor.reset("r");
  cursor.move(25, 100);
  EXPECT_EQ(cursor.scroll_for(10), 16u);
  cursor.move(-20, 100);
  EXPECT_EQ(cursor.scroll_for(10), 5u);
}

}  // namespace
}  // namespace jhtc::monitor
