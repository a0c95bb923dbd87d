/*
 * certaos.h: what every CertaOS program shares: compat macros, named
 * limits, process roles, the imsg catalogue and the fixed wire structs.
 */

#ifndef CERTAOS_H
#define CERTAOS_H

#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "imsg.h"

/* What libbsd lacks. */
#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif
#ifndef nitems
#define nitems(_a)	(sizeof((_a)) / sizeof((_a)[0]))
#endif

#define CERTAOS_VERSION		"0.1.0"
#define CERTAOS_CONF		"/etc/certaos.conf"
#define CERTAOS_USER		"_certaos"
#define CERTAOS_CHROOT		"/var/empty"
#define CERTAOS_SOCKET		"/run/certaos/certaosd.sock"
#define CERTAOS_ISSUER		"http://127.0.0.1:8080"
#define CERTAOS_BASEPATH	"/api/auth"

/*
 * Limits.  Every one of these is enforced somewhere and has a test at
 * limit + 1.
 */
#define CERTAOS_MAX_ISSUER	512		/* issuer URL bytes */
#define CERTAOS_MAX_CONNINFO	1024		/* libpq connection string */
#define CERTAOS_MAX_SECRET	1024		/* master secret file bytes */
#define CERTAOS_MIN_SECRET	32
#define CERTAOS_MAX_TLSFILE	(256 * 1024)	/* certificate or key file */
#define CERTAOS_MAX_PREFORK	64
/* keys processes that hash passwords, besides keys[0] */
#define CERTAOS_MAX_PWWORKERS	32
#define CERTAOS_MAX_DBPOOL	64
#define CERTAOS_MAX_LISTENERS	16
#define CERTAOS_MAX_HEADER_DEF	8192		/* request header bytes */
#define CERTAOS_MAX_HEADER_MIN	1024
#define CERTAOS_MAX_HEADER_MAX	(64 * 1024)
#define CERTAOS_MAX_BODY_DEF	(1024 * 1024)	/* request body bytes */
#define CERTAOS_MAX_BODY_MIN	1024
#define CERTAOS_MAX_BODY_MAX	(64 * 1024 * 1024)
#define CERTAOS_TIMEOUT_HDR_DEF	10		/* s to receive the headers */
#define CERTAOS_TIMEOUT_IDLE_DEF 60		/* s an idle keep-alive lives */
#define CERTAOS_TIMEOUT_MAX	3600
#define CERTAOS_MAX_CLIENTS	1024		/* connections per web worker */
#define CERTAOS_MAX_CTL_CONNS	8		/* control connections per uid */
#define CERTAOS_MAX_INCLUDE	8		/* config include depth */
#define CERTAOS_MAX_TOKEN	8192		/* config lexer token bytes */
#define CERTAOS_MAX_PASSWORD	128		/* bytes of a password to hash */
#define CERTAOS_MAX_PWHASH	256		/* encoded argon2id string */
#define CERTAOS_MAX_JWS_INPUT	8192		/* signing input bytes */
#define CERTAOS_MAX_KID		64
#define CERTAOS_MAX_JWK		2048		/* one public JWK, JSON */
#define CERTAOS_MAX_SEALED	4096		/* one sealed private key */
#define CERTAOS_DB_TIMEOUT	5		/* s a db request may wait */

/* argon2id defaults: OWASP's second profile. */
#define CERTAOS_ARGON2_MEMORY	19456		/* KiB */
#define CERTAOS_ARGON2_TIME	2
#define CERTAOS_ARGON2_LANES	1

/* Accounts and sessions (Better Auth core API). */
#define CERTAOS_COOKIE_PREFIX	"certaos"
#define CERTAOS_MAX_COOKIE_PREFIX 32
#define CERTAOS_SESSION_LIFETIME (7 * 86400)	/* s */
#define CERTAOS_SESSION_UPDATE	86400		/* s: sliding-expiry step */
#define CERTAOS_SESSION_SHORT	86400		/* s: rememberMe false */
#define CERTAOS_SESSION_FRESH	86400		/* s: fresh-age, 0 off */
#define CERTAOS_PW_MIN		8		/* characters */
#define CERTAOS_PW_MAX		128
#define CERTAOS_MAX_ORIGINS	16		/* trusted-origins entries */
#define CERTAOS_MAX_ORIGIN	256		/* bytes of one origin */
#define CERTAOS_TOKEN_LEN	32		/* session token characters */
#define CERTAOS_MAX_ID		64		/* row ids */
#define CERTAOS_MAX_EMAIL	254
#define CERTAOS_MAX_NAME	256
#define CERTAOS_MAX_IMAGE	2048		/* image URL bytes */
#define CERTAOS_MAX_URL		2048		/* callbackURL bytes */
#define CERTAOS_MAX_IP		64
#define CERTAOS_MAX_UA		512		/* user agent bytes kept */
#define CERTAOS_MAX_ROLE	64
#define CERTAOS_MAX_ATTRS	2048		/* invitation attributes, JSON */
#define CERTAOS_INVITE_TTL	(7 * 86400)	/* s: an invitation, default */
#define CERTAOS_INVITE_TTL_MAX	(365 * 86400)
#define CERTAOS_MAX_REASON	512
#define CERTAOS_MAX_ACCOUNT	255		/* accounts.account_id */
#define CERTAOS_MAX_PROVIDER	64		/* accounts.provider_id */
#define CERTAOS_MAX_SCOPE	1024		/* accounts.scope */
/* "token.base64(hmac)" as the cookie carries it, before URL encoding */
#define CERTAOS_MAX_CTOKEN	128

