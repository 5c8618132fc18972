#include "jhtc/signing.hpp"

#include <fcntl.h>
#ifdef JHTC_LIBCRYPTO_ABI_ONLY
#include "store/libcrypto_abi.h"  // OpenSSL's runtime library without its headers
#else
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "jhtc/errors.hpp"
#include "store/fs_util.hpp"

namespace jhtc {

namespace {

constexpr char kMagic[8] = {'J', 'H', 'T', 'C', 'S', 'I', 'G', '1'};
constexpr std::uint16_t kVersion = 2;
constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kMacSize = 32;
constexpr std::size_t kMaxField = 256;
constexpr std::size_t kMaxIdentity = 4 * kMaxField + 64;

template <typename T>
void put_le(std::byte* out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = std::byte((value >> (8 * i)) & 0xff);
}

template <typename T>
T get_le(const std::byte* in) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    value |= T(std::to_integer<unsigned>(in[i])) << (8 * i);
  return value;
}

void check_field(const char* name, const std::string& value) {
  if (value.size() > kMaxField) {
    throw std::invalid_argument(std::string("signed identity: ") + name +
                                " is longer than 256 bytes");
  }
  for (const char c : value) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '=' || c == 0x7f) {
      throw std::invalid_argument(std::string("signed identity: ") + name + " '" + value +
                                  "' has a space, '=' or control character");
    }
  }
}

// Which part of the identity differs, as the refusal says it.
std::string moved_from(const SignedIdentity& expected, const SignedIdentity& found) {
  if (expected.kind != found.kind) return "a file of another kind";
  if (expected.run != found.run) return "a file moved from another run";
  if (expected.batch != found.batch) return "a file moved from another batch";
  if (expected.task != found.task) {
    return expected.kind == SignedKind::cache_entry ? "a file moved from another cache entry"
                                                    : "a file moved from another task";
  }
  if (found.attempt < expected.attempt) return "an older attempt's result replayed";
  return "a file of another attempt";
}

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& check) {
  throw IntegrityError("refusing '" + path.string() + "': " + check);
}

// The key is a credential: anyone who can read it can forge tasks, anyone who can
// replace it (a writable directory) can too.
void check_private(const std::filesystem::path& path, bool is_dir) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) store::throw_errno(errno, "cannot stat", path);
  const char* what = is_dir ? "key directory" : "key file";
  if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    refuse(path, std::string(what) + " is not a " + (is_dir ? "directory" : "regular file"));
  }
  if (st.st_uid != ::geteuid()) refuse(path, std::string(what) + " is not owned by the user");
  if ((st.st_mode & 077) != 0) {
    refuse(path, std::string(what) + " is accessible to group or others (mode " +
                     std::to_string((st.st_mode & 0777) >> 6) +
                     std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                     "); it must be owner-only");
  }
}

SigningKey read_key(const std::filesystem::path& path) {
  check_private(path.parent_path(), true);
  check_private(path, false);
  store::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) store::throw_errno(errno, "cannot open key", path);
  std::byte buf[SigningKey::kSize + 1];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n != static_cast<ssize_t>(SigningKey::kSize)) refuse(path, "key file has the wrong size");
  return SigningKey::from_bytes({buf, SigningKey::kSize});
}

}  // namespace

std::filesystem::path SigningKey::key_path(const std::filesystem::path& key_dir) {
  return key_dir / std::to_string(::geteuid()) / "hmac.key";
}

SigningKey SigningKey::load_or_create(const std::filesystem::path& key_dir) {
  store::make_dirs(key_dir, store::kPrivateDirMode);
  const auto path = key_path(key_dir);
  store::make_dirs(path.parent_path(), store::kPrivateDirMode);
  if (::access(path.c_str(), F_OK) != 0) {
    std::byte fresh[kSize];
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh), kSize) != 1) {
      throw std::runtime_error("OpenSSL: cannot generate a signing key");
    }
    const auto temp = path.parent_path() / store::unique_temp_name(".key.tmp.");
    const std::span<const std::byte> parts[] = {{fresh, kSize}};
    store::write_file_atomically(temp, parts, store::kPrivateFileMode);
    // link() never replaces: when two jobs race, both end up with the winner's key.
    if (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
      const int err = errno;
      ::unlink(temp.c_str());
      store::throw_errno(err, "cannot create key", path);
    }
    ::unlink(temp.c_str());
    OPENSSL_cleanse(fresh, kSize);
  }
  return read_key(path);
}

SigningKey SigningKey::from_bytes(std::span<const std::byte> bytes) {
  if (bytes.size() != kSize) throw std::invalid_argument("a signing key has 32 bytes");
  SigningKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kSize);
  return key;
}

std::array<unsigned char, 32> SigningKey::hmac(std::span<const std::byte> data) const {
  std::array<unsigned char, 32> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), bytes_.data(), kSize, reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), mac.data(), &len) == nullptr ||
      len != mac.size()) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  }
  return mac;
}

const char* to_string(SignedKind kind) {
  switch (kind) {
    case SignedKind::task:
      return "task";
    case SignedKind::result:
      return "result";
    case SignedKind::cache_entry:
      return "cache entry";
  }
  return "unknown";
}

std::string SignedIdentity::to_text() const {
  check_field("run", run);
  check_field("batch", batch);
  check_field("task", task);
  return std::string("kind=") + std::to_string(static_cast<unsigned>(kind)) + "\nrun=" + run +
         "\nbatch=" + batch + "\ntask=" + task + "\nattempt=" + std::to_string(attempt) + "\n";
}

