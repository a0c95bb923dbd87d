/*
 * master.h: the master's own state, shared by certaosd.c, config.c and
 * control.c.
 */

#ifndef CERTAOSD_MASTER_H
#define CERTAOSD_MASTER_H

#include <sys/queue.h>

#include "proc.h"
#include "certaosd.h"

struct child {
	TAILQ_ENTRY(child)	 entry;
	enum certaos_proc	 proc;
	int			 instance;
	pid_t			 pid;
	int			 cfg_pending;	/* CFG_DONE sent, no ACK yet */
	struct imsgev		 iev;
};

struct master {
	struct certaosd_config	*conf;
	const char		*conffile;
	int			 debug;
	int			 verbose;
	int			 privileged;
	uid_t			 uid;
	gid_t			 gid;
	time_t			 started;
	char			 libexec[PATH_MAX];
	TAILQ_HEAD(, child)	 children;
	int			 acks_pending;
	int			 running;	/* all acked once: serving */
	int			 reloading;
	int			 shutting_down;
	unsigned char		 secret_hash[32]; /* to notice a change */
	/* the rate-limit table, made once at start (config.c) */
	int			 rl_fd;		/* -1 once sent */
	uint32_t		 rl_nbuckets;
	uint8_t			 rl_key[16];
	char			 templates[PATH_MAX];	/* shipped ones */
};

extern struct master master;

/* certaosd.c */
struct child	*master_child(enum certaos_proc, int);
void		 master_broadcast(uint32_t, const void *, size_t);
int		 master_reload(const char **);
void		 master_expect_acks(void);

/* config.c */
int	 config_load_files(struct certaosd_config *);
void	 config_destroy(struct certaosd_config *);
int	 config_check_chroot(const char *);
int	 config_open_listeners(struct certaosd_config *);
int	 config_rl_table(struct certaosd_config *);
void	 config_send_all(struct certaosd_config *, int);
void	 config_merge_restart_only(struct certaosd_config *,
	    struct certaosd_config *);

/* mail.c */
void	 master_mail_templates(char *, size_t);
void	 master_mail_config(struct child *, struct certaosd_config *);
/* certaosctl mail test ADDRESS, mail queue (id: the control request) */
int	 master_mail_test(uint32_t, const char *, const char **);
int	 master_mail_queue(uint32_t, const char **);
void	 master_mail_sealed(struct imsg *);
void	 master_mail_db(struct imsg *);
/* invite.c: certaosctl user invite */
int	 master_invite(uint32_t, struct imsg *, const char **);
void	 master_invite_sealed(struct imsg *);
void	 master_invite_db(struct imsg *);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);
void	 control_reload_done(int, const char *);
void	 control_status_reply(uint32_t, struct ctl_status *);
void	 control_db_reply(struct imsg *);
/* an answer to a mail request; -1 if the client went away */
int	 control_mail_reply(uint32_t, uint32_t, const void *, size_t);

#endif
