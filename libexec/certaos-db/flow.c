/*
 * flow.c: the email flows in certaos-db: verification, password reset,
 * change-email and delete-user.
 *
 * keys asks who a user is (IMSG_DB_FLOW_WHO), then stores a token's
 * hash with its sealed mail (IMSG_DB_FLOW_SEND), and later spends a
 * token (IMSG_DB_FLOW_USE).  Tokens arrive as SHA-256 hashes and mails
 * sealed: db never holds either in clear (invariant 2).  The statements
 * are in ops.c's catalogue with the others.
 */

#include <sys/types.h>

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "authrec.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "db.h"

/* flow_verify's columns: a record's, and a confirmed change's address */
#define FLOW_VERIFY_NCOLS	20

static struct mbuf	 flow_mbuf;
static struct auth_rec	 flow_rec;

static const char *
flow_identifier(uint32_t kind)
{
	switch (kind) {
	case FLOW_VERIFY:
		return ("verify-email");
	case FLOW_RESET:
		return ("reset-password");
	case FLOW_CHANGE_EMAIL:
		return ("change-email");
	case FLOW_CHANGE_CONFIRM:
		return ("change-email-confirm");
	case FLOW_DELETE:
		return ("delete-account");
	default:
		return (NULL);
	}
}

/*
 * Framing and bounds of the three requests; *op says which came in
 * (OP_FLOW_WHO_SESSION for IMSG_DB_FLOW_WHO, OP_FLOW_SEND, OP_FLOW_VERIFY
 * for IMSG_DB_FLOW_USE) and becomes the statement to run.
 */
/* 1 if op is one of the email flows' statements */
int
flow_is(enum db_op op)
{
	return (op >= OP_FLOW_WHO_SESSION && op <= OP_FLOW_DELETE);
}

int
flow_req_read(struct mread *mr, enum db_op *op, struct db_flow *f)
{
	size_t	 n, sn, nn;

	memset(f, 0, sizeof(*f));
	switch (*op) {
	case OP_FLOW_WHO_SESSION:
		f->kind = mread_u32(mr);
		sn = mread_bytes(mr, f->session_hash, sizeof(f->session_hash));
		(void)mread_str(mr, f->email, sizeof(f->email));
		if (mread_end(mr) == -1 || f->kind < FLOW_VERIFY ||
		    f->kind > FLOW_DELETE || (sn != 0 && sn != DB_HASH_LEN) ||
		    (sn == 0) == (f->email[0] == '\0'))
			return (-1);
		f->has_session = sn != 0;
		if (!f->has_session)
			*op = OP_FLOW_WHO_EMAIL;
		return (0);
	case OP_FLOW_SEND:
		f->kind = mread_u32(mr);
		(void)mread_str(mr, f->user_id, sizeof(f->user_id));
		(void)mread_str(mr, f->data, sizeof(f->data));
		(void)mread_str(mr, f->rcpt, sizeof(f->rcpt));
		(void)mread_str(mr, f->tmpl, sizeof(f->tmpl));
		f->sealed_len = mread_bytes(mr, f->sealed, sizeof(f->sealed));
		n = mread_bytes(mr, f->token_hash, sizeof(f->token_hash));
		f->expires = mread_u64(mr);
		(void)mread_str(mr, f->ip, sizeof(f->ip));
		(void)mread_str(mr, f->ua, sizeof(f->ua));
		if (mread_end(mr) == -1 || flow_identifier(f->kind) == NULL ||
		    f->user_id[0] == '\0' || n != DB_HASH_LEN ||
		    f->expires == 0 || f->expires > DB_MAX_MS ||
		    (f->kind == FLOW_CHANGE_EMAIL ||
		    f->kind == FLOW_CHANGE_CONFIRM) != (f->data[0] != '\0') ||
		    f->rcpt[0] == '\0' || f->tmpl[0] == '\0' ||
		    f->sealed_len == 0)
			return (-1);
		return (0);
	case OP_FLOW_VERIFY:
		f->kind = mread_u32(mr);
		n = mread_bytes(mr, f->token_hash, sizeof(f->token_hash));
		sn = mread_bytes(mr, f->session_hash, sizeof(f->session_hash));
		(void)mread_str(mr, f->pwhash, sizeof(f->pwhash));
		nn = mread_bytes(mr, f->new_hash, sizeof(f->new_hash));
		f->expires = mread_u64(mr);
		(void)mread_str(mr, f->ip, sizeof(f->ip));
		(void)mread_str(mr, f->ua, sizeof(f->ua));
		if (mread_end(mr) == -1 || (n != 0 && n != DB_HASH_LEN) ||
		    (sn != 0 && sn != DB_HASH_LEN) ||
		    (nn != 0 && nn != DB_HASH_LEN) || f->expires > DB_MAX_MS)
			return (-1);
		f->has_token = n != 0;
		f->has_session = sn != 0;
		f->has_new = nn != 0;
		switch (f->kind) {
		case FLOW_VERIFY:
			if (!f->has_token || f->has_session ||
			    f->pwhash[0] != '\0' ||
			    (f->has_new && f->expires == 0))
				return (-1);
			*op = OP_FLOW_VERIFY;
			break;
		case FLOW_RESET_CHECK:
		case FLOW_RESET:
			if (!f->has_token || f->has_session || f->has_new ||
			    (f->kind == FLOW_RESET) != (f->pwhash[0] != '\0'))
				return (-1);
			*op = f->kind == FLOW_RESET ? OP_FLOW_RESET :
			    OP_FLOW_RESET_CHECK;
			break;
		case FLOW_DELETE:
			/* no token: keys verified the password */
			if (!f->has_session || f->has_new ||
			    f->pwhash[0] != '\0')
				return (-1);
			*op = OP_FLOW_DELETE;
			break;
		default:
			return (-1);
		}
		return (0);
	default:
		return (-1);
	}
}

