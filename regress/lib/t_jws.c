/*
 * t_jws: keys, public JWKs, thumbprints and compact JWS.  Signatures are
 * checked by independent paths: a public key rebuilt from the JWK JSON
 * alone, and the openssl(1) command line.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yajl/yajl_tree.h>

#include "certaos.h"
#include "crypto.h"

#define TOKEN_MAX	4096

/* RFC 7638 section 3.1: the RSA key of RFC 7517 appendix A.1. */
static const char rfc7638_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT8"
    "6zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4"
    "Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8"
    "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh"
    "6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnq"
    "DKgw\","
    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc7638_thumbprint[] =
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* RFC 8037 appendix A.2/A.3: an Ed25519 public key and its thumbprint. */
static const char rfc8037_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc8037_thumbprint[] =
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

static const char payload[] =
    "{\"iss\":\"http://127.0.0.1:8080\",\"sub\":\"user-1\",\"exp\":1}";

static yajl_val
parse(const char *json)
{
	char		 err[256];
	yajl_val	 v;

	v = yajl_tree_parse(json, err, sizeof(err));
	ATF_REQUIRE_MSG(v != NULL, "%s: %s", json, err);
	ATF_REQUIRE(YAJL_IS_OBJECT(v));
	return (v);
}

static const char *
member(yajl_val v, const char *name)
{
	const char	*path[] = { name, NULL };
	yajl_val	 m;

	if ((m = yajl_tree_get(v, path, yajl_t_string)) == NULL)
		return (NULL);
	return (YAJL_GET_STRING(m));
}

static int
has_member(yajl_val v, const char *name)
{
	const char	*path[] = { name, NULL };

	return (yajl_tree_get(v, path, yajl_t_any) != NULL);
}

/* The JWK is public, complete, and rebuilds into a key. */
static EVP_PKEY *
public_roundtrip(EVP_PKEY *pkey, enum jws_alg alg, const char *kid)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi" };
	char		 json[CERTAOS_MAX_JWK], json2[CERTAOS_MAX_JWK];
	unsigned char	*der = NULL;
	yajl_val	 v;
	EVP_PKEY	*pub;
	enum jws_alg	 ialg = JWS_NONE;
	ssize_t		 dlen;
	size_t		 i;

	ATF_REQUIRE_EQ(jwk_public_json(pkey, alg, kid, json, sizeof(json)), 0);
	v = parse(json);
	ATF_CHECK_STREQ(member(v, "kid"), kid);
	ATF_CHECK_STREQ(member(v, "alg"), jws_alg_name(alg));
	ATF_CHECK_STREQ(member(v, "use"), "sig");
	for (i = 0; i < nitems(priv); i++)
		ATF_CHECK_MSG(!has_member(v, priv[i]), "private %s in %s",
		    priv[i], json);
	switch (alg) {
	case JWS_RS256:
		ATF_CHECK_STREQ(member(v, "kty"), "RSA");
		ATF_CHECK_STREQ(member(v, "e"), "AQAB");
		/* 2048-bit modulus: 256 bytes, 342 base64url characters. */
		ATF_REQUIRE(member(v, "n") != NULL);
		ATF_CHECK_EQ(strlen(member(v, "n")), 342);
		break;
	case JWS_ES256:
		ATF_CHECK_STREQ(member(v, "kty"), "EC");
		ATF_CHECK_STREQ(member(v, "crv"), "P-256");
		ATF_REQUIRE(member(v, "x") != NULL && member(v, "y") != NULL);
		ATF_CHECK_EQ(strlen(member(v, "x")), 43);
		ATF_CHECK_EQ(strlen(member(v, "y")), 43);
		break;
	case JWS_EDDSA:
		ATF_CHECK_STREQ(member(v, "kty"), "OKP");
		ATF_CHECK_STREQ(member(v, "crv"), "Ed25519");
		ATF_REQUIRE(member(v, "x") != NULL);
		ATF_CHECK_EQ(strlen(member(v, "x")), 43);
		ATF_CHECK(!has_member(v, "y"));
		break;
	default:
		ATF_REQUIRE(0);
	}
	yajl_tree_free(v);

	pub = jwk_public_import(json, strlen(json), &ialg);
	ATF_REQUIRE_MSG(pub != NULL, "import of %s", json);
	ATF_CHECK_EQ(ialg, alg);
	/* Only the public half came back. */
	ATF_CHECK((dlen = pkey_private_der(pub, &der)) == -1);
	if (der != NULL)
		freezero(der, dlen);
	/* The rebuilt key exports the same JWK. */
	ATF_REQUIRE_EQ(jwk_public_json(pub, alg, kid, json2, sizeof(json2)),
	    0);
	ATF_CHECK_STREQ(json, json2);
	return (pub);
}

