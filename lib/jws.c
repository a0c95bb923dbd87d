/*
 * jws.c: signing keys, public JWKs (RFC 7517/7518/8037), JWK thumbprints
 * (RFC 7638) and compact JWS (RFC 7515) for RS256, ES256 and EdDSA, on
 * the OpenSSL 3 EVP interfaces.
 *
 * Keys are checked against their alg before every use: RS256 takes RSA
 * of 2048 to 4096 bits, ES256 P-256, EdDSA Ed25519.  A JWS header names
 * exactly the alg the verifier expects or the token is refused.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <yajl/yajl_tree.h>

#include "certaos.h"
#include "crypto.h"

#define RSA_MIN_BITS	2048
#define RSA_MAX_BITS	4096
#define RSA_MAX_BYTES	(RSA_MAX_BITS / 8)
#define EC_COORD_LEN	32		/* P-256 */
#define ES256_SIG_LEN	(2 * EC_COORD_LEN)
#define ED25519_LEN	32
#define ED25519_SIG_LEN	64
#define B64_MAX		700	/* base64url of RSA_MAX_BYTES, NUL */
#define JWS_HDR_MAX	512	/* header JSON made or accepted */
#define JWS_SIG_MAX	RSA_MAX_BYTES

struct jwk_parts {
	char		 a[B64_MAX];	/* RSA n, EC or OKP x */
	char		 b[B64_MAX];	/* RSA e, EC y */
};

static int	 b64(const void *, size_t, char *, size_t);
static int	 key_matches(EVP_PKEY *, enum jws_alg);
static int	 key_parts(EVP_PKEY *, enum jws_alg, struct jwk_parts *);
static int	 kid_valid(const char *);
static int	 json_unique_keys(const yajl_val);
static int	 json_str(const yajl_val, const char *, const char **);
static EVP_PKEY	*pkey_fromdata(const char *, OSSL_PARAM_BLD *);
static EVP_PKEY	*import_rsa(const yajl_val);
static EVP_PKEY	*import_ec(const yajl_val);
static EVP_PKEY	*import_okp(const yajl_val);
static int	 segment_valid(const char *, size_t);
static int	 es256_raw_to_der(const unsigned char *, unsigned char *,
		    size_t *);

const char *
jws_alg_name(enum jws_alg alg)
{
	switch (alg) {
	case JWS_RS256:
		return ("RS256");
	case JWS_ES256:
		return ("ES256");
	case JWS_EDDSA:
		return ("EdDSA");
	default:
		return (NULL);
	}
}

enum jws_alg
jws_alg_from_name(const char *name)
{
	if (name == NULL)
		return (JWS_NONE);
	if (strcmp(name, "RS256") == 0)
		return (JWS_RS256);
	if (strcmp(name, "ES256") == 0)
		return (JWS_ES256);
	if (strcmp(name, "EdDSA") == 0)
		return (JWS_EDDSA);
	return (JWS_NONE);
}

EVP_PKEY *
jwk_generate(enum jws_alg alg)
{
	switch (alg) {
	case JWS_RS256:
		/* OpenSSL's default public exponent is 65537. */
		return (EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)RSA_MIN_BITS));
	case JWS_ES256:
		return (EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	case JWS_EDDSA:
		return (EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	default:
		return (NULL);
	}
}

/* base64url into a NUL-terminated buffer; 0 or -1 */
static int
b64(const void *data, size_t len, char *out, size_t outsz)
{
	ssize_t	 n;

	if (base64url_encoded_len(len) + 1 > outsz)
		return (-1);
	if ((n = base64url_encode(data, len, out, outsz)) == -1 ||
	    (size_t)n >= outsz)
		return (-1);
	out[n] = '\0';
	return (0);
}

static int
key_matches(EVP_PKEY *pkey, enum jws_alg alg)
{
	char	 group[64];
	size_t	 glen = 0;
	int	 bits;

	if (pkey == NULL)
		return (0);
	switch (alg) {
	case JWS_RS256:
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			return (0);
		bits = EVP_PKEY_get_bits(pkey);
		return (bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS);
	case JWS_ES256:
		if (!EVP_PKEY_is_a(pkey, "EC"))
			return (0);
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group),
		    &glen) != 1)
			return (0);
		return (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0);
	case JWS_EDDSA:
		return (EVP_PKEY_is_a(pkey, "ED25519"));
	default:
		return (0);
	}
}

