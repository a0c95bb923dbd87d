/*
 * json.c: JSON output and input.
 *
 * Output is a small hand-written generator (the responses are small and
 * simple, and jout_raw() must splice in JSON kept as text, which yajl_gen
 * cannot do): it tracks nesting itself, escapes strings (", \, control
 * characters as \u00XX, invalid UTF-8 as \ufffd) and grows one buffer.
 * Any misuse (a key outside an object, a value where a key is due, bad
 * nesting) or allocation failure poisons the document: jout_buf() then
 * returns NULL.
 *
 * Input uses yajl's callback parser, so depth, duplicates and types are
 * checked as the body streams by, without building a tree.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "certaos.h"
#include "json.h"

#define JOUT_MAXDEPTH	64
#define JOUT_INITSIZE	256
#define JSON_MAXDEPTH	32		/* input nesting, top object = 1 */

enum jout_state {
	JS_VALUE,		/* a value may come (top level, array) */
	JS_KEY,			/* in an object, a key (or the close) is due */
	JS_OBJVALUE		/* in an object, after a key */
};

struct json_out {
	char		*buf;
	size_t		 len;
	size_t		 size;
	int		 err;
	int		 depth;
	int		 done;		/* top-level value complete */
	/* per level: 'o' object or 'a' array, and its item count */
	char		 kind[JOUT_MAXDEPTH];
	unsigned int	 count[JOUT_MAXDEPTH];
	enum jout_state	 state;
};

static void	 jout_grow(struct json_out *, size_t);
static void	 jout_put(struct json_out *, const char *, size_t);
static int	 jout_value_begin(struct json_out *);
static void	 jout_value_end(struct json_out *);
static void	 jout_escaped(struct json_out *, const char *, size_t);
static void	 jout_open(struct json_out *, char);
static void	 jout_close(struct json_out *, char);
static size_t	 utf8_seqlen(const unsigned char *, size_t);
static int	 utf8_valid(const unsigned char *, size_t);

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there
 * are not one: overlong forms, surrogates and code points above
 * U+10FFFF are invalid (RFC 3629).
 */
static size_t
utf8_seqlen(const unsigned char *s, size_t len)
{
	unsigned char	 c = s[0];

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf) {
		if (len < 2 || (s[1] & 0xc0) != 0x80)
			return (0);
		return (2);
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80)
			return (0);
		if (c == 0xe0 && s[1] < 0xa0)
			return (0);		/* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return (0);		/* surrogate */
		return (3);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return (0);
		if (c == 0xf0 && s[1] < 0x90)
			return (0);		/* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return (0);		/* above U+10FFFF */
		return (4);
	}
	return (0);
}

static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((n = utf8_seqlen(s + i, len - i)) == 0)
			return (0);
		i += n;
	}
	return (1);
}

struct json_out *
jout_new(void)
{
	struct json_out	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (NULL);
	if ((j->buf = malloc(JOUT_INITSIZE)) == NULL) {
		free(j);
		return (NULL);
	}
	j->size = JOUT_INITSIZE;
	j->buf[0] = '\0';
	j->state = JS_VALUE;
	return (j);
}

void
jout_free(struct json_out *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	free(j);
}

static void
jout_grow(struct json_out *j, size_t more)
{
	char	*p;
	size_t	 nsize;

	if (j->err)
		return;
	if (more < j->size - j->len)
		return;				/* room for more + NUL */
	if (more > SIZE_MAX / 2 - j->len) {
		j->err = 1;
		return;
	}
	nsize = j->size;
	while (nsize - j->len <= more)
		nsize *= 2;
	if ((p = realloc(j->buf, nsize)) == NULL) {
		j->err = 1;
		return;
	}
	j->buf = p;
	j->size = nsize;
}

static void
jout_put(struct json_out *j, const char *s, size_t n)
{
	jout_grow(j, n);
	if (j->err)
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Check a value may come here and write the comma; 0 ok, -1 misuse. */
static int
jout_value_begin(struct json_out *j)
{
	if (j->err)
		return (-1);
	if (j->depth == 0) {
		if (j->done) {
			j->err = 1;
			return (-1);
		}
		return (0);
	}
	switch (j->state) {
	case JS_VALUE:
		if (j->count[j->depth - 1] > 0)
			jout_put(j, ",", 1);
		break;
	case JS_OBJVALUE:
		break;
	case JS_KEY:
		j->err = 1;
		return (-1);
	}
	return (j->err ? -1 : 0);
}

static void
jout_value_end(struct json_out *j)
{
	if (j->depth == 0) {
		j->done = 1;
		return;
	}
	j->count[j->depth - 1]++;
	j->state = j->kind[j->depth - 1] == 'o' ? JS_KEY : JS_VALUE;
}

static void
jout_open(struct json_out *j, char kind)
{
	if (jout_value_begin(j) == -1)
		return;
	if (j->depth == JOUT_MAXDEPTH) {
		j->err = 1;
		return;
	}
	jout_put(j, kind == 'o' ? "{" : "[", 1);
	j->kind[j->depth] = kind;
	j->count[j->depth] = 0;
	j->depth++;
	j->state = kind == 'o' ? JS_KEY : JS_VALUE;
}

static void
jout_close(struct json_out *j, char kind)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != kind ||
	    j->state == JS_OBJVALUE) {
		j->err = 1;
		return;
	}
	jout_put(j, kind == 'o' ? "}" : "]", 1);
	j->depth--;
	jout_value_end(j);
}

void
jout_obj_open(struct json_out *j)
{
	jout_open(j, 'o');
}

void
jout_obj_close(struct json_out *j)
{
	jout_close(j, 'o');
}

void
jout_arr_open(struct json_out *j)
{
	jout_open(j, 'a');
}

void
jout_arr_close(struct json_out *j)
{
	jout_close(j, 'a');
}

static void
jout_escaped(struct json_out *j, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i = 0, run, k;

	jout_put(j, "\"", 1);
	while (i < n && !j->err) {
		/* copy a run of bytes that need nothing */
		for (run = i; run < n; run++) {
			if (p[run] < 0x20 || p[run] == '"' || p[run] == '\\')
				break;
			if (p[run] >= 0x80)
				break;
		}
		if (run > i) {
			jout_put(j, s + i, run - i);
			i = run;
			continue;
		}
		if (p[i] >= 0x80) {
			if ((k = utf8_seqlen(p + i, n - i)) == 0) {
				jout_put(j, "\\ufffd", 6);
				i++;
			} else {
				jout_put(j, s + i, k);
				i += k;
			}
			continue;
		}
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			jout_put(j, esc, 2);
		} else {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			jout_put(j, esc, 6);
		}
		i++;
	}
	jout_put(j, "\"", 1);
}

void
jout_key(struct json_out *j, const char *key)
{
	if (j->err)
		return;
	if (key == NULL || j->depth == 0 || j->state != JS_KEY) {
		j->err = 1;
		return;
	}
	if (j->count[j->depth - 1] > 0)
		jout_put(j, ",", 1);
	jout_escaped(j, key, strlen(key));
	jout_put(j, ":", 1);
	j->state = JS_OBJVALUE;
}

void
jout_str(struct json_out *j, const char *s)
{
	if (s == NULL) {
		j->err = 1;
		return;
	}
	jout_strn(j, s, strlen(s));
}

void
jout_strn(struct json_out *j, const char *s, size_t n)
{
	if (s == NULL && n > 0) {
		j->err = 1;
		return;
	}
	if (jout_value_begin(j) == -1)
		return;
	jout_escaped(j, s, n);
	jout_value_end(j);
}

void
jout_int(struct json_out *j, long long v)
{
	char	 num[32];
	int	 n;

	if (jout_value_begin(j) == -1)
		return;
	n = snprintf(num, sizeof(num), "%lld", v);
	if (n < 0 || (size_t)n >= sizeof(num)) {
		j->err = 1;
		return;
	}
	jout_put(j, num, n);
	jout_value_end(j);
}

void
jout_bool(struct json_out *j, int v)
{
	if (jout_value_begin(j) == -1)
		return;
	if (v)
		jout_put(j, "true", 4);
	else
		jout_put(j, "false", 5);
	jout_value_end(j);
}

void
jout_null(struct json_out *j)
{
	if (jout_value_begin(j) == -1)
		return;
	jout_put(j, "null", 4);
	jout_value_end(j);
}

/* The caller vouches that raw is one valid JSON value; it is not parsed. */
void
jout_raw(struct json_out *j, const char *raw, size_t n)
{
	if (raw == NULL || n == 0) {
		j->err = 1;
		return;
	}
	if (jout_value_begin(j) == -1)
		return;
	jout_put(j, raw, n);
	jout_value_end(j);
}

/*
 * The finished document, NUL-terminated, and its length in *lenp.  NULL
 * if any call failed or the document is not complete (nothing written,
 * or an object or array left open).
 */
const char *
jout_buf(struct json_out *j, size_t *lenp)
{
	if (j == NULL || j->err || j->depth != 0 || !j->done)
		return (NULL);
	if (lenp != NULL)
		*lenp = j->len;
	return (j->buf);
}

/*
 * Input.
 */

struct jparse {
	struct jfield	*fields;
	size_t		 nfields;
	struct jfield	*cur;		/* field of the pending top value */
	int		 depth;
	int		 started;	/* the top object was opened */
	char		*err;
	size_t		 errsz;
	int		 failed;
};

