/*
 * certaosctl: talk to certaosd over its control socket, as relayctl does.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "crypto.h"
#include "ctlrec.h"
#include "msg.h"

enum action {
	NONE,
	STATUS,
	RELOAD,
	LOG_VERBOSE,
	LOG_BRIEF,
	MAIL_TEST,
	MAIL_QUEUE
};

struct token {
	const char		*keyword;
	enum action		 action;
	const struct token	*next;
};

static const struct token t_log[] = {
	{ "brief",	LOG_BRIEF,	NULL },
	{ "verbose",	LOG_VERBOSE,	NULL },
	{ NULL,		NONE,		NULL }
};

static const struct token t_mail[] = {
	{ "queue",	MAIL_QUEUE,	NULL },
	{ "test",	MAIL_TEST,	NULL },	/* ADDRESS follows */
	{ NULL,		NONE,		NULL }
};

static const struct token t_main[] = {
	{ "log",	NONE,		t_log },
	{ "mail",	NONE,		t_mail },
	{ "reload",	RELOAD,		NULL },
	{ "status",	STATUS,		NULL },
	{ NULL,		NONE,		NULL }
};

static __dead void usage(void);
static enum action parse(int, char *[]);
static const struct token *match(const struct token *, const char *);
static void	 uptime(time_t, char *, size_t);
static int	 show_status(struct imsg *);
static int	 ctl_connect(const char *);
static void	 ctl_send(uint32_t, const struct mbuf *);
static void	 ctl_next(struct imsg *);
static __dead void ctl_failed(struct imsg *);
static void	 ctl_expect_end(struct imsg *, uint32_t);
static void	 fmt_time(uint64_t, char *, size_t);
static uint64_t	 parse_since(const char *);
static uint32_t	 parse_limit(const char *);
static const char *opt_value(int, char *[], int *);
static __dead void cmd_user(int, char *[]);
static __dead void cmd_audit(int, char *[]);
static __dead void cmd_import(int, char *[]);
static void	 user_print_row(const struct ctl_user *);
static void	 user_print_full(const struct ctl_user *);

/* the connection of the operator commands */
static struct imsgbuf	 cibuf;
static const char	*ctl_sock = CERTAOS_SOCKET;
static int	 show_mail_queue(struct imsg *);

/* the argument of "mail test" */
static const char	*mail_address;

static __dead void
usage(void)
{
	extern const char *__progname;

	fprintf(stderr, "usage: %s [-s socket] command [argument ...]\n"
	    "commands: status, reload, log verbose, log brief,\n"
	    "    user list [--role ROLE] [--limit N], user show EMAIL,\n"
	    "    user set-role EMAIL ROLE, user disable EMAIL [--reason TEXT],"
	    "\n    user enable EMAIL,\n"
	    "    user invite EMAIL --role ROLE [--attr KEY=VALUE ...] "
	    "[--expires DURATION],\n"
	    "    user invites [--limit N],\n"
	    "    audit [--user EMAIL] [--since T] [--limit N],\n"
	    "    import better-auth CONNINFO,\n"
	    "    mail test ADDRESS, mail queue\n", __progname);
	exit(1);
}

static const struct token *
match(const struct token *table, const char *word)
{
	const struct token	*t, *found = NULL;
	size_t			 len = strlen(word);

	for (t = table; t->keyword != NULL; t++) {
		if (strcmp(t->keyword, word) == 0)
			return (t);
		if (strncmp(t->keyword, word, len) == 0) {
			if (found != NULL)
				errx(1, "ambiguous argument: %s", word);
			found = t;
		}
	}
	if (found == NULL)
		errx(1, "unknown argument: %s", word);
	return (found);
}

static enum action
parse(int argc, char *argv[])
{
	const struct token	*table = t_main, *t = NULL;
	int			 i;

	if (argc < 1)
		usage();
	for (i = 0; i < argc; i++) {
		if (table == NULL)
			errx(1, "unknown argument: %s", argv[i]);
		t = match(table, argv[i]);
		table = t->next;
		/* a command that takes an argument ends the words */
		if (t->action == MAIL_TEST) {
			if (i + 1 >= argc)
				errx(1, "missing argument: an email address");
			if (i + 2 < argc)
				errx(1, "unknown argument: %s", argv[i + 2]);
			mail_address = argv[i + 1];
			return (t->action);
		}
	}
	if (table != NULL) {
		fprintf(stderr, "missing argument; valid ones:");
		for (t = table; t->keyword != NULL; t++)
			fprintf(stderr, " %s", t->keyword);
		fprintf(stderr, "\n");
		exit(1);
	}
	return (t->action);
}

static void
uptime(time_t started, char *buf, size_t len)
{
	time_t	 t = time(NULL) - started;

	if (t < 0)
		t = 0;
	if (t >= 86400)
		(void)snprintf(buf, len, "%lldd%02lldh%02lldm",
		    (long long)t / 86400, (long long)(t % 86400) / 3600,
		    (long long)(t % 3600) / 60);
	else if (t >= 3600)
		(void)snprintf(buf, len, "%lldh%02lldm%02llds",
		    (long long)t / 3600, (long long)(t % 3600) / 60,
		    (long long)t % 60);
	else
		(void)snprintf(buf, len, "%lldm%02llds", (long long)t / 60,
		    (long long)t % 60);
}