/* The public members of a key, base64url. */
static int
key_parts(EVP_PKEY *pkey, enum jws_alg alg, struct jwk_parts *jp)
{
	unsigned char	 buf[RSA_MAX_BYTES];
	BIGNUM		*x = NULL, *y = NULL;
	size_t		 len;
	int		 n, ret = -1;

	memset(jp, 0, sizeof(*jp));
	if (!key_matches(pkey, alg))
		return (-1);

	switch (alg) {
	case JWS_RS256:
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N,
		    &x) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E,
		    &y) != 1)
			goto done;
		/* Unsigned big-endian magnitude, no leading zero octets. */
		if (BN_is_zero(x) || BN_is_zero(y) ||
		    BN_num_bytes(x) > (int)sizeof(buf) ||
		    BN_num_bytes(y) > (int)sizeof(buf))
			goto done;
		n = BN_bn2bin(x, buf);
		if (b64(buf, n, jp->a, sizeof(jp->a)) == -1)
			goto done;
		n = BN_bn2bin(y, buf);
		if (b64(buf, n, jp->b, sizeof(jp->b)) == -1)
			goto done;
		break;
	case JWS_ES256:
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    &x) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		    &y) != 1)
			goto done;
		/* Fixed length coordinates (RFC 7518 6.2.1.2). */
		if (BN_bn2binpad(x, buf, EC_COORD_LEN) != EC_COORD_LEN ||
		    b64(buf, EC_COORD_LEN, jp->a, sizeof(jp->a)) == -1)
			goto done;
		if (BN_bn2binpad(y, buf, EC_COORD_LEN) != EC_COORD_LEN ||
		    b64(buf, EC_COORD_LEN, jp->b, sizeof(jp->b)) == -1)
			goto done;
		break;
	case JWS_EDDSA:
		len = sizeof(buf);
		if (EVP_PKEY_get_raw_public_key(pkey, buf, &len) != 1 ||
		    len != ED25519_LEN)
			goto done;
		if (b64(buf, len, jp->a, sizeof(jp->a)) == -1)
			goto done;
		break;
	default:
		goto done;
	}
	ret = 0;
 done:
	BN_free(x);
	BN_free(y);
	return (ret);
}

int
jwk_thumbprint(EVP_PKEY *pkey, enum jws_alg alg, char *out, size_t outsz)
{
	struct jwk_parts	 jp;
	char			 json[2 * B64_MAX + 64];
	unsigned char		 md[SHA256_LEN];
	int			 n;

	if (out == NULL || key_parts(pkey, alg, &jp) == -1)
		return (-1);

	/* RFC 7638 3.2: required members only, lexicographic order. */
	switch (alg) {
	case JWS_RS256:
		n = snprintf(json, sizeof(json),
		    "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", jp.b, jp.a);
		break;
	case JWS_ES256:
		n = snprintf(json, sizeof(json),
		    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
		    "\"y\":\"%s\"}", jp.a, jp.b);
		break;
	case JWS_EDDSA:
		n = snprintf(json, sizeof(json),
		    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
		    jp.a);
		break;
	default:
		return (-1);
	}
	if (n < 0 || (size_t)n >= sizeof(json))
		return (-1);
	if (sha256(json, (size_t)n, md) == -1)
		return (-1);
	return (b64(md, sizeof(md), out, outsz));
}

/* A kid we put in JSON must need no escaping. */
static int
kid_valid(const char *kid)
{
	size_t	 i, len;

	len = strlen(kid);
	if (len == 0 || len > CERTAOS_MAX_KID)
		return (0);
	for (i = 0; i < len; i++) {
		if (kid[i] < 0x21 || kid[i] > 0x7e || kid[i] == '"' ||
		    kid[i] == '\\')
			return (0);
	}
	return (1);
}

