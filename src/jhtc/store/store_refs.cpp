// References, batch ownership, release and garbage collection of ContentStore.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "jhtc/content_store.hpp"
#include "jhtc/owner_identity.hpp"
#include "store/fs_util.hpp"
#include "store/ref_writer.hpp"
#include "store/sha256.hpp"
#include "store/store_lock.hpp"

namespace jhtc {

namespace {

std::optional<OwnerRecord> read_owner_record(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return std::nullopt;
  auto owner = parse_batch_owner(text.str());
  if (!owner) return std::nullopt;
  return OwnerRecord{std::move(*owner), store::age_seconds(path)};
}

// The owner record's text, written to `path` atomically (whole or absent).
void write_owner_file(const std::filesystem::path& path, const BatchOwner& owner,
                      Durability durability) {
  const std::string record = format_batch_owner(owner);
  const std::span<const std::byte> parts[] = {
      std::as_bytes(std::span(record.data(), record.size()))};
  store::write_file_atomically(path, parts, store::kPrivateFileMode, durability);
}

bool batch_is_dead(const std::filesystem::path& batch_dir, double stale_after_s) {
  const auto record = read_owner_record(batch_dir / "owner");
  if (!record) return store::age_seconds(batch_dir) > stale_after_s;
  return record->is_dead(stale_after_s);
}

}  // namespace

OwnerState batch_owner_state(const std::filesystem::path& root, std::string_view batch_id,
                             std::chrono::seconds stale_after) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root / "refs", ec)) return OwnerState::unknown;
  const auto batch_dir = root / "refs" / std::string(batch_id);
  if (!std::filesystem::exists(batch_dir / "owner", ec)) return OwnerState::gone;
  return batch_is_dead(batch_dir, static_cast<double>(stale_after.count())) ? OwnerState::gone
                                                                            : OwnerState::alive;
}

ContentStore::RefWriter& ContentStore::writer_for(std::string_view batch_id) {
  auto it = writers_.find(std::string(batch_id));
  if (it != writers_.end()) return *it->second;
  const auto dir = root_ / "refs" / std::string(batch_id);
  store::make_dirs(dir, store::kPrivateDirMode);
  auto writer = std::make_unique<RefWriter>(dir, store::kPrivateFileMode);
  return *writers_.emplace(std::string(batch_id), std::move(writer)).first->second;
}

void ContentStore::record_ref(std::string_view batch_id, const std::string& digest,
                              std::uint64_t size) {
  store::check_batch_id(batch_id);
  std::lock_guard guard(mutex_);
  writer_for(batch_id).add(digest, size);
}

bool ContentStore::open_batch(std::string_view batch_id, Durability durability, BatchOwner about) {
  store::check_batch_id(batch_id);
  store::StoreLock lock(root_, store::StoreLock::Mode::shared);
  const auto dir = root_ / "refs" / std::string(batch_id);
  store::make_dirs(dir, store::kPrivateDirMode);
  // Owned already (a worker opening its caller's batch): link() below would fail with
  // EEXIST, so writing a record to offer it buys nothing.
  struct stat owner {};
  if (::lstat((dir / "owner").c_str(), &owner) == 0) return false;
  const auto temp = dir / store::unique_temp_name(".owner.tmp.");
  about.process = this_process_identity();
  write_owner_file(temp, about, durability);
  // link() fails if the owner exists: the first process to claim the batch keeps it.
  const bool claimed = ::link(temp.c_str(), (dir / "owner").c_str()) == 0;
  const int err = errno;
  ::unlink(temp.c_str());
  if (!claimed && err != EEXIST) store::throw_errno(err, "cannot claim batch", dir / "owner");
  return claimed;
}

std::optional<OwnerRecord> ContentStore::owner_of(std::string_view batch_id) const {
  store::check_batch_id(batch_id);
  return read_owner_record(root_ / "refs" / std::string(batch_id) / "owner");
}

void ContentStore::rewrite_owner(std::string_view batch_id, const BatchOwner& owner,
                                 Durability durability) {
  // Replaced whole by a rename: a reader sees the old record or the new one.
  write_owner_file(root_ / "refs" / std::string(batch_id) / "owner", owner, durability);
}

void ContentStore::take_over(std::string_view batch_id, BatchOwner about, Durability durability) {
  store::check_batch_id(batch_id);
  store::make_dirs(root_ / "refs" / std::string(batch_id), store::kPrivateDirMode);
  about.process = this_process_identity();
  rewrite_owner(batch_id, about, durability);
}

