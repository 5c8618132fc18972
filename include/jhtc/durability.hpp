// Whether a file written atomically must also survive a crash of the machine.
//
// Every task, result and owner file is written to a temporary name and renamed into
// place, so a reader sees the whole file or none of it, whatever the durability.
// `crash_safe` adds an fsync of the file before the rename and of its directory after
// it: the file is on disk when the call returns. That costs a disk flush each (3 to
// 150 ms on a loaded shared machine) and buys something only where a file must outlive
// a crash of the writer's machine:
//   - HTCondor: jobs keep running on other hosts after the submit machine crashes,
//     and read the task files from the shared directory; results outlive a crashed
//     worker host; the batch's owner record keeps its blobs from another run's
//     garbage collection.
//   - Result cache entries (`resume=True`) exist to outlive a crash.
// `atomic` skips both fsyncs. The local scheduler writes its task, result and owner
// files this way: its jobs are children of the caller and every reader is on the same
// machine (the page cache is the file), so a crash that loses such a file also killed
// every process that would read it; a rerun writes a new batch, and the dead batch's
// leftovers are collected like any dead run's (an owner record lost with its batch
// reads as a dead owner).
//
// Thread-safety: a value. Counted: store::fsync_calls() (fs_util.hpp) for tests.
#pragma once

namespace jhtc {

enum class Durability {
  crash_safe,  // fsync the file before the rename and its directory after it
  atomic,      // temporary file and rename only: whole or absent, lost in a machine crash
};

}  // namespace jhtc
