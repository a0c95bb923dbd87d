/*
 * ratelimit.c: rate limits as Better Auth 1.7 applies them, counted
 * across every web worker of the daemon.
 *
 * What is counted: every request under the base path (Better Auth
 * checks in onRequest, before routing, so unknown paths and wrong
 * methods count too), by client address and path.  /health and the
 * other paths outside the base path are never counted.  The rule of a
 * path is the configured one for that exact path, else the one with
 * the longest matching prefix (a rule's path that ends in '*'), else
 * the default rule (10 s, 100).  A counter starts at the first request;
 * a request that comes a window or more after the last allowed one
 * starts it again; while the count is at the rule's max a request is
 * refused and changes nothing; else it adds one and becomes the last
 * allowed request.  So a refused client waits a window after its last
 * allowed request, as Better Auth makes it: 429, "X-Retry-After:
 * <seconds>", content type text/plain and a JSON body without a code.
 * Addresses are those of the peer, or the last X-Forwarded-For hop when
 * the peer is a trusted proxy; IPv6 clients are counted by /64, as
 * Better Auth does.  The path is read from the copy of the request
 * target kept for the log; a target so long that the copy lost part of
 * the path counts against the strictest rule.
 *
 * Where: a table of counters in one memory object the master creates at
 * start (a sealed memfd, CERTAOS_RL_BUCKET-byte buckets) and gives every
 * worker, which maps it shared: no message per request, and the counts
 * survive a reload.  A counter's place is a SipHash of (address, path)
 * under a key random per start, so that clients cannot aim at a bucket.
 * A bucket holds CERTAOS_RL_WAYS counters under one spin lock (a C11
 * atomic word holding the holder's pid): two workers never lose a
 * count.  A request whose bucket is full takes the counter whose last
 * request is the oldest: a full table forgets the idlest clients first,
 * and never blocks or grows.
 *
 * A worker that dies holding a lock (killed between two instructions)
 * leaves the bucket locked: the others wait RL_LOCK_MS for it, then
 * refuse the request (fail closed: a dead lock never lets a client
 * through uncounted) and say so in the log, until the master, which saw
 * the worker die, stops the daemon.  A worker that dies in the middle
 * of an update leaves at worst one counter a count short.
 *
 * Unknown paths count per rule rather than per path (one counter for
 * all the 404s of a client under a rule), so that a client cannot fill
 * the table with made-up paths.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "http.h"
#include "ratelimit.h"

_Static_assert(sizeof(struct rl_bucket) == CERTAOS_RL_BUCKET,
    "a bucket is CERTAOS_RL_BUCKET bytes: the master sizes the table so");
/* Processes share the lock word: it must be a lock-free atomic. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free 32-bit atomics");

/* The key of a counter: what follows the client address. */
#define RL_KIND_PATH	'P'	/* a known route's path */
#define RL_KIND_RULE	'U'	/* an unknown path: its rule's path */
#define RL_KIND_CUT	'C'	/* a path the log copy lost: the route */
#define RL_KEY_DATA	256	/* bytes of path in a key, at most */
#define RL_WARN_EVERY	60	/* s between two lock warnings */

static const char rl_body[] =
    "{\"message\":\"Too many requests. Please try again later.\"}";

static struct rl_table	 rl_tab;
static struct {
	int		 enabled;
	uint32_t	 window;		/* the default rule */
	uint32_t	 max;
	uint32_t	 nrules;
	struct cfg_rl_rule rules[CERTAOS_MAX_RL_RULES];
	size_t		 len[CERTAOS_MAX_RL_RULES];	/* without a '*' */
	int		 prefix[CERTAOS_MAX_RL_RULES];
	struct cfg_rl_rule strict;		/* for a path not known */
	uint32_t	 nproxies;
	struct cfg_proxy proxies[CERTAOS_MAX_PROXIES];
	char		 base[sizeof(((struct cfg_web *)0)->basepath)];
	size_t		 blen;
} rl;

static uint64_t	 le64(const uint8_t *);
static void	 cpu_relax(void);
static int64_t	 now_ms(void);
static int	 rl_lock(struct rl_table *, struct rl_bucket *);
static void	 rl_unlock(struct rl_bucket *);
static int	 proxy_match(const struct cfg_proxy *, const uint8_t *, int);
static int	 rl_path(struct http_conn *, const char **, size_t *);

