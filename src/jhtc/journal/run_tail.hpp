// RunTail: follows the journals of one root, <journal_dir>/<root>/*.jsonl, and keeps
// a RunSummary up to date. Each poll reads only what was appended since the last
// one (it remembers an offset per file) and picks up new batches' files.
//
// It also asks the content store beside the journal (<journal_dir>/../store) whether
// the processes of unfinished batches still run (at most every kOwnerCheckInterval),
// so that a killed run shows as dead instead of running forever.
//
// Thread-safety: none; one tail per thread.
// Failure: never throws for a missing or unreadable directory or file (a run may
// not have started, a file may vanish): they read as empty and are retried.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "jhtc/journal.hpp"
#include "journal/run_summary.hpp"

namespace jhtc {

class RunTail {
 public:
  static constexpr std::chrono::seconds kOwnerCheckInterval{5};
  // A batch younger than this is not judged: its store record may not exist yet.
  static constexpr double kOwnerGraceSeconds = 10;
  // Owners on other hosts: dead after this long without a heartbeat (they beat every 60 s).
  static constexpr std::chrono::seconds kHeartbeatStaleAfter{180};

  RunTail(const std::string& journal_dir, std::string root_batch_id);

  // Reads new lines from every journal, at most about `max_bytes` (so that a
  // monitor stays responsive while catching up). Returns the events applied.
  std::size_t poll(std::size_t max_bytes = std::numeric_limits<std::size_t>::max());
  bool caught_up() const { return caught_up_; }  // the last poll read everything there was

  // Also hands every event applied to `listener` (the run report folds them too).
  using EventListener = std::function<void(const std::string& batch_id, const JournalEvent&)>;
  void set_event_listener(EventListener listener) { listener_ = std::move(listener); }

  const RunSummary& summary() const { return summary_; }
  std::size_t files() const { return files_.size(); }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::size_t corrupt_lines() const;
  std::string last_warning() const;  // the last corrupt line, prefixed by its file

 private:
  struct File {
    std::uint64_t offset = 0;
    JournalReader reader;
  };
  void check_owners();
  std::size_t read_file(const std::string& path, const std::string& batch_id, File& file,
                        std::uint64_t size, std::size_t& budget);

  std::string run_dir_;
  std::string store_dir_;
  std::chrono::steady_clock::time_point last_owner_check_{};
  RunSummary summary_;
  EventListener listener_;
  std::map<std::string, File> files_;  // by batch id
  std::uint64_t bytes_read_ = 0;
  bool caught_up_ = false;
};

// The root batch ids under `journal_dir` (its subdirectories), sorted; empty when
// the directory does not exist.
std::vector<std::string> list_root_batches(const std::string& journal_dir);

}  // namespace jhtc
