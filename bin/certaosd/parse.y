/*
 * parse.y: the certaos.conf grammar, in the OpenBSD parse.y style.
 *
 * A sorted keyword table searched with bsearch(3), macros (name = "value",
 * used as $name, also set with -D), "include" with a depth limit,
 * per-line error recovery so that every error of a file is reported as
 * "file:line: message", tokens capped at CERTAOS_MAX_TOKEN bytes and
 * numbers read with strtonum(3) and checked against explicit ranges.
 *
 * The parser only records file names: the secret and TLS files are
 * checked and read by config.c.
 *
 * Session durations that depend on one another (update-age and
 * remember-off may not exceed the lifetime, which may come later in the
 * file or not at all) are checked once the whole file is read, and
 * reported at the line that set them.
 *
 * Rate-limit rules: the file's rules replace the built-in rule of the
 * same path and add to the others; the configuration holds them all,
 * so that -nv prints what applies.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certaos.h"
#include "certaosd.h"
#include "log.h"

static TAILQ_HEAD(files, file)	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 nlpending;	/* '\n' read: line + 1 */
	int			 lastc;		/* last byte read */
	int			 depth;		/* top file: 0 */
} *file, *topfile;
static struct file	*pushfile(const char *, int);
static int		 popfile(void);
int			 yyparse(void);
static int		 yylex(void);
static int		 yyerror(const char *, ...)
    __attribute__((__format__ (printf, 1, 2)));
static void		 yyerror_at(int, const char *, ...)
    __attribute__((__format__ (printf, 2, 3)));
static void		 yyerror_in(const char *, int, const char *, ...)
    __attribute__((__format__ (printf, 3, 4)));
static void		 vyyerror(const char *, int, const char *, va_list)
    __attribute__((__format__ (printf, 3, 0)));
static int		 kw_cmp(const void *, const void *);
static int		 lookup(const char *);
static int		 igetc(void);
static int		 lgetc(int);
static void		 lungetc(int);
static int		 findeol(void);
static int		 allowed_in_string(int);
static int		 isnumber(const char *);

static TAILQ_HEAD(symhead, sym) symhead = TAILQ_HEAD_INITIALIZER(symhead);
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;
	char			*nam;
	char			*val;
};
static int		 symset(const char *, const char *, int);
static char		*symget(const char *);
static int		 macro_name_ok(const char *);

static int		 errors;
static struct certaosd_config *conf;

/* Singleton statements seen, to refuse a second one. */
enum {
	SEEN_ISSUER	= 0x0001,
	SEEN_SECRET	= 0x0002,
	SEEN_DATABASE	= 0x0004,
	SEEN_DBPOOL	= 0x0008,
	SEEN_PREFORK	= 0x0010,
	SEEN_HEADERSIZE	= 0x0020,
	SEEN_BODYSIZE	= 0x0040,
	SEEN_THEADER	= 0x0080,
	SEEN_TIDLE	= 0x0100,
	SEEN_USER	= 0x0200,
	SEEN_CHROOT	= 0x0400,
	SEEN_SOCKET	= 0x0800,
	SEEN_PASSWORD	= 0x1000,
	SEEN_LISTEN	= 0x2000,
	SEEN_PWLENGTH	= 0x4000,
	SEEN_COOKIE	= 0x8000,
	SEEN_RLSWITCH	= 0x10000,
	SEEN_RLENTRIES	= 0x20000,
	SEEN_RLDEFAULT	= 0x40000,
	SEEN_VERIFY	= 0x80000,
	SEEN_DELETEUSER	= 0x100000,
	SEEN_SIGNUP	= 0x200000,
	SEEN_INVITEURL	= 0x400000,
	SEEN_PWWORKERS	= 0x800000,
	SEEN_CHCONFIRM	= 0x1000000
};
static unsigned int	 seen;
static int		 once(unsigned int, const char *);

/* The mail statements seen (a set of their own), and the smtp options. */
enum {
	MSEEN_METHOD	= 0x01,
	MSEEN_FROM	= 0x02,
	MSEEN_TEMPLATES	= 0x04,
	MSEEN_RETRY	= 0x08,
	MSEEN_APP	= 0x10
};
static unsigned int	 mailseen;
static int		 mail_once(unsigned int, const char *);
static void		 mail_method(uint32_t, char *);
static int		 mail_header_ok(const char *, const char *);
static void		 mail_check(const char *);
static void		 print_mail(FILE *, const struct cfg_mail *);
static struct {
	unsigned int	 seen;
	int		 bad;
	uint32_t	 port;
	uint32_t	 tls;
	uint32_t	 noverify;
	char		 ca[CERTAOS_MAX_MAIL_PATH];
	char		 user[CERTAOS_MAX_MAIL_AUTH];
	char		 password[CERTAOS_MAX_MAIL_AUTH];
} smtpo;

/* The tls { } block of the listen statement being parsed. */
static struct {
	int		 on;
	int		 bad;
	char		 cert[PATH_MAX];
	char		 key[PATH_MAX];
} tlsblk;

/* The options of the password statement being parsed. */
static struct {
	unsigned int	 seen;
	uint32_t	 memory;
	uint32_t	 time;
	uint32_t	 lanes;
} a2;

/*
 * The options of the session statements, which may be spread over
 * several statements (and files): where each was set, for the checks
 * made at the end of the file.
 */
enum {
	SESS_LIFETIME = 0,
	SESS_UPDATE,
	SESS_SHORT,
	SESS_FRESH,
	SESS_MAX
};
static struct sessopt {
	const char	*name;		/* as written in the grammar */
	int		 set;
	int		 ok;		/* value parsed and within range */
	uint32_t	 value;		/* s */
	int		 line;
	char		*file;
	char		 written[40];
} sess[SESS_MAX] = {
	{ .name = "lifetime" },
	{ .name = "update-age" },
	{ .name = "remember-off" },
	{ .name = "fresh-age" }
};

/*
 * Better Auth's special rules (core, two-factor and oauth-provider
 * plugins), in force unless the file has a rule for the same path.
 */
static const struct cfg_rl_rule rl_builtin[] = {
	{ "/sign-in/*",			10,	3 },
	{ "/sign-up/*",			10,	3 },
	{ "/change-password",		10,	3 },
	{ "/change-email",		10,	3 },
	{ "/request-password-reset",	60,	3 },
	{ "/send-verification-email",	60,	3 },
	{ "/two-factor/*",		10,	3 },
	{ "/oauth2/token",		60,	20 },
	{ "/oauth2/authorize",		60,	30 },
	{ "/oauth2/introspect",		60,	100 },
	{ "/oauth2/revoke",		60,	30 },
	{ "/oauth2/register",		60,	5 },
	{ "/oauth2/userinfo",		60,	60 }
};

/* The rate-limit rules of the file, merged by rl_finish(). */
static struct cfg_rl_rule	 rl_file[CERTAOS_MAX_RL_RULES];
static uint32_t			 rl_nfile;

/* What the lexer knows of the current statement, for "unknown keyword". */
static struct {
	int		 newline;	/* next token starts one */
	int		 ntok;
	int		 second_eq;
	int		 lexerr;	/* the last token was ERROR */
	int		 quoted;	/* the last token was quoted */
	char		 first[64];
} stmt;

static void		 tls_reset(void);
static int		 range(const char *, const char *, long long,
			    long long, long long);
static int		 setstr(char *, size_t, const char *, const char *);
static int		 setpath(char *, size_t, const char *, const char *,
			    int);
static int		 set_issuer(const char *);
static void		 set_invite_url(const char *);
static int		 parse_size(const char *, const char *, long long,
			    long long, uint32_t *);
static int		 parse_duration(const char *, long long *);
static const char	*fmt_duration(long long, char *, size_t);
static int		 parse_seconds(const char *, const char *, long long,
			    long long, int, uint32_t *);
static void		 session_set(int, const char *, int);
static void		 session_check(void);
static void		 session_reset(void);
static void		 set_cookie_prefix(const char *);
static void		 v6_serialize(const struct in6_addr *, char *, size_t);
static void		 origin_add(const char *, int);
static void		 rl_rule_add(const char *, const char *, int64_t);
static void		 rl_finish(void);
static void		 proxy_add(const char *, int);
static void		 print_proxy(FILE *, const struct cfg_proxy *);
static void		 listen_add(char *, int64_t, int);
static void		 conf_defaults(struct certaosd_config *);
static void		 print_string(FILE *, const char *);

typedef struct {
	union {
		int64_t		 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;

%}

%token	ARGON2ID BODYSIZE CERTIFICATE CHROOT CONTROL COOKIE DATABASE
%token	CHANGECONFIRM DELETEUSER EMAIL OPTIONAL REQUIRED VERIFICATION
%token	SIGNUP OPEN INVITEONLY CLOSED INVITE URL
%token	ENTRIES FILENAME HEADER HEADERSIZE IDLE INCLUDE ISSUER KEY LENGTH
%token	LIFETIME LIMIT LISTEN MAX MEMORY OFF ON PARALLELISM PASSWORD POOL
%token	PORT PREFIX PREFORK RATELIMIT REMEMBEROFF SECRET SESSION SOCKET TIME
%token	TIMEOUT TLS TRUSTEDORIGINS TRUSTEDPROXY UPDATEAGE USER WINDOW
%token	FRESHAGE
%token	APPNAME ATTEMPTS AUTH CA DIR FROM MAIL NOVERIFY RETRY SENDMAIL SMTP
%token	STARTTLS TEMPLATES WORKERS
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	value address
%type	<v.string>	sizeval timeval
%type	<v.number>	verifymode
%destructor	{ free($$); } <v.string>

%%

grammar		: /* empty */
		| grammar include '\n'
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{
			tls_reset();
			yyerrok;
		}
		;

include		: INCLUDE STRING		{
			struct file	*nfile;

			/* pushfile() reported the error: go on after it. */
			if ((nfile = pushfile($2, 1)) != NULL) {
				file = nfile;
				lungetc('\n');
			}
			free($2);
		}
		;

value		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", (long long)$1) == -1)
				fatal("value: asprintf");
		}
		;

