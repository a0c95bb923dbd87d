/*
 * keys.h: certaos-keys, the process that holds the master secret's
 * derived keys and the JWKS private keys (relayd's and smtpd's ca.c).
 */

#ifndef CERTAOS_KEYS_H
#define CERTAOS_KEYS_H

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>

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
#define KEYS_WORKER_NICE	10		/* keys[1..]: see main() */
#define KEYS_WORKER_IDLE	10		/* s: then hash memory goes */
#define KEYS_BACKOFF_MAX	30		/* s */
#define KEYS_MAX_PENDING	1024		/* sign-ups, sign-ins on db */
#define KEYS_AUTH_FLAGS		(AUTH_F_SHORT | AUTH_F_SIGNED)
#define TOKEN_SIG_LEN		44		/* base64 of an HMAC-SHA256 */
#define TOKEN_SIGNED_LEN	(CERTAOS_TOKEN_LEN + 1 + TOKEN_SIG_LEN)

struct imsgev;
struct mbuf;
struct auth_rec;

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

enum pend_state {
	PEND_SIGNUP,		/* IMSG_DB_SIGNUP sent */
	PEND_CRED,		/* IMSG_DB_CRED_GET sent */
	PEND_SESSION,		/* IMSG_DB_SESSION_NEW sent */
	PEND_PWCRED,		/* change-password: IMSG_DB_SESSION_CRED */
	PEND_PWSET,		/* change-password: IMSG_DB_PW_SET */
	PEND_PWCHECK,		/* verify-password: IMSG_DB_SESSION_CRED */
	PEND_FLOW_WHO,		/* flow.c: IMSG_DB_FLOW_WHO */
	PEND_FLOW_SEND,		/* flow.c: IMSG_DB_FLOW_SEND */
	PEND_FLOW_USE,		/* flow.c: IMSG_DB_FLOW_USE */
	PEND_FLOW_PWCRED,	/* delete-user: IMSG_DB_SESSION_CRED */
	PEND_FLOW_CONFIRMED,	/* verify-email: the new address's link */
	PEND_REFUSED		/* sign-in refused: answered on p->timer */
};

/* A request of web's waiting on db (auth.c, flow.c). */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct event		 timer;
	struct imsgev		*web;
	uint32_t		 webid;		/* web's request id */
	uint32_t		 id;		/* ours, toward db */
	enum pend_state		 state;
	uint32_t		 flags;
	size_t			 pwlen;
	unsigned char		 pw[CERTAOS_MAX_PASSWORD];
	/* change-password: the new one, and the asking session's hash */
	size_t			 newlen;
	unsigned char		 newpw[CERTAOS_MAX_PASSWORD];
	unsigned char		 th[SHA256_LEN];
	char			 token[CERTAOS_TOKEN_LEN + 1];
	char			 ip[CERTAOS_MAX_IP + 1];
	char			 ua[CERTAOS_MAX_UA + 1];
	/* the email flows: what for, the address asked, where to go */
	uint32_t		 kind;		/* enum flow_kind */
	char			 email[CERTAOS_MAX_EMAIL + 1];
	char			 cb[CERTAOS_MAX_URL + 1];
};
TAILQ_HEAD(pendlist, pending);

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
/* auth.c, for flow.c: the pending requests and the answers to web */
extern struct mbuf	 amb;
struct pending	*pending_new(struct imsgev *, uint32_t, uint32_t);
void		 pending_arm(struct pending *);
void		 pending_free(struct pending *);
/* the entry a db answer is for; NULL if it timed out */
struct pending	*pending_lookup(uint32_t, const char *);
/* compose amb to the channel and wipe it */
void		 auth_send(struct imsgev *, uint32_t, uint32_t);
void		 auth_reply(struct imsgev *, uint32_t, int32_t, const char *,
		    const struct auth_rec *);
void		 auth_result(struct imsgev *, uint32_t, int32_t);
/* ms since the epoch at which a session made now expires */
uint64_t	 auth_expires(uint32_t);
struct imsgev	*auth_db(void);
/* wipe a received message's payload (it held a secret) */
void		 auth_wipe_imsg(struct imsg *);
const struct argon2_params *auth_argon2(void);
const struct tokmac *auth_cookie_mac(void);
/* verify a presented session token and hash it: 0, or -1 */
int		 auth_presented_hash(const char *, uint32_t,
		    unsigned char [SHA256_LEN]);

/* flow.c: verification, reset, change-email, delete-user */
void		 flow_configure(const struct cfg_keys *);
void		 flow_send_req(struct imsgev *, struct imsg *);
void		 flow_use_req(struct imsgev *, struct imsg *);
void		 flow_db_user(struct imsgev *, struct imsg *);
void		 flow_db_done(struct imsgev *, struct imsg *);
void		 flow_timeout(struct pending *);
/* delete-user's password, the session's credential in hand */
void		 flow_pw_cred(struct pending *, int32_t, const char *,
		    const char *);
/* sign-up: a session or not, and the verification link's mail */
int		 flow_signup_tail(struct mbuf *, const char *, const char *,
		    const char *);

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

/* flow.c: %-encode as encodeURIComponent: 0, or -1 if it does not fit */
int		 flow_urlenc(char *, size_t, const char *);

/* invite.c: invitations */
void		 invite_configure(const struct cfg_keys *);
int		 invite_token_hash(const char *, unsigned char [SHA256_LEN]);
void		 invite_make(struct imsgev *, struct imsg *);

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
