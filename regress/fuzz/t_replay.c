/*
 * t_replay: the fuzz targets of regress/fuzz/ without libFuzzer.  Each
 * case feeds its target every file of regress/fuzz/corpus/<name>/ (read
 * from the source tree) and then REPLAY_MUTANTS inputs made from them by
 * a fixed-seed generator: bit flips, interesting bytes, truncations,
 * deletions, duplicated ranges, splices of two seeds and random bytes.
 * The same inputs every run.  A target that finds a broken property
 * aborts; the input being run is then printed in hex on stderr.
 */

#include <sys/types.h>

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "fuzz_config.c"
#include "fuzz_http.c"
#include "fuzz_json.c"
#include "fuzz_jws.c"
#include "fuzz_msg.c"

#define REPLAY_MUTANTS	3000
#define REPLAY_MAXLEN	(64 * 1024)	/* largest input, seed or mutant */
#define REPLAY_CORPUS	"regress/fuzz/corpus"

struct corpus {
	uint8_t		**in;
	size_t		 *len;
	size_t		  n;
};

typedef int	(*fuzz_fn)(const uint8_t *, size_t);

/* Set by the sanitizer runtimes, absent from a plain build. */
void	 __sanitizer_set_death_callback(void (*)(void))
	    __attribute__((weak));

static const uint8_t	*cur_in;	/* the input being run */
static size_t		 cur_len;
static const char	*cur_what;

static uint64_t	 rnd_next(uint64_t *);
static size_t	 rnd_below(uint64_t *, size_t);
static void	 report_input(void);
static void	 on_signal(int);
static void	 corpus_dir(const atf_tc_t *, const char *, char *, size_t);
static void	 corpus_load(const atf_tc_t *, const char *, struct corpus *);
static void	 corpus_free(struct corpus *);
static size_t	 mutate(uint64_t *, const struct corpus *, uint8_t *);
static void	 run_one(fuzz_fn, const uint8_t *, size_t, const char *);
static void	 replay(const atf_tc_t *, const char *, fuzz_fn);

/* splitmix64: small, and the same sequence everywhere. */
static uint64_t
rnd_next(uint64_t *s)
{
	uint64_t	 z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static size_t
rnd_below(uint64_t *s, size_t n)
{
	return (n == 0 ? 0 : (size_t)(rnd_next(s) % n));
}

static void
report_input(void)
{
	size_t	 i;

	if (cur_in == NULL)
		return;
	fprintf(stderr, "\nt_replay: crashed on %s, %zu bytes:\n",
	    cur_what != NULL ? cur_what : "?", cur_len);
	for (i = 0; i < cur_len; i++)
		fprintf(stderr, "%02x%s", cur_in[i],
		    (i + 1) % 32 == 0 || i + 1 == cur_len ? "\n" : "");
	fflush(stderr);
}

static void
on_signal(int sig)
{
	report_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The corpus in the source tree.  atf-c sets srcdir to the test
 * program's directory (<repo>/obj/regress/fuzz), so look there and in
 * the directories above it: <repo> holds regress/fuzz/corpus.
 */
static void
corpus_dir(const atf_tc_t *tc, const char *name, char *buf, size_t len)
{
	const char	*srcdir;
	char		 up[PATH_MAX];
	size_t		 i;
	int		 r;

	srcdir = atf_tc_get_config_var(tc, "srcdir");
	up[0] = '\0';
	for (i = 0; i < 5; i++) {
		r = snprintf(buf, len, "%s/%s%s/%s", srcdir, up,
		    REPLAY_CORPUS, name);
		ATF_REQUIRE(r > 0 && (size_t)r < len);
		if (access(buf, R_OK | X_OK) == 0)
			return;
		ATF_REQUIRE(strlcat(up, "../", sizeof(up)) < sizeof(up));
	}
	atf_tc_fail("%s/%s not found in %s or the 4 directories above it",
	    REPLAY_CORPUS, name, srcdir);
}

/* Every regular file of the corpus directory, in name order. */
static void
corpus_load(const atf_tc_t *tc, const char *name, struct corpus *c)
{
	struct dirent	**ents;
	char		 dir[PATH_MAX], path[PATH_MAX * 2];
	FILE		*fp;
	uint8_t		*buf;
	size_t		 len;
	int		 i, n;

	memset(c, 0, sizeof(*c));
	corpus_dir(tc, name, dir, sizeof(dir));
	ATF_REQUIRE((n = scandir(dir, &ents, NULL, alphasort)) >= 0);
	ATF_REQUIRE((c->in = calloc(n + 1, sizeof(*c->in))) != NULL);
	ATF_REQUIRE((c->len = calloc(n + 1, sizeof(*c->len))) != NULL);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", dir,
		    ents[i]->d_name);
		free(ents[i]);
		ATF_REQUIRE_MSG((fp = fopen(path, "r")) != NULL, "%s", path);
		ATF_REQUIRE((buf = malloc(REPLAY_MAXLEN)) != NULL);
		len = fread(buf, 1, REPLAY_MAXLEN, fp);
		ATF_REQUIRE_MSG(!ferror(fp) && feof(fp),
		    "%s: unreadable or over %d bytes", path, REPLAY_MAXLEN);
		fclose(fp);
		c->in[c->n] = buf;
		c->len[c->n] = len;
		c->n++;
	}
	free(ents);
	ATF_REQUIRE_MSG(c->n > 0, "no seed in %s", dir);
}

static void
corpus_free(struct corpus *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		free(c->in[i]);
	free(c->in);
	free(c->len);
}

