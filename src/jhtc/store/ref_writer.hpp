// Reference records of a batch: <root>/refs/<batch>/<host>.<pid>.<n>.<rand>.refs,
// one file per writing ContentStore, appended one whole line per write()
// ("sha256-<hex> <size>\n"). Each file has a single writer, so appends never
// interleave even on NFS; a torn last line (a writer killed mid-write) is skipped
// by the reader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>

#include "jhtc/content_store.hpp"
#include "store/fs_util.hpp"

namespace jhtc {

class ContentStore::RefWriter {
 public:
  RefWriter(const std::filesystem::path& batch_dir, unsigned file_mode);
  // Appends the reference unless this writer already recorded it.
  void add(const std::string& digest, std::uint64_t size);

 private:
  std::filesystem::path path_;
  store::Fd fd_;
  std::unordered_set<std::string> recorded_;
};

}  // namespace jhtc

namespace jhtc::store {

// Throws std::invalid_argument unless `batch_id` is a safe single path component
// ([A-Za-z0-9._-], not starting with '.', at most 200 characters).
void check_batch_id(std::string_view batch_id);

// Distinct digests (with sizes) listed by every *.refs file of `batch_dir`.
std::map<std::string, std::uint64_t> read_batch_refs(const std::filesystem::path& batch_dir);

}  // namespace jhtc::store
