/*
 * ops.c: the fixed catalogue of database operations.  Each is a prepared
 * statement with typed parameters; a message never carries SQL text.
 * Requests are parsed here with every field bounded, and results are
 * copied into answers only after every length was checked.  Results come
 * back in binary format (text as its bytes, numbers in network order,
 * times as int8 ms since the epoch): nothing is parsed from text.
 *
 * The session operations keep the session cache (cache.c) true: a
 * get-session answer is kept, and whatever deletes sessions drops their
 * entries before it answers.
 */

#include <sys/types.h>

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certaos.h"
#include "authrec.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "db.h"

#define TEXTOID		25
#define BYTEAOID	17
#define INT4OID		23
#define INT8OID		20

/*
 * SQL pieces.  Times leave the database as ms since the epoch (int8, NULL
 * stays NULL); an expiry arrives as ms and its session's lifetime is the
 * seconds from now to it, rounded, at least 1.
 */
#define MS(col)		"floor(extract(epoch FROM " col ") * 1000)::int8"
#define EXPIRES(p)	"to_timestamp(" p " / 1000.0)"
#define LIFETIME(p)	"least(greatest(round(" p " / 1000.0"		\
			" - extract(epoch FROM now())), 1),"		\
			" 2147483647)::integer"
/* a session (s) and its user (u), in the order of ops_rec_get() */
#define REC_COLS							\
	"s.id, " MS("s.expires_at") ", " MS("s.created_at") ", "	\
	MS("s.updated_at") ", s.ip_address, s.user_agent, s.user_id,"	\
	" u.id, u.name, u.email, u.email_verified, u.image, "		\
	MS("u.created_at") ", " MS("u.updated_at") ","			\
	" u.role, u.banned,"						\
	" u.ban_reason, " MS("u.ban_expires") ", u.two_factor_enabled"
#define REC_NCOLS	19
#define SESSION_COLS	"token_hash, user_id, expires_at, lifetime,"	\
			" ip_address, user_agent"
/* one session alone (o), in the order of ops_session_get() */
#define SESS_COLS							\
	"o.id, " MS("o.expires_at") ", " MS("o.created_at") ", "	\
	MS("o.updated_at") ", o.ip_address, o.user_agent, o.user_id"
#define SESS_NCOLS	7
/* one account (o) of IMSG_DB_ACCOUNT_ROW, never its secrets */
#define ACCT_COLS							\
	"o.id, o.account_id, o.provider_id, o.user_id, "		\
	MS("o.created_at") ", " MS("o.updated_at") ", o.scope"
#define ACCT_NCOLS	7
#define STR(x)		STR1(x)
#define STR1(x)		#x
/*
 * The asking session of list and revoke: live, not renewed (only
 * get-session slides the expiry).
 */
#define ASKING		"a AS (SELECT * FROM sessions"			\
			" WHERE token_hash = $1 AND expires_at > now())"
/* the same, and the user keys verified the password of ($n) */
#define ASKING_OF(uid)	"a AS (SELECT * FROM sessions"			\
			" WHERE token_hash = $1 AND expires_at > now()"	\
			" AND user_id = " uid ")"
/* change-password: the credential account's hash, if a holds */
#define PW_UPDATE(uid, hash)						\
	"UPDATE accounts SET password = " hash ", updated_at = now()"	\
	" WHERE provider_id = 'credential' AND account_id = " uid	\
	" AND user_id = (SELECT user_id FROM a) RETURNING user_id"
#define PW_AUDIT(ip, ua, detail)					\
	"INSERT INTO audit_log"						\
	" (user_id, email, ip, user_agent, event, outcome, detail)"	\
	" SELECT u.id, u.email, " ip ", " ua ", 'change-password', 'ok', " \
	detail " FROM p JOIN users u ON u.id = p.user_id"
/* the audit row of a revoke: the ids of what went, NULL if nothing */
#define REVOKE_AUDIT(event, ip, ua)					\
	" l AS ("							\
	" INSERT INTO audit_log"					\
	" (user_id, email, ip, user_agent, event, outcome, detail)"	\
	" SELECT u.id, u.email, " ip ", " ua ", '" event "', 'ok',"	\
	" (SELECT string_agg(id, ' ' ORDER BY id) FROM d)"		\
	" FROM a JOIN users u ON u.id = a.user_id)"			\
	" SELECT " REC_COLS " FROM a s JOIN users u ON u.id = s.user_id"

/*
 * The operator commands (ctlops.c).  A user as user list and user show
 * print it, in the order of ctlops_user_get(): the credential's kind,
 * the live sessions, the last sign-in from the audit trail.
 */
#define CTL_USER_COLS							\
	"u.id, u.name, u.email, u.email_verified, u.image, "		\
	MS("u.created_at") ", " MS("u.updated_at") ", u.role, u.banned,"	\
	" u.ban_reason, " MS("u.ban_expires") ", u.two_factor_enabled,"	\
	" coalesce((SELECT CASE WHEN a.password IS NULL THEN 'none'"	\
	" WHEN starts_with(a.password, chr(36) || 'argon2id' || chr(36))" \
	" THEN 'argon2id'"						\
	" WHEN a.password ~ '^[0-9a-f]+:[0-9a-f]+' THEN 'scrypt-imported'" \
	" ELSE 'other' END FROM accounts a"				\
	" WHERE a.provider_id = 'credential' AND a.account_id = u.id"	\
	" AND a.user_id = u.id), 'none'),"				\
	" (SELECT count(*) FROM sessions s WHERE s.user_id = u.id"	\
	" AND s.expires_at > now())::int4,"				\
	" (SELECT " MS("max(l.at)") " FROM audit_log l"		\
	" WHERE l.user_id = u.id AND l.event = 'sign-in'"		\
	" AND l.outcome = 'ok'), u.attributes::text"
/* the user an operator names, locked for the change */
#define CTL_TARGET	"o AS (SELECT id, email, role, banned, ban_reason"	\
			" FROM users"					\
			" WHERE email = lower($1) FOR UPDATE)"
#define CTL_AUDIT(event, detail)					\
	" l AS (INSERT INTO audit_log (user_id, email, event, outcome,"	\
	" detail) SELECT o.id, o.email, '" event "', 'ok',"		\
	" 'certaosctl: ' || " detail " FROM o)"
/* row i, column c of an import batch (a 2-D text[]), and as a time */
#define IMP(c)		"b.a[i][" #c "]"
#define IMP_TS(c)	"to_timestamp(" IMP(c) "::int8 / 1000.0)"
#define IMP_ROWS	" FROM (SELECT $1::text[] AS a) b,"		\
			" generate_subscripts(b.a, 1) AS i"
#define IMP_COUNT	" SELECT (SELECT count(*) FROM i)::int4,"	\
			" (SELECT count(*) FROM x)::int4"

static int	 ops_jwks_load_result(struct db_req *, const PGresult *);
static int	 ops_jwks_insert_result(struct db_req *, PGresult *);
static int	 ops_auth_result(struct db_req *, const PGresult *);
static int	 ops_cred_result(struct db_req *, const PGresult *);
static int	 ops_list_result(struct db_req *, const PGresult *);
static int	 ops_account_result(struct db_req *, const PGresult *);
static int	 ops_rehash_result(struct db_req *, PGresult *);
static int	 ops_session_get(const PGresult *, int, int,
		    struct auth_session *);
static int	 ops_to_web(enum db_op);
static void	 ops_cache_update(struct db_req *, int32_t,
		    const struct auth_rec *);
static uint64_t	 ops_now_ms(void);
static void	 ops_signup_decoy(struct db_req *);
static int	 ops_rows_begin(struct db_req *, const PGresult *, int, int *);
static int	 ops_copy_text(const PGresult *, int, int, char *, size_t);
static void	 ops_answer_auth(struct db_req *, int32_t,
		    const struct auth_rec *);
static void	 ops_answer_cred(struct db_req *, int32_t, const char *,
		    const char *);
static const char *ops_msgname(enum db_op);

static const Oid jwks_insert_types[] = {
	TEXTOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID
};
/*
 * email, name, image, pwhash, token hash, expires, ip, ua, session
 * (0: none), verification hash (NULL: no mail), its expiry, recipient,
 * template, sealed mail, invitation token hash (NULL: none), invite-only,
 * verification pending (1: an unverified address redeems nothing yet)
 */
static const Oid signup_types[] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID, TEXTOID,
	TEXTOID, INT4OID, BYTEAOID, INT8OID, TEXTOID, TEXTOID, BYTEAOID,
	BYTEAOID, INT4OID, INT4OID
};
/* email */
static const Oid cred_get_types[] = { TEXTOID };
/* user id, token hash, expires, ip, ua, verification required */
static const Oid session_new_types[] = {
	TEXTOID, BYTEAOID, INT8OID, TEXTOID, TEXTOID, INT4OID
};
/* token hash, update age (s), lifetime cap (s) */
static const Oid session_get_types[] = { BYTEAOID, INT4OID, INT4OID };
/* token hash, ip, ua (also REVOKE_ALL, REVOKE_OTHERS: the asking one) */
static const Oid session_delete_types[] = { BYTEAOID, TEXTOID, TEXTOID };
/* asking token hash (LIST) */
static const Oid session_op_types[] = { BYTEAOID };
/* asking token hash, target hash (NULL: none), target handle, ip, ua */
static const Oid session_revoke_types[] = {
	BYTEAOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID
};
/* asking token hash, user id, new hash, ip, ua */
static const Oid pw_set_types[] = {
	BYTEAOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID
};
/* asking token hash, user id, new hash, new token hash, expires, ip, ua */
static const Oid pw_set_revoke_types[] = {
	BYTEAOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID, TEXTOID, TEXTOID
};
/* user id, old hash, new hash */
static const Oid pw_rehash_types[] = { TEXTOID, TEXTOID, TEXTOID };
/* role ("" any), limit */
static const Oid ctl_list_types[] = { TEXTOID, INT4OID };
/* email */
static const Oid ctl_email_types[] = { TEXTOID };
/* email, role or reason */
static const Oid ctl_set_types[] = { TEXTOID, TEXTOID };
/* email ("" any), since (ms, 0 any), limit */
static const Oid ctl_audit_types[] = { TEXTOID, INT8OID, INT4OID };
/* limit */
static const Oid ctl_invites_types[] = { INT4OID };
/* the batch: a text[] literal */
static const Oid ctl_import_types[] = { TEXTOID };
/* user id ("" none), email, ip, ua, outcome */
static const Oid audit_signin_types[] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID
};
/* asking token hash, mask (USER_F_*), name, image (nullable) */
static const Oid user_update_types[] = {
	BYTEAOID, INT4OID, TEXTOID, TEXTOID
};

