/*
 * certaosd: the master.  It parses certaos.conf, reads the secret and TLS
 * files as root, opens the listeners, starts the children (fork + exec of
 * libexec/certaos-{web,keys,db,mail}, each with its channel on fd 3), hands
 * out the peer channels, delivers each child only the configuration its
 * role needs, and then waits: SIGHUP reloads, SIGTERM stops, the death of
 * any child stops everything (fail closed).
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "certaosd.h"
#include "master.h"

struct master	 master;

static __dead void usage(void);
static void	 master_sig(int, short, void *);
static void	 master_sigchld(void);
static void	 master_libexec(char *, size_t);
static void	 master_start_children(void);
static int	 master_has_tls(struct certaosd_config *);
static pid_t	 master_exec(struct child *, const char *);
static void	 master_connect_peers(void);
static void	 master_send_procfd(struct child *, struct child *);
static void	 master_dispatch_child(struct imsgev *, struct imsg *);
static void	 master_child_eof(struct imsgev *);
static void	 master_lost(struct child *, int);
static void	 master_lost_children(int);
static void	 master_cfg_acked(void);
static __dead void master_shutdown(int);

static __dead void
usage(void)
{
	extern const char *__progname;

	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    __progname);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct certaosd_config	*conf;
	struct event		 ev_hup, ev_term, ev_int, ev_chld, ev_pipe;
	struct rlimit		 rl;
	const char		*conffile = CERTAOS_CONF;
	int			 ch, debug = 0, noaction = 0, verbose = 0;

	setproctitle_init(argc, argv, environ);
	log_init(1, LOG_DAEMON);
	while ((ch = getopt(argc, argv, "dD:f:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(1, "could not parse macro definition %s",
				    optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	log_setverbose(verbose);

	if ((conf = parse_config(conffile)) == NULL)
		exit(1);
	if (config_load_files(conf) == -1) {
		config_destroy(conf);
		exit(1);
	}
	if (noaction) {
		if (verbose)
			print_config(stdout, conf);
		fprintf(stderr, "configuration OK\n");
		config_destroy(conf);
		exit(0);
	}

	memset(&master, 0, sizeof(master));
	master.conf = conf;
	master.conffile = conffile;
	master.debug = debug;
	master.verbose = verbose;
	master.started = time(NULL);
	master.privileged = (geteuid() == 0);
	TAILQ_INIT(&master.children);
	master.rl_fd = -1;

	/* The master holds the secret: no core, no ptrace by the same uid. */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		err(1, "setrlimit");
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		err(1, "prctl");

	if (master.privileged) {
		if (sandbox_getpw(conf->user, &master.uid, &master.gid) == -1)
			errx(1, "user %s does not exist", conf->user);
		if (config_check_chroot(conf->chroot) == -1)
			exit(1);
	} else
		log_info("running unprivileged: children will not chroot "
		    "or change user");
	master_libexec(master.libexec, sizeof(master.libexec));
	master_mail_templates(master.templates, sizeof(master.templates));
	if (config_open_listeners(conf) == -1)
		exit(1);
	if (config_rl_table(conf) == -1)
		exit(1);
	if (control_init(conf->control_socket) == -1)
		exit(1);

	if (!debug && daemon(1, 0) == -1)
		err(1, "daemon");
	log_init(debug, LOG_DAEMON);
	log_procinit("parent");
	setproctitle("parent");

	event_init();
	master_start_children();
	master_connect_peers();
	config_send_all(conf, 1);
	control_listen();

	signal_set(&ev_hup, SIGHUP, master_sig, NULL);
	signal_set(&ev_term, SIGTERM, master_sig, NULL);
	signal_set(&ev_int, SIGINT, master_sig, NULL);
	signal_set(&ev_chld, SIGCHLD, master_sig, NULL);
	signal_set(&ev_pipe, SIGPIPE, master_sig, NULL);
	signal_add(&ev_hup, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	signal_add(&ev_chld, NULL);
	signal_add(&ev_pipe, NULL);

	log_info("certaosd %s starting, issuer %s", CERTAOS_VERSION,
	    conf->issuer);
	event_dispatch();
	master_shutdown(1);
}

/* Children live beside us: <dir of this binary>/../libexec/. */
static void
master_libexec(char *dir, size_t len)
{
	char	 self[PATH_MAX], *d;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		err(1, "readlink /proc/self/exe");
	self[n] = '\0';
	d = dirname(self);
	if ((size_t)snprintf(dir, len, "%s/../libexec", d) >= len)
		errx(1, "libexec path too long");
}

