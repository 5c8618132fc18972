// FileWatch: inotify where it works, polling where it does not (failures injected).
#include "jhtc/file_watch.hpp"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "util/watch_system.hpp"

namespace jhtc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Long enough never to end a wait in these tests: an inotify wait that returns
// file_event did so because of the event.
constexpr FileWatchOptions kNoTicks{.poll_interval = 3600s, .safety_poll = 3600s};

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jhtc-file-watch-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    log_ = (dir_ / "condor.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void append(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::app) << text;
  }

  std::filesystem::path dir_;
  std::string log_;
};

TEST_F(FileWatchTest, InotifyReportsAnAppendToTheFile) {
  append(log_, "000 (1.000.000) 2026-12-01 05:00:00 Job submitted\n");
  FileWatch watch(log_, kNoTicks);
  ASSERT_EQ(watch.method(), WatchMethod::inotify) << watch.description();
  EXPECT_EQ(watch.polling_reason(), "");
  append(log_, "...\n");
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::file_event);
}

TEST_F(FileWatchTest, InotifyReportsTheFileBeingCreated) {
  FileWatch watch(log_, kNoTicks);
  ASSERT_EQ(watch.method(), WatchMethod::inotify) << watch.description();
  append(log_, "000 (1.000.000) 2026-12-01 05:00:00 Job submitted\n");
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::file_event);
}

TEST_F(FileWatchTest, WritesToOtherFilesOfTheDirectoryDoNotEndTheWait) {
  FileWatch watch(log_, kNoTicks);
  append((dir_ / "submit-1.items").string(), "a\n");
  EXPECT_EQ(watch.wait_until(Clock::now() + 50ms), WatchWake::deadline);
}

TEST_F(FileWatchTest, AppendFromAnotherThreadEndsAWaitInProgress) {
  FileWatch watch(log_, kNoTicks);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    append(log_, "...\n");
  });
  const WatchWake wake = watch.wait_until(Clock::now() + 60s);
  writer.join();
  EXPECT_EQ(wake, WatchWake::file_event);
}

TEST_F(FileWatchTest, InterruptEndsTheWaitAndOneBeforeItEndsTheNextAtOnce) {
  FileWatch watch(log_, kNoTicks);
  std::thread waker([&] {
    std::this_thread::sleep_for(20ms);
    watch.interrupt();
  });
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::interrupted);
  waker.join();
  watch.interrupt();
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::interrupted);
}

TEST_F(FileWatchTest, RemovedDirectoryTurnsTheWatchToPolling) {
  FileWatch watch(log_, {.poll_interval = 10ms, .safety_poll = 3600s});
  std::filesystem::remove_all(dir_);
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::file_event);
  EXPECT_EQ(watch.method(), WatchMethod::polling);
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::poll_tick);
}

// The injected system: inotify refused in the ways a real machine refuses it.
int no_instance_left(int) {
  errno = EMFILE;
  return -1;
}
int no_watch_left(int, const char*, std::uint32_t) {
  errno = ENOSPC;
  return -1;
}
long nfs_type(const char*) { return 0x6969; }
long fuse_type(const char*) { return 0x65735546; }
int real_add_watch(int fd, const char* path, std::uint32_t mask) {
  return ::inotify_add_watch(fd, path, mask);
}

TEST_F(FileWatchTest, FallsBackToPollingWhenNoInotifyWatchIsLeft) {
  const WatchSystem system{::inotify_init1, no_watch_left, WatchSystem::real().file_system_type};
  FileWatch watch(log_, {.poll_interval = 10ms, .safety_poll = 3600s}, system);
  EXPECT_EQ(watch.method(), WatchMethod::polling);
  EXPECT_NE(watch.polling_reason().find("inotify_add_watch: No space left on device"),
            std::string::npos)
      << watch.polling_reason();
  append(log_, "...\n");
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::poll_tick);
}

TEST_F(FileWatchTest, FallsBackToPollingWhenNoInotifyInstanceIsLeft) {
  const WatchSystem system{no_instance_left, real_add_watch, WatchSystem::real().file_system_type};
  FileWatch watch(log_, {.poll_interval = 10ms, .safety_poll = 3600s}, system);
  EXPECT_EQ(watch.method(), WatchMethod::polling);
  EXPECT_NE(watch.polling_reason().find("inotify_init1: Too many open files"), std::string::npos)
      << watch.polling_reason();
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::poll_tick);
}

TEST_F(FileWatchTest, PollsWhenInotifyIsTurnedOff) {
  FileWatch watch(log_, {.poll_interval = 10ms, .safety_poll = 3600s, .use_inotify = false});
  EXPECT_EQ(watch.method(), WatchMethod::polling);
  EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::poll_tick);
}

// sshfs (FUSE) and NFS report only this machine's writes: the poll stays, at poll_interval.
TEST_F(FileWatchTest, NetworkFileSystemKeepsInotifyAndThePoll) {
  for (auto type : {nfs_type, fuse_type}) {
    const WatchSystem system{::inotify_init1, real_add_watch, type};
    FileWatch watch(log_, {.poll_interval = 10ms, .safety_poll = 3600s}, system);
    EXPECT_EQ(watch.method(), WatchMethod::inotify_and_polling);
    EXPECT_NE(watch.polling_reason().find("inotify does not see other machines' writes"),
              std::string::npos);
    EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::poll_tick)
        << "a remote write (no event here) must still be read";
    append(log_, "...\n");
    EXPECT_EQ(watch.wait_until(Clock::now() + 60s), WatchWake::file_event)
        << "a local write is still seen by inotify";
  }
}

TEST(NetworkFileSystemName, NamesNetworkFileSystemsAndNotLocalOnes) {
  EXPECT_STREQ(network_file_system_name(0x6969), "nfs");
  EXPECT_STREQ(network_file_system_name(static_cast<long>(0xFF534D42u)), "cifs");
  EXPECT_STREQ(network_file_system_name(0xEF53), "");      // ext4
  EXPECT_STREQ(network_file_system_name(0x01021994), "");  // tmpfs
  EXPECT_STREQ(network_file_system_name(0), "");           // statfs failed
}

}  // namespace
}  // namespace jhtc
