/*
 * control.c: the control socket certaosctl talks to.  A unix socket made
 * under a tight umask, then mode 0660 and group of the daemon's user;
 * every connection is identified with getpeereid and capped per uid; the
 * protocol version rides in every request's peerid.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "ctlrec.h"
#include "log.h"
#include "master.h"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	uid_t			 uid;
	int			 status_pending;	/* replies awaited */
	int			 waiting_reload;
	int			 db_pending;	/* a request at db */
	int			 dropped;	/* closed at the next turn */
	struct imsgev		 iev;
};

static TAILQ_HEAD(, ctl_conn) ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static int		 ctl_fd = -1;
static struct event	 ctl_ev;
static uint32_t		 ctl_nextid = 1;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(struct imsgev *, struct imsg *);
static void	 control_close(struct imsgev *);
static struct ctl_conn *control_byid(uint32_t);
static void	 control_fail(struct ctl_conn *, const char *);
static void	 control_drop(struct ctl_conn *, const char *);
static void	 control_reap(int, short, void *);
static int	 control_db_request(struct ctl_conn *, struct imsg *);
static void	 control_mail(struct ctl_conn *, struct imsg *);

int
control_init(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path too long", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	/* A live daemon answers on it: do not steal its socket. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s: in use by a running certaosd",
		    path);
		close(fd);
		return (-1);
	}
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warnx("control socket %s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	old = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warnx("control socket %s: %s", path, strerror(errno));
		(void)umask(old);
		close(fd);
		return (-1);
	}
	(void)umask(old);
	if (chmod(path, 0660) == -1) {
		log_warnx("chmod %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	if (master.privileged && chown(path, 0, master.gid) == -1) {
		log_warnx("chown %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	if (listen(fd, 16) == -1)
		fatal("listen %s", path);
	ctl_fd = fd;
	return (0);
}

void
control_listen(void)
{
	event_set(&ctl_ev, ctl_fd, EV_READ | EV_PERSIST, control_accept,
	    NULL);
	event_add(&ctl_ev, NULL);
}

void
control_cleanup(const char *path)
{
	if (ctl_fd == -1)
		return;
	event_del(&ctl_ev);
	close(ctl_fd);
	ctl_fd = -1;
	if (path != NULL)
		(void)unlink(path);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	uid_t		 uid;
	gid_t		 gid;
	int		 s, n = 0;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}
	if (getpeereid(s, &uid, &gid) == -1) {
		log_warn("control getpeereid");
		close(s);
		return;
	}
	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->uid == uid)
			n++;
	if (n >= CERTAOS_MAX_CTL_CONNS) {
		log_warnx("control: too many connections from uid %u",
		    (unsigned)uid);
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control");
		close(s);
		return;
	}
	c->id = ctl_nextid++;
	c->uid = uid;
	imsgev_init(&c->iev, s, NULL, PROC_CONTROL, 0, control_dispatch, c);
	c->iev.eof = control_close;
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
}

static void
control_close(struct imsgev *iev)
{
	struct ctl_conn	*c = iev->data;

	TAILQ_REMOVE(&ctl_conns, c, entry);
	imsgev_clear(&c->iev);
	free(c);
}

