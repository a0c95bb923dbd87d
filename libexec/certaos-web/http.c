/*
 * http.c: the HTTP/1.1 server of certaos-web.
 *
 * Why not evhttp: DESIGN.md names libevent's evhttp, but the evhttp of
 * libevent 2.1.12 (Debian 12) answers oversized heads, bad requests and
 * timeouts itself, with HTML bodies and its own status choices (no 431,
 * no 408: a timeout just closes), and 2.1 has no hook to replace them
 * (evhttp_set_errorcb arrived in 2.2).  We must answer every refusal
 * with an exact status and a JSON {"code","message"} body, so this file
 * is a small, strict HTTP/1.1 server on libevent bufferevents instead:
 * plain sockets with bufferevent_socket_new(), TLS with
 * bufferevent_openssl_socket_new() and BUFFEREVENT_SSL_ACCEPTING.
 *
 * What it accepts:
 *  - request heads of at most max_header bytes (request line, fields and
 *    the empty line), lines ended by CRLF only: a bare LF or bare CR is
 *    400, as is a NUL byte anywhere, obsolete line folding, a field name
 *    with white space before the colon, or control characters in values;
 *  - HTTP/1.0 and HTTP/1.1; any other HTTP/x.y (the HTTP/2 preface
 *    among them) is 505; anything else in the version slot is 400;
 *  - bodies with Content-Length only (one header, digits only, at most
 *    max_body: 413 above it); Transfer-Encoding is refused with 411, or
 *    400 together with Content-Length or in HTTP/1.0;
 *  - keep-alive and pipelining: requests are answered strictly one after
 *    the other; while a handler waits (for the db or keys process) the
 *    connection is not read, and a client that does not read its answers
 *    stops being read once HTTP_MAX_OUTPUT bytes are queued.
 * Time limits: the head must be complete timeout_header seconds after
 * its first byte arrived (else 408 and close); a body must keep coming
 * (timeout_idle between reads, else 408); an idle keep-alive connection
 * closes quietly after timeout_idle, a new one that sends nothing after
 * timeout_header.  Every refusal closes the connection (after sending
 * our FIN we read and drop what still comes for HTTP_LINGER seconds, so
 * that a reset does not destroy the answer); 404, 405 and 503 do not.
 * At most CERTAOS_MAX_CLIENTS connections per worker: beyond that the
 * worker stops accepting until one closes (and for HTTP_ACCEPT_BACKOFF
 * seconds after EMFILE/ENFILE).
 *
 * Access log, one log_info line per answered request:
 *	<peer> "<METHOD> <path?query, escaped, cut at 255>" <status>
 *	    <body bytes> <microseconds since the request's first byte>us
 * with "- -" when the request line could not be parsed.
 *
 * Responses are written with one sendmsg() straight to the socket when
 * nothing is queued (plain HTTP), else queued on the bufferevent.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "http.h"
#include "ratelimit.h"

struct http_limits http_limits = {
	CERTAOS_MAX_HEADER_DEF,
	CERTAOS_MAX_BODY_DEF,
	CERTAOS_TIMEOUT_HDR_DEF,
	CERTAOS_TIMEOUT_IDLE_DEF
};

static struct http_listener	 listeners[CERTAOS_MAX_LISTENERS];
static TAILQ_HEAD(, http_conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static int			 nconns;
static int			 accepting;	/* after IMSG_CTL_START */
static int			 accept_paused;
static struct event		 accept_timer;
static int			 accept_timer_set;

static int	 tchar(unsigned char);
static int	 hdr_is(const char *, size_t, const char *);
static int	 token_list_has(const char *, size_t, const char *);
static int	 parse_reqline(const char *, size_t, struct http_req *);
static int	 parse_field(const char *, size_t, struct http_req *,
		    int *, int *, int *);
static const char *http_date(void);
static void	 http_accept(int, short, void *);
static void	 accept_pause(int);
static void	 accept_resume(int, short, void *);
static void	 listener_arm(struct http_listener *);
static void	 conn_new(struct http_listener *, int,
		    struct sockaddr_storage *, socklen_t);
static void	 conn_free(struct http_conn *);
static void	 conn_close(struct http_conn *);
static void	 conn_linger(struct http_conn *);
static void	 conn_timer(struct http_conn *, int);
static void	 conn_timeout(int, short, void *);
static void	 conn_read(struct bufferevent *, void *);
static void	 conn_write(struct bufferevent *, void *);
static void	 conn_event(struct bufferevent *, short, void *);
static void	 conn_process(struct http_conn *);
static int	 conn_head(struct http_conn *);
static int	 conn_body(struct http_conn *);
static void	 http_cors(struct http_conn *, const char *, char *, size_t);
static void	 field_copy(const char *, size_t, char *, size_t, int *);
static void	 http_preflight(struct http_conn *);
static void	 conn_dispatch(struct http_conn *, const char *, size_t);
static void	 conn_send(struct http_conn *, struct iovec *, int);
static void	 conn_log(struct http_conn *, int, size_t);
static int	 pem_nopass(char *, int, int, void *);
static SSL_CTX	*tls_ctx_new(struct http_listener *);
static void	 listener_pem_clear(struct http_listener *);

/*
 * The parser.
 */