int
jwk_public_json(EVP_PKEY *pkey, enum jws_alg alg, const char *kid,
    char *out, size_t outsz)
{
	struct jwk_parts	 jp;
	char			 tp[SHA256_LEN * 2];
	int			 n;

	if (out == NULL || key_parts(pkey, alg, &jp) == -1)
		return (-1);
	/* No kid given: the RFC 7638 thumbprint. */
	if (kid == NULL || *kid == '\0') {
		if (jwk_thumbprint(pkey, alg, tp, sizeof(tp)) == -1)
			return (-1);
		kid = tp;
	}
	if (!kid_valid(kid))
		return (-1);

	switch (alg) {
	case JWS_RS256:
		n = snprintf(out, outsz, "{\"kty\":\"RSA\",\"kid\":\"%s\","
		    "\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"%s\","
		    "\"e\":\"%s\"}", kid, jp.a, jp.b);
		break;
	case JWS_ES256:
		n = snprintf(out, outsz, "{\"kty\":\"EC\",\"kid\":\"%s\","
		    "\"alg\":\"ES256\",\"use\":\"sig\",\"crv\":\"P-256\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", kid, jp.a, jp.b);
		break;
	case JWS_EDDSA:
		n = snprintf(out, outsz, "{\"kty\":\"OKP\",\"kid\":\"%s\","
		    "\"alg\":\"EdDSA\",\"use\":\"sig\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\"}", kid, jp.a);
		break;
	default:
		return (-1);
	}
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return (-1);
	}
	return (0);
}

/* An object whose member names are all distinct: 1 yes, 0 no. */
static int
json_unique_keys(const yajl_val v)
{
	size_t	 i, j;

	if (!YAJL_IS_OBJECT(v))
		return (0);
	for (i = 0; i < v->u.object.len; i++)
		for (j = i + 1; j < v->u.object.len; j++)
			if (strcmp(v->u.object.keys[i],
			    v->u.object.keys[j]) == 0)
				return (0);
	return (1);
}

/*
 * Member name of object v: 1 and *s set if it is a string, 0 if absent,
 * -1 if present but not a string.
 */
static int
json_str(const yajl_val v, const char *name, const char **s)
{
	size_t	 i;

	*s = NULL;
	for (i = 0; i < v->u.object.len; i++) {
		if (strcmp(v->u.object.keys[i], name) != 0)
			continue;
		if (!YAJL_IS_STRING(v->u.object.values[i]))
			return (-1);
		*s = YAJL_GET_STRING(v->u.object.values[i]);
		return (1);
	}
	return (0);
}

static EVP_PKEY *
pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX	*ctx = NULL, *cctx = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY	*pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto fail;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		goto fail;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto fail;
	/*
	 * The point is on the curve.  Not for RSA: OpenSSL's check of a
	 * modulus is a probabilistic primality test that rejects some
	 * moduli with small factors some of the time (found by fuzzing);
	 * an import must give one answer, so RSA keys get the
	 * deterministic checks of import_rsa() alone.
	 */
	if (strcmp(type, "RSA") != 0 &&
	    ((cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(cctx) != 1))
		goto fail;
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return (pkey);
 fail:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return (NULL);
}

