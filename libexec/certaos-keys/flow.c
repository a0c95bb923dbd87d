/*
 * flow.c: the email flows in certaos-keys: verification, password
 * reset, change-email and delete-user.
 *
 * keys makes every emailed token and the link that carries it, seals
 * the mail (mail.c) so that only certaos-mail can read it, and gives db
 * the token's SHA-256 with the sealed mail: the token is never at rest
 * in clear, and db never sees it (invariant 2).  A link comes back as
 * IMSG_KEYS_FLOW_USE: keys hashes its token (and hashes a new password,
 * or makes a session) and db spends it.
 *
 * Sending: web -> keys, keys -> db who the user is (FLOW_WHO), keys ->
 * db the token and mail (FLOW_SEND), keys -> web the result.  An email
 * that matches nobody is answered as a sent one: no enumeration.
 *
 * change-email of a verified address (email change-confirmation on):
 * the link goes to the current address first (FLOW_CHANGE_CONFIRM);
 * verify-email spends it (db answers AUTH_CHANGE_CONFIRMED with the new
 * address), and only then does the new address get its link: whoever
 * holds a session alone cannot move the account to an address of
 * theirs.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <sha2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certaos.h"
#include "authrec.h"
#include "crypto.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "keys.h"

#define FLOW_SEND_FLAGS		AUTH_F_SIGNED
#define FLOW_USE_FLAGS		(AUTH_F_SIGNED | AUTH_F_SIGNIN)
/* issuer, base path, a path, a token and a callbackURL %-encoded */
#define FLOW_MAX_LINK		(CERTAOS_MAX_ISSUER + 64 + 64 + \
				    CERTAOS_TOKEN_LEN + 3 * CERTAOS_MAX_URL)

static struct {
	char		 base[CERTAOS_MAX_ISSUER + 64];	/* issuer + path */
	int		 signup;	/* a link at sign-up */
	int		 required;	/* no session before it is used */
	int		 mail;		/* a mail method is set */
	int		 confirm;	/* email change-confirmation on */
	uint32_t	 fresh;		/* s: fresh-age, 0 off */
} fs;

static struct auth_rec	 frec;

static int	 flow_link(char *, size_t, uint32_t, const char *,
		    const char *);
static int	 flow_mail(struct mbuf *, uint32_t, const char *,
		    const char *, const char *, const char *, const char *,
		    unsigned char [SHA256_LEN]);
static int32_t	 flow_token_send(struct imsgev *, struct pending *,
		    uint32_t, const char *, const char *, const char *,
		    const char *, const char *);
static uint64_t	 flow_expires(uint32_t);
static void	 flow_use_answer(struct pending *, int32_t,
		    const struct auth_rec *);
static void	 flow_delete_now(struct pending *, uint64_t);
static void	 flow_delete_send(struct imsgev *, struct pending *);

void
flow_configure(const struct cfg_keys *cfg)
{
	size_t	 n;

	(void)strlcpy(fs.base, cfg->issuer, sizeof(fs.base));
	/* the issuer is a bare origin or ends without a slash */
	n = strlen(fs.base);
	while (n > 0 && fs.base[n - 1] == '/')
		fs.base[--n] = '\0';
	(void)strlcat(fs.base, cfg->basepath, sizeof(fs.base));
	fs.signup = cfg->verify_signup != 0;
	fs.required = cfg->verify_required != 0;
	fs.mail = cfg->mail != 0;
	fs.confirm = cfg->change_confirm != 0;
	fs.fresh = cfg->session_fresh;
}

/* encodeURIComponent, as Better Auth builds its links */
int
flow_urlenc(char *dst, size_t dstsz, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 o = 0;
	unsigned char		 ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.!~*'()", ch) !=
		    NULL) {
			if (o + 1 >= dstsz)
				return (-1);
			dst[o++] = ch;
			continue;
		}
		if (o + 3 >= dstsz)
			return (-1);
		dst[o++] = '%';
		dst[o++] = hex[ch >> 4];
		dst[o++] = hex[ch & 0xf];
	}
	if (o >= dstsz)
		return (-1);
	dst[o] = '\0';
	return (0);
}

