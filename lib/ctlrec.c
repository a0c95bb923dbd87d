/*
 * ctlrec.c: marshalling of the operator commands' payloads; see
 * ctlrec.h.
 */

#include <sys/types.h>

#include <string.h>

#include "ctlrec.h"
#include "msg.h"

static struct ctl_user		 chk_user;
static struct ctl_audit		 chk_audit;
static struct ctl_invite	 chk_invite;
static struct ctl_req		 chk_req;
static struct ctl_imp_account	 chk_account;
static struct ctl_imp_session	 chk_session;

void
ctlrec_req_write(struct mbuf *mb, uint32_t type, const struct ctl_req *r)
{
	switch (type) {
	case IMSG_CTL_USER_LIST:
		mbuf_str(mb, r->arg);
		mbuf_u32(mb, r->limit);
		break;
	case IMSG_CTL_USER_SHOW:
		mbuf_str(mb, r->email);
		break;
	case IMSG_CTL_USER_SET:
		mbuf_u32(mb, r->op);
		mbuf_str(mb, r->email);
		mbuf_str(mb, r->arg);
		break;
	case IMSG_CTL_AUDIT:
		mbuf_str(mb, r->email);
		mbuf_u64(mb, r->since);
		mbuf_u32(mb, r->limit);
		break;
	case IMSG_CTL_USER_INVITES:
		mbuf_u32(mb, r->limit);
		break;
	default:
		mb->err = 1;
		break;
	}
}

/* Framing, bounds, and the values nobody may send. */
int
ctlrec_req_read(struct mread *mr, uint32_t type, struct ctl_req *r)
{
	memset(r, 0, sizeof(*r));
	switch (type) {
	case IMSG_CTL_USER_LIST:
		(void)mread_str(mr, r->arg, CERTAOS_MAX_ROLE + 1);
		r->limit = mread_u32(mr);
		break;
	case IMSG_CTL_USER_SHOW:
		(void)mread_str(mr, r->email, sizeof(r->email));
		if (r->email[0] == '\0')
			mr->err = 1;
		break;
	case IMSG_CTL_USER_SET:
		r->op = mread_u32(mr);
		(void)mread_str(mr, r->email, sizeof(r->email));
		(void)mread_str(mr, r->arg, sizeof(r->arg));
		if (r->op < CTL_USER_ROLE || r->op >= CTL_USER_MAX ||
		    r->email[0] == '\0' ||
		    (r->op == CTL_USER_ROLE && (r->arg[0] == '\0' ||
		    strlen(r->arg) > CERTAOS_MAX_ROLE)) ||
		    (r->op == CTL_USER_ENABLE && r->arg[0] != '\0'))
			mr->err = 1;
		break;
	case IMSG_CTL_AUDIT:
		(void)mread_str(mr, r->email, sizeof(r->email));
		r->since = mread_u64(mr);
		r->limit = mread_u32(mr);
		if (r->since > INT64_MAX)
			mr->err = 1;
		break;
	case IMSG_CTL_USER_INVITES:
		r->limit = mread_u32(mr);
		break;
	default:
		mr->err = 1;
		break;
	}
	if (type == IMSG_CTL_USER_LIST || type == IMSG_CTL_AUDIT ||
	    type == IMSG_CTL_USER_INVITES)
		if (r->limit < 1 || r->limit > CTL_LIMIT_MAX)
			mr->err = 1;
	return (mr->err ? -1 : 0);
}

static void
ctlrec_auth_user_write(struct mbuf *mb, const struct auth_user *u)
{
	mbuf_str(mb, u->id);
	mbuf_str(mb, u->name);
	mbuf_str(mb, u->email);
	mbuf_i32(mb, u->email_verified);
	mbuf_nstr(mb, u->has_image, u->image);
	mbuf_u64(mb, u->created);
	mbuf_u64(mb, u->updated);
	mbuf_str(mb, u->role);
	mbuf_i32(mb, u->banned);
	mbuf_nstr(mb, u->has_ban_reason, u->ban_reason);
	mbuf_u64(mb, u->ban_expires);
	mbuf_i32(mb, u->two_factor);
}

