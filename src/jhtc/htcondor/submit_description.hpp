// The text of one condor_submit description that queues a whole batch of jobs
// as the procs of one cluster (`queue task_id,attempt,task_file from ...`), so
// one condor_submit call is one schedd transaction for all of them.
//
// Injection-proof by construction: every value that reaches the file is
// checked or quoted, and a value that could end a line, continue it, open a
// macro, or unbalance a quote is refused with std::invalid_argument naming the
// parameter and what is accepted. Quoting rules: docs/htcondor-driver.md.
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

struct SubmitText {
  std::string description;  // the submit file
  std::string items;  // the item file: one `task,attempt[,job_memory_mb],task_file` line per job
};

// Builds the submit file for `jobs`. With a memory request in the template,
// each job's request (JobRequest::memory_mb, or the template's) is an item
// column, so a retry may ask for more than its batch. With a non-empty `item_file` the
// description reads its items from that path (write `items` there); with an
// empty one the items are inline (`from ( ... )`) and `items` is empty.
// From `options`: universe, lineage (empty: batch_name), level, event_log (empty:
// <batch_dir>/condor.log), initial_dir, extra_directives.
// Throws std::invalid_argument for any value that is refused (see above) and
// when `jobs` is empty.
SubmitText build_submit_description(const JobTemplate& t, const HTCondorOptions& options,
                                    std::span<const JobRequest> jobs, const std::string& item_file);

// New-syntax `arguments` body (without the outer double quotes): each argument
// in single quotes, ' doubled, " doubled. Throws for newline, CR, NUL, macros.
std::string quote_arguments(const std::vector<std::string>& args);

// New-syntax `environment` body (without the outer double quotes), entries
// 'NAME=value' with the same escaping. Names must be [A-Za-z_][A-Za-z0-9_]*.
std::string quote_environment(const std::map<std::string, std::string>& environment);

// Throws std::invalid_argument naming `level` unless it is none or 0..999.
void check_level(std::optional<int> level);

// extra_directives as `key = value` lines may hold them: keys and values without
// their surrounding blanks. Refuses a key that is not a submit command or
// +Attribute / MY.Attribute name, a key the driver owns (queue, log, executable,
// arguments, ...), an empty value, and a value with a control character, an
// unbalanced double quote or a trailing backslash (line continuation).
std::vector<std::pair<std::string, std::string>> checked_extra_directives(
    const std::vector<std::pair<std::string, std::string>>& directives);

}  // namespace jhtc::htcondor
