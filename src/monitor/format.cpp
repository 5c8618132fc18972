#include "format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>

namespace jhtc::monitor {

std::string format_duration(double seconds) {
  if (seconds < 0) return "-";
  auto total = std::llround(seconds);
  long long days = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lldd %02lld:%02lld:%02lld", days, h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", h, m, s);
  }
  return buf;
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  }
  return buf;
}

std::string format_clock(double unix_ts) {
  if (unix_ts <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_ts);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string format_rate(double per_second) {
  char buf[32];
  if (per_second >= 1) {
    std::snprintf(buf, sizeof buf, "%.1f tasks/s", per_second);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f tasks/min", per_second * 60);
  }
  return buf;
}

std::string progress_bar(std::size_t done, std::size_t total, int width) {
  int inner = std::max(0, width - 2);
  int filled =
      total == 0 ? 0
                 : static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * inner);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(inner - filled), '.') + "]";
}

std::vector<std::string> level_table(const std::vector<LevelSummary>& levels) {
  std::vector<std::string> lines;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-6s %7s %8s %8s %8s %9s %8s %8s %7s %8s", "Level", "Batches",
                "Calls", "Jobs", "Queued", "Submitted", "Running", "Done", "Failed", "Throttle");
  lines.emplace_back(buf);
  for (const LevelSummary& l : levels) {
    const TaskCounts& c = l.counts;
    std::snprintf(buf, sizeof buf, "L%-5d %7zu %8zu %8zu %8zu %9zu %8zu %8zu %7zu %8zu", l.level,
                  l.batches, c.calls, c.total, c.queued, c.submitted, c.running, c.done, c.failed,
                  l.throttle);
    lines.emplace_back(buf);
  }
  return lines;
}

namespace {

std::string megabytes(std::int64_t mb) {
  if (mb <= 0) return "-";
  char buf[32];
  if (mb >= std::int64_t{10} * 1024)
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(mb) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lld MB", static_cast<long long>(mb));
  return buf;
}

}  // namespace

std::vector<std::string> usage_table(const std::vector<LevelSummary>& levels) {
  std::vector<std::string> lines;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-6s %9s %9s %10s %10s %11s %9s %9s", "Usage", "Core-h", "CPU-h",
                "Peak mem", "Median mem", "request_mem", "Measured", "Mem holds");
  lines.emplace_back(buf);
  for (const LevelSummary& l : levels) {
    const UsageTotals& u = l.usage;
    std::snprintf(buf, sizeof buf, "L%-5d %9.3f %9.3f %10s %10s %11s %9zu %9zu", l.level,
                  u.core_hours, u.cpu_hours, megabytes(u.peak_memory_mb).c_str(),
                  megabytes(u.median_memory_mb()).c_str(), megabytes(u.request_memory_mb).c_str(),
                  u.jobs_measured, u.held_for_memory);
    lines.emplace_back(buf);
  }
  return lines;
}

std::vector<std::string> usage_hints(const std::vector<LevelSummary>& levels) {
  std::vector<std::string> hints;
  for (const LevelSummary& l : levels) {
    const UsageTotals& u = l.usage;
    const std::string level = "L" + std::to_string(l.level);
    if (u.held_for_memory > 0) {
      hints.push_back("Hint: " + level + ": " + std::to_string(u.held_for_memory) +
                      " job(s) held for exceeding request_mem (" + megabytes(u.request_memory_mb) +
                      ", peak " + megabytes(u.peak_memory_mb) +
                      "): a larger request_mem saves the retries");
    } else if (u.request_memory_mb > 0 && !u.memory_mb.empty() &&
               u.peak_memory_mb * 4 < u.request_memory_mb) {
      hints.push_back(
          "Hint: " + level + ": jobs used at most " + megabytes(u.peak_memory_mb) + " of the " +
          megabytes(u.request_memory_mb) +
          " they asked for (under a quarter): a smaller request_mem lets more run at once");
    }
  }
  return hints;
}

