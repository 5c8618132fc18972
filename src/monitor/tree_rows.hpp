// The batch tree as the screen shows it: flattened to rows, with a cursor that
// expands and collapses. Pure (no curses), so the navigation is unit-tested.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "journal/run_summary.hpp"

namespace jhtc::monitor {

struct TreeRow {
  const BatchSummary* batch = nullptr;
  int depth = 0;
  bool has_children = false;
  bool expanded = false;
  char marker() const { return has_children ? (expanded ? '-' : '+') : ' '; }
};

// Rows in display order: each batch, then (if expanded) its children.
std::vector<TreeRow> flatten_tree(const RunSummary& summary, const std::set<std::string>& expanded);

class TreeCursor {
 public:
  void reset(const std::string& root_batch_id);  // root expanded, cursor on top
  void move(int delta, std::size_t row_count);
  // Expands or collapses the batch under the cursor (`expand`: true, false, or toggle).
  enum class Toggle { expand, collapse, flip };
  void toggle(const std::vector<TreeRow>& rows, Toggle how);
  // First row to draw so the cursor stays within `height` rows.
  std::size_t scroll_for(std::size_t height);

  std::size_t cursor() const { return cursor_; }
  const std::set<std::string>& expanded() const { return expanded_; }

 private:
  std::set<std::string> expanded_;
  std::size_t cursor_ = 0;
  std::size_t scroll_ = 0;
};

}  // namespace jhtc::monitor
