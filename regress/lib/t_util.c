/*
 * t_util: base64url against RFC 4648 section 10 (mapped to the URL-safe
 * alphabet without padding), hex, ct_equal, set_nonblock, str_escape and
 * the role names.
 */

#include <sys/types.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS	/* no #warning */
#include <vis.h>

#include <atf-c.h>

#include "certaos.h"

static const struct {
	const char	*plain;
	const char	*b64url;
} rfc4648[] = {
	{ "",		"" },
	{ "f",		"Zg" },
	{ "fo",		"Zm8" },
	{ "foo",	"Zm9v" },
	{ "foob",	"Zm9vYg" },
	{ "fooba",	"Zm9vYmE" },
	{ "foobar",	"Zm9vYmFy" },
};

ATF_TC_WITHOUT_HEAD(b64url_rfc4648);
ATF_TC_BODY(b64url_rfc4648, tc)
{
	char		 enc[32];
	unsigned char	 dec[32];
	size_t		 i, plen;
	ssize_t		 n;

	for (i = 0; i < nitems(rfc4648); i++) {
		plen = strlen(rfc4648[i].plain);
		ATF_CHECK_EQ(base64url_encoded_len(plen),
		    strlen(rfc4648[i].b64url));
		n = base64url_encode(rfc4648[i].plain, plen, enc, sizeof(enc));
		ATF_CHECK_EQ(n, (ssize_t)strlen(rfc4648[i].b64url));
		ATF_CHECK_STREQ(enc, rfc4648[i].b64url);
		n = base64url_decode(rfc4648[i].b64url,
		    strlen(rfc4648[i].b64url), dec, sizeof(dec));
		ATF_CHECK_EQ(n, (ssize_t)plen);
		ATF_CHECK(memcmp(dec, rfc4648[i].plain, plen) == 0);
	}
}

ATF_TC_WITHOUT_HEAD(b64url_alphabet);
ATF_TC_BODY(b64url_alphabet, tc)
{
	/* standard base64 "+/8=" and "//79": URL-safe "-_8" and "__79" */
	const unsigned char	 a[] = { 0xfb, 0xff };
	const unsigned char	 b[] = { 0xff, 0xfe, 0xfd };
	unsigned char		 all[256], dec[256];
	char			 enc[400];
	size_t			 i;

	ATF_CHECK_EQ(base64url_encode(a, sizeof(a), enc, sizeof(enc)), 3);
	ATF_CHECK_STREQ(enc, "-_8");
	ATF_CHECK_EQ(base64url_decode("-_8", 3, dec, sizeof(dec)), 2);
	ATF_CHECK(memcmp(dec, a, 2) == 0);
	ATF_CHECK_EQ(base64url_encode(b, sizeof(b), enc, sizeof(enc)), 4);
	ATF_CHECK_STREQ(enc, "__79");

	/* every byte value survives a round trip */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	ATF_REQUIRE_EQ(base64url_encode(all, sizeof(all), enc, sizeof(enc)),
	    (ssize_t)base64url_encoded_len(sizeof(all)));
	ATF_CHECK(strchr(enc, '+') == NULL && strchr(enc, '/') == NULL &&
	    strchr(enc, '=') == NULL);
	ATF_REQUIRE_EQ(base64url_decode(enc, strlen(enc), dec, sizeof(dec)),
	    (ssize_t)sizeof(all));
	ATF_CHECK(memcmp(all, dec, sizeof(all)) == 0);
}

ATF_TC_WITHOUT_HEAD(b64url_invalid);
ATF_TC_BODY(b64url_invalid, tc)
{
	static const char *const bad[] = {
		"Zg==",		/* padding */
		"Zm8=",
		"Zm9v\n",	/* whitespace */
		"Zm 9v",
		"Zm9+",		/* standard alphabet */
		"Zm9/",
		"Z",		/* len % 4 == 1 */
		"Zm9vY",
		"Zh",		/* low bits of the last char not zero */
		"Zm9",
		"Zm*v",
	};
	unsigned char	 dec[32];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++)
		ATF_CHECK_EQ_MSG(base64url_decode(bad[i], strlen(bad[i]), dec,
		    sizeof(dec)), -1, "accepted \"%s\"", bad[i]);
	/* an embedded NUL is not base64 */
	ATF_CHECK_EQ(base64url_decode("Zm\0v", 4, dec, sizeof(dec)), -1);
}

