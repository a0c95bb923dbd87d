/*
 * mail.c: the master's part of mail.  It finds the shipped templates,
 * hands the mail process its configuration, and routes the operator's
 * requests: "certaosctl mail test" goes to keys, which seals the test
 * message, and what keys sealed goes on to db, which queues it and
 * nudges mail; "certaosctl mail queue" is a listing from db.  The
 * peerid of each of these messages is the control request's id.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "master.h"

#ifndef CERTAOS_SHAREDIR
#define CERTAOS_SHAREDIR	"/usr/local/share/certaos"
#endif

static struct mbuf	 mmb;

static struct imsgev	*master_mail_peer(enum certaos_proc);
static int		 master_mail_qrow(struct imsg *, struct mbuf *);

/*
 * The build tree has them beside the programs (obj/share/templates,
 * copied from etc/templates); an installed daemon in SHAREDIR.
 */
void
master_mail_templates(char *dir, size_t len)
{
	struct stat	 sb;

	if ((size_t)snprintf(dir, len, "%s/../share/templates",
	    master.libexec) < len && stat(dir, &sb) == 0 &&
	    S_ISDIR(sb.st_mode))
		return;
	if ((size_t)snprintf(dir, len, "%s/templates", CERTAOS_SHAREDIR) >=
	    len)
		fatalx("templates path too long");
}

void
master_mail_config(struct child *c, struct certaosd_config *conf)
{
	struct cfg_mail	 cm;

	cm = conf->mail;
	if (strlcpy(cm.shipped, master.templates, sizeof(cm.shipped)) >=
	    sizeof(cm.shipped))
		fatalx("templates path %s too long", master.templates);
	if (imsgev_compose(&c->iev, IMSG_CFG_MAIL, 0, 0, -1, &cm,
	    sizeof(cm)) == -1)
		fatal("%s: compose", __func__);
	explicit_bzero(&cm, sizeof(cm));
}

static struct imsgev *
master_mail_peer(enum certaos_proc proc)
{
	struct child	*c;

	if ((c = master_child(proc, 0)) == NULL || c->iev.ibuf.fd == -1)
		return (NULL);
	return (&c->iev);
}

/*
 * An address the test message may go to: one line, an '@', no angle
 * brackets or spaces (the mail process refuses worse anyway).
 */
int
master_mail_test(uint32_t id, const char *addr, const char **why)
{
	struct imsgev	*keys;
	const char	*p;

	if (*addr == '\0' || strlen(addr) > CERTAOS_MAX_EMAIL ||
	    strchr(addr, '@') == NULL) {
		*why = "not an email address";
		return (-1);
	}
	for (p = addr; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == ',') {
			*why = "not an email address";
			return (-1);
		}
	if ((keys = master_mail_peer(PROC_KEYS)) == NULL) {
		*why = "keys is not running";
		return (-1);
	}
	mbuf_init(&mmb);
	mbuf_str(&mmb, addr);
	if (mbuf_compose(&mmb, &keys->ibuf, IMSG_KEYS_MAIL_TEST, id) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(keys);
	return (0);
}

int
master_mail_queue(uint32_t id, const char **why)
{
	struct imsgev	*db;

	if ((db = master_mail_peer(PROC_DB)) == NULL) {
		*why = "db is not running";
		return (-1);
	}
	if (imsgev_compose(db, IMSG_DB_MAIL_QUEUE, id, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
	return (0);
}

/* keys sealed the test message (or could not): on to db, or the error. */
void
master_mail_sealed(struct imsg *imsg)
{
	static unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	struct mread		 mr;
	struct imsgev		*db;
	char			 to[CERTAOS_MAX_EMAIL + 1];
	char			 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	char			 why[256];
	size_t			 n;
	uint32_t		 id = imsg_get_id(imsg);

	mread_init(&mr, imsg);
	if (imsg_get_type(imsg) == IMSG_KEYS_ERROR) {
		(void)mread_str(&mr, why, sizeof(why));
		if (mread_end(&mr) == -1)
			fatalx("%s: bad IMSG_KEYS_ERROR", __func__);
		(void)control_mail_reply(id, IMSG_CTL_FAIL, why,
		    strlen(why) + 1);
		return;
	}
	(void)mread_str(&mr, to, sizeof(to));
	(void)mread_str(&mr, tmpl, sizeof(tmpl));
	n = mread_bytes(&mr, sealed, sizeof(sealed));
	if (mread_end(&mr) == -1 || n == 0)
		fatalx("%s: bad IMSG_KEYS_MAIL_SEALED", __func__);
	if ((db = master_mail_peer(PROC_DB)) == NULL) {
		(void)control_mail_reply(id, IMSG_CTL_FAIL,
		    "db is not running", sizeof("db is not running"));
		return;
	}
	mbuf_init(&mmb);
	mbuf_str(&mmb, to);
	mbuf_str(&mmb, tmpl);
	mbuf_bytes(&mmb, sealed, n);
	if (mbuf_compose(&mmb, &db->ibuf, IMSG_DB_MAIL_ENQUEUE, id) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(db);
}

/* One row of the queue listing, checked and written again into mb. */
static int
master_mail_qrow(struct imsg *imsg, struct mbuf *mb)
{
	struct mread	 mr;
	char		 to[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	char		 err[CERTAOS_MAX_MAIL_ERROR + 1];
	uint64_t	 rid, next;
	uint32_t	 attempts, failed;

	mread_init(&mr, imsg);
	rid = mread_u64(&mr);
	(void)mread_str(&mr, to, sizeof(to));
	(void)mread_str(&mr, tmpl, sizeof(tmpl));
	attempts = mread_u32(&mr);
	next = mread_u64(&mr);
	failed = mread_u32(&mr);
	(void)mread_str(&mr, err, sizeof(err));
	if (mread_end(&mr) == -1 || failed > 1)
		return (-1);
	mbuf_init(mb);
	mbuf_u64(mb, rid);
	mbuf_str(mb, to);
	mbuf_str(mb, tmpl);
	mbuf_u32(mb, attempts);
	mbuf_u64(mb, next);
	mbuf_u32(mb, failed);
	mbuf_str(mb, err);
	return (mb->err ? -1 : 0);
}

/* db's answers: queued, and the rows and end of a listing. */
void
master_mail_db(struct imsg *imsg)
{
	static const char	 down[] = "database unavailable";
	int32_t			 v;
	uint32_t		 id = imsg_get_id(imsg);

	switch (imsg_get_type(imsg)) {
	case IMSG_DB_MAIL_QUEUED:
	case IMSG_DB_MAIL_QUEUE_END:
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
			fatalx("%s: bad answer %u from db", __func__,
			    imsg_get_type(imsg));
		if (v < 0)
			(void)control_mail_reply(id, IMSG_CTL_FAIL, down,
			    sizeof(down));
		else
			(void)control_mail_reply(id,
			    imsg_get_type(imsg) == IMSG_DB_MAIL_QUEUED ?
			    IMSG_CTL_OK : IMSG_CTL_END, NULL, 0);
		break;
	case IMSG_CTL_MAIL_QROW:
		if (master_mail_qrow(imsg, &mmb) == -1)
			fatalx("%s: bad IMSG_CTL_MAIL_QROW", __func__);
		(void)control_mail_reply(id, IMSG_CTL_MAIL_QROW, mmb.buf,
		    mmb.len);
		break;
	default:
		fatalx("%s: type %u", __func__, imsg_get_type(imsg));
	}
}
