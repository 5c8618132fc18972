// The shared-directory ledger of one engine (max_shared_disk): how many bytes the
// batch has put in the shared directory, and which tasks may write theirs now.
//
// A task costs its files (the task file: freed when the task ends) and the data
// blobs it is the first of the batch to need (held until the batch ends, because
// later tasks and the results may reference them). A task is admitted when its
// cost fits in what the limit leaves; admission is first come, first served, so a
// large task is not starved by a stream of small ones behind it.
//
// Not thread-safe: the engine calls it with its mutex held.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "jhtc/engine.hpp"

namespace jhtc {

class DiskBudget {
 public:
  explicit DiskBudget(std::uint64_t limit) : limit_(limit) {}  // 0: no limit

  // Records the task's estimated cost; true if it is admitted now.
  bool request(TaskId task, DiskCost estimate);
  // The task's files are written: `actual` replaces the estimate.
  void settle(TaskId task, DiskCost actual);
  // The task ended: its files are gone (or never came). Blobs stay.
  void release(TaskId task);
  // Blobs that reached the shared directory outside a request (large results).
  void add_blobs(std::uint64_t bytes) { blobs_ += bytes; }

  // Waiting tasks that fit now, in arrival order; they count as admitted.
  std::vector<TaskId> admit();
  // The first waiting task if it can never fit: its cost exceeds what the limit
  // leaves beside the blobs, which stay until the batch ends.
  std::optional<TaskId> first_that_never_fits() const;

  std::uint64_t held() const { return blobs_ + files_; }
  std::uint64_t blobs() const { return blobs_; }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t cost_of(TaskId task) const;  // 0 for an unknown task

 private:
  struct Entry {
    DiskCost cost;
    bool admitted = false;
  };
  bool fits(const DiskCost& cost) const;
  void take_room(Entry& entry);  // counts an admitted entry's cost

  std::uint64_t limit_;
  std::uint64_t blobs_ = 0;  // blobs of admitted tasks: held until the batch ends
  std::uint64_t files_ = 0;  // files of admitted, unfinished tasks
  std::unordered_map<TaskId, Entry> entries_;
  std::deque<TaskId> waiting_;
};

}  // namespace jhtc
