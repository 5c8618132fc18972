// The HTCondor scheduler driver (design and event mapping: docs/htcondor-driver.md).
//
// submit() writes one submit file and item file per call into template.batch_dir
// and runs `condor_submit -terse` once per options["max_per_submission"] jobs
// (default 5000): every job of a chunk is a proc of one cluster, one schedd
// transaction. wait_events() tails the batch's one event log
// (<batch_dir>/condor.log) and translates its events: it reads the log when inotify
// says it grew (jhtc/file_watch.hpp; a safety poll every 2 s), and every
// options["poll_interval_ms"] (default 250) where inotify is not to be had or misses
// other machines' writes (a network file system such as NFS or sshfs), or with
// options["event_log_inotify"] = "0". When the log has been silent for
// options["reconcile_after_s"] (default 300) while jobs are outstanding, it asks
// condor_q / condor_history about them instead. A job idle for
// options["unmatched_after_s"] (default 600; "0": never) that the negotiator found
// no machine for is reported `unmatched`, with condor_q -better-analyze's words.
//
// Options (template.options): pool, schedd (the tools' -pool and -name), universe,
// initial_dir, extra_directives, lineage (default batch_name), max_per_submission,
// poll_interval_ms, event_log_inotify, reconcile_after_s, unmatched_after_s, probe_timeout_s
// (default 30), command_timeout_s (default 600, for every condor_* call).
//
// Thread-safety: every member may be called from any thread, concurrently.
#pragma once

#include <memory>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// Throws SchedulerUnavailable (naming scheduler="local" as the alternative) when
// condor_submit is not on PATH or the schedd does not answer `condor_q -totals`
// within probe_timeout_s; std::invalid_argument when an option or template value
// is malformed or template.python is not found on PATH.
std::unique_ptr<SchedulerDriver> make_htcondor_driver(JobTemplate job_template);

// Entries of the driver's job tables (by job and by task attempt): jobs submitted
// and not yet reported finished, twice. A finished job is dropped when
// wait_events() hands out its terminating event, so this returns to 0 once every
// job has ended. For tests and benchmarks; throws std::invalid_argument when
// `driver` is not an HTCondor driver.
std::size_t tracked_htcondor_jobs(const SchedulerDriver& driver);

// remove_lineage() (scheduler_driver.hpp) for HTCondor: condor_rm -constraint, with
// the driver's retry policy.
bool remove_htcondor_lineage(const SchedulerAddress& where, std::string_view lineage,
                             std::string_view reason);

// pool_capacity() (scheduler_driver.hpp) for HTCondor: condor_status -af Machine
// TotalCpus TotalMemory, with the driver's retry policy.
std::vector<MachineCapacity> htcondor_pool_capacity(const SchedulerAddress& where);

}  // namespace jhtc
