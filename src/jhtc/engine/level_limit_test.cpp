// The engine with a level limit, a cap shared with other processes
// (throttle_scope="level"): it submits only what the limit takes, puts the rest back
// at the front of its queue, and asks again while the limit is full.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "jhtc/engine.hpp"

namespace jhtc {
namespace {

using namespace std::chrono_literals;

struct Cap {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t room = 0;           // what the other processes left free
  std::vector<TaskId> submitted;  // in submission order
  int asked = 0;
  LevelLimit seen;  // the limit the engine passed
};

const LevelLimit kLimit{.level = 2, .cap = 7, .lock_path = "/shared/.run-L2.lock"};

// What both drivers below share: no job ever reports an event, and removal and wake-up
// have nothing to do.
class SilentDriver : public SchedulerDriver {
 public:
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(20)));
    return {};
  }
  void remove(std::span<const JobKey>, std::string_view) override {}
  void remove_all(std::string_view) override {}
  void wake() override {}
};

class CappedDriver final : public SilentDriver {
 public:
  explicit CappedDriver(std::shared_ptr<Cap> cap) : cap_(std::move(cap)) {}
  std::string_view name() const override { return "capped"; }
  void submit(std::span<const JobRequest>) override {
    ADD_FAILURE() << "must go through submit_within";
  }
  std::size_t submit_within(const LevelLimit& limit, std::span<const JobRequest> jobs) override {
    std::lock_guard lock(cap_->mutex);
    ++cap_->asked;
    cap_->seen = limit;
    const std::size_t take = std::min(cap_->room, jobs.size());
    for (std::size_t i = 0; i < take; ++i) cap_->submitted.push_back(jobs[i].task);
    cap_->room -= take;
    cap_->changed.notify_all();
    return take;
  }

 private:
  std::shared_ptr<Cap> cap_;
};

bool wait_for(Cap& cap, std::size_t submitted) {
  std::unique_lock lock(cap.mutex);
  return cap.changed.wait_for(lock, 5s, [&] { return cap.submitted.size() >= submitted; });
}

TEST(LevelLimit, OnlyWhatTheLimitTakesIsSubmittedAndTheRestWaitsInOrder) {
  auto cap = std::make_shared<Cap>();
  cap->room = 2;
  Engine engine({.throttle = 10, .gather = {.quiet = 50ms}, .level_limit = kLimit},
                std::make_unique<CappedDriver>(cap));
  for (int i = 0; i < 5; ++i) engine.submit("/t/" + std::to_string(i) + ".task", "/t/r");
  ASSERT_TRUE(wait_for(*cap, 2));
  std::this_thread::sleep_for(300ms);
  {
    std::lock_guard lock(cap->mutex);
    EXPECT_EQ(cap->submitted, (std::vector<TaskId>{0, 1})) << "went past the shared cap";
    cap->room = 3;  // other parents' jobs finished
  }
  ASSERT_TRUE(wait_for(*cap, 5)) << "the engine did not ask the cap again";
  std::lock_guard lock(cap->mutex);
  EXPECT_EQ(cap->submitted, (std::vector<TaskId>{0, 1, 2, 3, 4}));
  EXPECT_EQ(cap->seen.level, 2);
  EXPECT_EQ(cap->seen.cap, 7u);
  EXPECT_EQ(cap->seen.lock_path, "/shared/.run-L2.lock");
  EXPECT_EQ(engine.stats().failed, 0u);
}

TEST(LevelLimit, AFullLimitIsAskedAgainAfterAPauseNotInABusyLoop) {
  auto cap = std::make_shared<Cap>();
  Engine engine({.throttle = 10, .level_limit = kLimit}, std::make_unique<CappedDriver>(cap));
  engine.submit("/t/0.task", "/t/r");
  std::this_thread::sleep_for(1500ms);
  std::lock_guard lock(cap->mutex);
  EXPECT_GE(cap->asked, 1);
  EXPECT_LE(cap->asked, 4) << "asked a full cap " << cap->asked << " times in 1.5 s";
  EXPECT_TRUE(cap->submitted.empty());
}

// A driver without a shared count (the local scheduler) keeps the contract's default.
class PlainDriver final : public SilentDriver {
 public:
  std::string_view name() const override { return "plain"; }
  void submit(std::span<const JobRequest>) override { ADD_FAILURE() << "went past the limit"; }
};

TEST(LevelLimit, ADriverThatCannotCountOtherBatchesFailsTheTaskNamingTheLimit) {
  Engine engine({.throttle = 10, .level_limit = kLimit}, std::make_unique<PlainDriver>());
  engine.submit("/t/0.task", "/t/r");
  const auto outcome = engine.next_outcome(5s);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, OutcomeKind::failed);
  EXPECT_NE(outcome->reason.find("level_limit: the plain scheduler cannot count"),
            std::string::npos)
      << outcome->reason;
}

TEST(LevelLimit, AZeroCapOrANegativeLevelIsRefusedNamingIt) {
  const auto refusal = [](LevelLimit limit) {
    try {
      Engine engine({.level_limit = limit}, std::make_unique<PlainDriver>());
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal({.level = 1, .cap = 0}), "level_limit.cap must be at least 1");
  EXPECT_EQ(refusal({.level = -1, .cap = 3}), "level_limit.level must be >= 0");
}

}  // namespace
}  // namespace jhtc
