// The incremental journal reader: whole lines out, the partial tail kept.
#include "jhtc/journal.hpp"

namespace jhtc {

std::vector<JournalEvent> JournalReader::feed(std::string_view bytes) {
  std::vector<JournalEvent> out;
  std::size_t start = 0;
  // The first newline completes whatever was pending from the previous feed.
  if (!pending_.empty()) {
    std::size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      pending_.append(bytes);
      return out;
    }
    pending_.append(bytes.substr(0, newline));
    std::string line = std::move(pending_);
    pending_.clear();
    take_line(line, out);
    start = newline + 1;
  }
  while (start < bytes.size()) {
    std::size_t newline = bytes.find('\n', start);
    if (newline == std::string_view::npos) {
      pending_.assign(bytes.substr(start));
      break;
    }
    take_line(bytes.substr(start, newline - start), out);
    start = newline + 1;
  }
  return out;
}

void JournalReader::take_line(std::string_view line, std::vector<JournalEvent>& out) {
  ++line_number_;
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank: not an event
  if (auto event = decode_journal_line(line)) {
    out.push_back(std::move(*event));
    return;
  }
  ++corrupt_lines_;
  constexpr std::size_t kShown = 60;
  last_warning_ = "skipped corrupt journal line " + std::to_string(line_number_) + ": " +
                  std::string(line.substr(0, kShown)) + (line.size() > kShown ? "..." : "");
}

}  // namespace jhtc
