/*
 * render.c: the mail templates and the messages made from them.
 *
 * A template is <name>.txt, a "Subject: ..." line, a blank line and the
 * text body, and an optional <name>.html, the HTML body.  {{var}} is
 * replaced by the variable's value, HTML-escaped in the HTML body; a
 * variable the message lacks renders empty.  The operator's directory
 * is read first, then the shipped one: a template found in the first
 * is taken whole from it (its .html too, or none).
 *
 * Messages are RFC 5322 with MIME: quoted-printable UTF-8 bodies,
 * multipart/alternative when there is an HTML body, a Subject encoded
 * as RFC 2047 words when it is not ASCII.  No header may hold a control
 * character: a recipient or a value with CR or LF is refused.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "certaos.h"
#include "log.h"
#include "msg.h"
#include "mail.h"

static char	*tmpl_read(int, const char *, size_t *);
static int	 tmpl_name_ok(const char *, size_t);
static const char *mail_var(const struct mail_msg *, const char *, size_t);
static void	 html_escape(const char *, struct evbuffer *);
static void	 evb_wipe_free(struct evbuffer *);

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The rendered bodies hold the links' tokens. */
static void
evb_wipe_free(struct evbuffer *b)
{
	unsigned char	*p;
	size_t		 len;

	if (b == NULL)
		return;
	if ((len = evbuffer_get_length(b)) > 0 &&
	    (p = evbuffer_pullup(b, -1)) != NULL)
		explicit_bzero(p, len);
	evbuffer_free(b);
}

void
tmpl_init(struct mail_tmpls *ts)
{
	TAILQ_INIT(ts);
}

void
tmpl_free(struct mail_tmpls *ts)
{
	struct mail_tmpl	*t;

	while ((t = TAILQ_FIRST(ts)) != NULL) {
		TAILQ_REMOVE(ts, t, entry);
		free(t->subject);
		free(t->text);
		free(t->html);
		free(t);
	}
}

struct mail_tmpl *
tmpl_find(struct mail_tmpls *ts, const char *name)
{
	struct mail_tmpl	*t;

	TAILQ_FOREACH(t, ts, entry)
		if (strcmp(t->name, name) == 0)
			return (t);
	return (NULL);
}

/* [a-z0-9_-], as the flows name them */
static int
tmpl_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > CERTAOS_MAX_MAIL_TMPL)
		return (0);
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return (0);
	return (1);
}

/* A whole file below dirfd, NUL-terminated, of at most the limit. */
static char *
tmpl_read(int dirfd, const char *name, size_t *lenp)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > MAIL_MAX_TMPLFILE) {
		log_warnx("template %s: not a regular file of at most %d "
		    "bytes", name, MAIL_MAX_TMPLFILE);
		close(fd);
		return (NULL);
	}
	if ((buf = malloc(MAIL_MAX_TMPLFILE + 1)) == NULL)
		fatal("%s", __func__);
	while (len < MAIL_MAX_TMPLFILE &&
	    (n = read(fd, buf + len, MAIL_MAX_TMPLFILE - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		log_warnx("template %s: holds a NUL byte", name);
		free(buf);
		return (NULL);
	}
	*lenp = len;
	return (buf);
}

/*
 * The .txt: "Subject: ..." on the first line, a blank line, the body.
 * NULL (logged) if it is not that.
 */
struct mail_tmpl *
tmpl_parse(const char *name, const char *txt, const char *html)
{
	struct mail_tmpl	*t;
	const char		*nl, *body;
	size_t			 slen;

	if (strncmp(txt, "Subject:", 8) != 0 ||
	    (nl = strchr(txt, '\n')) == NULL ||
	    (nl[1] != '\n' && !(nl[1] == '\r' && nl[2] == '\n'))) {
		log_warnx("template %s: must begin with a Subject: line and "
		    "a blank line", name);
		return (NULL);
	}
	body = nl[1] == '\n' ? nl + 2 : nl + 3;
	txt += 8;
	while (*txt == ' ' || *txt == '\t')
		txt++;
	slen = nl - txt;
	if (slen > 0 && txt[slen - 1] == '\r')
		slen--;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->subject = strndup(txt, slen)) == NULL ||
	    (t->text = strdup(body)) == NULL ||
	    (html != NULL && (t->html = strdup(html)) == NULL))
		fatal("%s", __func__);
	(void)strlcpy(t->name, name, sizeof(t->name));
	if (!mail_header_ok(t->subject)) {
		log_warnx("template %s: control character in the subject",
		    name);
		free(t->subject);
		free(t->text);
		free(t->html);
		free(t);
		return (NULL);
	}
	return (t);
}