/* The link a mail carries, as Better Auth's (only the token differs). */
static int
flow_link(char *dst, size_t dstsz, uint32_t kind, const char *tok,
    const char *cb)
{
	char	 enc[3 * CERTAOS_MAX_URL + 1];
	int	 n;

	if (flow_urlenc(enc, sizeof(enc), kind != FLOW_RESET &&
	    cb[0] == '\0' ? "/" : cb) == -1)
		return (-1);
	switch (kind) {
	case FLOW_VERIFY:
	case FLOW_CHANGE_EMAIL:
	case FLOW_CHANGE_CONFIRM:
		n = snprintf(dst, dstsz, "%s/verify-email?token=%s"
		    "&callbackURL=%s", fs.base, tok, enc);
		break;
	case FLOW_RESET:
		n = snprintf(dst, dstsz, "%s/reset-password/%s"
		    "?callbackURL=%s", fs.base, tok, enc);
		break;
	case FLOW_DELETE:
		n = snprintf(dst, dstsz, "%s/delete-user/callback?token=%s"
		    "&callbackURL=%s", fs.base, tok, enc);
		break;
	default:
		return (-1);
	}
	return (n < 0 || (size_t)n >= dstsz ? -1 : 0);
}

static uint64_t
flow_expires(uint32_t kind)
{
	struct timespec	 ts;
	uint64_t	 ttl;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	switch (kind) {
	case FLOW_RESET:
		ttl = CERTAOS_TTL_RESET;
		break;
	case FLOW_DELETE:
		ttl = CERTAOS_TTL_DELETE;
		break;
	default:
		ttl = CERTAOS_TTL_VERIFY;
		break;
	}
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 +
	    ttl * 1000);
}

/*
 * A new token for kind: its hash into th, and its link in a mail to
 * rcpt, sealed, appended to mb (str recipient, str template, bytes
 * sealed).  The token itself is wiped here: only the mail has it.
 * newemail and oldemail: the addresses of a change ("" otherwise).
 */
static int
flow_mail(struct mbuf *mb, uint32_t kind, const char *rcpt,
    const char *name, const char *cb, const char *newemail,
    const char *oldemail, unsigned char th[SHA256_LEN])
{
	static char	 link[FLOW_MAX_LINK];
	char		 tok[CERTAOS_TOKEN_LEN + 1];
	const char	*tmpl;
	int		 r;

	switch (kind) {
	case FLOW_VERIFY:
		tmpl = "verify-email";
		break;
	case FLOW_RESET:
		tmpl = "reset-password";
		break;
	case FLOW_CHANGE_EMAIL:
		tmpl = "change-email";
		break;
	case FLOW_CHANGE_CONFIRM:
		tmpl = "change-email-confirm";
		break;
	case FLOW_DELETE:
		tmpl = "delete-account";
		break;
	default:
		return (-1);
	}
	if (token_make(tok) == -1)
		return (-1);
	token_hash(tok, th);
	r = flow_link(link, sizeof(link), kind, tok, cb);
	explicit_bzero(tok, sizeof(tok));
	if (r == 0)
		r = keys_mail_seal(mb, tmpl, rcpt, "name", name, "url", link,
		    "new_email", newemail, "old_email", oldemail, NULL);
	explicit_bzero(link, sizeof(link));
	return (r);
}

/*
 * The end of IMSG_DB_SIGNUP: u32 make a session, then u32 1, the sealed
 * mail of the verification link, bytes its token's hash, u64 its
 * expiry; or u32 0 when no link is sent.
 */
