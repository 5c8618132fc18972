// Text the monitor shows, as pure functions of the run summary: shared by the
// ncurses view and the one-shot `--summary` print, and unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/run_summary.hpp"

namespace jhtc::monitor {

// What statvfs says about the filesystem of the shared directory.
struct DiskUsage {
  bool known = false;
  std::uint64_t total = 0, used = 0;
};

std::string format_duration(double seconds);    // "3d 22:10:05", "00:04:10"; "-" if negative
std::string format_bytes(std::uint64_t bytes);  // "1.2 GiB"
std::string format_clock(double unix_ts);       // local "2024-05-01 12:00:03"; "-" for 0
std::string format_rate(double per_second);     // "12.3 tasks/min" or "4.0 tasks/s"
std::string progress_bar(std::size_t done, std::size_t total, int width);  // "[###.....]"

// The per-level table: a header line, then one "L<n> ..." line per level.
std::vector<std::string> level_table(const std::vector<LevelSummary>& levels);

// The usage table: a header line, then one line per level: core-hours, CPU hours,
// peak and median memory against request_mem, jobs held for memory.
std::vector<std::string> usage_table(const std::vector<LevelSummary>& levels);

// Advice from the usage figures: jobs that used under a quarter of the memory
// they asked for, jobs held for memory. Empty when there is nothing to say.
std::vector<std::string> usage_hints(const std::vector<LevelSummary>& levels);

// One tree line for a batch: indentation, marker, id, counts and progress bar.
std::string batch_line(const BatchSummary& batch, int depth, char marker, int width);

// The bottom lines: elapsed, throughput, ETA; shared-directory usage.
std::vector<std::string> footer_lines(const RunFigures& figures, const DiskUsage& disk);

std::string failure_line(const TaskFailure& failure);

// Everything above as plain text, the whole tree expanded (for logs and scripts).
std::string summary_text(const RunSummary& summary, const DiskUsage& disk, double now,
                         std::size_t max_failures = 20);

}  // namespace jhtc::monitor
