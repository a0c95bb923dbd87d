/*
 * authrec.c: marshalling and JSON of a session and its user; see
 * authrec.h.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authrec.h"
#include "json.h"
#include "msg.h"

void
mbuf_nstr(struct mbuf *mb, int present, const char *s)
{
	mbuf_u32(mb, present ? 1 : 0);
	mbuf_str(mb, present ? s : "");
}

int
mread_nstr(struct mread *mr, char *dst, size_t dstsz)
{
	uint32_t	 present;

	present = mread_u32(mr);
	(void)mread_str(mr, dst, dstsz);
	if (present > 1)
		mr->err = 1;
	return (present == 1);
}

void
authrec_write_session(struct mbuf *mb, const struct auth_session *s)
{
	mbuf_str(mb, s->id);
	mbuf_u64(mb, s->expires);
	mbuf_u64(mb, s->created);
	mbuf_u64(mb, s->updated);
	mbuf_str(mb, s->ip);
	mbuf_str(mb, s->ua);
	mbuf_str(mb, s->user_id);
}

int
authrec_read_session(struct mread *mr, struct auth_session *s)
{
	memset(s, 0, sizeof(*s));
	(void)mread_str(mr, s->id, sizeof(s->id));
	s->expires = mread_u64(mr);
	s->created = mread_u64(mr);
	s->updated = mread_u64(mr);
	(void)mread_str(mr, s->ip, sizeof(s->ip));
	(void)mread_str(mr, s->ua, sizeof(s->ua));
	(void)mread_str(mr, s->user_id, sizeof(s->user_id));
	return (mr->err ? -1 : 0);
}

void
authrec_write(struct mbuf *mb, const struct auth_rec *r)
{
	authrec_write_session(mb, &r->s);

	mbuf_str(mb, r->u.id);
	mbuf_str(mb, r->u.name);
	mbuf_str(mb, r->u.email);
	mbuf_i32(mb, r->u.email_verified);
	mbuf_nstr(mb, r->u.has_image, r->u.image);
	mbuf_u64(mb, r->u.created);
	mbuf_u64(mb, r->u.updated);
	mbuf_str(mb, r->u.role);
	mbuf_i32(mb, r->u.banned);
	mbuf_nstr(mb, r->u.has_ban_reason, r->u.ban_reason);
	mbuf_u64(mb, r->u.ban_expires);
	mbuf_i32(mb, r->u.two_factor);
}

int
authrec_read(struct mread *mr, struct auth_rec *r)
{
	memset(r, 0, sizeof(*r));
	(void)authrec_read_session(mr, &r->s);

	(void)mread_str(mr, r->u.id, sizeof(r->u.id));
	(void)mread_str(mr, r->u.name, sizeof(r->u.name));
	(void)mread_str(mr, r->u.email, sizeof(r->u.email));
	r->u.email_verified = mread_i32(mr);
	r->u.has_image = mread_nstr(mr, r->u.image, sizeof(r->u.image));
	r->u.created = mread_u64(mr);
	r->u.updated = mread_u64(mr);
	(void)mread_str(mr, r->u.role, sizeof(r->u.role));
	r->u.banned = mread_i32(mr);
	r->u.has_ban_reason = mread_nstr(mr, r->u.ban_reason,
	    sizeof(r->u.ban_reason));
	r->u.ban_expires = mread_u64(mr);
	r->u.two_factor = mread_i32(mr);
	if (mr->err)
		return (-1);
	if (r->u.id[0] == '\0' || r->u.email[0] == '\0' ||
	    (r->u.email_verified != 0 && r->u.email_verified != 1) ||
	    (r->u.banned != 0 && r->u.banned != 1) ||
	    (r->u.two_factor != 0 && r->u.two_factor != 1))
		return (-1);
	return (0);
}

void
authrec_time(uint64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned int)(ms % 1000));
}

static void
jout_time(struct json_out *j, const char *key, uint64_t ms)
{
	char	 buf[32];

	jout_key(j, key);
	authrec_time(ms, buf, sizeof(buf));
	jout_str(j, buf);
}

void
authrec_json_user(struct json_out *j, const struct auth_user *u)
{
	jout_obj_open(j);
	authrec_json_user_members(j, u);
	jout_obj_close(j);
}

void
authrec_json_user_members(struct json_out *j, const struct auth_user *u)
{
	jout_key(j, "name");
	jout_str(j, u->name);
	jout_key(j, "email");
	jout_str(j, u->email);
	jout_key(j, "emailVerified");
	jout_bool(j, u->email_verified);
	jout_key(j, "image");
	if (u->has_image)
		jout_str(j, u->image);
	else
		jout_null(j);
	jout_time(j, "createdAt", u->created);
	jout_time(j, "updatedAt", u->updated);
	jout_key(j, "twoFactorEnabled");
	jout_bool(j, u->two_factor);
	jout_key(j, "role");
	jout_str(j, u->role);
	jout_key(j, "banned");
	jout_bool(j, u->banned);
	jout_key(j, "banReason");
	if (u->has_ban_reason)
		jout_str(j, u->ban_reason);
	else
		jout_null(j);
	jout_key(j, "banExpires");
	if (u->ban_expires != 0) {
		char	 buf[32];

		authrec_time(u->ban_expires, buf, sizeof(buf));
		jout_str(j, buf);
	} else
		jout_null(j);
	jout_key(j, "id");
	jout_str(j, u->id);
}

void
authrec_json_session(struct json_out *j, const struct auth_session *s,
    const char *token)
{
	jout_obj_open(j);
	jout_time(j, "expiresAt", s->expires);
	jout_key(j, "token");
	jout_str(j, token);
	jout_time(j, "createdAt", s->created);
	jout_time(j, "updatedAt", s->updated);
	jout_key(j, "ipAddress");
	jout_str(j, s->ip);
	jout_key(j, "userAgent");
	jout_str(j, s->ua);
	jout_key(j, "userId");
	jout_str(j, s->user_id);
	/* the organization and admin plugins' members: none yet */
	jout_key(j, "activeOrganizationId");
	jout_null(j);
	jout_key(j, "impersonatedBy");
	jout_null(j);
	jout_key(j, "id");
	jout_str(j, s->id);
	jout_obj_close(j);
}