varset		: STRING '=' value		{
			if (!macro_name_ok($1))
				yyerror("invalid macro name \"%s\"", $1);
			else if (symset($1, $3, 0) == -1)
				fatal("cannot store variable");
			free($1);
			free($3);
		}
		;

main		: ISSUER STRING			{
			if (once(SEEN_ISSUER, "issuer") == 0)
				set_issuer($2);
			free($2);
		}
		| SECRET FILENAME STRING	{
			if (once(SEEN_SECRET, "secret file") == 0)
				setpath(conf->secret_file,
				    sizeof(conf->secret_file), $3,
				    "secret file", 0);
			free($3);
		}
		| DATABASE STRING		{
			if (once(SEEN_DATABASE, "database") == 0)
				setstr(conf->database, sizeof(conf->database),
				    $2, "database");
			free($2);
		}
		| DATABASE POOL NUMBER		{
			if (once(SEEN_DBPOOL, "database pool") == 0 &&
			    range("database pool", NULL, $3, 1,
			    CERTAOS_MAX_DBPOOL) == 0)
				conf->db_pool = $3;
		}
		| PREFORK NUMBER		{
			if (once(SEEN_PREFORK, "prefork") == 0 &&
			    range("prefork", NULL, $2, 1,
			    CERTAOS_MAX_PREFORK) == 0)
				conf->prefork = $2;
		}
		| LISTEN ON address PORT NUMBER tls {
			seen |= SEEN_LISTEN;
			listen_add($3, $5, $<lineno>1);
			tls_reset();
		}
		| LIMIT HEADERSIZE sizeval	{
			if (once(SEEN_HEADERSIZE, "limit header-size") == 0)
				parse_size("header-size", $3,
				    CERTAOS_MAX_HEADER_MIN,
				    CERTAOS_MAX_HEADER_MAX, &conf->max_header);
			free($3);
		}
		| LIMIT BODYSIZE sizeval	{
			if (once(SEEN_BODYSIZE, "limit body-size") == 0)
				parse_size("body-size", $3,
				    CERTAOS_MAX_BODY_MIN,
				    CERTAOS_MAX_BODY_MAX, &conf->max_body);
			free($3);
		}
		| TIMEOUT HEADER timeval	{
			if (once(SEEN_THEADER, "timeout header") == 0)
				parse_seconds("timeout header", $3, 1,
				    CERTAOS_TIMEOUT_MAX, 0,
				    &conf->timeout_header);
			free($3);
		}
		| TIMEOUT IDLE timeval		{
			if (once(SEEN_TIDLE, "timeout idle") == 0)
				parse_seconds("timeout idle", $3, 1,
				    CERTAOS_TIMEOUT_MAX, 0,
				    &conf->timeout_idle);
			free($3);
		}
		| USER STRING			{
			if (once(SEEN_USER, "user") == 0)
				setstr(conf->user, sizeof(conf->user), $2,
				    "user");
			free($2);
		}
		| CHROOT STRING			{
			if (once(SEEN_CHROOT, "chroot") == 0)
				setpath(conf->chroot, sizeof(conf->chroot), $2,
				    "chroot", 1);
			free($2);
		}
		| CONTROL SOCKET STRING		{
			struct sockaddr_un	 sun;

			if (once(SEEN_SOCKET, "control socket") == 0 &&
			    setpath(conf->control_socket,
			    sizeof(conf->control_socket), $3,
			    "control socket", 1) == 0 &&
			    strlen($3) >= sizeof(sun.sun_path))
				yyerror("control socket \"%s\": path too long "
				    "(max %zu bytes)", $3,
				    sizeof(sun.sun_path) - 1);
			free($3);
		}
		| PASSWORD ARGON2ID		{
			memset(&a2, 0, sizeof(a2));
			a2.memory = CERTAOS_ARGON2_MEMORY;
			a2.time = CERTAOS_ARGON2_TIME;
			a2.lanes = CERTAOS_ARGON2_LANES;
		} argon2opts			{
			if (once(SEEN_PASSWORD, "password argon2id") == 0) {
				if (a2.memory < 8 * a2.lanes)
					yyerror("argon2id memory %u: less "
					    "than 8 KiB per lane", a2.memory);
				else {
					conf->argon2_memory = a2.memory;
					conf->argon2_time = a2.time;
					conf->argon2_lanes = a2.lanes;
				}
			}
		}
		| PASSWORD WORKERS NUMBER	{
			if (once(SEEN_PWWORKERS, "password workers") == 0 &&
			    range("password workers", NULL, $3, 1,
			    CERTAOS_MAX_PWWORKERS) == 0)
				conf->pw_workers = $3;
		}
		| PASSWORD LENGTH NUMBER NUMBER	{
			if (once(SEEN_PWLENGTH, "password length") == 0 &&
			    range("password length maximum", NULL, $4, 1,
			    CERTAOS_MAX_PASSWORD) == 0 &&
			    range("password length minimum", NULL, $3, 1,
			    $4) == 0) {
				conf->pw_min = $3;
				conf->pw_max = $4;
			}
		}
		| SESSION sessopts
		| EMAIL VERIFICATION verifymode	{
			if (once(SEEN_VERIFY, "email verification") == 0)
				conf->verify = $3;
		}
		| EMAIL CHANGECONFIRM ON	{
			if (once(SEEN_CHCONFIRM,
			    "email change-confirmation") == 0)
				conf->change_confirm = 1;
		}
		| EMAIL CHANGECONFIRM OFF	{
			if (once(SEEN_CHCONFIRM,
			    "email change-confirmation") == 0)
				conf->change_confirm = 0;
		}
		| SIGNUP OPEN			{
			if (once(SEEN_SIGNUP, "signup") == 0)
				conf->signup = SIGNUP_OPEN;
		}
		| SIGNUP INVITEONLY		{
			if (once(SEEN_SIGNUP, "signup") == 0)
				conf->signup = SIGNUP_INVITE_ONLY;
		}
		| SIGNUP CLOSED			{
			if (once(SEEN_SIGNUP, "signup") == 0)
				conf->signup = SIGNUP_CLOSED;
		}
		| INVITE URL STRING		{
			if (once(SEEN_INVITEURL, "invite url") == 0)
				set_invite_url($3);
			free($3);
		}
		| DELETEUSER ON			{
			if (once(SEEN_DELETEUSER, "delete-user") == 0)
				conf->delete_user = 1;
		}
		| DELETEUSER OFF		{
			if (once(SEEN_DELETEUSER, "delete-user") == 0)
				conf->delete_user = 0;
		}
		| COOKIE PREFIX value		{
			if (once(SEEN_COOKIE, "cookie prefix") == 0)
				set_cookie_prefix($3);
			free($3);
		}
		| TRUSTEDORIGINS '{' origins '}'
		| TRUSTEDORIGINS '{' origins error '}' {
			/* A bad token on the block's last line. */
			yyerrok;
		}
		| RATELIMIT ON			{
			if (once(SEEN_RLSWITCH, "rate-limit on/off") == 0)
				conf->rl_enabled = 1;
		}
		| RATELIMIT OFF			{
			if (once(SEEN_RLSWITCH, "rate-limit on/off") == 0)
				conf->rl_enabled = 0;
		}
		| RATELIMIT ENTRIES NUMBER	{
			if (once(SEEN_RLENTRIES, "rate-limit entries") == 0 &&
			    range("rate-limit entries", NULL, $3,
			    CERTAOS_RL_ENTRIES_MIN,
			    CERTAOS_RL_ENTRIES_MAX) == 0)
				conf->rl_entries = $3;
		}
		| RATELIMIT WINDOW timeval MAX NUMBER {
			uint32_t	 w;
			int		 bad;

			if (once(SEEN_RLDEFAULT, "rate-limit window") == 0) {
				bad = parse_seconds("rate-limit window", $3, 1,
				    CERTAOS_RL_WINDOW_MAX, 1, &w);
				if (range("rate-limit max", NULL, $5, 1,
				    CERTAOS_RL_MAX_MAX) == 0 && bad == 0) {
					conf->rl_window = w;
					conf->rl_max = $5;
				}
			}
			free($3);
		}
		| RATELIMIT STRING WINDOW timeval MAX NUMBER {
			rl_rule_add($2, $4, $6);
			free($2);
			free($4);
		}
		| TRUSTEDPROXY '{' proxies '}'
		| TRUSTEDPROXY '{' proxies error '}' {
			yyerrok;
		}
		| MAIL SENDMAIL STRING		{
			mail_method(MAIL_SENDMAIL, $3);
			free($3);
		}
		| MAIL SMTP STRING		{
			memset(&smtpo, 0, sizeof(smtpo));
			smtpo.tls = MAIL_TLS_STARTTLS;
		} smtpopts			{
			if (!smtpo.bad)
				mail_method(MAIL_SMTP, $3);
			free($3);
		}
		| MAIL DIR STRING		{
			mail_method(MAIL_DIR, $3);
			free($3);
		}
		| MAIL FROM STRING		{
			if (mail_once(MSEEN_FROM, "mail from") == 0 &&
			    mail_header_ok("mail from", $3) == 0) {
				if (strchr($3, '@') == NULL)
					yyerror("mail from \"%s\": no address",
					    $3);
				else
					setstr(conf->mail.from,
					    sizeof(conf->mail.from), $3,
					    "mail from");
			}
			free($3);
		}
		| MAIL TEMPLATES STRING		{
			if (mail_once(MSEEN_TEMPLATES, "mail templates") == 0)
				setpath(conf->mail.templates,
				    sizeof(conf->mail.templates), $3,
				    "mail templates", 1);
			free($3);
		}
		| MAIL RETRY timeval ATTEMPTS NUMBER {
			uint32_t	 r;

			if (mail_once(MSEEN_RETRY, "mail retry") == 0 &&
			    parse_seconds("mail retry", $3, 1,
			    CERTAOS_MAIL_RETRY_MAX, 1, &r) == 0 &&
			    range("mail attempts", NULL, $5, 1,
			    CERTAOS_MAIL_ATTEMPTS_MAX) == 0) {
				conf->mail.retry = r;
				conf->mail.attempts = $5;
			}
			free($3);
		}
		| MAIL APPNAME STRING		{
			if (mail_once(MSEEN_APP, "mail app-name") == 0 &&
			    mail_header_ok("mail app-name", $3) == 0)
				setstr(conf->mail.app, sizeof(conf->mail.app),
				    $3, "mail app-name");
			free($3);
		}
		;

