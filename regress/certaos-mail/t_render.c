/*
 * t_render: the mail templates of certaos-mail (placeholders, escaping,
 * the shipped set) and the messages made from them (headers, MIME,
 * quoted-printable, RFC 2047, refusal of header injection).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <atf-c.h>

#include "certaos.h"
#include "../../libexec/certaos-mail/mail.h"

/* The evbuffer's bytes as a string the test owns. */
static char *
str_of(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s;

	ATF_REQUIRE((s = malloc(len + 1)) != NULL);
	evbuffer_copyout(b, s, len);
	s[len] = '\0';
	return (s);
}

static void
msg_init(struct mail_msg *m, const char *to, const char *tmpl)
{
	memset(m, 0, sizeof(*m));
	m->id = 42;
	(void)strlcpy(m->to, to, sizeof(m->to));
	(void)strlcpy(m->tmpl, tmpl, sizeof(m->tmpl));
}

static char *
render(const char *src, const struct mail_msg *m, int html)
{
	struct evbuffer	*b;
	char		*s;

	ATF_REQUIRE((b = evbuffer_new()) != NULL);
	ATF_REQUIRE_EQ(mail_render(src, m, html, b), 0);
	s = str_of(b);
	evbuffer_free(b);
	return (s);
}

/* The composed message, or NULL with why. */
static char *
compose(const struct mail_tmpl *t, const struct mail_msg *m,
    const char *from, char *why, size_t whylen)
{
	struct evbuffer	*b;
	char		*s = NULL;

	ATF_REQUIRE((b = evbuffer_new()) != NULL);
	if (mail_compose(t, m, from, 1700000000, b, why, whylen) == 0)
		s = str_of(b);
	evbuffer_free(b);
	return (s);
}

ATF_TC(placeholders);
ATF_TC_HEAD(placeholders, tc)
{
	atf_tc_set_md_var(tc, "descr", "{{var}} is replaced, a missing one "
	    "renders empty, other braces stay");
}
ATF_TC_BODY(placeholders, tc)
{
	struct mail_msg	 m;
	char		*s;

	msg_init(&m, "a@example.org", "t");
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "name", "Ann"), 0);
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "url", "https://x/?a=1&b=2"), 0);
	s = render("Hi {{name}}, go to {{url}}.{{missing}}|{{ name }}|{x}|"
	    "{{|{{a-b}}|}}", &m, 0);
	ATF_CHECK_STREQ(s, "Hi Ann, go to https://x/?a=1&b=2.|{{ name }}|{x}|"
	    "{{|{{a-b}}|}}");
	free(s);
	/* a later value replaces the first */
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "name", "Bo"), 0);
	s = render("{{name}}{{name}}", &m, 0);
	ATF_CHECK_STREQ(s, "BoBo");
	free(s);
}

ATF_TC(html_escaping);
ATF_TC_HEAD(html_escaping, tc)
{
	atf_tc_set_md_var(tc, "descr", "values are HTML-escaped in the HTML "
	    "body, not in the text body nor in the template itself");
}
ATF_TC_BODY(html_escaping, tc)
{
	struct mail_msg	 m;
	char		*s;

	msg_init(&m, "a@example.org", "t");
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "name",
	    "<script>alert(\"x\" & 'y')</script>"), 0);
	s = render("<p>{{name}}</p>", &m, 1);
	ATF_CHECK_STREQ(s, "<p>&lt;script&gt;alert(&quot;x&quot; &amp; "
	    "&#39;y&#39;)&lt;/script&gt;</p>");
	free(s);
	s = render("<p>{{name}}</p>", &m, 0);
	ATF_CHECK_STREQ(s, "<p><script>alert(\"x\" & 'y')</script></p>");
	free(s);
}