static struct ctl_conn *
control_byid(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

static void
control_fail(struct ctl_conn *c, const char *why)
{
	(void)imsgev_compose(&c->iev, IMSG_CTL_FAIL, CTL_VERSION, 0, -1,
	    why, strlen(why) + 1);
}

/*
 * A control client is less trusted than a child: a bad message closes
 * its connection, it never stops the daemon.
 */
static void
control_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_conn		*c = iev->data;
	struct ctl_status	 st;
	struct child		*ch;
	const char		*why;
	int			 verbose;

	if (c->dropped)
		return;
	if (imsg_get_id(imsg) != CTL_VERSION) {
		control_fail(c, "protocol version mismatch");
		return;
	}
	if (control_db_request(c, imsg))
		return;
	if (imsg_get_type(imsg) == IMSG_CTL_MAIL_TEST ||
	    imsg_get_type(imsg) == IMSG_CTL_MAIL_QUEUE) {
		control_mail(c, imsg);
		return;
	}
	if (imsg_get_type(imsg) == IMSG_CTL_USER_INVITE) {
		if (c->uid != 0 && c->uid != getuid()) {
			log_warnx("control: uid %u may not invite",
			    (unsigned)c->uid);
			control_fail(c, "permission denied: only root may "
			    "manage users");
			return;
		}
		if (master_invite(c->id, imsg, &why) == -1)
			control_fail(c, why);
		return;
	}
	if (imsg_get_len(imsg) != 0) {
		control_fail(c, "unexpected payload");
		return;
	}
	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_SHOW_STATUS:
		if (c->status_pending) {
			control_fail(c, "status already in progress");
			break;
		}
		memset(&st, 0, sizeof(st));
		st.proc = PROC_PARENT;
		st.pid = getpid();
		st.started = master.started;
		(void)imsgev_compose(&c->iev, IMSG_CTL_STATUS_REPLY,
		    CTL_VERSION, 0, -1, &st, sizeof(st));
		TAILQ_FOREACH(ch, &master.children, entry) {
			if (imsgev_compose(&ch->iev, IMSG_CTL_STATUS, c->id, 0,
			    -1, NULL, 0) == -1)
				fatal("compose IMSG_CTL_STATUS");
			c->status_pending++;
		}
		break;
	case IMSG_CTL_RELOAD:
		if (master_reload(&why) == -1) {
			control_fail(c, why);
			break;
		}
		c->waiting_reload = 1;
		break;
	case IMSG_CTL_LOG_VERBOSE:
	case IMSG_CTL_LOG_BRIEF:
		verbose = imsg_get_type(imsg) == IMSG_CTL_LOG_VERBOSE ? 2 : 0;
		log_setverbose(verbose);
		master.verbose = verbose;
		master_broadcast(IMSG_CTL_VERBOSE, &verbose, sizeof(verbose));
		log_info("log %s", verbose ? "verbose" : "brief");
		(void)imsgev_compose(&c->iev, IMSG_CTL_OK, CTL_VERSION, 0,
		    -1, NULL, 0);
		break;
	default:
		control_fail(c, "unknown request");
		break;
	}
}

/* certaosctl mail test ADDRESS, mail queue: answered by master_mail_*. */
static void
control_mail(struct ctl_conn *c, struct imsg *imsg)
{
	char		 addr[CERTAOS_MAX_EMAIL + 2];
	const char	*why;
	size_t		 len = imsg_get_len(imsg);

	if (imsg_get_type(imsg) == IMSG_CTL_MAIL_QUEUE) {
		if (len != 0) {
			control_fail(c, "unexpected payload");
			return;
		}
		if (master_mail_queue(c->id, &why) == -1)
			control_fail(c, why);
		return;
	}
	/* a NUL-terminated address */
	if (len < 2 || len > sizeof(addr) - 1 ||
	    imsg_get_data(imsg, addr, len) == -1 ||
	    memchr(addr, '\0', len) != addr + len - 1) {
		control_fail(c, "bad address");
		return;
	}
	if (master_mail_test(c->id, addr, &why) == -1)
		control_fail(c, why);
}

int
control_mail_reply(uint32_t id, uint32_t type, const void *data,
    size_t len)
{
	struct ctl_conn	*c;

	if ((c = control_byid(id)) == NULL)
		return (-1);
	return (imsgev_compose(&c->iev, type, CTL_VERSION, 0, -1, data, len));
}

void
control_status_reply(uint32_t id, struct ctl_status *st)
{
	struct ctl_conn	*c;

	/* The client may have gone meanwhile. */
	if ((c = control_byid(id)) == NULL || c->status_pending == 0)
		return;
	(void)imsgev_compose(&c->iev, IMSG_CTL_STATUS_REPLY, CTL_VERSION, 0,
	    -1, st, sizeof(*st));
	if (--c->status_pending == 0)
		(void)imsgev_compose(&c->iev, IMSG_CTL_END, CTL_VERSION, 0,
		    -1, NULL, 0);
}

