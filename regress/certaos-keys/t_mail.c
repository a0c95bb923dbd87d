/*
 * t_mail: outbox messages sealed by certaos-keys (keys_mail_seal) and
 * opened again (keys_mail_open): what db stores holds no plaintext, the
 * fields come back as written, and a changed blob or secret opens
 * nothing.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "certaos.h"
#include "crypto.h"
#include "msg.h"
#include "../../libexec/certaos-keys/keys.h"

static const char secret[] = "0123456789abcdef0123456789abcdef-t_mail";

struct sealed {
	char		 to[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	unsigned char	 blob[CERTAOS_MAX_MAIL_SEALED];
	size_t		 len;
};

static void
configure(const char *s)
{
	struct subkeys	 sk;

	ATF_REQUIRE(subkeys_derive(&sk, s, strlen(s)) == 0);
	keys_mail_configure(&sk);
	subkeys_wipe(&sk);
}

/* What keys_mail_seal appended, read back. */
static void
unpack(struct mbuf *mb, struct sealed *out)
{
	struct mread	 mr;

	memset(&mr, 0, sizeof(mr));
	mr.p = mb->buf;
	mr.len = mb->len;
	(void)mread_str(&mr, out->to, sizeof(out->to));
	(void)mread_str(&mr, out->tmpl, sizeof(out->tmpl));
	out->len = mread_bytes(&mr, out->blob, sizeof(out->blob));
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
}

static int
contains(const unsigned char *p, size_t len, const char *s)
{
	return (memmem(p, len, s, strlen(s)) != NULL);
}

ATF_TC_WITHOUT_HEAD(round_trip);
ATF_TC_BODY(round_trip, tc)
{
	static struct mbuf	 mb;
	static unsigned char	 plain[CERTAOS_MAX_MAIL_SEALED];
	struct sealed		 s;
	struct mread		 mr;
	char			 a[64], b[64], c[64], d[64], e[64], f[64];
	ssize_t			 n;

	configure(secret);
	mbuf_init(&mb);
	ATF_REQUIRE_EQ(keys_mail_seal(&mb, "verify-email", "ann@example.org",
	    "name", "Ann", "url", "https://a/verify?token=SECRETTOKEN123",
	    NULL), 0);
	unpack(&mb, &s);
	ATF_CHECK_STREQ(s.to, "ann@example.org");
	ATF_CHECK_STREQ(s.tmpl, "verify-email");
	ATF_CHECK(s.len > SEAL_OVERHEAD);
	/* what db stores: no token, no name, no recipient inside */
	ATF_CHECK(!contains(s.blob, s.len, "SECRETTOKEN123"));
	ATF_CHECK(!contains(s.blob, s.len, "Ann"));
	ATF_CHECK(!contains(s.blob, s.len, "ann@example.org"));

	n = keys_mail_open(s.blob, s.len, plain, sizeof(plain));
	ATF_REQUIRE(n > 0);
	memset(&mr, 0, sizeof(mr));
	mr.p = plain;
	mr.len = n;
	(void)mread_str(&mr, a, sizeof(a));
	(void)mread_str(&mr, b, sizeof(b));
	ATF_CHECK_EQ(mread_u32(&mr), 2);
	(void)mread_str(&mr, c, sizeof(c));
	(void)mread_str(&mr, d, sizeof(d));
	(void)mread_str(&mr, e, sizeof(e));
	(void)mread_str(&mr, f, sizeof(f));
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	ATF_CHECK_STREQ(a, "ann@example.org");
	ATF_CHECK_STREQ(b, "verify-email");
	ATF_CHECK_STREQ(c, "name");
	ATF_CHECK_STREQ(d, "Ann");
	ATF_CHECK_STREQ(e, "url");
	ATF_CHECK_STREQ(f, "https://a/verify?token=SECRETTOKEN123");

	/* one bit changed anywhere: it does not open */
	s.blob[s.len / 2] ^= 1;
	ATF_CHECK_EQ(keys_mail_open(s.blob, s.len, plain, sizeof(plain)), -1);
	s.blob[s.len / 2] ^= 1;
	ATF_CHECK_EQ(keys_mail_open(s.blob, s.len - 1, plain, sizeof(plain)),
	    -1);
	/* nor under another secret */
	configure("another secret, also long enough, 32+ bytes");
	ATF_CHECK_EQ(keys_mail_open(s.blob, s.len, plain, sizeof(plain)), -1);
	configure(secret);
	ATF_CHECK(keys_mail_open(s.blob, s.len, plain, sizeof(plain)) > 0);

	/* sealing twice gives two blobs: a fresh nonce each time */
	mbuf_init(&mb);
	ATF_REQUIRE_EQ(keys_mail_seal(&mb, "test", "ann@example.org", NULL),
	    0);
	unpack(&mb, &s);
	mbuf_init(&mb);
	ATF_REQUIRE_EQ(keys_mail_seal(&mb, "test", "ann@example.org", NULL),
	    0);
	{
		struct sealed	 s2;

		unpack(&mb, &s2);
		ATF_CHECK_EQ(s.len, s2.len);
		ATF_CHECK(memcmp(s.blob, s2.blob, s.len) != 0);
	}
}

ATF_TC_WITHOUT_HEAD(refused);
ATF_TC_BODY(refused, tc)
{
	static struct mbuf	 mb;
	static char		 big[CERTAOS_MAX_MAIL_VAR + 2];

	/* no key yet */
	mbuf_init(&mb);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", NULL), -1);
	configure(secret);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", NULL), 0);
	/* header injection never reaches the outbox */
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org\r\nBcc: b@x",
	    NULL), -1);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "te\nst", "a@example.org", NULL), -1);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "", "a@example.org", NULL), -1);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "", NULL), -1);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", "na\nme",
	    "v", NULL), -1);
	/* values may hold line breaks: bodies do */
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", "name",
	    "two\nlines", NULL), 0);
	/* bounds */
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", "v", big,
	    NULL), -1);
	big[sizeof(big) - 2] = '\0';
	mbuf_init(&mb);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", "v", big,
	    NULL), 0);
	/* five values of the maximum do not fit one sealed message */
	mbuf_init(&mb);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org", "a", big,
	    "b", big, "c", big, "d", big, "e", big, NULL), -1);
	ATF_CHECK_EQ(keys_mail_seal(&mb, "test", "a@example.org",
	    "1", "", "2", "", "3", "", "4", "", "5", "", "6", "", "7", "",
	    "8", "", "9", "", "10", "", "11", "", "12", "", "13", "", "14", "",
	    "15", "", "16", "", "17", "", NULL), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, round_trip);
	ATF_TP_ADD_TC(tp, refused);
	return (atf_no_error());
}
