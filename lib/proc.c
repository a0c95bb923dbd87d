/*
 * proc.c: what every child does the same way.  Options, logging, the
 * channel to the master on fd 3, peer channels handed over as
 * IMSG_CTL_PROCFD, and the imsgev wrapper that puts an imsgbuf on the
 * event loop.  End of file or a malformed message on any channel ends
 * the process: fail closed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"

struct proc_child *proc_self;

/* imsgev_handler dispatching a read's messages; who composed meanwhile */
static int	 imsgev_batching;
static TAILQ_HEAD(, imsgev) imsgev_later =
    TAILQ_HEAD_INITIALIZER(imsgev_later);

static void	 imsgev_handler(int, short, void *);
static void	 imsgev_flush_later(void);
static void	 proc_dispatch_parent(struct imsgev *, struct imsg *);
static __dead void proc_parent_eof(struct imsgev *);
static __dead void proc_usage(void);

static __dead void
proc_usage(void)
{
	extern const char *__progname;

	fprintf(stderr, "usage: %s -P role -I instance -u user [-c chroot]"
	    " [-dTv]\n", __progname);
	exit(1);
}

void
proc_init(struct proc_child *pc, int argc, char **argv,
    enum certaos_proc role)
{
	const char	*errstr;
	int		 ch;
	char		 rolename[16] = "";

	setproctitle_init(argc, argv, environ);
	memset(pc, 0, sizeof(*pc));
	pc->role = role;
	pc->instance = -1;
	TAILQ_INIT(&pc->peers);

	while ((ch = getopt(argc, argv, "c:dI:P:Tu:v")) != -1) {
		switch (ch) {
		case 'c':
			if (strlcpy(pc->chroot, optarg, sizeof(pc->chroot)) >=
			    sizeof(pc->chroot))
				proc_usage();
			break;
		case 'd':
			pc->debug = 1;
			break;
		case 'I':
			pc->instance = strtonum(optarg, 0,
			    PROC_MAX_INSTANCES - 1, &errstr);
			if (errstr != NULL)
				proc_usage();
			break;
		case 'P':
			if (strlcpy(rolename, optarg, sizeof(rolename)) >=
			    sizeof(rolename))
				proc_usage();
			break;
		case 'T':
			pc->tls = 1;
			break;
		case 'u':
			if (strlcpy(pc->user, optarg, sizeof(pc->user)) >=
			    sizeof(pc->user))
				proc_usage();
			break;
		case 'v':
			pc->verbose++;
			break;
		default:
			proc_usage();
		}
	}
	if (pc->instance == -1 || pc->user[0] == '\0' ||
	    strcmp(rolename, proc_name(role)) != 0)
		proc_usage();

	(void)snprintf(pc->title, sizeof(pc->title), "%s[%d]",
	    proc_name(role), pc->instance);
	log_init(pc->debug, LOG_DAEMON);
	log_setverbose(pc->verbose);
	log_procinit(pc->title);
	setproctitle("%s", pc->title);

	/* The parent channel must be there, and be a socket. */
	if (fcntl(PROC_PARENT_FD, F_GETFD) == -1)
		fatalx("no channel to the parent on fd %d", PROC_PARENT_FD);

	pc->privileged = (geteuid() == 0);
	if (pc->privileged &&
	    sandbox_getpw(pc->user, &pc->uid, &pc->gid) == -1)
		fatalx("unknown user %s", pc->user);
	pc->started = time(NULL);
	tzset();
	proc_self = pc;
}

void
proc_sandbox(struct proc_child *pc)
{
	if (pc->privileged)
		sandbox_drop(pc->chroot[0] != '\0' ?
		    pc->chroot : NULL, pc->uid, pc->gid);
	else
		log_info("running unprivileged: not dropping privileges, "
		    "no chroot");
	sandbox_apply(pc->role, pc->verbose);
	if (getenv(CERTAOS_REGRESS_ENV) != NULL &&
	    strcmp(getenv(CERTAOS_REGRESS_ENV), proc_name(pc->role)) == 0)
		sandbox_regress(pc->role);
}

__dead void
proc_run(struct proc_child *pc)
{
	if ((pc->evbase = event_init()) == NULL)
		fatalx("event_init");
	imsgev_init(&pc->parent, PROC_PARENT_FD, pc->evbase, PROC_PARENT, 0,
	    proc_dispatch_parent, pc);
	imsgbuf_allow_fdpass(&pc->parent.ibuf);
	pc->parent.eof = proc_parent_eof;

	event_dispatch();
	fatalx("event loop ended");
}

/* The master closed our channel: it is shutting down, so do we. */
static __dead void
proc_parent_eof(struct imsgev *iev)
{
	log_debug("parent closed the channel, exiting");
	exit(0);
}

struct imsgev *
proc_peer(struct proc_child *pc, enum certaos_proc peer)
{
	struct imsgev	*iev;

	TAILQ_FOREACH(iev, &pc->peers, entry)
		if (iev->peer == peer)
			return (iev);
	return (NULL);
}

struct imsgev *
proc_peer_instance(struct proc_child *pc, enum certaos_proc peer,
    int instance)
{
	struct imsgev	*iev;

	TAILQ_FOREACH(iev, &pc->peers, entry)
		if (iev->peer == peer && iev->instance == instance)
			return (iev);
	return (NULL);
}

