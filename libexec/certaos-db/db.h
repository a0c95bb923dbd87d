/*
 * db.h: certaos-db, the process that holds the database credentials.
 *
 * A pool of non-blocking libpq connections on the libevent loop
 * (pool.c), the compiled-in migrations run under an advisory lock on the
 * first connection (migrate.c), a fixed catalogue of typed operations,
 * each a prepared statement (ops.c), and the session cache that answers
 * get-session without a round trip (cache.c).  db.c receives the
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
#include "ctlrec.h"

struct auth_rec;
struct imsgev;
struct mbuf;
struct mread;

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
/* what the listening connection hears (sql/0001, 0002, 0003) */
#define DB_NOTIFY_CHANNEL	"certaos_jwks"
#define DB_NOTIFY_SESSIONS	"certaos_sessions"	/* hex token hash */
#define DB_NOTIFY_USERS		"certaos_users"		/* user id */
#define DB_NOTIFY_MAIL		"certaos_mail"		/* outbox insert */
/* the outbox: rows per claim, rows a listing shows */
#define DB_MAIL_CLAIM_MAX	16
#define DB_MAIL_LEASE_MAX	3600	/* s */
#define DB_MAIL_LIST_MAX	200
/* list-sessions: at most this many, newest first */
#define DB_LIST_MAX		100

/*
 * The session cache (cache.c): entries, hash buckets (a power of two),
 * invalidations remembered for answers still in flight, and how much
 * earlier than the database the cache takes a session for expired (the
 * two clocks may differ a little; the last second goes to PostgreSQL).
 */
#define CACHE_MAX		4096
#define CACHE_BUCKET_BITS	13
#define CACHE_RING		64
#define CACHE_SKEW_MS		1000
/*
 * The listening connection is asked something when it has been quiet for
 * DB_LISTEN_PING ms; when nothing came from it for DB_LISTEN_FRESH ms, it
 * may be cut off without knowing it, and the cache answers nothing.
 */
#define DB_LISTEN_PING		1000
#define DB_LISTEN_FRESH		3000

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
	OP_SESSION_LIST,	/* the user's live sessions (AUTH_OP_LIST) */
	OP_SESSION_REVOKE,	/* one of them (AUTH_OP_REVOKE) */
	OP_SESSION_REVOKE_ALL,	/* all of them (AUTH_OP_REVOKE_ALL) */
	OP_SESSION_REVOKE_OTHERS, /* all but the asking one */
	OP_SESSION_CRED,	/* the asking session's user's password hash */
	OP_PW_SET,		/* change-password */
	OP_PW_SET_REVOKE,	/* change-password, every session revoked */
	OP_PW_REHASH,		/* an old kind of hash replaced */
	OP_USER_UPDATE,		/* update-user: name, image */
	OP_ACCOUNT_LIST,	/* the user's accounts (AUTH_OP_ACCOUNTS) */
	/* operator commands (ctlops.c), asked by the parent */
	OP_CTL_USER_LIST,
	OP_CTL_USER_SHOW,
	OP_CTL_USER_ROLE,
	OP_CTL_USER_DISABLE,	/* banned, sessions deleted */
	OP_CTL_USER_ENABLE,
	OP_CTL_AUDIT,
	OP_CTL_IMPORT_USERS,	/* a batch of Better Auth rows */
	OP_CTL_IMPORT_ACCOUNTS,
	OP_CTL_IMPORT_SESSIONS,
	OP_AUDIT_SIGNIN,	/* keys: a refused sign-in; no answer */
	OP_CTL_INVITES,		/* pending invitations */
	/* mail.c: the outbox */
	OP_MAIL_ENQUEUE,	/* a sealed message (certaosctl mail test) */
	OP_MAIL_CLAIM,		/* due rows, leased to this daemon */
	OP_MAIL_DONE,		/* a delivery's outcome */
	OP_MAIL_QUEUE,		/* pending and failed rows (certaosctl) */
	OP_MAIL_INVITE,		/* an invitation and its mail */
	OP_FLOW_WHO_SESSION,	/* an email flow's user, by session */
	OP_FLOW_WHO_EMAIL,	/* ... by email */
	OP_FLOW_SEND,		/* an emailed token and its sealed mail */
	OP_FLOW_VERIFY,		/* verify-email (and change-email's link) */
	OP_FLOW_RESET_CHECK,	/* is a reset token good? */
	OP_FLOW_RESET,		/* reset-password */
	OP_FLOW_DELETE,		/* delete-user */
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