static int
master_has_tls(struct certaosd_config *conf)
{
	struct listen_config	*lc;

	TAILQ_FOREACH(lc, &conf->listeners, entry)
		if (lc->tls)
			return (1);
	return (0);
}

static pid_t
master_exec(struct child *c, const char *path)
{
	struct certaosd_config	*conf = master.conf;
	char			 inst[16], role[16], prog[PATH_MAX];
	char			*argv[24];
	int			 sp[2], argc = 0, i;
	pid_t			 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	(void)snprintf(inst, sizeof(inst), "%d", c->instance);
	(void)strlcpy(role, proc_name(c->proc), sizeof(role));
	(void)strlcpy(prog, path, sizeof(prog));
#ifdef CERTAOS_VALGRIND
	/* the leak check of make test: every child under valgrind */
	argv[argc++] = "valgrind";
	argv[argc++] = "-q";
	argv[argc++] = "--vgdb=no";
	argv[argc++] = "--leak-check=full";
	argv[argc++] = "--errors-for-leak-kinds=definite,indirect";
	argv[argc++] = "--error-exitcode=99";
#endif
	argv[argc++] = prog;
	argv[argc++] = "-P";
	argv[argc++] = role;
	argv[argc++] = "-I";
	argv[argc++] = inst;
	argv[argc++] = "-u";
	argv[argc++] = conf->user;
	/* web sets up OpenSSL only when some listener needs it */
	if (c->proc == PROC_WEB && master_has_tls(conf))
		argv[argc++] = "-T";
	if (c->proc == PROC_WEB || c->proc == PROC_KEYS) {
		argv[argc++] = "-c";
		argv[argc++] = conf->chroot;
	}
	if (master.debug)
		argv[argc++] = "-d";
	for (i = 0; i < master.verbose && i < 4; i++)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		/* The channel on fd 3, nothing else but stdio. */
		if (sp[1] == PROC_PARENT_FD) {
			if (fcntl(sp[1], F_SETFD, 0) == -1)
				_exit(1);
		} else if (dup2(sp[1], PROC_PARENT_FD) == -1)
			_exit(1);
		closefrom(PROC_PARENT_FD + 1);
#ifdef CERTAOS_VALGRIND
		execvp(argv[0], argv);
#else
		execv(path, argv);
#endif
		fprintf(stderr, "certaosd: cannot execute %s: %s\n", path,
		    strerror(errno));
		_exit(1);
	}
	close(sp[1]);
	c->pid = pid;
	imsgev_init(&c->iev, sp[0], NULL, c->proc, c->instance,
	    master_dispatch_child, c);
	imsgbuf_allow_fdpass(&c->iev.ibuf);
	c->iev.eof = master_child_eof;
	return (pid);
}

static void
master_start_children(void)
{
	struct certaosd_config	*conf = master.conf;
	struct child		*c;
	char			 path[PATH_MAX];
	enum certaos_proc	 roles[] = { PROC_DB, PROC_KEYS, PROC_WEB,
				    PROC_MAIL };
	uint32_t		 i, n;
	size_t			 r;

	for (r = 0; r < nitems(roles); r++) {
		/* keys[0] signs and checks; the others hash passwords */
		if (roles[r] == PROC_WEB)
			n = conf->prefork;
		else if (roles[r] == PROC_KEYS)
			n = 1 + conf->pw_workers;
		else
			n = 1;
		if ((size_t)snprintf(path, sizeof(path), "%s/certaos-%s",
		    master.libexec, proc_name(roles[r])) >= sizeof(path))
			fatalx("libexec path too long");
		if (access(path, X_OK) == -1)
			fatal("%s", path);
		for (i = 0; i < n; i++) {
			if ((c = calloc(1, sizeof(*c))) == NULL)
				fatal("calloc");
			c->proc = roles[r];
			c->instance = i;
			TAILQ_INSERT_TAIL(&master.children, c, entry);
			master_exec(c, path);
			log_debug("started %s[%u] pid %d", proc_name(c->proc),
			    i, c->pid);
		}
	}
}

struct child *
master_child(enum certaos_proc proc, int instance)
{
	struct child	*c;

	TAILQ_FOREACH(c, &master.children, entry)
		if (c->proc == proc && c->instance == instance)
			return (c);
	return (NULL);
}

