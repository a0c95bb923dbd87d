/*
 * routes.c: what certaos-web answers, and the answers it waits for from
 * the db and keys processes.
 *
 *	GET|HEAD /health	IMSG_DB_PING + IMSG_KEYS_PING, peerid = the
 *				request id; an answer missing after
 *				CERTAOS_DB_TIMEOUT s counts as down
 *	GET|HEAD <base>/jwks	the JWKS cached here (IMSG_KEYS_JWKS_GET at
 *				start and on IMSG_KEYS_JWKS_CHANGED);
 *				requests before the first copy wait for it
 *	GET|HEAD /.well-known/openid-configuration, and under <base>
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event.h>

#include "certaos.h"
#include "json.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "http.h"

#define ROUTE_PATH_MAX		128
#define ROUTE_ALLOW_GET		"GET, HEAD"
#define ROUTE_JWKS_CACHE	"Cache-Control: public, max-age=300\r\n"
#define ROUTE_JWKS_RETRY	1	/* s between JWKS fetch attempts */

struct health {
	RB_ENTRY(health)	 entry;
	uint32_t		 id;
	struct http_conn	*c;	/* NULL once the client went away */
	int			 db;	/* -1 waiting, 0 down, 1 ok */
	int			 keys;
	struct event		 timer;
};

RB_HEAD(health_tree, health);

static int	 health_cmp(struct health *, struct health *);
RB_PROTOTYPE(health_tree, health, entry, health_cmp)

static int	 ping_send(struct imsgev *, uint32_t, uint32_t);
static void	 health_start(struct http_conn *);
static void	 health_finish(struct health *);
static void	 health_timeout(int, short, void *);
static struct health *health_find(uint32_t);
static void	 jwks_serve(struct http_conn *);
static void	 jwks_wait_timeout(struct http_conn *);
static void	 jwks_retry(int, short, void *);
static void	 jwks_retry_later(void);

static struct health_tree	 health_pending =
    RB_INITIALIZER(&health_pending);
static uint32_t			 health_id;

static char	 path_jwks[ROUTE_PATH_MAX];
static char	 path_oidc_base[ROUTE_PATH_MAX];
static char	 path_base[ROUTE_PATH_MAX];	/* "" for the root */

/* Paths under the base path, and what they take. */
static const struct {
	const char	*path;
	int		 route;
	enum http_method method;
} auth_paths[] = {
	{ "/sign-up/email",	ROUTE_SIGN_UP,		HTTP_M_POST },
	{ "/sign-in/email",	ROUTE_SIGN_IN,		HTTP_M_POST },
	{ "/get-session",	ROUTE_GET_SESSION,	HTTP_M_GET },
	{ "/sign-out",		ROUTE_SIGN_OUT,		HTTP_M_POST },
	{ "/ok",		ROUTE_OK,		HTTP_M_GET },
	{ "/list-sessions",	ROUTE_LIST_SESSIONS,	HTTP_M_GET },
	{ "/revoke-session",	ROUTE_REVOKE_SESSION,	HTTP_M_POST },
	{ "/revoke-sessions",	ROUTE_REVOKE_SESSIONS,	HTTP_M_POST },
	{ "/revoke-other-sessions", ROUTE_REVOKE_OTHERS,	HTTP_M_POST },
	{ "/update-user",	ROUTE_UPDATE_USER,	HTTP_M_POST },
	{ "/change-password",	ROUTE_CHANGE_PASSWORD,	HTTP_M_POST },
	{ "/token",		ROUTE_TOKEN,		HTTP_M_GET },
	{ "/verify-password",	ROUTE_VERIFY_PASSWORD,	HTTP_M_POST },
	{ "/error",		ROUTE_ERROR,		HTTP_M_GET },
	{ "/list-accounts",	ROUTE_LIST_ACCOUNTS,	HTTP_M_GET },
	{ "/account-info",	ROUTE_ACCOUNT_INFO,	HTTP_M_GET },
	{ "/send-verification-email", ROUTE_SEND_VERIFICATION, HTTP_M_POST },
	{ "/verify-email",	ROUTE_VERIFY_EMAIL,	HTTP_M_GET },
	{ "/request-password-reset", ROUTE_REQUEST_RESET, HTTP_M_POST },
	{ "/reset-password",	ROUTE_RESET_PASSWORD,	HTTP_M_POST },
	{ "/change-email",	ROUTE_CHANGE_EMAIL,	HTTP_M_POST },
	{ "/delete-user",	ROUTE_DELETE_USER,	HTTP_M_POST },
	{ "/delete-user/callback", ROUTE_DELETE_CALLBACK, HTTP_M_GET },
};
/* GET <base>/reset-password/<token>: the token is the last segment */
#define RESET_PREFIX	"/reset-password/"
static char	*oidc_doc;
static size_t	 oidc_len;