int
tmpl_load_dir(struct mail_tmpls *ts, const char *dir)
{
	struct mail_tmpl	*t;
	struct dirent		*de;
	DIR			*d;
	char			 name[CERTAOS_MAX_MAIL_TMPL + 1];
	char			 hname[CERTAOS_MAX_MAIL_TMPL + 6];
	char			*txt, *html;
	size_t			 len, n;
	int			 dfd, count = 0, total = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warnx("mail templates %s: %s", dir, strerror(errno));
		return (-1);
	}
	if ((d = fdopendir(dfd)) == NULL) {
		log_warnx("mail templates %s: %s", dir, strerror(errno));
		close(dfd);
		return (-1);
	}
	TAILQ_FOREACH(t, ts, entry)
		total++;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".txt") != 0 ||
		    !tmpl_name_ok(de->d_name, len - 4))
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (tmpl_find(ts, name) != NULL)
			continue;	/* the operator's wins */
		if (total >= MAIL_MAX_TEMPLATES) {
			log_warnx("mail templates %s: more than %d, the rest "
			    "ignored", dir, MAIL_MAX_TEMPLATES);
			break;
		}
		if ((txt = tmpl_read(dfd, de->d_name, &n)) == NULL)
			continue;
		(void)snprintf(hname, sizeof(hname), "%s.html", name);
		html = tmpl_read(dfd, hname, &n);
		if ((t = tmpl_parse(name, txt, html)) != NULL) {
			TAILQ_INSERT_TAIL(ts, t, entry);
			count++;
			total++;
			log_debug("template %s from %s%s", name, dir,
			    html != NULL ? " (text and html)" : "");
		}
		free(txt);
		free(html);
	}
	closedir(d);
	return (count);
}

int
mail_msg_parse(const unsigned char *p, size_t len, struct mail_msg *m)
{
	struct mread	 mr;
	uint32_t	 n, i;

	memset(m, 0, sizeof(*m));
	mr.p = p;
	mr.len = len;
	mr.off = 0;
	mr.err = 0;
	(void)mread_str(&mr, m->to, sizeof(m->to));
	(void)mread_str(&mr, m->tmpl, sizeof(m->tmpl));
	n = mread_u32(&mr);
	if (mr.err || n > CERTAOS_MAX_MAIL_VARS)
		return (-1);
	for (i = 0; i < n; i++) {
		(void)mread_str(&mr, m->vars[i].name,
		    sizeof(m->vars[i].name));
		(void)mread_str(&mr, m->vars[i].value,
		    sizeof(m->vars[i].value));
	}
	if (mread_end(&mr) == -1)
		return (-1);
	m->nvars = n;
	return (0);
}

int
mail_msg_setvar(struct mail_msg *m, const char *name, const char *value)
{
	struct mail_var	*v;
	int		 i;

	for (i = 0; i < m->nvars; i++)
		if (strcmp(m->vars[i].name, name) == 0)
			break;
	if (i == m->nvars && m->nvars >= (int)nitems(m->vars))
		return (-1);
	v = &m->vars[i];
	if (strlcpy(v->name, name, sizeof(v->name)) >= sizeof(v->name) ||
	    strlcpy(v->value, value, sizeof(v->value)) >= sizeof(v->value))
		return (-1);
	if (i == m->nvars)
		m->nvars++;
	return (0);
}

static const char *
mail_var(const struct mail_msg *m, const char *name, size_t len)
{
	int	 i;

	for (i = 0; i < m->nvars; i++)
		if (strlen(m->vars[i].name) == len &&
		    memcmp(m->vars[i].name, name, len) == 0)
			return (m->vars[i].value);
	return (NULL);
}

