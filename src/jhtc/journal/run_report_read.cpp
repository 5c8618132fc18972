// read_run_report: the report's I/O edge. RunTail reads the files (and asks the store
// whether unfinished batches' owners live); the builder folds the same events.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "jhtc/run_report.hpp"
#include "journal/run_tail.hpp"

namespace jhtc {

namespace {

// When a run started: the first event of its root's own journal (batch_started), read
// without reading the run's other files. 0 when there is none yet.
double root_start(const std::string& journal_dir, const std::string& root) {
  std::ifstream in(std::filesystem::path(journal_dir) / root / (root + ".jsonl"));
  std::string line;
  if (!in || !std::getline(in, line)) return 0;
  auto event = decode_journal_line(line);
  return event ? event->ts : 0;
}

// The root that started last; ties by id.
std::string newest_root(const std::string& journal_dir) {
  std::string newest;
  double newest_start = -1;
  for (const std::string& root : list_root_batches(journal_dir)) {
    double start = root_start(journal_dir, root);
    if (start > newest_start || (start == newest_start && root > newest)) {
      newest = root;
      newest_start = start;
    }
  }
  return newest;
}

}  // namespace

RunReport read_run_report(const std::string& journal_dir, const std::string& root_batch_id,
                          double now, const ReportOptions& options) {
  std::string root = root_batch_id.empty() ? newest_root(journal_dir) : root_batch_id;
  const auto roots = list_root_batches(journal_dir);
  if (root.empty())
    throw std::invalid_argument("no runs (journal directories) under " + journal_dir);
  if (std::find(roots.begin(), roots.end(), root) == roots.end()) {
    std::string known;  // the runs there, so the caller can pick one
    for (std::size_t i = 0; i < roots.size() && i < 10; ++i) known += (i ? ", " : "") + roots[i];
    if (roots.size() > 10) known += ", ...";
    throw std::invalid_argument("no run with root batch " + root + " under " + journal_dir +
                                (known.empty() ? "" : " (runs there: " + known + ")"));
  }
  RunTail tail(journal_dir, root);
  RunReportBuilder builder;
  tail.set_event_listener([&builder](const std::string& batch_id, const JournalEvent& event) {
    builder.apply(batch_id, event);
  });
  tail.poll();
  RunReport report = builder.build(tail.summary(), now, options);
  report.header.corrupt_lines = tail.corrupt_lines();
  return report;
}

}  // namespace jhtc