static int	 jp_fail(struct jparse *, const char *, const char *);
static int	 jp_scalar(struct jparse *, enum jtype);
static int	 jp_null(void *);
static int	 jp_boolean(void *, int);
static int	 jp_number(void *, const char *, size_t);
static int	 jp_string(void *, const unsigned char *, size_t);
static int	 jp_start_map(void *);
static int	 jp_map_key(void *, const unsigned char *, size_t);
static int	 jp_end_map(void *);
static int	 jp_start_array(void *);
static int	 jp_end_array(void *);
static const char *jtype_expected(enum jtype);

static const char *
jtype_expected(enum jtype t)
{
	switch (t) {
	case JT_STRING:
		return ("expected a string");
	case JT_BOOL:
		return ("expected a boolean");
	case JT_INT:
		return ("expected an integer");
	case JT_NSTRING:
		return ("expected a string or null");
	default:
		return ("unexpected value");
	}
}

/* Record the first error; returns 0 so a callback can cancel with it. */
static int
jp_fail(struct jparse *jp, const char *key, const char *msg)
{
	if (jp->failed)
		return (0);
	jp->failed = 1;
	if (jp->err != NULL && jp->errsz > 0) {
		if (key != NULL)
			(void)snprintf(jp->err, jp->errsz, "%s: %s", key, msg);
		else
			(void)snprintf(jp->err, jp->errsz, "%s", msg);
	}
	return (0);
}

/*
 * A value of type t (JT_ANY for null and containers) is about to be
 * taken.  At depth 0 it would be the whole body: only an object may be.
 * Returns 1 to go on (jp->cur then says whether to store it), 0 to stop.
 */
static int
jp_scalar(struct jparse *jp, enum jtype t)
{
	struct jfield	*f;

	if (jp->depth == 0)
		return (jp_fail(jp, NULL, "body must be a JSON object"));
	if (jp->depth > 1 || (f = jp->cur) == NULL)
		return (1);
	if (f->type != JT_ANY && f->type != t &&
	    !(f->type == JT_NSTRING && t == JT_STRING))
		return (jp_fail(jp, f->name, jtype_expected(f->type)));
	f->present = 1;
	return (1);
}

static int
jp_null(void *ctx)
{
	struct jparse	*jp = ctx;

	if (jp->depth == 1 && jp->cur != NULL &&
	    jp->cur->type == JT_NSTRING) {
		if (jp->cur->present)
			return (jp_fail(jp, jp->cur->name, "duplicate key"));
		jp->cur->present = 2;
		if (jp->cur->dstsz > 0)
			((char *)jp->cur->dst)[0] = '\0';
		jp->cur = NULL;
		return (1);
	}
	if (jp->depth == 1 && jp->cur != NULL && jp->cur->type != JT_ANY)
		return (jp_fail(jp, jp->cur->name,
		    jtype_expected(jp->cur->type)));
	if (jp_scalar(jp, JT_ANY) == 0)
		return (0);
	jp->cur = NULL;
	return (1);
}

static int
jp_boolean(void *ctx, int v)
{
	struct jparse	*jp = ctx;

	if (jp_scalar(jp, JT_BOOL) == 0)
		return (0);
	if (jp->depth == 1 && jp->cur != NULL && jp->cur->type == JT_BOOL)
		*(int *)jp->cur->dst = v ? 1 : 0;
	jp->cur = NULL;
	return (1);
}

static int
jp_number(void *ctx, const char *s, size_t len)
{
	struct jparse	*jp = ctx;
	struct jfield	*f;
	char		 num[32];
	char		*ep;
	long long	 v;

	if (jp->depth == 0)
		return (jp_fail(jp, NULL, "body must be a JSON object"));
	f = jp->depth == 1 ? jp->cur : NULL;
	jp->cur = NULL;
	if (f == NULL)
		return (1);
	if (f->type == JT_ANY) {
		f->present = 1;
		return (1);
	}
	if (f->type != JT_INT)
		return (jp_fail(jp, f->name, jtype_expected(f->type)));
	/* yajl checked the syntax; an integer has no '.', 'e' or 'E' */
	if (memchr(s, '.', len) != NULL || memchr(s, 'e', len) != NULL ||
	    memchr(s, 'E', len) != NULL)
		return (jp_fail(jp, f->name, jtype_expected(f->type)));
	if (len >= sizeof(num))
		return (jp_fail(jp, f->name, "integer out of range"));
	memcpy(num, s, len);
	num[len] = '\0';
	errno = 0;
	v = strtoll(num, &ep, 10);
	if (errno == ERANGE || *ep != '\0' || ep == num)
		return (jp_fail(jp, f->name, "integer out of range"));
	*(long long *)f->dst = v;
	f->present = 1;
	return (1);
}

