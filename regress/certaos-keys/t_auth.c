/*
 * t_auth: the session-token primitives of certaos-keys (auth.c),
 * in-process: token alphabet, length and distribution; the signed form
 * "token.sig" and everything that must not verify; the HMAC against
 * OpenSSL's own HKDF and HMAC and RFC 4231; the token hash; the dummy
 * argon2id hash and its cost.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <atf-c.h>

#include "certaos.h"
#include "crypto.h"
#include "../../libexec/certaos-keys/keys.h"

#define NTOKENS		4000

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void
cookie_mac(struct tokmac *tm, const unsigned char *secret, size_t len)
{
	struct subkeys	 sk;

	ATF_REQUIRE(subkeys_derive(&sk, secret, len) == 0);
	tokmac_init(tm, subkeys_hmac_key(&sk, HMAC_COOKIE), KEYS_SUBKEY_LEN);
	subkeys_wipe(&sk);
}

/* The cookie sub-key as OpenSSL's own HKDF makes it. */
static void
openssl_cookie_key(const unsigned char *secret, size_t len,
    unsigned char key[32])
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	char		 salt[] = "certaos v1", info[] = "cookie";
	char		 digest[] = "SHA256";

	ATF_REQUIRE((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL);
	ATF_REQUIRE((kctx = EVP_KDF_CTX_new(kdf)) != NULL);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)secret, len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    salt, strlen(salt));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	ATF_REQUIRE(EVP_KDF_derive(kctx, key, 32, params) == 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	return (c - 'a' + 10);
}

static size_t
unhex(const char *s, unsigned char *out)
{
	size_t	 i, n = strlen(s) / 2;

	for (i = 0; i < n; i++)
		out[i] = hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]);
	return (n);
}

ATF_TC_WITHOUT_HEAD(token_alphabet);
ATF_TC_BODY(token_alphabet, tc)
{
	static char	 toks[NTOKENS][CERTAOS_TOKEN_LEN + 1];
	long		 count[256];
	double		 expect, sd;
	int		 i, j, c;

	memset(count, 0, sizeof(count));
	for (i = 0; i < NTOKENS; i++) {
		ATF_REQUIRE(token_make(toks[i]) == 0);
		ATF_REQUIRE_EQ_MSG(strlen(toks[i]), CERTAOS_TOKEN_LEN,
		    "token %s", toks[i]);
		for (j = 0; j < CERTAOS_TOKEN_LEN; j++) {
			c = (unsigned char)toks[i][j];
			ATF_REQUIRE_MSG(c != '\0' && strchr(alphabet, c) !=
			    NULL, "character %#x in %s", c, toks[i]);
			count[c]++;
		}
	}
	/* a few pairs: 190 bits each, no repeats */
	for (i = 1; i < 100; i++)
		ATF_REQUIRE(strcmp(toks[0], toks[i]) != 0);

	/*
	 * Uniform over 62: each character about 2065 times (sd 45).  A
	 * plain "byte % 62" would give the first 8 about 2580.
	 */
	expect = (double)NTOKENS * CERTAOS_TOKEN_LEN / 62;
	sd = 45.0;
	for (i = 0; i < 62; i++) {
		c = (unsigned char)alphabet[i];
		ATF_CHECK_MSG(count[c] > expect - 6 * sd &&
		    count[c] < expect + 6 * sd, "'%c' %ld times, expected "
		    "about %.0f", c, count[c], expect);
	}
}

