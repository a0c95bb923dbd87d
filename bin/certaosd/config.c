/*
 * config.c: what the master does with a parsed configuration.  It reads
 * the files only root may read (the secret, TLS keys), opens the
 * listeners, and delivers to each role only what the role needs, as
 * httpd and relayd do: web gets limits, listeners, certificates,
 * rate-limit rules and the shared table of counters; keys gets the
 * secret and the password parameters; db gets the connection string.
 * Nothing else crosses.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sha2.h>

#include "certaos.h"
#include "log.h"
#include "master.h"

static int	 config_read_file(const char *, int, size_t, size_t,
		    unsigned char **, size_t *);
static void	 secret_digest(const struct certaosd_config *,
		    unsigned char [SHA256_DIGEST_LENGTH]);
static void	 config_send_chunked(struct imsgev *, uint32_t, uint32_t,
		    const unsigned char *, size_t);
static void	 config_send_web(struct child *, struct certaosd_config *,
		    int);

/*
 * Read a whole file of at most max bytes.  A secret must belong to root
 * (or to the unprivileged user running a development daemon) and be
 * readable by its owner alone.
 */
static int
config_read_file(const char *path, int secret, size_t min, size_t max,
    unsigned char **bufp, size_t *lenp)
{
	struct stat	 sb;
	unsigned char	*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warnx("%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1) {
		log_warnx("%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	if (!S_ISREG(sb.st_mode)) {
		log_warnx("%s: not a regular file", path);
		close(fd);
		return (-1);
	}
	if (secret && sb.st_uid != 0 && sb.st_uid != geteuid()) {
		log_warnx("%s: must be owned by root", path);
		close(fd);
		return (-1);
	}
	if (secret && (sb.st_mode & 07177) != 0) {
		log_warnx("%s: mode %04o, must be 0600 or 0400", path,
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		return (-1);
	}
	if ((size_t)sb.st_size > max || (size_t)sb.st_size < min) {
		log_warnx("%s: size %lld, must be %zu to %zu bytes", path,
		    (long long)sb.st_size, min, max);
		close(fd);
		return (-1);
	}
	if ((buf = malloc(max + 1)) == NULL)
		fatal("%s", __func__);
	while ((n = read(fd, buf + len, max + 1 - len)) > 0)
		len += n;
	close(fd);
	if (n == -1 || len > max || len < min) {
		log_warnx("%s: %s", path, n == -1 ? strerror(errno) :
		    "changed size while being read");
		freezero(buf, max + 1);
		return (-1);
	}
	*bufp = buf;
	*lenp = len;
	return (0);
}

int
config_load_files(struct certaosd_config *conf)
{
	struct listen_config	*l;
	int			 errors = 0;

	if (config_read_file(conf->secret_file, 1, CERTAOS_MIN_SECRET,
	    CERTAOS_MAX_SECRET, &conf->secret, &conf->secret_len) == -1)
		errors++;
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		l->fd = -1;
		if (!l->tls)
			continue;
		if (config_read_file(l->cert_file, 0, 1, CERTAOS_MAX_TLSFILE,
		    &l->cert, &l->cert_len) == -1)
			errors++;
		if (config_read_file(l->key_file, 1, 1, CERTAOS_MAX_TLSFILE,
		    &l->key, &l->key_len) == -1)
			errors++;
	}
	return (errors ? -1 : 0);
}

/* Free what the master added to a parsed configuration, then the rest. */
void
config_destroy(struct certaosd_config *conf)
{
	struct listen_config	*l;

	if (conf == NULL)
		return;
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
		free(l->cert);
		l->cert = NULL;
		freezero(l->key, CERTAOS_MAX_TLSFILE + 1);
		l->key = NULL;
	}
	freezero(conf->secret, CERTAOS_MAX_SECRET + 1);
	conf->secret = NULL;
	config_free(conf);
}

/* The chroot directory must exist, belong to root, and not be writable. */
int
config_check_chroot(const char *dir)
{
	struct stat	 sb;

	if (stat(dir, &sb) == -1) {
		if (errno != ENOENT || mkdir(dir, 0755) == -1 ||
		    stat(dir, &sb) == -1) {
			log_warnx("chroot %s: %s", dir, strerror(errno));
			return (-1);
		}
		log_info("created empty chroot directory %s", dir);
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != 0 ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("chroot %s: must be a directory owned by root and "
		    "writable by root alone", dir);
		return (-1);
	}
	return (0);
}