/* One socketpair for every pair of processes that talks. */
static void
master_send_procfd(struct child *a, struct child *b)
{
	struct ctl_procfd	 pf;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair");
	pf.proc = b->proc;
	pf.instance = b->instance;
	if (imsgev_compose(&a->iev, IMSG_CTL_PROCFD, 0, 0, sp[0], &pf,
	    sizeof(pf)) == -1)
		fatal("compose IMSG_CTL_PROCFD");
	pf.proc = a->proc;
	pf.instance = a->instance;
	if (imsgev_compose(&b->iev, IMSG_CTL_PROCFD, 0, 0, sp[1], &pf,
	    sizeof(pf)) == -1)
		fatal("compose IMSG_CTL_PROCFD");
}

static void
master_connect_peers(void)
{
	struct child	*c, *k, *db, *mail;

	db = master_child(PROC_DB, 0);
	mail = master_child(PROC_MAIL, 0);
	/* mail claims from db, has keys[0] open, and nothing else */
	master_send_procfd(mail, db);
	master_send_procfd(mail, master_child(PROC_KEYS, 0));
	TAILQ_FOREACH(k, &master.children, entry)
		if (k->proc == PROC_KEYS)
			master_send_procfd(k, db);
	/* every web worker talks to db and to every keys process */
	TAILQ_FOREACH(c, &master.children, entry) {
		if (c->proc != PROC_WEB)
			continue;
		master_send_procfd(c, db);
		TAILQ_FOREACH(k, &master.children, entry)
			if (k->proc == PROC_KEYS)
				master_send_procfd(c, k);
	}
}

void
master_broadcast(uint32_t type, const void *data, size_t len)
{
	struct child	*c;

	TAILQ_FOREACH(c, &master.children, entry)
		if (imsgev_compose(&c->iev, type, 0, 0, -1, data, len) == -1)
			fatal("%s: compose", __func__);
}

static void
master_cfg_acked(void)
{
	if (--master.acks_pending > 0)
		return;
	if (!master.running) {
		master.running = 1;
		master_broadcast(IMSG_CTL_START, NULL, 0);
		log_info("all children configured, serving");
		return;
	}
	log_info("configuration reloaded");
	master.reloading = 0;
	control_reload_done(1, NULL);
}

static void
master_dispatch_child(struct imsgev *iev, struct imsg *imsg)
{
	struct child		*c = iev->data;
	struct ctl_status	 st;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_ACK:
		if (imsg_get_len(imsg) != 0 || !c->cfg_pending)
			fatalx("unexpected IMSG_CFG_ACK from %s", iev->name);
		c->cfg_pending = 0;
		master_cfg_acked();
		break;
	case IMSG_CTL_STATUS_REPLY:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			fatalx("bad IMSG_CTL_STATUS_REPLY from %s",
			    iev->name);
		st.kids[sizeof(st.kids) - 1] = '\0';
		st.proc = c->proc;
		st.instance = c->instance;
		st.pid = c->pid;
		control_status_reply(imsg_get_id(imsg), &st);
		break;
	case IMSG_CTL_USER:
	case IMSG_CTL_AUDIT_ROW:
	case IMSG_CTL_INVITE:
	case IMSG_CTL_END:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
	case IMSG_CTL_IMPORTED:
		/* operator commands: db only, relayed by connection id */
		if (c->proc != PROC_DB)
			imsgev_unexpected(iev, imsg);
		control_db_reply(imsg);
		break;
	case IMSG_KEYS_MAIL_SEALED:
	case IMSG_KEYS_ERROR:
		if (c->proc != PROC_KEYS)
			imsgev_unexpected(iev, imsg);
		master_mail_sealed(imsg);
		break;
	case IMSG_KEYS_INVITE_SEALED:
		if (c->proc != PROC_KEYS)
			imsgev_unexpected(iev, imsg);
		master_invite_sealed(imsg);
		break;
	case IMSG_DB_INVITED:
		if (c->proc != PROC_DB)
			imsgev_unexpected(iev, imsg);
		master_invite_db(imsg);
		break;
	case IMSG_DB_MAIL_QUEUED:
	case IMSG_CTL_MAIL_QROW:
	case IMSG_DB_MAIL_QUEUE_END:
		if (c->proc != PROC_DB)
			imsgev_unexpected(iev, imsg);
		master_mail_db(imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
master_lost(struct child *c, int status)
{
	pid_t	 pid = c->pid;

	c->pid = 0;
	if (WIFSIGNALED(status))
		log_warnx("lost child: %s[%d] pid %d terminated; signal %d",
		    proc_name(c->proc), c->instance, pid, WTERMSIG(status));
	else
		log_warnx("lost child: %s[%d] pid %d exited with status %d",
		    proc_name(c->proc), c->instance, pid, WEXITSTATUS(status));
}

/*
 * A child is gone.  Its peers notice and exit too, so wait a moment and
 * report every child that ended, those killed by a signal first: the
 * first death is the cause, the others its consequence.  Then stop.
 * On SIGCHLD alone (eof 0) a child that merely stopped is no loss.
 */
static void
master_lost_children(int eof)
{
	struct child	*c;
	struct {
		struct child	*c;
		int		 status;
	}		 lost[CERTAOS_MAX_PREFORK + 3];	/* webs, db, keys, mail */
	size_t		 n = 0, i, alive = 0;
	pid_t		 pid;
	int		 status, tries, pass;

	TAILQ_FOREACH(c, &master.children, entry)
		if (c->pid > 0)
			alive++;
	for (tries = 0; tries < 10; tries++) {
		while (n < nitems(lost) &&
		    (pid = waitpid(WAIT_ANY, &status, WNOHANG)) > 0) {
			TAILQ_FOREACH(c, &master.children, entry)
				if (c->pid == pid)
					break;
			if (c == NULL)
				continue;
			lost[n].c = c;
			lost[n++].status = status;
		}
		/* SIGCHLD also comes for a stopped child: nothing to do */
		if (n == 0 && !eof)
			return;
		/*
		 * The others follow the first: wait for all of them, a
		 * moment at most, so that the one that died first is
		 * among those reported even if it was not first to go.
		 */
		if (n > 0 && (n >= alive || n >= nitems(lost)))
			break;
		usleep(50 * 1000);
	}
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
			if ((pass == 0) == (WIFSIGNALED(lost[i].status) != 0))
				master_lost(lost[i].c, lost[i].status);
	if (n == 0)
		log_warnx("lost child: a channel closed, no exit status");
	master_shutdown(1);
}

static void
master_child_eof(struct imsgev *iev)
{
	if (master.shutting_down)
		return;
	master_lost_children(1);
}

static void
master_sigchld(void)
{
	if (!master.shutting_down)
		master_lost_children(0);
}

static void
master_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reloading %s", master.conffile);
		master_reload(NULL);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("signal %d: shutting down", sig);
		master_shutdown(0);
	case SIGCHLD:
		master_sigchld();
		break;
	case SIGPIPE:
		break;
	default:
		fatalx("unexpected signal %d", sig);
	}
}

