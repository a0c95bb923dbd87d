/*
 * t_crypto: SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-256-GCM sealing
 * against published vectors (FIPS 180-2, RFC 4231, RFC 5869, the GCM
 * specification of McGrew and Viega), plus tampering.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "crypto.h"

/* Hex to bytes; the vectors are typed as in the documents. */
static size_t
unhex(const char *hex, unsigned char *out, size_t outsz)
{
	size_t		 i, len = strlen(hex);
	unsigned int	 b;
	char		 two[3];

	ATF_REQUIRE(len % 2 == 0 && len / 2 <= outsz);
	for (i = 0; i < len / 2; i++) {
		two[0] = hex[2 * i];
		two[1] = hex[2 * i + 1];
		two[2] = '\0';
		ATF_REQUIRE(sscanf(two, "%2x", &b) == 1);
		out[i] = b;
	}
	return (len / 2);
}

static void
check_hex(const unsigned char *got, size_t len, const char *want)
{
	unsigned char	 w[512];
	size_t		 wlen;

	wlen = unhex(want, w, sizeof(w));
	ATF_REQUIRE_EQ(wlen, len);
	ATF_CHECK_MSG(memcmp(got, w, len) == 0, "output differs from %s",
	    want);
}

ATF_TC_WITHOUT_HEAD(sha256_abc);
ATF_TC_BODY(sha256_abc, tc)
{
	unsigned char	 md[SHA256_LEN];

	ATF_REQUIRE_EQ(sha256("abc", 3, md), 0);
	check_hex(md, sizeof(md), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	ATF_REQUIRE_EQ(sha256("", 0, md), 0);
	check_hex(md, sizeof(md), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

ATF_TC_WITHOUT_HEAD(hmac_rfc4231);
ATF_TC_BODY(hmac_rfc4231, tc)
{
	unsigned char	 key[20], md[SHA256_LEN];
	const char	*d2 = "what do ya want for nothing?";

	/* Test Case 1 */
	memset(key, 0x0b, sizeof(key));
	ATF_REQUIRE_EQ(hmac_sha256(key, sizeof(key), "Hi There", 8, md), 0);
	check_hex(md, sizeof(md), "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	/* Test Case 2 */
	ATF_REQUIRE_EQ(hmac_sha256("Jefe", 4, d2, strlen(d2), md), 0);
	check_hex(md, sizeof(md), "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

ATF_TC_WITHOUT_HEAD(hkdf_rfc5869);
ATF_TC_BODY(hkdf_rfc5869, tc)
{
	unsigned char	 ikm[80], salt[80], info[80], okm[82];
	size_t		 i;

	/* A.1 Test Case 1 */
	memset(ikm, 0x0b, 22);
	for (i = 0; i < 13; i++)
		salt[i] = i;
	for (i = 0; i < 10; i++)
		info[i] = 0xf0 + i;
	ATF_REQUIRE_EQ(hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42), 0);
	check_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a"
	    "2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");

	/* A.2 Test Case 2: longer inputs and outputs */
	for (i = 0; i < 80; i++) {
		ikm[i] = i;
		salt[i] = 0x60 + i;
		info[i] = 0xb0 + i;
	}
	ATF_REQUIRE_EQ(hkdf_sha256(ikm, 80, salt, 80, info, 80, okm, 82), 0);
	check_hex(okm, 82, "b11e398dc80327a1c8e7f78c596a4934"
	    "4f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
	    "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f"
	    "1d87");

	/* A.3 Test Case 3: zero-length salt and info */
	memset(ikm, 0x0b, 22);
	ATF_REQUIRE_EQ(hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42), 0);
	check_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31"
	    "b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");

	/* Different info, different key; absurd lengths refused. */
	ATF_REQUIRE_EQ(hkdf_sha256(ikm, 22, NULL, 0, "a", 1, okm, 32), 0);
	ATF_REQUIRE_EQ(hkdf_sha256(ikm, 22, NULL, 0, "b", 1, okm + 40, 32), 0);
	ATF_CHECK(memcmp(okm, okm + 40, 32) != 0);
	ATF_CHECK_EQ(hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 0), -1);
	ATF_CHECK_EQ(hkdf_sha256(NULL, 0, NULL, 0, NULL, 0, okm, 32), -1);
}

/* GCM spec Test Case 14: 256-bit zero key, zero IV, one zero block. */
ATF_TC_WITHOUT_HEAD(gcm_vector_14);
ATF_TC_BODY(gcm_vector_14, tc)
{
	unsigned char	 key[SEAL_KEY_LEN], sealed[64], pt[64];
	size_t		 len;

	memset(key, 0, sizeof(key));
	memset(sealed, 0, SEAL_NONCE_LEN);
	len = SEAL_NONCE_LEN;
	len += unhex("cea7403d4d606b6e074ec5d3baf39d18", sealed + len,
	    sizeof(sealed) - len);
	len += unhex("d0d1c8a799996bf0265b98b5d48ab919", sealed + len,
	    sizeof(sealed) - len);
	ATF_REQUIRE_EQ(open_aes256gcm(key, sealed, len, NULL, 0, pt,
	    sizeof(pt)), 16);
	check_hex(pt, 16, "00000000000000000000000000000000");
}

/* GCM spec Test Case 16: 256-bit key, 96-bit IV, 60 bytes, with AAD. */
ATF_TC_WITHOUT_HEAD(gcm_vector_16);
ATF_TC_BODY(gcm_vector_16, tc)
{
	unsigned char	 key[SEAL_KEY_LEN], sealed[128], pt[128], aad[20];
	size_t		 len;

	unhex("feffe9928665731c6d6a8f9467308308"
	    "feffe9928665731c6d6a8f9467308308", key, sizeof(key));
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad));
	len = unhex("cafebabefacedbaddecaf888", sealed, sizeof(sealed));
	len += unhex("522dc1f099567d07f47f37a32a84427d"
	    "643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
	    "c5f61e6393ba7a0abcc9f662", sealed + len, sizeof(sealed) - len);
	len += unhex("76fc6ece0f4e1768cddf8853bb2d551b", sealed + len,
	    sizeof(sealed) - len);
	ATF_REQUIRE_EQ(len, 12 + 60 + 16);
	ATF_REQUIRE_EQ(open_aes256gcm(key, sealed, len, aad, sizeof(aad), pt,
	    sizeof(pt)), 60);
	check_hex(pt, 60, "d9313225f88406e5a55909c5aff5269a"
	    "86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
	    "b16aedf5aa0de657ba637b39");
	/* Without the AAD the tag does not match. */
	ATF_CHECK_EQ(open_aes256gcm(key, sealed, len, NULL, 0, pt,
	    sizeof(pt)), -1);
}

