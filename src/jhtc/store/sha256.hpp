// Incremental SHA-256 over OpenSSL's EVP interface, and the digest naming of the
// store ("sha256-<64 lowercase hex>").
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace jhtc::store {

inline constexpr std::string_view kDigestPrefix = "sha256-";
inline constexpr std::size_t kDigestLength = 7 + 64;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::byte> bytes);
  std::string finish_digest();  // "sha256-<hex>"; the hasher is spent afterwards

 private:
  EVP_MD_CTX* ctx_;
};

// Whether `digest` is a well-formed "sha256-<64 lowercase hex>".
bool is_valid_digest(std::string_view digest);
// Throws std::invalid_argument unless is_valid_digest(digest).
void check_digest(std::string_view digest);

}  // namespace jhtc::store
