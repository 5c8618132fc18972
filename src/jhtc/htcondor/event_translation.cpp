#include "htcondor/event_translation.hpp"

#include <string>

namespace jhtc::htcondor {

bool is_memory_hold(int hold_code, int hold_subcode) {
  constexpr int kStartdHeldJob = 21, kSystemPolicy = 26, kJobOutOfResources = 34;
  constexpr int kSubcodeMemory = 102, kSubcodeDisk = 104;
  if (hold_code == kJobOutOfResources) return hold_subcode != kSubcodeDisk;
  return (hold_code == kStartdHeldJob || hold_code == kSystemPolicy) &&
         hold_subcode == kSubcodeMemory;
}

std::optional<DriverEvent> translate_log_event(const JobEvent& event, JobKey key) {
  DriverEvent e = make_driver_event(DriverEventKind::submitted, key, event.job_id());
  switch (event.code) {
    case kSubmitted:
      e.kind = DriverEventKind::submitted;
      break;
    case kExecuting:
      e.kind = DriverEventKind::running;
      break;
    case kEvicted:
      e.kind = DriverEventKind::evicted;
      break;
    case kTerminated:
      e.kind = DriverEventKind::exited;
      e.exit_code = event.exit_code;
      e.signal = event.signal;
      e.usage = event.usage;
      break;
    case kAborted:
      e.kind = DriverEventKind::removed;
      e.reason = event.reason;
      break;
    case kHeld:
      e.kind = DriverEventKind::held;
      e.reason = event.reason;
      e.hold_code = event.hold_code;
      e.hold_subcode = event.hold_subcode;
      e.memory_exceeded = is_memory_hold(event.hold_code, event.hold_subcode);
      break;
    case kReleased:
      e.kind = DriverEventKind::released;
      break;
    default:
      return std::nullopt;
  }
  return e;
}

std::optional<DriverEvent> translate_queue_record(const QueueRecord& r, JobKey key,
                                                  bool already_held) {
  DriverEvent e = make_driver_event(DriverEventKind::exited, key,
                                    std::to_string(r.cluster) + "." + std::to_string(r.proc));
  switch (r.status) {
    case 4:
      if (r.by_signal && r.signal.value_or(0) > 0) {
        e.signal = *r.signal;
      } else if (r.exit_code && *r.exit_code >= 0) {
        e.exit_code = *r.exit_code;
      } else {
        return std::nullopt;  // completed without a status: leave it to the log
      }
      return e;
    case 3:
      e.kind = DriverEventKind::removed;
      e.reason = r.reason.empty() ? "removed (seen by condor_history)" : r.reason;
      return e;
    case 5:
      if (already_held) return std::nullopt;
      e.kind = DriverEventKind::held;
      e.reason = r.reason;
      e.hold_code = r.hold_code;
      e.hold_subcode = r.hold_subcode;
      e.memory_exceeded = is_memory_hold(r.hold_code, r.hold_subcode);
      return e;
    default:
      return std::nullopt;
  }
}

}  // namespace jhtc::htcondor
