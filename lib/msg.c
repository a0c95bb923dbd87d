/*
 * msg.c: typed marshalling of imsg payloads.
 *
 * Encoding (both ends live on one machine, so host byte order): u32 and
 * i32 as 4 bytes, u64 as 8 bytes, strings as a u32 length and the bytes
 * without a NUL, byte strings the same.  Fields are copied with memcpy, so
 * nothing depends on the alignment of the payload.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "certaos.h"
#include "msg.h"

static void	 mbuf_add(struct mbuf *, const void *, size_t);
static int	 mread_take(struct mread *, void *, size_t);

void
mbuf_init(struct mbuf *m)
{
	m->len = 0;
	m->err = 0;
}

static void
mbuf_add(struct mbuf *m, const void *p, size_t n)
{
	if (m->err)
		return;
	if (n > sizeof(m->buf) - m->len) {
		m->err = 1;
		return;
	}
	if (n > 0)
		memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
mbuf_u32(struct mbuf *m, uint32_t v)
{
	mbuf_add(m, &v, sizeof(v));
}

void
mbuf_u64(struct mbuf *m, uint64_t v)
{
	mbuf_add(m, &v, sizeof(v));
}

void
mbuf_i32(struct mbuf *m, int32_t v)
{
	mbuf_add(m, &v, sizeof(v));
}

void
mbuf_str(struct mbuf *m, const char *s)
{
	if (s == NULL) {
		m->err = 1;
		return;
	}
	mbuf_bytes(m, s, strlen(s));
}

void
mbuf_bytes(struct mbuf *m, const void *p, size_t n)
{
	if (m->err)
		return;
	/* check the whole field first: no half-written field */
	if (n > sizeof(m->buf) ||
	    sizeof(uint32_t) + n > sizeof(m->buf) - m->len ||
	    (n > 0 && p == NULL)) {
		m->err = 1;
		return;
	}
	mbuf_u32(m, (uint32_t)n);
	mbuf_add(m, p, n);
}

int
mbuf_compose(struct mbuf *m, struct imsgbuf *ibuf, uint32_t type,
    uint32_t peerid)
{
	if (m->err) {
		errno = ERANGE;
		return (-1);
	}
	if (imsg_compose(ibuf, type, peerid, 0, -1, m->buf, m->len) == -1)
		return (-1);
	return (0);
}

void
mbuf_clear(struct mbuf *m)
{
	/* what was written is all that can hold a secret */
	explicit_bzero(m->buf, m->len);
	m->len = 0;
	m->err = 0;
}

void
mread_init(struct mread *r, struct imsg *imsg)
{
	r->p = imsg->data;
	r->len = imsg_get_len(imsg);
	r->off = 0;
	r->err = 0;
	if (r->p == NULL && r->len > 0)
		r->err = 1;
}

static int
mread_take(struct mread *r, void *dst, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return (-1);
	}
	if (n > 0)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
	return (0);
}

uint32_t
mread_u32(struct mread *r)
{
	uint32_t	 v;

	if (mread_take(r, &v, sizeof(v)) == -1)
		return (0);
	return (v);
}

uint64_t
mread_u64(struct mread *r)
{
	uint64_t	 v;

	if (mread_take(r, &v, sizeof(v)) == -1)
		return (0);
	return (v);
}

int32_t
mread_i32(struct mread *r)
{
	int32_t	 v;

	if (mread_take(r, &v, sizeof(v)) == -1)
		return (0);
	return (v);
}

/*
 * Always returns dst (an empty string after an error, so a careless
 * caller never prints garbage); the error sticks for mread_end().
 */
const char *
mread_str(struct mread *r, char *dst, size_t dstsz)
{
	uint32_t	 n;

	if (dstsz == 0) {
		r->err = 1;
		return (dst);
	}
	dst[0] = '\0';
	n = mread_u32(r);
	if (r->err)
		return (dst);
	if (n > r->len - r->off || (size_t)n + 1 > dstsz ||
	    memchr(r->p + r->off, '\0', n) != NULL) {
		r->err = 1;
		return (dst);
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n;
	return (dst);
}

size_t
mread_bytes(struct mread *r, void *dst, size_t dstsz)
{
	uint32_t	 n;

	n = mread_u32(r);
	if (r->err)
		return (0);
	if (n > r->len - r->off || n > dstsz) {
		r->err = 1;
		return (0);
	}
	if (n > 0)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
	return (n);
}

int
mread_end(struct mread *r)
{
	if (r->err || r->off != r->len)
		return (-1);
	return (0);
}
