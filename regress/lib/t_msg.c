/*
 * t_msg: typed marshalling.  Every field type round trips (also through
 * a real imsg channel); truncated payloads, trailing bytes, strings too
 * long for their destination, embedded NULs and overflowing writers are
 * all refused.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"
#include "msg.h"

static struct mbuf	 m;

/* Point an imsg at n bytes of p, as imsg_get would hand it out. */
static void
fake_imsg(struct imsg *imsg, const void *p, size_t n)
{
	memset(imsg, 0, sizeof(*imsg));
	imsg->hdr.type = 1;
	imsg->hdr.len = IMSG_HEADER_SIZE + n;
	imsg->data = n > 0 ? (void *)(uintptr_t)p : NULL;
	imsg->fd = -1;
}

static void
fill_all(struct mbuf *mb)
{
	mbuf_init(mb);
	mbuf_u32(mb, 0xfeedface);
	mbuf_u64(mb, 0x0102030405060708ULL);
	mbuf_i32(mb, -42);
	mbuf_str(mb, "RS256");
	mbuf_str(mb, "");
	mbuf_bytes(mb, "\0\1\2\3", 4);
	mbuf_bytes(mb, NULL, 0);
}

ATF_TC_WITHOUT_HEAD(roundtrip);
ATF_TC_BODY(roundtrip, tc)
{
	struct imsg	 imsg;
	struct mread	 r;
	char		 s[16], e[4];
	unsigned char	 b[8], z[1];

	fill_all(&m);
	ATF_REQUIRE_EQ(m.err, 0);
	/* 4 + 8 + 4 + (4 + 5) + 4 + (4 + 4) + 4 */
	ATF_REQUIRE_EQ(m.len, 41);
	fake_imsg(&imsg, m.buf, m.len);

	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_u32(&r), 0xfeedface);
	ATF_CHECK(mread_u64(&r) == 0x0102030405060708ULL);
	ATF_CHECK_EQ(mread_i32(&r), -42);
	ATF_CHECK_STREQ(mread_str(&r, s, sizeof(s)), "RS256");
	ATF_CHECK_STREQ(mread_str(&r, e, sizeof(e)), "");
	ATF_CHECK_EQ(mread_bytes(&r, b, sizeof(b)), 4);
	ATF_CHECK(memcmp(b, "\0\1\2\3", 4) == 0);
	ATF_CHECK_EQ(mread_bytes(&r, z, sizeof(z)), 0);
	ATF_CHECK_EQ(mread_end(&r), 0);
}

ATF_TC_WITHOUT_HEAD(through_imsg);
ATF_TC_BODY(through_imsg, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct mread	 r;
	char		 s[16];
	int		 sp[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	mbuf_init(&m);
	mbuf_str(&m, "kid-1");
	mbuf_u64(&m, 1700000000);
	ATF_REQUIRE_EQ(mbuf_compose(&m, &a, IMSG_KEYS_JWKS, 9), 0);
	mbuf_clear(&m);
	ATF_CHECK_EQ(m.len, 0);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	ATF_REQUIRE(imsg_get(&b, &imsg) > 0);
	ATF_CHECK_EQ(imsg_get_type(&imsg), IMSG_KEYS_JWKS);
	ATF_CHECK_EQ(imsg_get_id(&imsg), 9);
	mread_init(&r, &imsg);
	ATF_CHECK_STREQ(mread_str(&r, s, sizeof(s)), "kid-1");
	ATF_CHECK(mread_u64(&r) == 1700000000);
	ATF_CHECK_EQ(mread_end(&r), 0);
	imsg_free(&imsg);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(truncated);
ATF_TC_BODY(truncated, tc)
{
	struct imsg	 imsg;
	struct mread	 r;
	char		 s[16];
	unsigned char	 b[8];
	size_t		 cut;

	fill_all(&m);
	/* every strict prefix of the payload fails somewhere */
	for (cut = 0; cut < m.len; cut++) {
		fake_imsg(&imsg, m.buf, cut);
		mread_init(&r, &imsg);
		(void)mread_u32(&r);
		(void)mread_u64(&r);
		(void)mread_i32(&r);
		(void)mread_str(&r, s, sizeof(s));
		(void)mread_str(&r, s, sizeof(s));
		(void)mread_bytes(&r, b, sizeof(b));
		(void)mread_bytes(&r, b, sizeof(b));
		ATF_CHECK_EQ_MSG(mread_end(&r), -1, "cut at %zu", cut);
	}

	/* a length prefix that promises more than is there */
	mbuf_init(&m);
	mbuf_u32(&m, 10);
	memcpy(m.buf + m.len, "abc", 3);
	fake_imsg(&imsg, m.buf, m.len + 3);
	mread_init(&r, &imsg);
	ATF_CHECK_STREQ(mread_str(&r, s, sizeof(s)), "");
	ATF_CHECK_EQ(mread_end(&r), -1);

	/* reading a field from an empty payload */
	fake_imsg(&imsg, NULL, 0);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_u32(&r), 0);
	ATF_CHECK_EQ(mread_end(&r), -1);
}

ATF_TC_WITHOUT_HEAD(trailing);
ATF_TC_BODY(trailing, tc)
{
	struct imsg	 imsg;
	struct mread	 r;

	mbuf_init(&m);
	mbuf_u32(&m, 1);
	mbuf_u32(&m, 2);
	fake_imsg(&imsg, m.buf, m.len);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_u32(&r), 1);
	ATF_CHECK_EQ(mread_end(&r), -1);

	/* one stray byte */
	fake_imsg(&imsg, m.buf, 5);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_u32(&r), 1);
	ATF_CHECK_EQ(mread_end(&r), -1);

	/* and an empty payload read as nothing is fine */
	fake_imsg(&imsg, NULL, 0);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_end(&r), 0);
}

