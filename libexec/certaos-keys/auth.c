/*
 * auth.c: accounts and sessions in certaos-keys.
 *
 * web hands keys what holds a secret (a password, a presented session
 * token); keys hashes, verifies and signs, and asks db with hashes only
 * (invariant 2).  Sign-up and sign-in wait on db: they keep a pending
 * entry under an id of keys' own, with the web channel and request id to
 * answer, and time out after CERTAOS_DB_TIMEOUT s with AUTH_UNAVAILABLE.
 * A session lookup does not wait: keys checks the token's form and
 * signature, and db answers web directly.
 *
 * Tokens: CERTAOS_TOKEN_LEN characters of [A-Za-z0-9] from RAND_bytes.
 * The database keeps their SHA-256 (plain, not keyed: sessions imported
 * from Better Auth, which stores tokens in clear, hash the same way).
 * The signed form is Better Auth's signed cookie value,
 * "token.base64(HMAC-SHA256(cookie key, token))", padded base64.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <event.h>
#include <sha2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "certaos.h"
#include "authrec.h"
#include "crypto.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "keys.h"

#define TOKEN_NCHARS	62
/* the largest multiple of 62 in a byte: 4 * 62 */
#define TOKEN_RAND_LIM	248


static const char token_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static struct {
	int			 configured;
	struct tokmac		 mac;		/* HMAC_COOKIE key */
	struct argon2_params	 ap;		/* of the dummy hash */
	uint32_t		 lifetime;	/* s */
	uint32_t		 lifetime_short;
	char			 dummy[CERTAOS_MAX_PWHASH];
	uint32_t		 refuse_ms;	/* a refusal's least time */
	int			 npending;
	uint32_t		 lastid;
	int			 wrapped;	/* lastid went round */
} as;

static struct pendlist	 pendq = TAILQ_HEAD_INITIALIZER(pendq);
struct mbuf		 amb;
static struct auth_rec	 arec;

static int	 token_valid(const char *, size_t);
static struct pending *pending_find(uint32_t);
static void	 pending_timeout(int, short, void *);
static void	 auth_rehash(struct imsgev *, const char *, const char *,
		    const unsigned char *, size_t);
static void	 auth_pw_cred(struct imsgev *, struct pending *, int32_t,
		    const char *, const char *);
static void	 auth_pw_checked(struct pending *, int32_t, const char *,
		    const char *);
static void	 auth_audit_refused(struct imsgev *, struct pending *,
		    const char *, int32_t);
static void	 auth_refuse(struct pending *, const struct timespec *);
static uint32_t	 ms_since(const struct timespec *);

/* Token primitives. */

int
token_make(char tok[CERTAOS_TOKEN_LEN + 1])
{
	unsigned char	 rnd[64];
	size_t		 n = 0, r = sizeof(rnd);

	/* bytes of 248 and more would favour the first 8 characters */
	while (n < CERTAOS_TOKEN_LEN) {
		if (r == sizeof(rnd)) {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				explicit_bzero(rnd, sizeof(rnd));
				explicit_bzero(tok, CERTAOS_TOKEN_LEN + 1);
				return (-1);
			}
			r = 0;
		}
		if (rnd[r] < TOKEN_RAND_LIM)
			tok[n++] = token_chars[rnd[r] % TOKEN_NCHARS];
		r++;
	}
	tok[n] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return (0);
}

/* len characters of the token alphabet (the client's, not a secret) */
static int
token_valid(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return (0);
	return (1);
}

void
token_hash(const char *tok, unsigned char h[SHA256_LEN])
{
	SHA2_CTX	 ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)tok, CERTAOS_TOKEN_LEN);
	SHA256Final(h, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
}

/* RFC 2104, with the two key blocks absorbed once. */
void
tokmac_init(struct tokmac *tm, const unsigned char *key, size_t keylen)
{
	SHA2_CTX	 ctx;
	unsigned char	 k[SHA256_BLOCK_LENGTH], pad[SHA256_BLOCK_LENGTH];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k)) {
		SHA256Init(&ctx);
		SHA256Update(&ctx, key, keylen);
		SHA256Final(k, &ctx);
		explicit_bzero(&ctx, sizeof(ctx));
	} else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256Init(&tm->inner);
	SHA256Update(&tm->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256Init(&tm->outer);
	SHA256Update(&tm->outer, pad, sizeof(pad));
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	tm->set = 1;
}

void
tokmac_wipe(struct tokmac *tm)
{
	explicit_bzero(tm, sizeof(*tm));
}