ATF_TC_WITHOUT_HEAD(seal_roundtrip);
ATF_TC_BODY(seal_roundtrip, tc)
{
	unsigned char	 key[SEAL_KEY_LEN], a[128], b[128], pt[128];
	const char	*msg = "the private key of the month";
	size_t		 mlen = strlen(msg);
	ssize_t		 n;

	memset(key, 0x42, sizeof(key));
	n = seal_aes256gcm(key, msg, mlen, "kid-1", 5, a, sizeof(a));
	ATF_REQUIRE_EQ(n, (ssize_t)(mlen + SEAL_OVERHEAD));
	ATF_REQUIRE_EQ(seal_aes256gcm(key, msg, mlen, "kid-1", 5, b,
	    sizeof(b)), n);
	/* Fresh nonce each time: the two sealed forms differ. */
	ATF_CHECK(memcmp(a, b, SEAL_NONCE_LEN) != 0);
	ATF_CHECK(memcmp(a, b, n) != 0);
	/* The plaintext does not appear in the sealed form. */
	ATF_CHECK(memmem(a, n, msg, mlen) == NULL);

	memset(pt, 0, sizeof(pt));
	ATF_REQUIRE_EQ(open_aes256gcm(key, a, n, "kid-1", 5, pt, sizeof(pt)),
	    (ssize_t)mlen);
	ATF_CHECK(memcmp(pt, msg, mlen) == 0);
	ATF_REQUIRE_EQ(open_aes256gcm(key, b, n, "kid-1", 5, pt, sizeof(pt)),
	    (ssize_t)mlen);
	ATF_CHECK(memcmp(pt, msg, mlen) == 0);

	/* Empty plaintext, no AAD. */
	n = seal_aes256gcm(key, NULL, 0, NULL, 0, a, sizeof(a));
	ATF_REQUIRE_EQ(n, SEAL_OVERHEAD);
	ATF_CHECK_EQ(open_aes256gcm(key, a, n, NULL, 0, NULL, 0), 0);

	/* Output too small for the sealed or the opened form. */
	ATF_CHECK_EQ(seal_aes256gcm(key, msg, mlen, NULL, 0, a,
	    mlen + SEAL_OVERHEAD - 1), -1);
	n = seal_aes256gcm(key, msg, mlen, NULL, 0, a, sizeof(a));
	ATF_REQUIRE(n > 0);
	ATF_CHECK_EQ(open_aes256gcm(key, a, n, NULL, 0, pt, mlen - 1), -1);
	/* Shorter than nonce + tag. */
	ATF_CHECK_EQ(open_aes256gcm(key, a, SEAL_OVERHEAD - 1, NULL, 0, pt,
	    sizeof(pt)), -1);
}

