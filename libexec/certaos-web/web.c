/*
 * certaos-web: the unprivileged, chrooted HTTP front end.  It holds no
 * secret but the TLS keys of its listeners; it asks the db and keys
 * processes for everything else, over imsg.
 *
 * From the parent: IMSG_CFG_WEB, IMSG_CFG_RATELIMIT (+ the shared table
 * of counters the first time), IMSG_CFG_LISTENER (+ the listening fd
 * the first time an id is sent), IMSG_CFG_TLS_CERT / _KEY chunks
 * (peerid = listener id), then IMSG_CFG_DONE, answered with
 * IMSG_CFG_ACK once the configuration is in use; IMSG_CTL_START starts
 * accepting.  The same sequence again is a reload: new limits and
 * certificates apply to new connections, established ones stay.
 */

#include <sys/types.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "certaos.h"
#include "log.h"
#include "proc.h"
#include "http.h"
#include "ratelimit.h"

static void	 web_dispatch_parent(struct imsgev *, struct imsg *);
static void	 web_dispatch_db(struct imsgev *, struct imsg *);
static void	 web_dispatch_keys(struct imsgev *, struct imsg *);
static void	 web_peer_up(struct imsgev *);
static void	 web_cfg(struct imsg *);
static void	 web_ratelimit(struct imsg *);
static void	 web_listener(struct imsg *);
static void	 web_pem(struct imsg *, int);
static void	 web_done(struct imsgev *, struct imsg *);
static void	 web_status(struct imsgev *, struct imsg *);

static struct cfg_web	 cfg_new;
static int		 cfg_new_set;
static struct cfg_ratelimit cfg_rl_new;
static int		 cfg_rl_set;
static int		 configured;		/* a first DONE went through */

int
main(int argc, char *argv[])
{
	struct proc_child	 pc;
	SSL_CTX			*ctx;
	unsigned char		 b[16];

	proc_init(&pc, argc, argv, PROC_WEB);

	/*
	 * OpenSSL reads its configuration and fetches its algorithms from
	 * the file system: do it all before the chroot, and only when a
	 * listener serves TLS (-T), since a plain HTTP web never needs it
	 * and its initialisation alone costs a megabyte or two of memory.
	 */
	if (pc.tls) {
		if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
		    OPENSSL_INIT_LOAD_SSL_STRINGS |
		    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL))
			fatalx("OpenSSL initialisation failed");
		if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
			fatalx("SSL_CTX_new");
		SSL_CTX_free(ctx);
		if (RAND_bytes(b, sizeof(b)) != 1)
			fatalx("RAND_bytes");
		explicit_bzero(b, sizeof(b));
	}

	/* A write to a closed connection is an error, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);
	http_init();

	proc_sandbox(&pc);

	pc.dispatch[PROC_PARENT] = web_dispatch_parent;
	pc.dispatch[PROC_DB] = web_dispatch_db;
	pc.dispatch[PROC_KEYS] = web_dispatch_keys;
	pc.peer_up = web_peer_up;
	proc_run(&pc);
	/* NOTREACHED */
}

static void
web_peer_up(struct imsgev *iev)
{
	if (iev->peer == PROC_KEYS && iev->instance == 0) {
		routes_jwks_fetch();
		auth_keys_up();
	}
}