void
tokmac_hmac(const struct tokmac *tm, const void *data, size_t len,
    unsigned char mac[SHA256_LEN])
{
	SHA2_CTX	 ctx;
	unsigned char	 ih[SHA256_LEN];

	ctx = tm->inner;
	SHA256Update(&ctx, data, len);
	SHA256Final(ih, &ctx);
	ctx = tm->outer;
	SHA256Update(&ctx, ih, sizeof(ih));
	SHA256Final(mac, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(ih, sizeof(ih));
}

void
token_sign(const struct tokmac *tm, const char *tok,
    char out[TOKEN_SIGNED_LEN + 1])
{
	unsigned char	 mac[SHA256_LEN];

	memcpy(out, tok, CERTAOS_TOKEN_LEN);
	out[CERTAOS_TOKEN_LEN] = '.';
	tokmac_hmac(tm, tok, CERTAOS_TOKEN_LEN, mac);
	/* 44 characters and a NUL */
	(void)EVP_EncodeBlock((unsigned char *)out + CERTAOS_TOKEN_LEN + 1,
	    mac, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
}

/*
 * The signature is compared in its encoded form: only the canonical
 * encoding of the right MAC matches, so no decoder has to be strict.
 */
int
token_verify(const struct tokmac *tm, const char *p, size_t len,
    uint32_t flags, char tok[CERTAOS_TOKEN_LEN + 1])
{
	unsigned char	 mac[SHA256_LEN];
	unsigned char	 sig[TOKEN_SIG_LEN + 1];
	int		 ok;

	tok[0] = '\0';
	if (!tm->set)
		return (-1);
	if ((flags & AUTH_F_SIGNED) == 0 && memchr(p, '.', len) == NULL) {
		if (len != CERTAOS_TOKEN_LEN || !token_valid(p, len))
			return (-1);
		memcpy(tok, p, CERTAOS_TOKEN_LEN);
		tok[CERTAOS_TOKEN_LEN] = '\0';
		return (0);
	}
	if (len != TOKEN_SIGNED_LEN || p[CERTAOS_TOKEN_LEN] != '.' ||
	    !token_valid(p, CERTAOS_TOKEN_LEN))
		return (-1);
	tokmac_hmac(tm, p, CERTAOS_TOKEN_LEN, mac);
	(void)EVP_EncodeBlock(sig, mac, sizeof(mac));
	ok = ct_equal(sig, p + CERTAOS_TOKEN_LEN + 1, TOKEN_SIG_LEN);
	explicit_bzero(mac, sizeof(mac));
	explicit_bzero(sig, sizeof(sig));
	if (!ok)
		return (-1);
	memcpy(tok, p, CERTAOS_TOKEN_LEN);
	tok[CERTAOS_TOKEN_LEN] = '\0';
	return (0);
}

/*
 * Configuration, at every IMSG_CFG_DONE.  The dummy hash is made again
 * only when the argon2id cost changed: an unknown email must cost what a
 * wrong password costs under the configured parameters.
 */
void
auth_configure(const struct cfg_keys *cfg, const struct subkeys *sk)
{
	struct argon2_params	 ap;
	struct timespec		 t0;
	const unsigned char	*key;
	unsigned char		 pw[32];
	uint32_t		 argon2_ms, scrypt_ms;

	if ((key = subkeys_hmac_key(sk, HMAC_COOKIE)) == NULL)
		fatalx("%s: no cookie key", __func__);
	tokmac_wipe(&as.mac);
	tokmac_init(&as.mac, key, KEYS_SUBKEY_LEN);
	as.lifetime = cfg->session_lifetime != 0 ? cfg->session_lifetime :
	    CERTAOS_SESSION_LIFETIME;
	as.lifetime_short = cfg->session_short != 0 ? cfg->session_short :
	    CERTAOS_SESSION_SHORT;

	ap.memory = cfg->argon2_memory;
	ap.time = cfg->argon2_time;
	ap.lanes = cfg->argon2_lanes;
	if (!as.configured || ap.memory != as.ap.memory ||
	    ap.time != as.ap.time || ap.lanes != as.ap.lanes) {
		if (RAND_bytes(pw, sizeof(pw)) != 1)
			fatalx("%s: RAND_bytes", __func__);
		if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
			fatal("clock_gettime");
		if (pw_hash(&ap, pw, sizeof(pw), as.dummy,
		    sizeof(as.dummy)) == -1)
			fatalx("%s: cannot make the dummy argon2id hash "
			    "(m=%u t=%u p=%u)", __func__, ap.memory, ap.time,
			    ap.lanes);
		argon2_ms = ms_since(&t0);
		explicit_bzero(pw, sizeof(pw));
		as.ap = ap;
		/*
		 * Every refused sign-in is answered no sooner than half as
		 * long again as the slower kind of hash takes, argon2id at
		 * this cost or an imported scrypt: neither an unknown email
		 * nor the kind of a user's hash shows in the time.
		 */
		scrypt_ms = pw_scrypt_cost_ms();
		as.refuse_ms = (argon2_ms > scrypt_ms ? argon2_ms :
		    scrypt_ms) * 3 / 2;
		log_debug("%s: argon2id %u ms, scrypt about %u ms: refused "
		    "sign-ins answered after %u ms", __func__, argon2_ms,
		    scrypt_ms, as.refuse_ms);
	}
	as.configured = 1;
}

static uint32_t
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;
	int64_t		 ms;

	if (clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
		fatal("clock_gettime");
	ms = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
	return (ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

/*
 * A refused sign-in whose password check began at v0: answered when
 * as.refuse_ms have passed since (at once if they have), the worker free
 * for other hashes meanwhile.
 */
static void
auth_refuse(struct pending *p, const struct timespec *v0)
{
	struct timeval	 tv;
	uint32_t	 spent = ms_since(v0);

	if (spent >= as.refuse_ms) {
		auth_reply(p->web, p->webid, AUTH_BAD_CREDENTIALS, NULL, NULL);
		pending_free(p);
		return;
	}
	p->state = PEND_REFUSED;
	tv.tv_sec = (as.refuse_ms - spent) / 1000;
	tv.tv_usec = (as.refuse_ms - spent) % 1000 * 1000;
	evtimer_add(&p->timer, &tv);
}

const struct argon2_params *
auth_argon2(void)
{
	return (&as.ap);
}

const struct tokmac *
auth_cookie_mac(void)
{
	return (&as.mac);
}

/* A presented session token (raw or signed, as flags say), hashed. */
int
auth_presented_hash(const char *presented, uint32_t flags,
    unsigned char th[SHA256_LEN])
{
	char	 tok[CERTAOS_TOKEN_LEN + 1];

	if (!as.configured || token_verify(&as.mac, presented,
	    strlen(presented), flags & AUTH_F_SIGNED, tok) == -1)
		return (-1);
	token_hash(tok, th);
	explicit_bzero(tok, sizeof(tok));
	return (0);
}

const char *
auth_dummy(void)
{
	return (as.configured ? as.dummy : NULL);
}

/* Messaging. */

void
auth_wipe_imsg(struct imsg *imsg)
{
	if (imsg->data != NULL)
		explicit_bzero(imsg->data, imsg_get_len(imsg));
}

/* Compose amb; wipe only what was written (this is the hot path). */
void
auth_send(struct imsgev *iev, uint32_t type, uint32_t id)
{
	if (mbuf_compose(&amb, &iev->ibuf, type, id) == -1)
		fatalx("%s: cannot compose imsg %u to %s", __func__, type,
		    iev->name);
	explicit_bzero(amb.buf, amb.len);
	mbuf_init(&amb);
	imsgev_add(iev);
}

/* IMSG_KEYS_AUTH: i32 status, str signed token, record when AUTH_OK. */
void
auth_reply(struct imsgev *web, uint32_t id, int32_t status,
    const char *signedtok, const struct auth_rec *rec)
{
	mbuf_init(&amb);
	mbuf_i32(&amb, status);
	mbuf_str(&amb, status == AUTH_OK ? signedtok : "");
	if (status == AUTH_OK || status == AUTH_PENDING_VERIFY)
		authrec_write(&amb, rec);
	auth_send(web, IMSG_KEYS_AUTH, id);
}

/* ms since the epoch at which a session made now expires */
uint64_t
auth_expires(uint32_t flags)
{
	struct timespec	 ts;
	uint64_t	 life;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	life = (flags & AUTH_F_SHORT) ? as.lifetime_short : as.lifetime;
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	    life * 1000);
}

struct imsgev *
auth_db(void)
{
	if (proc_self == NULL)
		return (NULL);
	return (proc_peer(proc_self, PROC_DB));
}

/*
 * Pending entries.  There are few (each cost an argon2id run), so a
 * list searched in order is enough.
 */
struct pending *
pending_new(struct imsgev *web, uint32_t webid, uint32_t flags)
{
	struct pending	*p;

	if (as.npending >= KEYS_MAX_PENDING) {
		log_warnx("%d requests waiting on db: refusing more",
		    as.npending);
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	p->web = web;
	p->webid = webid;
	p->flags = flags;
	evtimer_set(&p->timer, pending_timeout, p);
	if (proc_self != NULL && proc_self->evbase != NULL)
		event_base_set(proc_self->evbase, &p->timer);
	do {
		if (++as.lastid == 0) {
			as.wrapped = 1;
			as.lastid = 1;
		}
	} while (as.wrapped && pending_find(as.lastid) != NULL);
	p->id = as.lastid;
	TAILQ_INSERT_TAIL(&pendq, p, entry);
	as.npending++;
	return (p);
}

/* each db request may wait CERTAOS_DB_TIMEOUT s */
void
pending_arm(struct pending *p)
{
	struct timeval	 tv;

	timerclear(&tv);
	tv.tv_sec = CERTAOS_DB_TIMEOUT;
	evtimer_add(&p->timer, &tv);
}

void
pending_free(struct pending *p)
{
	evtimer_del(&p->timer);
	TAILQ_REMOVE(&pendq, p, entry);
	as.npending--;
	freezero(p, sizeof(*p));
}

static struct pending *
pending_find(uint32_t id)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &pendq, entry)
		if (p->id == id)
			return (p);
	return (NULL);
}

/*
 * The entry a db answer is for, or NULL for a late answer to one that
 * timed out.  An id never handed out is a protocol violation.
 */
struct pending *
pending_lookup(uint32_t id, const char *what)
{
	struct pending	*p;

	if ((p = pending_find(id)) != NULL)
		return (p);
	if (id == 0 || (!as.wrapped && id > as.lastid))
		fatalx("%s for request %u, never made", what, id);
	log_debug("%s for request %u after its time-out: dropped", what, id);
	return (NULL);
}

static void
pending_timeout(int fd, short event, void *arg)
{
	struct pending	*p = arg;

	if (p->state == PEND_REFUSED) {
		auth_reply(p->web, p->webid, AUTH_BAD_CREDENTIALS, NULL, NULL);
		pending_free(p);
		return;
	}
	log_warnx("db did not answer request %u in %d s", p->id,
	    CERTAOS_DB_TIMEOUT);
	if (p->state == PEND_PWCHECK || p->state == PEND_FLOW_WHO ||
	    p->state == PEND_FLOW_SEND)
		auth_result(p->web, p->webid, AUTH_UNAVAILABLE);
	else if (p->state == PEND_FLOW_USE || p->state == PEND_FLOW_PWCRED ||
	    p->state == PEND_FLOW_CONFIRMED) {
		flow_timeout(p);	/* frees p */
		return;
	} else
		auth_reply(p->web, p->webid, AUTH_UNAVAILABLE, NULL, NULL);
	pending_free(p);
}

/*
 * IMSG_KEYS_SIGNUP: u32 flags, str email, str name, nstr image, bytes
 * password, str ip, str ua, str callbackURL, str invitation token.  Hash
 * the password, make the token, and ask db to create the user, its
 * credential and the session at once.
 */
void
auth_signup(struct imsgev *iev, struct imsg *imsg)
{
	struct mread		 mr;
	struct pending		*p;
	struct imsgev		*db;
	uint32_t		 flags, id = imsg_get_id(imsg);
	size_t			 pwlen;
	int			 r, has_image;
	static char		 image[CERTAOS_MAX_IMAGE + 1];
	static char		 cb[CERTAOS_MAX_URL + 1];
	char			 email[CERTAOS_MAX_EMAIL + 1];
	char			 name[CERTAOS_MAX_NAME + 1];
	char			 ip[CERTAOS_MAX_IP + 1];
	char			 ua[CERTAOS_MAX_UA + 1];
	char			 enc[CERTAOS_MAX_PWHASH];
	char			 invite[CERTAOS_MAX_CTOKEN + 1];
	unsigned char		 pw[CERTAOS_MAX_PASSWORD], th[SHA256_LEN];
	unsigned char		 ih[SHA256_LEN];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	mread_str(&mr, email, sizeof(email));
	mread_str(&mr, name, sizeof(name));
	has_image = mread_nstr(&mr, image, sizeof(image));
	pwlen = mread_bytes(&mr, pw, sizeof(pw));
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	mread_str(&mr, cb, sizeof(cb));
	mread_str(&mr, invite, sizeof(invite));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~KEYS_AUTH_FLAGS) != 0) {
		explicit_bzero(pw, sizeof(pw));
		fatalx("%s: bad IMSG_KEYS_SIGNUP from %s", __func__,
		    iev->name);
	}

	if (!as.configured || (db = auth_db()) == NULL ||
	    (p = pending_new(iev, id, flags)) == NULL) {
		explicit_bzero(pw, sizeof(pw));
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		return;
	}
	/* CPU-bound (tens of ms): inline in the loop for now */
	r = pw_hash(&as.ap, pw, pwlen, enc, sizeof(enc));
	explicit_bzero(pw, sizeof(pw));
	if (r == -1 || token_make(p->token) == -1) {
		log_warnx("%s: %s failed", __func__, r == -1 ? "argon2id" :
		    "RAND_bytes");
		explicit_bzero(enc, sizeof(enc));
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	token_hash(p->token, th);
	p->state = PEND_SIGNUP;

	mbuf_init(&amb);
	mbuf_str(&amb, email);
	mbuf_str(&amb, name);
	mbuf_nstr(&amb, has_image, image);
	mbuf_str(&amb, enc);
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_u64(&amb, auth_expires(flags));
	mbuf_str(&amb, ip);
	mbuf_str(&amb, ua);
	if (flow_signup_tail(&amb, email, name, cb) == -1) {
		log_warnx("%s: cannot make the verification mail", __func__);
		mbuf_clear(&amb);
		mbuf_init(&amb);
		explicit_bzero(enc, sizeof(enc));
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	/* an invitation's token: its hash, if it can be one of ours */
	if (invite_token_hash(invite, ih) == 0)
		mbuf_bytes(&amb, ih, sizeof(ih));
	else
		mbuf_bytes(&amb, "", 0);
	auth_send(db, IMSG_DB_SIGNUP, p->id);
	pending_arm(p);
	explicit_bzero(enc, sizeof(enc));
	explicit_bzero(th, sizeof(th));
	explicit_bzero(ih, sizeof(ih));
	explicit_bzero(invite, sizeof(invite));
}

/*
 * IMSG_KEYS_SIGNIN: u32 flags, str email, bytes password, str ip, str ua.
 * The credential first; the password waits in the entry until it comes.
 */
void
auth_signin(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	struct imsgev	*db;
	uint32_t	 flags, id = imsg_get_id(imsg);
	size_t		 pwlen;
	int		 r;
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 ip[CERTAOS_MAX_IP + 1], ua[CERTAOS_MAX_UA + 1];
	unsigned char	 pw[CERTAOS_MAX_PASSWORD];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	mread_str(&mr, email, sizeof(email));
	pwlen = mread_bytes(&mr, pw, sizeof(pw));
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~KEYS_AUTH_FLAGS) != 0) {
		explicit_bzero(pw, sizeof(pw));
		fatalx("%s: bad IMSG_KEYS_SIGNIN from %s", __func__,
		    iev->name);
	}

	if (!as.configured || (db = auth_db()) == NULL ||
	    (p = pending_new(iev, id, flags)) == NULL) {
		explicit_bzero(pw, sizeof(pw));
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		return;
	}
	memcpy(p->pw, pw, pwlen);
	p->pwlen = pwlen;
	explicit_bzero(pw, sizeof(pw));
	(void)strlcpy(p->ip, ip, sizeof(p->ip));
	(void)strlcpy(p->ua, ua, sizeof(p->ua));
	(void)strlcpy(p->email, email, sizeof(p->email));
	p->state = PEND_CRED;

	mbuf_init(&amb);
	mbuf_str(&amb, email);
	auth_send(db, IMSG_DB_CRED_GET, p->id);
	pending_arm(p);
}