int
flow_signup_tail(struct mbuf *mb, const char *email, const char *name,
    const char *cb)
{
	unsigned char	 th[SHA256_LEN];

	mbuf_u32(mb, !fs.required);
	if (!fs.signup) {
		mbuf_u32(mb, 0);
		return (0);
	}
	mbuf_u32(mb, 1);
	if (flow_mail(mb, FLOW_VERIFY, email, name, cb, "", "", th) == -1)
		return (-1);
	mbuf_bytes(mb, th, sizeof(th));
	mbuf_u64(mb, flow_expires(FLOW_VERIFY));
	explicit_bzero(th, sizeof(th));
	return (0);
}

/*
 * IMSG_KEYS_FLOW_SEND: u32 kind, u32 flags, str presented, str email,
 * str callbackURL, str ip, str ua.  First who: by the session when one
 * is presented (change-email and delete-user need one), else by email.
 */
void
flow_send_req(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	struct imsgev	*db;
	uint32_t	 kind, flags, id = imsg_get_id(imsg);
	unsigned char	 th[SHA256_LEN];
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	int		 r, bysession;

	memset(th, 0, sizeof(th));
	if ((p = pending_new(iev, id, 0)) == NULL) {
		auth_result(iev, id, AUTH_UNAVAILABLE);
		return;
	}
	mread_init(&mr, imsg);
	kind = mread_u32(&mr);
	flags = mread_u32(&mr);
	mread_str(&mr, presented, sizeof(presented));
	mread_str(&mr, p->email, sizeof(p->email));
	mread_str(&mr, p->cb, sizeof(p->cb));
	mread_str(&mr, p->ip, sizeof(p->ip));
	mread_str(&mr, p->ua, sizeof(p->ua));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	bysession = presented[0] != '\0';
	if (r == -1 || (flags & ~FLOW_SEND_FLAGS) != 0 ||
	    kind < FLOW_VERIFY || kind > FLOW_DELETE ||
	    ((kind == FLOW_CHANGE_EMAIL || kind == FLOW_DELETE) &&
	    !bysession) || (kind == FLOW_RESET && bysession) ||
	    (kind != FLOW_DELETE && p->email[0] == '\0'))
		fatalx("%s: bad IMSG_KEYS_FLOW_SEND from %s", __func__,
		    iev->name);
	p->kind = kind;
	p->flags = flags;
	if ((db = auth_db()) == NULL) {
		auth_result(iev, id, AUTH_UNAVAILABLE);
		pending_free(p);
		goto done;
	}
	if (bysession && auth_presented_hash(presented, flags, th) == -1) {
		auth_result(iev, id, AUTH_BAD_TOKEN);
		pending_free(p);
		goto done;
	}
	memcpy(p->th, th, sizeof(th));
	p->state = PEND_FLOW_WHO;
	mbuf_init(&amb);
	mbuf_u32(&amb, kind);
	mbuf_bytes(&amb, th, bysession ? sizeof(th) : 0);
	mbuf_str(&amb, bysession ? "" : p->email);
	auth_send(db, IMSG_DB_FLOW_WHO, p->id);
	pending_arm(p);
 done:
	explicit_bzero(presented, sizeof(presented));
	explicit_bzero(th, sizeof(th));
}

/*
 * IMSG_DB_FLOW_USER: i32 status, str user id, str email, str name, u32
 * verified, u32 has a password, u64 session created.  Decide, then the
 * token and its mail go to db.
 */