smtpopts	: /* empty */
		| smtpopts smtpopt
		;

smtpopt		: PORT NUMBER			{
			if (smtpo.seen & 1) {
				yyerror("mail smtp port already set");
				smtpo.bad = 1;
			} else if (range("mail smtp port", NULL, $2, 1,
			    65535) == 0)
				smtpo.port = $2;
			else
				smtpo.bad = 1;
			smtpo.seen |= 1;
		}
		| TLS smtptls
		| CA STRING			{
			if (smtpo.seen & 4) {
				yyerror("mail smtp ca already set");
				smtpo.bad = 1;
			} else if (setpath(smtpo.ca, sizeof(smtpo.ca), $2,
			    "mail smtp ca", 1) == -1)
				smtpo.bad = 1;
			smtpo.seen |= 4;
			free($2);
		}
		| AUTH STRING PASSWORD STRING	{
			if (smtpo.seen & 8) {
				yyerror("mail smtp auth already set");
				smtpo.bad = 1;
			} else if (setstr(smtpo.user, sizeof(smtpo.user), $2,
			    "mail smtp auth") == -1 ||
			    setstr(smtpo.password, sizeof(smtpo.password), $4,
			    "mail smtp password") == -1)
				smtpo.bad = 1;
			smtpo.seen |= 8;
			explicit_bzero($4, strlen($4));
			free($2);
			free($4);
		}
		;

smtptls		: STARTTLS			{
			smtpo.tls = MAIL_TLS_STARTTLS;
		}
		| ON				{ smtpo.tls = MAIL_TLS_ON; }
		| OFF				{ smtpo.tls = MAIL_TLS_OFF; }
		| NOVERIFY			{
			/* for tests: STARTTLS, the certificate unchecked */
			smtpo.tls = MAIL_TLS_STARTTLS;
			smtpo.noverify = 1;
		}
		;

address		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", (long long)$1) == -1)
				fatal("address: asprintf");
		}
		;

sizeval		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", (long long)$1) == -1)
				fatal("size: asprintf");
		}
		;

timeval		: STRING
		| NUMBER			{
			if (asprintf(&$$, "%lld", (long long)$1) == -1)
				fatal("timeout: asprintf");
		}
		;

tls		: /* empty */
		| TLS '{' tlsopts '}'		{
			tlsblk.on = 1;
		}
		;

tlsopts		: /* empty */
		| tlsopts '\n'
		| tlsopts tlsopt
		| tlsopts error '\n'		{
			/* Report the next bad line of the block too. */
			tlsblk.bad = 1;
			yyerrok;
		}
		;

tlsopt		: CERTIFICATE STRING		{
			if (tlsblk.cert[0] != '\0') {
				yyerror("certificate already set");
				tlsblk.bad = 1;
			} else if (setpath(tlsblk.cert, sizeof(tlsblk.cert),
			    $2, "certificate", 0) == -1)
				tlsblk.bad = 1;
			free($2);
		}
		| KEY STRING			{
			if (tlsblk.key[0] != '\0') {
				yyerror("key already set");
				tlsblk.bad = 1;
			} else if (setpath(tlsblk.key, sizeof(tlsblk.key),
			    $2, "key", 0) == -1)
				tlsblk.bad = 1;
			free($2);
		}
		;

verifymode	: REQUIRED		{ $$ = VERIFY_REQUIRED; }
		| OPTIONAL		{ $$ = VERIFY_OPTIONAL; }
		| OFF			{ $$ = VERIFY_OFF; }
		;

sessopts	: sessopt
		| sessopts sessopt
		;

sessopt		: LIFETIME timeval		{
			session_set(SESS_LIFETIME, $2, $<lineno>1);
			free($2);
		}
		| UPDATEAGE timeval		{
			session_set(SESS_UPDATE, $2, $<lineno>1);
			free($2);
		}
		| REMEMBEROFF timeval		{
			session_set(SESS_SHORT, $2, $<lineno>1);
			free($2);
		}
		| FRESHAGE timeval		{
			session_set(SESS_FRESH, $2, $<lineno>1);
			free($2);
		}
		;

/* Origins may be written on one line or several. */
origins		: /* empty */
		| origins '\n'
		| origins STRING		{
			origin_add($2, $<lineno>2);
			free($2);
		}
		| origins error '\n'		{
			yyerrok;
		}
		;

/* Proxies, like origins, on one line or several. */
proxies		: /* empty */
		| proxies '\n'
		| proxies STRING		{
			proxy_add($2, $<lineno>2);
			free($2);
		}
		| proxies NUMBER		{
			yyerror_at($<lineno>2, "trusted-proxy \"%lld\": not an "
			    "address or address/prefix", (long long)$2);
		}
		| proxies error '\n'		{
			yyerrok;
		}
		;

argon2opts	: /* empty */
		| argon2opts argon2opt
		;

argon2opt	: MEMORY NUMBER			{
			if (a2.seen & 1)
				yyerror("argon2id memory already set");
			else if (range("argon2id memory", NULL, $2, 8,
			    4194304) == 0)
				a2.memory = $2;
			a2.seen |= 1;
		}
		| TIME NUMBER			{
			if (a2.seen & 2)
				yyerror("argon2id time already set");
			else if (range("argon2id time", NULL, $2, 1, 100) == 0)
				a2.time = $2;
			a2.seen |= 2;
		}
		| PARALLELISM NUMBER		{
			if (a2.seen & 4)
				yyerror("argon2id parallelism already set");
			else if (range("argon2id parallelism", NULL, $2, 1,
			    16) == 0)
				a2.lanes = $2;
			a2.seen |= 4;
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

/* Sorted: lookup() searches it with bsearch(3); a test checks it. */
static const struct keywords keywords[] = {
	{ "app-name",		APPNAME },
	{ "argon2id",		ARGON2ID },
	{ "attempts",		ATTEMPTS },
	{ "auth",		AUTH },
	{ "body-size",		BODYSIZE },
	{ "ca",			CA },
	{ "certificate",	CERTIFICATE },
	{ "change-confirmation", CHANGECONFIRM },
	{ "chroot",		CHROOT },
	{ "closed",		CLOSED },
	{ "control",		CONTROL },
	{ "cookie",		COOKIE },
	{ "database",		DATABASE },
	{ "delete-user",	DELETEUSER },
	{ "dir",		DIR },
	{ "email",		EMAIL },
	{ "entries",		ENTRIES },
	{ "file",		FILENAME },
	{ "fresh-age",		FRESHAGE },
	{ "from",		FROM },
	{ "header",		HEADER },
	{ "header-size",	HEADERSIZE },
	{ "idle",		IDLE },
	{ "include",		INCLUDE },
	{ "invite",		INVITE },
	{ "invite-only",	INVITEONLY },
	{ "issuer",		ISSUER },
	{ "key",		KEY },
	{ "length",		LENGTH },
	{ "lifetime",		LIFETIME },
	{ "limit",		LIMIT },
	{ "listen",		LISTEN },
	{ "mail",		MAIL },
	{ "max",		MAX },
	{ "memory",		MEMORY },
	{ "noverify",		NOVERIFY },
	{ "off",		OFF },
	{ "on",			ON },
	{ "open",		OPEN },
	{ "optional",		OPTIONAL },
	{ "parallelism",	PARALLELISM },
	{ "password",		PASSWORD },
	{ "pool",		POOL },
	{ "port",		PORT },
	{ "prefix",		PREFIX },
	{ "prefork",		PREFORK },
	{ "rate-limit",		RATELIMIT },
	{ "remember-off",	REMEMBEROFF },
	{ "required",		REQUIRED },
	{ "retry",		RETRY },
	{ "secret",		SECRET },
	{ "sendmail",		SENDMAIL },
	{ "session",		SESSION },
	{ "signup",		SIGNUP },
	{ "smtp",		SMTP },
	{ "socket",		SOCKET },
	{ "starttls",		STARTTLS },
	{ "templates",		TEMPLATES },
	{ "time",		TIME },
	{ "timeout",		TIMEOUT },
	{ "tls",		TLS },
	{ "trusted-origins",	TRUSTEDORIGINS },
	{ "trusted-proxy",	TRUSTEDPROXY },
	{ "update-age",		UPDATEAGE },
	{ "url",		URL },
	{ "user",		USER },
	{ "verification",	VERIFICATION },
	{ "window",		WINDOW },
	{ "workers",		WORKERS }
};

static int
yyerror(const char *fmt, ...)
{
	va_list		 ap;

	/*
	 * The lexer already said what was wrong with the token it turned
	 * into ERROR; the parser's "syntax error" about it adds nothing.
	 */
	if (stmt.lexerr && strcmp(fmt, "syntax error") == 0)
		return (0);
	if (yychar == 0 && strcmp(fmt, "syntax error") == 0)
		fmt = "unexpected end of file";
	if (strcmp(fmt, "syntax error") == 0 && stmt.first[0] != '\0' &&
	    !stmt.second_eq) {
		yyerror_at(file->lineno, "unknown keyword \"%s\"",
		    stmt.first);
		return (0);
	}
	va_start(ap, fmt);
	vyyerror(file->name, file->lineno, fmt, ap);
	va_end(ap);
	return (0);
}

static void
yyerror_at(int line, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	vyyerror(file->name, line, fmt, ap);
	va_end(ap);
}

/* For the checks made once the files are closed. */
static void
yyerror_in(const char *name, int line, const char *fmt, ...)
{
	va_list		 ap;

	va_start(ap, fmt);
	vyyerror(name, line, fmt, ap);
	va_end(ap);
}

static void
vyyerror(const char *name, int line, const char *fmt, va_list ap)
{
	char		*msg;

	errors++;
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("yyerror: vasprintf");
	log_warnx("%s:%d: %s", name, line, msg);
	free(msg);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keywords *)e)->k_name));
}

static int
lookup(const char *s)
{
	const struct keywords	*p;

	p = bsearch(s, keywords, nitems(keywords), sizeof(keywords[0]),
	    kw_cmp);
	if (p != NULL)
		return (p->k_val);
	return (STRING);
}

int
parse_keywords_sorted(void)
{
	size_t		 i;

	for (i = 1; i < nitems(keywords); i++)
		if (strcmp(keywords[i - 1].k_name, keywords[i].k_name) >= 0)
			return (0);
	return (1);
}

const char *
parse_keyword(size_t i)
{
	if (i >= nitems(keywords))
		return (NULL);
	return (keywords[i].k_name);
}

/*
 * Input.  Bytes pushed back (lungetc, macro expansions) come first; a
 * macro's text is framed by START_EXPAND and DONE_EXPAND (values no byte
 * can take) so that a '$' inside a macro's value is not expanded again.
 */
#define START_EXPAND	0x100
#define DONE_EXPAND	0x101

static int		 expanding;
static int		*pushback;
static size_t		 pushback_len, pushback_size;

static int
igetc(void)
{
	int		 c;

	if (pushback_len > 0)
		return (pushback[--pushback_len]);
	/*
	 * The line number moves when the byte after a '\n' is read, so that
	 * an error found at the end of a line is reported on that line.
	 */
	c = getc(file->stream);
	if (c != EOF && file->nlpending) {
		file->nlpending = 0;
		file->lineno++;
	}
	if (c == EOF) {
		/* A last line without '\n' still ends its statement. */
		if (file->lastc != EOF && file->lastc != '\n') {
			file->lastc = '\n';
			file->nlpending = 1;
			return ('\n');
		}
		return (EOF);
	}
	if (c == '\n')
		file->nlpending = 1;
	file->lastc = c;
	return (c);
}

static int
lgetc(int quotec)
{
	int		 c, next;

	for (;;) {
		c = igetc();
		if (c == START_EXPAND)
			expanding = 1;
		else if (c == DONE_EXPAND)
			expanding = 0;
		else
			break;
	}

	if (quotec)
		return (c);

	/* Backslash-newline continues a line. */
	while (c == '\\') {
		next = igetc();
		if (next != '\n') {
			lungetc(next);
			break;
		}
		c = igetc();
	}

	/* The end of an included file returns to the one that included it. */
	while (c == EOF) {
		if (file == topfile || popfile() == EOF)
			return (EOF);
		c = igetc();
	}
	return (c);
}

static void
lungetc(int c)
{
	int		*p;
	size_t		 n;

	if (c == EOF)
		return;
	if (pushback_len == pushback_size) {
		n = pushback_size == 0 ? 128 : pushback_size * 2;
		if ((p = reallocarray(pushback, n, sizeof(*p))) == NULL)
			fatal("lungetc");
		pushback = p;
		pushback_size = n;
	}
	pushback[pushback_len++] = c;
}

/* Skip the rest of the line, leaving the '\n' to end the statement. */
static int
findeol(void)
{
	int		 c;

	for (;;) {
		c = lgetc(0);
		if (c == '\n') {
			lungetc(c);
			break;
		}
		if (c == EOF)
			break;
	}
	stmt.lexerr = 1;
	return (ERROR);
}

static int
allowed_in_string(int c)
{
	if (isalnum(c))
		return (1);
	if (c == '\0')
		return (0);
	return (strchr("%&*+-./:?@[]^_|~", c) != NULL);
}

static int
isnumber(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return (0);
	return (1);
}

static int
yylex1(void)
{
	static char	 buf[CERTAOS_MAX_TOKEN];
	char		*p, *val;
	const char	*errstr;
	int		 c, next, token;

 top:
	p = buf;
	while ((c = lgetc(0)) == ' ' || c == '\t')
		; /* nothing */

	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			; /* nothing */
	if (c == '$' && !expanding) {
		for (;;) {
			c = lgetc(0);
			if (c != EOF && (isalnum(c) || c == '_')) {
				if (p + 1 >= buf + sizeof(buf)) {
					yyerror("macro name too long");
					return (findeol());
				}
				*p++ = c;
				continue;
			}
			*p = '\0';
			lungetc(c);
			break;
		}
		if (buf[0] == '\0') {
			yyerror("'$' without a macro name");
			return (findeol());
		}
		if ((val = symget(buf)) == NULL) {
			yyerror("macro '$%s' not defined", buf);
			return (findeol());
		}
		lungetc(DONE_EXPAND);
		for (p = val + strlen(val); p > val; p--)
			lungetc((unsigned char)p[-1]);
		lungetc(START_EXPAND);
		goto top;
	}

	switch (c) {
	case '"':
		for (;;) {
			c = lgetc('"');
			if (c == EOF || c == '\n') {
				yyerror("unterminated quoted string");
				lungetc(c);
				return (findeol());
			}
			if (c == '\\') {
				next = lgetc('"');
				if (next == '"' || next == '\\')
					c = next;
				else if (next == '\n')
					continue;
				else
					lungetc(next);
			} else if (c == '"') {
				*p = '\0';
				break;
			} else if (iscntrl(c) && c != '\t') {
				yyerror("unexpected character 0x%02x in "
				    "quoted string", c);
				return (findeol());
			}
			if (p + 1 >= buf + sizeof(buf)) {
				yyerror("string too long (max %d bytes)",
				    CERTAOS_MAX_TOKEN - 1);
				return (findeol());
			}
			*p++ = c;
		}
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("yylex: strdup");
		stmt.quoted = 1;
		return (STRING);
	case '\n':
	case '=':
	case '{':
	case '}':
	case EOF:
		return (c == EOF ? 0 : c);
	}

	if (!allowed_in_string(c)) {
		if (isprint(c))
			yyerror("unexpected character '%c'", c);
		else
			yyerror("unexpected character 0x%02x", c);
		return (findeol());
	}
	do {
		if (p + 1 >= buf + sizeof(buf)) {
			yyerror("string too long (max %d bytes)",
			    CERTAOS_MAX_TOKEN - 1);
			return (findeol());
		}
		*p++ = c;
	} while ((c = lgetc(0)) != EOF && allowed_in_string(c));
	lungetc(c);
	*p = '\0';

	if (isnumber(buf)) {
		yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("\"%s\" invalid number: %s", buf, errstr);
			return (findeol());
		}
		return (NUMBER);
	}
	if ((token = lookup(buf)) == STRING)
		if ((yylval.v.string = strdup(buf)) == NULL)
			fatal("yylex: strdup");
	return (token);
}

/*
 * Remember how the statement began: a syntax error in a statement whose
 * first word is not a keyword (and not a macro definition) is reported as
 * an unknown keyword.
 */
static int
yylex(void)
{
	int		 token;

	stmt.lexerr = 0;
	stmt.quoted = 0;
	if (stmt.newline) {
		stmt.newline = 0;
		stmt.ntok = 0;
		stmt.second_eq = 0;
		stmt.first[0] = '\0';
	}
	token = yylex1();
	stmt.ntok++;
	/* A bare word holds only printable bytes: no escaping needed. */
	if (stmt.ntok == 1 && token == STRING && !stmt.quoted)
		(void)strlcpy(stmt.first, yylval.v.string,
		    sizeof(stmt.first));
	else if (stmt.ntok == 2 && token == '=')
		stmt.second_eq = 1;
	if (token == '\n' || token == 0)
		stmt.newline = 1;
	return (token);
}

static struct file *
pushfile(const char *name, int included)
{
	struct file	*nfile;
	int		 depth = 0;

	if (included) {
		depth = file->depth + 1;
		if (depth > CERTAOS_MAX_INCLUDE) {
			yyerror("include depth exceeded (max %d)",
			    CERTAOS_MAX_INCLUDE);
			return (NULL);
		}
	}
	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		fatal("pushfile");
	if ((nfile->name = strdup(name)) == NULL)
		fatal("pushfile");
	if ((nfile->stream = fopen(name, "r")) == NULL) {
		if (included)
			yyerror("could not open include file \"%s\": %s",
			    name, strerror(errno));
		else
			log_warnx("%s: %s", name, strerror(errno));
		free(nfile->name);
		free(nfile);
		return (NULL);
	}
	nfile->lineno = 1;
	nfile->lastc = EOF;
	nfile->depth = depth;
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return (nfile);
}

static int
popfile(void)
{
	struct file	*prev;

	prev = TAILQ_PREV(file, files, entry);
	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	free(file->name);
	free(file);
	file = prev;
	return (file != NULL ? 0 : EOF);
}

/*
 * Macros.  Those set with -D (persist) win over definitions in the file.
 */
static int
symset(const char *nam, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0)
			break;
	}
	if (sym != NULL) {
		if (sym->persist && !persist)
			return (0);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->nam);
		free(sym->val);
		free(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);
	if ((sym->nam = strdup(nam)) == NULL) {
		free(sym);
		return (-1);
	}
	if ((sym->val = strdup(val)) == NULL) {
		free(sym->nam);
		free(sym);
		return (-1);
	}
	sym->used = 0;
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

static char *
symget(const char *nam)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry) {
		if (strcmp(nam, sym->nam) == 0) {
			sym->used = 1;
			return (sym->val);
		}
	}
	return (NULL);
}

static int
macro_name_ok(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return (0);
	return (1);
}