/*
 * IMSG_DB_CRED: i32 status (1 found, 0 none, -1 down), str user id,
 * str pwhash.  Unknown emails and hashes that are not argon2id are
 * verified against the dummy hash: every refusal costs one argon2id.
 */
void
auth_db_cred(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	struct imsgev	*db = iev;
	struct timespec	 v0;
	int32_t		 status;
	int		 r, match = 0;
	char		 uid[CERTAOS_MAX_ID + 1], enc[CERTAOS_MAX_PWHASH];
	unsigned char	 th[SHA256_LEN];

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	mread_str(&mr, uid, sizeof(uid));
	mread_str(&mr, enc, sizeof(enc));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || status < -1 || status > 1 ||
	    (status == 1 && uid[0] == '\0'))
		fatalx("%s: bad IMSG_DB_CRED", __func__);
	if ((p = pending_lookup(imsg_get_id(imsg), "IMSG_DB_CRED")) == NULL) {
		explicit_bzero(enc, sizeof(enc));
		return;
	}
	if (p->state != PEND_CRED && p->state != PEND_PWCRED &&
	    p->state != PEND_PWCHECK && p->state != PEND_FLOW_PWCRED)
		fatalx("%s: IMSG_DB_CRED for request %u in state %d",
		    __func__, p->id, p->state);
	evtimer_del(&p->timer);
	if (p->state == PEND_FLOW_PWCRED) {
		flow_pw_cred(p, status, uid, enc);
		explicit_bzero(enc, sizeof(enc));
		return;
	}
	if (p->state == PEND_PWCHECK) {
		auth_pw_checked(p, status, uid, enc);
		explicit_bzero(enc, sizeof(enc));
		return;
	}
	if (p->state == PEND_PWCRED) {
		auth_pw_cred(db, p, status, uid, enc);
		explicit_bzero(enc, sizeof(enc));
		return;
	}

	if (status == -1) {
		explicit_bzero(enc, sizeof(enc));
		auth_reply(p->web, p->webid, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &v0) == -1)
		fatal("clock_gettime");
	r = -1;
	if (status == 1 && (r = pw_verify(enc, p->pw, p->pwlen)) == -1)
		log_debug("%s: user %s: stored hash is of no known kind",
		    __func__, uid);
	if (r == -1)
		(void)pw_verify(as.dummy, p->pw, p->pwlen);
	else
		match = (r == 1);
	if (!match)
		auth_audit_refused(db, p, uid, status);
	/* an imported scrypt hash or an older cost: argon2id from now on */
	if (match && !pw_is_current(enc, &as.ap))
		auth_rehash(db, uid, enc, p->pw, p->pwlen);
	explicit_bzero(enc, sizeof(enc));
	explicit_bzero(p->pw, sizeof(p->pw));
	p->pwlen = 0;
	if (!match) {
		auth_refuse(p, &v0);
		return;
	}
	if (token_make(p->token) == -1) {
		log_warnx("%s: RAND_bytes failed", __func__);
		auth_reply(p->web, p->webid, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	token_hash(p->token, th);
	p->state = PEND_SESSION;

	mbuf_init(&amb);
	mbuf_str(&amb, uid);
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_u64(&amb, auth_expires(p->flags));
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_SESSION_NEW, p->id);
	pending_arm(p);
	explicit_bzero(th, sizeof(th));
}

