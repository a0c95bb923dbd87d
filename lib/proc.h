/*
 * proc.c, sandbox.c: the privilege-separation layer every child shares.
 *
 * A child is exec'd by the master as
 *	certaos-<role> -P <role> -I <instance> -u <user> [-c <chroot>]
 *	    [-d] [-v ...]
 * with its channel to the master on fd 3 and nothing else open but
 * stdin/stdout/stderr.  The other channels (to its peers) arrive over that
 * one as IMSG_CTL_PROCFD with a descriptor.
 *
 * A child's main() does, in this order:
 *	proc_init(&pc, argc, argv, PROC_WEB);	options, log, user lookup
 *	... role set-up that needs files (OpenSSL init, ...)
 *	proc_sandbox(&pc);			chroot, drop, rlimits, seccomp
 *	pc.dispatch[PROC_PARENT] = ...; pc.dispatch[PROC_DB] = ...;
 *	proc_run(&pc);				event loop; never returns
 */

#ifndef CERTAOS_PROC_H
#define CERTAOS_PROC_H

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <pwd.h>

#include "certaos.h"

#define PROC_PARENT_FD		3
#define PROC_MAX_INSTANCES	CERTAOS_MAX_PREFORK

struct imsgev;
typedef void	(*imsgev_dispatch)(struct imsgev *, struct imsg *);

struct imsgev {
	TAILQ_ENTRY(imsgev)	 entry;
	TAILQ_ENTRY(imsgev)	 lentry;	/* waiting for a batch's end */
	int			 later;
	struct imsgbuf		 ibuf;
	struct event		 ev;
	short			 events;
	enum certaos_proc	 peer;
	int			 instance;
	imsgev_dispatch		 dispatch;
	/* end of file or a broken pipe; NULL: fatal (fail closed) */
	void			(*eof)(struct imsgev *);
	void			*data;
	char			 name[32];	/* "db", "web[1]": for logs */
};

struct proc_child {
	enum certaos_proc	 role;
	int			 instance;
	int			 debug;		/* -d: log to stderr */
	int			 verbose;
	int			 tls;		/* -T: web serves TLS */
	char			 user[LOGIN_NAME_MAX];
	char			 chroot[PATH_MAX];	/* -c: "" for none (db) */
	uid_t			 uid;
	gid_t			 gid;
	int			 privileged;	/* started as root */
	time_t			 started;
	char			 title[32];	/* "web[0]" */
	struct event_base	*evbase;
	struct imsgev		 parent;
	TAILQ_HEAD(, imsgev)	 peers;
	/*
	 * Dispatchers by peer role.  IMSG_CTL_PROCFD and IMSG_CTL_VERBOSE
	 * from the parent are handled by proc.c and never reach them.
	 */
	imsgev_dispatch		 dispatch[PROC_MAX];
	/* called once a peer channel is up (optional) */
	void			(*peer_up)(struct imsgev *);
};

extern struct proc_child *proc_self;

void	 proc_init(struct proc_child *, int, char **, enum certaos_proc);
void	 proc_sandbox(struct proc_child *);
__dead void proc_run(struct proc_child *);
/* first channel to a peer role (any instance), or NULL */
struct imsgev *proc_peer(struct proc_child *, enum certaos_proc);
/* the channel to one instance of a peer role, or NULL */
struct imsgev *proc_peer_instance(struct proc_child *, enum certaos_proc,
	    int);

/* imsgev: an imsgbuf on the event loop.  EOF or a bad message is fatal. */
void	 imsgev_init(struct imsgev *, int, struct event_base *,
	    enum certaos_proc, int, imsgev_dispatch, void *);
void	 imsgev_clear(struct imsgev *);
int	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsgev_composev(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
/* re-arm the event for what is pending (read, and write if queued) */
void	 imsgev_add(struct imsgev *);
/* the default case of every dispatcher */
__dead void imsgev_unexpected(struct imsgev *, struct imsg *);

/* sandbox.c */
/* resolve the user; 0 or -1 with a message logged */
int	 sandbox_getpw(const char *, uid_t *, gid_t *);
/* chroot (if dir != NULL), setgroups/setresgid/setresuid, and verify */
void	 sandbox_drop(const char *, uid_t, gid_t);
/* rlimits and the role's seccomp filter; fatal on failure */
void	 sandbox_apply(enum certaos_proc, int);
/* the test hook (CERTAOS_REGRESS_ENV): a forbidden call for the role */
void	 sandbox_regress(enum certaos_proc);

#endif
