// The "usage" object of task_done, task_failed and task_retried journal lines:
//   {"wall_s":12.000,"cpu_user_s":11.500,"memory_mb":601,"request_memory_mb":256,...}
// Pure; never throws.
#pragma once

#include <string>
#include <string_view>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc {

// The figures present, as a JSON object; "" when there are none.
std::string encode_usage(const JobUsage& usage);

// The figures of a usage object; unknown keys are ignored, and a figure that is
// not a number (or the whole text, if it is not an object) is left empty.
JobUsage decode_usage(std::string_view object_json);

}  // namespace jhtc
