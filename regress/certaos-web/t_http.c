/*
 * t_http: the request parser of certaos-web (http_scan_head and
 * http_parse_head), its limits at the limit and one byte over, and the
 * route table.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "certaos.h"
#include "../../libexec/certaos-web/http.h"

/* Scan all of s at once; the result of http_scan_head. */
static int
scan(const char *s, size_t len, size_t max, size_t *headlen)
{
	struct http_scan	 sc;
	int			 r;

	memset(&sc, 0, sizeof(sc));
	r = http_scan_head(s, len, max, &sc);
	if (headlen != NULL)
		*headlen = sc.headlen;
	return (r);
}

/* Scan and parse a complete head; the status (0 for a good one). */
static int
parse(const char *s, struct http_req *req)
{
	size_t	 headlen;
	int	 r;

	r = scan(s, strlen(s), 8192, &headlen);
	if (r != HTTP_SCAN_DONE)
		return (r == HTTP_SCAN_MORE ? -1 : r);
	return (http_parse_head(s, headlen, req));
}

/* A request of exactly len bytes, padded in an X-Pad header. */
static char *
request_of(size_t len)
{
	const char	*pre = "GET /health HTTP/1.1\r\nHost: a\r\nX-Pad: ";
	char		*s;
	size_t		 fixed;

	fixed = strlen(pre) + 4;
	ATF_REQUIRE(len > fixed);
	ATF_REQUIRE((s = malloc(len + 64)) != NULL);
	memcpy(s, pre, strlen(pre));
	memset(s + strlen(pre), 'x', len - fixed);
	memcpy(s + len - 4, "\r\n\r\n", 4);
	/* what a pipelining client would send next */
	memcpy(s + len, "GET / HTTP/1.1\r\n", 17);
	return (s);
}

ATF_TC_WITHOUT_HEAD(good_get);
ATF_TC_BODY(good_get, tc)
{
	struct http_req	 req;
	const char	*s = "GET /health?x=1 HTTP/1.1\r\nHost: localhost\r\n"
	    "User-Agent: t\r\n\r\n";

	ATF_REQUIRE_EQ(parse(s, &req), 0);
	ATF_CHECK_STREQ(req.method_str, "GET");
	ATF_CHECK_EQ(req.method, HTTP_M_GET);
	ATF_CHECK_EQ(req.pathlen, 7);
	ATF_CHECK(strncmp(req.path, "/health", 7) == 0);
	ATF_CHECK_EQ(req.querylen, 3);
	ATF_CHECK(strncmp(req.query, "x=1", 3) == 0);
	/* the handlers' copy, since the head is gone when they run */
	ATF_CHECK_EQ(req.qcopy_state, HTTP_F_OK);
	ATF_CHECK_STREQ(req.qcopy, "x=1");
	ATF_CHECK_STREQ(req.logpath, "/health?x=1");
	ATF_CHECK_EQ(req.minor, 1);
	ATF_CHECK_EQ(req.keepalive, 1);
	ATF_CHECK_EQ(req.clen, -1);
	ATF_CHECK_EQ(req.headlen, strlen(s));
}

