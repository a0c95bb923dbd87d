/*
 * mail.h: certaos-mail, the process that delivers the outbox.  It is the
 * only one that runs a program (the sendmail command) or connects to a
 * mail relay.  It holds neither the master secret nor the database
 * credentials: db leases it due rows, keys opens their sealed messages,
 * and it renders the templates, delivers, and reports each outcome.
 */

#ifndef CERTAOS_MAIL_H
#define CERTAOS_MAIL_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "certaos.h"

struct evbuffer;

#define MAIL_POLL		5	/* s between looks at the outbox */
#define MAIL_CLAIM		4	/* rows per claim */
#define MAIL_MAX_TEMPLATES	64
#define MAIL_MAX_TMPLFILE	(64 * 1024)	/* bytes of one template */
#define MAIL_MAX_MESSAGE	(512 * 1024)	/* a composed message */
#define MAIL_MAX_ARGS		32	/* words of the sendmail command */
#define MAIL_MAX_REPLY		4096	/* bytes of an SMTP reply */

/* One template: both bodies come from the same directory. */
struct mail_tmpl {
	TAILQ_ENTRY(mail_tmpl)	 entry;
	char			 name[CERTAOS_MAX_MAIL_TMPL + 1];
	char			*subject;	/* after "Subject: " */
	char			*text;		/* the text body */
	char			*html;		/* NULL: text/plain only */
};
TAILQ_HEAD(mail_tmpls, mail_tmpl);

struct mail_var {
	char		 name[CERTAOS_MAX_MAIL_TMPL + 1];
	char		 value[CERTAOS_MAX_MAIL_VAR + 1];
};

/* An opened outbox message, and what the mail process adds. */
struct mail_msg {
	uint64_t	 id;
	char		 to[CERTAOS_MAX_EMAIL + 1];
	char		 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	int		 nvars;
	/* the sealed ones, then app and email */
	struct mail_var	 vars[CERTAOS_MAX_MAIL_VARS + 2];
};

/* render.c: templates, rendering and MIME, pure */
void	 tmpl_init(struct mail_tmpls *);
void	 tmpl_free(struct mail_tmpls *);
/* add the templates of dir not already in the set: how many, or -1 */
int	 tmpl_load_dir(struct mail_tmpls *, const char *);
/* one template from its files' contents (html may be NULL) */
struct mail_tmpl *tmpl_parse(const char *, const char *, const char *);
struct mail_tmpl *tmpl_find(struct mail_tmpls *, const char *);
/* the sealed plaintext into msg: 0, or -1 if malformed */
int	 mail_msg_parse(const unsigned char *, size_t, struct mail_msg *);
/* add a variable (app, email); -1 if full or too long */
int	 mail_msg_setvar(struct mail_msg *, const char *, const char *);
/* {{var}} replaced; with html, values escaped.  0 or -1 (too large) */
int	 mail_render(const char *, const struct mail_msg *, int,
	    struct evbuffer *);
/* 1 if s may go into a header: no control character at all */
int	 mail_header_ok(const char *);
/* 1 if s is an address we deliver to */
int	 mail_addr_ok(const char *);
/* the address inside "Name <addr>", or the whole string, into dst */
int	 mail_addr_of(const char *, char *, size_t);
/*
 * The whole RFC 5322 message, LF line ends.  0, or -1 with why set:
 * a refusal (bad recipient, header injection), a permanent failure.
 */
int	 mail_compose(const struct mail_tmpl *, const struct mail_msg *,
	    const char *, time_t, struct evbuffer *, char *, size_t);
void	 qp_encode(const char *, size_t, struct evbuffer *);
int	 rfc2047_encode(const char *, struct evbuffer *);

/* send.c: the three ways out; each returns an enum mail_outcome */
int	 send_sendmail(const char *, const char *, size_t, int, char *,
	    size_t);
int	 send_dir(const char *, uint64_t, const char *, size_t, char *,
	    size_t);
int	 send_smtp(const struct cfg_mail *, const char *, const char *,
	    const char *, size_t, char *, size_t);
void	 send_init(void);

#endif
