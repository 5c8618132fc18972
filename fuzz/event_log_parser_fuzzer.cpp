// libFuzzer target for the event-log parser. Beyond "no crash, no leak", it checks
// the parser's promise that chunking does not matter: the input is fed whole and
// again in chunks whose sizes come from the input's first byte, and both runs
// must yield the same events and the same malformed count.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "htcondor/event_log_parser.hpp"

namespace {

using jhtc::htcondor::EventLogParser;
using jhtc::htcondor::JobEvent;

std::string digest(const JobEvent& e) {
  std::string out = std::to_string(e.code) + ' ' + e.job_id() + ' ' + e.text + ' ' +
                    std::to_string(e.exit_code) + ' ' + std::to_string(e.signal) + ' ' + e.reason +
                    ' ' + std::to_string(e.hold_code) + ' ' + std::to_string(e.time.year) + ' ' +
                    std::to_string(e.time.millisecond);
  const jhtc::JobUsage& u = e.usage;
  for (const auto& figure : {u.wall_s, u.cpu_user_s, u.cpu_sys_s, e.total_remote_user_s})
    out += ' ' + (figure ? std::to_string(*figure) : "-");
  for (const auto& figure : {u.memory_mb, u.disk_kb, u.alloc_cpus, u.alloc_memory_mb,
                             u.request_memory_mb, e.resident_set_kb, e.proportional_set_kb})
    out += ' ' + (figure ? std::to_string(*figure) : "-");
  for (const std::string& line : e.body) out += '\n' + line;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 16;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const jhtc::htcondor::CivilDate today{2026, 3, 5};

  EventLogParser whole(today);
  std::string whole_digest;
  whole.feed(bytes, [&](JobEvent&& e) { whole_digest += digest(e) + '\0'; });

  EventLogParser chunked(today);
  std::string chunked_digest;
  for (std::size_t at = 0; at < bytes.size(); at += chunk)
    chunked.feed(bytes.substr(at, chunk),
                 [&](JobEvent&& e) { chunked_digest += digest(e) + '\0'; });

  if (whole_digest != chunked_digest || whole.malformed_count() != chunked.malformed_count() ||
      whole.incomplete() != chunked.incomplete())
    std::abort();
  return 0;
}