static int
tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return (1);
	return (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

int
http_scan_head(const char *buf, size_t len, size_t maxhead,
    struct http_scan *s)
{
	size_t		 i, lim;
	unsigned char	 ch;

	lim = len < maxhead ? len : maxhead;
	for (i = s->off; i < lim; i++) {
		ch = buf[i];
		if (ch == '\0') {
			s->error = "NUL byte in the request head";
			return (400);
		}
		if ((i > 0 && buf[i - 1] == '\r' && ch != '\n') ||
		    (ch == '\n' && (i == 0 || buf[i - 1] != '\r'))) {
			s->error = "Lines must end with CRLF";
			return (400);
		}
		if (ch != '\n')
			continue;
		if (i - s->line == 1) {		/* an empty line */
			if (s->nlines == 0) {
				s->error = "Empty request line";
				return (400);
			}
			s->off = i + 1;
			s->headlen = i + 1;
			return (HTTP_SCAN_DONE);
		}
		s->nlines++;
		s->line = i + 1;
	}
	s->off = lim;
	if (len > maxhead)
		return (s->nlines == 0 ? 414 : 431);
	return (HTTP_SCAN_MORE);
}

static int
hdr_is(const char *p, size_t n, const char *name)
{
	return (strlen(name) == n && strncasecmp(p, name, n) == 0);
}

/* Whether a comma-separated list of tokens holds tok (any case). */
static int
token_list_has(const char *p, size_t n, const char *tok)
{
	size_t	 i, start, end;

	i = 0;
	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		start = i;
		while (i < n && p[i] != ',')
			i++;
		end = i;
		while (end > start && (p[end - 1] == ' ' ||
		    p[end - 1] == '\t'))
			end--;
		if (end > start && hdr_is(p + start, end - start, tok))
			return (1);
	}
	return (0);
}

static int
parse_reqline(const char *p, size_t n, struct http_req *req)
{
	const char	*t, *v, *q;
	size_t		 i, ml, tl, keep;

	for (ml = 0; ml < n && tchar(p[ml]); ml++)
		;
	if (ml == 0 || ml >= HTTP_METHOD_MAX || ml == n || p[ml] != ' ') {
		req->error = "Invalid method";
		return (400);
	}
	memcpy(req->method_str, p, ml);
	req->method_str[ml] = '\0';
	if (strcmp(req->method_str, "GET") == 0)
		req->method = HTTP_M_GET;
	else if (strcmp(req->method_str, "HEAD") == 0)
		req->method = HTTP_M_HEAD;
	else if (strcmp(req->method_str, "POST") == 0)
		req->method = HTTP_M_POST;
	else if (strcmp(req->method_str, "PUT") == 0)
		req->method = HTTP_M_PUT;
	else if (strcmp(req->method_str, "DELETE") == 0)
		req->method = HTTP_M_DELETE;
	else if (strcmp(req->method_str, "PATCH") == 0)
		req->method = HTTP_M_PATCH;
	else if (strcmp(req->method_str, "OPTIONS") == 0)
		req->method = HTTP_M_OPTIONS;
	else
		req->method = HTTP_M_OTHER;

	t = p + ml + 1;
	for (tl = 0; t + tl < p + n && t[tl] != ' '; tl++) {
		if ((unsigned char)t[tl] <= 0x20 ||
		    (unsigned char)t[tl] >= 0x7f) {
			req->error = "Invalid request target";
			return (400);
		}
	}
	if (tl == 0 || t + tl == p + n) {
		req->error = "Invalid request line";
		return (400);
	}
	keep = tl < sizeof(req->logpath) ? tl : sizeof(req->logpath) - 1;
	memcpy(req->logpath, t, keep);
	req->logpath[keep] = '\0';
	if (keep < tl)
		memcpy(req->logpath + keep - 3, "...", 3);

	/* The version: exactly HTTP/d.d and nothing after it. */
	v = t + tl + 1;
	if ((size_t)(p + n - v) != 8 || strncmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
	    v[7] > '9') {
		req->error = "Invalid HTTP version";
		return (400);
	}
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
		req->error = "Only HTTP/1.0 and HTTP/1.1 are supported";
		return (505);
	}
	req->minor = v[7] - '0';

	/* origin-form, absolute-form (the authority is ignored), "*" */
	if (tl >= 7 && (strncasecmp(t, "http://", 7) == 0 ||
	    (tl >= 8 && strncasecmp(t, "https://", 8) == 0))) {
		i = t[4] == ':' ? 7 : 8;
		while (i < tl && t[i] != '/' && t[i] != '?')
			i++;
		if (i == tl || t[i] != '/') {
			req->error = "Invalid request target";
			return (400);
		}
		t += i;
		tl -= i;
	} else if (tl == 1 && t[0] == '*') {
		if (req->method != HTTP_M_OPTIONS) {
			req->error = "Invalid request target";
			return (400);
		}
	} else if (t[0] != '/') {
		req->error = "Invalid request target";
		return (400);
	}
	req->path = t;
	req->pathlen = tl;
	if ((q = memchr(t, '?', tl)) != NULL) {
		req->pathlen = q - t;
		req->query = q + 1;
		req->querylen = tl - req->pathlen - 1;
		/* the head is drained before a handler runs: keep a copy */
		field_copy(req->query, req->querylen, req->qcopy,
		    sizeof(req->qcopy), &req->qcopy_state);
	}
	return (0);
}

/* the names the cookies have under this issuer (see http_set_cookie_name) */
static char	 cookie_name[CERTAOS_MAX_COOKIE_PREFIX + 48] =
    CERTAOS_COOKIE_PREFIX ".session_token";
static char	 dontrem_name[CERTAOS_MAX_COOKIE_PREFIX + 48] =
    CERTAOS_COOKIE_PREFIX ".dont_remember";

/*
 * An https issuer sets __Secure-<prefix>.session_token and reads that
 * name only, as Better Auth does: a browser keeps __Secure- cookies for
 * what came over TLS, so a plain one that someone set over HTTP for the
 * domain cannot pass for ours (session fixation).
 */