ATF_TC_WITHOUT_HEAD(str_too_long);
ATF_TC_BODY(str_too_long, tc)
{
	struct imsg	 imsg;
	struct mread	 r;
	char		 s5[5], s6[6];

	mbuf_init(&m);
	mbuf_str(&m, "hello");
	fake_imsg(&imsg, m.buf, m.len);

	/* 5 bytes need 6 with the NUL */
	mread_init(&r, &imsg);
	ATF_CHECK_STREQ(mread_str(&r, s5, sizeof(s5)), "");
	ATF_CHECK_EQ(mread_end(&r), -1);

	mread_init(&r, &imsg);
	ATF_CHECK_STREQ(mread_str(&r, s6, sizeof(s6)), "hello");
	ATF_CHECK_EQ(mread_end(&r), 0);

	/* errors stick: later fields read as zero */
	mbuf_init(&m);
	mbuf_str(&m, "toolong");
	mbuf_u32(&m, 7);
	fake_imsg(&imsg, m.buf, m.len);
	mread_init(&r, &imsg);
	(void)mread_str(&r, s5, sizeof(s5));
	ATF_CHECK_EQ(mread_u32(&r), 0);
	ATF_CHECK_EQ(mread_end(&r), -1);
}

ATF_TC_WITHOUT_HEAD(bytes_too_long);
ATF_TC_BODY(bytes_too_long, tc)
{
	struct imsg	 imsg;
	struct mread	 r;
	unsigned char	 b3[3], b4[4];

	mbuf_init(&m);
	mbuf_bytes(&m, "abcd", 4);
	fake_imsg(&imsg, m.buf, m.len);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_bytes(&r, b3, sizeof(b3)), 0);
	ATF_CHECK_EQ(mread_end(&r), -1);
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_bytes(&r, b4, sizeof(b4)), 4);
	ATF_CHECK_EQ(mread_end(&r), 0);
}

ATF_TC_WITHOUT_HEAD(embedded_nul);
ATF_TC_BODY(embedded_nul, tc)
{
	struct imsg	 imsg;
	struct mread	 r;
	char		 s[16];
	unsigned char	 b[16];

	/* a string field written as bytes with a NUL inside */
	mbuf_init(&m);
	mbuf_bytes(&m, "ad\0min", 6);
	fake_imsg(&imsg, m.buf, m.len);
	mread_init(&r, &imsg);
	ATF_CHECK_STREQ(mread_str(&r, s, sizeof(s)), "");
	ATF_CHECK_EQ(mread_end(&r), -1);
	/* as bytes it is fine */
	mread_init(&r, &imsg);
	ATF_CHECK_EQ(mread_bytes(&r, b, sizeof(b)), 6);
	ATF_CHECK_EQ(mread_end(&r), 0);
}

ATF_TC_WITHOUT_HEAD(writer_overflow);
ATF_TC_BODY(writer_overflow, tc)
{
	static char	 big[sizeof(m.buf)];
	struct imsgbuf	 a;
	int		 sp[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	imsgbuf_init(&a, sp[0]);

	/* exactly full is fine and composes as a maximal imsg */
	mbuf_init(&m);
	mbuf_bytes(&m, big, sizeof(m.buf) - 4);
	ATF_CHECK_EQ(m.err, 0);
	ATF_CHECK_EQ(m.len, sizeof(m.buf));
	ATF_CHECK_EQ(mbuf_compose(&m, &a, 1, 0), 0);

	/* one byte more is an error, and nothing half-written */
	mbuf_init(&m);
	mbuf_bytes(&m, big, sizeof(m.buf) - 3);
	ATF_CHECK_EQ(m.err, 1);
	ATF_CHECK_EQ(m.len, 0);
	mbuf_u32(&m, 1);			/* sticks */
	ATF_CHECK_EQ(m.len, 0);
	errno = 0;
	ATF_CHECK_EQ(mbuf_compose(&m, &a, 1, 0), -1);
	ATF_CHECK_EQ(errno, ERANGE);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 1);

	mbuf_init(&m);
	mbuf_bytes(&m, big, sizeof(m.buf) - 8);
	mbuf_u64(&m, 1);
	ATF_CHECK_EQ(m.err, 1);
	mbuf_init(&m);
	mbuf_str(&m, NULL);
	ATF_CHECK_EQ(m.err, 1);
	imsgbuf_clear(&a);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip);
	ATF_TP_ADD_TC(tp, through_imsg);
	ATF_TP_ADD_TC(tp, truncated);
	ATF_TP_ADD_TC(tp, trailing);
	ATF_TP_ADD_TC(tp, str_too_long);
	ATF_TP_ADD_TC(tp, bytes_too_long);
	ATF_TP_ADD_TC(tp, embedded_nul);
	ATF_TP_ADD_TC(tp, writer_overflow);
	return (atf_no_error());
}