static EVP_PKEY *
import_rsa(const yajl_val v)
{
	unsigned char	 nb[RSA_MAX_BYTES], eb[8];
	const char	*n, *e;
	OSSL_PARAM_BLD	*bld = NULL;
	BIGNUM		*bn = NULL, *be = NULL;
	EVP_PKEY	*pkey = NULL;
	ssize_t		 nlen, elen;

	if (json_str(v, "n", &n) != 1 || json_str(v, "e", &e) != 1)
		return (NULL);
	if ((nlen = base64url_decode(n, strlen(n), nb, sizeof(nb))) <= 0 ||
	    (elen = base64url_decode(e, strlen(e), eb, sizeof(eb))) <= 0)
		return (NULL);
	if ((bn = BN_bin2bn(nb, nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(eb, elen, NULL)) == NULL)
		goto done;
	if (BN_num_bits(bn) < RSA_MIN_BITS || BN_num_bits(bn) > RSA_MAX_BITS ||
	    !BN_is_odd(bn) || !BN_is_odd(be) || BN_is_one(be) ||
	    BN_cmp(be, bn) >= 0)
		goto done;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto done;
	pkey = pkey_fromdata("RSA", bld);
 done:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return (pkey);
}

static EVP_PKEY *
import_ec(const yajl_val v)
{
	unsigned char	 pt[1 + 2 * EC_COORD_LEN];
	const char	*crv, *x, *y;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pkey = NULL;

	if (json_str(v, "crv", &crv) != 1 || strcmp(crv, "P-256") != 0 ||
	    json_str(v, "x", &x) != 1 || json_str(v, "y", &y) != 1)
		return (NULL);
	pt[0] = POINT_CONVERSION_UNCOMPRESSED;
	if (base64url_decode(x, strlen(x), pt + 1, EC_COORD_LEN) !=
	    EC_COORD_LEN ||
	    base64url_decode(y, strlen(y), pt + 1 + EC_COORD_LEN,
	    EC_COORD_LEN) != EC_COORD_LEN)
		return (NULL);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, sizeof(pt)) != 1)
		goto done;
	pkey = pkey_fromdata("EC", bld);
 done:
	OSSL_PARAM_BLD_free(bld);
	return (pkey);
}

static EVP_PKEY *
import_okp(const yajl_val v)
{
	unsigned char	 pub[ED25519_LEN];
	const char	*crv, *x;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pkey = NULL;

	if (json_str(v, "crv", &crv) != 1 || strcmp(crv, "Ed25519") != 0 ||
	    json_str(v, "x", &x) != 1)
		return (NULL);
	if (base64url_decode(x, strlen(x), pub, sizeof(pub)) != ED25519_LEN)
		return (NULL);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, sizeof(pub)) != 1)
		goto done;
	pkey = pkey_fromdata("ED25519", bld);
 done:
	OSSL_PARAM_BLD_free(bld);
	return (pkey);
}

EVP_PKEY *
jwk_public_import(const char *json, size_t len, enum jws_alg *algp)
{
	static const char *const private[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k"
	};
	char		 buf[CERTAOS_MAX_JWK + 1];
	const char	*kty, *name, *use;
	yajl_val	 v = NULL;
	EVP_PKEY	*pkey = NULL;
	enum jws_alg	 alg = JWS_NONE, named = JWS_NONE;
	size_t		 i;
	int		 r;

	if (algp != NULL)
		*algp = JWS_NONE;
	if (json == NULL || len == 0 || len > CERTAOS_MAX_JWK ||
	    memchr(json, '\0', len) != NULL)
		return (NULL);
	memcpy(buf, json, len);
	buf[len] = '\0';
	if ((v = yajl_tree_parse(buf, NULL, 0)) == NULL)
		return (NULL);
	if (!json_unique_keys(v))
		goto done;

	/* A public JWK: any private member is a mistake upstream. */
	for (i = 0; i < nitems(private); i++)
		if (json_str(v, private[i], &name) != 0)
			goto done;
	if (json_str(v, "use", &use) == -1 ||
	    (use != NULL && strcmp(use, "sig") != 0))
		goto done;
	if (json_str(v, "kty", &kty) != 1)
		goto done;
	if (strcmp(kty, "RSA") == 0)
		alg = JWS_RS256;
	else if (strcmp(kty, "EC") == 0)
		alg = JWS_ES256;
	else if (strcmp(kty, "OKP") == 0)
		alg = JWS_EDDSA;
	else
		goto done;
	/* "alg" is optional; present, it must agree with the key type. */
	if ((r = json_str(v, "alg", &name)) == -1)
		goto done;
	if (r == 1 && ((named = jws_alg_from_name(name)) == JWS_NONE ||
	    named != alg))
		goto done;

	switch (alg) {
	case JWS_RS256:
		pkey = import_rsa(v);
		break;
	case JWS_ES256:
		pkey = import_ec(v);
		break;
	case JWS_EDDSA:
		pkey = import_okp(v);
		break;
	default:
		break;
	}
	if (pkey != NULL && !key_matches(pkey, alg)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	if (pkey != NULL && algp != NULL)
		*algp = alg;
 done:
	yajl_tree_free(v);
	ERR_clear_error();
	return (pkey);
}

ssize_t
pkey_private_der(EVP_PKEY *pkey, unsigned char **der)
{
	PKCS8_PRIV_KEY_INFO	*p8 = NULL;
	unsigned char		*buf = NULL, *p;
	int			 len;

	if (der == NULL)
		return (-1);
	*der = NULL;
	if (pkey == NULL || (p8 = EVP_PKEY2PKCS8(pkey)) == NULL)
		return (-1);
	if ((len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0)
		goto fail;
	if ((buf = malloc(len)) == NULL)
		goto fail;
	p = buf;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len)
		goto fail;
	PKCS8_PRIV_KEY_INFO_free(p8);
	*der = buf;
	return (len);
 fail:
	if (buf != NULL)
		freezero(buf, len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return (-1);
}

EVP_PKEY *
pkey_from_private_der(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	EVP_PKEY		*pkey;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return (NULL);
	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return (NULL);
	}
	/* Nothing may follow the key. */
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		return (NULL);
	}
	return (pkey);
}

