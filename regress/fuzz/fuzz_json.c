/*
 * fuzz_json: json_parse_fields (lib/json.c) on an arbitrary body, with a
 * field set of every type: strings (one that fits 15 bytes, a larger
 * one, one with no room at all, and the empty key), a boolean, an
 * integer and an ignored value; some required.
 *
 * Properties checked: the result is 0 or -1; a failure says why, in a
 * NUL-terminated message that fits the buffer (also a one-byte one);
 * parsing twice gives the same answer; on success every required field
 * is present and every string fits its buffer.  A parsed object is
 * written back with the jout_* writer and must parse to the same values.
 * Each destination is its own heap block of exactly its size.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certaos.h"
#include "json.h"
#include "fuzz.h"

#define JSON_FZ_NFIELDS	8

struct json_fz {
	struct jfield	 f[JSON_FZ_NFIELDS];
	char		*email;		/* 16 bytes */
	char		*name;		/* 256 bytes */
	char		*none;		/* 1 byte: only "" fits */
	char		*zero;		/* dstsz 0: never fits */
	int		*flag;
	long long	*count;
};

static void	 json_fz_init(struct json_fz *);
static void	 json_fz_free(struct json_fz *);
static int	 json_fz_parse(struct json_fz *, const char *, size_t,
		    char *, size_t);
static void	 json_fz_check(struct json_fz *);
static void	 json_fz_roundtrip(struct json_fz *);

static void
json_fz_init(struct json_fz *j)
{
	memset(j, 0, sizeof(*j));
	if ((j->email = malloc(16)) == NULL ||
	    (j->name = malloc(256)) == NULL ||
	    (j->none = malloc(1)) == NULL ||
	    (j->zero = malloc(1)) == NULL ||
	    (j->flag = malloc(sizeof(*j->flag))) == NULL ||
	    (j->count = malloc(sizeof(*j->count))) == NULL)
		abort();
	j->f[0] = (struct jfield){ "email", JT_STRING, 1, j->email, 16, 0 };
	j->f[1] = (struct jfield){ "name", JT_STRING, 0, j->name, 256, 0 };
	j->f[2] = (struct jfield){ "remember", JT_BOOL, 0, j->flag, 0, 0 };
	j->f[3] = (struct jfield){ "count", JT_INT, 1, j->count, 0, 0 };
	j->f[4] = (struct jfield){ "extra", JT_ANY, 0, NULL, 0, 0 };
	j->f[5] = (struct jfield){ "", JT_STRING, 0, j->none, 1, 0 };
	j->f[6] = (struct jfield){ "z", JT_STRING, 0, j->zero, 0, 0 };
	j->f[7] = (struct jfield){ "\xc3\xa9t\xc3\xa9", JT_BOOL, 0, j->flag,
	    0, 0 };
}

static void
json_fz_free(struct json_fz *j)
{
	free(j->email);
	free(j->name);
	free(j->none);
	free(j->zero);
	free(j->flag);
	free(j->count);
}

/* Parse a copy of exactly len bytes. */
static int
json_fz_parse(struct json_fz *j, const char *body, size_t len, char *err,
    size_t errsz)
{
	char	*copy;
	int	 r;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(copy, body, len);
	r = json_parse_fields(copy, len, j->f, nitems(j->f), err, errsz);
	free(copy);
	FUZZ_ASSERT(r == 0 || r == -1);
	return (r);
}

static void
json_fz_check(struct json_fz *j)
{
	size_t	 i;

	for (i = 0; i < nitems(j->f); i++) {
		if (j->f[i].required)
			FUZZ_ASSERT(j->f[i].present);
		if (j->f[i].type != JT_STRING || !j->f[i].present)
			continue;
		FUZZ_ASSERT(j->f[i].dstsz > 0);
		FUZZ_ASSERT(strnlen(j->f[i].dst, j->f[i].dstsz) <
		    j->f[i].dstsz);
	}
	if (j->f[2].present || j->f[7].present)
		FUZZ_ASSERT(*j->flag == 0 || *j->flag == 1);
}

/* Write the parsed fields back out and parse that: the same values. */
static void
json_fz_roundtrip(struct json_fz *j)
{
	struct json_out	*out;
	struct json_fz	 k;
	const char	*doc;
	char		 err[128];
	size_t		 i, len;

	if ((out = jout_new()) == NULL)
		abort();
	jout_obj_open(out);
	for (i = 0; i < nitems(j->f); i++) {
		if (!j->f[i].present || j->f[i].type == JT_ANY)
			continue;
		jout_key(out, j->f[i].name);
		if (j->f[i].type == JT_STRING)
			jout_str(out, j->f[i].dst);
		else if (j->f[i].type == JT_BOOL)
			jout_bool(out, *(int *)j->f[i].dst);
		else
			jout_int(out, *(long long *)j->f[i].dst);
	}
	jout_obj_close(out);
	doc = jout_buf(out, &len);
	FUZZ_ASSERT(doc != NULL);

	json_fz_init(&k);
	if (json_fz_parse(&k, doc, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "re-parse of %.*s: %s\n", (int)len, doc, err);
		FUZZ_ASSERT(0 && "written JSON does not parse");
	}
	for (i = 0; i < nitems(j->f); i++) {
		if (j->f[i].type == JT_ANY)
			continue;
		FUZZ_ASSERT(j->f[i].present == k.f[i].present);
		if (!j->f[i].present)
			continue;
		if (j->f[i].type == JT_STRING)
			FUZZ_ASSERT(strcmp(j->f[i].dst, k.f[i].dst) == 0);
	}
	if (j->f[2].present || j->f[7].present)
		FUZZ_ASSERT(*j->flag == *k.flag);
	FUZZ_ASSERT(*j->count == *k.count);
	json_fz_free(&k);
	jout_free(out);
}

FUZZ_TARGET(json)
{
	struct json_fz	 j;
	char		 err1[256], err2[256], tiny[1];
	int		 r1, r2, r3;

	json_fz_init(&j);
	r1 = json_fz_parse(&j, (const char *)data, size, err1, sizeof(err1));
	FUZZ_ASSERT(strnlen(err1, sizeof(err1)) < sizeof(err1));
	if (r1 == 0) {
		FUZZ_ASSERT(err1[0] == '\0');
		json_fz_check(&j);
		json_fz_roundtrip(&j);
	} else
		FUZZ_ASSERT(err1[0] != '\0');

	/* the same answer again, and with no room or no buffer for it */
	r2 = json_fz_parse(&j, (const char *)data, size, err2, sizeof(err2));
	FUZZ_ASSERT(r1 == r2 && strcmp(err1, err2) == 0);
	tiny[0] = 'x';
	r3 = json_fz_parse(&j, (const char *)data, size, tiny, sizeof(tiny));
	FUZZ_ASSERT(r3 == r1 && tiny[0] == '\0');
	r3 = json_fz_parse(&j, (const char *)data, size, NULL, 0);
	FUZZ_ASSERT(r3 == r1);
	json_fz_free(&j);
	return (0);
}
