/*
 * log.c: the CertaOS log API, after OpenBSD's log.c.
 *
 * In the foreground every line goes to stderr as "<procname>: message"
 * in a single write(2), so lines of several processes sharing stderr do
 * not interleave.  Otherwise syslog, opened with LOG_NDELAY so the socket
 * survives a chroot.  errno is preserved across every call.  Nothing
 * here allocates: lines are formatted into a fixed buffer and truncated
 * if they do not fit.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096

static int		 log_debug_mode = 1;	/* stderr until log_init */
static int		 log_verbose;
static char		 log_procname[64];	/* "" until log_procinit */

static void	 log_emit(int, int, const char *, const char *, va_list)
		    __attribute__((__format__ (printf, 4, 0)));
static void	 log_line(int, int, const char *, size_t);
static size_t	 log_vappend(char *, size_t, size_t, const char *, va_list)
		    __attribute__((__format__ (printf, 4, 0)));
static size_t	 log_append(char *, size_t, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
__dead static void vfatalc(int, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));

void
log_init(int n_debug, int facility)
{
	extern char	*__progname;

	/* verbosity is log_setverbose's alone: -d and -v are separate */
	log_debug_mode = n_debug;

	if (!log_debug_mode)
		openlog(__progname, LOG_PID | LOG_NDELAY, facility);

	/* load the time zone now: there is no /etc/localtime in a chroot */
	tzset();
}

void
log_procinit(const char *procname)
{
	/* a copy: the caller's buffer may not live as long as we do */
	if (procname != NULL)
		(void)strlcpy(log_procname, procname, sizeof(log_procname));
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

/*
 * Write one finished line.  withname: prefix the process name (every
 * ordinary line); fatal lines carry it in their own text.
 */
static void
log_line(int pri, int withname, const char *msg, size_t len)
{
	extern char	*__progname;
	char		 line[LOG_LINE_MAX + 64];
	const char	*name;
	int		 n;

	name = log_procname[0] != '\0' ? log_procname : __progname;
	if (log_debug_mode) {
		if (withname)
			n = snprintf(line, sizeof(line), "%s: %.*s\n", name,
			    (int)len, msg);
		else
			n = snprintf(line, sizeof(line), "%.*s\n", (int)len,
			    msg);
		if (n < 0)
			return;
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		if (write(STDERR_FILENO, line, n) == -1)
			return;
	} else if (withname && strcmp(name, __progname) != 0)
		syslog(pri, "%s: %.*s", name, (int)len, msg);
	else
		syslog(pri, "%.*s", (int)len, msg);
}

/* Append to msg[sz] holding len bytes; returns the new length. */
static size_t
log_vappend(char *msg, size_t sz, size_t len, const char *fmt, va_list ap)
{
	int	 n;

	if (len + 1 >= sz)
		return (len);
	n = vsnprintf(msg + len, sz - len, fmt, ap);
	if (n < 0) {
		msg[len] = '\0';
		return (len);
	}
	if ((size_t)n >= sz - len)
		return (sz - 1);
	return (len + n);
}

static size_t
log_append(char *msg, size_t sz, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	len = log_vappend(msg, sz, len, fmt, ap);
	va_end(ap);
	return (len);
}

/* Format fmt, append ": strerror(errnum)" if errnum != 0, and log it. */
static void
log_emit(int pri, int errnum, const char *prefix, const char *fmt,
    va_list ap)
{
	char	 msg[LOG_LINE_MAX];
	size_t	 len = 0;

	msg[0] = '\0';
	if (prefix != NULL)
		len = log_append(msg, sizeof(msg), len, "%s", prefix);
	if (fmt != NULL)
		len = log_vappend(msg, sizeof(msg), len, fmt, ap);
	if (errnum != 0)
		len = log_append(msg, sizeof(msg), len, "%s%s",
		    fmt != NULL ? ": " : "", strerror(errnum));
	log_line(pri, prefix == NULL, msg, len);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int	 saved_errno = errno;

	log_emit(pri, 0, NULL, fmt, ap);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_emit(pri, 0, NULL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warn(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, emsg);
	log_emit(LOG_ERR, saved_errno, NULL, emsg, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, emsg);
	log_emit(LOG_ERR, 0, NULL, emsg, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, emsg);
	log_emit(LOG_INFO, 0, NULL, emsg, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	if (log_verbose > 1) {
		va_start(ap, emsg);
		log_emit(LOG_DEBUG, 0, NULL, emsg, ap);
		va_end(ap);
	}
	errno = saved_errno;
}

static void
vfatalc(int code, const char *emsg, va_list ap)
{
	extern char	*__progname;
	char		 prefix[128];

	(void)snprintf(prefix, sizeof(prefix), "fatal in %s: ",
	    log_procname[0] != '\0' ? log_procname : __progname);
	log_emit(LOG_CRIT, code, prefix, emsg, ap);
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;
	int	 code = errno;

	va_start(ap, emsg);
	vfatalc(code, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}
