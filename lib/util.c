/*
 * util.c: base64url (RFC 4648 section 5, no padding), hex, constant-time
 * comparison, non-blocking descriptors, escaping for logs, and the
 * process role names.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#define LIBBSD_OPENBSD_VIS	/* the OpenBSD strnvis, and no #warning */
#include <vis.h>


#include "certaos.h"

const char *const certaos_procnames[PROC_MAX] = {
	[PROC_PARENT] =		"parent",
	[PROC_WEB] =		"web",
	[PROC_KEYS] =		"keys",
	[PROC_DB] =		"db",
	[PROC_CONTROL] =	"control",
	[PROC_MAIL] =		"mail"
};

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int	 b64url_value(unsigned char);
static int	 hex_value(unsigned char);

const char *
proc_name(enum certaos_proc p)
{
	if ((unsigned int)p >= PROC_MAX)
		return ("unknown");
	return (certaos_procnames[p]);
}

size_t
base64url_encoded_len(size_t len)
{
	static const size_t	 tail[3] = { 0, 2, 3 };

	return ((len / 3) * 4 + tail[len % 3]);
}

ssize_t
base64url_encode(const void *src, size_t len, char *dst, size_t dstsz)
{
	const unsigned char	*s = src;
	size_t			 need, i, o = 0;
	uint32_t		 v;

	if (len > (SSIZE_MAX / 4) * 3 - 3)
		return (-1);
	need = base64url_encoded_len(len);
	if (dstsz < need + 1)
		return (-1);

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		dst[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		dst[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		dst[o++] = b64url_alphabet[v & 0x3f];
	}
	switch (len - i) {
	case 2:
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		dst[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		dst[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		break;
	case 1:
		v = (uint32_t)s[i] << 16;
		dst[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		dst[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		break;
	}
	dst[o] = '\0';
	return ((ssize_t)o);
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

/*
 * Strict decoder: the URL-safe alphabet only, no padding, no whitespace,
 * and the unused low bits of the last character must be zero (one byte
 * string has exactly one encoding).  On failure nothing decoded is left
 * in dst.
 */
ssize_t
base64url_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	unsigned char	*d = dst;
	size_t		 need, i, o = 0, rem;
	uint32_t	 v;
	int		 a, b, c, e;

	rem = len % 4;
	if (rem == 1)
		return (-1);
	need = (len / 4) * 3 + (rem == 0 ? 0 : rem - 1);
	if (need > dstsz || need > SSIZE_MAX)
		return (-1);

	for (i = 0; i + 3 < len; i += 4) {
		a = b64url_value(src[i]);
		b = b64url_value(src[i + 1]);
		c = b64url_value(src[i + 2]);
		e = b64url_value(src[i + 3]);
		if (a < 0 || b < 0 || c < 0 || e < 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)e;
		d[o++] = (v >> 16) & 0xff;
		d[o++] = (v >> 8) & 0xff;
		d[o++] = v & 0xff;
	}
	if (rem > 0) {
		a = b64url_value(src[i]);
		b = b64url_value(src[i + 1]);
		c = rem == 3 ? b64url_value(src[i + 2]) : 0;
		if (a < 0 || b < 0 || c < 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		if (rem == 2 && (v & 0xffff) != 0)
			goto bad;
		if (rem == 3 && (v & 0xff) != 0)
			goto bad;
		d[o++] = (v >> 16) & 0xff;
		if (rem == 3)
			d[o++] = (v >> 8) & 0xff;
	}
	return ((ssize_t)o);
 bad:
	if (o > 0)
		explicit_bzero(dst, o);
	return (-1);
}

ssize_t
hex_encode(const void *src, size_t len, char *dst, size_t dstsz)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*s = src;
	size_t			 i;

	if (len > SSIZE_MAX / 2 || dstsz < len * 2 + 1)
		return (-1);
	for (i = 0; i < len; i++) {
		dst[i * 2] = digits[s[i] >> 4];
		dst[i * 2 + 1] = digits[s[i] & 0x0f];
	}
	dst[len * 2] = '\0';
	return ((ssize_t)(len * 2));
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

ssize_t
hex_decode(const char *src, size_t len, void *dst, size_t dstsz)
{
	unsigned char	*d = dst;
	size_t		 i;
	int		 hi, lo;

	if (len % 2 != 0 || len / 2 > dstsz)
		return (-1);
	for (i = 0; i < len / 2; i++) {
		hi = hex_value(src[i * 2]);
		lo = hex_value(src[i * 2 + 1]);
		if (hi < 0 || lo < 0) {
			if (i > 0)
				explicit_bzero(dst, i);
			return (-1);
		}
		d[i] = (unsigned char)(hi << 4 | lo);
	}
	return ((ssize_t)(len / 2));
}

/*
 * 1 if the n bytes at a and b are equal, 0 if not, in time that depends
 * on n only: every byte is looked at, differences are OR-ed together,
 * and the compiler is kept from reading anything into the early result.
 */
int
ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*p = a, *q = b;
	unsigned char			 d = 0;
	size_t				 i;

	for (i = 0; i < n; i++)
		d |= p[i] ^ q[i];
	return ((1 & (((unsigned int)d - 1) >> 8)) != 0);
}

int
set_nonblock(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	if (flags & O_NONBLOCK)
		return (0);
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return (-1);
	return (0);
}

/*
 * Escape an untrusted string for a log line into dst (always
 * NUL-terminated when dstsz > 0).  Control characters, newlines, tabs,
 * backslashes and bytes outside printable ASCII come out as C-style or
 * octal escapes.  VIS_SAFE is not used: it would let \n, \r, \b and BEL
 * through, and a newline in a log line forges another line.  Output that
 * does not fit is cut between escapes, never inside one.
 */
const char *
str_escape(const char *src, char *dst, size_t dstsz)
{
	char		 tmp[8];
	const char	*s;
	size_t		 len = 0, n;
	const int	 flags = VIS_OCTAL | VIS_CSTYLE | VIS_NL | VIS_TAB;

	if (dstsz == 0)
		return (dst);
	dst[0] = '\0';
	if (src == NULL)
		src = "(null)";
	for (s = src; *s != '\0'; s++) {
		/*
		 * Printable ASCII but the backslash is itself: spare vis()
		 * (libbsd's goes through wide characters) the common case,
		 * an access log line per request.
		 */
		if (*s >= ' ' && *s <= '~' && *s != '\\') {
			if (len + 1 >= dstsz)
				break;
			dst[len++] = *s;
			continue;
		}
		if (vis(tmp, (unsigned char)*s, flags, (unsigned char)s[1]) ==
		    NULL)
			break;
		n = strlen(tmp);
		if (n >= dstsz - len)
			break;
		memcpy(dst + len, tmp, n);
		len += n;
	}
	dst[len] = '\0';
	return (dst);
}

/*
 * Lower-case an email address in place and check its shape: one '@',
 * a local part of 1 to 64 bytes, a dotted domain; no spaces or control
 * characters.  0 if good.
 */
int
email_normalize(char *e)
{
	char		*at, *p;
	size_t		 n = strlen(e);

	if (n < 3 || n > CERTAOS_MAX_EMAIL ||
	    (at = strchr(e, '@')) == NULL || strchr(at + 1, '@') != NULL ||
	    at == e || at - e > 64)
		return (-1);
	for (p = e; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == ',' ||
		    *p == '<' || *p == '>' || *p == '(' || *p == ')' ||
		    *p == '"' || *p == '\\' || *p == ';' || *p == ':' ||
		    *p == '[' || *p == ']')
			return (-1);
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	}
	p = at + 1;
	if (*p == '.' || strchr(p, '.') == NULL || e[n - 1] == '.' ||
	    strstr(p, "..") != NULL)
		return (-1);
	return (0);
}
