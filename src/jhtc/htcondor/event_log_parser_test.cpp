#include "htcondor/event_log_parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace jhtc::htcondor {
namespace {

const CivilDate kToday{2026, 3, 5};

std::string read_sample(const std::string& relative) {
  std::ifstream in(std::string(JHTC_TEST_DATA_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

// A comparable digest of an event: everything the parser extracts.
std::string describe(const JobEvent& e) {
  std::ostringstream out;
  out << e.code << ' ' << e.job_id() << '.' << e.subproc << ' ' << e.time.year << '-'
      << e.time.month << '-' << e.time.day << ' ' << e.time.hour << ':' << e.time.minute << ':'
      << e.time.second << '.' << e.time.millisecond << " z" << static_cast<int>(e.time.zone)
      << e.time.utc_offset_minutes << " [" << e.text << "] exit=" << e.exit_code
      << " sig=" << e.signal << " reason=[" << e.reason << "] hold=" << e.hold_code << '/'
      << e.hold_subcode << " body=" << e.body.size();
  return out.str();
}

std::vector<std::string> describe_all(const std::vector<JobEvent>& events) {
  std::vector<std::string> out;
  for (const JobEvent& e : events) out.push_back(describe(e));
  return out;
}

std::vector<JobEvent> parse_whole(const std::string& bytes, std::size_t* malformed = nullptr) {
  EventLogParser parser(kToday);
  auto events = parser.feed(bytes);
  if (malformed) *malformed = parser.malformed_count();
  EXPECT_FALSE(parser.incomplete());
  return events;
}

std::vector<JobEvent> parse_in_chunks(const std::string& bytes, std::mt19937& rng,
                                      std::size_t max_chunk, std::size_t* malformed) {
  EventLogParser parser(kToday);
  std::vector<JobEvent> events;
  std::uniform_int_distribution<std::size_t> size(1, max_chunk);
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t n = std::min(size(rng), bytes.size() - at);
    for (JobEvent& e : parser.feed(std::string_view(bytes).substr(at, n))) events.push_back(e);
    at += n;
  }
  *malformed = parser.malformed_count();
  return events;
}

// Every sample must parse the same one byte at a time and in random chunks.
void expect_chunking_invariant(const std::string& bytes) {
  std::size_t whole_malformed = 0;
  const auto whole = describe_all(parse_whole(bytes, &whole_malformed));
  std::mt19937 rng(12345);
  for (std::size_t max_chunk :
       {std::size_t{1}, std::size_t{3}, std::size_t{17}, std::size_t{256}}) {
    for (int round = 0; round < 5; ++round) {
      std::size_t malformed = 0;
      EXPECT_EQ(describe_all(parse_in_chunks(bytes, rng, max_chunk, &malformed)), whole)
          << "max chunk " << max_chunk;
      EXPECT_EQ(malformed, whole_malformed);
    }
  }
}

TEST(EventLogParser, DecodesEveryEventOfAJobLifecycle) {
  std::size_t malformed = 99;
  const auto events = parse_whole(read_sample("eventlogs_synthetic/lifecycle_iso.log"), &malformed);
  EXPECT_EQ(malformed, 0u);
  std::vector<int> codes;
  for (const JobEvent& e : events) codes.push_back(e.code);
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0, 1, 6, 5, 1, 4, 1, 5, 12, 13, 28, 9}));

  EXPECT_EQ(events[0].job_id(), "42.0");
  EXPECT_EQ(events[1].proc, 1);
  EXPECT_EQ(events[5].exit_code, 0);
  EXPECT_EQ(events[5].signal, 0);
  EXPECT_EQ(events[5].body.size(), 15u);  // including the blank line inside the body
  EXPECT_EQ(events[9].exit_code, -1);
  EXPECT_EQ(events[9].signal, 9);
  EXPECT_EQ(events[10].reason,
            "Error from slot1_1@testbed: Job has gone over cgroup memory limit of 128 megabytes.");
  EXPECT_EQ(events[10].hold_code, 34);
  EXPECT_EQ(events[10].hold_subcode, 102);
  EXPECT_EQ(events[11].reason, "via condor_release (by user htc)");
  EXPECT_EQ(events[12].body, (std::vector<std::string>{"Cluster = 42", "EventTypeNumber = 28"}));
  EXPECT_EQ(events[13].text, "Job was aborted.");
  EXPECT_EQ(events[13].reason, "via condor_rm (by user htc)");
}

