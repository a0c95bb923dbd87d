/*
 * ctlops.c: the operator commands certaosctl asks through the master
 * (user list, show, set-role, disable, enable; audit; import
 * better-auth), and the audit row of a refused sign-in that keys sends.
 * Each is one prepared statement of ops.c.  The answers go to the
 * master with the control connection's id, which it relays by.
 *
 * An import batch arrives as rows; it goes to PostgreSQL as one
 * two-dimensional text[] literal, a row of text per row, so that a
 * batch is one statement and one transaction.
 */

#include <sys/types.h>

#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "ctlrec.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "db.h"

/* a text[] literal being built */
struct lit {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void	 lit_putc(struct lit *, char);
static void	 lit_elem(struct lit *, int, const char *, int);
static void	 lit_num(struct lit *, int, uint64_t, int);
static int	 ctlops_import_read(struct mread *, struct db_req *);
static void	 ctlops_fail(struct db_req *, const char *);
static void	 ctlops_answer(struct db_req *, uint32_t);
static int	 ctlops_col_i32(const PGresult *, int, int, int32_t *);
static int	 ctlops_col_cut(const PGresult *, int, int, char *, size_t);
static int	 ctlops_user_get(const PGresult *, int, struct ctl_user *);
static int	 ctlops_users_result(struct db_req *, const PGresult *);
static int	 ctlops_set_result(struct db_req *, const PGresult *);
static int	 ctlops_audit_result(struct db_req *, const PGresult *);
static int	 ctlops_invites_result(struct db_req *, const PGresult *);
static int	 ctlops_import_result(struct db_req *, const PGresult *);

static struct mbuf		 cmb;
static struct ctl_user		 cuser;
static struct ctl_audit		 caudit;
static struct ctl_invite	 cinvite;
static struct auth_user		 iuser;
static struct ctl_imp_account	 iaccount;
static struct ctl_imp_session	 isession;

int
ctlops_is(enum db_op op)
{
	switch (op) {
	case OP_CTL_USER_LIST:
	case OP_CTL_USER_SHOW:
	case OP_CTL_USER_ROLE:
	case OP_CTL_USER_DISABLE:
	case OP_CTL_USER_ENABLE:
	case OP_CTL_AUDIT:
	case OP_CTL_INVITES:
	case OP_CTL_IMPORT_USERS:
	case OP_CTL_IMPORT_ACCOUNTS:
	case OP_CTL_IMPORT_SESSIONS:
	case OP_AUDIT_SIGNIN:
		return (1);
	default:
		return (0);
	}
}

static void
lit_putc(struct lit *l, char c)
{
	char	*p;
	size_t	 cap;

	if (l->len + 2 > l->cap) {
		cap = l->cap == 0 ? 4096 : l->cap * 2;
		if ((p = realloc(l->p, cap)) == NULL)
			fatal("%s", __func__);
		l->p = p;
		l->cap = cap;
	}
	l->p[l->len++] = c;
	l->p[l->len] = '\0';
}

/* one element of a row: quoted, or NULL; first says no comma before */
static void
lit_elem(struct lit *l, int first, const char *s, int present)
{
	if (!first)
		lit_putc(l, ',');
	if (!present) {
		lit_putc(l, 'N');
		lit_putc(l, 'U');
		lit_putc(l, 'L');
		lit_putc(l, 'L');
		return;
	}
	lit_putc(l, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			lit_putc(l, '\\');
		lit_putc(l, *s);
	}
	lit_putc(l, '"');
}

static void
lit_num(struct lit *l, int first, uint64_t v, int present)
{
	char	 buf[32];

	(void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
	lit_elem(l, first, buf, present);
}

/* The rows of an import batch into one literal: 0, or -1 if malformed. */
static int
ctlops_import_read(struct mread *mr, struct db_req *req)
{
	struct lit	 l;
	uint32_t	 kind, n, i;
	char		 hex[2 * sizeof(isession.token_hash) + 1];

	memset(&l, 0, sizeof(l));
	kind = mread_u32(mr);
	n = mread_u32(mr);
	if (mr->err || n < 1 || n > CTL_IMPORT_BATCH)
		return (-1);
	switch (kind) {
	case CTL_IMPORT_USERS:
		req->op = OP_CTL_IMPORT_USERS;
		break;
	case CTL_IMPORT_ACCOUNTS:
		req->op = OP_CTL_IMPORT_ACCOUNTS;
		break;
	case CTL_IMPORT_SESSIONS:
		req->op = OP_CTL_IMPORT_SESSIONS;
		break;
	default:
		return (-1);
	}
	lit_putc(&l, '{');
	for (i = 0; i < n && !mr->err; i++) {
		if (i > 0)
			lit_putc(&l, ',');
		lit_putc(&l, '{');
		switch (kind) {
		case CTL_IMPORT_USERS:
			if (ctlrec_imp_user_read(mr, &iuser) == -1)
				break;
			lit_elem(&l, 1, iuser.id, 1);
			lit_elem(&l, 0, iuser.email, 1);
			lit_elem(&l, 0, iuser.name, 1);
			lit_elem(&l, 0, iuser.email_verified ? "t" : "f", 1);
			lit_elem(&l, 0, iuser.image, iuser.has_image);
			lit_num(&l, 0, iuser.created, 1);
			lit_num(&l, 0, iuser.updated, 1);
			lit_elem(&l, 0, iuser.role, 1);
			lit_elem(&l, 0, iuser.banned ? "t" : "f", 1);
			lit_elem(&l, 0, iuser.ban_reason,
			    iuser.has_ban_reason);
			lit_num(&l, 0, iuser.ban_expires,
			    iuser.ban_expires != 0);
			lit_elem(&l, 0, iuser.two_factor ? "t" : "f", 1);
			break;
		case CTL_IMPORT_ACCOUNTS:
			if (ctlrec_imp_account_read(mr, &iaccount) == -1)
				break;
			lit_elem(&l, 1, iaccount.id, 1);
			lit_elem(&l, 0, iaccount.account_id, 1);
			lit_elem(&l, 0, iaccount.provider_id, 1);
			lit_elem(&l, 0, iaccount.user_id, 1);
			lit_elem(&l, 0, iaccount.password,
			    iaccount.has_password);
			lit_num(&l, 0, iaccount.created, 1);
			lit_num(&l, 0, iaccount.updated, 1);
			break;
		case CTL_IMPORT_SESSIONS:
			if (ctlrec_imp_session_read(mr, &isession) == -1)
				break;
			(void)hex_encode(isession.token_hash,
			    sizeof(isession.token_hash), hex, sizeof(hex));
			lit_elem(&l, 1, isession.id, 1);
			lit_elem(&l, 0, hex, 1);
			lit_elem(&l, 0, isession.user_id, 1);
			lit_num(&l, 0, isession.expires, 1);
			lit_num(&l, 0, isession.created, 1);
			lit_num(&l, 0, isession.updated, 1);
			lit_elem(&l, 0, isession.ip, 1);
			lit_elem(&l, 0, isession.ua, 1);
			break;
		}
		lit_putc(&l, '}');
	}
	lit_putc(&l, '}');
	if (mread_end(mr) == -1) {
		free(l.p);
		return (-1);
	}
	req->ctl.nrows = n;
	req->ctl.rows = l.p;
	return (0);
}

int
ctlops_req_read(struct imsg *imsg, enum db_op op, struct db_req *req)
{
	struct mread	 mr;
	struct db_auth	*a = &req->auth;
	uint32_t	 type = IMSG_NONE;

	req->op = op;
	mread_init(&mr, imsg);
	switch (op) {
	case OP_AUDIT_SIGNIN:
		memset(a, 0, sizeof(*a));
		(void)mread_str(&mr, a->user_id, sizeof(a->user_id));
		(void)mread_str(&mr, a->email, sizeof(a->email));
		a->reason = mread_u32(&mr);
		(void)mread_str(&mr, a->ip, sizeof(a->ip));
		(void)mread_str(&mr, a->ua, sizeof(a->ua));
		if (mread_end(&mr) == -1 || a->reason < 1 ||
		    a->reason >= AUDIT_SIGNIN_MAX)
			return (-1);
		return (0);
	case OP_CTL_IMPORT_USERS:
		req->ctl.rows = NULL;
		return (ctlops_import_read(&mr, req));
	case OP_CTL_USER_LIST:
		type = IMSG_CTL_USER_LIST;
		break;
	case OP_CTL_USER_SHOW:
		type = IMSG_CTL_USER_SHOW;
		break;
	case OP_CTL_USER_ROLE:
		type = IMSG_CTL_USER_SET;
		break;
	case OP_CTL_AUDIT:
		type = IMSG_CTL_AUDIT;
		break;
	case OP_CTL_INVITES:
		type = IMSG_CTL_USER_INVITES;
		break;
	default:
		return (-1);
	}
	req->ctl.rows = NULL;
	if (ctlrec_req_read(&mr, type, &req->ctl.r) == -1 ||
	    mread_end(&mr) == -1)
		return (-1);
	if (op == OP_CTL_USER_ROLE) {
		switch (req->ctl.r.op) {
		case CTL_USER_DISABLE:
			req->op = OP_CTL_USER_DISABLE;
			break;
		case CTL_USER_ENABLE:
			req->op = OP_CTL_USER_ENABLE;
			break;
		default:
			break;
		}
	}
	return (0);
}

void
ctlops_free(struct db_req *req)
{
	switch (req->op) {
	case OP_CTL_IMPORT_USERS:
	case OP_CTL_IMPORT_ACCOUNTS:
	case OP_CTL_IMPORT_SESSIONS:
		free(req->ctl.rows);
		req->ctl.rows = NULL;
		break;
	default:
		break;
	}
	/* a request kept for reuse starts again as nothing */
	req->op = OP_PING;
}

static const char *const signin_outcome[AUDIT_SIGNIN_MAX] = {
	[AUDIT_SIGNIN_UNKNOWN_EMAIL] = "unknown-email",
	[AUDIT_SIGNIN_NO_PASSWORD] = "no-password",
	[AUDIT_SIGNIN_BAD_PASSWORD] = "bad-password",
};

/* Parameters in text format; results in binary, as the others. */
int
ctlops_send(struct db_conn *c, struct db_req *req)
{
	const char	*values[5];
	const char	*name = ops_stmt(req->op)->name;
	struct ctl_req	*r = &req->ctl.r;
	struct db_auth	*a = &req->auth;
	char		 n1[32], n2[32];
	int		 n = 0;

	switch (req->op) {
	case OP_CTL_USER_LIST:
		(void)snprintf(n1, sizeof(n1), "%u", r->limit);
		values[0] = r->arg;
		values[1] = n1;
		n = 2;
		break;
	case OP_CTL_INVITES:
		(void)snprintf(n1, sizeof(n1), "%u", r->limit);
		values[0] = n1;
		n = 1;
		break;
	case OP_CTL_USER_SHOW:
	case OP_CTL_USER_ENABLE:
		values[0] = r->email;
		n = 1;
		break;
	case OP_CTL_USER_ROLE:
	case OP_CTL_USER_DISABLE:
		values[0] = r->email;
		values[1] = r->arg;
		n = 2;
		break;
	case OP_CTL_AUDIT:
		(void)snprintf(n1, sizeof(n1), "%" PRIu64, r->since);
		(void)snprintf(n2, sizeof(n2), "%u", r->limit);
		values[0] = r->email;
		values[1] = n1;
		values[2] = n2;
		n = 3;
		break;
	case OP_CTL_IMPORT_USERS:
	case OP_CTL_IMPORT_ACCOUNTS:
	case OP_CTL_IMPORT_SESSIONS:
		values[0] = req->ctl.rows;
		n = 1;
		break;
	case OP_AUDIT_SIGNIN:
		values[0] = a->user_id;
		values[1] = a->email;
		values[2] = a->ip;
		values[3] = a->ua;
		values[4] = signin_outcome[a->reason];
		n = 5;
		break;
	default:
		fatalx("%s: op %d", __func__, req->op);
	}
	return (PQsendQueryPrepared(c->pg, name, n, values, NULL, NULL, 1));
}

static void
ctlops_fail(struct db_req *req, const char *why)
{
	if (imsgev_compose(req->iev, IMSG_CTL_FAIL, req->id, 0, -1, why,
	    strlen(why) + 1) == -1)
		fatal("%s: answer to %s", __func__, req->iev->name);
}

static void
ctlops_answer(struct db_req *req, uint32_t type)
{
	if (imsgev_compose(req->iev, type, req->id, 0, -1, NULL, 0) == -1)
		fatal("%s: answer to %s", __func__, req->iev->name);
}

void
ctlops_unavailable(struct db_req *req)
{
	if (req->op == OP_AUDIT_SIGNIN) {
		log_warnx("sign-in audit for %s: database unavailable, "
		    "not written", req->auth.email);
		return;
	}
	/* a change that may have run: other daemons hear it by NOTIFY */
	if (req->sent && (req->op == OP_CTL_USER_ROLE ||
	    req->op == OP_CTL_USER_DISABLE || req->op == OP_CTL_USER_ENABLE))
		cache_flush();
	ctlops_fail(req, "database unavailable");
}

int
ctlops_result(struct db_req *req, PGresult *res)
{
	const char	*name = ops_stmt(req->op)->name;
	char		 ebuf[200];

	if (req->op == OP_AUDIT_SIGNIN) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_warnx("%s: %s", name, ops_errmsg(res, ebuf,
			    sizeof(ebuf)));
			return (-1);
		}
		return (0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s: %s", name, ops_errmsg(res, ebuf, sizeof(ebuf)));
		ctlops_unavailable(req);
		return (-1);
	}
	if (PQbinaryTuples(res) != 1) {
		log_warnx("%s: unexpected result shape", name);
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	switch (req->op) {
	case OP_CTL_USER_LIST:
	case OP_CTL_USER_SHOW:
		return (ctlops_users_result(req, res));
	case OP_CTL_USER_ROLE:
	case OP_CTL_USER_DISABLE:
	case OP_CTL_USER_ENABLE:
		return (ctlops_set_result(req, res));
	case OP_CTL_AUDIT:
		return (ctlops_audit_result(req, res));
	case OP_CTL_INVITES:
		return (ctlops_invites_result(req, res));
	default:
		return (ctlops_import_result(req, res));
	}
}

static int
ctlops_col_i32(const PGresult *res, int row, int col, int32_t *v)
{
	uint32_t	 be;

	*v = 0;
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) !=
	    sizeof(be))
		return (-1);
	memcpy(&be, PQgetvalue(res, row, col), sizeof(be));
	*v = (int32_t)be32toh(be);
	return (0);
}

