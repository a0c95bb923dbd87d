/*
 * authrec.c: a session and its user, as db, keys and web pass them
 * around (the "record" of IMSG_DB_AUTH_REPLY, IMSG_KEYS_AUTH and
 * IMSG_DB_SESSION_INFO), and as web writes them in Better Auth's JSON.
 *
 * Times are milliseconds since the epoch (JSON: ISO 8601 with ms, "Z").
 * A nullable string is NULL-able here and travels as a u32 presence flag
 * followed by the string.
 */

#ifndef CERTAOS_AUTHREC_H
#define CERTAOS_AUTHREC_H

#include <stdint.h>

#include "certaos.h"

struct mbuf;
struct mread;
struct json_out;

struct auth_user {
	char		 id[CERTAOS_MAX_ID + 1];
	char		 name[CERTAOS_MAX_NAME + 1];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	int32_t		 email_verified;
	int32_t		 has_image;
	char		 image[CERTAOS_MAX_IMAGE + 1];
	uint64_t	 created;		/* ms */
	uint64_t	 updated;
	char		 role[CERTAOS_MAX_ROLE + 1];
	int32_t		 banned;
	int32_t		 has_ban_reason;
	char		 ban_reason[CERTAOS_MAX_REASON + 1];
	uint64_t	 ban_expires;		/* ms, 0: null */
	int32_t		 two_factor;
};

struct auth_session {
	char		 id[CERTAOS_MAX_ID + 1];
	uint64_t	 expires;		/* ms */
	uint64_t	 created;
	uint64_t	 updated;
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
	char		 user_id[CERTAOS_MAX_ID + 1];
};

struct auth_rec {
	struct auth_session	 s;
	struct auth_user	 u;
};

void	 authrec_write(struct mbuf *, const struct auth_rec *);
/* a session alone (IMSG_DB_SESSION_ROW) */
void	 authrec_write_session(struct mbuf *, const struct auth_session *);
int	 authrec_read_session(struct mread *, struct auth_session *);
/* read a record; -1 if a field is missing or out of bounds */
int	 authrec_read(struct mread *, struct auth_rec *);
void	 mbuf_nstr(struct mbuf *, int, const char *);
/* a nullable string: returns the presence flag, sets mread's error */
int	 mread_nstr(struct mread *, char *, size_t);

/* JSON writers: Better Auth's member names and order */
void	 authrec_json_user(struct json_out *, const struct auth_user *);
/* the same members, into an object the caller has opened */
void	 authrec_json_user_members(struct json_out *,
	    const struct auth_user *);
/* the session object; token is what the client presented (or got) */
void	 authrec_json_session(struct json_out *, const struct auth_session *,
	    const char *);
/* ISO 8601 "2026-11-23T10:00:00.000Z" of ms since the epoch */
void	 authrec_time(uint64_t, char *, size_t);

#endif