static void
html_escape(const char *s, struct evbuffer *out)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(out, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(out, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(out, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(out, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(out, "&#39;", 5);
			break;
		default:
			evbuffer_add(out, s, 1);
		}
	}
}

int
mail_render(const char *src, const struct mail_msg *m, int html,
    struct evbuffer *out)
{
	const char	*p, *open, *close, *v, *n;
	size_t		 len;

	for (p = src; *p != '\0'; ) {
		if ((open = strstr(p, "{{")) == NULL) {
			evbuffer_add(out, p, strlen(p));
			break;
		}
		evbuffer_add(out, p, open - p);
		n = open + 2;
		len = strspn(n, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		close = n + len;
		if (len == 0 || strncmp(close, "}}", 2) != 0) {
			/* not a placeholder: the braces as written */
			evbuffer_add(out, open, 2);
			p = n;
			continue;
		}
		if ((v = mail_var(m, n, len)) == NULL) {
			log_debug("template %s: no variable %.*s, rendered "
			    "empty", m->tmpl, (int)len, n);
			v = "";
		}
		if (html)
			html_escape(v, out);
		else
			evbuffer_add(out, v, strlen(v));
		p = close + 2;
	}
	return (evbuffer_get_length(out) > MAIL_MAX_MESSAGE ? -1 : 0);
}

int
mail_header_ok(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return (0);
	return (1);
}

/* local@domain, printable, no space, no brackets, commas or quotes */
int
mail_addr_ok(const char *s)
{
	const unsigned char	*p;
	const char		*at;

	if (strlen(s) > CERTAOS_MAX_EMAIL || (at = strrchr(s, '@')) == NULL ||
	    at == s || at[1] == '\0')
		return (0);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("<>,;:\"()[]\\",
		    *p) != NULL)
			return (0);
	return (1);
}

int
mail_addr_of(const char *s, char *dst, size_t dstsz)
{
	const char	*lt, *gt;
	size_t		 len;

	if ((lt = strrchr(s, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		len = gt - lt - 1;
		s = lt + 1;
	} else
		len = strlen(s);
	if (len >= dstsz)
		return (-1);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return (mail_addr_ok(dst) ? 0 : -1);
}

/*
 * Quoted-printable (RFC 2045): lines of at most 76 characters with soft
 * breaks, '=' and bytes outside printable ASCII encoded, and so is
 * white space at the end of a line.  Line ends are LF.
 */
void
qp_encode(const char *s, size_t len, struct evbuffer *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	char			 enc[3];
	size_t			 i, col = 0, w;
	int			 literal;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\n') {
			evbuffer_add(out, "\n", 1);
			col = 0;
			continue;
		}
		if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		literal = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && i + 1 < len &&
		    s[i + 1] != '\n' && s[i + 1] != '\r');
		w = literal ? 1 : 3;
		if (col + w > 75) {
			evbuffer_add(out, "=\n", 2);
			col = 0;
		}
		if (literal)
			evbuffer_add(out, &s[i], 1);
		else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			evbuffer_add(out, enc, 3);
		}
		col += w;
	}
}

/*
 * A header value: as is when it is ASCII, else RFC 2047 "B" words of at
 * most 75 characters, each holding whole UTF-8 characters, folded.
 */
