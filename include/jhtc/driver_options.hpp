// What each scheduler driver can be told besides the JobTemplate, as typed fields.
// A driver reads its struct once, when it is made, and refuses a value out of range
// with std::invalid_argument naming the field and what is accepted; nothing is
// parsed from text later.
//
// make_driver() takes a DriverOptions, a std::variant of the two structs: the
// alternative held names the driver to make, so a scheduler name and the options of
// another scheduler cannot be passed together, and each driver sees only its own
// fields (a field HTCondor reads cannot be set, and silently ignored, for local).
//
// Plain values; copy them freely.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace jhtc {

// The HTCondor driver (docs/htcondor-driver.md has the design and the defaults' reasons).
struct HTCondorOptions {
  // Where HTCondor is: the tools' -pool (a collector host[:port]) and -name (a schedd);
  // empty: the local configuration's. No whitespace, no leading '-'.
  std::string pool;
  std::string schedd;
  // The jobs' submit description: `universe` (lower-case letters), `initialdir` when
  // initial_dir is not empty (a path, no newline or macro), and extra submit commands
  // as (key, value) pairs: a key that is a submit command, +Attribute or MY.Attribute
  // and that the driver does not set itself, a one-line value with balanced quotes.
  std::string universe = "vanilla";
  std::string initial_dir;
  std::vector<std::pair<std::string, std::string>> extra_directives;
  // The JhtcLineage attribute every job carries: the batch ids from the run's root to
  // this batch, joined by '/' (remove_all() removes this lineage and below). Empty:
  // the template's batch_name.
  std::string lineage;
  // The batch's recursion level, written as the JhtcLevel attribute (0..999); what a
  // LevelLimit counts by. Empty: no attribute.
  std::optional<int> level;
  // The one event log of the batch's jobs; empty: <batch_dir>/condor.log.
  std::string event_log;
  // Follow the log with inotify where it can be trusted (a local disk), reading it
  // every poll_interval besides; false: read it every poll_interval only.
  bool event_log_inotify = true;
  std::chrono::milliseconds poll_interval{250};  // > 0
  // After this long without news in the log while jobs are outstanding, ask
  // condor_q / condor_history about them instead (> 0).
  std::chrono::seconds reconcile_after{300};
  // A job idle this long that the negotiator found no machine for is reported
  // `unmatched` (> 0); empty: never.
  std::optional<std::chrono::seconds> unmatched_after = std::chrono::seconds(600);
  std::size_t max_per_submission = 5000;      // jobs per condor_submit, one transaction (> 0)
  std::chrono::seconds probe_timeout{30};     // the first condor_q -totals (> 0)
  std::chrono::seconds command_timeout{600};  // every other condor_* call (> 0)
  std::chrono::seconds abort_timeout{10};     // remove_all_quickly()'s one condor_rm (> 0)
  // Transient failures of a condor_* call (the schedd not answering) are retried:
  // retry_attempts calls in all, waits doubling from retry_first_wait up to
  // retry_max_wait (all > 0; docs/failures.md gives the bound).
  int retry_attempts = 5;
  std::chrono::milliseconds retry_first_wait{1000};
  std::chrono::milliseconds retry_max_wait{8000};
};

// The embedded local scheduler: jobs run as processes of this machine.
struct LocalOptions {
  // The cores the jobs share: floor(cores / template.cpus) run at once (> 0). Empty:
  // the cores this process may run on (its CPU affinity).
  std::optional<unsigned> cores;
  // remove(): SIGTERM, then SIGKILL after this long (>= 0).
  std::chrono::milliseconds kill_grace{5000};
  // Fork each job from the process's fork server (true), or start a fresh
  // interpreter per job (false).
  bool fork_server = true;
};

using DriverOptions = std::variant<HTCondorOptions, LocalOptions>;

}  // namespace jhtc
