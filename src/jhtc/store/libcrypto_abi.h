// The part of libcrypto's C ABI the store uses (SHA-256, HMAC-SHA256, RAND_bytes, a
// constant-time compare, wiping a key), for builds where OpenSSL's runtime library is present but
// its headers are not (cmake/libcrypto_runtime.cmake, JHTC_LIBCRYPTO_ABI_ONLY). The ten
// declarations match <openssl/evp.h>, <openssl/hmac.h>, <openssl/rand.h> and
// <openssl/crypto.h> of OpenSSL 1.1 and 3.x, whose exported symbols they name; HMAC() is
// deprecated in 3.0 but still exported. Nothing here implements cryptography.
#ifndef JHTC_STORE_LIBCRYPTO_ABI_H
#define JHTC_STORE_LIBCRYPTO_ABI_H

#include <stddef.h>

// The largest digest any EVP_MD writes (SHA-512's 64 bytes), as in <openssl/evp.h>.
#define EVP_MAX_MD_SIZE 64

extern "C" {

// The struct tags are OpenSSL's, so these types are the ones sha256.hpp forward-declares.
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;

EVP_MD_CTX* EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX* ctx);
const EVP_MD* EVP_sha256(void);
int EVP_DigestInit_ex(EVP_MD_CTX* ctx, const EVP_MD* type, ENGINE* impl);
int EVP_DigestUpdate(EVP_MD_CTX* ctx, const void* d, size_t cnt);
int EVP_DigestFinal_ex(EVP_MD_CTX* ctx, unsigned char* md, unsigned int* s);

unsigned char* HMAC(const EVP_MD* evp_md, const void* key, int key_len, const unsigned char* d,
                    size_t n, unsigned char* md, unsigned int* md_len);

int RAND_bytes(unsigned char* buf, int num);

int CRYPTO_memcmp(const void* a, const void* b, size_t len);
void OPENSSL_cleanse(void* ptr, size_t len);

}  // extern "C"

#endif  // JHTC_STORE_LIBCRYPTO_ABI_H
