#include "jhtc/batch_owner.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <utility>

#include "util/json_text.hpp"

namespace jhtc {
namespace {

template <typename Number>
bool parse_number(std::string_view text, Number& out) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// "host pid start_ticks [boot_id pid_namespace]" ("-": no boot id).
bool parse_identity_line(std::string_view line, OwnerIdentity& identity) {
  std::istringstream in{std::string(line)};
  if (!(in >> identity.host >> identity.pid >> identity.start_ticks)) return false;
  if (!(in >> identity.boot_id >> identity.pid_namespace)) {
    identity.boot_id.clear();
    identity.pid_namespace = 0;
  }
  if (identity.boot_id == "-") identity.boot_id.clear();
  return true;
}

// One member of the JSON object; `is_string` tells a JSON string from a literal
// (null, true, a number), which read_value_text returns alike. Unknown members are
// a newer writer's: skipped.
bool apply_member(BatchOwner& owner, const std::string& key, const std::string& value,
                  bool is_string, bool& has_pid) {
  const bool null = !is_string && value == "null";
  const std::pair<const char*, std::string*> texts[] = {{"lineage", &owner.lineage},
                                                        {"scheduler", &owner.scheduler},
                                                        {"pool", &owner.pool},
                                                        {"schedd", &owner.schedd},
                                                        {"event_log", &owner.event_log},
                                                        {"host", &owner.process.host},
                                                        {"boot_id", &owner.process.boot_id}};
  for (const auto& [name, field] : texts) {
    if (key != name) continue;
    *field = null ? std::string() : value;
    return true;
  }
  if (key == "abandoned") {
    owner.abandoned = !is_string && value == "true";
    return true;
  }
  if (key == "pid") {
    has_pid = !is_string && parse_number(value, owner.process.pid);
    return has_pid;
  }
  if (key == "resume_grace_s") {
    double grace = 0;
    if (null) return owner.resume_grace_s.reset(), true;
    if (is_string || !parse_number(value, grace) || !std::isfinite(grace)) return false;
    owner.resume_grace_s = grace;
    return true;
  }
  if (key == "start_ticks" || key == "pid_namespace") {
    auto& field = key == "start_ticks" ? owner.process.start_ticks : owner.process.pid_namespace;
    if (null) return field = 0, true;
    return !is_string && parse_number(value, field);
  }
  return true;
}

bool parse_object(std::string_view text, BatchOwner& owner, bool& has_pid) {
  json::Cursor cursor(text);
  if (!cursor.consume('{')) return false;
  if (cursor.consume('}')) return cursor.at_end();
  do {
    auto key = cursor.read_string();
    if (!key || !cursor.consume(':')) return false;
    json::Cursor probe = cursor;
    bool is_string = true;
    auto value = probe.read_string();
    if (value) {
      cursor = probe;
    } else {
      is_string = false;
      value = cursor.read_value_text();
      if (!value) return false;
    }
    if (!apply_member(owner, *key, *value, is_string, has_pid)) return false;
  } while (cursor.consume(','));
  return cursor.consume('}') && cursor.at_end();
}

void append_member(std::string& out, std::string_view key, std::string_view value) {
  out += out.size() > 1 ? "," : "";
  json::append_string(out, key);
  out += ':';
  json::append_string(out, value);
}

}  // namespace

std::string format_batch_owner(const BatchOwner& owner) {
  const OwnerIdentity& p = owner.process;
  std::ostringstream identity;
  identity << p.host << ' ' << p.pid << ' ' << p.start_ticks << ' '
           << (p.boot_id.empty() ? "-" : p.boot_id) << ' ' << p.pid_namespace << '\n';
  std::string about = "{";
  append_member(about, "lineage", owner.lineage);
  append_member(about, "scheduler", owner.scheduler);
  append_member(about, "pool", owner.pool);
  append_member(about, "schedd", owner.schedd);
  append_member(about, "event_log", owner.event_log);
  if (owner.resume_grace_s) {
    char number[32];
    const auto [end, ec] = std::to_chars(number, number + sizeof number, *owner.resume_grace_s);
    about += ",\"resume_grace_s\":";
    about.append(number, ec == std::errc() ? end : number);
  }
  if (owner.abandoned) about += ",\"abandoned\":true";
  about += "}\n";
  return identity.str() + about;
}

std::optional<BatchOwner> parse_batch_owner(std::string_view text) {
  BatchOwner owner;
  const auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  text.remove_prefix(start);
  if (text.front() == '{') {  // a batch directory's owner.json (before the one record)
    bool has_pid = false;
    const auto end = text.find_last_not_of(" \t\r\n");
    if (!parse_object(text.substr(0, end + 1), owner, has_pid) || !has_pid ||
        owner.process.host.empty())
      return std::nullopt;
    return owner;
  }
  const auto newline = text.find('\n');
  if (!parse_identity_line(text.substr(0, newline), owner.process)) return std::nullopt;
  if (newline == std::string_view::npos) return owner;  // the store's record alone
  auto rest = text.substr(newline + 1);
  const auto end = rest.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return owner;
  bool has_pid = true;  // the identity line gave it
  const OwnerIdentity identity = owner.process;
  if (!parse_object(rest.substr(0, end + 1), owner, has_pid)) return std::nullopt;
  owner.process = identity;  // the first line is the record's identity
  return owner;
}

bool OwnerRecord::is_dead(double stale_after_s) const {
  return owner.abandoned || !owner_is_alive(owner.process, heartbeat_age_s, stale_after_s);
}

bool OwnerRecord::waits_for_resume(std::string_view batch_id) const {
  return !owner.abandoned && owner.lineage == batch_id && owner.resume_grace_s &&
         heartbeat_age_s >= 0 && heartbeat_age_s < *owner.resume_grace_s;
}

}  // namespace jhtc
