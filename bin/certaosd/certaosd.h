/*
 * certaosd.h: the master process and its configuration.
 */

#ifndef CERTAOSD_H
#define CERTAOSD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "certaos.h"

/* Bounds of the session durations the grammar accepts. */
#define CERTAOS_SESSION_MIN	300		/* s: 5m */
#define CERTAOS_SESSION_MAX	(365 * 86400)	/* s: 365d */

struct listen_config {
	TAILQ_ENTRY(listen_config) entry;
	uint32_t		 id;		/* 0, 1, ... in file order */
	char			 addr[64];	/* numeric address as written */
	uint16_t		 port;
	int			 tls;
	char			 cert_file[PATH_MAX];
	char			 key_file[PATH_MAX];
	/* filled by the master, not the parser */
	int			 fd;
	unsigned char		*cert;		/* PEM read as root */
	size_t			 cert_len;
	unsigned char		*key;
	size_t			 key_len;
};
TAILQ_HEAD(listen_list, listen_config);

struct certaosd_config {
	char			 issuer[CERTAOS_MAX_ISSUER];
	char			 secret_file[PATH_MAX];
	char			 database[CERTAOS_MAX_CONNINFO];
	uint32_t		 db_pool;		/* default 4 */
	uint32_t		 prefork;		/* default: CPUs */
	uint32_t		 max_header;		/* bytes */
	uint32_t		 max_body;		/* bytes */
	uint32_t		 timeout_header;	/* seconds */
	uint32_t		 timeout_idle;		/* seconds */
	char			 user[LOGIN_NAME_MAX];	/* default _certaos */
	char			 chroot[PATH_MAX];	/* default /var/empty */
	char			 control_socket[PATH_MAX];
	uint32_t		 argon2_memory;
	uint32_t		 argon2_time;
	uint32_t		 argon2_lanes;
	uint32_t		 pw_workers;		/* default: CPUs */
	uint32_t		 pw_min;		/* characters */
	uint32_t		 pw_max;
	uint32_t		 session_lifetime;	/* s */
	uint32_t		 session_update;	/* s: sliding step */
	uint32_t		 session_short;		/* s: not remembered */
	uint32_t		 session_fresh;		/* s: fresh-age, 0 off */
	char			 cookie_prefix[CERTAOS_MAX_COOKIE_PREFIX + 1];
	uint32_t		 verify;		/* VERIFY_* */
	uint32_t		 delete_user;		/* delete-user on */
	uint32_t		 change_confirm;	/* email change-confirmation */
	uint32_t		 signup;		/* SIGNUP_* */
	char			 invite_url[CERTAOS_MAX_URL + 1];	/* "": issuer */
	uint32_t		 norigins;
	/* normalized: lower case, no default port; without the issuer's */
	char			 origins[CERTAOS_MAX_ORIGINS]
				    [CERTAOS_MAX_ORIGIN];
	/* rate limits: rules normalized, the built-in ones included */
	uint32_t		 rl_enabled;
	uint32_t		 rl_entries;		/* start only */
	uint32_t		 rl_window;		/* s: default rule */
	uint32_t		 rl_max;
	uint32_t		 rl_nrules;
	struct cfg_rl_rule	 rl_rules[CERTAOS_MAX_RL_RULES];
	uint32_t		 nproxies;
	struct cfg_proxy	 proxies[CERTAOS_MAX_PROXIES];
	struct listen_list	 listeners;
	/* mail; "shipped" is filled by the master, not the parser */
	struct cfg_mail		 mail;
	/* filled by the master, not the parser */
	unsigned char		*secret;
	size_t			 secret_len;
};

/* parse.y */
/*
 * Parse filename into a new config, with macros from -D already set
 * by cmdline_symset().  Every error is printed as "file:line: message"
 * to stderr (or the log once daemonized); returns NULL if there was any.
 * The secret and TLS files are not read here (see config.c).
 */
struct certaosd_config	*parse_config(const char *);
int			 cmdline_symset(char *);
void			 config_free(struct certaosd_config *);
/* the normalized configuration, which parses back to the same output */
void			 print_config(FILE *, struct certaosd_config *);
/* for the test that asserts the keyword table is sorted */
int			 parse_keywords_sorted(void);
/* every keyword of the grammar, one per call, NULL at the end */
const char		*parse_keyword(size_t);

#endif