/* -D name=value: the value may itself hold '=' (a conninfo does). */
int
cmdline_symset(char *s)
{
	const char	*p;
	char		*nam;
	int		 ret;

	if ((p = strchr(s, '=')) == NULL)
		return (-1);
	if ((nam = strndup(s, p - s)) == NULL)
		return (-1);
	if (!macro_name_ok(nam)) {
		free(nam);
		return (-1);
	}
	for (p++; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t')
			break;
	if (*p != '\0') {
		free(nam);
		return (-1);
	}
	ret = symset(nam, strchr(s, '=') + 1, 1);
	free(nam);
	return (ret);
}

/*
 * Statement helpers.  Each reports its own error and returns -1; parsing
 * goes on so that later errors are reported too.
 */
static int
once(unsigned int bit, const char *what)
{
	if (seen & bit) {
		yyerror("%s already set", what);
		return (-1);
	}
	seen |= bit;
	return (0);
}

static int
mail_once(unsigned int bit, const char *what)
{
	if (mailseen & bit) {
		yyerror("%s already set", what);
		return (-1);
	}
	mailseen |= bit;
	return (0);
}

/* What goes into a mail header: printable, no CR or LF (no injection). */
static int
mail_header_ok(const char *what, const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			yyerror("%s: invalid character 0x%02x", what, *p);
			return (-1);
		}
	return (0);
}

/*
 * One delivery method: "mail sendmail", "mail smtp" (its options in
 * smtpo) or "mail dir".
 */
static void
mail_method(uint32_t method, char *arg)
{
	struct cfg_mail	*m = &conf->mail;
	char		 v[CERTAOS_MAX_MAIL_CMD];

	/* the statement's own errors first, then whether it is the second */
	switch (method) {
	case MAIL_SENDMAIL:
		if (mail_header_ok("mail sendmail", arg) == -1)
			return;
		if (*arg != '/') {
			yyerror("mail sendmail \"%s\": the command must be "
			    "an absolute path", arg);
			return;
		}
		if (setstr(v, sizeof(m->sendmail), arg, "mail sendmail") == -1)
			return;
		break;
	case MAIL_SMTP:
		if (*arg == '\0' || strpbrk(arg, " \t\r\n/") != NULL) {
			yyerror("mail smtp \"%s\": not a host name", arg);
			return;
		}
		if (smtpo.user[0] != '\0' && smtpo.tls == MAIL_TLS_OFF) {
			yyerror("mail smtp: auth needs tls (starttls or on)");
			return;
		}
		if (setstr(v, sizeof(m->host), arg, "mail smtp") == -1)
			return;
		break;
	case MAIL_DIR:
		if (setpath(v, sizeof(m->dir), arg, "mail dir", 1) == -1)
			return;
		break;
	}
	if (mail_once(MSEEN_METHOD, "mail method (sendmail, smtp or dir)")
	    == -1)
		return;
	switch (method) {
	case MAIL_SENDMAIL:
		(void)strlcpy(m->sendmail, v, sizeof(m->sendmail));
		break;
	case MAIL_SMTP:
		(void)strlcpy(m->host, v, sizeof(m->host));
		m->port = smtpo.port != 0 ? smtpo.port :
		    smtpo.tls == MAIL_TLS_ON ? 465 : 587;
		m->tls = smtpo.tls;
		m->noverify = smtpo.noverify;
		(void)strlcpy(m->ca, smtpo.ca, sizeof(m->ca));
		(void)strlcpy(m->user, smtpo.user, sizeof(m->user));
		(void)strlcpy(m->password, smtpo.password,
		    sizeof(m->password));
		break;
	case MAIL_DIR:
		(void)strlcpy(m->dir, v, sizeof(m->dir));
		break;
	}
	explicit_bzero(&smtpo, sizeof(smtpo));
	m->method = method;
}

/* Once the file is read: a method needs a sender. */
static void
mail_check(const char *filename)
{
	if (conf->mail.method != MAIL_OFF && conf->mail.from[0] == '\0') {
		log_warnx("%s: mail from is required with mail %s", filename,
		    conf->mail.method == MAIL_SENDMAIL ? "sendmail" :
		    conf->mail.method == MAIL_SMTP ? "smtp" : "dir");
		errors++;
	}
	if (conf->verify == VERIFY_REQUIRED && conf->mail.method == MAIL_OFF) {
		log_warnx("%s: email verification required needs a mail "
		    "method", filename);
		errors++;
	}
}

static int
range(const char *what, const char *written, long long v, long long min,
    long long max)
{
	if (v >= min && v <= max)
		return (0);
	if (written != NULL)
		yyerror("%s %s: out of range (%lld-%lld)", what, written,
		    min, max);
	else
		yyerror("%s %lld: out of range (%lld-%lld)", what, v, min,
		    max);
	return (-1);
}

static int
setstr(char *dst, size_t size, const char *s, const char *what)
{
	if (*s == '\0') {
		yyerror("%s: empty string", what);
		return (-1);
	}
	if (strlcpy(dst, s, size) >= size) {
		yyerror("%s too long (max %zu bytes)", what, size - 1);
		return (-1);
	}
	return (0);
}

static int
setpath(char *dst, size_t size, const char *s, const char *what,
    int absolute)
{
	if (absolute && *s != '/' && *s != '\0') {
		yyerror("%s \"%s\": not an absolute path", what, s);
		return (-1);
	}
	return (setstr(dst, size, s, what));
}

/*
 * invite url: where an invitation's link goes (the application's
 * sign-up page): http:// or https://, printable ASCII, no fragment.
 */
static void
set_invite_url(const char *s)
{
	const unsigned char	*p;

	if (strlen(s) > CERTAOS_MAX_URL - 64) {
		yyerror("invite url too long (max %d bytes)",
		    CERTAOS_MAX_URL - 64);
		return;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '#' || *p == '"' ||
		    *p == '<' || *p == '>') {
			yyerror("invite url: invalid character 0x%02x", *p);
			return;
		}
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
		yyerror("invite url \"%s\": must start with http:// or "
		    "https://", s);
		return;
	}
	(void)strlcpy(conf->invite_url, s, sizeof(conf->invite_url));
}

/*
 * issuer: http:// or https://, a host, no query or fragment, printable
 * ASCII only; trailing slashes are dropped (the issuer is compared
 * byte for byte by relying parties).
 */
static int
set_issuer(const char *s)
{
	char		 buf[CERTAOS_MAX_ISSUER];
	const char	*host, *p;
	size_t		 len;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf)) {
		yyerror("issuer too long (max %d bytes)",
		    CERTAOS_MAX_ISSUER - 1);
		return (-1);
	}
	for (p = buf; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p)) {
			yyerror("issuer: invalid character 0x%02x",
			    (unsigned char)*p);
			return (-1);
		}
	if (strncmp(buf, "https://", 8) == 0)
		host = buf + 8;
	else if (strncmp(buf, "http://", 7) == 0)
		host = buf + 7;
	else {
		yyerror("issuer \"%s\": must start with http:// or https://",
		    buf);
		return (-1);
	}
	if (strpbrk(buf, "?#") != NULL) {
		yyerror("issuer \"%s\": must not have a query or fragment",
		    buf);
		return (-1);
	}
	len = strlen(buf);
	while (len > (size_t)(host - buf) && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (*host == '\0' || *host == '/') {
		yyerror("issuer \"%s\": no host", s);
		return (-1);
	}
	(void)strlcpy(conf->issuer, buf, sizeof(conf->issuer));
	return (0);
}

/* A number with an optional suffix: "8192", "8K", "1M". */
static int
parse_size(const char *what, const char *s, long long min, long long max,
    uint32_t *out)
{
	char		 buf[32];
	const char	*errstr;
	long long	 mult = 1, n;
	size_t		 len;

	len = strlen(s);
	if (len > 0 && s[len - 1] == 'K') {
		mult = 1024;
		len--;
	} else if (len > 0 && s[len - 1] == 'M') {
		mult = 1024 * 1024;
		len--;
	}
	if (len >= sizeof(buf)) {
		yyerror("%s %s: out of range (%lld-%lld)", what, s, min, max);
		return (-1);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!isnumber(buf)) {
		yyerror("invalid %s \"%s\"", what, s);
		return (-1);
	}
	n = strtonum(buf, LLONG_MIN / mult, LLONG_MAX / mult, &errstr);
	if (errstr != NULL) {
		yyerror("%s %s: out of range (%lld-%lld)", what, s, min, max);
		return (-1);
	}
	if (range(what, s, n * mult, min, max) == -1)
		return (-1);
	*out = n * mult;
	return (0);
}

/*
 * A duration in seconds with an optional unit: "10", "10s", "5m", "1h",
 * "7d".  Returns 0, -1 if s is not a duration, -2 if it overflows.
 */
static int
parse_duration(const char *s, long long *out)
{
	char		 buf[32];
	const char	*errstr, *p, *end;
	long long	 mult = 1, n;
	size_t		 len;

	len = strlen(s);
	if (len > 0) {
		switch (s[len - 1]) {
		case 'd':
			mult = 86400;
			len--;
			break;
		case 'h':
			mult = 3600;
			len--;
			break;
		case 'm':
			mult = 60;
			len--;
			break;
		case 's':
			len--;
			break;
		}
	}
	p = s;
	end = s + len;
	if (p < end && *p == '-')
		p++;
	if (p == end)
		return (-1);
	for (; p < end; p++)
		if (!isdigit((unsigned char)*p))
			return (-1);
	if (len >= sizeof(buf))
		return (-2);
	memcpy(buf, s, len);
	buf[len] = '\0';
	n = strtonum(buf, LLONG_MIN / mult, LLONG_MAX / mult, &errstr);
	if (errstr != NULL)
		return (-2);
	*out = n * mult;
	return (0);
}

