/*
 * cache.c: the session cache, get-session's answer without a round trip
 * to PostgreSQL.
 *
 * An entry, found by token hash, holds the answer as it went to web
 * (IMSG_DB_SESSION_INFO's payload: AUTH_OK and the record), the
 * session's expiry and last renewal, and its user's id.  A lookup gives
 * the answer only while the session has not expired and is not due for
 * its sliding renewal; anything else goes to PostgreSQL, and its answer
 * refreshes the entry.  At most CACHE_MAX entries, the least recently
 * used one evicted; entries and their buffers are reused, so a hit
 * allocates nothing and a fill only when an answer outgrows its buffer.
 *
 * Invalidation.  What deletes or changes sessions or users here drops
 * their entries before it answers (cache_drop_hash, cache_drop_user);
 * what other daemons, or psql, do arrives as notifications
 * (cache_notify, from the listening connection in pool.c).  The cache is
 * on only while a connection LISTENs: notifications nobody heard cannot
 * be replayed, so losing the listener empties the cache and keeps it off
 * until the LISTEN is back.
 *
 * The race.  A lookup sent to PostgreSQL before a revocation committed
 * may come back after the revocation was heard of, with the row as it
 * was.  So every invalidation gets a generation number and is kept in a
 * small ring; a request remembers the generation it arrived in, and its
 * answer is not kept when an invalidation since may concern it (its
 * token hash or its user, a flush, or more invalidations than the ring
 * remembers).  It is still given: it was true when it was read.
 *
 * Token hashes are compared with ct_equal, like every hash.  The bucket
 * of a hash is taken from the hash itself (a SHA-256 output, mixed), and
 * only sessions that exist get entries, so chains stay short.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "log.h"
#include "db.h"

#define CACHE_BUCKETS	(1U << CACHE_BUCKET_BITS)

enum inval_kind {
	INVAL_HASH,
	INVAL_USER,
	INVAL_ALL
};

struct cache_ent {
	TAILQ_ENTRY(cache_ent)	 lru;		/* or the free list */
	struct cache_ent	*next;		/* bucket chain */
	unsigned char		 hash[DB_HASH_LEN];
	char			 uid[CERTAOS_MAX_ID + 1];
	uint64_t		 expires;	/* ms */
	uint64_t		 updated;	/* ms */
	unsigned char		*ans;
	size_t			 len;
	size_t			 cap;
};
TAILQ_HEAD(cache_list, cache_ent);

struct cache_inval {
	uint64_t		 gen;
	enum inval_kind		 kind;
	unsigned char		 hash[DB_HASH_LEN];
	char			 uid[CERTAOS_MAX_ID + 1];
};

static struct cache_ent	*cache_find(const unsigned char *,
			    struct cache_ent ***);
static void		 cache_unlink(struct cache_ent *);
static void		 cache_note(enum inval_kind, const unsigned char *,
			    const char *);
static int		 cache_stale(uint64_t, const unsigned char *,
			    const char *);
static uint32_t		 cache_slot(const unsigned char *);

static struct cache_ent		*buckets[CACHE_BUCKETS];
static struct cache_list	 lru = TAILQ_HEAD_INITIALIZER(lru);
static struct cache_list	 spare = TAILQ_HEAD_INITIALIZER(spare);
static uint32_t			 nalloc;	/* entries ever allocated */
static struct cache_inval	 ring[CACHE_RING];
static uint64_t			 generation = 1;
static int			 enabled;
static struct cache_stats	 st;

void
cache_set(int on)
{
	if (!on) {
		if (enabled || st.entries > 0)
			cache_flush();
		enabled = 0;
		return;
	}
	/*
	 * Answers to requests from before the LISTEN may predate changes
	 * nobody heard of: none of them is kept.
	 */
	cache_note(INVAL_ALL, NULL, NULL);
	enabled = 1;
}

int
cache_on(void)
{
	return (enabled);
}

uint64_t
cache_gen(void)
{
	return (generation);
}

void
cache_stats(struct cache_stats *s)
{
	*s = st;
}

/* A bucket from the hash's own bytes: SHA-256, folded and mixed. */
static uint32_t
cache_slot(const unsigned char *h)
{
	uint64_t	 k = 0, w;
	size_t		 i;

	for (i = 0; i < DB_HASH_LEN; i += sizeof(w)) {
		memcpy(&w, h + i, sizeof(w));
		k ^= w;
	}
	k *= 0x9e3779b97f4a7c15ULL;
	return ((uint32_t)(k >> (64 - CACHE_BUCKET_BITS)));
}

static struct cache_ent *
cache_find(const unsigned char *h, struct cache_ent ***prevp)
{
	struct cache_ent	**pp, *e;

	pp = &buckets[cache_slot(h)];
	for (e = *pp; e != NULL; pp = &e->next, e = e->next)
		if (ct_equal(e->hash, h, DB_HASH_LEN))
			break;
	if (prevp != NULL)
		*prevp = pp;
	return (e);
}

/* Out of its bucket and the LRU list, onto the spare list. */
static void
cache_unlink(struct cache_ent *e)
{
	struct cache_ent	**pp;

	if (cache_find(e->hash, &pp) != e)
		fatalx("%s: entry not in its bucket", __func__);
	*pp = e->next;
	e->next = NULL;
	TAILQ_REMOVE(&lru, e, lru);
	TAILQ_INSERT_HEAD(&spare, e, lru);
	e->len = 0;
	st.entries--;
}