/* Process roles. */
enum certaos_proc {
	PROC_PARENT = 0,
	PROC_WEB,
	PROC_KEYS,
	PROC_DB,
	PROC_CONTROL,		/* certaosctl, on the control socket */
	PROC_MAIL,		/* outbox delivery: sendmail, SMTP, files */
	PROC_MAX
};

extern const char *const certaos_procnames[PROC_MAX];
const char	*proc_name(enum certaos_proc);

/*
 * The imsg catalogue.  Direction in brackets; "->" is the request,
 * "<-" the answer.  The peerid of a request is its id, echoed in the
 * answer.  Payload layouts: a struct named here (exact length), or
 * fields written with msg.h (mbuf/mread), listed in order.
 */
enum imsg_type {
	IMSG_NONE = 0,

	/* parent -> every child */
	IMSG_CTL_PROCFD,	/* struct ctl_procfd + fd: a peer channel */
	IMSG_CFG_WEB,		/* struct cfg_web */
	IMSG_CFG_LISTENER,	/* struct cfg_listener + fd (first push only) */
	IMSG_CFG_TLS_CERT,	/* chunk of PEM; peerid = listener id */
	IMSG_CFG_TLS_KEY,	/* chunk of PEM; peerid = listener id */
	IMSG_CFG_KEYS,		/* struct cfg_keys */
	IMSG_CFG_SECRET,	/* the master secret, bytes (keys only) */
	IMSG_CFG_DB,		/* struct cfg_db (db only) */
	IMSG_CFG_DONE,		/* no payload: swap in what was sent */
	IMSG_CTL_START,		/* no payload: all children acked, go */
	IMSG_CTL_VERBOSE,	/* int verbosity */
	IMSG_CTL_STATUS,	/* no payload; child answers IMSG_CTL_STATUS */
	IMSG_CFG_RATELIMIT,	/* struct cfg_ratelimit + fd (first push
				 *    only): the shared counter table (web) */

	/* child -> parent */
	IMSG_CFG_ACK,		/* no payload: config taken */
	IMSG_CTL_STATUS_REPLY,	/* struct ctl_status */

	/* control socket: certaosctl <-> parent (peerid = CTL_VERSION) */
	IMSG_CTL_RELOAD,	/* -> no payload */
	IMSG_CTL_LOG_VERBOSE,	/* -> no payload */
	IMSG_CTL_LOG_BRIEF,	/* -> no payload */
	IMSG_CTL_SHOW_STATUS,	/* -> no payload; <- STATUS_REPLY* END */
	IMSG_CTL_OK,		/* <- no payload */
	IMSG_CTL_FAIL,		/* <- NUL-terminated message */
	IMSG_CTL_END,		/* <- end of a listing */

	/* web -> db */
	IMSG_DB_PING,		/* -> none; <- IMSG_DB_PONG */
	IMSG_DB_PONG,		/* int32: 1 database reachable, 0 not */

	/* web -> keys */
	IMSG_KEYS_PING,		/* -> none; <- IMSG_KEYS_PONG */
	IMSG_KEYS_PONG,		/* int32: number of signing keys loaded */
	IMSG_KEYS_JWKS_GET,	/* -> none; <- IMSG_KEYS_JWKS */
	IMSG_KEYS_JWKS,		/* u32 generation, string JWKS JSON */
	IMSG_KEYS_JWKS_CHANGED,	/* keys -> web, u32 generation */
	IMSG_KEYS_SIGN,		/* -> string alg, string kid ("" = current),
				 *    bytes payload; <- IMSG_KEYS_SIGNED */
	IMSG_KEYS_SIGNED,	/* string compact JWS */
	IMSG_KEYS_HMAC,		/* -> u32 purpose, bytes data;
				 *    <- IMSG_KEYS_HMAC_RESULT */
	IMSG_KEYS_HMAC_RESULT,	/* bytes (32) */
	IMSG_KEYS_PWHASH,	/* -> bytes password; <- IMSG_KEYS_PWHASH_RESULT */
	IMSG_KEYS_PWHASH_RESULT,/* string encoded argon2id */
	IMSG_KEYS_PWVERIFY,	/* -> bytes password, string encoded;
				 *    <- IMSG_KEYS_PWVERIFY_RESULT */
	IMSG_KEYS_PWVERIFY_RESULT, /* int32: 1 match, 0 no match */
	IMSG_KEYS_ERROR,	/* string: why a keys request failed */

	/* keys -> db */
	IMSG_DB_JWKS_LOAD,	/* -> none; <- IMSG_DB_JWKS_ROW* then _END */
	IMSG_DB_JWKS_ROW,	/* string kid, string alg, string public JWK,
				 *    bytes sealed private key, u64 created */
	IMSG_DB_JWKS_END,	/* int32: 1 ok, 0 database unavailable */
	IMSG_DB_JWKS_INSERT,	/* -> a ROW's fields; <- IMSG_DB_JWKS_INSERTED */
	IMSG_DB_JWKS_INSERTED,	/* int32: 1 inserted, 0 another key won,
				 *    -1 database unavailable */
	IMSG_DB_JWKS_NOTIFY,	/* db -> keys: jwks changed in the database */