ATF_TC_WITHOUT_HEAD(signed_form);
ATF_TC_BODY(signed_form, tc)
{
	struct tokmac	 tm, other;
	unsigned char	 secret[32];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	char		 got[CERTAOS_TOKEN_LEN + 1];
	char		 s[TOKEN_SIGNED_LEN + 1], bad[TOKEN_SIGNED_LEN + 8];
	size_t		 i;
	int		 bit;

	memset(secret, 0x42, sizeof(secret));
	cookie_mac(&tm, secret, sizeof(secret));
	secret[0] ^= 1;
	cookie_mac(&other, secret, sizeof(secret));

	ATF_REQUIRE(token_make(tok) == 0);
	token_sign(&tm, tok, s);
	ATF_REQUIRE_EQ(strlen(s), TOKEN_SIGNED_LEN);
	ATF_REQUIRE_EQ(strlen(s), 77);
	ATF_REQUIRE(strncmp(s, tok, CERTAOS_TOKEN_LEN) == 0);
	ATF_REQUIRE_EQ(s[CERTAOS_TOKEN_LEN], '.');
	ATF_REQUIRE_EQ(s[TOKEN_SIGNED_LEN - 1], '=');

	/* signed: as a cookie, and as a bearer (the '.' says signed) */
	ATF_REQUIRE_EQ(token_verify(&tm, s, strlen(s), AUTH_F_SIGNED, got), 0);
	ATF_REQUIRE_STREQ(got, tok);
	ATF_REQUIRE_EQ(token_verify(&tm, s, strlen(s), 0, got), 0);
	ATF_REQUIRE_STREQ(got, tok);
	/* raw: a bearer may be; a cookie may not */
	ATF_REQUIRE_EQ(token_verify(&tm, tok, strlen(tok), 0, got), 0);
	ATF_REQUIRE_STREQ(got, tok);
	ATF_REQUIRE_EQ(token_verify(&tm, tok, strlen(tok), AUTH_F_SIGNED,
	    got), -1);
	ATF_REQUIRE_STREQ(got, "");

	/* another key's signature */
	ATF_REQUIRE_EQ(token_verify(&other, s, strlen(s), AUTH_F_SIGNED, got),
	    -1);
	/* every bit of every byte, token, dot and signature */
	for (i = 0; i < TOKEN_SIGNED_LEN; i++)
		for (bit = 0; bit < 7; bit++) {
			memcpy(bad, s, sizeof(s));
			bad[i] ^= 1 << bit;
			ATF_REQUIRE_MSG(token_verify(&tm, bad, strlen(bad),
			    AUTH_F_SIGNED, got) == -1, "flip %zu.%d: %s", i,
			    bit, bad);
			ATF_REQUIRE_MSG(token_verify(&tm, bad, strlen(bad), 0,
			    got) == -1, "flip %zu.%d: %s", i, bit, bad);
		}

	/* wrong lengths */
	memcpy(bad, s, sizeof(s));
	ATF_REQUIRE_EQ(token_verify(&tm, bad, TOKEN_SIGNED_LEN - 1,
	    AUTH_F_SIGNED, got), -1);		/* padding dropped */
	(void)strlcat(bad, "=", sizeof(bad));
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), AUTH_F_SIGNED,
	    got), -1);
	(void)snprintf(bad, sizeof(bad), "A%s", s);
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), AUTH_F_SIGNED,
	    got), -1);
	(void)snprintf(bad, sizeof(bad), "%.*s", CERTAOS_TOKEN_LEN + 1, s);
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), 0, got), -1);
	ATF_REQUIRE_EQ(token_verify(&tm, "", 0, 0, got), -1);
	ATF_REQUIRE_EQ(token_verify(&tm, "", 0, AUTH_F_SIGNED, got), -1);
	ATF_REQUIRE_EQ(token_verify(&tm, ".", 1, 0, got), -1);
	ATF_REQUIRE_EQ(token_verify(&tm, tok, CERTAOS_TOKEN_LEN - 1, 0, got),
	    -1);
	(void)snprintf(bad, sizeof(bad), "%sA", tok);
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), 0, got), -1);
	/* the dot somewhere else, same length */
	memcpy(bad, s, sizeof(s));
	bad[CERTAOS_TOKEN_LEN] = 'A';
	bad[CERTAOS_TOKEN_LEN - 1] = '.';
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), AUTH_F_SIGNED,
	    got), -1);
	/* a raw token outside the alphabet */
	memcpy(bad, tok, sizeof(tok));
	bad[5] = '-';
	ATF_REQUIRE_EQ(token_verify(&tm, bad, strlen(bad), 0, got), -1);
	/* a signed token whose token part is outside the alphabet */
	memcpy(bad, tok, sizeof(tok));
	bad[5] = '_';
	token_sign(&tm, bad, s);
	ATF_REQUIRE_EQ(token_verify(&tm, s, strlen(s), AUTH_F_SIGNED, got), -1);

	/* no key, no token */
	tokmac_wipe(&tm);
	token_sign(&other, tok, s);
	ATF_REQUIRE_EQ(token_verify(&tm, tok, strlen(tok), 0, got), -1);
}