static int
jp_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jparse	*jp = ctx;
	struct jfield	*f;

	if (!utf8_valid(s, len))
		return (jp_fail(jp, NULL, "invalid UTF-8"));
	if (jp_scalar(jp, JT_STRING) == 0)
		return (0);
	f = jp->depth == 1 ? jp->cur : NULL;
	jp->cur = NULL;
	if (f == NULL || (f->type != JT_STRING && f->type != JT_NSTRING))
		return (1);
	if (memchr(s, '\0', len) != NULL)
		return (jp_fail(jp, f->name, "contains a NUL character"));
	if (f->dstsz == 0 || len > f->dstsz - 1)
		return (jp_fail(jp, f->name, "too long"));
	memcpy(f->dst, s, len);
	((char *)f->dst)[len] = '\0';
	return (1);
}

static int
jp_start_map(void *ctx)
{
	struct jparse	*jp = ctx;

	if (jp->depth == 0) {
		if (jp->started)
			return (jp_fail(jp, NULL, "invalid JSON"));
		jp->started = 1;
		jp->depth = 1;
		jp->cur = NULL;
		return (1);
	}
	if (jp->depth >= JSON_MAXDEPTH)
		return (jp_fail(jp, NULL, "nesting too deep"));
	if (jp_scalar(jp, JT_ANY) == 0)
		return (0);
	jp->cur = NULL;
	jp->depth++;
	return (1);
}

static int
jp_start_array(void *ctx)
{
	struct jparse	*jp = ctx;

	if (jp->depth == 0)
		return (jp_fail(jp, NULL, "body must be a JSON object"));
	if (jp->depth >= JSON_MAXDEPTH)
		return (jp_fail(jp, NULL, "nesting too deep"));
	if (jp_scalar(jp, JT_ANY) == 0)
		return (0);
	jp->cur = NULL;
	jp->depth++;
	return (1);
}

static int
jp_end_map(void *ctx)
{
	struct jparse	*jp = ctx;

	jp->depth--;
	jp->cur = NULL;
	return (1);
}

static int
jp_end_array(void *ctx)
{
	struct jparse	*jp = ctx;

	jp->depth--;
	jp->cur = NULL;
	return (1);
}

static int
jp_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct jparse	*jp = ctx;
	struct jfield	*f;
	size_t		 i;

	if (!utf8_valid(key, len))
		return (jp_fail(jp, NULL, "invalid UTF-8"));
	jp->cur = NULL;
	if (jp->depth != 1)
		return (1);
	for (i = 0; i < jp->nfields; i++) {
		f = &jp->fields[i];
		if (strlen(f->name) != len || memcmp(f->name, key, len) != 0)
			continue;
		if (f->present)
			return (jp_fail(jp, f->name, "duplicate key"));
		jp->cur = f;
		break;
	}
	return (1);
}

static const yajl_callbacks jp_callbacks = {
	jp_null,
	jp_boolean,
	NULL,			/* integers come through jp_number */
	NULL,
	jp_number,
	jp_string,
	jp_start_map,
	jp_map_key,
	jp_end_map,
	jp_start_array,
	jp_end_array
};

int
json_parse_fields(const char *body, size_t len, struct jfield *fields,
    size_t nfields, char *err, size_t errsz)
{
	struct jparse	 jp;
	yajl_handle	 h;
	yajl_status	 st;
	size_t		 i;

	memset(&jp, 0, sizeof(jp));
	jp.fields = fields;
	jp.nfields = nfields;
	jp.err = err;
	jp.errsz = errsz;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	for (i = 0; i < nfields; i++)
		fields[i].present = 0;

	if (body == NULL || len == 0) {
		jp_fail(&jp, NULL, "body must be a JSON object");
		return (-1);
	}
	if ((h = yajl_alloc(&jp_callbacks, NULL, &jp)) == NULL) {
		jp_fail(&jp, NULL, "out of memory");
		return (-1);
	}
	/* UTF-8 is checked strictly by the callbacks, with their message */
	yajl_config(h, yajl_dont_validate_strings, 1);
	st = yajl_parse(h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);

	if (jp.failed)
		return (-1);
	if (st != yajl_status_ok) {
		jp_fail(&jp, NULL, "invalid JSON");
		return (-1);
	}
	if (!jp.started) {
		jp_fail(&jp, NULL, "body must be a JSON object");
		return (-1);
	}
	for (i = 0; i < nfields; i++) {
		if (fields[i].required && !fields[i].present) {
			jp_fail(&jp, fields[i].name, "required");
			return (-1);
		}
	}
	return (0);
}