static char	*jwks;			/* the JSON served */
static size_t	 jwks_len;
static uint32_t	 jwks_gen;
static int	 jwks_fetching;
static int	 jwks_refetch;	/* changed while a fetch was out */
static time_t	 jwks_asked;
static struct event jwks_timer;
static int	 jwks_timer_set;
static TAILQ_HEAD(, http_conn) jwks_waiters =
    TAILQ_HEAD_INITIALIZER(jwks_waiters);

static const char health_ok[] = "{\"status\":\"ok\",\"db\":\"ok\","
    "\"keys\":\"ok\"}";

static int
health_cmp(struct health *a, struct health *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

RB_GENERATE(health_tree, health, entry, health_cmp)

int
routes_configure(const char *issuer, const char *basepath)
{
	struct json_out	*j;
	const char	*doc;
	char		 uri[CERTAOS_MAX_ISSUER + ROUTE_PATH_MAX];
	char		*copy;
	size_t		 ilen, len;
	int		 n;

	if (basepath[0] != '/' || strlen(basepath) + 32 >= ROUTE_PATH_MAX) {
		log_warnx("bad base path");
		return (-1);
	}
	ilen = strlen(issuer);
	while (ilen > 0 && issuer[ilen - 1] == '/')
		ilen--;
	/* "/" as base path means the root: no double slash */
	if (strcmp(basepath, "/") == 0)
		basepath = "";
	n = snprintf(uri, sizeof(uri), "%.*s%s/jwks", (int)ilen, issuer,
	    basepath);
	if (n < 0 || (size_t)n >= sizeof(uri)) {
		log_warnx("issuer too long");
		return (-1);
	}

	if ((j = jout_new()) == NULL)
		fatal("%s", __func__);
	jout_obj_open(j);
	jout_key(j, "issuer");
	jout_str(j, issuer);
	jout_key(j, "jwks_uri");
	jout_str(j, uri);
	jout_obj_close(j);
	if ((doc = jout_buf(j, &len)) == NULL) {
		jout_free(j);
		log_warnx("cannot build the discovery document");
		return (-1);
	}
	if ((copy = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(copy, doc, len);
	jout_free(j);
	free(oidc_doc);
	oidc_doc = copy;
	oidc_len = len;

	(void)snprintf(path_jwks, sizeof(path_jwks), "%s/jwks", basepath);
	(void)strlcpy(path_base, basepath, sizeof(path_base));
	(void)snprintf(path_oidc_base, sizeof(path_oidc_base),
	    "%s/.well-known/openid-configuration", basepath);
	return (0);
}

static int
path_is(const char *p, size_t len, const char *want)
{
	return (strlen(want) == len && memcmp(p, want, len) == 0);
}

int
route_find(const char *path, size_t len)
{
	size_t	 blen, i;

	if (path == NULL)
		return (ROUTE_NONE);
	if (path_is(path, len, "/health"))
		return (ROUTE_HEALTH);
	if (path_jwks[0] != '\0' && path_is(path, len, path_jwks))
		return (ROUTE_JWKS);
	if (path_is(path, len, "/.well-known/openid-configuration"))
		return (ROUTE_OIDC_CONFIG);
	if (path_oidc_base[0] != '\0' && path_is(path, len, path_oidc_base))
		return (ROUTE_OIDC_CONFIG_BASE);
	blen = strlen(path_base);
	if (len > blen && memcmp(path, path_base, blen) == 0)
		for (i = 0; i < nitems(auth_paths); i++)
			if (path_is(path + blen, len - blen,
			    auth_paths[i].path))
				return (auth_paths[i].route);
	if (len > blen + strlen(RESET_PREFIX) &&
	    memcmp(path, path_base, blen) == 0 &&
	    memcmp(path + blen, RESET_PREFIX, strlen(RESET_PREFIX)) == 0 &&
	    memchr(path + blen + strlen(RESET_PREFIX), '/',
	    len - blen - strlen(RESET_PREFIX)) == NULL)
		return (ROUTE_RESET_CALLBACK);
	return (ROUTE_NONE);
}

int
route_method_ok(int route, enum http_method m, const char **allow)
{
	size_t	 i;

	switch (route) {
	case ROUTE_HEALTH:
	case ROUTE_JWKS:
	case ROUTE_OIDC_CONFIG:
	case ROUTE_OIDC_CONFIG_BASE:
	case ROUTE_RESET_CALLBACK:
		if (m == HTTP_M_GET || m == HTTP_M_HEAD)
			return (0);
		*allow = ROUTE_ALLOW_GET;
		return (-1);
	default:
		break;
	}
	for (i = 0; i < nitems(auth_paths); i++) {
		if (auth_paths[i].route != route)
			continue;
		if (m == auth_paths[i].method ||
		    (m == HTTP_M_HEAD && auth_paths[i].method == HTTP_M_GET))
			return (0);
		*allow = auth_paths[i].method == HTTP_M_GET ?
		    ROUTE_ALLOW_GET : "POST";
		return (-1);
	}
	*allow = "";
	return (-1);
}

void
route_dispatch(struct http_conn *c, const char *body, size_t len)
{
	switch (c->route) {
	case ROUTE_HEALTH:
		health_start(c);
		break;
	case ROUTE_JWKS:
		jwks_serve(c);
		break;
	case ROUTE_OIDC_CONFIG:
	case ROUTE_OIDC_CONFIG_BASE:
		http_respond(c, 200, "application/json", ROUTE_JWKS_CACHE,
		    oidc_doc, oidc_len);
		break;
	default:
		if (ROUTE_IS_AUTH(c->route))
			auth_dispatch(c, body, len);
		else
			http_error(c, 404, NULL);
		break;
	}
}

void
route_cancel(struct http_conn *c)
{
	struct health	*h;

	if (ROUTE_IS_AUTH(c->route)) {
		auth_cancel(c);
		return;
	}
	if (c->route == ROUTE_HEALTH && (h = c->wait_arg) != NULL) {
		h->c = NULL;	/* the answers will find no one */
		c->wait_arg = NULL;
	}
	if (c->waitlist) {
		TAILQ_REMOVE(&jwks_waiters, c, wentry);
		c->waitlist = 0;
	}
}

/*
 * /health
 */

static int
ping_send(struct imsgev *iev, uint32_t type, uint32_t id)
{
	return (imsgev_compose(iev, type, id, 0, -1, NULL, 0));
}

static void
health_start(struct http_conn *c)
{
	struct timeval	 tv = { CERTAOS_DB_TIMEOUT, 0 };
	struct health	*h;
	struct imsgev	*iev;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("%s", __func__);
	if (++health_id == 0)
		health_id = 1;
	h->id = health_id;
	h->c = c;
	h->db = h->keys = -1;
	if ((iev = proc_peer(proc_self, PROC_DB)) == NULL ||
	    ping_send(iev, IMSG_DB_PING, h->id) == -1)
		h->db = 0;
	if ((iev = web_keys()) == NULL ||
	    ping_send(iev, IMSG_KEYS_PING, h->id) == -1)
		h->keys = 0;
	if (RB_INSERT(health_tree, &health_pending, h) != NULL)
		fatalx("%s: duplicate request id %u", __func__, h->id);
	evtimer_set(&h->timer, health_timeout, h);
	event_base_set(proc_self->evbase, &h->timer);
	evtimer_add(&h->timer, &tv);
	c->wait_arg = h;
	http_wait(c, 0, NULL);
	if (h->db != -1 && h->keys != -1)
		health_finish(h);
}

static void
health_finish(struct health *h)
{
	struct http_conn	*c = h->c;
	char			 body[128];
	int			 n;

	RB_REMOVE(health_tree, &health_pending, h);
	evtimer_del(&h->timer);
	if (c != NULL) {
		c->wait_arg = NULL;
		if (h->db == 1 && h->keys == 1)
			http_respond(c, 200, "application/json",
			    "Cache-Control: no-store\r\n", health_ok,
			    sizeof(health_ok) - 1);
		else {
			n = snprintf(body, sizeof(body), "{\"status\":"
			    "\"unavailable\",\"db\":\"%s\",\"keys\":\"%s\"}",
			    h->db == 1 ? "ok" : "unavailable",
			    h->keys == 1 ? "ok" : "unavailable");
			http_respond(c, 503, "application/json",
			    "Cache-Control: no-store\r\n", body, n);
		}
	}
	free(h);
}

static void
health_timeout(int fd, short ev, void *arg)
{
	struct health	*h = arg;

	if (h->db == -1) {
		log_warnx("health: no answer from the db process in %d s",
		    CERTAOS_DB_TIMEOUT);
		h->db = 0;
	}
	if (h->keys == -1) {
		log_warnx("health: no answer from the keys process in %d s",
		    CERTAOS_DB_TIMEOUT);
		h->keys = 0;
	}
	health_finish(h);
}

static struct health *
health_find(uint32_t id)
{
	struct health	 key;

	key.id = id;
	return (RB_FIND(health_tree, &health_pending, &key));
}

void
routes_db_pong(struct imsg *imsg)
{
	struct health	*h;
	int32_t		 v;

	if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
		fatalx("%s: bad IMSG_DB_PONG", __func__);
	if ((h = health_find(imsg_get_id(imsg))) == NULL || h->db != -1) {
		log_debug("%s: late answer %u", __func__, imsg_get_id(imsg));
		return;
	}
	h->db = (v == 1);
	if (h->keys != -1)
		health_finish(h);
}

void
routes_keys_pong(struct imsg *imsg)
{
	struct health	*h;
	int32_t		 v;

	if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
		fatalx("%s: bad IMSG_KEYS_PONG", __func__);
	if ((h = health_find(imsg_get_id(imsg))) == NULL || h->keys != -1) {
		log_debug("%s: late answer %u", __func__, imsg_get_id(imsg));
		return;
	}
	h->keys = (v > 0);
	if (h->db != -1)
		health_finish(h);
}

/*
 * JWKS
 */

static void
jwks_serve(struct http_conn *c)
{
	if (jwks != NULL) {
		http_respond(c, 200, "application/json", ROUTE_JWKS_CACHE,
		    jwks, jwks_len);
		return;
	}
	/* Not fetched yet: wait for it, a while. */
	TAILQ_INSERT_TAIL(&jwks_waiters, c, wentry);
	c->waitlist = 1;
	http_wait(c, CERTAOS_DB_TIMEOUT, jwks_wait_timeout);
	routes_jwks_fetch();
}

static void
jwks_wait_timeout(struct http_conn *c)
{
	if (c->waitlist) {
		TAILQ_REMOVE(&jwks_waiters, c, wentry);
		c->waitlist = 0;
	}
	http_error(c, 503, "The key set is not available yet");
}

/*
 * keys[0]: signatures, session tokens, the key set, everything that does
 * not hash a password (auth.c sends those to keys[1..]).
 */
struct imsgev *
web_keys(void)
{
	return (proc_peer_instance(proc_self, PROC_KEYS, 0));
}

void
routes_jwks_fetch(void)
{
	struct imsgev	*iev;

	/* One fetch at a time, unless the last one went unanswered. */
	if (jwks_fetching && time(NULL) - jwks_asked < CERTAOS_DB_TIMEOUT)
		return;
	if ((iev = web_keys()) == NULL)
		return;			/* peer_up will ask */
	if (imsgev_compose(iev, IMSG_KEYS_JWKS_GET, 0, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
	jwks_fetching = 1;
	jwks_refetch = 0;
	jwks_asked = time(NULL);
}

static void
jwks_retry(int fd, short ev, void *arg)
{
	jwks_timer_set = 0;
	routes_jwks_fetch();
}

static void
jwks_retry_later(void)
{
	struct timeval	 tv = { ROUTE_JWKS_RETRY, 0 };

	if (jwks_timer_set)
		return;
	evtimer_set(&jwks_timer, jwks_retry, NULL);
	event_base_set(proc_self->evbase, &jwks_timer);
	evtimer_add(&jwks_timer, &tv);
	jwks_timer_set = 1;
}

void
routes_keys_jwks(struct imsg *imsg)
{
	struct mread		 mr;
	struct http_conn	*c;
	static char		 buf[MAX_IMSGSIZE];
	char			*copy;
	uint32_t		 gen;
	size_t			 len;

	mread_init(&mr, imsg);
	gen = mread_u32(&mr);
	(void)mread_str(&mr, buf, sizeof(buf));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_JWKS", __func__);
	jwks_fetching = 0;
	len = strlen(buf);
	if (len < 2 || buf[0] != '{' || buf[len - 1] != '}') {
		log_warnx("%s: keys sent no JSON object", __func__);
		jwks_retry_later();
		return;
	}
	if ((copy = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(copy, buf, len);
	free(jwks);
	jwks = copy;
	jwks_len = len;
	if (gen != jwks_gen)
		log_debug("JWKS generation %u (%zu bytes)", gen, len);
	jwks_gen = gen;

	while ((c = TAILQ_FIRST(&jwks_waiters)) != NULL) {
		TAILQ_REMOVE(&jwks_waiters, c, wentry);
		c->waitlist = 0;
		jwks_serve(c);
	}
	if (jwks_refetch)
		routes_jwks_fetch();
}

void
routes_keys_jwks_changed(struct imsg *imsg)
{
	struct mread	 mr;
	uint32_t	 gen;

	mread_init(&mr, imsg);
	gen = mread_u32(&mr);
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_JWKS_CHANGED", __func__);
	/* a JWT kept for get-session may be under a key now gone */
	auth_jwt_flush();
	if (jwks_fetching)
		jwks_refetch = 1;
	else if (jwks == NULL || gen != jwks_gen)
		routes_jwks_fetch();
}

void
routes_keys_error(struct imsg *imsg)
{
	struct mread	 mr;
	char		 why[256], esc[1024];

	mread_init(&mr, imsg);
	(void)mread_str(&mr, why, sizeof(why));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_ERROR", __func__);
	log_warnx("keys: %s", str_escape(why, esc, sizeof(esc)));
	if (auth_keys_error(imsg, why))
		return;
	/* Only JWKS_GET is asked without a waiting client. */
	if (jwks_fetching) {
		jwks_fetching = 0;
		jwks_retry_later();
	}
}
