/*
 * certaos-mail: delivers the outbox.  A timer (every MAIL_POLL seconds,
 * and at once when db says a row was queued) asks db for due rows; db
 * leases them to us; keys opens each sealed message; we render its
 * template, deliver it, and tell db the outcome.  One delivery at a
 * time, each step bounded by the step timeout: the blocking I/O of a
 * delivery stops only this process, which nothing waits on.
 *
 * Mail is off without a "mail" method in certaos.conf: the process
 * then runs idle, and queued rows wait until mail is set up.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <event.h>
#include <event2/buffer.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "mail.h"

struct mail_row {
	TAILQ_ENTRY(mail_row)	 entry;
	uint64_t		 id;
	uint32_t		 attempts;
	size_t			 sealed_len;
	unsigned char		 sealed[CERTAOS_MAX_MAIL_SEALED];
};
TAILQ_HEAD(mail_rows, mail_row);

enum mail_state {
	MS_IDLE,
	MS_CLAIMING,		/* waiting for db's rows */
	MS_OPENING		/* waiting for keys to open one */
};

static struct proc_child	 pc;
static struct cfg_mail		 cfg, newcfg;
static int			 have_newcfg, configured, started;
static struct mail_tmpls	 tmpls;
static struct mail_rows		 rows = TAILQ_HEAD_INITIALIZER(rows);
static int			 nrows;
static enum mail_state		 state = MS_IDLE;
static int			 again;		/* nudged while busy */
static uint32_t			 reqid;
static struct event		 pollev;
static struct mbuf		 mb;

static void	 mail_dispatch_parent(struct imsgev *, struct imsg *);
static void	 mail_dispatch_db(struct imsgev *, struct imsg *);
static void	 mail_dispatch_keys(struct imsgev *, struct imsg *);
static void	 mail_peer_up(struct imsgev *);
static void	 mail_configure(void);
static void	 mail_start(void);
static void	 mail_poll(int, short, void *);
static void	 mail_schedule(int);
static void	 mail_claim(void);
static void	 mail_next(void);
static void	 mail_opened(struct imsg *);
static void	 mail_deliver(struct mail_msg *, char *, size_t, int *);
static void	 mail_done(uint64_t, int, const char *);

int
main(int argc, char *argv[])
{
	proc_init(&pc, argc, argv, PROC_MAIL);
	/* a relay or a sendmail that goes away is an error, not a death */
	(void)signal(SIGPIPE, SIG_IGN);
	/* OpenSSL reads its configuration now; the roots at each relay */
	send_init();
	tmpl_init(&tmpls);
	proc_sandbox(&pc);
	pc.dispatch[PROC_PARENT] = mail_dispatch_parent;
	pc.dispatch[PROC_DB] = mail_dispatch_db;
	pc.dispatch[PROC_KEYS] = mail_dispatch_keys;
	pc.peer_up = mail_peer_up;
	proc_run(&pc);
}

