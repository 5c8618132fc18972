// One journal line: encoding, decoding, and reading a decoded event's context.
#include <charconv>
#include <cstdio>

#include "jhtc/journal.hpp"
#include "util/json_text.hpp"

namespace jhtc {

std::string encode_journal_line(double ts, std::string_view name, std::string_view context_json) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%.6f", ts);
  std::string line = "{\"ts\":";
  line += stamp;
  line += ",\"name\":";
  json::append_string(line, name);
  line += ",\"context\":";
  line += context_json.empty() ? std::string_view("{}") : context_json;
  line += "}\n";
  return line;
}

static bool read_context(json::Cursor& cursor, JournalEvent& event) {
  if (!cursor.consume('{')) return false;
  if (cursor.consume('}')) return true;
  do {
    auto key = cursor.read_string();
    if (!key || !cursor.consume(':')) return false;
    auto value = cursor.read_value_text();
    if (!value) return false;
    event.context.emplace_back(std::move(*key), std::move(*value));
  } while (cursor.consume(','));
  return cursor.consume('}');
}

// Reads one top-level member into `event`; unknown members are skipped so that
// newer writers stay readable.
static bool read_member(json::Cursor& cursor, JournalEvent& event, bool& has_ts, bool& has_name) {
  auto key = cursor.read_string();
  if (!key || !cursor.consume(':')) return false;
  if (*key == "ts") {
    auto ts = cursor.read_number();
    has_ts = ts.has_value();
    if (ts) event.ts = *ts;
    return has_ts;
  }
  if (*key == "name") {
    auto name = cursor.read_string();
    has_name = name.has_value();
    if (name) event.name = std::move(*name);
    return has_name;
  }
  if (*key == "context") return read_context(cursor, event);
  return cursor.read_value_text().has_value();
}

std::optional<JournalEvent> decode_journal_line(std::string_view line) {
  json::Cursor cursor(line);
  if (!cursor.consume('{')) return std::nullopt;
  JournalEvent event;
  bool has_ts = false, has_name = false;
  if (!cursor.consume('}')) {
    do {
      if (!read_member(cursor, event, has_ts, has_name)) return std::nullopt;
    } while (cursor.consume(','));
    if (!cursor.consume('}')) return std::nullopt;
  }
  if (!cursor.at_end() || !has_ts || !has_name || event.name.empty()) return std::nullopt;
  return event;
}

const std::string* JournalEvent::find(std::string_view key) const {
  for (const auto& [k, v] : context) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string JournalEvent::text(std::string_view key) const {
  const std::string* value = find(key);
  return value ? *value : std::string();
}

std::optional<std::int64_t> JournalEvent::integer(std::string_view key) const {
  const std::string* value = find(key);
  if (!value || value->empty()) return std::nullopt;
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (ec != std::errc{} || end != value->data() + value->size()) return std::nullopt;
  return number;
}

}  // namespace jhtc