/*
 * The audit row of a refused sign-in: every refusal (unknown email,
 * no password, wrong password) sends the same message at the same
 * point, after the argon2id run and before the answer, and nobody waits
 * for it, so the trail costs every kind the same time.  A sign-in that
 * gets a session, or is refused for a ban, is written by db with the
 * session (IMSG_DB_SESSION_NEW).
 */
static void
auth_audit_refused(struct imsgev *db, struct pending *p, const char *uid,
    int32_t status)
{
	uint32_t	 reason;

	if (uid[0] == '\0')
		reason = AUDIT_SIGNIN_UNKNOWN_EMAIL;
	else if (status == 0)
		reason = AUDIT_SIGNIN_NO_PASSWORD;
	else
		reason = AUDIT_SIGNIN_BAD_PASSWORD;
	mbuf_init(&amb);
	mbuf_str(&amb, uid);
	mbuf_str(&amb, p->email);
	mbuf_u32(&amb, reason);
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_AUDIT_SIGNIN, 0);
}

/*
 * IMSG_DB_AUTH_REPLY: i32 status, record when AUTH_OK; the answer to
 * IMSG_DB_SIGNUP and IMSG_DB_SESSION_NEW, relayed to web with the
 * signed token.
 */
void
auth_db_reply(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	int32_t		 status;
	char		 signedtok[TOKEN_SIGNED_LEN + 1];

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	if ((status == AUTH_OK || status == AUTH_PENDING_VERIFY) &&
	    authrec_read(&mr, &arec) == -1)
		fatalx("%s: bad record in IMSG_DB_AUTH_REPLY", __func__);
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX)
		fatalx("%s: bad IMSG_DB_AUTH_REPLY", __func__);
	if ((p = pending_lookup(imsg_get_id(imsg), "IMSG_DB_AUTH_REPLY")) ==
	    NULL)
		return;
	if (p->state != PEND_SIGNUP && p->state != PEND_SESSION &&
	    p->state != PEND_PWSET)
		fatalx("%s: IMSG_DB_AUTH_REPLY for request %u in state %d",
		    __func__, p->id, p->state);

	if (status == AUTH_OK) {
		token_sign(&as.mac, p->token, signedtok);
		auth_reply(p->web, p->webid, AUTH_OK, signedtok, &arec);
		explicit_bzero(signedtok, sizeof(signedtok));
	} else if (status == AUTH_PENDING_VERIFY && p->state == PEND_SIGNUP)
		auth_reply(p->web, p->webid, status, NULL, &arec);
	else if (status == AUTH_PENDING_VERIFY)
		fatalx("%s: a record without a session for request %u",
		    __func__, p->id);
	else
		auth_reply(p->web, p->webid, status, NULL, NULL);
	pending_free(p);
}

