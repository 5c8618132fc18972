// Authenticated task and result files. A shared directory full of pickles is code
// execution for whoever can write to it, so every task and result file carries an
// HMAC-SHA256 under a per-user key and is verified before a single byte reaches
// the unpickler. The HMAC also covers the file's identity (kind, run, batch, task,
// attempt), so a genuine file moved into another task's, batch's or run's place,
// or an older attempt's result, is refused as well.
//
// Key: <key_dir>/<uid>/hmac.key, 32 random bytes, created once (the first writer
// wins, via link()), file 0600 and directories 0700, all owned by the user. It
// lives in the shared directory (<shared_data_dir>/.keys) so the user's jobs on
// every node can read it; nobody else can. A key file or directory that others
// can read or write, or that another user owns, is refused.
//
// Signed file layout (integers little-endian):
//   0  "JHTCSIG1" magic (8 bytes)
//   8  u16 version (2)      10 u16 kind (1 task, 2 result, 3 cache entry)
//   12 u32 identity length m                  16 u64 payload length n
//   24 identity (m bytes, SignedIdentity::to_text)   24+m payload
//   24+m+n HMAC-SHA256 of bytes [0, 24+m+n)
// Written to a temporary file in the same directory, then renamed, so a reader sees
// the whole file or none of it; fsynced too unless the writer asks for
// Durability::atomic (include/jhtc/durability.hpp says who may).
//
// Reading opens with O_NOFOLLOW|O_NONBLOCK and refuses anything but a regular file
// (a symlink, FIFO, device or directory) and files above kMaxSignedFileBytes, so a
// planted FIFO cannot hang a reader nor a planted huge file exhaust its memory.
//
// Thread-safety: SigningKey and SignedIdentity are values; the functions are safe
// to call concurrently. Failure: a file that fails a check throws
// jhtc::IntegrityError naming the path and the check (not a regular file, too
// large, truncated, not a signed file, unsupported version, length mismatch, HMAC
// mismatch, wrong kind, identity mismatch saying which identity was expected and
// which was found); an identity that cannot be written (a field with a space,
// '=', a control character, or longer than 256 bytes) throws std::invalid_argument;
// I/O failures throw std::system_error naming the path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jhtc/durability.hpp"

namespace jhtc {

enum class SignedKind : std::uint16_t { task = 1, result = 2, cache_entry = 3 };

// Files larger than this are refused unread (a result cache entry holds a whole
// result in-band, so the bound is generous).
inline constexpr std::uint64_t kMaxSignedFileBytes = std::uint64_t{4} << 30;

// Whose file a signed file is: bound into its HMAC.
struct SignedIdentity {
  SignedKind kind = SignedKind::task;
  std::string run;    // root batch id of the run; "" for cache entries (they outlive runs)
  std::string batch;  // batch id; "" for cache entries
  std::string task;   // the task's name in its batch (its file's stem), or the cache key
  int attempt = -1;   // results: the attempt that wrote it; -1 for tasks and cache entries

  // Canonical text, one "field=value" per line; what the file stores and the HMAC covers.
  std::string to_text() const;
  // The inverse; nullopt for text that is not a canonical identity.
  static std::optional<SignedIdentity> from_text(std::string_view text);
  // For error messages: "result of task 3, attempt 1, batch B, run R".
  std::string describe() const;
  bool operator==(const SignedIdentity&) const = default;
};

class SigningKey {
 public:
  static constexpr std::size_t kSize = 32;

  // Loads the user's key under `key_dir`, creating it (and `key_dir`) owner-only
  // if it does not exist. An existing `key_dir` must be a directory owned by the
  // user and not writable by group or others.
  static SigningKey load_or_create(const std::filesystem::path& key_dir);
  // The path load_or_create() uses for the current user.
  static std::filesystem::path key_path(const std::filesystem::path& key_dir);
  static SigningKey from_bytes(std::span<const std::byte> bytes);  // exactly kSize bytes

  std::array<unsigned char, 32> hmac(std::span<const std::byte> data) const;

 private:
  std::array<std::byte, kSize> bytes_{};
};

// Writes `payload` as a signed file of `identity` at `path` (mode 0600); returns
// the file's size.
std::uint64_t write_signed_file(const std::filesystem::path& path, const SignedIdentity& identity,
                                std::span<const std::byte> payload, const SigningKey& key,
                                Durability durability = Durability::crash_safe);

// Reads and verifies a signed file that must carry exactly `expected`, returning
// its payload.
std::vector<std::byte> read_signed_file(const std::filesystem::path& path, const SigningKey& key,
                                        const SignedIdentity& expected);

const char* to_string(SignedKind kind);

}  // namespace jhtc
