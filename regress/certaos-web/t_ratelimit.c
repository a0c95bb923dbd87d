/*
 * t_ratelimit: the shared table of rate-limit counters of certaos-web
 * (window, max, roll-over, Retry-After, eviction of a full bucket, a
 * lock left held, exact counts from two processes at once), SipHash,
 * the rules, trusted proxies and client addresses.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"
#include "../../libexec/certaos-web/ratelimit.h"

static const uint8_t key16[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

/* A table of n buckets in shared anonymous memory. */
static struct rl_table *
table_new(uint32_t n)
{
	struct rl_table	*t;
	void		*mem;

	ATF_REQUIRE((t = calloc(1, sizeof(*t))) != NULL);
	mem = mmap(NULL, n * sizeof(struct rl_bucket), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ATF_REQUIRE(mem != MAP_FAILED);
	ATF_REQUIRE_EQ(rl_table_init(t, mem, n * sizeof(struct rl_bucket), n,
	    key16), 0);
	return (t);
}

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	ATF_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

ATF_TC_WITHOUT_HEAD(siphash_vectors);
ATF_TC_BODY(siphash_vectors, tc)
{
	/* the reference vectors: key 00..0f, message 00..(n-1) */
	static const struct {
		size_t		 n;
		uint64_t	 h;
	} v[] = {
		{ 0,	0x726fdb47dd0e0e31ULL },
		{ 1,	0x74f839c593dc67fdULL },
		{ 7,	0xab0200f58b01d137ULL },
		{ 8,	0x93f5f5799a932462ULL },
		{ 15,	0xa129ca6149be45e5ULL },
		{ 63,	0x958a324ceb064572ULL }
	};
	uint8_t		 m[64];
	uint64_t	 k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
	size_t		 i;

	for (i = 0; i < sizeof(m); i++)
		m[i] = i;
	for (i = 0; i < nitems(v); i++)
		ATF_CHECK_MSG(siphash24(k0, k1, m, v[i].n) == v[i].h,
		    "SipHash-2-4 of %zu bytes", v[i].n);
}

ATF_TC_WITHOUT_HEAD(window_and_max);
ATF_TC_BODY(window_and_max, tc)
{
	struct rl_table	*t = table_new(16);

	/* three allowed in 10 s, as /sign-in/ *; each moves the window */
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 100000), 0);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 101000), 0);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 102000), 0);
	/* the fourth waits a window after the last allowed: 9.5 s -> 10 */
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 102500), 10);
	/* refusals change nothing */
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 105000), 7);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 111999), 1);
	/* another key is counted apart */
	ATF_CHECK_EQ(rl_consume(t, 43, 10, 3, 105000), 0);
	/* a window after the last allowed one: a new count */
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 112000), 0);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 112001), 0);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 112002), 0);
	ATF_CHECK_EQ(rl_consume(t, 42, 10, 3, 112003), 10);
	/* max 1 */
	ATF_CHECK_EQ(rl_consume(t, 44, 60, 1, 0), 0);
	ATF_CHECK_EQ(rl_consume(t, 44, 60, 1, 59001), 1);
	ATF_CHECK_EQ(rl_consume(t, 44, 60, 1, 60000), 0);
}

ATF_TC_WITHOUT_HEAD(full_bucket);
ATF_TC_BODY(full_bucket, tc)
{
	struct rl_table	*t = table_new(1);	/* every key, one bucket */
	uint64_t	 k;

	ATF_REQUIRE_EQ(CERTAOS_RL_WAYS, 5);
	for (k = 1; k <= 5; k++)
		ATF_CHECK_EQ(rl_consume(t, k, 100, 1, k), 0);
	for (k = 1; k <= 5; k++)
		ATF_CHECK_EQ(rl_consume(t, k, 100, 1, 10), 100);
	/* a sixth: the counter idle the longest (key 1) makes room */
	ATF_CHECK_EQ(rl_consume(t, 6, 100, 1, 20), 0);
	ATF_CHECK_EQ(rl_consume(t, 2, 100, 1, 21), 100);	/* kept */
	ATF_CHECK_EQ(rl_consume(t, 1, 100, 1, 22), 0);	/* forgotten */
	ATF_CHECK_EQ(rl_consume(t, 3, 100, 1, 23), 100);
	/* and now key 2 was the oldest */
	ATF_CHECK_EQ(rl_consume(t, 2, 100, 1, 24), 0);
	/* many keys through one bucket: never stuck, never a crash */
	for (k = 100; k < 10000; k++)
		ATF_CHECK_EQ(rl_consume(t, k, 100, 1, 1000 + k), 0);
}

