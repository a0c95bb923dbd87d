/*
 * t_imsg: the imsg framing over real socketpairs: round trips, fd
 * passing and its refusal, many messages per read, messages split
 * across reads, bad headers, EOF, EPIPE, MSG_CTRUNC and size limits.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"

static void
mkpair(int sp[2])
{
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp) == 0);
}

/* The read end never blocks: a leaked write end fails a test, not hangs. */
static void
mkpipe(int p[2])
{
	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE(set_nonblock(p[0]) == 0);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* Read until one message is available; fails the test on EOF/error. */
static ssize_t
get_one(struct imsgbuf *ib, struct imsg *imsg)
{
	ssize_t	 n;
	int	 tries;

	for (tries = 0; tries < 1000; tries++) {
		if ((n = imsg_get(ib, imsg)) != 0)
			return (n);
		ATF_REQUIRE_EQ(imsgbuf_read(ib), 1);
	}
	atf_tc_fail("no message after 1000 reads");
	return (-1);
}

static void
raw_write(int fd, const void *p, size_t len)
{
	ATF_REQUIRE_EQ(write(fd, p, len), (ssize_t)len);
}

ATF_TC_WITHOUT_HEAD(roundtrip);
ATF_TC_BODY(roundtrip, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct iovec	 iov[3];
	char		 buf[64];
	int		 sp[2];
	uint32_t	 v = 0xdeadbeef;

	mkpair(sp);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);

	ATF_REQUIRE_EQ(imsg_compose(&a, 7, 42, 1234, -1, "hello", 5), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, 8, 43, 0, -1, NULL, 0), 1);
	iov[0].iov_base = "ab";
	iov[0].iov_len = 2;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "cde";
	iov[2].iov_len = 3;
	ATF_REQUIRE_EQ(imsg_composev(&a, 9, 44, 0, -1, iov, 3), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, 10, 45, 0, -1, &v, sizeof(v)), 1);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&a), 4);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	ATF_REQUIRE_EQ(imsgbuf_queuelen(&a), 0);

	ATF_REQUIRE_EQ(get_one(&b, &imsg), (ssize_t)IMSG_HEADER_SIZE + 5);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 7);
	ATF_CHECK_EQ(imsg_get_id(&imsg), 42);
	ATF_CHECK_EQ(imsg_get_pid(&imsg), 1234);
	ATF_CHECK_EQ(imsg_get_len(&imsg), 5);
	ATF_CHECK_EQ(imsg_get_fd(&imsg), -1);
	ATF_REQUIRE_EQ(imsg_get_data(&imsg, buf, 5), 0);
	ATF_CHECK(memcmp(buf, "hello", 5) == 0);
	/* any other length is refused */
	ATF_CHECK_EQ(imsg_get_data(&imsg, buf, 4), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	ATF_CHECK_EQ(imsg_get_data(&imsg, buf, 6), -1);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(get_one(&b, &imsg), (ssize_t)IMSG_HEADER_SIZE);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 8);
	/* pid 0 means "my pid" */
	ATF_CHECK_EQ(imsg_get_pid(&imsg), getpid());
	ATF_CHECK_EQ(imsg_get_len(&imsg), 0);
	ATF_CHECK(imsg.data == NULL);
	ATF_CHECK_EQ(imsg_get_data(&imsg, NULL, 0), 0);
	imsg_free(&imsg);

	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 9);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 5);
	ATF_CHECK(memcmp(imsg.data, "abcde", 5) == 0);
	ATF_CHECK_EQ(imsg_get_data(&imsg, NULL, 0), -1);
	imsg_free(&imsg);

	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	v = 0;
	ATF_REQUIRE_EQ(imsg_get_data(&imsg, &v, sizeof(v)), 0);
	ATF_CHECK_EQ(v, 0xdeadbeef);
	imsg_free(&imsg);

	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