	/*
	 * Accounts and sessions.  web gives keys what holds a secret (a
	 * password, a presented token); keys hashes, verifies and signs,
	 * and asks db with hashes only.  peerid is always web's request id;
	 * keys carries it, and web's instance, through to db so that the
	 * answer of a lookup goes straight back to the right web (one
	 * chain web -> keys -> db -> web on the get-session path).
	 *
	 * A "record" (lib/authrec.h) is a session and its user.
	 */
	/* web -> keys */
	IMSG_KEYS_SIGNUP,	/* -> u32 flags, str email, str name, str image
				 *    (nullable), bytes password, str ip,
				 *    str ua, str callbackURL, str invitation
				 *    token ("": none);
				 *    <- IMSG_KEYS_AUTH (AUTH_NOT_VERIFIED:
				 *    made, but no session until verified) */
	IMSG_KEYS_SIGNIN,	/* -> u32 flags, str email, bytes password,
				 *    str ip, str ua; <- IMSG_KEYS_AUTH */
	IMSG_KEYS_SESSION,	/* -> u32 flags, u32 op (AUTH_OP_*),
				 *    str presented token (raw or signed),
				 *    and for AUTH_OP_DELETE str ip, str ua;
				 *    <- IMSG_DB_SESSION_INFO from db, or
				 *    IMSG_KEYS_AUTH with AUTH_BAD_TOKEN */
	IMSG_KEYS_AUTH,		/* keys -> web: i32 status (AUTH_*), str
				 *    signed token ("" unless ok), record
				 *    (only when ok) */
	/* keys -> db (id = keys' own request id) */
	IMSG_DB_SIGNUP,		/* -> str email, str name, str image (nullable),
				 *    str pwhash, bytes token hash, u64
				 *    expires (ms), str ip, str ua, u32 make
				 *    a session, u32 has mail, and with mail:
				 *    the sealed mail (str recipient, str
				 *    template, bytes sealed), bytes its
				 *    token's hash, u64 its expiry (ms);
				 *    then bytes the invitation token's hash
				 *    (32, or 0: none); <- IMSG_DB_AUTH_REPLY */
	IMSG_DB_CRED_GET,	/* -> str email; <- IMSG_DB_CRED */
	IMSG_DB_CRED,		/* i32 status (1 found, 0 none, -1 down),
				 *    str user id, str pwhash */
	IMSG_DB_SESSION_NEW,	/* -> str user id, bytes token hash, u64
				 *    expires (ms), str ip, str ua;
				 *    <- IMSG_DB_AUTH_REPLY */
	IMSG_DB_AUTH_REPLY,	/* i32 status (AUTH_*), record when AUTH_OK */
	/* keys -> db, answered to web[instance] (id = web's request id) */
	IMSG_DB_SESSION_GET,	/* -> u32 web instance, u32 op, bytes token
				 *    hash, and for AUTH_OP_DELETE str ip,
				 *    str ua; <- IMSG_DB_SESSION_INFO to web */
	IMSG_DB_SESSION_INFO,	/* db -> web: i32 status (AUTH_*), record
				 *    when AUTH_OK */
	/* session management: list and revoke, same chain as above */
	IMSG_KEYS_SESSION_OP,	/* web -> keys: u32 flags, u32 op
				 *    (AUTH_OP_LIST, _REVOKE, _REVOKE_ALL,
				 *    _REVOKE_OTHERS), str presented token,
				 *    str target ("" unless _REVOKE: a token
				 *    or a handle from list-sessions), str
				 *    ip, str ua */
	IMSG_DB_SESSION_OP,	/* keys -> db: u32 web instance, u32 op,
				 *    bytes token hash (32), bytes target
				 *    hash (32, or 0 when no target), str
				 *    target handle (a session id, or ""),
				 *    str ip, str ua;
				 *    <- IMSG_DB_SESSION_ROW* (AUTH_OP_LIST)
				 *    then IMSG_DB_SESSION_INFO, to web */
	/* account changes */
	IMSG_KEYS_USER_UPDATE,	/* web -> keys: u32 flags, str presented,
				 *    u32 mask (USER_F_*), str name, str
				 *    image (nullable) */
	IMSG_DB_USER_UPDATE,	/* keys -> db: u32 web instance, bytes
				 *    token hash (32), u32 mask, str name,
				 *    str image (nullable); <- IMSG_DB_SESSION_
				 *    INFO to web (the updated record) */
	IMSG_KEYS_PW_CHANGE,	/* web -> keys: u32 flags (AUTH_F_SIGNED,
				 *    AUTH_F_REVOKE), str presented, bytes
				 *    current password, bytes new password,
				 *    str ip, str ua; <- IMSG_KEYS_AUTH (the
				 *    token: a new one with AUTH_F_REVOKE,
				 *    else the presented one) */
	IMSG_KEYS_PW_CHECK,	/* web -> keys: u32 flags (AUTH_F_SIGNED),
				 *    str presented, bytes password; is it
				 *    the session user's? <- IMSG_KEYS_RESULT */
	IMSG_KEYS_RESULT,	/* keys -> web: i32 status (AUTH_*) */
	IMSG_DB_SESSION_CRED,	/* keys -> db: bytes token hash (32);
				 *    <- IMSG_DB_CRED of the session's user
				 *    (0: no live session, or no password) */
	IMSG_DB_PW_SET,		/* keys -> db: bytes token hash (32), str
				 *    user id, str new pwhash, u32 revoke,
				 *    bytes new token hash (32, or 0 unless
				 *    revoke), u64 expires (ms), str ip, str
				 *    ua; <- IMSG_DB_AUTH_REPLY (the new
				 *    session's record with revoke, else the
				 *    asking one's).  revoke: every session of
				 *    the user is deleted first. */
	IMSG_DB_PW_REHASH,	/* keys -> db: str user id, str old pwhash,
				 *    str new pwhash: replaced only if still
				 *    the old one (an imported scrypt hash, or
				 *    an older argon2id cost); no answer */
	IMSG_DB_SESSION_ROW,	/* db -> web: one of the user's sessions
				 *    (authrec_write_session) + u32 1 if it
				 *    is the asking session */