void
flow_db_user(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	int32_t		 status;
	uint32_t	 verified, haspw;
	uint64_t	 created;
	char		 uid[CERTAOS_MAX_ID + 1];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 name[CERTAOS_MAX_NAME + 1];
	const char	*rcpt, *newemail = "";

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	mread_str(&mr, uid, sizeof(uid));
	mread_str(&mr, email, sizeof(email));
	mread_str(&mr, name, sizeof(name));
	verified = mread_u32(&mr);
	haspw = mread_u32(&mr);
	created = mread_u64(&mr);
	if (mread_end(&mr) == -1 || (status != AUTH_OK &&
	    status != AUTH_NO_SESSION && status != AUTH_UNAVAILABLE) ||
	    (status == AUTH_OK && (uid[0] == '\0' || email[0] == '\0')) ||
	    verified > 1 || haspw > 1)
		fatalx("%s: bad IMSG_DB_FLOW_USER", __func__);
	if ((p = pending_lookup(imsg_get_id(imsg), "IMSG_DB_FLOW_USER")) ==
	    NULL)
		return;
	if (p->state != PEND_FLOW_WHO)
		fatalx("%s: IMSG_DB_FLOW_USER for request %u in state %d",
		    __func__, p->id, p->state);
	evtimer_del(&p->timer);

	if (status == AUTH_NO_SESSION) {
		/* an unknown address is answered as a known one */
		status = p->kind == FLOW_VERIFY || p->kind == FLOW_RESET ?
		    (p->email[0] != '\0' ? AUTH_OK : AUTH_NO_SESSION) :
		    AUTH_NO_SESSION;
		goto answer;
	}
	if (status != AUTH_OK)
		goto answer;
	rcpt = email;
	switch (p->kind) {
	case FLOW_VERIFY:
		if (p->email[0] != '\0' && strcmp(p->email, email) != 0) {
			status = AUTH_EMAIL_MISMATCH;
			goto answer;
		}
		if (verified) {
			/* by email: say nothing; by session: say so */
			status = (p->flags & AUTH_F_SIGNED) != 0 ||
			    p->email[0] == '\0' ? AUTH_ALREADY_VERIFIED :
			    AUTH_OK;
			goto answer;
		}
		break;
	case FLOW_CHANGE_EMAIL:
		if (strcmp(p->email, email) == 0) {
			status = AUTH_SAME_EMAIL;
			goto answer;
		}
		newemail = p->email;
		/* a verified address confirms the change first */
		if (fs.confirm && verified)
			p->kind = FLOW_CHANGE_CONFIRM;
		else
			rcpt = newemail;
		break;
	case FLOW_DELETE:
		if (!fs.mail) {
			flow_delete_now(p, created);
			return;
		}
		break;
	default:
		break;
	}

	status = flow_token_send(iev, p, p->kind, uid, rcpt, name, newemail,
	    email);
	if (status == AUTH_OK) {
		p->state = PEND_FLOW_SEND;
		return;
	}
 answer:
	auth_result(p->web, p->webid, status);
	pending_free(p);
}

/*
 * A token of kind for user uid and its mail to rcpt go to db
 * (IMSG_DB_FLOW_SEND), who answers p; newemail and oldemail as in
 * flow_mail().  AUTH_OK, or the status to answer with.
 */
static int32_t
flow_token_send(struct imsgev *db, struct pending *p, uint32_t kind,
    const char *uid, const char *rcpt, const char *name,
    const char *newemail, const char *oldemail)
{
	unsigned char	 th[SHA256_LEN];

	mbuf_init(&amb);
	mbuf_u32(&amb, kind);
	mbuf_str(&amb, uid);
	mbuf_str(&amb, newemail);
	if (flow_mail(&amb, kind, rcpt, name, p->cb, newemail, oldemail,
	    th) == -1) {
		mbuf_clear(&amb);
		mbuf_init(&amb);
		return (AUTH_UNAVAILABLE);
	}
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_u64(&amb, flow_expires(kind));
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_FLOW_SEND, p->id);
	explicit_bzero(th, sizeof(th));
	pending_arm(p);
	return (AUTH_OK);
}

/*
 * IMSG_KEYS_FLOW_USE: u32 kind, u32 flags, str token, str presented, bytes
 * password, str ip, str ua.
 */