ATF_TC_WITHOUT_HEAD(fdpass);
ATF_TC_BODY(fdpass, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	char		 buf[16];
	int		 sp[2], p[2], fd;

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);

	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, -1, "x", 1), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, 2, 0, 0, p[1], "pipe", 4), 1);
	ATF_REQUIRE_EQ(imsg_compose(&a, 3, 0, 0, -1, "y", 1), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	/* the buffer closed our copy once it was sent */
	ATF_CHECK(!fd_is_open(p[1]));

	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 1);
	ATF_CHECK_EQ(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);

	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 2);
	/* the mark is not part of the length the caller sees */
	ATF_CHECK_EQ(imsg.hdr.len, IMSG_HEADER_SIZE + 4);
	ATF_CHECK_EQ(imsg_get_len(&imsg), 4);
	fd = imsg_get_fd(&imsg);
	ATF_REQUIRE(fd >= 0);
	ATF_CHECK_EQ(imsg_get_fd(&imsg), -1);	/* handed out once */
	ATF_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	imsg_free(&imsg);
	ATF_REQUIRE(fd_is_open(fd));		/* imsg_free left it */

	raw_write(fd, "through", 7);
	close(fd);
	ATF_REQUIRE_EQ(read(p[0], buf, sizeof(buf)), 7);
	ATF_CHECK(memcmp(buf, "through", 7) == 0);
	/* every write end is closed now: EOF */
	ATF_CHECK_EQ(read(p[0], buf, sizeof(buf)), 0);

	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	ATF_CHECK_EQ(imsg_get_type(&imsg), 3);
	ATF_CHECK_EQ(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(p[0]);
	close(sp[0]);
	close(sp[1]);
}

ATF_TC_WITHOUT_HEAD(fdpass_free_closes);
ATF_TC_BODY(fdpass_free_closes, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	char		 c;
	int		 sp[2], p[2];

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, p[1], NULL, 0), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	ATF_REQUIRE(get_one(&b, &imsg) > 0);
	ATF_REQUIRE(imsg.fd >= 0);
	/* not taken: imsg_free closes it, so the pipe sees EOF */
	imsg_free(&imsg);
	ATF_CHECK_EQ(read(p[0], &c, 1), 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(fd_refused_compose);
ATF_TC_BODY(fd_refused_compose, tc)
{
	struct imsgbuf	 a;
	int		 sp[2], p[2];

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, p[1], "x", 1), -1);
	ATF_CHECK_EQ(errno, EPERM);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 0);
	/* on failure the caller still owns the descriptor */
	ATF_CHECK(fd_is_open(p[1]));
	imsgbuf_allow_fdpass(&a);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -5, "x", 1), -1);
	ATF_CHECK_EQ(errno, EBADF);
	imsgbuf_clear(&a);
}

