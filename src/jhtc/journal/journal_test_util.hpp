// Helpers shared by the journal tests: a temporary directory and reading a file's events.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "jhtc/journal.hpp"

namespace jhtc::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "jhtc-journal-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::vector<JournalEvent> read_events(const std::string& path,
                                             std::size_t* corrupt = nullptr) {
  JournalReader reader;
  auto events = reader.feed(read_text(path));
  if (corrupt) *corrupt = reader.corrupt_lines() + (reader.pending_bytes() ? 1 : 0);
  return events;
}

inline BatchInfo batch_info(std::string id, std::string parent, std::string root, int level,
                            std::size_t throttle) {
  return BatchInfo{std::move(id), std::move(parent), std::move(root), level, throttle, "local"};
}

}  // namespace jhtc::testing