static uint64_t
le64(const uint8_t *p)
{
	return ((uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56);
}

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

uint64_t
siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 v0, v1, v2, v3, m, b;
	size_t		 i, left;

	v0 = k0 ^ 0x736f6d6570736575ULL;
	v1 = k1 ^ 0x646f72616e646f6dULL;
	v2 = k0 ^ 0x6c7967656e657261ULL;
	v3 = k1 ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	for (left = len - i; left > 0; left--)
		b |= (uint64_t)p[i + left - 1] << (8 * (left - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (v0 ^ v1 ^ v2 ^ v3);
}

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	/* one clock for every process of the machine */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("%s: clock_gettime", __func__);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
rl_table_init(struct rl_table *t, void *mem, size_t len, uint32_t nbuckets,
    const uint8_t key[16])
{
	if (nbuckets == 0 || (nbuckets & (nbuckets - 1)) != 0 ||
	    len / sizeof(struct rl_bucket) < nbuckets)
		return (-1);
	t->b = mem;
	t->mask = nbuckets - 1;
	t->self = (uint32_t)getpid();
	t->k0 = le64(key);
	t->k1 = le64(key + 8);
	return (0);
}

uint64_t
rl_key(const struct rl_table *t, const uint8_t addr[16], int kind,
    const void *data, size_t len)
{
	uint8_t		 buf[16 + 1 + RL_KEY_DATA];
	uint64_t	 h;

	if (len > RL_KEY_DATA)
		len = RL_KEY_DATA;
	memcpy(buf, addr, 16);
	buf[16] = kind;
	memcpy(buf + 17, data, len);
	h = siphash24(t->k0, t->k1, buf, 17 + len);
	return (h != 0 ? h : 1);	/* 0 marks an empty counter */
}

/*
 * Spin, then yield, for at most RL_LOCK_MS: the holder is a few
 * instructions from letting go unless it was preempted (yielding lets
 * it run) or died (then we give up).
 */
static int
rl_lock(struct rl_table *t, struct rl_bucket *b)
{
	uint32_t	 expect;
	int64_t		 start = 0;
	unsigned int	 i;

	for (i = 0;; i++) {
		expect = 0;
		if (atomic_load_explicit(&b->lock, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&b->lock, &expect,
		    t->self, memory_order_acquire, memory_order_relaxed))
			return (0);
		if (i < RL_SPINS) {
			cpu_relax();
			continue;
		}
		if (i == RL_SPINS)
			start = now_ms();
		else if (now_ms() - start > RL_LOCK_MS)
			return (-1);
		(void)sched_yield();
	}
}

static void
rl_unlock(struct rl_bucket *b)
{
	atomic_store_explicit(&b->lock, 0, memory_order_release);
}

uint32_t
rl_consume(struct rl_table *t, uint64_t key, uint32_t window, uint32_t max,
    int64_t now)
{
	static time_t	 warned;
	struct rl_bucket *b;
	struct rl_slot	*s, *victim = NULL;
	int64_t		 wms = (int64_t)window * 1000, left;
	uint32_t	 retry = 0, holder;
	int		 i;

	b = &t->b[key & t->mask];
	if (rl_lock(t, b) == -1) {
		holder = atomic_load_explicit(&b->lock, memory_order_relaxed);
		if (time(NULL) - warned >= RL_WARN_EVERY) {
			warned = time(NULL);
			log_warnx("rate limit: a counter has been locked for "
			    "%d ms by pid %u: refusing its requests",
			    RL_LOCK_MS, holder);
		}
		return (window);	/* fail closed */
	}
	for (i = 0; i < CERTAOS_RL_WAYS; i++) {
		s = &b->slot[i];
		if (s->key == key)
			break;
		/* an empty counter, else the one idle the longest */
		if (victim == NULL || (victim->key != 0 && (s->key == 0 ||
		    s->last < victim->last)))
			victim = s;
	}
	if (i == CERTAOS_RL_WAYS) {
		s = victim;
		s->key = key;
		s->count = 1;
		s->last = now;
	} else if (now - s->last >= wms || now < s->last) {
		/* (a clock from before a reboot cannot be, but be safe) */
		s->count = 1;
		s->last = now;
	} else if (s->count >= max) {
		left = s->last + wms - now;
		retry = (left + 999) / 1000;
		if (retry == 0)
			retry = 1;
	} else {
		s->count++;
		s->last = now;
	}
	rl_unlock(b);
	return (retry);
}

int
rl_addr(const char *a, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, a, out + 12) == 1) {
		out[10] = out[11] = 0xff;
		return (0);
	}
	if (inet_pton(AF_INET6, a, out) == 1) {
		if (!IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out))
			memset(out + 8, 0, 8);
		return (0);
	}
	memset(out, 0, 16);
	return (-1);
}

