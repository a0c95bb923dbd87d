/*
 * log.c: one log API for every CertaOS program.  stderr in the
 * foreground, syslog (opened with LOG_NDELAY) otherwise.  Every line
 * carries the process name set with log_procinit().
 */

#ifndef CERTAOS_LOG_H
#define CERTAOS_LOG_H

#include <stdarg.h>

#include "certaos.h"

void	 log_init(int, int);		/* foreground (stderr), facility */
void	 log_procinit(const char *);
void	 log_setverbose(int);
int	 log_getverbose(void);
void	 log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif
