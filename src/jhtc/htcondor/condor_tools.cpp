#include "htcondor/condor_tools.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <system_error>

namespace jhtc::htcondor {
namespace {

void check_tool_option(const char* name, const std::string& value) {
  bool ok = !value.empty() && value.front() != '-';
  for (char c : value) ok = ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  if (!ok)
    throw std::invalid_argument(std::string(name) + ": \"" + value +
                                "\" is not a host or daemon name; accepted: a name without "
                                "whitespace that does not start with '-'");
}

template <typename T>
bool to_number(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

// Splits off the next space-separated word.
std::string_view next_word(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return rest = {}, std::string_view{};
  rest.remove_prefix(start);
  const std::size_t end = rest.find(' ');
  const std::string_view word = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return word;
}

bool parse_job_id(std::string_view word, std::int64_t& cluster, int& proc) {
  const std::size_t dot = word.find('.');
  return dot != std::string_view::npos && to_number(word.substr(0, dot), cluster) &&
         to_number(word.substr(dot + 1), proc);
}

std::optional<int> optional_int(std::string_view word) {
  int value = 0;
  if (to_number(word, value)) return value;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> tool_command(const std::string& tool, const std::string& pool,
                                      const std::string& schedd) {
  std::vector<std::string> argv{tool};
  if (!pool.empty()) {
    check_tool_option("pool", pool);
    argv.insert(argv.end(), {"-pool", pool});
  }
  if (!schedd.empty()) {
    check_tool_option("schedd", schedd);
    argv.insert(argv.end(), {"-name", schedd});
  }
  return argv;
}

std::vector<ProcRange> parse_terse_output(std::string_view out) {
  std::vector<ProcRange> ranges;
  while (!out.empty()) {
    const std::size_t end = out.find('\n');
    std::string_view line = out.substr(0, end);
    out.remove_prefix(end == std::string_view::npos ? out.size() : end + 1);
    ProcRange range;
    std::int64_t last_cluster = 0;
    const std::string_view first = next_word(line);
    const std::string_view dash = next_word(line);
    const std::string_view last = next_word(line);
    if (dash == "-" && next_word(line).empty() && parse_job_id(first, range.cluster, range.first) &&
        parse_job_id(last, last_cluster, range.last) && last_cluster == range.cluster &&
        range.first >= 0 && range.last >= range.first)
      ranges.push_back(range);
  }
  return ranges;
}

std::string classad_string(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw std::invalid_argument("a ClassAd string value holds a control character");
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void check_lineage(std::string_view lineage) {
  bool ok = !lineage.empty() && lineage.front() != '/' && lineage.back() != '/' &&
            lineage.find("//") == std::string_view::npos;
  for (char c : lineage)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) ||
                std::string_view("._-/:@+").find(c) != std::string_view::npos);
  if (!ok) {
    std::string shown;
    for (char c : lineage.substr(0, 200)) shown += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    throw std::invalid_argument("lineage: \"" + shown +
                                "\" is not a lineage; accepted: batch ids (letters, digits and "
                                "._-:@+) joined by '/'");
  }
}

std::string lineage_constraint(std::string_view lineage) {
  check_lineage(lineage);
  const std::string l(lineage);
  return "JhtcLineage =?= " + classad_string(l) + " || substr(JhtcLineage, 0, " +
         std::to_string(l.size() + 1) + ") =?= " + classad_string(l + "/");
}

std::string exact_lineage_constraint(std::string_view lineage) {
  check_lineage(lineage);
  return "JhtcLineage =?= " + classad_string(lineage);
}

std::vector<std::string> existing_job_attributes() {
  return {"JhtcTask", "JhtcAttempt", "JobStatus"};
}

void merge_existing_jobs(std::string_view out, bool from_queue,
                         std::map<TaskId, ExistingJob>& latest) {
  while (!out.empty()) {
    const std::size_t end = out.find('\n');
    std::string_view line = out.substr(0, end);
    out.remove_prefix(end == std::string_view::npos ? out.size() : end + 1);
    const std::string_view id = next_word(line);
    std::int64_t cluster = 0;
    int proc = 0;
    TaskId task = 0;
    int attempt = 0;
    int status = 0;
    if (!parse_job_id(id, cluster, proc) || !to_number(next_word(line), task) ||
        !to_number(next_word(line), attempt) || !to_number(next_word(line), status) ||
        !next_word(line).empty() || attempt < 0)
      continue;
    // 1 idle, 2 running, 5 held, 7 suspended: the job may still produce a result.
    const bool in_queue = from_queue && (status == 1 || status == 2 || status == 5 || status == 7);
    const auto it = latest.find(task);
    if (it != latest.end() &&
        (it->second.attempt > attempt || (it->second.attempt == attempt && !in_queue)))
      continue;
    latest[task] = ExistingJob{task, attempt, std::string(id), in_queue};
  }
}

std::optional<std::pair<std::int64_t, int>> parse_job_ref(std::string_view job_id) {
  std::int64_t cluster = 0;
  int proc = 0;
  if (!parse_job_id(job_id, cluster, proc) || cluster < 0 || proc < 0) return std::nullopt;
  return std::pair{cluster, proc};
}

std::string idle_job_constraint(std::int64_t cluster, int proc) {
  return "ClusterId == " + std::to_string(cluster) + " && ProcId == " + std::to_string(proc) +
         " && JobStatus == 1";
}

std::string level_constraint(std::string_view root_lineage, int level) {
  return "JhtcLevel =?= " + std::to_string(level) + " && (" + lineage_constraint(root_lineage) +
         ") && (JobStatus == 1 || JobStatus == 2 || JobStatus == 5)";
}

std::vector<std::string> capacity_attributes() { return {"Machine", "TotalCpus", "TotalMemory"}; }

std::vector<MachineCapacity> parse_machine_capacity(std::string_view out) {
  std::vector<MachineCapacity> machines;
  const auto number = [](std::string_view text, double& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} && end == text.data() + text.size() && value >= 0;
  };
  while (!out.empty()) {
    const std::size_t end = std::min(out.find('\n'), out.size());
    std::vector<std::string_view> fields;
    for (std::string_view line = out.substr(0, end); !line.empty();) {
      const std::size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      const std::size_t stop = std::min(line.find_first_of(" \t\r"), line.size());
      fields.push_back(line.substr(0, stop));
      line.remove_prefix(stop);
    }
    out.remove_prefix(std::min(end + 1, out.size()));
    MachineCapacity machine;
    if (fields.size() != 3 || fields[0] == "undefined" || !number(fields[1], machine.cpus) ||
        !number(fields[2], machine.memory_mb))
      continue;
    machine.machine = std::string(fields[0]);
    const auto same = std::find_if(machines.begin(), machines.end(),
                                   [&](const auto& m) { return m.machine == machine.machine; });
    if (same == machines.end())
      machines.push_back(std::move(machine));
    else
      *same = std::move(machine);
  }
  return machines;
}

std::size_t count_jobs(std::string_view af_output) {
  std::size_t count = 0;
  while (!af_output.empty()) {
    const std::size_t end = std::min(af_output.find('\n'), af_output.size());
    if (af_output.substr(0, end).find_first_not_of(" \t\r") != std::string_view::npos) ++count;
    af_output.remove_prefix(std::min(end + 1, af_output.size()));
  }
  return count;
}

std::vector<std::string> queue_attributes(bool history) {
  return {"JobStatus",
          "ExitCode",
          "ExitBySignal",
          "ExitSignal",
          "HoldReasonCode",
          "HoldReasonSubCode",
          history ? "RemoveReason" : "HoldReason"};
}

std::vector<QueueRecord> parse_queue_records(std::string_view out) {
  std::vector<QueueRecord> records;
  while (!out.empty()) {
    const std::size_t end = out.find('\n');
    std::string_view line = out.substr(0, end);
    out.remove_prefix(end == std::string_view::npos ? out.size() : end + 1);
    QueueRecord r;
    if (!parse_job_id(next_word(line), r.cluster, r.proc) || !to_number(next_word(line), r.status))
      continue;
    r.exit_code = optional_int(next_word(line));
    r.by_signal = next_word(line) == "true";
    r.signal = optional_int(next_word(line));
    r.hold_code = optional_int(next_word(line)).value_or(0);
    r.hold_subcode = optional_int(next_word(line)).value_or(0);
    const std::size_t start = line.find_first_not_of(' ');
    const std::string_view reason = start == std::string_view::npos ? "" : line.substr(start);
    if (reason != "undefined") r.reason = std::string(reason);
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<std::pair<std::int64_t, int>> parse_unmatched(std::string_view out) {
  std::vector<std::pair<std::int64_t, int>> jobs;
  while (!out.empty()) {
    const std::size_t end = out.find('\n');
    std::string_view line = out.substr(0, end);
    out.remove_prefix(end == std::string_view::npos ? out.size() : end + 1);
    std::int64_t cluster = 0;
    int proc = 0;
    if (!parse_job_id(next_word(line), cluster, proc) || next_word(line) != "1") continue;
    if (line.find("no match found") != std::string_view::npos) jobs.emplace_back(cluster, proc);
  }
  return jobs;
}

std::string summarize_better_analyze(std::string_view out) {
  std::string conditions;
  std::string warning;
  while (!out.empty()) {
    const std::size_t end = out.find('\n');
    std::string_view line = out.substr(0, end);
    out.remove_prefix(end == std::string_view::npos ? out.size() : end + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    // "[7]           0  TARGET.GPUs >= RequestGPUs": a step no slot passes.
    if (line.starts_with('[')) {
      const std::size_t close = line.find(']');
      if (close == std::string_view::npos) continue;
      std::string_view rest = line.substr(close + 1);
      if (next_word(rest) != "0") continue;
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (rest.empty()) continue;
      conditions += (conditions.empty() ? "" : ", ") + std::string(rest);
    } else if (line.starts_with("No machines matched") ||  // HTCondor's clearest words: they win
               (line.starts_with("No successful match") && warning.empty())) {
      warning = std::string(line);
    }
  }
  if (conditions.empty()) return warning;
  const std::string met = "no slot meets " + conditions;
  return warning.empty() ? met : met + "; " + warning;
}

}  // namespace jhtc::htcondor