int
config_open_listeners(struct certaosd_config *conf)
{
	struct listen_config	*l;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 slen;
	int			 fd, on = 1;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, l->addr, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(l->port);
			slen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, l->addr,
		    &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(l->port);
			slen = sizeof(*sin6);
		} else {
			log_warnx("listen on %s: invalid address", l->addr);
			return (-1);
		}
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1)
			fatal("socket");
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			fatal("setsockopt SO_REUSEADDR");
		if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
		    IPV6_V6ONLY, &on, sizeof(on)) == -1)
			fatal("setsockopt IPV6_V6ONLY");
		if (bind(fd, (struct sockaddr *)&ss, slen) == -1) {
			log_warnx("listen on %s port %u: %s", l->addr,
			    l->port, strerror(errno));
			close(fd);
			return (-1);
		}
		if (listen(fd, 511) == -1)
			fatal("listen");
		l->fd = fd;
	}
	return (0);
}

/*
 * The rate-limit table: one memfd that every web worker maps shared, so
 * that a client is counted once whichever worker serves it.  It is made
 * once, at start, and sealed at its size: counts go on across reloads,
 * and no worker can shrink it under the others.  Zero bytes are empty
 * counters and free locks.  The SipHash key that places a client in it
 * is random per start, so that clients cannot aim at one bucket.
 */
int
config_rl_table(struct certaosd_config *conf)
{
	uint32_t	 n = 1;
	int		 fd;

	while ((uint64_t)n * CERTAOS_RL_WAYS < conf->rl_entries)
		n <<= 1;
	if ((fd = memfd_create("certaos-ratelimit",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		log_warn("rate-limit table: memfd_create");
		return (-1);
	}
	if (ftruncate(fd, (off_t)n * CERTAOS_RL_BUCKET) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) == -1) {
		log_warn("rate-limit table");
		close(fd);
		return (-1);
	}
	arc4random_buf(master.rl_key, sizeof(master.rl_key));
	master.rl_fd = fd;
	master.rl_nbuckets = n;
	log_debug("rate-limit table: %u buckets of %d counters, %u KiB", n,
	    CERTAOS_RL_WAYS, n * CERTAOS_RL_BUCKET / 1024);
	return (0);
}

/* SHA-256 from libmd: the master links no OpenSSL, which saves memory. */
static void
secret_digest(const struct certaosd_config *conf,
    unsigned char h[SHA256_DIGEST_LENGTH])
{
	SHA2_CTX	 ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, conf->secret, conf->secret_len);
	SHA256Final(h, &ctx);
	explicit_bzero(&ctx, sizeof(ctx));
}

static void
config_send_chunked(struct imsgev *iev, uint32_t type, uint32_t id,
    const unsigned char *data, size_t len)
{
	size_t	 off, n, max = MAX_IMSGSIZE - IMSG_HEADER_SIZE;

	for (off = 0; off < len; off += n) {
		n = len - off > max ? max : len - off;
		if (imsgev_compose(iev, type, id, 0, -1, data + off, n) == -1)
			fatal("%s: compose", __func__);
	}
}

static void
config_send_web(struct child *c, struct certaosd_config *conf, int first)
{
	struct listen_config	*l;
	struct cfg_web		 cw;
	struct cfg_ratelimit	 rl;
	struct cfg_listener	 cl;
	uint32_t		 i;
	int			 fd;

	memset(&cw, 0, sizeof(cw));
	(void)strlcpy(cw.issuer, conf->issuer, sizeof(cw.issuer));
	(void)strlcpy(cw.basepath, CERTAOS_BASEPATH, sizeof(cw.basepath));
	cw.max_header = conf->max_header;
	cw.max_body = conf->max_body;
	cw.timeout_header = conf->timeout_header;
	cw.timeout_idle = conf->timeout_idle;
	TAILQ_FOREACH(l, &conf->listeners, entry)
		cw.nlisteners++;
	(void)strlcpy(cw.cookie_prefix, conf->cookie_prefix,
	    sizeof(cw.cookie_prefix));
	cw.session_lifetime = conf->session_lifetime;
	cw.pw_min = conf->pw_min;
	cw.pw_max = conf->pw_max;
	cw.session_fresh = conf->session_fresh;
	cw.verify = conf->verify;
	cw.delete_user = conf->delete_user;
	cw.mail = conf->mail.method != MAIL_OFF;
	cw.signup = conf->signup;
	/* The issuer's own origin is not among them: web adds it. */
	cw.norigins = conf->norigins;
	for (i = 0; i < conf->norigins; i++)
		(void)strlcpy(cw.origins[i], conf->origins[i],
		    sizeof(cw.origins[i]));
	if (imsgev_compose(&c->iev, IMSG_CFG_WEB, 0, 0, -1, &cw,
	    sizeof(cw)) == -1)
		fatal("%s: compose", __func__);

	memset(&rl, 0, sizeof(rl));
	rl.enabled = conf->rl_enabled;
	rl.nbuckets = master.rl_nbuckets;
	memcpy(rl.key, master.rl_key, sizeof(rl.key));
	rl.window = conf->rl_window;
	rl.max = conf->rl_max;
	rl.nrules = conf->rl_nrules;
	memcpy(rl.rules, conf->rl_rules, sizeof(rl.rules));
	rl.nproxies = conf->nproxies;
	memcpy(rl.proxies, conf->proxies, sizeof(rl.proxies));
	/* The table goes once; a reload keeps counting in it. */
	fd = -1;
	if (first && (fd = dup(master.rl_fd)) == -1)
		fatal("dup");
	if (imsgev_compose(&c->iev, IMSG_CFG_RATELIMIT, 0, 0, fd, &rl,
	    sizeof(rl)) == -1)
		fatal("%s: compose", __func__);

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		memset(&cl, 0, sizeof(cl));
		cl.id = l->id;
		cl.tls = l->tls;
		cl.port = l->port;
		(void)strlcpy(cl.addr, l->addr, sizeof(cl.addr));
		/* The socket goes once; a reload keeps the running one. */
		fd = -1;
		if (first && (fd = dup(l->fd)) == -1)
			fatal("dup");
		if (imsgev_compose(&c->iev, IMSG_CFG_LISTENER, 0, 0, fd, &cl,
		    sizeof(cl)) == -1)
			fatal("%s: compose", __func__);
		if (l->tls) {
			config_send_chunked(&c->iev, IMSG_CFG_TLS_CERT, l->id,
			    l->cert, l->cert_len);
			config_send_chunked(&c->iev, IMSG_CFG_TLS_KEY, l->id,
			    l->key, l->key_len);
		}
	}
}

