/*
 * msg.c: typed marshalling of imsg payloads.  A writer appends fields
 * (u32, u64, int32, length-prefixed strings and byte strings) into a
 * bounded buffer; a reader takes them back in the same order, checking
 * every length against what is left and against the caller's bound, and
 * NUL-terminating strings.  Any error sticks: mread_end() reports it, and
 * also reports bytes left over, so a receiver checks one return value.
 */

#ifndef CERTAOS_MSG_H
#define CERTAOS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "imsg.h"

struct mbuf {
	unsigned char	 buf[MAX_IMSGSIZE - IMSG_HEADER_SIZE];
	size_t		 len;
	int		 err;		/* set when a field did not fit */
};

struct mread {
	const unsigned char *p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void	 mbuf_init(struct mbuf *);
void	 mbuf_u32(struct mbuf *, uint32_t);
void	 mbuf_u64(struct mbuf *, uint64_t);
void	 mbuf_i32(struct mbuf *, int32_t);
void	 mbuf_str(struct mbuf *, const char *);
void	 mbuf_bytes(struct mbuf *, const void *, size_t);
/* compose the buffer as one imsg; -1 if a field overflowed or compose did */
int	 mbuf_compose(struct mbuf *, struct imsgbuf *, uint32_t, uint32_t);
/* wipe the buffer (it may have held a secret) */
void	 mbuf_clear(struct mbuf *);

void	 mread_init(struct mread *, struct imsg *);
uint32_t mread_u32(struct mread *);
uint64_t mread_u64(struct mread *);
int32_t	 mread_i32(struct mread *);
/* copy a string into dst (NUL-terminated); error if it needs > dstsz */
const char *mread_str(struct mread *, char *, size_t);
/* copy bytes into dst, return their length; error if more than dstsz */
size_t	 mread_bytes(struct mread *, void *, size_t);
/* 0 if every field was read without error and nothing is left; else -1 */
int	 mread_end(struct mread *);

#endif