int
flow_send(struct db_conn *c, struct db_req *req)
{
	struct db_flow	*f = &req->flow;
	const char	*values[10];
	int		 lengths[10], formats[10], n = 0;
	uint64_t	 expires = htobe64(f->expires);
	const char	*name = ops_stmt(req->op)->name;

	memset(lengths, 0, sizeof(lengths));
	memset(formats, 0, sizeof(formats));
#define BIN(v, len)	do {						\
		values[n] = (const char *)(v);				\
		lengths[n] = (len);					\
		formats[n++] = 1;					\
	} while (0)
#define TXT(v)		do { values[n++] = (v); } while (0)
	switch (req->op) {
	case OP_FLOW_WHO_SESSION:
		BIN(f->session_hash, DB_HASH_LEN);
		break;
	case OP_FLOW_WHO_EMAIL:
		TXT(f->email);
		break;
	case OP_FLOW_SEND:
		TXT(flow_identifier(f->kind));
		TXT(f->user_id);
		TXT(f->data[0] != '\0' ? f->data : NULL);
		BIN(f->token_hash, DB_HASH_LEN);
		BIN(&expires, sizeof(expires));
		TXT(f->ip);
		TXT(f->ua);
		TXT(f->rcpt);
		TXT(f->tmpl);
		BIN(f->sealed, (int)f->sealed_len);
		break;
	case OP_FLOW_VERIFY:
		BIN(f->token_hash, DB_HASH_LEN);
		if (f->has_new)
			BIN(f->new_hash, DB_HASH_LEN);
		else
			TXT(NULL);
		BIN(&expires, sizeof(expires));
		TXT(f->ip);
		TXT(f->ua);
		break;
	case OP_FLOW_RESET_CHECK:
		BIN(f->token_hash, DB_HASH_LEN);
		break;
	case OP_FLOW_RESET:
		BIN(f->token_hash, DB_HASH_LEN);
		TXT(f->pwhash);
		TXT(f->ip);
		TXT(f->ua);
		break;
	case OP_FLOW_DELETE:
		if (f->has_token)
			BIN(f->token_hash, DB_HASH_LEN);
		else
			TXT(NULL);
		BIN(f->session_hash, DB_HASH_LEN);
		TXT(f->ip);
		TXT(f->ua);
		break;
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
#undef BIN
#undef TXT
	return (PQsendQueryPrepared(c->pg, name, n, values, lengths, formats,
	    1));
}

