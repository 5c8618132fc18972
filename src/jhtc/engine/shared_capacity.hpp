// An internal extension of SchedulerDriver for a cap shared with other processes
// (throttle_scope="level": every parent batch of one recursion level of a run
// draws from one cap, counted by the scheduler itself).
//
// The engine checks for it with dynamic_cast and then submits through
// submit_up_to() instead of submit(), putting back the jobs that were not taken.
// Thread-safety: as SchedulerDriver.
#pragma once

#include <cstddef>
#include <span>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

class SharedCapacity {
 public:
  virtual ~SharedCapacity() = default;

  // Submits the first k of `jobs` in one transaction, k being what the shared
  // cap allows right now (0 when it is full: nothing is submitted). Returns k.
  // Throws SchedulerError as SchedulerDriver::submit does; then none was submitted.
  virtual std::size_t submit_up_to(std::span<const JobRequest> jobs) = 0;
};

}  // namespace jhtc
