// The HTCondor scheduler driver (design and event mapping: docs/htcondor-driver.md).
//
// submit() writes one submit file and item file per call into template.batch_dir
// and runs `condor_submit -terse` once per HTCondorOptions::max_per_submission jobs:
// every job of a chunk is a proc of one cluster, one schedd transaction.
// wait_events() tails the batch's one event log (<batch_dir>/condor.log) and
// translates its events: it reads the log when inotify says it grew
// (jhtc/file_watch.hpp; a safety poll every 2 s), and every poll_interval where
// inotify is not to be had or misses other machines' writes (a network file system
// such as NFS or sshfs), or with event_log_inotify = false. When the log has been
// silent for reconcile_after while jobs are outstanding, it asks condor_q /
// condor_history about them instead. A job idle for unmatched_after that the
// negotiator found no machine for is reported `unmatched`, with condor_q
// -better-analyze's words. submit_within() counts a LevelLimit with condor_q under
// the limit's lock file (level_lock.hpp). Every option: jhtc/driver_options.hpp.
//
// Thread-safety: every member may be called from any thread, concurrently.
#pragma once

#include <memory>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// Throws SchedulerUnavailable (naming scheduler="local" as the alternative) when
// condor_submit is not on PATH or the schedd does not answer `condor_q -totals`
// within probe_timeout; std::invalid_argument (naming the field and what is
// accepted) when an option or template value is malformed or template.python is not
// found on PATH. The options are checked before HTCondor is looked for.
std::unique_ptr<SchedulerDriver> make_htcondor_driver(JobTemplate job_template,
                                                      HTCondorOptions options);

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
