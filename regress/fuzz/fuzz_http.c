/*
 * fuzz_http: the request parser of certaos-web (http_scan_head and
 * http_parse_head in libexec/certaos-web/http.c) on an arbitrary byte
 * stream, read the way conn_head() and conn_body() read a connection:
 * with the default limits, head after head, each body skipped by its
 * Content-Length, until the input ends or a request is refused.
 *
 * Properties checked: scanning a head in two calls gives what one call
 * gives; results are only the documented ones, each refusal with its
 * reason; a head ends in CRLF CRLF within max_header bytes; what
 * http_parse_head returns points into the head; the method and the
 * logged path are NUL-terminated within their arrays.  The scanner sees
 * an exact-size copy of what conn_head() would pass, the parser an
 * exact-size copy of the head, so a read past either is a crash.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "../../libexec/certaos-web/http.h"
#include "fuzz.h"

static int	 http_fz_ready;

static int	 http_fz_scan(const char *, size_t, size_t *);
static int	 http_fz_request(const char *, size_t, size_t *);

/* Scan buf[0..n) once and in two calls; both must agree. */
static int
http_fz_scan(const char *buf, size_t n, size_t *headlen)
{
	struct http_scan	 one, two;
	size_t			 max = http_limits.max_header, split;
	int			 r1, r2;

	memset(&one, 0, sizeof(one));
	r1 = http_scan_head(buf, n, max, &one);

	/* a read boundary somewhere in the bytes, chosen by the bytes */
	split = n > 0 ? (size_t)(unsigned char)buf[n - 1] * n / 256 : 0;
	memset(&two, 0, sizeof(two));
	r2 = http_scan_head(buf, split, max, &two);
	if (r2 == HTTP_SCAN_MORE)
		r2 = http_scan_head(buf, n, max, &two);
	FUZZ_ASSERT(r1 == r2);

	switch (r1) {
	case HTTP_SCAN_MORE:
		FUZZ_ASSERT(n <= max);
		break;
	case HTTP_SCAN_DONE:
		FUZZ_ASSERT(one.headlen == two.headlen);
		FUZZ_ASSERT(one.headlen >= 4 && one.headlen <= n &&
		    one.headlen <= max);
		FUZZ_ASSERT(memcmp(buf + one.headlen - 4, "\r\n\r\n", 4) == 0);
		FUZZ_ASSERT(memchr(buf, '\0', one.headlen) == NULL);
		*headlen = one.headlen;
		break;
	case 400:
	case 414:
	case 431:
		FUZZ_ASSERT(r1 == 400 || n > max);
		/* 414 and 431 take http_error()'s default message */
		if (r1 == 400)
			FUZZ_ASSERT(one.error != NULL && two.error != NULL);
		break;
	default:
		FUZZ_ASSERT(0 && "unexpected http_scan_head result");
	}
	return (r1);
}

/*
 * One request at the start of p[0..avail).  Returns 0 when the stream
 * goes on (*used: the bytes of the head and the body), -1 when it ends
 * (more input needed, or the connection would be closed).
 */
static int
http_fz_request(const char *p, size_t avail, size_t *used)
{
	struct http_req	 req;
	const char	*allow;
	char		*buf, *head;
	size_t		 n, headlen = 0, ml;
	int		 r, route;

	n = avail > http_limits.max_header ? http_limits.max_header + 1 :
	    avail;
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(buf, p, n);
	r = http_fz_scan(buf, n, &headlen);
	free(buf);
	if (r != HTTP_SCAN_DONE)
		return (-1);

	if ((head = malloc(headlen)) == NULL)
		abort();
	memcpy(head, p, headlen);
	r = http_parse_head(head, headlen, &req);
	FUZZ_ASSERT(req.headlen == headlen);
	ml = strnlen(req.method_str, sizeof(req.method_str));
	FUZZ_ASSERT(ml < sizeof(req.method_str));
	FUZZ_ASSERT(strnlen(req.logpath, sizeof(req.logpath)) <
	    sizeof(req.logpath));
	if (r != 0) {
		FUZZ_ASSERT(r == 400 || r == 411 || r == 417 || r == 505);
		FUZZ_ASSERT(req.error != NULL);
		free(head);
		return (-1);
	}
	FUZZ_ASSERT(ml > 0 && memcmp(head, req.method_str, ml) == 0);
	FUZZ_ASSERT(req.path >= head && req.pathlen > 0 &&
	    req.path + req.pathlen <= head + headlen);
	FUZZ_ASSERT(req.path[0] == '/' || (req.pathlen == 1 &&
	    req.path[0] == '*' && req.method == HTTP_M_OPTIONS));
	FUZZ_ASSERT(memchr(req.path, '?', req.pathlen) == NULL);
	if (req.query != NULL)
		FUZZ_ASSERT(req.query == req.path + req.pathlen + 1 &&
		    req.query + req.querylen <= head + headlen);
	FUZZ_ASSERT(req.minor == 0 || req.minor == 1);
	FUZZ_ASSERT(req.keepalive == 0 || req.keepalive == 1);
	FUZZ_ASSERT(req.clen >= -1 && req.clen < 1000000000000000000LL);
	FUZZ_ASSERT(req.error == NULL);

	/* what conn_head() does next */
	route = route_find(req.path, req.pathlen);
	if (route != ROUTE_NONE) {
		allow = NULL;
		if (route_method_ok(route, req.method, &allow) == -1)
			FUZZ_ASSERT(allow != NULL);
		else
			FUZZ_ASSERT(req.method == HTTP_M_GET ||
			    req.method == HTTP_M_HEAD);
	}
	free(head);

	if (req.clen > (int64_t)http_limits.max_body)
		return (-1);			/* 413 */
	if (req.clen > 0) {
		if ((uint64_t)req.clen > avail - headlen)
			return (-1);		/* the body is still coming */
		headlen += req.clen;
	}
	*used = headlen;
	return (0);
}

FUZZ_TARGET(http)
{
	size_t	 off = 0, used;

	if (!http_fz_ready) {
		if (routes_configure("https://auth.example.com",
		    "/api/auth") == -1)
			abort();
		http_fz_ready = 1;
	}
	while (off < size) {
		used = 0;
		if (http_fz_request((const char *)data + off, size - off,
		    &used) == -1)
			break;
		FUZZ_ASSERT(used > 0 && used <= size - off);
		off += used;
	}
	return (0);
}