/* Print one process; 1 when the listing ended. */
static int
show_status(struct imsg *imsg)
{
	static char		 db[64] = "unknown", kids[300] = "";
	struct ctl_status	 st;
	char			 up[32];

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_STATUS_REPLY:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			errx(1, "bad status reply from certaosd");
		st.kids[sizeof(st.kids) - 1] = '\0';
		if (st.proc < 0 || st.proc >= PROC_MAX)
			errx(1, "bad status reply from certaosd");
		uptime((time_t)st.started, up, sizeof(up));
		printf("%-8s %-8d %-8d %s\n", proc_name(st.proc),
		    st.instance, st.pid, up);
		if (st.proc == PROC_DB)
			(void)strlcpy(db, st.db_ok ? "reachable" :
			    "unreachable", sizeof(db));
		/* keys[0] holds the key set; keys[1..] hash passwords */
		if (st.proc == PROC_KEYS && st.instance == 0)
			(void)snprintf(kids, sizeof(kids), "%d loaded%s%s",
			    st.nkeys, st.nkeys ? ": " : "", st.kids);
		return (0);
	case IMSG_CTL_END:
		printf("database: %s\n", db);
		printf("keys: %s\n", kids[0] != '\0' ? kids : "none");
		return (1);
	default:
		errx(1, "unexpected reply %u from certaosd",
		    imsg_get_type(imsg));
	}
}

/* One outbox row; 1 when the listing ended. */
static int
show_mail_queue(struct imsg *imsg)
{
	struct mread	 mr;
	char		 to[CERTAOS_MAX_EMAIL + 1];
	char		 lerr[CERTAOS_MAX_MAIL_ERROR + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1], when[32];
	char		 eerr[4 * CERTAOS_MAX_MAIL_ERROR + 1];
	uint64_t	 id, next;
	uint32_t	 attempts, failed;
	time_t		 t;
	struct tm	 tm;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_MAIL_QROW:
		mread_init(&mr, imsg);
		id = mread_u64(&mr);
		(void)mread_str(&mr, to, sizeof(to));
		(void)mread_str(&mr, tmpl, sizeof(tmpl));
		attempts = mread_u32(&mr);
		next = mread_u64(&mr);
		failed = mread_u32(&mr);
		(void)mread_str(&mr, lerr, sizeof(lerr));
		if (mread_end(&mr) == -1)
			errx(1, "bad queue row from certaosd");
		if (failed)
			(void)strlcpy(when, "failed", sizeof(when));
		else {
			t = (time_t)(next / 1000);
			if (gmtime_r(&t, &tm) == NULL ||
			    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    &tm) == 0)
				(void)strlcpy(when, "?", sizeof(when));
		}
		printf("%-6llu %-30s %-16s %-8u %-20s %s\n",
		    (unsigned long long)id, to, tmpl, attempts, when,
		    str_escape(lerr, eerr, sizeof(eerr)));
		return (0);
	case IMSG_CTL_END:
		return (1);
	default:
		errx(1, "unexpected reply %u from certaosd",
		    imsg_get_type(imsg));
	}
}

int
main(int argc, char *argv[])
{
	struct imsg		 imsg;
	const char		*sock = CERTAOS_SOCKET;
	enum action		 action;
	uint32_t		 type = IMSG_NONE;
	ssize_t			 n;
	int			 ch, fd, done = 0;
	char			 why[256];

	/* "+": glibc would take a command's --options for ours */
	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	ctl_sock = sock;
	if (argc >= 1 && strcmp(argv[0], "user") == 0)
		cmd_user(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "audit") == 0)
		cmd_audit(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		cmd_import(argc - 1, argv + 1);
	action = parse(argc, argv);

	fd = ctl_connect(sock);

	switch (action) {
	case STATUS:
		type = IMSG_CTL_SHOW_STATUS;
		printf("%-8s %-8s %-8s %s\n", "ROLE", "INSTANCE", "PID",
		    "UPTIME");
		break;
	case RELOAD:
		type = IMSG_CTL_RELOAD;
		break;
	case LOG_VERBOSE:
		type = IMSG_CTL_LOG_VERBOSE;
		break;
	case LOG_BRIEF:
		type = IMSG_CTL_LOG_BRIEF;
		break;
	case MAIL_TEST:
		type = IMSG_CTL_MAIL_TEST;
		break;
	case MAIL_QUEUE:
		type = IMSG_CTL_MAIL_QUEUE;
		printf("%-6s %-30s %-16s %-8s %-20s %s\n", "ID", "RECIPIENT",
		    "TEMPLATE", "ATTEMPTS", "NEXT", "LAST ERROR");
		break;
	case NONE:
		usage();
	}
	if (action == MAIL_TEST) {
		if (strlen(mail_address) > CERTAOS_MAX_EMAIL)
			errx(1, "address too long");
		if (imsg_compose(&cibuf, type, CTL_VERSION, 0, -1,
		    mail_address, strlen(mail_address) + 1) == -1)
			err(1, "write to certaosd");
	} else if (imsg_compose(&cibuf, type, CTL_VERSION, 0, -1, NULL, 0) ==
	    -1)
		err(1, "write to certaosd");
	if (imsgbuf_flush(&cibuf) == -1)
		err(1, "write to certaosd");

	while (!done) {
		if ((n = imsgbuf_read(&cibuf)) == -1)
			err(1, "read from certaosd");
		if (n == 0)
			errx(1, "certaosd closed the connection");
		while (!done) {
			if ((n = imsg_get(&cibuf, &imsg)) == -1)
				errx(1, "bad message from certaosd");
			if (n == 0)
				break;
			switch (imsg_get_type(&imsg)) {
			case IMSG_CTL_OK:
				if (action == RELOAD)
					printf("reload: configuration "
					    "reloaded\n");
				if (action == MAIL_TEST)
					printf("mail test: queued for %s\n",
					    mail_address);
				done = 1;
				break;
			case IMSG_CTL_FAIL:
				memset(why, 0, sizeof(why));
				if (imsg_get_len(&imsg) > 0)
					memcpy(why, imsg.data,
					    imsg_get_len(&imsg) < sizeof(why) -
					    1 ? imsg_get_len(&imsg) :
					    sizeof(why) - 1);
				errx(1, "%s", why);
			default:
				if (action == MAIL_QUEUE) {
					done = show_mail_queue(&imsg);
					break;
				}
				if (action != STATUS)
					errx(1, "unexpected reply %u",
					    imsg_get_type(&imsg));
				done = show_status(&imsg);
				break;
			}
			imsg_free(&imsg);
		}
	}
	imsgbuf_clear(&cibuf);
	close(fd);
	return (0);
}