/* a flow's user by session hash, or by email */
static const Oid flow_who_session_types[] = { BYTEAOID };
static const Oid flow_who_email_types[] = { TEXTOID };
/*
 * identifier, user id, data (nullable), token hash, expires, ip, ua,
 * recipient, template, sealed mail
 */
static const Oid flow_send_types[] = {
	TEXTOID, TEXTOID, TEXTOID, BYTEAOID, INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, BYTEAOID
};
/* token hash, new session hash (nullable), expires, ip, ua */
static const Oid flow_verify_types[] = {
	BYTEAOID, BYTEAOID, INT8OID, TEXTOID, TEXTOID
};
/* token hash */
static const Oid flow_reset_check_types[] = { BYTEAOID };
/* token hash, new pwhash, ip, ua */
static const Oid flow_reset_types[] = {
	BYTEAOID, TEXTOID, TEXTOID, TEXTOID
};
/* token hash (NULL: keys verified the password), session hash, ip, ua */
static const Oid flow_delete_types[] = {
	BYTEAOID, BYTEAOID, TEXTOID, TEXTOID
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
	/*
	 * One statement, so one transaction: the user (unless the email is
	 * taken: then no row comes back), its credential account, its
	 * first session (unless verification is required: then the
	 * session columns are NULL), the verification link and its mail,
	 * and the audit trail either way.
	 */
	/*
	 * Sign-up.  The address's pending invitation (i), the one the
	 * link's token ($15) names if one came: redeemed now (n) when the
	 * token came, which also proves the address, or when no
	 * verification is pending ($17 = 0); otherwise when the address is
	 * verified (flow_verify).  Invite-only ($16 = 1) without one: no
	 * user, and one row of NULLs (q) to say why.
	 */
	[OP_SIGNUP] = { "signup",
	    "WITH i AS ("
	    " SELECT * FROM invitations WHERE email = lower($1)"
	    " AND redeemed_at IS NULL AND expires_at > now()"
	    " AND ($15::bytea IS NULL OR token_hash = $15)"
	    " ORDER BY created_at DESC LIMIT 1),"
	    " q AS (SELECT 1 WHERE $16 = 1 AND NOT EXISTS (SELECT 1 FROM i)),"
	    " n AS (SELECT i.*, $15::bytea IS NOT NULL AS proven FROM i"
	    " WHERE $15::bytea IS NOT NULL OR $17 = 0),"
	    " u AS ("
	    " INSERT INTO users"
	    " (email, name, image, role, attributes, email_verified)"
	    " SELECT lower($1), $2, $3,"
	    " coalesce((SELECT role FROM n), 'user'),"
	    " coalesce((SELECT attributes FROM n), '{}'),"
	    " coalesce((SELECT proven FROM n), false)"
	    " WHERE NOT EXISTS (SELECT 1 FROM q)"
	    " ON CONFLICT (email) DO NOTHING RETURNING *),"
	    " r AS ("
	    " UPDATE invitations SET redeemed_at = now(),"
	    " user_id = (SELECT id FROM u)"
	    " WHERE id = (SELECT id FROM n) AND EXISTS (SELECT 1 FROM u)"
	    " RETURNING id),"
	    " a AS ("
	    " INSERT INTO accounts"
	    " (account_id, provider_id, user_id, password)"
	    " SELECT id, 'credential', id, $4 FROM u),"
	    " s AS ("
	    " INSERT INTO sessions (" SESSION_COLS ")"
	    " SELECT $5, id, " EXPIRES("$6") ", " LIFETIME("$6") ", $7, $8"
	    " FROM u WHERE $9 <> 0 OR email_verified RETURNING *),"
	    " v AS ("
	    " INSERT INTO verifications"
	    " (identifier, value_hash, expires_at, user_id)"
	    " SELECT 'verify-email', $10, " EXPIRES("$11") ", id FROM u"
	    " WHERE $10 IS NOT NULL AND NOT email_verified RETURNING id),"
	    " m AS ("
	    " INSERT INTO mail_outbox (recipient, template, sealed)"
	    " SELECT $12, $13, $14 FROM v),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT (SELECT id FROM u), lower($1), $7, $8, 'sign-up',"
	    " CASE WHEN EXISTS (SELECT 1 FROM u) THEN 'ok'"
	    " WHEN EXISTS (SELECT 1 FROM q) THEN 'not-invited'"
	    " ELSE 'user-exists' END,"
	    " CASE WHEN EXISTS (SELECT 1 FROM r) THEN 'invitation' END)"
	    " SELECT " REC_COLS " FROM u LEFT JOIN s ON s.user_id = u.id"
	    " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	    " NULL, NULL FROM q",
	    nitems(signup_types), signup_types },
	/* a user without a credential account has a NULL password */
	[OP_CRED_GET] = { "cred_get",
	    "SELECT u.id, a.password FROM users u"
	    " LEFT JOIN accounts a ON a.provider_id = 'credential'"
	    " AND a.account_id = u.id AND a.user_id = u.id"
	    " WHERE u.email = lower($1)",
	    nitems(cred_get_types), cred_get_types },
	/*
	 * No row: no such user.  A row without a session: the user's email
	 * is not verified and "email verification required" ($6), or the
	 * user is banned (and the ban has not expired), so no session was
	 * made.  The user's row is locked against deletion meanwhile.
	 */
	[OP_SESSION_NEW] = { "session_new",
	    "WITH u AS ("
	    " SELECT * FROM users WHERE id = $1 FOR KEY SHARE),"
	    " s AS ("
	    " INSERT INTO sessions (" SESSION_COLS ")"
	    " SELECT $2, id, " EXPIRES("$3") ", " LIFETIME("$3") ", $4, $5"
	    " FROM u WHERE NOT (banned AND"
	    " (ban_expires IS NULL OR ban_expires > now()))"
	    " AND (email_verified OR $6 = 0)"
	    " RETURNING *),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome)"
	    " SELECT id, email, $4, $5, 'sign-in',"
	    " CASE WHEN EXISTS (SELECT 1 FROM s) THEN 'ok'"
	    " WHEN NOT (email_verified OR $6 = 0) THEN 'unverified'"
	    " ELSE 'banned' END"
	    " FROM u)"
	    " SELECT " REC_COLS " FROM u LEFT JOIN s ON s.user_id = u.id",
	    nitems(session_new_types), session_new_types },
	/*
	 * The hot one.  A live session whose last renewal is older than
	 * the update age ($2) slides to now() + its lifetime (never more
	 * than the configured one, $3, so a shorter setting applies at the
	 * next renewal); the UPDATE returns it, else the row as it was.
	 */
	[OP_SESSION_GET] = { "session_get",
	    "WITH x AS ("
	    " UPDATE sessions SET"
	    " expires_at = now() + make_interval(secs => least(lifetime, $3)),"
	    " updated_at = now()"
	    " WHERE token_hash = $1 AND expires_at > now()"
	    " AND updated_at <= now() - make_interval(secs => $2)"
	    " RETURNING *),"
	    " s AS ("
	    " SELECT * FROM x UNION ALL"
	    " SELECT * FROM sessions WHERE token_hash = $1"
	    " AND expires_at > now() AND NOT EXISTS (SELECT 1 FROM x))"
	    " SELECT " REC_COLS " FROM s JOIN users u ON u.id = s.user_id",
	    nitems(session_get_types), session_get_types },
	/* expired or not: signing out removes it */
	[OP_SESSION_DELETE] = { "session_delete",
	    "WITH s AS ("
	    " DELETE FROM sessions WHERE token_hash = $1 RETURNING *),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT u.id, u.email, $2, $3, 'sign-out', 'ok', s.id"
	    " FROM s JOIN users u ON u.id = s.user_id)"
	    " SELECT " REC_COLS " FROM s JOIN users u ON u.id = s.user_id",
	    nitems(session_delete_types), session_delete_types },
	/*
	 * The asking session's record on every row, then one of the user's
	 * live sessions (NULL if, by a race, none is left), newest first.
	 * No row: no asking session.
	 */
	[OP_SESSION_LIST] = { "session_list",
	    "WITH " ASKING
	    " SELECT " REC_COLS ", " SESS_COLS
	    " FROM a s JOIN users u ON u.id = s.user_id"
	    " LEFT JOIN LATERAL (SELECT * FROM sessions"
	    " WHERE user_id = s.user_id AND expires_at > now()"
	    " ORDER BY created_at DESC, id LIMIT " STR(DB_LIST_MAX) ") o"
	    " ON true"
	    " ORDER BY o.created_at DESC, o.id",
	    nitems(session_op_types), session_op_types },
	/*
	 * list-accounts and account-info: the asking session's record on
	 * every row, then one of the user's accounts (NULL if none),
	 * oldest first.  No row: no asking session.
	 */
	[OP_ACCOUNT_LIST] = { "account_list",
	    "WITH " ASKING
	    " SELECT " REC_COLS ", " ACCT_COLS
	    " FROM a s JOIN users u ON u.id = s.user_id"
	    " LEFT JOIN LATERAL (SELECT * FROM accounts"
	    " WHERE user_id = s.user_id"
	    " ORDER BY created_at, id LIMIT " STR(DB_LIST_MAX) ") o"
	    " ON true"
	    " ORDER BY o.created_at, o.id",
	    nitems(session_op_types), session_op_types },
	/*
	 * The revokes: only the asking session's user's sessions, the
	 * asking one's record back whatever was deleted (read before the
	 * delete, so it is there even when it went too).
	 */
	[OP_SESSION_REVOKE] = { "session_revoke",
	    "WITH " ASKING ","
	    " d AS (DELETE FROM sessions"
	    " WHERE user_id = (SELECT user_id FROM a)"
	    " AND (token_hash = $2 OR id = $3) RETURNING id),"
	    REVOKE_AUDIT("revoke-session", "$4", "$5"),
	    nitems(session_revoke_types), session_revoke_types },
	[OP_SESSION_REVOKE_ALL] = { "session_revoke_all",
	    "WITH " ASKING ","
	    " d AS (DELETE FROM sessions"
	    " WHERE user_id = (SELECT user_id FROM a) RETURNING id),"
	    REVOKE_AUDIT("revoke-sessions", "$2", "$3"),
	    nitems(session_delete_types), session_delete_types },
	[OP_SESSION_REVOKE_OTHERS] = { "session_revoke_others",
	    "WITH " ASKING ","
	    " d AS (DELETE FROM sessions"
	    " WHERE user_id = (SELECT user_id FROM a)"
	    " AND id <> (SELECT id FROM a) RETURNING id),"
	    REVOKE_AUDIT("revoke-other-sessions", "$2", "$3"),
	    nitems(session_delete_types), session_delete_types },
	/* as CRED_GET, for the user of a live session */
	[OP_SESSION_CRED] = { "session_cred",
	    "SELECT u.id, a.password FROM sessions s"
	    " JOIN users u ON u.id = s.user_id"
	    " LEFT JOIN accounts a ON a.provider_id = 'credential'"
	    " AND a.account_id = u.id AND a.user_id = u.id"
	    " WHERE s.token_hash = $1 AND s.expires_at > now()",
	    nitems(session_op_types), session_op_types },
	/*
	 * change-password: the credential of the asking session's user
	 * (who must still be the one keys verified the password of), and
	 * the asking record back.  No row: no such session or credential.
	 */
	[OP_PW_SET] = { "pw_set",
	    "WITH " ASKING_OF("$2") ","
	    " p AS (" PW_UPDATE("$2", "$3") "),"
	    " l AS (" PW_AUDIT("$4", "$5", "NULL") ")"
	    " SELECT " REC_COLS " FROM a s JOIN users u ON u.id = s.user_id"
	    " WHERE EXISTS (SELECT 1 FROM p)",
	    nitems(pw_set_types), pw_set_types },
	/*
	 * ... and with revokeOtherSessions: every session of the user goes
	 * (the delete sees the statement's snapshot, so not the new one)
	 * and a new session comes, whose record is the answer.
	 */
	[OP_PW_SET_REVOKE] = { "pw_set_revoke",
	    "WITH " ASKING_OF("$2") ","
	    " p AS (" PW_UPDATE("$2", "$3") "),"
	    " d AS (DELETE FROM sessions"
	    " WHERE user_id = (SELECT user_id FROM p) RETURNING id),"
	    " s AS ("
	    " INSERT INTO sessions (" SESSION_COLS ")"
	    " SELECT $4, user_id, " EXPIRES("$5") ", " LIFETIME("$5") ","
	    " $6, $7 FROM p RETURNING *),"
	    " l AS (" PW_AUDIT("$6", "$7",
	    "(SELECT string_agg(id, ' ' ORDER BY id) FROM d)") ")"
	    " SELECT " REC_COLS " FROM s JOIN users u ON u.id = s.user_id",
	    nitems(pw_set_revoke_types), pw_set_revoke_types },
	/* only if nobody changed it meanwhile */
	[OP_PW_REHASH] = { "pw_rehash",
	    "UPDATE accounts SET password = $3, updated_at = now()"
	    " WHERE provider_id = 'credential' AND account_id = $1"
	    " AND user_id = $1 AND password = $2",
	    nitems(pw_rehash_types), pw_rehash_types },
	/*
	 * update-user: the fields the mask names (USER_F_NAME 1,
	 * USER_F_IMAGE 2), of the asking session's user; the record with
	 * the user as it is now.
	 */
	[OP_USER_UPDATE] = { "user_update",
	    "WITH " ASKING ","
	    " u AS (UPDATE users SET"
	    " name = CASE WHEN $2 & 1 <> 0 THEN $3 ELSE name END,"
	    " image = CASE WHEN $2 & 2 <> 0 THEN $4 ELSE image END,"
	    " updated_at = now()"
	    " WHERE id = (SELECT user_id FROM a) RETURNING *)"
	    " SELECT " REC_COLS " FROM a s JOIN u ON u.id = s.user_id",
	    nitems(user_update_types), user_update_types },
	/* user list: by role (one of a comma-separated list, as the admin
	 * plugin keeps them), oldest first */
	[OP_CTL_USER_LIST] = { "ctl_user_list",
	    "SELECT " CTL_USER_COLS " FROM users u"
	    " WHERE $1 = '' OR $1 = ANY (string_to_array(u.role, ','))"
	    " ORDER BY u.created_at, u.id LIMIT $2",
	    nitems(ctl_list_types), ctl_list_types },
	[OP_CTL_USER_SHOW] = { "ctl_user_show",
	    "SELECT " CTL_USER_COLS " FROM users u WHERE u.email = lower($1)",
	    nitems(ctl_email_types), ctl_email_types },
	/*
	 * The changes: the user's id back (no row: no such user), and an
	 * audit row in the same statement.  The users trigger of sql/0003
	 * tells the other daemons' session caches.
	 */
	[OP_CTL_USER_ROLE] = { "ctl_user_role",
	    "WITH " CTL_TARGET ","
	    " u AS (UPDATE users SET role = $2, updated_at = now()"
	    " FROM o WHERE users.id = o.id RETURNING users.id),"
	    CTL_AUDIT("role-change", "'role ' || o.role || ' -> ' || $2")
	    " SELECT o.id FROM o",
	    nitems(ctl_set_types), ctl_set_types },
	/* banned for good, with the reason, and every session deleted */
	[OP_CTL_USER_DISABLE] = { "ctl_user_disable",
	    "WITH " CTL_TARGET ","
	    " u AS (UPDATE users SET banned = true,"
	    " ban_reason = nullif($2, ''), ban_expires = NULL,"
	    " updated_at = now() FROM o WHERE users.id = o.id"
	    " RETURNING users.id),"
	    " d AS (DELETE FROM sessions"
	    " WHERE user_id = (SELECT id FROM o) RETURNING id),"
	    CTL_AUDIT("disable", "'role ' || o.role || ', reason: ' ||"
	    " coalesce(nullif($2, ''), '-') || ', sessions deleted: ' ||"
	    " (SELECT count(*) FROM d)")
	    " SELECT o.id FROM o",
	    nitems(ctl_set_types), ctl_set_types },
	[OP_CTL_USER_ENABLE] = { "ctl_user_enable",
	    "WITH " CTL_TARGET ","
	    " u AS (UPDATE users SET banned = false, ban_reason = NULL,"
	    " ban_expires = NULL, updated_at = now() FROM o"
	    " WHERE users.id = o.id RETURNING users.id),"
	    CTL_AUDIT("enable", "'role ' || o.role || ', was: ' ||"
	    " CASE WHEN o.banned THEN 'disabled (' ||"
	    " coalesce(o.ban_reason, '-') || ')' ELSE 'enabled' END")
	    " SELECT o.id FROM o",
	    nitems(ctl_email_types), ctl_email_types },
	/* the newest $3 rows, given oldest first */
	/* pending invitations, oldest first */
	[OP_CTL_INVITES] = { "ctl_invites",
	    "SELECT email, role, attributes::text, " MS("created_at") ","
	    " " MS("expires_at") " FROM invitations"
	    " WHERE redeemed_at IS NULL AND expires_at > now()"
	    " ORDER BY created_at, id LIMIT $1",
	    nitems(ctl_invites_types), ctl_invites_types },
	[OP_CTL_AUDIT] = { "ctl_audit",
	    "SELECT " MS("l.at") ", l.event, l.outcome,"
	    " coalesce(l.email, ''), coalesce(l.ip, ''),"
	    " coalesce(l.user_agent, ''), coalesce(l.detail, '')"
	    " FROM (SELECT * FROM audit_log"
	    " WHERE ($1 = '' OR email = lower($1) OR user_id ="
	    " (SELECT id FROM users WHERE email = lower($1)))"
	    " AND ($2 = 0 OR at >= to_timestamp($2 / 1000.0))"
	    " ORDER BY at DESC, id DESC LIMIT $3) l"
	    " ORDER BY l.at, l.id",
	    nitems(ctl_audit_types), ctl_audit_types },
	/*
	 * Imports keep the rows' ids and skip what exists (any unique
	 * key: a second run imports nothing); accounts and sessions only
	 * of users that are here.  Answer: imported, rows in the batch.
	 */
	[OP_CTL_IMPORT_USERS] = { "ctl_import_users",
	    "WITH x AS (SELECT " IMP(1) " AS id, lower(" IMP(2) ") AS email,"
	    " " IMP(3) " AS name, " IMP(4) "::bool AS verified,"
	    " " IMP(5) " AS image, " IMP_TS(6) " AS created,"
	    " " IMP_TS(7) " AS updated, " IMP(8) " AS role,"
	    " " IMP(9) "::bool AS banned, " IMP(10) " AS reason,"
	    " " IMP_TS(11) " AS ban_expires, " IMP(12) "::bool AS tf"
	    IMP_ROWS "),"
	    " i AS (INSERT INTO users (id, email, name, email_verified,"
	    " image, created_at, updated_at, role, banned, ban_reason,"
	    " ban_expires, two_factor_enabled)"
	    " SELECT * FROM x ON CONFLICT DO NOTHING RETURNING 1)"
	    IMP_COUNT,
	    nitems(ctl_import_types), ctl_import_types },
	[OP_CTL_IMPORT_ACCOUNTS] = { "ctl_import_accounts",
	    "WITH x AS (SELECT " IMP(1) " AS id, " IMP(2) " AS account_id,"
	    " " IMP(3) " AS provider_id, " IMP(4) " AS user_id,"
	    " " IMP(5) " AS password, " IMP_TS(6) " AS created,"
	    " " IMP_TS(7) " AS updated" IMP_ROWS "),"
	    " i AS (INSERT INTO accounts (id, account_id, provider_id,"
	    " user_id, password, created_at, updated_at)"
	    " SELECT x.* FROM x JOIN users u ON u.id = x.user_id"
	    " WHERE x.provider_id <> 'credential'"
	    " OR x.account_id = x.user_id"
	    " ON CONFLICT DO NOTHING RETURNING 1)"
	    IMP_COUNT,
	    nitems(ctl_import_types), ctl_import_types },
	/* live sessions only; the lifetime is what the last renewal gave */
	[OP_CTL_IMPORT_SESSIONS] = { "ctl_import_sessions",
	    "WITH x AS (SELECT " IMP(1) " AS id,"
	    " decode(" IMP(2) ", 'hex') AS token_hash, " IMP(3) " AS user_id,"
	    " " IMP_TS(4) " AS expires, " IMP_TS(5) " AS created,"
	    " " IMP_TS(6) " AS updated, " IMP(7) " AS ip, " IMP(8) " AS ua"
	    IMP_ROWS "),"
	    " i AS (INSERT INTO sessions (id, token_hash, user_id,"
	    " expires_at, lifetime, created_at, updated_at, ip_address,"
	    " user_agent)"
	    " SELECT x.id, x.token_hash, x.user_id, x.expires,"
	    " least(greatest(round(extract(epoch FROM x.expires - x.updated)),"
	    " 1), 2147483647)::integer, x.created, x.updated, x.ip, x.ua"
	    " FROM x JOIN users u ON u.id = x.user_id"
	    " WHERE x.expires > now()"
	    " ON CONFLICT DO NOTHING RETURNING 1)"
	    IMP_COUNT,
	    nitems(ctl_import_types), ctl_import_types },
	[OP_AUDIT_SIGNIN] = { "audit_signin",
	    "INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome)"
	    " VALUES (nullif($1, ''), lower($2), $3, $4, 'sign-in', $5)",
	    nitems(audit_signin_types), audit_signin_types },
	/*
	 * The email flows (flow.c).  Who: the user of a live session, or
	 * of an email; whether it has a password; the session's age.
	 */
	[OP_FLOW_WHO_SESSION] = { "flow_who_session",
	    "SELECT u.id, u.email, u.name, u.email_verified,"
	    " a.password IS NOT NULL, " MS("s.created_at")
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " LEFT JOIN accounts a ON a.provider_id = 'credential'"
	    " AND a.account_id = u.id AND a.user_id = u.id"
	    " WHERE s.token_hash = $1 AND s.expires_at > now()",
	    nitems(flow_who_session_types), flow_who_session_types },
	[OP_FLOW_WHO_EMAIL] = { "flow_who_email",
	    "SELECT u.id, u.email, u.name, u.email_verified,"
	    " a.password IS NOT NULL, 0::int8 FROM users u"
	    " LEFT JOIN accounts a ON a.provider_id = 'credential'"
	    " AND a.account_id = u.id AND a.user_id = u.id"
	    " WHERE u.email = lower($1)",
	    nitems(flow_who_email_types), flow_who_email_types },
	/*
	 * A token and its sealed mail, for a user who still is: still
	 * unverified for a verification, the new address still free for a
	 * change.  Nothing inserted is still an answer: the client must not
	 * learn which.
	 */
	[OP_FLOW_SEND] = { "flow_send",
	    "WITH u AS ("
	    " SELECT id, email FROM users WHERE id = $2"
	    " AND ($1 <> 'verify-email' OR NOT email_verified)"
	    " AND ($3::text IS NULL OR NOT EXISTS"
	    " (SELECT 1 FROM users WHERE email = $3))"
	    " FOR KEY SHARE),"
	    " v AS ("
	    " INSERT INTO verifications"
	    " (identifier, value_hash, expires_at, user_id, data)"
	    " SELECT $1, $4, " EXPIRES("$5") ", id, $3 FROM u"
	    " RETURNING user_id),"
	    " m AS ("
	    " INSERT INTO mail_outbox (recipient, template, sealed)"
	    " SELECT $8, $9, $10 FROM v),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome)"
	    " SELECT id, email, $6, $7, $1, 'mail-sent' FROM u"
	    " WHERE EXISTS (SELECT 1 FROM v))"
	    " SELECT count(*)::int8 FROM v",
	    nitems(flow_send_types), flow_send_types },
	/*
	 * verify-email: a verification token verifies the address (and may
	 * be clicked again until it expires); a change-email token, once,
	 * moves the user to the new address, verified, if it is still
	 * free.  A session is made when keys sent its hash (and the user is
	 * not banned).  The user with the new session, the user alone
	 * (session columns NULL), or no row: a bad token.  The last column
	 * is NULL but for a change-email confirmation (c), spent once,
	 * which changes nothing but gives the new address it was for:
	 * keys mails that address its own link next.
	 */
	[OP_FLOW_VERIFY] = { "flow_verify",
	    "WITH c AS ("
	    " DELETE FROM verifications WHERE value_hash = $1"
	    " AND identifier = 'change-email-confirm' AND expires_at > now()"
	    " RETURNING user_id, data),"
	    " lc AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT x.id, x.email, $4, $5, 'change-email-confirm', 'ok',"
	    " c.data FROM c JOIN users x ON x.id = c.user_id),"
	    " v AS ("
	    " SELECT * FROM verifications WHERE value_hash = $1"
	    " AND identifier IN ('verify-email', 'change-email')"
	    " AND expires_at > now()),"
	    /* the user as it was: a replayed link changes nothing */
	    " w AS ("
	    " SELECT x.id FROM users x, v WHERE x.id = v.user_id"
	    " AND (NOT x.email_verified OR v.data IS NOT NULL)),"
	    /* the address's pending invitation, redeemed now it is proven */
	    " pi AS ("
	    " SELECT i.id, i.role, i.attributes FROM invitations i, v, users x"
	    " WHERE x.id = v.user_id AND x.id IN (SELECT id FROM w)"
	    " AND i.email = coalesce(v.data, x.email)"
	    " AND i.redeemed_at IS NULL AND i.expires_at > now()"
	    " ORDER BY i.created_at DESC LIMIT 1),"
	    " d AS ("
	    " DELETE FROM verifications WHERE id IN"
	    " (SELECT id FROM v WHERE identifier = 'change-email')),"
	    " u AS ("
	    " UPDATE users x SET email_verified = true,"
	    " email = coalesce(v.data, x.email), updated_at = now(),"
	    " role = coalesce((SELECT role FROM pi), x.role),"
	    " attributes = x.attributes ||"
	    " coalesce((SELECT attributes FROM pi), '{}')"
	    " FROM v WHERE x.id = v.user_id AND (v.data IS NULL OR"
	    " NOT EXISTS (SELECT 1 FROM users y"
	    " WHERE y.email = v.data AND y.id <> x.id))"
	    " RETURNING x.*),"
	    " ri AS ("
	    " UPDATE invitations SET redeemed_at = now(),"
	    " user_id = (SELECT id FROM u)"
	    " WHERE id IN (SELECT id FROM pi) AND EXISTS (SELECT 1 FROM u)),"
	    " s AS ("
	    " INSERT INTO sessions (" SESSION_COLS ")"
	    " SELECT $2, id, " EXPIRES("$3") ", " LIFETIME("$3") ", $4, $5"
	    " FROM u WHERE $2 IS NOT NULL AND id IN (SELECT id FROM w)"
	    " AND NOT (banned AND"
	    " (ban_expires IS NULL OR ban_expires > now()))"
	    " RETURNING *),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT u.id, u.email, $4, $5, v.identifier, 'ok', v.data"
	    " FROM u, v WHERE u.id IN (SELECT id FROM w))"
	    " SELECT " REC_COLS ", NULL::text"
	    " FROM u LEFT JOIN s ON s.user_id = u.id"
	    /* the users table as u and no session as s, for REC_COLS */
	    " UNION ALL SELECT " REC_COLS ", c.data"
	    " FROM c JOIN users u ON u.id = c.user_id"
	    " LEFT JOIN sessions s ON false",
	    nitems(flow_verify_types), flow_verify_types },
	[OP_FLOW_RESET_CHECK] = { "flow_reset_check",
	    "SELECT user_id FROM verifications WHERE value_hash = $1"
	    " AND identifier = 'reset-password' AND expires_at > now()",
	    nitems(flow_reset_check_types), flow_reset_check_types },
	/*
	 * reset-password: the token goes, with the user's other reset
	 * tokens; the credential gets the new hash (or is made, for a user
	 * who had none); every session of the user is revoked (stricter
	 * than Better Auth's default: whoever knew the old password is
	 * out).  The user id, or no row: a bad token.
	 */
	[OP_FLOW_RESET] = { "flow_reset",
	    "WITH v AS ("
	    " DELETE FROM verifications WHERE value_hash = $1"
	    " AND identifier = 'reset-password' AND expires_at > now()"
	    " RETURNING user_id),"
	    " o AS ("
	    " DELETE FROM verifications WHERE identifier = 'reset-password'"
	    " AND value_hash <> $1 AND user_id IN (SELECT user_id FROM v)),"
	    " p AS ("
	    " UPDATE accounts SET password = $2, updated_at = now()"
	    " WHERE provider_id = 'credential'"
	    " AND account_id IN (SELECT user_id FROM v)"
	    " AND user_id IN (SELECT user_id FROM v) RETURNING user_id),"
	    " n AS ("
	    " INSERT INTO accounts"
	    " (account_id, provider_id, user_id, password)"
	    " SELECT user_id, 'credential', user_id, $2 FROM v"
	    " WHERE user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p)),"
	    " d AS ("
	    " DELETE FROM sessions WHERE user_id IN (SELECT user_id FROM v)"
	    " RETURNING id),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT u.id, u.email, $3, $4, 'reset-password', 'ok',"
	    " (SELECT string_agg(id, ' ' ORDER BY id) FROM d)"
	    " FROM v JOIN users u ON u.id = v.user_id)"
	    " SELECT user_id FROM v WHERE user_id IS NOT NULL",
	    nitems(flow_reset_types), flow_reset_types },
	/*
	 * delete-user: the asking session's user, if the emailed token is
	 * theirs, or (no token) keys verified their password.  Sessions,
	 * accounts and tokens go with the user (ON DELETE CASCADE); the
	 * audit trail stays.  The user id, or no row.
	 */
	[OP_FLOW_DELETE] = { "flow_delete",
	    "WITH a AS ("
	    " SELECT user_id FROM sessions WHERE token_hash = $2"
	    " AND expires_at > now()),"
	    " v AS ("
	    " DELETE FROM verifications WHERE value_hash = $1"
	    " AND identifier = 'delete-account' AND expires_at > now()"
	    " AND user_id = (SELECT user_id FROM a) RETURNING user_id),"
	    " t AS ("
	    " SELECT user_id FROM v UNION"
	    " SELECT user_id FROM a WHERE $1 IS NULL),"
	    " x AS ("
	    " DELETE FROM users WHERE id IN (SELECT user_id FROM t)"
	    " RETURNING id, email),"
	    " l AS ("
	    " INSERT INTO audit_log"
	    " (user_id, email, ip, user_agent, event, outcome, detail)"
	    " SELECT id, email, $3, $4, 'delete-user', 'ok',"
	    " CASE WHEN $1 IS NULL THEN 'password' ELSE 'email' END FROM x)"
	    " SELECT id FROM x",
	    nitems(flow_delete_types), flow_delete_types },
};

