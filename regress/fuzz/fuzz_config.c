/*
 * fuzz_config: the certaos.conf grammar (parse_config in
 * bin/certaosd/parse.y) on an arbitrary file.
 *
 * The input is written to a file in a scratch directory made once (and
 * removed at exit).  The macro $incfile, set as -D would set it, names
 * a small file beside it, so that "include $incfile" works; nothing
 * else there can be reached by name.  Inputs that name /dev, /proc or
 * /sys are skipped: "include" of /dev/zero or /dev/stdin would never
 * end, and that is the administrator's choice, not a parser bug.
 *
 * What the parser logs goes to /dev/null while it runs (the sanitizers
 * report on a copy of the real stderr); CERTAOS_FUZZ_VERBOSE=1 keeps it.
 *
 * Properties checked: a configuration that parses prints (print_config)
 * to a text that parses again and prints the same; the same input
 * gives the same answer twice.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "certaos.h"
#include "certaosd.h"
#include "log.h"
#include "fuzz.h"

/* Set by the sanitizer runtimes, absent from a plain build. */
void	 __sanitizer_set_report_fd(void *) __attribute__((weak));

static char	 cfg_fz_dir[PATH_MAX];
static char	 cfg_fz_in[PATH_MAX];
static char	 cfg_fz_out[PATH_MAX];
static char	 cfg_fz_inc[PATH_MAX];
static int	 cfg_fz_null = -1;	/* /dev/null */
static int	 cfg_fz_err = -1;	/* the real stderr */
static int	 cfg_fz_quiet;

static void	 cfg_fz_init(void);
static void	 cfg_fz_cleanup(void);
static void	 cfg_fz_path(char *, const char *);
static void	 cfg_fz_write(const char *, const void *, size_t);
static struct certaosd_config *cfg_fz_parse(const char *);
static char	*cfg_fz_print(struct certaosd_config *, size_t *);

static void
cfg_fz_cleanup(void)
{
	(void)unlink(cfg_fz_in);
	(void)unlink(cfg_fz_out);
	(void)unlink(cfg_fz_inc);
	(void)rmdir(cfg_fz_dir);
}

static void
cfg_fz_path(char *buf, const char *name)
{
	int	 n;

	n = snprintf(buf, PATH_MAX, "%s/%s", cfg_fz_dir, name);
	if (n < 0 || n >= PATH_MAX)
		abort();
}

static void
cfg_fz_init(void)
{
	const char	*tmp, *v;
	char		 sym[PATH_MAX + 16];
	static const char inc[] = "# included\ndatabase pool 4\n"
	    "timeout idle 2m\nlisten on ::1 port 8443\n";
	int		 n;

	log_init(1, LOG_DAEMON);
	log_procinit("fuzz_config");
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	n = snprintf(cfg_fz_dir, sizeof(cfg_fz_dir), "%s/certaos-fuzz.XXXXXX",
	    tmp);
	if (n < 0 || (size_t)n >= sizeof(cfg_fz_dir) ||
	    mkdtemp(cfg_fz_dir) == NULL)
		abort();
	cfg_fz_path(cfg_fz_in, "in.conf");
	cfg_fz_path(cfg_fz_out, "out.conf");
	cfg_fz_path(cfg_fz_inc, "inc.conf");
	if (atexit(cfg_fz_cleanup) != 0)
		abort();
	cfg_fz_write(cfg_fz_inc, inc, sizeof(inc) - 1);
	/* quoted, so that any directory name lexes as one string */
	n = snprintf(sym, sizeof(sym), "incfile=\"%s\"", cfg_fz_inc);
	if (n < 0 || (size_t)n >= sizeof(sym) || cmdline_symset(sym) == -1)
		abort();

	v = getenv("CERTAOS_FUZZ_VERBOSE");
	cfg_fz_quiet = v == NULL || strcmp(v, "1") != 0;
	if (cfg_fz_quiet) {
		if ((cfg_fz_null = open("/dev/null", O_WRONLY | O_CLOEXEC)) ==
		    -1 || (cfg_fz_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC,
		    3)) == -1)
			abort();
		if (__sanitizer_set_report_fd != NULL)
			__sanitizer_set_report_fd((void *)(intptr_t)cfg_fz_err);
	}
}

static void
cfg_fz_write(const char *path, const void *data, size_t size)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (close(fd) == -1)
		abort();
}

static struct certaosd_config *
cfg_fz_parse(const char *path)
{
	struct certaosd_config	*c;

	if (cfg_fz_quiet && dup2(cfg_fz_null, STDERR_FILENO) == -1)
		abort();
	c = parse_config(path);
	if (cfg_fz_quiet && dup2(cfg_fz_err, STDERR_FILENO) == -1)
		abort();
	return (c);
}

static char *
cfg_fz_print(struct certaosd_config *c, size_t *len)
{
	FILE	*fp;
	char	*buf = NULL;

	if ((fp = open_memstream(&buf, len)) == NULL)
		abort();
	print_config(fp, c);
	if (fclose(fp) != 0)
		abort();
	return (buf);
}

FUZZ_TARGET(config)
{
	struct certaosd_config	*c, *c2;
	char			*p1, *p2;
	size_t			 l1, l2;

	if (cfg_fz_dir[0] == '\0')
		cfg_fz_init();
	if (memmem(data, size, "/dev", 4) != NULL ||
	    memmem(data, size, "/proc", 5) != NULL ||
	    memmem(data, size, "/sys", 4) != NULL ||
	    memmem(data, size, "dev/", 4) != NULL)
		return (0);

	cfg_fz_write(cfg_fz_in, data, size);
	c = cfg_fz_parse(cfg_fz_in);
	c2 = cfg_fz_parse(cfg_fz_in);
	FUZZ_ASSERT((c == NULL) == (c2 == NULL));
	config_free(c2);
	if (c == NULL)
		return (0);

	/* the normalized form parses back to itself */
	p1 = cfg_fz_print(c, &l1);
	config_free(c);
	cfg_fz_write(cfg_fz_out, p1, l1);
	c2 = cfg_fz_parse(cfg_fz_out);
	if (c2 == NULL) {
		fprintf(stderr, "normalized config does not parse:\n%s", p1);
		FUZZ_ASSERT(c2 != NULL);
	}
	p2 = cfg_fz_print(c2, &l2);
	config_free(c2);
	FUZZ_ASSERT(l1 == l2 && memcmp(p1, p2, l1) == 0);
	free(p1);
	free(p2);
	return (0);
}