/* A number of seconds in the largest unit that writes it exactly. */
static const char *
fmt_duration(long long v, char *buf, size_t len)
{
	if (v != 0 && v % 86400 == 0)
		(void)snprintf(buf, len, "%lldd", v / 86400);
	else if (v != 0 && v % 3600 == 0)
		(void)snprintf(buf, len, "%lldh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		(void)snprintf(buf, len, "%lldm", v / 60);
	else
		(void)snprintf(buf, len, "%lld", v);
	return (buf);
}

/*
 * A duration between min and max seconds.  The range in the error is in
 * seconds, or with units when the statement's bounds are documented so.
 */
static int
parse_seconds(const char *what, const char *s, long long min, long long max,
    int units, uint32_t *out)
{
	char		 lo[32], hi[32];
	long long	 n = 0;

	switch (parse_duration(s, &n)) {
	case -1:
		yyerror("invalid %s \"%s\"", what, s);
		return (-1);
	case -2:
		n = LLONG_MAX;		/* out of any range */
		break;
	}
	if (n >= min && n <= max) {
		*out = n;
		return (0);
	}
	if (units) {
		(void)fmt_duration(min, lo, sizeof(lo));
		(void)fmt_duration(max, hi, sizeof(hi));
	} else {
		(void)snprintf(lo, sizeof(lo), "%lld", min);
		(void)snprintf(hi, sizeof(hi), "%lld", max);
	}
	yyerror("%s %s: out of range (%s-%s)", what, s, lo, hi);
	return (-1);
}

/*
 * One option of a session statement.  Its own range is checked here;
 * update-age and remember-off against the lifetime in session_check(),
 * once the lifetime is known.
 */
static void
session_set(int i, const char *s, int line)
{
	struct sessopt	*o = &sess[i];
	char		 what[32];
	uint32_t	 v;

	(void)snprintf(what, sizeof(what), "session %s", o->name);
	if (o->set) {
		yyerror("%s already set", what);
		return;
	}
	o->set = 1;
	o->line = line;
	if ((o->file = strdup(file->name)) == NULL)
		fatal("session_set");
	(void)strlcpy(o->written, s, sizeof(o->written));
	if (parse_seconds(what, s, i == SESS_UPDATE || i == SESS_FRESH ? 0 :
	    CERTAOS_SESSION_MIN,
	    CERTAOS_SESSION_MAX, 1, &v) == 0) {
		o->value = v;
		o->ok = 1;
	}
}

/*
 * At the end of the file: update-age and remember-off may not exceed the
 * lifetime.  Left out, each defaults to its constant, or to the lifetime
 * when that is shorter: as in Better Auth, such a session never slides;
 * unlike Better Auth (a fixed day), a rememberMe false session never
 * outlives a remembered one.
 */
static void
session_check(void)
{
	struct sessopt	*o;
	char		 buf[32];
	uint32_t	 lifetime;
	int		 i;

	/* A bad lifetime was reported; what depends on it cannot be. */
	if (sess[SESS_LIFETIME].set && !sess[SESS_LIFETIME].ok)
		return;
	lifetime = sess[SESS_LIFETIME].ok ? sess[SESS_LIFETIME].value :
	    CERTAOS_SESSION_LIFETIME;
	for (i = SESS_UPDATE; i <= SESS_SHORT; i++) {
		o = &sess[i];
		if (o->ok && o->value > lifetime)
			yyerror_in(o->file, o->line, "session %s %s: longer "
			    "than the session lifetime (%s)", o->name,
			    o->written, fmt_duration(lifetime, buf,
			    sizeof(buf)));
	}
	conf->session_lifetime = lifetime;
	if (sess[SESS_UPDATE].ok)
		conf->session_update = sess[SESS_UPDATE].value;
	else
		conf->session_update = lifetime < CERTAOS_SESSION_UPDATE ?
		    lifetime : CERTAOS_SESSION_UPDATE;
	if (sess[SESS_SHORT].ok)
		conf->session_short = sess[SESS_SHORT].value;
	else
		conf->session_short = lifetime < CERTAOS_SESSION_SHORT ?
		    lifetime : CERTAOS_SESSION_SHORT;
	/* 0 turns the check off; longer than the lifetime is harmless */
	conf->session_fresh = sess[SESS_FRESH].ok ? sess[SESS_FRESH].value :
	    CERTAOS_SESSION_FRESH;
}

static void
session_reset(void)
{
	int		 i;

	for (i = 0; i < SESS_MAX; i++) {
		free(sess[i].file);
		sess[i].file = NULL;
		sess[i].set = sess[i].ok = 0;
		sess[i].value = 0;
		sess[i].line = 0;
		sess[i].written[0] = '\0';
	}
}

/* Cookie names are "<prefix>.session_token" and the like. */
static void
set_cookie_prefix(const char *s)
{
	const char	*p;
	int		 c;

	if (*s == '\0') {
		yyerror("cookie prefix: empty string");
		return;
	}
	for (p = s; *p != '\0'; p++) {
		c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_')
			continue;
		if (isascii(c) && isprint(c))
			yyerror("cookie prefix: invalid character '%c'", c);
		else
			yyerror("cookie prefix: invalid character 0x%02x", c);
		return;
	}
	if (strlen(s) > CERTAOS_MAX_COOKIE_PREFIX) {
		yyerror("cookie prefix too long (max %d bytes)",
		    CERTAOS_MAX_COOKIE_PREFIX);
		return;
	}
	(void)strlcpy(conf->cookie_prefix, s, sizeof(conf->cookie_prefix));
}

/*
 * An IPv6 address as the WHATWG URL standard serializes it in an origin:
 * lower-case hex groups, the first longest run of two or more zero
 * groups as "::", and never a dotted IPv4 tail (which inet_ntop(3)
 * writes for mapped addresses).
 */
static void
v6_serialize(const struct in6_addr *in6, char *buf, size_t len)
{
	unsigned int	 g[8];
	size_t		 off = 0;
	int		 i, run = -1, runlen = 0, cur = -1, curlen = 0;

	for (i = 0; i < 8; i++) {
		g[i] = in6->s6_addr[2 * i] << 8 | in6->s6_addr[2 * i + 1];
		if (g[i] == 0) {
			if (cur == -1) {
				cur = i;
				curlen = 0;
			}
			if (++curlen > runlen) {
				run = cur;
				runlen = curlen;
			}
		} else
			cur = -1;
	}
	if (runlen < 2)
		run = -1;
	buf[0] = '\0';
	for (i = 0; i < 8; i++) {
		if (i == run) {
			off += snprintf(buf + off, len - off, "::");
			i += runlen - 1;
			continue;
		}
		off += snprintf(buf + off, len - off, "%s%x",
		    i == 0 || i == run + runlen ? "" : ":", g[i]);
	}
}

/*
 * A trusted origin: scheme, host and optional port, nothing more.  It is
 * stored as a browser serializes an Origin header, so that web can
 * compare bytes: scheme and host in lower case, an IPv6 address in its
 * canonical form, the scheme's default port left out.
 */
static void
origin_add(const char *s, int line)
{
	char		 host[CERTAOS_MAX_ORIGIN];
	char		 buf[CERTAOS_MAX_ORIGIN + 32];	/* with the port */
	char		 v6[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	const char	*p, *q, *end, *hend;
	size_t		 hlen, i;
	long		 port = 0;
	int		 https, c, n;

	if (strlen(s) >= CERTAOS_MAX_ORIGIN) {
		yyerror_at(line, "trusted origin too long (max %d bytes)",
		    CERTAOS_MAX_ORIGIN - 1);
		return;
	}
	for (p = s; *p != '\0'; p++)
		if (!isascii((unsigned char)*p) ||
		    !isgraph((unsigned char)*p)) {
			yyerror_at(line, "trusted origin: invalid character "
			    "0x%02x", (unsigned char)*p);
			return;
		}
	if (strncasecmp(s, "https://", 8) == 0) {
		https = 1;
		p = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		https = 0;
		p = s + 7;
	} else {
		yyerror_at(line, "trusted origin \"%s\": must start with "
		    "http:// or https://", s);
		return;
	}
	end = p + strcspn(p, "/?#");
	if (end == p) {
		yyerror_at(line, "trusted origin \"%s\": no host", s);
		return;
	}
	if (strcmp(end, "/") == 0) {
		yyerror_at(line, "trusted origin \"%s\": must not end with "
		    "'/'", s);
		return;
	}
	if (*end == '/') {
		yyerror_at(line, "trusted origin \"%s\": must not have a "
		    "path", s);
		return;
	}
	if (*end != '\0') {
		yyerror_at(line, "trusted origin \"%s\": must not have a "
		    "query or fragment", s);
		return;
	}

	/* The host: [IPv6], or a name or IPv4 address. */
	if (*p == '[') {
		if ((hend = memchr(p, ']', end - p)) == NULL)
			goto badhost;
		hlen = hend - (p + 1);
		memcpy(host, p + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &in6) != 1)
			goto badhost;
		v6_serialize(&in6, v6, sizeof(v6));
		(void)snprintf(host, sizeof(host), "[%s]", v6);
		q = hend + 1;
	} else {
		q = p + strcspn(p, ":/?#");
		hlen = q - p;
		if (hlen == 0) {
			yyerror_at(line, "trusted origin \"%s\": no host", s);
			return;
		}
		for (i = 0; i < hlen; i++) {
			c = (unsigned char)p[i];
			if (!isalnum(c) && c != '-' && c != '.')
				goto badhost;
			host[i] = tolower(c);
		}
		host[hlen] = '\0';
	}

	/* The port: 1 to 65535, in decimal; the default one is dropped. */
	if (q < end) {
		if (*q != ':')
			goto badhost;
		for (p = q + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p) || port > 65535)
				goto badport;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			goto badport;
		if (port == (https ? 443 : 80))
			port = 0;
	}
	if (port != 0)
		n = snprintf(buf, sizeof(buf), "%s://%s:%ld",
		    https ? "https" : "http", host, port);
	else
		n = snprintf(buf, sizeof(buf), "%s://%s",
		    https ? "https" : "http", host);
	/* Normalizing never lengthens an origin; be sure of it. */
	if (n < 0 || n >= CERTAOS_MAX_ORIGIN) {
		yyerror_at(line, "trusted origin too long (max %d bytes)",
		    CERTAOS_MAX_ORIGIN - 1);
		return;
	}

	for (i = 0; i < conf->norigins; i++)
		if (strcmp(conf->origins[i], buf) == 0) {
			yyerror_at(line, "duplicate trusted origin \"%s\"",
			    buf);
			return;
		}
	if (conf->norigins >= CERTAOS_MAX_ORIGINS) {
		yyerror_at(line, "too many trusted origins (max %d)",
		    CERTAOS_MAX_ORIGINS);
		return;
	}
	(void)strlcpy(conf->origins[conf->norigins++], buf,
	    sizeof(conf->origins[0]));
	return;

 badhost:
	yyerror_at(line, "trusted origin \"%s\": invalid host", s);
	return;
 badport:
	yyerror_at(line, "trusted origin \"%s\": invalid port", s);
}