/* Answers are built here: one at a time, never on the stack. */
static struct mbuf	 ops_mbuf;
static struct db_jwk	 ops_row;
static struct auth_rec	 ops_rec;
static struct auth_session ops_sess;

/* Requests kept for reuse, and the session settings (s). */
static struct db_req	*ops_cache[DB_REQ_CACHE];
static int		 ops_ncache;
static uint32_t		 ops_lifetime = CERTAOS_SESSION_LIFETIME;
static uint32_t		 ops_update = CERTAOS_SESSION_UPDATE;
static uint32_t		 ops_verify_required;
static uint32_t		 ops_verify_on;		/* sign-up mails a link */
static uint32_t		 ops_invite_only;

const struct db_stmt *
ops_stmt(enum db_op op)
{
	if (op < 0 || op >= OP_MAX)
		return (NULL);
	if (op >= OP_MAIL_ENQUEUE && op <= OP_MAIL_INVITE)
		return (mail_stmt(op));
	return (&stmts[op]);
}

void
ops_settings(const struct cfg_db *cd)
{
	ops_verify_required = cd->verify_required != 0;
	ops_verify_on = cd->verify_on != 0;
	ops_invite_only = cd->signup == SIGNUP_INVITE_ONLY;
	/* update-age 0 is legal: renew on every use */
	ops_lifetime = cd->session_lifetime != 0 ? cd->session_lifetime :
	    CERTAOS_SESSION_LIFETIME;
	ops_update = cd->session_update;
}

