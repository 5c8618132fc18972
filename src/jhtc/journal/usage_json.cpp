#include "journal/usage_json.hpp"

#include <cmath>
#include <cstdio>

#include "util/json_text.hpp"

namespace jhtc {
namespace {

struct Field {
  const char* name;
  std::optional<double> JobUsage::*seconds = nullptr;
  std::optional<std::int64_t> JobUsage::*count = nullptr;
};

constexpr Field kFields[] = {
    {"wall_s", &JobUsage::wall_s},
    {"cpu_user_s", &JobUsage::cpu_user_s},
    {"cpu_sys_s", &JobUsage::cpu_sys_s},
    {"memory_mb", nullptr, &JobUsage::memory_mb},
    {"disk_kb", nullptr, &JobUsage::disk_kb},
    {"alloc_cpus", nullptr, &JobUsage::alloc_cpus},
    {"alloc_memory_mb", nullptr, &JobUsage::alloc_memory_mb},
    {"request_memory_mb", nullptr, &JobUsage::request_memory_mb},
};

}  // namespace

std::string encode_usage(const JobUsage& usage) {
  std::string out;
  for (const Field& field : kFields) {
    char number[64] = {};
    if (field.seconds && usage.*field.seconds) {
      std::snprintf(number, sizeof number, "%.3f", *(usage.*field.seconds));
    } else if (field.count && usage.*field.count) {
      std::snprintf(number, sizeof number, "%lld", static_cast<long long>(*(usage.*field.count)));
    } else {
      continue;
    }
    out += out.empty() ? "{" : ",";
    json::append_string(out, field.name);
    out += ":";
    out += number;
  }
  return out.empty() ? out : out + "}";
}

JobUsage decode_usage(std::string_view object_json) {
  JobUsage usage;
  json::Cursor cursor(object_json);
  if (!cursor.consume('{') || cursor.consume('}')) return usage;
  do {
    const auto key = cursor.read_string();
    if (!key || !cursor.consume(':')) return usage;
    const auto text = cursor.read_value_text();
    if (!text) return usage;
    json::Cursor number_cursor(*text);
    const auto value = number_cursor.read_number();
    if (!value || !std::isfinite(*value) || !number_cursor.at_end()) continue;
    for (const Field& field : kFields) {
      if (*key != field.name) continue;
      if (field.seconds) usage.*field.seconds = *value;
      if (field.count) usage.*field.count = static_cast<std::int64_t>(std::llround(*value));
    }
  } while (cursor.consume(','));
  return usage;
}

}  // namespace jhtc
