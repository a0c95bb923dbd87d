/*
 * ratelimit.h: the rate limits of certaos-web (ratelimit.c): a table of
 * counters shared by every web worker, the per-path rules, and the
 * client's address behind trusted proxies.
 */

#ifndef CERTAOS_RATELIMIT_H
#define CERTAOS_RATELIMIT_H

#include <sys/types.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "certaos.h"

/*
 * One counter: a keyed hash of (client, path), when its last allowed
 * request came and how many came since its window began.
 */
struct rl_slot {
	uint64_t	 key;		/* 0: empty */
	int64_t		 last;		/* ms, CLOCK_MONOTONIC */
	uint32_t	 count;
	uint32_t	 unused;
};

/* A bucket: the counters one hash value can land in, under one lock. */
struct rl_bucket {
	_Atomic uint32_t lock;		/* 0 free, else the holder's pid */
	uint32_t	 unused;
	struct rl_slot	 slot[CERTAOS_RL_WAYS];
};

/* A mapping of the table, as one process sees it. */
struct rl_table {
	struct rl_bucket *b;
	uint32_t	 mask;		/* buckets - 1 */
	uint32_t	 self;		/* lock word: our pid */
	uint64_t	 k0, k1;	/* SipHash key */
};

#define RL_SPINS	128	/* tries before yielding the CPU */
#define RL_LOCK_MS	100	/* a lock held longer: its holder died */

/* SipHash-2-4 (Aumasson and Bernstein) */
uint64_t siphash24(uint64_t, uint64_t, const void *, size_t);

/* the table in len bytes at mem: buckets, a power of 2 */
int	 rl_table_init(struct rl_table *, void *, size_t, uint32_t,
	    const uint8_t [16]);
/* the counter's key: client address, a kind byte, then bytes */
uint64_t rl_key(const struct rl_table *, const uint8_t [16], int,
	    const void *, size_t);
/*
 * Count a request at now (ms) against window (s) and max; 0 if it is
 * allowed, else the seconds until it would be (X-Retry-After).
 */
uint32_t rl_consume(struct rl_table *, uint64_t, uint32_t, uint32_t,
	    int64_t);
/*
 * An address as the counters key it: IPv4 as ::ffff:a.b.c.d, IPv4 in
 * IPv6 (mapped) likewise, other IPv6 cut to its /64 as Better Auth does.
 * -1 (and all zeroes) if it is not an address.
 */
int	 rl_addr(const char *, uint8_t [16]);

/* certaos-web's use of it */
int	 ratelimit_valid(const struct cfg_ratelimit *);
/* map the table received (once); the descriptor is closed */
int	 ratelimit_table(int, uint32_t, const uint8_t [16]);
/* the rules to use from now on; basepath NULL keeps the one in use */
int	 ratelimit_configure(const struct cfg_ratelimit *, const char *);
/* the rule for a path under the base path; NULL: the default one */
const struct cfg_rl_rule *ratelimit_rule(const char *, size_t);
/* is this peer address a trusted proxy? */
int	 ratelimit_trusted(const char *);
struct http_conn;
/* count the request; 1 if it was answered 429 */
int	 ratelimit_check(struct http_conn *);

#endif
