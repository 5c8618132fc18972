// Content-addressed blob store in the shared directory: every large buffer of a
// task or a result is written once, named by its SHA-256, and mapped read-only by
// whoever loads it.
//
//   <root>/sha256/ab/<64 hex>        a blob, immutable once renamed into place
//   <root>/sha256/ab/.tmp.*          a blob being written (stray ones are garbage)
//   <root>/refs/<batch>/owner        the batch's one owner record (batch_owner.hpp):
//                                    who runs it and where its jobs are; its mtime
//                                    is the owner's heartbeat
//   <root>/refs/<batch>/*.refs       "sha256-<hex> <size>" lines, one file per writer
//                                    process (the caller's tasks, each worker's result)
//   <root>/.lock                     flock: writers share it, release/GC take it alone
//
// A blob is deleted only when no batch references it. Writers record the reference
// before they check for the blob, under the shared lock, and the sweep runs under
// the exclusive lock, so a concurrent put is never swept. On NFS this relies on
// working file locks (NFSv4, or lockd for v3).
//
// Thread-safety: every member may be called from any thread, and any number of
// processes on any hosts may use the same root at once.
// Failure: I/O failures throw std::system_error naming the path; a blob whose
// content does not match its name throws jhtc::IntegrityError naming the path;
// a malformed digest or batch id throws std::invalid_argument.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "jhtc/batch_owner.hpp"
#include "jhtc/durability.hpp"

namespace jhtc {

// "sha256-<64 lowercase hex>" of `bytes`.
std::string sha256_digest(std::span<const std::byte> bytes);

// A read-only (or private copy-on-write) memory mapping of one blob. Movable,
// not copyable; the mapping lives until the object is destroyed, even if the blob
// file is deleted meanwhile.
class MappedBlob {
 public:
  MappedBlob() = default;
  MappedBlob(void* address, std::size_t size, bool writable, std::string digest,
             std::filesystem::path path);
  ~MappedBlob();
  MappedBlob(MappedBlob&& other) noexcept;
  MappedBlob& operator=(MappedBlob&& other) noexcept;
  MappedBlob(const MappedBlob&) = delete;
  MappedBlob& operator=(const MappedBlob&) = delete;