/*
 * IMSG_DB_SIGNUP, _CRED_GET, _SESSION_NEW, _SESSION_CRED, _PW_SET and
 * _PW_REHASH: what each carries.
 */
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
	uint32_t	 revoke;		/* PW_SET */
	unsigned char	 new_hash[DB_HASH_LEN];	/* PW_SET with revoke */
	char		 old_pwhash[CERTAOS_MAX_PWHASH + 1];	/* REHASH */
	uint32_t	 reason;		/* AUDIT_SIGNIN_* */
	/* SIGNUP: a session or not, and the verification link's mail */
	uint32_t	 session;
	int		 has_mail;
	char		 rcpt[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	size_t		 sealed_len;
	unsigned char	 vhash[DB_HASH_LEN];
	uint64_t	 vexpires;
	/* SIGNUP: the invitation link's token, as its hash */
	int		 has_invite;
	unsigned char	 invite_hash[DB_HASH_LEN];
};

/*
 * The operator commands: the request, and for an import the batch as
 * one two-dimensional text[] literal (a row per row), allocated.
 */
struct db_ctl {
	struct ctl_req	 r;
	uint32_t	 nrows;
	char		*rows;
};

/*
 * IMSG_DB_SESSION_GET, _SESSION_OP and _USER_UPDATE: answered to
 * web[instance], not to keys.  A revoke's target is a token hash, a
 * handle (session id), or both when keys cannot tell which one the
 * client gave.
 */
struct db_sess {
	uint32_t	 instance;
	uint32_t	 op;		/* enum auth_op */
	unsigned char	 token_hash[DB_HASH_LEN];
	int		 has_target;
	unsigned char	 target_hash[DB_HASH_LEN];
	char		 handle[CERTAOS_MAX_ID + 1];
	/* the audit row of a sign-out or a revoke */
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
	uint32_t	 mask;		/* USER_UPDATE: USER_F_* */
	char		 name[CERTAOS_MAX_NAME + 1];
	int		 has_image;
	char		 image[CERTAOS_MAX_IMAGE + 1];
};

/*
 * An outbox message as a flow's parameters carry it (keys_mail_seal()
 * wrote it: str recipient, str template, bytes sealed), and what the
 * mail operations carry.
 */
