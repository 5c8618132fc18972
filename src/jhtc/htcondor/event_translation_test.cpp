#include "htcondor/event_translation.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace jhtc::htcondor {
namespace {

std::vector<JobEvent> parse_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  EventLogParser parser({2026, 11, 30});
  return parser.feed(all.str());
}

std::vector<DriverEvent> translate_all(const std::vector<JobEvent>& events) {
  std::vector<DriverEvent> out;
  for (const JobEvent& e : events)
    if (auto d = translate_log_event(e, JobKey{static_cast<TaskId>(e.proc) + 100, 1}))
      out.push_back(*d);
  return out;
}

TEST(EventTranslation, MapsEveryTrackedCodeOfASyntheticLog) {
  const auto events = translate_all(parse_file(std::filesystem::path(JHTC_TEST_DATA_DIR) /
                                               "eventlogs_synthetic/lifecycle_iso.log"));
  std::vector<DriverEventKind> kinds;
  for (const DriverEvent& e : events) kinds.push_back(e.kind);
  using K = DriverEventKind;
  // 006 and 028 are dropped
  EXPECT_EQ(kinds, (std::vector<K>{K::submitted, K::submitted, K::submitted, K::running, K::exited,
                                   K::running, K::evicted, K::running, K::exited, K::held,
                                   K::released, K::removed}));
  EXPECT_EQ(events[0].job_id, "42.0");
  EXPECT_EQ(events[0].task, 100u);
  EXPECT_EQ(events[0].attempt, 1);
  EXPECT_EQ(events[4].exit_code, 0);
  EXPECT_EQ(events[4].signal, 0);
  EXPECT_EQ(events[8].exit_code, -1);
  EXPECT_EQ(events[8].signal, 9);
  EXPECT_EQ(events[9].hold_code, 34);
  EXPECT_EQ(events[9].hold_subcode, 102);
  EXPECT_NE(events[9].reason.find("memory limit"), std::string::npos);
  EXPECT_EQ(events[11].reason, "via condor_rm (by user htc)");
  EXPECT_EQ(events[11].task, 102u);
}

TEST(EventTranslation, QueueRecordsImplyTerminalStatesOnly) {
  const JobKey key{5, 0};
  QueueRecord r;
  r.cluster = 3;
  r.proc = 1;
  r.status = 2;
  EXPECT_FALSE(translate_queue_record(r, key, false).has_value());  // running: nothing new
  r.status = 4;
  r.exit_code = 2;
  auto e = translate_queue_record(r, key, false);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, DriverEventKind::exited);
  EXPECT_EQ(e->exit_code, 2);
  EXPECT_EQ(e->job_id, "3.1");
  r.by_signal = true;
  r.signal = 11;
  e = translate_queue_record(r, key, false);
  EXPECT_EQ(e->signal, 11);
  r = QueueRecord{};
  r.status = 4;
  EXPECT_FALSE(translate_queue_record(r, key, false).has_value());  // completed without status
  r.status = 5;
  r.hold_code = 1;
  r.reason = "via condor_hold";
  EXPECT_EQ(translate_queue_record(r, key, false)->kind, DriverEventKind::held);
  EXPECT_FALSE(translate_queue_record(r, key, true).has_value());  // already reported
  r.status = 3;
  r.reason.clear();
  e = translate_queue_record(r, key, false);
  EXPECT_EQ(e->kind, DriverEventKind::removed);
  EXPECT_FALSE(e->reason.empty());
}

// Logs recorded on the testbed pool: every job must come to exactly one terminal
// event (exited or removed), and no terminal event may be followed by another event.
TEST(EventTranslation, RecordedPoolLogsEndEveryJobOnce) {
  const std::filesystem::path dir = std::filesystem::path(JHTC_TEST_DATA_DIR) / "eventlogs";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no recorded logs in " << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    std::map<std::string, int> terminal;
    std::map<std::string, bool> ended;
    for (const DriverEvent& e : translate_all(parse_file(entry.path()))) {
      EXPECT_FALSE(ended[e.job_id]) << "event after the end of " << e.job_id;
      if (e.kind == DriverEventKind::exited) {
        EXPECT_TRUE(e.exit_code >= 0 || e.signal > 0) << e.job_id;
      }
      if (e.kind == DriverEventKind::held) EXPECT_GT(e.hold_code, 0) << e.job_id;
      if (e.kind == DriverEventKind::exited || e.kind == DriverEventKind::removed) {
        ++terminal[e.job_id];
        ended[e.job_id] = true;
      }
    }
    for (const auto& [id, count] : terminal) EXPECT_EQ(count, 1) << id;
  }
  if (files == 0) GTEST_SKIP() << "no .log files in " << dir;
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

