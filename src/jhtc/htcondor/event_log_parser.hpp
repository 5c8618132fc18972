// A push parser for HTCondor's job event log (the file a submit description's
// `log = FILE` names). Bytes in, events out; no I/O.
//
// An event is a header line `NNN (CLUSTER.PROC.SUBPROC) TIME text`, body lines,
// and a terminator line `...`. TIME is any form HTCondor writes under
// DEFAULT_USERLOG_FORMAT_OPTIONS: `MM/DD HH:MM:SS` (LEGACY, no year),
// `YYYY-MM-DD HH:MM:SS` (ISO_DATE), either followed by `.mmm` (SUB_SECOND)
// and `Z` (UTC); the reader also accepts a `T` separator, 1-9 fraction digits
// and `+HH:MM`/`-HHMM` offsets, as HTCondor's own reader does.
//
// The bytes may stop anywhere (mid-line, mid-event): that is the normal
// "incomplete" state; the rest completes the event on a later feed(). Splitting
// the same bytes into different chunks yields the same events.
//
// Malformed input never throws: a header that does not parse, an event that a
// new header interrupts before its `...`, a stray line between events, a line
// longer than kMaxLineBytes or an event longer than kMaxEventLines is skipped
// and counted (malformed_count()); parsing resumes at the next `...` or at the
// next valid header, so the events that follow are not lost.
//
// Thread-safety: none; one parser per log, used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/scheduler_driver.hpp"

namespace jhtc::htcondor {

// Event codes this project acts on; any other code passes through unchanged.
enum EventCode : int {
  kSubmitted = 0,
  kExecuting = 1,
  kEvicted = 4,
  kTerminated = 5,
  kImageSize = 6,
  kAborted = 9,
  kHeld = 12,
  kReleased = 13,
};

// A calendar date, the reference for logs whose timestamps carry no year.
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1-12
  int day = 1;    // 1-31
};

// Today's date in this process's local time zone.
CivilDate local_today();

struct EventTime {
  enum class Zone { local, utc, offset };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millisecond = 0;
  bool year_inferred = false;  // the log gave MM/DD only (see infer_year)
  Zone zone = Zone::local;
  int utc_offset_minutes = 0;  // for Zone::offset (and 0 for utc)

  // The instant; a local time is interpreted in this process's time zone.
  std::chrono::system_clock::time_point to_time_point() const;
};

// The year of an MM/DD timestamp read on `today`: the latest year that puts the
// date no more than one day after today. Events are read after they are
// written, so a date "in the future" belongs to last year (a log of December
// read in January); the day of slack absorbs a writer in a time zone ahead of
// the reader's (01/01 read on Dec 31 is next year). A Feb 29 maps to the last
// leap year.
int infer_year(int month, int day, CivilDate today);

struct JobEvent {
  int code = -1;
  std::int64_t cluster = 0;
  int proc = 0;
  int subproc = 0;
  EventTime time;
  std::string text;               // rest of the header line, e.g. "Job was held."
  std::vector<std::string> body;  // body lines, as written (without newline)

  // Decoded for the codes that carry them:
  int exit_code = -1;    // 005 normal termination: the return value
  int signal = 0;        // 005 abnormal termination: the signal
  std::string reason;    // 009, 012, 013: the reason line, trimmed
  int hold_code = 0;     // 012
  int hold_subcode = 0;  // 012
  // 005 (and 004): the usage table (Run Remote Usage user/sys, Memory (MB), Disk (KB),
  // Cpus, TimeExecute (s): usage, request and allocated columns); 006: memory_mb
  // (MemoryUsage of job). Figures the event does not carry stay empty.
  JobUsage usage;
  std::optional<double> total_remote_user_s;  // 005 Total Remote Usage
  std::optional<double> total_remote_sys_s;
  std::optional<std::int64_t> image_size_kb;        // 006 header
  std::optional<std::int64_t> resident_set_kb;      // 006 ResidentSetSize of job (KB)
  std::optional<std::int64_t> proportional_set_kb;  // 006 ProportionalSetSize of job (KB)

  std::string job_id() const;  // "CLUSTER.PROC"
};

class EventLogParser {
 public:
  static constexpr std::size_t kMaxLineBytes = std::size_t{64} * 1024;
  static constexpr std::size_t kMaxEventLines = 4096;

  using Sink = std::function<void(JobEvent&&)>;

  // `today` resolves years of MM/DD timestamps (see infer_year).
  explicit EventLogParser(CivilDate today = local_today());

  // Consumes the bytes; calls `sink` once per event completed by them, in order.
  void feed(std::string_view bytes, const Sink& sink);
  // The same, collecting the completed events.
  std::vector<JobEvent> feed(std::string_view bytes);

  // A long-running reader moves the reference date forward as days pass.
  void set_today(CivilDate today) { today_ = today; }

  std::size_t malformed_count() const { return malformed_; }
  std::size_t event_count() const { return events_; }
  // True when bytes of an unfinished line or event are held back.
  bool incomplete() const { return !line_.empty() || state_ == State::in_event; }

 private:
  enum class State { between, in_event, skipping };

  void take_line(std::string_view line, const Sink& sink);
  void finish_event(const Sink& sink);
  void count_malformed_and_skip();

  CivilDate today_;
  State state_ = State::between;
  std::string line_;  // the unfinished line
  bool line_overlong_ = false;
  JobEvent event_;  // the event being read (state_ == in_event)
  std::size_t malformed_ = 0;
  std::size_t events_ = 0;
};

// Parses a header line; nullopt when it is not one. Exposed for the tests.
std::optional<JobEvent> parse_header(std::string_view line, CivilDate today);

// Fills exit_code/signal/reason/hold codes from the body. False when an event of
// a code that must carry them (005) does not.
bool decode_body(JobEvent& event);

// Fills the usage figures of a 004, 005 or 006 event from its body and header text.
// Lines it does not recognise are left alone (a figure stays empty); never fails.
void decode_usage(JobEvent& event);

}  // namespace jhtc::htcondor