void
http_set_cookie_name(const char *prefix, int secure)
{
	(void)snprintf(cookie_name, sizeof(cookie_name),
	    "%s%s.session_token", secure ? "__Secure-" : "", prefix);
	(void)snprintf(dontrem_name, sizeof(dontrem_name),
	    "%s%s.dont_remember", secure ? "__Secure-" : "", prefix);
}

/* Copy a field value into dst; the state says whether it fit, once. */
static void
field_copy(const char *v, size_t vl, char *dst, size_t dstsz, int *state)
{
	if (*state != HTTP_F_ABSENT || vl >= dstsz) {
		*state = HTTP_F_BAD;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	*state = HTTP_F_OK;
}

/*
 * Cookie: a=b; c=d.  Only the session cookie and dont_remember are
 * kept, the first of each.
 */
static void
field_cookie(const char *v, size_t vl, struct http_req *req)
{
	const char	*end = v + vl, *p, *semi, *eq;
	size_t		 nlen;

	req->ncookies++;
	for (p = v; p < end; p = semi + 1) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((semi = memchr(p, ';', end - p)) == NULL)
			semi = end;
		if ((eq = memchr(p, '=', semi - p)) == NULL)
			continue;
		nlen = eq - p;
		if (nlen == strlen(cookie_name) &&
		    memcmp(p, cookie_name, nlen) == 0) {
			if (req->cookie_state == HTTP_F_OK)
				continue;	/* the first one counts */
			req->cookie_state = HTTP_F_ABSENT;
			field_copy(eq + 1, semi - eq - 1, req->cookie,
			    sizeof(req->cookie), &req->cookie_state);
		} else if (nlen == strlen(dontrem_name) &&
		    memcmp(p, dontrem_name, nlen) == 0) {
			if (req->dontrem_state == HTTP_F_OK)
				continue;
			req->dontrem_state = HTTP_F_ABSENT;
			field_copy(eq + 1, semi - eq - 1, req->dontrem,
			    sizeof(req->dontrem), &req->dontrem_state);
		}
		if (semi == end)
			break;
	}
}

static void
field_authorization(const char *v, size_t vl, struct http_req *req)
{
	if (vl < 7 || strncasecmp(v, "bearer ", 7) != 0) {
		if (req->bearer_state == HTTP_F_ABSENT)
			return;		/* Basic and others: not ours */
		req->bearer_state = HTTP_F_BAD;
		return;
	}
	v += 7;
	vl -= 7;
	while (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	field_copy(v, vl, req->bearer, sizeof(req->bearer),
	    &req->bearer_state);
}

static void
field_ctype(const char *v, size_t vl, struct http_req *req)
{
	size_t	 i, n;

	for (n = 0; n < vl && v[n] != ';' && v[n] != ' ' && v[n] != '\t'; n++)
		;
	field_copy(v, n, req->ctype, sizeof(req->ctype), &req->ctype_state);
	for (i = 0; req->ctype[i] != '\0'; i++)
		if (req->ctype[i] >= 'A' && req->ctype[i] <= 'Z')
			req->ctype[i] += 'a' - 'A';
}

/* X-Forwarded-For: keep the last hop (the one our proxy added). */
static void
field_xff(const char *v, size_t vl, struct http_req *req)
{
	const char	*p;
	size_t		 n;

	if ((p = memrchr(v, ',', vl)) != NULL)
		p++;
	else
		p = v;
	n = v + vl - p;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	req->xff_state = HTTP_F_ABSENT;	/* the last field wins */
	field_copy(p, n, req->xff, sizeof(req->xff), &req->xff_state);
}

static int
parse_field(const char *p, size_t n, struct http_req *req, int *nhost,
    int *te, int *conn)
{
	const char	*v;
	size_t		 nl, vl, i;
	unsigned char	 ch;
	int64_t		 cl;

	if (p[0] == ' ' || p[0] == '\t') {
		req->error = "Obsolete line folding";
		return (400);
	}
	for (nl = 0; nl < n && tchar(p[nl]); nl++)
		;
	if (nl == 0 || nl == n || p[nl] != ':') {
		req->error = "Invalid header field";
		return (400);
	}
	v = p + nl + 1;
	vl = n - nl - 1;
	while (vl > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (i = 0; i < vl; i++) {
		ch = v[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			req->error = "Invalid header field value";
			return (400);
		}
	}

	if (hdr_is(p, nl, "content-length")) {
		if (req->clen != -1) {
			req->error = "Repeated Content-Length";
			return (400);
		}
		if (vl == 0 || vl > 18) {
			req->error = "Invalid Content-Length";
			return (400);
		}
		for (cl = 0, i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9') {
				req->error = "Invalid Content-Length";
				return (400);
			}
			cl = cl * 10 + (v[i] - '0');
		}
		req->clen = cl;
	} else if (hdr_is(p, nl, "transfer-encoding")) {
		*te = 1;
	} else if (hdr_is(p, nl, "host")) {
		(*nhost)++;
	} else if (hdr_is(p, nl, "connection")) {
		if (token_list_has(v, vl, "close"))
			*conn |= 1;
		if (token_list_has(v, vl, "keep-alive"))
			*conn |= 2;
	} else if (hdr_is(p, nl, "cookie")) {
		field_cookie(v, vl, req);
	} else if (hdr_is(p, nl, "authorization")) {
		field_authorization(v, vl, req);
	} else if (hdr_is(p, nl, "access-control-request-method")) {
		req->acrm_state = vl > 0 ? HTTP_F_OK : HTTP_F_BAD;
	} else if (hdr_is(p, nl, "origin")) {
		field_copy(v, vl, req->origin, sizeof(req->origin),
		    &req->origin_state);
	} else if (hdr_is(p, nl, "content-type")) {
		field_ctype(v, vl, req);
	} else if (hdr_is(p, nl, "user-agent")) {
		if (vl > CERTAOS_MAX_UA)
			vl = CERTAOS_MAX_UA;
		memcpy(req->ua, v, vl);
		req->ua[vl] = '\0';
	} else if (hdr_is(p, nl, "x-forwarded-for")) {
		field_xff(v, vl, req);
	} else if (hdr_is(p, nl, "expect")) {
		if (vl != 12 || strncasecmp(v, "100-continue", 12) != 0) {
			req->error = "Unsupported expectation";
			return (417);
		}
		req->expect_continue = 1;
	}
	return (0);
}

int
http_parse_head(const char *buf, size_t headlen, struct http_req *req)
{
	const char	*p, *end, *eol;
	int		 r, nhost = 0, te = 0, conn = 0;

	memset(req, 0, sizeof(*req));
	req->clen = -1;
	req->headlen = headlen;
	p = buf;
	end = buf + headlen;

	if ((eol = memchr(p, '\r', end - p)) == NULL || eol == p) {
		req->error = "Invalid request line";
		return (400);
	}
	if ((r = parse_reqline(p, eol - p, req)) != 0)
		return (r);
	for (p = eol + 2; p < end; p = eol + 2) {
		if ((eol = memchr(p, '\r', end - p)) == NULL) {
			req->error = "Invalid header";
			return (400);
		}
		if (eol == p)
			break;
		if ((r = parse_field(p, eol - p, req, &nhost, &te,
		    &conn)) != 0)
			return (r);
	}

	if (te) {
		if (req->minor == 0 || req->clen != -1) {
			req->error = "Transfer-Encoding not allowed here";
			return (400);
		}
		req->error = "Send the body with a Content-Length";
		return (411);
	}
	if ((req->minor == 1 && nhost != 1) || nhost > 1) {
		req->error = "Missing or repeated Host";
		return (400);
	}
	if (req->minor == 1)
		req->keepalive = (conn & 1) == 0;
	else
		req->keepalive = (conn & 2) && (conn & 1) == 0;
	if (req->minor == 0)
		req->expect_continue = 0;
	return (0);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100:	return ("Continue");
	case 200:	return ("OK");
	case 204:	return ("No Content");
	case 302:	return ("Found");
	case 303:	return ("See Other");
	case 400:	return ("Bad Request");
	case 401:	return ("Unauthorized");
	case 403:	return ("Forbidden");
	case 404:	return ("Not Found");
	case 405:	return ("Method Not Allowed");
	case 408:	return ("Request Timeout");
	case 411:	return ("Length Required");
	case 413:	return ("Payload Too Large");
	case 414:	return ("URI Too Long");
	case 417:	return ("Expectation Failed");
	case 429:	return ("Too Many Requests");
	case 431:	return ("Request Header Fields Too Large");
	case 500:	return ("Internal Server Error");
	case 503:	return ("Service Unavailable");
	case 505:	return ("HTTP Version Not Supported");
	default:	return ("Unknown");
	}
}

