#include "journal/run_tail.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "jhtc/content_store.hpp"

namespace fs = std::filesystem;

namespace jhtc {

RunTail::RunTail(const std::string& journal_dir, std::string root_batch_id)
    : run_dir_((fs::path(journal_dir) / root_batch_id).string()),
      store_dir_((fs::path(journal_dir).parent_path() / "store").string()),
      summary_(std::move(root_batch_id)) {}

void RunTail::check_owners() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_owner_check_ < kOwnerCheckInterval) return;
  last_owner_check_ = now;
  const double wall_now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> gone;
  for (const BatchSummary* batch : summary_.unfinished()) {
    if (wall_now - batch->started_ts < kOwnerGraceSeconds) continue;
    if (batch_owner_state(store_dir_, batch->batch_id, kHeartbeatStaleAfter) == OwnerState::gone)
      gone.push_back(batch->batch_id);
  }
  for (const std::string& id : gone) summary_.mark_owner_gone(id);
}

std::size_t RunTail::poll(std::size_t max_bytes) {
  std::size_t applied = 0;
  std::size_t budget = max_bytes;
  caught_up_ = true;
  std::error_code ec;
  fs::directory_iterator it(run_dir_, ec), end;
  // The root's own journal first, so its batch_started dates the run early on.
  std::vector<std::pair<std::string, std::uint64_t>> found;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".jsonl") continue;
    std::error_code size_ec;
    std::uint64_t size = it->file_size(size_ec);
    if (!size_ec) found.emplace_back(path.stem().string(), size);
  }
  std::stable_partition(found.begin(), found.end(),
                        [&](const auto& f) { return f.first == summary_.root_batch_id(); });
  for (const auto& [batch_id, size] : found) {
    File& file = files_[batch_id];
    if (size <= file.offset) continue;  // nothing new (a shrunk file is not a journal any more)
    if (budget == 0) {
      caught_up_ = false;
      break;
    }
    std::string path = (fs::path(run_dir_) / (batch_id + ".jsonl")).string();
    applied += read_file(path, batch_id, file, size, budget);
  }
  if (caught_up_) check_owners();  // a batch_finished still unread would be misjudged
  return applied;
}

std::size_t RunTail::read_file(const std::string& path, const std::string& batch_id, File& file,
                               std::uint64_t size, std::size_t& budget) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t applied = 0;
  std::string buffer(1 << 20, '\0');
  while (file.offset < size && budget > 0) {
    std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(size - file.offset, buffer.size()));
    want = std::min(want, budget);
    ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(file.offset));
    if (got <= 0) break;
    file.offset += static_cast<std::uint64_t>(got);
    bytes_read_ += static_cast<std::uint64_t>(got);
    budget -= static_cast<std::size_t>(got);
    for (const JournalEvent& event : file.reader.feed(std::string_view(buffer.data(), got))) {
      summary_.apply(batch_id, event);
      if (listener_) listener_(batch_id, event);
      ++applied;
    }
  }
  if (file.offset < size) caught_up_ = false;
  ::close(fd);
  return applied;
}

std::size_t RunTail::corrupt_lines() const {
  std::size_t n = 0;
  for (const auto& [id, file] : files_) n += file.reader.corrupt_lines();
  return n;
}

std::string RunTail::last_warning() const {
  std::string warning;
  for (const auto& [id, file] : files_) {
    if (!file.reader.last_warning().empty()) warning = id + ".jsonl: " + file.reader.last_warning();
  }
  return warning;
}

std::vector<std::string> list_root_batches(const std::string& journal_dir) {
  std::vector<std::string> roots;
  std::error_code ec;
  fs::directory_iterator it(journal_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code dir_ec;
    if (it->is_directory(dir_ec)) roots.push_back(it->path().filename().string());
  }
  std::sort(roots.begin(), roots.end());
  return roots;
}

}  // namespace jhtc