ssize_t
jws_sign(EVP_PKEY *pkey, enum jws_alg alg, const char *kid,
    const void *payload, size_t plen, char *out, size_t outsz)
{
	EVP_MD_CTX	*mctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	ECDSA_SIG	*es = NULL;
	const BIGNUM	*r, *s;
	const unsigned char *p;
	unsigned char	 sig[JWS_SIG_MAX], raw[ES256_SIG_LEN];
	char		 hdr[JWS_HDR_MAX];
	size_t		 hlen, inlen, siglen, need;
	ssize_t		 n, m, ret = -1;
	int		 h;

	if (out == NULL || outsz == 0 || (payload == NULL && plen != 0))
		return (-1);
	out[0] = '\0';
	if (!key_matches(pkey, alg))
		return (-1);
	if (kid != NULL && *kid != '\0') {
		if (!kid_valid(kid))
			return (-1);
		h = snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		    jws_alg_name(alg), kid);
	} else
		h = snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"typ\":\"JWT\"}", jws_alg_name(alg));
	if (h < 0 || (size_t)h >= sizeof(hdr))
		return (-1);
	hlen = h;

	/* The signing input is written in place: header "." payload. */
	if (plen > CERTAOS_MAX_JWS_INPUT)
		return (-1);
	inlen = base64url_encoded_len(hlen) + 1 + base64url_encoded_len(plen);
	if (inlen > CERTAOS_MAX_JWS_INPUT || inlen >= outsz)
		return (-1);
	if ((n = base64url_encode(hdr, hlen, out, outsz)) == -1)
		goto done;
	out[n++] = '.';
	if ((size_t)n >= outsz)
		goto done;
	if ((m = base64url_encode(payload, plen, out + n, outsz - n)) == -1 ||
	    (size_t)(n + m) != inlen)
		goto done;

	/* Ed25519 signs the message itself: no digest. */
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestSignInit_ex(mctx, &pctx,
	    alg == JWS_EDDSA ? NULL : "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto done;
	if (alg == JWS_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto done;
	siglen = sizeof(sig);
	if (EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)out,
	    inlen) != 1)
		goto done;

	p = sig;
	if (alg == JWS_ES256) {
		/* DER SEQUENCE { r, s } to fixed-length r | s (RFC 7518). */
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) == NULL)
			goto done;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, raw, EC_COORD_LEN) != EC_COORD_LEN ||
		    BN_bn2binpad(s, raw + EC_COORD_LEN, EC_COORD_LEN) !=
		    EC_COORD_LEN)
			goto done;
		p = raw;
		siglen = sizeof(raw);
	}

	need = inlen + 1 + base64url_encoded_len(siglen) + 1;
	if (need > outsz)
		goto done;
	out[inlen] = '.';
	if ((n = base64url_encode(p, siglen, out + inlen + 1,
	    outsz - inlen - 1)) == -1)
		goto done;
	ret = inlen + 1 + n;
	out[ret] = '\0';
 done:
	if (ret == -1) {
		out[0] = '\0';
		ERR_clear_error();
	}
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(mctx);
	return (ret);
}