/* The message a request came in, for the fatal line. */
static const char *
ops_msgname(enum db_op op)
{
	switch (op) {
	case OP_JWKS_LOAD:
		return ("IMSG_DB_JWKS_LOAD");
	case OP_JWKS_INSERT:
		return ("IMSG_DB_JWKS_INSERT");
	case OP_SIGNUP:
		return ("IMSG_DB_SIGNUP");
	case OP_CRED_GET:
		return ("IMSG_DB_CRED_GET");
	case OP_SESSION_NEW:
		return ("IMSG_DB_SESSION_NEW");
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
		return ("IMSG_DB_SESSION_GET");
	case OP_SESSION_LIST:
	case OP_SESSION_REVOKE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
	case OP_ACCOUNT_LIST:
		return ("IMSG_DB_SESSION_OP");
	case OP_SESSION_CRED:
		return ("IMSG_DB_SESSION_CRED");
	case OP_PW_SET:
	case OP_PW_SET_REVOKE:
		return ("IMSG_DB_PW_SET");
	case OP_PW_REHASH:
		return ("IMSG_DB_PW_REHASH");
	case OP_USER_UPDATE:
		return ("IMSG_DB_USER_UPDATE");
	case OP_AUDIT_SIGNIN:
		return ("IMSG_DB_AUDIT_SIGNIN");
	case OP_MAIL_ENQUEUE:
		return ("IMSG_DB_MAIL_ENQUEUE");
	case OP_MAIL_CLAIM:
		return ("IMSG_DB_MAIL_CLAIM");
	case OP_MAIL_DONE:
		return ("IMSG_DB_MAIL_DONE");
	case OP_MAIL_QUEUE:
		return ("IMSG_DB_MAIL_QUEUE");
	case OP_MAIL_INVITE:
		return ("IMSG_DB_INVITE");
	case OP_FLOW_WHO_SESSION:
	case OP_FLOW_WHO_EMAIL:
		return ("IMSG_DB_FLOW_WHO");
	case OP_FLOW_SEND:
		return ("IMSG_DB_FLOW_SEND");
	case OP_FLOW_VERIFY:
	case OP_FLOW_RESET_CHECK:
	case OP_FLOW_RESET:
	case OP_FLOW_DELETE:
		return ("IMSG_DB_FLOW_USE");
	default:
		return (ctlops_is(op) ? "control request" : "request");
	}
}