/*
 * rate-limit "path" window D max N.  The path is relative to the base
 * path, as Better Auth writes its rules; a '*' may only end it, where
 * it makes the rule apply to every path that starts with the rest.
 */
static void
rl_rule_add(const char *path, const char *win, int64_t max)
{
	struct cfg_rl_rule	*r;
	uint32_t		 w, i, j, n;
	size_t			 len;
	int			 bad = 0;

	len = strlen(path);
	if (*path != '/') {
		yyerror("rate-limit \"%s\": the path must start with '/'",
		    path);
		bad = 1;
	} else if (len >= CERTAOS_MAX_RL_PATH) {
		yyerror("rate-limit path too long (max %d bytes)",
		    CERTAOS_MAX_RL_PATH - 1);
		bad = 1;
	} else {
		for (i = 0; i < len; i++) {
			if (!isascii((unsigned char)path[i]) ||
			    !isgraph((unsigned char)path[i]) ||
			    strchr("\"\\?#", path[i]) != NULL) {
				yyerror("rate-limit \"%s\": invalid character "
				    "0x%02x", path, (unsigned char)path[i]);
				bad = 1;
				break;
			}
			if (path[i] == '*' && i != len - 1) {
				yyerror("rate-limit \"%s\": '*' may only end "
				    "the path", path);
				bad = 1;
				break;
			}
		}
	}
	if (parse_seconds("rate-limit window", win, 1, CERTAOS_RL_WINDOW_MAX,
	    1, &w) == -1)
		bad = 1;
	if (range("rate-limit max", NULL, max, 1, CERTAOS_RL_MAX_MAX) == -1)
		bad = 1;
	if (bad)
		return;
	for (i = 0; i < rl_nfile; i++)
		if (strcmp(rl_file[i].path, path) == 0) {
			yyerror("rate-limit \"%s\" already set", path);
			return;
		}

	/* What applies: the file's rules and the built-in ones left. */
	n = rl_nfile + 1;
	for (i = 0; i < nitems(rl_builtin); i++) {
		for (j = 0; j < rl_nfile; j++)
			if (strcmp(rl_file[j].path, rl_builtin[i].path) == 0)
				break;
		if (j == rl_nfile && strcmp(path, rl_builtin[i].path) != 0)
			n++;
	}
	if (n > CERTAOS_MAX_RL_RULES) {
		yyerror("too many rate-limit rules (max %d, the built-in "
		    "ones included)", CERTAOS_MAX_RL_RULES);
		return;
	}
	r = &rl_file[rl_nfile++];
	(void)strlcpy(r->path, path, sizeof(r->path));
	r->window = w;
	r->max = max;
}

/*
 * The rules in force: the built-in ones in their order, each replaced
 * by the file's rule for its path if there is one, then the file's
 * other rules in the file's order.  Printed so, they parse back to the
 * same list.
 */
static void
rl_finish(void)
{
	uint32_t	 i, j, n = 0;

	for (i = 0; i < nitems(rl_builtin); i++) {
		conf->rl_rules[n] = rl_builtin[i];
		for (j = 0; j < rl_nfile; j++)
			if (strcmp(rl_file[j].path, rl_builtin[i].path) == 0)
				conf->rl_rules[n] = rl_file[j];
		n++;
	}
	for (j = 0; j < rl_nfile; j++) {
		for (i = 0; i < nitems(rl_builtin); i++)
			if (strcmp(rl_file[j].path, rl_builtin[i].path) == 0)
				break;
		if (i == nitems(rl_builtin) && n < CERTAOS_MAX_RL_RULES)
			conf->rl_rules[n++] = rl_file[j];
	}
	conf->rl_nrules = n;
	rl_nfile = 0;
}

/*
 * A trusted proxy: an IPv4 or IPv6 address, or a network as
 * address/prefix-length with no host bits set.
 */
static void
proxy_add(const char *s, int line)
{
	struct cfg_proxy	 px;
	char			 buf[INET6_ADDRSTRLEN + 8];
	char			*slash;
	const char		*errstr;
	uint32_t		 i, bits;
	int			 maxlen;

	memset(&px, 0, sizeof(px));
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		goto bad;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, px.addr) == 1) {
		px.af = 4;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, px.addr) == 1) {
		px.af = 6;
		maxlen = 128;
	} else
		goto bad;
	px.plen = maxlen;
	if (slash != NULL) {
		if (*slash == '\0' || strspn(slash, "0123456789") !=
		    strlen(slash))
			goto bad;
		px.plen = strtonum(slash, 0, maxlen, &errstr);
		if (errstr != NULL) {
			yyerror_at(line, "trusted-proxy \"%s\": prefix length "
			    "out of range (0-%d)", s, maxlen);
			return;
		}
	}
	for (i = 0; i < (uint32_t)maxlen / 8; i++) {
		bits = px.plen >= (i + 1) * 8 ? 0 : px.plen <= i * 8 ? 0xff :
		    0xff >> (px.plen - i * 8);
		if ((px.addr[i] & bits) != 0) {
			yyerror_at(line, "trusted-proxy \"%s\": host bits "
			    "set", s);
			return;
		}
	}
	for (i = 0; i < conf->nproxies; i++)
		if (memcmp(&conf->proxies[i], &px, sizeof(px)) == 0) {
			yyerror_at(line, "duplicate trusted-proxy \"%s\"", s);
			return;
		}
	if (conf->nproxies >= CERTAOS_MAX_PROXIES) {
		yyerror_at(line, "too many trusted proxies (max %d)",
		    CERTAOS_MAX_PROXIES);
		return;
	}
	conf->proxies[conf->nproxies++] = px;
	return;

 bad:
	yyerror_at(line, "trusted-proxy \"%s\": not an address or "
	    "address/prefix", s);
}

static void
tls_reset(void)
{
	memset(&tlsblk, 0, sizeof(tlsblk));
}

/*
 * listen on ADDR port N [tls { ... }]: errors are reported at the line of
 * the listen keyword.
 */
static void
listen_add(char *addr, int64_t port, int line)
{
	struct listen_config	*lc, *l;
	struct in6_addr		 in6;
	struct in_addr		 in4;
	char			 canon[INET6_ADDRSTRLEN];
	const char		*a = addr;
	int			 bad = 0, n = 0;

	if (strcmp(a, "*") == 0)
		a = "0.0.0.0";
	if (inet_pton(AF_INET, a, &in4) == 1)
		(void)inet_ntop(AF_INET, &in4, canon, sizeof(canon));
	else if (inet_pton(AF_INET6, a, &in6) == 1)
		(void)inet_ntop(AF_INET6, &in6, canon, sizeof(canon));
	else {
		yyerror_at(line, "invalid address \"%s\"", addr);
		bad = 1;
	}
	if (port < 1 || port > 65535) {
		yyerror_at(line, "port %lld: out of range (1-65535)",
		    (long long)port);
		bad = 1;
	}
	if (tlsblk.on && (tlsblk.cert[0] == '\0' || tlsblk.key[0] == '\0')) {
		yyerror_at(line, "tls block requires a certificate and a key");
		bad = 1;
	}
	free(addr);
	if (bad || tlsblk.bad)
		return;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (strcmp(l->addr, canon) == 0 && l->port == port) {
			yyerror_at(line, "duplicate listener %s port %lld",
			    canon, (long long)port);
			return;
		}
		n++;
	}
	if (n >= CERTAOS_MAX_LISTENERS) {
		yyerror_at(line, "too many listeners (max %d)",
		    CERTAOS_MAX_LISTENERS);
		return;
	}

	if ((lc = calloc(1, sizeof(*lc))) == NULL)
		fatal("listen_add");
	lc->id = n;
	(void)strlcpy(lc->addr, canon, sizeof(lc->addr));
	lc->port = port;
	lc->tls = tlsblk.on;
	(void)strlcpy(lc->cert_file, tlsblk.cert, sizeof(lc->cert_file));
	(void)strlcpy(lc->key_file, tlsblk.key, sizeof(lc->key_file));
	lc->fd = -1;
	TAILQ_INSERT_TAIL(&conf->listeners, lc, entry);
}

static void
conf_defaults(struct certaosd_config *c)
{
	long		 ncpu;

	(void)strlcpy(c->issuer, CERTAOS_ISSUER, sizeof(c->issuer));
	c->db_pool = 4;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > CERTAOS_MAX_PREFORK)
		ncpu = CERTAOS_MAX_PREFORK;
	c->prefork = ncpu;
	c->pw_workers = ncpu > CERTAOS_MAX_PWWORKERS ?
	    CERTAOS_MAX_PWWORKERS : ncpu;
	c->max_header = CERTAOS_MAX_HEADER_DEF;
	c->max_body = CERTAOS_MAX_BODY_DEF;
	c->timeout_header = CERTAOS_TIMEOUT_HDR_DEF;
	c->timeout_idle = CERTAOS_TIMEOUT_IDLE_DEF;
	(void)strlcpy(c->user, CERTAOS_USER, sizeof(c->user));
	(void)strlcpy(c->chroot, CERTAOS_CHROOT, sizeof(c->chroot));
	(void)strlcpy(c->control_socket, CERTAOS_SOCKET,
	    sizeof(c->control_socket));
	c->argon2_memory = CERTAOS_ARGON2_MEMORY;
	c->argon2_time = CERTAOS_ARGON2_TIME;
	c->argon2_lanes = CERTAOS_ARGON2_LANES;
	c->pw_min = CERTAOS_PW_MIN;
	c->pw_max = CERTAOS_PW_MAX;
	/* The session durations are settled by session_check(). */
	c->session_lifetime = CERTAOS_SESSION_LIFETIME;
	c->session_update = CERTAOS_SESSION_UPDATE;
	c->session_short = CERTAOS_SESSION_SHORT;
	c->session_fresh = CERTAOS_SESSION_FRESH;
	c->verify = VERIFY_OPTIONAL;
	c->delete_user = 1;
	c->change_confirm = 1;
	(void)strlcpy(c->cookie_prefix, CERTAOS_COOKIE_PREFIX,
	    sizeof(c->cookie_prefix));
	c->norigins = 0;
	c->rl_enabled = 1;
	c->rl_entries = CERTAOS_RL_ENTRIES_DEF;
	c->rl_window = CERTAOS_RL_WINDOW_DEF;
	c->rl_max = CERTAOS_RL_MAX_DEF;
	c->rl_nrules = 0;	/* rl_finish() adds the built-in ones */
	c->nproxies = 0;
	TAILQ_INIT(&c->listeners);
	c->mail.method = MAIL_OFF;
	c->mail.retry = CERTAOS_MAIL_RETRY_DEF;
	c->mail.attempts = CERTAOS_MAIL_ATTEMPTS_DEF;
	c->mail.timeout = CERTAOS_MAIL_TIMEOUT;
	(void)strlcpy(c->mail.app, CERTAOS_MAIL_APP_DEF, sizeof(c->mail.app));
}