/*
 * IMSG_KEYS_SESSION: u32 flags, u32 op, str presented token, and for a
 * sign-out str ip, str ua (its audit row's).  The hot
 * path: no allocation of ours, no log above debug, no argon2.  A good
 * token goes to db as its hash with web's instance and request id, and
 * db answers web directly.
 */
void
auth_session(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct imsgev	*db;
	uint32_t	 flags, op, id = imsg_get_id(imsg);
	int		 r;
	unsigned char	 th[SHA256_LEN];
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	char		 ip[CERTAOS_MAX_IP + 1], ua[CERTAOS_MAX_UA + 1];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	op = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	if (op == AUTH_OP_DELETE) {
		mread_str(&mr, ip, sizeof(ip));
		mread_str(&mr, ua, sizeof(ua));
	}
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~KEYS_AUTH_FLAGS) != 0 ||
	    (op != AUTH_OP_GET && op != AUTH_OP_DELETE)) {
		explicit_bzero(presented, sizeof(presented));
		fatalx("%s: bad IMSG_KEYS_SESSION from %s", __func__,
		    iev->name);
	}

	if (!as.configured || (db = auth_db()) == NULL) {
		explicit_bzero(presented, sizeof(presented));
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		return;
	}
	r = token_verify(&as.mac, presented, strlen(presented), flags, tok);
	explicit_bzero(presented, sizeof(presented));
	if (r == -1) {
		log_debug("%s: malformed or badly signed token from %s",
		    __func__, iev->name);
		auth_reply(iev, id, AUTH_BAD_TOKEN, NULL, NULL);
		return;
	}
	token_hash(tok, th);
	explicit_bzero(tok, sizeof(tok));

	mbuf_init(&amb);
	mbuf_u32(&amb, (uint32_t)iev->instance);
	mbuf_u32(&amb, op);
	mbuf_bytes(&amb, th, sizeof(th));
	if (op == AUTH_OP_DELETE) {
		mbuf_str(&amb, ip);
		mbuf_str(&amb, ua);
	}
	auth_send(db, IMSG_DB_SESSION_GET, id);
	explicit_bzero(th, sizeof(th));
}

