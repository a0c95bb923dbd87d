/*
 * http.h: the HTTP/1.1 server of certaos-web (http.c) and its routes
 * (routes.c).
 */

#ifndef CERTAOS_HTTP_H
#define CERTAOS_HTTP_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event.h>
#include <openssl/ssl.h>

#include "certaos.h"

#define HTTP_METHOD_MAX		16	/* method bytes, with the NUL */
#define HTTP_LOGPATH_MAX	256	/* path bytes kept for the log */
/* bytes queued before we stop reading a pipelining client */
#define HTTP_MAX_OUTPUT		(256 * 1024)
#define HTTP_ACCEPT_BATCH	32	/* accepts per listener event */
#define HTTP_ACCEPT_BACKOFF	1	/* s to pause accept on EMFILE */
#define HTTP_MAX_COOKIEVAL	(CERTAOS_MAX_CTOKEN * 3 + 1)
#define HTTP_MAX_QUERY		2048	/* query bytes a handler can see */
#define HTTP_CORS_MAXAGE	600	/* s a preflight's answer is kept */
#define HTTP_LINGER		2	/* s to read and drop after the last
					 * response before closing */

/* Results of http_scan_head() besides a status code. */
#define HTTP_SCAN_MORE		0
#define HTTP_SCAN_DONE		1

/* Where http_scan_head() is in the request head. */
struct http_scan {
	size_t		 off;		/* bytes scanned so far */
	size_t		 line;		/* where the current line starts */
	size_t		 nlines;	/* complete lines seen */
	size_t		 headlen;	/* HTTP_SCAN_DONE: head bytes */
	const char	*error;		/* why, with a status */
};

enum http_method {
	HTTP_M_OTHER = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_PATCH,
	HTTP_M_OPTIONS
};

/* A parsed request head.  path points into the parsed buffer. */
struct http_req {
	char		 method_str[HTTP_METHOD_MAX];
	enum http_method method;
	const char	*path;		/* without the query */
	size_t		 pathlen;
	const char	*query;		/* after '?', or NULL; like path,
					 * gone when a handler runs */
	size_t		 querylen;
	int		 qcopy_state;	/* the query, for the handlers */
	char		 qcopy[HTTP_MAX_QUERY];
	char		 logpath[HTTP_LOGPATH_MAX];	/* path?query, cut */
	int		 minor;		/* HTTP/1.<minor> */
	int		 keepalive;
	int		 expect_continue;
	int64_t		 clen;		/* -1: no Content-Length */
	size_t		 headlen;
	const char	*error;		/* why a request was refused */
	/*
	 * What the routes need of the fields, copied out: the head is
	 * drained from the input before a handler runs.  A field that
	 * does not fit, or comes twice, is marked bad, never cut.
	 */
	int		 ncookies;	/* Cookie fields seen */
	int		 cookie_state;	/* HTTP_F_* of the session cookie */
	char		 cookie[HTTP_MAX_COOKIEVAL];	/* as sent (%-encoded) */
	int		 dontrem_state;	/* Better Auth's dont_remember */
	char		 dontrem[HTTP_MAX_COOKIEVAL];	/* as sent */
	int		 bearer_state;	/* HTTP_F_* of Authorization: Bearer */
	char		 bearer[HTTP_MAX_COOKIEVAL];
	int		 origin_state;
	char		 origin[CERTAOS_MAX_ORIGIN];
	int		 acrm_state;	/* Access-Control-Request-Method */
	int		 ctype_state;
	char		 ctype[64];	/* media type, lower case, no params */
	char		 ua[CERTAOS_MAX_UA + 1];	/* cut to fit */
	int		 xff_state;
	char		 xff[CERTAOS_MAX_IP + 1];	/* last hop in the list */
};

/* http_req field states */
#define HTTP_F_ABSENT		0
#define HTTP_F_OK		1
#define HTTP_F_BAD		2	/* too long, repeated or malformed */