ATF_TC_WITHOUT_HEAD(hmac_independent);
ATF_TC_BODY(hmac_independent, tc)
{
	struct tokmac	 tm;
	unsigned char	 secret[48], key[32], mac[32], want[32];
	unsigned char	 dec[36];
	unsigned int	 maclen = 32;
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	char		 s[TOKEN_SIGNED_LEN + 1];
	int		 i;

	for (i = 0; i < 48; i++)
		secret[i] = i * 7 + 1;
	cookie_mac(&tm, secret, sizeof(secret));
	openssl_cookie_key(secret, sizeof(secret), key);
	for (i = 0; i < 20; i++) {
		ATF_REQUIRE(token_make(tok) == 0);
		ATF_REQUIRE(HMAC(EVP_sha256(), key, sizeof(key),
		    (unsigned char *)tok, CERTAOS_TOKEN_LEN, want,
		    &maclen) != NULL);
		tokmac_hmac(&tm, tok, CERTAOS_TOKEN_LEN, mac);
		ATF_REQUIRE(memcmp(mac, want, 32) == 0);
		/* the signature decodes to OpenSSL's MAC (and pads: 33) */
		token_sign(&tm, tok, s);
		ATF_REQUIRE_EQ(EVP_DecodeBlock(dec, (unsigned char *)s +
		    CERTAOS_TOKEN_LEN + 1, TOKEN_SIG_LEN), 33);
		ATF_REQUIRE(memcmp(dec, want, 32) == 0);
	}
	/* A key shorter than the sub-keys, through token_sign. */
	tokmac_init(&tm, (const unsigned char *)"key", 3);
	memset(tok, 'x', CERTAOS_TOKEN_LEN);
	tok[CERTAOS_TOKEN_LEN] = '\0';
	ATF_REQUIRE(HMAC(EVP_sha256(), "key", 3, (unsigned char *)tok,
	    CERTAOS_TOKEN_LEN, want, &maclen) != NULL);
	token_sign(&tm, tok, s);
	ATF_REQUIRE(EVP_DecodeBlock(dec, (unsigned char *)s +
	    CERTAOS_TOKEN_LEN + 1, TOKEN_SIG_LEN) == 33);
	ATF_REQUIRE(memcmp(dec, want, 32) == 0);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
ATF_TC_WITHOUT_HEAD(hmac_rfc4231);
ATF_TC_BODY(hmac_rfc4231, tc)
{
	struct tokmac	 tm;
	unsigned char	 key[131], data[64], mac[32], want[32];
	const char	*d6 = "Test Using Larger Than Block-Size Key - "
			    "Hash Key First";

	memset(key, 0x0b, 20);
	tokmac_init(&tm, key, 20);
	tokmac_hmac(&tm, "Hi There", 8, mac);
	unhex("b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7", want);
	ATF_CHECK(memcmp(mac, want, 32) == 0);

	tokmac_init(&tm, (const unsigned char *)"Jefe", 4);
	memcpy(data, "what do ya want for nothing?", 28);
	tokmac_hmac(&tm, data, 28, mac);
	unhex("5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843", want);
	ATF_CHECK(memcmp(mac, want, 32) == 0);

	memset(key, 0xaa, sizeof(key));
	tokmac_init(&tm, key, sizeof(key));
	tokmac_hmac(&tm, d6, strlen(d6), mac);
	unhex("60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54", want);
	ATF_CHECK(memcmp(mac, want, 32) == 0);
}

ATF_TC_WITHOUT_HEAD(token_hash);
ATF_TC_BODY(token_hash, tc)
{
	unsigned char	 h[SHA256_LEN], want[SHA256_LEN];
	unsigned int	 len = 0;
	char		 tok[CERTAOS_TOKEN_LEN + 1];

	ATF_REQUIRE(token_make(tok) == 0);
	token_hash(tok, h);
	ATF_REQUIRE(EVP_Digest(tok, CERTAOS_TOKEN_LEN, want, &len,
	    EVP_sha256(), NULL) == 1);
	ATF_REQUIRE(memcmp(h, want, sizeof(h)) == 0);
}

ATF_TC_WITHOUT_HEAD(dummy_cost);
ATF_TC_BODY(dummy_cost, tc)
{
	struct subkeys	 sk;
	struct cfg_keys	 cfg;
	unsigned char	 secret[32];
	char		 first[CERTAOS_MAX_PWHASH];
	const char	*d;

	memset(secret, 9, sizeof(secret));
	ATF_REQUIRE(subkeys_derive(&sk, secret, sizeof(secret)) == 0);
	ATF_REQUIRE(auth_dummy() == NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.argon2_memory = 1024;
	cfg.argon2_time = 1;
	cfg.argon2_lanes = 1;
	auth_configure(&cfg, &sk);
	ATF_REQUIRE((d = auth_dummy()) != NULL);
	ATF_REQUIRE_MSG(strncmp(d, "$argon2id$v=19$m=1024,t=1,p=1$", 30) == 0,
	    "dummy %s", d);
	/* a well-formed hash that nothing matches */
	ATF_REQUIRE_EQ(pw_verify(d, "", 0), 0);
	ATF_REQUIRE_EQ(pw_verify(d, "password", 8), 0);
	(void)strlcpy(first, d, sizeof(first));

	/* a reload with the same cost keeps it; another cost replaces it */
	auth_configure(&cfg, &sk);
	ATF_REQUIRE_STREQ(auth_dummy(), first);
	cfg.argon2_memory = 2048;
	cfg.argon2_time = 2;
	cfg.argon2_lanes = 2;
	auth_configure(&cfg, &sk);
	d = auth_dummy();
	ATF_REQUIRE_MSG(strncmp(d, "$argon2id$v=19$m=2048,t=2,p=2$", 30) == 0,
	    "dummy %s", d);
	ATF_REQUIRE_EQ(pw_verify(d, "", 0), 0);
	subkeys_wipe(&sk);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, token_alphabet);
	ATF_TP_ADD_TC(tp, signed_form);
	ATF_TP_ADD_TC(tp, hmac_independent);
	ATF_TP_ADD_TC(tp, hmac_rfc4231);
	ATF_TP_ADD_TC(tp, token_hash);
	ATF_TP_ADD_TC(tp, dummy_cost);
	return (atf_no_error());
}
