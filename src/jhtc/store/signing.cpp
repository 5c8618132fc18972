#include "jhtc/signing.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
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
constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kMacSize = 32;

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

SigningKey SigningKey::load_or_create(const std::filesystem::path& key_dir, bool group_mode) {
  store::make_dirs(key_dir, group_mode ? 01770 : store::kPrivateDirMode);
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
  }
  return "unknown";
}

std::uint64_t write_signed_file(const std::filesystem::path& path, SignedKind kind,
                                std::span<const std::byte> payload, const SigningKey& key,
                                bool group_mode) {
  std::vector<std::byte> file(kHeaderSize + payload.size() + kMacSize);
  std::memcpy(file.data(), kMagic, sizeof kMagic);
  put_le<std::uint16_t>(file.data() + 8, kVersion);
  put_le<std::uint16_t>(file.data() + 10, static_cast<std::uint16_t>(kind));
  put_le<std::uint32_t>(file.data() + 12, 0);
  put_le<std::uint64_t>(file.data() + 16, payload.size());
  if (!payload.empty()) std::memcpy(file.data() + kHeaderSize, payload.data(), payload.size());
  const auto mac = key.hmac({file.data(), kHeaderSize + payload.size()});
  std::memcpy(file.data() + kHeaderSize + payload.size(), mac.data(), kMacSize);
  const std::span<const std::byte> parts[] = {file};
  store::write_file_atomically(path, parts,
                               group_mode ? store::kGroupFileMode : store::kPrivateFileMode);
  return file.size();
}

std::vector<std::byte> read_signed_file(const std::filesystem::path& path, const SigningKey& key,
                                        std::span<const SignedKind> expected) {
  store::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) store::throw_errno(errno, "cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) store::throw_errno(errno, "cannot stat", path);
  std::vector<std::byte> file(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < file.size()) {
    const ssize_t n = ::read(fd.get(), file.data() + got, file.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) store::throw_errno(errno, "cannot read", path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  file.resize(got);
  if (file.size() < kHeaderSize + kMacSize)
    refuse(path, "truncated (shorter than a signed header)");
  if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    refuse(path, "not a signed file (bad magic)");
  if (get_le<std::uint16_t>(file.data() + 8) != kVersion)
    refuse(path, "unsupported signed-file version");
  const auto length = get_le<std::uint64_t>(file.data() + 16);
  if (length != file.size() - kHeaderSize - kMacSize) {
    refuse(path, length > file.size() - kHeaderSize - kMacSize
                     ? "truncated (length mismatch)"
                     : "length mismatch (trailing bytes)");
  }
  const auto mac = key.hmac({file.data(), kHeaderSize + length});
  if (CRYPTO_memcmp(mac.data(), file.data() + kHeaderSize + length, kMacSize) != 0) {
    refuse(path, "HMAC mismatch: the file was modified or signed with another key; not unpickled");
  }
  const auto kind = static_cast<SignedKind>(get_le<std::uint16_t>(file.data() + 10));
  if (!expected.empty() && std::find(expected.begin(), expected.end(), kind) == expected.end()) {
    refuse(path, std::string("wrong kind: expected ") + to_string(expected.front()) + ", found " +
                     to_string(kind));
  }
  file.erase(file.begin() + kHeaderSize + static_cast<std::ptrdiff_t>(length), file.end());
  file.erase(file.begin(), file.begin() + kHeaderSize);
  return file;
}

}  // namespace jhtc