const char *
http_errcode(int status)
{
	switch (status) {
	case 400:	return ("BAD_REQUEST");
	case 401:	return ("UNAUTHORIZED");
	case 403:	return ("FORBIDDEN");
	case 404:	return ("NOT_FOUND");
	case 405:	return ("METHOD_NOT_ALLOWED");
	case 408:	return ("REQUEST_TIMEOUT");
	case 411:	return ("LENGTH_REQUIRED");
	case 413:	return ("PAYLOAD_TOO_LARGE");
	case 414:	return ("URI_TOO_LONG");
	case 417:	return ("EXPECTATION_FAILED");
	case 429:	return ("TOO_MANY_REQUESTS");
	case 431:	return ("REQUEST_HEADER_FIELDS_TOO_LARGE");
	case 503:	return ("SERVICE_UNAVAILABLE");
	case 505:	return ("HTTP_VERSION_NOT_SUPPORTED");
	default:	return ("INTERNAL_SERVER_ERROR");
	}
}

/*
 * Listeners.
 */

void
http_init(void)
{
	size_t	 i;

	for (i = 0; i < nitems(listeners); i++)
		listeners[i].fd = -1;
}

struct http_listener *
http_listener_get(uint32_t id)
{
	size_t	 i;

	for (i = 0; i < nitems(listeners); i++)
		if (listeners[i].fd != -1 && listeners[i].id == id)
			return (&listeners[i]);
	return (NULL);
}

struct http_listener *
http_listener_add(uint32_t id, int fd)
{
	struct http_listener	*l;
	size_t			 i;

	for (i = 0; i < nitems(listeners); i++) {
		l = &listeners[i];
		if (l->fd != -1)
			continue;
		memset(l, 0, sizeof(*l));
		l->id = id;
		l->fd = fd;
		if (accepting)
			listener_arm(l);
		return (l);
	}
	return (NULL);
}

void
http_listener_setfd(struct http_listener *l, int fd)
{
	if (l->evset) {
		event_del(&l->ev);
		l->evset = 0;
	}
	close(l->fd);
	l->fd = fd;
	if (accepting)
		listener_arm(l);
}

static int
pem_nopass(char *buf, int size, int rwflag, void *arg)
{
	return (-1);		/* encrypted keys are not supported */
}