/* Asked by keys, answered to web[instance]. */
static int
ops_to_web(enum db_op op)
{
	switch (op) {
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_SESSION_LIST:
	case OP_SESSION_REVOKE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
	case OP_USER_UPDATE:
	case OP_ACCOUNT_LIST:
		return (1);
	default:
		return (0);
	}
}

static uint64_t
ops_now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
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

void
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

/*
 * What an answer means for the session cache, settled before it is
 * given: a get-session answer is kept (its record is in ops_mbuf), a
 * session that is gone is dropped, and so is every session of a user
 * whose sessions were revoked.  A revoke that PostgreSQL may have run
 * without our knowing the outcome (an error, a lost connection) empties
 * the cache: its notifications will come, but the answer must not wait.
 */
static void
ops_cache_update(struct db_req *req, int32_t status, const struct auth_rec *r)
{
	switch (req->op) {
	case OP_SESSION_GET:
		if (status == AUTH_OK)
			(void)cache_fill(req->sess.token_hash, r->u.id,
			    r->s.expires, r->s.updated, ops_mbuf.buf,
			    ops_mbuf.len, req->gen);
		else if (status == AUTH_NO_SESSION)
			cache_drop_hash(req->sess.token_hash);
		break;
	case OP_SESSION_DELETE:
		cache_drop_hash(req->sess.token_hash);
		break;
	case OP_SESSION_REVOKE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
	case OP_PW_SET:
	case OP_PW_SET_REVOKE:
	case OP_USER_UPDATE:
		/* a password change too: the issue wants it so */
		if (status == AUTH_OK)
			cache_drop_user(r->u.id);
		else if (status != AUTH_NO_SESSION && req->sent)
			cache_flush();
		break;
	default:
		break;
	}
}

/*
 * Sign-up of a taken address while verification is required: the same
 * answer as a new user's (a user that exists nowhere, no session, no
 * mail), so that sign-up does not tell who has an account here.
 */
static void
ops_signup_decoy(struct db_req *req)
{
	static const char	 hex[] = "0123456789abcdef";
	struct auth_user	*u = &ops_rec.u;
	unsigned char		 rnd[16];
	size_t			 i;

	memset(&ops_rec, 0, sizeof(ops_rec));
	arc4random_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		u->id[2 * i] = hex[rnd[i] >> 4];
		u->id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	(void)strlcpy(u->name, req->auth.name, sizeof(u->name));
	(void)strlcpy(u->email, req->auth.email, sizeof(u->email));
	u->has_image = req->auth.has_image;
	(void)strlcpy(u->image, req->auth.image, sizeof(u->image));
	u->created = u->updated = ops_now_ms();
	(void)strlcpy(u->role, "user", sizeof(u->role));
	ops_answer_auth(req, AUTH_PENDING_VERIFY, &ops_rec);
}

/* IMSG_DB_AUTH_REPLY to keys, or IMSG_DB_SESSION_INFO to web. */
static void
ops_answer_auth(struct db_req *req, int32_t status, const struct auth_rec *r)
{
	uint32_t	 type;

	type = ops_to_web(req->op) ? IMSG_DB_SESSION_INFO : IMSG_DB_AUTH_REPLY;
	mbuf_init(&ops_mbuf);
	mbuf_i32(&ops_mbuf, status);
	if (status == AUTH_OK || status == AUTH_PENDING_VERIFY)
		authrec_write(&ops_mbuf, r);
	ops_cache_update(req, status, r);
	ops_compose(req->iev, type, req->id, &ops_mbuf);
}

/*
 * The hot path: get-session answered from the cache, with the bytes
 * PostgreSQL's answer had, while the listener is known to be there.
 * Otherwise the request goes on, remembering the cache generation it
 * arrived in.
 */
int
ops_cached(struct db_req *req)
{
	const unsigned char	*ans;
	size_t			 len;

	if (req->op != OP_SESSION_GET || !pool_listening(db_pool) ||
	    (ans = cache_lookup(req->sess.token_hash, ops_now_ms(),
	    ops_update, &len)) == NULL)
		return (0);
	if (imsgev_compose(req->iev, IMSG_DB_SESSION_INFO, req->id, 0, -1,
	    ans, len) == -1)
		fatal("%s: answer to %s", __func__, req->iev->name);
	return (1);
}

static void
ops_answer_cred(struct db_req *req, int32_t status, const char *uid,
    const char *pwhash)
{
	mbuf_init(&ops_mbuf);
	mbuf_i32(&ops_mbuf, status);
	mbuf_str(&ops_mbuf, uid);
	mbuf_str(&ops_mbuf, pwhash);
	ops_compose(req->iev, IMSG_DB_CRED, req->id, &ops_mbuf);
}

struct db_req *
ops_req_new(void)
{
	struct db_req	*req;

	if (ops_ncache > 0)
		return (ops_cache[--ops_ncache]);
	if ((req = calloc(1, sizeof(*req))) == NULL)
		fatal("%s", __func__);
	return (req);
}

/*
 * Nothing is wiped: db never holds a password or a token, and the hashes
 * it passes on are the database's own, which it can read at any time.
 */
void
ops_free(struct db_req *req)
{
	if (req == NULL)
		return;
	ctlops_free(req);
	if (ops_ncache < DB_REQ_CACHE) {
		ops_cache[ops_ncache++] = req;
		return;
	}
	free(req);
}

/*
 * Framing and bounds: every field present, each within its limit,
 * nothing left over.  What the values mean is the database's business
 * (an empty email fails its CHECK and is answered as an error).
 */