/* A mutant of one seed in out[REPLAY_MAXLEN]; returns its length. */
static size_t
mutate(uint64_t *s, const struct corpus *c, uint8_t *out)
{
	static const uint8_t interesting[] = {
		0x00, 0x01, 0x7f, 0x80, 0xff, '\r', '\n', ' ', '\t', '"',
		'\\', '{', '}', '[', ']', ':', ',', '.', '/', '?', '$', '#',
		'=', '0', '9', '-', 'e'
	};
	size_t		 k, len, nmut, i, a, b, n;

	k = rnd_below(s, c->n);
	len = c->len[k];
	memcpy(out, c->in[k], len);
	nmut = 1 + rnd_below(s, 4);
	for (i = 0; i < nmut; i++) {
		switch (rnd_below(s, 8)) {
		case 0:		/* flip a bit */
			if (len > 0)
				out[rnd_below(s, len)] ^= 1 << rnd_below(s, 8);
			break;
		case 1:		/* an interesting byte */
			if (len > 0)
				out[rnd_below(s, len)] = interesting[
				    rnd_below(s, sizeof(interesting))];
			break;
		case 2:		/* truncate */
			len = rnd_below(s, len + 1);
			break;
		case 3:		/* delete a range */
			a = rnd_below(s, len + 1);
			n = rnd_below(s, len - a + 1);
			memmove(out + a, out + a + n, len - a - n);
			len -= n;
			break;
		case 4:		/* duplicate a range in place */
			a = rnd_below(s, len + 1);
			n = rnd_below(s, len - a + 1);
			if (n > REPLAY_MAXLEN - len)
				n = REPLAY_MAXLEN - len;
			memmove(out + a + n, out + a, len - a);
			len += n;
			break;
		case 5:		/* the tail of another seed */
			k = rnd_below(s, c->n);
			a = rnd_below(s, len + 1);
			b = rnd_below(s, c->len[k] + 1);
			n = c->len[k] - b;
			if (n > REPLAY_MAXLEN - a)
				n = REPLAY_MAXLEN - a;
			memcpy(out + a, c->in[k] + b, n);
			len = a + n;
			break;
		case 6:		/* insert random bytes */
			a = rnd_below(s, len + 1);
			n = 1 + rnd_below(s, 16);
			if (n > REPLAY_MAXLEN - len)
				n = REPLAY_MAXLEN - len;
			memmove(out + a + n, out + a, len - a);
			for (b = 0; b < n; b++)
				out[a + b] = rnd_next(s) & 0xff;
			len += n;
			break;
		default:	/* overwrite a byte at random */
			if (len > 0)
				out[rnd_below(s, len)] = rnd_next(s) & 0xff;
			break;
		}
	}
	return (len);
}

/* Run fn on an exact-size copy, so that a read past the end shows. */
static void
run_one(fuzz_fn fn, const uint8_t *in, size_t len, const char *what)
{
	uint8_t	*copy;

	ATF_REQUIRE((copy = malloc(len > 0 ? len : 1)) != NULL);
	if (len > 0)
		memcpy(copy, in, len);
	cur_in = copy;
	cur_len = len;
	cur_what = what;
	ATF_CHECK_EQ_MSG(fn(copy, len), 0, "%s", what);
	cur_in = NULL;
	free(copy);
}

static void
replay(const atf_tc_t *tc, const char *name, fuzz_fn fn)
{
	struct corpus	 c;
	uint8_t		*buf;
	uint64_t	 seed;
	size_t		 i, len;
	char		 what[64];
	const char	*p;

	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(report_input);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGFPE, on_signal);

	corpus_load(tc, name, &c);
	for (i = 0; i < c.n; i++) {
		(void)snprintf(what, sizeof(what), "seed %zu", i);
		run_one(fn, c.in[i], c.len[i], what);
	}

	/* a seed per target, so that each sees its own sequence */
	seed = 0xcbf29ce484222325ULL;
	for (p = name; *p != '\0'; p++)
		seed = (seed ^ (unsigned char)*p) * 0x100000001b3ULL;
	ATF_REQUIRE((buf = malloc(REPLAY_MAXLEN)) != NULL);
	for (i = 0; i < REPLAY_MUTANTS; i++) {
		len = mutate(&seed, &c, buf);
		(void)snprintf(what, sizeof(what), "mutant %zu", i);
		run_one(fn, buf, len, what);
	}
	free(buf);
	printf("%s: %zu seeds, %d mutants\n", name, c.n, REPLAY_MUTANTS);
	corpus_free(&c);
}

#define REPLAY_TC(name, descr)						\
ATF_TC(name);								\
ATF_TC_HEAD(name, tc)							\
{									\
	atf_tc_set_md_var(tc, "descr", descr);				\
}									\
ATF_TC_BODY(name, tc)							\
{									\
	replay(tc, #name, fuzz_##name);					\
}

REPLAY_TC(config, "The config grammar on the seeds and their mutants")
REPLAY_TC(http, "The HTTP request parser on the seeds and their mutants")
REPLAY_TC(json, "json_parse_fields on the seeds and their mutants")
REPLAY_TC(jws, "JWK import and JWS verification on the seeds and their "
    "mutants")
REPLAY_TC(msg, "imsg framing and mread_* on the seeds and their mutants")

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, config);
	ATF_TP_ADD_TC(tp, http);
	ATF_TP_ADD_TC(tp, json);
	ATF_TP_ADD_TC(tp, jws);
	ATF_TP_ADD_TC(tp, msg);
	return (atf_no_error());
}
