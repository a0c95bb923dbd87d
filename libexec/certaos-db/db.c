/*
 * certaos-db: holds the database conninfo and runs a fixed catalogue of
 * typed operations for web and keys on a pool of libpq connections.
 */

#include <sys/types.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "db.h"

static void	 db_dispatch_parent(struct imsgev *, struct imsg *);
static void	 db_dispatch_web(struct imsgev *, struct imsg *);
static void	 db_dispatch_keys(struct imsgev *, struct imsg *);
static void	 db_dispatch_mail(struct imsgev *, struct imsg *);
static void	 db_check_conninfo(const char *);
static void	 db_configure(void);
static void	 db_submit(struct imsgev *, struct imsg *, enum db_op);

static struct proc_child	 pc;
static struct db_pool		 pool;
/* configuration received, not yet taken (IMSG_CFG_DONE) */
static struct cfg_db		 cfg_new;
static int			 cfg_have;

int
main(int argc, char *argv[])
{
	proc_init(&pc, argc, argv, PROC_DB);
	/* libpq writes with MSG_NOSIGNAL, but be sure. */
	(void)signal(SIGPIPE, SIG_IGN);
	proc_sandbox(&pc);
	pc.dispatch[PROC_PARENT] = db_dispatch_parent;
	pc.dispatch[PROC_WEB] = db_dispatch_web;
	pc.dispatch[PROC_KEYS] = db_dispatch_keys;
	pc.dispatch[PROC_MAIL] = db_dispatch_mail;
	proc_run(&pc);
}

/* A conninfo libpq cannot parse would never connect: refuse it now. */
static void
db_check_conninfo(const char *conninfo)
{
	PQconninfoOption	*opts, *o;
	char			*err = NULL;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		if (err == NULL)
			fatalx("database: out of memory");
		err[strcspn(err, "\n")] = '\0';
		fatalx("database: bad connection string: %s", err);
	}
	for (o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			explicit_bzero(o->val, strlen(o->val));
	PQconninfoFree(opts);
}

static void
db_configure(void)
{
	if (!cfg_have) {
		if (!pool.started)
			fatalx("configuration done without a database");
		return;
	}
	/* the session settings apply at once, on reload too */
	ops_settings(&cfg_new);
	if (!pool.started) {
		db_check_conninfo(cfg_new.conninfo);
		db_pool = &pool;
		pool_start(&pool, pc.evbase, cfg_new.conninfo, cfg_new.pool);
	} else if (strcmp(cfg_new.conninfo, pool.conninfo) != 0 ||
	    cfg_new.pool != pool.size)
		log_warnx("database settings changed: a database change needs "
		    "a restart; keeping the running one");
	explicit_bzero(&cfg_new, sizeof(cfg_new));
	cfg_have = 0;
}

static void
db_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_status	 st;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_DB:
		if (imsg_get_data(imsg, &cfg_new, sizeof(cfg_new)) == -1)
			fatalx("bad IMSG_CFG_DB from %s (len %zu)", iev->name,
			    imsg_get_len(imsg));
		if (memchr(cfg_new.conninfo, '\0',
		    sizeof(cfg_new.conninfo)) == NULL)
			fatalx("IMSG_CFG_DB: conninfo not terminated");
		if (cfg_new.pool < 1 || cfg_new.pool > CERTAOS_MAX_DBPOOL)
			fatalx("IMSG_CFG_DB: pool %u out of range",
			    cfg_new.pool);
		/* both travel as int4 parameters */
		if (cfg_new.session_lifetime > INT32_MAX ||
		    cfg_new.session_update > INT32_MAX)
			fatalx("IMSG_CFG_DB: session lifetime %u or update "
			    "age %u out of range", cfg_new.session_lifetime,
			    cfg_new.session_update);
		cfg_have = 1;
		break;
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CFG_DONE from %s", iev->name);
		db_configure();
		imsgev_compose(iev, IMSG_CFG_ACK, imsg_get_id(imsg), 0, -1,
		    NULL, 0);
		break;
	case IMSG_CTL_START:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CTL_START from %s", iev->name);
		log_debug("started");
		break;
	case IMSG_CTL_STATUS:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CTL_STATUS from %s", iev->name);
		memset(&st, 0, sizeof(st));
		st.proc = PROC_DB;
		st.instance = pc.instance;
		st.pid = getpid();
		st.started = pc.started;
		st.db_ok = pool_up(&pool);
		imsgev_compose(iev, IMSG_CTL_STATUS_REPLY, imsg_get_id(imsg),
		    0, -1, &st, sizeof(st));
		break;
	/* operator commands, relayed by the parent (ctlops.c) */
	case IMSG_CTL_USER_LIST:
		db_submit(iev, imsg, OP_CTL_USER_LIST);
		break;
	case IMSG_CTL_USER_SHOW:
		db_submit(iev, imsg, OP_CTL_USER_SHOW);
		break;
	case IMSG_CTL_USER_SET:
		/* the payload's op picks the statement */
		db_submit(iev, imsg, OP_CTL_USER_ROLE);
		break;
	case IMSG_CTL_AUDIT:
		db_submit(iev, imsg, OP_CTL_AUDIT);
		break;
	case IMSG_CTL_IMPORT:
		/* the payload's kind picks the statement */
		db_submit(iev, imsg, OP_CTL_IMPORT_USERS);
		break;
	case IMSG_DB_MAIL_ENQUEUE:
		/* certaosctl mail test, sealed by keys */
		db_submit(iev, imsg, OP_MAIL_ENQUEUE);
		break;
	case IMSG_DB_MAIL_QUEUE:
		db_submit(iev, imsg, OP_MAIL_QUEUE);
		break;
	case IMSG_CTL_USER_INVITES:
		db_submit(iev, imsg, OP_CTL_INVITES);
		break;
	case IMSG_DB_INVITE:
		/* certaosctl user invite, sealed by keys */
		db_submit(iev, imsg, OP_MAIL_INVITE);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