TEST(EventTranslation, MemoryHoldsAreKnownByTheirCodesAlone) {
  EXPECT_TRUE(is_memory_hold(34, 0));     // cgroup OOM (23.x)
  EXPECT_TRUE(is_memory_hold(34, 102));   // cgroup OOM, memory subcode
  EXPECT_FALSE(is_memory_hold(34, 104));  // out of disk
  EXPECT_TRUE(is_memory_hold(21, 102));   // startd Hold_If_Memory_Exceeded
  EXPECT_TRUE(is_memory_hold(26, 102));   // the same rule as SYSTEM_PERIODIC_HOLD
  EXPECT_FALSE(is_memory_hold(21, 101));  // Hold_If_Cpus_Exceeded
  EXPECT_FALSE(is_memory_hold(1, 102));   // condor_hold -subcode 102 by a person
  EXPECT_FALSE(is_memory_hold(3, 0));
}

TEST(EventTranslation, HeldAndTerminatedCarryTheirFigures) {
  JobEvent held;
  held.code = kHeld;
  held.hold_code = 21;
  held.hold_subcode = 102;
  held.reason = "whatever the admin wrote";
  EXPECT_TRUE(translate_log_event(held, {1, 0})->memory_exceeded);
  held.hold_code = 1;
  EXPECT_FALSE(translate_log_event(held, {1, 0})->memory_exceeded);

  JobEvent done;
  done.code = kTerminated;
  done.exit_code = 0;
  done.usage.memory_mb = 42;
  done.usage.wall_s = 3;
  const auto exited = translate_log_event(done, {1, 0});
  EXPECT_EQ(exited->usage.memory_mb, 42);
  EXPECT_EQ(exited->usage.wall_s, 3.0);
}

}  // namespace
}  // namespace jhtc::htcondor

namespace jhtc::htcondor {
namespace {

// Recorded on the testbed with its Hold_If_Memory_Exceeded policy (README.txt there).
TEST(EventTranslation, TheRecordedPolicyHoldIsAMemoryHoldWithItsPeak) {
  const auto events =
      parse_file(std::filesystem::path(JHTC_TEST_DATA_DIR) / "eventlogs/usage_memory_hold.log");
  std::map<std::int64_t, std::int64_t> peak;  // cluster -> largest MemoryUsage of its 006 events
  int holds = 0, terminated = 0;
  for (const JobEvent& e : events) {
    if (e.code == kImageSize)
      peak[e.cluster] = std::max(peak[e.cluster], e.usage.memory_mb.value_or(0));
    const auto d = translate_log_event(e, {1, 0});
    if (!d) continue;
    if (d->kind == DriverEventKind::held) {
      ++holds;
      EXPECT_TRUE(d->memory_exceeded) << d->reason;
      EXPECT_EQ(d->hold_code, 21);
      EXPECT_EQ(d->hold_subcode, 102);
      EXPECT_GE(peak[e.cluster], 600) << "the 006 update before the hold carries the peak";
    }
    if (d->kind == DriverEventKind::exited) {
      ++terminated;
      EXPECT_EQ(d->usage.request_memory_mb, 256);
      EXPECT_EQ(d->usage.alloc_memory_mb, 256);
      EXPECT_GE(d->usage.wall_s.value_or(0), 6.0);
      EXPECT_GT(d->usage.memory_mb.value_or(0), 0);
    }
  }
  EXPECT_EQ(holds, 1);
  EXPECT_EQ(terminated, 1);
}

}  // namespace
}  // namespace jhtc::htcondor
