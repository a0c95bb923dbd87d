/*
 * crypto.c: hashing, HMAC, HKDF and AES-256-GCM sealing on OpenSSL 3.
 *
 * Everything goes through the EVP interfaces.  The sealed form is
 * nonce (12) | ciphertext | tag (16) with a random nonce per call; the
 * callers derive one key per purpose with HKDF, so the random nonce
 * space is never shared between purposes.
 */

#include <sys/types.h>

#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

int
sha256(const void *data, size_t len, unsigned char md[SHA256_LEN])
{
	unsigned int	 mdlen = 0;

	if (data == NULL && len != 0)
		return (-1);
	if (EVP_Digest(len ? data : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != SHA256_LEN)
		return (-1);
	return (0);
}

int
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char md[SHA256_LEN])
{
	unsigned int	 mdlen = 0;

	if ((key == NULL && keylen != 0) || (data == NULL && len != 0))
		return (-1);
	if (keylen > INT_MAX)
		return (-1);
	if (HMAC(EVP_sha256(), keylen ? key : "", (int)keylen,
	    len ? data : (const void *)"", len, md, &mdlen) == NULL ||
	    mdlen != SHA256_LEN)
		return (-1);
	return (0);
}

int
hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
    const void *info, size_t infolen, void *out, size_t outlen)
{
	EVP_KDF		*kdf = NULL;
	EVP_KDF_CTX	*kctx = NULL;
	OSSL_PARAM	 params[5], *p = params;
	int		 ret = -1;

	if (ikm == NULL || ikmlen == 0 || out == NULL || outlen == 0 ||
	    outlen > 255 * SHA256_LEN)
		return (-1);
	if ((salt == NULL && saltlen != 0) || (info == NULL && infolen != 0))
		return (-1);

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		goto done;
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto done;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)ikm, ikmlen);
	/* No salt means HashLen zero bytes (RFC 5869 2.2): the default. */
	if (saltlen != 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)(uintptr_t)salt, saltlen);
	if (infolen != 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(kctx, out, outlen, params) != 1) {
		explicit_bzero(out, outlen);
		goto done;
	}
	ret = 0;
 done:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return (ret);
}

ssize_t
seal_aes256gcm(const unsigned char key[SEAL_KEY_LEN], const void *in,
    size_t inlen, const void *aad, size_t aadlen, void *out, size_t outsz)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*o = out;
	int		 n, fin;
	ssize_t		 ret = -1;

	if (key == NULL || out == NULL || (in == NULL && inlen != 0) ||
	    (aad == NULL && aadlen != 0))
		return (-1);
	if (inlen > INT_MAX - SEAL_OVERHEAD || aadlen > INT_MAX ||
	    outsz < inlen + SEAL_OVERHEAD)
		return (-1);

	if (RAND_bytes(o, SEAL_NONCE_LEN) != 1)
		return (-1);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto done;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL,
	    NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, o) != 1)
		goto done;
	if (aadlen != 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto done;
	n = 0;
	if (inlen != 0 && EVP_EncryptUpdate(ctx, o + SEAL_NONCE_LEN, &n, in,
	    (int)inlen) != 1)
		goto done;
	fin = 0;
	if (EVP_EncryptFinal_ex(ctx, o + SEAL_NONCE_LEN + n, &fin) != 1)
		goto done;
	if ((size_t)n + (size_t)fin != inlen)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    o + SEAL_NONCE_LEN + inlen) != 1)
		goto done;
	ret = (ssize_t)(inlen + SEAL_OVERHEAD);
 done:
	if (ret == -1)
		explicit_bzero(out, outsz < inlen + SEAL_OVERHEAD ? outsz :
		    inlen + SEAL_OVERHEAD);
	EVP_CIPHER_CTX_free(ctx);
	return (ret);
}

ssize_t
open_aes256gcm(const unsigned char key[SEAL_KEY_LEN], const void *in,
    size_t inlen, const void *aad, size_t aadlen, void *out, size_t outsz)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	const unsigned char *i = in;
	unsigned char	 tag[SEAL_TAG_LEN], empty[1], *o;
	size_t		 ctlen;
	int		 n, fin;
	ssize_t		 ret = -1;

	if (key == NULL || in == NULL || (aad == NULL && aadlen != 0))
		return (-1);
	if (inlen < SEAL_OVERHEAD || inlen > INT_MAX || aadlen > INT_MAX)
		return (-1);
	ctlen = inlen - SEAL_OVERHEAD;
	if (outsz < ctlen || (out == NULL && ctlen != 0))
		return (-1);

	o = ctlen != 0 ? out : empty;
	memcpy(tag, i + SEAL_NONCE_LEN + ctlen, sizeof(tag));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto done;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL,
	    NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, i) != 1)
		goto done;
	if (aadlen != 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto done;
	n = 0;
	if (ctlen != 0 && EVP_DecryptUpdate(ctx, o, &n, i + SEAL_NONCE_LEN,
	    (int)ctlen) != 1)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    tag) != 1)
		goto done;
	fin = 0;
	/* Final checks the tag: nothing decrypted is returned without it. */
	if (EVP_DecryptFinal_ex(ctx, o + n, &fin) != 1)
		goto done;
	if ((size_t)n + (size_t)fin != ctlen)
		goto done;
	ret = (ssize_t)ctlen;
 done:
	if (ret == -1 && ctlen != 0)
		explicit_bzero(out, ctlen);
	explicit_bzero(tag, sizeof(tag));
	EVP_CIPHER_CTX_free(ctx);
	return (ret);
}
