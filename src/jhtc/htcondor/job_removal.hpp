// condor_rm by constraint: every job of a lineage, or one job only while idle.
// The constraints come from condor_tools (validated and quoted); transient
// failures are retried (tool_retry). Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "htcondor/tool_retry.hpp"

namespace jhtc::htcondor {

struct RemovalCall {
  std::vector<std::string>
      condor_rm;                     // tool_command("condor_rm", ...): the tool and its -pool/-name
  std::chrono::seconds timeout{60};  // each call
  RetryPolicy retry;
};

// Removes the jobs of `lineage` and below. True when condor_rm marked at least one
// job; false when none matched. Throws std::invalid_argument for a malformed
// lineage, SchedulerError (the tool's words) when condor_rm failed after its retries.
bool remove_lineage_jobs(const RemovalCall& call, std::string_view lineage,
                         std::string_view reason);

// Removes job CLUSTER.PROC only if it is idle. True when removed; false when it
// was not idle (started, held, gone). Throws SchedulerError as above.
bool remove_job_if_idle(const RemovalCall& call, std::int64_t cluster, int proc,
                        std::string_view reason);

}  // namespace jhtc::htcondor
