/*
 * json.c: JSON on yajl.  A writer that builds a response into a growing
 * buffer, and a reader that parses a request body (one object) into typed
 * fields, with errors a client can act on ("email: expected a string").
 */

#ifndef CERTAOS_JSON_H
#define CERTAOS_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json_out;

struct json_out	*jout_new(void);
void		 jout_free(struct json_out *);
void		 jout_obj_open(struct json_out *);
void		 jout_obj_close(struct json_out *);
void		 jout_arr_open(struct json_out *);
void		 jout_arr_close(struct json_out *);
void		 jout_key(struct json_out *, const char *);
void		 jout_str(struct json_out *, const char *);
void		 jout_strn(struct json_out *, const char *, size_t);
void		 jout_int(struct json_out *, long long);
void		 jout_bool(struct json_out *, int);
void		 jout_null(struct json_out *);
/* insert already-encoded JSON (e.g. a JWK kept as text) as one value */
void		 jout_raw(struct json_out *, const char *, size_t);
/* the document so far; NULL if any call failed (bad nesting, no memory) */
const char	*jout_buf(struct json_out *, size_t *);

enum jtype {
	JT_STRING = 1,		/* dst: char[dstsz], NUL-terminated */
	JT_BOOL,		/* dst: int */
	JT_INT,			/* dst: long long */
	JT_ANY,			/* accepted and ignored */
	JT_NSTRING		/* a string as JT_STRING, or null */
};

struct jfield {
	const char	*name;
	enum jtype	 type;
	int		 required;
	void		*dst;
	size_t		 dstsz;		/* JT_STRING: bytes incl. NUL */
	int		 present;	/* set by json_parse_fields: 1, or 2
					 * for a JT_NSTRING given as null */
};

/*
 * Parse body as one JSON object into fields.  Unknown keys are ignored;
 * a known key with the wrong type, a string too long for dst, a missing
 * required key, a duplicate key, nesting deeper than 32, or invalid JSON
 * fail with a message in err.  0 on success, -1 on failure.
 */
int	 json_parse_fields(const char *, size_t, struct jfield *, size_t,
	    char *, size_t);

#endif