/*
 * IMSG_KEYS_SESSION_OP: u32 flags, u32 op, str presented, str target,
 * str ip, str ua.
 * list-sessions and the revokes: the asking token is checked and hashed
 * as for get-session; a revoke's target is either a token (raw or
 * signed: hashed) or a handle list-sessions gave out (a session id,
 * passed as is).  db answers web directly.
 */
void
auth_session_op(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct imsgev	*db;
	uint32_t	 flags, op, id = imsg_get_id(imsg);
	int		 r, have_target = 0;
	unsigned char	 th[SHA256_LEN], tth[SHA256_LEN];
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 target[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	char		 ip[CERTAOS_MAX_IP + 1], ua[CERTAOS_MAX_UA + 1];
	const char	*handle = "";

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	op = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	mread_str(&mr, target, sizeof(target));
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~KEYS_AUTH_FLAGS) != 0 ||
	    op < AUTH_OP_LIST || op >= AUTH_OP_MAX ||
	    (op != AUTH_OP_REVOKE && target[0] != '\0')) {
		explicit_bzero(presented, sizeof(presented));
		explicit_bzero(target, sizeof(target));
		fatalx("%s: bad IMSG_KEYS_SESSION_OP from %s", __func__,
		    iev->name);
	}

	if (!as.configured || (db = auth_db()) == NULL) {
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		goto done;
	}
	if (token_verify(&as.mac, presented, strlen(presented), flags,
	    tok) == -1) {
		log_debug("%s: malformed or badly signed token from %s",
		    __func__, iev->name);
		auth_reply(iev, id, AUTH_BAD_TOKEN, NULL, NULL);
		goto done;
	}
	token_hash(tok, th);
	if (op == AUTH_OP_REVOKE) {
		if (token_verify(&as.mac, target, strlen(target), 0,
		    tok) == 0) {
			token_hash(tok, tth);
			have_target = 1;
		}
		if (strlen(target) <= CERTAOS_MAX_ID)
			handle = target;
	}

	mbuf_init(&amb);
	mbuf_u32(&amb, (uint32_t)iev->instance);
	mbuf_u32(&amb, op);
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_bytes(&amb, tth, have_target ? sizeof(tth) : 0);
	mbuf_str(&amb, handle);
	mbuf_str(&amb, ip);
	mbuf_str(&amb, ua);
	auth_send(db, IMSG_DB_SESSION_OP, id);
 done:
	explicit_bzero(th, sizeof(th));
	explicit_bzero(tth, sizeof(tth));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(presented, sizeof(presented));
	explicit_bzero(target, sizeof(target));
}

/*
 * A password verified against an old kind of hash: replace it, in the
 * database only if nobody changed it meanwhile.  Best effort: a failure
 * leaves the old hash, which still verifies.
 */
