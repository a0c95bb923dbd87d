/*
 * keys.h: certaos-keys, the process that holds the master secret's
 * derived keys and the JWKS private keys (relayd's and smtpd's ca.c).
 */

#ifndef CERTAOS_KEYS_H
#define CERTAOS_KEYS_H

#include <sys/types.h>
#include <sys/queue.h>

#include <sha2.h>
#include <stdarg.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "certaos.h"
#include "crypto.h"

#define KEYS_HKDF_SALT		"certaos v1"
#define KEYS_INFO_COOKIE	"cookie"
#define KEYS_INFO_TOKEN		"token"
#define KEYS_INFO_SEAL		"seal"
#define KEYS_INFO_MAIL		"mail"
#define KEYS_MAIL_AAD		"certaos mail v1"
#define KEYS_SUBKEY_LEN		32
#define KEYS_MAX_ALG		16		/* alg name, NUL included */
#define KEYS_MAX_HMAC_INPUT	4096		/* IMSG_KEYS_HMAC data bytes */
#define KEYS_MAX_JWKS		(MAX_IMSGSIZE - IMSG_HEADER_SIZE - 64)
#define KEYS_BACKOFF_MIN	1		/* s */
#define KEYS_BACKOFF_MAX	30		/* s */
#define KEYS_MAX_PENDING	1024		/* sign-ups, sign-ins on db */
#define KEYS_AUTH_FLAGS		(AUTH_F_SHORT | AUTH_F_SIGNED)
#define TOKEN_SIG_LEN		44		/* base64 of an HMAC-SHA256 */
#define TOKEN_SIGNED_LEN	(CERTAOS_TOKEN_LEN + 1 + TOKEN_SIG_LEN)

struct imsgev;

/* Sub-keys derived (HKDF-SHA256) from the master secret. */
struct subkeys {
	unsigned char	 cookie[KEYS_SUBKEY_LEN];
	unsigned char	 token[KEYS_SUBKEY_LEN];
	unsigned char	 seal[SEAL_KEY_LEN];
	unsigned char	 mail[SEAL_KEY_LEN];	/* outbox messages */
	int		 set;
};

/* One signing key, opened from a jwks row. */
struct keyent {
	TAILQ_ENTRY(keyent)	 entry;
	enum jws_alg		 alg;
	uint64_t		 created;
	EVP_PKEY		*pkey;
	char			 kid[CERTAOS_MAX_KID + 1];
	char			 jwk[CERTAOS_MAX_JWK];	/* public JWK, JSON */
};
TAILQ_HEAD(keylist, keyent);

/*
 * The published key set: sorted RS256, ES256, EdDSA, newest first within
 * an alg (the first of an alg is its current key), and the JWKS document
 * built from it once.  generation counts changes of the document.
 */
struct keyset {
	struct keylist		 keys;
	int			 nkeys;
	uint32_t		 generation;
	char			*jwks;
	size_t			 jwkslen;
};

/* A new key as the db stores it (IMSG_DB_JWKS_INSERT). */
struct keyrow {
	char			 kid[CERTAOS_MAX_KID + 1];
	char			 alg[KEYS_MAX_ALG];
	char			 jwk[CERTAOS_MAX_JWK];
	unsigned char		 sealed[CERTAOS_MAX_SEALED];
	size_t			 sealedlen;
	uint64_t		 created;
};

/*
 * HMAC-SHA256 under one key with the padded key blocks hashed once
 * (libmd): a MAC costs two compressions and no allocation.
 */
struct tokmac {
	SHA2_CTX	 inner;		/* after key ^ ipad */
	SHA2_CTX	 outer;		/* after key ^ opad */
	int		 set;
};

/* auth.c: session tokens, pure */
/* CERTAOS_TOKEN_LEN characters of [A-Za-z0-9], unbiased; 0 or -1 */
int		 token_make(char [CERTAOS_TOKEN_LEN + 1]);
/* SHA-256 of the token's characters: what the database stores */
void		 token_hash(const char *, unsigned char [SHA256_LEN]);
void		 tokmac_init(struct tokmac *, const unsigned char *,
		    size_t);
