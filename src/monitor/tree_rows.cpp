#include "tree_rows.hpp"

#include <algorithm>

namespace jhtc::monitor {

static void add_rows(const RunSummary& summary, const std::set<std::string>& expanded,
                     const BatchSummary& batch, int depth, std::vector<TreeRow>& rows) {
  bool open = expanded.count(batch.batch_id) > 0;
  rows.push_back({&batch, depth, !batch.children.empty(), open});
  if (!open) return;
  for (const BatchSummary* child : summary.children(batch))
    add_rows(summary, expanded, *child, depth + 1, rows);
}

std::vector<TreeRow> flatten_tree(const RunSummary& summary,
                                  const std::set<std::string>& expanded) {
  std::vector<TreeRow> rows;
  for (const BatchSummary* top : summary.tree_roots()) add_rows(summary, expanded, *top, 0, rows);
  return rows;
}

void TreeCursor::reset(const std::string& root_batch_id) {
  expanded_ = {root_batch_id};
  cursor_ = 0;
  scroll_ = 0;
}

void TreeCursor::move(int delta, std::size_t row_count) {
  if (row_count == 0) {
    cursor_ = 0;
    return;
  }
  long long target = static_cast<long long>(cursor_) + delta;
  target = std::clamp<long long>(target, 0, static_cast<long long>(row_count) - 1);
  cursor_ = static_cast<std::size_t>(target);
}

void TreeCursor::toggle(const std::vector<TreeRow>& rows, Toggle how) {
  if (cursor_ >= rows.size() || !rows[cursor_].has_children) return;
  const std::string& id = rows[cursor_].batch->batch_id;
  bool open = expanded_.count(id) > 0;
  bool want = how == Toggle::expand ? true : how == Toggle::collapse ? false : !open;
  if (want) {
    expanded_.insert(id);
  } else {
    expanded_.erase(id);
  }
}

std::size_t TreeCursor::scroll_for(std::size_t height) {
  if (height == 0) return scroll_;
  if (cursor_ < scroll_) scroll_ = cursor_;
  if (cursor_ >= scroll_ + height) scroll_ = cursor_ - height + 1;
  return scroll_;
}

}  // namespace jhtc::monitor
