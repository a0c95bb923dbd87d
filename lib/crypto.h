/*
 * crypto.c, jws.c, pwhash.c: the cryptography of CertaOS on OpenSSL 3
 * and libargon2.  Only certaos-keys holds keys; the other programs use
 * the hashing helpers.  Every function returns -1 (or NULL) on error
 * and wipes the temporaries that held secrets.
 */

#ifndef CERTAOS_CRYPTO_H
#define CERTAOS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SHA256_LEN		32
#define SEAL_KEY_LEN		32
#define SEAL_NONCE_LEN		12
#define SEAL_TAG_LEN		16
#define SEAL_OVERHEAD		(SEAL_NONCE_LEN + SEAL_TAG_LEN)

/* crypto.c */
int	 sha256(const void *, size_t, unsigned char[SHA256_LEN]);
int	 hmac_sha256(const void *, size_t, const void *, size_t,
	    unsigned char[SHA256_LEN]);
/* HKDF-SHA256 (RFC 5869): ikm, salt, info -> okm of outlen bytes */
int	 hkdf_sha256(const void *, size_t, const void *, size_t,
	    const void *, size_t, void *, size_t);
/*
 * AES-256-GCM with a random 96-bit nonce.  Sealed form:
 * nonce (12) | ciphertext | tag (16).  aad may be NULL.
 * Returns the sealed (or opened) length, -1 on error or a bad tag.
 */
ssize_t	 seal_aes256gcm(const unsigned char[SEAL_KEY_LEN], const void *,
	    size_t, const void *, size_t, void *, size_t);
ssize_t	 open_aes256gcm(const unsigned char[SEAL_KEY_LEN], const void *,
	    size_t, const void *, size_t, void *, size_t);

/* jws.c: signing keys, public JWKs, compact JWS. */
enum jws_alg {
	JWS_NONE = 0,
	JWS_RS256,		/* RSA 2048, PKCS#1 v1.5, SHA-256 */
	JWS_ES256,		/* P-256, SHA-256, raw r|s signature */
	JWS_EDDSA		/* Ed25519 */
};

const char	*jws_alg_name(enum jws_alg);	/* "RS256", ... */
enum jws_alg	 jws_alg_from_name(const char *);	/* JWS_NONE if unknown */
EVP_PKEY	*jwk_generate(enum jws_alg);
/* kid: RFC 7638 JWK thumbprint (SHA-256, base64url), 43 chars + NUL */
int		 jwk_thumbprint(EVP_PKEY *, enum jws_alg, char *, size_t);
/* public JWK as JSON: kty, kid, alg, use "sig", and n/e, crv/x/y or crv/x */
int		 jwk_public_json(EVP_PKEY *, enum jws_alg, const char *,
		    char *, size_t);
/* public key back from a JWK JSON object (for verifiers and tests) */
EVP_PKEY	*jwk_public_import(const char *, size_t, enum jws_alg *);
/* private key as PKCS#8 DER, caller freezero()s *der; and back */
ssize_t		 pkey_private_der(EVP_PKEY *, unsigned char **);
EVP_PKEY	*pkey_from_private_der(const unsigned char *, size_t);
/*
 * Compact JWS over payload with header {"alg":A,"kid":K,"typ":"JWT"}.
 * Returns the length written to out (NUL-terminated), -1 on error.
 */
ssize_t		 jws_sign(EVP_PKEY *, enum jws_alg, const char *,
		    const void *, size_t, char *, size_t);
/* 1 valid, 0 invalid signature or malformed, -1 error */
int		 jws_verify(EVP_PKEY *, enum jws_alg, const char *, size_t);

/* pwhash.c: argon2id */
struct argon2_params {
	uint32_t	 memory;	/* KiB */
	uint32_t	 time;
	uint32_t	 lanes;
};
/* encoded $argon2id$v=19$m=...,t=...,p=...$salt$hash into out */
int	 pw_hash(const struct argon2_params *, const void *, size_t,
	    char *, size_t);
/*
 * 1 match, 0 no match, -1 malformed encoded string or error.  Takes
 * argon2id strings and Better Auth's scrypt "salt:key" (imports).
 */
int	 pw_verify(const char *, const void *, size_t);
/* 1 if the string is Better Auth's scrypt form */
int	 pw_is_scrypt(const char *);
/* ms a Better Auth scrypt hash takes to verify here, estimated */
uint32_t pw_scrypt_cost_ms(void);
/* 1 if argon2id with exactly these parameters: else rehash on sign-in */
int	 pw_is_current(const char *, const struct argon2_params *);
/*
 * The argon2id working memory: by default mapped for each hash and
 * unmapped after it.  pw_memory_keep(1) keeps one mapping from hash to
 * hash (wiped after each); pw_memory_release() unmaps it now.
 */
void	 pw_memory_keep(int);
void	 pw_memory_release(void);

#endif
