/*
 * keystore.c: the key material of certaos-keys.  Sub-keys derived from the
 * master secret, signing keys opened from sealed jwks rows, the published
 * set and its JWKS document, and new keys sealed for the database.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "certaos.h"
#include "crypto.h"
#include "log.h"
#include "keys.h"

static int	 keyent_cmp(const struct keyent *, const struct keyent *);
static void	 keyent_free(struct keyent *);
static char	*keyset_build(struct keylist *, size_t *);

int
subkeys_derive(struct subkeys *sk, const void *secret, size_t len)
{
	static const char	 salt[] = KEYS_HKDF_SALT;

	memset(sk, 0, sizeof(*sk));
	if (hkdf_sha256(secret, len, salt, strlen(salt), KEYS_INFO_COOKIE,
	    strlen(KEYS_INFO_COOKIE), sk->cookie, sizeof(sk->cookie)) == -1 ||
	    hkdf_sha256(secret, len, salt, strlen(salt), KEYS_INFO_TOKEN,
	    strlen(KEYS_INFO_TOKEN), sk->token, sizeof(sk->token)) == -1 ||
	    hkdf_sha256(secret, len, salt, strlen(salt), KEYS_INFO_SEAL,
	    strlen(KEYS_INFO_SEAL), sk->seal, sizeof(sk->seal)) == -1 ||
	    hkdf_sha256(secret, len, salt, strlen(salt), KEYS_INFO_MAIL,
	    strlen(KEYS_INFO_MAIL), sk->mail, sizeof(sk->mail)) == -1) {
		subkeys_wipe(sk);
		return (-1);
	}
	sk->set = 1;
	return (0);
}

void
subkeys_wipe(struct subkeys *sk)
{
	explicit_bzero(sk, sizeof(*sk));
}

/* Same secret: the derived keys are the same.  Constant time. */
int
subkeys_equal(const struct subkeys *a, const struct subkeys *b)
{
	return (ct_equal(a->cookie, b->cookie, sizeof(a->cookie)) &&
	    ct_equal(a->token, b->token, sizeof(a->token)) &&
	    ct_equal(a->seal, b->seal, sizeof(a->seal)) &&
	    ct_equal(a->mail, b->mail, sizeof(a->mail)));
}

const unsigned char *
subkeys_hmac_key(const struct subkeys *sk, uint32_t purpose)
{
	if (!sk->set)
		return (NULL);
	switch (purpose) {
	case HMAC_COOKIE:
		return (sk->cookie);
	case HMAC_TOKEN:
		return (sk->token);
	default:
		return (NULL);
	}
}

void
keylist_init(struct keylist *kl)
{
	TAILQ_INIT(kl);
}

static void
keyent_free(struct keyent *ke)
{
	EVP_PKEY_free(ke->pkey);
	freezero(ke, sizeof(*ke));
}

void
keylist_free(struct keylist *kl)
{
	struct keyent	*ke;

	while ((ke = TAILQ_FIRST(kl)) != NULL) {
		TAILQ_REMOVE(kl, ke, entry);
		keyent_free(ke);
	}
}

int
keylist_count(struct keylist *kl)
{
	struct keyent	*ke;
	int		 n = 0;

	TAILQ_FOREACH(ke, kl, entry)
		n++;
	return (n);
}

/* RS256 before ES256 before EdDSA; newest first; then by kid. */
static int
keyent_cmp(const struct keyent *a, const struct keyent *b)
{
	if (a->alg != b->alg)
		return (a->alg < b->alg ? -1 : 1);
	if (a->created != b->created)
		return (a->created > b->created ? -1 : 1);
	return (strcmp(a->kid, b->kid));
}

/*
 * Open one sealed row.  The kid is the AAD, so a blob moved to another
 * row does not open; the key's own thumbprint must be the kid, so a row
 * cannot claim someone else's kid either.
 */
int
keylist_add_row(struct keylist *kl, const struct subkeys *sk,
    const char *kid, const char *algname, const unsigned char *sealed,
    size_t sealedlen, uint64_t created, const char **why)
{
	struct keyent	*ke, *pos;
	unsigned char	*der = NULL;
	ssize_t		 derlen;
	enum jws_alg	 alg;
	char		 tp[CERTAOS_MAX_KID + 1];

	*why = NULL;
	if (!sk->set) {
		*why = "no sealing key";
		return (-1);
	}
	if ((alg = jws_alg_from_name(algname)) == JWS_NONE) {
		*why = "unknown alg";
		return (-1);
	}
	if (kid[0] == '\0' || strlen(kid) > CERTAOS_MAX_KID) {
		*why = "bad kid";
		return (-1);
	}
	TAILQ_FOREACH(pos, kl, entry)
		if (strcmp(pos->kid, kid) == 0) {
			*why = "duplicate kid";
			return (-1);
		}
	if ((ke = calloc(1, sizeof(*ke))) == NULL) {
		*why = "out of memory";
		return (-1);
	}
	if (sealedlen < SEAL_OVERHEAD || sealedlen > CERTAOS_MAX_SEALED ||
	    (der = malloc(sealedlen)) == NULL) {
		*why = "bad sealed key";
		goto fail;
	}
	if ((derlen = open_aes256gcm(sk->seal, sealed, sealedlen, kid,
	    strlen(kid), der, sealedlen)) == -1) {
		*why = "sealed key does not open (wrong secret or tampered)";
		goto fail;
	}
	if ((ke->pkey = pkey_from_private_der(der, derlen)) == NULL) {
		*why = "bad private key";
		goto fail;
	}
	if (jwk_thumbprint(ke->pkey, alg, tp, sizeof(tp)) == -1) {
		*why = "key does not fit its alg";
		goto fail;
	}
	if (strcmp(tp, kid) != 0) {
		*why = "kid is not the key's thumbprint";
		goto fail;
	}
	if (jwk_public_json(ke->pkey, alg, kid, ke->jwk,
	    sizeof(ke->jwk)) == -1) {
		*why = "cannot build the public JWK";
		goto fail;
	}
	freezero(der, sealedlen);
	ke->alg = alg;
	ke->created = created;
	(void)strlcpy(ke->kid, kid, sizeof(ke->kid));

	TAILQ_FOREACH(pos, kl, entry)
		if (keyent_cmp(ke, pos) < 0)
			break;
	if (pos != NULL)
		TAILQ_INSERT_BEFORE(pos, ke, entry);
	else
		TAILQ_INSERT_TAIL(kl, ke, entry);
	return (0);
 fail:
	if (der != NULL)
		freezero(der, sealedlen);
	keyent_free(ke);
	return (-1);
}

