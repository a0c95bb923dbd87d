/*
 * fuzz_jws: jwk_public_import and jws_verify (lib/jws.c) on arbitrary
 * input.  Each input is tried as a public JWK and as a compact JWS under
 * three fixed public keys, one per algorithm (made once with
 * jwk_generate; their private halves are gone, the seed corpus keeps
 * tokens they signed).
 *
 * Properties checked: a JWK that imports has a known algorithm, a
 * thumbprint and a JSON form, and that JSON imports again to the same
 * key; jws_verify answers 0 or 1 (never -1 for a key of its algorithm),
 * the same twice, -1 for a key of another algorithm, and no token is
 * valid under two keys.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "certaos.h"
#include "crypto.h"
#include "fuzz.h"

#define JWS_FZ_JSON_MAX	8192

static const char jws_fz_rsa[] =
    "{\"kty\":\"RSA\",\"kid\":\"r9B7Qu0uU1-D-1tgpXUL78Uuoq6SZDNRCpLn7TM"
    "uBE8\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"zUPWUm2KOciOvKheQ"
    "DT1IspxpqRcMeCR9XXgxR4KRT6F_4gDPdvfHQ6RPfa8T_vWEx1pgVq4-1C7XWHnLgQ"
    "0bREn7mBjVzimAUyv5D8U9GtaIhGDozxf9tAwhupnPXi0UTJdr_rpSZGx_kboSCJ7Y"
    "NeaMTRnO7n1Cuem3fncz-OvZN8LM9epec1923qFgwTmwvxpVqiqxkaHFsdlBWK_4_g"
    "B9YpA4dSwsipxVqnV3NILnA4pMjitk30A7MWRdFSVL0vr5cbPfwaRqOP5rvmKUdqBH"
    "Tlrk3sQZTNc3U00akdct554VCP4kEWXwC-XwEUFHaozQ7EhorsUla0ZlEXtfQ\",\""
    "e\":\"AQAB\"}";

static const char jws_fz_ec[] =
    "{\"kty\":\"EC\",\"kid\":\"6CSJIEceOsofH0xG5WNc3jObhxFFGFxScflMQOkN"
    "idU\",\"alg\":\"ES256\",\"use\":\"sig\",\"crv\":\"P-256\",\"x\":\""
    "WzAqHYB_k5lsdpakbJariEi9CiPyDGxHozC5EM085q0\",\"y\":\"wztl5_M3I6eg"
    "rdyInj4D4wjBTVcZY_dNnV9fhZli6CI\"}";

static const char jws_fz_ed[] =
    "{\"kty\":\"OKP\",\"kid\":\"TxfieLn4NTBRKJUfZtvNSpJUGwDRWdaI-nlVZgj"
    "_-Ao\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"crv\":\"Ed25519\",\"x\""
    ":\"VWxlQOhQDrPZLQJ8jRYwmfMv5ZSmd6lczAf4qz5zmKw\"}";

static EVP_PKEY		*jws_fz_keys[3];
static const enum jws_alg jws_fz_algs[3] = {
	JWS_RS256, JWS_ES256, JWS_EDDSA
};

static void	 jws_fz_init(void);
static void	 jws_fz_import(const char *, size_t);

static void
jws_fz_init(void)
{
	const char	*jwk[3] = { jws_fz_rsa, jws_fz_ec, jws_fz_ed };
	enum jws_alg	 alg;
	size_t		 i;

	for (i = 0; i < nitems(jws_fz_keys); i++) {
		jws_fz_keys[i] = jwk_public_import(jwk[i], strlen(jwk[i]),
		    &alg);
		if (jws_fz_keys[i] == NULL || alg != jws_fz_algs[i])
			abort();
	}
}

static void
jws_fz_import(const char *data, size_t size)
{
	EVP_PKEY	*pkey, *again;
	enum jws_alg	 alg, alg2;
	char		*copy, *json, kid[CERTAOS_MAX_KID], kid2[CERTAOS_MAX_KID];

	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	alg = JWS_RS256;
	pkey = jwk_public_import(copy, size, &alg);
	free(copy);
	if (pkey == NULL) {
		FUZZ_ASSERT(alg == JWS_NONE);
		return;
	}
	FUZZ_ASSERT(alg == JWS_RS256 || alg == JWS_ES256 ||
	    alg == JWS_EDDSA);
	FUZZ_ASSERT(jwk_thumbprint(pkey, alg, kid, sizeof(kid)) == 0);
	FUZZ_ASSERT(strlen(kid) == 43);
	if ((json = malloc(JWS_FZ_JSON_MAX)) == NULL)
		abort();
	FUZZ_ASSERT(jwk_public_json(pkey, alg, NULL, json,
	    JWS_FZ_JSON_MAX) == 0);
	/*
	 * What we write, we read back (if it fits a JWK at all): imports
	 * are deterministic (seed jwk-rsa-small-factors once was not).
	 */
	again = NULL;
	if (strlen(json) <= CERTAOS_MAX_JWK)
		again = jwk_public_import(json, strlen(json), &alg2);
	if (again == NULL) {
		FUZZ_ASSERT(strlen(json) > CERTAOS_MAX_JWK);
	} else {
		FUZZ_ASSERT(alg2 == alg);
		FUZZ_ASSERT(EVP_PKEY_eq(pkey, again) == 1);
		FUZZ_ASSERT(jwk_thumbprint(again, alg, kid2,
		    sizeof(kid2)) == 0);
		FUZZ_ASSERT(strcmp(kid, kid2) == 0);
		EVP_PKEY_free(again);
	}
	free(json);
	EVP_PKEY_free(pkey);
}

FUZZ_TARGET(jws)
{
	char	*token;
	size_t	 i;
	int	 r, again, valid = 0;

	if (jws_fz_keys[0] == NULL)
		jws_fz_init();

	jws_fz_import((const char *)data, size);

	if ((token = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(token, data, size);
	for (i = 0; i < nitems(jws_fz_keys); i++) {
		r = jws_verify(jws_fz_keys[i], jws_fz_algs[i], token, size);
		FUZZ_ASSERT(r == 0 || r == 1);
		again = jws_verify(jws_fz_keys[i], jws_fz_algs[i], token,
		    size);
		FUZZ_ASSERT(again == r);
		valid += r;
		/* a key of another algorithm is a caller's error */
		FUZZ_ASSERT(jws_verify(jws_fz_keys[i],
		    jws_fz_algs[(i + 1) % 3], token, size) == -1);
	}
	FUZZ_ASSERT(valid <= 1);
	free(token);
	return (0);
}