int
ratelimit_valid(const struct cfg_ratelimit *c)
{
	const struct cfg_rl_rule *r;
	const char	*star;
	uint32_t	 i;

	if (c->enabled > 1 || c->nbuckets == 0 ||
	    (c->nbuckets & (c->nbuckets - 1)) != 0 ||
	    c->nbuckets > CERTAOS_RL_ENTRIES_MAX ||
	    c->window < 1 || c->window > CERTAOS_RL_WINDOW_MAX ||
	    c->max < 1 || c->max > CERTAOS_RL_MAX_MAX ||
	    c->nrules > CERTAOS_MAX_RL_RULES ||
	    c->nproxies > CERTAOS_MAX_PROXIES)
		return (0);
	for (i = 0; i < c->nrules; i++) {
		r = &c->rules[i];
		if (memchr(r->path, '\0', sizeof(r->path)) == NULL ||
		    r->path[0] != '/' ||
		    ((star = strchr(r->path, '*')) != NULL &&
		    star[1] != '\0') ||
		    r->window < 1 || r->window > CERTAOS_RL_WINDOW_MAX ||
		    r->max < 1 || r->max > CERTAOS_RL_MAX_MAX)
			return (0);
	}
	for (i = 0; i < c->nproxies; i++)
		if ((c->proxies[i].af != 4 || c->proxies[i].plen > 32) &&
		    (c->proxies[i].af != 6 || c->proxies[i].plen > 128))
			return (0);
	return (1);
}

int
ratelimit_table(int fd, uint32_t nbuckets, const uint8_t key[16])
{
	struct stat	 sb;
	void		*mem;
	size_t		 len;
	int		 seals;

	if (rl_tab.b != NULL) {
		log_warnx("%s: the table is already mapped", __func__);
		close(fd);
		return (-1);
	}
	len = (size_t)nbuckets * CERTAOS_RL_BUCKET;
	/* sealed: nobody can shrink it under us (SIGBUS) */
	if (fstat(fd, &sb) == -1 || (off_t)len != sb.st_size ||
	    (seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (seals & F_SEAL_SHRINK) == 0) {
		log_warnx("%s: not a sealed table of %zu bytes", __func__,
		    len);
		close(fd);
		return (-1);
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mem == MAP_FAILED) {
		log_warn("%s: mmap", __func__);
		return (-1);
	}
	if (rl_table_init(&rl_tab, mem, len, nbuckets, key) == -1) {
		(void)munmap(mem, len);
		return (-1);
	}
	return (0);
}

int
ratelimit_configure(const struct cfg_ratelimit *c, const char *basepath)
{
	const struct cfg_rl_rule *r;
	uint32_t	 i;

	if (!ratelimit_valid(c)) {
		log_warnx("%s: bad rate-limit configuration", __func__);
		return (-1);
	}
	if (rl_tab.b == NULL || c->nbuckets != rl_tab.mask + 1 ||
	    le64(c->key) != rl_tab.k0 || le64(c->key + 8) != rl_tab.k1) {
		log_warnx("%s: not the rate-limit table in use", __func__);
		return (-1);
	}
	if (basepath != NULL) {
		/* "/" as base path means the root, as in routes.c */
		if (strcmp(basepath, "/") == 0)
			basepath = "";
		if (strlcpy(rl.base, basepath, sizeof(rl.base)) >=
		    sizeof(rl.base))
			return (-1);
		rl.blen = strlen(rl.base);
	}
	rl.enabled = c->enabled;
	rl.window = c->window;
	rl.max = c->max;
	rl.nrules = c->nrules;
	/* A path known only in part counts against the strictest rule. */
	rl.strict.window = c->window;
	rl.strict.max = c->max;
	for (i = 0; i < c->nrules; i++) {
		r = &c->rules[i];
		rl.rules[i] = *r;
		rl.len[i] = strlen(r->path);
		rl.prefix[i] = rl.len[i] > 0 && r->path[rl.len[i] - 1] == '*';
		if (rl.prefix[i])
			rl.len[i]--;
		if ((uint64_t)r->max * rl.strict.window <
		    (uint64_t)rl.strict.max * r->window)
			rl.strict = *r;
	}
	(void)strlcpy(rl.strict.path, "", sizeof(rl.strict.path));
	rl.nproxies = c->nproxies;
	memcpy(rl.proxies, c->proxies, sizeof(rl.proxies));
	return (0);
}

const struct cfg_rl_rule *
ratelimit_rule(const char *p, size_t len)
{
	const struct cfg_rl_rule *best = NULL;
	size_t		 bestlen = 0;
	uint32_t	 i;

	for (i = 0; i < rl.nrules; i++) {
		if (!rl.prefix[i]) {
			if (len == rl.len[i] &&
			    memcmp(p, rl.rules[i].path, len) == 0)
				return (&rl.rules[i]);
			continue;
		}
		if (len >= rl.len[i] &&
		    memcmp(p, rl.rules[i].path, rl.len[i]) == 0 &&
		    (best == NULL || rl.len[i] > bestlen)) {
			best = &rl.rules[i];
			bestlen = rl.len[i];
		}
	}
	return (best);
}

static int
proxy_match(const struct cfg_proxy *px, const uint8_t *a, int af)
{
	unsigned int	 full, rest;

	if (px->af != af)
		return (0);
	full = px->plen / 8;
	rest = px->plen % 8;
	if (memcmp(px->addr, a, full) != 0)
		return (0);
	return (rest == 0 ||
	    ((px->addr[full] ^ a[full]) & (0xff00 >> rest)) == 0);
}

int
ratelimit_trusted(const char *a)
{
	uint8_t		 b[16];
	uint32_t	 i;

	if (rl.nproxies == 0)
		return (0);
	if (inet_pton(AF_INET, a, b) == 1) {
		for (i = 0; i < rl.nproxies; i++)
			if (proxy_match(&rl.proxies[i], b, 4))
				return (1);
		return (0);
	}
	if (inet_pton(AF_INET6, a, b) != 1)
		return (0);
	for (i = 0; i < rl.nproxies; i++)
		if (proxy_match(&rl.proxies[i], b, 6) ||
		    (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)b) &&
		    proxy_match(&rl.proxies[i], b + 12, 4)))
			return (1);
	return (0);
}