ATF_TC_WITHOUT_HEAD(b64url_bounds);
ATF_TC_BODY(b64url_bounds, tc)
{
	char		 enc[9];
	unsigned char	 dec[6];

	/* "foobar" needs 8 chars plus the NUL */
	ATF_CHECK_EQ(base64url_encode("foobar", 6, enc, 8), -1);
	ATF_CHECK_EQ(base64url_encode("foobar", 6, enc, 9), 8);
	ATF_CHECK_EQ(base64url_encode("", 0, enc, 0), -1);
	ATF_CHECK_EQ(base64url_encode("", 0, enc, 1), 0);
	ATF_CHECK_STREQ(enc, "");
	/* decoding needs exactly 6 bytes */
	ATF_CHECK_EQ(base64url_decode("Zm9vYmFy", 8, dec, 5), -1);
	ATF_CHECK_EQ(base64url_decode("Zm9vYmFy", 8, dec, 6), 6);
	ATF_CHECK_EQ(base64url_decode("Zm9vYmE", 7, dec, 4), -1);
	ATF_CHECK_EQ(base64url_decode("Zm9vYmE", 7, dec, 5), 5);
}

ATF_TC_WITHOUT_HEAD(hex);
ATF_TC_BODY(hex, tc)
{
	const unsigned char	 v[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff };
	unsigned char		 dec[8];
	char			 enc[16];

	ATF_CHECK_EQ(hex_encode(v, sizeof(v), enc, sizeof(enc)), 12);
	ATF_CHECK_STREQ(enc, "0001abcdefff");
	ATF_CHECK_EQ(hex_encode(v, sizeof(v), enc, 12), -1);
	ATF_CHECK_EQ(hex_encode(v, sizeof(v), enc, 13), 12);
	ATF_CHECK_EQ(hex_encode(v, 0, enc, 1), 0);
	ATF_CHECK_STREQ(enc, "");

	ATF_CHECK_EQ(hex_decode("0001ABcdEFff", 12, dec, sizeof(dec)), 6);
	ATF_CHECK(memcmp(dec, v, sizeof(v)) == 0);
	ATF_CHECK_EQ(hex_decode("000", 3, dec, sizeof(dec)), -1);
	ATF_CHECK_EQ(hex_decode("0g", 2, dec, sizeof(dec)), -1);
	ATF_CHECK_EQ(hex_decode("0x10", 4, dec, sizeof(dec)), -1);
	ATF_CHECK_EQ(hex_decode(" 1", 2, dec, sizeof(dec)), -1);
	ATF_CHECK_EQ(hex_decode("0001", 4, dec, 1), -1);
	ATF_CHECK_EQ(hex_decode("", 0, dec, 0), 0);
}

ATF_TC_WITHOUT_HEAD(ct_equal);
ATF_TC_BODY(ct_equal, tc)
{
	ATF_CHECK_EQ(ct_equal("secret", "secret", 6), 1);
	ATF_CHECK_EQ(ct_equal("secret", "secreT", 6), 0);
	ATF_CHECK_EQ(ct_equal("Secret", "secret", 6), 0);
	ATF_CHECK_EQ(ct_equal("secret", "secreT", 5), 1);
	ATF_CHECK_EQ(ct_equal("a", "b", 0), 1);
}

/* Every single-bit difference, at every position, is seen. */
ATF_TC_WITHOUT_HEAD(ct_equal_bits);
ATF_TC_BODY(ct_equal_bits, tc)
{
	unsigned char	a[33], b[33];
	size_t		i;
	int		bit;

	for (i = 0; i < sizeof(a); i++)
		a[i] = (unsigned char)(i * 37 + 11);
	for (i = 0; i < sizeof(a); i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(b, a, sizeof(b));
			b[i] ^= (unsigned char)(1 << bit);
			ATF_CHECK_EQ_MSG(ct_equal(a, b, sizeof(a)), 0,
			    "byte %zu bit %d", i, bit);
		}
	memcpy(b, a, sizeof(b));
	ATF_CHECK_EQ(ct_equal(a, b, sizeof(a)), 1);
}