	/*
	 * Operator commands (certaosctl user, audit, import): certaosctl
	 * -> parent -> db and back, the same types on both hops.  On the
	 * control socket the peerid is CTL_VERSION; on the parent<->db
	 * hop it is the control connection's id, by which the parent
	 * relays the answer (and drops it if the client went).  Every
	 * payload is read and written by lib/ctlrec.c.  Answers: rows
	 * then IMSG_CTL_END, or IMSG_CTL_OK, IMSG_CTL_IMPORTED, or
	 * IMSG_CTL_FAIL (NUL-terminated reason).
	 */
	IMSG_CTL_USER_LIST,	/* -> str role ("" any), u32 limit;
				 *    <- IMSG_CTL_USER* then IMSG_CTL_END */
	IMSG_CTL_USER_SHOW,	/* -> str email; <- IMSG_CTL_USER then END,
				 *    or FAIL */
	IMSG_CTL_USER,		/* <- a user (struct ctl_user) */
	IMSG_CTL_USER_SET,	/* -> u32 CTL_USER_*, str email, str arg
				 *    (the role, or the ban reason);
				 *    <- IMSG_CTL_OK or FAIL */
	IMSG_CTL_AUDIT,		/* -> str email ("" any), u64 since (ms,
				 *    0 any), u32 limit; <- IMSG_CTL_AUDIT_ROW*
				 *    then IMSG_CTL_END (oldest first) */
	IMSG_CTL_AUDIT_ROW,	/* <- struct ctl_audit */
	IMSG_CTL_IMPORT,	/* -> u32 CTL_IMPORT_*, u32 n (1 to
				 *    CTL_IMPORT_BATCH), n rows of that kind;
				 *    <- IMSG_CTL_IMPORTED */
	IMSG_CTL_IMPORTED,	/* <- u32 imported, u32 skipped */
	/* keys -> db: a sign-in refused before a session was asked for */
	IMSG_DB_AUDIT_SIGNIN,	/* -> str user id ("" none), str email,
				 *    u32 AUDIT_SIGNIN_*, str ip, str ua;
				 *    no answer */

	/*
	 * Mail (libexec/certaos-mail).  An outbox row holds its message
	 * sealed by keys (AES-256-GCM under the HKDF "mail" sub-key): db
	 * never sees the links' tokens.  The sealed plaintext is msg.h
	 * fields: str recipient, str template, u32 n, n x (str name, str
	 * value).  mail claims due rows from db, has keys open each,
	 * renders and delivers, and tells db the outcome.
	 */
	IMSG_CFG_MAIL,		/* parent -> mail: struct cfg_mail */
	IMSG_DB_MAIL_NUDGE,	/* db -> mail: no payload; the outbox has a
				 *    new row, deliver now */
	IMSG_DB_MAIL_CLAIM,	/* mail -> db: u32 max rows, u32 lease (s);
				 *    <- IMSG_DB_MAIL_ROW* then _CLAIMED */
	IMSG_DB_MAIL_ROW,	/* u64 id, u32 attempts, bytes sealed */
	IMSG_DB_MAIL_CLAIMED,	/* i32: rows, or -1 database unavailable */
	IMSG_DB_MAIL_DONE,	/* mail -> db: u64 id, u32 outcome (MAIL_*),
				 *    str error, u32 retry base (s), u32 max
				 *    attempts; no answer */
	IMSG_KEYS_MAIL_OPEN,	/* mail -> keys: u64 id, bytes sealed;
				 *    <- IMSG_KEYS_MAIL_OPENED */
	IMSG_KEYS_MAIL_OPENED,	/* i32 1 ok / 0 does not open, u64 id,
				 *    bytes plaintext (empty unless ok) */
	/* certaosctl mail test: control -> parent -> keys -> parent -> db */
	IMSG_CTL_MAIL_TEST,	/* control -> parent: str address */
	IMSG_CTL_MAIL_QUEUE,	/* control -> parent: no payload;
				 *    <- IMSG_CTL_MAIL_QROW* then IMSG_CTL_END */
	IMSG_CTL_MAIL_QROW,	/* u64 id, str recipient, str template, u32
				 *    attempts, u64 next attempt (ms), u32 1
				 *    if failed, str last error */
	IMSG_KEYS_MAIL_TEST,	/* parent -> keys: str address (peerid: the
				 *    control request); <- IMSG_KEYS_MAIL_SEALED
				 *    or IMSG_KEYS_ERROR */
	IMSG_KEYS_MAIL_SEALED,	/* keys -> parent: str recipient, str
				 *    template, bytes sealed */
	IMSG_DB_MAIL_ENQUEUE,	/* parent -> db: the fields of _SEALED;
				 *    <- IMSG_DB_MAIL_QUEUED */
	IMSG_DB_MAIL_QUEUED,	/* i32: 1 queued, -1 database unavailable */
	IMSG_DB_MAIL_QUEUE,	/* parent -> db: no payload; <- IMSG_CTL_MAIL_
				 *    QROW* then IMSG_DB_MAIL_QUEUE_END */
	IMSG_DB_MAIL_QUEUE_END,	/* i32: rows, or -1 database unavailable */

