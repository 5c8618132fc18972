// The event-log state machine. Only complete lines are looked at, so a chunk
// boundary anywhere cannot change what is parsed.
#include "htcondor/event_log_parser.hpp"

#include <ctime>
#include <limits>
#include <utility>

namespace jhtc::htcondor {
namespace {

// A cursor over one line; every reader returns false without consuming on failure.
struct Cursor {
  std::string_view rest;

  bool literal(char c) {
    if (rest.empty() || rest.front() != c) return false;
    rest.remove_prefix(1);
    return true;
  }
  bool literal(std::string_view s) {
    if (!rest.starts_with(s)) return false;
    rest.remove_prefix(s.size());
    return true;
  }
  // Exactly `width` digits, or (width 0) one or more.
  bool number(std::int64_t& out, std::size_t width = 0, std::size_t* digits_read = nullptr) {
    std::size_t n = 0;
    std::int64_t value = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9' && (width == 0 || n < width)) {
      if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return false;
      value = value * 10 + (rest[n] - '0');
      ++n;
    }
    if (n == 0 || (width != 0 && n != width)) return false;
    rest.remove_prefix(n);
    out = value;
    if (digits_read) *digits_read = n;
    return true;
  }
  bool small(int& out, std::size_t width = 0) {
    std::int64_t value = 0;
    Cursor saved = *this;
    if (!number(value, width) || value > std::numeric_limits<int>::max()) {
      *this = saved;
      return false;
    }
    out = static_cast<int>(value);
    return true;
  }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// `MM/DD` or `YYYY-MM-DD`, a space or `T`, then `HH:MM:SS`.
bool read_date_and_clock(Cursor& c, EventTime& t, CivilDate today) {
  int first = 0;
  Cursor probe = c;
  if (probe.small(first, 2) && probe.literal('/')) {
    if (!probe.small(t.day, 2) || !probe.literal(' ')) return false;
    t.month = first;
    t.year_inferred = true;
  } else {
    probe = c;
    if (!probe.small(t.year, 4) || !probe.literal('-') || !probe.small(t.month, 2) ||
        !probe.literal('-') || !probe.small(t.day, 2))
      return false;
    if (!probe.literal(' ') && !probe.literal('T')) return false;
  }
  if (!probe.small(t.hour, 2) || !probe.literal(':') || !probe.small(t.minute, 2) ||
      !probe.literal(':') || !probe.small(t.second, 2))
    return false;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
      t.second > 60)
    return false;
  if (t.year_inferred) t.year = infer_year(t.month, t.day, today);
  c = probe;
  return true;
}

// Optional `.fraction`, then optional `Z` or `+HH:MM` / `-HHMM`.
bool read_fraction_and_zone(Cursor& c, EventTime& t) {
  if (c.literal('.')) {
    std::int64_t fraction = 0;
    std::size_t digits = 0;
    if (!c.number(fraction, 0, &digits) || digits > 9) return false;
    for (; digits > 3; --digits) fraction /= 10;
    for (; digits < 3; ++digits) fraction *= 10;
    t.millisecond = static_cast<int>(fraction);
  }
  if (c.literal('Z')) {
    t.zone = EventTime::Zone::utc;
  } else if (!c.rest.empty() && (c.rest.front() == '+' || c.rest.front() == '-')) {
    const int sign = c.rest.front() == '-' ? -1 : 1;
    c.rest.remove_prefix(1);
    int hours = 0;
    int minutes = 0;
    if (!c.small(hours, 2)) return false;
    c.literal(':');
    if (!c.small(minutes, 2) || hours > 23 || minutes > 59) return false;
    t.zone = EventTime::Zone::offset;
    t.utc_offset_minutes = sign * (hours * 60 + minutes);
  }
  return true;
}

bool is_terminator(std::string_view line) { return trim(line) == "..."; }

}  // namespace

CivilDate local_today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return {local.tm_year + 1900, local.tm_mon + 1, local.tm_mday};
}

int infer_year(int month, int day, CivilDate today) {
  using namespace std::chrono;
  const sys_days latest = sys_days{year{today.year} / today.month / today.day} + days{1};
  // Newest year first: next year only for a Jan 1 read on Dec 31; a Feb 29
  // goes back to the last leap year.
  for (int y = today.year + 1; y >= today.year - 4; --y) {
    const year_month_day candidate{year{y} / month / day};
    if (candidate.ok() && sys_days{candidate} <= latest) return y;
  }
  return today.year;
}

std::chrono::system_clock::time_point EventTime::to_time_point() const {
  using namespace std::chrono;
  if (zone == Zone::local) {
    std::tm local{};
    local.tm_year = year - 1900;
    local.tm_mon = month - 1;
    local.tm_mday = day;
    local.tm_hour = hour;
    local.tm_min = minute;
    local.tm_sec = second;
    local.tm_isdst = -1;
    return system_clock::from_time_t(std::mktime(&local)) + milliseconds{millisecond};
  }
  const sys_days date{std::chrono::year{year} / month / day};
  return date + hours{hour} + minutes{minute - utc_offset_minutes} + seconds{second} +
         milliseconds{millisecond};
}

