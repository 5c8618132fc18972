#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <system_error>
#include <thread>

#include "jhtc/journal.hpp"
#include "journal/journal_test_util.hpp"

namespace jhtc {
namespace {

using testing::batch_info;
using testing::read_events;
using testing::TempDir;

TEST(JournalWriter, FileLivesUnderRootAndStartsWithBatchStarted) {
  TempDir dir;
  JournalWriter writer(dir.path(), batch_info("b1", "r", "r", 1, 60));
  EXPECT_EQ(writer.path(), dir.path() + "/r/b1.jsonl");
  auto events = read_events(writer.path());
  ASSERT_EQ(events.size(), 1u);
  const JournalEvent& e = events[0];
  EXPECT_EQ(e.name, "batch_started");
  EXPECT_EQ(e.text("batch"), "b1");
  EXPECT_EQ(e.text("parent"), "r");
  EXPECT_EQ(e.text("root"), "r");
  EXPECT_EQ(e.integer("level"), 1);
  EXPECT_EQ(e.integer("throttle"), 60);
  EXPECT_EQ(e.integer("pid"), ::getpid());
  EXPECT_FALSE(e.text("host").empty());
  EXPECT_EQ(e.text("scheduler"), "local");
  EXPECT_GT(e.ts, 1.6e9);
}

TEST(JournalWriter, EachEventIsOneLineWithItsContext) {
  TempDir dir;
  JournalWriter writer(dir.path(), batch_info("r", "", "r", 0, 2));
  writer.task_queued(3);
  writer.task_submitted(3, "12.0");
  writer.task_running(3, "12.0");
  writer.task_retried(3, "evicted");
  writer.task_failed(3, "Job was held: out of memory", "12.1");
  writer.task_done(4);
  writer.task_cancelled(5);
  writer.bytes_held(1234567890123);
  writer.finish("failed");
  auto events = read_events(writer.path());
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(events[2].name, "task_submitted");
  EXPECT_EQ(events[2].text("job"), "12.0");
  EXPECT_EQ(events[3].name, "task_running");
  EXPECT_EQ(events[4].text("reason"), "evicted");
  EXPECT_EQ(events[5].name, "task_failed");
  EXPECT_EQ(events[5].text("reason"), "Job was held: out of memory");
  EXPECT_EQ(events[5].text("job"), "12.1");
  EXPECT_EQ(events[6].integer("task"), 4);
  EXPECT_EQ(events[7].name, "task_cancelled");
  EXPECT_EQ(events[8].integer("bytes"), 1234567890123);
  EXPECT_EQ(events[9].name, "batch_finished");
  EXPECT_EQ(events[9].text("state"), "failed");
  EXPECT_EQ(writer.write_errors(), 0u);
}

TEST(JournalWriter, FinishWritesOnlyOnce) {
  TempDir dir;
  JournalWriter writer(dir.path(), batch_info("r", "", "r", 0, 1));
  EXPECT_FALSE(writer.finished());
  writer.finish("done");
  writer.finish("cancelled");
  EXPECT_TRUE(writer.finished());
  auto events = read_events(writer.path());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].text("state"), "done");
}

TEST(JournalWriter, IdThatIsNotAPlainFileNameThrowsInvalidArgument) {
  TempDir dir;
  EXPECT_THROW(JournalWriter(dir.path(), batch_info("", "", "r", 0, 1)), std::invalid_argument);
  EXPECT_THROW(JournalWriter(dir.path(), batch_info("a/b", "", "r", 0, 1)), std::invalid_argument);
  EXPECT_THROW(JournalWriter(dir.path(), batch_info("b", "", "..", 0, 1)), std::invalid_argument);
  EXPECT_THROW(JournalWriter("", batch_info("b", "", "r", 0, 1)), std::invalid_argument);
}

TEST(JournalWriter, UncreatableDirectoryThrowsSystemError) {
  TempDir dir;
  std::string file = dir.path() + "/plain-file";
  { std::ofstream(file) << "x"; }
  EXPECT_THROW(JournalWriter(file, batch_info("b", "", "r", 0, 1)), std::system_error);
}