std::optional<SignedIdentity> SignedIdentity::from_text(std::string_view text) {
  static constexpr std::string_view kFields[] = {"kind", "run", "batch", "task", "attempt"};
  std::string values[5];
  for (std::size_t i = 0; i < 5; ++i) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    const auto line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (!line.starts_with(kFields[i]) || line.size() <= kFields[i].size() ||
        line[kFields[i].size()] != '=') {
      return std::nullopt;
    }
    values[i] = std::string(line.substr(kFields[i].size() + 1));
  }
  if (!text.empty()) return std::nullopt;
  SignedIdentity id;
  try {
    const auto kind = std::stoul(values[0]);
    if (kind < 1 || kind > 3) return std::nullopt;
    id.kind = static_cast<SignedKind>(kind);
    id.attempt = std::stoi(values[4]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  id.run = values[1];
  id.batch = values[2];
  id.task = values[3];
  return id;
}

std::string SignedIdentity::describe() const {
  if (kind == SignedKind::cache_entry) return "cache entry '" + task + "'";
  std::string text = std::string(to_string(kind)) + " of task '" + task + "'";
  if (attempt >= 0) text += ", attempt " + std::to_string(attempt);
  return text + ", batch '" + batch + "', run '" + run + "'";
}

std::uint64_t write_signed_file(const std::filesystem::path& path, const SignedIdentity& identity,
                                std::span<const std::byte> payload, const SigningKey& key,
                                Durability durability) {
  const std::string id = identity.to_text();
  const std::size_t body = kHeaderSize + id.size() + payload.size();
  std::vector<std::byte> file(body + kMacSize);
  std::memcpy(file.data(), kMagic, sizeof kMagic);
  put_le<std::uint16_t>(file.data() + 8, kVersion);
  put_le<std::uint16_t>(file.data() + 10, static_cast<std::uint16_t>(identity.kind));
  put_le<std::uint32_t>(file.data() + 12, static_cast<std::uint32_t>(id.size()));
  put_le<std::uint64_t>(file.data() + 16, payload.size());
  std::memcpy(file.data() + kHeaderSize, id.data(), id.size());
  if (!payload.empty())
    std::memcpy(file.data() + kHeaderSize + id.size(), payload.data(), payload.size());
  const auto mac = key.hmac({file.data(), body});
  std::memcpy(file.data() + body, mac.data(), kMacSize);
  const std::span<const std::byte> parts[] = {file};
  store::write_file_atomically(path, parts, store::kPrivateFileMode, durability);
  return file.size();
}

namespace {

std::vector<std::byte> read_bounded(const std::filesystem::path& path) {
  struct stat st {};
  store::Fd fd = store::open_regular_file(path, "signed file", &st);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxSignedFileBytes) {
    refuse(path, "too large (" + std::to_string(st.st_size) + " bytes; signed files are at most " +
                     std::to_string(kMaxSignedFileBytes) + " bytes)");
  }
  // One byte more than the size: a file that grows meanwhile is not truncated silently.
  std::vector<std::byte> file(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (got < file.size()) {
    const ssize_t n = ::read(fd.get(), file.data() + got, file.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) store::throw_errno(errno, "cannot read", path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > static_cast<std::size_t>(st.st_size)) refuse(path, "the file grew while it was read");
  file.resize(got);
  return file;
}

}  // namespace

std::vector<std::byte> read_signed_file(const std::filesystem::path& path, const SigningKey& key,
                                        const SignedIdentity& expected) {
  auto file = read_bounded(path);
  if (file.size() < kHeaderSize + kMacSize)
    refuse(path, "truncated (shorter than a signed header)");
  if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    refuse(path, "not a signed file (bad magic)");
  const auto version = get_le<std::uint16_t>(file.data() + 8);
  if (version != kVersion) {
    refuse(path, "unsupported signed-file version " + std::to_string(version) + " (expected " +
                     std::to_string(kVersion) + "; version 1 files carry no identity)");
  }
  const std::size_t room = file.size() - kHeaderSize - kMacSize;
  const auto id_length = get_le<std::uint32_t>(file.data() + 12);
  const auto length = get_le<std::uint64_t>(file.data() + 16);
  if (id_length > kMaxIdentity || id_length > room || length != room - id_length) {
    refuse(path, id_length > room || length > room - id_length
                     ? "truncated (length mismatch)"
                     : "length mismatch (trailing bytes)");
  }
  const std::size_t body = kHeaderSize + id_length + length;
  const auto mac = key.hmac({file.data(), body});
  if (CRYPTO_memcmp(mac.data(), file.data() + body, kMacSize) != 0) {
    refuse(path, "HMAC mismatch: the file was modified or signed with another key; not unpickled");
  }
  const auto kind = static_cast<SignedKind>(get_le<std::uint16_t>(file.data() + 10));
  if (kind != expected.kind) {
    refuse(path, std::string("wrong kind: expected ") + to_string(expected.kind) + ", found " +
                     to_string(kind));
  }
  const std::string_view id_text(reinterpret_cast<const char*>(file.data() + kHeaderSize),
                                 id_length);
  const auto found = SignedIdentity::from_text(id_text);
  if (!found || found->kind != kind) refuse(path, "malformed identity in a signed file");
  if (*found != expected) {
    refuse(path, "identity mismatch: expected the " + expected.describe() + ", found the " +
                     found->describe() + " (" + moved_from(expected, *found) + "); not unpickled");
  }
  file.erase(file.begin() + static_cast<std::ptrdiff_t>(body), file.end());
  file.erase(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(kHeaderSize + id_length));
  return file;
}

}  // namespace jhtc
