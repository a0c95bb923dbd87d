/*
 * imsg: framed messages over a stream socket, with optional descriptor
 * passing.  Our own implementation of the OpenBSD 7.7+ API and wire header
 * (16 bytes: u32 type, u32 len whose top bit says an fd rides along,
 * u32 peerid, u32 pid).  Descriptor passing is opted in per channel with
 * imsgbuf_allow_fdpass(); a channel that did not opt in refuses to send or
 * accept descriptors.
 */

#ifndef CERTAOS_IMSG_H
#define CERTAOS_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define IMSG_FD_MARK		0x80000000U
/* Largest message, header included, unless imsgbuf_set_maxsize says less. */
#define MAX_IMSGSIZE		16384

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* header + data; top bit: fd follows */
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct imsg_fd;
struct imsg_out;

struct imsgbuf {
	int			 fd;
	int			 flags;		/* IMSGF_* */
	pid_t			 pid;
	uint32_t		 maxsize;
	/* input */
	unsigned char		*rbuf;
	size_t			 rsize;		/* allocated */
	size_t			 rlen;		/* bytes held */
	size_t			 roff;		/* first unparsed byte */
	TAILQ_HEAD(, imsg_fd)	 rfds;		/* received, not yet claimed */
	/* output */
	TAILQ_HEAD(, imsg_out)	 wq;
	uint32_t		 wqlen;
};

#define IMSGF_FDPASS	0x01

struct imsg {
	struct imsg_hdr	 hdr;
	void		*data;		/* NULL when there is no payload */
	int		 fd;		/* -1 when none */
};

int	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_allow_fdpass(struct imsgbuf *);
int	 imsgbuf_set_maxsize(struct imsgbuf *, uint32_t);
/* 1: got data (or EAGAIN), 0: peer closed, -1: error (errno set) */
int	 imsgbuf_read(struct imsgbuf *);
/* 0: all or some written (or EAGAIN), -1: error (EPIPE on a closed peer) */
int	 imsgbuf_write(struct imsgbuf *);
/* write until the queue is empty (blocking socket), 0 or -1 */
int	 imsgbuf_flush(struct imsgbuf *);
void	 imsgbuf_clear(struct imsgbuf *);
uint32_t imsgbuf_queuelen(struct imsgbuf *);

/* 0: no complete message yet; > 0: a message (size incl. header); -1 bad */
ssize_t	 imsg_get(struct imsgbuf *, struct imsg *);
uint32_t imsg_get_type(struct imsg *);
uint32_t imsg_get_id(struct imsg *);
pid_t	 imsg_get_pid(struct imsg *);
size_t	 imsg_get_len(struct imsg *);	/* payload length */
/* copy exactly len bytes of payload; -1 with EBADMSG on any other length */
int	 imsg_get_data(struct imsg *, void *, size_t);
/* take ownership of the passed fd (-1 if none); later calls return -1 */
int	 imsg_get_fd(struct imsg *);
void	 imsg_free(struct imsg *);

int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);

#endif