  const std::byte* data() const { return static_cast<const std::byte*>(address_); }
  std::byte* mutable_data() const;  // only for a writable (copy-on-write) mapping
  std::size_t size() const { return size_; }
  bool writable() const { return writable_; }
  const std::string& digest() const { return digest_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void* address_ = nullptr;  // nullptr for an empty blob
  std::size_t size_ = 0;
  bool writable_ = false;
  std::string digest_;
  std::filesystem::path path_;
};

// What collect_garbage() removed.
struct GarbageReport {
  std::size_t batches_removed = 0;
  std::size_t blobs_removed = 0;
  std::size_t temp_files_removed = 0;
  std::uint64_t bytes_freed = 0;
};

// Whether the batch of the store at `root` still lives, by OwnerRecord::is_dead
// (batch_owner.hpp). A batch without an owner record has been released, or
// collected as dead: gone. `unknown` when the store itself is missing or unreadable.
enum class OwnerState { alive, gone, unknown };
OwnerState batch_owner_state(const std::filesystem::path& root, std::string_view batch_id,
                             std::chrono::seconds stale_after);

class ContentStore {
 public:
  // Creates `root` and its subdirectories if needed, owner-only (0700, files 0600,
  // blobs 0400). Existing ones must be directories owned by the user and not
  // writable by group or others, else jhtc::UnsafePathError names the path, its
  // owner and mode. Every open of the lock file, and every blob before it is
  // mapped, is checked the same way on the opened descriptor.
  explicit ContentStore(std::filesystem::path root);
  ~ContentStore();
  ContentStore(const ContentStore&) = delete;
  ContentStore& operator=(const ContentStore&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // Stores `bytes` (once: an existing blob of that content is reused), records
  // that `batch_id` references it when batch_id is not empty, returns its digest.
  // `hint` is a digest the caller believes the bytes have (an identity cache):
  // if that blob exists the bytes are not hashed; otherwise they are hashed as
  // usual and the true digest is returned. `*written` (if given) tells whether
  // this call wrote a new blob.
  std::string put(std::span<const std::byte> bytes, std::string_view batch_id = {},
                  std::string_view hint = {}, bool* written = nullptr);

  // Where the blob of `digest` lives (whether or not it exists).
  std::filesystem::path path_of(std::string_view digest) const;
  bool contains(std::string_view digest) const;

  // Maps the blob. With `verify`, its SHA-256 is checked (and its size, when
  // `expected_size` is given) and a mismatch or a missing blob throws
  // IntegrityError naming the path. `writable` gives a private copy-on-write map.
  MappedBlob open_mapped(std::string_view digest, bool verify = true,
                         std::optional<std::uint64_t> expected_size = std::nullopt,
                         bool writable = false) const;

  // Declares this process the owner of `batch_id` unless a batch of that name is
  // already owned; returns true if this call made it the owner. The record says
  // what `about` says, naming this process (its `process` is ignored). An owned
  // batch is only looked at (a worker opening its caller's batch writes nothing).
  // `durability` is the owner record's (include/jhtc/durability.hpp).
  bool open_batch(std::string_view batch_id, Durability durability = Durability::crash_safe,
                  BatchOwner about = {});
  // The batch's owner record; nullopt when it has none (released, collected, not
  // yet opened) or it cannot be parsed.
  std::optional<OwnerRecord> owner_of(std::string_view batch_id) const;
  // Makes this process the owner of `batch_id` whoever owned it, its record saying
  // what `about` says (its `process` is ignored): a rerun adopting a killed run's jobs.
  void take_over(std::string_view batch_id, BatchOwner about,
                 Durability durability = Durability::crash_safe);
  // Marks the batch abandoned: it ended without removing its jobs, and is dead to
  // every reader whoever runs it, until the recovery removes its jobs and its
  // references. Takes no store lock (it may run in a signal handler). No-op when
  // the batch has no record.
  void mark_abandoned(std::string_view batch_id);
  // Refreshes the owner's heartbeat (other hosts judge liveness by it).
  void heartbeat(std::string_view batch_id);
  // Records references without storing anything (the blobs must exist).
  void add_refs(std::string_view batch_id,
                std::span<const std::pair<std::string, std::uint64_t>> digests);
  // Distinct digests the batch references, from every writer, with their sizes.
  std::vector<std::pair<std::string, std::uint64_t>> refs_of(std::string_view batch_id) const;
  // Bytes of the distinct blobs the batch references (a blob shared by two
  // batches counts in both).
  std::uint64_t bytes_held(std::string_view batch_id) const;

  // Drops the batch's references and deletes the blobs nobody else references.
  // Returns the bytes freed.
  std::uint64_t release(std::string_view batch_id);

  // Removes the references of dead batches (OwnerRecord::is_dead; no owner file
  // at all: directory older than `stale_after`), then unreferenced blobs and stray
  // temporary files. The batches in `keep` stay whatever their owner's state (a
  // killed run waiting to be resumed, or one a rerun adopted).
  GarbageReport collect_garbage(std::chrono::seconds stale_after,
                                const std::unordered_set<std::string>& keep = {});

 private:
  class RefWriter;
  RefWriter& writer_for(std::string_view batch_id);  // requires mutex_
  void record_ref(std::string_view batch_id, const std::string& digest, std::uint64_t size);
  std::string write_blob(std::span<const std::byte> bytes);
  void rewrite_owner(std::string_view batch_id, const BatchOwner& owner, Durability durability);
  std::unordered_set<std::string> all_referenced() const;
  std::uint64_t delete_if_unreferenced(const std::vector<std::string>& digests,
                                       const std::unordered_set<std::string>& referenced,
                                       std::size_t* removed);

  std::filesystem::path root_;
  std::mutex mutex_;  // guards writers_
  std::unordered_map<std::string, std::unique_ptr<RefWriter>> writers_;
};

}  // namespace jhtc