	/*
	 * Accounts of the session's user (list-accounts, account-info):
	 * IMSG_KEYS_SESSION_OP with AUTH_OP_ACCOUNTS -> IMSG_DB_SESSION_OP
	 * -> IMSG_DB_ACCOUNT_ROW* then IMSG_DB_SESSION_INFO, to web.
	 * Never a password hash or a provider token.
	 */
	IMSG_DB_ACCOUNT_ROW,	/* db -> web: str id, str accountId, str
				 *    providerId, str userId, u64 created
				 *    (ms), u64 updated (ms), str scope ("":
				 *    none) */

	/*
	 * Better Auth's dont_remember cookie (rememberMe false): its value
	 * is the same signed "true" for every session, so web asks once.
	 */
	IMSG_KEYS_DONT_REMEMBER, /* web -> keys: no payload;
				 *    <- IMSG_KEYS_DONT_REMEMBER_VALUE */
	IMSG_KEYS_DONT_REMEMBER_VALUE, /* keys -> web: str "true." and the
				 *    base64 HMAC of "true" under the cookie
				 *    key ("" while keys has no secret yet) */

	/*
	 * Email flows (enum flow_kind): verification, password reset,
	 * change-email, delete-user.  keys makes the token (only its hash
	 * goes to db) and seals the mail with the link (keys_mail_seal);
	 * db stores both in one statement.  Sending is two steps: who is
	 * the user (FLOW_WHO), then the token and its mail (FLOW_SEND).
	 */
	IMSG_KEYS_FLOW_SEND,	/* web -> keys: u32 kind, u32 flags
				 *    (AUTH_F_SIGNED), str presented ("":
				 *    none), str email (the address asked
				 *    for; change-email: the new one), str
				 *    callbackURL, str ip, str ua;
				 *    <- IMSG_KEYS_RESULT */
	IMSG_DB_FLOW_WHO,	/* keys -> db: u32 kind, bytes session hash
				 *    (32, or 0: by email), str email;
				 *    <- IMSG_DB_FLOW_USER */
	IMSG_DB_FLOW_USER,	/* i32 status (AUTH_OK, AUTH_NO_SESSION:
				 *    no such session or user, AUTH_
				 *    UNAVAILABLE), str user id, str email,
				 *    str name, u32 email verified, u32 has a
				 *    password, u64 session created (ms) */
	IMSG_DB_FLOW_SEND,	/* keys -> db: u32 kind, str user id, str
				 *    data (change-email and its
				 *    confirmation: the new address),
				 *    the sealed mail (str recipient, str
				 *    template, bytes sealed), bytes token
				 *    hash (32), u64 expires (ms), str ip,
				 *    str ua; <- IMSG_DB_FLOW_DONE */
	IMSG_DB_FLOW_DONE,	/* db -> keys: i32 status, u32 has record,
				 *    record when it has, str the new
				 *    address (AUTH_CHANGE_CONFIRMED, else
				 *    "") */
	IMSG_KEYS_FLOW_USE,	/* web -> keys: u32 kind, u32 flags
				 *    (AUTH_F_SIGNED, AUTH_F_SIGNIN), str
				 *    token from the link, str presented
				 *    session (""), bytes new password
				 *    (FLOW_RESET), str ip, str ua, str
				 *    callbackURL (delete-user: its link's;
				 *    verify-email: for the link of a
				 *    confirmed change-email);
				 *    <- IMSG_KEYS_FLOW_DONE */
	IMSG_DB_FLOW_USE,	/* keys -> db: u32 kind, bytes token hash
				 *    (32), bytes session hash (32 or 0), str
				 *    pwhash (FLOW_RESET, else ""), bytes new
				 *    session hash (32 or 0), u64 expires
				 *    (ms), str ip, str ua;
				 *    <- IMSG_DB_FLOW_DONE */
	IMSG_KEYS_FLOW_DONE,	/* keys -> web: i32 status, str signed
				 *    token of a new session (""), u32 has
				 *    record, record when it has */

