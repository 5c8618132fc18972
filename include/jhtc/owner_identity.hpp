// Who owns a batch, and the one rule that says whether that process still runs.
// Both owner records use it: the store's refs/<batch>/owner (store_refs.cpp) and
// the batch directory's owner.json (Python's _recovery, through the binding).
//
// A pid means something only where it was taken: on the same host, in the same
// boot and the same PID namespace. There the pid must exist with its recorded
// start time. Anywhere else (a job on another node, another PID namespace or
// container with the same host name, a reboot) the owner is alive while its
// heartbeat (the record's mtime, refreshed every minute) is younger than the
// stale bound. Records of older versions carry no boot id or namespace: on the
// same host their pid is judged as before.
//
// Thread-safe (reads /proc only). Never throws: what cannot be read is unknown.
#pragma once

#include <cstdint>
#include <string>

namespace jhtc {

struct OwnerIdentity {
  std::string host;
  long pid = 0;
  std::uint64_t start_ticks = 0;    // 0: unknown (then the pid's existence decides)
  std::string boot_id;              // /proc/sys/kernel/random/boot_id; empty: unknown
  std::uint64_t pid_namespace = 0;  // inode of /proc/self/ns/pid; 0: unknown
};

// This process, as an owner record describes it.
OwnerIdentity this_process_identity();

// `heartbeat_age_s`: seconds since the record was refreshed (< 0: no record time).
bool owner_is_alive(const OwnerIdentity& owner, double heartbeat_age_s, double stale_after_s);

}  // namespace jhtc