/*
 * The operator commands.  One request at a time on one connection; the
 * answer is rows and IMSG_CTL_END, IMSG_CTL_OK, IMSG_CTL_IMPORTED, or
 * IMSG_CTL_FAIL with the reason.
 */
static int
ctl_connect(const char *sock)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sock, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long: %s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		errx(1, "is certaosd running? (%s: %s)", sock,
		    strerror(errno));
	if (imsgbuf_init(&cibuf, fd) == -1)
		err(1, "imsgbuf_init");
	return (fd);
}

static void
ctl_send(uint32_t type, const struct mbuf *mb)
{
	if (mb->err)
		errx(1, "request too large");
	if (imsg_compose(&cibuf, type, CTL_VERSION, 0, -1, mb->buf,
	    mb->len) == -1 || imsgbuf_flush(&cibuf) == -1)
		err(1, "write to certaosd");
}

/* the next message; the caller frees it */
static void
ctl_next(struct imsg *imsg)
{
	ssize_t	 n;

	for (;;) {
		if ((n = imsg_get(&cibuf, imsg)) == -1)
			errx(1, "bad message from certaosd");
		if (n > 0)
			break;
		if ((n = imsgbuf_read(&cibuf)) == -1)
			err(1, "read from certaosd");
		if (n == 0)
			errx(1, "certaosd closed the connection");
	}
	if (imsg_get_id(imsg) != CTL_VERSION || ctlrec_check(imsg) == -1)
		errx(1, "malformed answer %u from certaosd",
		    imsg_get_type(imsg));
}

static __dead void
ctl_failed(struct imsg *imsg)
{
	/* ctlrec_check() saw the NUL */
	errx(1, "%s", (const char *)imsg->data);
}

static void
ctl_expect_end(struct imsg *imsg, uint32_t type)
{
	if (imsg_get_type(imsg) == IMSG_CTL_FAIL)
		ctl_failed(imsg);
	if (imsg_get_type(imsg) != type)
		errx(1, "unexpected answer %u from certaosd",
		    imsg_get_type(imsg));
}

static void
fmt_time(uint64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (ms == 0) {
		(void)strlcpy(buf, "-", len);
		return;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(buf, "?", len);
}

/*
 * --since: a relative age (30m, 2h, 7d, 45s) or an ISO 8601 date or
 * date and time, in UTC.  ms since the epoch.
 */
static uint64_t
parse_since(const char *s)
{
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%d %H:%M", "%Y-%m-%d"
	};
	struct tm	 tm;
	const char	*errstr, *end;
	char		 num[16];
	size_t		 len = strlen(s), i;
	long long	 n, unit = 0;
	time_t		 t;

	if (len >= 2 && len < sizeof(num) && isdigit((unsigned char)s[0])) {
		switch (s[len - 1]) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		}
	}
	if (unit != 0) {
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		n = strtonum(num, 0, 100 * 365 * 86400LL / unit, &errstr);
		if (errstr != NULL)
			errx(1, "--since %s: number %s", s, errstr);
		t = time(NULL) - n * unit;
		return (t > 0 ? (uint64_t)t * 1000 : 1);
	}
	for (i = 0; i < nitems(fmts); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) == NULL)
			continue;
		if (*end == 'Z')
			end++;
		if (*end != '\0')
			continue;
		if ((t = timegm(&tm)) <= 0)
			break;
		return ((uint64_t)t * 1000);
	}
	errx(1, "--since %s: want an ISO 8601 date or date and time (UTC), "
	    "or an age such as 30m, 2h, 7d", s);
}

static uint32_t
parse_limit(const char *s)
{
	const char	*errstr;
	long long	 n;

	n = strtonum(s, 1, CTL_LIMIT_MAX, &errstr);
	if (errstr != NULL)
		errx(1, "--limit %s: %s (1 to %d)", s, errstr, CTL_LIMIT_MAX);
	return ((uint32_t)n);
}

/* the value of the option at argv[*i], which moves past it */
static const char *
opt_value(int argc, char *argv[], int *i)
{
	if (*i + 1 >= argc)
		errx(1, "%s needs a value", argv[*i]);
	(*i)++;
	return (argv[*i]);
}

static void
user_print_row(const struct ctl_user *cu)
{
	char	 created[32];

	fmt_time(cu->u.created, created, sizeof(created));
	printf("%-32s %-20s %-12s %-8s %-9s %s\n", cu->u.email,
	    cu->u.name[0] != '\0' ? cu->u.name : "-",
	    cu->u.role[0] != '\0' ? cu->u.role : "-",
	    cu->u.email_verified ? "yes" : "no",
	    cu->u.banned ? "disabled" : "active", created);
}