void
flow_use_req(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	struct imsgev	*db;
	uint32_t	 kind, flags, id = imsg_get_id(imsg);
	size_t		 pwlen;
	int		 r, hastok;
	unsigned char	 th[SHA256_LEN], sh[SHA256_LEN], nh[SHA256_LEN];
	unsigned char	 pw[CERTAOS_MAX_PASSWORD];
	char		 presented[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	char		 enc[CERTAOS_MAX_PWHASH];

	enc[0] = '\0';
	if ((p = pending_new(iev, id, 0)) == NULL) {
		auth_wipe_imsg(imsg);
		mbuf_init(&amb);
		mbuf_i32(&amb, AUTH_UNAVAILABLE);
		mbuf_str(&amb, "");
		mbuf_u32(&amb, 0);
		auth_send(iev, IMSG_KEYS_FLOW_DONE, id);
		return;
	}
	mread_init(&mr, imsg);
	kind = mread_u32(&mr);
	flags = mread_u32(&mr);
	mread_str(&mr, tok, sizeof(tok));
	mread_str(&mr, presented, sizeof(presented));
	pwlen = mread_bytes(&mr, pw, sizeof(pw));
	mread_str(&mr, p->ip, sizeof(p->ip));
	mread_str(&mr, p->ua, sizeof(p->ua));
	mread_str(&mr, p->cb, sizeof(p->cb));
	r = mread_end(&mr);
	auth_wipe_imsg(imsg);
	hastok = tok[0] != '\0';
	if (r == -1 || (flags & ~FLOW_USE_FLAGS) != 0 ||
	    (kind != FLOW_VERIFY && kind != FLOW_RESET_CHECK &&
	    kind != FLOW_RESET && kind != FLOW_DELETE) ||
	    (kind != FLOW_DELETE && !hastok) ||
	    (kind == FLOW_DELETE && (presented[0] == '\0' ||
	    hastok == (pwlen != 0))) ||
	    (kind != FLOW_RESET && kind != FLOW_DELETE && pwlen != 0) ||
	    (kind == FLOW_RESET && pwlen == 0))
		fatalx("%s: bad IMSG_KEYS_FLOW_USE from %s", __func__,
		    iev->name);
	p->kind = kind;
	p->flags = flags;
	p->state = PEND_FLOW_USE;
	if ((db = auth_db()) == NULL) {
		flow_use_answer(p, AUTH_UNAVAILABLE, NULL);
		goto done;
	}
	/* a link's token is a raw token; anything else is no token of ours */
	if (hastok && (strlen(tok) != CERTAOS_TOKEN_LEN ||
	    token_verify(auth_cookie_mac(), tok, strlen(tok), 0,
	    p->token) == -1)) {
		flow_use_answer(p, AUTH_BAD_FLOW_TOKEN, NULL);
		goto done;
	}
	if (hastok)
		token_hash(p->token, th);
	if (kind == FLOW_DELETE &&
	    auth_presented_hash(presented, flags, sh) == -1) {
		flow_use_answer(p, AUTH_NO_SESSION, NULL);
		goto done;
	}
	if (kind == FLOW_DELETE && !hastok) {
		/* the password first: the session's credential */
		memcpy(p->th, sh, sizeof(sh));
		memcpy(p->pw, pw, pwlen);
		p->pwlen = pwlen;
		p->state = PEND_FLOW_PWCRED;
		mbuf_init(&amb);
		mbuf_bytes(&amb, sh, sizeof(sh));
		auth_send(db, IMSG_DB_SESSION_CRED, p->id);
		pending_arm(p);
		goto done;
	}
	if (kind == FLOW_RESET &&
	    pw_hash(auth_argon2(), pw, pwlen, enc, sizeof(enc)) == -1) {
		log_warnx("%s: argon2id failed", __func__);
		flow_use_answer(p, AUTH_UNAVAILABLE, NULL);
		goto done;
	}
	/* verify-email signs in: a new session, whose token web gets */
	if (kind == FLOW_VERIFY && (flags & AUTH_F_SIGNIN)) {
		if (token_make(p->token) == -1) {
			flow_use_answer(p, AUTH_UNAVAILABLE, NULL);
			goto done;
		}
		token_hash(p->token, nh);
	} else
		p->token[0] = '\0';

	mbuf_init(&amb);
	mbuf_u32(&amb, kind);
	mbuf_bytes(&amb, th, sizeof(th));
	mbuf_bytes(&amb, sh, kind == FLOW_DELETE ? sizeof(sh) : 0);
	mbuf_str(&amb, enc);
	mbuf_bytes(&amb, nh, p->token[0] != '\0' ? sizeof(nh) : 0);
	mbuf_u64(&amb, p->token[0] != '\0' ? auth_expires(0) : 0);
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_FLOW_USE, p->id);
	pending_arm(p);
 done:
	explicit_bzero(th, sizeof(th));
	explicit_bzero(sh, sizeof(sh));
	explicit_bzero(nh, sizeof(nh));
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(enc, sizeof(enc));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(presented, sizeof(presented));
}

