// When a gathering burst of tasks ends: after `quiet` with no new task, or `most`
// after its first task, whichever comes first. Pure: the caller brings the clock,
// so tests drive it with made-up time points.
#pragma once

#include <algorithm>
#include <chrono>

#include "jhtc/engine.hpp"

namespace jhtc {

class BurstGather {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  BurstGather(GatherTiming timing, TimePoint first_task)
      : timing_(timing), first_(first_task), last_(first_task) {}

  void task_arrived(TimePoint at) { last_ = std::max(last_, at); }

  // The burst is submitted at this time unless the throttle's free slots fill first.
  TimePoint ends_at() const { return std::min(last_ + timing_.quiet, first_ + timing_.most); }

  bool over(TimePoint now) const { return now >= ends_at(); }

 private:
  GatherTiming timing_;
  TimePoint first_;
  TimePoint last_;
};

}  // namespace jhtc
