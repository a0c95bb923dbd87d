/*
 * auth.c: the Better Auth core endpoints of certaos-web.
 *
 *	POST <base>/sign-up/email	IMSG_KEYS_SIGNUP -> IMSG_KEYS_AUTH
 *	POST <base>/sign-in/email	IMSG_KEYS_SIGNIN -> IMSG_KEYS_AUTH
 *	GET  <base>/get-session		IMSG_KEYS_SESSION (op GET) -> db's
 *					IMSG_DB_SESSION_INFO, or keys'
 *					IMSG_KEYS_AUTH (bad token)
 *	POST <base>/sign-out		IMSG_KEYS_SESSION (op DELETE)
 *	GET  <base>/ok			{"ok":true}, here
 *	GET  <base>/error		an HTML error page, here
 *	GET  <base>/list-accounts	IMSG_KEYS_SESSION_OP (AUTH_OP_ACCOUNTS)
 *	GET  <base>/account-info	-> IMSG_DB_ACCOUNT_ROW*, _SESSION_INFO
 *
 * web holds no secret: a password or a presented token goes to keys,
 * which hashes, verifies or signs, and asks db with hashes only.  A
 * pending request is keyed by its id (the imsg peerid); it belongs to
 * its connection and goes away with it.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event.h>

#include "certaos.h"
#include "authrec.h"
#include "json.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "http.h"

#define AUTH_CT_JSON	"application/json"
/* list-sessions and the revokes: a session needed, 401 without */
#define AUTH_ROUTE_MANAGE(r)	((r) >= ROUTE_LIST_SESSIONS && \
				    (r) <= ROUTE_UPDATE_USER)
#define AUTH_NOSTORE	"Cache-Control: no-store\r\n"
/* list-accounts and account-info: a session needed, 401 without */
#define AUTH_ROUTE_ACCOUNTS(r)	((r) == ROUTE_LIST_ACCOUNTS || \
				    (r) == ROUTE_ACCOUNT_INFO)

struct authreq {
	RB_ENTRY(authreq)	 entry;
	uint32_t		 id;
	struct http_conn	*c;
	int			 route;
	int			 from_cookie;	/* the token came in a cookie */
	int			 shortlived;	/* rememberMe: false */
	int			 has_url;	/* sign-in: callbackURL given */
	int			 revoke;	/* change-password: new session */
	struct json_out		*list;		/* list-sessions, as rows come */
	uint64_t		 created;	/* list-sessions: the asking
						 * session's, ms (0: unseen) */
	/* get-session waiting for its JWT: the answer, and the cache key */
	char			*resp;
	size_t			 resplen;
	char			*claims;	/* the user's JSON members */
	size_t			 claimslen;
	time_t			 jwt_exp;
	char			 sid[CERTAOS_MAX_ID + 1];
	/* account-info: the account asked for, and whether it is there */
	char			 account[CERTAOS_MAX_ID + 1];
	int			 found;
	char			 url[CERTAOS_MAX_IMAGE + 1];
	char			 token[CERTAOS_TOKEN_LEN + 1];	/* raw part */
	/* get-session: the signed token presented, "" if it was raw */
	char			 stoken[CERTAOS_MAX_CTOKEN + 1];
	int			 dontrem;	/* a valid dont_remember came */
	int			 renewed;	/* get-session slid the expiry */
	int			 worker;	/* the keys[n] hashing for it */
};

RB_HEAD(authreq_tree, authreq);

static int	 authreq_cmp(struct authreq *, struct authreq *);
RB_PROTOTYPE(authreq_tree, authreq, entry, authreq_cmp)

static struct authreq	*authreq_new(struct http_conn *);
static void		 authreq_free(struct authreq *);
static struct authreq	*authreq_take(uint32_t);
static void		 auth_timeout(struct http_conn *);
static void		 auth_fail(struct http_conn *, int, const char *,
			    const char *);
static int		 auth_json_body(struct http_conn *);
static int		 auth_body_type(struct http_conn *);
static int		 auth_origin_ok(struct http_conn *);
static int		 auth_url_ok(const char *);
static size_t		 utf8_len(const char *);
static int		 auth_presented(struct http_conn *, char *, size_t,
			    int *);
static void		 auth_signup(struct http_conn *, const char *, size_t);
static void		 auth_signin(struct http_conn *, const char *, size_t);
static void		 auth_session(struct http_conn *, int);
static void		 auth_cookie_set(char *, size_t, const char *, int);
static void		 auth_cookie_clear(char *, size_t);
static void		 auth_cookie_dontrem(char *, size_t);
static int		 auth_dontrem_valid(struct http_conn *);
static int		 hexdigit(int);
static void		 auth_dontrem_retry(int, short, void *);
static void		 auth_respond_null(struct authreq *, int);
static void		 auth_unauthorized(struct http_conn *);
static void		 auth_manage_done(struct authreq *, int);
static void		 auth_jwt_sign(struct authreq *, const struct auth_rec *);
static void		 auth_manage(struct http_conn *, const char *, size_t);
static void		 auth_signed_out(struct http_conn *);
static void		 auth_body_error(struct http_conn *, const char *);
static int		 auth_parse(struct http_conn *, const char *, size_t,
			    struct jfield *, size_t);
static int		 auth_pw_policy(struct http_conn *, const char *);
static void		 auth_unavailable(struct http_conn *);
static struct imsgev	*auth_keys_peer(struct http_conn *);
static struct imsgev	*auth_worker_peer(struct http_conn *);
static void		 auth_worker_send(struct authreq *, struct imsgev *,
			    uint32_t);
static void		 auth_keys_send(struct imsgev *, uint32_t, uint32_t);
static int		 auth_callback_bad(struct http_conn *, int,
			    const char *);
static int		 auth_post_refused(struct http_conn *, const char *,
			    size_t);
static int		 query_get(struct http_conn *, const char *, char *,
			    size_t);
static void		 auth_respond_status(struct authreq *, int);
static int		 auth_created_fresh(uint64_t);
static void		 html_escape(char *, size_t, const char *);
static void		 auth_session_jwt(struct authreq *,
			    const struct auth_rec *);
static void		 auth_session_answer(struct authreq *,
			    const struct auth_rec *, const char *);
static void		 auth_session_body(struct authreq *,
			    const struct auth_rec *, const char *, size_t);
static void		 auth_session_respond(struct authreq *, const char *);
static int		 auth_renewed(const struct auth_session *);
struct jwt_entry;
static struct jwt_entry	*jwt_slot(const char *);
static const char	*jwt_lookup(const char *, const char *, size_t);
static void		 jwt_store(const char *, const char *, size_t,
			    const char *, time_t);
static void		 auth_error_page(struct http_conn *);
static void		 auth_accounts(struct http_conn *);
static void		 auth_accounts_done(struct authreq *, int);
static void		 flow_send(struct http_conn *, const char *, size_t);
static void		 flow_use(struct http_conn *, const char *, size_t);
static void		 flow_sent(struct authreq *, int32_t);
static int		 auth_list_refused(struct authreq *, int);
static void		 auth_list_respond(struct authreq *);
static void		 auth_respond_json(struct http_conn *, int,
			    const char *, struct json_out *);
static void		 auth_signup_pending(struct authreq *,
			    const struct auth_rec *);
static struct authreq	*auth_session_op(struct http_conn *, uint32_t,
			    const char *);
static void		 flow_no_mail(struct http_conn *, uint32_t);

static struct authreq_tree	 pending = RB_INITIALIZER(&pending);
/* the dont_remember cookie's value, from keys ("": not yet) */
static char			 dontrem[64];
static int			 dontrem_asked;
static struct event		 dontrem_timer;
static int			 dontrem_timer_set;
static struct mbuf		 auth_mb;	/* one message at a time */
static uint32_t			 auth_id;
/* requests in hand per password worker, keys[1..] */
static uint32_t			 worker_busy[PROC_MAX_INSTANCES];

static struct {
	char		 prefix[CERTAOS_MAX_COOKIE_PREFIX + 1];
	int		 secure;		/* issuer is https */
	uint32_t	 lifetime;
	uint32_t	 pw_min;
	uint32_t	 pw_max;
	uint32_t	 fresh;			/* s: fresh-age, 0 off */
	uint32_t	 norigins;
	char		 origins[CERTAOS_MAX_ORIGINS + 1][CERTAOS_MAX_ORIGIN];
	uint32_t	 verify;		/* VERIFY_* */
	uint32_t	 delete_user;
	uint32_t	 mail;			/* a mail method is set */
	uint32_t	 signup;		/* SIGNUP_* */
	char		 base[CERTAOS_MAX_ISSUER + 64];	/* issuer + path */
	size_t		 originlen;	/* of the issuer, in base */
} ac;