static int
ctlrec_auth_user_read(struct mread *mr, struct auth_user *u)
{
	memset(u, 0, sizeof(*u));
	(void)mread_str(mr, u->id, sizeof(u->id));
	(void)mread_str(mr, u->name, sizeof(u->name));
	(void)mread_str(mr, u->email, sizeof(u->email));
	u->email_verified = mread_i32(mr);
	u->has_image = mread_nstr(mr, u->image, sizeof(u->image));
	u->created = mread_u64(mr);
	u->updated = mread_u64(mr);
	(void)mread_str(mr, u->role, sizeof(u->role));
	u->banned = mread_i32(mr);
	u->has_ban_reason = mread_nstr(mr, u->ban_reason,
	    sizeof(u->ban_reason));
	u->ban_expires = mread_u64(mr);
	u->two_factor = mread_i32(mr);
	if (u->id[0] == '\0' || u->email[0] == '\0' ||
	    (uint32_t)u->email_verified > 1 || (uint32_t)u->banned > 1 ||
	    (uint32_t)u->two_factor > 1 || u->created > INT64_MAX ||
	    u->updated > INT64_MAX || u->ban_expires > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

void
ctlrec_user_write(struct mbuf *mb, const struct ctl_user *cu)
{
	ctlrec_auth_user_write(mb, &cu->u);
	mbuf_str(mb, cu->cred);
	mbuf_u32(mb, cu->nsessions);
	mbuf_u64(mb, cu->last_signin);
	mbuf_str(mb, cu->attrs);
}

int
ctlrec_user_read(struct mread *mr, struct ctl_user *cu)
{
	memset(cu, 0, sizeof(*cu));
	(void)ctlrec_auth_user_read(mr, &cu->u);
	(void)mread_str(mr, cu->cred, sizeof(cu->cred));
	cu->nsessions = mread_u32(mr);
	cu->last_signin = mread_u64(mr);
	(void)mread_str(mr, cu->attrs, sizeof(cu->attrs));
	if (cu->last_signin > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

void
ctlrec_audit_write(struct mbuf *mb, const struct ctl_audit *a)
{
	mbuf_u64(mb, a->at);
	mbuf_str(mb, a->event);
	mbuf_str(mb, a->outcome);
	mbuf_str(mb, a->email);
	mbuf_str(mb, a->ip);
	mbuf_str(mb, a->ua);
	mbuf_str(mb, a->detail);
}

int
ctlrec_audit_read(struct mread *mr, struct ctl_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->at = mread_u64(mr);
	(void)mread_str(mr, a->event, sizeof(a->event));
	(void)mread_str(mr, a->outcome, sizeof(a->outcome));
	(void)mread_str(mr, a->email, sizeof(a->email));
	(void)mread_str(mr, a->ip, sizeof(a->ip));
	(void)mread_str(mr, a->ua, sizeof(a->ua));
	(void)mread_str(mr, a->detail, sizeof(a->detail));
	if (a->at > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

void
ctlrec_invite_write(struct mbuf *mb, const struct ctl_invite *iv)
{
	mbuf_str(mb, iv->email);
	mbuf_str(mb, iv->role);
	mbuf_str(mb, iv->attrs);
	mbuf_u64(mb, iv->created);
	mbuf_u64(mb, iv->expires);
}

int
ctlrec_invite_read(struct mread *mr, struct ctl_invite *iv)
{
	memset(iv, 0, sizeof(*iv));
	(void)mread_str(mr, iv->email, sizeof(iv->email));
	(void)mread_str(mr, iv->role, sizeof(iv->role));
	(void)mread_str(mr, iv->attrs, sizeof(iv->attrs));
	iv->created = mread_u64(mr);
	iv->expires = mread_u64(mr);
	if (iv->email[0] == '\0' || iv->created > INT64_MAX ||
	    iv->expires > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

void
ctlrec_imp_user_write(struct mbuf *mb, const struct auth_user *u)
{
	ctlrec_auth_user_write(mb, u);
}

int
ctlrec_imp_user_read(struct mread *mr, struct auth_user *u)
{
	return (ctlrec_auth_user_read(mr, u));
}

void
ctlrec_imp_account_write(struct mbuf *mb, const struct ctl_imp_account *a)
{
	mbuf_str(mb, a->id);
	mbuf_str(mb, a->account_id);
	mbuf_str(mb, a->provider_id);
	mbuf_str(mb, a->user_id);
	mbuf_nstr(mb, a->has_password, a->password);
	mbuf_u64(mb, a->created);
	mbuf_u64(mb, a->updated);
}

int
ctlrec_imp_account_read(struct mread *mr, struct ctl_imp_account *a)
{
	memset(a, 0, sizeof(*a));
	(void)mread_str(mr, a->id, sizeof(a->id));
	(void)mread_str(mr, a->account_id, sizeof(a->account_id));
	(void)mread_str(mr, a->provider_id, sizeof(a->provider_id));
	(void)mread_str(mr, a->user_id, sizeof(a->user_id));
	a->has_password = mread_nstr(mr, a->password, sizeof(a->password));
	a->created = mread_u64(mr);
	a->updated = mread_u64(mr);
	if (a->id[0] == '\0' || a->account_id[0] == '\0' ||
	    a->provider_id[0] == '\0' || a->user_id[0] == '\0' ||
	    a->created > INT64_MAX || a->updated > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

void
ctlrec_imp_session_write(struct mbuf *mb, const struct ctl_imp_session *s)
{
	mbuf_str(mb, s->id);
	mbuf_bytes(mb, s->token_hash, sizeof(s->token_hash));
	mbuf_str(mb, s->user_id);
	mbuf_u64(mb, s->expires);
	mbuf_u64(mb, s->created);
	mbuf_u64(mb, s->updated);
	mbuf_str(mb, s->ip);
	mbuf_str(mb, s->ua);
}

int
ctlrec_imp_session_read(struct mread *mr, struct ctl_imp_session *s)
{
	memset(s, 0, sizeof(*s));
	(void)mread_str(mr, s->id, sizeof(s->id));
	if (mread_bytes(mr, s->token_hash, sizeof(s->token_hash)) !=
	    sizeof(s->token_hash))
		mr->err = 1;
	(void)mread_str(mr, s->user_id, sizeof(s->user_id));
	s->expires = mread_u64(mr);
	s->created = mread_u64(mr);
	s->updated = mread_u64(mr);
	(void)mread_str(mr, s->ip, sizeof(s->ip));
	(void)mread_str(mr, s->ua, sizeof(s->ua));
	if (s->id[0] == '\0' || s->user_id[0] == '\0' ||
	    s->expires > INT64_MAX || s->created > INT64_MAX ||
	    s->updated > INT64_MAX)
		mr->err = 1;
	return (mr->err ? -1 : 0);
}

int
ctlrec_check(struct imsg *imsg)
{
	struct mread	 mr;
	uint32_t	 kind, n, i;
	size_t		 len = imsg_get_len(imsg);

	mread_init(&mr, imsg);
	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_OK:
	case IMSG_CTL_END:
		break;
	case IMSG_CTL_FAIL:
		/* one NUL-terminated line */
		if (len == 0 || len > CTL_MAX_FAIL ||
		    memchr(imsg->data, '\0', len) !=
		    (const char *)imsg->data + len - 1)
			return (-1);
		return (0);
	case IMSG_CTL_USER_LIST:
	case IMSG_CTL_USER_SHOW:
	case IMSG_CTL_USER_SET:
	case IMSG_CTL_AUDIT:
	case IMSG_CTL_USER_INVITES:
		(void)ctlrec_req_read(&mr, imsg_get_type(imsg), &chk_req);
		break;
	case IMSG_CTL_INVITE:
		(void)ctlrec_invite_read(&mr, &chk_invite);
		break;
	case IMSG_CTL_USER:
		(void)ctlrec_user_read(&mr, &chk_user);
		break;
	case IMSG_CTL_AUDIT_ROW:
		(void)ctlrec_audit_read(&mr, &chk_audit);
		break;
	case IMSG_CTL_IMPORTED:
		(void)mread_u32(&mr);
		(void)mread_u32(&mr);
		break;
	case IMSG_CTL_IMPORT:
		kind = mread_u32(&mr);
		n = mread_u32(&mr);
		if (mr.err || n < 1 || n > CTL_IMPORT_BATCH)
			return (-1);
		for (i = 0; i < n && !mr.err; i++) {
			switch (kind) {
			case CTL_IMPORT_USERS:
				(void)ctlrec_imp_user_read(&mr,
				    &chk_user.u);
				break;
			case CTL_IMPORT_ACCOUNTS:
				(void)ctlrec_imp_account_read(&mr,
				    &chk_account);
				break;
			case CTL_IMPORT_SESSIONS:
				(void)ctlrec_imp_session_read(&mr,
				    &chk_session);
				break;
			default:
				return (-1);
			}
		}
		break;
	default:
		return (-1);
	}
	return (mread_end(&mr));
}
