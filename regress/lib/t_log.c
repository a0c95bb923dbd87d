/*
 * t_log: what the log API prints on stderr in the foreground, the
 * verbosity gate of log_debug, errno handling, fatal/fatalx and their
 * exit status, and that nothing ever reaches stdout.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"
#include "log.h"

#ifdef CERTAOS_SANITIZE
/*
 * The forked children exit() with libatf's allocations live; a leak
 * report on their stderr would spoil the exact comparisons below.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return ("detect_leaks=0");
}
#endif

ATF_TC_WITHOUT_HEAD(lines);
ATF_TC_BODY(lines, tc)
{
	char	 name[8];
	pid_t	 pid;

	pid = atf_utils_fork();
	if (pid == 0) {
		log_init(1, LOG_DAEMON);
		log_setverbose(0);
		log_procinit("web[1]");
		log_info("hello %d", 5);
		log_warnx("plain warning");
		errno = ENOENT;
		log_warn("open %s", "/nonexistent");
		if (errno != ENOENT)
			log_info("errno lost");
		errno = EACCES;
		log_warn(NULL);
		logit(LOG_NOTICE, "logit %s", "works");
		log_procinit("keys");
		log_info("renamed");
		/* the name is copied, not referenced */
		strlcpy(name, "gone", sizeof(name));
		log_procinit(name);
		strlcpy(name, "XXXX", sizeof(name));
		log_info("copied");
		exit(0);
	}
	atf_utils_wait(pid, 0, "",
	    "web[1]: hello 5\n"
	    "web[1]: plain warning\n"
	    "web[1]: open /nonexistent: No such file or directory\n"
	    "web[1]: Permission denied\n"
	    "web[1]: logit works\n"
	    "keys: renamed\n"
	    "gone: copied\n");
}

ATF_TC_WITHOUT_HEAD(verbosity);
ATF_TC_BODY(verbosity, tc)
{
	pid_t	 pid;

	pid = atf_utils_fork();
	if (pid == 0) {
		log_init(1, LOG_DAEMON);
		log_procinit("db");
		log_setverbose(0);
		log_debug("hidden at 0");
		log_setverbose(1);
		log_debug("hidden at 1");
		log_info("info at %d", log_getverbose());
		log_setverbose(2);
		log_debug("shown at %d", log_getverbose());
		log_setverbose(0);
		log_debug("hidden again");
		/* log_init leaves the verbosity alone (-d is not -v) */
		log_setverbose(2);
		log_init(1, LOG_DAEMON);
		log_debug("still shown");
		exit(0);
	}
	atf_utils_wait(pid, 0, "",
	    "db: info at 1\ndb: shown at 2\ndb: still shown\n");
}

ATF_TC_WITHOUT_HEAD(fatal);
ATF_TC_BODY(fatal, tc)
{
	pid_t	 pid;

	pid = atf_utils_fork();
	if (pid == 0) {
		log_init(1, LOG_DAEMON);
		log_procinit("keys");
		errno = EBADMSG;
		fatal("imsg_get");
	}
	atf_utils_wait(pid, 1, "", "fatal in keys: imsg_get: Bad message\n");

	pid = atf_utils_fork();
	if (pid == 0) {
		log_init(1, LOG_DAEMON);
		log_procinit("parent");
		errno = EBADMSG;
		fatalx("unexpected imsg %d from %s", 99, "web");
	}
	atf_utils_wait(pid, 1, "",
	    "fatal in parent: unexpected imsg 99 from web\n");
}

ATF_TC_WITHOUT_HEAD(long_line);
ATF_TC_BODY(long_line, tc)
{
	char	*big;
	pid_t	 pid;

	/* a line longer than the buffer is cut, still one line */
	pid = atf_utils_fork();
	if (pid == 0) {
		if ((big = malloc(10000)) == NULL)
			exit(2);
		memset(big, 'x', 9999);
		big[9999] = '\0';
		log_init(1, LOG_DAEMON);
		log_procinit("web");
		log_info("%s", big);
		log_info("after");
		exit(0);
	}
	atf_utils_wait(pid, 0, "", "save:stderr.txt");
	ATF_CHECK(atf_utils_grep_file("^web: xxxx*$", "stderr.txt"));
	ATF_CHECK(atf_utils_grep_file("^web: after$", "stderr.txt"));
	ATF_CHECK(!atf_utils_grep_file("^x", "stderr.txt"));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, lines);
	ATF_TP_ADD_TC(tp, verbosity);
	ATF_TP_ADD_TC(tp, fatal);
	ATF_TP_ADD_TC(tp, long_line);
	return (atf_no_error());
}