static int
authreq_cmp(struct authreq *a, struct authreq *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

RB_GENERATE(authreq_tree, authreq, entry, authreq_cmp)

/*
 * An origin as a browser sends it: lower case, without the scheme's
 * default port.  (The master does the same for trusted-origins.)
 */
static void
origin_normalize(char *o)
{
	size_t	 n;
	char	*p;

	for (p = o; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	n = strlen(o);
	if (strncmp(o, "https://", 8) == 0 && n > 4 &&
	    strcmp(o + n - 4, ":443") == 0)
		o[n - 4] = '\0';
	else if (strncmp(o, "http://", 7) == 0 && n > 3 &&
	    strcmp(o + n - 3, ":80") == 0)
		o[n - 3] = '\0';
}

/*
 * Configuration: the issuer's origin is always trusted.
 */
int
auth_configure(const struct cfg_web *cw)
{
	const char	*p, *q;
	size_t		 n;
	uint32_t	 i;

	memset(&ac, 0, sizeof(ac));
	/* the issuer is in every JWT: a reload may change it */
	auth_jwt_flush();
	(void)strlcpy(ac.prefix, cw->cookie_prefix[0] != '\0' ?
	    cw->cookie_prefix : CERTAOS_COOKIE_PREFIX, sizeof(ac.prefix));
	ac.secure = strncmp(cw->issuer, "https://", 8) == 0;
	ac.lifetime = cw->session_lifetime != 0 ? cw->session_lifetime :
	    CERTAOS_SESSION_LIFETIME;
	ac.pw_min = cw->pw_min != 0 ? cw->pw_min : CERTAOS_PW_MIN;
	ac.pw_max = cw->pw_max != 0 ? cw->pw_max : CERTAOS_PW_MAX;
	ac.fresh = cw->session_fresh;

	/* scheme://host[:port] of the issuer */
	if ((p = strstr(cw->issuer, "://")) == NULL)
		return (-1);
	q = strchr(p + 3, '/');
	n = q != NULL ? (size_t)(q - cw->issuer) : strlen(cw->issuer);
	if (n >= CERTAOS_MAX_ORIGIN)
		return (-1);
	memcpy(ac.origins[0], cw->issuer, n);
	ac.origins[0][n] = '\0';
	origin_normalize(ac.origins[0]);
	ac.norigins = 1;
	ac.verify = cw->verify;
	ac.delete_user = cw->delete_user;
	ac.mail = cw->mail;
	ac.signup = cw->signup;
	(void)snprintf(ac.base, sizeof(ac.base), "%.*s%s", (int)n,
	    cw->issuer, cw->basepath);
	ac.originlen = n;
	for (i = 0; i < cw->norigins && i < CERTAOS_MAX_ORIGINS; i++) {
		if (memchr(cw->origins[i], '\0', CERTAOS_MAX_ORIGIN) == NULL)
			return (-1);
		(void)strlcpy(ac.origins[ac.norigins++], cw->origins[i],
		    CERTAOS_MAX_ORIGIN);
	}
	http_set_cookie_name(ac.prefix, ac.secure);
	return (0);
}

/*
 * Pending requests.
 */

static struct authreq *
authreq_new(struct http_conn *c)
{
	struct authreq	*ar;

	if ((ar = calloc(1, sizeof(*ar))) == NULL)
		fatal("%s", __func__);
	do {
		if (++auth_id == 0)
			auth_id = 1;
		ar->id = auth_id;
	} while (RB_INSERT(authreq_tree, &pending, ar) != NULL);
	ar->c = c;
	ar->route = c->route;
	c->wait_arg = ar;
	http_wait(c, CERTAOS_DB_TIMEOUT + 1, auth_timeout);
	return (ar);
}

static void
authreq_free(struct authreq *ar)
{
	RB_REMOVE(authreq_tree, &pending, ar);
	if (ar->worker > 0)
		worker_busy[ar->worker]--;
	if (ar->c != NULL)
		ar->c->wait_arg = NULL;
	if (ar->list != NULL)
		jout_free(ar->list);
	free(ar->resp);
	free(ar->claims);
	explicit_bzero(ar, sizeof(*ar));
	free(ar);
}

/* The pending request an answer is for, or NULL if its client left. */
static struct authreq *
authreq_take(uint32_t id)
{
	struct authreq	 key, *ar;

	key.id = id;
	if ((ar = RB_FIND(authreq_tree, &pending, &key)) == NULL) {
		log_debug("auth: late answer %u", id);
		return (NULL);
	}
	return (ar);
}

void
auth_cancel(struct http_conn *c)
{
	struct authreq	*ar = c->wait_arg;

	if (ar != NULL) {
		ar->c = NULL;
		authreq_free(ar);
	}
}

static void
auth_unavailable(struct http_conn *c)
{
	auth_fail(c, 503, "SERVICE_UNAVAILABLE",
	    "The service is unavailable, try again later");
}

static void
auth_timeout(struct http_conn *c)
{
	struct authreq	*ar = c->wait_arg;

	if (ar != NULL)
		authreq_free(ar);
	auth_unavailable(c);
}

/*
 * Answers.
 */

/* {"code": ..., "message": ...} */
static void
auth_fail(struct http_conn *c, int status, const char *code,
    const char *message)
{
	struct json_out	*j;

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "message");
	jout_str(j, message);
	jout_key(j, "code");
	jout_str(j, code);
	jout_obj_close(j);
	auth_respond_json(c, status, AUTH_NOSTORE, j);
}

/* Send a finished JSON document, and free it. */
static void
auth_respond_json(struct http_conn *c, int status, const char *hdr,
    struct json_out *j)
{
	const char	*b;
	size_t		 len;

	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	http_respond(c, status, AUTH_CT_JSON, hdr, b, len);
	jout_free(j);
}

static void
auth_cookie_set(char *buf, size_t len, const char *signed_token, int shortlived)
{
	char		 enc[HTTP_MAX_COOKIEVAL];
	const char	*s;
	size_t		 o = 0;

	/* the signature's base64 needs %-encoding of + / = */
	for (s = signed_token; *s != '\0' && o + 4 < sizeof(enc); s++) {
		if (*s == '+' || *s == '/' || *s == '=') {
			(void)snprintf(enc + o, 4, "%%%02X",
			    (unsigned char)*s);
			o += 3;
		} else
			enc[o++] = *s;
	}
	enc[o] = '\0';
	if (shortlived)
		(void)snprintf(buf, len, "Set-Cookie: %s%s.session_token=%s;"
		    " Path=/; HttpOnly; SameSite=Lax%s\r\n",
		    ac.secure ? "__Secure-" : "", ac.prefix, enc,
		    ac.secure ? "; Secure" : "");
	else
		(void)snprintf(buf, len, "Set-Cookie: %s%s.session_token=%s;"
		    " Max-Age=%u; Path=/; HttpOnly; SameSite=Lax%s\r\n",
		    ac.secure ? "__Secure-" : "", ac.prefix, enc, ac.lifetime,
		    ac.secure ? "; Secure" : "");
	explicit_bzero(enc, sizeof(enc));
}

/*
 * Better Auth's dont_remember cookie, set beside a browser-session
 * cookie (rememberMe false) and cleared with it: while it comes back,
 * get-session does not turn the session cookie into a lasting one.
 * Its value is keys' signed "true", fetched once.
 */
static void
auth_cookie_dontrem(char *buf, size_t len)
{
	char		 enc[sizeof(dontrem) * 3];
	const char	*s;
	size_t		 o = 0, n;

	if (dontrem[0] == '\0') {
		log_warnx("no dont_remember cookie yet: keys has not said");
		auth_keys_up();
		return;
	}
	for (s = dontrem; *s != '\0' && o + 4 < sizeof(enc); s++) {
		if (*s == '+' || *s == '/' || *s == '=') {
			(void)snprintf(enc + o, 4, "%%%02X",
			    (unsigned char)*s);
			o += 3;
		} else
			enc[o++] = *s;
	}
	enc[o] = '\0';
	n = strlen(buf);
	(void)snprintf(buf + n, len - n, "Set-Cookie: %s%s.dont_remember=%s;"
	    " Path=/; HttpOnly; SameSite=Lax%s\r\n",
	    ac.secure ? "__Secure-" : "", ac.prefix, enc,
	    ac.secure ? "; Secure" : "");
}

/* A dont_remember cookie as this server set it (%-encoded or not). */
static int
auth_dontrem_valid(struct http_conn *c)
{
	char		 v[sizeof(c->req.dontrem)];
	const char	*s;
	size_t		 o = 0;
	int		 hi, lo;

	if (c->req.dontrem_state != HTTP_F_OK || dontrem[0] == '\0')
		return (0);
	for (s = c->req.dontrem; *s != '\0' && o + 1 < sizeof(v); s++) {
		if (*s == '%' && (hi = hexdigit(s[1])) != -1 &&
		    (lo = hexdigit(s[2])) != -1) {
			v[o++] = (char)(hi << 4 | lo);
			s += 2;
		} else
			v[o++] = *s;
	}
	v[o] = '\0';
	return (strcmp(v, dontrem) == 0);
}

static int
hexdigit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

void
auth_keys_up(void)
{
	struct imsgev	*iev;

	if (dontrem[0] != '\0' || dontrem_asked ||
	    (iev = web_keys()) == NULL)
		return;
	if (imsgev_compose(iev, IMSG_KEYS_DONT_REMEMBER, 0, 0, -1, NULL,
	    0) == -1)
		fatal("%s: compose", __func__);
	dontrem_asked = 1;
}

/* IMSG_KEYS_DONT_REMEMBER_VALUE */
void
auth_keys_dont_remember(struct imsg *imsg)
{
	struct timeval	 tv = { 0, 200000 };
	struct mread	 mr;
	char		 v[sizeof(dontrem)];

	mread_init(&mr, imsg);
	(void)mread_str(&mr, v, sizeof(v));
	if (mread_end(&mr) == -1 || (v[0] != '\0' &&
	    strncmp(v, "true.", 5) != 0))
		fatalx("%s: bad IMSG_KEYS_DONT_REMEMBER_VALUE", __func__);
	dontrem_asked = 0;
	if (v[0] != '\0') {
		(void)strlcpy(dontrem, v, sizeof(dontrem));
		return;
	}
	/* keys has no secret yet (its configuration comes after us) */
	if (!dontrem_timer_set) {
		evtimer_set(&dontrem_timer, auth_dontrem_retry, NULL);
		dontrem_timer_set = 1;
	}
	evtimer_add(&dontrem_timer, &tv);
}

static void
auth_dontrem_retry(int fd, short ev, void *arg)
{
	auth_keys_up();
}

/* the session cookie and Better Auth's two companions */
static void
auth_cookie_clear(char *buf, size_t len)
{
	static const char *const names[] = {
		"session_token", "session_data", "dont_remember"
	};
	const char	*sp = ac.secure ? "__Secure-" : "";
	const char	*sec = ac.secure ? "; Secure" : "";
	size_t		 i, o = 0;
	int		 n;

	buf[0] = '\0';
	for (i = 0; i < nitems(names); i++) {
		n = snprintf(buf + o, len - o, "Set-Cookie: %s%s.%s=;"
		    " Max-Age=0; Path=/; HttpOnly; SameSite=Lax%s\r\n",
		    sp, ac.prefix, names[i], sec);
		if (n < 0 || (size_t)n >= len - o)
			fatalx("%s: too long", __func__);
		o += n;
	}
}

/*
 * get-session without a session: null.  A well-formed token that names
 * no session (any more) also clears the cookies; a badly signed one
 * does not, as Better Auth does.
 */
static void
auth_respond_null(struct authreq *ar, int clear)
{
	char	 hdr[1024];

	hdr[0] = '\0';
	if (clear)
		auth_cookie_clear(hdr, sizeof(hdr));
	(void)strlcat(hdr, AUTH_NOSTORE, sizeof(hdr));
	http_respond(ar->c, 200, AUTH_CT_JSON, hdr, "null", 4);
}

static void
auth_respond_status(struct authreq *ar, int status)
{
	switch (status) {
	case AUTH_UNAVAILABLE:
		auth_unavailable(ar->c);
		break;
	case AUTH_BAD_CREDENTIALS:
		auth_fail(ar->c, 401, "INVALID_EMAIL_OR_PASSWORD",
		    "Invalid email or password");
		break;
	case AUTH_USER_EXISTS:
		auth_fail(ar->c, 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
		    "User already exists. Use another email.");
		break;
	case AUTH_BANNED:
		auth_fail(ar->c, 403, "BANNED_USER",
		    "You have been banned from this application");
		break;
	case AUTH_BAD_PASSWORD:
		auth_fail(ar->c, 400, "INVALID_PASSWORD", "Invalid password");
		break;
	case AUTH_NOT_VERIFIED:
		auth_fail(ar->c, 403, "EMAIL_NOT_VERIFIED",
		    "Email not verified");
		break;
	case AUTH_INVITE_REQUIRED:
		auth_fail(ar->c, 403, "INVITATION_REQUIRED",
		    "Sign-up is by invitation only");
		break;
	default:
		auth_fail(ar->c, 401, "UNAUTHORIZED", "Unauthorized");
		break;
	}
}

/*
 * Sign-up while verification is required: the user and a null token, no
 * cookie (the link in the mail signs in).
 */
static void
auth_signup_pending(struct authreq *ar, const struct auth_rec *rec)
{
	struct json_out	*j;

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "token");
	jout_null(j);
	jout_key(j, "user");
	authrec_json_user(j, &rec->u);
	jout_obj_close(j);
	auth_respond_json(ar->c, 200, AUTH_NOSTORE, j);
}

/* sign-out always ends signed out, whatever the token was */
static void
auth_signed_out(struct http_conn *c)
{
	char	 hdr[1024];

	auth_cookie_clear(hdr, sizeof(hdr));
	(void)strlcat(hdr, AUTH_NOSTORE, sizeof(hdr));
	http_respond(c, 200, AUTH_CT_JSON, hdr, "{\"success\":true}", 16);
}

/* IMSG_KEYS_AUTH: the outcome of a sign-up, a sign-in or a bad token. */
void
auth_keys_answer(struct imsg *imsg)
{
	static struct auth_rec	 rec;
	struct mread		 mr;
	struct authreq		*ar;
	struct json_out		*j;
	char			 stoken[CERTAOS_MAX_CTOKEN + 1];
	char			 hdr[1024], cookie[512];
	const char		*b, *dot;
	size_t			 len;
	int32_t			 status;

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	(void)mread_str(&mr, stoken, sizeof(stoken));
	if ((status == AUTH_OK || status == AUTH_PENDING_VERIFY) &&
	    authrec_read(&mr, &rec) == -1)
		fatalx("%s: bad record in IMSG_KEYS_AUTH", __func__);
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX ||
	    (status == AUTH_OK) != (stoken[0] != '\0'))
		fatalx("%s: bad IMSG_KEYS_AUTH", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		goto done;

	if (AUTH_ROUTE_MANAGE(ar->route) || AUTH_ROUTE_ACCOUNTS(ar->route) ||
	    ar->route == ROUTE_TOKEN) {
		if (status == AUTH_UNAVAILABLE)
			auth_respond_status(ar, status);
		else
			auth_unauthorized(ar->c);
		authreq_free(ar);
		goto done;
	}
	if (ar->route == ROUTE_GET_SESSION || ar->route == ROUTE_SIGN_OUT) {
		/* keys refused the token: there is no such session */
		if (ar->route == ROUTE_GET_SESSION)
			auth_respond_null(ar, 0);
		else
			auth_signed_out(ar->c);
		authreq_free(ar);
		goto done;
	}
	if (ar->route == ROUTE_CHANGE_PASSWORD && (status == AUTH_NO_SESSION ||
	    status == AUTH_BAD_TOKEN)) {
		auth_unauthorized(ar->c);
		authreq_free(ar);
		goto done;
	}
	if (status == AUTH_PENDING_VERIFY && ar->route == ROUTE_SIGN_UP) {
		auth_signup_pending(ar, &rec);
		authreq_free(ar);
		goto done;
	}
	if (status != AUTH_OK) {
		auth_respond_status(ar, status);
		authreq_free(ar);
		goto done;
	}
	if ((dot = strchr(stoken, '.')) == NULL ||
	    dot - stoken != CERTAOS_TOKEN_LEN)
		fatalx("%s: keys sent a malformed token", __func__);

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	if (ar->route == ROUTE_SIGN_IN) {
		jout_key(j, "redirect");
		jout_bool(j, ar->has_url && ar->url[0] != '\0');
	}
	jout_key(j, "token");
	if (ar->route == ROUTE_CHANGE_PASSWORD && !ar->revoke)
		jout_null(j);
	else
		jout_strn(j, stoken, CERTAOS_TOKEN_LEN);
	if (ar->route == ROUTE_SIGN_IN && ar->has_url) {
		jout_key(j, "url");
		jout_str(j, ar->url);
	}
	jout_key(j, "user");
	authrec_json_user(j, &rec.u);
	jout_obj_close(j);
	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	auth_cookie_set(cookie, sizeof(cookie), stoken, ar->shortlived);
	if (ar->shortlived)
		auth_cookie_dontrem(cookie, sizeof(cookie));
	if (ar->route == ROUTE_CHANGE_PASSWORD && !ar->revoke)
		(void)strlcpy(hdr, AUTH_NOSTORE, sizeof(hdr));
	else
		(void)snprintf(hdr, sizeof(hdr), "%sset-auth-token: %s\r\n"
		    "Access-Control-Expose-Headers: set-auth-token\r\n"
		    AUTH_NOSTORE, cookie, stoken);
	http_respond(ar->c, 200, AUTH_CT_JSON, hdr, b, len);
	jout_free(j);
	authreq_free(ar);
 done:
	explicit_bzero(stoken, sizeof(stoken));
	explicit_bzero(hdr, sizeof(hdr));
	explicit_bzero(cookie, sizeof(cookie));
}

