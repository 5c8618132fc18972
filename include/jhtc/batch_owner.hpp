// The one owner record of a batch: which process runs it and where its jobs are,
// so that any other process can tell whether the batch still lives and, when it
// does not, remove its jobs. Readers: the next run's recovery and the cleanup
// command (Python's _recovery), a rerun that adopts a killed run's jobs (_resume),
// the store's garbage collector, and the monitor. One writer: ContentStore
// (content_store.hpp), at <store>/refs/<batch>/owner; its mtime is the heartbeat.
//
// On disk, two lines. The first is the store's record of earlier versions, which
// they still read: "host pid start_ticks boot_id pid_namespace". The second is a
// JSON object of the rest: {"lineage", "scheduler", "pool", "schedd",
// "event_log"[, "resume_grace_s"][, "abandoned"]}. parse_batch_owner also reads
// both earlier records: the store's first line alone, and a batch directory's
// owner.json (one JSON object holding the identity too).
//
// Pure values and functions; thread-safe. Never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jhtc/owner_identity.hpp"

namespace jhtc {

struct BatchOwner {
  OwnerIdentity process;  // who runs the batch; ContentStore fills it in
  std::string lineage;    // "<root batch>/.../<batch>": the JhtcLineage of its jobs
  std::string scheduler;  // "htcondor" or "local"; empty in a store-only record
  std::string pool;       // where the jobs are queued (empty: the local pool, schedd)
  std::string schedd;
  std::string event_log;                 // the jobs' event log, for a rerun that adopts them
  std::optional<double> resume_grace_s;  // a resume=True root batch waits this long
  bool abandoned = false;                // ended without removing its jobs: dead whoever runs
};

// A record as read back, with its heartbeat's age (seconds; < 0: unknown).
struct OwnerRecord {
  BatchOwner owner;
  double heartbeat_age_s = -1.0;

  // The one liveness rule of batches: abandoned, or its process not alive
  // (owner_is_alive: the pid where it means something, the heartbeat elsewhere).
  bool is_dead(double stale_after_s) const;
  // A root batch of a resume=True run, not abandoned, whose heartbeat is younger
  // than its resume_grace_s: a rerun may still adopt its jobs.
  bool waits_for_resume(std::string_view batch_id) const;
};

std::string format_batch_owner(const BatchOwner& owner);
// nullopt when the text is none of the three forms (or its identity is malformed).
std::optional<BatchOwner> parse_batch_owner(std::string_view text);

}  // namespace jhtc