TEST(EventLogParser, ReadsEveryTimestampFormAlike) {
  const auto iso = parse_whole(read_sample("eventlogs_synthetic/lifecycle_iso.log"));
  for (const char* name :
       {"lifecycle_legacy.log", "lifecycle_utc_subsecond.log", "lifecycle_offset.log"}) {
    std::size_t malformed = 99;
    const auto other =
        parse_whole(read_sample(std::string("eventlogs_synthetic/") + name), &malformed);
    EXPECT_EQ(malformed, 0u) << name;
    ASSERT_EQ(other.size(), iso.size()) << name;
    for (std::size_t i = 0; i < iso.size(); ++i) {
      EXPECT_EQ(other[i].code, iso[i].code);
      EXPECT_EQ(other[i].job_id(), iso[i].job_id());
      EXPECT_EQ(other[i].exit_code, iso[i].exit_code);
      EXPECT_EQ(other[i].reason, iso[i].reason);
      EXPECT_EQ(other[i].time.second, iso[i].time.second);
    }
  }
}

TEST(EventLogParser, TimestampZonesGiveTheRightInstant) {
  using namespace std::chrono;
  const sys_days march_first{year{2026} / 3 / 1};
  const auto utc = parse_whole(read_sample("eventlogs_synthetic/lifecycle_utc_subsecond.log"));
  EXPECT_EQ(utc[0].time.zone, EventTime::Zone::utc);
  EXPECT_EQ(utc[0].time.millisecond, 250);
  EXPECT_EQ(utc[0].time.to_time_point(), march_first + hours{12} + milliseconds{250});

  const auto offset = parse_whole(read_sample("eventlogs_synthetic/lifecycle_offset.log"));
  EXPECT_EQ(offset[0].time.zone, EventTime::Zone::offset);
  EXPECT_EQ(offset[0].time.utc_offset_minutes, 120);
  EXPECT_EQ(offset[0].time.to_time_point(), march_first + hours{10} + milliseconds{500});

  const auto legacy = parse_whole(read_sample("eventlogs_synthetic/lifecycle_legacy.log"));
  EXPECT_TRUE(legacy[0].time.year_inferred);
  EXPECT_EQ(legacy[0].time.year, 2026);
  EXPECT_EQ(legacy[0].time.zone, EventTime::Zone::local);
}

TEST(EventLogParser, InfersTheYearOfAnMmDdTimestamp) {
  EXPECT_EQ(infer_year(3, 1, {2026, 3, 5}), 2026);
  EXPECT_EQ(infer_year(3, 6, {2026, 3, 5}), 2026);    // one day ahead: another time zone
  EXPECT_EQ(infer_year(3, 7, {2026, 3, 5}), 2025);    // later: written last year
  EXPECT_EQ(infer_year(12, 31, {2027, 1, 2}), 2026);  // December read in January
  EXPECT_EQ(infer_year(1, 1, {2026, 12, 31}), 2027);  // a writer already in the new year
  EXPECT_EQ(infer_year(2, 29, {2027, 3, 1}), 2024);   // the last leap year
  EventLogParser parser({2027, 1, 2});
  const auto events = parser.feed("000 (1.0.0) 12/31 23:59:59 Job submitted\n...\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time.year, 2026);
}

TEST(EventLogParser, AcceptsIdsAndCodesWiderThanThreeDigits) {
  std::size_t malformed = 99;
  const auto events = parse_whole(read_sample("eventlogs_synthetic/wide_ids.log"), &malformed);
  EXPECT_EQ(malformed, 0u);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].cluster, 1234567);
  EXPECT_EQ(events[0].proc, 12345);
  EXPECT_EQ(events[1].exit_code, 255);
  EXPECT_EQ(events[2].code, 1040);  // unknown: passed through with its raw body
  EXPECT_EQ(events[2].body, std::vector<std::string>{"\twith a body line"});
}