static void
auth_unauthorized(struct http_conn *c)
{
	auth_fail(c, 401, "UNAUTHORIZED", "Unauthorized");
}

/*
 * IMSG_DB_SESSION_ROW: one of the user's sessions, for list-sessions.
 * The asking session shows its token; the others a handle (their id)
 * that revoke-session takes: their tokens exist only as hashes.
 */
void
auth_db_row(struct imsg *imsg)
{
	static struct auth_session	 s;
	struct mread			 mr;
	struct authreq			*ar;
	uint32_t			 current;

	mread_init(&mr, imsg);
	if (authrec_read_session(&mr, &s) == -1)
		fatalx("%s: bad IMSG_DB_SESSION_ROW", __func__);
	current = mread_u32(&mr);
	if (mread_end(&mr) == -1 || current > 1)
		fatalx("%s: bad IMSG_DB_SESSION_ROW", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		return;
	if (ar->route != ROUTE_LIST_SESSIONS)
		fatalx("%s: a row for a request that lists nothing", __func__);
	if (ar->list == NULL) {
		if ((ar->list = jout_new()) == NULL)
			fatal("%s", __func__);
		jout_arr_open(ar->list);
	}
	authrec_json_session(ar->list, &s, current ? ar->token : s.id);
	if (current)
		ar->created = s.created;
}

/*
 * Better Auth's freshSessionMiddleware: what needs a recent sign-in
 * refuses a session created fresh-age or longer ago (403
 * SESSION_NOT_FRESH, see auth_not_fresh()).  1 if fresh enough.
 */
int
auth_session_fresh(const struct auth_rec *rec)
{
	return (auth_created_fresh(rec->s.created));
}

static int
auth_created_fresh(uint64_t created)
{
	struct timespec	 ts;
	uint64_t	 now;

	if (ac.fresh == 0)
		return (1);
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return (now < created || now - created < (uint64_t)ac.fresh * 1000);
}

void
auth_not_fresh(struct http_conn *c)
{
	auth_fail(c, 403, "SESSION_NOT_FRESH", "Session is not fresh");
}

/* A listing's answer that is no listing: 1 if it answered. */
static int
auth_list_refused(struct authreq *ar, int status)
{
	if (status == AUTH_UNAVAILABLE)
		auth_respond_status(ar, status);
	else if (status != AUTH_OK)
		auth_unauthorized(ar->c);
	else
		return (0);
	return (1);
}

/* The JSON array the rows made (an empty one if none came). */
static void
auth_list_respond(struct authreq *ar)
{
	const char	*b;
	size_t		 len;

	if (ar->list == NULL) {
		if ((ar->list = jout_new()) == NULL)
			fatal("%s", __func__);
		jout_arr_open(ar->list);
	}
	jout_arr_close(ar->list);
	if ((b = jout_buf(ar->list, &len)) == NULL)
		fatalx("%s: json", __func__);
	http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE, b, len);
}

/* The end of list-sessions or of a revoke. */
static void
auth_manage_done(struct authreq *ar, int status)
{
	if (auth_list_refused(ar, status))
		return;
	if (ar->route != ROUTE_LIST_SESSIONS) {
		/* revokes and update-user */
		http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
		    "{\"status\":true}", 15);
		return;
	}
	if (!auth_created_fresh(ar->created)) {
		auth_not_fresh(ar->c);
		return;
	}
	auth_list_respond(ar);
}

/*
 * /token: a JWT of the session's user, as Better Auth's jwt plugin makes
 * it (the user's members, sub, iat, exp 15 minutes on, iss and aud the
 * issuer's origin), signed RS256 by keys with its current key.
 */
#define AUTH_JWT_LIFETIME	900

static void
auth_jwt_sign(struct authreq *ar, const struct auth_rec *rec)
{
	struct json_out	*j;
	struct imsgev	*iev;
	const char	*b;
	size_t		 len;
	time_t		 now = time(NULL);

	if ((iev = web_keys()) == NULL) {
		if (ar->route == ROUTE_GET_SESSION)
			auth_session_respond(ar, NULL);
		else
			auth_unavailable(ar->c);
		authreq_free(ar);
		return;
	}
	ar->jwt_exp = now + AUTH_JWT_LIFETIME;
	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "iat");
	jout_int(j, (long long)now);
	authrec_json_user_members(j, &rec->u);
	jout_key(j, "sub");
	jout_str(j, rec->u.id);
	jout_key(j, "exp");
	jout_int(j, (long long)now + AUTH_JWT_LIFETIME);
	jout_key(j, "iss");
	jout_str(j, ac.origins[0]);
	jout_key(j, "aud");
	jout_str(j, ac.origins[0]);
	jout_obj_close(j);
	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	mbuf_init(&auth_mb);
	mbuf_str(&auth_mb, "RS256");
	mbuf_str(&auth_mb, "");
	mbuf_bytes(&auth_mb, b, len);
	jout_free(j);
	auth_keys_send(iev, IMSG_KEYS_SIGN, ar->id);
}

void
auth_keys_signed(struct imsg *imsg)
{
	static char	 jws[MAX_IMSGSIZE];
	struct mread	 mr;
	struct authreq	*ar;
	struct json_out	*j;
	const char	*b;
	size_t		 len;

	mread_init(&mr, imsg);
	(void)mread_str(&mr, jws, sizeof(jws));
	if (mread_end(&mr) == -1 || jws[0] == '\0')
		fatalx("%s: bad IMSG_KEYS_SIGNED", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		return;
	if (ar->route == ROUTE_GET_SESSION && ar->resp != NULL &&
	    ar->claims != NULL) {
		jwt_store(ar->sid, ar->claims, ar->claimslen, jws, ar->jwt_exp);
		auth_session_respond(ar, jws);
		authreq_free(ar);
		return;
	}
	if (ar->route != ROUTE_TOKEN)
		fatalx("%s: a signature nobody asked for", __func__);
	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "token");
	jout_str(j, jws);
	jout_obj_close(j);
	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE, b, len);
	jout_free(j);
	authreq_free(ar);
}

int
auth_keys_error(struct imsg *imsg, const char *why)
{
	struct authreq	*ar, key;

	key.id = imsg_get_id(imsg);
	if ((ar = RB_FIND(authreq_tree, &pending, &key)) == NULL)
		return (0);
	/* a session without its JWT rather than none */
	if (ar->route == ROUTE_GET_SESSION && ar->resp != NULL)
		auth_session_respond(ar, NULL);
	else
		auth_unavailable(ar->c);
	authreq_free(ar);
	return (1);
}

/* IMSG_DB_SESSION_INFO: a looked-up or deleted session. */
void
auth_db_answer(struct imsg *imsg)
{
	static struct auth_rec	 rec;
	struct mread		 mr;
	struct authreq		*ar;
	int32_t			 status;

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	if (status == AUTH_OK && authrec_read(&mr, &rec) == -1)
		fatalx("%s: bad record in IMSG_DB_SESSION_INFO", __func__);
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX)
		fatalx("%s: bad IMSG_DB_SESSION_INFO", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		return;

	if (AUTH_ROUTE_MANAGE(ar->route)) {
		auth_manage_done(ar, status);
		authreq_free(ar);
		return;
	}
	if (AUTH_ROUTE_ACCOUNTS(ar->route)) {
		auth_accounts_done(ar, status);
		authreq_free(ar);
		return;
	}
	if (ar->route == ROUTE_SIGN_OUT) {
		if (status == AUTH_UNAVAILABLE)
			auth_respond_status(ar, status);
		else
			auth_signed_out(ar->c);
		authreq_free(ar);
		return;
	}
	if (status == AUTH_UNAVAILABLE) {
		auth_respond_status(ar, status);
		authreq_free(ar);
		return;
	}
	if (status != AUTH_OK && ar->route == ROUTE_TOKEN) {
		auth_unauthorized(ar->c);
		authreq_free(ar);
		return;
	}
	if (status != AUTH_OK) {
		auth_respond_null(ar, 1);
		authreq_free(ar);
		return;
	}
	if (ar->route == ROUTE_TOKEN) {
		auth_jwt_sign(ar, &rec);
		return;
	}
	if (ar->route != ROUTE_GET_SESSION) {
		auth_session_answer(ar, &rec, NULL);
		authreq_free(ar);
		return;
	}
	auth_session_jwt(ar, &rec);
}

/*
 * The JWTs of get-session (Better Auth's jwt plugin sets set-auth-jwt
 * on every one).  Signing costs keys about a millisecond, so each web
 * worker keeps the last JWT of each session: a direct-mapped table by
 * session id, an entry good while the user's members it was made of
 * are unchanged and it is more than AUTH_JWT_MARGIN s from expiring.
 * A hit answers from here, the get-session chain stays web -> keys ->
 * db -> web; a miss asks keys to sign, once.
 */
#define AUTH_JWT_CACHE		1024	/* entries per web worker */
#define AUTH_JWT_MARGIN		60	/* s */

struct jwt_entry {
	char		 sid[CERTAOS_MAX_ID + 1];
	char		*claims;
	size_t		 claimslen;
	char		*jwt;
	time_t		 exp;
};

static struct jwt_entry	 jwt_cache[AUTH_JWT_CACHE];

static struct jwt_entry *
jwt_slot(const char *sid)
{
	uint32_t	 h = 2166136261U;

	for (; *sid != '\0'; sid++)
		h = (h ^ (unsigned char)*sid) * 16777619U;
	return (&jwt_cache[h % AUTH_JWT_CACHE]);
}

static const char *
jwt_lookup(const char *sid, const char *claims, size_t claimslen)
{
	struct jwt_entry	*e = jwt_slot(sid);

	if (e->jwt == NULL || strcmp(e->sid, sid) != 0 ||
	    e->claimslen != claimslen ||
	    memcmp(e->claims, claims, claimslen) != 0 ||
	    time(NULL) >= e->exp - AUTH_JWT_MARGIN)
		return (NULL);
	return (e->jwt);
}

static void
jwt_store(const char *sid, const char *claims, size_t claimslen,
    const char *jwt, time_t exp)
{
	struct jwt_entry	*e = jwt_slot(sid);

	free(e->claims);
	free(e->jwt);
	memset(e, 0, sizeof(*e));
	if ((e->claims = malloc(claimslen)) == NULL ||
	    (e->jwt = strdup(jwt)) == NULL)
		fatal("%s", __func__);
	memcpy(e->claims, claims, claimslen);
	e->claimslen = claimslen;
	(void)strlcpy(e->sid, sid, sizeof(e->sid));
	e->exp = exp;
}

