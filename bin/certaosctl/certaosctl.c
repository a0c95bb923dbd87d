/*
 * certaosctl: talk to certaosd over its control socket, as relayctl does.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
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
static int	 show_mail_queue(struct imsg *);

/* the argument of "mail test" */
static const char	*mail_address;

static __dead void
usage(void)
{
	extern const char *__progname;

	fprintf(stderr, "usage: %s [-s socket] command [argument ...]\n"
	    "commands: status, reload, log verbose, log brief,\n"
	    "\tmail test address, mail queue\n", __progname);
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
		if (st.proc == PROC_KEYS)
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
	struct sockaddr_un	 sun;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	const char		*sock = CERTAOS_SOCKET;
	enum action		 action;
	uint32_t		 type = IMSG_NONE;
	ssize_t			 n;
	int			 ch, fd, done = 0;
	char			 why[256];

	while ((ch = getopt(argc, argv, "s:")) != -1) {
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
	action = parse(argc, argv);

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
	if (imsgbuf_init(&ibuf, fd) == -1)
		err(1, "imsgbuf_init");

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
		if (imsg_compose(&ibuf, type, CTL_VERSION, 0, -1,
		    mail_address, strlen(mail_address) + 1) == -1)
			err(1, "write to certaosd");
	} else if (imsg_compose(&ibuf, type, CTL_VERSION, 0, -1, NULL, 0) ==
	    -1)
		err(1, "write to certaosd");
	if (imsgbuf_flush(&ibuf) == -1)
		err(1, "write to certaosd");

	while (!done) {
		if ((n = imsgbuf_read(&ibuf)) == -1)
			err(1, "read from certaosd");
		if (n == 0)
			errx(1, "certaosd closed the connection");
		while (!done) {
			if ((n = imsg_get(&ibuf, &imsg)) == -1)
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
	imsgbuf_clear(&ibuf);
	close(fd);
	return (0);
}
