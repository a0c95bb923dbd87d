/*
 * t_keywords.c: every keyword of the configuration grammar is documented
 * as an Ic word in docs/certaos.conf.5, and every Ic word there is a
 * keyword.  The page is read from the source tree (the kyua configuration
 * variable srcdir); the keywords come from parse_keyword() in parse.y.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaosd.h"

#define MAX_WORDS	256
#define MAX_WORD	64
#define MAN_PAGE	"docs/certaos.conf.5"

struct wordset {
	size_t	 n;
	char	 w[MAX_WORDS][MAX_WORD];
};

static int	 wordset_has(const struct wordset *, const char *);
static void	 wordset_add(struct wordset *, const char *);
static int	 is_macro(const char *);
static int	 is_punct(const char *);
static size_t	 tokenize(char *, char **, size_t);
static void	 ic_words_line(char *, struct wordset *);
static void	 ic_words_file(const char *, struct wordset *);
static void	 grammar_words(struct wordset *);
static void	 page_path(const atf_tc_t *, char *, size_t);

static int
wordset_has(const struct wordset *ws, const char *w)
{
	size_t	 i;

	for (i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i], w) == 0)
			return (1);
	return (0);
}

static void
wordset_add(struct wordset *ws, const char *w)
{
	if (wordset_has(ws, w))
		return;
	ATF_REQUIRE_MSG(ws->n < MAX_WORDS, "more than %d words", MAX_WORDS);
	ATF_REQUIRE_MSG(strlcpy(ws->w[ws->n], w, MAX_WORD) < MAX_WORD,
	    "word too long: %.20s...", w);
	ws->n++;
}

/*
 * An mdoc macro name as it appears among the arguments of another:
 * "Ar", "Op", "Brq", "Ns"...  Grammar keywords are lower case, so an
 * initial capital followed by one or two lower-case letters is a macro.
 */
static int
is_macro(const char *t)
{
	size_t	 i, len;

	len = strlen(t);
	if (len < 2 || len > 3 || !isupper((unsigned char)t[0]))
		return (0);
	for (i = 1; i < len; i++)
		if (!islower((unsigned char)t[i]))
			return (0);
	return (1);
}

/* mdoc delimiters: "," "." "(" "}" ... are not words. */
static int
is_punct(const char *t)
{
	if (*t == '\0')
		return (1);
	for (; *t != '\0'; t++)
		if (strchr(".,:;()[]{}?!|", *t) == NULL)
			return (0);
	return (1);
}

/*
 * Split a macro line into arguments as mdoc does: by blanks, with
 * double-quoted arguments kept whole.  "\&" escapes are dropped.
 */
static size_t
tokenize(char *line, char **tok, size_t max)
{
	char	*p, *q;
	size_t	 n = 0;
	int	 quoted;

	p = line;
	while (*p != '\0' && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		quoted = (*p == '"');
		if (quoted)
			p++;
		tok[n++] = q = p;
		while (*p != '\0') {
			if (quoted && *p == '"') {
				p++;
				break;
			}
			if (!quoted && (*p == ' ' || *p == '\t'))
				break;
			if (p[0] == '\\' && p[1] == '&') {
				p += 2;
				continue;
			}
			*q++ = *p++;
		}
		if (*p != '\0' && !quoted)
			p++;
		*q = '\0';
	}
	return (n);
}

/*
 * Collect the words an Ic macro marks on one line.  Ic takes every
 * argument up to the next macro; a quoted argument may hold several words.
 */
static void
ic_words_line(char *line, struct wordset *ws)
{
	char	*tok[64], *w, *last;
	size_t	 i, n;
	int	 in_ic = 0;

	if (line[0] != '.' || strncmp(line, ".\\\"", 3) == 0)
		return;
	n = tokenize(line + 1, tok, nitems(tok));
	for (i = 0; i < n; i++) {
		if (strcmp(tok[i], "Ic") == 0) {
			in_ic = 1;
			continue;
		}
		if (is_macro(tok[i])) {
			in_ic = 0;
			continue;
		}
		if (!in_ic || is_punct(tok[i]))
			continue;
		for (w = strtok_r(tok[i], " \t", &last); w != NULL;
		    w = strtok_r(NULL, " \t", &last))
			wordset_add(ws, w);
	}
}

static void
ic_words_file(const char *path, struct wordset *ws)
{
	FILE	*fp;
	char	*line = NULL;
	size_t	 linesize = 0;
	ssize_t	 len;

	fp = fopen(path, "r");
	ATF_REQUIRE_MSG(fp != NULL, "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &linesize, fp)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		ic_words_line(line, ws);
	}
	ATF_REQUIRE_MSG(!ferror(fp), "%s: read error", path);
	free(line);
	fclose(fp);
}

static void
grammar_words(struct wordset *ws)
{
	const char	*k;
	size_t		 i;

	for (i = 0; (k = parse_keyword(i)) != NULL; i++)
		wordset_add(ws, k);
}

