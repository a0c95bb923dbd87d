/*
 * ops.c: the fixed catalogue of database operations.  Each is a prepared
 * statement with typed parameters; a message never carries SQL text.
 * Requests are parsed here with every field bounded, and results are
 * copied into answers only after every length was checked.
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
#define INT8OID		20

static int	 ops_jwks_load_result(struct db_req *, const PGresult *);
static int	 ops_jwks_insert_result(struct db_req *, PGresult *);
static int	 ops_copy_text(const PGresult *, int, int, char *, size_t);
static void	 ops_compose(struct imsgev *, uint32_t, uint32_t,
		    struct mbuf *);
static const char *ops_errmsg(const PGresult *, char *, size_t);

static const Oid jwks_insert_types[] = {
	TEXTOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID
};

static const struct db_stmt stmts[OP_MAX] = {
	[OP_PING] = { "ping", "SELECT 1", 0, NULL },
	[OP_JWKS_LOAD] = { "jwks_load",
	    "SELECT kid, alg, public_jwk, private_sealed,"
	    " extract(epoch FROM created_at)::bigint"
	    " FROM jwks WHERE rotated_at IS NULL"
	    " ORDER BY created_at, kid", 0, NULL },
	[OP_JWKS_INSERT] = { "jwks_insert",
	    "INSERT INTO jwks"
	    " (kid, alg, public_jwk, private_sealed, created_at)"
	    " VALUES ($1, $2, $3, $4,"
	    " CASE WHEN $5 = 0 THEN now() ELSE to_timestamp($5) END)"
	    " ON CONFLICT DO NOTHING",
	    nitems(jwks_insert_types), jwks_insert_types },
};

/* Answers are built here: one at a time, never on the stack. */
static struct mbuf	 ops_mbuf;
static struct db_jwk	 ops_row;

const struct db_stmt *
ops_stmt(enum db_op op)
{
	if (op < 0 || op >= OP_MAX)
		return (NULL);
	return (&stmts[op]);
}

int
ops_jwk_read(struct imsg *imsg, struct db_jwk *jwk)
{
	struct mread	 mr;

	memset(jwk, 0, sizeof(*jwk));
	mread_init(&mr, imsg);
	mread_str(&mr, jwk->kid, sizeof(jwk->kid));
	mread_str(&mr, jwk->alg, sizeof(jwk->alg));
	mread_str(&mr, jwk->jwk, sizeof(jwk->jwk));
	jwk->sealed_len = mread_bytes(&mr, jwk->sealed, sizeof(jwk->sealed));
	jwk->created = mread_u64(&mr);
	if (mread_end(&mr) == -1)
		return (-1);
	if (jwk->kid[0] == '\0' || jwk->alg[0] == '\0' ||
	    jwk->jwk[0] == '\0' || jwk->sealed_len == 0 ||
	    jwk->created > INT64_MAX)
		return (-1);
	return (0);
}

void
ops_jwk_write(struct mbuf *mb, const struct db_jwk *jwk)
{
	mbuf_str(mb, jwk->kid);
	mbuf_str(mb, jwk->alg);
	mbuf_str(mb, jwk->jwk);
	mbuf_bytes(mb, jwk->sealed, jwk->sealed_len);
	mbuf_u64(mb, jwk->created);
}

static void
ops_compose(struct imsgev *iev, uint32_t type, uint32_t id, struct mbuf *mb)
{
	if (mbuf_compose(mb, &iev->ibuf, type, id) == -1)
		fatal("%s: answer to %s", __func__, iev->name);
	imsgev_add(iev);
}

/* The hot path (PING): no allocation, no query. */
void
ops_answer_i32(struct imsgev *iev, uint32_t type, uint32_t id, int32_t v)
{
	mbuf_init(&ops_mbuf);
	mbuf_i32(&ops_mbuf, v);
	ops_compose(iev, type, id, &ops_mbuf);
}

struct db_req *
ops_parse(struct imsgev *iev, struct imsg *imsg, enum db_op op)
{
	struct db_req	*req;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		fatal("%s", __func__);
	req->op = op;
	req->id = imsg_get_id(imsg);
	req->iev = iev;
	monotime(&req->deadline);
	req->deadline.tv_sec += CERTAOS_DB_TIMEOUT;

	switch (op) {
	case OP_JWKS_LOAD:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_DB_JWKS_LOAD from %s (len %zu)",
			    iev->name, imsg_get_len(imsg));
		break;
	case OP_JWKS_INSERT:
		if (ops_jwk_read(imsg, &req->jwk) == -1)
			fatalx("bad IMSG_DB_JWKS_INSERT from %s (len %zu)",
			    iev->name, imsg_get_len(imsg));
		break;
	default:
		fatalx("%s: op %d", __func__, op);
	}
	return (req);
}