static void
user_print_full(const struct ctl_user *cu)
{
	const struct auth_user	*u = &cu->u;
	char			 t[32];

	printf("id:               %s\n", u->id);
	printf("email:            %s\n", u->email);
	printf("name:             %s\n", u->name);
	printf("email verified:   %s\n", u->email_verified ? "yes" : "no");
	printf("image:            %s\n", u->has_image ? u->image : "-");
	printf("role:             %s\n", u->role);
	printf("banned:           %s\n", u->banned ? "yes" : "no");
	printf("ban reason:       %s\n", u->has_ban_reason ?
	    u->ban_reason : "-");
	fmt_time(u->ban_expires, t, sizeof(t));
	printf("ban expires:      %s\n", u->banned && u->ban_expires == 0 ?
	    "never" : t);
	printf("two-factor:       %s\n", u->two_factor ? "yes" : "no");
	fmt_time(u->created, t, sizeof(t));
	printf("created:          %s\n", t);
	fmt_time(u->updated, t, sizeof(t));
	printf("updated:          %s\n", t);
	printf("credential:       %s\n", cu->cred);
	printf("live sessions:    %u\n", cu->nsessions);
	fmt_time(cu->last_signin, t, sizeof(t));
	printf("last sign-in:     %s\n", cu->last_signin != 0 ? t :
	    "never");
	printf("attributes:       %s\n", cu->attrs);
}

/* 90s, 45m, 12h, 7d (a bare number is seconds): seconds, or exit */
static uint32_t
parse_duration(const char *s)
{
	const char	*errstr;
	char		 num[16];
	size_t		 n = strlen(s);
	long long	 v, mul = 1;

	if (n == 0 || n >= sizeof(num))
		errx(1, "bad duration: %s", s);
	(void)strlcpy(num, s, sizeof(num));
	switch (num[n - 1]) {
	case 'd':
		mul = 86400;
		num[n - 1] = '\0';
		break;
	case 'h':
		mul = 3600;
		num[n - 1] = '\0';
		break;
	case 'm':
		mul = 60;
		num[n - 1] = '\0';
		break;
	case 's':
		num[n - 1] = '\0';
		break;
	}
	v = strtonum(num, 1, CERTAOS_INVITE_TTL_MAX, &errstr);
	if (errstr != NULL || v * mul > CERTAOS_INVITE_TTL_MAX)
		errx(1, "duration %s: 1s to 365d", s);
	return ((uint32_t)(v * mul));
}

/*
 * user invite EMAIL --role ROLE [--attr KEY=VALUE ...] [--expires D]:
 * the daemon checks it, makes the token and mails the link.
 */
static __dead void
cmd_invite(int argc, char *argv[])
{
	static struct mbuf	 mb;
	static char		 attrs[CERTAOS_MAX_ATTRS + 1];
	struct imsg		 imsg;
	const char		*role = NULL, *v;
	uint32_t		 ttl = CERTAOS_INVITE_TTL;
	int			 i;

	if (argc < 2)
		usage();
	attrs[0] = '\0';
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0)
			role = opt_value(argc, argv, &i);
		else if (strcmp(argv[i], "--attr") == 0) {
			v = opt_value(argc, argv, &i);
			if (strchr(v, '=') == NULL || strchr(v, '\n') != NULL)
				errx(1, "--attr: KEY=VALUE on one line");
			if (attrs[0] != '\0')
				(void)strlcat(attrs, "\n", sizeof(attrs));
			if (strlcat(attrs, v, sizeof(attrs)) >= sizeof(attrs))
				errx(1, "--attr: at most %d bytes in all",
				    CERTAOS_MAX_ATTRS);
		} else if (strcmp(argv[i], "--expires") == 0)
			ttl = parse_duration(opt_value(argc, argv, &i));
		else
			errx(1, "user invite: unknown argument: %s", argv[i]);
	}
	if (role == NULL)
		errx(1, "user invite: --role is required");
	if (role[0] == '\0' || strlen(role) > CERTAOS_MAX_ROLE)
		errx(1, "role: 1 to %d bytes", CERTAOS_MAX_ROLE);
	if (argv[1][0] == '\0' || strlen(argv[1]) > CERTAOS_MAX_EMAIL)
		errx(1, "email: 1 to %d bytes", CERTAOS_MAX_EMAIL);

	(void)ctl_connect(ctl_sock);
	mbuf_init(&mb);
	mbuf_str(&mb, argv[1]);
	mbuf_str(&mb, role);
	mbuf_str(&mb, attrs);
	mbuf_u32(&mb, ttl);
	ctl_send(IMSG_CTL_USER_INVITE, &mb);
	ctl_next(&imsg);
	ctl_expect_end(&imsg, IMSG_CTL_OK);
	imsg_free(&imsg);
	printf("%s: invited as %s, the link mailed\n", argv[1], role);
	exit(0);
}