struct certaosd_config *
parse_config(const char *filename)
{
	struct certaosd_config	*c;
	struct sym		*sym, *next;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("parse_config");
	conf_defaults(c);
	conf = c;
	errors = 0;
	seen = 0;
	mailseen = 0;
	expanding = 0;
	pushback_len = 0;
	tls_reset();
	session_reset();
	rl_nfile = 0;
	memset(&stmt, 0, sizeof(stmt));
	stmt.newline = 1;

	if ((file = pushfile(filename, 0)) == NULL) {
		config_free(c);
		conf = NULL;
		return (NULL);
	}
	topfile = file;

	if (yyparse() != 0 && errors == 0)
		errors++;

	while ((file = TAILQ_LAST(&files, files)) != NULL)
		(void)popfile();
	file = topfile = NULL;

	session_check();
	session_reset();
	rl_finish();
	mail_check(filename);

	/* Macros from the file live for one parse; those from -D stay. */
	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if (sym->persist)
			continue;
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->nam);
		free(sym->val);
		free(sym);
	}

	/* Required statements, reported once, without a line. */
	if ((seen & SEEN_SECRET) == 0) {
		log_warnx("%s: missing secret file", filename);
		errors++;
	}
	if ((seen & SEEN_DATABASE) == 0) {
		log_warnx("%s: missing database", filename);
		errors++;
	}
	if ((seen & SEEN_LISTEN) == 0) {
		log_warnx("%s: missing listen on", filename);
		errors++;
	}

	free(pushback);
	pushback = NULL;
	pushback_len = pushback_size = 0;
	conf = NULL;
	if (errors) {
		config_free(c);
		return (NULL);
	}
	return (c);
}

void
config_free(struct certaosd_config *c)
{
	struct listen_config	*lc;

	if (c == NULL)
		return;
	while ((lc = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, lc, entry);
		free(lc->cert);
		freezero(lc->key, lc->key_len);
		free(lc);
	}
	freezero(c->secret, c->secret_len);
	/* The conninfo may hold a password. */
	freezero(c, sizeof(*c));
}

static void
print_string(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

static void
print_proxy(FILE *fp, const struct cfg_proxy *px)
{
	char	 a[INET6_ADDRSTRLEN];

	if (inet_ntop(px->af == 4 ? AF_INET : AF_INET6, px->addr, a,
	    sizeof(a)) == NULL)
		(void)strlcpy(a, "?", sizeof(a));
	if (px->plen != (px->af == 4 ? 32 : 128))
		fprintf(fp, "\t%s/%u\n", a, px->plen);
	else
		fprintf(fp, "\t%s\n", a);
}

/*
 * The mail lines, when mail is set up or a mail setting differs from its
 * default: a configuration without mail prints none.
 */
static void
print_mail(FILE *fp, const struct cfg_mail *m)
{
	static const char *const tls[] = { "starttls", "on", "off" };

	switch (m->method) {
	case MAIL_SENDMAIL:
		fprintf(fp, "mail sendmail ");
		print_string(fp, m->sendmail);
		fprintf(fp, "\n");
		break;
	case MAIL_SMTP:
		fprintf(fp, "mail smtp ");
		print_string(fp, m->host);
		fprintf(fp, " port %u tls %s", m->port, m->noverify ?
		    "noverify" : tls[m->tls < nitems(tls) ? m->tls : 0]);
		if (m->ca[0] != '\0') {
			fprintf(fp, " ca ");
			print_string(fp, m->ca);
		}
		if (m->user[0] != '\0') {
			fprintf(fp, " auth ");
			print_string(fp, m->user);
			fprintf(fp, " password ");
			print_string(fp, m->password);
		}
		fprintf(fp, "\n");
		break;
	case MAIL_DIR:
		fprintf(fp, "mail dir ");
		print_string(fp, m->dir);
		fprintf(fp, "\n");
		break;
	}
	if (m->from[0] != '\0') {
		fprintf(fp, "mail from ");
		print_string(fp, m->from);
		fprintf(fp, "\n");
	}
	if (m->templates[0] != '\0') {
		fprintf(fp, "mail templates ");
		print_string(fp, m->templates);
		fprintf(fp, "\n");
	}
	if (m->method != MAIL_OFF || m->retry != CERTAOS_MAIL_RETRY_DEF ||
	    m->attempts != CERTAOS_MAIL_ATTEMPTS_DEF)
		fprintf(fp, "mail retry %u attempts %u\n", m->retry,
		    m->attempts);
	if (m->method != MAIL_OFF ||
	    strcmp(m->app, CERTAOS_MAIL_APP_DEF) != 0) {
		fprintf(fp, "mail app-name ");
		print_string(fp, m->app);
		fprintf(fp, "\n");
	}
}

void
print_config(FILE *fp, struct certaosd_config *c)
{
	struct listen_config	*lc;
	uint32_t		 i;

	fprintf(fp, "issuer ");
	print_string(fp, c->issuer);
	fprintf(fp, "\nsecret file ");
	print_string(fp, c->secret_file);
	fprintf(fp, "\ndatabase ");
	print_string(fp, c->database);
	fprintf(fp, "\ndatabase pool %u\n", c->db_pool);
	fprintf(fp, "prefork %u\n", c->prefork);
	fprintf(fp, "user ");
	print_string(fp, c->user);
	fprintf(fp, "\nchroot ");
	print_string(fp, c->chroot);
	fprintf(fp, "\ncontrol socket ");
	print_string(fp, c->control_socket);
	fprintf(fp, "\nlimit header-size %u\n", c->max_header);
	fprintf(fp, "limit body-size %u\n", c->max_body);
	fprintf(fp, "timeout header %u\n", c->timeout_header);
	fprintf(fp, "timeout idle %u\n", c->timeout_idle);
	fprintf(fp, "password argon2id memory %u time %u parallelism %u\n",
	    c->argon2_memory, c->argon2_time, c->argon2_lanes);
	fprintf(fp, "password workers %u\n", c->pw_workers);
	fprintf(fp, "password length %u %u\n", c->pw_min, c->pw_max);
	fprintf(fp, "session lifetime %u update-age %u remember-off %u\n",
	    c->session_lifetime, c->session_update, c->session_short);
	fprintf(fp, "session fresh-age %u\n", c->session_fresh);
	fprintf(fp, "cookie prefix ");
	print_string(fp, c->cookie_prefix);
	fprintf(fp, "\n");
	if (c->norigins > 0) {
		fprintf(fp, "trusted-origins {\n");
		for (i = 0; i < c->norigins; i++) {
			fprintf(fp, "\t");
			print_string(fp, c->origins[i]);
			fprintf(fp, "\n");
		}
		fprintf(fp, "}\n");
	}
	fprintf(fp, "email verification %s\n",
	    c->verify == VERIFY_REQUIRED ? "required" :
	    c->verify == VERIFY_OFF ? "off" : "optional");
	fprintf(fp, "email change-confirmation %s\n",
	    c->change_confirm ? "on" : "off");
	fprintf(fp, "delete-user %s\n", c->delete_user ? "on" : "off");
	fprintf(fp, "signup %s\n", c->signup == SIGNUP_CLOSED ? "closed" :
	    c->signup == SIGNUP_INVITE_ONLY ? "invite-only" : "open");
	if (c->invite_url[0] != '\0') {
		fprintf(fp, "invite url ");
		print_string(fp, c->invite_url);
		fprintf(fp, "\n");
	}
	fprintf(fp, "rate-limit %s\n", c->rl_enabled ? "on" : "off");
	fprintf(fp, "rate-limit entries %u\n", c->rl_entries);
	fprintf(fp, "rate-limit window %u max %u\n", c->rl_window, c->rl_max);
	for (i = 0; i < c->rl_nrules; i++) {
		fprintf(fp, "rate-limit ");
		print_string(fp, c->rl_rules[i].path);
		fprintf(fp, " window %u max %u\n", c->rl_rules[i].window,
		    c->rl_rules[i].max);
	}
	if (c->nproxies > 0) {
		fprintf(fp, "trusted-proxy {\n");
		for (i = 0; i < c->nproxies; i++)
			print_proxy(fp, &c->proxies[i]);
		fprintf(fp, "}\n");
	}
	print_mail(fp, &c->mail);
	TAILQ_FOREACH(lc, &c->listeners, entry) {
		fprintf(fp, "listen on %s port %u", lc->addr, lc->port);
		if (lc->tls) {
			fprintf(fp, " tls {\n\tcertificate ");
			print_string(fp, lc->cert_file);
			fprintf(fp, "\n\tkey ");
			print_string(fp, lc->key_file);
			fprintf(fp, "\n}");
		}
		fprintf(fp, "\n");
	}
}