/* Flip one base64url character at off to another valid one. */
static void
tamper(char *tok, size_t off)
{
	tok[off] = tok[off] == 'A' ? 'B' : 'A';
}

static void
sign_verify(enum jws_alg alg)
{
	char		 tok[TOKEN_MAX], bad[TOKEN_MAX], kid[64];
	char		 hdr[256], want[256], forged[TOKEN_MAX];
	const char	*dot1, *dot2;
	yajl_val	 v;
	EVP_PKEY	*key, *pub, *other;
	ssize_t		 n, m;
	size_t		 len;

	ATF_REQUIRE((key = jwk_generate(alg)) != NULL);
	ATF_REQUIRE_EQ(jwk_thumbprint(key, alg, kid, sizeof(kid)), 0);
	ATF_CHECK_EQ(strlen(kid), 43);
	pub = public_roundtrip(key, alg, kid);

	n = jws_sign(key, alg, kid, payload, strlen(payload), tok,
	    sizeof(tok));
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE_EQ((size_t)n, strlen(tok));
	len = n;
	ATF_REQUIRE((dot1 = strchr(tok, '.')) != NULL);
	ATF_REQUIRE((dot2 = strchr(dot1 + 1, '.')) != NULL);
	ATF_CHECK(strchr(dot2 + 1, '.') == NULL);

	/* The header is exactly what RFC 7515 consumers expect. */
	m = base64url_decode(tok, dot1 - tok, hdr, sizeof(hdr) - 1);
	ATF_REQUIRE(m > 0);
	hdr[m] = '\0';
	v = parse(hdr);
	ATF_CHECK_STREQ(member(v, "alg"), jws_alg_name(alg));
	ATF_CHECK_STREQ(member(v, "kid"), kid);
	ATF_CHECK_STREQ(member(v, "typ"), "JWT");
	yajl_tree_free(v);
	/* The payload comes back byte for byte. */
	m = base64url_decode(dot1 + 1, dot2 - dot1 - 1, bad, sizeof(bad));
	ATF_REQUIRE_EQ(m, (ssize_t)strlen(payload));
	ATF_CHECK(memcmp(bad, payload, m) == 0);
	if (alg == JWS_ES256 || alg == JWS_EDDSA)
		ATF_CHECK_EQ(strlen(dot2 + 1), 86);	/* 64 raw bytes */
	if (alg == JWS_RS256)
		ATF_CHECK_EQ(strlen(dot2 + 1), 342);	/* 256 bytes */

	/* Verified by the key rebuilt from the JWK only, and the original. */
	ATF_CHECK_EQ(jws_verify(pub, alg, tok, len), 1);
	ATF_CHECK_EQ(jws_verify(key, alg, tok, len), 1);

	/* Tampered header, payload, signature. */
	memcpy(bad, tok, len + 1);
	tamper(bad, 5);
	ATF_CHECK_EQ(jws_verify(pub, alg, bad, len), 0);
	memcpy(bad, tok, len + 1);
	tamper(bad, (dot1 - tok) + 10);
	ATF_CHECK_EQ(jws_verify(pub, alg, bad, len), 0);
	memcpy(bad, tok, len + 1);
	tamper(bad, (dot2 - tok) + 10);
	ATF_CHECK_EQ(jws_verify(pub, alg, bad, len), 0);
	/* Truncated, or with junk after the signature. */
	ATF_CHECK_EQ(jws_verify(pub, alg, tok, len - 4), 0);
	memcpy(bad, tok, len);
	memcpy(bad + len, ".AAAA", 6);
	ATF_CHECK_EQ(jws_verify(pub, alg, bad, len + 5), 0);
	ATF_CHECK_EQ(jws_verify(pub, alg, tok, dot2 - tok + 1), 0);
	ATF_CHECK_EQ(jws_verify(pub, alg, "abc", 3), 0);
	ATF_CHECK_EQ(jws_verify(pub, alg, "", 0), 0);

	/* Header alg "none" over the same payload and signature. */
	m = base64url_encode("{\"alg\":\"none\"}", 14, forged, sizeof(forged));
	ATF_REQUIRE(m > 0);
	strlcat(forged, dot1, sizeof(forged));
	ATF_CHECK_EQ(jws_verify(pub, alg, forged, strlen(forged)), 0);

	/* Another key of the same alg does not verify it. */
	ATF_REQUIRE((other = jwk_generate(alg)) != NULL);
	ATF_CHECK_EQ(jws_verify(other, alg, tok, len), 0);

	/* Without kid the header has none. */
	n = jws_sign(key, alg, NULL, payload, strlen(payload), tok,
	    sizeof(tok));
	ATF_REQUIRE(n > 0);
	dot1 = strchr(tok, '.');
	m = base64url_decode(tok, dot1 - tok, hdr, sizeof(hdr) - 1);
	ATF_REQUIRE(m > 0);
	hdr[m] = '\0';
	snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
	    jws_alg_name(alg));
	ATF_CHECK_STREQ(hdr, want);
	ATF_CHECK_EQ(jws_verify(pub, alg, tok, n), 1);

	/* Output buffer one byte short fails cleanly. */
	ATF_CHECK_EQ(jws_sign(key, alg, NULL, payload, strlen(payload), tok,
	    n), -1);

	EVP_PKEY_free(other);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