std::string batch_line(const BatchSummary& b, int depth, char marker, int width) {
  const TaskCounts& c = b.counts;
  char counts[160];
  std::snprintf(counts, sizeof counts, " %6zu/%-6zu q%-5zu s%-5zu r%-5zu f%-4zu %s", c.done,
                c.total, c.queued, c.submitted, c.running, c.failed, b.state.c_str());
  std::string head =
      std::string(static_cast<std::size_t>(depth) * 2, ' ') + marker + ' ' + b.batch_id;
  head += " L" + std::to_string(b.level);
  constexpr std::size_t kHeadWidth = 34;
  if (head.size() < kHeadWidth) head.append(kHeadWidth - head.size(), ' ');
  int bar = std::max(10, std::min(30, width - static_cast<int>(head.size()) - 60));
  return head + " " + progress_bar(c.done, c.total, bar) + counts;
}

std::vector<std::string> footer_lines(const RunFigures& f, const DiskUsage& disk) {
  std::string eta = f.eta_s < 0 ? std::string("unknown") : format_duration(f.eta_s);
  std::string first =
      "Elapsed " + format_duration(f.elapsed_s) + "   Throughput " +
      format_rate(f.throughput_per_s) + "   ETA " + eta + "   Calls " +
      std::to_string(f.counts.calls_finished) + "/" + std::to_string(f.counts.calls) + "   Jobs " +
      std::to_string(f.counts.finished()) + "/" + std::to_string(f.counts.total) + " finished";
  if (f.usage.jobs_measured > 0) {
    char used[96];
    std::snprintf(used, sizeof used, "   Core-h %.3f   Peak mem %s", f.usage.core_hours,
                  megabytes(f.usage.peak_memory_mb).c_str());
    first += used;
  }
  std::string second = "Shared dir: run holds " + format_bytes(f.bytes_held);
  if (disk.known && disk.total > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.0f%%",
                  100.0 * static_cast<double>(disk.used) / static_cast<double>(disk.total));
    second += "   filesystem " + format_bytes(disk.used) + " used of " + format_bytes(disk.total) +
              " (" + pct + ")";
  } else {
    second += "   filesystem usage unknown";
  }
  return {first, second};
}

std::string failure_line(const TaskFailure& failure) {
  std::string reason = failure.reason;
  for (char& c : reason) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return failure.batch_id + " task " + std::to_string(failure.task) + ": " + reason;
}

std::string summary_text(const RunSummary& summary, const DiskUsage& disk, double now,
                         std::size_t max_failures) {
  RunFigures figures = summary.figures(now);
  std::string out = "Root batch " + summary.root_batch_id() + "  started " +
                    format_clock(figures.start_ts) + "  state " + figures.state + "\n\n";
  const auto levels = summary.levels();
  for (const auto& line : level_table(levels)) out += line + "\n";
  out += "\n";
  for (const auto& line : usage_table(levels)) out += line + "\n";
  for (const auto& line : usage_hints(levels)) out += line + "\n";
  out += "\nBatches\n";
  std::function<void(const BatchSummary&, int)> add_batch = [&](const BatchSummary& b, int depth) {
    auto kids = summary.children(b);
    out += batch_line(b, depth, kids.empty() ? ' ' : '-', 120) + "\n";
    for (const BatchSummary* kid : kids) add_batch(*kid, depth + 1);
  };
  for (const BatchSummary* top : summary.tree_roots()) add_batch(*top, 0);
  const auto& failures = summary.failures();
  out += "\nFailed tasks: " + std::to_string(failures.size()) + "\n";
  std::size_t first = failures.size() > max_failures ? failures.size() - max_failures : 0;
  if (first > 0) out += "  (" + std::to_string(first) + " earlier not shown)\n";
  for (std::size_t i = first; i < failures.size(); ++i)
    out += "  " + failure_line(failures[i]) + "\n";
  out += "\n";
  for (const auto& line : footer_lines(figures, disk)) out += line + "\n";
  return out;
}

}  // namespace jhtc::monitor