ATF_TC_WITHOUT_HEAD(dead_lock_holder);
ATF_TC_BODY(dead_lock_holder, tc)
{
	struct rl_table	*t = table_new(2);
	int64_t		 t0, dt;

	/* a worker died holding bucket 0: its requests are refused */
	atomic_store(&t->b[0].lock, 99999);
	t0 = mono_ms();
	ATF_CHECK_EQ(rl_consume(t, 2, 10, 100, 1000), 10);
	dt = mono_ms() - t0;
	ATF_CHECK_MSG(dt >= RL_LOCK_MS && dt < 5000, "gave up after %lld ms",
	    (long long)dt);
	/* the other bucket is not affected */
	ATF_CHECK_EQ(rl_consume(t, 3, 10, 100, 1000), 0);
	atomic_store(&t->b[0].lock, 0);
	ATF_CHECK_EQ(rl_consume(t, 2, 10, 100, 1000), 0);
}

/*
 * Two processes sharing the mapping count the same keys (in the same
 * bucket) as fast as they can: the allowed requests add up to max
 * exactly, so no count was lost or made twice.
 */
ATF_TC_WITHOUT_HEAD(two_processes);
ATF_TC_BODY(two_processes, tc)
{
	struct rl_table	*t = table_new(4);
	uint32_t	*allowed;
	const uint64_t	 ka = 0x100, kb = 0x204;	/* bucket 0 both */
	const uint32_t	 n = 400000, maxa = 250000, maxb = 60000;
	pid_t		 pid[2];
	uint32_t	 i;
	int		 p, status;

	allowed = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ATF_REQUIRE(allowed != MAP_FAILED);
	memset(allowed, 0, 4096);
	for (p = 0; p < 2; p++) {
		ATF_REQUIRE((pid[p] = fork()) != -1);
		if (pid[p] != 0)
			continue;
		t->self = (uint32_t)getpid();
		/* start together */
		atomic_fetch_add((_Atomic uint32_t *)&allowed[8], 1);
		while (atomic_load((_Atomic uint32_t *)&allowed[8]) < 2)
			;
		for (i = 0; i < n; i++) {
			if (rl_consume(t, (i & 1) ? kb : ka, 3600,
			    (i & 1) ? maxb : maxa, 1000) == 0)
				allowed[p * 2 + (i & 1)]++;
		}
		_exit(0);
	}
	for (p = 0; p < 2; p++) {
		ATF_REQUIRE(waitpid(pid[p], &status, 0) == pid[p]);
		ATF_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ATF_CHECK_EQ_MSG(allowed[0] + allowed[2], maxa, "a: %u + %u",
	    allowed[0], allowed[2]);
	ATF_CHECK_EQ_MSG(allowed[1] + allowed[3], maxb, "b: %u + %u",
	    allowed[1], allowed[3]);
	/* both took part */
	ATF_CHECK(allowed[0] > 0 && allowed[2] > 0);
	ATF_CHECK_EQ(atomic_load(&t->b[0].lock), 0);
	ATF_CHECK_EQ(rl_consume(t, ka, 3600, maxa, 1000), 3600);
}

ATF_TC_WITHOUT_HEAD(client_addresses);
ATF_TC_BODY(client_addresses, tc)
{
	uint8_t		 a[16], b[16];

	ATF_REQUIRE_EQ(rl_addr("192.0.2.1", a), 0);
	ATF_REQUIRE_EQ(rl_addr("::ffff:192.0.2.1", b), 0);
	ATF_CHECK(memcmp(a, b, 16) == 0);
	ATF_REQUIRE_EQ(rl_addr("192.0.2.2", b), 0);
	ATF_CHECK(memcmp(a, b, 16) != 0);
	/* IPv6 by /64 */
	ATF_REQUIRE_EQ(rl_addr("2001:db8::1", a), 0);
	ATF_REQUIRE_EQ(rl_addr("2001:DB8::ffff:2", b), 0);
	ATF_CHECK(memcmp(a, b, 16) == 0);
	ATF_REQUIRE_EQ(rl_addr("2001:db8:0:1::1", b), 0);
	ATF_CHECK(memcmp(a, b, 16) != 0);
	ATF_CHECK_EQ(rl_addr("-", a), -1);
	ATF_CHECK_EQ(rl_addr("1.2.3.4, 5.6.7.8", a), -1);
	ATF_CHECK_EQ(rl_addr("", a), -1);
	memset(b, 0, sizeof(b));
	ATF_CHECK(memcmp(a, b, 16) == 0);
}

/* A configuration with rules and proxies, on a sealed memfd table. */
static void
configure(struct cfg_ratelimit *c)
{
	static int	 mapped;
	int		 fd;

	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->nbuckets = 8;
	memcpy(c->key, key16, sizeof(c->key));
	c->window = 10;
	c->max = 100;
	if (!mapped) {
		ATF_REQUIRE((fd = memfd_create("t", MFD_ALLOW_SEALING)) != -1);
		ATF_REQUIRE(ftruncate(fd, 8 * CERTAOS_RL_BUCKET) == 0);
		/* unsealed: refused */
		ATF_CHECK_EQ(ratelimit_table(dup(fd), 8, key16), -1);
		ATF_REQUIRE(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK |
		    F_SEAL_GROW) == 0);
		/* not the size announced: refused */
		ATF_CHECK_EQ(ratelimit_table(dup(fd), 16, key16), -1);
		ATF_REQUIRE_EQ(ratelimit_table(fd, 8, key16), 0);
		mapped = 1;
	}
}