/* user invites [--limit N]: the pending invitations */
static __dead void
cmd_invites(int argc, char *argv[])
{
	static struct mbuf	 mb;
	struct ctl_req		 r;
	struct ctl_invite	 iv;
	struct mread		 mr;
	struct imsg		 imsg;
	char			 c[32], e[32];
	int			 i;

	memset(&r, 0, sizeof(r));
	r.limit = CTL_LIMIT_DEF;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0)
			r.limit = parse_limit(opt_value(argc, argv, &i));
		else
			errx(1, "user invites: unknown argument: %s",
			    argv[i]);
	}
	(void)ctl_connect(ctl_sock);
	mbuf_init(&mb);
	ctlrec_req_write(&mb, IMSG_CTL_USER_INVITES, &r);
	ctl_send(IMSG_CTL_USER_INVITES, &mb);
	printf("%-32s %-12s %-20s %-20s %s\n", "EMAIL", "ROLE", "INVITED",
	    "EXPIRES", "ATTRIBUTES");
	for (;;) {
		ctl_next(&imsg);
		if (imsg_get_type(&imsg) != IMSG_CTL_INVITE)
			break;
		mread_init(&mr, &imsg);
		if (ctlrec_invite_read(&mr, &iv) == -1 ||
		    mread_end(&mr) == -1)
			errx(1, "malformed invitation from certaosd");
		fmt_time(iv.created, c, sizeof(c));
		fmt_time(iv.expires, e, sizeof(e));
		printf("%-32s %-12s %-20s %-20s %s\n", iv.email, iv.role, c,
		    e, iv.attrs);
		imsg_free(&imsg);
	}
	ctl_expect_end(&imsg, IMSG_CTL_END);
	imsg_free(&imsg);
	exit(0);
}

static __dead void
cmd_user(int argc, char *argv[])
{
	static struct mbuf	 mb;
	struct ctl_req		 r;
	struct ctl_user		 cu;
	struct mread		 mr;
	struct imsg		 imsg;
	uint32_t		 type;
	int			 i, n = 0;

	memset(&r, 0, sizeof(r));
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "invite") == 0)
		cmd_invite(argc, argv);
	if (strcmp(argv[0], "invites") == 0)
		cmd_invites(argc, argv);
	if (strcmp(argv[0], "list") == 0) {
		type = IMSG_CTL_USER_LIST;
		r.limit = CTL_LIMIT_DEF;
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--role") == 0) {
				if (strlcpy(r.arg, opt_value(argc, argv, &i),
				    sizeof(r.arg)) > CERTAOS_MAX_ROLE)
					errx(1, "--role: too long");
			} else if (strcmp(argv[i], "--limit") == 0)
				r.limit = parse_limit(opt_value(argc, argv,
				    &i));
			else
				errx(1, "user list: unknown argument: %s",
				    argv[i]);
		}
	} else if (strcmp(argv[0], "show") == 0 && argc == 2) {
		type = IMSG_CTL_USER_SHOW;
	} else if (strcmp(argv[0], "set-role") == 0 && argc == 3) {
		type = IMSG_CTL_USER_SET;
		r.op = CTL_USER_ROLE;
		if (argv[2][0] == '\0' || strlcpy(r.arg, argv[2],
		    sizeof(r.arg)) > CERTAOS_MAX_ROLE)
			errx(1, "role: 1 to %d bytes", CERTAOS_MAX_ROLE);
	} else if (strcmp(argv[0], "disable") == 0 &&
	    (argc == 2 || (argc == 4 && strcmp(argv[2], "--reason") == 0))) {
		type = IMSG_CTL_USER_SET;
		r.op = CTL_USER_DISABLE;
		if (argc == 4 && strlcpy(r.arg, argv[3], sizeof(r.arg)) >=
		    sizeof(r.arg))
			errx(1, "--reason: at most %d bytes",
			    CERTAOS_MAX_REASON);
	} else if (strcmp(argv[0], "enable") == 0 && argc == 2) {
		type = IMSG_CTL_USER_SET;
		r.op = CTL_USER_ENABLE;
	} else
		usage();
	if (type != IMSG_CTL_USER_LIST) {
		if (argv[1][0] == '\0' || strlcpy(r.email, argv[1],
		    sizeof(r.email)) >= sizeof(r.email))
			errx(1, "email: 1 to %d bytes", CERTAOS_MAX_EMAIL);
		/* the daemon matches lower-cased; say it as it will */
		for (i = 0; r.email[i] != '\0'; i++)
			r.email[i] = tolower((unsigned char)r.email[i]);
	}

	(void)ctl_connect(ctl_sock);
	mbuf_init(&mb);
	ctlrec_req_write(&mb, type, &r);
	ctl_send(type, &mb);
	if (type == IMSG_CTL_USER_LIST)
		printf("%-32s %-20s %-12s %-8s %-9s %s\n", "EMAIL", "NAME",
		    "ROLE", "VERIFIED", "STATUS", "CREATED");
	if (type == IMSG_CTL_USER_SET) {
		ctl_next(&imsg);
		ctl_expect_end(&imsg, IMSG_CTL_OK);
		imsg_free(&imsg);
		switch (r.op) {
		case CTL_USER_ROLE:
			printf("%s: role %s\n", r.email, r.arg);
			break;
		case CTL_USER_DISABLE:
			printf("%s: disabled, sessions deleted\n", r.email);
			break;
		default:
			printf("%s: enabled\n", r.email);
			break;
		}
		exit(0);
	}
	for (;;) {
		ctl_next(&imsg);
		if (imsg_get_type(&imsg) != IMSG_CTL_USER)
			break;
		mread_init(&mr, &imsg);
		if (ctlrec_user_read(&mr, &cu) == -1 || mread_end(&mr) == -1)
			errx(1, "malformed user from certaosd");
		if (type == IMSG_CTL_USER_LIST)
			user_print_row(&cu);
		else
			user_print_full(&cu);
		n++;
		imsg_free(&imsg);
	}
	ctl_expect_end(&imsg, IMSG_CTL_END);
	imsg_free(&imsg);
	exit(0);
}