/* A base64url segment: alphabet only, a possible length. */
static int
segment_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len % 4 == 1)
		return (0);
	for (i = 0; i < len; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_')
			continue;
		return (0);
	}
	return (1);
}

static int
es256_raw_to_der(const unsigned char *raw, unsigned char *der, size_t *len)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*p = der;
	int		 n, ret = -1;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, EC_COORD_LEN, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + EC_COORD_LEN, EC_COORD_LEN, NULL)) == NULL)
		goto done;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)n > *len)
		goto done;
	if (i2d_ECDSA_SIG(es, &p) != n)
		goto done;
	*len = n;
	ret = 0;
 done:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return (ret);
}

int
jws_verify(EVP_PKEY *pkey, enum jws_alg alg, const char *token, size_t len)
{
	EVP_MD_CTX	*mctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	yajl_val	 v = NULL;
	const char	*dot1, *dot2, *name, *crit;
	unsigned char	 sig[JWS_SIG_MAX + 1], der[ES256_SIG_LEN + 16];
	const unsigned char *sp;
	char		 hdr[JWS_HDR_MAX + 1];
	size_t		 inlen, siglen;
	ssize_t		 n;
	int		 ret = 0, rc;

	if (!key_matches(pkey, alg) || token == NULL)
		return (-1);
	if (len == 0 || len > CERTAOS_MAX_JWS_INPUT + 1 + B64_MAX)
		return (0);
	if ((dot1 = memchr(token, '.', len)) == NULL)
		return (0);
	if ((dot2 = memchr(dot1 + 1, '.', len - (dot1 + 1 - token))) == NULL)
		return (0);
	inlen = dot2 - token;
	if (inlen > CERTAOS_MAX_JWS_INPUT || dot1 == token)
		return (0);
	if (!segment_valid(token, dot1 - token) ||
	    !segment_valid(dot1 + 1, dot2 - dot1 - 1) ||
	    !segment_valid(dot2 + 1, len - inlen - 1))
		return (0);

	/* The header names the alg the caller expects, and nothing crit. */
	if ((n = base64url_decode(token, dot1 - token, hdr,
	    sizeof(hdr) - 1)) <= 0)
		return (0);
	hdr[n] = '\0';
	if (memchr(hdr, '\0', n) != NULL)
		return (0);
	if ((v = yajl_tree_parse(hdr, NULL, 0)) == NULL)
		return (0);
	if (!json_unique_keys(v) || json_str(v, "alg", &name) != 1 ||
	    strcmp(name, jws_alg_name(alg)) != 0 ||
	    json_str(v, "crit", &crit) != 0)
		goto done;

	if ((n = base64url_decode(dot2 + 1, len - inlen - 1, sig,
	    sizeof(sig))) <= 0)
		goto done;
	siglen = n;
	sp = sig;
	switch (alg) {
	case JWS_RS256:
		if (siglen != (size_t)EVP_PKEY_get_size(pkey))
			goto done;
		break;
	case JWS_ES256:
		if (siglen != ES256_SIG_LEN)
			goto done;
		siglen = sizeof(der);
		if (es256_raw_to_der(sig, der, &siglen) == -1) {
			ret = -1;
			goto done;
		}
		sp = der;
		break;
	case JWS_EDDSA:
		if (siglen != ED25519_SIG_LEN)
			goto done;
		break;
	default:
		ret = -1;
		goto done;
	}

	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		ret = -1;
		goto done;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx,
	    alg == JWS_EDDSA ? NULL : "SHA256", NULL, NULL, pkey, NULL) != 1 ||
	    (alg == JWS_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
		ret = -1;
		goto done;
	}
	rc = EVP_DigestVerify(mctx, sp, siglen, (const unsigned char *)token,
	    inlen);
	ret = rc == 1 ? 1 : 0;
 done:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	yajl_tree_free(v);
	return (ret);
}