ATF_TC_WITHOUT_HEAD(sign_verify_rs256);
ATF_TC_BODY(sign_verify_rs256, tc)
{
	sign_verify(JWS_RS256);
}

ATF_TC_WITHOUT_HEAD(sign_verify_es256);
ATF_TC_BODY(sign_verify_es256, tc)
{
	sign_verify(JWS_ES256);
}

ATF_TC_WITHOUT_HEAD(sign_verify_eddsa);
ATF_TC_BODY(sign_verify_eddsa, tc)
{
	sign_verify(JWS_EDDSA);
}

/* A token with any header, signed by Ed25519 outside jws_sign(). */
static size_t
ed25519_token(EVP_PKEY *ed, const char *hdr, char *tok, size_t toksz)
{
	EVP_MD_CTX	*mctx;
	unsigned char	 sig[64];
	size_t		 siglen = sizeof(sig), n;

	ATF_REQUIRE(base64url_encode(hdr, strlen(hdr), tok, toksz) > 0);
	strlcat(tok, ".", toksz);
	n = strlen(tok);
	ATF_REQUIRE(base64url_encode(payload, strlen(payload), tok + n,
	    toksz - n) > 0);
	n = strlen(tok);
	ATF_REQUIRE((mctx = EVP_MD_CTX_new()) != NULL);
	ATF_REQUIRE(EVP_DigestSignInit(mctx, NULL, NULL, NULL, ed) == 1);
	ATF_REQUIRE(EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)tok,
	    n) == 1);
	EVP_MD_CTX_free(mctx);
	strlcat(tok, ".", toksz);
	n = strlen(tok);
	ATF_REQUIRE(base64url_encode(sig, siglen, tok + n, toksz - n) > 0);
	return (strlen(tok));
}