	/*
	 * Invitations (certaosctl user invite, invites).  invite: control
	 * -> parent (checks it) -> keys (token, link, sealed mail) ->
	 * parent -> db (the invitation and its outbox row, one statement)
	 * -> parent -> control.  invites: the control relay to db, rows of
	 * struct ctl_invite then IMSG_CTL_END.
	 */
	IMSG_CTL_USER_INVITE,	/* control -> parent: str email, str role,
				 *    str attributes (a JSON object), u32
				 *    lifetime (s); <- IMSG_CTL_OK or FAIL */
	IMSG_KEYS_INVITE,	/* parent -> keys: the same fields;
				 *    <- IMSG_KEYS_INVITE_SEALED or
				 *    IMSG_KEYS_ERROR */
	IMSG_KEYS_INVITE_SEALED, /* keys -> parent: str email, str role,
				 *    str attributes, bytes token hash (32),
				 *    u64 expires (ms), str recipient, str
				 *    template, bytes sealed */
	IMSG_DB_INVITE,		/* parent -> db: the fields of _SEALED;
				 *    <- IMSG_DB_INVITED */
	IMSG_DB_INVITED,	/* i32: 1 made, -1 database unavailable */
	IMSG_CTL_USER_INVITES,	/* -> u32 limit; <- IMSG_CTL_INVITE* then
				 *    IMSG_CTL_END (pending, oldest first) */
	IMSG_CTL_INVITE,	/* <- struct ctl_invite */

	IMSG_MAX
};

/* Outcome of one delivery (IMSG_DB_MAIL_DONE). */
enum mail_outcome {
	MAIL_SENT = 0,
	MAIL_TEMPFAIL,		/* retried after a backoff */
	MAIL_PERMFAIL,		/* given up: failed_at is set */
	MAIL_OUTCOME_MAX
};

/* Version of the control protocol, carried in every request's peerid. */
#define CTL_VERSION		1

/* IMSG_CTL_USER_SET: what to change */
enum ctl_user_op {
	CTL_USER_ROLE = 1,	/* arg: the new role */
	CTL_USER_DISABLE,	/* arg: the reason ("" none) */
	CTL_USER_ENABLE,	/* arg: "" */
	CTL_USER_MAX
};

/* IMSG_CTL_IMPORT: the kind of rows */
enum ctl_import_kind {
	CTL_IMPORT_USERS = 1,
	CTL_IMPORT_ACCOUNTS,
	CTL_IMPORT_SESSIONS,
	CTL_IMPORT_MAX
};

/* IMSG_DB_AUDIT_SIGNIN: why a sign-in was refused */
enum audit_signin {
	AUDIT_SIGNIN_UNKNOWN_EMAIL = 1,
	AUDIT_SIGNIN_NO_PASSWORD,	/* the user has no credential */
	AUDIT_SIGNIN_BAD_PASSWORD,
	AUDIT_SIGNIN_MAX
};

/* HMAC purposes: each has its own HKDF-derived key in certaos-keys. */
/* Outcomes of an account or session request (IMSG_*_AUTH*, _INFO). */
enum auth_status {
	AUTH_OK = 0,
	AUTH_UNAVAILABLE,	/* database down: 503 */
	AUTH_BAD_CREDENTIALS,	/* unknown email or wrong password */
	AUTH_USER_EXISTS,
	AUTH_NO_SESSION,	/* unknown, expired or revoked */
	AUTH_BAD_TOKEN,		/* malformed or badly signed token */
	AUTH_BANNED,
	AUTH_BAD_PASSWORD,	/* change-password: current one wrong */
	AUTH_NOT_VERIFIED,	/* email verification required, not done */
	AUTH_BAD_FLOW_TOKEN,	/* emailed token unknown, used or expired */
	AUTH_EMAIL_MISMATCH,	/* send-verification-email for another */
	AUTH_ALREADY_VERIFIED,
	AUTH_SAME_EMAIL,	/* change-email to the address it has */
	AUTH_NOT_FRESH,		/* delete-user: session too old */
	AUTH_NO_CREDENTIAL,	/* delete-user with a password: none set */
	AUTH_INVITE_REQUIRED,	/* signup invite-only: no invitation */
	AUTH_PENDING_VERIFY,	/* sign-up made the user (the record, with
				 * no session): verification is required */
	AUTH_CHANGE_CONFIRMED,	/* verify-email took a change-email
				 * confirmation: the new address is mailed */
	AUTH_MAX
};

/* What IMSG_KEYS_SESSION / IMSG_DB_SESSION_GET do with the session. */
enum auth_op {
	AUTH_OP_GET = 1,	/* look up (and slide the expiry) */
	AUTH_OP_DELETE,		/* sign out: delete it */
	AUTH_OP_LIST,		/* the user's live sessions */
	AUTH_OP_REVOKE,		/* one of the user's sessions (target) */
	AUTH_OP_REVOKE_ALL,	/* all of them, the asking one too */
	AUTH_OP_REVOKE_OTHERS,	/* all but the asking one */
	AUTH_OP_ACCOUNTS,	/* the user's accounts (IMSG_DB_ACCOUNT_ROW) */
	AUTH_OP_MAX
};

/* flags of IMSG_KEYS_SIGNUP / _SIGNIN / _SESSION */
#define AUTH_F_SHORT		0x01	/* rememberMe false: short session */
#define AUTH_F_SIGNED		0x02	/* token presented as token.sig */
#define AUTH_F_REVOKE		0x04	/* change-password: revoke others */
#define AUTH_F_SIGNIN		0x08	/* verify-email: sign in */

/*
 * What an emailed token is for (IMSG_*_FLOW_*).  FLOW_RESET_CHECK and
 * FLOW_VERIFY are used, not sent: the link of a reset is checked before
 * the form, and verify-email takes tokens of FLOW_VERIFY, of
 * FLOW_CHANGE_EMAIL and of FLOW_CHANGE_CONFIRM alike.  keys turns a
 * change-email of a verified address into FLOW_CHANGE_CONFIRM (email
 * change-confirmation on): the current address confirms first, then the
 * new one gets its FLOW_CHANGE_EMAIL link.
 */