int
ops_send(struct db_conn *c, struct db_req *req)
{
	const char	*values[5];
	int		 lengths[5], formats[5];
	uint64_t	 created;

	switch (req->op) {
	case OP_JWKS_LOAD:
		/* binary results: bytea as is, the bigint in 8 bytes */
		return (PQsendQueryPrepared(c->pg, stmts[req->op].name, 0,
		    NULL, NULL, NULL, 1));
	case OP_JWKS_INSERT:
		created = htobe64(req->jwk.created);
		values[0] = req->jwk.kid;
		values[1] = req->jwk.alg;
		values[2] = req->jwk.jwk;
		values[3] = (const char *)req->jwk.sealed;
		values[4] = (const char *)&created;
		lengths[0] = lengths[1] = lengths[2] = 0;
		lengths[3] = req->jwk.sealed_len;
		lengths[4] = sizeof(created);
		formats[0] = formats[1] = formats[2] = 0;
		formats[3] = formats[4] = 1;
		return (PQsendQueryPrepared(c->pg, stmts[req->op].name, 5,
		    values, lengths, formats, 0));
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}

void
ops_unavailable(struct db_req *req)
{
	switch (req->op) {
	case OP_JWKS_LOAD:
		ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 0);
		break;
	case OP_JWKS_INSERT:
		ops_answer_i32(req->iev, IMSG_DB_JWKS_INSERTED, req->id, -1);
		break;
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}

int
ops_result(struct db_req *req, PGresult *res)
{
	switch (req->op) {
	case OP_JWKS_LOAD:
		return (ops_jwks_load_result(req, res));
	case OP_JWKS_INSERT:
		return (ops_jwks_insert_result(req, res));
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}

static const char *
ops_errmsg(const PGresult *res, char *buf, size_t len)
{
	const char	*msg;
	char		*p;

	if ((msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) == NULL)
		msg = PQresStatus(PQresultStatus(res));
	(void)strlcpy(buf, msg, len);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return (buf);
}

/*
 * Copy a binary-format text column into dst, NUL-terminated: 0, or -1 if
 * it is NULL, empty, holds a NUL or does not fit.
 */
static int
ops_copy_text(const PGresult *res, int row, int col, char *dst, size_t dstsz)
{
	const char	*v;
	int		 len;

	if (PQgetisnull(res, row, col))
		return (-1);
	len = PQgetlength(res, row, col);
	v = PQgetvalue(res, row, col);
	if (len <= 0 || (size_t)len >= dstsz || memchr(v, '\0', len) != NULL)
		return (-1);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return (0);
}

static int
ops_jwks_load_result(struct db_req *req, const PGresult *res)
{
	char		 ebuf[200];
	uint64_t	 created;
	int		 i, n, len, pass;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("jwks load: %s", ops_errmsg(res, ebuf,
		    sizeof(ebuf)));
		ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 0);
		return (-1);
	}
	if (PQnfields(res) != 5 || PQbinaryTuples(res) != 1) {
		log_warnx("jwks load: unexpected result shape");
		ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 0);
		return (0);
	}
	n = PQntuples(res);

	/* First check every row, then send: all or nothing. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			memset(&ops_row, 0, sizeof(ops_row));
			if (ops_copy_text(res, i, 0, ops_row.kid,
			    sizeof(ops_row.kid)) == -1 ||
			    ops_copy_text(res, i, 1, ops_row.alg,
			    sizeof(ops_row.alg)) == -1 ||
			    ops_copy_text(res, i, 2, ops_row.jwk,
			    sizeof(ops_row.jwk)) == -1 ||
			    PQgetisnull(res, i, 3) || PQgetisnull(res, i, 4) ||
			    PQgetlength(res, i, 4) != sizeof(created))
				goto bad;
			len = PQgetlength(res, i, 3);
			if (len <= 0 || (size_t)len > sizeof(ops_row.sealed))
				goto bad;
			memcpy(ops_row.sealed, PQgetvalue(res, i, 3), len);
			ops_row.sealed_len = len;
			memcpy(&created, PQgetvalue(res, i, 4),
			    sizeof(created));
			ops_row.created = be64toh(created);
			if (pass == 0)
				continue;
			mbuf_init(&ops_mbuf);
			ops_jwk_write(&ops_mbuf, &ops_row);
			ops_compose(req->iev, IMSG_DB_JWKS_ROW, req->id,
			    &ops_mbuf);
		}
	}
	ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 1);
	return (0);

 bad:
	log_warnx("jwks load: row %d out of bounds, not loading keys", i);
	ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 0);
	return (0);
}

static int
ops_jwks_insert_result(struct db_req *req, PGresult *res)
{
	char		 ebuf[200];

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("jwks insert %s: %s", req->jwk.kid,
		    ops_errmsg(res, ebuf, sizeof(ebuf)));
		ops_answer_i32(req->iev, IMSG_DB_JWKS_INSERTED, req->id, -1);
		return (-1);
	}
	ops_answer_i32(req->iev, IMSG_DB_JWKS_INSERTED, req->id,
	    strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0);
	return (0);
}