ATF_TC_WITHOUT_HEAD(alg_mismatch);
ATF_TC_BODY(alg_mismatch, tc)
{
	char		 tok[TOKEN_MAX];
	EVP_PKEY	*rsa, *ec, *ed;
	ssize_t		 n;

	ATF_REQUIRE((rsa = jwk_generate(JWS_RS256)) != NULL);
	ATF_REQUIRE((ec = jwk_generate(JWS_ES256)) != NULL);
	ATF_REQUIRE((ed = jwk_generate(JWS_EDDSA)) != NULL);
	/* A key is only used for its own alg. */
	ATF_CHECK_EQ(jws_sign(rsa, JWS_ES256, NULL, "x", 1, tok,
	    sizeof(tok)), -1);
	ATF_CHECK_EQ(jws_sign(ec, JWS_EDDSA, NULL, "x", 1, tok,
	    sizeof(tok)), -1);
	ATF_CHECK_EQ(jws_sign(ed, JWS_RS256, NULL, "x", 1, tok,
	    sizeof(tok)), -1);
	ATF_CHECK_EQ(jws_sign(ed, JWS_NONE, NULL, "x", 1, tok,
	    sizeof(tok)), -1);
	ATF_CHECK_EQ(jwk_thumbprint(ec, JWS_RS256, tok, sizeof(tok)), -1);

	/* An ES256 token offered to an EdDSA verifier: header mismatch. */
	n = jws_sign(ec, JWS_ES256, "k", "x", 1, tok, sizeof(tok));
	ATF_REQUIRE(n > 0);
	ATF_CHECK_EQ(jws_verify(ec, JWS_ES256, tok, n), 1);
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	ATF_CHECK_EQ(jws_verify(ec, JWS_EDDSA, tok, n), -1);

	/*
	 * Validly signed, but the header must name the expected alg and
	 * nothing critical.  The first token shows the construction works.
	 */
	n = ed25519_token(ed, "{\"alg\":\"EdDSA\"}", tok, sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 1);
	n = ed25519_token(ed, "{\"alg\":\"ES256\"}", tok, sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	n = ed25519_token(ed, "{\"alg\":\"none\"}", tok, sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	n = ed25519_token(ed, "{\"typ\":\"JWT\"}", tok, sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	n = ed25519_token(ed, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", tok,
	    sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	n = ed25519_token(ed, "{\"alg\":\"EdDSA\",\"crit\":[\"exp\"]}", tok,
	    sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);
	n = ed25519_token(ed, "not json", tok, sizeof(tok));
	ATF_CHECK_EQ(jws_verify(ed, JWS_EDDSA, tok, n), 0);

	ATF_CHECK_STREQ(jws_alg_name(JWS_EDDSA), "EdDSA");
	ATF_CHECK_EQ(jws_alg_from_name("ES256"), JWS_ES256);
	ATF_CHECK_EQ(jws_alg_from_name("none"), JWS_NONE);
	ATF_CHECK_EQ(jws_alg_from_name("HS256"), JWS_NONE);
	ATF_CHECK(jws_alg_name(JWS_NONE) == NULL);

	/* A kid that would need JSON escaping is refused. */
	ATF_CHECK_EQ(jws_sign(ed, JWS_EDDSA, "a\"b", "x", 1, tok,
	    sizeof(tok)), -1);
	ATF_CHECK_EQ(jwk_public_json(ed, JWS_EDDSA, "a\\b", tok,
	    sizeof(tok)), -1);

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

ATF_TC_WITHOUT_HEAD(thumbprint_rfc7638);
ATF_TC_BODY(thumbprint_rfc7638, tc)
{
	char		 tp[64], json[CERTAOS_MAX_JWK];
	yajl_val	 v, orig;
	EVP_PKEY	*pub;
	enum jws_alg	 alg;

	pub = jwk_public_import(rfc7638_jwk, strlen(rfc7638_jwk), &alg);
	ATF_REQUIRE(pub != NULL);
	ATF_CHECK_EQ(alg, JWS_RS256);
	ATF_REQUIRE_EQ(jwk_thumbprint(pub, alg, tp, sizeof(tp)), 0);
	ATF_CHECK_STREQ(tp, rfc7638_thumbprint);
	/* Too small an output buffer. */
	ATF_CHECK_EQ(jwk_thumbprint(pub, alg, tp, 43), -1);

	/* n and e go out exactly as they came in; no kid: thumbprint. */
	ATF_REQUIRE_EQ(jwk_public_json(pub, alg, NULL, json, sizeof(json)), 0);
	v = parse(json);
	orig = parse(rfc7638_jwk);
	ATF_CHECK_STREQ(member(v, "n"), member(orig, "n"));
	ATF_CHECK_STREQ(member(v, "e"), "AQAB");
	ATF_CHECK_STREQ(member(v, "kid"), rfc7638_thumbprint);
	yajl_tree_free(v);
	yajl_tree_free(orig);
	EVP_PKEY_free(pub);
}

ATF_TC_WITHOUT_HEAD(thumbprint_rfc8037);
ATF_TC_BODY(thumbprint_rfc8037, tc)
{
	char		 tp[64];
	EVP_PKEY	*pub;
	enum jws_alg	 alg;

	pub = jwk_public_import(rfc8037_jwk, strlen(rfc8037_jwk), &alg);
	ATF_REQUIRE(pub != NULL);
	ATF_CHECK_EQ(alg, JWS_EDDSA);
	ATF_REQUIRE_EQ(jwk_thumbprint(pub, alg, tp, sizeof(tp)), 0);
	ATF_CHECK_STREQ(tp, rfc8037_thumbprint);
	EVP_PKEY_free(pub);
}

static void
import_fails(const char *json)
{
	EVP_PKEY	*pub;
	enum jws_alg	 alg = JWS_RS256;

	pub = jwk_public_import(json, strlen(json), &alg);
	ATF_CHECK_MSG(pub == NULL, "accepted: %s", json);
	ATF_CHECK_EQ(alg, JWS_NONE);
	EVP_PKEY_free(pub);
}

ATF_TC_WITHOUT_HEAD(import_rejects);
ATF_TC_BODY(import_rejects, tc)
{
	char		 json[CERTAOS_MAX_JWK], bad[CERTAOS_MAX_JWK];
	char		 b64n[256];
	unsigned char	 nb[128];
	yajl_val	 v;
	EVP_PKEY	*ec, *pub;
	const char	*x, *y;

	import_fails("");
	import_fails("[]");
	import_fails("{\"kty\":\"RSA\"}");
	import_fails("{\"kty\":\"oct\",\"k\":\"AAAA\"}");
	/* alg disagrees with kty; use is not "sig". */
	snprintf(bad, sizeof(bad), "%s", rfc8037_jwk);
	bad[strlen(bad) - 1] = '\0';
	strlcat(bad, ",\"alg\":\"ES256\"}", sizeof(bad));
	import_fails(bad);
	bad[strlen(rfc8037_jwk) - 1] = '\0';
	strlcat(bad, ",\"use\":\"enc\"}", sizeof(bad));
	import_fails(bad);
	/* A private member. */
	bad[strlen(rfc8037_jwk) - 1] = '\0';
	strlcat(bad, ",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}",
	    sizeof(bad));
	import_fails(bad);
	/* Duplicate member. */
	bad[strlen(rfc8037_jwk) - 1] = '\0';
	strlcat(bad, ",\"kty\":\"OKP\"}", sizeof(bad));
	import_fails(bad);
	/* Wrong curve, wrong lengths. */
	import_fails("{\"kty\":\"OKP\",\"crv\":\"Ed448\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	import_fails("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}");
	/* A 1024-bit RSA modulus is too small. */
	memset(nb, 0, sizeof(nb));
	nb[0] = 0xc0;
	nb[sizeof(nb) - 1] = 0x01;
	ATF_REQUIRE(base64url_encode(nb, sizeof(nb), b64n, sizeof(b64n)) > 0);
	snprintf(bad, sizeof(bad), "{\"kty\":\"RSA\",\"e\":\"AQAB\","
	    "\"n\":\"%s\"}", b64n);
	import_fails(bad);

	/* An EC point moved off the curve. */
	ATF_REQUIRE((ec = jwk_generate(JWS_ES256)) != NULL);
	ATF_REQUIRE_EQ(jwk_public_json(ec, JWS_ES256, "k", json,
	    sizeof(json)), 0);
	v = parse(json);
	x = member(v, "x");
	y = member(v, "y");
	ATF_REQUIRE(x != NULL && y != NULL);
	snprintf(bad, sizeof(bad), "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%.20s%c%s\"}", x, y,
	    y[20] == 'A' ? 'B' : 'A', y + 21);
	import_fails(bad);
	snprintf(bad, sizeof(bad), "{\"kty\":\"EC\",\"crv\":\"P-384\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	import_fails(bad);
	/* The same, unmodified, is accepted. */
	snprintf(bad, sizeof(bad), "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	pub = jwk_public_import(bad, strlen(bad), NULL);
	ATF_CHECK(pub != NULL);
	EVP_PKEY_free(pub);
	yajl_tree_free(v);
	EVP_PKEY_free(ec);
}

static void
der_roundtrip(enum jws_alg alg)
{
	PKCS8_PRIV_KEY_INFO	*p8;
	const unsigned char	*p;
	unsigned char		*der = NULL, *longer;
	char			 tok[TOKEN_MAX];
	EVP_PKEY		*key, *back;
	ssize_t			 len, n;

	ATF_REQUIRE((key = jwk_generate(alg)) != NULL);
	len = pkey_private_der(key, &der);
	ATF_REQUIRE(len > 0 && der != NULL);
	/* It is PKCS#8 PrivateKeyInfo, and nothing else. */
	p = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
	ATF_CHECK(p8 != NULL);
	ATF_CHECK(p == der + len);
	PKCS8_PRIV_KEY_INFO_free(p8);

	ATF_REQUIRE((back = pkey_from_private_der(der, len)) != NULL);
	n = jws_sign(back, alg, "k", payload, strlen(payload), tok,
	    sizeof(tok));
	ATF_REQUIRE(n > 0);
	ATF_CHECK_EQ(jws_verify(key, alg, tok, n), 1);
	EVP_PKEY_free(back);

	/* Truncated, or with a byte appended: refused. */
	ATF_CHECK(pkey_from_private_der(der, len - 1) == NULL);
	ATF_CHECK(pkey_from_private_der(der, 0) == NULL);
	ATF_REQUIRE((longer = malloc(len + 1)) != NULL);
	memcpy(longer, der, len);
	longer[len] = 0;
	ATF_CHECK(pkey_from_private_der(longer, len + 1) == NULL);
	freezero(longer, len + 1);
	freezero(der, len);
	EVP_PKEY_free(key);
}

ATF_TC_WITHOUT_HEAD(private_der);
ATF_TC_BODY(private_der, tc)
{
	der_roundtrip(JWS_RS256);
	der_roundtrip(JWS_ES256);
	der_roundtrip(JWS_EDDSA);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE	*f;

	ATF_REQUIRE((f = fopen(path, "w")) != NULL);
	ATF_REQUIRE_EQ(fwrite(data, 1, len, f), len);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

static int
run(const char *cmd)
{
	int	 st;

	st = system(cmd);
	ATF_REQUIRE(st != -1 && WIFEXITED(st));
	return (WEXITSTATUS(st));
}

/*
 * openssl(1) checks our signature over the signing input, with the
 * public key written from the JWK-rebuilt key.
 */
static void
cli_verify(enum jws_alg alg)
{
	char		 tok[TOKEN_MAX], json[CERTAOS_MAX_JWK], quiet[256];
	unsigned char	 sig[512], der[128], *dp;
	const char	*dot2, *cmd;
	ECDSA_SIG	*es;
	FILE		*f;
	EVP_PKEY	*key, *pub;
	ssize_t		 n, slen;
	int		 dlen;

	if (run("openssl version >/dev/null 2>&1") != 0)
		atf_tc_skip("openssl command not installed");
	ATF_REQUIRE((key = jwk_generate(alg)) != NULL);
	ATF_REQUIRE_EQ(jwk_public_json(key, alg, NULL, json, sizeof(json)), 0);
	ATF_REQUIRE((pub = jwk_public_import(json, strlen(json), NULL)) !=
	    NULL);
	ATF_REQUIRE((f = fopen("pub.pem", "w")) != NULL);
	ATF_REQUIRE(PEM_write_PUBKEY(f, pub) == 1);
	ATF_REQUIRE_EQ(fclose(f), 0);

	n = jws_sign(key, alg, "cli", payload, strlen(payload), tok,
	    sizeof(tok));
	ATF_REQUIRE(n > 0);
	ATF_REQUIRE((dot2 = strrchr(tok, '.')) != NULL);
	write_file("input", tok, dot2 - tok);
	slen = base64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
	ATF_REQUIRE(slen > 0);

	if (alg == JWS_ES256) {
		/* openssl dgst wants the DER SEQUENCE { r, s }. */
		ATF_REQUIRE_EQ(slen, 64);
		ATF_REQUIRE((es = ECDSA_SIG_new()) != NULL);
		ATF_REQUIRE(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL)) == 1);
		dp = der;
		dlen = i2d_ECDSA_SIG(es, &dp);
		ATF_REQUIRE(dlen > 0 && (size_t)dlen <= sizeof(der));
		ECDSA_SIG_free(es);
		write_file("sig.bin", der, dlen);
	} else
		write_file("sig.bin", sig, slen);

	if (alg == JWS_EDDSA)
		cmd = "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin "
		    "-in input -sigfile sig.bin";
	else
		cmd = "openssl dgst -sha256 -verify pub.pem "
		    "-signature sig.bin input";
	ATF_CHECK_EQ_MSG(run(cmd), 0, "%s", cmd);

	/* And the same command refuses a changed input. */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	write_file("input", tok, dot2 - tok);
	snprintf(quiet, sizeof(quiet), "%s >/dev/null 2>&1", cmd);
	ATF_CHECK_MSG(run(quiet) != 0, "tampered input verified: %s", cmd);

	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

ATF_TC_WITHOUT_HEAD(openssl_cli_rs256);
ATF_TC_BODY(openssl_cli_rs256, tc)
{
	cli_verify(JWS_RS256);
}

ATF_TC_WITHOUT_HEAD(openssl_cli_es256);
ATF_TC_BODY(openssl_cli_es256, tc)
{
	cli_verify(JWS_ES256);
}

ATF_TC_WITHOUT_HEAD(openssl_cli_eddsa);
ATF_TC_BODY(openssl_cli_eddsa, tc)
{
	cli_verify(JWS_EDDSA);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, sign_verify_rs256);
	ATF_TP_ADD_TC(tp, sign_verify_es256);
	ATF_TP_ADD_TC(tp, sign_verify_eddsa);
	ATF_TP_ADD_TC(tp, alg_mismatch);
	ATF_TP_ADD_TC(tp, thumbprint_rfc7638);
	ATF_TP_ADD_TC(tp, thumbprint_rfc8037);
	ATF_TP_ADD_TC(tp, import_rejects);
	ATF_TP_ADD_TC(tp, private_der);
	ATF_TP_ADD_TC(tp, openssl_cli_rs256);
	ATF_TP_ADD_TC(tp, openssl_cli_es256);
	ATF_TP_ADD_TC(tp, openssl_cli_eddsa);
	return (atf_no_error());
}