ATF_TC_WITHOUT_HEAD(fd_refused_receive);
ATF_TC_BODY(fd_refused_receive, tc)
{
	struct imsgbuf	 a, b;
	char		 c;
	int		 sp[2], p[2];

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	imsgbuf_allow_fdpass(&a);	/* the receiver did not opt in */
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, p[1], "x", 1), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_read(&b), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	/* the descriptor that arrived was closed: the pipe is orphaned */
	ATF_CHECK_EQ(read(p[0], &c, 1), 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(fdmark_without_fd);
ATF_TC_BODY(fdmark_without_fd, tc)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	int		 sp[2];

	mkpair(sp);
	imsgbuf_init(&b, sp[1]);
	imsgbuf_allow_fdpass(&b);
	hdr.type = 1;
	hdr.len = IMSG_HEADER_SIZE | IMSG_FD_MARK;
	hdr.peerid = 0;
	hdr.pid = 0;
	raw_write(sp[0], &hdr, sizeof(hdr));
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	errno = 0;
	ATF_CHECK_EQ(imsg_get(&b, &imsg), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(many_in_one_read);
ATF_TC_BODY(many_in_one_read, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	uint32_t	 i, v, got = 0;
	int		 sp[2];

	mkpair(sp);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	for (i = 0; i < 100; i++)
		ATF_REQUIRE_EQ(imsg_compose(&a, 5, i, 0, -1, &i,
		    sizeof(i)), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);

	/* 100 * 20 bytes fit one read of the first buffer */
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	while (imsg_get(&b, &imsg) > 0) {
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), got);
		ATF_REQUIRE_EQ(imsg_get_data(&imsg, &v, sizeof(v)), 0);
		ATF_REQUIRE_EQ(v, got);
		imsg_free(&imsg);
		got++;
	}
	ATF_CHECK_EQ(got, 100);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(many_large);
ATF_TC_BODY(many_large, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	*big, *rb;
	size_t		 biglen = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	uint32_t	 i, got = 0;
	int		 sp[2];

	mkpair(sp);
	ATF_REQUIRE(set_nonblock(sp[0]) == 0);
	ATF_REQUIRE(set_nonblock(sp[1]) == 0);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	ATF_REQUIRE((big = malloc(biglen)) != NULL);
	ATF_REQUIRE((rb = malloc(biglen)) != NULL);

	/* far more than the socket buffer: partial writes and EAGAIN */
	for (i = 0; i < 64; i++) {
		memset(big, 'a' + (i % 26), biglen);
		memcpy(big, &i, sizeof(i));
		ATF_REQUIRE_EQ(imsg_compose(&a, 6, i, 0, -1, big,
		    biglen - (i % 3)), 1);
		/* small ones in between */
		ATF_REQUIRE_EQ(imsg_compose(&a, 7, i, 0, -1, &i,
		    sizeof(i)), 1);
	}
	while (got < 128) {
		ATF_REQUIRE_EQ(imsgbuf_write(&a), 0);
		ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
		while (imsg_get(&b, &imsg) > 0) {
			i = got / 2;
			ATF_REQUIRE_EQ(imsg_get_id(&imsg), i);
			if (got % 2 == 0) {
				ATF_REQUIRE_EQ(imsg_get_type(&imsg), 6);
				ATF_REQUIRE_EQ(imsg_get_len(&imsg),
				    biglen - (i % 3));
				memset(big, 'a' + (i % 26), biglen);
				memcpy(big, &i, sizeof(i));
				ATF_REQUIRE(memcmp(imsg.data, big,
				    biglen - (i % 3)) == 0);
			} else
				ATF_REQUIRE_EQ(imsg_get_type(&imsg), 7);
			imsg_free(&imsg);
			got++;
		}
	}
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 0);
	free(big);
	free(rb);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(split_across_reads);
ATF_TC_BODY(split_across_reads, tc)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	unsigned char	 msg[IMSG_HEADER_SIZE + 10];
	int		 sp[2];

	mkpair(sp);
	ATF_REQUIRE(set_nonblock(sp[1]) == 0);
	imsgbuf_init(&b, sp[1]);
	hdr.type = 77;
	hdr.len = sizeof(msg);
	hdr.peerid = 5;
	hdr.pid = 99;
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), "0123456789", 10);

	/* half of the header */
	raw_write(sp[0], msg, 7);
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	/* nothing more to read yet: EAGAIN is not an error */
	ATF_CHECK_EQ(imsgbuf_read(&b), 1);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	usleep(10000);
	/* the rest of the header and half of the payload */
	raw_write(sp[0], msg + 7, IMSG_HEADER_SIZE - 7 + 5);
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	usleep(10000);
	raw_write(sp[0], msg + IMSG_HEADER_SIZE + 5, 5);
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	ATF_REQUIRE_EQ(imsg_get(&b, &imsg), (ssize_t)sizeof(msg));
	ATF_CHECK_EQ(imsg_get_type(&imsg), 77);
	ATF_CHECK_EQ(imsg_get_id(&imsg), 5);
	ATF_CHECK_EQ(imsg_get_pid(&imsg), 99);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 10);
	ATF_CHECK(memcmp(imsg.data, "0123456789", 10) == 0);
	imsg_free(&imsg);
	ATF_CHECK_EQ(imsg_get(&b, &imsg), 0);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(split_large);