static SSL_CTX *
tls_ctx_new(struct http_listener *l)
{
	SSL_CTX		*ctx;
	BIO		*bio = NULL;
	X509		*x;
	EVP_PKEY	*pkey;
	unsigned char	 sid[] = "certaos";

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_cipher_list(ctx,
	    "HIGH:!aNULL:!kRSA:!PSK:!SRP:!MD5:!RC4:!SHA1"))
		goto fail;
	(void)SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);

	if ((bio = BIO_new_mem_buf(l->cert, l->certlen)) == NULL)
		goto fail;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, pem_nopass, NULL)) == NULL)
		goto fail;
	if (!SSL_CTX_use_certificate(ctx, x)) {
		X509_free(x);
		goto fail;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, pem_nopass, NULL)) != NULL) {
		if (!SSL_CTX_add0_chain_cert(ctx, x)) {
			X509_free(x);
			goto fail;
		}
	}
	ERR_clear_error();		/* the end of the chain */
	BIO_free(bio);

	if ((bio = BIO_new_mem_buf(l->key, l->keylen)) == NULL)
		goto fail;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_nopass,
	    NULL)) == NULL)
		goto fail;
	BIO_free(bio);
	bio = NULL;
	if (!SSL_CTX_use_PrivateKey(ctx, pkey)) {
		EVP_PKEY_free(pkey);
		goto fail;
	}
	EVP_PKEY_free(pkey);
	if (!SSL_CTX_check_private_key(ctx))
		goto fail;
	return (ctx);

 fail:
	log_warnx("listener %s port %u: TLS: %s", l->addr, l->port,
	    ERR_error_string(ERR_get_error(), NULL));
	ERR_clear_error();
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return (NULL);
}

int
http_listener_pem(struct http_listener *l, int iskey, const void *data,
    size_t len)
{
	unsigned char	**buf = iskey ? &l->key : &l->cert;
	size_t		 *blen = iskey ? &l->keylen : &l->certlen;

	if (*buf == NULL) {
		if ((*buf = calloc(1, CERTAOS_MAX_TLSFILE)) == NULL)
			fatal("%s", __func__);
		*blen = 0;
	}
	if (len > CERTAOS_MAX_TLSFILE - *blen)
		return (-1);
	memcpy(*buf + *blen, data, len);
	*blen += len;
	return (0);
}

static void
listener_pem_clear(struct http_listener *l)
{
	if (l->key != NULL)
		freezero(l->key, CERTAOS_MAX_TLSFILE);
	free(l->cert);
	l->key = l->cert = NULL;
	l->keylen = l->certlen = 0;
}

int
http_tls_configure(void)
{
	struct http_listener	*l;
	SSL_CTX			*ctx;
	size_t			 i;
	int			 rv = 0;

	for (i = 0; i < nitems(listeners); i++) {
		l = &listeners[i];
		if (l->fd == -1)
			continue;
		if (l->tls && l->cert != NULL && l->key != NULL) {
			if ((ctx = tls_ctx_new(l)) == NULL)
				rv = -1;
			else {
				SSL_CTX_free(l->ctx);
				l->ctx = ctx;
			}
		} else if (l->tls && l->ctx == NULL) {
			log_warnx("listener %s port %u: no certificate or key",
			    l->addr, l->port);
			rv = -1;
		}
		listener_pem_clear(l);
	}
	return (rv);
}

static void
listener_arm(struct http_listener *l)
{
	if (l->evset)
		return;
	event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, http_accept, l);
	event_base_set(proc_self->evbase, &l->ev);
	if (!accept_paused)
		event_add(&l->ev, NULL);
	l->evset = 1;
}

void
http_start(void)
{
	size_t	 i;

	if (accepting)
		return;
	accepting = 1;
	for (i = 0; i < nitems(listeners); i++)
		if (listeners[i].fd != -1)
			listener_arm(&listeners[i]);
}

int
http_nconns(void)
{
	return (nconns);
}

static void
accept_pause(int backoff)
{
	struct timeval	 tv = { HTTP_ACCEPT_BACKOFF, 0 };
	size_t		 i;

	if (!accept_paused) {
		for (i = 0; i < nitems(listeners); i++)
			if (listeners[i].evset)
				event_del(&listeners[i].ev);
		accept_paused = 1;
	}
	if (backoff && !accept_timer_set) {
		evtimer_set(&accept_timer, accept_resume, NULL);
		event_base_set(proc_self->evbase, &accept_timer);
		evtimer_add(&accept_timer, &tv);
		accept_timer_set = 1;
	}
}

static void
accept_resume(int fd, short ev, void *arg)
{
	size_t	 i;

	if (arg == NULL)		/* the backoff timer */
		accept_timer_set = 0;
	if (!accept_paused || accept_timer_set ||
	    nconns >= CERTAOS_MAX_CLIENTS)
		return;
	accept_paused = 0;
	for (i = 0; i < nitems(listeners); i++)
		if (listeners[i].evset)
			event_add(&listeners[i].ev, NULL);
}

static void
http_accept(int fd, short ev, void *arg)
{
	struct http_listener	*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	int			 i, s;

	for (i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		if (nconns >= CERTAOS_MAX_CLIENTS) {
			accept_pause(0);
			return;
		}
		slen = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &slen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			switch (errno) {
			case EAGAIN:
			case EINTR:
			case ECONNABORTED:
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("accept");
				accept_pause(1);
				return;
			default:
				log_warn("accept");
				return;
			}
		}
		conn_new(l, s, &ss, slen);
	}
}

/*
 * Connections.
 */

