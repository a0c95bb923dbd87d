/*
 * db.h: certaos-db, the process that holds the database credentials.
 *
 * A pool of non-blocking libpq connections on the libevent loop
 * (pool.c), the compiled-in migrations run under an advisory lock on the
 * first connection (migrate.c), and a fixed catalogue of typed
 * operations, each a prepared statement (ops.c).  db.c receives the
 * requests and the configuration.
 */

#ifndef CERTAOS_DB_H
#define CERTAOS_DB_H

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <time.h>

#include "certaos.h"

struct auth_rec;
struct imsgev;
struct mbuf;

#define DB_MAX_ALG		32	/* "RS256", "ES256", "EdDSA" */
#define DB_QUEUE_MAX		256	/* requests waiting for a connection */
#define DB_BACKOFF_MIN		500	/* ms */
#define DB_BACKOFF_MAX		10000	/* ms */
#define DB_LIVENESS		5	/* s between liveness checks */
#define DB_CONNECT_TIMEOUT	10	/* s for a connection attempt */
#define DB_HASH_LEN		32	/* SHA-256 of a token */
/* latest expiry a request may carry: 9999-12-31T23:59:59.999Z, in ms */
#define DB_MAX_MS		253402300799999ULL
/* requests kept for reuse: none allocated on the hot path */
#define DB_REQ_CACHE		32
/* pg_advisory_lock key: "certaos1" */
#define DB_MIGRATE_LOCK		"7162256626579108657"
#define DB_NOTIFY_CHANNEL	"certaos_jwks"

/* The catalogue: one prepared statement each. */
enum db_op {
	OP_PING = 0,		/* SELECT 1: liveness */
	OP_JWKS_LOAD,
	OP_JWKS_INSERT,
	OP_SIGNUP,		/* user, credential account, session */
	OP_CRED_GET,		/* user id and password hash by email */
	OP_SESSION_NEW,
	OP_SESSION_GET,		/* look up and slide (AUTH_OP_GET) */
	OP_SESSION_DELETE,	/* sign out (AUTH_OP_DELETE) */
	OP_MAX
};

struct db_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	const Oid	*types;
};

/* One jwks row, as carried by IMSG_DB_JWKS_ROW and _INSERT. */
struct db_jwk {
	char		 kid[CERTAOS_MAX_KID + 1];
	char		 alg[DB_MAX_ALG + 1];
	char		 jwk[CERTAOS_MAX_JWK + 1];
	unsigned char	 sealed[CERTAOS_MAX_SEALED];
	size_t		 sealed_len;
	uint64_t	 created;
};

/* IMSG_DB_SIGNUP, _CRED_GET and _SESSION_NEW: what each carries. */
struct db_auth {
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 name[CERTAOS_MAX_NAME + 1];
	int		 has_image;
	char		 image[CERTAOS_MAX_IMAGE + 1];
	char		 pwhash[CERTAOS_MAX_PWHASH + 1];
	char		 user_id[CERTAOS_MAX_ID + 1];
	unsigned char	 token_hash[DB_HASH_LEN];
	uint64_t	 expires;	/* ms */
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
};

/* IMSG_DB_SESSION_GET: answered to web[instance], not to keys. */
struct db_sess {
	uint32_t	 instance;
	uint32_t	 op;		/* enum auth_op */
	unsigned char	 token_hash[DB_HASH_LEN];
};

/* A request from a peer, queued until a connection takes it. */
struct db_req {
	TAILQ_ENTRY(db_req)	 entry;
	enum db_op		 op;
	uint32_t		 id;		/* the request's peerid */
	struct imsgev		*iev;		/* who to answer */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	union {
		struct db_jwk	 jwk;		/* OP_JWKS_INSERT */
		struct db_auth	 auth;		/* SIGNUP, CRED_GET, NEW */
		struct db_sess	 sess;		/* SESSION_GET, _DELETE */
	};
};
TAILQ_HEAD(db_reqq, db_req);