ATF_TC_WITHOUT_HEAD(keepalive_rules);
ATF_TC_BODY(keepalive_rules, tc)
{
	struct http_req	 req;

	ATF_REQUIRE_EQ(parse("GET / HTTP/1.0\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.minor, 0);
	ATF_CHECK_EQ(req.keepalive, 0);
	ATF_REQUIRE_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n"
	    "\r\n", &req), 0);
	ATF_CHECK_EQ(req.keepalive, 1);
	ATF_REQUIRE_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: foo, close\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.keepalive, 0);
	ATF_REQUIRE_EQ(parse("HEAD / HTTP/1.1\r\nhost: a\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.method, HTTP_M_HEAD);
	ATF_CHECK_EQ(req.keepalive, 1);
}

ATF_TC_WITHOUT_HEAD(incremental);
ATF_TC_BODY(incremental, tc)
{
	struct http_scan	 sc;
	const char		*s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t			 i, len = strlen(s);

	memset(&sc, 0, sizeof(sc));
	for (i = 1; i < len; i++)
		ATF_REQUIRE_EQ_MSG(http_scan_head(s, i, 8192, &sc),
		    HTTP_SCAN_MORE, "at %zu bytes", i);
	ATF_REQUIRE_EQ(http_scan_head(s, len, 8192, &sc), HTTP_SCAN_DONE);
	ATF_CHECK_EQ(sc.headlen, len);
}

ATF_TC_WITHOUT_HEAD(pipelined);
ATF_TC_BODY(pipelined, tc)
{
	struct http_req	 req;
	const char	*s = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
	    "GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t		 off = 0, hl;

	ATF_REQUIRE_EQ(scan(s, strlen(s), 8192, &hl), HTTP_SCAN_DONE);
	ATF_REQUIRE_EQ(http_parse_head(s, hl, &req), 0);
	ATF_CHECK(strncmp(req.path, "/a", req.pathlen) == 0);
	off += hl;
	ATF_REQUIRE_EQ(scan(s + off, strlen(s + off), 8192, &hl),
	    HTTP_SCAN_DONE);
	ATF_REQUIRE_EQ(http_parse_head(s + off, hl, &req), 0);
	ATF_CHECK_EQ(req.method, HTTP_M_POST);
	ATF_CHECK_EQ(req.clen, 2);
	off += hl + req.clen;
	ATF_REQUIRE_EQ(scan(s + off, strlen(s + off), 8192, &hl),
	    HTTP_SCAN_DONE);
	ATF_REQUIRE_EQ(http_parse_head(s + off, hl, &req), 0);
	ATF_CHECK(strncmp(req.path, "/c", req.pathlen) == 0);
	ATF_CHECK_EQ(off + hl, strlen(s));
}

ATF_TC_WITHOUT_HEAD(max_header);
ATF_TC_BODY(max_header, tc)
{
	struct http_req	 req;
	struct http_scan sc;
	size_t		 hl, max = 1024;
	char		*s;

	/* exactly max bytes: accepted, even with more bytes behind */
	s = request_of(max);
	ATF_CHECK_EQ(scan(s, max, max, &hl), HTTP_SCAN_DONE);
	ATF_CHECK_EQ(scan(s, max + 17, max, &hl), HTTP_SCAN_DONE);
	ATF_CHECK_EQ(hl, max);
	ATF_CHECK_EQ(http_parse_head(s, hl, &req), 0);
	free(s);

	/* max + 1: 431 once the byte over the limit is there */
	s = request_of(max + 1);
	ATF_CHECK_EQ(scan(s, max, max, NULL), HTTP_SCAN_MORE);
	ATF_CHECK_EQ(scan(s, max + 1, max, NULL), 431);
	memset(&sc, 0, sizeof(sc));
	ATF_CHECK_EQ(http_scan_head(s, max, max, &sc), HTTP_SCAN_MORE);
	ATF_CHECK_EQ(http_scan_head(s, max + 18, max, &sc), 431);
	free(s);
}

ATF_TC_WITHOUT_HEAD(long_request_line);
ATF_TC_BODY(long_request_line, tc)
{
	char	 s[3000];

	memset(s, 'a', sizeof(s));
	memcpy(s, "GET /", 5);
	ATF_CHECK_EQ(scan(s, sizeof(s), 2048, NULL), 414);
	ATF_CHECK_EQ(scan(s, 2048, 2048, NULL), HTTP_SCAN_MORE);
	/* a method of absurd length */
	memset(s, 'G', sizeof(s));
	memcpy(s + 100, " / HTTP/1.1\r\nHost: a\r\n\r\n", 25);
	ATF_CHECK_EQ(scan(s, 125, 2048, NULL), HTTP_SCAN_DONE);
	{
		struct http_req	 req;

		ATF_CHECK_EQ(http_parse_head(s, 125, &req), 400);
		ATF_CHECK_STREQ(req.error, "Invalid method");
	}
}

ATF_TC_WITHOUT_HEAD(long_path_logged_cut);
ATF_TC_BODY(long_path_logged_cut, tc)
{
	struct http_req	 req;
	char		 s[4096];
	int		 n;

	n = snprintf(s, sizeof(s), "GET /%01000d HTTP/1.1\r\nHost: a\r\n\r\n",
	    7);
	ATF_REQUIRE(n > 1000 && (size_t)n < sizeof(s));
	ATF_REQUIRE_EQ(parse(s, &req), 0);
	ATF_CHECK_EQ(req.pathlen, 1001);
	ATF_CHECK_EQ(strlen(req.logpath), HTTP_LOGPATH_MAX - 1);
	ATF_CHECK(strcmp(req.logpath + HTTP_LOGPATH_MAX - 4, "...") == 0);
}

ATF_TC_WITHOUT_HEAD(long_query);
ATF_TC_BODY(long_query, tc)
{
	struct http_req	 req;
	char		 s[8192];
	int		 n;

	/* the longest query kept, then one byte more: marked bad */
	n = snprintf(s, sizeof(s), "GET /e?%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
	    HTTP_MAX_QUERY - 1, 0);
	ATF_REQUIRE(n > 0 && (size_t)n < sizeof(s));
	ATF_REQUIRE_EQ(parse(s, &req), 0);
	ATF_CHECK_EQ(req.qcopy_state, HTTP_F_OK);
	ATF_CHECK_EQ(strlen(req.qcopy), HTTP_MAX_QUERY - 1);
	n = snprintf(s, sizeof(s), "GET /e?%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
	    HTTP_MAX_QUERY, 0);
	ATF_REQUIRE_EQ(parse(s, &req), 0);
	ATF_CHECK_EQ(req.qcopy_state, HTTP_F_BAD);
	ATF_CHECK_STREQ(req.qcopy, "");
	/* no query at all */
	ATF_REQUIRE_EQ(parse("GET /e HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.qcopy_state, HTTP_F_ABSENT);
}

ATF_TC_WITHOUT_HEAD(content_length);
ATF_TC_BODY(content_length, tc)
{
	struct http_req	 req;
	const char	*bad[] = {
		"Content-Length: abc\r\n",
		"Content-Length: -1\r\n",
		"Content-Length: 1 2\r\n",
		"Content-Length: +5\r\n",
		"Content-Length:\r\n",
		"Content-Length: 0x10\r\n",
		"Content-Length: 5, 5\r\n",
		"Content-Length: 5\r\nContent-Length: 5\r\n",
		"Content-Length: 1234567890123456789\r\n",
	};
	char		 s[256];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		(void)snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nHost: a\r\n"
		    "%s\r\n", bad[i]);
		ATF_CHECK_EQ_MSG(parse(s, &req), 400, "%s", bad[i]);
	}
	ATF_REQUIRE_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "content-length:  42 \r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.clen, 42);
	ATF_REQUIRE_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.clen, 0);
}