std::string JobEvent::job_id() const {
  return std::to_string(cluster) + "." + std::to_string(proc);
}

std::optional<JobEvent> parse_header(std::string_view line, CivilDate today) {
  Cursor c{line};
  JobEvent event;
  std::int64_t cluster = 0;
  std::size_t code_digits = 0;
  std::int64_t code = 0;
  if (!c.number(code, 0, &code_digits) || code_digits < 3 || code > 1'000'000) return std::nullopt;
  if (!c.literal(" (") || !c.number(cluster) || !c.literal('.') || !c.small(event.proc) ||
      !c.literal('.') || !c.small(event.subproc) || !c.literal(") "))
    return std::nullopt;
  if (!read_date_and_clock(c, event.time, today) || !read_fraction_and_zone(c, event.time))
    return std::nullopt;
  if (!c.rest.empty() && !c.literal(' ')) return std::nullopt;
  event.code = static_cast<int>(code);
  event.cluster = cluster;
  event.text = std::string(trim(c.rest));
  return event;
}

bool decode_body(JobEvent& event) {
  switch (event.code) {
    case kTerminated:
      for (const std::string& raw : event.body) {
        Cursor c{trim(raw)};
        if (c.literal("(1) Normal termination (return value ") && c.small(event.exit_code) &&
            c.literal(')'))
          return true;
        c = Cursor{trim(raw)};
        if (c.literal("(0) Abnormal termination (signal ") && c.small(event.signal) &&
            c.literal(')') && event.signal > 0)
          return true;
        event.exit_code = -1;
        event.signal = 0;
      }
      return false;
    case kHeld:
      for (const std::string& raw : event.body) {
        Cursor c{trim(raw)};
        if (c.literal("Code ") && c.small(event.hold_code) && c.literal(" Subcode ") &&
            c.small(event.hold_subcode))
          break;
        event.hold_code = event.hold_subcode = 0;
        if (event.reason.empty() && trim(raw) != "Reason unspecified") event.reason = trim(raw);
      }
      return true;
    case kAborted:
    case kReleased:
      if (!event.body.empty()) event.reason = std::string(trim(event.body.front()));
      return true;
    default:
      return true;
  }
}

EventLogParser::EventLogParser(CivilDate today) : today_(today) {}

std::vector<JobEvent> EventLogParser::feed(std::string_view bytes) {
  std::vector<JobEvent> out;
  feed(bytes, [&out](JobEvent&& event) { out.push_back(std::move(event)); });
  return out;
}

void EventLogParser::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!line_overlong_ && line_.size() + piece.size() > kMaxLineBytes) {
      line_overlong_ = true;  // drop the bytes, remember the line was junk
      line_.clear();
    }
    if (newline == std::string_view::npos) {
      if (!line_overlong_) line_.append(piece);
      return;
    }
    bytes.remove_prefix(newline + 1);
    if (line_overlong_) {
      line_overlong_ = false;
      if (state_ != State::skipping) count_malformed_and_skip();
      continue;
    }
    // A whole line in the input is parsed in place; only a line split across two
    // feeds goes through line_ (whose capacity is kept): no allocation per line.
    std::string_view line = piece;
    if (!line_.empty()) {
      line_.append(piece);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    take_line(line, sink);
    line_.clear();
  }
}

void EventLogParser::take_line(std::string_view line, const Sink& sink) {
  const bool terminator = is_terminator(line);
  std::optional<JobEvent> header;
  if (!terminator && !line.empty() && line.front() >= '0' && line.front() <= '9')
    header = parse_header(line, today_);

  if (header) {
    if (state_ == State::in_event) ++malformed_;  // the previous event lost its `...`
    event_ = std::move(*header);
    state_ = State::in_event;
    return;
  }
  switch (state_) {
    case State::between:
      ++malformed_;  // a stray line: skip to the next `...` or header
      if (!terminator) state_ = State::skipping;
      return;
    case State::skipping:
      if (terminator) state_ = State::between;
      return;
    case State::in_event:
      if (terminator) {
        finish_event(sink);
      } else if (event_.body.size() >= kMaxEventLines) {
        count_malformed_and_skip();
      } else {
        event_.body.emplace_back(line);
      }
      return;
  }
}

void EventLogParser::finish_event(const Sink& sink) {
  state_ = State::between;
  JobEvent event = std::move(event_);
  event_ = JobEvent{};
  if (!decode_body(event)) {
    ++malformed_;
    return;
  }
  decode_usage(event);
  ++events_;
  sink(std::move(event));
}

void EventLogParser::count_malformed_and_skip() {
  ++malformed_;
  state_ = State::skipping;
  event_ = JobEvent{};
}

}  // namespace jhtc::htcondor
