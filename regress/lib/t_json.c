/*
 * t_json: the writer (nesting, escaping, raw values, misuse) and the
 * request-body parser (types, every error message, depth, duplicates,
 * invalid UTF-8, non-object bodies, integer overflow).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "certaos.h"
#include "json.h"

static const char *
doc(struct json_out *j)
{
	const char	*s;
	size_t		 len;

	if ((s = jout_buf(j, &len)) == NULL)
		return ("(null)");
	ATF_CHECK_EQ(strlen(s), len);
	return (s);
}

ATF_TC_WITHOUT_HEAD(out_nested);
ATF_TC_BODY(out_nested, tc)
{
	struct json_out	*j;
	const char	*jwk = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}";

	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_key(j, "status");
	jout_str(j, "ok");
	jout_key(j, "n");
	jout_int(j, -9223372036854775807LL - 1);
	jout_key(j, "list");
	jout_arr_open(j);
	jout_int(j, 1);
	jout_bool(j, 1);
	jout_bool(j, 0);
	jout_null(j);
	jout_arr_open(j);
	jout_arr_close(j);
	jout_obj_open(j);
	jout_obj_close(j);
	jout_raw(j, jwk, strlen(jwk));
	jout_arr_close(j);
	jout_key(j, "keys");
	jout_arr_open(j);
	jout_raw(j, jwk, strlen(jwk));
	jout_raw(j, jwk, strlen(jwk));
	jout_arr_close(j);
	jout_key(j, "obj");
	jout_obj_open(j);
	jout_key(j, "inner");
	jout_strn(j, "abcdef", 3);
	jout_obj_close(j);
	jout_obj_close(j);
	ATF_CHECK_STREQ(doc(j),
	    "{\"status\":\"ok\",\"n\":-9223372036854775808,"
	    "\"list\":[1,true,false,null,[],{},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}],"
	    "\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}],"
	    "\"obj\":{\"inner\":\"abc\"}}");
	jout_free(j);

	/* a scalar is a document too */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_str(j, "x");
	ATF_CHECK_STREQ(doc(j), "\"x\"");
	jout_free(j);
}