static void
conn_new(struct http_listener *l, int s, struct sockaddr_storage *ss,
    socklen_t slen)
{
	struct http_conn	*c;
	struct timeval		 tv;
	SSL			*ssl;
	int			 one = 1;
	char			 a[INET6_ADDRSTRLEN];

	if (l->tls && l->ctx == NULL) {
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->listener = l;
	(void)strlcpy(c->peer, "-", sizeof(c->peer));
	if (ss->ss_family == AF_INET && inet_ntop(AF_INET,
	    &((struct sockaddr_in *)ss)->sin_addr, a, sizeof(a)) != NULL)
		(void)strlcpy(c->peer, a, sizeof(c->peer));
	else if (ss->ss_family == AF_INET6 && inet_ntop(AF_INET6,
	    &((struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a)) != NULL)
		(void)strlcpy(c->peer, a, sizeof(c->peer));

	if (l->tls) {
		if ((ssl = SSL_new(l->ctx)) == NULL)
			fatalx("%s: SSL_new", __func__);
		c->bev = bufferevent_openssl_socket_new(proc_self->evbase, s,
		    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev,
			    1);
	} else
		c->bev = bufferevent_socket_new(proc_self->evbase, s,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("%s: bufferevent", __func__);
	evtimer_set(&c->timer, conn_timeout, c);
	event_base_set(proc_self->evbase, &c->timer);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	tv.tv_sec = http_limits.timeout_idle;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ);
	c->state = HTTP_S_HEAD;
	conn_timer(c, http_limits.timeout_header);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
}

static void
conn_free(struct http_conn *c)
{
	if (c->state == HTTP_S_WAIT || c->waitlist)
		route_cancel(c);
	evtimer_del(&c->timer);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	free(c);
	if (accept_paused && !accept_timer_set)
		accept_resume(-1, 0, &conns);
}

/* Stop reading and close once what is queued has been written. */
static void
conn_close(struct http_conn *c)
{
	c->state = HTTP_S_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_timer(c, 0);	/* go on from the loop */
	else
		evtimer_del(&c->timer);
}

/*
 * The last response is written.  Closing now, with unread bytes from the
 * client in our socket, would send a reset that can destroy the response
 * before the client reads it: send our FIN, then read and drop what
 * still comes for a moment (plain HTTP; TLS connections just close).
 */
static void
conn_linger(struct http_conn *c)
{
	int	 fd;

	if (c->listener->tls || c->eof ||
	    (fd = bufferevent_getfd(c->bev)) == -1 ||
	    shutdown(fd, SHUT_WR) == -1) {
		conn_free(c);
		return;
	}
	c->state = HTTP_S_LINGER;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ);
	conn_timer(c, HTTP_LINGER);
}

static void
conn_timer(struct http_conn *c, int secs)
{
	struct timeval	 tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(&c->timer, &tv);
}

static void
conn_timeout(int fd, short ev, void *arg)
{
	struct http_conn	*c = arg;

	switch (c->state) {
	case HTTP_S_HEAD:
		if (!c->started) {
			conn_free(c);	/* idle: close quietly */
			return;
		}
		/* FALLTHROUGH */
	case HTTP_S_BODY:
		http_error(c, 408, NULL);
		break;
	case HTTP_S_WAIT:
		if (c->wait_cb != NULL)
			c->wait_cb(c);
		else
			http_error(c, 503, NULL);
		break;
	case HTTP_S_CLOSING:
		conn_linger(c);
		break;
	case HTTP_S_LINGER:
		conn_free(c);
		break;
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in;

	in = bufferevent_get_input(bev);
	if (c->state == HTTP_S_LINGER) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->state == HTTP_S_WAIT) {
		/*
		 * Pipelined requests wait in the buffer for the answer in
		 * hand; past what one request may hold, reading stops
		 * until then (http_respond enables it again).
		 */
		if (evbuffer_get_length(in) >
		    (size_t)http_limits.max_header + http_limits.max_body)
			bufferevent_disable(bev, EV_READ);
		return;
	}
	if (c->state == HTTP_S_BODY)
		conn_timer(c, http_limits.timeout_idle);
	conn_process(c);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->state == HTTP_S_CLOSING) {
		conn_linger(c);
		return;
	}
	if (c->paused) {
		c->paused = 0;
		if (c->state == HTTP_S_HEAD || c->state == HTTP_S_BODY)
			bufferevent_enable(bev, EV_READ);
		conn_process(c);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;
	unsigned long		 e;

	if (what == BEV_EVENT_CONNECTED)	/* TLS handshake done */
		return;

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    !c->eof && c->state != HTTP_S_CLOSING) {
		/* Half-closed: answer what was sent, then close. */
		c->eof = 1;
		conn_process(c);
		if (c->state == HTTP_S_HEAD || c->state == HTTP_S_BODY)
			conn_close(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (c->listener->tls && (e = bufferevent_get_openssl_error(
		    bev)) != 0)
			log_debug("%s: TLS: %s", c->peer,
			    ERR_error_string(e, NULL));
		else
			log_debug("%s: connection error: %s", c->peer,
			    strerror(EVUTIL_SOCKET_ERROR()));
	}
	conn_free(c);
}

static void
conn_process(struct http_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	c->processing = 1;
	while (c->state == HTTP_S_HEAD || c->state == HTTP_S_BODY) {
		if (evbuffer_get_length(out) > HTTP_MAX_OUTPUT) {
			c->paused = 1;
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		if (c->state == HTTP_S_HEAD) {
			if (conn_head(c) == 0)
				break;
		} else if (conn_body(c) == 0)
			break;
	}
	c->processing = 0;
}

/* Returns 1 if the state moved on, 0 if more input is needed. */
static int
conn_head(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	const char	*p;
	size_t		 len, n;
	int		 r;

	if ((len = evbuffer_get_length(in)) == 0)
		return (0);
	if (!c->started) {
		c->started = 1;
		(void)clock_gettime(CLOCK_MONOTONIC, &c->t0);
		memset(&c->scan, 0, sizeof(c->scan));
		memset(&c->req, 0, sizeof(c->req));
		c->req.clen = -1;
		conn_timer(c, http_limits.timeout_header);
	}
	n = len > http_limits.max_header ? http_limits.max_header + 1 : len;
	if ((p = (const char *)evbuffer_pullup(in, n)) == NULL)
		fatal("%s: evbuffer_pullup", __func__);
	r = http_scan_head(p, n, http_limits.max_header, &c->scan);
	if (r == HTTP_SCAN_MORE)
		return (0);
	if (r != HTTP_SCAN_DONE) {
		http_error(c, r, c->scan.error);
		return (1);
	}
	if ((r = http_parse_head(p, c->scan.headlen, &c->req)) != 0) {
		http_error(c, r, c->req.error);
		return (1);
	}
	c->route = route_find(c->req.path, c->req.pathlen);
	evbuffer_drain(in, c->scan.headlen);

	if (c->req.clen > (int64_t)http_limits.max_body) {
		http_error(c, 413, NULL);
		return (1);
	}
	if (c->req.clen > 0) {
		if (c->req.expect_continue &&
		    evbuffer_get_length(in) < (size_t)c->req.clen)
			bufferevent_write(c->bev,
			    "HTTP/1.1 100 Continue\r\n\r\n", 25);
		c->state = HTTP_S_BODY;
		conn_timer(c, http_limits.timeout_idle);
		return (1);
	}
	conn_dispatch(c, NULL, 0);
	return (1);
}

static int
conn_body(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	const char	*p;
	size_t		 n = c->req.clen;

	if (evbuffer_get_length(in) < n)
		return (0);
	if ((p = (const char *)evbuffer_pullup(in, n)) == NULL)
		fatal("%s: evbuffer_pullup", __func__);
	conn_dispatch(c, p, n);
	evbuffer_drain(in, n);
	return (1);
}

static void
conn_dispatch(struct http_conn *c, const char *body, size_t len)
{
	static const char err405[] = "{\"message\":\"Method not allowed\","
	    "\"code\":\"METHOD_NOT_ALLOWED\"}";
	const char	*allow;
	char		 hdr[64];

	c->nreq++;
	/* a browser's question before the request: not counted */
	if (c->req.method == HTTP_M_OPTIONS && c->route != ROUTE_NONE) {
		http_preflight(c);
		return;
	}
	/* before routing, as Better Auth: unknown paths count too */
	if (ratelimit_check(c))
		return;
	if (c->route == ROUTE_NONE) {
		http_error(c, 404, NULL);
		return;
	}
	if (route_method_ok(c->route, c->req.method, &allow) == -1) {
		(void)snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
		http_respond(c, 405, "application/json", hdr, err405,
		    sizeof(err405) - 1);
		return;
	}
	c->state = HTTP_S_WAIT;		/* until the handler answers */
	route_dispatch(c, body, len);
}

/*
 * X-Forwarded-For is believed only from a trusted proxy, and only its
 * last hop, the one that proxy added; a hop that is not an address
 * leaves the proxy's own.
 */
const char *
http_client_ip(struct http_conn *c)
{
	struct in6_addr	 in6;

	if (c->req.xff_state == HTTP_F_OK && ratelimit_trusted(c->peer) &&
	    (inet_pton(AF_INET, c->req.xff, &in6) == 1 ||
	    inet_pton(AF_INET6, c->req.xff, &in6) == 1))
		return (c->req.xff);
	return (c->peer);
}

void
http_wait(struct http_conn *c, int secs, http_wait_cb cb)
{
	/*
	 * Reading goes on (conn_read keeps what comes for after the
	 * answer): disabling and enabling it again would cost two
	 * epoll_ctl calls a request.
	 */
	c->state = HTTP_S_WAIT;
	c->wait_cb = cb;
	if (secs > 0)
		conn_timer(c, secs);
	else
		evtimer_del(&c->timer);
}

static const char *
http_date(void)
{
	static char	 buf[40];
	static time_t	 last;
	struct tm	 tm;
	time_t		 now;

	now = time(NULL);
	if (now != last || buf[0] == '\0') {
		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT",
		    &tm) == 0)
			(void)strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 GMT",
			    sizeof(buf));
		last = now;
	}
	return (buf);
}

