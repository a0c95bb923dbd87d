/*
 * sandbox.c: privilege drop in OpenBSD order, then what Linux has in
 * place of pledge: resource limits, no_new_privs, and a seccomp filter
 * per role (libseccomp; default action: kill the process).  With -vv a
 * child traps instead and names the forbidden call in its log, as
 * OpenSSH's debug sandbox does.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"

/* What every role needs once running: the event loop, memory, time. */
static const char *const sc_common[] = {
	"brk", "clock_gettime", "clock_nanosleep", "close", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "exit",
	"exit_group", "fcntl", "fstat", "futex", "getegid", "geteuid",
	"getgid", "getpid", "getrandom", "gettid", "gettimeofday", "getuid",
	"ioctl", "madvise", "mmap", "mprotect", "mremap", "munmap",
	"nanosleep", "newfstatat", "pipe", "pipe2", "read", "readv",
	"recvfrom", "recvmsg",
	"restart_syscall", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sched_yield", "sendmsg", "sendto", "time", "write", "writev",
	NULL
};

/* web: accept and tune connections on the listeners it was given. */
static const char *const sc_web[] = {
	"accept", "accept4", "getpeername", "getsockname", "getsockopt",
	"setsockopt", "shutdown", NULL
};

/* keys: nothing more.  No socket, no open: invariant 3. */
static const char *const sc_keys[] = { NULL };

/*
 * db: libpq's world.  It connects (sockets filtered by family below),
 * reads its files (~/.pgpass, TLS roots, resolver configuration) and
 * polls during connection set-up.  Never listen, accept or exec.
 */
static const char *const sc_db[] = {
	"access", "connect", "faccessat", "faccessat2", "getpeername",
	"getsockname", "getsockopt", "lseek", "open", "openat", "poll",
	"ppoll", "pread64", "readlink", "select", "pselect6", "setsockopt",
	"shutdown", "stat", "lstat", "statx", "uname", "getdents64",
	NULL
};

/*
 * mail: delivers.  It runs the sendmail command (fork, exec, a pipe to
 * its stdin, wait), connects to the relay (sockets filtered by family
 * below), and writes files into the mail directory.  The filter stays on
 * the programs it executes, so the list also holds what an ordinary
 * dynamically linked program (a shell, msmtp) needs to start and run.
 * Never listen or accept.
 */
static const char *const sc_mail[] = {
	"access", "arch_prctl", "chdir", "clone", "clone3", "connect",
	"dup", "dup2", "dup3", "execve", "faccessat", "faccessat2",
	"fchmod", "fdatasync", "fork", "fsync", "ftruncate", "getcwd",
	"getdents64", "getpeername", "getpgrp", "getppid", "getresgid",
	"getresuid", "getrlimit", "getsockname", "getsockopt", "kill",
	"lseek", "lstat", "mkdir", "open", "openat", "poll", "ppoll",
	"prctl", "pread64", "prlimit64", "pselect6", "readlink",
	"readlinkat", "rename", "renameat", "renameat2", "rseq", "select",
	"set_robust_list", "set_tid_address", "setsockopt", "shutdown",
	"sigaltstack", "stat", "statfs", "statx", "sysinfo", "umask",
	"uname", "unlink", "unlinkat", "vfork", "wait4", "waitid", "utimensat",
	"fstatfs", "getgroups", "setpgid", "getpgid", "fadvise64",
	"close_range", "getrusage", "times", "setitimer", "getitimer",
	"alarm", "chmod", "link", "linkat", "getsid", "setsid",
	NULL
};

/* The sanitizers' runtime reads /proc and its own binary to report. */
static const char *const sc_sanitize[] = {
	"getdents64", "lseek", "open", "openat", "prctl", "readlink",
	"readlinkat", "sigaltstack", "uname", "mincore", "sched_getaffinity",
	NULL
};

static void	 sandbox_rules(scmp_filter_ctx, const char *const *);
static void	 sandbox_sigsys(int, siginfo_t *, void *);

int
sandbox_getpw(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user %s", user);
		return (-1);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	endpwent();
	return (0);
}

