#include "store/sha256.hpp"

#ifdef JHTC_LIBCRYPTO_ABI_ONLY
#include "store/libcrypto_abi.h"  // OpenSSL's runtime library without its headers
#else
#include <openssl/evp.h>
#endif

#include <stdexcept>

#include "jhtc/content_store.hpp"

namespace jhtc::store {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(std::span<const std::byte> bytes) {
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("OpenSSL: SHA-256 update failed");
  }
}

std::string Sha256::finish_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, md, &len) != 1) {
    throw std::runtime_error("OpenSSL: SHA-256 final failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kDigestPrefix);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

bool is_valid_digest(std::string_view digest) {
  if (digest.size() != kDigestLength || !digest.starts_with(kDigestPrefix)) return false;
  for (char c : digest.substr(kDigestPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_digest(std::string_view digest) {
  if (!is_valid_digest(digest)) {
    throw std::invalid_argument("not a sha256 digest: '" + std::string(digest) + "'");
  }
}

}  // namespace jhtc::store

namespace jhtc {

std::string sha256_digest(std::span<const std::byte> bytes) {
  store::Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish_digest();
}

}  // namespace jhtc