ATF_TC_WITHOUT_HEAD(out_escape);
ATF_TC_BODY(out_escape, tc)
{
	struct json_out	*j;

	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_arr_open(j);
	jout_str(j, "q\"b\\s/\n\t\x01\x1f\x7f");
	/* U+00E9, U+20AC and U+1F511 pass as they are */
	jout_str(j, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
	jout_str(j, "bad\xff" "end");		/* invalid byte */
	jout_str(j, "\xc0\xaf");		/* overlong '/' */
	jout_str(j, "\xed\xa0\x80");		/* surrogate */
	jout_str(j, "\xe2\x82");		/* truncated sequence */
	jout_strn(j, "a\0b", 3);		/* NUL inside */
	jout_arr_close(j);
	ATF_CHECK_STREQ(doc(j),
	    "[\"q\\\"b\\\\s/\\u000a\\u0009\\u0001\\u001f\x7f\","
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\","
	    "\"bad\\ufffdend\","
	    "\"\\ufffd\\ufffd\","
	    "\"\\ufffd\\ufffd\\ufffd\","
	    "\"\\ufffd\\ufffd\","
	    "\"a\\u0000b\"]");
	jout_free(j);

	/* keys are escaped the same way */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_key(j, "k\"\n");
	jout_int(j, 0);
	jout_obj_close(j);
	ATF_CHECK_STREQ(doc(j), "{\"k\\\"\\u000a\":0}");
	jout_free(j);
}

ATF_TC_WITHOUT_HEAD(out_grow);
ATF_TC_BODY(out_grow, tc)
{
	struct json_out	*j;
	const char	*s;
	size_t		 len, i;

	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_arr_open(j);
	for (i = 0; i < 10000; i++)
		jout_int(j, i);
	jout_arr_close(j);
	ATF_REQUIRE((s = jout_buf(j, &len)) != NULL);
	ATF_CHECK_EQ(len, strlen(s));
	ATF_CHECK(strncmp(s, "[0,1,2,", 7) == 0);
	ATF_CHECK(strcmp(s + len - 11, ",9998,9999]") == 0);
	jout_free(j);
}

ATF_TC_WITHOUT_HEAD(out_misuse);
ATF_TC_BODY(out_misuse, tc)
{
	struct json_out	*j;

	/* a key outside an object */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_key(j, "k");
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* a value where a key is due */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_int(j, 1);
	jout_obj_close(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* a key without its value */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_key(j, "k");
	jout_obj_close(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* a key in an array */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_arr_open(j);
	jout_key(j, "k");
	jout_arr_close(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* left open */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_obj_close(j);
	ATF_CHECK_STREQ(doc(j), "{}");
	jout_free(j);

	/* mismatched close */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_arr_close(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* two top-level values */
	ATF_REQUIRE((j = jout_new()) != NULL);
	jout_obj_open(j);
	jout_obj_close(j);
	jout_obj_open(j);
	jout_obj_close(j);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);

	/* nothing at all */
	ATF_REQUIRE((j = jout_new()) != NULL);
	ATF_CHECK(jout_buf(j, NULL) == NULL);
	jout_free(j);
	jout_free(NULL);
}

/* The fields of a sign-up request, for the parser cases. */
struct req {
	char		 email[16];
	char		 name[8];
	int		 remember;
	long long	 age;
	struct jfield	 f[5];
	char		 err[128];
};

static void
req_init(struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->age = -1;
	r->f[0] = (struct jfield){ "email", JT_STRING, 1, r->email,
	    sizeof(r->email), 0 };
	r->f[1] = (struct jfield){ "name", JT_STRING, 0, r->name,
	    sizeof(r->name), 0 };
	r->f[2] = (struct jfield){ "rememberMe", JT_BOOL, 0, &r->remember,
	    0, 0 };
	r->f[3] = (struct jfield){ "age", JT_INT, 0, &r->age, 0, 0 };
	r->f[4] = (struct jfield){ "callbackURL", JT_ANY, 0, NULL, 0, 0 };
}

static int
parse(struct req *r, const char *body)
{
	req_init(r);
	return (json_parse_fields(body, strlen(body), r->f, nitems(r->f),
	    r->err, sizeof(r->err)));
}

/* body must fail with exactly msg */
static void
check_err(const char *body, const char *msg)
{
	struct req	 r;

	ATF_CHECK_EQ_MSG(parse(&r, body), -1, "accepted %s", body);
	ATF_CHECK_STREQ_MSG(r.err, msg, "for %s", body);
}

ATF_TC_WITHOUT_HEAD(parse_ok);
ATF_TC_BODY(parse_ok, tc)
{
	struct req	 r;

	ATF_REQUIRE_EQ(parse(&r, "{\"email\":\"a@b.example\","
	    "\"name\":\"Ann\xc3\xa9\",\"rememberMe\":true,\"age\":42,"
	    "\"callbackURL\":{\"x\":[1,2,{\"y\":null}]},"
	    "\"unknown\":[\"ignored\",{\"email\":5}],\"unknown\":1}"), 0);
	ATF_CHECK_STREQ(r.err, "");
	ATF_CHECK_STREQ(r.email, "a@b.example");
	ATF_CHECK_STREQ(r.name, "Ann\xc3\xa9");
	ATF_CHECK_EQ(r.remember, 1);
	ATF_CHECK_EQ(r.age, 42);
	ATF_CHECK(r.f[0].present && r.f[1].present && r.f[2].present &&
	    r.f[3].present && r.f[4].present);

	/* optional fields may be absent; whitespace is fine */
	ATF_REQUIRE_EQ(parse(&r, " {\n\t\"email\" : \"x\\u00e9\\n\" } \n"),
	    0);
	ATF_CHECK_STREQ(r.email, "x\xc3\xa9\n");
	ATF_CHECK(!r.f[1].present && !r.f[2].present && !r.f[3].present &&
	    !r.f[4].present);
	ATF_CHECK_EQ(r.age, -1);

	/* the limits of the types */
	ATF_REQUIRE_EQ(parse(&r, "{\"email\":\"123456789012345\","
	    "\"age\":-9223372036854775808,\"rememberMe\":false}"), 0);
	ATF_CHECK_STREQ(r.email, "123456789012345");
	ATF_CHECK(r.age == -9223372036854775807LL - 1);
	ATF_CHECK_EQ(r.remember, 0);
	ATF_REQUIRE_EQ(parse(&r, "{\"email\":\"\",\"age\":9223372036854775807,"
	    "\"callbackURL\":null}"), 0);
	ATF_CHECK(r.age == 9223372036854775807LL);
}

ATF_TC_WITHOUT_HEAD(parse_types);
ATF_TC_BODY(parse_types, tc)
{
	check_err("{\"email\":5}", "email: expected a string");
	check_err("{\"email\":null}", "email: expected a string");
	check_err("{\"email\":true}", "email: expected a string");
	check_err("{\"email\":[\"a\"]}", "email: expected a string");
	check_err("{\"email\":{}}", "email: expected a string");
	check_err("{\"email\":\"a\",\"rememberMe\":\"yes\"}",
	    "rememberMe: expected a boolean");
	check_err("{\"email\":\"a\",\"rememberMe\":1}",
	    "rememberMe: expected a boolean");
	check_err("{\"email\":\"a\",\"age\":\"42\"}",
	    "age: expected an integer");
	check_err("{\"email\":\"a\",\"age\":4.2}",
	    "age: expected an integer");
	check_err("{\"email\":\"a\",\"age\":1e3}",
	    "age: expected an integer");
	check_err("{\"email\":\"a\",\"age\":null}",
	    "age: expected an integer");
}

ATF_TC_WITHOUT_HEAD(parse_errors);
ATF_TC_BODY(parse_errors, tc)
{
	check_err("{}", "email: required");
	check_err("{\"name\":\"x\"}", "email: required");
	/* 16 bytes do not fit char[16] with the NUL; 15 do (parse_ok) */
	check_err("{\"email\":\"1234567890123456\"}", "email: too long");
	/* char[8]: 4 two-byte characters are 8 bytes, too many */
	check_err("{\"email\":\"a\",\"name\":"
	    "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "name: too long");
	check_err("{\"email\":\"a\\u0000b\"}",
	    "email: contains a NUL character");
	check_err("{\"email\":\"a\",\"email\":\"b\"}", "email: duplicate key");
	check_err("{\"email\":\"a\",\"callbackURL\":1,\"callbackURL\":[]}",
	    "callbackURL: duplicate key");
	check_err("{\"email\":\"a\",\"age\":9223372036854775808}",
	    "age: integer out of range");
	check_err("{\"email\":\"a\",\"age\":-9223372036854775809}",
	    "age: integer out of range");
	check_err("{\"email\":\"a\",\"age\":"
	    "123456789012345678901234567890123456789}",
	    "age: integer out of range");
	/* huge numbers where nobody reads them are fine */
	{
		struct req	 r;

		ATF_CHECK_EQ(parse(&r, "{\"email\":\"a\",\"other\":"
		    "123456789012345678901234567890123456789,"
		    "\"callbackURL\":1e999}"), 0);
	}
}

ATF_TC_WITHOUT_HEAD(parse_not_object);
ATF_TC_BODY(parse_not_object, tc)
{
	struct req	 r;

	check_err("[]", "body must be a JSON object");
	check_err("[{\"email\":\"a\"}]", "body must be a JSON object");
	check_err("\"email\"", "body must be a JSON object");
	check_err("42", "body must be a JSON object");
	check_err("null", "body must be a JSON object");
	check_err("true", "body must be a JSON object");
	check_err("", "body must be a JSON object");
	check_err("   ", "invalid JSON");
	check_err("{\"email\":\"a\"", "invalid JSON");
	check_err("{\"email\":\"a\"} {}", "invalid JSON");
	check_err("{\"email\":\"a\"} x", "invalid JSON");
	check_err("{\"email\":'a'}", "invalid JSON");
	check_err("{email:\"a\"}", "invalid JSON");
	check_err("{\"email\":\"a\",}", "invalid JSON");
	check_err("{\"email\":\"a\"} // c", "invalid JSON");

	/* NULL errbuf is allowed */
	req_init(&r);
	ATF_CHECK_EQ(json_parse_fields("[]", 2, r.f, nitems(r.f), NULL, 0),
	    -1);
	/* a NUL byte in the body is not JSON */
	ATF_CHECK_EQ(json_parse_fields("{\"email\":\"a\"}\0", 14, r.f,
	    nitems(r.f), r.err, sizeof(r.err)), -1);
}

ATF_TC_WITHOUT_HEAD(parse_utf8);
ATF_TC_BODY(parse_utf8, tc)
{
	struct req	 r;

	check_err("{\"email\":\"\xff\"}", "invalid UTF-8");
	check_err("{\"email\":\"\xc0\xaf\"}", "invalid UTF-8");	/* overlong */
	check_err("{\"email\":\"\xe0\x80\xaf\"}", "invalid UTF-8");
	check_err("{\"email\":\"\xed\xa0\x80\"}", "invalid UTF-8"); /* D800 */
	check_err("{\"email\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8");
	check_err("{\"email\":\"\xe2\x82\"}", "invalid UTF-8");
	/* in an unknown key or in an ignored value too */
	check_err("{\"email\":\"a\",\"\xfe\":1}", "invalid UTF-8");
	check_err("{\"email\":\"a\",\"x\":[\"\x80\"]}", "invalid UTF-8");
	/* valid 4-byte sequences pass */
	ATF_CHECK_EQ(parse(&r, "{\"email\":\"\xf0\x9f\x94\x91\"}"), 0);
	ATF_CHECK_STREQ(r.email, "\xf0\x9f\x94\x91");
}

static char *
nested(int depth, int arrays)
{
	char	*s;
	size_t	 len, i, o = 0;

	len = 32 + depth * 8;
	ATF_REQUIRE((s = malloc(len)) != NULL);
	o += snprintf(s + o, len - o, "{\"email\":\"a\",\"x\":");
	for (i = 1; i < (size_t)depth; i++)
		o += snprintf(s + o, len - o, arrays ? "[" : "{\"k\":");
	o += snprintf(s + o, len - o, "1");
	for (i = 1; i < (size_t)depth; i++)
		o += snprintf(s + o, len - o, arrays ? "]" : "}");
	snprintf(s + o, len - o, "}");
	return (s);
}

ATF_TC_WITHOUT_HEAD(parse_depth);
ATF_TC_BODY(parse_depth, tc)
{
	struct req	 r;
	char		*s;

	/* 32 levels, the top object included, are allowed */
	s = nested(32, 0);
	ATF_CHECK_EQ_MSG(parse(&r, s), 0, "%s", r.err);
	free(s);
	s = nested(32, 1);
	ATF_CHECK_EQ_MSG(parse(&r, s), 0, "%s", r.err);
	free(s);
	s = nested(33, 0);
	ATF_CHECK_EQ(parse(&r, s), -1);
	ATF_CHECK_STREQ(r.err, "nesting too deep");
	free(s);
	s = nested(33, 1);
	ATF_CHECK_EQ(parse(&r, s), -1);
	ATF_CHECK_STREQ(r.err, "nesting too deep");
	free(s);
	s = nested(10000, 1);
	ATF_CHECK_EQ(parse(&r, s), -1);
	ATF_CHECK_STREQ(r.err, "nesting too deep");
	free(s);
}

ATF_TC_WITHOUT_HEAD(parse_errbuf);
ATF_TC_BODY(parse_errbuf, tc)
{
	struct req	 r;
	char		 small[8];

	req_init(&r);
	ATF_CHECK_EQ(json_parse_fields("{}", 2, r.f, nitems(r.f), small,
	    sizeof(small)), -1);
	ATF_CHECK_STREQ(small, "email: ");
}

/* JT_NSTRING: a string, or null (present 2); other types refused */
ATF_TC_WITHOUT_HEAD(parse_nstring);
ATF_TC_BODY(parse_nstring, tc)
{
	char		 img[16], err[128];
	struct jfield	 f[] = {
		{ "image", JT_NSTRING, 0, img, sizeof(img), 0 },
	};
	const char	*b1 = "{\"image\":\"a.png\"}", *b2 = "{\"image\":null}";
	const char	*b3 = "{\"image\":5}", *b4 = "{}";

	ATF_REQUIRE_EQ(json_parse_fields(b1, strlen(b1), f, 1, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(f[0].present, 1);
	ATF_CHECK_STREQ(img, "a.png");
	f[0].present = 0;
	ATF_REQUIRE_EQ(json_parse_fields(b2, strlen(b2), f, 1, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(f[0].present, 2);
	ATF_CHECK_STREQ(img, "");
	f[0].present = 0;
	ATF_CHECK_EQ(json_parse_fields(b3, strlen(b3), f, 1, err,
	    sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "image: expected a string or null");
	f[0].present = 0;
	ATF_REQUIRE_EQ(json_parse_fields(b4, strlen(b4), f, 1, err,
	    sizeof(err)), 0);
	ATF_CHECK_EQ(f[0].present, 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, out_nested);
	ATF_TP_ADD_TC(tp, out_escape);
	ATF_TP_ADD_TC(tp, out_grow);
	ATF_TP_ADD_TC(tp, out_misuse);
	ATF_TP_ADD_TC(tp, parse_ok);
	ATF_TP_ADD_TC(tp, parse_types);
	ATF_TP_ADD_TC(tp, parse_errors);
	ATF_TP_ADD_TC(tp, parse_not_object);
	ATF_TP_ADD_TC(tp, parse_utf8);
	ATF_TP_ADD_TC(tp, parse_depth);
	ATF_TP_ADD_TC(tp, parse_errbuf);
	ATF_TP_ADD_TC(tp, parse_nstring);
	return (atf_no_error());
}