void
sandbox_drop(const char *dir, uid_t uid, gid_t gid)
{
	if (dir != NULL) {
		if (chroot(dir) == -1)
			fatal("chroot %s", dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("cannot drop privileges");
	/* Prove it: none of these may succeed any more. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("privileges could be regained");
	if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
		fatalx("group privileges could be regained");
	log_debug("running as uid %u gid %u%s%s", (unsigned)uid,
	    (unsigned)gid, dir != NULL ? ", chroot " : "",
	    dir != NULL ? dir : "");
}

static void
sandbox_rules(scmp_filter_ctx ctx, const char *const *names)
{
	int	 nr;

	for (; *names != NULL; names++) {
		if ((nr = seccomp_syscall_resolve_name(*names)) ==
		    __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			fatalx("seccomp: cannot allow %s", *names);
	}
}

static void
sandbox_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char		 msg[96], num[16];
	int		 n, i;
	unsigned int	 v;

	/* async-signal-safe: format by hand and write(2) */
	v = (unsigned int)si->si_syscall;
	i = sizeof(num);
	num[--i] = '\0';
	do {
		num[--i] = '0' + v % 10;
		v /= 10;
	} while (v != 0 && i > 0);
	n = snprintf(msg, sizeof(msg), "seccomp: forbidden system call %s\n",
	    &num[i]);
	if (n > 0)
		(void)write(STDERR_FILENO, msg, (size_t)n);
	_exit(1);
}

void
sandbox_apply(enum certaos_proc role, int verbose)
{
	const char *const	*extra;
	scmp_filter_ctx		 ctx;
	struct rlimit		 rl;
	struct stat		 sb;
	struct sigaction	 sa;
	uint32_t		 action;

	/* No core files, and the secret holder may not be traced. */
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	if (role == PROC_KEYS && prctl(PR_SET_DUMPABLE, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
#ifndef CERTAOS_SANITIZE
	/*
	 * Children never fork (the sanitizers' leak check does), but mail,
	 * which runs the sendmail command.
	 */
	if (role != PROC_MAIL && setrlimit(RLIMIT_NPROC, &rl) == -1)
		fatal("setrlimit RLIMIT_NPROC");
#endif
	/*
	 * They never write files, unless stderr is one (a test's log), but
	 * mail, which writes "mail dir" files.
	 */
	if (role != PROC_MAIL && fstat(STDERR_FILENO, &sb) == 0 &&
	    !S_ISREG(sb.st_mode) && setrlimit(RLIMIT_FSIZE, &rl) == -1)
		fatal("setrlimit RLIMIT_FSIZE");

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");

#ifdef CERTAOS_VALGRIND
	/* valgrind cannot run under a filter: this build is for leaks only */
	log_warnx("valgrind build: no seccomp filter for %s", proc_name(role));
	return;
#endif
	action = SCMP_ACT_KILL_PROCESS;
	if (verbose > 1) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("sigaction SIGSYS");
		action = SCMP_ACT_TRAP;
	}
	if ((ctx = seccomp_init(action)) == NULL)
		fatalx("seccomp_init");
	sandbox_rules(ctx, sc_common);
	switch (role) {
	case PROC_WEB:
		extra = sc_web;
		break;
	case PROC_KEYS:
		extra = sc_keys;
		break;
	case PROC_DB:
		extra = sc_db;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET)) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6)) != 0)
			fatalx("seccomp: socket rules");
		break;
	case PROC_MAIL:
		extra = sc_mail;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET)) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6)) != 0)
			fatalx("seccomp: socket rules");
		break;
	default:
		fatalx("%s: no filter for role %d", __func__, role);
	}
	sandbox_rules(ctx, extra);
#ifdef CERTAOS_SANITIZE
	sandbox_rules(ctx, sc_sanitize);
#else
	(void)sc_sanitize;
#endif
	if (seccomp_load(ctx) != 0)
		fatalx("seccomp_load failed");
	seccomp_release(ctx);
	log_debug("seccomp filter for %s loaded", proc_name(role));
}

void
sandbox_regress(enum certaos_proc role)
{
	log_info("regress: attempting a forbidden system call");
	switch (role) {
	case PROC_DB:
	case PROC_MAIL:
		/* db and mail may make sockets, but never listen on one */
		(void)listen(0, 1);
		break;
	default:
		(void)socket(AF_INET, SOCK_STREAM, 0);
		break;
	}
	fatalx("regress: the forbidden call was allowed");
}