/*
 * delete-user with no password and no mail method to confirm it by: the
 * session must be fresh (Better Auth's SESSION_EXPIRED otherwise).
 */
static void
flow_delete_now(struct pending *p, uint64_t created)
{
	struct imsgev	*db;
	struct timespec	 ts;
	uint64_t	 now;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (fs.fresh != 0 && now - created >= (uint64_t)fs.fresh * 1000) {
		auth_result(p->web, p->webid, AUTH_NOT_FRESH);
		pending_free(p);
		return;
	}
	if ((db = auth_db()) == NULL) {
		auth_result(p->web, p->webid, AUTH_UNAVAILABLE);
		pending_free(p);
		return;
	}
	flow_delete_send(db, p);
}

/* IMSG_DB_FLOW_USE for a delete-user the asking session may do */
static void
flow_delete_send(struct imsgev *db, struct pending *p)
{
	p->state = PEND_FLOW_USE;
	p->token[0] = '\0';
	mbuf_init(&amb);
	mbuf_u32(&amb, FLOW_DELETE);
	mbuf_bytes(&amb, "", 0);
	mbuf_bytes(&amb, p->th, sizeof(p->th));
	mbuf_str(&amb, "");
	mbuf_bytes(&amb, "", 0);
	mbuf_u64(&amb, 0);
	mbuf_str(&amb, p->ip);
	mbuf_str(&amb, p->ua);
	auth_send(db, IMSG_DB_FLOW_USE, p->id);
	pending_arm(p);
}

/*
 * delete-user with a password: the session's credential in hand.  With
 * a mail method, a right password still only mails the link (as Better
 * Auth does when it can send one).
 */
void
flow_pw_cred(struct pending *p, int32_t status, const char *uid,
    const char *enc)
{
	struct imsgev	*db;
	int		 r;

	if (status == -1 || (db = auth_db()) == NULL) {
		flow_use_answer(p, AUTH_UNAVAILABLE, NULL);
		return;
	}
	if (uid[0] == '\0') {
		(void)pw_verify(auth_dummy(), p->pw, p->pwlen);
		flow_use_answer(p, AUTH_NO_SESSION, NULL);
		return;
	}
	if (status == 0) {
		(void)pw_verify(auth_dummy(), p->pw, p->pwlen);
		flow_use_answer(p, AUTH_NO_CREDENTIAL, NULL);
		return;
	}
	r = pw_verify(enc, p->pw, p->pwlen);
	explicit_bzero(p->pw, sizeof(p->pw));
	p->pwlen = 0;
	if (r != 1) {
		flow_use_answer(p, AUTH_BAD_PASSWORD, NULL);
		return;
	}
	if (fs.mail) {
		p->kind = FLOW_DELETE;
		p->email[0] = '\0';
		p->state = PEND_FLOW_WHO;
		mbuf_init(&amb);
		mbuf_u32(&amb, FLOW_DELETE);
		mbuf_bytes(&amb, p->th, sizeof(p->th));
		mbuf_str(&amb, "");
		auth_send(db, IMSG_DB_FLOW_WHO, p->id);
		pending_arm(p);
		return;
	}
	flow_delete_send(db, p);
}