struct db_mail {
	char		 recipient[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	size_t		 sealed_len;
	/* OP_MAIL_CLAIM */
	uint32_t	 max;
	uint32_t	 lease;		/* s */
	/* OP_MAIL_DONE */
	uint64_t	 id;
	uint32_t	 outcome;	/* enum mail_outcome */
	char		 error[CERTAOS_MAX_MAIL_ERROR + 1];
	uint32_t	 retry;		/* s: first backoff */
	uint32_t	 attempts;	/* the maximum */
	/* OP_MAIL_INVITE: the invitation; its token as a hash */
	char		 inv_email[CERTAOS_MAX_EMAIL + 1];
	char		 inv_role[CERTAOS_MAX_ROLE + 1];
	char		 inv_attrs[CERTAOS_MAX_ATTRS + 1];
	unsigned char	 inv_hash[DB_HASH_LEN];
	uint64_t	 inv_expires;	/* ms */
};

/*
 * IMSG_DB_FLOW_WHO, _FLOW_SEND and _FLOW_USE (the email flows).  The
 * mail is sealed by keys: db stores it as it comes.
 */
struct db_flow {
	uint32_t	 kind;		/* enum flow_kind */
	char		 user_id[CERTAOS_MAX_ID + 1];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 data[CERTAOS_MAX_EMAIL + 1];	/* new address */
	unsigned char	 token_hash[DB_HASH_LEN];
	int		 has_token;
	unsigned char	 session_hash[DB_HASH_LEN];
	int		 has_session;
	unsigned char	 new_hash[DB_HASH_LEN];	/* a session to make */
	int		 has_new;
	char		 pwhash[CERTAOS_MAX_PWHASH + 1];
	uint64_t	 expires;	/* ms */
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
	char		 rcpt[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	size_t		 sealed_len;
};

/* A request from a peer, queued until a connection takes it. */
struct db_req {
	TAILQ_ENTRY(db_req)	 entry;
	enum db_op		 op;
	uint32_t		 id;		/* the request's peerid */
	struct imsgev		*iev;		/* who to answer */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	uint64_t		 gen;		/* cache generation, arrival */
	int			 sent;		/* given to PostgreSQL */
	union {
		struct db_jwk	 jwk;		/* OP_JWKS_INSERT */
		struct db_auth	 auth;		/* SIGNUP, CRED_GET, NEW */
		struct db_sess	 sess;		/* the to-web session ops */
		struct db_ctl	 ctl;		/* OP_CTL_* */
		struct db_mail	 mail;		/* OP_MAIL_* */
		struct db_flow	 flow;		/* the email flows */
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
	struct timespec		 listen_seen;	/* the listener last answered */
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
/* a connection listens, and was heard from a moment ago */
int	 pool_listening(struct db_pool *);
void	 monotime(struct timespec *);

/* cache.c */
struct cache_stats {
	uint64_t	 hits;
	uint64_t	 misses;	/* absent, expired or due for renewal */
	uint64_t	 fills;
	uint64_t	 refused;	/* an invalidation raced the answer */
	uint64_t	 evictions;
	uint32_t	 entries;
};

/* on while a connection LISTENs; off empties it */
void	 cache_set(int);
int	 cache_on(void);
/* the generation a request is submitted in (see cache_fill) */
uint64_t cache_gen(void);
/*
 * The answer cached for a token hash if it may be given now (ms since the
 * epoch; update: the sliding step, s): NULL if not
 */
const unsigned char *cache_lookup(const unsigned char *, uint64_t,
	    uint32_t, size_t *);
/*
 * Keep an answer from PostgreSQL: token hash, user id, the session's
 * expiry and last renewal (ms), the answer, the generation its request
 * was submitted in.  1 kept, 0 not (off, or an invalidation since).
 */
int	 cache_fill(const unsigned char *, const char *, uint64_t, uint64_t,
	    const void *, size_t, uint64_t);
void	 cache_drop_hash(const unsigned char *);
/* every session of a user: for anything that changes or deletes users */
void	 cache_drop_user(const char *);
void	 cache_flush(void);
/* a notification (channel, payload): drop what it names */
void	 cache_notify(const char *, const char *);
void	 cache_stats(struct cache_stats *);

/* mail.c */
/* tell mail that the outbox has a new row (no-op without a mail peer) */
void	 db_mail_nudge(void);
/*
 * An outbox message from a flow's payload (str recipient, str template,
 * bytes sealed, as keys_mail_seal() wrote them) into m: 0, or -1 if a
 * field is missing, empty or over its bound.  The caller checks
 * mread_end() as for its other fields.
 */
int	 ops_mail_read(struct mread *, struct db_mail *);
const struct db_stmt *mail_stmt(enum db_op);
int	 mail_req_read(struct imsg *, enum db_op, struct db_req *);
int	 mail_send(struct db_conn *, struct db_req *);
int	 mail_result(struct db_req *, PGresult *);
void	 mail_unavailable(struct db_req *);

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
void	 ops_settings(const struct cfg_db *);
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
/* the user columns of a record row */
int	 ops_user_get(const PGresult *, int, struct auth_user *);
void	 ops_answer_i32(struct imsgev *, uint32_t, uint32_t, int32_t);
/* get-session from the cache: 1 if answered, 0 if it must be asked */
int	 ops_cached(struct db_req *);
/* result columns, shared with ctlops.c */
int	 ops_col_str(const PGresult *, int, int, char *, size_t, int);
int	 ops_col_nstr(const PGresult *, int, int, char *, size_t, int32_t *);
int	 ops_col_ms(const PGresult *, int, int, uint64_t *, int);
int	 ops_col_bool(const PGresult *, int, int, int32_t *);
void	 ops_compose(struct imsgev *, uint32_t, uint32_t, struct mbuf *);
const char *ops_errmsg(const PGresult *, char *, size_t);

/* ctlops.c: the operator commands and the sign-in audit */
int	 ctlops_is(enum db_op);
int	 ctlops_req_read(struct imsg *, enum db_op, struct db_req *);
int	 ctlops_send(struct db_conn *, struct db_req *);
int	 ctlops_result(struct db_req *, PGresult *);
void	 ctlops_unavailable(struct db_req *);
void	 ctlops_free(struct db_req *);

/* flow.c: the email flows, as ops.c does the others */
int	 flow_is(enum db_op);
int	 flow_req_read(struct mread *, enum db_op *, struct db_flow *);
int	 flow_send(struct db_conn *, struct db_req *);
int	 flow_result(struct db_req *, PGresult *);
void	 flow_unavailable(struct db_req *);

#endif
