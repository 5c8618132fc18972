// From what HTCondor reports (event-log events, condor_q/condor_history records)
// to the engine's DriverEvents. Pure; thread-safe.
//
//   log event            DriverEvent
//   000 submitted        submitted
//   001 executing        running
//   004 evicted          evicted
//   005 terminated       exited (exit_code, or signal; usage)
//   009 aborted          removed (reason)
//   012 held             held (reason, hold_code, hold_subcode, memory_exceeded)
//   013 released         released
//   anything else        nothing
#pragma once

#include <optional>

#include "htcondor/condor_tools.hpp"
#include "htcondor/event_log_parser.hpp"
#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

// True when HTCondor's hold codes say the job used more memory than it asked for
// (HTCondor manual, "Job ClassAd attributes", HoldReasonCode, and "Configuration
// templates", POLICY:Hold_If_Memory_Exceeded):
//   34  JobOutOfResources: the starter saw the job's cgroup run out of memory
//       (subcode 0 in 23.x; 102 memory in newer releases; 104 is disk, not memory);
//   21  StartdHeldJob with subcode 102: the startd's Hold_If_Memory_Exceeded policy
//       (WANT_HOLD_IF(MEMORY_EXCEEDED, 102, ...));
//   26  SystemPolicy with subcode 102: the same rule as a schedd SYSTEM_PERIODIC_HOLD.
// The reason text is not looked at: admins reword it.
bool is_memory_hold(int hold_code, int hold_subcode);

// The DriverEvent for a log event of job `key`; nullopt for codes the engine
// does not act on (006 image-size updates carry usage the driver accumulates).
std::optional<DriverEvent> translate_log_event(const JobEvent& event, JobKey key);

// The DriverEvent a queue/history record implies for a job whose last reported
// state is `already_held` (so a hold is not reported twice): exited for status 4,
// removed for 3, held for 5; nullopt for idle or running jobs.
std::optional<DriverEvent> translate_queue_record(const QueueRecord& record, JobKey key,
                                                  bool already_held);

}  // namespace jhtc::htcondor