ATF_TC_WITHOUT_HEAD(transfer_encoding);
ATF_TC_BODY(transfer_encoding, tc)
{
	struct http_req	 req;

	ATF_CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
	    400);
	ATF_CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", &req),
	    400);
	ATF_CHECK_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &req), 411);
	ATF_CHECK_EQ(parse("POST / HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &req), 400);
}

ATF_TC_WITHOUT_HEAD(nul_bytes);
ATF_TC_BODY(nul_bytes, tc)
{
	const char	 a[] = "GET /he\0lth HTTP/1.1\r\nHost: a\r\n\r\n";
	const char	 b[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	const char	 c[] = "\0\0\0\0";

	ATF_CHECK_EQ(scan(a, sizeof(a) - 1, 8192, NULL), 400);
	ATF_CHECK_EQ(scan(b, sizeof(b) - 1, 8192, NULL), 400);
	ATF_CHECK_EQ(scan(c, sizeof(c) - 1, 8192, NULL), 400);
}

ATF_TC_WITHOUT_HEAD(bare_lf_cr);
ATF_TC_BODY(bare_lf_cr, tc)
{
	struct http_scan sc;
	const char	*s;

	ATF_CHECK_EQ(scan("GET / HTTP/1.1\nHost: a\n\n", 24, 8192, NULL),
	    400);
	ATF_CHECK_EQ(scan("GET / HTTP/1.1\r\nHost: a\n\r\n", 26, 8192, NULL),
	    400);
	ATF_CHECK_EQ(scan("GET / HTTP/1.1\rHost: a\r\n\r\n", 26, 8192, NULL),
	    400);
	/* a CR at the end of one read, the bad byte in the next */
	s = "GET / HTTP/1.1\rX";
	memset(&sc, 0, sizeof(sc));
	ATF_CHECK_EQ(http_scan_head(s, 15, 8192, &sc), HTTP_SCAN_MORE);
	ATF_CHECK_EQ(http_scan_head(s, 16, 8192, &sc), 400);
	/* no request line */
	ATF_CHECK_EQ(scan("\r\n", 2, 8192, NULL), 400);
}

ATF_TC_WITHOUT_HEAD(versions);
ATF_TC_BODY(versions, tc)
{
	struct http_req	 req;

	ATF_CHECK_EQ(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &req), 505);
	ATF_CHECK_EQ(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &req), 505);
	ATF_CHECK_EQ(parse("GET / HTTP/0.9\r\nHost: a\r\n\r\n", &req), 505);
	/* the HTTP/2 connection preface */
	ATF_CHECK_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req), 505);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET / HTP/1.1\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET / http/1.1\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET /\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("\x16\x03\x01\x02\x05\x01\r\n\r\n", &req), 400);
	/* a TLS ClientHello on a plain port */
	ATF_CHECK_EQ(scan("\x16\x03\x01\x02\x00\x01", 6, 8192, NULL), 400);
}