static void
conn_send(struct http_conn *c, struct iovec *iov, int iovcnt)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct msghdr	 msg;
	ssize_t		 n = 0;
	int		 fd, i;

	/* Plain HTTP with nothing queued: straight to the socket. */
	if (!c->listener->tls && evbuffer_get_length(out) == 0 &&
	    (fd = bufferevent_getfd(c->bev)) != -1) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = iovcnt;
		do {
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1)
			n = 0;	/* the bufferevent will see the error */
	}
	for (i = 0; i < iovcnt; i++) {
		if ((size_t)n >= iov[i].iov_len) {
			n -= iov[i].iov_len;
			continue;
		}
		if (evbuffer_add(out, (char *)iov[i].iov_base + n,
		    iov[i].iov_len - n) == -1)
			fatal("%s: evbuffer_add", __func__);
		n = 0;
	}
}

static void
conn_log(struct http_conn *c, int status, size_t bytes)
{
	struct timespec	 t1;
	long long	 us;
	char		 m[HTTP_METHOD_MAX * 4 + 1];
	char		 p[HTTP_LOGPATH_MAX * 4 + 1];

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (long long)(t1.tv_sec - c->t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - c->t0.tv_nsec) / 1000;
	log_info("%s \"%s %s\" %d %zu %lldus", c->peer,
	    c->req.method_str[0] != '\0' ?
	    str_escape(c->req.method_str, m, sizeof(m)) : "-",
	    c->req.logpath[0] != '\0' ?
	    str_escape(c->req.logpath, p, sizeof(p)) : "-",
	    status, bytes, us);
}

