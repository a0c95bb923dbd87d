/*
 * mail.c: outbox messages.  A mail carries a link with a token, so db,
 * which must never see a plaintext token (invariant 2), stores it
 * sealed: keys seals the recipient, the template's name and the
 * variables with AES-256-GCM under the HKDF "mail" sub-key, and opens
 * them again for the mail process, which renders and delivers.
 *
 * The plaintext is msg.h fields: str recipient, str template, u32 n,
 * then n pairs of str name, str value.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "crypto.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "keys.h"

static unsigned char	 mail_key[SEAL_KEY_LEN];
static int		 mail_key_set;
/* the plaintext being sealed, and the sealed or opened bytes */
static struct mbuf	 plain;
static unsigned char	 sealbuf[CERTAOS_MAX_MAIL_SEALED];
static struct mbuf	 out;

static int	 mail_field_ok(const char *, size_t, int);

void
keys_mail_configure(const struct subkeys *sk)
{
	if (!sk->set)
		return;
	memcpy(mail_key, sk->mail, sizeof(mail_key));
	mail_key_set = 1;
}

/* Within its bound; with oneline, no control character (header text). */
static int
mail_field_ok(const char *s, size_t max, int oneline)
{
	const unsigned char	*p;

	if (s == NULL || strlen(s) > max)
		return (0);
	if (oneline)
		for (p = (const unsigned char *)s; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				return (0);
	return (1);
}

int
keys_mail_vseal(struct mbuf *mb, const char *tmpl, const char *to,
    va_list ap)
{
	const char	*name, *value;
	uint32_t	 n = 0;
	size_t		 countoff;
	ssize_t		 len;

	if (!mail_key_set) {
		log_warnx("mail seal: no key yet");
		return (-1);
	}
	if (!mail_field_ok(to, CERTAOS_MAX_EMAIL, 1) || *to == '\0' ||
	    !mail_field_ok(tmpl, CERTAOS_MAX_MAIL_TMPL, 1) || *tmpl == '\0') {
		log_warnx("mail seal: bad recipient or template name");
		return (-1);
	}
	mbuf_init(&plain);
	mbuf_str(&plain, to);
	mbuf_str(&plain, tmpl);
	countoff = plain.len;
	mbuf_u32(&plain, 0);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (++n > CERTAOS_MAX_MAIL_VARS ||
		    !mail_field_ok(name, CERTAOS_MAX_MAIL_TMPL, 1) ||
		    !mail_field_ok(value, CERTAOS_MAX_MAIL_VAR, 0)) {
			log_warnx("mail seal: template %s: bad variable %u",
			    tmpl, n);
			mbuf_clear(&plain);
			return (-1);
		}
		mbuf_str(&plain, name);
		mbuf_str(&plain, value);
	}
	if (plain.err || plain.len + SEAL_OVERHEAD > sizeof(sealbuf)) {
		log_warnx("mail seal: template %s: message too large", tmpl);
		mbuf_clear(&plain);
		return (-1);
	}
	memcpy(plain.buf + countoff, &n, sizeof(n));
	len = seal_aes256gcm(mail_key, plain.buf, plain.len, KEYS_MAIL_AAD,
	    strlen(KEYS_MAIL_AAD), sealbuf, sizeof(sealbuf));
	mbuf_clear(&plain);
	if (len == -1) {
		log_warnx("mail seal: template %s: cannot seal", tmpl);
		return (-1);
	}
	mbuf_str(mb, to);
	mbuf_str(mb, tmpl);
	mbuf_bytes(mb, sealbuf, len);
	return (mb->err ? -1 : 0);
}

int
keys_mail_seal(struct mbuf *mb, const char *tmpl, const char *to, ...)
{
	va_list	 ap;
	int	 rv;

	va_start(ap, to);
	rv = keys_mail_vseal(mb, tmpl, to, ap);
	va_end(ap);
	return (rv);
}

ssize_t
keys_mail_open(const unsigned char *sealed, size_t len, unsigned char *dst,
    size_t dstsz)
{
	if (!mail_key_set)
		return (-1);
	return (open_aes256gcm(mail_key, sealed, len, KEYS_MAIL_AAD,
	    strlen(KEYS_MAIL_AAD), dst, dstsz));
}

/* IMSG_KEYS_MAIL_OPEN from mail: u64 id, bytes sealed. */
void
keys_mail_open_req(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	uint64_t	 id;
	size_t		 n;
	ssize_t		 len;

	mread_init(&mr, imsg);
	id = mread_u64(&mr);
	n = mread_bytes(&mr, sealbuf, sizeof(sealbuf));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_MAIL_OPEN from %s", __func__,
		    iev->name);
	len = keys_mail_open(sealbuf, n, plain.buf, sizeof(plain.buf));
	if (len == -1)
		log_warnx("outbox message %llu does not open (another "
		    "secret, or altered)", (unsigned long long)id);
	mbuf_init(&out);
	mbuf_i32(&out, len == -1 ? 0 : 1);
	mbuf_u64(&out, id);
	mbuf_bytes(&out, plain.buf, len == -1 ? 0 : (size_t)len);
	explicit_bzero(plain.buf, sizeof(plain.buf));
	if (mbuf_compose(&out, &iev->ibuf, IMSG_KEYS_MAIL_OPENED,
	    imsg_get_id(imsg)) == -1)
		fatalx("%s: compose", __func__);
	mbuf_clear(&out);
	imsgev_add(iev);
}

/*
 * IMSG_KEYS_MAIL_TEST from the master (certaosctl mail test): the test
 * template sealed for the address, back to the master for db.
 */
void
keys_mail_test(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	char		 to[CERTAOS_MAX_EMAIL + 1];
	uint32_t	 type = IMSG_KEYS_MAIL_SEALED;

	mread_init(&mr, imsg);
	(void)mread_str(&mr, to, sizeof(to));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_MAIL_TEST", __func__);
	mbuf_init(&out);
	if (keys_mail_seal(&out, "test", to, NULL) == -1) {
		mbuf_init(&out);
		mbuf_str(&out, "cannot seal the test message (see the log)");
		type = IMSG_KEYS_ERROR;
	}
	if (mbuf_compose(&out, &iev->ibuf, type, imsg_get_id(imsg)) == -1)
		fatalx("%s: compose", __func__);
	mbuf_clear(&out);
	imsgev_add(iev);
}