int
ops_req_read(struct imsg *imsg, enum db_op op, struct db_req *req)
{
	struct mread	 mr;
	struct db_auth	*a = &req->auth;
	struct db_sess	*ss = &req->sess;
	size_t		 n = 0, tn = 0;

	req->op = op;
	if (ctlops_is(op))
		return (ctlops_req_read(imsg, op, req));
	if (op >= OP_MAIL_ENQUEUE && op <= OP_MAIL_INVITE)
		return (mail_req_read(imsg, op, req));
	mread_init(&mr, imsg);
	switch (op) {
	case OP_JWKS_LOAD:
		break;
	case OP_JWKS_INSERT:
		return (ops_jwk_read(imsg, &req->jwk));
	case OP_SIGNUP:
		(void)mread_str(&mr, a->email, sizeof(a->email));
		(void)mread_str(&mr, a->name, sizeof(a->name));
		a->has_image = mread_nstr(&mr, a->image, sizeof(a->image));
		(void)mread_str(&mr, a->pwhash, sizeof(a->pwhash));
		n = mread_bytes(&mr, a->token_hash, sizeof(a->token_hash));
		a->expires = mread_u64(&mr);
		(void)mread_str(&mr, a->ip, sizeof(a->ip));
		(void)mread_str(&mr, a->ua, sizeof(a->ua));
		a->session = mread_u32(&mr);
		if ((a->has_mail = mread_u32(&mr)) == 1) {
			(void)mread_str(&mr, a->rcpt, sizeof(a->rcpt));
			(void)mread_str(&mr, a->tmpl, sizeof(a->tmpl));
			a->sealed_len = mread_bytes(&mr, a->sealed,
			    sizeof(a->sealed));
			tn = mread_bytes(&mr, a->vhash, sizeof(a->vhash));
			a->vexpires = mread_u64(&mr);
			if (tn != DB_HASH_LEN || a->vexpires == 0 ||
			    a->vexpires > DB_MAX_MS || a->sealed_len == 0)
				return (-1);
		} else if (a->has_mail != 0 || a->session > 1)
			return (-1);
		tn = mread_bytes(&mr, a->invite_hash, sizeof(a->invite_hash));
		if (tn != 0 && tn != DB_HASH_LEN)
			return (-1);
		a->has_invite = tn == DB_HASH_LEN;
		break;
	case OP_CRED_GET:
		(void)mread_str(&mr, a->email, sizeof(a->email));
		break;
	case OP_SESSION_NEW:
		(void)mread_str(&mr, a->user_id, sizeof(a->user_id));
		n = mread_bytes(&mr, a->token_hash, sizeof(a->token_hash));
		a->expires = mread_u64(&mr);
		(void)mread_str(&mr, a->ip, sizeof(a->ip));
		(void)mread_str(&mr, a->ua, sizeof(a->ua));
		break;
	case OP_SESSION_GET:
		ss->instance = mread_u32(&mr);
		ss->op = mread_u32(&mr);
		n = mread_bytes(&mr, ss->token_hash, sizeof(ss->token_hash));
		if (ss->op == AUTH_OP_DELETE) {
			(void)mread_str(&mr, ss->ip, sizeof(ss->ip));
			(void)mread_str(&mr, ss->ua, sizeof(ss->ua));
		}
		break;
	case OP_SESSION_CRED:
		n = mread_bytes(&mr, a->token_hash, sizeof(a->token_hash));
		break;
	case OP_PW_SET:
		n = mread_bytes(&mr, a->token_hash, sizeof(a->token_hash));
		(void)mread_str(&mr, a->user_id, sizeof(a->user_id));
		(void)mread_str(&mr, a->pwhash, sizeof(a->pwhash));
		a->revoke = mread_u32(&mr);
		tn = mread_bytes(&mr, a->new_hash, sizeof(a->new_hash));
		a->expires = mread_u64(&mr);
		(void)mread_str(&mr, a->ip, sizeof(a->ip));
		(void)mread_str(&mr, a->ua, sizeof(a->ua));
		break;
	case OP_PW_REHASH:
		(void)mread_str(&mr, a->user_id, sizeof(a->user_id));
		(void)mread_str(&mr, a->old_pwhash, sizeof(a->old_pwhash));
		(void)mread_str(&mr, a->pwhash, sizeof(a->pwhash));
		break;
	case OP_USER_UPDATE:
		ss->instance = mread_u32(&mr);
		n = mread_bytes(&mr, ss->token_hash, sizeof(ss->token_hash));
		ss->mask = mread_u32(&mr);
		(void)mread_str(&mr, ss->name, sizeof(ss->name));
		ss->has_image = mread_nstr(&mr, ss->image, sizeof(ss->image));
		break;
	case OP_FLOW_WHO_SESSION:
	case OP_FLOW_SEND:
	case OP_FLOW_VERIFY:
		/* the email flows (flow.c); the payload picks the statement */
		return (flow_req_read(&mr, &req->op, &req->flow));
	case OP_SESSION_LIST:
		/* IMSG_DB_SESSION_OP: the op picks the statement */
		ss->instance = mread_u32(&mr);
		ss->op = mread_u32(&mr);
		n = mread_bytes(&mr, ss->token_hash, sizeof(ss->token_hash));
		tn = mread_bytes(&mr, ss->target_hash,
		    sizeof(ss->target_hash));
		(void)mread_str(&mr, ss->handle, sizeof(ss->handle));
		(void)mread_str(&mr, ss->ip, sizeof(ss->ip));
		(void)mread_str(&mr, ss->ua, sizeof(ss->ua));
		break;
	default:
		return (-1);
	}
	if (mread_end(&mr) == -1)
		return (-1);

	switch (op) {
	case OP_SIGNUP:
	case OP_SESSION_NEW:
		if (n != DB_HASH_LEN || a->expires == 0 ||
		    a->expires > DB_MAX_MS)
			return (-1);
		break;
	case OP_SESSION_GET:
		if (n != DB_HASH_LEN || ss->instance >= PROC_MAX_INSTANCES)
			return (-1);
		if (ss->op == AUTH_OP_GET)
			req->op = OP_SESSION_GET;
		else if (ss->op == AUTH_OP_DELETE)
			req->op = OP_SESSION_DELETE;
		else
			return (-1);
		break;
	case OP_SESSION_LIST:
		if (n != DB_HASH_LEN || (tn != 0 && tn != DB_HASH_LEN) ||
		    ss->instance >= PROC_MAX_INSTANCES)
			return (-1);
		ss->has_target = tn == DB_HASH_LEN;
		switch (ss->op) {
		case AUTH_OP_LIST:
			req->op = OP_SESSION_LIST;
			break;
		case AUTH_OP_REVOKE:
			/* no target at all: nothing to revoke, still ok */
			req->op = OP_SESSION_REVOKE;
			break;
		case AUTH_OP_REVOKE_ALL:
			req->op = OP_SESSION_REVOKE_ALL;
			break;
		case AUTH_OP_REVOKE_OTHERS:
			req->op = OP_SESSION_REVOKE_OTHERS;
			break;
		case AUTH_OP_ACCOUNTS:
			req->op = OP_ACCOUNT_LIST;
			break;
		default:
			return (-1);
		}
		/* only a revoke of one session names one */
		if (req->op != OP_SESSION_REVOKE &&
		    (ss->has_target || ss->handle[0] != '\0'))
			return (-1);
		break;
	case OP_SESSION_CRED:
		if (n != DB_HASH_LEN)
			return (-1);
		break;
	case OP_PW_SET:
		/* the new session's hash and expiry with revoke only */
		if (n != DB_HASH_LEN || a->revoke > 1 ||
		    tn != (a->revoke ? DB_HASH_LEN : 0) ||
		    a->expires == 0 || a->expires > DB_MAX_MS)
			return (-1);
		if (a->revoke)
			req->op = OP_PW_SET_REVOKE;
		break;
	case OP_USER_UPDATE:
		if (n != DB_HASH_LEN || ss->instance >= PROC_MAX_INSTANCES ||
		    ss->mask == 0 || (ss->mask & ~(USER_F_NAME |
		    USER_F_IMAGE)) != 0)
			return (-1);
		break;
	default:
		break;
	}
	return (0);
}

struct db_req *
ops_parse(struct imsgev *iev, struct imsg *imsg, enum db_op op)
{
	struct db_req	*req;

	req = ops_req_new();
	if (ops_req_read(imsg, op, req) == -1)
		fatalx("bad %s from %s (len %zu)", ops_msgname(op), iev->name,
		    imsg_get_len(imsg));
	req->id = imsg_get_id(imsg);
	req->iev = iev;
	req->gen = cache_gen();
	req->sent = 0;
	monotime(&req->deadline);
	req->deadline.tv_sec += CERTAOS_DB_TIMEOUT;

	/* keys asks, web[instance] gets the answer */
	if (ops_to_web(req->op)) {
		req->iev = proc_self == NULL ? NULL :
		    proc_peer_instance(proc_self, PROC_WEB,
		    req->sess.instance);
		if (req->iev == NULL) {
			log_warnx("session request %u for web[%u]: no channel "
			    "to it, dropped", req->id, req->sess.instance);
			ops_free(req);
			return (NULL);
		}
	}
	return (req);
}

int
ops_send(struct db_conn *c, struct db_req *req)
{
	const char	*values[17];
	int		 lengths[17], formats[17];
	uint64_t	 created, expires, vexpires;
	uint32_t	 update, lifetime, mask, required, invonly, verify;
	struct db_auth	*a = &req->auth;
	const char	*name = stmts[req->op].name;

	req->sent = 1;
	if (flow_is(req->op))
		return (flow_send(c, req));
	memset(lengths, 0, sizeof(lengths));
	memset(formats, 0, sizeof(formats));
	switch (req->op) {
	case OP_JWKS_LOAD:
		/* binary results: bytea as is, the bigint in 8 bytes */
		return (PQsendQueryPrepared(c->pg, name, 0, NULL, NULL, NULL,
		    1));
	case OP_JWKS_INSERT:
		created = htobe64(req->jwk.created);
		values[0] = req->jwk.kid;
		values[1] = req->jwk.alg;
		values[2] = req->jwk.jwk;
		values[3] = (const char *)req->jwk.sealed;
		values[4] = (const char *)&created;
		lengths[3] = req->jwk.sealed_len;
		lengths[4] = sizeof(created);
		formats[3] = formats[4] = 1;
		return (PQsendQueryPrepared(c->pg, name, 5, values, lengths,
		    formats, 0));
	case OP_SIGNUP:
		expires = htobe64(a->expires);
		values[0] = a->email;
		values[1] = a->name;
		values[2] = a->has_image ? a->image : NULL;
		values[3] = a->pwhash;
		values[4] = (const char *)a->token_hash;
		values[5] = (const char *)&expires;
		values[6] = a->ip;
		values[7] = a->ua;
		lengths[4] = sizeof(a->token_hash);
		lengths[5] = sizeof(expires);
		formats[4] = formats[5] = 1;
		required = htobe32(a->session);
		vexpires = htobe64(a->vexpires);
		values[8] = (const char *)&required;
		values[9] = a->has_mail ? (const char *)a->vhash : NULL;
		values[10] = (const char *)&vexpires;
		values[11] = a->has_mail ? a->rcpt : NULL;
		values[12] = a->has_mail ? a->tmpl : NULL;
		values[13] = a->has_mail ? (const char *)a->sealed : NULL;
		lengths[8] = sizeof(required);
		lengths[9] = sizeof(a->vhash);
		lengths[10] = sizeof(vexpires);
		lengths[13] = a->sealed_len;
		formats[8] = formats[9] = formats[10] = formats[13] = 1;
		values[14] = a->has_invite ? (const char *)a->invite_hash :
		    NULL;
		lengths[14] = sizeof(a->invite_hash);
		invonly = htobe32(ops_invite_only);
		values[15] = (const char *)&invonly;
		lengths[15] = sizeof(invonly);
		verify = htobe32(ops_verify_on);
		values[16] = (const char *)&verify;
		lengths[16] = sizeof(verify);
		formats[14] = formats[15] = formats[16] = 1;
		return (PQsendQueryPrepared(c->pg, name, 17, values, lengths,
		    formats, 1));
	case OP_CRED_GET:
		values[0] = a->email;
		return (PQsendQueryPrepared(c->pg, name, 1, values, lengths,
		    formats, 1));
	case OP_SESSION_NEW:
		expires = htobe64(a->expires);
		required = htobe32(ops_verify_required);
		values[0] = a->user_id;
		values[1] = (const char *)a->token_hash;
		values[2] = (const char *)&expires;
		values[3] = a->ip;
		values[4] = a->ua;
		values[5] = (const char *)&required;
		lengths[1] = sizeof(a->token_hash);
		lengths[2] = sizeof(expires);
		lengths[5] = sizeof(required);
		formats[1] = formats[2] = formats[5] = 1;
		return (PQsendQueryPrepared(c->pg, name, 6, values, lengths,
		    formats, 1));
	case OP_SESSION_GET:
		update = htobe32(ops_update > INT32_MAX ? INT32_MAX :
		    ops_update);
		lifetime = htobe32(ops_lifetime > INT32_MAX ? INT32_MAX :
		    ops_lifetime);
		values[0] = (const char *)req->sess.token_hash;
		values[1] = (const char *)&update;
		values[2] = (const char *)&lifetime;
		lengths[0] = sizeof(req->sess.token_hash);
		lengths[1] = sizeof(update);
		lengths[2] = sizeof(lifetime);
		formats[0] = formats[1] = formats[2] = 1;
		return (PQsendQueryPrepared(c->pg, name, 3, values, lengths,
		    formats, 1));
	case OP_SESSION_LIST:
	case OP_ACCOUNT_LIST:
		values[0] = (const char *)req->sess.token_hash;
		lengths[0] = sizeof(req->sess.token_hash);
		formats[0] = 1;
		return (PQsendQueryPrepared(c->pg, name, 1, values, lengths,
		    formats, 1));
	case OP_SESSION_DELETE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
		values[0] = (const char *)req->sess.token_hash;
		values[1] = req->sess.ip;
		values[2] = req->sess.ua;
		lengths[0] = sizeof(req->sess.token_hash);
		formats[0] = 1;
		return (PQsendQueryPrepared(c->pg, name, 3, values, lengths,
		    formats, 1));
	case OP_SESSION_REVOKE:
		values[0] = (const char *)req->sess.token_hash;
		values[1] = req->sess.has_target ?
		    (const char *)req->sess.target_hash : NULL;
		values[2] = req->sess.handle;
		values[3] = req->sess.ip;
		values[4] = req->sess.ua;
		lengths[0] = sizeof(req->sess.token_hash);
		lengths[1] = sizeof(req->sess.target_hash);
		formats[0] = formats[1] = 1;
		return (PQsendQueryPrepared(c->pg, name, 5, values, lengths,
		    formats, 1));
	case OP_SESSION_CRED:
		values[0] = (const char *)a->token_hash;
		lengths[0] = sizeof(a->token_hash);
		formats[0] = 1;
		return (PQsendQueryPrepared(c->pg, name, 1, values, lengths,
		    formats, 1));
	case OP_PW_SET:
		values[0] = (const char *)a->token_hash;
		values[1] = a->user_id;
		values[2] = a->pwhash;
		values[3] = a->ip;
		values[4] = a->ua;
		lengths[0] = sizeof(a->token_hash);
		formats[0] = 1;
		return (PQsendQueryPrepared(c->pg, name, 5, values, lengths,
		    formats, 1));
	case OP_PW_SET_REVOKE:
		expires = htobe64(a->expires);
		values[0] = (const char *)a->token_hash;
		values[1] = a->user_id;
		values[2] = a->pwhash;
		values[3] = (const char *)a->new_hash;
		values[4] = (const char *)&expires;
		values[5] = a->ip;
		values[6] = a->ua;
		lengths[0] = sizeof(a->token_hash);
		lengths[3] = sizeof(a->new_hash);
		lengths[4] = sizeof(expires);
		formats[0] = formats[3] = formats[4] = 1;
		return (PQsendQueryPrepared(c->pg, name, 7, values, lengths,
		    formats, 1));
	case OP_PW_REHASH:
		values[0] = a->user_id;
		values[1] = a->old_pwhash;
		values[2] = a->pwhash;
		return (PQsendQueryPrepared(c->pg, name, 3, values, lengths,
		    formats, 1));
	case OP_USER_UPDATE:
		mask = htobe32(req->sess.mask);
		values[0] = (const char *)req->sess.token_hash;
		values[1] = (const char *)&mask;
		values[2] = req->sess.name;
		values[3] = req->sess.has_image ? req->sess.image : NULL;
		lengths[0] = sizeof(req->sess.token_hash);
		lengths[1] = sizeof(mask);
		formats[0] = formats[1] = 1;
		return (PQsendQueryPrepared(c->pg, name, 4, values, lengths,
		    formats, 1));
	case OP_MAIL_ENQUEUE:
	case OP_MAIL_CLAIM:
	case OP_MAIL_DONE:
	case OP_MAIL_QUEUE:
	case OP_MAIL_INVITE:
		return (mail_send(c, req));
	default:
		if (ctlops_is(req->op))
			return (ctlops_send(c, req));
		fatalx("%s: op %d", __func__, req->op);
	}
}

