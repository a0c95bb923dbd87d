/*
 * mail.c: the outbox (sql/0004_mail.sql).  Rows hold their message
 * sealed by keys; db stores, claims, and records outcomes, and never
 * sees what is inside.  A claim leases due rows to this daemon with
 * FOR UPDATE SKIP LOCKED, so that daemons sharing the database never
 * deliver one row twice; an outcome either marks the row sent, or
 * counts the attempt and puts the next one off (the first backoff
 * doubling, at most an hour), or marks it failed for good.
 */

#include <sys/types.h>

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "db.h"

#define TEXTOID		25
#define BYTEAOID	17
#define INT4OID		23
#define INT8OID		20

static int	 mail_col_str(const PGresult *, int, int, char *, size_t);
static int	 mail_col_int(const PGresult *, int, int, size_t, uint64_t *);
static void	 mail_compose(struct imsgev *, uint32_t, uint32_t);

/* recipient, template, sealed */
static const Oid enqueue_types[] = { TEXTOID, TEXTOID, BYTEAOID };
/* rows at most, lease (s) */
static const Oid claim_types[] = { INT4OID, INT4OID };
/* id, outcome, error, first backoff (s), attempts at most */
static const Oid done_types[] = {
	INT8OID, INT4OID, TEXTOID, INT4OID, INT4OID
};
/* email, role, attributes (KEY=VALUE lines), token hash, expires (ms),
 * recipient, template, sealed */
static const Oid invite_types[] = {
	TEXTOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID, TEXTOID, TEXTOID,
	BYTEAOID
};

#define STR(x)		STR1(x)
#define STR1(x)		#x

static const struct db_stmt mail_stmts[] = {
	{ "mail_enqueue",
	    "INSERT INTO mail_outbox (recipient, template, sealed)"
	    " VALUES ($1, $2, $3)",
	    nitems(enqueue_types), enqueue_types },
	/* due, not leased (or its lease ran out: its daemon died) */
	{ "mail_claim",
	    "WITH c AS (SELECT id FROM mail_outbox"
	    " WHERE sent_at IS NULL AND failed_at IS NULL"
	    " AND next_attempt <= now()"
	    " AND (lease_until IS NULL OR lease_until <= now())"
	    " ORDER BY next_attempt, id LIMIT $1"
	    " FOR UPDATE SKIP LOCKED)"
	    " UPDATE mail_outbox m"
	    " SET lease_until = now() + make_interval(secs => $2)"
	    " FROM c WHERE m.id = c.id"
	    " RETURNING m.id, m.attempts, m.sealed",
	    nitems(claim_types), claim_types },
	/*
	 * On the right of SET, attempts is the count before this one.
	 * The last error stays after a later success: it says why the
	 * mail was late.
	 */
	{ "mail_done",
	    "UPDATE mail_outbox SET attempts = attempts + 1,"
	    " lease_until = NULL,"
	    " sent_at = CASE WHEN $2 = 0 THEN now() END,"
	    " failed_at = CASE WHEN $2 = 2 OR ($2 = 1 AND"
	    " attempts + 1 >= $5) THEN now() END,"
	    " last_error = CASE WHEN $2 = 0 THEN last_error ELSE $3 END,"
	    " next_attempt = CASE WHEN $2 = 1 THEN now() +"
	    " make_interval(secs => least($4::float8 * power(2, attempts),"
	    " " STR(CERTAOS_MAIL_RETRY_MAX) ")) ELSE next_attempt END"
	    " WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL",
	    nitems(done_types), done_types },
	{ "mail_queue",
	    "SELECT id, recipient, template, attempts,"
	    " floor(extract(epoch FROM next_attempt) * 1000)::int8,"
	    " failed_at IS NOT NULL, coalesce(last_error, '')"
	    " FROM mail_outbox WHERE sent_at IS NULL"
	    " ORDER BY id LIMIT " STR(DB_MAIL_LIST_MAX), 0, NULL },
	/* the invitation, its mail and the audit row, together */
	{ "mail_invite",
	    "WITH i AS ("
	    " INSERT INTO invitations"
	    " (email, role, attributes, token_hash, expires_at)"
	    " SELECT lower($1), $2, (SELECT coalesce(jsonb_object_agg("
	    " split_part(l, '=', 1), substr(l, strpos(l, '=') + 1)), '{}')"
	    " FROM regexp_split_to_table($3, E'\\n') l WHERE l <> ''),"
	    " $4, to_timestamp($5 / 1000.0) RETURNING id),"
	    " l AS ("
	    " INSERT INTO audit_log (email, event, outcome, detail)"
	    " SELECT lower($1), 'invite', 'ok', 'certaosctl: role ' || $2"
	    " FROM i)"
	    " INSERT INTO mail_outbox (recipient, template, sealed)"
	    " SELECT $6, $7, $8 FROM i",
	    nitems(invite_types), invite_types }
};