/*
 * Deliver the configuration: each role its part, then IMSG_CFG_DONE.
 * Children answer IMSG_CFG_ACK; the last one starts (or completes the
 * reload of) the daemon.
 */
void
config_send_all(struct certaosd_config *conf, int first)
{
	struct child	*c;
	struct cfg_keys	 ck;
	struct cfg_db	 cd;

	master_expect_acks();
	TAILQ_FOREACH(c, &master.children, entry) {
		switch (c->proc) {
		case PROC_WEB:
			config_send_web(c, conf, first);
			break;
		case PROC_KEYS:
			memset(&ck, 0, sizeof(ck));
			ck.argon2_memory = conf->argon2_memory;
			ck.argon2_time = conf->argon2_time;
			ck.argon2_lanes = conf->argon2_lanes;
			ck.session_lifetime = conf->session_lifetime;
			ck.session_short = conf->session_short;
			(void)strlcpy(ck.issuer, conf->issuer,
			    sizeof(ck.issuer));
			(void)strlcpy(ck.basepath, CERTAOS_BASEPATH,
			    sizeof(ck.basepath));
			ck.mail = conf->mail.method != MAIL_OFF;
			ck.verify_signup = ck.mail &&
			    conf->verify != VERIFY_OFF;
			ck.session_fresh = conf->session_fresh;
			if (conf->invite_url[0] != '\0')
				(void)strlcpy(ck.invite_url, conf->invite_url,
				    sizeof(ck.invite_url));
			else
				(void)snprintf(ck.invite_url,
				    sizeof(ck.invite_url), "%s/sign-up",
				    conf->issuer);
			ck.verify_required = conf->verify == VERIFY_REQUIRED;
			ck.change_confirm = conf->change_confirm;
			if (imsgev_compose(&c->iev, IMSG_CFG_KEYS, 0, 0, -1,
			    &ck, sizeof(ck)) == -1)
				fatal("%s: compose", __func__);
			if (first && imsgev_compose(&c->iev, IMSG_CFG_SECRET,
			    0, 0, -1, conf->secret, conf->secret_len) == -1)
				fatal("%s: compose", __func__);
			break;
		case PROC_DB:
			memset(&cd, 0, sizeof(cd));
			(void)strlcpy(cd.conninfo, conf->database,
			    sizeof(cd.conninfo));
			cd.pool = conf->db_pool;
			cd.session_lifetime = conf->session_lifetime;
			cd.session_update = conf->session_update;
			cd.verify_required = conf->verify == VERIFY_REQUIRED;
			cd.verify_on = conf->mail.method != MAIL_OFF &&
			    conf->verify != VERIFY_OFF;
			cd.signup = conf->signup;
			if (imsgev_compose(&c->iev, IMSG_CFG_DB, 0, 0, -1,
			    &cd, sizeof(cd)) == -1)
				fatal("%s: compose", __func__);
			explicit_bzero(&cd, sizeof(cd));
			break;
		case PROC_MAIL:
			master_mail_config(c, conf);
			break;
		default:
			fatalx("%s: unknown child role %d", __func__, c->proc);
		}
		if (imsgev_compose(&c->iev, IMSG_CFG_DONE, 0, 0, -1, NULL,
		    0) == -1)
			fatal("%s: compose", __func__);
	}

	/* Every web worker has its own descriptor of the table now. */
	if (first && master.rl_fd != -1) {
		close(master.rl_fd);
		master.rl_fd = -1;
	}

	/*
	 * The secret went to keys once and stays there; the master keeps
	 * only its hash to notice a changed file on reload.
	 */
	if (conf->secret != NULL) {
		if (first)
			secret_digest(conf, master.secret_hash);
		freezero(conf->secret, CERTAOS_MAX_SECRET + 1);
		conf->secret = NULL;
		conf->secret_len = 0;
	}
}