/*
 * IMSG_KEYS_FLOW_DONE to web: i32 status, str signed token of a new
 * session (""), u32 has record, the record.  Frees p.
 */
static void
flow_use_answer(struct pending *p, int32_t status, const struct auth_rec *r)
{
	char	 signedtok[TOKEN_SIGNED_LEN + 1];

	if (p == NULL)
		return;
	signedtok[0] = '\0';
	if (status == AUTH_OK && r != NULL && p->token[0] != '\0')
		token_sign(auth_cookie_mac(), p->token, signedtok);
	mbuf_init(&amb);
	mbuf_i32(&amb, status);
	mbuf_str(&amb, signedtok);
	mbuf_u32(&amb, status == AUTH_OK && r != NULL);
	if (status == AUTH_OK && r != NULL)
		authrec_write(&amb, r);
	auth_send(p->web, IMSG_KEYS_FLOW_DONE, p->webid);
	explicit_bzero(signedtok, sizeof(signedtok));
	pending_free(p);
}

/* db did not answer in time: web hears so.  Frees p. */
void
flow_timeout(struct pending *p)
{
	flow_use_answer(p, AUTH_UNAVAILABLE, NULL);
}

/*
 * IMSG_DB_FLOW_DONE: i32 status, u32 has record, the record, str the
 * new address of a change-email confirmed (AUTH_CHANGE_CONFIRMED, with
 * the user's record: its new address gets its link now).
 */
void
flow_db_done(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct pending	*p;
	int32_t		 status;
	uint32_t	 has;
	char		 newemail[CERTAOS_MAX_EMAIL + 1];

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	has = mread_u32(&mr);
	if (has == 1 && authrec_read(&mr, &frec) == -1)
		fatalx("%s: bad record in IMSG_DB_FLOW_DONE", __func__);
	mread_str(&mr, newemail, sizeof(newemail));
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX ||
	    has > 1 || (has && status != AUTH_OK &&
	    status != AUTH_CHANGE_CONFIRMED) ||
	    (status == AUTH_CHANGE_CONFIRMED) != (newemail[0] != '\0') ||
	    (status == AUTH_CHANGE_CONFIRMED && !has))
		fatalx("%s: bad IMSG_DB_FLOW_DONE", __func__);
	if ((p = pending_lookup(imsg_get_id(imsg), "IMSG_DB_FLOW_DONE")) ==
	    NULL)
		return;
	if (status == AUTH_CHANGE_CONFIRMED && p->state != PEND_FLOW_USE)
		fatalx("%s: a confirmation for request %u in state %d",
		    __func__, p->id, p->state);
	switch (p->state) {
	case PEND_FLOW_SEND:
		auth_result(p->web, p->webid, status);
		pending_free(p);
		break;
	case PEND_FLOW_USE:
		if (status != AUTH_CHANGE_CONFIRMED) {
			flow_use_answer(p, status, has ? &frec : NULL);
			break;
		}
		evtimer_del(&p->timer);
		status = flow_token_send(iev, p, FLOW_CHANGE_EMAIL,
		    frec.u.id, newemail, frec.u.name, newemail, frec.u.email);
		if (status != AUTH_OK) {
			flow_use_answer(p, status, NULL);
			break;
		}
		p->state = PEND_FLOW_CONFIRMED;
		break;
	case PEND_FLOW_CONFIRMED:
		flow_use_answer(p, status == AUTH_OK ? AUTH_CHANGE_CONFIRMED :
		    status, NULL);
		break;
	default:
		fatalx("%s: IMSG_DB_FLOW_DONE for request %u in state %d",
		    __func__, p->id, p->state);
	}
}