TEST(EventLogParser, SameEventsWhateverTheChunking) {
  for (const char* name :
       {"lifecycle_iso.log", "lifecycle_legacy.log", "lifecycle_utc_subsecond.log",
        "lifecycle_offset.log", "wide_ids.log", "malformed.log"}) {
    SCOPED_TRACE(name);
    expect_chunking_invariant(read_sample(std::string("eventlogs_synthetic/") + name));
  }
}

TEST(EventLogParser, SkipsAndCountsMalformedEventsWithoutLosingTheNext) {
  std::size_t malformed = 0;
  const auto events = parse_whole(read_sample("eventlogs_synthetic/malformed.log"), &malformed);
  std::vector<std::string> texts;
  for (const JobEvent& e : events) texts.push_back(e.text.substr(0, 6));
  EXPECT_EQ(texts,
            (std::vector<std::string>{"good 1", "good 2", "good 3", "good 4", "good 5", "good 6"}));
  // stray line, month 13, 005 without status, interrupted event, stray `...`,
  // two-digit code, missing paren, hour 25
  EXPECT_EQ(malformed, 8u);
}

TEST(EventLogParser, AFileEndingMidEventIsIncompleteNotAnError) {
  const std::string bytes = read_sample("eventlogs_synthetic/truncated.log");
  EventLogParser parser(kToday);
  EXPECT_EQ(parser.feed(bytes).size(), 1u);
  EXPECT_TRUE(parser.incomplete());
  EXPECT_EQ(parser.malformed_count(), 0u);
  const auto rest = parser.feed("lue 3)\n...\n");
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].exit_code, 3);
  EXPECT_FALSE(parser.incomplete());
}

