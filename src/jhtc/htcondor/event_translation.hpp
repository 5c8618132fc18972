// From what HTCondor reports (event-log events, condor_q/condor_history records)
// to the engine's DriverEvents. Pure; thread-safe.
//
//   log event            DriverEvent
//   000 submitted        submitted
//   001 executing        running
//   004 evicted          evicted
//   005 terminated       exited (exit_code, or signal)
//   009 aborted          removed (reason)
//   012 held             held (reason, hold_code, hold_subcode)
//   013 released         released
//   anything else        nothing
#pragma once

#include <optional>

#include "htcondor/condor_tools.hpp"
#include "htcondor/event_log_parser.hpp"
#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

// The DriverEvent for a log event of job `key`; nullopt for codes the engine
// does not act on.
std::optional<DriverEvent> translate_log_event(const JobEvent& event, JobKey key);

// The DriverEvent a queue/history record implies for a job whose last reported
// state is `already_held` (so a hold is not reported twice): exited for status 4,
// removed for 3, held for 5; nullopt for idle or running jobs.
std::optional<DriverEvent> translate_queue_record(const QueueRecord& record, JobKey key,
                                                  bool already_held);

}  // namespace jhtc::htcondor