enum db_conn_state {
	CONN_DOWN,		/* waiting for the backoff timer */
	CONN_CONNECTING,	/* PQconnectPoll */
	CONN_SETUP,		/* migrating, waiting for it, or preparing */
	CONN_READY		/* statements prepared: serves requests */
};

enum db_job {
	JOB_NONE,
	JOB_MIGRATE,
	JOB_PREPARE,
	JOB_LISTEN,
	JOB_PING,
	JOB_REQ
};

struct db_conn {
	int			 idx;
	struct db_pool		*pool;
	PGconn			*pg;
	enum db_conn_state	 state;
	enum db_job		 job;
	int			 step;		/* within the job */
	int			 mig;		/* migration index */
	int			 failed;	/* the step had an error */
	int			 lost;		/* class 08/57P error seen */
	char			 errmsg[256];	/* first error of the step */
	struct db_req		*req;		/* JOB_REQ */
	struct event		 cev;		/* connect poll (one shot) */
	struct event		 rev;		/* readable (persistent) */
	struct event		 wev;		/* PQflush pending */
	struct event		 tev;		/* backoff, connect, job */
	int			 events_set;	/* rev/wev assigned */
	unsigned int		 backoff;	/* ms */
	struct timespec		 last_used;
};

struct db_pool {
	char			 conninfo[CERTAOS_MAX_CONNINFO];
	uint32_t		 size;
	struct db_conn		*conns;
	struct event_base	*evbase;
	int			 started;
	int			 nready;
	int			 migrated;
	int			 available;	/* last logged state */
	struct db_conn		*migrating;
	struct db_conn		*listener;
	int			 listen_lost;	/* re-LISTEN: tell keys */
	struct db_reqq		 queue;
	int			 nqueued;
	struct event		 livenessev;
	struct event		 sweepev;
};

extern struct db_pool	*db_pool;

/* pool.c */
void	 pool_start(struct db_pool *, struct event_base *, const char *,
	    uint32_t);
int	 pool_up(struct db_pool *);
/* take a request (the pool owns it from here): queued, run or failed */
void	 pool_submit(struct db_pool *, struct db_req *);
/* after a PQsend*(): 0 if sent (flushing), -1 if the connection died */
int	 pool_conn_sent(struct db_pool *, struct db_conn *, int);
int	 pool_error_lost(const PGresult *);
void	 monotime(struct timespec *);

/* migrate.c */
void	 migrate_start(struct db_pool *, struct db_conn *);
/* 0 to wait for the next query, 1 when done */
int	 migrate_next(struct db_pool *, struct db_conn *);
void	 migrate_result(struct db_pool *, struct db_conn *,
	    const PGresult *);
size_t	 migrate_count(void);
int	 migrate_latest(void);
const char *migrate_name(size_t);
const char *migrate_sql(size_t);

/* ops.c */
const struct db_stmt *ops_stmt(enum db_op);
/* session settings from IMSG_CFG_DB (s; 0: the default) */
void	 ops_settings(uint32_t, uint32_t);
/* send a request's prepared statement; the PQsend*() return value */
int	 ops_send(struct db_conn *, struct db_req *);
/* answer a request from its result; 0 ok, -1 on a failed result */
int	 ops_result(struct db_req *, PGresult *);
void	 ops_unavailable(struct db_req *);
/*
 * parse a request payload (fatal if malformed); NULL if it was dropped
 * (a session request for a web worker db has no channel to)
 */
struct db_req *ops_parse(struct imsgev *, struct imsg *, enum db_op);
/* the payload of a request for op into req: 0, or -1 if malformed */
int	 ops_req_read(struct imsg *, enum db_op, struct db_req *);
/* a request from the cache (or allocated), and back */
struct db_req *ops_req_new(void);
void	 ops_free(struct db_req *);
int	 ops_jwk_read(struct imsg *, struct db_jwk *);
void	 ops_jwk_write(struct mbuf *, const struct db_jwk *);
/* a session and its user from a result row: 0, or -1 if out of bounds */
int	 ops_rec_get(const PGresult *, int, struct auth_rec *);
void	 ops_answer_i32(struct imsgev *, uint32_t, uint32_t, int32_t);

#endif