ATF_TC(template_parse);
ATF_TC_HEAD(template_parse, tc)
{
	atf_tc_set_md_var(tc, "descr", "a template needs its Subject: line "
	    "and a blank line");
}
ATF_TC_BODY(template_parse, tc)
{
	struct mail_tmpls	 ts;
	struct mail_tmpl	*t;

	tmpl_init(&ts);
	t = tmpl_parse("x", "Subject:  Hello {{name}}\n\nBody\n", NULL);
	ATF_REQUIRE(t != NULL);
	ATF_CHECK_STREQ(t->subject, "Hello {{name}}");
	ATF_CHECK_STREQ(t->text, "Body\n");
	ATF_CHECK(t->html == NULL);
	TAILQ_INSERT_TAIL(&ts, t, entry);
	t = tmpl_parse("y", "Subject: S\r\n\r\nB", "<p>h</p>");
	ATF_REQUIRE(t != NULL);
	ATF_CHECK_STREQ(t->subject, "S");
	ATF_CHECK_STREQ(t->html, "<p>h</p>");
	TAILQ_INSERT_TAIL(&ts, t, entry);
	ATF_CHECK(tmpl_find(&ts, "y") == t);
	ATF_CHECK(tmpl_find(&ts, "z") == NULL);
	tmpl_free(&ts);

	ATF_CHECK(tmpl_parse("x", "Hello\n\nBody\n", NULL) == NULL);
	ATF_CHECK(tmpl_parse("x", "Subject: S\nBody\n", NULL) == NULL);
	ATF_CHECK(tmpl_parse("x", "Subject: S", NULL) == NULL);
	ATF_CHECK(tmpl_parse("x", "Subject: a\tb\n\nB", NULL) == NULL);
}

ATF_TC(shipped);
ATF_TC_HEAD(shipped, tc)
{
	atf_tc_set_md_var(tc, "descr", "the shipped templates load, each "
	    "with a subject and the variables its flow provides");
	atf_tc_set_md_var(tc, "require.config", "builddir");
}
ATF_TC_BODY(shipped, tc)
{
	static const struct {
		const char	*name;
		const char	*vars[5];
		int		 html;
	} want[] = {
		{ "verify-email", { "name", "url", NULL }, 1 },
		{ "reset-password", { "name", "url", NULL }, 1 },
		{ "change-email", { "name", "url", "new_email", "old_email",
		    NULL }, 1 },
		{ "change-email-confirm", { "name", "url", "new_email", NULL },
		    1 },
		{ "delete-account", { "name", "url", NULL }, 1 },
		{ "invite", { "url", "role", "expires", NULL }, 1 },
		{ "test", { NULL }, 0 }
	};
	struct mail_tmpls	 ts;
	struct mail_tmpl	*t;
	char			 dir[1024], pat[80];
	size_t			 i, j;

	(void)snprintf(dir, sizeof(dir), "%s/share/templates",
	    atf_tc_get_config_var(tc, "builddir"));
	tmpl_init(&ts);
	ATF_REQUIRE_EQ(tmpl_load_dir(&ts, dir), (int)nitems(want));
	for (i = 0; i < nitems(want); i++) {
		t = tmpl_find(&ts, want[i].name);
		ATF_REQUIRE_MSG(t != NULL, "%s", want[i].name);
		ATF_CHECK(t->subject[0] != '\0');
		ATF_CHECK_EQ(t->html != NULL, want[i].html);
		ATF_CHECK_MSG(strstr(t->text, "{{app}}") != NULL ||
		    strstr(t->subject, "{{app}}") != NULL, "%s", t->name);
		for (j = 0; want[i].vars[j] != NULL; j++) {
			(void)snprintf(pat, sizeof(pat), "{{%s}}",
			    want[i].vars[j]);
			ATF_CHECK_MSG(strstr(t->text, pat) != NULL,
			    "%s.txt lacks %s", t->name, pat);
			if (t->html != NULL)
				ATF_CHECK_MSG(strstr(t->html, pat) != NULL,
				    "%s.html lacks %s", t->name, pat);
		}
	}
	/* a second directory adds nothing it already has */
	ATF_CHECK_EQ(tmpl_load_dir(&ts, dir), 0);
	ATF_CHECK_EQ(tmpl_load_dir(&ts, "/nonexistent"), -1);
	tmpl_free(&ts);
}

