/*
 * invite.c: certaosctl user invite, in the master.  The request is
 * checked here, keys makes the token and the sealed mail, db stores the
 * invitation with its outbox row; the answer goes back to the control
 * connection by its id (control_mail_reply).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "master.h"

static struct mbuf	 imb;

static int	 invite_attrs_ok(const char *);

/*
 * Attributes: lines "key=value"; a key of letters, digits, '_', '-' and
 * '.' (1 to 64), a value without control characters.
 */
static int
invite_attrs_ok(const char *s)
{
	const char	*eq;
	size_t		 klen;

	while (*s != '\0') {
		if ((eq = strchr(s, '=')) == NULL)
			return (-1);
		klen = eq - s;
		if (klen == 0 || klen > 64)
			return (-1);
		for (; s < eq; s++)
			if (!((*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '_' ||
			    *s == '-' || *s == '.'))
				return (-1);
		for (s = eq + 1; *s != '\0' && *s != '\n'; s++)
			if ((unsigned char)*s < ' ' || *s == 0x7f)
				return (-1);
		if (*s == '\n')
			s++;
	}
	return (0);
}

/*
 * IMSG_CTL_USER_INVITE: str email, str role, str attributes, u32
 * lifetime (s).  0 and on to keys, or -1 with the reason.
 */
int
master_invite(uint32_t id, struct imsg *imsg, const char **why)
{
	static char	 attrs[CERTAOS_MAX_ATTRS + 1];
	struct mread	 mr;
	struct child	*keys;
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 role[CERTAOS_MAX_ROLE + 1];
	const char	*p;
	uint32_t	 ttl;

	mread_init(&mr, imsg);
	(void)mread_str(&mr, email, sizeof(email));
	(void)mread_str(&mr, role, sizeof(role));
	(void)mread_str(&mr, attrs, sizeof(attrs));
	ttl = mread_u32(&mr);
	if (mread_end(&mr) == -1) {
		*why = "malformed request";
		return (-1);
	}
	if (email_normalize(email) == -1) {
		*why = "not an email address";
		return (-1);
	}
	if (role[0] == '\0') {
		*why = "no role";
		return (-1);
	}
	for (p = role; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == ',')) {
			*why = "a role has letters, digits, '_' and '-' "
			    "(roles separated by ',')";
			return (-1);
		}
	if (invite_attrs_ok(attrs) == -1) {
		*why = "an attribute is KEY=VALUE, KEY of letters, digits, "
		    "'_', '-' and '.'";
		return (-1);
	}
	if (ttl == 0 || ttl > CERTAOS_INVITE_TTL_MAX) {
		*why = "the lifetime is 1 second to 365 days";
		return (-1);
	}
	if ((keys = master_child(PROC_KEYS, 0)) == NULL ||
	    keys->iev.ibuf.fd == -1) {
		*why = "keys is not running";
		return (-1);
	}
	mbuf_init(&imb);
	mbuf_str(&imb, email);
	mbuf_str(&imb, role);
	mbuf_str(&imb, attrs);
	mbuf_u32(&imb, ttl);
	if (mbuf_compose(&imb, &keys->iev.ibuf, IMSG_KEYS_INVITE, id) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(&keys->iev);
	return (0);
}

/* keys made the invitation: checked, and on to db. */
void
master_invite_sealed(struct imsg *imsg)
{
	static unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	static char		 attrs[CERTAOS_MAX_ATTRS + 1];
	struct mread		 mr;
	struct child		*db;
	char			 email[CERTAOS_MAX_EMAIL + 1];
	char			 role[CERTAOS_MAX_ROLE + 1];
	char			 to[CERTAOS_MAX_EMAIL + 1];
	char			 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	unsigned char		 th[32];
	uint64_t		 expires;
	size_t			 n, tn;
	uint32_t		 id = imsg_get_id(imsg);

	mread_init(&mr, imsg);
	(void)mread_str(&mr, email, sizeof(email));
	(void)mread_str(&mr, role, sizeof(role));
	(void)mread_str(&mr, attrs, sizeof(attrs));
	tn = mread_bytes(&mr, th, sizeof(th));
	expires = mread_u64(&mr);
	(void)mread_str(&mr, to, sizeof(to));
	(void)mread_str(&mr, tmpl, sizeof(tmpl));
	n = mread_bytes(&mr, sealed, sizeof(sealed));
	if (mread_end(&mr) == -1 || tn != sizeof(th) || n == 0 ||
	    expires == 0)
		fatalx("%s: bad IMSG_KEYS_INVITE_SEALED", __func__);
	if ((db = master_child(PROC_DB, 0)) == NULL ||
	    db->iev.ibuf.fd == -1) {
		(void)control_mail_reply(id, IMSG_CTL_FAIL,
		    "db is not running", sizeof("db is not running"));
		return;
	}
	mbuf_init(&imb);
	mbuf_str(&imb, email);
	mbuf_str(&imb, role);
	mbuf_str(&imb, attrs);
	mbuf_bytes(&imb, th, sizeof(th));
	mbuf_u64(&imb, expires);
	mbuf_str(&imb, to);
	mbuf_str(&imb, tmpl);
	mbuf_bytes(&imb, sealed, n);
	if (mbuf_compose(&imb, &db->iev.ibuf, IMSG_DB_INVITE, id) == -1)
		fatal("%s: compose", __func__);
	imsgev_add(&db->iev);
}

/* db stored it (or could not). */
void
master_invite_db(struct imsg *imsg)
{
	static const char	 down[] = "database unavailable";
	int32_t			 v;

	if (imsg_get_data(imsg, &v, sizeof(v)) == -1 || v < -1 || v > 1)
		fatalx("%s: bad IMSG_DB_INVITED", __func__);
	if (v == 1)
		(void)control_mail_reply(imsg_get_id(imsg), IMSG_CTL_OK, NULL,
		    0);
	else
		(void)control_mail_reply(imsg_get_id(imsg), IMSG_CTL_FAIL,
		    down, sizeof(down));
}