/* IMSG_DB_FLOW_USER: i32 status, then the user's fields when AUTH_OK. */
static void
flow_answer_user(struct db_req *req, int32_t status, const char *uid,
    const char *email, const char *name, int32_t verified, int32_t haspw,
    uint64_t created)
{
	mbuf_init(&flow_mbuf);
	mbuf_i32(&flow_mbuf, status);
	mbuf_str(&flow_mbuf, uid);
	mbuf_str(&flow_mbuf, email);
	mbuf_str(&flow_mbuf, name);
	mbuf_u32(&flow_mbuf, verified);
	mbuf_u32(&flow_mbuf, haspw);
	mbuf_u64(&flow_mbuf, created);
	ops_compose(req->iev, IMSG_DB_FLOW_USER, req->id, &flow_mbuf);
}

/*
 * IMSG_DB_FLOW_DONE: i32 status, u32 has record, the record, str the new
 * address of a confirmed change (AUTH_CHANGE_CONFIRMED), else "".
 */
static void
flow_answer(struct db_req *req, int32_t status, const struct auth_rec *r,
    const char *newemail)
{
	mbuf_init(&flow_mbuf);
	mbuf_i32(&flow_mbuf, status);
	mbuf_u32(&flow_mbuf, r != NULL);
	if (r != NULL)
		authrec_write(&flow_mbuf, r);
	mbuf_str(&flow_mbuf, newemail);
	ops_compose(req->iev, IMSG_DB_FLOW_DONE, req->id, &flow_mbuf);
}

void
flow_unavailable(struct db_req *req)
{
	switch (req->op) {
	case OP_FLOW_WHO_SESSION:
	case OP_FLOW_WHO_EMAIL:
		flow_answer_user(req, AUTH_UNAVAILABLE, "", "", "", 0, 0, 0);
		break;
	case OP_FLOW_VERIFY:
	case OP_FLOW_RESET:
	case OP_FLOW_DELETE:
		/* it may have run: cached sessions may be stale */
		if (req->sent)
			cache_flush();
		/* FALLTHROUGH */
	default:
		flow_answer(req, AUTH_UNAVAILABLE, NULL, "");
		break;
	}
}

static int
flow_who_result(struct db_req *req, const PGresult *res)
{
	char		 uid[CERTAOS_MAX_ID + 1], email[CERTAOS_MAX_EMAIL + 1];
	char		 name[CERTAOS_MAX_NAME + 1];
	int32_t		 verified, haspw;
	uint64_t	 created;

	if (PQntuples(res) == 0) {
		flow_answer_user(req, AUTH_NO_SESSION, "", "", "", 0, 0, 0);
		return (0);
	}
	if (PQnfields(res) != 6 || PQntuples(res) != 1 ||
	    ops_col_str(res, 0, 0, uid, sizeof(uid), 0) == -1 ||
	    ops_col_str(res, 0, 1, email, sizeof(email), 0) == -1 ||
	    ops_col_str(res, 0, 2, name, sizeof(name), 1) == -1 ||
	    ops_col_bool(res, 0, 3, &verified) == -1 ||
	    ops_col_bool(res, 0, 4, &haspw) == -1 ||
	    ops_col_ms(res, 0, 5, &created, 0) == -1) {
		log_warnx("%s: unexpected result", ops_stmt(req->op)->name);
		flow_answer_user(req, AUTH_UNAVAILABLE, "", "", "", 0, 0, 0);
		return (0);
	}
	flow_answer_user(req, AUTH_OK, uid, email, name, verified, haspw,
	    created);
	return (0);
}

