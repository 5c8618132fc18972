// The runs under a journal directory, each followed by its own RunTail. This is the
// monitor's I/O edge: it reads journal files and statvfs, nothing else.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format.hpp"
#include "journal/run_tail.hpp"

namespace jhtc::monitor {

struct RunListing {
  std::string root_batch_id;
  double start_ts = 0;
  std::size_t tasks = 0, batches = 0;
  std::string state;
};

// `--path` may name the shared data directory (journals in its journal/) or the
// journal directory itself.
std::string resolve_journal_dir(const std::string& path);

DiskUsage disk_usage(const std::string& path);  // known = false when statvfs fails

double unix_now();

class RunCatalog {
 public:
  explicit RunCatalog(std::string journal_dir) : journal_dir_(std::move(journal_dir)) {}

  // Every run, newest first, read up to date (the first call reads all journals).
  std::vector<RunListing> list(double now);
  // The tail of one run, created on first use.
  RunTail& tail(const std::string& root_batch_id);
  const std::string& journal_dir() const { return journal_dir_; }

 private:
  std::string journal_dir_;
  std::map<std::string, std::unique_ptr<RunTail>> tails_;
};

}  // namespace jhtc::monitor
