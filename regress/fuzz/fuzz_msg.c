/*
 * fuzz_msg: imsg payload decoding.  The input is read twice:
 *
 *  - as the payload of one message (a struct imsg made by hand: header
 *    and an exact-size copy of the data), decoded with mread_* in every
 *    field order the daemons use and a few more;
 *  - as the byte stream of a channel: written into a socketpair, read
 *    with imsgbuf_read and cut into messages with imsg_get, each of
 *    which is decoded the same way.
 *
 * Properties checked: strings come back NUL-terminated within their
 * buffer, byte strings no longer than theirs; a payload that decodes
 * cleanly (mread_end() == 0) is exactly what mbuf_* writes for the
 * values read; imsg_get returns whole messages within the size limit,
 * with the length, payload and (absent) descriptor it announces.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certaos.h"
#include "imsg.h"
#include "msg.h"
#include "fuzz.h"

#define MSG_FZ_STREAM_MAX	(32 * 1024)	/* fits a socket buffer */

/* A field: u32, U64, i32, str, bytes; size of the reader's buffer. */
struct msg_fz_field {
	char	 type;
	size_t	 size;
};

/* The orders of lib/, certaos-db, certaos-keys and certaos-web, and more. */
static const struct msg_fz_field msg_fz_schemas[][8] = {
	/* db and keys: a jwks row */
	{ { 's', CERTAOS_MAX_KID }, { 's', 16 }, { 's', CERTAOS_MAX_JWK + 1 },
	  { 'b', 4096 }, { 'U', 0 } },
	/* keys: sign */
	{ { 's', 16 }, { 's', CERTAOS_MAX_KID }, { 'b', 8192 } },
	/* keys: hmac */
	{ { 'u', 0 }, { 'b', 1024 } },
	/* keys: password hash, password verify */
	{ { 'b', 1024 } },
	{ { 'b', 1024 }, { 's', 256 } },
	/* web: jwks, jwks changed, error */
	{ { 'u', 0 }, { 's', 8192 } },
	{ { 'u', 0 } },
	{ { 's', 256 } },
	/* every type, and tight buffers */
	{ { 'U', 0 }, { 'i', 0 }, { 'u', 0 }, { 's', 32 }, { 'b', 32 } },
	{ { 'b', 0 }, { 's', 1 }, { 'b', 1 }, { 's', 2 }, { 'b', 7 },
	  { 's', 8 }, { 'u', 0 }, { 'U', 0 } },
	{ { 's', 8 }, { 's', 8 }, { 's', 8 }, { 's', 8 }, { 's', 8 },
	  { 's', 8 }, { 's', 8 }, { 's', 8 } },
	{ { 'i', 0 }, { 'i', 0 }, { 'U', 0 }, { 'U', 0 } },
};

static void	 msg_fz_decode(struct imsg *);
static void	 msg_fz_schema(struct imsg *, const struct msg_fz_field *,
		    size_t);
static void	 msg_fz_payload(const uint8_t *, size_t);
static void	 msg_fz_stream(const uint8_t *, size_t);

static void
msg_fz_schema(struct imsg *imsg, const struct msg_fz_field *f, size_t nf)
{
	struct mread	 mr;
	struct mbuf	*mb;
	const char	*s;
	char		*dst;
	size_t		 i, n, len;

	if ((mb = malloc(sizeof(*mb))) == NULL)
		abort();
	mbuf_init(mb);
	mread_init(&mr, imsg);
	for (i = 0; i < nf && f[i].type != '\0'; i++) {
		switch (f[i].type) {
		case 'u':
			mbuf_u32(mb, mread_u32(&mr));
			break;
		case 'U':
			mbuf_u64(mb, mread_u64(&mr));
			break;
		case 'i':
			mbuf_i32(mb, mread_i32(&mr));
			break;
		case 's':
			if ((dst = malloc(f[i].size)) == NULL)
				abort();
			s = mread_str(&mr, dst, f[i].size);
			FUZZ_ASSERT(s == dst);
			len = strnlen(dst, f[i].size);
			FUZZ_ASSERT(len < f[i].size);
			mbuf_str(mb, dst);
			free(dst);
			break;
		case 'b':
			if ((dst = malloc(f[i].size > 0 ? f[i].size : 1)) ==
			    NULL)
				abort();
			n = mread_bytes(&mr, dst, f[i].size);
			FUZZ_ASSERT(n <= f[i].size);
			mbuf_bytes(mb, dst, n);
			free(dst);
			break;
		default:
			abort();
		}
	}
	if (mread_end(&mr) == 0) {
		/* a clean decode: the writer makes the same bytes */
		FUZZ_ASSERT(mb->err == 0);
		FUZZ_ASSERT(mb->len == imsg_get_len(imsg));
		FUZZ_ASSERT(mb->len == 0 ||
		    memcmp(mb->buf, imsg->data, mb->len) == 0);
	} else
		FUZZ_ASSERT(mr.err || mr.off != mr.len);
	/* an error sticks */
	if (mr.err) {
		(void)mread_u32(&mr);
		FUZZ_ASSERT(mread_end(&mr) == -1);
	}
	mbuf_clear(mb);
	free(mb);
}