static void
rule(struct cfg_ratelimit *c, const char *path, uint32_t w, uint32_t m)
{
	struct cfg_rl_rule	*r = &c->rules[c->nrules++];

	(void)strlcpy(r->path, path, sizeof(r->path));
	r->window = w;
	r->max = m;
}

static void
proxy(struct cfg_ratelimit *c, int af, const char *a, int plen)
{
	struct cfg_proxy	*px = &c->proxies[c->nproxies++];

	px->af = af;
	px->plen = plen;
	ATF_REQUIRE(inet_pton(af == 4 ? AF_INET : AF_INET6, a,
	    px->addr) == 1);
}

static uint32_t
window_of(const char *path)
{
	const struct cfg_rl_rule *r;

	r = ratelimit_rule(path, strlen(path));
	return (r != NULL ? r->window : 0);
}

ATF_TC_WITHOUT_HEAD(rules);
ATF_TC_BODY(rules, tc)
{
	struct cfg_ratelimit	 c;
	int			 fd;

	configure(&c);
	rule(&c, "/sign-in/*", 1, 3);
	rule(&c, "/a/*", 2, 3);
	rule(&c, "/a/b/*", 3, 3);
	rule(&c, "/a/b/c", 4, 3);
	rule(&c, "/change-password", 5, 3);
	ATF_REQUIRE_EQ(ratelimit_configure(&c, "/api/auth"), 0);
	ATF_CHECK_EQ(window_of("/sign-in/email"), 1);
	ATF_CHECK_EQ(window_of("/sign-in/"), 1);
	ATF_CHECK_EQ(window_of("/sign-in"), 0);
	/* exact first, then the longest prefix, whatever the order */
	ATF_CHECK_EQ(window_of("/a/b/c"), 4);
	ATF_CHECK_EQ(window_of("/a/b/cd"), 3);
	ATF_CHECK_EQ(window_of("/a/b/"), 3);
	ATF_CHECK_EQ(window_of("/a/x"), 2);
	ATF_CHECK_EQ(window_of("/change-password"), 5);
	ATF_CHECK_EQ(window_of("/change-password/x"), 0);
	ATF_CHECK_EQ(window_of("/get-session"), 0);
	/* a catch-all */
	rule(&c, "/*", 6, 3);
	ATF_REQUIRE_EQ(ratelimit_configure(&c, NULL), 0);
	ATF_CHECK_EQ(window_of("/get-session"), 6);
	ATF_CHECK_EQ(window_of("/a/b/c"), 4);

	/* the table in use cannot change: another size, another key */
	c.nbuckets = 16;
	ATF_CHECK_EQ(ratelimit_configure(&c, NULL), -1);
	c.nbuckets = 8;
	c.key[0] ^= 1;
	ATF_CHECK_EQ(ratelimit_configure(&c, NULL), -1);
	c.key[0] ^= 1;
	ATF_CHECK_EQ(ratelimit_configure(&c, NULL), 0);
	/* and it is mapped once */
	ATF_REQUIRE((fd = memfd_create("t2", MFD_ALLOW_SEALING)) != -1);
	ATF_CHECK_EQ(ratelimit_table(fd, 8, key16), -1);
}