void
ops_unavailable(struct db_req *req)
{
	if (flow_is(req->op)) {
		flow_unavailable(req);
		return;
	}
	switch (req->op) {
	case OP_JWKS_LOAD:
		ops_answer_i32(req->iev, IMSG_DB_JWKS_END, req->id, 0);
		break;
	case OP_JWKS_INSERT:
		ops_answer_i32(req->iev, IMSG_DB_JWKS_INSERTED, req->id, -1);
		break;
	case OP_SIGNUP:
	case OP_SESSION_NEW:
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_SESSION_LIST:
	case OP_SESSION_REVOKE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
	case OP_PW_SET:
	case OP_PW_SET_REVOKE:
	case OP_USER_UPDATE:
	case OP_ACCOUNT_LIST:
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		break;
	case OP_CRED_GET:
	case OP_SESSION_CRED:
		ops_answer_cred(req, -1, "", "");
		break;
	case OP_PW_REHASH:
		/* best effort, nobody waits: the old hash still verifies */
		log_warnx("password rehash for user %s: database unavailable",
		    req->auth.user_id);
		break;
	case OP_MAIL_ENQUEUE:
	case OP_MAIL_CLAIM:
	case OP_MAIL_DONE:
	case OP_MAIL_QUEUE:
	case OP_MAIL_INVITE:
		mail_unavailable(req);
		break;
	default:
		if (!ctlops_is(req->op))
			fatalx("%s: op %d", __func__, req->op);
		ctlops_unavailable(req);
		break;
	}
}

int
ops_result(struct db_req *req, PGresult *res)
{
	if (flow_is(req->op))
		return (flow_result(req, res));
	switch (req->op) {
	case OP_JWKS_LOAD:
		return (ops_jwks_load_result(req, res));
	case OP_JWKS_INSERT:
		return (ops_jwks_insert_result(req, res));
	case OP_SIGNUP:
	case OP_SESSION_NEW:
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_SESSION_REVOKE:
	case OP_SESSION_REVOKE_ALL:
	case OP_SESSION_REVOKE_OTHERS:
	case OP_PW_SET:
	case OP_PW_SET_REVOKE:
	case OP_USER_UPDATE:
		return (ops_auth_result(req, res));
	case OP_SESSION_LIST:
		return (ops_list_result(req, res));
	case OP_ACCOUNT_LIST:
		return (ops_account_result(req, res));
	case OP_CRED_GET:
	case OP_SESSION_CRED:
		return (ops_cred_result(req, res));
	case OP_PW_REHASH:
		return (ops_rehash_result(req, res));
	case OP_MAIL_ENQUEUE:
	case OP_MAIL_CLAIM:
	case OP_MAIL_DONE:
	case OP_MAIL_QUEUE:
	case OP_MAIL_INVITE:
		return (mail_result(req, res));
	default:
		if (!ctlops_is(req->op))
			fatalx("%s: op %d", __func__, req->op);
		return (ctlops_result(req, res));
	}
}

const char *
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
 * it is NULL, empty (unless empty_ok), holds a NUL or does not fit.
 */
int
ops_col_str(const PGresult *res, int row, int col, char *dst, size_t dstsz,
    int empty_ok)
{
	const char	*v;
	int		 len;

	if (PQgetisnull(res, row, col))
		return (-1);
	len = PQgetlength(res, row, col);
	v = PQgetvalue(res, row, col);
	if (len < 0 || (len == 0 && !empty_ok) || (size_t)len >= dstsz ||
	    memchr(v, '\0', len) != NULL)
		return (-1);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return (0);
}

static int
ops_copy_text(const PGresult *res, int row, int col, char *dst, size_t dstsz)
{
	return (ops_col_str(res, row, col, dst, dstsz, 0));
}

/* A nullable text column: NULL is an empty string and *present 0. */
int
ops_col_nstr(const PGresult *res, int row, int col, char *dst, size_t dstsz,
    int32_t *present)
{
	*present = 0;
	dst[0] = '\0';
	if (PQgetisnull(res, row, col))
		return (0);
	*present = 1;
	return (ops_col_str(res, row, col, dst, dstsz, 1));
}

/* An int8 of ms since the epoch, not before it; NULL is 0 if null_ok. */
int
ops_col_ms(const PGresult *res, int row, int col, uint64_t *v, int null_ok)
{
	uint64_t	 be;

	*v = 0;
	if (PQgetisnull(res, row, col))
		return (null_ok ? 0 : -1);
	if (PQgetlength(res, row, col) != sizeof(be))
		return (-1);
	memcpy(&be, PQgetvalue(res, row, col), sizeof(be));
	*v = be64toh(be);
	if (*v > INT64_MAX) {
		*v = 0;
		return (-1);
	}
	return (0);
}

int
ops_col_bool(const PGresult *res, int row, int col, int32_t *v)
{
	const char	*p;

	*v = 0;
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 1)
		return (-1);
	p = PQgetvalue(res, row, col);
	if (*p != 0 && *p != 1)
		return (-1);
	*v = *p;
	return (0);
}

/* A session's SESS_COLS from column c on, each checked when copied. */
static int
ops_session_get(const PGresult *res, int row, int c, struct auth_session *s)
{
	if (PQnfields(res) < c + SESS_NCOLS || PQbinaryTuples(res) != 1 ||
	    row < 0 || row >= PQntuples(res))
		return (-1);
	if (ops_col_str(res, row, c, s->id, sizeof(s->id), 0) == -1 ||
	    ops_col_ms(res, row, c + 1, &s->expires, 0) == -1 ||
	    ops_col_ms(res, row, c + 2, &s->created, 0) == -1 ||
	    ops_col_ms(res, row, c + 3, &s->updated, 0) == -1 ||
	    ops_col_str(res, row, c + 4, s->ip, sizeof(s->ip), 1) == -1 ||
	    ops_col_str(res, row, c + 5, s->ua, sizeof(s->ua), 1) == -1 ||
	    ops_col_str(res, row, c + 6, s->user_id, sizeof(s->user_id),
	    0) == -1)
		return (-1);
	return (0);
}

/* The REC_COLS of a row, each checked before it is copied. */
int
ops_rec_get(const PGresult *res, int row, struct auth_rec *r)
{
	if (PQnfields(res) < REC_NCOLS || PQbinaryTuples(res) != 1 ||
	    row < 0 || row >= PQntuples(res))
		return (-1);
	if (ops_session_get(res, row, 0, &r->s) == -1)
		return (-1);
	return (ops_user_get(res, row, &r->u));
}