/*
 * CORS, for the issuer's origin and trusted-origins only (Better Auth
 * sends none): the Origin echoed, with credentials, and the headers a
 * client must read.  Another origin gets nothing, so its scripts can
 * read no answer.
 */
static void
http_cors(struct http_conn *c, const char *extra, char *buf, size_t len)
{
	buf[0] = '\0';
	if (c->req.origin_state != HTTP_F_OK || !auth_origin_trusted(
	    c->req.origin))
		return;
	(void)snprintf(buf, len, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Allow-Credentials: true\r\n"
	    "Vary: Origin\r\n%s", c->req.origin,
	    extra != NULL && strcasestr(extra,
	    "Access-Control-Expose-Headers:") != NULL ? "" :
	    "Access-Control-Expose-Headers: set-auth-token, set-auth-jwt\r\n");
}

/*
 * A preflight (OPTIONS with Access-Control-Request-Method) from a
 * trusted origin: 204 with what the route takes.  Anything else that
 * is OPTIONS: 404, as Better Auth answers it.
 */
static void
http_preflight(struct http_conn *c)
{
	char		 hdr[256];
	const char	*allow;

	if (c->req.origin_state != HTTP_F_OK ||
	    c->req.acrm_state != HTTP_F_OK ||
	    !auth_origin_trusted(c->req.origin)) {
		http_error(c, 404, NULL);
		return;
	}
	(void)route_method_ok(c->route, HTTP_M_OTHER, &allow);
	(void)snprintf(hdr, sizeof(hdr),
	    "Access-Control-Allow-Methods: %s\r\n"
	    "Access-Control-Allow-Headers: content-type, authorization\r\n"
	    "Access-Control-Max-Age: %d\r\n", allow, HTTP_CORS_MAXAGE);
	http_respond(c, 204, NULL, hdr, NULL, 0);
}

void
http_respond(struct http_conn *c, int status, const char *ctype,
    const char *extra, const void *body, size_t len)
{
	struct iovec	 iov[2];
	char		 head[16384];	/* a JWT header may be large */
	char		 cors[CERTAOS_MAX_ORIGIN + 256];
	char		 clen[48];
	const char	*conn;
	int		 n, close_after;

	if (c->state == HTTP_S_CLOSING || c->state == HTTP_S_LINGER)
		return;
	/* protocol errors close; a route's own answers do not */
	close_after = !c->req.keepalive || c->eof ||
	    (status >= 400 && c->state != HTTP_S_WAIT && status != 404 &&
	    status != 405 && status != 503 && status != 401 && status != 403);
	if (close_after)
		conn = "Connection: close\r\n";
	else if (c->req.minor == 0)
		conn = "Connection: keep-alive\r\n";
	else
		conn = "";
	if (c->req.method == HTTP_M_HEAD || body == NULL || status == 204)
		len = 0;
	http_cors(c, extra, cors, sizeof(cors));
	/* a 204 has no body, and says nothing of its length */
	if (status == 204)
		clen[0] = '\0';
	else
		(void)snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n",
		    len);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "%s%s%s"
	    "%s"
	    "Date: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s%s\r\n",
	    status, http_reason(status),
	    ctype != NULL ? "Content-Type: " : "",
	    ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "",
	    clen, http_date(), extra != NULL ? extra : "", cors, conn);
	if (n < 0 || (size_t)n >= sizeof(head))
		fatalx("%s: response head too long", __func__);
	iov[0].iov_base = head;
	iov[0].iov_len = n;
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	conn_send(c, iov, len > 0 ? 2 : 1);
	conn_log(c, status, len);

	c->started = 0;
	c->wait_cb = NULL;
	if (close_after) {
		conn_close(c);
		return;
	}
	c->state = HTTP_S_HEAD;
	conn_timer(c, http_limits.timeout_idle);
	if (!c->processing) {
		/* an answer that came later: go on with the next request */
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
	}
}

void
http_error(struct http_conn *c, int status, const char *message)
{
	char	 body[256];
	int	 n;

	if (message == NULL) {
		switch (status) {
		case 400:
			message = "Bad request";
			break;
		case 404:
			message = "Not found";
			break;
		case 408:
			message = "Request timeout";
			break;
		case 413:
			message = "Request body too large";
			break;
		case 414:
			message = "Request line too long";
			break;
		case 431:
			message = "Request header fields too large";
			break;
		case 503:
			message = "Service unavailable";
			break;
		default:
			message = http_reason(status);
			break;
		}
	}
	/*
	 * Codes and messages are our own constants: no escaping needed.
	 * The message first, as Better Auth writes them.
	 */
	n = snprintf(body, sizeof(body),
	    "{\"message\":\"%s\",\"code\":\"%s\"}",
	    message, http_errcode(status));
	if (n < 0 || (size_t)n >= sizeof(body))
		fatalx("%s: error body too long", __func__);
	http_respond(c, status, "application/json", NULL, body, n);
}