void		 tokmac_wipe(struct tokmac *);
void		 tokmac_hmac(const struct tokmac *, const void *, size_t,
		    unsigned char [SHA256_LEN]);
/* "token.base64(hmac(token))", as Better Auth signs cookie values */
void		 token_sign(const struct tokmac *, const char *,
		    char [TOKEN_SIGNED_LEN + 1]);
/*
 * A presented token (len bytes, AUTH_F_* flags): the raw token into
 * the last argument, 0; -1 if malformed or badly signed.
 */
int		 token_verify(const struct tokmac *, const char *, size_t,
		    uint32_t, char [CERTAOS_TOKEN_LEN + 1]);

/* auth.c: the flows (IMSG_KEYS_SIGNUP, _SIGNIN, _SESSION) */
void		 auth_configure(const struct cfg_keys *,
		    const struct subkeys *);
/* the encoded argon2id hash an unknown email is verified against */
const char	*auth_dummy(void);
void		 auth_signup(struct imsgev *, struct imsg *);
void		 auth_signin(struct imsgev *, struct imsg *);
void		 auth_session(struct imsgev *, struct imsg *);
void		 auth_session_op(struct imsgev *, struct imsg *);
void		 auth_pw_change(struct imsgev *, struct imsg *);
void		 auth_user_update(struct imsgev *, struct imsg *);
void		 auth_pw_check(struct imsgev *, struct imsg *);
void		 auth_dont_remember(struct imsgev *, struct imsg *);
void		 auth_db_cred(struct imsgev *, struct imsg *);
void		 auth_db_reply(struct imsgev *, struct imsg *);

/* mail.c: outbox messages, sealed for db and opened for mail */
struct mbuf;
void		 keys_mail_configure(const struct subkeys *);
/*
 * Seal a message for the outbox.  Appends to mb: str recipient,
 * str template, bytes sealed.  The variadic arguments are name,
 * value string pairs ending with NULL.  0, or -1 (logged).
 */
int		 keys_mail_seal(struct mbuf *mb, const char *tmpl,
		    const char *to, ...);
/* the same with a va_list */
int		 keys_mail_vseal(struct mbuf *, const char *, const char *,
		    va_list);
/* open a sealed message into dst: its length, or -1 */
ssize_t		 keys_mail_open(const unsigned char *, size_t,
		    unsigned char *, size_t);
void		 keys_mail_open_req(struct imsgev *, struct imsg *);
void		 keys_mail_test(struct imsgev *, struct imsg *);

/* keystore.c */
int		 subkeys_derive(struct subkeys *, const void *, size_t);
void		 subkeys_wipe(struct subkeys *);
int		 subkeys_equal(const struct subkeys *, const struct subkeys *);
const unsigned char *subkeys_hmac_key(const struct subkeys *, uint32_t);

void		 keylist_init(struct keylist *);
void		 keylist_free(struct keylist *);
int		 keylist_count(struct keylist *);
/* open a row into the list; 0, or -1 with *why set (row refused) */
int		 keylist_add_row(struct keylist *, const struct subkeys *,
		    const char *, const char *, const unsigned char *, size_t,
		    uint64_t, const char **);

void		 keyset_init(struct keyset *);
/* replace the set's keys by the list's (emptied); 1 if the JWKS changed */
int		 keyset_swap(struct keyset *, struct keylist *);
/* the key for alg and kid ("" or NULL: the current key of alg) or NULL */
struct keyent	*keyset_find(struct keyset *, enum jws_alg, const char *);
/* space-separated kids, whole kids only, into dst */
void		 keyset_kids(struct keyset *, char *, size_t);

/* generate a key for alg and seal it into row; 0 or -1 */
int		 keyrow_generate(const struct subkeys *, enum jws_alg,
		    uint64_t, struct keyrow *);

#endif
