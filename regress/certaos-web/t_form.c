/*
 * t_form.c: form_parse_fields(), the form-encoded bodies of sign-in and
 * sign-up.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "certaos.h"
#include "json.h"
#include "../../libexec/certaos-web/http.h"

static char	 email[32], pw[16], err[128];
static int	 remember;

static int
parse(const char *body)
{
	struct jfield	 f[] = {
		{ "email", JT_STRING, 1, email, sizeof(email), 0 },
		{ "password", JT_STRING, 0, pw, sizeof(pw), 0 },
		{ "rememberMe", JT_BOOL, 0, &remember, sizeof(remember), 0 },
		{ "extra", JT_ANY, 0, NULL, 0, 0 },
	};

	email[0] = pw[0] = err[0] = '\0';
	return (form_parse_fields(body, strlen(body), f, nitems(f), err,
	    sizeof(err)));
}

ATF_TC_WITHOUT_HEAD(decode);
ATF_TC_BODY(decode, tc)
{
	ATF_REQUIRE_EQ(parse("email=A%40b.C&password=a+b%2Bc"), 0);
	ATF_CHECK_STREQ(email, "A@b.C");
	ATF_CHECK_STREQ(pw, "a b+c");
	/* empty pairs, a name without '=', unknown and ignored fields */
	ATF_REQUIRE_EQ(parse("&&email=x&&password&other=%41&extra=1&"), 0);
	ATF_CHECK_STREQ(email, "x");
	ATF_CHECK_STREQ(pw, "");
	/* escaped names; UTF-8 */
	ATF_REQUIRE_EQ(parse("%65mail=%C3%A9"), 0);
	ATF_CHECK_STREQ(email, "\xc3\xa9");
	/* exactly the room there is: 15 bytes and the NUL */
	ATF_CHECK_EQ(parse("email=x&password=123456789012345"), 0);
}

ATF_TC_WITHOUT_HEAD(refused);
ATF_TC_BODY(refused, tc)
{
	static const struct {
		const char	*body;
		const char	*err;
	} t[] = {
		{ "email=%zz", "invalid percent-encoding" },
		{ "email=%4", "invalid percent-encoding" },
		{ "email=%", "invalid percent-encoding" },
		{ "email=x&other=%g0", "invalid percent-encoding" },
		{ "email=%ff", "invalid form encoding" },
		{ "email=%C0%80", "invalid form encoding" },	/* overlong */
		{ "email=%ED%A0%80", "invalid form encoding" },	/* surrogate */
		{ "e%00mail=x", "invalid form encoding" },
		{ "email=a%00b", "email: contains a NUL character" },
		{ "email=x&email=y", "email: duplicate key" },
		{ "email=x&extra=1&extra=2", "extra: duplicate key" },
		{ "email=x&password=1234567890123456", "password: too long" },
		{ "email=x&rememberMe=false",
		    "rememberMe: expected boolean, received string" },
		{ "password=x", "email: required" },
		{ "", "email: required" },
	};
	size_t	 i;

	for (i = 0; i < nitems(t); i++) {
		ATF_CHECK_EQ_MSG(parse(t[i].body), -1, "%s", t[i].body);
		ATF_CHECK_STREQ_MSG(err, t[i].err, "%s", t[i].body);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, decode);
	ATF_TP_ADD_TC(tp, refused);
	return (atf_no_error());
}
