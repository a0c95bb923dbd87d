/*
 * imsg.c: our own implementation of the OpenBSD 7.7 imsg API and wire
 * format over a stream socket.
 *
 * Wire: a 16-byte header (u32 type, u32 len, u32 peerid, u32 pid, host
 * order) followed by len - 16 bytes of payload.  The top bit of len
 * (IMSG_FD_MARK) says a descriptor was sent with the first byte of the
 * message.  Descriptors travel only on channels that opted in with
 * imsgbuf_allow_fdpass(); at most one per message.
 *
 * Input: one read buffer per imsgbuf, grown up to maxsize and compacted
 * before each read; received descriptors wait in a FIFO until the
 * message that carries the mark claims them.  Output: one allocation per
 * queued message (header and payload together).
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certaos.h"

#define IMSG_RBUF_INIT	4096		/* first read buffer size */
#define IMSG_WRITE_IOV	64		/* messages gathered per sendmsg */

struct imsg_fd {
	TAILQ_ENTRY(imsg_fd)	 entry;
	int			 fd;
};

struct imsg_out {
	TAILQ_ENTRY(imsg_out)	 entry;
	size_t			 len;		/* header + payload */
	size_t			 off;		/* bytes already sent */
	int			 fd;		/* -1, or sent with byte 0 */
	unsigned char		 data[];
};

static int	 imsg_rbuf_reserve(struct imsgbuf *);
static void	 imsg_close_fds(int *, size_t);
static int	 imsg_write_once(struct imsgbuf *, int *);
static void	 imsg_out_free(struct imsg_out *);

int
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->fd = fd;
	ibuf->flags = 0;
	ibuf->pid = getpid();
	ibuf->maxsize = MAX_IMSGSIZE;
	ibuf->rbuf = NULL;
	ibuf->rsize = ibuf->rlen = ibuf->roff = 0;
	TAILQ_INIT(&ibuf->rfds);
	TAILQ_INIT(&ibuf->wq);
	ibuf->wqlen = 0;
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *ibuf)
{
	ibuf->flags |= IMSGF_FDPASS;
}

int
imsgbuf_set_maxsize(struct imsgbuf *ibuf, uint32_t max)
{
	if (max < IMSG_HEADER_SIZE || max > MAX_IMSGSIZE) {
		errno = ERANGE;
		return (-1);
	}
	ibuf->maxsize = max;
	return (0);
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *ibuf)
{
	return (ibuf->wqlen);
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct imsg_fd	*ifd;
	struct imsg_out	*out;

	while ((out = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, out, entry);
		imsg_out_free(out);
	}
	ibuf->wqlen = 0;
	while ((ifd = TAILQ_FIRST(&ibuf->rfds)) != NULL) {
		TAILQ_REMOVE(&ibuf->rfds, ifd, entry);
		close(ifd->fd);
		free(ifd);
	}
	if (ibuf->rbuf != NULL)
		freezero(ibuf->rbuf, ibuf->rsize);
	ibuf->rbuf = NULL;
	ibuf->rsize = ibuf->rlen = ibuf->roff = 0;
}

static void
imsg_out_free(struct imsg_out *out)
{
	if (out->fd != -1)
		close(out->fd);
	freezero(out, sizeof(*out) + out->len);
}

