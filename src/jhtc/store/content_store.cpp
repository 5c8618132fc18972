// Blobs: put, path_of, open_mapped. References and sweeping: store_refs.cpp.
#include "jhtc/content_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "jhtc/errors.hpp"
#include "store/fs_util.hpp"
#include "store/ref_writer.hpp"
#include "store/sha256.hpp"
#include "store/store_lock.hpp"

namespace jhtc {

namespace {

constexpr std::size_t kChunk = 4 << 20;

std::uint64_t file_size_or_max(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(st.st_size);
}

std::string hash_mapping(const std::byte* data, std::size_t size) {
  store::Sha256 hasher;
  for (std::size_t off = 0; off < size; off += kChunk) {
    hasher.update({data + off, std::min(kChunk, size - off)});
  }
  return hasher.finish_digest();
}

}  // namespace

MappedBlob::MappedBlob(void* address, std::size_t size, bool writable, std::string digest,
                       std::filesystem::path path)
    : address_(address),
      size_(size),
      writable_(writable),
      digest_(std::move(digest)),
      path_(std::move(path)) {}

MappedBlob::~MappedBlob() {
  if (address_ != nullptr) ::munmap(address_, size_);
}

MappedBlob::MappedBlob(MappedBlob&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      writable_(other.writable_),
      digest_(std::move(other.digest_)),
      path_(std::move(other.path_)) {}

MappedBlob& MappedBlob::operator=(MappedBlob&& other) noexcept {
  if (this != &other) {
    if (address_ != nullptr) ::munmap(address_, size_);
    address_ = std::exchange(other.address_, nullptr);
    size_ = std::exchange(other.size_, 0);
    writable_ = other.writable_;
    digest_ = std::move(other.digest_);
    path_ = std::move(other.path_);
  }
  return *this;
}

std::byte* MappedBlob::mutable_data() const {
  if (!writable_) throw std::logic_error("blob mapped read-only: " + path_.string());
  return static_cast<std::byte*>(address_);
}

ContentStore::ContentStore(std::filesystem::path root) : root_(std::move(root)) {
  const unsigned mode = store::kPrivateDirMode;
  store::make_dirs(root_, mode);
  store::make_dirs(root_ / "sha256", mode);
  store::make_dirs(root_ / "refs", mode);
}

ContentStore::~ContentStore() = default;

std::filesystem::path ContentStore::path_of(std::string_view digest) const {
  store::check_digest(digest);
  const auto hex = digest.substr(store::kDigestPrefix.size());
  return root_ / "sha256" / std::string(hex.substr(0, 2)) / std::string(hex);
}

bool ContentStore::contains(std::string_view digest) const {
  return file_size_or_max(path_of(digest)) != UINT64_MAX;
}

std::string ContentStore::put(std::span<const std::byte> bytes, std::string_view batch_id,
                              std::string_view hint, bool* written) {
  store::StoreLock lock(root_, store::StoreLock::Mode::shared);
  std::string digest;
  if (written != nullptr) *written = false;
  if (store::is_valid_digest(hint) && file_size_or_max(path_of(hint)) == bytes.size()) {
    digest = hint;
  } else {
    digest = sha256_digest(bytes);
    // A blob of the wrong size is a damaged copy: write it again.
    if (file_size_or_max(path_of(digest)) != bytes.size()) {
      digest = write_blob(bytes);
      if (written != nullptr) *written = true;
    }
  }
  if (!batch_id.empty()) record_ref(batch_id, digest, bytes.size());
  return digest;
}

// Writes through a private chunk buffer so that the bytes hashed are exactly the
// bytes written even if the caller's memory changes meanwhile; the blob is named
// after what was written.
std::string ContentStore::write_blob(std::span<const std::byte> bytes) {
  const auto dir_mode = store::kPrivateDirMode;
  const auto blob_mode = 0400u;  // immutable once named
  std::vector<std::byte> chunk(std::min(kChunk, std::max<std::size_t>(bytes.size(), 1)));
  store::Sha256 hasher;
  const auto tmp_dir = root_ / "sha256";
  const auto temp = tmp_dir / store::unique_temp_name(".tmp.");
  store::Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, blob_mode));
  if (fd.get() < 0) store::throw_errno(errno, "cannot create", temp);
  try {
    for (std::size_t off = 0; off < bytes.size(); off += chunk.size()) {
      const std::size_t n = std::min(chunk.size(), bytes.size() - off);
      std::memcpy(chunk.data(), bytes.data() + off, n);
      hasher.update({chunk.data(), n});
      store::write_all(fd.get(), {chunk.data(), n}, temp);
    }
    if (::fchmod(fd.get(), blob_mode) != 0) store::throw_errno(errno, "cannot chmod", temp);
    if (store::fsync_counted(fd.get()) != 0) store::throw_errno(errno, "cannot fsync", temp);
    if (::close(fd.release()) != 0) store::throw_errno(errno, "cannot close", temp);
    std::string digest = hasher.finish_digest();  // not const: returned by move
    const auto final_path = path_of(digest);
    store::make_dirs(final_path.parent_path(), dir_mode);
    // Two writers of the same content both rename; either file is the same bytes.
    if (::rename(temp.c_str(), final_path.c_str()) != 0) {
      store::throw_errno(errno, "cannot rename onto", final_path);
    }
    store::fsync_dir(final_path.parent_path());
    return digest;
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

MappedBlob ContentStore::open_mapped(std::string_view digest, bool verify,
                                     std::optional<std::uint64_t> expected_size,
                                     bool writable) const {
  const auto path = path_of(digest);
  struct stat st {};
  store::Fd fd;
  try {
    fd = store::open_regular_file(path, "blob", &st);
  } catch (const std::system_error& error) {
    if (error.code().value() == ENOENT)
      throw IntegrityError("blob missing: '" + path.string() + "'");
    throw;
  }
  // Checked on the opened file: a blob another user owns (or may write) could be
  // rewritten under the mapping after its hash was verified.
  store::check_owned(path, st, false);
  const auto size = static_cast<std::size_t>(st.st_size);
  if (expected_size && *expected_size != size) {
    throw IntegrityError("blob '" + path.string() + "' has " + std::to_string(size) +
                         " bytes, expected " + std::to_string(*expected_size) +
                         (size < *expected_size ? " (truncated)" : " (size mismatch)"));
  }
  void* address = nullptr;
  if (size > 0) {
    const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    address = ::mmap(nullptr, size, prot, writable ? MAP_PRIVATE : MAP_SHARED, fd.get(), 0);
    if (address == MAP_FAILED) store::throw_errno(errno, "cannot map blob", path);
  }
  MappedBlob blob(address, size, writable, std::string(digest), path);
  if (verify) {
    const std::string actual = hash_mapping(blob.data(), size);
    if (actual != digest) {
      throw IntegrityError("blob '" + path.string() +
                           "' is corrupted or truncated: content hashes to " + actual + " (" +
                           std::to_string(size) + " bytes)");
    }
  }
  return blob;
}

}  // namespace jhtc
