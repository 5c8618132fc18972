#include "htcondor/level_lock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>
#include <vector>

namespace jhtc::htcondor {
namespace {

namespace fs = std::filesystem;

// Far above what any test waits for; the bound itself has a test of its own.
constexpr std::chrono::seconds kWait{120};

class LevelLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("level_lock_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string lock_path() const { return (dir_ / "L1.lock").string(); }
  fs::path dir_;
};

TEST_F(LevelLockTest, HoldersNeverOverlapAndTheFileGoesWithTheLastOne) {
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        const LevelLock lock(lock_path(), kWait);
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), 1);
  EXPECT_FALSE(fs::exists(lock_path()));
}

// Another host's holder is only visible as the file: the flock here does not see it.
TEST_F(LevelLockTest, AFileHeldByAnotherHostBlocksUntilItIsRemoved) {
  std::ofstream(lock_path()) << "node7 42\n";
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    const LevelLock lock(lock_path(), kWait);
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(acquired.load());  // cannot turn true while the file exists
  fs::remove(lock_path());
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

TEST_F(LevelLockTest, AStaleFileOfADeadHolderIsBroken) {
  std::ofstream(lock_path()) << "node7 42\n";
  const fs::file_time_type old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(lock_path(), old);
  {
    const LevelLock lock(lock_path(), kWait, std::chrono::seconds(60));
    std::ifstream in(lock_path());
    std::string host;
    in >> host;
    EXPECT_NE(host, "node7");  // ours now
  }
  EXPECT_FALSE(fs::exists(lock_path()));
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".stale."), std::string::npos) << entry.path();
}

TEST_F(LevelLockTest, AHolderThatNeverLetsGoIsATimeoutNamingTheFile) {
  std::ofstream(lock_path()) << "node7 42\n";  // fresh: never broken as stale
  try {
    const LevelLock lock(lock_path(), std::chrono::seconds(1));
    FAIL() << "locked a file another host holds";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ETIMEDOUT) << e.what();
    EXPECT_NE(std::string(e.what()).find(lock_path()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(lock_path()));  // another's lock is left alone
}

TEST_F(LevelLockTest, AMissingDirectoryIsASystemErrorNamingThePath) {
  const std::string path = (dir_ / "gone" / "L1.lock").string();
  try {
    const LevelLock lock(path, kWait);
    FAIL() << "locked in a missing directory";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(LevelLockTest, AnEmptyPathHoldsNothing) {
  const LevelLock a("", kWait);
  const LevelLock b("", kWait);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace jhtc::htcondor