static void
proc_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct proc_child	*pc = iev->data;
	struct ctl_procfd	 pf;
	struct imsgev		*peer;
	int			 fd, verbose;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_PROCFD:
		if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1)
			fatalx("%s: bad IMSG_CTL_PROCFD", __func__);
		if ((fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: IMSG_CTL_PROCFD without a descriptor",
			    __func__);
		if (pf.proc <= PROC_PARENT || pf.proc >= PROC_MAX ||
		    pf.proc == PROC_CONTROL ||
		    pf.instance < 0 || pf.instance >= PROC_MAX_INSTANCES ||
		    pc->dispatch[pf.proc] == NULL)
			fatalx("%s: channel to unexpected peer %d[%d]",
			    __func__, pf.proc, pf.instance);
		if ((peer = calloc(1, sizeof(*peer))) == NULL)
			fatal("%s", __func__);
		imsgev_init(peer, fd, pc->evbase, pf.proc, pf.instance,
		    pc->dispatch[pf.proc], pc);
		TAILQ_INSERT_TAIL(&pc->peers, peer, entry);
		log_debug("channel to %s up", peer->name);
		if (pc->peer_up != NULL)
			pc->peer_up(peer);
		break;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_data(imsg, &verbose, sizeof(verbose)) == -1)
			fatalx("%s: bad IMSG_CTL_VERBOSE", __func__);
		log_setverbose(verbose);
		pc->verbose = verbose;
		break;
	default:
		if (pc->dispatch[PROC_PARENT] == NULL)
			imsgev_unexpected(iev, imsg);
		pc->dispatch[PROC_PARENT](iev, imsg);
		break;
	}
}

void
imsgev_init(struct imsgev *iev, int fd, struct event_base *base,
    enum certaos_proc peer, int instance, imsgev_dispatch dispatch,
    void *data)
{
	if (set_nonblock(fd) == -1)
		fatal("%s: set_nonblock", __func__);
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	iev->peer = peer;
	iev->eof = NULL;
	iev->instance = instance;
	iev->dispatch = dispatch;
	iev->data = data;
	if (peer == PROC_WEB)
		(void)snprintf(iev->name, sizeof(iev->name), "%s[%d]",
		    proc_name(peer), instance);
	else
		(void)strlcpy(iev->name, proc_name(peer), sizeof(iev->name));
	iev->later = 0;
	iev->events = EV_READ | EV_PERSIST;
	event_set(&iev->ev, fd, iev->events, imsgev_handler, iev);
	if (base != NULL)
		event_base_set(base, &iev->ev);
	event_add(&iev->ev, NULL);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->later) {
		TAILQ_REMOVE(&imsgev_later, iev, lentry);
		iev->later = 0;
	}
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}

/*
 * Send what can go now (a channel is almost always writable, and this
 * spares the write event its epoll_ctl calls), then wait for writability
 * only if something is left.  A write error is left for the handler,
 * which reports it where it is safe to.  While the messages of one read
 * are dispatched, what they compose waits for the end of the batch, so
 * that one sendmsg() carries all that goes to a peer (imsgev_handler).
 */
void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ | EV_PERSIST;

	if (iev->ibuf.fd == -1)
		return;
	if (imsgev_batching) {
		if (!iev->later) {
			iev->later = 1;
			TAILQ_INSERT_TAIL(&imsgev_later, iev, lentry);
		}
		return;
	}
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		(void)imsgbuf_write(&iev->ibuf);
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == iev->events)
		return;
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, events, imsgev_handler, iev);
	if (proc_self != NULL && proc_self->evbase != NULL)
		event_base_set(proc_self->evbase, &iev->ev);
	event_add(&iev->ev, NULL);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t len)
{
	if (imsg_compose(&iev->ibuf, type, id, pid, fd, data, len) == -1)
		return (-1);
	imsgev_add(iev);
	return (0);
}

int
imsgev_composev(struct imsgev *iev, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	if (imsg_composev(&iev->ibuf, type, id, pid, fd, iov, iovcnt) == -1)
		return (-1);
	imsgev_add(iev);
	return (0);
}

__dead void
imsgev_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("unexpected imsg type %u (len %zu) from %s",
	    imsg_get_type(imsg), imsg_get_len(imsg), iev->name);
}

static void
imsgev_handler(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if ((errno == EPIPE || iev->peer == PROC_CONTROL) &&
			    iev->eof != NULL) {
				iev->eof(iev);
				return;
			}
			if (errno == EPIPE)
				fatalx("lost channel to %s", iev->name);
			fatal("write to %s", iev->name);
		}
	}
	if (event & EV_READ) {
		switch (imsgbuf_read(&iev->ibuf)) {
		case -1:
			if ((errno == ECONNRESET || iev->peer == PROC_CONTROL) &&
			    iev->eof != NULL) {
				iev->eof(iev);
				return;
			}
			fatal("read from %s", iev->name);
		case 0:
			if (iev->eof != NULL) {
				iev->eof(iev);
				return;
			}
			fatalx("lost channel to %s", iev->name);
		}
		imsgev_batching = 1;
		for (;;) {
			if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
				/* a control client is not trusted: drop it */
				if (iev->peer == PROC_CONTROL) {
					iev->eof(iev);
					imsgev_flush_later();
					return;
				}
				fatalx("malformed message from %s", iev->name);
			}
			if (n == 0)
				break;
			iev->dispatch(iev, &imsg);
			imsg_free(&imsg);
		}
		imsgev_flush_later();
	}
	imsgev_add(iev);
}

/* The end of a batch: send what its messages composed. */
static void
imsgev_flush_later(void)
{
	struct imsgev	*iev;

	imsgev_batching = 0;
	while ((iev = TAILQ_FIRST(&imsgev_later)) != NULL) {
		TAILQ_REMOVE(&imsgev_later, iev, lentry);
		iev->later = 0;
		imsgev_add(iev);
	}
}