/*
 * What cannot change without a restart keeps its running value, and
 * the operator is told.  The new config is otherwise taken whole: the
 * session durations, password length, cookie prefix, trusted origins,
 * rate-limit rules and trusted proxies apply to the requests that
 * follow the reload (counts already made go on in the same table).
 */
void
config_merge_restart_only(struct certaosd_config *old,
    struct certaosd_config *new)
{
	struct listen_list	 tmp;
	struct listen_config	*lo, *ln;
	unsigned char		 h[32];
	int			 same = 1;

	lo = TAILQ_FIRST(&old->listeners);
	ln = TAILQ_FIRST(&new->listeners);
	for (; lo != NULL && ln != NULL; lo = TAILQ_NEXT(lo, entry),
	    ln = TAILQ_NEXT(ln, entry))
		if (strcmp(lo->addr, ln->addr) != 0 || lo->port != ln->port ||
		    lo->tls != ln->tls)
			same = 0;
	if (lo != NULL || ln != NULL)
		same = 0;
	if (same) {
		/* The same sockets serve on, with new certificates. */
		lo = TAILQ_FIRST(&old->listeners);
		TAILQ_FOREACH(ln, &new->listeners, entry) {
			ln->fd = lo->fd;
			lo->fd = -1;
			lo = TAILQ_NEXT(lo, entry);
		}
	} else {
		log_warnx("reload: listen on changed: needs a restart, "
		    "keeping the running listeners");
		TAILQ_INIT(&tmp);
		TAILQ_CONCAT(&tmp, &new->listeners, entry);
		TAILQ_CONCAT(&new->listeners, &old->listeners, entry);
		TAILQ_CONCAT(&old->listeners, &tmp, entry);
	}
	if (old->prefork != new->prefork) {
		log_warnx("reload: prefork changed: needs a restart");
		new->prefork = old->prefork;
	}
	if (old->pw_workers != new->pw_workers) {
		log_warnx("reload: password workers changed: needs a restart");
		new->pw_workers = old->pw_workers;
	}
	if (strcmp(old->user, new->user) != 0 ||
	    strcmp(old->chroot, new->chroot) != 0) {
		log_warnx("reload: user or chroot changed: needs a restart");
		(void)strlcpy(new->user, old->user, sizeof(new->user));
		(void)strlcpy(new->chroot, old->chroot, sizeof(new->chroot));
	}
	if (strcmp(old->database, new->database) != 0 ||
	    old->db_pool != new->db_pool) {
		log_warnx("reload: database changed: needs a restart");
		(void)strlcpy(new->database, old->database,
		    sizeof(new->database));
		new->db_pool = old->db_pool;
	}
	if (old->rl_entries != new->rl_entries) {
		log_warnx("reload: rate-limit entries changed: needs a "
		    "restart");
		new->rl_entries = old->rl_entries;
	}
	if (strcmp(old->control_socket, new->control_socket) != 0) {
		log_warnx("reload: control socket changed: needs a restart");
		(void)strlcpy(new->control_socket, old->control_socket,
		    sizeof(new->control_socket));
	}
	/* Taken, but browsers holding the old cookies lose their session. */
	if (strcmp(old->cookie_prefix, new->cookie_prefix) != 0)
		log_warnx("reload: cookie prefix changed from \"%s\" to "
		    "\"%s\": signed-in browsers must sign in again",
		    old->cookie_prefix, new->cookie_prefix);
	if (new->secret != NULL) {
		secret_digest(new, h);
		if (!ct_equal(h, master.secret_hash, sizeof(h)))
			log_warnx("reload: the secret changed: needs a "
			    "restart, keeping the running one");
		explicit_bzero(h, sizeof(h));
	}
}