static void
imsg_close_fds(int *fds, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * Make room for a read: compact what is left, then grow the buffer up to
 * maxsize when it is full or too small for the message whose header it
 * already holds.  0 when there is room, 1 when there is none (the buffer
 * already holds a complete message or a bad header), -1 on error.
 */
static int
imsg_rbuf_reserve(struct imsgbuf *ibuf)
{
	struct imsg_hdr	 hdr;
	unsigned char	*p;
	size_t		 want, len, nsize;

	if (ibuf->roff > 0) {
		if (ibuf->rlen > ibuf->roff)
			memmove(ibuf->rbuf, ibuf->rbuf + ibuf->roff,
			    ibuf->rlen - ibuf->roff);
		ibuf->rlen -= ibuf->roff;
		ibuf->roff = 0;
	}

	want = ibuf->rlen + 1;
	if (ibuf->rlen >= IMSG_HEADER_SIZE) {
		memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
		len = hdr.len & ~IMSG_FD_MARK;
		if (len < IMSG_HEADER_SIZE || len > ibuf->maxsize ||
		    len <= ibuf->rlen) {
			/* a complete message or a bad header: imsg_get's */
			return (ibuf->rlen < ibuf->rsize ? 0 : 1);
		}
		want = len;
	}
	if (want <= ibuf->rsize)
		return (0);

	nsize = ibuf->rsize == 0 ? IMSG_RBUF_INIT : ibuf->rsize * 2;
	if (nsize < want)
		nsize = want;
	if (nsize > ibuf->maxsize)
		nsize = ibuf->maxsize;
	if ((p = recallocarray(ibuf->rbuf, ibuf->rsize, nsize, 1)) == NULL)
		return (-1);
	ibuf->rbuf = p;
	ibuf->rsize = nsize;
	return (0);
}

int
imsgbuf_read(struct imsgbuf *ibuf)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	struct imsg_fd	*ifd;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsgbuf;
	int		 fds[16];
	size_t		 nfds = 0, i, n;
	ssize_t		 r;
	int		 rv, fd;

	if ((rv = imsg_rbuf_reserve(ibuf)) == -1)
		return (-1);
	if (rv == 1)
		return (1);

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = ibuf->rsize - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((r = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (1);
		return (-1);
	}

	/* Collect every descriptor the kernel installed, whatever else. */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (nfds < nitems(fds))
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}

	if (msg.msg_flags & MSG_CTRUNC) {
		/* descriptors were lost (no room, or too many): fatal */
		imsg_close_fds(fds, nfds);
		errno = EMSGSIZE;
		return (-1);
	}
	if (nfds > 0 && (ibuf->flags & IMSGF_FDPASS) == 0) {
		imsg_close_fds(fds, nfds);
		errno = EBADMSG;
		return (-1);
	}
	for (i = 0; i < nfds; i++) {
		if ((ifd = calloc(1, sizeof(*ifd))) == NULL) {
			imsg_close_fds(fds + i, nfds - i);
			return (-1);
		}
		ifd->fd = fds[i];
		TAILQ_INSERT_TAIL(&ibuf->rfds, ifd, entry);
	}

	if (r == 0)
		return (0);
	ibuf->rlen += r;
	return (1);
}

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	struct imsg_fd	*ifd = NULL;
	size_t		 avail, len, datalen;
	void		*data = NULL;

	avail = ibuf->rlen - ibuf->roff;
	if (avail < IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ibuf->rbuf + ibuf->roff, sizeof(hdr));
	len = hdr.len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE || len > ibuf->maxsize) {
		errno = EBADMSG;
		return (-1);
	}
	if (avail < len)
		return (0);

	if (hdr.len & IMSG_FD_MARK) {
		if ((ifd = TAILQ_FIRST(&ibuf->rfds)) == NULL) {
			errno = EBADMSG;
			return (-1);
		}
	}
	datalen = len - IMSG_HEADER_SIZE;
	if (datalen > 0) {
		if ((data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(data, ibuf->rbuf + ibuf->roff + IMSG_HEADER_SIZE,
		    datalen);
	}

	imsg->hdr = hdr;
	imsg->hdr.len = len;
	imsg->data = data;
	imsg->fd = -1;
	if (ifd != NULL) {
		TAILQ_REMOVE(&ibuf->rfds, ifd, entry);
		imsg->fd = ifd->fd;
		free(ifd);
	}

	/* Wipe what was consumed: payloads may carry secrets. */
	explicit_bzero(ibuf->rbuf + ibuf->roff, len);
	ibuf->roff += len;
	if (ibuf->roff == ibuf->rlen)
		ibuf->roff = ibuf->rlen = 0;
	return ((ssize_t)len);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return ((pid_t)imsg->hdr.pid);
}

size_t
imsg_get_len(struct imsg *imsg)
{
	size_t	 len = imsg->hdr.len & ~IMSG_FD_MARK;

	if (len < IMSG_HEADER_SIZE)
		return (0);
	return (len - IMSG_HEADER_SIZE);
}

int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_len(imsg) != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0) {
		if (data == NULL || imsg->data == NULL) {
			errno = EINVAL;
			return (-1);
		}
		memcpy(data, imsg->data, len);
	}
	return (0);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd = imsg->fd;

	imsg->fd = -1;
	return (fd);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->data != NULL)
		freezero(imsg->data, imsg_get_len(imsg));
	imsg->data = NULL;
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = datalen;
	return (imsg_composev(ibuf, type, id, pid, fd, &iov,
	    datalen > 0 ? 1 : 0));
}