ATF_TC_WITHOUT_HEAD(seal_tamper);
ATF_TC_BODY(seal_tamper, tc)
{
	unsigned char	 key[SEAL_KEY_LEN], key2[SEAL_KEY_LEN];
	unsigned char	 s[128], t[128], pt[128];
	const char	*msg = "secret";
	size_t		 i, mlen = strlen(msg);
	ssize_t		 n;
	int		 bit;

	memset(key, 7, sizeof(key));
	n = seal_aes256gcm(key, msg, mlen, "aad", 3, s, sizeof(s));
	ATF_REQUIRE_EQ(n, (ssize_t)(mlen + SEAL_OVERHEAD));

	/* Every single bit flip, in nonce, ciphertext or tag, is caught. */
	for (i = 0; i < (size_t)n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(t, s, n);
			t[i] ^= 1 << bit;
			memset(pt, 0xaa, sizeof(pt));
			ATF_CHECK_EQ_MSG(open_aes256gcm(key, t, n, "aad", 3,
			    pt, sizeof(pt)), -1, "byte %zu bit %d", i, bit);
		}
	}
	/* AAD changed, missing, or added. */
	ATF_CHECK_EQ(open_aes256gcm(key, s, n, "aae", 3, pt, sizeof(pt)), -1);
	ATF_CHECK_EQ(open_aes256gcm(key, s, n, NULL, 0, pt, sizeof(pt)), -1);
	ATF_CHECK_EQ(open_aes256gcm(key, s, n, "aadx", 4, pt, sizeof(pt)),
	    -1);
	/* Wrong key. */
	memcpy(key2, key, sizeof(key2));
	key2[31] ^= 1;
	ATF_CHECK_EQ(open_aes256gcm(key2, s, n, "aad", 3, pt, sizeof(pt)),
	    -1);
	/* Truncated. */
	ATF_CHECK_EQ(open_aes256gcm(key, s, n - 1, "aad", 3, pt, sizeof(pt)),
	    -1);
	/* And the original still opens. */
	ATF_CHECK_EQ(open_aes256gcm(key, s, n, "aad", 3, pt, sizeof(pt)),
	    (ssize_t)mlen);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sha256_abc);
	ATF_TP_ADD_TC(tp, hmac_rfc4231);
	ATF_TP_ADD_TC(tp, hkdf_rfc5869);
	ATF_TP_ADD_TC(tp, gcm_vector_14);
	ATF_TP_ADD_TC(tp, gcm_vector_16);
	ATF_TP_ADD_TC(tp, seal_roundtrip);
	ATF_TP_ADD_TC(tp, seal_tamper);
	return (atf_no_error());
}