static void
msg_fz_decode(struct imsg *imsg)
{
	size_t	 i;

	for (i = 0; i < nitems(msg_fz_schemas); i++)
		msg_fz_schema(imsg, msg_fz_schemas[i],
		    nitems(msg_fz_schemas[i]));
}

/* The input as the payload of one message. */
static void
msg_fz_payload(const uint8_t *data, size_t size)
{
	struct imsg	 imsg;

	if (size > UINT32_MAX - IMSG_HEADER_SIZE)
		return;
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = 1;
	imsg.hdr.len = IMSG_HEADER_SIZE + size;
	imsg.hdr.peerid = 7;
	imsg.fd = -1;
	imsg.data = NULL;
	if (size > 0) {
		if ((imsg.data = malloc(size)) == NULL)
			abort();
		memcpy(imsg.data, data, size);
	}
	FUZZ_ASSERT(imsg_get_len(&imsg) == size);
	msg_fz_decode(&imsg);
	imsg_free(&imsg);
}

/* The input as what a peer wrote on a channel. */
static void
msg_fz_stream(const uint8_t *data, size_t size)
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	ssize_t		 n;
	size_t		 total = 0;
	uint32_t	 maxsize;
	int		 sv[2], r;

	if (size > MSG_FZ_STREAM_MAX)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	if (shutdown(sv[1], SHUT_WR) == -1)
		abort();
	if (imsgbuf_init(&ibuf, sv[0]) == -1)
		abort();
	/* a smaller limit on some inputs, chosen by the input */
	maxsize = MAX_IMSGSIZE;
	if (size > 0 && (data[size - 1] & 0x80))
		maxsize = IMSG_HEADER_SIZE + (data[size - 1] & 0x7f) * 8;
	FUZZ_ASSERT(imsgbuf_set_maxsize(&ibuf, maxsize) == 0);

	for (;;) {
		n = imsg_get(&ibuf, &imsg);
		if (n == -1)
			break;
		if (n > 0) {
			FUZZ_ASSERT((size_t)n >= IMSG_HEADER_SIZE &&
			    (size_t)n <= maxsize);
			FUZZ_ASSERT(imsg.hdr.len == (uint32_t)n);
			FUZZ_ASSERT(imsg_get_len(&imsg) ==
			    (size_t)n - IMSG_HEADER_SIZE);
			FUZZ_ASSERT((imsg.data == NULL) ==
			    (imsg_get_len(&imsg) == 0));
			FUZZ_ASSERT(imsg_get_fd(&imsg) == -1);
			FUZZ_ASSERT(imsg_get_data(&imsg, NULL,
			    imsg_get_len(&imsg) + 1) == -1);
			/* the message is where the stream says it is */
			FUZZ_ASSERT(total + n <= size);
			FUZZ_ASSERT(imsg_get_len(&imsg) == 0 ||
			    memcmp(imsg.data, data + total + IMSG_HEADER_SIZE,
			    imsg_get_len(&imsg)) == 0);
			total += n;
			msg_fz_decode(&imsg);
			imsg_free(&imsg);
			continue;
		}
		if ((r = imsgbuf_read(&ibuf)) != 1)
			break;
	}
	imsgbuf_clear(&ibuf);
	close(sv[0]);
	close(sv[1]);
}

FUZZ_TARGET(msg)
{
	msg_fz_payload(data, size);
	msg_fz_stream(data, size);
	return (0);
}