ATF_TC_BODY(split_large, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	*big;
	size_t		 biglen = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	size_t		 i;
	int		 sp[2];
	unsigned char	 wire[MAX_IMSGSIZE];
	struct imsg_hdr	 hdr;

	/* a maximal message bigger than the first read buffer, in pieces */
	mkpair(sp);
	ATF_REQUIRE(set_nonblock(sp[1]) == 0);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	ATF_REQUIRE((big = malloc(biglen)) != NULL);
	for (i = 0; i < biglen; i++)
		big[i] = i * 7;
	hdr.type = 3;
	hdr.len = MAX_IMSGSIZE;
	hdr.peerid = 0;
	hdr.pid = 0;
	memcpy(wire, &hdr, sizeof(hdr));
	memcpy(wire + sizeof(hdr), big, biglen);
	for (i = 0; i < sizeof(wire); i += 1000) {
		raw_write(sp[0], wire + i,
		    sizeof(wire) - i < 1000 ? sizeof(wire) - i : 1000);
		ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
		if (i + 1000 < sizeof(wire))
			ATF_REQUIRE_EQ(imsg_get(&b, &imsg), 0);
	}
	ATF_REQUIRE_EQ(imsg_get(&b, &imsg), MAX_IMSGSIZE);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), biglen);
	ATF_CHECK(memcmp(imsg.data, big, biglen) == 0);
	imsg_free(&imsg);
	free(big);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(bad_header);
ATF_TC_BODY(bad_header, tc)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	int		 sp[2];

	/* longer than the maximum */
	mkpair(sp);
	imsgbuf_init(&b, sp[1]);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.len = MAX_IMSGSIZE + 1;
	raw_write(sp[0], &hdr, sizeof(hdr));
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	errno = 0;
	ATF_CHECK_EQ(imsg_get(&b, &imsg), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);

	/* shorter than a header */
	mkpair(sp);
	imsgbuf_init(&b, sp[1]);
	hdr.len = IMSG_HEADER_SIZE - 1;
	raw_write(sp[0], &hdr, sizeof(hdr));
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	errno = 0;
	ATF_CHECK_EQ(imsg_get(&b, &imsg), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);

	/* within MAX_IMSGSIZE but above this channel's maximum */
	mkpair(sp);
	imsgbuf_init(&b, sp[1]);
	ATF_REQUIRE_EQ(imsgbuf_set_maxsize(&b, 64), 0);
	hdr.len = 65;
	raw_write(sp[0], &hdr, sizeof(hdr));
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	errno = 0;
	ATF_CHECK_EQ(imsg_get(&b, &imsg), -1);
	ATF_CHECK_EQ(errno, EBADMSG);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(eof);
ATF_TC_BODY(eof, tc)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	int		 sp[2];

	mkpair(sp);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, -1, "last", 4), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);
	imsgbuf_clear(&a);
	close(sp[0]);
	/* the data sent before the close still arrives, then EOF */
	ATF_REQUIRE_EQ(imsgbuf_read(&b), 1);
	ATF_REQUIRE(imsg_get(&b, &imsg) > 0);
	imsg_free(&imsg);
	ATF_CHECK_EQ(imsgbuf_read(&b), 0);
	imsgbuf_clear(&b);
}

ATF_TC_WITHOUT_HEAD(epipe);
ATF_TC_BODY(epipe, tc)
{
	struct imsgbuf	 a;
	int		 sp[2];

	mkpair(sp);
	imsgbuf_init(&a, sp[0]);
	close(sp[1]);
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, -1, "x", 1), 1);
	/* MSG_NOSIGNAL: an error, not a SIGPIPE that kills us */
	errno = 0;
	ATF_CHECK_EQ(imsgbuf_write(&a), -1);
	ATF_CHECK_EQ(errno, EPIPE);
	ATF_CHECK_EQ(imsgbuf_flush(&a), -1);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 1);
	imsgbuf_clear(&a);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 0);
}

