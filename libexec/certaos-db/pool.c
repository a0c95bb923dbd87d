/*
 * pool.c: a pool of non-blocking libpq connections on the event loop.
 *
 * Each connection goes DOWN -> CONNECTING (PQconnectPoll) -> SETUP
 * (migrations on the first one, then PQsendPrepare of the catalogue) ->
 * READY.  A READY connection runs one request at a time; requests wait in
 * a bounded queue when every connection is busy.  A broken connection
 * (EOF, CONNECTION_BAD, SQLSTATE class 08 or 57P) fails its request with
 * "unavailable", and reconnects after an exponential backoff with jitter.
 * While no connection is READY, every request is answered "unavailable"
 * at once.  A liveness check (SELECT 1) runs every few seconds on the
 * idle connection used least recently, and idle connections are watched
 * for reads, so a server that goes away is noticed even when nothing is
 * asked.  One connection LISTENs: for jwks changes, which it tells keys,
 * and for session and user changes, which empty entries of the session
 * cache.  The cache is on only while that LISTEN stands, and answers only
 * while the listener was heard from a moment ago: it is asked something
 * every second it is quiet, so a connection cut off without a word is
 * found out (and given up) within seconds, not when TCP notices.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "db.h"

struct db_pool	*db_pool;

static void	 conn_connect(struct db_pool *, struct db_conn *);
static void	 conn_poll_wait(struct db_conn *, short);
static void	 conn_notice(void *, const char *);
static void	 conn_pollcb(int, short, void *);
static void	 conn_connected(struct db_pool *, struct db_conn *);
static void	 conn_setup(struct db_pool *, struct db_conn *);
static void	 conn_prepare(struct db_pool *, struct db_conn *);
static void	 conn_ready(struct db_pool *, struct db_conn *);
static void	 conn_down(struct db_pool *, struct db_conn *, const char *);
static void	 conn_readcb(int, short, void *);
static void	 conn_writecb(int, short, void *);
static void	 conn_timercb(int, short, void *);
static void	 conn_timer(struct db_conn *, long);
static int	 conn_flush(struct db_pool *, struct db_conn *);
static void	 conn_drain(struct db_pool *, struct db_conn *);
static void	 conn_result(struct db_pool *, struct db_conn *, PGresult *);
static void	 conn_query_done(struct db_pool *, struct db_conn *);
static void	 conn_notifies(struct db_pool *, struct db_conn *);
static void	 conn_idle(struct db_pool *, struct db_conn *);
static void	 pool_kick(struct db_pool *);
static void	 pool_migrated(struct db_pool *, struct db_conn *);
static void	 pool_fail_queue(struct db_pool *);
static void	 pool_livenesscb(int, short, void *);
static void	 pool_sweepcb(int, short, void *);
static void	 pool_notify_keys(void);
static const char *pool_pgerror(PGconn *, char *, size_t);
static const char *pool_oneline(const char *, char *, size_t);
static long	 ms_until(const struct timespec *);
static long	 ms_since(const struct timespec *);
static void	 pool_ping(struct db_pool *, struct db_conn *);

void
monotime(struct timespec *ts)
{
	if (clock_gettime(CLOCK_MONOTONIC, ts) == -1)
		fatal("clock_gettime");
}

static long
ms_until(const struct timespec *ts)
{
	struct timespec	 now;
	long		 ms;

	monotime(&now);
	ms = (ts->tv_sec - now.tv_sec) * 1000 +
	    (ts->tv_nsec - now.tv_nsec) / 1000000;
	return (ms < 0 ? 0 : ms);
}

static long
ms_since(const struct timespec *ts)
{
	struct timespec	 now;

	monotime(&now);
	return ((now.tv_sec - ts->tv_sec) * 1000 +
	    (now.tv_nsec - ts->tv_nsec) / 1000000);
}

/* msg on one line into buf, runs of white space squeezed. */
static const char *
pool_oneline(const char *msg, char *buf, size_t len)
{
	size_t	 n;

	if (len == 0)
		return ("");
	for (n = 0; *msg != '\0' && n + 1 < len; msg++) {
		if (*msg == '\n' || *msg == '\r' || *msg == '\t' ||
		    *msg == ' ') {
			if (n > 0 && buf[n - 1] != ' ')
				buf[n++] = ' ';
		} else
			buf[n++] = *msg;
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return (buf);
}

/* libpq's last error, copied before the PGconn goes away. */
static const char *
pool_pgerror(PGconn *pg, char *buf, size_t len)
{
	const char	*msg = NULL;

	if (pg != NULL)
		msg = PQerrorMessage(pg);
	if (msg == NULL || *msg == '\0')
		msg = "connection lost";
	return (pool_oneline(msg, buf, len));
}

/* A result that says the connection is gone (class 08, 57P). */
int
pool_error_lost(const PGresult *res)
{
	const char	*state;

	if (res == NULL)
		return (1);
	switch (PQresultStatus(res)) {
	case PGRES_FATAL_ERROR:
	case PGRES_BAD_RESPONSE:
		break;
	default:
		return (0);
	}
	if ((state = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return (1);	/* libpq's own: lost the server */
	return (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
}

void
pool_start(struct db_pool *pool, struct event_base *base,
    const char *conninfo, uint32_t size)
{
	struct db_conn	*c;
	struct timeval	 tv;
	uint32_t	 i;

	memset(pool, 0, sizeof(*pool));
	if (strlcpy(pool->conninfo, conninfo, sizeof(pool->conninfo)) >=
	    sizeof(pool->conninfo))
		fatalx("%s: conninfo too long", __func__);
	pool->size = size;
	pool->evbase = base;
	pool->available = -1;
	TAILQ_INIT(&pool->queue);
	if ((pool->conns = calloc(size, sizeof(*pool->conns))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < size; i++) {
		c = &pool->conns[i];
		c->idx = i;
		c->pool = pool;
		c->state = CONN_DOWN;
		c->backoff = DB_BACKOFF_MIN;
		evtimer_assign(&c->tev, base, conn_timercb, c);
		conn_connect(pool, c);
	}
	event_assign(&pool->livenessev, base, -1, EV_PERSIST,
	    pool_livenesscb, pool);
	tv.tv_sec = DB_LIVENESS;
	tv.tv_usec = 0;
	event_add(&pool->livenessev, &tv);
	event_assign(&pool->sweepev, base, -1, EV_PERSIST, pool_sweepcb, pool);
	tv.tv_sec = 1;
	event_add(&pool->sweepev, &tv);
	pool->started = 1;
	log_debug("pool of %u connection(s) starting", size);
}

int
pool_up(struct db_pool *pool)
{
	return (pool != NULL && pool->started && pool->migrated &&
	    pool->nready > 0);
}

int
pool_listening(struct db_pool *pool)
{
	return (pool != NULL && pool->listener != NULL && cache_on() &&
	    ms_since(&pool->listen_seen) < DB_LISTEN_FRESH);
}

static void
conn_timer(struct db_conn *c, long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_del(&c->tev);
	evtimer_add(&c->tev, &tv);
}

static void
conn_connect(struct db_pool *pool, struct db_conn *c)
{
	const char	*keys[] = { "dbname", "fallback_application_name",
			    NULL };
	const char	*vals[] = { pool->conninfo, "certaos-db", NULL };
	char		 ebuf[256];

	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL)
		fatalx("%s: out of memory", __func__);
	c->state = CONN_CONNECTING;
	PQsetNoticeProcessor(c->pg, conn_notice, c);
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return;
	}
	/* libpq's connect_timeout does not apply to PQconnectPoll. */
	conn_timer(c, DB_CONNECT_TIMEOUT * 1000);
	conn_poll_wait(c, EV_WRITE);
}

/* Server notices go to the log, not to stderr. */
static void
conn_notice(void *arg, const char *msg)
{
	struct db_conn	*c = arg;
	char		 buf[256];
	size_t		 n;

	(void)strlcpy(buf, msg, sizeof(buf));
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	log_debug("connection %d: %s", c->idx, buf);
}

static void
conn_poll_wait(struct db_conn *c, short what)
{
	int	 fd;

	if ((fd = PQsocket(c->pg)) == -1) {
		conn_down(c->pool, c, "no socket");
		return;
	}
	event_assign(&c->cev, c->pool->evbase, fd, what, conn_pollcb, c);
	event_add(&c->cev, NULL);
}

static void
conn_pollcb(int fd, short event, void *arg)
{
	struct db_conn	*c = arg;
	char		 ebuf[256];

	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_poll_wait(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		conn_poll_wait(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		conn_connected(c->pool, c);
		break;
	default:
		conn_down(c->pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		break;
	}
}

static void
conn_connected(struct db_pool *pool, struct db_conn *c)
{
	char	 ebuf[256];

	evtimer_del(&c->tev);
	if (PQsetnonblocking(c->pg, 1) == -1) {
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return;
	}
	event_assign(&c->rev, pool->evbase, PQsocket(c->pg),
	    EV_READ | EV_PERSIST, conn_readcb, c);
	event_assign(&c->wev, pool->evbase, PQsocket(c->pg), EV_WRITE,
	    conn_writecb, c);
	c->events_set = 1;
	event_add(&c->rev, NULL);
	c->state = CONN_SETUP;
	c->job = JOB_NONE;
	log_debug("connection %d: connected (server %d)", c->idx,
	    PQserverVersion(c->pg));
	conn_setup(pool, c);
}

/* Migrate if nobody has; wait if somebody is; else prepare. */
static void
conn_setup(struct db_pool *pool, struct db_conn *c)
{
	if (pool->migrated) {
		conn_prepare(pool, c);
		return;
	}
	if (pool->migrating != NULL)
		return;
	pool->migrating = c;
	migrate_start(pool, c);
}

static void
pool_migrated(struct db_pool *pool, struct db_conn *c)
{
	uint32_t	 i;

	pool->migrated = 1;
	pool->migrating = NULL;
	c->job = JOB_NONE;
	for (i = 0; i < pool->size; i++) {
		c = &pool->conns[i];
		if (c->state == CONN_SETUP && c->job == JOB_NONE)
			conn_prepare(pool, c);
	}
}

static void
conn_prepare(struct db_pool *pool, struct db_conn *c)
{
	const struct db_stmt	*st;

	if (c->job != JOB_PREPARE) {
		c->job = JOB_PREPARE;
		c->step = 0;
	}
	if (c->step >= OP_MAX) {
		conn_ready(pool, c);
		return;
	}
	st = ops_stmt(c->step);
	conn_timer(c, CERTAOS_DB_TIMEOUT * 1000);
	(void)pool_conn_sent(pool, c, PQsendPrepare(c->pg, st->name, st->sql,
	    st->nparams, st->types));
}

static void
conn_ready(struct db_pool *pool, struct db_conn *c)
{
	c->state = CONN_READY;
	c->job = JOB_NONE;
	c->backoff = DB_BACKOFF_MIN;
	pool->nready++;
	if (pool->available != 1)
		log_info("database available");
	pool->available = 1;
	conn_idle(pool, c);
}

static void
conn_idle(struct db_pool *pool, struct db_conn *c)
{
	c->job = JOB_NONE;
	evtimer_del(&c->tev);
	monotime(&c->last_used);
	pool_kick(pool);
}

int
pool_conn_sent(struct db_pool *pool, struct db_conn *c, int rv)
{
	char	 ebuf[256];

	c->failed = 0;
	c->lost = 0;
	c->errmsg[0] = '\0';
	if (rv == 0) {
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return (-1);
	}
	return (conn_flush(pool, c));
}

static int
conn_flush(struct db_pool *pool, struct db_conn *c)
{
	char	 ebuf[256];

	switch (PQflush(c->pg)) {
	case 0:
		return (0);
	case 1:
		event_add(&c->wev, NULL);
		return (0);
	default:
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return (-1);
	}
}

static void
conn_writecb(int fd, short event, void *arg)
{
	struct db_conn	*c = arg;

	if (c->pg != NULL)
		(void)conn_flush(c->pool, c);
}

static void
conn_readcb(int fd, short event, void *arg)
{
	struct db_conn	*c = arg;
	struct db_pool	*pool = c->pool;
	char		 ebuf[256];

	if (PQconsumeInput(c->pg) == 0) {
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return;
	}
	conn_notifies(pool, c);
	if (event_pending(&c->wev, EV_WRITE, NULL) &&
	    conn_flush(pool, c) == -1)
		return;
	conn_drain(pool, c);
	/*
	 * libpq parses what follows a result only when the result is
	 * taken: notifications read with it are there only now, and the
	 * next read may be a long way off on an idle connection.
	 */
	if (c->pg != NULL)
		conn_notifies(pool, c);
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_BAD)
		conn_down(pool, c, pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
}

static void
conn_drain(struct db_pool *pool, struct db_conn *c)
{
	PGresult	*res;

	while (c->pg != NULL && c->job != JOB_NONE && !PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			conn_query_done(pool, c);
			continue;
		}
		conn_result(pool, c, res);
		PQclear(res);
	}
}

static void
conn_result(struct db_pool *pool, struct db_conn *c, PGresult *res)
{
	const char	*msg, *state;
	char		 buf[512];
	int		 failed = 0;

	switch (PQresultStatus(res)) {
	case PGRES_FATAL_ERROR:
	case PGRES_BAD_RESPONSE:
	case PGRES_NONFATAL_ERROR:
		failed = 1;
		break;
	default:
		break;
	}
	if (failed) {
		if (!c->failed) {
			msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (msg == NULL)
				msg = PQresultErrorMessage(res);
			(void)snprintf(buf, sizeof(buf), "%s%s%s%s",
			    msg != NULL ? msg : "error",
			    state != NULL ? " (SQLSTATE " : "",
			    state != NULL ? state : "",
			    state != NULL ? ")" : "");
			(void)pool_oneline(buf, c->errmsg, sizeof(c->errmsg));
		}
		c->failed = 1;
		if (pool_error_lost(res))
			c->lost = 1;
	}

	switch (c->job) {
	case JOB_MIGRATE:
		migrate_result(pool, c, res);
		break;
	case JOB_REQ:
		if (c->req != NULL) {
			(void)ops_result(c->req, res);
			ops_free(c->req);
			c->req = NULL;
		}
		break;
	default:
		break;
	}
}

static void
conn_query_done(struct db_pool *pool, struct db_conn *c)
{
	char	 ebuf[256];

	if (c->lost || PQstatus(c->pg) == CONNECTION_BAD) {
		conn_down(pool, c, c->errmsg[0] != '\0' ? c->errmsg :
		    pool_pgerror(c->pg, ebuf, sizeof(ebuf)));
		return;
	}
	/* an answer, even an error: the listener is still there */
	if (c == pool->listener)
		monotime(&pool->listen_seen);
	switch (c->job) {
	case JOB_MIGRATE:
		if (migrate_next(pool, c) == 1)
			pool_migrated(pool, c);
		break;
	case JOB_PREPARE:
		if (c->failed)
			fatalx("prepare %s: %s", ops_stmt(c->step)->name,
			    c->errmsg);
		c->step++;
		conn_prepare(pool, c);
		break;
	case JOB_LISTEN:
		if (c->failed)
			log_warnx("LISTEN: %s (keys will not hear of changes "
			    "by other instances; no session cache)",
			    c->errmsg);
		else {
			cache_set(1);
			log_info("session cache on: connection %d listens",
			    c->idx);
			if (pool->listen_lost) {
				/* changes may have happened unheard */
				pool->listen_lost = 0;
				pool_notify_keys();
			}
		}
		conn_idle(pool, c);
		break;
	case JOB_PING:
		if (c->failed) {
			conn_down(pool, c, c->errmsg);
			return;
		}
		conn_idle(pool, c);
		break;
	case JOB_REQ:
		if (c->req != NULL) {
			/* no result at all */
			ops_unavailable(c->req);
			ops_free(c->req);
			c->req = NULL;
		}
		conn_idle(pool, c);
		break;
	default:
		fatalx("%s: job %d", __func__, c->job);
	}
}

static void
conn_notifies(struct db_pool *pool, struct db_conn *c)
{
	PGnotify	*n;
	int		 count = 0;

	while ((n = PQnotifies(c->pg)) != NULL) {
		if (c == pool->listener)
			monotime(&pool->listen_seen);
		if (strcmp(n->relname, DB_NOTIFY_CHANNEL) == 0) {
			log_debug("notify %s \"%s\"", n->relname, n->extra);
			count++;
		} else if (strcmp(n->relname, DB_NOTIFY_MAIL) == 0)
			db_mail_nudge();
		else
			cache_notify(n->relname, n->extra);
		PQfreemem(n);
	}
	if (count > 0)
		pool_notify_keys();
}

static void
pool_notify_keys(void)
{
	struct imsgev	*iev;

	if (proc_self == NULL)
		return;
	TAILQ_FOREACH(iev, &proc_self->peers, entry)
		if (iev->peer == PROC_KEYS)
			imsgev_compose(iev, IMSG_DB_JWKS_NOTIFY, 0, 0, -1,
			    NULL, 0);
}

static void
conn_down(struct db_pool *pool, struct db_conn *c, const char *why)
{
	char		 reason[256];
	struct db_conn	*o;
	long		 ms;
	uint32_t	 i;

	(void)strlcpy(reason, why, sizeof(reason));
	log_debug("connection %d down: %s", c->idx, reason);

	if (c->state == CONN_READY)
		pool->nready--;
	if (event_initialized(&c->cev))
		event_del(&c->cev);
	if (c->events_set) {
		event_del(&c->rev);
		event_del(&c->wev);
		c->events_set = 0;
	}
	evtimer_del(&c->tev);
	if (c->req != NULL) {
		ops_unavailable(c->req);
		ops_free(c->req);
		c->req = NULL;
	}
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	c->state = CONN_DOWN;
	c->job = JOB_NONE;

	/* backoff: 0.5 s doubling to 10 s, +-25% jitter */
	ms = c->backoff * 3 / 4 + arc4random_uniform(c->backoff / 2 + 1);
	c->backoff = c->backoff * 2 > DB_BACKOFF_MAX ? DB_BACKOFF_MAX :
	    c->backoff * 2;
	conn_timer(c, ms);

	if (pool->nready == 0) {
		pool_fail_queue(pool);
		if (pool->available != 0)
			log_warnx("database unavailable: %s", reason);
		pool->available = 0;
	}
	if (pool->listener == c) {
		pool->listener = NULL;
		pool->listen_lost = 1;
		/* what it would have heard from now on is lost */
		if (cache_on())
			log_info("connection %d no longer listens: session "
			    "cache emptied, off until a LISTEN is back",
			    c->idx);
		cache_set(0);
	}
	if (pool->migrating == c) {
		pool->migrating = NULL;
		for (i = 0; i < pool->size; i++) {
			o = &pool->conns[i];
			if (o->state == CONN_SETUP && o->job == JOB_NONE) {
				pool->migrating = o;
				migrate_start(pool, o);
				break;
			}
		}
	}
	if (pool->listener == NULL && pool->nready > 0)
		pool_kick(pool);
}

static void
conn_timercb(int fd, short event, void *arg)
{
	struct db_conn	*c = arg;

	switch (c->state) {
	case CONN_DOWN:
		conn_connect(c->pool, c);
		break;
	case CONN_CONNECTING:
		conn_down(c->pool, c, "timed out connecting");
		break;
	default:
		/* migrations may wait long for the lock: not timed */
		if (c->job != JOB_NONE && c->job != JOB_MIGRATE)
			conn_down(c->pool, c, "no answer in time");
		break;
	}
}

/* Give idle connections work: LISTEN first, then the queue. */
static void
pool_kick(struct db_pool *pool)
{
	struct db_conn	*c;
	struct db_req	*req;
	uint32_t	 i;
	long		 ms;

	for (i = 0; i < pool->size; i++) {
		c = &pool->conns[i];
		if (c->state != CONN_READY || c->job != JOB_NONE)
			continue;
		if (pool->listener == NULL) {
			pool->listener = c;
			c->job = JOB_LISTEN;
			conn_timer(c, CERTAOS_DB_TIMEOUT * 1000);
			/* named, for pg_stat_activity: who listens */
			(void)pool_conn_sent(pool, c, PQsendQuery(c->pg,
			    "LISTEN " DB_NOTIFY_CHANNEL ";"
			    " LISTEN " DB_NOTIFY_SESSIONS ";"
			    " LISTEN " DB_NOTIFY_USERS ";"
			    " LISTEN " DB_NOTIFY_MAIL ";"
			    " SELECT set_config('application_name',"
			    " current_setting('application_name') ||"
			    " ' listening', false)"));
			continue;
		}
		while ((req = TAILQ_FIRST(&pool->queue)) != NULL) {
			TAILQ_REMOVE(&pool->queue, req, entry);
			pool->nqueued--;
			if ((ms = ms_until(&req->deadline)) == 0) {
				ops_unavailable(req);
				ops_free(req);
				continue;
			}
			c->job = JOB_REQ;
			c->req = req;
			conn_timer(c, ms);
			(void)pool_conn_sent(pool, c, ops_send(c, req));
			break;
		}
		if (TAILQ_EMPTY(&pool->queue))
			break;
	}
}

void
pool_submit(struct db_pool *pool, struct db_req *req)
{
	if (!pool_up(pool) || pool->nqueued >= DB_QUEUE_MAX) {
		ops_unavailable(req);
		ops_free(req);
		return;
	}
	TAILQ_INSERT_TAIL(&pool->queue, req, entry);
	pool->nqueued++;
	pool_kick(pool);
}

static void
pool_fail_queue(struct db_pool *pool)
{
	struct db_req	*req;

	while ((req = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, req, entry);
		pool->nqueued--;
		ops_unavailable(req);
		ops_free(req);
	}
}

/*
 * Requests that waited too long for a connection; and a listener quiet
 * for a second is asked something, so the cache knows it is still there.
 */
static void
pool_sweepcb(int fd, short event, void *arg)
{
	struct db_pool	*pool = arg;
	struct db_req	*req, *next;
	struct db_conn	*c = pool->listener;

	if (c != NULL && c->state == CONN_READY && c->job == JOB_NONE &&
	    cache_on() && ms_since(&pool->listen_seen) >= DB_LISTEN_PING)
		pool_ping(pool, c);

	for (req = TAILQ_FIRST(&pool->queue); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (ms_until(&req->deadline) > 0)
			continue;
		TAILQ_REMOVE(&pool->queue, req, entry);
		pool->nqueued--;
		ops_unavailable(req);
		ops_free(req);
	}
}

/* SELECT 1 on the idle connection that was used least recently. */
static void
pool_livenesscb(int fd, short event, void *arg)
{
	struct db_pool	*pool = arg;
	struct db_conn	*c, *best = NULL;
	uint32_t	 i;

	for (i = 0; i < pool->size; i++) {
		c = &pool->conns[i];
		if (c->state != CONN_READY || c->job != JOB_NONE)
			continue;
		if (best == NULL ||
		    c->last_used.tv_sec < best->last_used.tv_sec ||
		    (c->last_used.tv_sec == best->last_used.tv_sec &&
		    c->last_used.tv_nsec < best->last_used.tv_nsec))
			best = c;
	}
	if (best != NULL)
		pool_ping(pool, best);
}

/* SELECT 1; no answer in time is a lost connection (conn_timercb). */
static void
pool_ping(struct db_pool *pool, struct db_conn *c)
{
	c->job = JOB_PING;
	conn_timer(c, CERTAOS_DB_TIMEOUT * 1000);
	(void)pool_conn_sent(pool, c, PQsendQueryPrepared(c->pg,
	    ops_stmt(OP_PING)->name, 0, NULL, NULL, NULL, 0));
}
