// What the driver says to HTCondor's command-line tools and how it reads their
// answers. Pure functions (no process is run here); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "htcondor/event_log_parser.hpp"
#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

// {tool, -pool P, -name S}, as every HTCondor tool takes them; an empty pool or
// schedd is left out (the local configuration's). Throws std::invalid_argument for
// a pool or schedd name that starts with '-' or holds whitespace or control
// characters.
std::vector<std::string> tool_command(const std::string& tool, const std::string& pool,
                                      const std::string& schedd);

// One `CLUSTER.FIRST - CLUSTER.LAST` line of `condor_submit -terse`.
struct ProcRange {
  std::int64_t cluster = 0;
  int first = 0;
  int last = 0;
  int count() const { return last - first + 1; }
};

// The ranges in condor_submit -terse output; other lines (warnings) are ignored.
std::vector<ProcRange> parse_terse_output(std::string_view out);

// `value` as a ClassAd string literal: in double quotes, with backslash and double
// quote escaped. Throws std::invalid_argument for control characters (which no
// value of ours holds).
std::string classad_string(std::string_view value);

// Throws std::invalid_argument (naming the value and what is accepted) unless
// `lineage` is batch ids joined by '/': letters, digits and ._-:@+, no empty part.
void check_lineage(std::string_view lineage);

// The condor_rm/condor_q constraint selecting the jobs of a lineage and of every
// lineage below it: `JhtcLineage =?= "L" || substr(JhtcLineage, 0, n) =?= "L/"`.
// =?= compares strings case-sensitively and never yields undefined; substr
// avoids regular-expression quoting. The lineage is checked (check_lineage) and
// quoted (classad_string): both, so that neither alone is load-bearing.
std::string lineage_constraint(std::string_view lineage);

// The constraint selecting the jobs of exactly this lineage, not those below it
// (a batch's own jobs). Checked and quoted as lineage_constraint().
std::string exact_lineage_constraint(std::string_view lineage);

// The attributes find_jobs asks condor_q / condor_history for, after -af:j.
std::vector<std::string> existing_job_attributes();

// Folds the lines of `-af:j` output for existing_job_attributes() into `latest`:
// per task, the job of its highest attempt (a job still in the queue wins over a
// record of the same attempt in the history). `from_queue`: the output is
// condor_q's (idle, running, held or suspended jobs count as in the queue).
// Malformed lines are skipped.
void merge_existing_jobs(std::string_view out, bool from_queue,
                         std::map<TaskId, ExistingJob>& latest);

// "CLUSTER.PROC" as numbers; nullopt for anything else.
std::optional<std::pair<std::int64_t, int>> parse_job_ref(std::string_view job_id);

// The constraint selecting one job only while it is idle (JobStatus 1).
std::string idle_job_constraint(std::int64_t cluster, int proc);

// The constraint selecting the jobs of one recursion level of one run (root
// lineage) that hold a place in the schedd: idle, running or held. Used by
// throttle_scope="level", whose cap is counted by the schedd itself.
std::string level_constraint(std::string_view root_lineage, int level);

// The attributes pool_capacity() asks condor_status for (after -af), one machine per
// slot line: `Machine TotalCpus TotalMemory`.
std::vector<std::string> capacity_attributes();

// The machines in `condor_status -af Machine TotalCpus TotalMemory` output, each once
// (the slots of one machine repeat its totals: the last line wins), in order of
// first appearance. Lines with an undefined or non-numeric total, or not three
// fields, are skipped: such a machine cannot be counted.
std::vector<MachineCapacity> parse_machine_capacity(std::string_view out);

// The number of non-blank lines of `condor_q -af ...` output (one per job).
std::size_t count_jobs(std::string_view af_output);

// One job as `condor_q/condor_history -af:j` prints it with kQueueAttributes.
struct QueueRecord {
  std::int64_t cluster = 0;
  int proc = 0;
  int status = 0;  // JobStatus: 1 idle, 2 running, 3 removed, 4 completed, 5 held
  std::optional<int> exit_code;
  bool by_signal = false;
  std::optional<int> signal;
  int hold_code = 0;
  int hold_subcode = 0;
  std::string reason;  // HoldReason or RemoveReason
};

// The attribute list the reconciliation queries ask for (after -af:j).
std::vector<std::string> queue_attributes(bool history);

// Lines of `-af:j` output for queue_attributes(); malformed lines are skipped.
std::vector<QueueRecord> parse_queue_records(std::string_view out);

// Jobs that `condor_q IDS -af:j JobStatus LastRejMatchReason` shows idle (1) after
// the negotiator found no machine for them ("no match found"), as (cluster, proc).
std::vector<std::pair<std::int64_t, int>> parse_unmatched(std::string_view out);

// The words of `condor_q -better-analyze JOB` that say why nothing matches: the
// requirement conditions that no slot meets, and HTCondor's warning, on one line;
// "" when the output has neither.
std::string summarize_better_analyze(std::string_view out);

}  // namespace jhtc::htcondor
