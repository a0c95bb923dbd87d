/*
 * form.c: application/x-www-form-urlencoded request bodies (sign-in and
 * sign-up take them, as Better Auth does), read into the typed fields
 * of json.h so that a handler sees the same thing either way.
 *
 * Every value of a form is a string: a field that wants a boolean or a
 * number is refused as a JSON body of the wrong type would be (Better
 * Auth passes the strings to the same validation).  Where browsers'
 * decoders are lenient, this one is strict: a '%' not followed by two
 * hex digits, a decoded NUL, invalid UTF-8 and a repeated key are
 * errors, never guessed at.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "http.h"

#define FORM_MAX_KEY	64	/* longer names match no field */

static int	 hexval(int);
static int	 utf8_ok(const unsigned char *, size_t);
static ssize_t	 form_decode(const char *, size_t, char *, size_t, int *);
static int	 form_fail(char *, size_t, const char *, const char *);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Well-formed UTF-8: no overlong forms, surrogates or values > U+10FFFF. */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i <= n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/*
 * Decode src[0..len) ('+' is a space, %XX a byte) into dst, NUL-
 * terminated.  Returns the decoded length, -1 for a bad escape, -2 if
 * it does not fit in dstsz (dst then holds nothing useful).  *nul is
 * set when a NUL byte was decoded.
 */
static ssize_t
form_decode(const char *src, size_t len, char *dst, size_t dstsz, int *nul)
{
	size_t	 i, o = 0;
	int	 hi, lo, ch, full = 0;

	*nul = 0;
	for (i = 0; i < len; i++) {
		ch = (unsigned char)src[i];
		if (ch == '+')
			ch = ' ';
		else if (ch == '%') {
			if (len - i < 3 || (hi = hexval(src[i + 1])) == -1 ||
			    (lo = hexval(src[i + 2])) == -1)
				return (-1);
			ch = hi << 4 | lo;
			i += 2;
		}
		if (ch == '\0')
			*nul = 1;
		if (o + 1 >= dstsz)
			full = 1;	/* go on: a bad escape still wins */
		else
			dst[o++] = (char)ch;
	}
	if (dstsz > 0)
		dst[o] = '\0';
	return (full ? -2 : (ssize_t)o);
}

static int
form_fail(char *err, size_t errsz, const char *key, const char *msg)
{
	if (err != NULL && errsz > 0) {
		if (key != NULL)
			(void)snprintf(err, errsz, "%s: %s", key, msg);
		else
			(void)snprintf(err, errsz, "%s", msg);
	}
	return (-1);
}

int
form_parse_fields(const char *body, size_t len, struct jfield *f, size_t nf,
    char *err, size_t errsz)
{
	char		 key[FORM_MAX_KEY + 1];
	char		 scratch[256];
	const char	*p, *end, *amp, *eq;
	struct jfield	*fl;
	ssize_t		 r;
	size_t		 i, klen, vlen;
	int		 nul;

	for (i = 0; i < nf; i++)
		f[i].present = 0;
	end = body + len;
	for (p = body; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp == p)
			continue;		/* "a=1&&b=2" */
		if ((eq = memchr(p, '=', amp - p)) == NULL)
			eq = amp;		/* "a" is "a=" */
		klen = eq - p;
		vlen = eq < amp ? (size_t)(amp - eq - 1) : 0;

		r = form_decode(p, klen, key, sizeof(key), &nul);
		if (r == -1)
			return (form_fail(err, errsz, NULL,
			    "invalid percent-encoding"));
		if (r >= 0 && (nul || !utf8_ok((unsigned char *)key, r)))
			return (form_fail(err, errsz, NULL,
			    "invalid form encoding"));
		fl = NULL;
		for (i = 0; r >= 0 && i < nf; i++)
			if (strcmp(f[i].name, key) == 0) {
				fl = &f[i];
				break;
			}
		if (fl == NULL || fl->type == JT_ANY) {
			/* not ours, but its escapes must still be good */
			if (form_decode(eq + 1, vlen, scratch,
			    sizeof(scratch), &nul) == -1)
				return (form_fail(err, errsz, NULL,
				    "invalid percent-encoding"));
			if (fl != NULL) {
				if (fl->present)
					return (form_fail(err, errsz,
					    fl->name, "duplicate key"));
				fl->present = 1;
			}
			continue;
		}
		if (fl->present)
			return (form_fail(err, errsz, fl->name,
			    "duplicate key"));
		if (fl->type != JT_STRING && fl->type != JT_NSTRING)
			return (form_fail(err, errsz, fl->name,
			    fl->type == JT_BOOL ? "expected boolean, received string" :
			    "expected number, received string"));
		r = form_decode(eq + 1, vlen, fl->dst, fl->dstsz, &nul);
		if (r == -1)
			return (form_fail(err, errsz, NULL,
			    "invalid percent-encoding"));
		if (r == -2)
			return (form_fail(err, errsz, fl->name, "too long"));
		if (!utf8_ok(fl->dst, r))
			return (form_fail(err, errsz, NULL,
			    "invalid form encoding"));
		if (nul)
			return (form_fail(err, errsz, fl->name,
			    "contains a NUL character"));
		fl->present = 1;
	}
	for (i = 0; i < nf; i++)
		if (f[i].required && !f[i].present)
			return (form_fail(err, errsz, f[i].name, "required"));
	return (0);
}
