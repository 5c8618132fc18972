// DiskBudget: see disk_budget.hpp.
#include "engine/disk_budget.hpp"

#include <algorithm>

namespace jhtc {

bool DiskBudget::fits(const DiskCost& cost) const {
  if (limit_ == 0) return true;
  const std::uint64_t need = cost.files + cost.blobs;
  return held() <= limit_ && need <= limit_ - held();
}

void DiskBudget::take_room(Entry& entry) {
  entry.admitted = true;
  files_ += entry.cost.files;
  blobs_ += entry.cost.blobs;
}

bool DiskBudget::request(TaskId task, DiskCost estimate) {
  Entry& entry = entries_[task];
  entry.cost = estimate;
  // Behind a waiting task, even a small one waits: first come, first served.
  if (waiting_.empty() && fits(estimate)) {
    take_room(entry);
    return true;
  }
  waiting_.push_back(task);
  return false;
}

void DiskBudget::settle(TaskId task, DiskCost actual) {
  auto it = entries_.find(task);
  if (it == entries_.end() || !it->second.admitted) {
    blobs_ += actual.blobs;  // ended meanwhile; its blobs are on disk all the same
    return;
  }
  Entry& entry = it->second;
  files_ = files_ - entry.cost.files + actual.files;
  blobs_ = blobs_ - entry.cost.blobs + actual.blobs;
  entry.cost = actual;
}

void DiskBudget::release(TaskId task) {
  auto it = entries_.find(task);
  if (it == entries_.end()) return;
  if (it->second.admitted) {
    files_ -= it->second.cost.files;
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), task));
  }
  entries_.erase(it);
}

std::vector<TaskId> DiskBudget::admit() {
  std::vector<TaskId> admitted;
  while (!waiting_.empty()) {
    Entry& entry = entries_.at(waiting_.front());
    if (!fits(entry.cost)) break;
    take_room(entry);
    admitted.push_back(waiting_.front());
    waiting_.pop_front();
  }
  return admitted;
}

std::optional<TaskId> DiskBudget::first_that_never_fits() const {
  if (limit_ == 0 || waiting_.empty()) return std::nullopt;
  const DiskCost& cost = entries_.at(waiting_.front()).cost;
  const std::uint64_t room = limit_ > blobs_ ? limit_ - blobs_ : 0;
  if (cost.files + cost.blobs > room) return waiting_.front();
  return std::nullopt;
}

std::uint64_t DiskBudget::cost_of(TaskId task) const {
  auto it = entries_.find(task);
  return it == entries_.end() ? 0 : it->second.cost.files + it->second.cost.blobs;
}

}  // namespace jhtc