static void
cache_note(enum inval_kind kind, const unsigned char *h, const char *uid)
{
	struct cache_inval	*iv;

	generation++;
	iv = &ring[generation % CACHE_RING];
	memset(iv, 0, sizeof(*iv));
	iv->gen = generation;
	iv->kind = kind;
	if (h != NULL)
		memcpy(iv->hash, h, DB_HASH_LEN);
	if (uid != NULL)
		(void)strlcpy(iv->uid, uid, sizeof(iv->uid));
}

/* Did an invalidation after generation gen concern this session? */
static int
cache_stale(uint64_t gen, const unsigned char *h, const char *uid)
{
	const struct cache_inval	*iv;
	uint64_t			 g;

	if (gen > generation || generation - gen > CACHE_RING)
		return (1);
	for (g = gen + 1; g <= generation; g++) {
		iv = &ring[g % CACHE_RING];
		if (iv->gen != g)
			return (1);
		switch (iv->kind) {
		case INVAL_ALL:
			return (1);
		case INVAL_HASH:
			if (ct_equal(iv->hash, h, DB_HASH_LEN))
				return (1);
			break;
		case INVAL_USER:
			if (strcmp(iv->uid, uid) == 0)
				return (1);
			break;
		}
	}
	return (0);
}

const unsigned char *
cache_lookup(const unsigned char *h, uint64_t now, uint32_t update,
    size_t *len)
{
	struct cache_ent	*e;

	if (!enabled || (e = cache_find(h, NULL)) == NULL) {
		st.misses++;
		return (NULL);
	}
	if (now + CACHE_SKEW_MS >= e->expires) {
		/* expired, or about to: PostgreSQL says which */
		cache_unlink(e);
		st.misses++;
		return (NULL);
	}
	if (update == 0 || now >= e->updated + (uint64_t)update * 1000) {
		/* the renewal is PostgreSQL's; its answer refreshes this */
		st.misses++;
		return (NULL);
	}
	if (TAILQ_FIRST(&lru) != e) {
		TAILQ_REMOVE(&lru, e, lru);
		TAILQ_INSERT_HEAD(&lru, e, lru);
	}
	st.hits++;
	*len = e->len;
	return (e->ans);
}

int
cache_fill(const unsigned char *h, const char *uid, uint64_t expires,
    uint64_t updated, const void *ans, size_t len, uint64_t gen)
{
	struct cache_ent	*e, **pp;
	unsigned char		*p;

	if (!enabled || len == 0 || strlen(uid) > CERTAOS_MAX_ID)
		return (0);
	if (cache_stale(gen, h, uid)) {
		st.refused++;
		return (0);
	}
	if ((e = cache_find(h, NULL)) != NULL)
		cache_unlink(e);
	if ((e = TAILQ_FIRST(&spare)) != NULL)
		TAILQ_REMOVE(&spare, e, lru);
	else if (nalloc < CACHE_MAX) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			fatal("%s", __func__);
		nalloc++;
	} else {
		e = TAILQ_LAST(&lru, cache_list);
		cache_unlink(e);
		TAILQ_REMOVE(&spare, e, lru);
		st.evictions++;
	}
	if (e->cap < len) {
		if ((p = realloc(e->ans, len)) == NULL)
			fatal("%s", __func__);
		e->ans = p;
		e->cap = len;
	}
	memcpy(e->ans, ans, len);
	e->len = len;
	memcpy(e->hash, h, DB_HASH_LEN);
	(void)strlcpy(e->uid, uid, sizeof(e->uid));
	e->expires = expires;
	e->updated = updated;
	(void)cache_find(h, &pp);
	e->next = NULL;
	*pp = e;
	TAILQ_INSERT_HEAD(&lru, e, lru);
	st.entries++;
	st.fills++;
	return (1);
}

void
cache_drop_hash(const unsigned char *h)
{
	struct cache_ent	*e;

	cache_note(INVAL_HASH, h, NULL);
	if ((e = cache_find(h, NULL)) != NULL)
		cache_unlink(e);
}

void
cache_drop_user(const char *uid)
{
	struct cache_ent	*e, *next;

	cache_note(INVAL_USER, NULL, uid);
	for (e = TAILQ_FIRST(&lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (strcmp(e->uid, uid) == 0)
			cache_unlink(e);
	}
}

void
cache_flush(void)
{
	struct cache_ent	*e;

	cache_note(INVAL_ALL, NULL, NULL);
	while ((e = TAILQ_FIRST(&lru)) != NULL)
		cache_unlink(e);
}

/*
 * certaos_sessions carries the hex of a token hash, certaos_users a
 * user id.  A payload that is neither could be anything: drop it all.
 */
void
cache_notify(const char *channel, const char *payload)
{
	unsigned char	 h[DB_HASH_LEN];
	size_t		 n = strlen(payload);

	if (strcmp(channel, DB_NOTIFY_SESSIONS) == 0) {
		if (n == DB_HASH_LEN * 2 &&
		    hex_decode(payload, n, h, sizeof(h)) == DB_HASH_LEN) {
			cache_drop_hash(h);
			return;
		}
	} else if (strcmp(channel, DB_NOTIFY_USERS) == 0) {
		if (n > 0 && n <= CERTAOS_MAX_ID) {
			cache_drop_user(payload);
			return;
		}
	} else
		return;
	log_warnx("notification on %s with a payload of %zu bytes that "
	    "names nothing: session cache emptied", channel, n);
	cache_flush();
}