/*
 * Queue one message.  1 on success; -1 with errno on failure, in which
 * case the caller still owns fd.  On success the fd belongs to the
 * buffer, which closes it once it has been sent (or on imsgbuf_clear).
 */
int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct imsg_out	*out;
	struct imsg_hdr	 hdr;
	size_t		 datalen = 0, off;
	int		 i;

	if (iovcnt < 0) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > ibuf->maxsize) {
			errno = ERANGE;
			return (-1);
		}
		datalen += iov[i].iov_len;
		if (datalen > ibuf->maxsize - IMSG_HEADER_SIZE) {
			errno = ERANGE;
			return (-1);
		}
	}
	if (fd != -1) {
		if (fd < 0) {
			errno = EBADF;
			return (-1);
		}
		if ((ibuf->flags & IMSGF_FDPASS) == 0) {
			errno = EPERM;
			return (-1);
		}
	}

	if ((out = malloc(sizeof(*out) + IMSG_HEADER_SIZE + datalen)) == NULL)
		return (-1);
	out->len = IMSG_HEADER_SIZE + datalen;
	out->off = 0;
	out->fd = fd;

	hdr.type = type;
	hdr.len = (uint32_t)out->len;
	if (fd != -1)
		hdr.len |= IMSG_FD_MARK;
	hdr.peerid = id;
	hdr.pid = pid == 0 ? (uint32_t)ibuf->pid : (uint32_t)pid;
	memcpy(out->data, &hdr, sizeof(hdr));
	off = IMSG_HEADER_SIZE;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		memcpy(out->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}

	TAILQ_INSERT_TAIL(&ibuf->wq, out, entry);
	ibuf->wqlen++;
	return (1);
}

/*
 * One sendmsg: gather queued messages up to the next one that carries a
 * descriptor (which starts its own sendmsg, the fd riding with its first
 * byte).  0 on progress or EAGAIN (*again set), -1 on error.
 */
static int
imsg_write_once(struct imsgbuf *ibuf, int *again)
{
	struct iovec	 iov[IMSG_WRITE_IOV];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct imsg_out	*out, *first;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	size_t		 n;
	ssize_t		 w;
	int		 niov = 0;

	*again = 0;
	if ((first = TAILQ_FIRST(&ibuf->wq)) == NULL)
		return (0);

	TAILQ_FOREACH(out, &ibuf->wq, entry) {
		if (niov == IMSG_WRITE_IOV)
			break;
		if (out != first && out->fd != -1)
			break;
		iov[niov].iov_base = out->data + out->off;
		iov[niov].iov_len = out->len - out->off;
		niov++;
	}

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;
	if (first->fd != -1 && first->off == 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = &cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &first->fd, sizeof(int));
	}

	if ((w = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR || errno == ENOBUFS) {
			*again = 1;
			return (0);
		}
		return (-1);
	}

	/* The kernel holds its own reference now. */
	if (msg.msg_control != NULL && w > 0) {
		close(first->fd);
		first->fd = -1;
	}

	while (w > 0 && (out = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		n = out->len - out->off;
		if ((size_t)w < n) {
			out->off += w;
			break;
		}
		w -= n;
		TAILQ_REMOVE(&ibuf->wq, out, entry);
		ibuf->wqlen--;
		imsg_out_free(out);
	}
	return (0);
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	int	 again;

	while (!TAILQ_EMPTY(&ibuf->wq)) {
		if (imsg_write_once(ibuf, &again) == -1)
			return (-1);
		if (again)
			break;
	}
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;
	int		 again;

	while (!TAILQ_EMPTY(&ibuf->wq)) {
		if (imsg_write_once(ibuf, &again) == -1)
			return (-1);
		if (again) {
			/* a non-blocking socket: wait until it drains */
			pfd.fd = ibuf->fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
				return (-1);
		}
	}
	return (0);
}