static void
auth_rehash(struct imsgev *db, const char *uid, const char *old,
    const unsigned char *pw, size_t pwlen)
{
	char	 enc[CERTAOS_MAX_PWHASH];

	if (pw_hash(&as.ap, pw, pwlen, enc, sizeof(enc)) == -1) {
		log_warnx("%s: argon2id failed", __func__);
		return;
	}
	mbuf_init(&amb);
	mbuf_str(&amb, uid);
	mbuf_str(&amb, old);
	mbuf_str(&amb, enc);
	auth_send(db, IMSG_DB_PW_REHASH, 0);
	explicit_bzero(enc, sizeof(enc));
	log_debug("%s: user %s: password rehashed to argon2id", __func__,
	    uid);
}

/*
 * IMSG_KEYS_PW_CHANGE: u32 flags, str presented, bytes current, bytes
 * new, str ip, str ua.  The session's user and hash come first
 * (IMSG_DB_SESSION_CRED), then the new hash goes to db (IMSG_DB_PW_SET).
 */
void
auth_pw_change(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p = NULL;
	struct imsgev	*db;
	uint32_t	 flags, id = imsg_get_id(imsg);
	size_t		 curlen, newlen;
	int		 r;
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	char		 ip[CERTAOS_MAX_IP + 1], ua[CERTAOS_MAX_UA + 1];
	unsigned char	 cur[CERTAOS_MAX_PASSWORD], npw[CERTAOS_MAX_PASSWORD];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	curlen = mread_bytes(&mr, cur, sizeof(cur));
	newlen = mread_bytes(&mr, npw, sizeof(npw));
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~(AUTH_F_SIGNED | AUTH_F_REVOKE)) != 0) {
		explicit_bzero(cur, sizeof(cur));
		explicit_bzero(npw, sizeof(npw));
		explicit_bzero(presented, sizeof(presented));
		fatalx("%s: bad IMSG_KEYS_PW_CHANGE from %s", __func__,
		    iev->name);
	}
	if (!as.configured || (db = auth_db()) == NULL ||
	    (p = pending_new(iev, id, flags)) == NULL) {
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		goto done;
	}
	if (token_verify(&as.mac, presented, strlen(presented),
	    flags & AUTH_F_SIGNED, tok) == -1) {
		auth_reply(iev, id, AUTH_BAD_TOKEN, NULL, NULL);
		pending_free(p);
		goto done;
	}
	token_hash(tok, p->th);
	(void)strlcpy(p->token, tok, sizeof(p->token));
	memcpy(p->pw, cur, curlen);
	p->pwlen = curlen;
	memcpy(p->newpw, npw, newlen);
	p->newlen = newlen;
	(void)strlcpy(p->ip, ip, sizeof(p->ip));
	(void)strlcpy(p->ua, ua, sizeof(p->ua));
	p->state = PEND_PWCRED;

	mbuf_init(&amb);
	mbuf_bytes(&amb, p->th, sizeof(p->th));
	auth_send(db, IMSG_DB_SESSION_CRED, p->id);
	pending_arm(p);
 done:
	explicit_bzero(cur, sizeof(cur));
	explicit_bzero(npw, sizeof(npw));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(presented, sizeof(presented));
}

/* change-password, the session's credential in hand */
static void
auth_pw_cred(struct imsgev *db, struct pending *p, int32_t status,
    const char *uid, const char *enc)
{
	char		 nenc[CERTAOS_MAX_PWHASH];
	unsigned char	 nth[SHA256_LEN];
	int		 r = -1, revoke = (p->flags & AUTH_F_REVOKE) != 0;

	if (status == -1) {
		auth_reply(p->web, p->webid, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	if (uid[0] == '\0') {
		auth_reply(p->web, p->webid, AUTH_NO_SESSION, NULL, NULL);
		pending_free(p);
		return;
	}
	if (status == 1)
		r = pw_verify(enc, p->pw, p->pwlen);
	else
		(void)pw_verify(as.dummy, p->pw, p->pwlen);
	explicit_bzero(p->pw, sizeof(p->pw));
	p->pwlen = 0;
	if (r != 1) {
		auth_reply(p->web, p->webid, AUTH_BAD_PASSWORD, NULL, NULL);
		pending_free(p);
		return;
	}
	r = pw_hash(&as.ap, p->newpw, p->newlen, nenc, sizeof(nenc));
	explicit_bzero(p->newpw, sizeof(p->newpw));
	p->newlen = 0;
	if (r == -1 || (revoke && token_make(p->token) == -1)) {
		log_warnx("%s: argon2id or RAND_bytes failed", __func__);
		explicit_bzero(nenc, sizeof(nenc));
		auth_reply(p->web, p->webid, AUTH_UNAVAILABLE, NULL, NULL);
		pending_free(p);
		return;
	}
	if (revoke)
		token_hash(p->token, nth);
	p->state = PEND_PWSET;

	mbuf_init(&amb);
	mbuf_bytes(&amb, p->th, sizeof(p->th));
	mbuf_str(&amb, uid);
	mbuf_str(&amb, nenc);
	mbuf_u32(&amb, revoke);
	mbuf_bytes(&amb, nth, revoke ? sizeof(nth) : 0);
	mbuf_u64(&amb, auth_expires(0));
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_PW_SET, p->id);
	pending_arm(p);
	explicit_bzero(nenc, sizeof(nenc));
	explicit_bzero(nth, sizeof(nth));
}

/*
 * IMSG_KEYS_USER_UPDATE: u32 flags, str presented, u32 mask, str name,
 * str image (nullable).  As a session lookup: db answers web.
 */
void
auth_user_update(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct imsgev	*db;
	uint32_t	 flags, mask, id = imsg_get_id(imsg);
	int		 r, has_image;
	unsigned char	 th[SHA256_LEN];
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	static char	 name[CERTAOS_MAX_NAME + 1];
	static char	 image[CERTAOS_MAX_IMAGE + 1];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	mask = mread_u32(&mr);
	mread_str(&mr, name, sizeof(name));
	has_image = mread_nstr(&mr, image, sizeof(image));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~AUTH_F_SIGNED) != 0 || mask == 0 ||
	    (mask & ~(USER_F_NAME | USER_F_IMAGE)) != 0) {
		explicit_bzero(presented, sizeof(presented));
		fatalx("%s: bad IMSG_KEYS_USER_UPDATE from %s", __func__,
		    iev->name);
	}
	if (!as.configured || (db = auth_db()) == NULL) {
		auth_reply(iev, id, AUTH_UNAVAILABLE, NULL, NULL);
		goto done;
	}
	if (token_verify(&as.mac, presented, strlen(presented), flags,
	    tok) == -1) {
		auth_reply(iev, id, AUTH_BAD_TOKEN, NULL, NULL);
		goto done;
	}
	token_hash(tok, th);
	mbuf_init(&amb);
	mbuf_u32(&amb, (uint32_t)iev->instance);
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_u32(&amb, mask);
	mbuf_str(&amb, name);
	mbuf_nstr(&amb, has_image, image);
	auth_send(db, IMSG_DB_USER_UPDATE, id);
	explicit_bzero(th, sizeof(th));
 done:
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(presented, sizeof(presented));
}