/*
 * The parser, free of I/O so that it can be tested alone.
 *
 * http_scan_head() looks for the end of the head in buf[0..len), going
 * on from where the last call stopped (s is zeroed before the first
 * call).  It returns HTTP_SCAN_MORE, HTTP_SCAN_DONE (s->headlen set; at
 * most maxhead bytes), or an HTTP status: 400 (NUL byte, bare CR or LF,
 * empty request line), 414 (no end of the request line in maxhead
 * bytes), 431 (head longer than maxhead).
 *
 * http_parse_head() parses a head that http_scan_head() accepted and
 * returns 0 or an HTTP status (400, 411, 417, 505) with req->error set.
 */
int	 http_scan_head(const char *, size_t, size_t, struct http_scan *);
int	 http_parse_head(const char *, size_t, struct http_req *);
/* the session cookie's names: "<prefix>.session_token", and __Secure- */
void	 http_set_cookie_name(const char *, int);
const char *http_reason(int);
const char *http_errcode(int);

/* The server. */
struct http_limits {
	uint32_t	 max_header;
	uint32_t	 max_body;
	uint32_t	 timeout_header;
	uint32_t	 timeout_idle;
};

struct http_listener {
	uint32_t	 id;
	int		 fd;		/* -1: slot unused */
	int		 tls;
	char		 addr[64];
	uint16_t	 port;
	SSL_CTX		*ctx;
	struct event	 ev;
	int		 evset;
	/* PEM received for the next IMSG_CFG_DONE */
	unsigned char	*cert;
	size_t		 certlen;
	unsigned char	*key;
	size_t		 keylen;
	int		 seen;		/* named in this configuration round */
};

struct http_conn;
typedef void	(*http_wait_cb)(struct http_conn *);

enum http_state {
	HTTP_S_HEAD = 0,	/* reading a request head */
	HTTP_S_BODY,		/* reading a request body */
	HTTP_S_WAIT,		/* a handler waits for an answer */
	HTTP_S_CLOSING,		/* writing the last response */
	HTTP_S_LINGER		/* written; reading what the client still
				 * sends so that it gets the answer */
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	TAILQ_ENTRY(http_conn)	 wentry;	/* routes' wait lists */
	struct bufferevent	*bev;
	struct http_listener	*listener;
	enum http_state		 state;
	struct event		 timer;
	http_wait_cb		 wait_cb;	/* HTTP_S_WAIT timed out */
	void			*wait_arg;	/* owned by routes.c */
	int			 waitlist;	/* on a routes.c list */
	struct http_scan	 scan;
	struct http_req		 req;
	int			 route;
	int			 started;	/* a request's bytes arrived */
	int			 processing;
	int			 paused;	/* output backlog */
	int			 eof;
	uint64_t		 nreq;
	struct timespec		 t0;
	char			 peer[64];
};

extern struct http_limits http_limits;

void	 http_init(void);
struct http_listener *http_listener_get(uint32_t);
/* slot for a new listener id; NULL when all are taken */
struct http_listener *http_listener_add(uint32_t, int);
/* append a PEM chunk (certificate or key); -1 if over the limit */
int	 http_listener_pem(struct http_listener *, int, const void *, size_t);
/* close a listener's socket and take a new one */
void	 http_listener_setfd(struct http_listener *, int);
/* build SSL_CTXs from the received PEM; -1 with a message logged */
int	 http_tls_configure(void);
void	 http_start(void);
int	 http_nconns(void);

/*
 * Responses.  extra is "" or complete header lines ("Allow: GET\r\n").
 * A HEAD request gets the head only.  After the response the connection
 * goes on with the next request (or closes).
 */
void	 http_respond(struct http_conn *, int, const char *, const char *,
	    const void *, size_t);
void	 http_error(struct http_conn *, int, const char *);
const char *http_client_ip(struct http_conn *);	/* peer, or XFF from a proxy */
/* the handler answers later; cb runs if no answer within secs (0: none) */
void	 http_wait(struct http_conn *, int, http_wait_cb);