void
auth_jwt_flush(void)
{
	size_t	 i;

	for (i = 0; i < nitems(jwt_cache); i++) {
		free(jwt_cache[i].claims);
		free(jwt_cache[i].jwt);
		memset(&jwt_cache[i], 0, sizeof(jwt_cache[i]));
	}
}

/* {"session", "user"} with the user's members as given */
static void
auth_session_body(struct authreq *ar, const struct auth_rec *rec,
    const char *claims, size_t claimslen)
{
	struct json_out	*j;
	const char	*b;
	size_t		 len;

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "session");
	authrec_json_session(j, &rec->s, ar->token);
	jout_key(j, "user");
	if (claims != NULL) {
		/* "{" members "}": the user object, already written */
		jout_raw(j, claims, claimslen);
	} else
		authrec_json_user(j, &rec->u);
	jout_obj_close(j);
	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	free(ar->resp);
	if ((ar->resp = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(ar->resp, b, len);
	ar->resplen = len;
	jout_free(j);
}

/* The answer of a get-session (with its JWT if there is one). */
static void
auth_session_respond(struct authreq *ar, const char *jwt)
{
	char	 hdr[CERTAOS_MAX_JWS_INPUT + 1024];
	char	 cookie[512];
	int	 renew;

	/*
	 * A slid session gets its cookie again, lasting, with
	 * set-auth-token, as Better Auth does; not while dont_remember
	 * says it is a browser-session one, and not for a raw bearer
	 * token, which web cannot sign.
	 */
	renew = ar->renewed && !ar->dontrem && ar->stoken[0] != '\0';
	cookie[0] = '\0';
	if (renew)
		auth_cookie_set(cookie, sizeof(cookie), ar->stoken, 0);
	(void)snprintf(hdr, sizeof(hdr), "%s%s%s%s%s%s%s"
	    "Access-Control-Expose-Headers: %s\r\n"
	    AUTH_NOSTORE "Pragma: no-cache\r\n", cookie,
	    renew ? "set-auth-token: " : "", renew ? ar->stoken : "",
	    renew ? "\r\n" : "",
	    jwt != NULL ? "set-auth-jwt: " : "", jwt != NULL ? jwt : "",
	    jwt != NULL ? "\r\n" : "",
	    renew && jwt != NULL ? "set-auth-token, set-auth-jwt" :
	    renew ? "set-auth-token" : jwt != NULL ? "set-auth-jwt" : "");
	if (!renew && jwt == NULL)
		(void)strlcpy(hdr, AUTH_NOSTORE "Pragma: no-cache\r\n",
		    sizeof(hdr));
	http_respond(ar->c, 200, AUTH_CT_JSON, hdr, ar->resp, ar->resplen);
	explicit_bzero(cookie, sizeof(cookie));
	explicit_bzero(hdr, sizeof(hdr));
}

/*
 * Did this get-session slide the expiry?  db renews in the lookup and
 * says nothing of it; a renewal leaves updated_at at the time of the
 * query, later than the creation.  One that happened a moment ago for
 * another request counts too: the cookie is then sent twice, which
 * changes nothing.
 */
#define AUTH_RENEW_WINDOW	5000	/* ms */

static int
auth_renewed(const struct auth_session *s)
{
	struct timespec	 ts;
	uint64_t	 now;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return (s->updated > s->created + 1000 &&
	    s->updated + AUTH_RENEW_WINDOW > now);
}

static void
auth_session_answer(struct authreq *ar, const struct auth_rec *rec,
    const char *jwt)
{
	ar->renewed = auth_renewed(&rec->s);
	auth_session_body(ar, rec, NULL, 0);
	auth_session_respond(ar, jwt);
}

static void
auth_session_jwt(struct authreq *ar, const struct auth_rec *rec)
{
	struct json_out	*j;
	const char	*b, *jwt;
	size_t		 len;

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	authrec_json_user(j, &rec->u);
	if ((b = jout_buf(j, &len)) == NULL)
		fatalx("%s: json", __func__);
	ar->renewed = auth_renewed(&rec->s);
	auth_session_body(ar, rec, b, len);
	if ((jwt = jwt_lookup(rec->s.id, b, len)) != NULL) {
		jout_free(j);
		auth_session_respond(ar, jwt);
		authreq_free(ar);
		return;
	}
	if ((ar->claims = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(ar->claims, b, len);
	ar->claimslen = len;
	jout_free(j);
	(void)strlcpy(ar->sid, rec->s.id, sizeof(ar->sid));
	auth_jwt_sign(ar, rec);
}

/*
 * Checks on the request.
 */

/*
 * Bodies are JSON, and for sign-in and sign-up also form-encoded, as
 * Better Auth takes them: 415 for another media type.  No media type at
 * all is a missing body, as Better Auth sees it.  0 for JSON, 1 for a
 * form, -1 once the refusal is answered.
 */
#define AUTH_FORM_OK(r)	((r) == ROUTE_SIGN_UP || (r) == ROUTE_SIGN_IN)
#define AUTH_CT_FORM	"application/x-www-form-urlencoded"

static int
auth_body_type(struct http_conn *c)
{
	char	 msg[200];

	if (c->req.ctype_state == HTTP_F_ABSENT) {
		auth_fail(c, 400, "VALIDATION_ERROR",
		    "[body] Invalid input: expected object, "
		    "received undefined");
		return (-1);
	}
	if (c->req.ctype_state == HTTP_F_OK &&
	    strcmp(c->req.ctype, "application/json") == 0)
		return (0);
	if (c->req.ctype_state == HTTP_F_OK && AUTH_FORM_OK(c->route) &&
	    strcmp(c->req.ctype, AUTH_CT_FORM) == 0)
		return (1);
	(void)snprintf(msg, sizeof(msg), "Content-Type \"%s\" is not "
	    "allowed. Allowed types: %sapplication/json",
	    c->req.ctype_state == HTTP_F_OK ? c->req.ctype : "?",
	    AUTH_FORM_OK(c->route) ? AUTH_CT_FORM ", " : "");
	auth_fail(c, 415, "UNSUPPORTED_MEDIA_TYPE", msg);
	return (-1);
}

static int
auth_json_body(struct http_conn *c)
{
	return (auth_body_type(c) == 0 ? 0 : -1);
}

/*
 * A state-changing request's body: media type, Origin, fields.
 * -1 once the refusal is answered.
 */
static int
auth_parse(struct http_conn *c, const char *body, size_t len,
    struct jfield *f, size_t nf)
{
	char	 err[256];
	int	 form, r;

	if ((form = auth_body_type(c)) == -1 || auth_origin_ok(c) == -1)
		return (-1);
	if (form && len == 0) {
		/* an empty form is no body, as for Better Auth */
		auth_fail(c, 400, "VALIDATION_ERROR",
		    "[body] Invalid input: expected object, "
		    "received undefined");
		return (-1);
	}
	if (form)
		r = form_parse_fields(body, len, f, nf, err, sizeof(err));
	else
		r = json_parse_fields(body, len, f, nf, err, sizeof(err));
	if (r == -1) {
		auth_body_error(c, err);
		return (-1);
	}
	return (0);
}

/*
 * The password policy (length in characters), and keys' bound in
 * bytes.  -1 once the refusal is answered.
 */
static int
auth_pw_policy(struct http_conn *c, const char *pw)
{
	size_t	 n = utf8_len(pw);

	if (n < ac.pw_min) {
		auth_fail(c, 400, "PASSWORD_TOO_SHORT", "Password too short");
		return (-1);
	}
	if (n > ac.pw_max || strlen(pw) > CERTAOS_MAX_PASSWORD) {
		auth_fail(c, 400, "PASSWORD_TOO_LONG", "Password too long");
		return (-1);
	}
	return (0);
}

/* A body json_parse_fields() refused, in Better Auth's words. */
static void
auth_body_error(struct http_conn *c, const char *err)
{
	char		 msg[320];
	const char	*colon;

	if (strcmp(err, "invalid JSON") == 0 ||
	    strcmp(err, "invalid UTF-8") == 0 ||
	    strcmp(err, "nesting too deep") == 0) {
		auth_fail(c, 400, "BAD_REQUEST",
		    "Invalid JSON in request body");
		return;
	}
	if (strcmp(err, "invalid percent-encoding") == 0 ||
	    strcmp(err, "invalid form encoding") == 0) {
		auth_fail(c, 400, "BAD_REQUEST",
		    "Invalid form data in request body");
		return;
	}
	if (strcmp(err, "body must be a JSON object") == 0) {
		auth_fail(c, 400, "VALIDATION_ERROR",
		    "[body] Invalid input: expected object");
		return;
	}
	/* "name: expected a string" -> "[body.name] expected a string" */
	if ((colon = strstr(err, ": ")) != NULL)
		(void)snprintf(msg, sizeof(msg),
		    "[body.%.*s] Invalid input: %s", (int)(colon - err), err,
		    colon + 2);
	else
		(void)snprintf(msg, sizeof(msg), "[body] %s", err);
	auth_fail(c, 400, "VALIDATION_ERROR", msg);
}

static int
origin_trusted(const char *o)
{
	uint32_t	 i;

	for (i = 0; i < ac.norigins; i++)
		if (strcmp(o, ac.origins[i]) == 0)
			return (1);
	return (0);
}

int
auth_origin_trusted(const char *o)
{
	return (origin_trusted(o));
}

/*
 * CSRF: a state-changing request that carries cookies must come from a
 * trusted origin.  A request authenticated by a bearer token carries
 * no ambient credential and is not checked.
 */
static int
auth_origin_ok(struct http_conn *c)
{
	if (c->req.ncookies == 0 || c->req.bearer_state == HTTP_F_OK)
		return (0);
	if (c->req.origin_state != HTTP_F_OK ||
	    strcmp(c->req.origin, "null") == 0) {
		auth_fail(c, 403, "MISSING_OR_NULL_ORIGIN",
		    "Missing or null Origin");
		return (-1);
	}
	if (!origin_trusted(c->req.origin)) {
		auth_fail(c, 403, "INVALID_ORIGIN", "Invalid origin");
		return (-1);
	}
	return (0);
}

/*
 * A callback URL: on a trusted origin, or relative as Better Auth's
 * isSafeRelativeURL has it: "/x", but not "//x", no backslash or control
 * character anywhere, no %2F or %5C before the query (a browser may
 * take any of them for another host).
 */
static int
auth_url_ok(const char *u)
{
	const char	*p;
	size_t		 n;
	uint32_t	 i;
	int		 inpath = 1;

	if (u[0] == '/' && u[1] != '/') {
		for (p = u; *p != '\0'; p++) {
			if (*p == '\\' || (unsigned char)*p < 0x20 ||
			    *p == 0x7f)
				return (0);
			if (*p == '?' || *p == '#')
				inpath = 0;
			if (inpath && p[0] == '%' && (p[1] == '2' ||
			    p[1] == '5') && (p[2] == 'F' || p[2] == 'f' ||
			    p[2] == 'C' || p[2] == 'c') &&
			    (p[1] == '2') == (p[2] == 'F' || p[2] == 'f'))
				return (0);
		}
		return (1);
	}
	for (i = 0; i < ac.norigins; i++) {
		n = strlen(ac.origins[i]);
		p = u + n;
		if (strncmp(u, ac.origins[i], n) == 0 &&
		    (*p == '\0' || *p == '/' || *p == '?' || *p == '#'))
			return (1);
	}
	return (0);
}

/* Characters (code points) of a UTF-8 string. */
static size_t
utf8_len(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/*
 * The session token the request presents: the cookie (signed, %-encoded)
 * or the bearer (raw or signed).  0 if there is one, -1 if none.
 */
static int
auth_presented(struct http_conn *c, char *dst, size_t dstsz, int *cookie)
{
	const char	*s;
	size_t		 o = 0;
	int		 hi, lo;

	*cookie = 0;
	if (c->req.bearer_state == HTTP_F_OK && c->req.bearer[0] != '\0')
		s = c->req.bearer;
	else if (c->req.cookie_state == HTTP_F_OK) {
		s = c->req.cookie;
		*cookie = 1;
	} else
		return (-1);
	/* %-decode: %2B %2F %3D */
	for (; *s != '\0'; s++) {
		if (o + 1 >= dstsz)
			return (-1);
		if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			hi = isdigit((unsigned char)s[1]) ? s[1] - '0' :
			    (tolower((unsigned char)s[1]) - 'a' + 10);
			lo = isdigit((unsigned char)s[2]) ? s[2] - '0' :
			    (tolower((unsigned char)s[2]) - 'a' + 10);
			dst[o++] = (char)(hi << 4 | lo);
			s += 2;
		} else
			dst[o++] = *s;
	}
	dst[o] = '\0';
	if (o == 0 || memchr(dst, '\0', o) != NULL)
		return (-1);
	return (0);
}

/*
 * Handlers.
 */

/* The channel to keys[0], or a 503 answered and NULL. */
static struct imsgev *
auth_keys_peer(struct http_conn *c)
{
	struct imsgev	*iev;

	if ((iev = web_keys()) == NULL)
		auth_unavailable(c);
	return (iev);
}

/*
 * The password worker (keys[1..n]) for a request that hashes, or a 503
 * answered and NULL.  The one with the fewest of this web worker's
 * requests in hand; ties go round, each web worker starting elsewhere,
 * so that two of them do not queue on the same keys while another idles.
 * keys[0] never hashes: the session checks behind it would wait.
 */
static struct imsgev *
auth_worker_peer(struct http_conn *c)
{
	static uint32_t	 turn;
	struct imsgev	*iev, *best = NULL;
	int		 i, n, w;

	for (n = 0; n + 1 < PROC_MAX_INSTANCES &&
	    proc_peer_instance(proc_self, PROC_KEYS, n + 1) != NULL; n++)
		;
	turn++;
	for (i = 0; i < n; i++) {
		w = 1 + (int)((turn + (uint32_t)proc_self->instance + i) % n);
		iev = proc_peer_instance(proc_self, PROC_KEYS, w);
		if (best == NULL || worker_busy[w] < worker_busy[best->instance])
			best = iev;
	}
	if (best == NULL)
		auth_unavailable(c);
	return (best);
}

/* Send what auth_mb holds to a password worker, counting it busy. */
static void
auth_worker_send(struct authreq *ar, struct imsgev *iev, uint32_t type)
{
	ar->worker = iev->instance;
	worker_busy[ar->worker]++;
	auth_keys_send(iev, type, ar->id);
}

/* Send what auth_mb holds, then wipe it: it may hold a secret. */
static void
auth_keys_send(struct imsgev *iev, uint32_t type, uint32_t id)
{
	if (mbuf_compose(&auth_mb, &iev->ibuf, type, id) == -1)
		fatalx("%s: compose", __func__);
	imsgev_add(iev);
	mbuf_clear(&auth_mb);
}

/* A callbackURL that is neither relative nor trusted: 403 answered. */
static int
auth_callback_bad(struct http_conn *c, int present, const char *cb)
{
	if (!present || auth_url_ok(cb))
		return (0);
	auth_fail(c, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL");
	return (1);
}

static void
auth_signup(struct http_conn *c, const char *body, size_t len)
{
	static char	 name[CERTAOS_MAX_NAME + 1];
	static char	 email[CERTAOS_MAX_EMAIL + 1];
	static char	 image[CERTAOS_MAX_IMAGE + 1];
	static char	 cb[CERTAOS_MAX_IMAGE + 1];
	char		 password[CERTAOS_MAX_PASSWORD * 4 + 1];
	char		 invite[CERTAOS_MAX_CTOKEN + 1];
	int		 remember = 1;
	struct jfield	 f[] = {
		{ "name", JT_STRING, 1, name, sizeof(name), 0 },
		{ "email", JT_STRING, 1, email, sizeof(email), 0 },
		{ "password", JT_STRING, 1, password, sizeof(password), 0 },
		{ "image", JT_STRING, 0, image, sizeof(image), 0 },
		{ "callbackURL", JT_STRING, 0, cb, sizeof(cb), 0 },
		{ "rememberMe", JT_BOOL, 0, &remember, sizeof(remember), 0 },
		/* an invitation link's token (certaosctl user invite) */
		{ "invite", JT_STRING, 0, invite, sizeof(invite), 0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;
	struct mbuf	*mb = &auth_mb;

	invite[0] = '\0';
	if (ac.signup == SIGNUP_CLOSED) {
		auth_fail(c, 400, "EMAIL_PASSWORD_SIGN_UP_DISABLED",
		    "Email and password sign up is not enabled");
		goto done;
	}
	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		goto done;
	if (email_normalize(email) == -1) {
		auth_fail(c, 400, "VALIDATION_ERROR",
		    "[body.email] Invalid email address");
		goto done;
	}
	if (password[0] == '\0') {
		auth_fail(c, 400, "VALIDATION_ERROR", "[body.password] Too "
		    "small: expected string to have >=1 characters");
		goto done;
	}
	if (auth_pw_policy(c, password) == -1)
		goto done;
	if (auth_callback_bad(c, f[4].present, cb))
		goto done;
	if ((iev = auth_worker_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	ar->shortlived = !remember;
	mbuf_init(mb);
	mbuf_u32(mb, remember ? 0 : AUTH_F_SHORT);
	mbuf_str(mb, email);
	mbuf_str(mb, name);
	mbuf_nstr(mb, f[3].present, image);
	mbuf_bytes(mb, password, strlen(password));
	mbuf_str(mb, http_client_ip(c));
	mbuf_str(mb, c->req.ua);
	mbuf_str(mb, f[4].present ? cb : "");
	mbuf_str(mb, f[6].present ? invite : "");
	auth_worker_send(ar, iev, IMSG_KEYS_SIGNUP);
 done:
	explicit_bzero(password, sizeof(password));
	explicit_bzero(invite, sizeof(invite));
}

static void
auth_signin(struct http_conn *c, const char *body, size_t len)
{
	static char	 email[CERTAOS_MAX_EMAIL + 1];
	static char	 cb[CERTAOS_MAX_IMAGE + 1];
	char		 password[CERTAOS_MAX_PASSWORD * 4 + 1];
	int		 remember = 1;
	struct jfield	 f[] = {
		{ "email", JT_STRING, 1, email, sizeof(email), 0 },
		{ "password", JT_STRING, 1, password, sizeof(password), 0 },
		{ "callbackURL", JT_STRING, 0, cb, sizeof(cb), 0 },
		{ "rememberMe", JT_BOOL, 0, &remember, sizeof(remember), 0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;
	struct mbuf	*mb = &auth_mb;

	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		goto done;
	if (email_normalize(email) == -1) {
		auth_fail(c, 400, "INVALID_EMAIL", "Invalid email");
		goto done;
	}
	if (auth_callback_bad(c, f[2].present, cb))
		goto done;
	/* Longer than any stored password could be: no hashing needed. */
	if (strlen(password) > CERTAOS_MAX_PASSWORD ||
	    utf8_len(password) > ac.pw_max) {
		auth_fail(c, 401, "INVALID_EMAIL_OR_PASSWORD",
		    "Invalid email or password");
		goto done;
	}
	if ((iev = auth_worker_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	ar->shortlived = !remember;
	ar->has_url = f[2].present;
	(void)strlcpy(ar->url, cb, sizeof(ar->url));
	mbuf_init(mb);
	mbuf_u32(mb, remember ? 0 : AUTH_F_SHORT);
	mbuf_str(mb, email);
	mbuf_bytes(mb, password, strlen(password));
	mbuf_str(mb, http_client_ip(c));
	mbuf_str(mb, c->req.ua);
	auth_worker_send(ar, iev, IMSG_KEYS_SIGNIN);
 done:
	explicit_bzero(password, sizeof(password));
}

/* get-session (AUTH_OP_GET) and sign-out (AUTH_OP_DELETE) */
static void
auth_session(struct http_conn *c, int op)
{
	struct authreq	*ar;
	struct imsgev	*iev;
	struct mbuf	*mb = &auth_mb;
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	int		 cookie;

	if (op == AUTH_OP_DELETE && auth_origin_ok(c) == -1)
		return;
	if (auth_presented(c, tok, sizeof(tok), &cookie) == -1) {
		if (c->route == ROUTE_TOKEN)
			auth_unauthorized(c);
		else if (op == AUTH_OP_GET)
			http_respond(c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
			    "null", 4);
		else
			auth_signed_out(c);
		goto done;
	}
	if ((iev = auth_keys_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	ar->from_cookie = cookie;
	(void)strlcpy(ar->token, tok, sizeof(ar->token));
	if (c->route == ROUTE_GET_SESSION && strchr(tok, '.') != NULL) {
		(void)strlcpy(ar->stoken, tok, sizeof(ar->stoken));
		ar->dontrem = auth_dontrem_valid(c);
	}
	mbuf_init(mb);
	mbuf_u32(mb, cookie ? AUTH_F_SIGNED : 0);
	mbuf_u32(mb, op);
	mbuf_str(mb, tok);
	/* who signs out, for the audit row (get-session carries nothing) */
	if (op == AUTH_OP_DELETE) {
		mbuf_str(mb, http_client_ip(c));
		mbuf_str(mb, c->req.ua);
	}
	auth_keys_send(iev, IMSG_KEYS_SESSION, ar->id);
 done:
	explicit_bzero(tok, sizeof(tok));
}

/* list-sessions, revoke-session, revoke-sessions, revoke-other-sessions */
static void
auth_manage(struct http_conn *c, const char *body, size_t len)
{
	static char	 target[CERTAOS_MAX_CTOKEN + 1];
	struct jfield	 f[] = {
		{ "token", JT_STRING, 1, target, sizeof(target), 0 },
	};
	char		 err[256];
	uint32_t	 op;

	target[0] = '\0';
	if (c->route != ROUTE_LIST_SESSIONS && auth_origin_ok(c) == -1)
		return;
	switch (c->route) {
	case ROUTE_LIST_SESSIONS:
		op = AUTH_OP_LIST;
		break;
	case ROUTE_REVOKE_SESSION:
		op = AUTH_OP_REVOKE;
		if (auth_json_body(c) == -1)
			return;
		if (json_parse_fields(body, len, f, nitems(f), err,
		    sizeof(err)) == -1) {
			auth_body_error(c, err);
			return;
		}
		break;
	case ROUTE_REVOKE_SESSIONS:
		op = AUTH_OP_REVOKE_ALL;
		break;
	default:
		op = AUTH_OP_REVOKE_OTHERS;
		break;
	}
	(void)auth_session_op(c, op, target);
	explicit_bzero(target, sizeof(target));
}

/*
 * IMSG_KEYS_SESSION_OP for the presented session (target: a token or
 * handle, or ""): the request waiting for it, or NULL when answered
 * already (no session, keys down).
 */
static struct authreq *
auth_session_op(struct http_conn *c, uint32_t op, const char *target)
{
	struct authreq	*ar = NULL;
	struct imsgev	*iev;
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	int		 cookie;

	if (auth_presented(c, tok, sizeof(tok), &cookie) == -1) {
		auth_unauthorized(c);
		goto done;
	}
	if ((iev = auth_keys_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	(void)strlcpy(ar->token, tok, sizeof(ar->token));
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, cookie ? AUTH_F_SIGNED : 0);
	mbuf_u32(&auth_mb, op);
	mbuf_str(&auth_mb, tok);
	mbuf_str(&auth_mb, target);
	mbuf_str(&auth_mb, http_client_ip(c));
	mbuf_str(&auth_mb, c->req.ua);
	auth_keys_send(iev, IMSG_KEYS_SESSION_OP, ar->id);
 done:
	explicit_bzero(tok, sizeof(tok));
	return (ar);
}

/* update-user {name?, image?}: the email changes elsewhere */
static void
auth_update_user(struct http_conn *c, const char *body, size_t len)
{
	static char	 name[CERTAOS_MAX_NAME + 1];
	static char	 image[CERTAOS_MAX_IMAGE + 1];
	static char	 email[CERTAOS_MAX_EMAIL + 1];
	struct jfield	 f[] = {
		{ "name", JT_STRING, 0, name, sizeof(name), 0 },
		{ "image", JT_NSTRING, 0, image, sizeof(image), 0 },
		{ "email", JT_ANY, 0, email, sizeof(email), 0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	uint32_t	 mask = 0;
	int		 cookie;

	name[0] = image[0] = '\0';
	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		return;
	if (f[2].present) {
		auth_fail(c, 400, "EMAIL_CAN_NOT_BE_UPDATED",
		    "Email can not be updated");
		return;
	}
	if (f[0].present)
		mask |= USER_F_NAME;
	if (f[1].present)
		mask |= USER_F_IMAGE;
	if (mask == 0) {
		auth_fail(c, 400, "NO_FIELDS_TO_UPDATE",
		    "No fields to update");
		return;
	}
	if (auth_presented(c, tok, sizeof(tok), &cookie) == -1) {
		auth_unauthorized(c);
		goto done;
	}
	if ((iev = auth_keys_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, cookie ? AUTH_F_SIGNED : 0);
	mbuf_str(&auth_mb, tok);
	mbuf_u32(&auth_mb, mask);
	mbuf_str(&auth_mb, name);
	mbuf_nstr(&auth_mb, f[1].present == 1, image);
	auth_keys_send(iev, IMSG_KEYS_USER_UPDATE, ar->id);
 done:
	explicit_bzero(tok, sizeof(tok));
}

/* change-password {currentPassword, newPassword, revokeOtherSessions?} */
static void
auth_change_password(struct http_conn *c, const char *body, size_t len)
{
	char		 cur[CERTAOS_MAX_PASSWORD * 4 + 1];
	char		 npw[CERTAOS_MAX_PASSWORD * 4 + 1];
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	int		 revoke = 0, cookie;
	struct jfield	 f[] = {
		{ "currentPassword", JT_STRING, 1, cur, sizeof(cur), 0 },
		{ "newPassword", JT_STRING, 1, npw, sizeof(npw), 0 },
		{ "revokeOtherSessions", JT_BOOL, 0, &revoke, sizeof(revoke),
		    0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;

	tok[0] = '\0';
	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		goto done;
	if (auth_pw_policy(c, npw) == -1)
		goto done;
	if (auth_presented(c, tok, sizeof(tok), &cookie) == -1) {
		auth_unauthorized(c);
		goto done;
	}
	/* no stored password can be longer: wrong, without hashing */
	if (strlen(cur) > CERTAOS_MAX_PASSWORD) {
		auth_fail(c, 400, "INVALID_PASSWORD", "Invalid password");
		goto done;
	}
	if ((iev = auth_worker_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	ar->revoke = revoke;
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, (cookie ? AUTH_F_SIGNED : 0) |
	    (revoke ? AUTH_F_REVOKE : 0));
	mbuf_str(&auth_mb, tok);
	mbuf_bytes(&auth_mb, cur, strlen(cur));
	mbuf_bytes(&auth_mb, npw, strlen(npw));
	mbuf_str(&auth_mb, http_client_ip(c));
	mbuf_str(&auth_mb, c->req.ua);
	auth_worker_send(ar, iev, IMSG_KEYS_PW_CHANGE);
 done:
	explicit_bzero(cur, sizeof(cur));
	explicit_bzero(npw, sizeof(npw));
	explicit_bzero(tok, sizeof(tok));
}

/* verify-password {password}: the session user's password, or not */
static void
auth_verify_password(struct http_conn *c, const char *body, size_t len)
{
	char		 pw[CERTAOS_MAX_PASSWORD * 4 + 1];
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	int		 cookie;
	struct jfield	 f[] = {
		{ "password", JT_STRING, 1, pw, sizeof(pw), 0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;

	tok[0] = '\0';
	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		goto done;
	if (auth_presented(c, tok, sizeof(tok), &cookie) == -1) {
		auth_unauthorized(c);
		goto done;
	}
	if (strlen(pw) > CERTAOS_MAX_PASSWORD) {
		auth_fail(c, 400, "INVALID_PASSWORD", "Invalid password");
		goto done;
	}
	if ((iev = auth_worker_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, cookie ? AUTH_F_SIGNED : 0);
	mbuf_str(&auth_mb, tok);
	mbuf_bytes(&auth_mb, pw, strlen(pw));
	auth_worker_send(ar, iev, IMSG_KEYS_PW_CHECK);
 done:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(tok, sizeof(tok));
}

/* IMSG_KEYS_RESULT: the outcome of a verify-password */
void
auth_keys_result(struct imsg *imsg)
{
	struct mread	 mr;
	struct authreq	*ar;
	int32_t		 status;

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX)
		fatalx("%s: bad IMSG_KEYS_RESULT", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		return;
	if (ar->route != ROUTE_VERIFY_PASSWORD) {
		flow_sent(ar, status);
		authreq_free(ar);
		return;
	}
	if (status == AUTH_OK)
		http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
		    "{\"status\":true}", 15);
	else if (status == AUTH_NO_SESSION || status == AUTH_BAD_TOKEN)
		auth_unauthorized(ar->c);
	else
		auth_respond_status(ar, status);
	authreq_free(ar);
}

/*
 * GET /error: where a flow that failed sends the browser.  A short page
 * of our own, no external resource (the CSP says so), with the error
 * and error_description query parameters HTML-escaped.  200, as Better
 * Auth answers outside production.
 */
#define AUTH_ERR_CODE_MAX	128
#define AUTH_ERR_DESC_MAX	512
#define AUTH_HTML_HDR	"Cache-Control: no-store\r\n" \
			"Content-Security-Policy: default-src 'none'; " \
			"style-src 'unsafe-inline'; frame-ancestors 'none'\r\n" \
			"Referrer-Policy: no-referrer\r\n"

static void
html_escape(char *dst, size_t dstsz, const char *s)
{
	const char	*r;
	size_t		 o = 0, n;
	char		 one[2];

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			r = "&amp;";
			break;
		case '<':
			r = "&lt;";
			break;
		case '>':
			r = "&gt;";
			break;
		case '"':
			r = "&quot;";
			break;
		case '\'':
			r = "&#39;";
			break;
		default:
			one[0] = *s;
			one[1] = '\0';
			r = one;
			break;
		}
		n = strlen(r);
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, r, n);
		o += n;
	}
	dst[o] = '\0';
}

static void
auth_error_page(struct http_conn *c)
{
	static char	 code[AUTH_ERR_CODE_MAX + 1];
	static char	 desc[AUTH_ERR_DESC_MAX + 1];
	static char	 ecode[AUTH_ERR_CODE_MAX * 6 + 1];
	static char	 edesc[AUTH_ERR_DESC_MAX * 6 + 1];
	static char	 page[sizeof(ecode) + sizeof(edesc) + 1024];
	struct jfield	 f[] = {
		{ "error", JT_STRING, 0, code, sizeof(code), 0 },
		{ "error_description", JT_STRING, 0, desc, sizeof(desc), 0 },
	};
	char		 err[128];
	int		 n;

	code[0] = desc[0] = '\0';
	/* a query is form-encoded; one we cannot read shows nothing of it */
	if (c->req.qcopy_state != HTTP_F_ABSENT &&
	    (c->req.qcopy_state != HTTP_F_OK || form_parse_fields(
	    c->req.qcopy, strlen(c->req.qcopy), f, nitems(f), err,
	    sizeof(err)) == -1))
		code[0] = desc[0] = '\0';
	html_escape(ecode, sizeof(ecode), code[0] != '\0' ? code : "unknown");
	html_escape(edesc, sizeof(edesc), desc);
	n = snprintf(page, sizeof(page),
	    "<!DOCTYPE html>\n"
	    "<html lang=\"en\">\n"
	    "<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<title>Sign-in error</title>\n"
	    "<style>body{font-family:system-ui,sans-serif;max-width:32em;"
	    "margin:4em auto;padding:0 1em;color:#222}"
	    "code{background:#f2f2f2;padding:.1em .3em}</style>\n"
	    "</head>\n"
	    "<body>\n"
	    "<h1>That did not work</h1>\n"
	    "<p>The sign-in could not be completed. Go back and try again; "
	    "if it keeps happening, tell the site's administrator the "
	    "error below.</p>\n"
	    "<p>Error: <code id=\"error\">%s</code></p>\n"
	    "%s%s%s"
	    "</body>\n"
	    "</html>\n", ecode,
	    edesc[0] != '\0' ? "<p id=\"error_description\">" : "", edesc,
	    edesc[0] != '\0' ? "</p>\n" : "");
	if (n < 0 || (size_t)n >= sizeof(page))
		fatalx("%s: page too long", __func__);
	http_respond(c, 200, "text/html; charset=utf-8", AUTH_HTML_HDR, page,
	    n);
}

/*
 * list-accounts and account-info: the session user's accounts, as db
 * lists them (never a password hash or a provider's token).
 * account-info asks a linked provider about the account named by its
 * id; with no social provider configured, an account of the user's is
 * PROVIDER_NOT_CONFIGURED (the credential one always is, as in Better
 * Auth), another ACCOUNT_NOT_FOUND.
 */
static void
auth_accounts(struct http_conn *c)
{
	static char	 account[CERTAOS_MAX_ID + 1];
	static char	 uid[CERTAOS_MAX_ID + 1];
	struct jfield	 f[] = {
		{ "accountId", JT_STRING, 1, account, sizeof(account), 0 },
		{ "userId", JT_STRING, 0, uid, sizeof(uid), 0 },
	};
	struct authreq	*ar;
	char		 err[128];

	account[0] = '\0';
	if (c->route == ROUTE_ACCOUNT_INFO &&
	    (c->req.qcopy_state != HTTP_F_OK ||
	    form_parse_fields(c->req.qcopy, strlen(c->req.qcopy), f,
	    nitems(f), err, sizeof(err)) == -1)) {
		auth_fail(c, 400, "VALIDATION_ERROR", "[query] Invalid input");
		return;
	}
	if ((ar = auth_session_op(c, AUTH_OP_ACCOUNTS, "")) != NULL)
		(void)strlcpy(ar->account, account, sizeof(ar->account));
}

/* IMSG_DB_ACCOUNT_ROW: one of the user's accounts. */
void
auth_db_account_row(struct imsg *imsg)
{
	static char	 id[CERTAOS_MAX_ID + 1], aid[CERTAOS_MAX_ACCOUNT + 1];
	static char	 pid[CERTAOS_MAX_PROVIDER + 1], uid[CERTAOS_MAX_ID + 1];
	static char	 scope[CERTAOS_MAX_SCOPE + 1];
	struct mread	 mr;
	struct authreq	*ar;
	uint64_t	 created, updated;
	char		 ts[32];
	char		*p, *s, *e;

	mread_init(&mr, imsg);
	(void)mread_str(&mr, id, sizeof(id));
	(void)mread_str(&mr, aid, sizeof(aid));
	(void)mread_str(&mr, pid, sizeof(pid));
	(void)mread_str(&mr, uid, sizeof(uid));
	created = mread_u64(&mr);
	updated = mread_u64(&mr);
	(void)mread_str(&mr, scope, sizeof(scope));
	if (mread_end(&mr) == -1 || id[0] == '\0' || pid[0] == '\0')
		fatalx("%s: bad IMSG_DB_ACCOUNT_ROW", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		return;
	if (!AUTH_ROUTE_ACCOUNTS(ar->route))
		fatalx("%s: a row for a request that lists nothing", __func__);
	if (ar->route == ROUTE_ACCOUNT_INFO) {
		if (strcmp(id, ar->account) == 0)
			ar->found = 1;
		return;
	}
	if (ar->list == NULL) {
		if ((ar->list = jout_new()) == NULL)
			fatal("%s", __func__);
		jout_arr_open(ar->list);
	}
	jout_obj_open(ar->list);
	jout_key(ar->list, "accountId");
	jout_str(ar->list, aid);
	jout_key(ar->list, "providerId");
	jout_str(ar->list, pid);
	jout_key(ar->list, "userId");
	jout_str(ar->list, uid);
	jout_key(ar->list, "createdAt");
	authrec_time(created, ts, sizeof(ts));
	jout_str(ar->list, ts);
	jout_key(ar->list, "updatedAt");
	authrec_time(updated, ts, sizeof(ts));
	jout_str(ar->list, ts);
	jout_key(ar->list, "id");
	jout_str(ar->list, id);
	/* Better Auth keeps scopes comma-separated */
	jout_key(ar->list, "scopes");
	jout_arr_open(ar->list);
	for (p = scope; (s = strsep(&p, ",")) != NULL;) {
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s != '\0')
			jout_str(ar->list, s);
	}
	jout_arr_close(ar->list);
	jout_obj_close(ar->list);
}

static void
auth_accounts_done(struct authreq *ar, int status)
{
	if (auth_list_refused(ar, status))
		return;
	if (ar->route == ROUTE_ACCOUNT_INFO) {
		if (ar->found)
			auth_fail(ar->c, 400, "PROVIDER_NOT_CONFIGURED",
			    "Account is not associated with a configured "
			    "social provider.");
		else
			auth_fail(ar->c, 400, "ACCOUNT_NOT_FOUND",
			    "Account not found");
		return;
	}
	auth_list_respond(ar);
}

/*
 * Better Auth's origin check of every POST (its originCheckMiddleware):
 * the Origin of a request with cookies, then callbackURL (the body's,
 * else the query's), redirectTo, errorCallbackURL and
 * newUserCallbackURL, in that order, each relative or on a trusted
 * origin, whatever the route reads.  A body of a type the route refuses,
 * or one that does not parse, is left for the route to answer.  1 once
 * refused.
 */
static int
auth_post_refused(struct http_conn *c, const char *body, size_t len)
{
	static const struct {
		const char	*name;
		const char	*label;		/* Better Auth's word */
		const char	*code;
	} u[] = {
		{ "callbackURL", "callbackURL", "INVALID_CALLBACK_URL" },
		{ "redirectTo", "redirectURL", "INVALID_REDIRECT_URL" },
		{ "errorCallbackURL", "errorCallbackURL",
		    "INVALID_ERROR_CALLBACK_URL" },
		{ "newUserCallbackURL", "newUserCallbackURL",
		    "INVALID_NEW_USER_CALLBACK_URL" },
	};
	static char	 v[nitems(u)][CERTAOS_MAX_URL + 1];
	struct jfield	 f[nitems(u)];
	char		 err[256], msg[128];
	size_t		 i, n;
	int		 form, r;

	if (c->req.ctype_state == HTTP_F_ABSENT)
		form = -1;
	else if (c->req.ctype_state == HTTP_F_OK &&
	    strcmp(c->req.ctype, "application/json") == 0)
		form = 0;
	else if (c->req.ctype_state == HTTP_F_OK && AUTH_FORM_OK(c->route) &&
	    strcmp(c->req.ctype, AUTH_CT_FORM) == 0)
		form = 1;
	else
		return (0);		/* the route's 415 */
	if (auth_origin_ok(c) == -1)
		return (1);
	for (i = 0; i < nitems(u); i++) {
		f[i] = (struct jfield){ u[i].name, JT_STRING, 0, v[i],
		    sizeof(v[i]), 0 };
		v[i][0] = '\0';
	}
	r = 0;
	if (form == 1 && len > 0)
		r = form_parse_fields(body, len, f, nitems(f), err,
		    sizeof(err));
	else if (form == 0 && len > 0)
		r = json_parse_fields(body, len, f, nitems(f), err,
		    sizeof(err));
	if (r == -1) {
		for (i = 0; i < nitems(u); i++) {
			n = strlen(u[i].name);
			if (strncmp(err, u[i].name, n) != 0 ||
			    strcmp(err + n, ": expected a string") != 0)
				continue;
			/* no code, as Better Auth */
			n = snprintf(msg, sizeof(msg), "{\"message\":"
			    "\"Invalid %s: expected a string\"}", u[i].label);
			http_respond(c, 400, AUTH_CT_JSON, AUTH_NOSTORE, msg, n);
			return (1);
		}
		return (0);
	}
	if (!f[0].present && query_get(c, "callbackURL", v[0],
	    sizeof(v[0])) == 1)
		f[0].present = 1;
	for (i = 0; i < nitems(u); i++) {
		if (!f[i].present || v[i][0] == '\0' || auth_url_ok(v[i]))
			continue;
		(void)snprintf(msg, sizeof(msg), "Invalid %s", u[i].label);
		auth_fail(c, 403, u[i].code, msg);
		return (1);
	}
	return (0);
}

void
auth_dispatch(struct http_conn *c, const char *body, size_t len)
{
	if (c->req.method == HTTP_M_POST && auth_post_refused(c, body, len))
		return;
	switch (c->route) {
	case ROUTE_SIGN_UP:
		auth_signup(c, body, len);
		break;
	case ROUTE_SIGN_IN:
		auth_signin(c, body, len);
		break;
	case ROUTE_GET_SESSION:
	case ROUTE_TOKEN:
		auth_session(c, AUTH_OP_GET);
		break;
	case ROUTE_SIGN_OUT:
		auth_session(c, AUTH_OP_DELETE);
		break;
	case ROUTE_OK:
		http_respond(c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
		    "{\"ok\":true}", 11);
		break;
	case ROUTE_LIST_SESSIONS:
	case ROUTE_REVOKE_SESSION:
	case ROUTE_REVOKE_SESSIONS:
	case ROUTE_REVOKE_OTHERS:
		auth_manage(c, body, len);
		break;
	case ROUTE_UPDATE_USER:
		auth_update_user(c, body, len);
		break;
	case ROUTE_CHANGE_PASSWORD:
		auth_change_password(c, body, len);
		break;
	case ROUTE_VERIFY_PASSWORD:
		auth_verify_password(c, body, len);
		break;
	case ROUTE_ERROR:
		auth_error_page(c);
		break;
	case ROUTE_LIST_ACCOUNTS:
	case ROUTE_ACCOUNT_INFO:
		auth_accounts(c);
		break;
	case ROUTE_SEND_VERIFICATION:
	case ROUTE_REQUEST_RESET:
	case ROUTE_CHANGE_EMAIL:
		flow_send(c, body, len);
		break;
	case ROUTE_VERIFY_EMAIL:
	case ROUTE_RESET_CALLBACK:
	case ROUTE_RESET_PASSWORD:
	case ROUTE_DELETE_USER:
	case ROUTE_DELETE_CALLBACK:
		flow_use(c, body, len);
		break;
	default:
		http_error(c, 404, NULL);
		break;
	}
}

/*
 * The email flows: verification, password reset, change-email and
 * delete-user.  keys makes the tokens and mails (see its flow.c).
 */

/* No mail method: what Better Auth says when it has no sender */
static void
flow_no_mail(struct http_conn *c, uint32_t kind)
{
	switch (kind) {
	case FLOW_RESET:
		auth_fail(c, 400, "RESET_PASSWORD_DISABLED",
		    "Reset password isn't enabled");
		break;
	case FLOW_CHANGE_EMAIL:
		/* no code, as Better Auth */
		http_respond(c, 400, AUTH_CT_JSON, AUTH_NOSTORE,
		    "{\"message\":\"Verification email isn't enabled\"}",
		    46);
		break;
	default:
		auth_fail(c, 400, "VERIFICATION_EMAIL_NOT_ENABLED",
		    "Verification email isn't enabled");
		break;
	}
}

/* A query parameter, form-decoded: 1 found, 0 not, -1 unreadable */
static int
query_get(struct http_conn *c, const char *name, char *dst, size_t dstsz)
{
	struct jfield	 f[] = {
		{ name, JT_STRING, 0, dst, dstsz, 0 },
	};
	char		 err[128];

	dst[0] = '\0';
	if (c->req.qcopy_state == HTTP_F_ABSENT)
		return (0);
	if (c->req.qcopy_state != HTTP_F_OK ||
	    form_parse_fields(c->req.qcopy, strlen(c->req.qcopy), f,
	    nitems(f), err, sizeof(err)) == -1)
		return (-1);
	return (f[0].present);
}

/* 302 to url, with "error=code" or "token=tok" added to its query */
static void
flow_redirect(struct http_conn *c, const char *url, const char *key,
    const char *val, const char *extra)
{
	char	 hdr[3 * CERTAOS_MAX_URL + 1024];
	char	 abs[CERTAOS_MAX_URL + CERTAOS_MAX_ISSUER + 1];

	/* a relative URL is on the issuer's origin */
	if (url[0] == '/')
		(void)snprintf(abs, sizeof(abs), "%.*s%s", (int)ac.originlen,
		    ac.base, url);
	else
		(void)strlcpy(abs, url, sizeof(abs));
	if (key != NULL)
		(void)snprintf(hdr, sizeof(hdr), "Location: %s%c%s=%s\r\n"
		    "%s" AUTH_NOSTORE, abs, strchr(abs, '?') != NULL ? '&' :
		    '?', key, val, extra);
	else
		(void)snprintf(hdr, sizeof(hdr), "Location: %s\r\n%s"
		    AUTH_NOSTORE, abs, extra);
	http_respond(c, 302, NULL, hdr, NULL, 0);
}

/*
 * send-verification-email {email, callbackURL}, request-password-reset
 * {email, redirectTo}, change-email {newEmail, callbackURL}, and
 * delete-user without a token or password (its confirmation mail).
 */
static void
flow_send(struct http_conn *c, const char *body, size_t len)
{
	static char	 email[CERTAOS_MAX_EMAIL + 1];
	static char	 cb[CERTAOS_MAX_URL + 1];
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	const char	*ename, *cbname;
	struct jfield	 f[2];
	struct authreq	*ar;
	struct imsgev	*iev;
	uint32_t	 kind;
	int		 cookie = 0, has = 0;

	tok[0] = '\0';
	switch (c->route) {
	case ROUTE_SEND_VERIFICATION:
		kind = FLOW_VERIFY;
		ename = "email";
		cbname = "callbackURL";
		break;
	case ROUTE_REQUEST_RESET:
		kind = FLOW_RESET;
		ename = "email";
		cbname = "redirectTo";
		break;
	default:
		kind = FLOW_CHANGE_EMAIL;
		ename = "newEmail";
		cbname = "callbackURL";
		break;
	}
	memset(f, 0, sizeof(f));
	f[0] = (struct jfield){ ename, JT_STRING, 1, email, sizeof(email), 0 };
	f[1] = (struct jfield){ cbname, JT_STRING, 0, cb, sizeof(cb), 0 };
	cb[0] = '\0';
	if (auth_parse(c, body, len, f, nitems(f)) == -1)
		goto done;
	if (email_normalize(email) == -1) {
		auth_fail(c, 400, "VALIDATION_ERROR", kind == FLOW_CHANGE_EMAIL ?
		    "[body.newEmail] Invalid email address" :
		    "[body.email] Invalid email address");
		goto done;
	}
	if (auth_callback_bad(c, f[1].present, cb))
		goto done;
	if (kind != FLOW_RESET)
		has = auth_presented(c, tok, sizeof(tok), &cookie) == 0;
	if (kind == FLOW_CHANGE_EMAIL && !has) {
		auth_unauthorized(c);
		goto done;
	}
	if (!ac.mail) {
		flow_no_mail(c, kind);
		goto done;
	}
	if ((iev = auth_keys_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, kind);
	mbuf_u32(&auth_mb, cookie ? AUTH_F_SIGNED : 0);
	mbuf_str(&auth_mb, has ? tok : "");
	mbuf_str(&auth_mb, email);
	mbuf_str(&auth_mb, cb);
	mbuf_str(&auth_mb, http_client_ip(c));
	mbuf_str(&auth_mb, c->req.ua);
	auth_keys_send(iev, IMSG_KEYS_FLOW_SEND, ar->id);
 done:
	explicit_bzero(tok, sizeof(tok));
}

/* IMSG_KEYS_RESULT of a flow_send() */
static void
flow_sent(struct authreq *ar, int32_t status)
{
	static const char reset_ok[] = "{\"status\":true,\"message\":\"If "
	    "this email exists in our system, check your email for the "
	    "reset link\"}";
	static const char del_ok[] = "{\"success\":true,\"message\":"
	    "\"Verification email sent\"}";

	switch (status) {
	case AUTH_OK:
		if (ar->route == ROUTE_REQUEST_RESET)
			http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
			    reset_ok, sizeof(reset_ok) - 1);
		else if (ar->route == ROUTE_DELETE_USER)
			http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
			    del_ok, sizeof(del_ok) - 1);
		else
			http_respond(ar->c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
			    "{\"status\":true}", 15);
		break;
	case AUTH_EMAIL_MISMATCH:
		auth_fail(ar->c, 400, "EMAIL_MISMATCH", "Email mismatch");
		break;
	case AUTH_ALREADY_VERIFIED:
		auth_fail(ar->c, 400, "EMAIL_ALREADY_VERIFIED",
		    "Email is already verified");
		break;
	case AUTH_NOT_FRESH:
		auth_fail(ar->c, 400, "SESSION_EXPIRED", "Session expired. "
		    "Re-authenticate to perform this action.");
		break;
	case AUTH_SAME_EMAIL:
		/* Better Auth gives this one no code */
		http_respond(ar->c, 400, AUTH_CT_JSON, AUTH_NOSTORE,
		    "{\"message\":\"Email is the same\"}", 31);
		break;
	case AUTH_NO_SESSION:
	case AUTH_BAD_TOKEN:
		auth_unauthorized(ar->c);
		break;
	default:
		auth_respond_status(ar, status);
		break;
	}
}

/*
 * verify-email?token&callbackURL, reset-password/:token?callbackURL,
 * reset-password {newPassword, token}, delete-user {password | token},
 * delete-user/callback?token&callbackURL: a token from a mail spent.
 */
static void
flow_use(struct http_conn *c, const char *body, size_t len)
{
	static char	 cb[CERTAOS_MAX_URL + 1];
	char		 token[CERTAOS_MAX_CTOKEN + 1];
	char		 tok[CERTAOS_MAX_CTOKEN + 1];
	char		 pw[CERTAOS_MAX_PASSWORD * 4 + 1];
	struct jfield	 rf[] = {
		{ "newPassword", JT_STRING, 1, pw, sizeof(pw), 0 },
		{ "token", JT_STRING, 0, token, sizeof(token), 0 },
	};
	struct jfield	 df[] = {
		{ "password", JT_STRING, 0, pw, sizeof(pw), 0 },
		{ "token", JT_STRING, 0, token, sizeof(token), 0 },
		{ "callbackURL", JT_STRING, 0, cb, sizeof(cb), 0 },
	};
	struct authreq	*ar;
	struct imsgev	*iev;
	uint32_t	 kind, flags = 0;
	int		 cookie = 0, has, hascb = 0;
	const char	*seg;
	size_t		 blen;

	token[0] = tok[0] = pw[0] = cb[0] = '\0';
	has = auth_presented(c, tok, sizeof(tok), &cookie) == 0;
	switch (c->route) {
	case ROUTE_VERIFY_EMAIL:
		kind = FLOW_VERIFY;
		if (query_get(c, "token", token, sizeof(token)) != 1 ||
		    (hascb = query_get(c, "callbackURL", cb,
		    sizeof(cb))) == -1) {
			auth_fail(c, 400, "VALIDATION_ERROR",
			    "[query.token] Invalid input: expected string, "
			    "received undefined");
			goto done;
		}
		if (auth_callback_bad(c, hascb, cb))
			goto done;
		if (!ac.mail) {
			flow_no_mail(c, kind);
			goto done;
		}
		/* "token=": no token of ours, and none keys may be sent */
		if (token[0] == '\0') {
			if (hascb && cb[0] != '\0')
				flow_redirect(c, cb, "error", "INVALID_TOKEN",
				    "");
			else
				auth_fail(c, 401, "INVALID_TOKEN",
				    "Invalid token");
			goto done;
		}
		/* no session presented: the link signs in */
		if (!has)
			flags |= AUTH_F_SIGNIN;
		has = 0;
		break;
	case ROUTE_RESET_CALLBACK:
		kind = FLOW_RESET_CHECK;
		blen = strlen(ac.base) - ac.originlen;
		seg = c->req.path + blen + strlen("/reset-password/");
		(void)snprintf(token, sizeof(token), "%.*s",
		    (int)(c->req.pathlen - (seg - c->req.path)), seg);
		if ((hascb = query_get(c, "callbackURL", cb,
		    sizeof(cb))) != 1) {
			auth_fail(c, 400, "VALIDATION_ERROR",
			    "[query.callbackURL] Invalid input: expected "
			    "string, received undefined");
			goto done;
		}
		if (auth_callback_bad(c, hascb, cb))
			goto done;
		/* no place to go: Better Auth's error page */
		if (!hascb || cb[0] == '\0') {
			(void)snprintf(cb, sizeof(cb), "%s/error",
			    ac.base + ac.originlen);
			flow_redirect(c, cb, "error", "INVALID_TOKEN", "");
			goto done;
		}
		has = 0;
		break;
	case ROUTE_RESET_PASSWORD:
		kind = FLOW_RESET;
		if (auth_parse(c, body, len, rf, nitems(rf)) == -1)
			goto done;
		if (auth_pw_policy(c, pw) == -1)
			goto done;
		if (token[0] == '\0' && query_get(c, "token", token,
		    sizeof(token)) != 1)
			token[0] = '\0';
		if (token[0] == '\0') {
			auth_fail(c, 400, "INVALID_TOKEN", "Invalid token");
			goto done;
		}
		has = 0;
		break;
	case ROUTE_DELETE_USER:
		kind = FLOW_DELETE;
		if (!ac.delete_user) {
			http_error(c, 404, NULL);
			goto done;
		}
		if (auth_parse(c, body, len, df, nitems(df)) == -1)
			goto done;
		if (auth_callback_bad(c, df[2].present, cb))
			goto done;
		if (!has) {
			auth_unauthorized(c);
			goto done;
		}
		if (token[0] == '\0' && pw[0] == '\0') {
			/* the confirmation mail */
			if ((iev = auth_keys_peer(c)) == NULL)
				goto done;
			ar = authreq_new(c);
			mbuf_init(&auth_mb);
			mbuf_u32(&auth_mb, FLOW_DELETE);
			mbuf_u32(&auth_mb, cookie ? AUTH_F_SIGNED : 0);
			mbuf_str(&auth_mb, tok);
			mbuf_str(&auth_mb, "");
			mbuf_str(&auth_mb, cb);
			mbuf_str(&auth_mb, http_client_ip(c));
			mbuf_str(&auth_mb, c->req.ua);
			auth_keys_send(iev, IMSG_KEYS_FLOW_SEND, ar->id);
			goto done;
		}
		if (token[0] != '\0')
			pw[0] = '\0';
		else if (strlen(pw) > CERTAOS_MAX_PASSWORD) {
			auth_fail(c, 400, "INVALID_PASSWORD",
			    "Invalid password");
			goto done;
		}
		break;
	default:
		kind = FLOW_DELETE;
		if (!ac.delete_user) {
			http_error(c, 404, NULL);
			goto done;
		}
		if (query_get(c, "token", token, sizeof(token)) != 1)
			token[0] = '\0';
		if ((hascb = query_get(c, "callbackURL", cb,
		    sizeof(cb))) == -1)
			hascb = 0;
		if (auth_callback_bad(c, hascb, cb))
			goto done;
		if (!has) {
			auth_fail(c, 404, "FAILED_TO_GET_USER_INFO",
			    "Failed to get user info");
			goto done;
		}
		if (token[0] == '\0') {
			auth_fail(c, 404, "INVALID_TOKEN", "Invalid token");
			goto done;
		}
		break;
	}
	/* reset-password and delete-user with a password hash */
	if ((iev = pw[0] != '\0' ? auth_worker_peer(c) :
	    auth_keys_peer(c)) == NULL)
		goto done;
	ar = authreq_new(c);
	ar->has_url = hascb && cb[0] != '\0';
	(void)strlcpy(ar->url, cb, sizeof(ar->url));
	(void)strlcpy(ar->token, token, sizeof(ar->token));
	mbuf_init(&auth_mb);
	mbuf_u32(&auth_mb, kind);
	mbuf_u32(&auth_mb, flags | (cookie && has ? AUTH_F_SIGNED : 0));
	mbuf_str(&auth_mb, token);
	mbuf_str(&auth_mb, has ? tok : "");
	mbuf_bytes(&auth_mb, pw, strlen(pw));
	mbuf_str(&auth_mb, http_client_ip(c));
	mbuf_str(&auth_mb, c->req.ua);
	/* delete-user's link, and the one a confirmed change-email mails */
	mbuf_str(&auth_mb, kind == FLOW_DELETE || kind == FLOW_VERIFY ?
	    cb : "");
	if (iev->instance > 0)
		auth_worker_send(ar, iev, IMSG_KEYS_FLOW_USE);
	else
		auth_keys_send(iev, IMSG_KEYS_FLOW_USE, ar->id);
 done:
	explicit_bzero(token, sizeof(token));
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(pw, sizeof(pw));
}

/*
 * IMSG_KEYS_FLOW_DONE: i32 status, str signed token of a new session,
 * u32 has record, the record.
 */
void
auth_keys_flow_done(struct imsg *imsg)
{
	static struct auth_rec	 rec;
	static const char	 deleted[] = "{\"success\":true,\"message\":"
	    "\"User deleted\"}";
	struct mread		 mr;
	struct authreq		*ar;
	struct http_conn	*c;
	char			 stoken[CERTAOS_MAX_CTOKEN + 1];
	char			 hdr[1536], cookie[512];
	int32_t			 status;
	uint32_t		 has;

	mread_init(&mr, imsg);
	status = mread_i32(&mr);
	(void)mread_str(&mr, stoken, sizeof(stoken));
	has = mread_u32(&mr);
	if (has == 1 && authrec_read(&mr, &rec) == -1)
		fatalx("%s: bad record in IMSG_KEYS_FLOW_DONE", __func__);
	if (mread_end(&mr) == -1 || status < 0 || status >= AUTH_MAX ||
	    has > 1 || (stoken[0] != '\0' && !has))
		fatalx("%s: bad IMSG_KEYS_FLOW_DONE", __func__);
	if ((ar = authreq_take(imsg_get_id(imsg))) == NULL)
		goto done;
	c = ar->c;
	hdr[0] = '\0';
	switch (ar->route) {
	case ROUTE_VERIFY_EMAIL:
		if (status == AUTH_UNAVAILABLE) {
			auth_unavailable(c);
			break;
		}
		/* the current address confirmed; the new one has a mail */
		if (status == AUTH_CHANGE_CONFIRMED) {
			if (ar->has_url)
				flow_redirect(c, ar->url, NULL, NULL, "");
			else
				http_respond(c, 200, AUTH_CT_JSON,
				    AUTH_NOSTORE, "{\"status\":true}", 15);
			break;
		}
		if (status != AUTH_OK) {
			if (ar->has_url)
				flow_redirect(c, ar->url, "error",
				    "INVALID_TOKEN", "");
			else
				auth_fail(c, 401, "INVALID_TOKEN",
				    "Invalid token");
			break;
		}
		if (stoken[0] != '\0') {
			auth_cookie_set(cookie, sizeof(cookie), stoken, 0);
			(void)snprintf(hdr, sizeof(hdr), "%sset-auth-token: "
			    "%s\r\nAccess-Control-Expose-Headers: "
			    "set-auth-token\r\n", cookie, stoken);
		}
		if (ar->has_url)
			flow_redirect(c, ar->url, NULL, NULL, hdr);
		else {
			(void)strlcat(hdr, AUTH_NOSTORE, sizeof(hdr));
			http_respond(c, 200, AUTH_CT_JSON, hdr,
			    "{\"status\":true,\"user\":null}", 27);
		}
		break;
	case ROUTE_RESET_CALLBACK:
		if (status == AUTH_UNAVAILABLE)
			auth_unavailable(c);
		else if (status == AUTH_OK)
			flow_redirect(c, ar->url, "token", ar->token, "");
		else
			flow_redirect(c, ar->url, "error", "INVALID_TOKEN",
			    "");
		break;
	case ROUTE_RESET_PASSWORD:
		if (status == AUTH_OK)
			http_respond(c, 200, AUTH_CT_JSON, AUTH_NOSTORE,
			    "{\"status\":true}", 15);
		else if (status == AUTH_BAD_FLOW_TOKEN)
			auth_fail(c, 400, "INVALID_TOKEN", "Invalid token");
		else
			auth_respond_status(ar, status);
		break;
	default:
		/* delete-user and its callback */
		if (status == AUTH_OK) {
			auth_cookie_clear(hdr, sizeof(hdr));
			if (ar->route == ROUTE_DELETE_CALLBACK && ar->has_url)
				flow_redirect(c, ar->url, NULL, NULL, hdr);
			else {
				(void)strlcat(hdr, AUTH_NOSTORE, sizeof(hdr));
				http_respond(c, 200, AUTH_CT_JSON, hdr,
				    deleted, sizeof(deleted) - 1);
			}
			break;
		}
		if (status == AUTH_BAD_FLOW_TOKEN)
			auth_fail(c, 404, "INVALID_TOKEN", "Invalid token");
		else if (status == AUTH_NO_CREDENTIAL)
			auth_fail(c, 400, "CREDENTIAL_ACCOUNT_NOT_FOUND",
			    "Credential account not found");
		else if (status == AUTH_NO_SESSION || status == AUTH_BAD_TOKEN)
			auth_unauthorized(c);
		else
			auth_respond_status(ar, status);
		break;
	}
	authreq_free(ar);
 done:
	explicit_bzero(stoken, sizeof(stoken));
	explicit_bzero(hdr, sizeof(hdr));
	explicit_bzero(cookie, sizeof(cookie));
}