/*
 * verify-email spent a change-email confirmation: the user as it is
 * (no session) and the address to mail next.
 */
static int
flow_confirmed(struct db_req *req, const PGresult *res)
{
	char	 newemail[CERTAOS_MAX_EMAIL + 1];

	memset(&flow_rec, 0, sizeof(flow_rec));
	if (ops_user_get(res, 0, &flow_rec.u) == -1 ||
	    ops_col_str(res, 0, FLOW_VERIFY_NCOLS - 1, newemail,
	    sizeof(newemail), 0) == -1 || newemail[0] == '\0') {
		log_warnx("%s: a column is out of bounds",
		    ops_stmt(req->op)->name);
		flow_answer(req, AUTH_UNAVAILABLE, NULL, "");
		return (0);
	}
	flow_answer(req, AUTH_CHANGE_CONFIRMED, &flow_rec, newemail);
	return (0);
}

int
flow_result(struct db_req *req, PGresult *res)
{
	const char	*name = ops_stmt(req->op)->name;
	char		 ebuf[200], uid[CERTAOS_MAX_ID + 1];
	int32_t		 status;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s: %s", name, ops_errmsg(res, ebuf, sizeof(ebuf)));
		flow_unavailable(req);
		return (-1);
	}
	if (PQbinaryTuples(res) != 1 || PQntuples(res) > 1) {
		log_warnx("%s: unexpected result shape", name);
		flow_unavailable(req);
		return (0);
	}
	switch (req->op) {
	case OP_FLOW_WHO_SESSION:
	case OP_FLOW_WHO_EMAIL:
		return (flow_who_result(req, res));
	case OP_FLOW_SEND:
		/* sent or not, the client hears the same */
		if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8 &&
		    memcmp(PQgetvalue(res, 0, 0), "\0\0\0\0\0\0\0\0", 8) == 0)
			log_debug("%s: %s for user %s: nothing to send", name,
			    flow_identifier(req->flow.kind), req->flow.user_id);
		else
			db_mail_nudge();
		flow_answer(req, AUTH_OK, NULL, "");
		return (0);
	case OP_FLOW_VERIFY:
		if (PQntuples(res) == 0) {
			flow_answer(req, AUTH_BAD_FLOW_TOKEN, NULL, "");
			return (0);
		}
		if (PQnfields(res) == FLOW_VERIFY_NCOLS &&
		    !PQgetisnull(res, 0, FLOW_VERIFY_NCOLS - 1))
			return (flow_confirmed(req, res));
		/* the user changed: its cached sessions show the old one */
		if (ops_col_str(res, 0, 7, uid, sizeof(uid), 0) == 0)
			cache_drop_user(uid);
		else
			cache_flush();
		if (PQgetisnull(res, 0, 0)) {
			flow_answer(req, AUTH_OK, NULL, "");
			return (0);
		}
		if (ops_rec_get(res, 0, &flow_rec) == -1) {
			log_warnx("%s: a column is out of bounds", name);
			flow_answer(req, AUTH_UNAVAILABLE, NULL, "");
			return (0);
		}
		flow_answer(req, AUTH_OK, &flow_rec, "");
		return (0);
	case OP_FLOW_RESET_CHECK:
	case OP_FLOW_RESET:
	case OP_FLOW_DELETE:
		if (PQntuples(res) == 0) {
			status = req->op == OP_FLOW_DELETE &&
			    !req->flow.has_token ? AUTH_NO_SESSION :
			    AUTH_BAD_FLOW_TOKEN;
			flow_answer(req, status, NULL, "");
			return (0);
		}
		if (req->op != OP_FLOW_RESET_CHECK) {
			if (ops_col_str(res, 0, 0, uid, sizeof(uid), 0) == 0)
				cache_drop_user(uid);
			else
				cache_flush();
		}
		flow_answer(req, AUTH_OK, NULL, "");
		return (0);
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
}