/* routes.c */
enum route_id {
	ROUTE_NONE = 0,
	ROUTE_HEALTH,
	ROUTE_JWKS,
	ROUTE_OIDC_CONFIG,
	ROUTE_OIDC_CONFIG_BASE,
	ROUTE_SIGN_UP,			/* auth.c from here */
	ROUTE_SIGN_IN,
	ROUTE_GET_SESSION,
	ROUTE_SIGN_OUT,
	ROUTE_OK,
	ROUTE_LIST_SESSIONS,
	ROUTE_REVOKE_SESSION,
	ROUTE_REVOKE_SESSIONS,
	ROUTE_REVOKE_OTHERS,
	ROUTE_UPDATE_USER,
	ROUTE_CHANGE_PASSWORD,
	ROUTE_TOKEN,
	ROUTE_VERIFY_PASSWORD,
	ROUTE_ERROR,
	ROUTE_LIST_ACCOUNTS,
	ROUTE_ACCOUNT_INFO,
	ROUTE_SEND_VERIFICATION,
	ROUTE_VERIFY_EMAIL,
	ROUTE_REQUEST_RESET,
	ROUTE_RESET_CALLBACK,		/* GET reset-password/:token */
	ROUTE_RESET_PASSWORD,
	ROUTE_CHANGE_EMAIL,
	ROUTE_DELETE_USER,
	ROUTE_DELETE_CALLBACK,
	ROUTE_MAX
};

int	 routes_configure(const char *, const char *);
int	 route_find(const char *, size_t);
/* 0 if the route takes the method; else fills allow, returns -1 */
int	 route_method_ok(int, enum http_method, const char **);
void	 route_dispatch(struct http_conn *, const char *, size_t);
/* the connection goes away: forget it in whatever waits for an answer */
void	 route_cancel(struct http_conn *);

struct imsgev;
/* routes.c: the channel to keys[0], or NULL */
struct imsgev	*web_keys(void);

struct imsg;
void	 routes_db_pong(struct imsg *);
void	 routes_keys_pong(struct imsg *);
void	 routes_keys_jwks(struct imsg *);
void	 routes_keys_jwks_changed(struct imsg *);
void	 routes_keys_error(struct imsg *);
void	 routes_jwks_fetch(void);

/*
 * form.c: an application/x-www-form-urlencoded body into json.h's
 * typed fields; every value is a string.  0, or -1 with a message in
 * err ("invalid percent-encoding", "invalid form encoding", or
 * "<field>: <why>").
 */
struct jfield;
int	 form_parse_fields(const char *, size_t, struct jfield *, size_t,
	    char *, size_t);

/* auth.c */
#define ROUTE_IS_AUTH(r)	((r) >= ROUTE_SIGN_UP && (r) < ROUTE_MAX)
int	 auth_configure(const struct cfg_web *);
void	 auth_dispatch(struct http_conn *, const char *, size_t);
void	 auth_cancel(struct http_conn *);
void	 auth_keys_answer(struct imsg *);
void	 auth_db_answer(struct imsg *);
void	 auth_db_row(struct imsg *);
void	 auth_db_account_row(struct imsg *);
/* keys is up: ask it for the dont_remember cookie's value */
void	 auth_keys_up(void);
void	 auth_keys_dont_remember(struct imsg *);
/* forget the JWTs kept for get-session (keys or issuer changed) */
void	 auth_jwt_flush(void);
void	 auth_keys_signed(struct imsg *);
void	 auth_keys_result(struct imsg *);
void	 auth_keys_flow_done(struct imsg *);
/* 1 if a keys error was for a pending auth request (and answered) */
int	 auth_keys_error(struct imsg *, const char *);
/*
 * Freshness (session fresh-age): 1 if the record's session was created
 * less than fresh-age ago (or the check is off).  A route that needs a
 * fresh session answers auth_not_fresh() otherwise: 403
 * SESSION_NOT_FRESH, as Better Auth's freshSessionMiddleware.
 */
struct auth_rec;
int	 auth_session_fresh(const struct auth_rec *);
void	 auth_not_fresh(struct http_conn *);
/* the issuer's origin or a trusted-origins entry (CORS, CSRF) */
int	 auth_origin_trusted(const char *);

#endif