TEST(EventLogParser, AcceptsCrLfLineEndings) {
  EventLogParser parser(kToday);
  const auto events = parser.feed(
      "005 (3.1.0) 2026-03-01 12:00:00 Job terminated.\r\n\t(1) Normal termination (return value "
      "7)\r\n...\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].exit_code, 7);
  EXPECT_EQ(events[0].text, "Job terminated.");
}

TEST(EventLogParser, AnOverlongLineIsSkippedAndCounted) {
  EventLogParser parser(kToday);
  std::string bytes = "000 (1.0.0) 2026-03-01 12:00:00 x\n\t";
  bytes += std::string(EventLogParser::kMaxLineBytes + 10, 'x');
  bytes += "\n...\n000 (1.1.0) 2026-03-01 12:00:00 survivor\n...\n";
  const auto events = parser.feed(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "survivor");
  EXPECT_EQ(parser.malformed_count(), 1u);
}

TEST(EventLogParser, AnEventWithTooManyLinesIsSkippedAndCounted) {
  EventLogParser parser(kToday);
  std::string bytes = "000 (1.0.0) 2026-03-01 12:00:00 x\n";
  for (std::size_t i = 0; i <= EventLogParser::kMaxEventLines; ++i) bytes += "\tline\n";
  bytes += "...\n000 (1.1.0) 2026-03-01 12:00:00 survivor\n...\n";
  const auto events = parser.feed(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "survivor");
  EXPECT_EQ(parser.malformed_count(), 1u);
}

TEST(EventLogParser, RejectsHeadersThatAreNotHeaders) {
  for (const char* line :
       {"", "000", "000 (1.0.0)", "000 (1.0.0) 2026-03-01", "000 1.0.0) 2026-03-01 12:00:00 x",
        "000 (1.0) 2026-03-01 12:00:00 x", "000 (1.x.0) 2026-03-01 12:00:00 x",
        "000 (99999999999999999999.0.0) 2026-03-01 12:00:00 x",
        "000 (1.99999999999.0) 2026-03-01 12:00:00 x", "000 (1.0.0) 2026-03-00 12:00:00 x",
        "000 (1.0.0) 00/01 12:00:00 x", "000 (1.0.0) 03/1 12:00:00 x",
        "000 (1.0.0) 2026-03-01 12:60:00 x", "000 (1.0.0) 2026-03-01 12:00:00.x",
        "000 (1.0.0) 2026-03-01 12:00:00.1234567890 x", "000 (1.0.0) 2026-03-01 12:00:00+25:00 x",
        "000 (1.0.0) 2026-03-01 12:00:00Q x", "000 (1.0.0) 2026/03/01 12:00:00 x",
        "0a0 (1.0.0) 2026-03-01 12:00:00 x"}) {
    EXPECT_FALSE(parse_header(line, kToday).has_value()) << '"' << line << '"';
  }
  EXPECT_TRUE(parse_header("000 (1.0.0) 2026-03-01 12:00:00", kToday).has_value());  // no text
  const auto minus = parse_header("000 (1.0.0) 2026-03-01 12:00:00-0530 x", kToday);
  ASSERT_TRUE(minus.has_value());
  EXPECT_EQ(minus->time.utc_offset_minutes, -330);
}

TEST(EventLogParser, HeldWithoutCodesOrReasonDecodesToDefaults) {
  JobEvent held;
  held.code = kHeld;
  held.body = {"\tReason unspecified"};
  EXPECT_TRUE(decode_body(held));
  EXPECT_EQ(held.reason, "");
  EXPECT_EQ(held.hold_code, 0);

  JobEvent terminated;
  terminated.code = kTerminated;
  terminated.body = {"\t(0) Abnormal termination (signal 0)"};
  EXPECT_FALSE(decode_body(terminated));  // signal 0 is no signal
}

// Logs recorded on the testbed pool (tests/data/eventlogs/*.log), when present.
TEST(EventLogParser, ParsesEveryRecordedPoolLogCleanly) {
  const std::filesystem::path dir = std::filesystem::path(JHTC_TEST_DATA_DIR) / "eventlogs";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no recorded logs in " << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const std::string bytes = read_sample("eventlogs/" + entry.path().filename().string());
    std::size_t malformed = 99;
    const auto events = parse_whole(bytes, &malformed);
    EXPECT_EQ(malformed, 0u);
    std::size_t terminators = 0;
    for (std::size_t at = 0; (at = bytes.find("\n...\n", at)) != std::string::npos; ++at)
      ++terminators;
    EXPECT_EQ(events.size(), terminators);
    expect_chunking_invariant(bytes);
  }
  if (files == 0) GTEST_SKIP() << "no .log files in " << dir;
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

// The usage table as HTCondor 23.9 writes it: right-aligned columns, blank cells.
constexpr std::string_view kTerminatedWithUsage =
    "005 (123.000.000) 2026-03-05 10:00:10 Job terminated.\n"
    "\t(1) Normal termination (return value 0)\n"
    "\t\tUsr 0 00:01:02, Sys 0 00:00:03  -  Run Remote Usage\n"
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n"
    "\t\tUsr 1 00:00:05, Sys 0 00:00:07  -  Total Remote Usage\n"
    "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n"
    "\t0  -  Run Bytes Sent By Job\n"
    "\tPartitionable Resources :    Usage  Request Allocated \n"
    "\t   Cpus                 :     0.97        2         2 \n"
    "\t   Disk (KB)            :      150      150      2048 \n"
    "\t   GPUs                 :                           0 \n"
    "\t   Memory (MB)          :      601      256       256 \n"
    "\t   TimeExecute (s)      :       64                    \n"
    "\tJob terminated of its own accord at 2026-03-05T10:00:10Z with exit-code 0.\n"
    "...\n";

TEST(EventLogParser, ReadsTheUsageTableOfATerminatedEvent) {
  const auto events = parse_whole(std::string(kTerminatedWithUsage));
  ASSERT_EQ(events.size(), 1u);
  const JobUsage& u = events[0].usage;
  EXPECT_EQ(u.cpu_user_s, 62.0);
  EXPECT_EQ(u.cpu_sys_s, 3.0);
  EXPECT_EQ(events[0].total_remote_user_s, 86405.0);
  EXPECT_EQ(events[0].total_remote_sys_s, 7.0);
  EXPECT_EQ(u.memory_mb, 601);
  EXPECT_EQ(u.request_memory_mb, 256);
  EXPECT_EQ(u.alloc_memory_mb, 256);
  EXPECT_EQ(u.alloc_cpus, 2);
  EXPECT_EQ(u.disk_kb, 150);
  EXPECT_EQ(u.wall_s, 64.0) << "TimeExecute's only figure is in the Usage column";
  expect_chunking_invariant(std::string(kTerminatedWithUsage));
}

TEST(EventLogParser, ReadsImageSizeUpdates) {
  const std::string bytes =
      "006 (123.000.000) 2026-03-05 10:00:05 Image size of job updated: 615000\n"
      "\t601  -  MemoryUsage of job (MB)\n"
      "\t614400  -  ResidentSetSize of job (KB)\n"
      "\t600100  -  ProportionalSetSize of job (KB)\n"
      "...\n";
  const auto events = parse_whole(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].usage.memory_mb, 601);
  EXPECT_EQ(events[0].image_size_kb, 615000);
  EXPECT_EQ(events[0].resident_set_kb, 614400);
  EXPECT_EQ(events[0].proportional_set_kb, 600100);
}