static void
mail_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_status	 st;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_MAIL:
		if (imsg_get_data(imsg, &newcfg, sizeof(newcfg)) == -1)
			fatalx("bad IMSG_CFG_MAIL from %s (len %zu)",
			    iev->name, imsg_get_len(imsg));
		if (memchr(newcfg.sendmail, '\0', sizeof(newcfg.sendmail)) ==
		    NULL || memchr(newcfg.host, '\0', sizeof(newcfg.host)) ==
		    NULL || memchr(newcfg.ca, '\0', sizeof(newcfg.ca)) ==
		    NULL || memchr(newcfg.user, '\0', sizeof(newcfg.user)) ==
		    NULL || memchr(newcfg.password, '\0',
		    sizeof(newcfg.password)) == NULL ||
		    memchr(newcfg.dir, '\0', sizeof(newcfg.dir)) == NULL ||
		    memchr(newcfg.from, '\0', sizeof(newcfg.from)) == NULL ||
		    memchr(newcfg.templates, '\0',
		    sizeof(newcfg.templates)) == NULL ||
		    memchr(newcfg.shipped, '\0', sizeof(newcfg.shipped)) ==
		    NULL || memchr(newcfg.app, '\0', sizeof(newcfg.app)) ==
		    NULL)
			fatalx("IMSG_CFG_MAIL: a string is not terminated");
		if (newcfg.method > MAIL_DIR || newcfg.tls > MAIL_TLS_OFF ||
		    newcfg.port > 65535 || newcfg.retry < 1 ||
		    newcfg.retry > CERTAOS_MAIL_RETRY_MAX ||
		    newcfg.attempts < 1 ||
		    newcfg.attempts > CERTAOS_MAIL_ATTEMPTS_MAX ||
		    newcfg.timeout < 1 || newcfg.timeout > CERTAOS_TIMEOUT_MAX)
			fatalx("IMSG_CFG_MAIL: a value out of range");
		have_newcfg = 1;
		break;
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CFG_DONE from %s", iev->name);
		mail_configure();
		if (imsgev_compose(iev, IMSG_CFG_ACK, imsg_get_id(imsg), 0, -1,
		    NULL, 0) == -1)
			fatal("compose");
		break;
	case IMSG_CTL_START:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CTL_START from %s", iev->name);
		mail_start();
		break;
	case IMSG_CTL_STATUS:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_CTL_STATUS from %s", iev->name);
		memset(&st, 0, sizeof(st));
		st.proc = PROC_MAIL;
		st.instance = pc.instance;
		st.pid = getpid();
		st.started = pc.started;
		if (imsgev_compose(iev, IMSG_CTL_STATUS_REPLY,
		    imsg_get_id(imsg), 0, -1, &st, sizeof(st)) == -1)
			fatal("compose");
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

/* The new configuration, and the templates read again. */
static void
mail_configure(void)
{
	static const char *const methods[] = {
		"off", "sendmail", "smtp", "dir"
	};
	int	 n = 0, m;

	if (!have_newcfg) {
		if (!configured)
			fatalx("configuration done without IMSG_CFG_MAIL");
		return;
	}
	explicit_bzero(&cfg, sizeof(cfg));
	cfg = newcfg;
	explicit_bzero(&newcfg, sizeof(newcfg));
	have_newcfg = 0;
	tmpl_free(&tmpls);
	if (cfg.templates[0] != '\0' &&
	    (n = tmpl_load_dir(&tmpls, cfg.templates)) == -1)
		n = 0;
	if ((m = tmpl_load_dir(&tmpls, cfg.shipped)) > 0)
		n += m;
	log_info("%s: %s, %d templates", configured ? "configuration "
	    "reloaded" : "configured", methods[cfg.method], n);
	configured = 1;
	if (cfg.method == MAIL_OFF)
		log_debug("mail is off: the outbox waits");
	mail_schedule(0);
}

static void
mail_peer_up(struct imsgev *iev)
{
	mail_start();
}

/* Once configured and both channels are up. */
static void
mail_start(void)
{
	if (started || !configured || proc_peer(&pc, PROC_DB) == NULL ||
	    proc_peer(&pc, PROC_KEYS) == NULL)
		return;
	started = 1;
	evtimer_set(&pollev, mail_poll, NULL);
	event_base_set(pc.evbase, &pollev);
	mail_schedule(0);
}

static void
mail_schedule(int secs)
{
	struct timeval	 tv;

	if (!started)
		return;
	timerclear(&tv);
	tv.tv_sec = secs;
	evtimer_del(&pollev);
	evtimer_add(&pollev, &tv);
}

static void
mail_poll(int fd, short event, void *arg)
{
	if (cfg.method == MAIL_OFF) {
		mail_schedule(MAIL_POLL);
		return;
	}
	if (state != MS_IDLE) {
		again = 1;
		return;
	}
	mail_claim();
}

/*
 * A lease long enough for every row of the claim to use each of its
 * steps' timeouts; when it ends, any daemon may take the row again.
 */
