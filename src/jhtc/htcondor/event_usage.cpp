// The usage figures of HTCondor's terminated (005), evicted (004) and image-size (006) events.
//
//   005 ...                                          006 ... Image size of job updated: 5268
//       Usr 0 00:00:01, Sys 0 00:00:00  -  Run Remote Usage      4  -  MemoryUsage of job (MB)
//       ...                                                      3096  -  ResidentSetSize of job
//       (KB) Partitionable Resources :    Usage  Request Allocated
//          Cpus                 :        0        1         1
//          Memory (MB)          :        4      256       256
//          TimeExecute (s)      :        6
//
// The table's columns are right-aligned under their headings and a cell may be
// blank, so a figure belongs to the heading whose right edge is nearest its own.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "htcondor/event_log_parser.hpp"

namespace jhtc::htcondor {
namespace {

enum Column { kUsage, kRequest, kAllocated, kColumns };

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<double> to_number(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value < 0)
    return std::nullopt;
  return value;
}

std::optional<std::int64_t> to_count(std::optional<double> value) {
  if (!value || *value > 9.0e15) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(*value));
}

// "Usr D HH:MM:SS, Sys D HH:MM:SS  -  LABEL": user and system seconds.
bool read_cpu_times(std::string_view line, std::string_view label, double& user, double& sys) {
  line = trim(line);
  if (!line.ends_with(label)) return false;
  long long ud = 0, uh = 0, um = 0, us = 0, sd = 0, sh = 0, sm = 0, ss = 0;
  const std::string text(line);
  if (std::sscanf(text.c_str(), "Usr %lld %lld:%lld:%lld, Sys %lld %lld:%lld:%lld", &ud, &uh, &um,
                  &us, &sd, &sh, &sm, &ss) != 8)
    return false;
  // Every field is bounded, not only days and hours: a corrupt "00:00:9223372036854775807"
  // would overflow the sum below (found by the event-log fuzzer).
  for (const long long field : {ud, uh, um, us, sd, sh, sm, ss})
    if (field < 0 || field > 1'000'000) return false;
  user = static_cast<double>(((ud * 24 + uh) * 60 + um) * 60 + us);
  sys = static_cast<double>(((sd * 24 + sh) * 60 + sm) * 60 + ss);
  return true;
}

// "N  -  LABEL" of a 006 body: N.
std::optional<std::int64_t> read_labelled(std::string_view line, std::string_view label) {
  line = trim(line);
  if (!line.ends_with(label)) return std::nullopt;
  const std::size_t dash = line.find("  -  ");
  if (dash == std::string_view::npos) return std::nullopt;
  return to_count(to_number(trim(line.substr(0, dash))));
}

// Where each heading of the table ends; nullopt when `line` is not the heading line.
std::optional<std::array<std::size_t, kColumns>> read_headings(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || trim(line.substr(0, colon)) != "Partitionable Resources")
    return std::nullopt;
  std::array<std::size_t, kColumns> ends{};
  std::size_t from = colon;
  const std::array<std::string_view, kColumns> names{"Usage", "Request", "Allocated"};
  for (int c = 0; c < kColumns; ++c) {
    const std::size_t at = line.find(names[c], from);
    if (at == std::string_view::npos) return std::nullopt;
    ends[c] = at + names[c].size();
    from = ends[c];
  }
  return ends;
}

// One row: its name and the figures under each heading.
struct Row {
  std::string_view name;
  std::array<std::optional<double>, kColumns> cells;
};

std::optional<Row> read_row(std::string_view line, const std::array<std::size_t, kColumns>& ends) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Row row{trim(line.substr(0, colon)), {}};
  std::size_t at = colon + 1;
  while (at < line.size()) {
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
    std::size_t end = at;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end == at) break;
    int nearest = 0;
    for (int c = 1; c < kColumns; ++c) {
      const auto distance = [end](std::size_t edge) {
        return end > edge ? end - edge : edge - end;
      };
      if (distance(ends[c]) < distance(ends[nearest])) nearest = c;
    }
    const auto value = to_number(line.substr(at, end - at));
    if (!value) return std::nullopt;  // not a figure: not a row of the table
    row.cells[nearest] = value;
    at = end;
  }
  return row;
}

void take_row(const Row& row, JobUsage& usage) {
  const auto& [used, requested, allocated] = row.cells;
  if (row.name == "Cpus") {
    usage.alloc_cpus = to_count(allocated);
  } else if (row.name == "Disk (KB)") {
    usage.disk_kb = to_count(used);
  } else if (row.name == "Memory (MB)") {
    usage.memory_mb = to_count(used);
    usage.request_memory_mb = to_count(requested);
    usage.alloc_memory_mb = to_count(allocated);
  } else if (row.name == "TimeExecute (s)") {
    usage.wall_s = used;
  }
}

void decode_terminated_usage(JobEvent& event) {
  std::optional<std::array<std::size_t, kColumns>> table;
  for (const std::string& line : event.body) {
    double user = 0;
    double sys = 0;
    if (read_cpu_times(line, "Run Remote Usage", user, sys)) {
      event.usage.cpu_user_s = user;
      event.usage.cpu_sys_s = sys;
    } else if (read_cpu_times(line, "Total Remote Usage", user, sys)) {
      event.total_remote_user_s = user;
      event.total_remote_sys_s = sys;
    } else if (auto headings = read_headings(line)) {
      table = headings;
    } else if (table) {
      if (auto row = read_row(line, *table))
        take_row(*row, event.usage);
      else
        table.reset();  // the table ended
    }
  }
}

void decode_image_size(JobEvent& event) {
  constexpr std::string_view kPrefix = "Image size of job updated:";
  if (std::string_view(event.text).starts_with(kPrefix))
    event.image_size_kb =
        to_count(to_number(trim(std::string_view(event.text).substr(kPrefix.size()))));
  for (const std::string& line : event.body) {
    if (auto v = read_labelled(line, "MemoryUsage of job (MB)"))
      event.usage.memory_mb = v;
    else if (auto r = read_labelled(line, "ResidentSetSize of job (KB)"))
      event.resident_set_kb = r;
    else if (auto p = read_labelled(line, "ProportionalSetSize of job (KB)"))
      event.proportional_set_kb = p;
  }
}

}  // namespace

void decode_usage(JobEvent& event) {
  // An eviction (004) carries the same table for the run it ended.
  if (event.code == kTerminated || event.code == kEvicted)
    decode_terminated_usage(event);
  else if (event.code == kImageSize)
    decode_image_size(event);
}

}  // namespace jhtc::htcondor
