// Builds the submit file. Values are either quoted (arguments, environment) or
// checked against what the submit language would read as something else.
#include "htcondor/submit_description.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "htcondor/file_transfer.hpp"

namespace jhtc::htcondor {
namespace {

[[noreturn]] void refuse(std::string_view parameter, std::string_view problem,
                         std::string_view accepted) {
  throw std::invalid_argument(std::string(parameter) + ": " + std::string(problem) +
                              "; accepted: " + std::string(accepted));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `$(`, `$$(`, `$ENV(`...: the submit language's macro syntax.
bool has_macro(std::string_view value) {
  for (std::size_t at = value.find('$'); at != std::string_view::npos;
       at = value.find('$', at + 1)) {
    std::size_t end = at + 1;
    while (end < value.size() && (value[end] == '$' || value[end] == '_' ||
                                  std::isalnum(static_cast<unsigned char>(value[end]))))
      ++end;
    if (end < value.size() && value[end] == '(') return true;
  }
  return false;
}

bool has_control(std::string_view value, bool allow_tab) {
  return std::any_of(value.begin(), value.end(), [allow_tab](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f;
  });
}

// A value that goes into the file as written (paths, names, numbers).
void check_verbatim(std::string_view parameter, std::string_view value) {
  constexpr std::string_view accepted =
      "one line without control characters, quotes, submit macros ($(...)) or a trailing "
      "backslash, not starting or ending with a space";
  if (value.empty()) refuse(parameter, "is empty", accepted);
  if (has_control(value, false))
    refuse(parameter, "contains a newline or control character", accepted);
  if (value.find_first_of("\"'") != std::string_view::npos)
    refuse(parameter, "contains a quote", accepted);
  if (has_macro(value)) refuse(parameter, "contains a submit macro", accepted);
  if (value.back() == '\\')
    refuse(parameter, "ends with a backslash (line continuation)", accepted);
  if (value.front() == ' ' || value.back() == ' ')
    refuse(parameter, "starts or ends with a space", accepted);
}

// Names that travel into ClassAd strings and condor_rm constraints.
void check_name(std::string_view parameter, std::string_view value) {
  const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("._-/:@+").find(c) != std::string_view::npos;
  });
  if (!ok)
    refuse(parameter, "\"" + std::string(value) + "\" has a character outside the set",
           "letters, digits and ._-/:@+");
}

void check_quotable(std::string_view parameter, std::string_view value) {
  if (has_control(value, true))
    refuse(parameter, "contains a newline or control character", "one line; quotes are escaped");
  if (has_macro(value)) refuse(parameter, "contains a submit macro ($(...))", "text without $(");
}

std::string single_quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "''";
    else if (c == '"')
      out += "\"\"";
    else
      out += c;
  }
  return out + "'";
}

// Keys the driver writes itself; overriding one would break submission or tracking
// silently: the worker's environment and import path (environment, getenv), the
// stderr a failure reports (output, error), the event log the driver tails (log,
// UserLog), the lineage cleanup removes by.
bool is_reserved_key(std::string key) {
  key = lower(key);
  if (key.starts_with("+")) key = "my." + key.substr(1);
  static const char* const reserved[] = {"queue",
                                         "log",
                                         "log_xml",
                                         "executable",
                                         "arguments",
                                         "args",
                                         "batch_name",
                                         "environment",
                                         "env",
                                         "getenv",
                                         "output",
                                         "error",
                                         "my.userlog",
                                         "my.jobbatchname",
                                         "my.jhtclineage",
                                         "my.jhtctask",
                                         "my.jhtcattempt",
                                         "my.jhtclevel"};
  return std::find(std::begin(reserved), std::end(reserved), key) != std::end(reserved);
}

