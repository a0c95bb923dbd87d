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

/* Process roles. */
enum certaos_proc {
	PROC_PARENT = 0,
	PROC_WEB,
	PROC_KEYS,
	PROC_DB,
	PROC_CONTROL,		/* certaosctl, on the control socket */
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

	IMSG_MAX
};

/* Version of the control protocol, carried in every request's peerid. */
#define CTL_VERSION		1

/* HMAC purposes: each has its own HKDF-derived key in certaos-keys. */
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
};

struct cfg_db {
	char		 conninfo[CERTAOS_MAX_CONNINFO];
	uint32_t	 pool;
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
int		 ct_equal(const void *, const void *, size_t);
int		 set_nonblock(int);
const char	*str_escape(const char *, char *, size_t);

#endif