db_dispatch_web(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_DB_PING:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_DB_PING from %s (len %zu)",
			    iev->name, imsg_get_len(imsg));
		ops_answer_i32(iev, IMSG_DB_PONG, imsg_get_id(imsg),
		    pool_up(&pool));
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

/*
 * Parse (fatal if malformed), answer from the session cache if it can,
 * else queue; a dropped request is gone.
 */
static void
db_submit(struct imsgev *iev, struct imsg *imsg, enum db_op op)
{
	struct db_req	*req;

	if ((req = ops_parse(iev, imsg, op)) == NULL)
		return;
	if (ops_cached(req)) {
		ops_free(req);
		return;
	}
	pool_submit(&pool, req);
}

static void
db_dispatch_keys(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_DB_JWKS_LOAD:
		db_submit(iev, imsg, OP_JWKS_LOAD);
		break;
	case IMSG_DB_JWKS_INSERT:
		db_submit(iev, imsg, OP_JWKS_INSERT);
		break;
	case IMSG_DB_SIGNUP:
		db_submit(iev, imsg, OP_SIGNUP);
		break;
	case IMSG_DB_CRED_GET:
		db_submit(iev, imsg, OP_CRED_GET);
		break;
	case IMSG_DB_SESSION_NEW:
		db_submit(iev, imsg, OP_SESSION_NEW);
		break;
	case IMSG_DB_SESSION_GET:
		/* answered to web[instance]: see ops_parse() */
		db_submit(iev, imsg, OP_SESSION_GET);
		break;
	case IMSG_DB_SESSION_OP:
		/* the same; the payload's op picks the statement */
		db_submit(iev, imsg, OP_SESSION_LIST);
		break;
	case IMSG_DB_USER_UPDATE:
		/* the same */
		db_submit(iev, imsg, OP_USER_UPDATE);
		break;
	case IMSG_DB_SESSION_CRED:
		db_submit(iev, imsg, OP_SESSION_CRED);
		break;
	case IMSG_DB_PW_SET:
		db_submit(iev, imsg, OP_PW_SET);
		break;
	case IMSG_DB_PW_REHASH:
		/* no answer */
		db_submit(iev, imsg, OP_PW_REHASH);
		break;
	case IMSG_DB_AUDIT_SIGNIN:
		/* no answer */
		db_submit(iev, imsg, OP_AUDIT_SIGNIN);
		break;
	case IMSG_DB_FLOW_WHO:
		db_submit(iev, imsg, OP_FLOW_WHO_SESSION);
		break;
	case IMSG_DB_FLOW_SEND:
		db_submit(iev, imsg, OP_FLOW_SEND);
		break;
	case IMSG_DB_FLOW_USE:
		db_submit(iev, imsg, OP_FLOW_VERIFY);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

/* mail: claims due outbox rows and reports how each delivery went. */
static void
db_dispatch_mail(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_DB_MAIL_CLAIM:
		db_submit(iev, imsg, OP_MAIL_CLAIM);
		break;
	case IMSG_DB_MAIL_DONE:
		/* no answer */
		db_submit(iev, imsg, OP_MAIL_DONE);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}