int
rfc2047_encode(const char *s, struct evbuffer *out)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), i, n, k;
	unsigned char		 in[3];
	char			 b[4];
	int			 ascii = 1;

	if (!mail_header_ok(s))
		return (-1);
	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		evbuffer_add(out, s, len);
		return (0);
	}
	for (i = 0; i < len; ) {
		/* 45 bytes make 60 base64 characters: 72 with the markers */
		n = len - i > 45 ? 45 : len - i;
		while (i + n < len && (p[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			evbuffer_add(out, "\n ", 2);
		evbuffer_add(out, "=?UTF-8?B?", 10);
		for (k = 0; k < n; k += 3) {
			memset(in, 0, sizeof(in));
			memcpy(in, p + i + k, n - k >= 3 ? 3 : n - k);
			b[0] = b64chars[in[0] >> 2];
			b[1] = b64chars[((in[0] & 3) << 4) | (in[1] >> 4)];
			b[2] = n - k > 1 ?
			    b64chars[((in[1] & 15) << 2) | (in[2] >> 6)] : '=';
			b[3] = n - k > 2 ? b64chars[in[2] & 63] : '=';
			evbuffer_add(out, b, 4);
		}
		evbuffer_add(out, "?=", 2);
		i += n;
	}
	return (0);
}

int
mail_compose(const struct mail_tmpl *t, const struct mail_msg *m,
    const char *from, time_t now, struct evbuffer *out, char *why,
    size_t whylen)
{
	struct evbuffer	*subj = NULL, *text = NULL, *html = NULL;
	struct tm	 tm;
	char		 date[64], fromaddr[CERTAOS_MAX_EMAIL + 1];
	char		 boundary[48], mid[64], *s = NULL;
	const char	*domain;
	uint32_t	 r[4];
	int		 rv = -1;

	if (!mail_addr_ok(m->to)) {
		(void)snprintf(why, whylen, "refused: not a deliverable "
		    "recipient address");
		return (-1);
	}
	if (!mail_header_ok(from) || mail_addr_of(from, fromaddr,
	    sizeof(fromaddr)) == -1) {
		(void)snprintf(why, whylen, "refused: bad mail from");
		return (-1);
	}
	domain = strrchr(fromaddr, '@') + 1;
	if ((subj = evbuffer_new()) == NULL || (text = evbuffer_new()) ==
	    NULL || (html = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	if (mail_render(t->subject, m, 0, subj) == -1 ||
	    mail_render(t->text, m, 0, text) == -1 ||
	    (t->html != NULL && mail_render(t->html, m, 1, html) == -1)) {
		(void)snprintf(why, whylen, "refused: message too large");
		goto done;
	}
	evbuffer_add(subj, "", 1);
	s = (char *)evbuffer_pullup(subj, -1);
	if (!mail_header_ok(s)) {
		(void)snprintf(why, whylen, "refused: control character in "
		    "the subject (header injection)");
		goto done;
	}
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0) {
		(void)snprintf(why, whylen, "refused: no date");
		goto done;
	}
	arc4random_buf(r, sizeof(r));
	(void)snprintf(mid, sizeof(mid), "%08x%08x.%llu", r[0], r[1],
	    (unsigned long long)m->id);
	(void)snprintf(boundary, sizeof(boundary), "=_certaos_%08x%08x",
	    r[2], r[3]);

	evbuffer_add_printf(out, "From: %s\nTo: %s\nSubject: ", from, m->to);
	if (rfc2047_encode(s, out) == -1) {
		(void)snprintf(why, whylen, "refused: bad subject");
		goto done;
	}
	evbuffer_add_printf(out, "\nDate: %s\nMessage-ID: <%s@%s>\n"
	    "MIME-Version: 1.0\n", date, mid, domain);
	if (t->html != NULL)
		evbuffer_add_printf(out, "Content-Type: multipart/alternative;"
		    " boundary=\"%s\"\n\nThis is a MIME message.\n\n--%s\n",
		    boundary, boundary);
	evbuffer_add_printf(out, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n");
	qp_encode((const char *)evbuffer_pullup(text, -1),
	    evbuffer_get_length(text), out);
	if (t->html != NULL) {
		evbuffer_add_printf(out, "\n--%s\nContent-Type: text/html; "
		    "charset=utf-8\nContent-Transfer-Encoding: "
		    "quoted-printable\n\n", boundary);
		qp_encode((const char *)evbuffer_pullup(html, -1),
		    evbuffer_get_length(html), out);
		evbuffer_add_printf(out, "\n--%s--\n", boundary);
	} else
		evbuffer_add(out, "\n", 1);
	if (evbuffer_get_length(out) > MAIL_MAX_MESSAGE) {
		(void)snprintf(why, whylen, "refused: message too large");
		goto done;
	}
	rv = 0;
 done:
	evb_wipe_free(subj);
	evb_wipe_free(text);
	evb_wipe_free(html);
	return (rv);
}