ATF_TC_WITHOUT_HEAD(nonblock);
ATF_TC_BODY(nonblock, tc)
{
	int	 p[2];

	ATF_REQUIRE(pipe(p) == 0);
	ATF_CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0);
	ATF_CHECK_EQ(set_nonblock(p[0]), 0);
	ATF_CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	ATF_CHECK_EQ(set_nonblock(p[0]), 0);
	close(p[0]);
	ATF_CHECK_EQ(set_nonblock(p[0]), -1);
	close(p[1]);
}

ATF_TC_WITHOUT_HEAD(escape);
ATF_TC_BODY(escape, tc)
{
	char	 buf[64], small[6];

	ATF_CHECK_STREQ(str_escape("plain text/ok", buf, sizeof(buf)),
	    "plain text/ok");
	/* a newline would forge a second log line */
	ATF_CHECK_STREQ(str_escape("a\nb\rc\td", buf, sizeof(buf)),
	    "a\\nb\\rc\\td");
	ATF_CHECK_STREQ(str_escape("\x1b[2J\x01", buf, sizeof(buf)),
	    "\\033[2J\\001");
	ATF_CHECK_STREQ(str_escape("back\\slash", buf, sizeof(buf)),
	    "back\\\\slash");
	ATF_CHECK_STREQ(str_escape("\xc3\xa9", buf, sizeof(buf)),
	    "\\303\\251");
	ATF_CHECK_STREQ(str_escape(NULL, buf, sizeof(buf)), "(null)");

	/* truncation never cuts an escape in half */
	ATF_CHECK_STREQ(str_escape("abcd\x01", small, sizeof(small)), "abcd");
	ATF_CHECK_STREQ(str_escape("a\x01zzzz", small, sizeof(small)),
	    "a\\001");
	ATF_CHECK_STREQ(str_escape("ab\x01zzzz", small, sizeof(small)), "ab");
	ATF_CHECK_STREQ(str_escape("abcdefgh", small, sizeof(small)),
	    "abcde");
}

/* Every byte, alone and before a digit, escapes as vis(3) would. */
ATF_TC_WITHOUT_HEAD(escape_bytes);
ATF_TC_BODY(escape_bytes, tc)
{
	char	 in[3], want[16], buf[16];
	int	 b, next;

	for (b = 1; b < 256; b++) {
		for (next = 0; next < 2; next++) {
			in[0] = (char)b;
			in[1] = next ? '7' : '\0';
			in[2] = '\0';
			ATF_REQUIRE(vis(want, b, VIS_OCTAL | VIS_CSTYLE |
			    VIS_NL | VIS_TAB, (unsigned char)in[1]) != NULL);
			if (next)
				(void)strlcat(want, "7", sizeof(want));
			ATF_CHECK_STREQ_MSG(str_escape(in, buf, sizeof(buf)),
			    want, "byte %d", b);
		}
	}
}

ATF_TC_WITHOUT_HEAD(procnames);
ATF_TC_BODY(procnames, tc)
{
	ATF_CHECK_STREQ(proc_name(PROC_PARENT), "parent");
	ATF_CHECK_STREQ(proc_name(PROC_WEB), "web");
	ATF_CHECK_STREQ(proc_name(PROC_KEYS), "keys");
	ATF_CHECK_STREQ(proc_name(PROC_DB), "db");
	ATF_CHECK_STREQ(proc_name(PROC_CONTROL), "control");
	ATF_CHECK_STREQ(certaos_procnames[PROC_DB], "db");
	ATF_CHECK_STREQ(proc_name(PROC_MAX), "unknown");
	ATF_CHECK_STREQ(proc_name((enum certaos_proc)-1), "unknown");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, b64url_rfc4648);
	ATF_TP_ADD_TC(tp, b64url_alphabet);
	ATF_TP_ADD_TC(tp, b64url_invalid);
	ATF_TP_ADD_TC(tp, b64url_bounds);
	ATF_TP_ADD_TC(tp, hex);
	ATF_TP_ADD_TC(tp, ct_equal);
	ATF_TP_ADD_TC(tp, ct_equal_bits);
	ATF_TP_ADD_TC(tp, nonblock);
	ATF_TP_ADD_TC(tp, escape);
	ATF_TP_ADD_TC(tp, escape_bytes);
	ATF_TP_ADD_TC(tp, procnames);
	return (atf_no_error());
}