enum flow_kind {
	FLOW_VERIFY = 1,	/* verify-email */
	FLOW_RESET,		/* request-password-reset, reset-password */
	FLOW_CHANGE_EMAIL,	/* change-email: the link to the new address */
	FLOW_DELETE,		/* delete-user: the emailed confirmation */
	FLOW_RESET_CHECK,	/* GET reset-password/:token */
	FLOW_CHANGE_CONFIRM,	/* change-email: the current address's link */
	FLOW_MAX
};

/* mask of IMSG_KEYS_USER_UPDATE / IMSG_DB_USER_UPDATE */
#define USER_F_NAME		0x01
#define USER_F_IMAGE		0x02

enum hmac_purpose {
	HMAC_COOKIE = 1,	/* signed cookie values */
	HMAC_TOKEN,		/* token hashing pepper */
	HMAC_MAX
};

/*
 * Test hook: a child whose environment has CERTAOS_REGRESS_SYSCALL set to
 * its role name attempts a call its seccomp filter denies, right after the
 * sandbox is in place.  The test then expects its death by SIGSYS.
 */
#define CERTAOS_REGRESS_ENV	"CERTAOS_REGRESS_SYSCALL"

struct ctl_procfd {
	int32_t		 proc;		/* enum certaos_proc of the peer */
	int32_t		 instance;
};

struct cfg_web {
	char		 issuer[CERTAOS_MAX_ISSUER];
	char		 basepath[64];
	uint32_t	 max_header;
	uint32_t	 max_body;
	uint32_t	 timeout_header;
	uint32_t	 timeout_idle;
	uint32_t	 nlisteners;
	char		 cookie_prefix[CERTAOS_MAX_COOKIE_PREFIX + 1];
	uint32_t	 session_lifetime;	/* s: cookie Max-Age */
	uint32_t	 pw_min;		/* password characters */
	uint32_t	 pw_max;
	uint32_t	 norigins;
	char		 origins[CERTAOS_MAX_ORIGINS][CERTAOS_MAX_ORIGIN];
	uint32_t	 session_fresh;		/* s: fresh-age, 0 off */
	uint32_t	 verify;		/* VERIFY_* */
	uint32_t	 delete_user;		/* 1: delete-user on */
	uint32_t	 mail;			/* 1: a mail method is set */
	uint32_t	 signup;		/* SIGNUP_* */
};

/*
 * Rate limits (web).  The counters live in one table shared by every
 * web worker: a memfd the master creates once at start, nbuckets
 * buckets of CERTAOS_RL_BUCKET bytes, CERTAOS_RL_WAYS counters each
 * (libexec/certaos-web/ratelimit.c).  Paths are relative to the base
 * path; a trailing '*' makes a prefix.
 */
#define CERTAOS_MAX_RL_RULES	64		/* per-path rules */
#define CERTAOS_MAX_RL_PATH	64		/* bytes of a rule's path */
#define CERTAOS_MAX_PROXIES	32		/* trusted-proxy entries */
#define CERTAOS_RL_WINDOW_DEF	10		/* s */
#define CERTAOS_RL_MAX_DEF	100		/* requests per window */
#define CERTAOS_RL_WINDOW_MAX	86400		/* s */
#define CERTAOS_RL_MAX_MAX	1000000
#define CERTAOS_RL_ENTRIES_DEF	16384		/* counters in the table */
#define CERTAOS_RL_ENTRIES_MIN	1024
#define CERTAOS_RL_ENTRIES_MAX	(1024 * 1024)
#define CERTAOS_RL_BUCKET	128		/* bytes of one bucket */
#define CERTAOS_RL_WAYS		5		/* counters per bucket */

struct cfg_rl_rule {
	char		 path[CERTAOS_MAX_RL_PATH];
	uint32_t	 window;	/* s */
	uint32_t	 max;
};

struct cfg_proxy {
	uint8_t		 af;		/* 4 or 6 */
	uint8_t		 plen;		/* prefix length in bits */
	uint8_t		 pad[2];
	uint8_t		 addr[16];	/* network order, host bits 0 */
};

struct cfg_ratelimit {
	uint32_t	 enabled;
	uint32_t	 nbuckets;	/* of the table: a power of 2 */
	uint8_t		 key[16];	/* SipHash key, random per start */
	uint32_t	 window;	/* the default rule */
	uint32_t	 max;
	uint32_t	 nrules;
	struct cfg_rl_rule rules[CERTAOS_MAX_RL_RULES];
	uint32_t	 nproxies;
	struct cfg_proxy proxies[CERTAOS_MAX_PROXIES];
};

struct cfg_listener {
	uint32_t	 id;
	uint32_t	 tls;
	uint16_t	 port;
	char		 addr[64];
};

struct cfg_keys {
	uint32_t	 argon2_memory;	/* KiB */
	uint32_t	 argon2_time;
	uint32_t	 argon2_lanes;
	uint32_t	 session_lifetime;	/* s */
	uint32_t	 session_short;		/* s, rememberMe false */
	/* the links in mails: issuer and base path */
	char		 issuer[CERTAOS_MAX_ISSUER];
	char		 basepath[64];
	uint32_t	 verify_signup;		/* mail a link at sign-up */
	uint32_t	 verify_required;	/* and make no session */
	uint32_t	 change_confirm;	/* email change-confirmation */
	uint32_t	 mail;			/* a mail method is set */
	uint32_t	 session_fresh;		/* s: fresh-age, 0 off */
	char		 invite_url[CERTAOS_MAX_URL + 1];
};