bool is_sane_key(std::string_view key) {
  std::string_view name = key;
  if (name.starts_with('+'))
    name.remove_prefix(1);
  else if (lower(name.substr(0, 3)) == "my.")
    name.remove_prefix(3);
  if (name.empty() ||
      !(std::isalpha(static_cast<unsigned char>(name.front())) || name.front() == '_'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
}

// With a memory request, each job's own (a retry after a memory hold asks for
// more) travels in the items: `task,attempt,job_memory_mb,task_file`.
// With file transfer the task file, result file and inputs follow, relative to its
// root (file_transfer.hpp).
void append_items(std::string& out, std::span<const JobRequest> jobs, std::int64_t memory_mb,
                  const FileTransfer& transfer) {
  for (const JobRequest& job : jobs) {
    check_verbatim("task_file", job.task_file);
    if (job.task_file.front() != '/')
      refuse("task_file", "\"" + job.task_file + "\" is relative", "an absolute path");
    if (job.attempt < 0) refuse("attempt", "is negative", "0 or more");
    if (job.memory_mb < 0) refuse("memory_mb", "is negative", "0 (the batch's request) or more");
    out += std::to_string(job.task) + "," + std::to_string(job.attempt) + ",";
    if (memory_mb > 0) out += std::to_string(job.memory_mb > 0 ? job.memory_mb : memory_mb) + ",";
    out += (transfer.enabled() ? transfer_item_fields(transfer, job) : job.task_file) + "\n";
  }
}

}  // namespace

std::string quote_arguments(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& arg : args) {
    check_quotable("worker_args", arg);
    if (!out.empty()) out += ' ';
    out += single_quoted(arg);
  }
  return out;
}

std::string quote_environment(const std::map<std::string, std::string>& environment) {
  std::string out;
  for (const auto& [name, value] : environment) {
    if (!is_sane_key(name) || name.starts_with('+') || name.find('.') != std::string::npos)
      refuse("environment", "\"" + name + "\" is not a variable name", "[A-Za-z_][A-Za-z0-9_]*");
    check_quotable("environment[" + name + "]", value);
    if (!out.empty()) out += ' ';
    out += single_quoted((name + "=").append(value));
  }
  return out;
}

void check_level(std::optional<int> level) {
  if (level && (*level < 0 || *level > 999))
    refuse("level", std::to_string(*level) + " is not a recursion level",
           "an integer from 0 to 999, or none");
}

std::vector<std::pair<std::string, std::string>> checked_extra_directives(
    const std::vector<std::pair<std::string, std::string>>& directives) {
  constexpr std::string_view accepted =
      "(key, value) pairs; key a submit command, +Attribute or MY.Attribute";
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [raw_key, raw_value] : directives) {
    const std::string key = trimmed(raw_key);
    const std::string value = trimmed(raw_value);
    if (!is_sane_key(key))
      refuse("extra_directives", "\"" + key + "\" is not a valid key", accepted);
    if (is_reserved_key(key))
      refuse("extra_directives", "\"" + key + "\" is set by the driver and cannot be overridden",
             "any key except queue, log, log_xml, executable, arguments, args, batch_name, "
             "environment, env, getenv, output, error, UserLog, JobBatchName and the Jhtc* "
             "attributes (the worker's environment: the environment parameter)");
    if (value.empty()) refuse("extra_directives", "\"" + key + "\" has no value", accepted);
    if (has_control(value, true))
      refuse("extra_directives", "a value contains a control character", accepted);
    if (std::count(value.begin(), value.end(), '"') % 2 != 0)
      refuse("extra_directives", "the value of \"" + key + "\" has an unbalanced double quote",
             accepted);
    if (value.back() == '\\')
      refuse("extra_directives", "the value of \"" + key + "\" ends with a backslash", accepted);
    out.emplace_back(key, value);
  }
  return out;
}

