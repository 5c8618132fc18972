#include "store/ref_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

#include "store/sha256.hpp"

namespace jhtc {

ContentStore::RefWriter::RefWriter(const std::filesystem::path& batch_dir, unsigned file_mode)
    : path_(batch_dir / (store::unique_temp_name("") + ".refs")) {
  fd_ = store::Fd(::open(
      path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode));
  if (fd_.get() < 0) store::throw_errno(errno, "cannot create reference file", path_);
}

void ContentStore::RefWriter::add(const std::string& digest, std::uint64_t size) {
  if (recorded_.contains(digest)) return;
  const std::string line = digest + " " + std::to_string(size) + "\n";
  store::write_all(fd_.get(), std::as_bytes(std::span(line.data(), line.size())), path_);
  recorded_.insert(digest);
}

}  // namespace jhtc

namespace jhtc::store {

void check_batch_id(std::string_view batch_id) {
  bool ok = !batch_id.empty() && batch_id.size() <= 200 && batch_id.front() != '.';
  for (char c : batch_id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) throw std::invalid_argument("invalid batch id: '" + std::string(batch_id) + "'");
}

std::map<std::string, std::uint64_t> read_batch_refs(const std::filesystem::path& batch_dir) {
  std::map<std::string, std::uint64_t> refs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(batch_dir, ec)) {
    if (entry.path().extension() != ".refs") continue;
    std::ifstream in(entry.path());
    std::string digest;
    std::uint64_t size = 0;
    while (in >> digest >> size) {
      if (is_valid_digest(digest)) refs.emplace(digest, size);
    }
  }
  return refs;
}

}  // namespace jhtc::store