ATF_TC(compose_text);
ATF_TC_HEAD(compose_text, tc)
{
	atf_tc_set_md_var(tc, "descr", "a text-only message: its headers, "
	    "a quoted-printable UTF-8 body");
}
ATF_TC_BODY(compose_text, tc)
{
	struct mail_tmpl	*t;
	struct mail_msg		 m;
	char			 why[128], *s;

	t = tmpl_parse("test", "Subject: Hi {{name}}\n\nCaf\xc3\xa9 = "
	    "{{name}} \nend\n", NULL);
	ATF_REQUIRE(t != NULL);
	msg_init(&m, "bob@example.net", "test");
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "name", "Bob"), 0);
	s = compose(t, &m, "App <auth@example.org>", why, sizeof(why));
	ATF_REQUIRE_MSG(s != NULL, "%s", why);
	ATF_CHECK(strncmp(s, "From: App <auth@example.org>\nTo: "
	    "bob@example.net\nSubject: Hi Bob\nDate: Tue, 14 Nov 2023 "
	    "22:13:20 +0000\nMessage-ID: <", 109) == 0);
	ATF_CHECK(strstr(s, ".42@example.org>\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "Caf=C3=A9 =3D Bob=20\nend\n") != NULL);
	ATF_CHECK(strstr(s, "multipart") == NULL);
	free(s);
	free(t->subject);
	free(t->text);
	free(t);
}

ATF_TC(compose_multipart);
ATF_TC_HEAD(compose_multipart, tc)
{
	atf_tc_set_md_var(tc, "descr", "with an HTML body: multipart/"
	    "alternative, text first, both parts closed by the boundary");
}
ATF_TC_BODY(compose_multipart, tc)
{
	struct mail_tmpl	*t;
	struct mail_msg		 m;
	char			 why[128], bnd[64], close[80], *s, *p, *q;

	t = tmpl_parse("v", "Subject: S\n\nT {{url}}\n", "<a href=\"{{url}}\">"
	    "x</a>\n");
	ATF_REQUIRE(t != NULL);
	msg_init(&m, "c@example.net", "v");
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "url", "https://e/?t=a&b"), 0);
	s = compose(t, &m, "auth@example.org", why, sizeof(why));
	ATF_REQUIRE_MSG(s != NULL, "%s", why);
	p = strstr(s, "Content-Type: multipart/alternative; boundary=\"");
	ATF_REQUIRE(p != NULL);
	p += strlen("Content-Type: multipart/alternative; boundary=\"");
	ATF_REQUIRE((q = strchr(p, '"')) != NULL);
	(void)snprintf(bnd, sizeof(bnd), "--%.*s\n", (int)(q - p), p);
	(void)snprintf(close, sizeof(close), "--%.*s--\n", (int)(q - p), p);
	p = strstr(s, bnd);
	ATF_REQUIRE(p != NULL);
	ATF_CHECK(strncmp(p + strlen(bnd), "Content-Type: text/plain", 24) ==
	    0);
	ATF_CHECK(strstr(p, "T https://e/?t=3Da&b\n") != NULL);
	p = strstr(p + 1, bnd);
	ATF_REQUIRE(p != NULL);
	ATF_CHECK(strncmp(p + strlen(bnd), "Content-Type: text/html", 23) ==
	    0);
	/* escaped, then quoted-printable */
	ATF_CHECK(strstr(p, "<a href=3D\"https://e/?t=3Da&amp;b\">x</a>") !=
	    NULL);
	ATF_CHECK(strstr(p, close) != NULL);
	free(s);
	free(t->subject);
	free(t->text);
	free(t->html);
	free(t);
}

ATF_TC(header_injection);
ATF_TC_HEAD(header_injection, tc)
{
	atf_tc_set_md_var(tc, "descr", "a recipient or a subject value with "
	    "CR or LF is refused, as is a recipient that is no address");
}
ATF_TC_BODY(header_injection, tc)
{
	static const char *const bad[] = {
		"a@example.org\nBcc: x@example.org",
		"a@example.org\r",
		"a@example.org\rBcc: x@example.org",
		"a b@example.org",
		"<a@example.org>",
		"a@example.org, b@example.org",
		"no-at-sign",
		"@example.org",
		"a@"
	};
	struct mail_tmpl	*t;
	struct mail_msg		 m;
	char			 why[128], *s;
	size_t			 i;

	t = tmpl_parse("x", "Subject: Hi {{name}}\n\nB\n", NULL);
	ATF_REQUIRE(t != NULL);
	for (i = 0; i < nitems(bad); i++) {
		msg_init(&m, "", "x");
		(void)strlcpy(m.to, bad[i], sizeof(m.to));
		why[0] = '\0';
		s = compose(t, &m, "auth@example.org", why, sizeof(why));
		ATF_CHECK_MSG(s == NULL, "accepted recipient %zu", i);
		ATF_CHECK(strncmp(why, "refused:", 8) == 0);
		free(s);
	}
	msg_init(&m, "a@example.org", "x");
	ATF_REQUIRE_EQ(mail_msg_setvar(&m, "name", "Eve\nBcc: x@example.org"),
	    0);
	s = compose(t, &m, "auth@example.org", why, sizeof(why));
	ATF_CHECK(s == NULL);
	ATF_CHECK(strstr(why, "header injection") != NULL);
	free(s);
	/* and in the sender */
	msg_init(&m, "a@example.org", "x");
	s = compose(t, &m, "x@example.org\nBcc: y@example.org", why,
	    sizeof(why));
	ATF_CHECK(s == NULL);
	free(s);
	free(t->subject);
	free(t->text);
	free(t);
}