SubmitText build_submit_description(const JobTemplate& t, const HTCondorOptions& options,
                                    std::span<const JobRequest> jobs,
                                    const std::string& item_file) {
  if (jobs.empty()) throw std::invalid_argument("jobs: is empty; accepted: at least one job");
  const std::string& universe = options.universe;
  const std::string& lineage = options.lineage.empty() ? t.batch_name : options.lineage;
  check_name("batch_name", t.batch_name);
  check_name("lineage", lineage);
  if (!std::all_of(universe.begin(), universe.end(),
                   [](char c) { return std::islower(static_cast<unsigned char>(c)); }) ||
      universe.empty())
    refuse("universe", "\"" + universe + "\" is not a universe name",
           "lower-case letters, e.g. vanilla");
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"python", &t.python},
                                    {"batch_dir", &t.batch_dir},
                                    {"log_dir", &t.log_dir}})
    check_verbatim(name, *value);
  if (t.python.front() != '/')
    refuse("python", "\"" + t.python + "\" is not an absolute path",
           "an absolute path (the driver resolves names on PATH)");
  if (!std::isfinite(t.cpus) || t.cpus < 0)
    refuse("cpus", "is negative or not a number", "a number >= 0");
  if (t.memory_mb < 0 || t.disk_mb < 0)
    refuse("memory_mb/disk_mb", "is negative", "0 (scheduler default) or more");
  if (t.gpus < 0) refuse("request_gpus", "is negative", "0 (no GPU) or more");
  for (const JobRequest& job : jobs)
    if (job.memory_mb > 0 && t.memory_mb == 0)
      refuse("memory_mb", "a job asks for memory but the batch does not",
             "a per-job request only with the batch's memory_mb");

  std::string d = "# Written by joblib_htcondor for batch " + t.batch_name + "\n";
  d += "universe = " + universe + "\n";
  d += "executable = " + t.python + "\n";
  std::string args = quote_arguments(t.worker_args);
  // The attempt: the worker binds its result's signature to it (see signing.hpp).
  d += "arguments = \"" + args + (args.empty() ? "" : " ") + "'$(task_file)' $(attempt)\"\n";
  d += "transfer_executable = false\n";
  if (!t.file_transfer.enabled()) d += "should_transfer_files = NO\n";
  const std::string event_log =
      options.event_log.empty() ? t.batch_dir + "/condor.log" : options.event_log;
  check_verbatim("event_log", event_log);
  d += "log = " + event_log + "\n";
  d += "output = " + t.log_dir + "/$(task_id).$(attempt).out\n";
  d += "error = " + t.log_dir + "/$(task_id).$(attempt).err\n";
  if (t.cpus > 0)
    d += "request_cpus = " + std::to_string(static_cast<long long>(std::ceil(t.cpus))) + "\n";
  // MiB, per job (see the items). The variable must not start with request_:
  // condor_submit reads request_X as a request for a custom resource X.
  if (t.memory_mb > 0) d += "request_memory = $(job_memory_mb)\n";
  if (t.gpus > 0) d += "request_gpus = " + std::to_string(t.gpus) + "\n";  // only levels that ask
  if (t.disk_mb > 0) d += "request_disk = " + std::to_string(t.disk_mb * 1024) + "\n";  // KiB
  d += "priority = " + std::to_string(t.priority) + "\n";
  d += "batch_name = " + t.batch_name + "\n";
  d += "+JhtcLineage = \"" + lineage + "\"\n+JhtcTask = $(task_id)\n+JhtcAttempt = $(attempt)\n";
  check_level(options.level);
  // throttle_scope="level" counts jobs by it
  if (options.level) d += "+JhtcLevel = " + std::to_string(*options.level) + "\n";
  d += "getenv = CONDOR_CONFIG, PATH\n";
  if (!t.environment.empty()) d += "environment = \"" + quote_environment(t.environment) + "\"\n";
  if (!options.initial_dir.empty()) {
    check_verbatim("initial_dir", options.initial_dir);
    d += "initialdir = " + options.initial_dir + "\n";
  }
  const auto extra = checked_extra_directives(options.extra_directives);
  if (t.file_transfer.enabled())
    d += file_transfer_directives(t.file_transfer, options.initial_dir, extra);
  for (const auto& [key, value] : extra) d.append(key).append(" = ").append(value).append("\n");

  SubmitText text;
  std::string variables = t.memory_mb > 0 ? "task_id,attempt,job_memory_mb," : "task_id,attempt,";
  variables += t.file_transfer.enabled() ? kTransferItemVariables : "task_file";
  if (item_file.empty()) {
    d += "queue " + variables + " from (\n";
    append_items(d, jobs, t.memory_mb, t.file_transfer);
    d += ")\n";
  } else {
    check_verbatim("item_file", item_file);
    if (item_file.back() == '|')
      refuse("item_file", "ends with | (run as a command)", "a file path");
    append_items(text.items, jobs, t.memory_mb, t.file_transfer);
    d += "queue " + variables + " from " + item_file + "\n";
  }
  text.description = std::move(d);
  return text;
}

}  // namespace jhtc::htcondor
