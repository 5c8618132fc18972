// The HTCondor scheduler driver (see docs/htcondor-driver.md).
#pragma once

#include <memory>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// Throws SchedulerUnavailable when condor_submit is not on PATH or the schedd
// does not answer; std::invalid_argument when an option is malformed.
std::unique_ptr<SchedulerDriver> make_htcondor_driver(JobTemplate job_template);

}  // namespace jhtc