ATF_TC(encodings);
ATF_TC_HEAD(encodings, tc)
{
	atf_tc_set_md_var(tc, "descr", "quoted-printable keeps lines under "
	    "77 characters; RFC 2047 words hold whole UTF-8 characters");
}
ATF_TC_BODY(encodings, tc)
{
	struct evbuffer	*b;
	char		 in[400], *s, *line, *p;
	size_t		 i;

	ATF_REQUIRE((b = evbuffer_new()) != NULL);
	for (i = 0; i < 300; i++)
		in[i] = i % 3 == 0 ? '=' : 'a';
	qp_encode(in, 300, b);
	s = str_of(b);
	for (p = s; (line = strsep(&p, "\n")) != NULL; )
		ATF_CHECK_MSG(strlen(line) <= 76, "line of %zu", strlen(line));
	free(s);
	evbuffer_drain(b, evbuffer_get_length(b));

	ATF_REQUIRE_EQ(rfc2047_encode("plain ascii", b), 0);
	s = str_of(b);
	ATF_CHECK_STREQ(s, "plain ascii");
	free(s);
	evbuffer_drain(b, evbuffer_get_length(b));

	ATF_REQUIRE_EQ(rfc2047_encode("\xc3\xa9t\xc3\xa9", b), 0);
	s = str_of(b);
	ATF_CHECK_STREQ(s, "=?UTF-8?B?w6l0w6k=?=");
	free(s);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* 40 two-byte characters: two words, none cut in a character */
	in[0] = '\0';
	for (i = 0; i < 40; i++)
		(void)strlcat(in, "\xc3\xa9", sizeof(in));
	ATF_REQUIRE_EQ(rfc2047_encode(in, b), 0);
	s = str_of(b);
	ATF_CHECK(strncmp(s, "=?UTF-8?B?", 10) == 0);
	ATF_CHECK((p = strstr(s, "?=\n =?UTF-8?B?")) != NULL);
	for (p = s; (line = strsep(&p, "\n")) != NULL; )
		ATF_CHECK(strlen(line) <= 76);
	free(s);
	evbuffer_drain(b, evbuffer_get_length(b));
	ATF_CHECK_EQ(rfc2047_encode("a\nb", b), -1);
	evbuffer_free(b);
}

ATF_TC(plaintext);
ATF_TC_HEAD(plaintext, tc)
{
	atf_tc_set_md_var(tc, "descr", "the sealed plaintext parses, and a "
	    "truncated or overlong one does not");
}
ATF_TC_BODY(plaintext, tc)
{
	unsigned char	 buf[256];
	struct mail_msg	 m;
	uint32_t	 v;
	size_t		 n = 0;

#define PUT(p, l) do { memcpy(buf + n, (p), (l)); n += (l); } while (0)
#define PUTS(s) do { v = strlen(s); PUT(&v, 4); PUT((s), v); } while (0)
	PUTS("d@example.net");
	PUTS("verify-email");
	v = 1;
	PUT(&v, 4);
	PUTS("url");
	PUTS("https://e/x");
	ATF_REQUIRE_EQ(mail_msg_parse(buf, n, &m), 0);
	ATF_CHECK_STREQ(m.to, "d@example.net");
	ATF_CHECK_STREQ(m.tmpl, "verify-email");
	ATF_CHECK_EQ(m.nvars, 1);
	ATF_CHECK_STREQ(m.vars[0].value, "https://e/x");
	ATF_CHECK_EQ(mail_msg_parse(buf, n - 1, &m), -1);
	buf[n++] = 'x';
	ATF_CHECK_EQ(mail_msg_parse(buf, n, &m), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, placeholders);
	ATF_TP_ADD_TC(tp, html_escaping);
	ATF_TP_ADD_TC(tp, template_parse);
	ATF_TP_ADD_TC(tp, shipped);
	ATF_TP_ADD_TC(tp, compose_text);
	ATF_TP_ADD_TC(tp, compose_multipart);
	ATF_TP_ADD_TC(tp, header_injection);
	ATF_TP_ADD_TC(tp, encodings);
	ATF_TP_ADD_TC(tp, plaintext);
	return (atf_no_error());
}