void
auth_result(struct imsgev *web, uint32_t id, int32_t status)
{
	mbuf_init(&amb);
	mbuf_i32(&amb, status);
	auth_send(web, IMSG_KEYS_RESULT, id);
}

/*
 * IMSG_KEYS_PW_CHECK: u32 flags, str presented, bytes password.
 * verify-password: is this the password of the session's user?
 */
void
auth_pw_check(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	struct imsgev	*db;
	uint32_t	 flags, id = imsg_get_id(imsg);
	size_t		 pwlen;
	int		 r;
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	unsigned char	 pw[CERTAOS_MAX_PASSWORD];

	mread_init(&mr, imsg);
	flags = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	pwlen = mread_bytes(&mr, pw, sizeof(pw));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	if (r == -1 || (flags & ~AUTH_F_SIGNED) != 0) {
		explicit_bzero(pw, sizeof(pw));
		explicit_bzero(presented, sizeof(presented));
		fatalx("%s: bad IMSG_KEYS_PW_CHECK from %s", __func__,
		    iev->name);
	}
	if (!as.configured || (db = auth_db()) == NULL ||
	    (p = pending_new(iev, id, flags)) == NULL) {
		auth_result(iev, id, AUTH_UNAVAILABLE);
		goto done;
	}
	if (token_verify(&as.mac, presented, strlen(presented), flags,
	    tok) == -1) {
		auth_result(iev, id, AUTH_BAD_TOKEN);
		pending_free(p);
		goto done;
	}
	token_hash(tok, p->th);
	memcpy(p->pw, pw, pwlen);
	p->pwlen = pwlen;
	p->state = PEND_PWCHECK;
	mbuf_init(&amb);
	mbuf_bytes(&amb, p->th, sizeof(p->th));
	auth_send(db, IMSG_DB_SESSION_CRED, p->id);
	pending_arm(p);
 done:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(presented, sizeof(presented));
}

static void
auth_pw_checked(struct pending *p, int32_t status, const char *uid,
    const char *enc)
{
	int	 r = -1;

	if (status == -1)
		r = AUTH_UNAVAILABLE;
	else if (uid[0] == '\0')
		r = AUTH_NO_SESSION;
	else if (status == 1)
		r = pw_verify(enc, p->pw, p->pwlen) == 1 ? AUTH_OK :
		    AUTH_BAD_PASSWORD;
	else {
		(void)pw_verify(as.dummy, p->pw, p->pwlen);
		r = AUTH_BAD_PASSWORD;
	}
	auth_result(p->web, p->webid, r);
	pending_free(p);
}

/*
 * IMSG_KEYS_DONT_REMEMBER: the value of Better Auth's dont_remember
 * cookie, "true." and the base64 HMAC of "true" under the cookie key,
 * signed as a session token is.  It names no session and proves only
 * that this server set it.
 */
void
auth_dont_remember(struct imsgev *iev, struct imsg *imsg)
{
	unsigned char	 mac[SHA256_LEN];
	char		 out[5 + 4 * ((SHA256_LEN + 2) / 3) + 1];

	if (imsg_get_len(imsg) != 0)
		fatalx("%s: bad IMSG_KEYS_DONT_REMEMBER from %s", __func__,
		    iev->name);
	out[0] = '\0';
	if (as.configured) {
		tokmac_hmac(&as.mac, "true", 4, mac);
		memcpy(out, "true.", 5);
		(void)EVP_EncodeBlock((unsigned char *)out + 5, mac,
		    sizeof(mac));
		explicit_bzero(mac, sizeof(mac));
	}
	mbuf_init(&amb);
	mbuf_str(&amb, out);
	auth_send(iev, IMSG_KEYS_DONT_REMEMBER_VALUE, imsg_get_id(imsg));
}
