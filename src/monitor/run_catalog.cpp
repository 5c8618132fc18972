#include "run_catalog.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace jhtc::monitor {

std::string resolve_journal_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::path nested = std::filesystem::path(path) / "journal";
  return std::filesystem::is_directory(nested, ec) ? nested.string() : path;
}

DiskUsage disk_usage(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return {};
  DiskUsage usage;
  usage.known = true;
  usage.total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  usage.used = static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  return usage;
}

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

RunTail& RunCatalog::tail(const std::string& root_batch_id) {
  auto& slot = tails_[root_batch_id];
  if (!slot) slot = std::make_unique<RunTail>(journal_dir_, root_batch_id);
  return *slot;
}

std::vector<RunListing> RunCatalog::list(double now) {
  std::vector<RunListing> runs;
  for (const std::string& root : list_root_batches(journal_dir_)) {
    RunTail& run = tail(root);
    run.poll();
    RunFigures figures = run.summary().figures(now);
    runs.push_back({root, figures.start_ts, figures.counts.total, figures.batches, figures.state});
  }
  std::sort(runs.begin(), runs.end(), [](const RunListing& a, const RunListing& b) {
    return a.start_ts != b.start_ts ? a.start_ts > b.start_ts : a.root_batch_id < b.root_batch_id;
  });
  return runs;
}

}  // namespace jhtc::monitor