/*
 * The request's path.  The head it pointed into is drained by the time
 * a request is dispatched, so it is read from the copy kept for the
 * log: the request target, past an absolute form's scheme and
 * authority.  Returns 1 with the path, 0 if the target is not a path
 * ("*"), -1 if the copy, cut at HTTP_LOGPATH_MAX bytes, lost part of
 * the path (a very long target: for a route's short path, a very long
 * authority).
 */
static int
rl_path(struct http_conn *c, const char **pp, size_t *lenp)
{
	const char	*t = c->req.logpath;
	size_t		 tl, avail, off = 0;
	int		 cut;

	tl = strlen(t);
	/* a copy that fills the buffer may end in "..." */
	cut = tl >= sizeof(c->req.logpath) - 1;
	avail = cut ? tl - 3 : tl;
	if (tl >= 7 && (strncasecmp(t, "http://", 7) == 0 ||
	    (tl >= 8 && strncasecmp(t, "https://", 8) == 0))) {
		off = t[4] == ':' ? 7 : 8;
		while (off < avail && t[off] != '/')
			off++;
	}
	if (off + c->req.pathlen > avail || off >= avail || t[off] != '/')
		return (cut ? -1 : 0);
	*pp = t + off;
	*lenp = c->req.pathlen;
	return (1);
}

int
ratelimit_check(struct http_conn *c)
{
	const struct cfg_rl_rule *r;
	const char	*p = NULL;
	size_t		 len = 0;
	uint64_t	 key;
	uint32_t	 retry;
	uint8_t		 addr[16];
	char		 hdr[48];
	int		 n;

	if (!rl.enabled || rl_tab.b == NULL || c->route == ROUTE_HEALTH)
		return (0);
	if ((n = rl_path(c, &p, &len)) == 0)
		return (0);
	(void)rl_addr(http_client_ip(c), addr);	/* else all zeroes */
	if (n == -1) {
		r = &rl.strict;
		n = c->route;
		key = rl_key(&rl_tab, addr, RL_KIND_CUT, &n, sizeof(n));
	} else {
		if (rl.blen > 0) {
			/* under the base path, or the base path itself */
			if (len < rl.blen ||
			    memcmp(p, rl.base, rl.blen) != 0 ||
			    (len > rl.blen && p[rl.blen] != '/'))
				return (0);
			p += rl.blen;
			len -= rl.blen;
			if (len == 0) {
				p = "/";
				len = 1;
			}
		}
		r = ratelimit_rule(p, len);
		if (c->route != ROUTE_NONE)
			key = rl_key(&rl_tab, addr, RL_KIND_PATH, p, len);
		else if (r != NULL)
			key = rl_key(&rl_tab, addr, RL_KIND_RULE, r->path,
			    strlen(r->path));
		else
			key = rl_key(&rl_tab, addr, RL_KIND_RULE, "", 0);
	}
	retry = rl_consume(&rl_tab, key, r != NULL ? r->window : rl.window,
	    r != NULL ? r->max : rl.max, now_ms());
	if (retry == 0)
		return (0);
	n = snprintf(hdr, sizeof(hdr), "X-Retry-After: %u\r\n", retry);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		fatalx("%s: header too long", __func__);
	/* an answer, not a protocol error: the connection stays open */
	c->state = HTTP_S_WAIT;
	http_respond(c, 429, "text/plain;charset=UTF-8", hdr, rl_body,
	    sizeof(rl_body) - 1);
	return (1);
}
