// The engine with a driver whose cap is shared with other processes
// (throttle_scope="level"): it submits only what the cap takes, puts the rest back
// at the front of its queue, and asks again while the cap is full.
#include "engine/shared_capacity.hpp"

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
};

class CappedDriver final : public SchedulerDriver, public SharedCapacity {
 public:
  explicit CappedDriver(std::shared_ptr<Cap> cap) : cap_(std::move(cap)) {}
  std::string_view name() const override { return "capped"; }
  void submit(std::span<const JobRequest>) override {
    ADD_FAILURE() << "must go through submit_up_to";
  }
  std::size_t submit_up_to(std::span<const JobRequest> jobs) override {
    std::lock_guard lock(cap_->mutex);
    ++cap_->asked;
    const std::size_t take = std::min(cap_->room, jobs.size());
    for (std::size_t i = 0; i < take; ++i) cap_->submitted.push_back(jobs[i].task);
    cap_->room -= take;
    cap_->changed.notify_all();
    return take;
  }
  std::vector<DriverEvent> wait_events(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(20)));
    return {};
  }
  void remove(std::span<const JobKey>, std::string_view) override {}
  void remove_all(std::string_view) override {}
  void wake() override {}

 private:
  std::shared_ptr<Cap> cap_;
};

bool wait_for(Cap& cap, std::size_t submitted) {
  std::unique_lock lock(cap.mutex);
  return cap.changed.wait_for(lock, 5s, [&] { return cap.submitted.size() >= submitted; });
}

TEST(SharedCapacity, OnlyWhatTheSharedCapTakesIsSubmittedAndTheRestWaitsInOrder) {
  auto cap = std::make_shared<Cap>();
  cap->room = 2;
  Engine engine({.throttle = 10, .gather = {.quiet = 50ms}}, std::make_unique<CappedDriver>(cap));
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
  EXPECT_EQ(engine.stats().failed, 0u);
}

TEST(SharedCapacity, AFullCapIsAskedAgainAfterAPauseNotInABusyLoop) {
  auto cap = std::make_shared<Cap>();
  Engine engine({.throttle = 10}, std::make_unique<CappedDriver>(cap));
  engine.submit("/t/0.task", "/t/r");
  std::this_thread::sleep_for(1500ms);
  std::lock_guard lock(cap->mutex);
  EXPECT_GE(cap->asked, 1);
  EXPECT_LE(cap->asked, 4) << "asked a full cap " << cap->asked << " times in 1.5 s";
  EXPECT_TRUE(cap->submitted.empty());
}

}  // namespace
}  // namespace jhtc