static void
mail_claim(void)
{
	struct imsgev	*db;
	uint32_t	 lease;

	if ((db = proc_peer(&pc, PROC_DB)) == NULL)
		fatalx("%s: no channel to db", __func__);
	lease = MAIL_CLAIM * 8 * cfg.timeout + 60;
	if (lease > 3600)
		lease = 3600;
	again = 0;
	state = MS_CLAIMING;
	mbuf_init(&mb);
	mbuf_u32(&mb, MAIL_CLAIM);
	mbuf_u32(&mb, lease);
	if (mbuf_compose(&mb, &db->ibuf, IMSG_DB_MAIL_CLAIM, ++reqid) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(db);
}

static void
mail_dispatch_db(struct imsgev *iev, struct imsg *imsg)
{
	struct mail_row	*r;
	struct mread	 mr;
	int32_t		 n;

	switch (imsg_get_type(imsg)) {
	case IMSG_DB_MAIL_NUDGE:
		if (imsg_get_len(imsg) != 0)
			fatalx("bad IMSG_DB_MAIL_NUDGE from %s", iev->name);
		if (state != MS_IDLE)
			again = 1;
		else
			mail_schedule(0);
		break;
	case IMSG_DB_MAIL_ROW:
		if (state != MS_CLAIMING || imsg_get_id(imsg) != reqid ||
		    nrows >= MAIL_CLAIM)
			fatalx("unexpected IMSG_DB_MAIL_ROW from %s",
			    iev->name);
		if ((r = calloc(1, sizeof(*r))) == NULL)
			fatal("%s", __func__);
		mread_init(&mr, imsg);
		r->id = mread_u64(&mr);
		r->attempts = mread_u32(&mr);
		r->sealed_len = mread_bytes(&mr, r->sealed, sizeof(r->sealed));
		if (mread_end(&mr) == -1 || r->id == 0 || r->sealed_len == 0)
			fatalx("bad IMSG_DB_MAIL_ROW from %s", iev->name);
		TAILQ_INSERT_TAIL(&rows, r, entry);
		nrows++;
		break;
	case IMSG_DB_MAIL_CLAIMED:
		if (state != MS_CLAIMING || imsg_get_id(imsg) != reqid ||
		    imsg_get_data(imsg, &n, sizeof(n)) == -1 ||
		    (n != nrows && n != -1))
			fatalx("unexpected IMSG_DB_MAIL_CLAIMED from %s",
			    iev->name);
		if (n == -1)
			log_debug("outbox: database unavailable");
		else if (n > 0)
			log_debug("outbox: %d due", n);
		/* a full claim: there may be more, look again at once */
		if (n == MAIL_CLAIM)
			again = 1;
		state = MS_IDLE;
		mail_next();
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

/* The next claimed row to keys, or the next look at the outbox. */
static void
mail_next(void)
{
	struct imsgev	*keys;
	struct mail_row	*r;

	if ((r = TAILQ_FIRST(&rows)) == NULL) {
		state = MS_IDLE;
		mail_schedule(again ? 0 : MAIL_POLL);
		return;
	}
	if ((keys = proc_peer(&pc, PROC_KEYS)) == NULL)
		fatalx("%s: no channel to keys", __func__);
	state = MS_OPENING;
	mbuf_init(&mb);
	mbuf_u64(&mb, r->id);
	mbuf_bytes(&mb, r->sealed, r->sealed_len);
	if (mbuf_compose(&mb, &keys->ibuf, IMSG_KEYS_MAIL_OPEN, ++reqid) ==
	    -1)
		fatal("%s: compose", __func__);
	imsgev_add(keys);
}

static void
mail_dispatch_keys(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_KEYS_MAIL_OPENED:
		if (state != MS_OPENING || imsg_get_id(imsg) != reqid)
			fatalx("unexpected IMSG_KEYS_MAIL_OPENED from %s",
			    iev->name);
		mail_opened(imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
mail_opened(struct imsg *imsg)
{
	static unsigned char	 plain[CERTAOS_MAX_MAIL_SEALED];
	static struct mail_msg	 msg;
	struct mail_row		*r = TAILQ_FIRST(&rows);
	struct mread		 mr;
	char			 why[CERTAOS_MAX_MAIL_ERROR];
	uint64_t		 id;
	size_t			 len;
	int32_t			 ok;
	int			 outcome;

	mread_init(&mr, imsg);
	ok = mread_i32(&mr);
	id = mread_u64(&mr);
	len = mread_bytes(&mr, plain, sizeof(plain));
	if (mread_end(&mr) == -1 || r == NULL || id != r->id ||
	    (ok != 0 && ok != 1))
		fatalx("bad IMSG_KEYS_MAIL_OPENED");
	TAILQ_REMOVE(&rows, r, entry);
	nrows--;
	free(r);

	why[0] = '\0';
	if (!ok) {
		outcome = MAIL_PERMFAIL;
		(void)strlcpy(why, "the sealed message does not open",
		    sizeof(why));
	} else if (mail_msg_parse(plain, len, &msg) == -1) {
		outcome = MAIL_PERMFAIL;
		(void)strlcpy(why, "the sealed message is malformed",
		    sizeof(why));
	} else {
		msg.id = id;
		mail_deliver(&msg, why, sizeof(why), &outcome);
	}
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(&msg, sizeof(msg));
	mail_done(id, outcome, why);
	mail_next();
}

/* Render and deliver one message: its outcome, and why unless sent. */
static void
mail_deliver(struct mail_msg *m, char *why, size_t whylen, int *outcome)
{
	struct mail_tmpl	*t;
	struct evbuffer		*out;
	char			 from[CERTAOS_MAX_EMAIL + 1];
	unsigned char		*p;
	size_t			 len;

	*outcome = MAIL_PERMFAIL;
	if (cfg.method == MAIL_OFF) {
		/* turned off by a reload since the claim: later */
		*outcome = MAIL_TEMPFAIL;
		(void)strlcpy(why, "mail is off", whylen);
		return;
	}
	if ((t = tmpl_find(&tmpls, m->tmpl)) == NULL) {
		/* an operator may still add it: not given up at once */
		*outcome = MAIL_TEMPFAIL;
		(void)snprintf(why, whylen, "no template %s", m->tmpl);
		return;
	}
	if (mail_msg_setvar(m, "app", cfg.app) == -1 ||
	    mail_msg_setvar(m, "email", m->to) == -1) {
		(void)strlcpy(why, "too many variables", whylen);
		return;
	}
	if ((out = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	if (mail_compose(t, m, cfg.from, time(NULL), out, why, whylen) ==
	    -1) {
		evbuffer_free(out);
		return;
	}
	len = evbuffer_get_length(out);
	if ((p = evbuffer_pullup(out, -1)) == NULL)
		fatal("%s: pullup", __func__);
	switch (cfg.method) {
	case MAIL_SENDMAIL:
		*outcome = send_sendmail(cfg.sendmail, (char *)p, len,
		    cfg.timeout, why, whylen);
		break;
	case MAIL_DIR:
		*outcome = send_dir(cfg.dir, m->id, (char *)p, len, why,
		    whylen);
		break;
	case MAIL_SMTP:
		if (mail_addr_of(cfg.from, from, sizeof(from)) == -1) {
			(void)strlcpy(why, "bad mail from", whylen);
			*outcome = MAIL_TEMPFAIL;
			break;
		}
		*outcome = send_smtp(&cfg, from, m->to, (char *)p,
		    len, why, whylen);
		break;
	}
	explicit_bzero(p, len);
	evbuffer_free(out);
}

static void
mail_done(uint64_t id, int outcome, const char *why)
{
	struct imsgev	*db;
	char		 ebuf[CERTAOS_MAX_MAIL_ERROR * 4 + 1];

	if (outcome == MAIL_SENT)
		log_info("outbox row %llu delivered",
		    (unsigned long long)id);
	else
		log_warnx("outbox row %llu: %s failure: %s",
		    (unsigned long long)id, outcome == MAIL_PERMFAIL ?
		    "permanent" : "temporary", str_escape(why, ebuf,
		    sizeof(ebuf)));
	if ((db = proc_peer(&pc, PROC_DB)) == NULL)
		fatalx("%s: no channel to db", __func__);
	mbuf_init(&mb);
	mbuf_u64(&mb, id);
	mbuf_u32(&mb, outcome);
	mbuf_str(&mb, outcome == MAIL_SENT ? "" : why);
	mbuf_u32(&mb, cfg.retry);
	mbuf_u32(&mb, cfg.attempts);
	if (mbuf_compose(&mb, &db->ibuf, IMSG_DB_MAIL_DONE, ++reqid) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(db);
}
