// libFuzzer target for the journal reader: the monitor reads journals that a live or
// crashed writer may have cut anywhere, so any bytes must be safe to feed. Beyond "no
// crash, no leak, no undefined behaviour", it checks the reader's promises: chunking does
// not matter (the input fed whole and in chunks sized by its first byte gives the same
// events, corrupt-line count and warning), every newline completes one line, and the
// bytes after the last newline are kept pending.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/journal.hpp"

namespace {

std::string digest(const std::vector<jhtc::JournalEvent>& events) {
  std::string out;
  for (const jhtc::JournalEvent& e : events) {
    char ts[sizeof e.ts];
    std::memcpy(ts, &e.ts, sizeof ts);  // bit-exact: NaN or -0.0 must agree too
    out.append(ts, sizeof ts).append(e.name).push_back('\0');
    for (const auto& [key, value] : e.context) out.append(key).append("=").append(value) += '\0';
    out += '\n';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 32;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  jhtc::JournalReader whole;
  const std::string whole_digest = digest(whole.feed(bytes));

  jhtc::JournalReader chunked;
  std::string chunked_digest;
  for (std::size_t at = 0; at < bytes.size(); at += chunk)
    chunked_digest += digest(chunked.feed(bytes.substr(at, chunk)));

  const std::size_t newlines =
      static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  const std::size_t last_newline = bytes.rfind('\n');
  const std::size_t tail =
      last_newline == std::string_view::npos ? bytes.size() : bytes.size() - last_newline - 1;
  if (whole_digest != chunked_digest || whole.corrupt_lines() != chunked.corrupt_lines() ||
      whole.last_warning() != chunked.last_warning() || whole.lines_read() != newlines ||
      chunked.lines_read() != newlines || whole.pending_bytes() != tail ||
      chunked.pending_bytes() != tail)
    std::abort();
  return 0;
}