/* The user columns of a record row (7 on): 0, or -1 out of bounds. */
int
ops_user_get(const PGresult *res, int row, struct auth_user *u)
{
	if (PQnfields(res) < REC_NCOLS || PQbinaryTuples(res) != 1 ||
	    row < 0 || row >= PQntuples(res))
		return (-1);
	if (ops_col_str(res, row, 7, u->id, sizeof(u->id), 0) == -1 ||
	    ops_col_str(res, row, 8, u->name, sizeof(u->name), 1) == -1 ||
	    ops_col_str(res, row, 9, u->email, sizeof(u->email), 0) == -1 ||
	    ops_col_bool(res, row, 10, &u->email_verified) == -1 ||
	    ops_col_nstr(res, row, 11, u->image, sizeof(u->image),
	    &u->has_image) == -1 ||
	    ops_col_ms(res, row, 12, &u->created, 0) == -1 ||
	    ops_col_ms(res, row, 13, &u->updated, 0) == -1 ||
	    ops_col_str(res, row, 14, u->role, sizeof(u->role), 1) == -1 ||
	    ops_col_bool(res, row, 15, &u->banned) == -1 ||
	    ops_col_nstr(res, row, 16, u->ban_reason, sizeof(u->ban_reason),
	    &u->has_ban_reason) == -1 ||
	    ops_col_ms(res, row, 17, &u->ban_expires, 1) == -1 ||
	    ops_col_bool(res, row, 18, &u->two_factor) == -1)
		return (-1);
	return (0);
}

/*
 * SIGNUP, SESSION_NEW, SESSION_GET, SESSION_DELETE, the revokes,
 * PW_SET and USER_UPDATE: a record, or the reason there is none.
 */
static int
ops_auth_result(struct db_req *req, const PGresult *res)
{
	const char	*name = stmts[req->op].name;
	char		 ebuf[200];
	int32_t		 none;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s: %s", name, ops_errmsg(res, ebuf, sizeof(ebuf)));
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (-1);
	}
	if (PQnfields(res) != REC_NCOLS || PQbinaryTuples(res) != 1 ||
	    PQntuples(res) > 1) {
		log_warnx("%s: unexpected result shape", name);
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (0);
	}
	if (PQntuples(res) == 0) {
		if (req->op == OP_SIGNUP && ops_verify_required) {
			ops_signup_decoy(req);
			return (0);
		}
		switch (req->op) {
		case OP_SIGNUP:
			none = AUTH_USER_EXISTS;
			break;
		case OP_SESSION_NEW:
			none = AUTH_BAD_CREDENTIALS;	/* the user vanished */
			break;
		default:
			none = AUTH_NO_SESSION;
			break;
		}
		ops_answer_auth(req, none, NULL);
		return (0);
	}
	/* invite-only, and the address has no pending invitation */
	if (req->op == OP_SIGNUP && PQgetisnull(res, 0, 7)) {
		ops_answer_auth(req, AUTH_INVITE_REQUIRED, NULL);
		return (0);
	}
	/* a new user without a session: verification is required */
	if (req->op == OP_SIGNUP && PQgetisnull(res, 0, 0)) {
		if (req->auth.has_mail)
			db_mail_nudge();
		memset(&ops_rec, 0, sizeof(ops_rec));
		if (ops_user_get(res, 0, &ops_rec.u) == -1) {
			log_warnx("%s: a column is out of bounds", name);
			ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
			return (0);
		}
		ops_answer_auth(req, AUTH_PENDING_VERIFY, &ops_rec);
		return (0);
	}
	if (req->op == OP_SIGNUP && req->auth.has_mail)
		db_mail_nudge();
	/*
	 * The user, without the session an unverified email (when
	 * verification is required) or a ban kept from being made.
	 */
	if (req->op == OP_SESSION_NEW && PQgetisnull(res, 0, 0)) {
		ops_answer_auth(req, ops_verify_required &&
		    PQgetlength(res, 0, 10) == 1 &&
		    *PQgetvalue(res, 0, 10) == 0 ? AUTH_NOT_VERIFIED :
		    AUTH_BANNED, NULL);
		return (0);
	}
	if (ops_rec_get(res, 0, &ops_rec) == -1) {
		log_warnx("%s: a column is out of bounds", name);
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (0);
	}
	ops_answer_auth(req, AUTH_OK, &ops_rec);
	return (0);
}

/*
 * The start of a listing for the asking session: the result checked,
 * with ncols columns after the record's, and the record of row 0 in
 * ops_rec.  1 and the rows in *n, or what the caller returns (answered).
 */
static int
ops_rows_begin(struct db_req *req, const PGresult *res, int ncols, int *n)
{
	const char	*name = stmts[req->op].name;
	char		 ebuf[200];

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s: %s", name, ops_errmsg(res, ebuf, sizeof(ebuf)));
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (-1);
	}
	if (PQnfields(res) != REC_NCOLS + ncols ||
	    PQbinaryTuples(res) != 1 || PQntuples(res) > DB_LIST_MAX) {
		log_warnx("%s: unexpected result shape", name);
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (0);
	}
	if ((*n = PQntuples(res)) == 0) {
		ops_answer_auth(req, AUTH_NO_SESSION, NULL);
		return (0);
	}
	if (ops_rec_get(res, 0, &ops_rec) == -1) {
		log_warnx("%s: a column is out of bounds", name);
		ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
		return (0);
	}
	return (1);
}

/*
 * LIST: a row per live session of the asking session's user, then the
 * asking record.  Every row is checked before anything is sent: all or
 * nothing, as web builds one answer of them.
 */
static int
ops_list_result(struct db_req *req, const PGresult *res)
{
	const char	*name = stmts[req->op].name;
	int		 i, n, pass, r;

	if ((r = ops_rows_begin(req, res, SESS_NCOLS, &n)) != 1)
		return (r);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			/* the user has no live session left: a race */
			if (PQgetisnull(res, i, REC_NCOLS))
				continue;
			memset(&ops_sess, 0, sizeof(ops_sess));
			if (ops_session_get(res, i, REC_NCOLS,
			    &ops_sess) == -1 ||
			    strcmp(ops_sess.user_id, ops_rec.u.id) != 0) {
				log_warnx("%s: row %d out of bounds", name, i);
				ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
				return (0);
			}
			if (pass == 0)
				continue;
			mbuf_init(&ops_mbuf);
			authrec_write_session(&ops_mbuf, &ops_sess);
			mbuf_u32(&ops_mbuf,
			    strcmp(ops_sess.id, ops_rec.s.id) == 0);
			ops_compose(req->iev, IMSG_DB_SESSION_ROW, req->id,
			    &ops_mbuf);
		}
	}
	ops_answer_auth(req, AUTH_OK, &ops_rec);
	return (0);
}

/*
 * ACCOUNT_LIST: IMSG_DB_ACCOUNT_ROW for each of the user's accounts,
 * then the asking session's record (IMSG_DB_SESSION_INFO).
 */
static int
ops_account_result(struct db_req *req, const PGresult *res)
{
	static char	 id[CERTAOS_MAX_ID + 1], aid[CERTAOS_MAX_ACCOUNT + 1];
	static char	 pid[CERTAOS_MAX_PROVIDER + 1], uid[CERTAOS_MAX_ID + 1];
	static char	 scope[CERTAOS_MAX_SCOPE + 1];
	const char	*name = stmts[req->op].name;
	uint64_t	 created, updated;
	int32_t		 has_scope;
	int		 i, n, r, c = REC_NCOLS;

	if ((r = ops_rows_begin(req, res, ACCT_NCOLS, &n)) != 1)
		return (r);
	for (i = 0; i < n; i++) {
		/* a user without any account */
		if (PQgetisnull(res, i, c))
			continue;
		if (ops_col_str(res, i, c, id, sizeof(id), 0) == -1 ||
		    ops_col_str(res, i, c + 1, aid, sizeof(aid), 0) == -1 ||
		    ops_col_str(res, i, c + 2, pid, sizeof(pid), 0) == -1 ||
		    ops_col_str(res, i, c + 3, uid, sizeof(uid), 0) == -1 ||
		    ops_col_ms(res, i, c + 4, &created, 0) == -1 ||
		    ops_col_ms(res, i, c + 5, &updated, 0) == -1 ||
		    ops_col_nstr(res, i, c + 6, scope, sizeof(scope),
		    &has_scope) == -1 ||
		    strcmp(uid, ops_rec.u.id) != 0) {
			log_warnx("%s: row %d out of bounds", name, i);
			ops_answer_auth(req, AUTH_UNAVAILABLE, NULL);
			return (0);
		}
		mbuf_init(&ops_mbuf);
		mbuf_str(&ops_mbuf, id);
		mbuf_str(&ops_mbuf, aid);
		mbuf_str(&ops_mbuf, pid);
		mbuf_str(&ops_mbuf, uid);
		mbuf_u64(&ops_mbuf, created);
		mbuf_u64(&ops_mbuf, updated);
		mbuf_str(&ops_mbuf, scope);
		ops_compose(req->iev, IMSG_DB_ACCOUNT_ROW, req->id, &ops_mbuf);
	}
	ops_answer_auth(req, AUTH_OK, &ops_rec);
	return (0);
}

/* PW_REHASH: nobody waits for it; a failure leaves the old hash. */
static int
ops_rehash_result(struct db_req *req, PGresult *res)
{
	char	 ebuf[200];

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warnx("%s: user %s: %s", stmts[req->op].name,
		    req->auth.user_id, ops_errmsg(res, ebuf, sizeof(ebuf)));
		return (-1);
	}
	log_debug("%s: user %s: %s row(s)", stmts[req->op].name,
	    req->auth.user_id, PQcmdTuples(res));
	return (0);
}

/*
 * CRED_GET: 1, the user's id and password hash; 0 and the id when the
 * user has no (usable) password; 0 and nothing when there is no user.
 */
static int
ops_cred_result(struct db_req *req, const PGresult *res)
{
	static char	 pwhash[CERTAOS_MAX_PWHASH + 1];
	char		 uid[CERTAOS_MAX_ID + 1], ebuf[200];
	int		 rv;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("%s: %s", stmts[req->op].name,
		    ops_errmsg(res, ebuf, sizeof(ebuf)));
		ops_answer_cred(req, -1, "", "");
		return (-1);
	}
	if (PQnfields(res) != 2 || PQbinaryTuples(res) != 1 ||
	    PQntuples(res) > 1) {
		log_warnx("%s: unexpected result shape", stmts[req->op].name);
		ops_answer_cred(req, -1, "", "");
		return (0);
	}
	if (PQntuples(res) == 0) {
		ops_answer_cred(req, 0, "", "");
		return (0);
	}
	if (ops_copy_text(res, 0, 0, uid, sizeof(uid)) == -1) {
		log_warnx("%s: user id out of bounds", stmts[req->op].name);
		ops_answer_cred(req, -1, "", "");
		return (0);
	}
	if (PQgetisnull(res, 0, 1)) {
		ops_answer_cred(req, 0, uid, "");
		return (0);
	}
	rv = ops_copy_text(res, 0, 1, pwhash, sizeof(pwhash));
	if (rv == -1) {
		/* nothing keys could verify against: no password */
		log_warnx("%s: user %s: password hash empty or longer than "
		    "%d bytes, ignored", stmts[req->op].name, uid,
		    CERTAOS_MAX_PWHASH);
		ops_answer_cred(req, 0, uid, "");
	} else
		ops_answer_cred(req, 1, uid, pwhash);
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