TEST(JournalWriter, ConcurrentThreadsNeverInterleaveLines) {
  TempDir dir;
  JournalWriter writer(dir.path(), batch_info("r", "", "r", 0, 1));
  constexpr int kThreads = 8, kEach = 4000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // A long reason makes a torn line likely if writes were not whole.
      std::string reason(300 + t, static_cast<char>('a' + t));
      for (int i = 0; i < kEach; ++i)
        writer.task_failed(static_cast<TaskId>(t * kEach + i), reason);
    });
  }
  for (auto& th : threads) th.join();
  std::size_t corrupt = 0;
  auto events = read_events(writer.path(), &corrupt);
  EXPECT_EQ(corrupt, 0u);
  ASSERT_EQ(events.size(), 1u + kThreads * kEach);
  std::set<std::int64_t> tasks;
  for (std::size_t i = 1; i < events.size(); ++i) {
    auto task = events[i].integer("task");
    ASSERT_TRUE(task);
    EXPECT_EQ(events[i].text("reason")[0], 'a' + *task / kEach);
    tasks.insert(*task);
  }
  EXPECT_EQ(tasks.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(JournalWriter, ConcurrentProcessesNeverInterleaveLines) {
  TempDir dir;
  constexpr int kProcesses = 4, kEach = 3000;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      JournalWriter writer(dir.path(), batch_info("shared", "", "r", 0, 1));
      std::string reason(500, static_cast<char>('a' + p));
      for (int i = 0; i < kEach; ++i)
        writer.task_retried(static_cast<TaskId>(p * kEach + i), reason);
      ::_exit(writer.write_errors() == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::size_t corrupt = 0;
  auto events = read_events(dir.path() + "/r/shared.jsonl", &corrupt);
  EXPECT_EQ(corrupt, 0u);
  EXPECT_EQ(events.size(), static_cast<std::size_t>(kProcesses * (kEach + 1)));
  for (const auto& e : events) {
    if (e.name == "task_retried") EXPECT_EQ(e.text("reason")[0], 'a' + *e.integer("task") / kEach);
  }
}

TEST(JournalWriter, FailedWriteIsCountedNotThrown) {
  TempDir dir;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A file-size limit at the current size makes the next append fail with EFBIG.
    ::signal(SIGXFSZ, SIG_IGN);
    JournalWriter writer(dir.path(), batch_info("r", "", "r", 0, 1));
    struct rlimit limit {};
    limit.rlim_cur = limit.rlim_max = std::filesystem::file_size(writer.path());
    ::setrlimit(RLIMIT_FSIZE, &limit);
    writer.task_done(1);
    bool ok = writer.write_errors() == 1 && writer.last_error().find("failed") != std::string::npos;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(JournalObserver, EngineCallbacksBecomeJournalEvents) {
  TempDir dir;
  auto writer = std::make_shared<JournalWriter>(dir.path(), batch_info("r", "", "r", 0, 1));
  auto observer = make_journal_observer(writer);
  observer->on_queued(1, 1);
  observer->on_submitted(1, "7.0");
  observer->on_running(1, "7.0");
  observer->on_retried(1, RetryNote{"evicted"});
  observer->on_finished(TaskOutcome{1, OutcomeKind::failed, "SIGKILL", "7.1", 2});
  observer->on_finished(TaskOutcome{2, OutcomeKind::done, "", "8.0", 1});
  observer->on_finished(TaskOutcome{3, OutcomeKind::cancelled, "", "", 0});
  auto events = read_events(writer->path());
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"batch_started", "task_queued", "task_submitted",
                                             "task_running", "task_retried", "task_failed",
                                             "task_done", "task_cancelled"}));
  EXPECT_EQ(events[5].text("reason"), "SIGKILL");
  EXPECT_EQ(events[5].text("job"), "7.1");
}

TEST(JournalObserver, NullWriterThrowsInvalidArgument) {
  EXPECT_THROW(make_journal_observer(nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace jhtc

#include "journal/usage_json.hpp"

namespace jhtc {
namespace {

TEST(JournalWriter, WritesTheAgreedUsageFields) {
  TempDir dir;
  BatchInfo info = batch_info("r", "", "r", 0, 2);
  info.request_cpus = 1.5;
  info.request_memory_mb = 256;
  info.request_gpus = 1;
  JournalWriter writer(dir.path(), info);
  writer.task_queued(3, 4);
  JobUsage used;
  used.wall_s = 2.5;
  used.cpu_user_s = 2.0;
  used.cpu_sys_s = 0.25;
  used.memory_mb = 601;
  used.disk_kb = 150;
  used.alloc_cpus = 2;
  used.alloc_memory_mb = 512;
  used.request_memory_mb = 512;
  writer.task_retried(3, RetryNote{"held for memory", used, 21, 102, 1024});
  writer.task_done(3, used);
  writer.task_failed(4, "no", "1.0", used);
  writer.task_done(5);
  const auto events = read_events(writer.path());
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].integer("request_cpus"), 2);  // rounded up: what HTCondor asks for
  EXPECT_EQ(events[0].integer("request_memory_mb"), 256);
  EXPECT_EQ(events[0].integer("request_gpus"), 1);
  EXPECT_EQ(events[1].integer("calls"), 4);
  EXPECT_EQ(events[2].integer("hold_code"), 21);
  EXPECT_EQ(events[2].integer("hold_subcode"), 102);
  EXPECT_EQ(events[2].integer("request_memory_mb"), 1024);
  for (int i : {2, 3, 4}) {
    const JobUsage back = decode_usage(events[i].text("usage"));
    EXPECT_EQ(back.wall_s, 2.5) << events[i].text("usage");
    EXPECT_EQ(back.cpu_user_s, 2.0);
    EXPECT_EQ(back.cpu_sys_s, 0.25);
    EXPECT_EQ(back.memory_mb, 601);
    EXPECT_EQ(back.disk_kb, 150);
    EXPECT_EQ(back.alloc_cpus, 2);
    EXPECT_EQ(back.alloc_memory_mb, 512);
    EXPECT_EQ(back.request_memory_mb, 512);
  }
  EXPECT_EQ(events[5].find("usage"), nullptr) << "no figures, no usage object";
}

TEST(UsageJson, DecodingIgnoresWhatItDoesNotKnow) {
  const JobUsage u = decode_usage(R"({"memory_mb":12,"future":"x","wall_s":"nan","disk_kb":3})");
  EXPECT_EQ(u.memory_mb, 12);
  EXPECT_EQ(u.disk_kb, 3);
  EXPECT_FALSE(u.wall_s);
  EXPECT_TRUE(decode_usage("not json").empty());
  EXPECT_TRUE(decode_usage("{}").empty());
}

}  // namespace
}  // namespace jhtc