static __dead void
cmd_audit(int argc, char *argv[])
{
	static struct mbuf	 mb;
	static struct ctl_audit	 a;
	struct ctl_req		 r;
	struct mread		 mr;
	struct imsg		 imsg;
	int			 i;
	char			 t[32];

	memset(&r, 0, sizeof(r));
	r.limit = CTL_LIMIT_DEF;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0) {
			if (strlcpy(r.email, opt_value(argc, argv, &i),
			    sizeof(r.email)) >= sizeof(r.email))
				errx(1, "--user: at most %d bytes",
				    CERTAOS_MAX_EMAIL);
		} else if (strcmp(argv[i], "--since") == 0)
			r.since = parse_since(opt_value(argc, argv, &i));
		else if (strcmp(argv[i], "--limit") == 0)
			r.limit = parse_limit(opt_value(argc, argv, &i));
		else
			errx(1, "audit: unknown argument: %s", argv[i]);
	}
	(void)ctl_connect(ctl_sock);
	mbuf_init(&mb);
	ctlrec_req_write(&mb, IMSG_CTL_AUDIT, &r);
	ctl_send(IMSG_CTL_AUDIT, &mb);
	printf("%-20s %-22s %-14s %-28s %-15s %s\n", "TIME", "EVENT",
	    "OUTCOME", "EMAIL", "IP", "USER-AGENT DETAIL");
	for (;;) {
		ctl_next(&imsg);
		if (imsg_get_type(&imsg) != IMSG_CTL_AUDIT_ROW)
			break;
		mread_init(&mr, &imsg);
		if (ctlrec_audit_read(&mr, &a) == -1 || mread_end(&mr) == -1)
			errx(1, "malformed audit row from certaosd");
		fmt_time(a.at, t, sizeof(t));
		printf("%-20s %-22s %-14s %-28s %-15s %s%s%s %s\n", t,
		    a.event, a.outcome, a.email[0] != '\0' ? a.email : "-",
		    a.ip[0] != '\0' ? a.ip : "-", a.ua[0] != '\0' ? "\"" : "",
		    a.ua[0] != '\0' ? a.ua : "-", a.ua[0] != '\0' ? "\"" : "",
		    a.detail[0] != '\0' ? a.detail : "-");
		imsg_free(&imsg);
	}
	ctl_expect_end(&imsg, IMSG_CTL_END);
	imsg_free(&imsg);
	exit(0);
}

/*
 * import better-auth: read Better Auth's tables ("user", "account",
 * "session", camelCase columns) with libpq, check each row against what
 * our schema takes, and send the rows in batches; db keeps their ids and
 * skips what it has.  Users go first, then accounts, then sessions: a
 * run cut short leaves users without accounts at worst, and the next run
 * completes them.
 */
struct import {
	PGconn		*pg;
	struct mbuf	 rows;		/* the batch being built */
	struct mbuf	 row;		/* one row */
	uint32_t	 kind;
	uint32_t	 n;
	uint32_t	 imported;
	uint32_t	 skipped;
	uint32_t	 refused;	/* by us, with a warning */
};

static int	 imp_has_column(struct import *, const char *, const char *);
static PGresult	*imp_query(struct import *, const char *);
static void	 imp_flush(struct import *);
static void	 imp_add(struct import *);
static void	 imp_done(struct import *, const char *);
static int	 imp_str(char *, size_t, const char *, size_t, int);
static uint64_t	 imp_ms(const PGresult *, int, int);
static void	 imp_users(struct import *);
static void	 imp_accounts(struct import *);
static void	 imp_sessions(struct import *);

/* the time columns, as ms since the epoch */
#define IMP_MS(col)	"floor(extract(epoch FROM " col ") * 1000)::int8"