/*
 * Reload as bgpd does it: parse into a new structure, keep the running
 * one on any error, one reload at a time, swap once every child acked.
 */
int
master_reload(const char **why)
{
	struct certaosd_config	*nconf;

	if (master.reloading || !master.running) {
		log_warnx("reload: %s", master.reloading ?
		    "a reload is already in progress" : "still starting");
		if (why != NULL)
			*why = master.reloading ?
			    "a reload is already in progress" :
			    "certaosd is still starting";
		return (-1);
	}
	if ((nconf = parse_config(master.conffile)) == NULL ||
	    config_load_files(nconf) == -1) {
		config_destroy(nconf);
		log_warnx("reload: %s has errors, keeping the running "
		    "configuration", master.conffile);
		if (why != NULL)
			*why = "the configuration has errors; the running one "
			    "is kept (see the log)";
		return (-1);
	}
	config_merge_restart_only(master.conf, nconf);
	config_destroy(master.conf);
	master.conf = nconf;
	master.reloading = 1;
	config_send_all(nconf, 0);
	return (0);
}

void
master_expect_acks(void)
{
	struct child	*c;

	master.acks_pending = 0;
	TAILQ_FOREACH(c, &master.children, entry) {
		c->cfg_pending = 1;
		master.acks_pending++;
	}
}

static __dead void
master_shutdown(int failed)
{
	struct child	*c;
	int		 status, i;
	pid_t		 pid;

	master.shutting_down = 1;
	control_cleanup(master.conf != NULL ?
	    master.conf->control_socket : NULL);
	/* Closing the channels tells every child to go. */
	TAILQ_FOREACH(c, &master.children, entry)
		if (c->iev.ibuf.fd != -1)
			imsgev_clear(&c->iev);
	for (i = 0; i < 50; i++) {
		pid = waitpid(WAIT_ANY, &status, WNOHANG);
		if (pid == -1 && errno == ECHILD)
			break;
		if (pid <= 0)
			usleep(100 * 1000);
	}
	TAILQ_FOREACH(c, &master.children, entry)
		if (c->pid > 0 && kill(c->pid, 0) == 0) {
			log_warnx("%s[%d] pid %d did not stop, killing it",
			    proc_name(c->proc), c->instance, c->pid);
			(void)kill(c->pid, SIGKILL);
		}
	while (waitpid(WAIT_ANY, &status, 0) > 0)
		;
	log_info("terminating");
	exit(failed ? 1 : 0);
}