void
control_reload_done(int ok, const char *why)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry) {
		if (!c->waiting_reload)
			continue;
		c->waiting_reload = 0;
		if (ok)
			(void)imsgev_compose(&c->iev, IMSG_CTL_OK,
			    CTL_VERSION, 0, -1, NULL, 0);
		else
			control_fail(c, why);
	}
}

/*
 * A client that broke the protocol: its connection goes, nothing else.
 * Not at once: the handler that called us still reads from it.
 */
static void
control_drop(struct ctl_conn *c, const char *why)
{
	struct timeval	 tv;

	log_warnx("control: uid %u: %s, connection closed", (unsigned)c->uid,
	    why);
	if (c->dropped)
		return;
	c->dropped = 1;
	timerclear(&tv);
	if (event_once(-1, EV_TIMEOUT, control_reap,
	    (void *)(uintptr_t)c->id, &tv) == -1)
		fatalx("event_once");
}

static void
control_reap(int fd, short event, void *arg)
{
	struct ctl_conn	*c;

	/* by id: it may have closed meanwhile */
	if ((c = control_byid((uint32_t)(uintptr_t)arg)) != NULL)
		control_close(&c->iev);
}

/*
 * The operator commands db answers (user, audit, import): checked in
 * full, then relayed to db with the connection's id as peerid, one at a
 * time per connection.  Only root, or the user a development daemon
 * runs as, may use them: the socket's group may read the status only.
 * 1 if the message was one of them (taken, refused or dropped).
 */
static int
control_db_request(struct ctl_conn *c, struct imsg *imsg)
{
	struct child	*db;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_USER_LIST:
	case IMSG_CTL_USER_SHOW:
	case IMSG_CTL_USER_SET:
	case IMSG_CTL_AUDIT:
	case IMSG_CTL_IMPORT:
	case IMSG_CTL_USER_INVITES:
		break;
	default:
		return (0);
	}
	if (c->uid != 0 && c->uid != getuid()) {
		log_warnx("control: uid %u may not use request %u",
		    (unsigned)c->uid, imsg_get_type(imsg));
		control_fail(c, "permission denied: only root may manage "
		    "users");
		return (1);
	}
	if (ctlrec_check(imsg) == -1) {
		control_drop(c, "malformed request");
		return (1);
	}
	if (c->db_pending) {
		control_drop(c, "request while one is in progress");
		return (1);
	}
	if ((db = master_child(PROC_DB, 0)) == NULL) {
		control_fail(c, "database process not running");
		return (1);
	}
	if (imsgev_compose(&db->iev, imsg_get_type(imsg), c->id, 0, -1,
	    imsg->data, imsg_get_len(imsg)) == -1)
		fatal("compose to db");
	c->db_pending = 1;
	return (1);
}

/*
 * db's answer to connection id: checked (db is a child: a bad one is
 * fatal), relayed if the client is still there, dropped if it went.
 */
void
control_db_reply(struct imsg *imsg)
{
	struct ctl_conn	*c;
	uint32_t	 type = imsg_get_type(imsg);

	switch (type) {
	case IMSG_CTL_USER:
	case IMSG_CTL_AUDIT_ROW:
	case IMSG_CTL_INVITE:
	case IMSG_CTL_END:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
	case IMSG_CTL_IMPORTED:
		if (ctlrec_check(imsg) == 0)
			break;
		/* FALLTHROUGH */
	default:
		fatalx("bad control answer %u from db (len %zu)", type,
		    imsg_get_len(imsg));
	}
	if ((c = control_byid(imsg_get_id(imsg))) == NULL || c->dropped) {
		log_debug("control: answer %u for connection %u, gone",
		    type, imsg_get_id(imsg));
		return;
	}
	if (!c->db_pending)
		fatalx("control answer %u from db for connection %u, which "
		    "asked nothing", type, c->id);
	if (type != IMSG_CTL_USER && type != IMSG_CTL_AUDIT_ROW &&
	    type != IMSG_CTL_INVITE)
		c->db_pending = 0;
	(void)imsgev_compose(&c->iev, type, CTL_VERSION, 0, -1, imsg->data,
	    imsg_get_len(imsg));
}