static int
imp_has_column(struct import *im, const char *table, const char *col)
{
	PGresult	*res;
	const char	*params[2];
	int		 n;

	params[0] = table;
	params[1] = col;
	res = PQexecParams(im->pg, "SELECT 1 FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = $1"
	    " AND column_name = $2", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		errx(1, "import: %s", PQerrorMessage(im->pg));
	n = PQntuples(res);
	PQclear(res);
	return (n > 0);
}

static PGresult *
imp_query(struct import *im, const char *sql)
{
	PGresult	*res;

	res = PQexec(im->pg, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		errx(1, "import: reading the source: %s",
		    PQerrorMessage(im->pg));
	return (res);
}

static void
imp_flush(struct import *im)
{
	static struct mbuf	 hdr;
	struct iovec		 iov[2];
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 in, skip;

	if (im->n == 0)
		return;
	mbuf_init(&hdr);
	mbuf_u32(&hdr, im->kind);
	mbuf_u32(&hdr, im->n);
	iov[0].iov_base = hdr.buf;
	iov[0].iov_len = hdr.len;
	iov[1].iov_base = im->rows.buf;
	iov[1].iov_len = im->rows.len;
	if (imsg_composev(&cibuf, IMSG_CTL_IMPORT, CTL_VERSION, 0, -1, iov,
	    2) == -1 || imsgbuf_flush(&cibuf) == -1)
		err(1, "write to certaosd");
	ctl_next(&imsg);
	ctl_expect_end(&imsg, IMSG_CTL_IMPORTED);
	mread_init(&mr, &imsg);
	in = mread_u32(&mr);
	skip = mread_u32(&mr);
	if (mread_end(&mr) == -1 || in + skip != im->n)
		errx(1, "malformed import answer from certaosd");
	imsg_free(&imsg);
	im->imported += in;
	im->skipped += skip;
	explicit_bzero(im->rows.buf, im->rows.len);
	mbuf_init(&im->rows);
	im->n = 0;
}

/* the row in im->row joins the batch, which goes first if it is full */
static void
imp_add(struct import *im)
{
	if (im->row.err)
		errx(1, "import: a row does not fit in a message");
	if (im->n == CTL_IMPORT_BATCH || 8 + im->rows.len + im->row.len >
	    sizeof(im->rows.buf))
		imp_flush(im);
	memcpy(im->rows.buf + im->rows.len, im->row.buf, im->row.len);
	im->rows.len += im->row.len;
	im->n++;
	explicit_bzero(im->row.buf, im->row.len);
	mbuf_init(&im->row);
}

static void
imp_done(struct import *im, const char *what)
{
	imp_flush(im);
	printf("%s: %u imported, %u skipped (already there, expired, or of "
	    "a user not imported)", what, im->imported, im->skipped);
	if (im->refused > 0)
		printf(", %u refused", im->refused);
	printf("\n");
	im->imported = im->skipped = im->refused = 0;
}

/*
 * Copy a column into dst when it is at most max bytes and, unless
 * empty_ok, not empty: 0, else -1.
 */
static int
imp_str(char *dst, size_t dstsz, const char *v, size_t max, int empty_ok)
{
	size_t	 len = strlen(v);

	if (len > max || len >= dstsz || (len == 0 && !empty_ok))
		return (-1);
	memcpy(dst, v, len + 1);
	return (0);
}

static uint64_t
imp_ms(const PGresult *res, int row, int col)
{
	const char	*errstr;
	long long	 v;

	if (PQgetisnull(res, row, col))
		return (0);
	v = strtonum(PQgetvalue(res, row, col), 1, INT64_MAX, &errstr);
	return (errstr != NULL ? 0 : (uint64_t)v);
}

static void
imp_users(struct import *im)
{
	static struct auth_user	 u;
	PGresult	*res;
	const char	*why;
	char		 sql[1024];
	int		 i, n, admin, tf;
	size_t		 j;

	admin = imp_has_column(im, "user", "role") &&
	    imp_has_column(im, "user", "banned") &&
	    imp_has_column(im, "user", "banReason") &&
	    imp_has_column(im, "user", "banExpires");
	tf = imp_has_column(im, "user", "twoFactorEnabled");
	(void)snprintf(sql, sizeof(sql),
	    "SELECT id, email, name, \"emailVerified\", image, "
	    IMP_MS("\"createdAt\"") ", " IMP_MS("\"updatedAt\"") ", %s, %s"
	    " FROM \"user\" ORDER BY \"createdAt\", id",
	    admin ? "coalesce(role, 'user'), coalesce(banned, false),"
	    " \"banReason\", " IMP_MS("\"banExpires\"") :
	    "'user', false, NULL, NULL",
	    tf ? "coalesce(\"twoFactorEnabled\", false)" : "false");
	res = imp_query(im, sql);
	im->kind = CTL_IMPORT_USERS;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&u, 0, sizeof(u));
		why = NULL;
		if (imp_str(u.id, sizeof(u.id), PQgetvalue(res, i, 0),
		    CERTAOS_MAX_ID, 0) == -1)
			why = "id empty or too long";
		else if (imp_str(u.email, sizeof(u.email),
		    PQgetvalue(res, i, 1), CERTAOS_MAX_EMAIL, 0) == -1)
			why = "email empty or too long";
		else if (imp_str(u.name, sizeof(u.name), PQgetvalue(res, i, 2),
		    CERTAOS_MAX_NAME, 1) == -1)
			why = "name too long";
		else if ((u.has_image = !PQgetisnull(res, i, 4)) &&
		    imp_str(u.image, sizeof(u.image), PQgetvalue(res, i, 4),
		    CERTAOS_MAX_IMAGE, 1) == -1)
			why = "image too long";
		else if (imp_str(u.role, sizeof(u.role), PQgetvalue(res, i, 7),
		    CERTAOS_MAX_ROLE, 1) == -1)
			why = "role too long";
		else if ((u.has_ban_reason = !PQgetisnull(res, i, 9)) &&
		    imp_str(u.ban_reason, sizeof(u.ban_reason),
		    PQgetvalue(res, i, 9), CERTAOS_MAX_REASON, 1) == -1)
			why = "ban reason too long";
		else if ((u.created = imp_ms(res, i, 5)) == 0 ||
		    (u.updated = imp_ms(res, i, 6)) == 0)
			why = "a time before 1970";
		if (why != NULL) {
			warnx("user %s: %s: refused", PQgetvalue(res, i, 0),
			    why);
			im->refused++;
			continue;
		}
		for (j = 0; u.email[j] != '\0'; j++)
			u.email[j] = tolower((unsigned char)u.email[j]);
		u.email_verified = PQgetvalue(res, i, 3)[0] == 't';
		u.banned = PQgetvalue(res, i, 8)[0] == 't';
		u.ban_expires = imp_ms(res, i, 10);
		u.two_factor = PQgetvalue(res, i, 11)[0] == 't';
		ctlrec_imp_user_write(&im->row, &u);
		imp_add(im);
	}
	PQclear(res);
	imp_done(im, "users");
}

/*
 * Linked providers' OAuth tokens are not copied: they are the provider's
 * secrets, held in clear by Better Auth; the next sign-in with the
 * provider gets new ones.
 */