ATF_TC_WITHOUT_HEAD(valid);
ATF_TC_BODY(valid, tc)
{
	struct cfg_ratelimit	 c;

	configure(&c);
	rule(&c, "/sign-in/*", 10, 3);
	proxy(&c, 4, "10.0.0.0", 8);
	ATF_CHECK(ratelimit_valid(&c));
	c.nbuckets = 12;
	ATF_CHECK(!ratelimit_valid(&c));
	c.nbuckets = 8;
	c.enabled = 2;
	ATF_CHECK(!ratelimit_valid(&c));
	c.enabled = 0;
	c.window = 0;
	ATF_CHECK(!ratelimit_valid(&c));
	c.window = 10;
	c.rules[0].path[0] = 's';
	ATF_CHECK(!ratelimit_valid(&c));
	(void)strlcpy(c.rules[0].path, "/a*b", sizeof(c.rules[0].path));
	ATF_CHECK(!ratelimit_valid(&c));
	memset(c.rules[0].path, 'a', sizeof(c.rules[0].path));
	c.rules[0].path[0] = '/';
	ATF_CHECK(!ratelimit_valid(&c));
	(void)strlcpy(c.rules[0].path, "/x", sizeof(c.rules[0].path));
	c.rules[0].max = CERTAOS_RL_MAX_MAX + 1;
	ATF_CHECK(!ratelimit_valid(&c));
	c.rules[0].max = 1;
	c.proxies[0].plen = 33;
	ATF_CHECK(!ratelimit_valid(&c));
	c.proxies[0].af = 6;
	ATF_CHECK(ratelimit_valid(&c));
	c.proxies[0].af = 5;
	ATF_CHECK(!ratelimit_valid(&c));
	c.proxies[0].af = 4;
	c.proxies[0].plen = 8;
	c.nrules = CERTAOS_MAX_RL_RULES + 1;
	ATF_CHECK(!ratelimit_valid(&c));
}

ATF_TC_WITHOUT_HEAD(trusted_proxies);
ATF_TC_BODY(trusted_proxies, tc)
{
	struct cfg_ratelimit	 c;

	configure(&c);
	ATF_REQUIRE_EQ(ratelimit_configure(&c, "/api/auth"), 0);
	ATF_CHECK(!ratelimit_trusted("127.0.0.1"));	/* none by default */
	proxy(&c, 4, "127.0.0.1", 32);
	proxy(&c, 4, "10.0.0.0", 8);
	proxy(&c, 4, "192.168.1.128", 25);
	proxy(&c, 6, "fd00::", 8);
	proxy(&c, 6, "::1", 128);
	ATF_REQUIRE_EQ(ratelimit_configure(&c, NULL), 0);
	ATF_CHECK(ratelimit_trusted("127.0.0.1"));
	ATF_CHECK(!ratelimit_trusted("127.0.0.2"));
	ATF_CHECK(ratelimit_trusted("10.255.0.1"));
	ATF_CHECK(!ratelimit_trusted("11.0.0.1"));
	ATF_CHECK(ratelimit_trusted("192.168.1.200"));
	ATF_CHECK(!ratelimit_trusted("192.168.1.100"));
	ATF_CHECK(ratelimit_trusted("fdff::1"));
	ATF_CHECK(!ratelimit_trusted("fe00::1"));
	ATF_CHECK(ratelimit_trusted("::1"));
	ATF_CHECK(!ratelimit_trusted("::2"));
	ATF_CHECK(ratelimit_trusted("::ffff:10.0.0.1"));
	ATF_CHECK(!ratelimit_trusted("-"));
	ATF_CHECK(!ratelimit_trusted(""));
	/* a reload without them trusts nobody again */
	c.nproxies = 0;
	ATF_REQUIRE_EQ(ratelimit_configure(&c, NULL), 0);
	ATF_CHECK(!ratelimit_trusted("127.0.0.1"));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, siphash_vectors);
	ATF_TP_ADD_TC(tp, window_and_max);
	ATF_TP_ADD_TC(tp, full_bucket);
	ATF_TP_ADD_TC(tp, dead_lock_holder);
	ATF_TP_ADD_TC(tp, two_processes);
	ATF_TP_ADD_TC(tp, client_addresses);
	ATF_TP_ADD_TC(tp, rules);
	ATF_TP_ADD_TC(tp, valid);
	ATF_TP_ADD_TC(tp, trusted_proxies);
	return (atf_no_error());
}