ATF_TC_WITHOUT_HEAD(targets_and_methods);
ATF_TC_BODY(targets_and_methods, tc)
{
	struct http_req	 req;

	ATF_REQUIRE_EQ(parse("GET http://example.com/health HTTP/1.1\r\n"
	    "Host: example.com\r\n\r\n", &req), 0);
	ATF_CHECK(req.pathlen == 7 && strncmp(req.path, "/health", 7) == 0);
	ATF_CHECK_EQ(parse("GET http://example.com HTTP/1.1\r\nHost: a\r\n"
	    "\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET health HTTP/1.1\r\nHost: a\r\n\r\n", &req),
	    400);
	ATF_CHECK_EQ(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(parse("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", &req),
	    400);
	ATF_CHECK_EQ(parse("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", &req),
	    400);
	/* an unknown but well-formed method: the routes answer it */
	ATF_REQUIRE_EQ(parse("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", &req),
	    0);
	ATF_CHECK_EQ(req.method, HTTP_M_OTHER);
	ATF_CHECK_STREQ(req.method_str, "BREW");
	ATF_CHECK_EQ(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: a\r\n\r\n",
	    &req), 400);
	ATF_CHECK_EQ(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: a\r\n\r\n",
	    &req), 0);
}

ATF_TC_WITHOUT_HEAD(header_fields);
ATF_TC_BODY(header_fields, tc)
{
	struct http_req	 req;

	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\n\r\n", &req), 400);
	ATF_CHECK_STREQ(req.error, "Missing or repeated Host");
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	    &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
	    &req), 400);
	ATF_CHECK_STREQ(req.error, "Obsolete line folding");
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
	    &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", &req),
	    400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n",
	    &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
	    &req), 400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \xc3\xa9\r\n"
	    "\r\n", &req), 0);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue"
	    "\r\n\r\n", &req), 0);
	ATF_CHECK_EQ(req.expect_continue, 1);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: bogus\r\n"
	    "\r\n", &req), 417);
}

