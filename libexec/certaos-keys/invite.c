/*
 * invite.c: invitations in certaos-keys (certaosctl user invite).
 *
 * keys makes the invitation's token and the sign-up link that carries
 * it, and seals the mail; the master hands db the token's SHA-256 with
 * the sealed mail, never the token.  A sign-up that presents the token
 * comes as IMSG_KEYS_SIGNUP, where it is hashed the same way.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "keys.h"

/* the URL, "?invite=", a token, "&email=" and the address %-encoded */
#define INVITE_MAX_LINK	(CERTAOS_MAX_URL + 32 + CERTAOS_TOKEN_LEN + \
			    3 * CERTAOS_MAX_EMAIL)

static char		 invite_url[CERTAOS_MAX_URL + 1];
static struct mbuf	 imb;

void
invite_configure(const struct cfg_keys *cfg)
{
	(void)strlcpy(invite_url, cfg->invite_url, sizeof(invite_url));
}

/* A presented invitation token: its hash if it has our tokens' form. */
int
invite_token_hash(const char *tok, unsigned char h[SHA256_LEN])
{
	size_t	 i;

	if (strlen(tok) != CERTAOS_TOKEN_LEN)
		return (-1);
	for (i = 0; i < CERTAOS_TOKEN_LEN; i++)
		if (!((tok[i] >= 'A' && tok[i] <= 'Z') ||
		    (tok[i] >= 'a' && tok[i] <= 'z') ||
		    (tok[i] >= '0' && tok[i] <= '9')))
			return (-1);
	token_hash(tok, h);
	return (0);
}

/*
 * IMSG_KEYS_INVITE from the master: str email, str role, str attributes
 * (a JSON object), u32 lifetime (s).  Back: IMSG_KEYS_INVITE_SEALED, or
 * IMSG_KEYS_ERROR with the reason.
 */
void
invite_make(struct imsgev *iev, struct imsg *imsg)
{
	static char		 link[INVITE_MAX_LINK];
	static char		 attrs[CERTAOS_MAX_ATTRS + 1];
	struct mread		 mr;
	struct timespec		 ts;
	struct tm		 tm;
	char			 email[CERTAOS_MAX_EMAIL + 1];
	char			 role[CERTAOS_MAX_ROLE + 1];
	char			 enc[3 * CERTAOS_MAX_EMAIL + 1];
	char			 tok[CERTAOS_TOKEN_LEN + 1];
	char			 when[64];
	unsigned char		 th[SHA256_LEN];
	uint64_t		 expires;
	uint32_t		 ttl;
	time_t			 t;
	int			 n;

	mread_init(&mr, imsg);
	(void)mread_str(&mr, email, sizeof(email));
	(void)mread_str(&mr, role, sizeof(role));
	(void)mread_str(&mr, attrs, sizeof(attrs));
	ttl = mread_u32(&mr);
	if (mread_end(&mr) == -1 || email[0] == '\0' || role[0] == '\0' ||
	    ttl == 0 || ttl > CERTAOS_INVITE_TTL_MAX)
		fatalx("%s: bad IMSG_KEYS_INVITE", __func__);
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		fatal("clock_gettime");
	expires = ((uint64_t)ts.tv_sec + ttl) * 1000;
	t = (time_t)(expires / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		fatalx("%s: the expiry", __func__);

	mbuf_init(&imb);
	if (token_make(tok) == -1 ||
	    flow_urlenc(enc, sizeof(enc), email) == -1)
		goto fail;
	token_hash(tok, th);
	n = snprintf(link, sizeof(link), "%s%cinvite=%s&email=%s",
	    invite_url, strchr(invite_url, '?') != NULL ? '&' : '?', tok,
	    enc);
	explicit_bzero(tok, sizeof(tok));
	if (n < 0 || (size_t)n >= sizeof(link))
		goto fail;
	mbuf_str(&imb, email);
	mbuf_str(&imb, role);
	mbuf_str(&imb, attrs);
	mbuf_bytes(&imb, th, sizeof(th));
	mbuf_u64(&imb, expires);
	if (keys_mail_seal(&imb, "invite", email, "role", role, "url", link,
	    "expires", when, NULL) == -1)
		goto fail;
	explicit_bzero(link, sizeof(link));
	explicit_bzero(th, sizeof(th));
	if (mbuf_compose(&imb, &iev->ibuf, IMSG_KEYS_INVITE_SEALED,
	    imsg_get_id(imsg)) == -1)
		fatalx("%s: compose", __func__);
	mbuf_clear(&imb);
	imsgev_add(iev);
	return;
 fail:
	explicit_bzero(link, sizeof(link));
	explicit_bzero(th, sizeof(th));
	explicit_bzero(tok, sizeof(tok));
	mbuf_clear(&imb);
	mbuf_init(&imb);
	mbuf_str(&imb, "cannot make the invitation (see the log)");
	if (mbuf_compose(&imb, &iev->ibuf, IMSG_KEYS_ERROR,
	    imsg_get_id(imsg)) == -1)
		fatalx("%s: compose", __func__);
	mbuf_clear(&imb);
	imsgev_add(iev);
}