static void
web_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_WEB:
		web_cfg(imsg);
		break;
	case IMSG_CFG_RATELIMIT:
		web_ratelimit(imsg);
		break;
	case IMSG_CFG_LISTENER:
		web_listener(imsg);
		break;
	case IMSG_CFG_TLS_CERT:
		web_pem(imsg, 0);
		break;
	case IMSG_CFG_TLS_KEY:
		web_pem(imsg, 1);
		break;
	case IMSG_CFG_DONE:
		web_done(iev, imsg);
		break;
	case IMSG_CTL_START:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_CTL_START", __func__);
		if (!configured)
			fatalx("%s: IMSG_CTL_START before a configuration",
			    __func__);
		http_start();
		log_debug("accepting connections");
		break;
	case IMSG_CTL_STATUS:
		web_status(iev, imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
web_dispatch_db(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_DB_PONG:
		routes_db_pong(imsg);
		break;
	case IMSG_DB_SESSION_INFO:
		auth_db_answer(imsg);
		break;
	case IMSG_DB_SESSION_ROW:
		auth_db_row(imsg);
		break;
	case IMSG_DB_ACCOUNT_ROW:
		auth_db_account_row(imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
web_dispatch_keys(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_KEYS_PONG:
		routes_keys_pong(imsg);
		break;
	case IMSG_KEYS_JWKS:
		routes_keys_jwks(imsg);
		break;
	case IMSG_KEYS_JWKS_CHANGED:
		routes_keys_jwks_changed(imsg);
		break;
	case IMSG_KEYS_ERROR:
		routes_keys_error(imsg);
		break;
	case IMSG_KEYS_AUTH:
		auth_keys_answer(imsg);
		break;
	case IMSG_KEYS_SIGNED:
		auth_keys_signed(imsg);
		break;
	case IMSG_KEYS_RESULT:
		auth_keys_result(imsg);
		break;
	case IMSG_KEYS_DONT_REMEMBER_VALUE:
		auth_keys_dont_remember(imsg);
		break;
	case IMSG_KEYS_FLOW_DONE:
		auth_keys_flow_done(imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
web_cfg(struct imsg *imsg)
{
	struct cfg_web	 cw;

	if (imsg_get_data(imsg, &cw, sizeof(cw)) == -1)
		fatalx("%s: bad IMSG_CFG_WEB", __func__);
	if (memchr(cw.issuer, '\0', sizeof(cw.issuer)) == NULL ||
	    memchr(cw.basepath, '\0', sizeof(cw.basepath)) == NULL ||
	    cw.basepath[0] != '/')
		fatalx("%s: bad issuer or base path", __func__);
	if (cw.max_header < CERTAOS_MAX_HEADER_MIN ||
	    cw.max_header > CERTAOS_MAX_HEADER_MAX ||
	    cw.max_body < CERTAOS_MAX_BODY_MIN ||
	    cw.max_body > CERTAOS_MAX_BODY_MAX ||
	    cw.timeout_header < 1 || cw.timeout_header > CERTAOS_TIMEOUT_MAX ||
	    cw.timeout_idle < 1 || cw.timeout_idle > CERTAOS_TIMEOUT_MAX ||
	    cw.nlisteners > CERTAOS_MAX_LISTENERS)
		fatalx("%s: limits out of range", __func__);
	cfg_new = cw;
	cfg_new_set = 1;
}

/* The rules; the table comes with the first of these, and only then. */
static void
web_ratelimit(struct imsg *imsg)
{
	int	 fd;

	if (imsg_get_data(imsg, &cfg_rl_new, sizeof(cfg_rl_new)) == -1 ||
	    !ratelimit_valid(&cfg_rl_new))
		fatalx("%s: bad IMSG_CFG_RATELIMIT", __func__);
	fd = imsg_get_fd(imsg);
	if (fd != -1 && ratelimit_table(fd, cfg_rl_new.nbuckets,
	    cfg_rl_new.key) == -1)
		fatalx("%s: cannot map the rate-limit table", __func__);
	cfg_rl_set = 1;
}

static void
web_listener(struct imsg *imsg)
{
	struct cfg_listener	 cl;
	struct http_listener	*l;
	int			 fd;

	if (imsg_get_data(imsg, &cl, sizeof(cl)) == -1 ||
	    memchr(cl.addr, '\0', sizeof(cl.addr)) == NULL)
		fatalx("%s: bad IMSG_CFG_LISTENER", __func__);
	fd = imsg_get_fd(imsg);
	if ((l = http_listener_get(cl.id)) != NULL) {
		if (fd != -1)
			http_listener_setfd(l, fd);
	} else if (fd == -1) {
		fatalx("%s: listener %u without a socket", __func__, cl.id);
	} else if ((l = http_listener_add(cl.id, fd)) == NULL)
		fatalx("%s: more than %d listeners", __func__,
		    CERTAOS_MAX_LISTENERS);
	l->tls = cl.tls != 0;
	if (l->tls && !proc_self->tls)
		fatalx("%s: TLS listener %u but OpenSSL not set up (no -T)",
		    __func__, cl.id);
	l->port = cl.port;
	(void)strlcpy(l->addr, cl.addr, sizeof(l->addr));
	l->seen = 1;
}

static void
web_pem(struct imsg *imsg, int iskey)
{
	struct http_listener	*l;

	if ((l = http_listener_get(imsg_get_id(imsg))) == NULL)
		fatalx("%s: PEM for unknown listener %u", __func__,
		    imsg_get_id(imsg));
	if (imsg_get_len(imsg) == 0 ||
	    http_listener_pem(l, iskey, imsg->data, imsg_get_len(imsg)) == -1)
		fatalx("%s: bad or oversized TLS %s for listener %u",
		    __func__, iskey ? "key" : "certificate", l->id);
}

static void
web_done(struct imsgev *iev, struct imsg *imsg)
{
	if (imsg_get_len(imsg) != 0)
		fatalx("%s: bad IMSG_CFG_DONE", __func__);
	if (!cfg_new_set && !configured)
		fatalx("%s: IMSG_CFG_DONE without IMSG_CFG_WEB", __func__);
	if (!cfg_rl_set && !configured)
		fatalx("%s: IMSG_CFG_DONE without IMSG_CFG_RATELIMIT",
		    __func__);
	if (http_tls_configure() == -1) {
		if (!configured)
			fatalx("cannot set up TLS");
		log_warnx("reload: keeping the previous TLS configuration");
	}
	if (cfg_new_set) {
		if (routes_configure(cfg_new.issuer, cfg_new.basepath) == -1 ||
		    auth_configure(&cfg_new) == -1)
			fatalx("bad web configuration");
		http_limits.max_header = cfg_new.max_header;
		http_limits.max_body = cfg_new.max_body;
		http_limits.timeout_header = cfg_new.timeout_header;
		http_limits.timeout_idle = cfg_new.timeout_idle;
	}
	if (cfg_rl_set && ratelimit_configure(&cfg_rl_new, cfg_new_set ?
	    cfg_new.basepath : NULL) == -1)
		fatalx("bad rate-limit configuration");
	cfg_new_set = cfg_rl_set = 0;
	configured = 1;
	if (imsgev_compose(iev, IMSG_CFG_ACK, imsg_get_id(imsg), 0, -1,
	    NULL, 0) == -1)
		fatal("%s: compose", __func__);
	log_debug("configuration in use");
}

static void
web_status(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_status	 st;

	if (imsg_get_len(imsg) != 0)
		fatalx("%s: bad IMSG_CTL_STATUS", __func__);
	memset(&st, 0, sizeof(st));
	st.proc = PROC_WEB;
	st.instance = proc_self->instance;
	st.pid = getpid();
	st.started = proc_self->started;
	if (imsgev_compose(iev, IMSG_CTL_STATUS_REPLY, imsg_get_id(imsg), 0,
	    -1, &st, sizeof(st)) == -1)
		fatal("%s: compose", __func__);
}