ATF_TC_WITHOUT_HEAD(error_codes);
ATF_TC_BODY(error_codes, tc)
{
	ATF_CHECK_STREQ(http_errcode(400), "BAD_REQUEST");
	ATF_CHECK_STREQ(http_errcode(404), "NOT_FOUND");
	ATF_CHECK_STREQ(http_errcode(405), "METHOD_NOT_ALLOWED");
	ATF_CHECK_STREQ(http_errcode(408), "REQUEST_TIMEOUT");
	ATF_CHECK_STREQ(http_errcode(413), "PAYLOAD_TOO_LARGE");
	ATF_CHECK_STREQ(http_errcode(431), "REQUEST_HEADER_FIELDS_TOO_LARGE");
	ATF_CHECK_STREQ(http_errcode(505), "HTTP_VERSION_NOT_SUPPORTED");
	ATF_CHECK_STREQ(http_reason(431), "Request Header Fields Too Large");
}

ATF_TC_WITHOUT_HEAD(routes);
ATF_TC_BODY(routes, tc)
{
	const char	*allow = NULL;

	ATF_REQUIRE_EQ(routes_configure("https://auth.example.com",
	    "/api/auth"), 0);
	ATF_CHECK_EQ(route_find("/health", 7), ROUTE_HEALTH);
	ATF_CHECK_EQ(route_find("/health/", 8), ROUTE_NONE);
	ATF_CHECK_EQ(route_find("/healt", 6), ROUTE_NONE);
	ATF_CHECK_EQ(route_find("/api/auth/jwks", 14), ROUTE_JWKS);
	ATF_CHECK_EQ(route_find("/jwks", 5), ROUTE_NONE);
	ATF_CHECK_EQ(route_find("/.well-known/openid-configuration", 33),
	    ROUTE_OIDC_CONFIG);
	ATF_CHECK_EQ(route_find("/api/auth/.well-known/openid-configuration",
	    42), ROUTE_OIDC_CONFIG_BASE);
	ATF_CHECK_EQ(route_find("/", 1), ROUTE_NONE);
	ATF_CHECK_EQ(route_method_ok(ROUTE_JWKS, HTTP_M_GET, &allow), 0);
	ATF_CHECK_EQ(route_method_ok(ROUTE_JWKS, HTTP_M_HEAD, &allow), 0);
	ATF_CHECK_EQ(route_method_ok(ROUTE_HEALTH, HTTP_M_POST, &allow), -1);
	ATF_CHECK_STREQ(allow, "GET, HEAD");

	/* another base path moves the routes */
	ATF_REQUIRE_EQ(routes_configure("http://127.0.0.1:8080/", "/auth"),
	    0);
	ATF_CHECK_EQ(route_find("/api/auth/jwks", 14), ROUTE_NONE);
	ATF_CHECK_EQ(route_find("/auth/jwks", 10), ROUTE_JWKS);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, good_get);
	ATF_TP_ADD_TC(tp, long_query);
	ATF_TP_ADD_TC(tp, keepalive_rules);
	ATF_TP_ADD_TC(tp, incremental);
	ATF_TP_ADD_TC(tp, pipelined);
	ATF_TP_ADD_TC(tp, max_header);
	ATF_TP_ADD_TC(tp, long_request_line);
	ATF_TP_ADD_TC(tp, long_path_logged_cut);
	ATF_TP_ADD_TC(tp, content_length);
	ATF_TP_ADD_TC(tp, transfer_encoding);
	ATF_TP_ADD_TC(tp, nul_bytes);
	ATF_TP_ADD_TC(tp, bare_lf_cr);
	ATF_TP_ADD_TC(tp, versions);
	ATF_TP_ADD_TC(tp, targets_and_methods);
	ATF_TP_ADD_TC(tp, header_fields);
	ATF_TP_ADD_TC(tp, error_codes);
	ATF_TP_ADD_TC(tp, routes);
	return (atf_no_error());
}