static struct mbuf	 mail_mb;

const struct db_stmt *
mail_stmt(enum db_op op)
{
	if (op < OP_MAIL_ENQUEUE || op > OP_MAIL_INVITE)
		return (NULL);
	return (&mail_stmts[op - OP_MAIL_ENQUEUE]);
}

void
db_mail_nudge(void)
{
	struct imsgev	*mail;

	if (proc_self == NULL ||
	    (mail = proc_peer(proc_self, PROC_MAIL)) == NULL)
		return;
	if (imsgev_compose(mail, IMSG_DB_MAIL_NUDGE, 0, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
}

int
ops_mail_read(struct mread *mr, struct db_mail *m)
{
	(void)mread_str(mr, m->recipient, sizeof(m->recipient));
	(void)mread_str(mr, m->tmpl, sizeof(m->tmpl));
	m->sealed_len = mread_bytes(mr, m->sealed, sizeof(m->sealed));
	if (mr->err || m->recipient[0] == '\0' || m->tmpl[0] == '\0' ||
	    m->sealed_len == 0)
		return (-1);
	return (0);
}

int
mail_req_read(struct imsg *imsg, enum db_op op, struct db_req *req)
{
	struct mread	 mr;
	struct db_mail	*m = &req->mail;

	req->op = op;
	mread_init(&mr, imsg);
	switch (op) {
	case OP_MAIL_ENQUEUE:
		if (ops_mail_read(&mr, m) == -1)
			return (-1);
		break;
	case OP_MAIL_CLAIM:
		m->max = mread_u32(&mr);
		m->lease = mread_u32(&mr);
		break;
	case OP_MAIL_DONE:
		m->id = mread_u64(&mr);
		m->outcome = mread_u32(&mr);
		(void)mread_str(&mr, m->error, sizeof(m->error));
		m->retry = mread_u32(&mr);
		m->attempts = mread_u32(&mr);
		break;
	case OP_MAIL_QUEUE:
		break;
	case OP_MAIL_INVITE:
		(void)mread_str(&mr, m->inv_email, sizeof(m->inv_email));
		(void)mread_str(&mr, m->inv_role, sizeof(m->inv_role));
		(void)mread_str(&mr, m->inv_attrs, sizeof(m->inv_attrs));
		if (mread_bytes(&mr, m->inv_hash, sizeof(m->inv_hash)) !=
		    sizeof(m->inv_hash))
			return (-1);
		m->inv_expires = mread_u64(&mr);
		if (ops_mail_read(&mr, m) == -1 || m->inv_email[0] == '\0' ||
		    m->inv_role[0] == '\0' || m->inv_expires == 0 ||
		    m->inv_expires > INT64_MAX / 2)
			return (-1);
		break;
	default:
		return (-1);
	}
	if (mread_end(&mr) == -1)
		return (-1);
	switch (op) {
	case OP_MAIL_CLAIM:
		if (m->max < 1 || m->max > DB_MAIL_CLAIM_MAX ||
		    m->lease < 1 || m->lease > DB_MAIL_LEASE_MAX)
			return (-1);
		break;
	case OP_MAIL_DONE:
		if (m->id == 0 || m->id > INT64_MAX ||
		    m->outcome >= MAIL_OUTCOME_MAX || m->retry < 1 ||
		    m->retry > CERTAOS_MAIL_RETRY_MAX || m->attempts < 1 ||
		    m->attempts > CERTAOS_MAIL_ATTEMPTS_MAX)
			return (-1);
		break;
	default:
		break;
	}
	return (0);
}

int
mail_send(struct db_conn *c, struct db_req *req)
{
	const char	*values[8];
	int		 lengths[8], formats[8];
	uint64_t	 id;
	uint32_t	 a, b, d, e;
	struct db_mail	*m = &req->mail;
	const char	*name = mail_stmt(req->op)->name;

	memset(lengths, 0, sizeof(lengths));
	memset(formats, 0, sizeof(formats));
	switch (req->op) {
	case OP_MAIL_ENQUEUE:
		values[0] = m->recipient;
		values[1] = m->tmpl;
		values[2] = (const char *)m->sealed;
		lengths[2] = m->sealed_len;
		formats[2] = 1;
		return (PQsendQueryPrepared(c->pg, name, 3, values, lengths,
		    formats, 1));
	case OP_MAIL_CLAIM:
		a = htobe32(m->max);
		b = htobe32(m->lease);
		values[0] = (const char *)&a;
		values[1] = (const char *)&b;
		lengths[0] = lengths[1] = sizeof(a);
		formats[0] = formats[1] = 1;
		return (PQsendQueryPrepared(c->pg, name, 2, values, lengths,
		    formats, 1));
	case OP_MAIL_DONE:
		id = htobe64(m->id);
		b = htobe32(m->outcome);
		d = htobe32(m->retry);
		e = htobe32(m->attempts);
		values[0] = (const char *)&id;
		values[1] = (const char *)&b;
		values[2] = m->error;
		values[3] = (const char *)&d;
		values[4] = (const char *)&e;
		lengths[0] = sizeof(id);
		lengths[1] = lengths[3] = lengths[4] = sizeof(b);
		formats[0] = formats[1] = formats[3] = formats[4] = 1;
		return (PQsendQueryPrepared(c->pg, name, 5, values, lengths,
		    formats, 1));
	case OP_MAIL_QUEUE:
		return (PQsendQueryPrepared(c->pg, name, 0, NULL, NULL, NULL,
		    1));
	case OP_MAIL_INVITE:
		id = htobe64(m->inv_expires);
		values[0] = m->inv_email;
		values[1] = m->inv_role;
		values[2] = m->inv_attrs;
		values[3] = (const char *)m->inv_hash;
		values[4] = (const char *)&id;
		values[5] = m->recipient;
		values[6] = m->tmpl;
		values[7] = (const char *)m->sealed;
		lengths[3] = sizeof(m->inv_hash);
		lengths[4] = sizeof(id);
		lengths[7] = m->sealed_len;
		formats[3] = formats[4] = formats[7] = 1;
		return (PQsendQueryPrepared(c->pg, name, 8, values, lengths,
		    formats, 1));
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}

static void
mail_compose(struct imsgev *iev, uint32_t type, uint32_t id)
{
	if (mbuf_compose(&mail_mb, &iev->ibuf, type, id) == -1)
		fatal("%s: answer to %s", __func__, iev->name);
	imsgev_add(iev);
}

void
mail_unavailable(struct db_req *req)
{
	switch (req->op) {
	case OP_MAIL_ENQUEUE:
		ops_answer_i32(req->iev, IMSG_DB_MAIL_QUEUED, req->id, -1);
		break;
	case OP_MAIL_CLAIM:
		ops_answer_i32(req->iev, IMSG_DB_MAIL_CLAIMED, req->id, -1);
		break;
	case OP_MAIL_DONE:
		/* the lease runs out and the row is tried again */
		log_warnx("outbox row %llu: outcome not recorded: database "
		    "unavailable", (unsigned long long)req->mail.id);
		break;
	case OP_MAIL_QUEUE:
		ops_answer_i32(req->iev, IMSG_DB_MAIL_QUEUE_END, req->id, -1);
		break;
	case OP_MAIL_INVITE:
		ops_answer_i32(req->iev, IMSG_DB_INVITED, req->id, -1);
		break;
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}

/* A binary text column, possibly empty, within dstsz and without NUL. */
static int
mail_col_str(const PGresult *res, int row, int col, char *dst, size_t dstsz)
{
	const char	*v;
	int		 len;

	if (PQgetisnull(res, row, col))
		return (-1);
	len = PQgetlength(res, row, col);
	v = PQgetvalue(res, row, col);
	if (len < 0 || (size_t)len >= dstsz || memchr(v, '\0', len) != NULL)
		return (-1);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return (0);
}

/* A binary int4, int8 or bool column (size bytes), not negative. */
static int
mail_col_int(const PGresult *res, int row, int col, size_t size,
    uint64_t *v)
{
	const unsigned char	*p;
	uint32_t		 u32;
	uint64_t		 u64;

	*v = 0;
	if (PQgetisnull(res, row, col) ||
	    (size_t)PQgetlength(res, row, col) != size)
		return (-1);
	p = (const unsigned char *)PQgetvalue(res, row, col);
	switch (size) {
	case 1:
		*v = *p;
		return (*p <= 1 ? 0 : -1);
	case 4:
		memcpy(&u32, p, sizeof(u32));
		*v = be32toh(u32);
		return (*v <= INT32_MAX ? 0 : -1);
	case 8:
		memcpy(&u64, p, sizeof(u64));
		*v = be64toh(u64);
		return (*v <= INT64_MAX ? 0 : -1);
	default:
		return (-1);
	}
}

int
mail_result(struct db_req *req, PGresult *res)
{
	static char	 to[CERTAOS_MAX_EMAIL + 1];
	static char	 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	static char	 err[CERTAOS_MAX_MAIL_ERROR + 1];
	const char	*name = mail_stmt(req->op)->name;
	char		 ebuf[200];
	uint64_t	 id, attempts, next, failed;
	int		 i, n, len, sent = 0;

	switch (req->op) {
	case OP_MAIL_INVITE:
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warnx("%s: %s", name, ops_errmsg(res, ebuf,
			    sizeof(ebuf)));
			ops_answer_i32(req->iev, IMSG_DB_INVITED, req->id, -1);
			return (-1);
		}
		log_info("invitation for %s (role %s) made, its mail queued",
		    req->mail.inv_email, req->mail.inv_role);
		ops_answer_i32(req->iev, IMSG_DB_INVITED, req->id, 1);
		db_mail_nudge();
		return (0);
	case OP_MAIL_ENQUEUE:
	case OP_MAIL_DONE:
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warnx("%s: %s", name, ops_errmsg(res, ebuf,
			    sizeof(ebuf)));
			if (req->op == OP_MAIL_ENQUEUE)
				ops_answer_i32(req->iev, IMSG_DB_MAIL_QUEUED,
				    req->id, -1);
			return (-1);
		}
		if (req->op == OP_MAIL_DONE) {
			log_debug("%s: row %llu outcome %u: %s row(s)", name,
			    (unsigned long long)req->mail.id,
			    req->mail.outcome, PQcmdTuples(res));
			return (0);
		}
		log_info("outbox: %s mail for %s queued", req->mail.tmpl,
		    req->mail.recipient);
		ops_answer_i32(req->iev, IMSG_DB_MAIL_QUEUED, req->id, 1);
		db_mail_nudge();
		return (0);
	case OP_MAIL_CLAIM:
	case OP_MAIL_QUEUE:
		break;
	default:
		fatalx("%s: op %d", __func__, req->op);
	}

	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQbinaryTuples(res) != 1 ||
	    PQnfields(res) != (req->op == OP_MAIL_CLAIM ? 3 : 7)) {
		log_warnx("%s: %s", name, PQresultStatus(res) !=
		    PGRES_TUPLES_OK ? ops_errmsg(res, ebuf, sizeof(ebuf)) :
		    "unexpected result shape");
		mail_unavailable(req);
		return (-1);
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		mbuf_init(&mail_mb);
		if (req->op == OP_MAIL_CLAIM) {
			len = PQgetlength(res, i, 2);
			if (mail_col_int(res, i, 0, 8, &id) == -1 ||
			    mail_col_int(res, i, 1, 4, &attempts) == -1 ||
			    PQgetisnull(res, i, 2) || len <= 0 ||
			    len > CERTAOS_MAX_MAIL_SEALED) {
				/* its lease ends, and it shows in the queue */
				log_warnx("%s: row %d out of bounds, skipped",
				    name, i);
				continue;
			}
			mbuf_u64(&mail_mb, id);
			mbuf_u32(&mail_mb, attempts);
			mbuf_bytes(&mail_mb, PQgetvalue(res, i, 2), len);
			mail_compose(req->iev, IMSG_DB_MAIL_ROW, req->id);
		} else {
			if (mail_col_int(res, i, 0, 8, &id) == -1 ||
			    mail_col_str(res, i, 1, to, sizeof(to)) == -1 ||
			    mail_col_str(res, i, 2, tmpl, sizeof(tmpl)) ==
			    -1 || mail_col_int(res, i, 3, 4, &attempts) ==
			    -1 || mail_col_int(res, i, 4, 8, &next) == -1 ||
			    mail_col_int(res, i, 5, 1, &failed) == -1)
				continue;
			/* a longer error is cut: it is for reading */
			len = PQgetlength(res, i, 6);
			if (len < 0 || (size_t)len >= sizeof(err))
				len = sizeof(err) - 1;
			memcpy(err, PQgetvalue(res, i, 6), len);
			err[len] = '\0';
			err[strcspn(err, "\n\r")] = '\0';
			mbuf_u64(&mail_mb, id);
			mbuf_str(&mail_mb, to);
			mbuf_str(&mail_mb, tmpl);
			mbuf_u32(&mail_mb, attempts);
			mbuf_u64(&mail_mb, next);
			mbuf_u32(&mail_mb, failed);
			mbuf_str(&mail_mb, err);
			mail_compose(req->iev, IMSG_CTL_MAIL_QROW, req->id);
		}
		sent++;
	}
	ops_answer_i32(req->iev, req->op == OP_MAIL_CLAIM ?
	    IMSG_DB_MAIL_CLAIMED : IMSG_DB_MAIL_QUEUE_END, req->id, sent);
	return (0);
}