static void
imp_accounts(struct import *im)
{
	static struct ctl_imp_account	 a;
	PGresult	*res;
	const char	*why;
	int		 i, n;

	res = imp_query(im, "SELECT id, \"accountId\", \"providerId\","
	    " \"userId\", password, " IMP_MS("\"createdAt\"") ", "
	    IMP_MS("\"updatedAt\"") " FROM account ORDER BY \"createdAt\", id");
	im->kind = CTL_IMPORT_ACCOUNTS;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		why = NULL;
		if (imp_str(a.id, sizeof(a.id), PQgetvalue(res, i, 0),
		    CERTAOS_MAX_ID, 0) == -1)
			why = "id empty or too long";
		else if (imp_str(a.account_id, sizeof(a.account_id),
		    PQgetvalue(res, i, 1), CTL_MAX_ACCOUNT_ID, 0) == -1)
			why = "accountId empty or too long";
		else if (imp_str(a.provider_id, sizeof(a.provider_id),
		    PQgetvalue(res, i, 2), CTL_MAX_PROVIDER, 0) == -1)
			why = "providerId empty or too long";
		else if (imp_str(a.user_id, sizeof(a.user_id),
		    PQgetvalue(res, i, 3), CERTAOS_MAX_ID, 0) == -1)
			why = "userId empty or too long";
		else if ((a.has_password = !PQgetisnull(res, i, 4)) &&
		    imp_str(a.password, sizeof(a.password),
		    PQgetvalue(res, i, 4), CERTAOS_MAX_PWHASH, 0) == -1)
			why = "password hash empty or too long";
		else if (strcmp(a.provider_id, "credential") == 0 &&
		    strcmp(a.account_id, a.user_id) != 0)
			why = "a credential whose accountId is not its userId";
		else if ((a.created = imp_ms(res, i, 5)) == 0 ||
		    (a.updated = imp_ms(res, i, 6)) == 0)
			why = "a time before 1970";
		if (why != NULL) {
			warnx("account %s: %s: refused",
			    PQgetvalue(res, i, 0), why);
			im->refused++;
			continue;
		}
		ctlrec_imp_account_write(&im->row, &a);
		imp_add(im);
		explicit_bzero(&a, sizeof(a));
	}
	PQclear(res);
	imp_done(im, "accounts");
}

/*
 * Better Auth keeps session tokens in clear; we keep their SHA-256, so
 * the raw token goes on working as a bearer token.  A cookie signed
 * with Better Auth's secret does not verify here: its user signs in
 * again.
 */
static void
imp_sessions(struct import *im)
{
	static struct ctl_imp_session	 s;
	PGresult	*res;
	const char	*why;
	char		*tok;
	int		 i, n;

	res = imp_query(im, "SELECT id, token, \"userId\", "
	    IMP_MS("\"expiresAt\"") ", " IMP_MS("\"createdAt\"") ", "
	    IMP_MS("\"updatedAt\"") ", coalesce(\"ipAddress\", ''),"
	    " coalesce(\"userAgent\", '') FROM session"
	    " ORDER BY \"createdAt\", id");
	im->kind = CTL_IMPORT_SESSIONS;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		why = NULL;
		tok = PQgetvalue(res, i, 1);
		if (imp_str(s.id, sizeof(s.id), PQgetvalue(res, i, 0),
		    CERTAOS_MAX_ID, 0) == -1)
			why = "id empty or too long";
		else if (tok[0] == '\0')
			why = "empty token";
		else if (imp_str(s.user_id, sizeof(s.user_id),
		    PQgetvalue(res, i, 2), CERTAOS_MAX_ID, 0) == -1)
			why = "userId empty or too long";
		else if (imp_str(s.ip, sizeof(s.ip), PQgetvalue(res, i, 6),
		    CERTAOS_MAX_IP, 1) == -1)
			why = "ipAddress too long";
		else if (imp_str(s.ua, sizeof(s.ua), PQgetvalue(res, i, 7),
		    CERTAOS_MAX_UA, 1) == -1)
			why = "userAgent too long";
		else if ((s.expires = imp_ms(res, i, 3)) == 0 ||
		    (s.created = imp_ms(res, i, 4)) == 0 ||
		    (s.updated = imp_ms(res, i, 5)) == 0)
			why = "a time before 1970";
		else if (sha256(tok, strlen(tok), s.token_hash) == -1)
			errx(1, "import: SHA-256 failed");
		explicit_bzero(tok, strlen(tok));
		if (why != NULL) {
			warnx("session %s: %s: refused",
			    PQgetvalue(res, i, 0), why);
			im->refused++;
			continue;
		}
		ctlrec_imp_session_write(&im->row, &s);
		imp_add(im);
	}
	PQclear(res);
	explicit_bzero(&s, sizeof(s));
	imp_done(im, "sessions");
}

static __dead void
cmd_import(int argc, char *argv[])
{
	static struct import	 im;
	PGresult		*res;

	if (argc != 2 || strcmp(argv[0], "better-auth") != 0)
		usage();
	memset(&im, 0, sizeof(im));
	mbuf_init(&im.rows);
	mbuf_init(&im.row);
	im.pg = PQconnectdb(argv[1]);
	if (PQstatus(im.pg) != CONNECTION_OK)
		errx(1, "import: cannot connect to the source: %s",
		    PQerrorMessage(im.pg));
	/* one snapshot of the source for the three tables */
	res = PQexec(im.pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		errx(1, "import: %s", PQerrorMessage(im.pg));
	PQclear(res);
	if (!imp_has_column(&im, "user", "email") ||
	    !imp_has_column(&im, "account", "providerId") ||
	    !imp_has_column(&im, "session", "token"))
		errx(1, "import: no Better Auth tables \"user\", \"account\" "
		    "and \"session\" in the source's schema");
	(void)ctl_connect(ctl_sock);
	imp_users(&im);
	imp_accounts(&im);
	imp_sessions(&im);
	PQfinish(im.pg);
	exit(0);
}