void
keyset_init(struct keyset *ks)
{
	memset(ks, 0, sizeof(*ks));
	TAILQ_INIT(&ks->keys);
}

/* {"keys":[jwk,...]} from the list, in order; what does not fit is left out */
static char *
keyset_build(struct keylist *kl, size_t *lenp)
{
	struct keyent	*ke;
	char		*doc;
	size_t		 len, jlen;

	if ((doc = malloc(KEYS_MAX_JWKS)) == NULL)
		return (NULL);
	len = strlcpy(doc, "{\"keys\":[", KEYS_MAX_JWKS);
	TAILQ_FOREACH(ke, kl, entry) {
		jlen = strlen(ke->jwk);
		/* "," jwk "]}" NUL */
		if (len + 1 + jlen + 3 > KEYS_MAX_JWKS) {
			log_warnx("JWKS full: key %s not published", ke->kid);
			continue;
		}
		if (doc[len - 1] != '[')
			doc[len++] = ',';
		memcpy(doc + len, ke->jwk, jlen);
		len += jlen;
	}
	memcpy(doc + len, "]}", 3);
	*lenp = len + 2;
	return (doc);
}

int
keyset_swap(struct keyset *ks, struct keylist *kl)
{
	char	*doc;
	size_t	 len;
	int	 changed;

	if ((doc = keyset_build(kl, &len)) == NULL)
		return (-1);
	keylist_free(&ks->keys);
	TAILQ_CONCAT(&ks->keys, kl, entry);
	ks->nkeys = keylist_count(&ks->keys);
	changed = ks->jwks == NULL ? ks->nkeys > 0 :
	    strcmp(ks->jwks, doc) != 0;
	free(ks->jwks);
	ks->jwks = doc;
	ks->jwkslen = len;
	if (changed)
		ks->generation++;
	return (changed);
}

struct keyent *
keyset_find(struct keyset *ks, enum jws_alg alg, const char *kid)
{
	struct keyent	*ke;

	TAILQ_FOREACH(ke, &ks->keys, entry) {
		if (ke->alg != alg)
			continue;
		if (kid == NULL || kid[0] == '\0' || strcmp(ke->kid, kid) == 0)
			return (ke);
	}
	return (NULL);
}

void
keyset_kids(struct keyset *ks, char *dst, size_t dstsz)
{
	struct keyent	*ke;
	size_t		 len = 0, klen;

	if (dstsz == 0)
		return;
	dst[0] = '\0';
	TAILQ_FOREACH(ke, &ks->keys, entry) {
		klen = strlen(ke->kid);
		if (len + (len > 0) + klen + 1 > dstsz)
			break;
		if (len > 0)
			dst[len++] = ' ';
		memcpy(dst + len, ke->kid, klen + 1);
		len += klen;
	}
}

int
keyrow_generate(const struct subkeys *sk, enum jws_alg alg,
    uint64_t created, struct keyrow *row)
{
	EVP_PKEY	*pkey;
	unsigned char	*der = NULL;
	ssize_t		 derlen = 0, n;
	int		 ret = -1;

	memset(row, 0, sizeof(*row));
	if (!sk->set || jws_alg_name(alg) == NULL)
		return (-1);
	if ((pkey = jwk_generate(alg)) == NULL)
		return (-1);
	if (jwk_thumbprint(pkey, alg, row->kid, sizeof(row->kid)) == -1 ||
	    jwk_public_json(pkey, alg, row->kid, row->jwk,
	    sizeof(row->jwk)) == -1 ||
	    (derlen = pkey_private_der(pkey, &der)) == -1)
		goto done;
	if ((n = seal_aes256gcm(sk->seal, der, derlen, row->kid,
	    strlen(row->kid), row->sealed, sizeof(row->sealed))) == -1)
		goto done;
	row->sealedlen = n;
	(void)strlcpy(row->alg, jws_alg_name(alg), sizeof(row->alg));
	row->created = created;
	ret = 0;
 done:
	if (der != NULL)
		freezero(der, derlen);
	EVP_PKEY_free(pkey);
	if (ret == -1)
		explicit_bzero(row, sizeof(*row));
	return (ret);
}