void ContentStore::mark_abandoned(std::string_view batch_id) {
  auto record = owner_of(batch_id);
  if (!record || record->owner.abandoned) return;
  record->owner.abandoned = true;
  rewrite_owner(batch_id, record->owner, Durability::crash_safe);
}

void ContentStore::heartbeat(std::string_view batch_id) {
  store::check_batch_id(batch_id);
  store::touch(root_ / "refs" / std::string(batch_id) / "owner");
}

void ContentStore::add_refs(std::string_view batch_id,
                            std::span<const std::pair<std::string, std::uint64_t>> digests) {
  store::StoreLock lock(root_, store::StoreLock::Mode::shared);
  for (const auto& [digest, size] : digests) {
    if (!contains(digest)) {
      throw std::invalid_argument("cannot reference a missing blob: " + path_of(digest).string());
    }
    record_ref(batch_id, digest, size);
  }
}

std::vector<std::pair<std::string, std::uint64_t>> ContentStore::refs_of(
    std::string_view batch_id) const {
  store::check_batch_id(batch_id);
  const auto refs = store::read_batch_refs(root_ / "refs" / std::string(batch_id));
  return {refs.begin(), refs.end()};
}

std::uint64_t ContentStore::bytes_held(std::string_view batch_id) const {
  std::uint64_t total = 0;
  for (const auto& [digest, size] : refs_of(batch_id)) total += size;
  return total;
}

std::unordered_set<std::string> ContentStore::all_referenced() const {
  std::unordered_set<std::string> referenced;
  for (const auto& batch : std::filesystem::directory_iterator(root_ / "refs")) {
    if (!batch.is_directory()) continue;
    for (auto& [digest, size] : store::read_batch_refs(batch.path())) referenced.insert(digest);
  }
  return referenced;
}

std::uint64_t ContentStore::delete_if_unreferenced(
    const std::vector<std::string>& digests, const std::unordered_set<std::string>& referenced,
    std::size_t* removed) {
  std::uint64_t freed = 0;
  for (const auto& digest : digests) {
    if (referenced.contains(digest)) continue;
    const auto path = path_of(digest);
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    // A failure (already gone, NFS silly-renamed) leaves the blob for a later sweep.
    if (!ec && std::filesystem::remove(path, ec)) {
      freed += size;
      if (removed != nullptr) ++*removed;
    }
  }
  return freed;
}

std::uint64_t ContentStore::release(std::string_view batch_id) {
  store::check_batch_id(batch_id);
  store::StoreLock lock(root_, store::StoreLock::Mode::exclusive);
  const auto dir = root_ / "refs" / std::string(batch_id);
  std::vector<std::string> digests;
  for (auto& [digest, size] : store::read_batch_refs(dir)) digests.push_back(digest);
  {
    std::lock_guard guard(mutex_);
    writers_.erase(std::string(batch_id));
  }
  std::filesystem::remove_all(dir);
  return delete_if_unreferenced(digests, all_referenced(), nullptr);
}

GarbageReport ContentStore::collect_garbage(std::chrono::seconds stale_after,
                                            const std::unordered_set<std::string>& keep) {
  store::StoreLock lock(root_, store::StoreLock::Mode::exclusive);
  GarbageReport report;
  const auto stale_s = static_cast<double>(stale_after.count());
  for (const auto& batch : std::filesystem::directory_iterator(root_ / "refs")) {
    if (!batch.is_directory() || keep.contains(batch.path().filename().string()) ||
        !batch_is_dead(batch.path(), stale_s))
      continue;
    std::error_code ec;
    std::filesystem::remove_all(batch.path(), ec);
    if (!ec) ++report.batches_removed;
  }
  const auto referenced = all_referenced();
  std::vector<std::string> unreferenced;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root_ / "sha256", ec)) {
    if (!entry.is_regular_file()) continue;
    const auto name = entry.path().filename().string();
    if (name.starts_with(".tmp.")) {
      // Under the exclusive lock no writer is active: every temporary file is stray.
      std::error_code rm;
      if (std::filesystem::remove(entry.path(), rm)) ++report.temp_files_removed;
    } else if (store::is_valid_digest(std::string(store::kDigestPrefix) + name)) {
      std::string digest = std::string(store::kDigestPrefix) + name;
      if (!referenced.contains(digest)) unreferenced.push_back(std::move(digest));
    }
  }
  report.bytes_freed = delete_if_unreferenced(unreferenced, referenced, &report.blobs_removed);
  return report;
}

}  // namespace jhtc