/* email verification off | optional | required */
#define VERIFY_OFF		0	/* no link at sign-up */
#define VERIFY_OPTIONAL		1	/* a link at sign-up */
#define VERIFY_REQUIRED		2	/* and no session until it is used */

/* How long an emailed link is good for (s), as Better Auth's defaults. */
#define CERTAOS_TTL_VERIFY	3600
#define CERTAOS_TTL_RESET	3600
#define CERTAOS_TTL_DELETE	86400

struct cfg_db {
	char		 conninfo[CERTAOS_MAX_CONNINFO];
	uint32_t	 pool;
	uint32_t	 session_lifetime;	/* s */
	uint32_t	 session_update;	/* s: sliding step */
	uint32_t	 verify_required;	/* no session unverified */
	uint32_t	 verify_on;		/* sign-up mails a link */
	uint32_t	 signup;		/* SIGNUP_* */
};

/* signup open | invite-only | closed */
#define SIGNUP_OPEN		0
#define SIGNUP_INVITE_ONLY	1
#define SIGNUP_CLOSED		2

/*
 * Mail.  The sealed message, its fields and the outbox's delivery
 * bounds.
 */
#define CERTAOS_MAX_MAIL_SEALED	8192		/* a sealed outbox message */
#define CERTAOS_MAX_MAIL_VARS	16		/* template variables */
#define CERTAOS_MAX_MAIL_VAR	2048		/* bytes of one value */
#define CERTAOS_MAX_MAIL_TMPL	64		/* template name bytes */
#define CERTAOS_MAX_MAIL_ERROR	512		/* last_error bytes kept */
#define CERTAOS_MAX_MAIL_CMD	1024		/* mail sendmail "..." */
#define CERTAOS_MAX_MAIL_HOST	256
#define CERTAOS_MAX_MAIL_AUTH	256		/* user, password bytes */
#define CERTAOS_MAX_MAIL_FROM	512
#define CERTAOS_MAX_MAIL_APP	128
#define CERTAOS_MAX_MAIL_PATH	1024		/* dir, templates, ca paths */
#define CERTAOS_MAIL_RETRY_DEF	30		/* s: first backoff */
#define CERTAOS_MAIL_RETRY_MAX	3600		/* s: backoff cap */
#define CERTAOS_MAIL_ATTEMPTS_DEF 10
#define CERTAOS_MAIL_ATTEMPTS_MAX 100
#define CERTAOS_MAIL_TIMEOUT	30		/* s per delivery step */
#define CERTAOS_MAIL_APP_DEF	"CertaOS"

enum mail_method {
	MAIL_OFF = 0,
	MAIL_SENDMAIL,
	MAIL_SMTP,
	MAIL_DIR
};

enum mail_tls {
	MAIL_TLS_STARTTLS = 0,
	MAIL_TLS_ON,		/* implicit TLS (port 465) */
	MAIL_TLS_OFF
};

struct cfg_mail {
	uint32_t	 method;		/* enum mail_method */
	char		 sendmail[CERTAOS_MAX_MAIL_CMD];
	char		 host[CERTAOS_MAX_MAIL_HOST];
	uint32_t	 port;
	uint32_t	 tls;			/* enum mail_tls */
	uint32_t	 noverify;		/* tests only */
	/* the CA file, "": the system roots */
	char		 ca[CERTAOS_MAX_MAIL_PATH];
	char		 user[CERTAOS_MAX_MAIL_AUTH];	/* "": no AUTH */
	char		 password[CERTAOS_MAX_MAIL_AUTH];
	char		 dir[CERTAOS_MAX_MAIL_PATH];
	char		 from[CERTAOS_MAX_MAIL_FROM];
	/* the operator's templates (or ""), and the shipped ones */
	char		 templates[CERTAOS_MAX_MAIL_PATH];
	char		 shipped[CERTAOS_MAX_MAIL_PATH];
	uint32_t	 retry;			/* s: first backoff */
	uint32_t	 attempts;
	uint32_t	 timeout;		/* s per step */
	char		 app[CERTAOS_MAX_MAIL_APP];
};

struct ctl_status {
	int32_t		 proc;
	int32_t		 instance;
	int32_t		 pid;
	int64_t		 started;	/* time(3) at start */
	int32_t		 db_ok;		/* db: 1 connected, 0 not */
	int32_t		 nkeys;		/* keys: signing keys loaded */
	char		 kids[256];	/* keys: space-separated kid list */
};

/* util.c */
ssize_t		 base64url_encode(const void *, size_t, char *, size_t);
ssize_t		 base64url_decode(const char *, size_t, void *, size_t);
size_t		 base64url_encoded_len(size_t);	/* without NUL */
ssize_t		 hex_encode(const void *, size_t, char *, size_t);
ssize_t		 hex_decode(const char *, size_t, void *, size_t);
/* lower-case an email address and check its shape: 0, or -1 */
int		 email_normalize(char *);
int		 ct_equal(const void *, const void *, size_t);
int		 set_nonblock(int);
const char	*str_escape(const char *, char *, size_t);

#endif