TEST(EventLogParser, AMangledUsageTableLeavesFiguresEmptyNotWrong) {
  std::string bytes(kTerminatedWithUsage);
  bytes.replace(bytes.find("     601"), 8, "     six");
  bytes.replace(bytes.find("Usr 0 00:01:02"), 14, "Usr x 00:01:02");
  const auto events = parse_whole(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].exit_code, 0) << "the event itself still counts";
  EXPECT_FALSE(events[0].usage.memory_mb);
  EXPECT_FALSE(events[0].usage.cpu_user_s);
}

TEST(EventLogParser, AnOverflowingCpuTimeLeavesFiguresEmptyNotWrong) {
  std::string bytes(kTerminatedWithUsage);
  bytes.replace(bytes.find("Usr 0 00:01:02"), 14, "Usr 0 30:00:9223372036854775807");
  const auto events = parse_whole(bytes);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].exit_code, 0) << "the event itself still counts";
  EXPECT_FALSE(events[0].usage.cpu_user_s);
  EXPECT_EQ(events[0].usage.memory_mb, 601) << "the rest of the table is still read";
}

// The recorded pool logs carry the table too: every terminated job has its figures.
TEST(EventLogParser, EveryRecordedTerminationHasUsage) {
  const auto events = parse_whole(read_sample("eventlogs/lifecycle_default.log"));
  int terminated = 0;
  for (const JobEvent& e : events) {
    if (e.code == kImageSize) EXPECT_TRUE(e.usage.memory_mb.has_value()) << describe(e);
    if (e.code != kTerminated) continue;
    ++terminated;
    EXPECT_TRUE(e.usage.cpu_user_s && e.usage.wall_s && e.usage.memory_mb && e.usage.alloc_cpus &&
                e.usage.alloc_memory_mb && e.usage.disk_kb)
        << describe(e);
  }
  EXPECT_GE(terminated, 3);
}

}  // namespace
}  // namespace jhtc::htcondor
