/*
 * ctlrec.c: the payloads of the operator commands (IMSG_CTL_USER_*,
 * _AUDIT*, _IMPORT*), written and read the same way by certaosctl, the
 * master, which checks every message it relays, and certaos-db.  Each
 * reader leaves the error in the mread; the caller ends with
 * mread_end().  Strings are bounded by the CHECKs of sql/0002 where the
 * column has one, and by the CTL_MAX_* below where it has none.
 */

#ifndef CERTAOS_CTLREC_H
#define CERTAOS_CTLREC_H

#include <stdint.h>

#include "authrec.h"
#include "certaos.h"

struct mbuf;
struct mread;

#define CTL_IMPORT_BATCH	64	/* rows per IMSG_CTL_IMPORT at most */
#define CTL_LIMIT_DEF		100	/* rows a listing gives by default */
#define CTL_LIMIT_MAX		100000
#define CTL_MAX_CRED		16	/* "scrypt-imported" */
#define CTL_MAX_EVENT		32	/* audit event and outcome */
#define CTL_MAX_DETAIL		1024	/* audit detail, cut to this */
#define CTL_MAX_ACCOUNT_ID	256	/* a provider's account id */
#define CTL_MAX_PROVIDER	64
#define CTL_MAX_FAIL		256	/* an IMSG_CTL_FAIL reason */

/* IMSG_CTL_USER: a user as user list and user show print it */
struct ctl_user {
	struct auth_user	 u;
	char			 cred[CTL_MAX_CRED + 1];
	uint32_t		 nsessions;	/* live ones */
	uint64_t		 last_signin;	/* ms, 0: never */
	char			 attrs[CERTAOS_MAX_ATTRS + 1];	/* JSON */
};

/* IMSG_CTL_AUDIT_ROW; a NULL column is an empty string */
struct ctl_audit {
	uint64_t	 at;		/* ms */
	char		 event[CTL_MAX_EVENT + 1];
	char		 outcome[CTL_MAX_EVENT + 1];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
	char		 detail[CTL_MAX_DETAIL + 1];
};

/* IMSG_CTL_INVITE: a pending invitation */
struct ctl_invite {
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 role[CERTAOS_MAX_ROLE + 1];
	char		 attrs[CERTAOS_MAX_ATTRS + 1];	/* JSON object */
	uint64_t	 created;	/* ms */
	uint64_t	 expires;	/* ms */
};

/* the requests */
struct ctl_req {
	uint32_t	 op;		/* CTL_USER_* (USER_SET) */
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 arg[CERTAOS_MAX_REASON + 1];	/* role, reason */
	uint64_t	 since;		/* ms, 0: any (AUDIT) */
	uint32_t	 limit;
};

/* IMSG_CTL_IMPORT rows: users are struct auth_user */
struct ctl_imp_account {
	char		 id[CERTAOS_MAX_ID + 1];
	char		 account_id[CTL_MAX_ACCOUNT_ID + 1];
	char		 provider_id[CTL_MAX_PROVIDER + 1];
	char		 user_id[CERTAOS_MAX_ID + 1];
	int32_t		 has_password;
	char		 password[CERTAOS_MAX_PWHASH + 1];
	uint64_t	 created;	/* ms */
	uint64_t	 updated;
};

struct ctl_imp_session {
	char		 id[CERTAOS_MAX_ID + 1];
	unsigned char	 token_hash[32];	/* SHA-256 of the token */
	char		 user_id[CERTAOS_MAX_ID + 1];
	uint64_t	 expires;	/* ms */
	uint64_t	 created;
	uint64_t	 updated;
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1];
};

void	 ctlrec_req_write(struct mbuf *, uint32_t, const struct ctl_req *);
/* a request of type IMSG_CTL_USER_LIST, _SHOW, _SET or _AUDIT */
int	 ctlrec_req_read(struct mread *, uint32_t, struct ctl_req *);
void	 ctlrec_user_write(struct mbuf *, const struct ctl_user *);
int	 ctlrec_user_read(struct mread *, struct ctl_user *);
void	 ctlrec_audit_write(struct mbuf *, const struct ctl_audit *);
int	 ctlrec_audit_read(struct mread *, struct ctl_audit *);
void	 ctlrec_invite_write(struct mbuf *, const struct ctl_invite *);
int	 ctlrec_invite_read(struct mread *, struct ctl_invite *);
/* import rows, one at a time */
void	 ctlrec_imp_user_write(struct mbuf *, const struct auth_user *);
int	 ctlrec_imp_user_read(struct mread *, struct auth_user *);
void	 ctlrec_imp_account_write(struct mbuf *,
	    const struct ctl_imp_account *);
int	 ctlrec_imp_account_read(struct mread *, struct ctl_imp_account *);
void	 ctlrec_imp_session_write(struct mbuf *,
	    const struct ctl_imp_session *);
int	 ctlrec_imp_session_read(struct mread *, struct ctl_imp_session *);
/*
 * Check a whole message of one of the types above (and IMSG_CTL_OK,
 * _END, _FAIL, _IMPORTED): 0 if it is well formed, else -1.
 */
int	 ctlrec_check(struct imsg *);

#endif