/*
 * A text column the schema does not bound (the audit trail's): cut to
 * what fits, on a UTF-8 character boundary.
 */
static int
ctlops_col_cut(const PGresult *res, int row, int col, char *dst,
    size_t dstsz)
{
	const char	*v;
	size_t		 len;

	dst[0] = '\0';
	if (PQgetisnull(res, row, col))
		return (0);
	v = PQgetvalue(res, row, col);
	len = PQgetlength(res, row, col);
	if (memchr(v, '\0', len) != NULL)
		return (-1);
	if (len >= dstsz) {
		len = dstsz - 1;
		while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return (0);
}

/* CTL_USER_COLS of a row, each checked before it is copied */
static int
ctlops_user_get(const PGresult *res, int row, struct ctl_user *cu)
{
	struct auth_user	*u = &cu->u;
	int32_t			 n;

	memset(cu, 0, sizeof(*cu));
	if (ops_col_str(res, row, 0, u->id, sizeof(u->id), 0) == -1 ||
	    ops_col_str(res, row, 1, u->name, sizeof(u->name), 1) == -1 ||
	    ops_col_str(res, row, 2, u->email, sizeof(u->email), 0) == -1 ||
	    ops_col_bool(res, row, 3, &u->email_verified) == -1 ||
	    ops_col_nstr(res, row, 4, u->image, sizeof(u->image),
	    &u->has_image) == -1 ||
	    ops_col_ms(res, row, 5, &u->created, 0) == -1 ||
	    ops_col_ms(res, row, 6, &u->updated, 0) == -1 ||
	    ops_col_str(res, row, 7, u->role, sizeof(u->role), 1) == -1 ||
	    ops_col_bool(res, row, 8, &u->banned) == -1 ||
	    ops_col_nstr(res, row, 9, u->ban_reason, sizeof(u->ban_reason),
	    &u->has_ban_reason) == -1 ||
	    ops_col_ms(res, row, 10, &u->ban_expires, 1) == -1 ||
	    ops_col_bool(res, row, 11, &u->two_factor) == -1 ||
	    ops_col_str(res, row, 12, cu->cred, sizeof(cu->cred), 0) == -1 ||
	    ctlops_col_i32(res, row, 13, &n) == -1 || n < 0 ||
	    ops_col_ms(res, row, 14, &cu->last_signin, 1) == -1 ||
	    ctlops_col_cut(res, row, 15, cu->attrs, sizeof(cu->attrs)) == -1)
		return (-1);
	cu->nsessions = n;
	return (0);
}

/* LIST and SHOW: a message per user, then the end (or why none) */
static int
ctlops_users_result(struct db_req *req, const PGresult *res)
{
	int	 i, n = PQntuples(res);

	if (PQnfields(res) != 16 || (req->op == OP_CTL_USER_SHOW && n > 1)) {
		log_warnx("%s: unexpected result shape",
		    ops_stmt(req->op)->name);
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	if (req->op == OP_CTL_USER_SHOW && n == 0) {
		ctlops_fail(req, "no such user");
		return (0);
	}
	for (i = 0; i < n; i++) {
		if (ctlops_user_get(res, i, &cuser) == -1) {
			log_warnx("%s: row %d out of bounds",
			    ops_stmt(req->op)->name, i);
			ctlops_fail(req, "a user the daemon cannot show");
			return (0);
		}
		mbuf_init(&cmb);
		ctlrec_user_write(&cmb, &cuser);
		ops_compose(req->iev, IMSG_CTL_USER, req->id, &cmb);
	}
	ctlops_answer(req, IMSG_CTL_END);
	return (0);
}

/*
 * ROLE, DISABLE, ENABLE: the user's id, or no row.  The user's cached
 * sessions go before the answer: a disabled user's get-session is null
 * from now on, and the others show the new role.
 */
static int
ctlops_set_result(struct db_req *req, const PGresult *res)
{
	char	 uid[CERTAOS_MAX_ID + 1];

	if (PQnfields(res) != 1 || PQntuples(res) > 1) {
		log_warnx("%s: unexpected result shape",
		    ops_stmt(req->op)->name);
		cache_flush();
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	if (PQntuples(res) == 0) {
		ctlops_fail(req, "no such user");
		return (0);
	}
	if (ops_col_str(res, 0, 0, uid, sizeof(uid), 0) == -1)
		cache_flush();
	else
		cache_drop_user(uid);
	log_info("certaosctl: %s %s", ops_stmt(req->op)->name + 4,
	    req->ctl.r.email);
	ctlops_answer(req, IMSG_CTL_OK);
	return (0);
}

static int
ctlops_invites_result(struct db_req *req, const PGresult *res)
{
	struct ctl_invite	*iv = &cinvite;
	int			 i, n = PQntuples(res);

	if (PQnfields(res) != 5) {
		log_warnx("ctl_invites: unexpected result shape");
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	for (i = 0; i < n; i++) {
		memset(iv, 0, sizeof(*iv));
		if (ops_col_str(res, i, 0, iv->email, sizeof(iv->email),
		    0) == -1 ||
		    ops_col_str(res, i, 1, iv->role, sizeof(iv->role), 0) == -1 ||
		    ctlops_col_cut(res, i, 2, iv->attrs,
		    sizeof(iv->attrs)) == -1 ||
		    ops_col_ms(res, i, 3, &iv->created, 0) == -1 ||
		    ops_col_ms(res, i, 4, &iv->expires, 0) == -1) {
			log_warnx("ctl_invites: row %d out of bounds", i);
			ctlops_fail(req, "an invitation the daemon cannot show");
			return (0);
		}
		mbuf_init(&cmb);
		ctlrec_invite_write(&cmb, iv);
		ops_compose(req->iev, IMSG_CTL_INVITE, req->id, &cmb);
	}
	ctlops_answer(req, IMSG_CTL_END);
	return (0);
}

static int
ctlops_audit_result(struct db_req *req, const PGresult *res)
{
	struct ctl_audit	*a = &caudit;
	int			 i, n = PQntuples(res);

	if (PQnfields(res) != 7) {
		log_warnx("ctl_audit: unexpected result shape");
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	for (i = 0; i < n; i++) {
		memset(a, 0, sizeof(*a));
		if (ops_col_ms(res, i, 0, &a->at, 0) == -1 ||
		    ctlops_col_cut(res, i, 1, a->event,
		    sizeof(a->event)) == -1 ||
		    ctlops_col_cut(res, i, 2, a->outcome,
		    sizeof(a->outcome)) == -1 ||
		    ctlops_col_cut(res, i, 3, a->email,
		    sizeof(a->email)) == -1 ||
		    ctlops_col_cut(res, i, 4, a->ip, sizeof(a->ip)) == -1 ||
		    ctlops_col_cut(res, i, 5, a->ua, sizeof(a->ua)) == -1 ||
		    ctlops_col_cut(res, i, 6, a->detail,
		    sizeof(a->detail)) == -1) {
			log_warnx("ctl_audit: row %d out of bounds", i);
			ctlops_fail(req, "an audit row the daemon cannot show");
			return (0);
		}
		mbuf_init(&cmb);
		ctlrec_audit_write(&cmb, a);
		ops_compose(req->iev, IMSG_CTL_AUDIT_ROW, req->id, &cmb);
	}
	ctlops_answer(req, IMSG_CTL_END);
	return (0);
}

static int
ctlops_import_result(struct db_req *req, const PGresult *res)
{
	int32_t		 in, all;

	if (PQnfields(res) != 2 || PQntuples(res) != 1 ||
	    ctlops_col_i32(res, 0, 0, &in) == -1 ||
	    ctlops_col_i32(res, 0, 1, &all) == -1 || in < 0 || all < in ||
	    (uint32_t)all != req->ctl.nrows) {
		log_warnx("%s: unexpected result", ops_stmt(req->op)->name);
		ctlops_fail(req, "unexpected answer from the database");
		return (0);
	}
	mbuf_init(&cmb);
	mbuf_u32(&cmb, in);
	mbuf_u32(&cmb, all - in);
	ops_compose(req->iev, IMSG_CTL_IMPORTED, req->id, &cmb);
	return (0);
}
