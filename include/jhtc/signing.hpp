// Authenticated task and result files. A shared directory full of pickles is code
// execution for whoever can write to it, so every task and result file carries an
// HMAC-SHA256 under a per-user key and is verified before a single byte reaches
// the unpickler.
//
// Key: <key_dir>/<uid>/hmac.key, 32 random bytes, created once (the first writer
// wins, via link()), file 0600 and directory 0700, both owned by the user. It
// lives in the shared directory (<shared_data_dir>/.keys) so the user's jobs on
// every node can read it; nobody else can. A key file or directory that others
// can read or write, or that another user owns, is refused.
//
// Signed file layout (integers little-endian):
//   0  "JHTCSIG1" magic (8 bytes)
//   8  u16 version (1)      10 u16 kind (1 task, 2 result)    12 u32 reserved (0)
//   16 u64 payload length   24 payload   24+n HMAC-SHA256 of bytes [0, 24+n)
// Written to a temporary file in the same directory, fsynced, then renamed, so a
// reader sees the whole file or none of it.
//
// Thread-safety: SigningKey is immutable; the functions are safe to call
// concurrently. Failure: a file that fails a check throws jhtc::IntegrityError
// naming the path and the check (truncated, not a signed file, unsupported
// version, length mismatch, HMAC mismatch, wrong kind); I/O failures throw
// std::system_error naming the path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace jhtc {

enum class SignedKind : std::uint16_t { task = 1, result = 2 };

class SigningKey {
 public:
  static constexpr std::size_t kSize = 32;

  // Loads the user's key under `key_dir`, creating it if it does not exist, with
  // its directories: `key_dir` 0700, or 01770 (sticky, group-writable) with
  // `group_mode` so other users of the group can keep their own key there.
  static SigningKey load_or_create(const std::filesystem::path& key_dir, bool group_mode = false);
  // The path load_or_create() uses for the current user.
  static std::filesystem::path key_path(const std::filesystem::path& key_dir);
  static SigningKey from_bytes(std::span<const std::byte> bytes);  // exactly kSize bytes

  std::array<unsigned char, 32> hmac(std::span<const std::byte> data) const;

 private:
  std::array<std::byte, kSize> bytes_{};
};

// Writes `payload` as a signed file of `kind` at `path`; returns the file's size.
std::uint64_t write_signed_file(const std::filesystem::path& path, SignedKind kind,
                                std::span<const std::byte> payload, const SigningKey& key,
                                bool group_mode = false);

// Reads and verifies a signed file, returning its payload. `expected` empty
// accepts either kind.
std::vector<std::byte> read_signed_file(const std::filesystem::path& path, const SigningKey& key,
                                        std::span<const SignedKind> expected = {});

const char* to_string(SignedKind kind);

}  // namespace jhtc