ATF_TC_WITHOUT_HEAD(maxsize);
ATF_TC_BODY(maxsize, tc)
{
	struct imsgbuf	 a;
	struct iovec	 iov[2];
	char		*big;
	size_t		 max = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	int		 sp[2];

	mkpair(sp);
	imsgbuf_init(&a, sp[0]);
	ATF_REQUIRE((big = calloc(1, MAX_IMSGSIZE + 1)) != NULL);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, big, max), 1);
	errno = 0;
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, big, max + 1), -1);
	ATF_CHECK_EQ(errno, ERANGE);
	iov[0].iov_base = big;
	iov[0].iov_len = max;
	iov[1].iov_base = big;
	iov[1].iov_len = 1;
	ATF_CHECK_EQ(imsg_composev(&a, 1, 0, 0, -1, iov, 2), -1);
	ATF_CHECK_EQ(errno, ERANGE);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 1);

	ATF_CHECK_EQ(imsgbuf_set_maxsize(&a, MAX_IMSGSIZE + 1), -1);
	ATF_CHECK_EQ(imsgbuf_set_maxsize(&a, IMSG_HEADER_SIZE - 1), -1);
	ATF_CHECK_EQ(imsgbuf_set_maxsize(&a, IMSG_HEADER_SIZE), 0);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, NULL, 0), 1);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, big, 1), -1);
	ATF_CHECK_EQ(imsgbuf_set_maxsize(&a, 100), 0);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, big,
	    100 - IMSG_HEADER_SIZE), 1);
	ATF_CHECK_EQ(imsg_compose(&a, 1, 0, 0, -1, big,
	    100 - IMSG_HEADER_SIZE + 1), -1);
	ATF_CHECK_EQ(imsgbuf_queuelen(&a), 3);
	free(big);
	imsgbuf_clear(&a);
}

ATF_TC_WITHOUT_HEAD(clear_closes_fds);
ATF_TC_BODY(clear_closes_fds, tc)
{
	struct imsgbuf	 a;
	int		 sp[2], p[2];

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_allow_fdpass(&a);
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, p[1], NULL, 0), 1);
	ATF_CHECK(fd_is_open(p[1]));
	imsgbuf_clear(&a);
	ATF_CHECK(!fd_is_open(p[1]));
}

ATF_TC_WITHOUT_HEAD(ctrunc);
ATF_TC_BODY(ctrunc, tc)
{
	struct imsgbuf	 a, b;
	struct rlimit	 rl, saved;
	char		 c;
	int		 sp[2], p[2], lowest, rv, error;

	mkpair(sp);
	mkpipe(p);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);
	ATF_REQUIRE_EQ(imsg_compose(&a, 1, 0, 0, p[1], "x", 1), 1);
	ATF_REQUIRE_EQ(imsgbuf_flush(&a), 0);

	/* no descriptor slot left for the receiver */
	ATF_REQUIRE((lowest = dup(0)) >= 0);
	close(lowest);
	ATF_REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	rl = saved;
	rl.rlim_cur = lowest;
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	errno = 0;
	rv = imsgbuf_read(&b);
	error = errno;
	/* atf needs descriptors to report */
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);

	ATF_CHECK_EQ(rv, -1);
	ATF_CHECK_EQ(error, EMSGSIZE);
	/* the kernel dropped the descriptor: nothing leaked */
	ATF_CHECK_EQ(read(p[0], &c, 1), 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip);
	ATF_TP_ADD_TC(tp, fdpass);
	ATF_TP_ADD_TC(tp, fdpass_free_closes);
	ATF_TP_ADD_TC(tp, fd_refused_compose);
	ATF_TP_ADD_TC(tp, fd_refused_receive);
	ATF_TP_ADD_TC(tp, fdmark_without_fd);
	ATF_TP_ADD_TC(tp, many_in_one_read);
	ATF_TP_ADD_TC(tp, many_large);
	ATF_TP_ADD_TC(tp, split_across_reads);
	ATF_TP_ADD_TC(tp, split_large);
	ATF_TP_ADD_TC(tp, bad_header);
	ATF_TP_ADD_TC(tp, eof);
	ATF_TP_ADD_TC(tp, epipe);
	ATF_TP_ADD_TC(tp, maxsize);
	ATF_TP_ADD_TC(tp, clear_closes_fds);
	ATF_TP_ADD_TC(tp, ctrunc);
	return (atf_no_error());
}
