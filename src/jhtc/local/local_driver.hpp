// The embedded local scheduler: runs each job as a process on this machine.
//
// As many jobs run at once as the cores allow: floor(cores / template.cpus), where
// cores is this process's CPU affinity, or LocalOptions::cores when set (tests).
// Every job is its own process group, so removing a job also ends what it spawned.
// Removal sends SIGTERM, then SIGKILL after LocalOptions::kill_grace (default 5 s).
// Jobs are forked by the process's fork server (one `PYTHON WORKER_ARGS --serve` per
// process, shared by every driver, that imports the modules in env
// JOBLIB_HTCONDOR_PRELOAD once; see local/fork_server.hpp) unless LocalOptions::fork_server
// is false: then each job is `PYTHON WORKER_ARGS TASKFILE`. When the fork server cannot
// start or dies, a warning goes to stderr, the driver's running jobs are killed and
// reported exited (signal 9, reason set), and its later jobs are spawned; the next
// driver starts a new fork server.
#pragma once

#include <memory>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// Throws std::invalid_argument when template.cpus exceeds the cores available, or
// for an option out of range (naming it).
std::unique_ptr<SchedulerDriver> make_local_driver(JobTemplate job_template,
                                                   const LocalOptions& options);

// The number of cores this process may run on.
unsigned available_cores();

// This machine as pool_capacity() reports it: available_cores() and the physical
// memory. Throws SchedulerError when the memory size cannot be read.
MachineCapacity local_machine_capacity();

}  // namespace jhtc