/*
 * The page in the source tree.  atf-c sets the configuration variable
 * srcdir itself, to the test program's directory (it overrides a srcdir
 * given by kyua), so look for the page there and in the directories
 * above: <repo>/obj/regress/certaosd finds <repo>/docs/certaos.conf.5,
 * and a srcdir that already is the repository finds it at once.
 */
static void
page_path(const atf_tc_t *tc, char *buf, size_t len)
{
	const char	*srcdir;
	char		 up[PATH_MAX];
	size_t		 i;
	int		 r;

	srcdir = atf_tc_get_config_var(tc, "srcdir");
	up[0] = '\0';
	for (i = 0; i < 5; i++) {
		r = snprintf(buf, len, "%s/%s%s", srcdir, up, MAN_PAGE);
		ATF_REQUIRE(r > 0 && (size_t)r < len);
		if (access(buf, R_OK) == 0)
			return;
		ATF_REQUIRE(strlcat(up, "../", sizeof(up)) < sizeof(up));
	}
	atf_tc_fail("%s not found in %s or the 4 directories above it",
	    MAN_PAGE, srcdir);
}

ATF_TC(extract);
ATF_TC_HEAD(extract, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "The Ic extraction finds compound-statement keywords and skips "
	    "arguments, punctuation and comments");
}
ATF_TC_BODY(extract, tc)
{
	struct wordset	*ws;
	char		 l1[] = ".It Ic listen on Ar address Ic port Ar number "
			    "Op Ic tls Brq Ic certificate Ar file Ic key Ar file";
	char		 l2[] = ".Ic \"database pool\" Ar number ,";
	char		 l3[] = ".\\\" .Ic notme";
	char		 l4[] = "Ic notme either: not a macro line";
	char		 l5[] = ".Ic include ) .";

	ws = calloc(1, sizeof(*ws));
	ATF_REQUIRE(ws != NULL);
	ic_words_line(l1, ws);
	ic_words_line(l2, ws);
	ic_words_line(l3, ws);
	ic_words_line(l4, ws);
	ic_words_line(l5, ws);
	ATF_CHECK_EQ(ws->n, 9);
	ATF_CHECK(wordset_has(ws, "listen"));
	ATF_CHECK(wordset_has(ws, "on"));
	ATF_CHECK(wordset_has(ws, "port"));
	ATF_CHECK(wordset_has(ws, "tls"));
	ATF_CHECK(wordset_has(ws, "certificate"));
	ATF_CHECK(wordset_has(ws, "key"));
	ATF_CHECK(wordset_has(ws, "database"));
	ATF_CHECK(wordset_has(ws, "pool"));
	ATF_CHECK(wordset_has(ws, "include"));
	ATF_CHECK(!wordset_has(ws, "address"));
	ATF_CHECK(!wordset_has(ws, "notme"));
	free(ws);
}

ATF_TC(grammar_documented);
ATF_TC_HEAD(grammar_documented, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Every grammar keyword is an Ic word in certaos.conf.5");
	atf_tc_set_md_var(tc, "require.config", "srcdir");
}
ATF_TC_BODY(grammar_documented, tc)
{
	struct wordset	*gram, *page;
	char		 path[PATH_MAX];
	size_t		 i;

	gram = calloc(1, sizeof(*gram));
	page = calloc(1, sizeof(*page));
	ATF_REQUIRE(gram != NULL && page != NULL);
	page_path(tc, path, sizeof(path));
	grammar_words(gram);
	ic_words_file(path, page);
	ATF_REQUIRE_MSG(gram->n > 0, "parse_keyword() lists no keyword");
	for (i = 0; i < gram->n; i++)
		ATF_CHECK_MSG(wordset_has(page, gram->w[i]),
		    "keyword \"%s\" is not documented in %s", gram->w[i],
		    MAN_PAGE);
	free(gram);
	free(page);
}

ATF_TC(page_in_grammar);
ATF_TC_HEAD(page_in_grammar, tc)
{
	atf_tc_set_md_var(tc, "descr",
	    "Every Ic word in certaos.conf.5 is a grammar keyword");
	atf_tc_set_md_var(tc, "require.config", "srcdir");
}
ATF_TC_BODY(page_in_grammar, tc)
{
	struct wordset	*gram, *page;
	char		 path[PATH_MAX];
	size_t		 i;

	gram = calloc(1, sizeof(*gram));
	page = calloc(1, sizeof(*page));
	ATF_REQUIRE(gram != NULL && page != NULL);
	page_path(tc, path, sizeof(path));
	grammar_words(gram);
	ic_words_file(path, page);
	ATF_REQUIRE_MSG(page->n > 0, "%s marks no word with Ic", MAN_PAGE);
	for (i = 0; i < page->n; i++)
		ATF_CHECK_MSG(wordset_has(gram, page->w[i]),
		    "%s documents \"%s\", which the grammar does not know",
		    MAN_PAGE, page->w[i]);
	free(gram);
	free(page);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, extract);
	ATF_TP_ADD_TC(tp, grammar_documented);
	ATF_TP_ADD_TC(tp, page_in_grammar);
	return (atf_no_error());
}
