/*
 * migrate.c: apply the compiled-in sql/ migrations, on the first
 * connection that comes up and before any statement is prepared.
 *
 * A state machine on the non-blocking connection: take the advisory lock
 * (another daemon migrating the same database makes us wait here, without
 * blocking the loop), create schema_migrations if needed, read what is
 * applied, then for each pending migration BEGIN; its SQL (a simple
 * multi-statement query: our own text, never a message's); INSERT its
 * record; COMMIT.  Then unlock.  A failed migration is fatal; a lost
 * connection is not: the next connection starts over (the server drops
 * the lock and rolls back the open transaction).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "db.h"
#include "migrations.h"

enum mstep {
	MSTEP_LOCK = 0,
	MSTEP_TABLE,
	MSTEP_LIST,
	MSTEP_BEGIN,
	MSTEP_APPLY,
	MSTEP_RECORD,
	MSTEP_COMMIT,
	MSTEP_UNLOCK
};

static const char *const mstep_names[] = {
	"lock", "create schema_migrations", "list", "begin", "apply",
	"record", "commit", "unlock"
};

static char	 applied[nitems(migrations)];
static int	 napplied;
static int	 dbversion;		/* highest version in the database */

static int	 migrate_send(struct db_pool *, struct db_conn *);
static int	 migrate_pending(struct db_conn *);

size_t
migrate_count(void)
{
	return (nitems(migrations));
}

int
migrate_latest(void)
{
	return (migrations[nitems(migrations) - 1].version);
}

const char *
migrate_name(size_t i)
{
	return (i < nitems(migrations) ? migrations[i].name : NULL);
}

const char *
migrate_sql(size_t i)
{
	return (i < nitems(migrations) ? migrations[i].sql : NULL);
}

void
migrate_start(struct db_pool *pool, struct db_conn *c)
{
	memset(applied, 0, sizeof(applied));
	napplied = 0;
	dbversion = 0;
	c->job = JOB_MIGRATE;
	c->step = MSTEP_LOCK;
	c->mig = 0;
	log_debug("migrations: checking on connection %d", c->idx);
	(void)migrate_send(pool, c);
}

static int
migrate_send(struct db_pool *pool, struct db_conn *c)
{
	const char	*values[2];
	char		 version[16];
	int		 rv;

	switch (c->step) {
	case MSTEP_LOCK:
		rv = PQsendQuery(c->pg,
		    "SELECT pg_advisory_lock(" DB_MIGRATE_LOCK ")");
		break;
	case MSTEP_TABLE:
		rv = PQsendQuery(c->pg,
		    "SET client_min_messages = warning;"
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    " version integer PRIMARY KEY,"
		    " name text NOT NULL,"
		    " applied_at timestamptz NOT NULL DEFAULT now())");
		break;
	case MSTEP_LIST:
		rv = PQsendQuery(c->pg,
		    "SELECT version FROM schema_migrations ORDER BY version");
		break;
	case MSTEP_BEGIN:
		rv = PQsendQuery(c->pg, "BEGIN");
		break;
	case MSTEP_APPLY:
		rv = PQsendQuery(c->pg, migrations[c->mig].sql);
		break;
	case MSTEP_RECORD:
		(void)snprintf(version, sizeof(version), "%d",
		    migrations[c->mig].version);
		values[0] = version;
		values[1] = migrations[c->mig].name;
		rv = PQsendQueryParams(c->pg, "INSERT INTO schema_migrations"
		    " (version, name) VALUES ($1::integer, $2::text)", 2,
		    NULL, values, NULL, NULL, 0);
		break;
	case MSTEP_COMMIT:
		rv = PQsendQuery(c->pg, "COMMIT");
		break;
	case MSTEP_UNLOCK:
		rv = PQsendQuery(c->pg,
		    "SELECT pg_advisory_unlock(" DB_MIGRATE_LOCK ")");
		break;
	default:
		fatalx("%s: step %d", __func__, c->step);
	}
	return (pool_conn_sent(pool, c, rv));
}

void
migrate_result(struct db_pool *pool, struct db_conn *c, const PGresult *res)
{
	const char	*errstr;
	size_t		 j;
	int		 i, v;

	if (c->step != MSTEP_LIST || PQresultStatus(res) != PGRES_TUPLES_OK)
		return;
	for (i = 0; i < PQntuples(res); i++) {
		v = strtonum(PQgetvalue(res, i, 0), 1, INT_MAX, &errstr);
		if (errstr != NULL)
			fatalx("migrations: bad version in schema_migrations:"
			    " %s", PQgetvalue(res, i, 0));
		if (v > dbversion)
			dbversion = v;
		for (j = 0; j < nitems(migrations); j++)
			if (migrations[j].version == v)
				applied[j] = 1;
	}
}

/* Move c->mig to the next migration not applied; 0 if there is none. */
static int
migrate_pending(struct db_conn *c)
{
	while ((size_t)c->mig < nitems(migrations) && applied[c->mig])
		c->mig++;
	return ((size_t)c->mig < nitems(migrations));
}

int
migrate_next(struct db_pool *pool, struct db_conn *c)
{
	if (c->failed) {
		if (c->step >= MSTEP_BEGIN && c->step <= MSTEP_COMMIT)
			fatalx("migrations: %s failed (%s): %s",
			    migrations[c->mig].name, mstep_names[c->step],
			    c->errmsg);
		fatalx("migrations: %s: %s", mstep_names[c->step], c->errmsg);
	}

	switch (c->step) {
	case MSTEP_LOCK:
	case MSTEP_TABLE:
	case MSTEP_BEGIN:
	case MSTEP_APPLY:
	case MSTEP_RECORD:
		c->step++;
		break;
	case MSTEP_LIST:
		if (dbversion > migrate_latest())
			log_warnx("migrations: the database is at version %d,"
			    " newer than this program's %d", dbversion,
			    migrate_latest());
		c->step = migrate_pending(c) ? MSTEP_BEGIN : MSTEP_UNLOCK;
		break;
	case MSTEP_COMMIT:
		log_info("migrations: applied %s", migrations[c->mig].name);
		applied[c->mig] = 1;
		napplied++;
		c->step = migrate_pending(c) ? MSTEP_BEGIN : MSTEP_UNLOCK;
		break;
	case MSTEP_UNLOCK:
		if (napplied == 0)
			log_info("migrations: up to date (version %d)",
			    dbversion);
		return (1);
	default:
		fatalx("%s: step %d", __func__, c->step);
	}
	(void)migrate_send(pool, c);
	return (0);
}
