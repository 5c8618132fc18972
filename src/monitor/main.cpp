// jhtc-monitor: follows the metadata journals of joblib_htcondor runs.
//   jhtc-monitor --path SHARED_DIR [--root ID] [--refresh SECONDS] [--summary] [--report FILE]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "curses_view.hpp"
#include "format.hpp"
#include "report_delegate.hpp"
#include "run_catalog.hpp"

namespace {

constexpr const char* kUsage =
    "usage: jhtc-monitor --path DIR [--root ID] [--refresh SECONDS] [--summary] [--report FILE]\n"
    "  --path DIR       the shared data directory (journals in DIR/journal) or a journal "
    "directory\n"
    "  --root ID        open this root batch (default: choose with O; --summary: the newest)\n"
    "  --refresh SECS   how often to re-read the journals (default 1)\n"
    "  --summary        print the figures once as plain text and exit (no terminal needed)\n"
    "  --report FILE    write the run report (--root, default the newest) as one HTML file;\n"
    "                   drawn by python -m joblib_htcondor.ui (needs joblib-htcondor[report])\n";

struct Args {
  std::string path, root, report;
  double refresh_s = 1.0;
  bool summary = false;
};

// Returns false (after printing why) when the command line is not usable.
bool parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--summary") {
      args.summary = true;
    } else if (arg == "--path" || arg == "--root" || arg == "--refresh" || arg == "--report") {
      const char* v = value();
      if (!v) {
        std::cerr << "jhtc-monitor: " << arg << " needs a value\n" << kUsage;
        return false;
      }
      if (arg == "--path") args.path = v;
      if (arg == "--root") args.root = v;
      if (arg == "--refresh") args.refresh_s = std::atof(v);
      if (arg == "--report") args.report = v;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      // NOLINTNEXTLINE(concurrency-mt-unsafe): jhtc-monitor is single-threaded.
      std::exit(0);
    } else {
      std::cerr << "jhtc-monitor: unknown argument " << arg << "\n" << kUsage;
      return false;
    }
  }
  if (args.path.empty()) {
    std::cerr << "jhtc-monitor: --path is required\n" << kUsage;
    return false;
  }
  if (args.refresh_s <= 0) {
    std::cerr << "jhtc-monitor: --refresh must be a positive number of seconds\n";
    return false;
  }
  return true;
}

int print_summary(jhtc::monitor::RunCatalog& catalog, const Args& args) {
  using namespace jhtc::monitor;
  double now = unix_now();
  auto runs = catalog.list(now);
  if (runs.empty()) {
    std::cerr << "jhtc-monitor: no runs under " << catalog.journal_dir() << "\n";
    return 1;
  }
  std::string root = args.root.empty() ? runs.front().root_batch_id : args.root;
  bool known = false;
  std::printf("Runs under %s\n", catalog.journal_dir().c_str());
  for (const RunListing& r : runs) {
    known = known || r.root_batch_id == root;
    std::printf("  %-32s started %-19s tasks %-8zu batches %-6zu %s\n", r.root_batch_id.c_str(),
                format_clock(r.start_ts).c_str(), r.tasks, r.batches, r.state.c_str());
  }
  if (!known) {
    std::cerr << "jhtc-monitor: no root batch " << root << " under " << catalog.journal_dir()
              << "\n";
    return 1;
  }
  jhtc::RunTail& tail = catalog.tail(root);
  std::printf("\n%s", summary_text(tail.summary(), disk_usage(args.path), now).c_str());
  if (tail.corrupt_lines() > 0) {
    std::printf("Warning: %zu corrupt journal lines skipped; last: %s\n", tail.corrupt_lines(),
                tail.last_warning().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) return 2;
  jhtc::monitor::RunCatalog catalog(jhtc::monitor::resolve_journal_dir(args.path));
  if (!args.report.empty()) return jhtc::monitor::exec_report(args.path, args.report, args.root);
  if (args.summary) return print_summary(catalog, args);
  return jhtc::monitor::run_curses(catalog, {args.path, args.root, args.refresh_s});
}
