/*
 * t_db: certaos-db against a real PostgreSQL.  The test plays the master:
 * it starts certaos-db with its channel on fd 3, configures it, hands it
 * peer channels (web, keys) with IMSG_CTL_PROCFD, and talks on them.
 * Each case that needs a database starts its own cluster (initdb into a
 * temporary directory, unix socket only) and stops it in its cleanup.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atf-c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certaos.h"
#include "authrec.h"
#include "imsg.h"
#include "msg.h"
#include "proc.h"
#include "../../libexec/certaos-db/db.h"

#define PGDIR_FILE	"pgdir"		/* in the work dir, for cleanup */
#define PGPORT		5432		/* the socket is in a private dir */

struct pg {
	char		 dir[PATH_MAX];
	char		 bindir[PATH_MAX];
	char		 conninfo[PATH_MAX + 64];
};

struct dbproc {
	pid_t		 pid;
	struct imsgbuf	 parent;
	struct imsgbuf	 web;
	struct imsgbuf	 keys;
	int		 have_web, have_keys;
	struct imsgbuf	 mail;
	int		 have_mail;
	char		 log[PATH_MAX];
	int		 notifies;	/* IMSG_DB_JWKS_NOTIFY seen on keys */
};

static uint32_t	 next_id = 100;

/* ---- helpers: processes and files ---- */

static int
run(const char *out, int as_pg, const char *const *argv)
{
	const char	*av[32];
	pid_t		 pid;
	int		 i, n = 0, status, fd;

	if (as_pg && geteuid() == 0) {
		av[n++] = "runuser";
		av[n++] = "-u";
		av[n++] = "postgres";
		av[n++] = "--";
	}
	for (i = 0; argv[i] != NULL && n < (int)nitems(av) - 1; i++)
		av[n++] = argv[i];
	av[n] = NULL;

	ATF_REQUIRE((pid = fork()) != -1);
	if (pid == 0) {
		fd = open(out != NULL ? out : "/dev/null",
		    O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(av[0], (char *const *)(uintptr_t)av);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

static char *
slurp(const char *path)
{
	static char	 buf[256 * 1024];
	ssize_t		 n;
	int		 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return (buf);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (buf);
}

static int
count_in_file(const char *path, const char *what)
{
	const char	*p;
	int		 n = 0;

	for (p = slurp(path); (p = strstr(p, what)) != NULL; p++)
		n++;
	return (n);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ---- PostgreSQL ---- */

static void
pg_init(struct pg *pg)
{
	glob_t		 g;
	FILE		*f;
	char		 data[PATH_MAX + 8];
	struct passwd	*pw;

	memset(pg, 0, sizeof(*pg));
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 ||
	    g.gl_pathc == 0)
		atf_tc_skip("PostgreSQL server binaries not installed");
	strlcpy(pg->bindir, g.gl_pathv[g.gl_pathc - 1], sizeof(pg->bindir));
	*strrchr(pg->bindir, '/') = '\0';
	globfree(&g);

	strlcpy(pg->dir, "/tmp/certaos-t_db.XXXXXX", sizeof(pg->dir));
	ATF_REQUIRE(mkdtemp(pg->dir) != NULL);
	ATF_REQUIRE((f = fopen(PGDIR_FILE, "w")) != NULL);
	fprintf(f, "%s\n%s\n", pg->dir, pg->bindir);
	fclose(f);
	ATF_REQUIRE(chmod(pg->dir, 0755) == 0);
	if (geteuid() == 0) {
		ATF_REQUIRE((pw = getpwnam("postgres")) != NULL);
		ATF_REQUIRE(chown(pg->dir, pw->pw_uid, pw->pw_gid) == 0);
	}
	snprintf(data, sizeof(data), "%s/data", pg->dir);
	{
		char		 initdb[PATH_MAX + 16], log[PATH_MAX + 16];
		const char	*av[] = { initdb, "-A", "trust", "-U",
				    "postgres", "-E", "UTF8", "--locale=C",
				    "-N", "-D", data, NULL };

		snprintf(initdb, sizeof(initdb), "%s/initdb", pg->bindir);
		snprintf(log, sizeof(log), "%s/initdb.log", pg->dir);
		if (run(log, 1, av) != 0)
			atf_tc_fail("initdb failed: %s", slurp(log));
	}
	snprintf(pg->conninfo, sizeof(pg->conninfo),
	    "host=%s port=%d dbname=postgres user=postgres", pg->dir, PGPORT);
}

static void
pg_ctl(const char *dir, const char *bindir, const char *what,
    const char *mode)
{
	char		 ctl[PATH_MAX + 16], data[PATH_MAX + 8];
	char		 log[PATH_MAX + 16], opts[PATH_MAX + 128];
	char		 out[PATH_MAX + 16];
	const char	*start[] = { ctl, "-D", data, "-l", log, "-w", "-t",
			    "60", "-o", opts, "start", NULL };
	const char	*stop[] = { ctl, "-D", data, "-m", mode, "-w", "stop",
			    NULL };

	snprintf(ctl, sizeof(ctl), "%s/pg_ctl", bindir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(log, sizeof(log), "%s/postgres.log", dir);
	snprintf(out, sizeof(out), "%s/pg_ctl.out", dir);
	snprintf(opts, sizeof(opts), "-k %s -p %d -c listen_addresses='' "
	    "-c fsync=off", dir, PGPORT);
	if (strcmp(what, "start") == 0) {
		if (run(out, 1, start) != 0)
			atf_tc_fail("pg_ctl start failed: %s", slurp(log));
	} else
		(void)run(out, 1, stop);
}

static void
pg_start(struct pg *pg)
{
	pg_ctl(pg->dir, pg->bindir, "start", NULL);
}

static void
pg_stop(struct pg *pg)
{
	pg_ctl(pg->dir, pg->bindir, "stop", "fast");
}

/* One psql query; the output (unaligned, tuples only) without its \n. */
static char *
pg_query(struct pg *pg, const char *sql)
{
	char		 psql[PATH_MAX + 16], out[PATH_MAX + 16];
	char		 port[16];
	const char	*av[] = { psql, "-X", "-At", "-h", pg->dir, "-p", port,
			    "-U", "postgres", "-d", "postgres", "-c", sql,
			    NULL };
	char		*s;
	size_t		 n;

	snprintf(psql, sizeof(psql), "%s/psql", pg->bindir);
	snprintf(out, sizeof(out), "%s/psql.out", pg->dir);
	snprintf(port, sizeof(port), "%d", PGPORT);
	if (run(out, 0, av) != 0)
		atf_tc_fail("psql %s: %s", sql, slurp(out));
	s = slurp(out);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	return (s);
}

/* A psql query that may fail: its exit status; pg_out() its output. */
static int
pg_try(struct pg *pg, const char *sql)
{
	char		 psql[PATH_MAX + 16], out[PATH_MAX + 16];
	char		 port[16];
	const char	*av[] = { psql, "-X", "-At", "-h", pg->dir, "-p", port,
			    "-U", "postgres", "-d", "postgres", "-c", sql,
			    NULL };

	snprintf(psql, sizeof(psql), "%s/psql", pg->bindir);
	snprintf(out, sizeof(out), "%s/psql.out", pg->dir);
	snprintf(port, sizeof(port), "%d", PGPORT);
	return (run(out, 0, av));
}

static const char *
pg_out(struct pg *pg)
{
	char	 out[PATH_MAX + 16];

	snprintf(out, sizeof(out), "%s/psql.out", pg->dir);
	return (slurp(out));
}

/* Signal the cluster's postmaster and its children (SIGSTOP: a hang). */
static void
pg_signal(struct pg *pg, int sig)
{
	DIR		*dir;
	struct dirent	*de;
	FILE		*f;
	char		 path[PATH_MAX + 32], comm[64], state;
	int		 pid, ppid, master, n = 0;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", pg->dir);
	ATF_REQUIRE((f = fopen(path, "r")) != NULL);
	ATF_REQUIRE(fscanf(f, "%d", &master) == 1);
	fclose(f);
	ATF_REQUIRE((dir = opendir("/proc")) != NULL);
	while ((de = readdir(dir)) != NULL) {
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%*d %63s %c %d", comm, &state, &ppid) == 3 &&
		    ppid == master && kill(pid, sig) == 0)
			n++;
		fclose(f);
	}
	closedir(dir);
	ATF_REQUIRE(kill(master, sig) == 0);
	ATF_REQUIRE(n > 0);
}

static void
pg_cleanup(void)
{
	FILE	*f;
	char	 dir[PATH_MAX], bindir[PATH_MAX];
	char	 cmd[2 * PATH_MAX];

	if ((f = fopen(PGDIR_FILE, "r")) == NULL)
		return;
	if (fgets(dir, sizeof(dir), f) != NULL &&
	    fgets(bindir, sizeof(bindir), f) != NULL) {
		dir[strcspn(dir, "\n")] = '\0';
		bindir[strcspn(bindir, "\n")] = '\0';
		pg_ctl(dir, bindir, "stop", "immediate");
		if (strncmp(dir, "/tmp/certaos-t_db.", 18) == 0) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
			(void)system(cmd);
		}
	}
	fclose(f);
}

/*
 * schema_migrations as psql shows it once every compiled-in migration
 * ran: "1|0001_init\n2|0002_accounts...", from the migrations
 * themselves, so that a new one needs no change here.
 */
static const char *
migrations_applied(void)
{
	static char	 buf[4096];
	size_t		 i;
	char		 line[128];

	buf[0] = '\0';
	for (i = 0; i < migrate_count(); i++) {
		snprintf(line, sizeof(line), "%s%d|%s", i > 0 ? "\n" : "",
		    atoi(migrate_name(i)), migrate_name(i));
		strlcat(buf, line, sizeof(buf));
	}
	return (buf);
}

/* ---- the certaos-db process ---- */

static void
db_spawn(const atf_tc_t *tc, struct dbproc *d, const char *log)
{
	char		 path[PATH_MAX];
	struct passwd	*pw;
	int		 sv[2], fd;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/libexec/certaos-db",
	    atf_tc_get_config_var(tc, "builddir"));
	ATF_REQUIRE_MSG(access(path, X_OK) == 0, "%s: %s", path,
	    strerror(errno));
	ATF_REQUIRE((pw = getpwuid(getuid())) != NULL);
	strlcpy(d->log, log, sizeof(d->log));
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	ATF_REQUIRE((d->pid = fork()) != -1);
	if (d->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1)
			dup2(fd, 2);
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		if (dup2(sv[1], PROC_PARENT_FD) == -1)
			_exit(126);
		closefrom(PROC_PARENT_FD + 1);
		execl(path, "certaos-db", "-P", "db", "-I", "0", "-u",
		    pw->pw_name, "-d", "-v", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ATF_REQUIRE(imsgbuf_init(&d->parent, sv[0]) == 0);
	imsgbuf_allow_fdpass(&d->parent);
}

static void
send_msg(struct imsgbuf *ib, uint32_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	ATF_REQUIRE(imsg_compose(ib, type, id, 0, fd, data, len) != -1);
	ATF_REQUIRE(imsgbuf_flush(ib) == 0);
}

/* 1: a message, 0: timeout, -1: the other end closed */
static int
recv_msg(struct imsgbuf *ib, struct imsg *imsg, int ms)
{
	struct timespec	 t0;
	struct pollfd	 pfd;
	ssize_t		 n;
	long		 left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ATF_REQUIRE((n = imsg_get(ib, imsg)) != -1);
		if (n > 0)
			return (1);
		if ((left = ms - elapsed_ms(&t0)) <= 0)
			return (0);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		switch (imsgbuf_read(ib)) {
		case 0:
			return (-1);
		case -1:
			if (errno != EAGAIN && errno != EINTR)
				return (-1);
		}
	}
}

/* The next message on a channel, NOTIFYs counted and skipped. */
static void
expect(struct dbproc *d, struct imsgbuf *ib, uint32_t type, uint32_t id,
    int ms, struct imsg *imsg)
{
	int	 r;

	for (;;) {
		r = recv_msg(ib, imsg, ms);
		ATF_REQUIRE_MSG(r != 0, "no answer (type %u) in %d ms", type,
		    ms);
		ATF_REQUIRE_MSG(r == 1, "channel closed waiting for type %u;"
		    " log: %s", type, slurp(d->log));
		if (imsg_get_type(imsg) == IMSG_DB_JWKS_NOTIFY &&
		    type != IMSG_DB_JWKS_NOTIFY) {
			ATF_REQUIRE_EQ(imsg_get_len(imsg), 0);
			d->notifies++;
			imsg_free(imsg);
			continue;
		}
		break;
	}
	ATF_REQUIRE_EQ_MSG(imsg_get_type(imsg), type, "got type %u, not %u",
	    imsg_get_type(imsg), type);
	ATF_REQUIRE_EQ(imsg_get_id(imsg), id);
}

static int32_t
expect_i32(struct dbproc *d, struct imsgbuf *ib, uint32_t type, uint32_t id,
    int ms)
{
	struct imsg	 imsg;
	struct mread	 mr;
	int32_t		 v;

	expect(d, ib, type, id, ms, &imsg);
	mread_init(&mr, &imsg);
	v = mread_i32(&mr);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (v);
}

static void
db_config_send(struct dbproc *d, const char *conninfo, uint32_t pool)
{
	struct cfg_db	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	strlcpy(cfg.conninfo, conninfo, sizeof(cfg.conninfo));
	cfg.pool = pool;
	/* the master always sends real values (update-age 0 is legal) */
	cfg.session_lifetime = CERTAOS_SESSION_LIFETIME;
	cfg.session_update = CERTAOS_SESSION_UPDATE;
	send_msg(&d->parent, IMSG_CFG_DB, 0, -1, &cfg, sizeof(cfg));
	send_msg(&d->parent, IMSG_CFG_DONE, 7, -1, NULL, 0);
}

static void
db_config_ack(struct dbproc *d)
{
	struct imsg	 imsg;

	expect(d, &d->parent, IMSG_CFG_ACK, 7, 10000, &imsg);
	ATF_REQUIRE_EQ(imsg_get_len(&imsg), 0);
	imsg_free(&imsg);
}

static void
db_peer(struct dbproc *d, enum certaos_proc proc)
{
	struct ctl_procfd	 pf;
	int			 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	pf.proc = proc;
	pf.instance = 0;
	send_msg(&d->parent, IMSG_CTL_PROCFD, 0, sv[1], &pf, sizeof(pf));
	if (proc == PROC_WEB) {
		ATF_REQUIRE(imsgbuf_init(&d->web, sv[0]) == 0);
		d->have_web = 1;
	} else if (proc == PROC_MAIL) {
		ATF_REQUIRE(imsgbuf_init(&d->mail, sv[0]) == 0);
		d->have_mail = 1;
	} else {
		ATF_REQUIRE(imsgbuf_init(&d->keys, sv[0]) == 0);
		d->have_keys = 1;
	}
}

/* A started process: configured, with web and keys channels. */
static void
db_start(const atf_tc_t *tc, struct dbproc *d, const char *log,
    const char *conninfo)
{
	db_spawn(tc, d, log);
	db_config_send(d, conninfo, 2);
	db_config_ack(d);
	db_peer(d, PROC_WEB);
	db_peer(d, PROC_KEYS);
}

static int32_t
db_ping(struct dbproc *d)
{
	uint32_t	 id = next_id++;

	send_msg(&d->web, IMSG_DB_PING, id, -1, NULL, 0);
	return (expect_i32(d, &d->web, IMSG_DB_PONG, id, 3000));
}

/* Wait until PING answers want; the milliseconds it took. */
static long
db_wait_ping(struct dbproc *d, int32_t want, int ms)
{
	struct timespec	 t0;
	long		 t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (db_ping(d) == want)
			return (elapsed_ms(&t0));
		t = elapsed_ms(&t0);
		ATF_REQUIRE_MSG(t < ms, "PONG %d not seen in %d ms; log: %s",
		    want, ms, slurp(d->log));
		usleep(50000);
	}
}

/* Exit status after the process ended by itself, within ms. */
static int
db_wait_exit(struct dbproc *d, int ms)
{
	struct timespec	 t0;
	int		 status;
	pid_t		 r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = waitpid(d->pid, &status, WNOHANG)) == 0) {
		if (elapsed_ms(&t0) > ms) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			atf_tc_fail("certaos-db still running after %d ms; "
			    "log: %s", ms, slurp(d->log));
		}
		usleep(20000);
	}
	ATF_REQUIRE(r == d->pid);
	return (status);
}

static void
db_jwk_fill(struct db_jwk *k, const char *kid, const char *alg,
    uint64_t created, int seed)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	strlcpy(k->kid, kid, sizeof(k->kid));
	strlcpy(k->alg, alg, sizeof(k->alg));
	snprintf(k->jwk, sizeof(k->jwk), "{\"kty\":\"RSA\",\"kid\":\"%s\","
	    "\"alg\":\"%s\",\"n\":\"quote\\\" 'single' \\\\ \"}", kid, alg);
	/* every byte value, NUL and 0xff included */
	k->sealed_len = 700;
	for (i = 0; i < k->sealed_len; i++)
		k->sealed[i] = (unsigned char)(i * 7 + seed);
	k->created = created;
}

static int32_t
db_insert(struct dbproc *d, const struct db_jwk *k)
{
	static struct mbuf	 mb;
	uint32_t		 id = next_id++;

	mbuf_init(&mb);
	ops_jwk_write(&mb, k);
	ATF_REQUIRE(mbuf_compose(&mb, &d->keys, IMSG_DB_JWKS_INSERT, id) == 0);
	ATF_REQUIRE(imsgbuf_flush(&d->keys) == 0);
	return (expect_i32(d, &d->keys, IMSG_DB_JWKS_INSERTED, id, 3000));
}

/* LOAD: the rows into rows[], the END value returned. */
static int32_t
db_load(struct dbproc *d, struct db_jwk *rows, int maxrows, int *nrows,
    int ms)
{
	struct imsg	 imsg;
	struct mread	 mr;
	uint32_t	 id = next_id++;
	int32_t		 v;

	*nrows = 0;
	send_msg(&d->keys, IMSG_DB_JWKS_LOAD, id, -1, NULL, 0);
	for (;;) {
		ATF_REQUIRE(recv_msg(&d->keys, &imsg, ms) == 1);
		if (imsg_get_type(&imsg) == IMSG_DB_JWKS_NOTIFY) {
			d->notifies++;
			imsg_free(&imsg);
			continue;
		}
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), id);
		if (imsg_get_type(&imsg) == IMSG_DB_JWKS_END)
			break;
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), IMSG_DB_JWKS_ROW);
		ATF_REQUIRE(*nrows < maxrows);
		ATF_REQUIRE(ops_jwk_read(&imsg, &rows[*nrows]) == 0);
		(*nrows)++;
		imsg_free(&imsg);
	}
	mread_init(&mr, &imsg);
	v = mread_i32(&mr);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (v);
}

static void
same_jwk(const struct db_jwk *a, const struct db_jwk *b)
{
	ATF_CHECK_STREQ(a->kid, b->kid);
	ATF_CHECK_STREQ(a->alg, b->alg);
	ATF_CHECK_STREQ(a->jwk, b->jwk);
	ATF_CHECK_EQ(a->sealed_len, b->sealed_len);
	ATF_CHECK(memcmp(a->sealed, b->sealed, a->sealed_len) == 0);
	ATF_CHECK_EQ(a->created, b->created);
}

/* ---- accounts and sessions: payloads, requests, answers ---- */

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A token hash: every seed its own, NUL bytes included. */
static void
hash_fill(unsigned char *h, int seed)
{
	size_t	 i;

	for (i = 0; i < DB_HASH_LEN; i++)
		h[i] = (unsigned char)(seed + i * 37);
}

/* The hex of hash_fill(seed), as SQL: decode('...', 'hex'). */
static const char *
hash_sql(int seed)
{
	static char	 buf[DB_HASH_LEN * 2 + 32];
	unsigned char	 h[DB_HASH_LEN];
	char		 hex[DB_HASH_LEN * 2 + 1];

	hash_fill(h, seed);
	ATF_REQUIRE(hex_encode(h, sizeof(h), hex, sizeof(hex)) ==
	    DB_HASH_LEN * 2);
	snprintf(buf, sizeof(buf), "decode('%s', 'hex')", hex);
	return (buf);
}

static void
mb_send(struct imsgbuf *ib, struct mbuf *mb, uint32_t type, uint32_t id)
{
	ATF_REQUIRE(mbuf_compose(mb, ib, type, id) == 0);
	ATF_REQUIRE(imsgbuf_flush(ib) == 0);
}

/* i32 status, and the record when it is AUTH_OK, within ms. */
static int32_t
auth_reply_ms(struct dbproc *d, struct imsgbuf *ib, uint32_t type,
    uint32_t id, struct auth_rec *r, int ms)
{
	struct imsg	 imsg;
	struct mread	 mr;
	int32_t		 status;

	expect(d, ib, type, id, ms, &imsg);
	mread_init(&mr, &imsg);
	status = mread_i32(&mr);
	memset(r, 0, sizeof(*r));
	if (status == AUTH_OK)
		ATF_REQUIRE(authrec_read(&mr, r) == 0);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (status);
}

static int32_t
auth_reply(struct dbproc *d, struct imsgbuf *ib, uint32_t type, uint32_t id,
    struct auth_rec *r)
{
	return (auth_reply_ms(d, ib, type, id, r, 5000));
}

static int32_t
db_signup(struct dbproc *d, const char *email, const char *name,
    const char *image, const char *pwhash, int seed, uint64_t expires,
    struct auth_rec *r)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN];
	uint32_t		 id = next_id++;

	hash_fill(h, seed);
	mbuf_init(&mb);
	mbuf_str(&mb, email);
	mbuf_str(&mb, name);
	mbuf_nstr(&mb, image != NULL, image);
	mbuf_str(&mb, pwhash);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_u64(&mb, expires);
	mbuf_str(&mb, "192.0.2.1");
	mbuf_str(&mb, "t_db/1.0");
	mbuf_u32(&mb, 1);		/* a session */
	mbuf_u32(&mb, 0);		/* no mail */
	mbuf_bytes(&mb, "", 0);		/* no invitation */
	mb_send(&d->keys, &mb, IMSG_DB_SIGNUP, id);
	return (auth_reply(d, &d->keys, IMSG_DB_AUTH_REPLY, id, r));
}

static int32_t
db_cred(struct dbproc *d, const char *email, char *uid, size_t uidsz,
    char *pw, size_t pwsz)
{
	static struct mbuf	 mb;
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 id = next_id++;
	int32_t			 status;

	mbuf_init(&mb);
	mbuf_str(&mb, email);
	mb_send(&d->keys, &mb, IMSG_DB_CRED_GET, id);
	expect(d, &d->keys, IMSG_DB_CRED, id, 5000, &imsg);
	mread_init(&mr, &imsg);
	status = mread_i32(&mr);
	(void)mread_str(&mr, uid, uidsz);
	(void)mread_str(&mr, pw, pwsz);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (status);
}

static int32_t
db_session_new(struct dbproc *d, const char *uid, int seed,
    uint64_t expires, struct auth_rec *r)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN];
	uint32_t		 id = next_id++;

	hash_fill(h, seed);
	mbuf_init(&mb);
	mbuf_str(&mb, uid);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_u64(&mb, expires);
	mbuf_str(&mb, "2001:db8::1");
	mbuf_str(&mb, "");
	mb_send(&d->keys, &mb, IMSG_DB_SESSION_NEW, id);
	return (auth_reply(d, &d->keys, IMSG_DB_AUTH_REPLY, id, r));
}

/* Asked by keys, answered to web (instance 0: the test's only one). */
static void
db_session_send(struct dbproc *d, uint32_t instance, uint32_t op, int seed,
    uint32_t id)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN];

	hash_fill(h, seed);
	mbuf_init(&mb);
	mbuf_u32(&mb, instance);
	mbuf_u32(&mb, op);
	mbuf_bytes(&mb, h, sizeof(h));
	if (op == AUTH_OP_DELETE) {
		mbuf_str(&mb, "192.0.2.9");
		mbuf_str(&mb, "t_db/1.0");
	}
	mb_send(&d->keys, &mb, IMSG_DB_SESSION_GET, id);
}

static int32_t
db_session(struct dbproc *d, uint32_t op, int seed, struct auth_rec *r)
{
	uint32_t	 id = next_id++;

	db_session_send(d, 0, op, seed, id);
	return (auth_reply(d, &d->web, IMSG_DB_SESSION_INFO, id, r));
}

static void
db_config_session(struct dbproc *d, const char *conninfo, uint32_t lifetime,
    uint32_t update)
{
	struct cfg_db	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	strlcpy(cfg.conninfo, conninfo, sizeof(cfg.conninfo));
	cfg.pool = 2;
	cfg.session_lifetime = lifetime;
	cfg.session_update = update;
	send_msg(&d->parent, IMSG_CFG_DB, 0, -1, &cfg, sizeof(cfg));
	send_msg(&d->parent, IMSG_CFG_DONE, 7, -1, NULL, 0);
}

/*
 * IMSG_DB_SESSION_OP asked as the session of seed, the target the hash
 * of tseed (none if < 0) and/or a handle: the rows (at most max) and the
 * answer's status and record.
 */
static int32_t
db_session_op(struct dbproc *d, uint32_t op, int seed, int tseed,
    const char *handle, struct auth_session *rows, uint32_t *current,
    int max, int *nrows, struct auth_rec *r)
{
	static struct mbuf	 mb;
	static struct auth_session s;
	unsigned char		 h[DB_HASH_LEN], t[DB_HASH_LEN];
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 id = next_id++, cur;
	int32_t			 status;

	hash_fill(h, seed);
	hash_fill(t, tseed);
	mbuf_init(&mb);
	mbuf_u32(&mb, 0);
	mbuf_u32(&mb, op);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_bytes(&mb, t, tseed >= 0 ? sizeof(t) : 0);
	mbuf_str(&mb, handle);
	mbuf_str(&mb, "192.0.2.9");
	mbuf_str(&mb, "t_db/1.0");
	mb_send(&d->keys, &mb, IMSG_DB_SESSION_OP, id);
	*nrows = 0;
	for (;;) {
		ATF_REQUIRE_MSG(recv_msg(&d->web, &imsg, 5000) == 1,
		    "no answer to IMSG_DB_SESSION_OP; log: %s",
		    slurp(d->log));
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), id);
		if (imsg_get_type(&imsg) != IMSG_DB_SESSION_ROW)
			break;
		mread_init(&mr, &imsg);
		ATF_REQUIRE(authrec_read_session(&mr, &s) == 0);
		cur = mread_u32(&mr);
		ATF_REQUIRE_EQ(mread_end(&mr), 0);
		ATF_REQUIRE(cur == 0 || cur == 1);
		ATF_REQUIRE(*nrows < max);
		rows[*nrows] = s;
		current[*nrows] = cur;
		(*nrows)++;
		imsg_free(&imsg);
	}
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), IMSG_DB_SESSION_INFO);
	mread_init(&mr, &imsg);
	status = mread_i32(&mr);
	memset(r, 0, sizeof(*r));
	if (status == AUTH_OK)
		ATF_REQUIRE(authrec_read(&mr, r) == 0);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (status);
}

/* IMSG_DB_SESSION_CRED: like db_cred, for the session of seed */
static int32_t
db_session_cred(struct dbproc *d, int seed, char *uid, size_t uidsz,
    char *pw, size_t pwsz)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN];
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 id = next_id++;
	int32_t			 status;

	hash_fill(h, seed);
	mbuf_init(&mb);
	mbuf_bytes(&mb, h, sizeof(h));
	mb_send(&d->keys, &mb, IMSG_DB_SESSION_CRED, id);
	expect(d, &d->keys, IMSG_DB_CRED, id, 5000, &imsg);
	mread_init(&mr, &imsg);
	status = mread_i32(&mr);
	(void)mread_str(&mr, uid, uidsz);
	(void)mread_str(&mr, pw, pwsz);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (status);
}

/* IMSG_DB_PW_SET as the session of seed; nseed < 0: no revoke */
static int32_t
db_pw_set(struct dbproc *d, int seed, const char *uid, const char *pwhash,
    int nseed, struct auth_rec *r)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN], nh[DB_HASH_LEN];
	uint32_t		 id = next_id++;

	hash_fill(h, seed);
	hash_fill(nh, nseed);
	mbuf_init(&mb);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_str(&mb, uid);
	mbuf_str(&mb, pwhash);
	mbuf_u32(&mb, nseed >= 0);
	mbuf_bytes(&mb, nh, nseed >= 0 ? sizeof(nh) : 0);
	mbuf_u64(&mb, now_ms() + 86400000);
	mbuf_str(&mb, "198.51.100.7");
	mbuf_str(&mb, "t_db/pw");
	mb_send(&d->keys, &mb, IMSG_DB_PW_SET, id);
	return (auth_reply(d, &d->keys, IMSG_DB_AUTH_REPLY, id, r));
}

/* IMSG_DB_PW_REHASH: no answer */
static void
db_pw_rehash(struct dbproc *d, const char *uid, const char *old,
    const char *new)
{
	static struct mbuf	 mb;

	mbuf_init(&mb);
	mbuf_str(&mb, uid);
	mbuf_str(&mb, old);
	mbuf_str(&mb, new);
	mb_send(&d->keys, &mb, IMSG_DB_PW_REHASH, 0);
}

/* IMSG_DB_USER_UPDATE as the session of seed, answered to web */
static int32_t
db_user_update(struct dbproc *d, int seed, uint32_t mask, const char *name,
    const char *image, struct auth_rec *r)
{
	static struct mbuf	 mb;
	unsigned char		 h[DB_HASH_LEN];
	uint32_t		 id = next_id++;

	hash_fill(h, seed);
	mbuf_init(&mb);
	mbuf_u32(&mb, 0);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_u32(&mb, mask);
	mbuf_str(&mb, name);
	mbuf_nstr(&mb, image != NULL, image);
	mb_send(&d->keys, &mb, IMSG_DB_USER_UPDATE, id);
	return (auth_reply(d, &d->web, IMSG_DB_SESSION_INFO, id, r));
}

/* The id of the session of seed, by psql. */
static const char *
session_id(struct pg *pg, int seed)
{
	static char	 id[CERTAOS_MAX_ID + 1];
	char		 sql[256];

	snprintf(sql, sizeof(sql), "SELECT id FROM sessions WHERE "
	    "token_hash = %s", hash_sql(seed));
	strlcpy(id, pg_query(pg, sql), sizeof(id));
	return (id);
}

/* A change no trigger announces (replica role): only a miss sees it. */
static void
pg_quiet_ua(struct pg *pg, int seed, const char *ua)
{
	char	 sql[512];

	snprintf(sql, sizeof(sql), "SET session_replication_role = replica;"
	    " UPDATE sessions SET user_agent = '%s' WHERE token_hash = %s",
	    ua, hash_sql(seed));
	(void)pg_query(pg, sql);
}

/*
 * get-session until it answers want (and, for AUTH_OK, with user agent
 * ua if not NULL), for at most ms: the ms it took.
 */
static long
db_session_until(struct dbproc *d, int seed, int32_t want, const char *ua,
    int ms, struct auth_rec *r)
{
	struct timespec	 t0;
	uint32_t	 id;
	int32_t		 st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* a request on a hung connection ends after its timeout */
		id = next_id++;
		db_session_send(d, 0, AUTH_OP_GET, seed, id);
		st = auth_reply_ms(d, &d->web, IMSG_DB_SESSION_INFO, id, r,
		    (CERTAOS_DB_TIMEOUT + 3) * 1000);
		if (st == want && (want != AUTH_OK || ua == NULL ||
		    strcmp(r->s.ua, ua) == 0))
			return (elapsed_ms(&t0));
		ATF_REQUIRE_MSG(elapsed_ms(&t0) < ms, "session %d: status %d "
		    "ua \"%s\", not %d \"%s\" after %d ms", seed, st, r->s.ua,
		    want, ua != NULL ? ua : "", ms);
		usleep(10000);
	}
}

/* Wait for the n-th time the log says what. */
static void
db_wait_log(struct dbproc *d, const char *what, int n, int ms)
{
	struct timespec	 t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (count_in_file(d->log, what) < n) {
		ATF_REQUIRE_MSG(elapsed_ms(&t0) < ms, "\"%s\" not %d times in "
		    "the log after %d ms: %s", what, n, ms, slurp(d->log));
		usleep(20000);
	}
}

/* a is within slack ms of b */
#define CHECK_NEAR(a, b, slack)						\
	ATF_CHECK_MSG((a) + (slack) >= (b) && (a) <= (b) + (slack),	\
	    "%s = %llu, not within %d ms of %llu", #a,			\
	    (unsigned long long)(a), (int)(slack), (unsigned long long)(b))

/* ---- payloads parsed in process (ops_req_read) ---- */

/* A message's fields: 's' string, 'n' nullable string, 'b' token hash,
 * 't' a hash or nothing, 'e' nothing or a hash, 'U' expiry (ms), 'u'
 * u32, 'r' u32 op (a revoke by default); max is the string bound. */
struct fld {
	char	 type;
	size_t	 max;
};

static const struct fld signup_flds[] = {
	{ 's', CERTAOS_MAX_EMAIL }, { 's', CERTAOS_MAX_NAME },
	{ 'n', CERTAOS_MAX_IMAGE }, { 's', CERTAOS_MAX_PWHASH },
	{ 'b', DB_HASH_LEN }, { 'U', 0 }, { 's', CERTAOS_MAX_IP },
	{ 's', CERTAOS_MAX_UA }, { 'z', 0 }, { 'z', 0 }, { 't', DB_HASH_LEN },
	{ 0, 0 }
};
static const struct fld cred_flds[] = {
	{ 's', CERTAOS_MAX_EMAIL }, { 0, 0 }
};
static const struct fld new_flds[] = {
	{ 's', CERTAOS_MAX_ID }, { 'b', DB_HASH_LEN }, { 'U', 0 },
	{ 's', CERTAOS_MAX_IP }, { 's', CERTAOS_MAX_UA }, { 0, 0 }
};
static const struct fld get_flds[] = {
	{ 'u', 0 }, { 'u', 0 }, { 'b', DB_HASH_LEN }, { 0, 0 }
};
static const struct fld scred_flds[] = {
	{ 'b', DB_HASH_LEN }, { 0, 0 }
};
static const struct fld pwset_flds[] = {
	{ 'b', DB_HASH_LEN }, { 's', CERTAOS_MAX_ID },
	{ 's', CERTAOS_MAX_PWHASH }, { 'u', 0 }, { 'e', DB_HASH_LEN },
	{ 'U', 0 }, { 's', CERTAOS_MAX_IP }, { 's', CERTAOS_MAX_UA }, { 0, 0 }
};
static const struct fld rehash_flds[] = {
	{ 's', CERTAOS_MAX_ID }, { 's', CERTAOS_MAX_PWHASH },
	{ 's', CERTAOS_MAX_PWHASH }, { 0, 0 }
};
static const struct fld uupd_flds[] = {
	{ 'u', 0 }, { 'b', DB_HASH_LEN }, { 'u', 0 },
	{ 's', CERTAOS_MAX_NAME }, { 'n', CERTAOS_MAX_IMAGE }, { 0, 0 }
};
static const struct fld op_flds[] = {
	{ 'u', 0 }, { 'r', 0 }, { 'b', DB_HASH_LEN }, { 't', DB_HASH_LEN },
	{ 's', CERTAOS_MAX_ID }, { 's', CERTAOS_MAX_IP },
	{ 's', CERTAOS_MAX_UA }, { 0, 0 }
};

/*
 * A valid payload, but field "which" is len long (strings, hashes) or
 * has the value len (numbers, the nullable's flag).  u32 fields default
 * to instance 0 and AUTH_OP_GET; 'z' ones to 0.
 */
static void
build(struct mbuf *mb, const struct fld *f, int which, size_t len)
{
	static char	 str[4096];
	unsigned char	 h[DB_HASH_LEN + 8];
	size_t		 n;
	int		 i, u = 0;

	mbuf_init(mb);
	for (i = 0; f[i].type != 0; i++) {
		switch (f[i].type) {
		case 's':
		case 'n':
			n = i == which && f[i].type == 's' ? len : 5;
			ATF_REQUIRE(n < sizeof(str));
			memset(str, 'a' + i, n);
			str[n] = '\0';
			if (f[i].type == 'n')
				mbuf_u32(mb, i == which ? len : 1);
			mbuf_str(mb, str);
			break;
		case 'b':
		case 't':
		case 'e':
			n = i == which ? len : f[i].type == 'e' ? 0 :
			    DB_HASH_LEN;
			ATF_REQUIRE(n <= sizeof(h));
			memset(h, 0xa5, sizeof(h));
			mbuf_bytes(mb, h, n);
			break;
		case 'r':
			mbuf_u32(mb, i == which ? len : AUTH_OP_REVOKE);
			break;
		case 'z':
			mbuf_u32(mb, i == which ? len : 0);
			break;
		case 'U':
			mbuf_u64(mb, i == which ? len : now_ms() + 86400000);
			break;
		case 'u':
			if (i == which)
				mbuf_u32(mb, len);
			else
				mbuf_u32(mb, u == 0 ? 0 : AUTH_OP_GET);
			u++;
			break;
		}
	}
	ATF_REQUIRE(mb->err == 0);
}

/* ops_req_read() on the first len bytes of mb. */
static int
parse_len(struct mbuf *mb, size_t len, enum db_op op, struct db_req *req)
{
	static unsigned char	 buf[MAX_IMSGSIZE];
	struct imsg		 imsg;

	ATF_REQUIRE(len <= sizeof(buf));
	memcpy(buf, mb->buf, len);
	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_NONE;
	imsg.hdr.len = IMSG_HEADER_SIZE + len;
	imsg.data = len > 0 ? buf : NULL;
	imsg.fd = -1;
	return (ops_req_read(&imsg, op, req));
}

/*
 * Every message: whole it parses, cut anywhere or with a byte more it
 * does not; every string at its limit parses, one byte over does not.
 */
static void
check_fields(const char *what, const struct fld *f, enum db_op op)
{
	static struct mbuf	 mb, mb2;
	static struct db_req	 req;
	size_t			 k;
	int			 i;

	build(&mb, f, -1, 0);
	ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == 0, "%s whole",
	    what);
	for (k = 0; k < mb.len; k++)
		ATF_CHECK_MSG(parse_len(&mb, k, op, &req) == -1,
		    "%s cut at %zu of %zu parsed", what, k, mb.len);
	mb2 = mb;
	mbuf_u32(&mb2, 0);
	ATF_CHECK_MSG(parse_len(&mb2, mb.len + 1, op, &req) == -1,
	    "%s with a byte more parsed", what);
	ATF_CHECK_MSG(parse_len(&mb2, mb2.len, op, &req) == -1,
	    "%s with a field more parsed", what);

	for (i = 0; f[i].type != 0; i++) {
		switch (f[i].type) {
		case 's':
			build(&mb, f, i, f[i].max);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == 0,
			    "%s field %d at its limit %zu", what, i, f[i].max);
			build(&mb, f, i, f[i].max + 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s field %d over its limit", what, i);
			break;
		case 'n':
			build(&mb, f, i, 0);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == 0,
			    "%s field %d null", what, i);
			build(&mb, f, i, 2);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s field %d presence 2", what, i);
			break;
		case 'e':
			build(&mb, f, i, DB_HASH_LEN);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s a hash where none belongs", what);
			break;
		case 't':
			build(&mb, f, i, 0);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == 0,
			    "%s no target hash", what);
			build(&mb, f, i, DB_HASH_LEN - 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s short target hash", what);
			build(&mb, f, i, DB_HASH_LEN + 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s long target hash", what);
			break;
		case 'b':
			build(&mb, f, i, DB_HASH_LEN - 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s short hash", what);
			build(&mb, f, i, DB_HASH_LEN + 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s long hash", what);
			build(&mb, f, i, 0);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s empty hash", what);
			break;
		case 'U':
			build(&mb, f, i, 0);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s expiry 0", what);
			build(&mb, f, i, DB_MAX_MS);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == 0,
			    "%s expiry at its limit", what);
			build(&mb, f, i, DB_MAX_MS + 1);
			ATF_CHECK_MSG(parse_len(&mb, mb.len, op, &req) == -1,
			    "%s expiry over its limit", what);
			break;
		}
	}
}

/* ---- result rows made by hand (ops_rec_get) ---- */

#define REC_NCOLS	19

static void
rec_set(PGresult *res, int col, const void *v, int len)
{
	ATF_REQUIRE(PQsetvalue(res, 0, col, (char *)(uintptr_t)v, len) == 1);
}

static void
rec_set_str(PGresult *res, int col, const char *s)
{
	rec_set(res, col, s, s == NULL ? -1 : (int)strlen(s));
}

static void
rec_set_ms(PGresult *res, int col, uint64_t ms)
{
	uint64_t	 be = htobe64(ms);

	rec_set(res, col, &be, sizeof(be));
}

static void
rec_set_bool(PGresult *res, int col, int v)
{
	char	 b = v;

	rec_set(res, col, &b, 1);
}

/* A good row: a session and its user as the statements return them. */
static PGresult *
rec_result(void)
{
	static char	 cname[] = "c";
	PGresAttDesc	 attrs[REC_NCOLS];
	PGresult	*res;
	int		 i;

	memset(attrs, 0, sizeof(attrs));
	for (i = 0; i < REC_NCOLS; i++) {
		attrs[i].name = cname;
		attrs[i].format = 1;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ATF_REQUIRE((res = PQmakeEmptyPGresult(NULL,
	    PGRES_TUPLES_OK)) != NULL);
	ATF_REQUIRE(PQsetResultAttrs(res, REC_NCOLS, attrs) == 1);
	rec_set_str(res, 0, "sess0123");
	rec_set_ms(res, 1, 1800000000123ULL);
	rec_set_ms(res, 2, 1700000000000ULL);
	rec_set_ms(res, 3, 1700000000456ULL);
	rec_set_str(res, 4, "");
	rec_set_str(res, 5, "curl/8");
	rec_set_str(res, 6, "user0123");
	rec_set_str(res, 7, "user0123");
	rec_set_str(res, 8, "");
	rec_set_str(res, 9, "a@example.com");
	rec_set_bool(res, 10, 1);
	rec_set_str(res, 11, NULL);
	rec_set_ms(res, 12, 1600000000000ULL);
	rec_set_ms(res, 13, 1600000000001ULL);
	rec_set_str(res, 14, "user");
	rec_set_bool(res, 15, 0);
	rec_set_str(res, 16, NULL);
	rec_set(res, 17, NULL, -1);
	rec_set_bool(res, 18, 0);
	return (res);
}

/* ops_rec_get() of a good row with column col changed. */
static int
rec_try(int col, const void *v, int len)
{
	static struct auth_rec	 r;
	PGresult		*res;
	int			 rv;

	res = rec_result();
	if (col >= 0)
		rec_set(res, col, v, len);
	rv = ops_rec_get(res, 0, &r);
	PQclear(res);
	return (rv);
}

static int
rec_try_len(int col, char c, size_t len)
{
	static char	 buf[4096];

	ATF_REQUIRE(len <= sizeof(buf));
	memset(buf, c, len);
	return (rec_try(col, buf, (int)len));
}

#define NEEDS_PG(name, secs)						\
ATF_TC_WITH_CLEANUP(name);						\
ATF_TC_HEAD(name, tc)							\
{									\
	atf_tc_set_md_var(tc, "require.config", "builddir");		\
	atf_tc_set_md_var(tc, "timeout", #secs);			\
}									\
ATF_TC_CLEANUP(name, tc)						\
{									\
	pg_cleanup();							\
}

/* ---- the cases ---- */

NEEDS_PG(jwks, 120);
ATF_TC_BODY(jwks, tc)
{
	static struct db_jwk	 k1, k2, k3, rows[4];
	struct dbproc		 d;
	struct pg		 pg;
	struct ctl_status	 st;
	struct imsg		 imsg;
	struct timespec		 t0;
	time_t			 now;
	int			 n;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);

	/* an empty table: no rows, END 1 */
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 3000), 1);
	ATF_CHECK_EQ(n, 0);

	db_jwk_fill(&k1, "kid-rs-1", "RS256", 1700000000, 1);
	db_jwk_fill(&k2, "kid-rs-2", "RS256", 1700000001, 2);
	db_jwk_fill(&k3, "kid-es-1", "ES256", 0, 3);
	ATF_CHECK_EQ(db_insert(&d, &k1), 1);
	/* another current key for the same alg loses */
	ATF_CHECK_EQ(db_insert(&d, &k2), 0);
	/* the same kid under another alg loses too */
	strlcpy(k2.kid, k1.kid, sizeof(k2.kid));
	strlcpy(k2.alg, "EdDSA", sizeof(k2.alg));
	ATF_CHECK_EQ(db_insert(&d, &k2), 0);
	ATF_CHECK_EQ(db_insert(&d, &k3), 1);

	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 3000), 1);
	ATF_REQUIRE_EQ(n, 2);
	/* ordered by created_at: k1 (2023) before k3 (now) */
	same_jwk(&rows[0], &k1);
	now = time(NULL);
	ATF_CHECK(rows[1].created + 60 > (uint64_t)now &&
	    rows[1].created < (uint64_t)now + 60);
	k3.created = rows[1].created;
	same_jwk(&rows[1], &k3);

	/* what the database holds, seen by psql */
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT version, name FROM "
	    "schema_migrations ORDER BY version"), migrations_applied());
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT kid || ' ' || alg || ' ' || "
	    "length(private_sealed) FROM jwks ORDER BY kid"),
	    "kid-es-1 ES256 700\nkid-rs-1 RS256 700");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM pg_indexes "
	    "WHERE indexname = 'jwks_current_alg'"), "1");
	ATF_CHECK_EQ(count_in_file(d.log, "migrations: applied 0001_init"),
	    1);

	/* our own inserts were announced; so is another instance's */
	ATF_CHECK(d.notifies >= 1);
	d.notifies = 0;
	pg_query(&pg, "INSERT INTO jwks (kid, alg, public_jwk, "
	    "private_sealed) VALUES ('other', 'EdDSA', '{}', '\\x00')");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect(&d, &d.keys, IMSG_DB_JWKS_NOTIFY, 0, 3000, &imsg);
	imsg_free(&imsg);
	ATF_CHECK(elapsed_ms(&t0) < 2000);

	/* status to the parent */
	send_msg(&d.parent, IMSG_CTL_STATUS, 9, -1, NULL, 0);
	expect(&d, &d.parent, IMSG_CTL_STATUS_REPLY, 9, 3000, &imsg);
	ATF_REQUIRE(imsg_get_data(&imsg, &st, sizeof(st)) == 0);
	imsg_free(&imsg);
	ATF_CHECK_EQ(st.proc, PROC_DB);
	ATF_CHECK_EQ(st.instance, 0);
	ATF_CHECK_EQ(st.pid, d.pid);
	ATF_CHECK_EQ(st.db_ok, 1);
	ATF_CHECK(st.started <= time(NULL) && st.started > time(NULL) - 120);
}

NEEDS_PG(outage, 180);
ATF_TC_BODY(outage, tc)
{
	static struct db_jwk	 k, rows[4];
	struct dbproc		 d;
	struct pg		 pg;
	struct imsg		 imsg;
	struct timespec		 t0;
	long			 ms;
	char			 want[32];
	int			 n;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);
	db_jwk_fill(&k, "kid-1", "RS256", 1700000000, 1);
	ATF_REQUIRE_EQ(db_insert(&d, &k), 1);

	/* the server goes away while the pool is idle */
	d.notifies = 0;
	pg_stop(&pg);
	ms = db_wait_ping(&d, 0, 2000);
	printf("PONG 0 %ld ms after pg_ctl stop returned\n", ms);

	/* every request fails fast */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 1000), 0);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_EQ(db_insert(&d, &k), -1);
	ATF_CHECK(elapsed_ms(&t0) < 500);
	ATF_CHECK_EQ(db_ping(&d), 0);

	/* back without restarting certaos-db */
	sleep(2);
	pg_start(&pg);
	ms = db_wait_ping(&d, 1, 25000);
	printf("PONG 1 %ld ms after pg_ctl start returned\n", ms);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 3000), 1);
	ATF_REQUIRE_EQ(n, 1);
	same_jwk(&rows[0], &k);
	/* LISTEN again: keys is told, changes may have been missed */
	if (d.notifies == 0) {
		expect(&d, &d.keys, IMSG_DB_JWKS_NOTIFY, 0, 3000, &imsg);
		imsg_free(&imsg);
	}
	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
	ATF_CHECK(count_in_file(d.log, "database unavailable") >= 1);
	ATF_CHECK(count_in_file(d.log, "database available") >= 2);
	/* migrations ran once; the reconnect found them done */
	snprintf(want, sizeof(want), "%zu", migrate_count());
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM "
	    "schema_migrations"), want);
}

/*
 * A server that hangs (SIGSTOP) instead of closing: requests are answered
 * "unavailable" after CERTAOS_DB_TIMEOUT, the liveness check notices the
 * idle connections, and service resumes when the server does.
 */
NEEDS_PG(hung_server, 150);
ATF_TC_BODY(hung_server, tc)
{
	static struct db_jwk	 rows[4];
	struct dbproc		 d;
	struct pg		 pg;
	struct timespec		 t0;
	long			 ms;
	int			 n;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);

	pg_signal(&pg, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, (CERTAOS_DB_TIMEOUT + 3) * 1000),
	    0);
	ms = elapsed_ms(&t0);
	printf("LOAD failed after %ld ms\n", ms);
	ATF_CHECK(ms >= (CERTAOS_DB_TIMEOUT - 1) * 1000);
	/* the other connection is found dead by the liveness check */
	ms = db_wait_ping(&d, 0,
	    (DB_LIVENESS + CERTAOS_DB_TIMEOUT + 3) * 1000);
	printf("PONG 0 after %ld more ms\n", ms);
	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);

	pg_signal(&pg, SIGCONT);
	ms = db_wait_ping(&d, 1, 30000);
	printf("PONG 1 %ld ms after SIGCONT\n", ms);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 3000), 1);
	ATF_CHECK(count_in_file(d.log,
	    "database unavailable: no answer in time") == 1);
}

NEEDS_PG(start_down, 120);
ATF_TC_BODY(start_down, tc)
{
	static struct db_jwk	 rows[4];
	static struct auth_rec	 r;
	char			 uid[CERTAOS_MAX_ID + 1];
	char			 pw[CERTAOS_MAX_PWHASH + 1];
	struct dbproc		 d;
	struct pg		 pg;
	struct timespec		 t0;
	int			 n;

	pg_init(&pg);		/* not started */
	db_start(tc, &d, "db.log", pg.conninfo);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(db_ping(&d), 0);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 1000), 0);
	/* accounts and sessions: unavailable, at once, to whom it may be */
	ATF_CHECK_EQ(db_signup(&d, "a@example.com", "A", NULL, "$x", 1,
	    now_ms() + 60000, &r), AUTH_UNAVAILABLE);
	ATF_CHECK_EQ(db_cred(&d, "a@example.com", uid, sizeof(uid), pw,
	    sizeof(pw)), -1);
	ATF_CHECK_STREQ(uid, "");
	ATF_CHECK_STREQ(pw, "");
	ATF_CHECK_EQ(db_session_new(&d, "u", 1, now_ms() + 60000, &r),
	    AUTH_UNAVAILABLE);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_UNAVAILABLE);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_DELETE, 1, &r), AUTH_UNAVAILABLE);
	ATF_CHECK(elapsed_ms(&t0) < 500);

	pg_start(&pg);
	db_wait_ping(&d, 1, 25000);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 3000), 1);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_EQ(count_in_file(d.log, "migrations: applied 0001_init"),
	    1);
}

NEEDS_PG(two_instances, 120);
ATF_TC_BODY(two_instances, tc)
{
	struct dbproc	 d1, d2;
	struct pg	 pg;
	char		 want[64];
	int		 a1, a2, u1, u2;

	pg_init(&pg);
	pg_start(&pg);
	/* both configured before either answers: they race for the lock */
	db_spawn(tc, &d1, "db1.log");
	db_spawn(tc, &d2, "db2.log");
	db_config_send(&d1, pg.conninfo, 4);
	db_config_send(&d2, pg.conninfo, 4);
	db_config_ack(&d1);
	db_config_ack(&d2);
	db_peer(&d1, PROC_WEB);
	db_peer(&d2, PROC_WEB);
	db_wait_ping(&d1, 1, 20000);
	db_wait_ping(&d2, 1, 20000);

	snprintf(want, sizeof(want), "%zu %d", migrate_count(),
	    migrate_latest());
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) || ' ' || max(version)"
	    " FROM schema_migrations"), want);
	snprintf(want, sizeof(want), "migrations: up to date (version %d)",
	    migrate_latest());
	a1 = count_in_file(d1.log, "migrations: applied 0001_init");
	a2 = count_in_file(d2.log, "migrations: applied 0001_init");
	u1 = count_in_file(d1.log, want);
	u2 = count_in_file(d2.log, want);
	ATF_CHECK_MSG(a1 + a2 == 1 && u1 + u2 == 1 && a1 + u1 == 1,
	    "applied %d/%d, up to date %d/%d", a1, a2, u1, u2);
}

/* A migration that fails is fatal, names itself, and records nothing. */
NEEDS_PG(migration_fails, 120);
ATF_TC_BODY(migration_fails, tc)
{
	struct dbproc	 d;
	struct pg	 pg;
	int		 status;

	pg_init(&pg);
	pg_start(&pg);
	pg_query(&pg, "CREATE TABLE jwks (x integer)");
	db_spawn(tc, &d, "db.log");
	db_config_send(&d, pg.conninfo, 2);
	db_config_ack(&d);
	status = db_wait_exit(&d, 20000);
	ATF_CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	ATF_CHECK_MSG(strstr(slurp(d.log), "migrations: 0001_init failed") !=
	    NULL, "log: %s", slurp(d.log));
	ATF_CHECK(strstr(slurp(d.log), "already exists") != NULL);
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM "
	    "schema_migrations"), "0");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM pg_proc WHERE "
	    "proname = 'certaos_jwks_notify'"), "0");
}

NEEDS_PG(reload, 120);
ATF_TC_BODY(reload, tc)
{
	struct dbproc	 d;
	struct pg	 pg;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);

	/* the same settings again: quiet */
	db_config_send(&d, pg.conninfo, 2);
	db_config_ack(&d);
	ATF_CHECK_EQ(db_ping(&d), 1);
	ATF_CHECK_EQ(count_in_file(d.log, "needs a restart"), 0);

	/* another database: said, and the running one kept */
	db_config_send(&d, "host=/nonexistent dbname=other", 3);
	db_config_ack(&d);
	ATF_CHECK_EQ(count_in_file(d.log, "needs a restart"), 1);
	ATF_CHECK_EQ(db_ping(&d), 1);
}

/* A process that cannot reach any database: enough for framing tests. */
static void
db_start_nodb(const atf_tc_t *tc, struct dbproc *d, const char *log)
{
	db_start(tc, d, log, "host=/nonexistent-certaos dbname=x "
	    "connect_timeout=1");
}

static void
expect_death(struct dbproc *d, const char *why)
{
	int	 status;

	status = db_wait_exit(d, 5000);
	ATF_CHECK_MSG(!WIFEXITED(status) || WEXITSTATUS(status) != 0,
	    "exit status %d", status);
	ATF_CHECK_MSG(strstr(slurp(d->log), why) != NULL,
	    "log lacks \"%s\": %s", why, slurp(d->log));
}

ATF_TC(unexpected_type);
ATF_TC_HEAD(unexpected_type, tc)
{
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(unexpected_type, tc)
{
	struct dbproc	 d;
	char		 want[64];

	/* a keys message on the keys channel, but not one for db */
	db_start_nodb(tc, &d, "keys.log");
	ATF_CHECK_EQ(db_ping(&d), 0);
	send_msg(&d.keys, IMSG_KEYS_PING, 1, -1, NULL, 0);
	snprintf(want, sizeof(want), "unexpected imsg type %u",
	    IMSG_KEYS_PING);
	expect_death(&d, want);
	ATF_CHECK(strstr(slurp(d.log), "from keys") != NULL);

	/* a db request from the wrong peer */
	db_start_nodb(tc, &d, "web.log");
	send_msg(&d.web, IMSG_DB_JWKS_LOAD, 1, -1, NULL, 0);
	snprintf(want, sizeof(want), "unexpected imsg type %u",
	    IMSG_DB_JWKS_LOAD);
	expect_death(&d, want);
	ATF_CHECK(strstr(slurp(d.log), "from web[0]") != NULL);

	/* web asks db nothing about sessions: keys does */
	db_start_nodb(tc, &d, "websession.log");
	send_msg(&d.web, IMSG_DB_SESSION_GET, 1, -1, NULL, 0);
	snprintf(want, sizeof(want), "unexpected imsg type %u",
	    IMSG_DB_SESSION_GET);
	expect_death(&d, want);
	ATF_CHECK(strstr(slurp(d.log), "from web[0]") != NULL);
	db_start_nodb(tc, &d, "websessionop.log");
	send_msg(&d.web, IMSG_DB_SESSION_OP, 1, -1, NULL, 0);
	snprintf(want, sizeof(want), "unexpected imsg type %u",
	    IMSG_DB_SESSION_OP);
	expect_death(&d, want);

	/* a type beyond the catalogue from the parent */
	db_start_nodb(tc, &d, "parent.log");
	send_msg(&d.parent, IMSG_MAX + 5, 1, -1, NULL, 0);
	snprintf(want, sizeof(want), "unexpected imsg type %u",
	    IMSG_MAX + 5);
	expect_death(&d, want);
}

ATF_TC(bad_payload);
ATF_TC_HEAD(bad_payload, tc)
{
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(bad_payload, tc)
{
	static struct db_jwk	 k;
	static struct mbuf	 mb;
	static unsigned char	 big[CERTAOS_MAX_SEALED + 1];
	struct dbproc		 d;
	struct cfg_db		 cfg;
	char			 one = 1, kid[CERTAOS_MAX_KID + 2];
	int32_t			 i32 = 1;

	/* LOAD takes no payload */
	db_start_nodb(tc, &d, "load.log");
	send_msg(&d.keys, IMSG_DB_JWKS_LOAD, 1, -1, &one, 1);
	expect_death(&d, "bad IMSG_DB_JWKS_LOAD from keys");

	/* nor does PING */
	db_start_nodb(tc, &d, "ping.log");
	send_msg(&d.web, IMSG_DB_PING, 1, -1, &i32, sizeof(i32));
	expect_death(&d, "bad IMSG_DB_PING from web[0]");

	/* an INSERT cut short (the created field missing) */
	db_jwk_fill(&k, "kid", "RS256", 1, 1);
	db_start_nodb(tc, &d, "short.log");
	mbuf_init(&mb);
	ops_jwk_write(&mb, &k);
	mb.len -= 8;
	ATF_REQUIRE(mbuf_compose(&mb, &d.keys, IMSG_DB_JWKS_INSERT, 1) == 0);
	ATF_REQUIRE(imsgbuf_flush(&d.keys) == 0);
	expect_death(&d, "bad IMSG_DB_JWKS_INSERT from keys");

	/* a kid one byte over CERTAOS_MAX_KID */
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	db_start_nodb(tc, &d, "kid.log");
	mbuf_init(&mb);
	mbuf_str(&mb, kid);
	mbuf_str(&mb, "RS256");
	mbuf_str(&mb, "{}");
	mbuf_bytes(&mb, "x", 1);
	mbuf_u64(&mb, 0);
	ATF_REQUIRE(mbuf_compose(&mb, &d.keys, IMSG_DB_JWKS_INSERT, 1) == 0);
	ATF_REQUIRE(imsgbuf_flush(&d.keys) == 0);
	expect_death(&d, "bad IMSG_DB_JWKS_INSERT from keys");

	/* a sealed key one byte over CERTAOS_MAX_SEALED */
	db_start_nodb(tc, &d, "sealed.log");
	mbuf_init(&mb);
	mbuf_str(&mb, "kid");
	mbuf_str(&mb, "RS256");
	mbuf_str(&mb, "{}");
	mbuf_bytes(&mb, big, sizeof(big));
	mbuf_u64(&mb, 0);
	ATF_REQUIRE(mbuf_compose(&mb, &d.keys, IMSG_DB_JWKS_INSERT, 1) == 0);
	ATF_REQUIRE(imsgbuf_flush(&d.keys) == 0);
	expect_death(&d, "bad IMSG_DB_JWKS_INSERT from keys");

	/* account and session requests: cut short, too long, bad op */
	db_start_nodb(tc, &d, "signup.log");
	build(&mb, signup_flds, -1, 0);
	mb.len--;
	mb_send(&d.keys, &mb, IMSG_DB_SIGNUP, 1);
	expect_death(&d, "bad IMSG_DB_SIGNUP from keys");

	db_start_nodb(tc, &d, "cred.log");
	build(&mb, cred_flds, 0, CERTAOS_MAX_EMAIL + 1);
	mb_send(&d.keys, &mb, IMSG_DB_CRED_GET, 1);
	expect_death(&d, "bad IMSG_DB_CRED_GET from keys");

	db_start_nodb(tc, &d, "new.log");
	build(&mb, new_flds, 1, DB_HASH_LEN - 1);
	mb_send(&d.keys, &mb, IMSG_DB_SESSION_NEW, 1);
	expect_death(&d, "bad IMSG_DB_SESSION_NEW from keys");

	db_start_nodb(tc, &d, "get.log");
	build(&mb, get_flds, 1, AUTH_OP_MAX);
	mb_send(&d.keys, &mb, IMSG_DB_SESSION_GET, 1);
	expect_death(&d, "bad IMSG_DB_SESSION_GET from keys");

	/* list-sessions with a target; get-session's op on the OP message */
	db_start_nodb(tc, &d, "list.log");
	build(&mb, op_flds, 1, AUTH_OP_LIST);
	mb_send(&d.keys, &mb, IMSG_DB_SESSION_OP, 1);
	expect_death(&d, "bad IMSG_DB_SESSION_OP from keys");

	db_start_nodb(tc, &d, "opget.log");
	build(&mb, get_flds, 1, AUTH_OP_LIST);
	mb_send(&d.keys, &mb, IMSG_DB_SESSION_OP, 1);
	expect_death(&d, "bad IMSG_DB_SESSION_OP from keys");

	/* a short IMSG_CFG_DB from the parent */
	db_spawn(tc, &d, "cfg.log");
	memset(&cfg, 0, sizeof(cfg));
	send_msg(&d.parent, IMSG_CFG_DB, 0, -1, &cfg, sizeof(cfg) - 1);
	expect_death(&d, "bad IMSG_CFG_DB");

	/* a pool size out of range */
	db_spawn(tc, &d, "pool.log");
	cfg.pool = CERTAOS_MAX_DBPOOL + 1;
	send_msg(&d.parent, IMSG_CFG_DB, 0, -1, &cfg, sizeof(cfg));
	expect_death(&d, "out of range");
}

/* The generator escapes what it must and keeps the bytes. */
ATF_TC(mkmigrations);
ATF_TC_HEAD(mkmigrations, tc)
{
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(mkmigrations, tc)
{
	char		 src[PATH_MAX], script[PATH_MAX + 64];
	char		 cmd[3 * PATH_MAX];
	const char	 tricky[] = "-- \"quotes\" and \\backslash\\ ?\?=\n"
			    "SELECT $$a\tb$$, E'\\\\x00';\r\n"
			    "-- no newline at the end";
	FILE		*f;

	/*
	 * The source tree: the build tree's parent ("srcdir" is atf's own
	 * name for the test program's directory).
	 */
	snprintf(src, sizeof(src), "%s/..",
	    atf_tc_get_config_var(tc, "builddir"));
	snprintf(script, sizeof(script), "%s/regress/tools/mkmigrations.sh",
	    src);
	if (access(script, R_OK) == -1)
		atf_tc_skip("no source tree above the build tree: %s", script);
	ATF_REQUIRE((f = fopen("0007_tricky.sql", "w")) != NULL);
	fputs(tricky, f);
	fclose(f);
	ATF_REQUIRE((f = fopen("0012_second.sql", "w")) != NULL);
	fputs("SELECT 2;\n", f);
	fclose(f);
	ATF_REQUIRE((f = fopen("m.c", "w")) != NULL);
	fputs("#include <stdio.h>\n#include \"m.h\"\n"
	    "int main(void) { size_t i; for (i = 0; i < sizeof(migrations) /"
	    " sizeof(migrations[0]); i++) printf(\"%d %s [%s]\\n\","
	    " migrations[i].version, migrations[i].name, migrations[i].sql);"
	    " return 0; }\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh %s 0007_tricky.sql 0012_second.sql "
	    "> m.h && cc -Wall -Werror -o m m.c && ./m > m.out", script);
	ATF_REQUIRE_EQ_MSG(system(cmd), 0, "%s", slurp("m.h"));
	ATF_CHECK_STREQ(slurp("m.out"),
	    "7 0007_tricky [-- \"quotes\" and \\backslash\\ ?\?=\n"
	    "SELECT $$a\tb$$, E'\\\\x00';\r\n"
	    "-- no newline at the end\n]\n"
	    "12 0012_second [SELECT 2;\n]\n");

	/* out of order, duplicate, or a bad name: refused */
	snprintf(cmd, sizeof(cmd), "sh %s 0012_second.sql 0007_tricky.sql "
	    ">/dev/null 2>&1", script);
	ATF_CHECK(system(cmd) != 0);
	snprintf(cmd, sizeof(cmd), "cp 0012_second.sql 12_again.sql && "
	    "sh %s 0012_second.sql 12_again.sql >/dev/null 2>&1", script);
	ATF_CHECK(system(cmd) != 0);
	snprintf(cmd, sizeof(cmd), "cp 0012_second.sql 0013-dash.sql && "
	    "sh %s 0013-dash.sql >/dev/null 2>&1", script);
	ATF_CHECK(system(cmd) != 0);

	/* what certaos-db carries is sql/ byte for byte */
	ATF_REQUIRE(migrate_count() >= 1);
	ATF_CHECK_STREQ(migrate_name(0), "0001_init");
	snprintf(cmd, sizeof(cmd), "%s/sql/0001_init.sql", src);
	ATF_CHECK_STREQ(migrate_sql(0), slurp(cmd));
	ATF_REQUIRE(migrate_count() >= 2);
	ATF_CHECK_STREQ(migrate_name(1), "0002_accounts");
	snprintf(cmd, sizeof(cmd), "%s/sql/0002_accounts.sql", src);
	ATF_CHECK_STREQ(migrate_sql(1), slurp(cmd));
	ATF_REQUIRE(migrate_count() >= 3);
	ATF_CHECK_STREQ(migrate_name(2), "0003_cache");
	snprintf(cmd, sizeof(cmd), "%s/sql/0003_cache.sql", src);
	ATF_CHECK_STREQ(migrate_sql(2), slurp(cmd));
	ATF_CHECK(migrate_latest() >= 1);
}

/* The catalogue: each statement takes exactly the parameters it says. */
ATF_TC(catalogue);
ATF_TC_HEAD(catalogue, tc)
{
	atf_tc_set_md_var(tc, "descr", "prepared statements: names, "
	    "parameter counts and types");
}
ATF_TC_BODY(catalogue, tc)
{
	const struct db_stmt	*st, *o;
	const char		*p;
	char			 seen[20];
	int			 op, j, n, max;
	static const struct {
		enum db_op	 op;
		int		 nparams;
	} want[] = {
		{ OP_PING, 0 }, { OP_JWKS_LOAD, 0 }, { OP_JWKS_INSERT, 5 },
		{ OP_SIGNUP, 17 }, { OP_CRED_GET, 1 }, { OP_SESSION_NEW, 6 },
		{ OP_SESSION_GET, 3 }, { OP_SESSION_DELETE, 3 },
		{ OP_SESSION_LIST, 1 }, { OP_SESSION_REVOKE, 5 },
		{ OP_SESSION_REVOKE_ALL, 3 }, { OP_SESSION_REVOKE_OTHERS, 3 },
		{ OP_SESSION_CRED, 1 }, { OP_PW_SET, 5 },
		{ OP_PW_SET_REVOKE, 7 }, { OP_PW_REHASH, 3 },
		{ OP_USER_UPDATE, 4 },
		{ OP_CTL_USER_LIST, 2 }, { OP_CTL_USER_SHOW, 1 },
		{ OP_CTL_USER_ROLE, 2 }, { OP_CTL_USER_DISABLE, 2 },
		{ OP_CTL_USER_ENABLE, 1 }, { OP_CTL_AUDIT, 3 },
		{ OP_CTL_IMPORT_USERS, 1 }, { OP_CTL_IMPORT_ACCOUNTS, 1 },
		{ OP_CTL_IMPORT_SESSIONS, 1 }, { OP_AUDIT_SIGNIN, 5 },
		{ OP_CTL_INVITES, 1 },
		{ OP_MAIL_ENQUEUE, 3 },
		{ OP_MAIL_CLAIM, 2 }, { OP_MAIL_DONE, 5 }, { OP_MAIL_QUEUE, 0 },
		{ OP_MAIL_INVITE, 8 },
		{ OP_ACCOUNT_LIST, 1 },
		{ OP_FLOW_WHO_SESSION, 1 }, { OP_FLOW_WHO_EMAIL, 1 },
		{ OP_FLOW_SEND, 10 }, { OP_FLOW_VERIFY, 5 },
		{ OP_FLOW_RESET_CHECK, 1 }, { OP_FLOW_RESET, 4 },
		{ OP_FLOW_DELETE, 4 },
	};

	ATF_CHECK(ops_stmt(OP_MAX) == NULL);
	ATF_CHECK(ops_stmt(-1) == NULL);
	ATF_CHECK_EQ(nitems(want), OP_MAX);
	for (op = 0; op < OP_MAX; op++) {
		ATF_REQUIRE((st = ops_stmt(op)) != NULL);
		ATF_REQUIRE(st->name != NULL && st->sql != NULL);
		ATF_CHECK(st->name[0] != '\0');
		for (j = 0; j < op; j++) {
			o = ops_stmt(j);
			ATF_CHECK_MSG(strcmp(o->name, st->name) != 0,
			    "statement name %s twice", st->name);
		}
		/* one statement each, $1..$n all used, nothing beyond */
		ATF_CHECK_MSG(strchr(st->sql, ';') == NULL, "%s: ';'",
		    st->name);
		memset(seen, 0, sizeof(seen));
		max = 0;
		for (p = st->sql; (p = strchr(p, '$')) != NULL; p++) {
			ATF_REQUIRE_MSG(p[1] >= '1' && p[1] <= '9' &&
			    (p[2] < '0' || p[2] > '9' || (p[1] == '1' &&
			    (p[3] < '0' || p[3] > '9'))), "%s: $ at %s",
			    st->name, p);
			n = p[1] - '0';
			if (p[2] >= '0' && p[2] <= '9')
				n = 10 + p[2] - '0';
			seen[n] = 1;
			if (n > max)
				max = n;
		}
		ATF_CHECK_EQ_MSG(max, st->nparams, "%s: uses $%d, declares %d",
		    st->name, max, st->nparams);
		for (n = 1; n <= max; n++)
			ATF_CHECK_MSG(seen[n], "%s: $%d unused", st->name, n);
		ATF_CHECK_MSG((st->nparams == 0) == (st->types == NULL),
		    "%s: types", st->name);
		for (j = 0; j < (int)nitems(want); j++)
			if ((int)want[j].op == op)
				ATF_CHECK_EQ_MSG(st->nparams, want[j].nparams,
				    "%s", st->name);
	}
	/* binary parameters where the payload has bytes and numbers */
	ATF_CHECK_EQ(ops_stmt(OP_SIGNUP)->types[4], 17);	/* bytea */
	ATF_CHECK_EQ(ops_stmt(OP_SIGNUP)->types[5], 20);	/* int8 */
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_NEW)->types[1], 17);
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_GET)->types[0], 17);
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_GET)->types[1], 23);	/* int4 */
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_DELETE)->types[0], 17);
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_LIST)->types[0], 17);
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_REVOKE)->types[1], 17);
	ATF_CHECK_EQ(ops_stmt(OP_SESSION_REVOKE)->types[2], 25); /* text */
	ATF_CHECK_EQ(ops_stmt(OP_PW_SET_REVOKE)->types[3], 17);
	ATF_CHECK_EQ(ops_stmt(OP_PW_SET_REVOKE)->types[4], 20);
	ATF_CHECK_EQ(ops_stmt(OP_USER_UPDATE)->types[1], 23);
	ATF_CHECK_EQ(ops_stmt(OP_MAIL_ENQUEUE)->types[2], 17);
	ATF_CHECK_EQ(ops_stmt(OP_MAIL_CLAIM)->types[0], 23);
	ATF_CHECK_EQ(ops_stmt(OP_MAIL_DONE)->types[0], 20);
	ATF_CHECK_EQ(ops_stmt(OP_MAIL_DONE)->types[2], 25);
}

/* Request payloads: framing and bounds, without a process. */
ATF_TC(parse);
ATF_TC_HEAD(parse, tc)
{
	atf_tc_set_md_var(tc, "descr", "account and session requests: "
	    "truncated, long and out-of-range fields are refused");
}
ATF_TC_BODY(parse, tc)
{
	static struct mbuf	 mb;
	static struct db_req	 req;
	unsigned char		 h[DB_HASH_LEN];
	uint32_t		 v;
	int			 i;

	check_fields("SIGNUP", signup_flds, OP_SIGNUP);
	check_fields("CRED_GET", cred_flds, OP_CRED_GET);
	check_fields("SESSION_NEW", new_flds, OP_SESSION_NEW);
	check_fields("SESSION_GET", get_flds, OP_SESSION_GET);
	check_fields("SESSION_OP", op_flds, OP_SESSION_LIST);
	check_fields("SESSION_CRED", scred_flds, OP_SESSION_CRED);
	check_fields("PW_SET", pwset_flds, OP_PW_SET);
	check_fields("PW_REHASH", rehash_flds, OP_PW_REHASH);
	check_fields("USER_UPDATE", uupd_flds, OP_USER_UPDATE);

	/* PW_SET: revoke 1 wants the new session's hash, and picks */
	build(&mb, pwset_flds, 3, 1);
	ATF_CHECK(parse_len(&mb, mb.len, OP_PW_SET, &req) == -1);
	build(&mb, pwset_flds, -1, 0);
	ATF_CHECK(parse_len(&mb, mb.len, OP_PW_SET, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_PW_SET);
	mbuf_init(&mb);
	hash_fill(h, 1);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_str(&mb, "uid");
	mbuf_str(&mb, "$argon2id$x");
	mbuf_u32(&mb, 1);
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_u64(&mb, 1800000000000ULL);
	mbuf_str(&mb, "ip");
	mbuf_str(&mb, "ua");
	ATF_CHECK(parse_len(&mb, mb.len, OP_PW_SET, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_PW_SET_REVOKE);
	ATF_CHECK_EQ(req.auth.revoke, 1);
	ATF_CHECK_STREQ(req.auth.user_id, "uid");
	build(&mb, pwset_flds, 3, 2);
	ATF_CHECK(parse_len(&mb, mb.len, OP_PW_SET, &req) == -1);
	/* USER_UPDATE: a mask of USER_F_* bits, at least one */
	for (i = 0; i < 8; i++) {
		build(&mb, uupd_flds, 2, i);
		ATF_CHECK_EQ_MSG(parse_len(&mb, mb.len, OP_USER_UPDATE, &req),
		    i >= 1 && i <= 3 ? 0 : -1, "mask %d", i);
	}
	build(&mb, uupd_flds, 0, PROC_MAX_INSTANCES);
	ATF_CHECK(parse_len(&mb, mb.len, OP_USER_UPDATE, &req) == -1);

	/* what comes out */
	hash_fill(h, 7);
	mbuf_init(&mb);
	mbuf_str(&mb, "Ann@Example.com");
	mbuf_str(&mb, "");
	mbuf_nstr(&mb, 1, "https://example.com/a.png");
	mbuf_str(&mb, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
	mbuf_bytes(&mb, h, sizeof(h));
	mbuf_u64(&mb, 1800000000123ULL);
	mbuf_str(&mb, "192.0.2.7");
	mbuf_str(&mb, "ua");
	mbuf_u32(&mb, 1);
	mbuf_u32(&mb, 0);
	mbuf_bytes(&mb, h, sizeof(h));
	ATF_REQUIRE(parse_len(&mb, mb.len, OP_SIGNUP, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_SIGNUP);
	ATF_CHECK_STREQ(req.auth.email, "Ann@Example.com");
	ATF_CHECK_STREQ(req.auth.name, "");
	ATF_CHECK_EQ(req.auth.has_image, 1);
	ATF_CHECK_STREQ(req.auth.image, "https://example.com/a.png");
	ATF_CHECK(memcmp(req.auth.token_hash, h, sizeof(h)) == 0);
	ATF_CHECK_EQ(req.auth.expires, 1800000000123ULL);
	ATF_CHECK_STREQ(req.auth.ip, "192.0.2.7");
	ATF_CHECK_STREQ(req.auth.ua, "ua");

	/* SESSION_GET: the op picks the statement; instance and op bounds */
	build(&mb, get_flds, 1, AUTH_OP_DELETE);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == -1);
	mbuf_str(&mb, "192.0.2.7");	/* a sign-out's audit row */
	mbuf_str(&mb, "ua");
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_SESSION_DELETE);
	ATF_CHECK_STREQ(req.sess.ip, "192.0.2.7");
	ATF_CHECK_STREQ(req.sess.ua, "ua");
	build(&mb, get_flds, 1, AUTH_OP_GET);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_SESSION_GET);
	build(&mb, get_flds, 1, 0);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == -1);
	build(&mb, get_flds, 1, AUTH_OP_MAX);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == -1);
	build(&mb, get_flds, 0, PROC_MAX_INSTANCES - 1);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == 0);
	ATF_CHECK_EQ(req.sess.instance, PROC_MAX_INSTANCES - 1);
	build(&mb, get_flds, 0, PROC_MAX_INSTANCES);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_GET, &req) == -1);

	/* SESSION_OP: the op picks the statement; only a revoke has a target */
	build(&mb, op_flds, 1, AUTH_OP_REVOKE);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_LIST, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_SESSION_REVOKE);
	ATF_CHECK_EQ(req.sess.has_target, 1);
	ATF_CHECK_STREQ(req.sess.handle, "eeeee");
	build(&mb, op_flds, 3, 0);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_LIST, &req) == 0);
	ATF_CHECK_EQ(req.sess.has_target, 0);
	for (i = AUTH_OP_LIST; i < AUTH_OP_MAX; i++) {
		if (i == AUTH_OP_REVOKE)
			continue;
		/* with a target hash, a handle, or both: refused */
		build(&mb, op_flds, 1, i);
		ATF_CHECK_MSG(parse_len(&mb, mb.len, OP_SESSION_LIST,
		    &req) == -1, "op %d with a target", i);
		mbuf_init(&mb);
		mbuf_u32(&mb, 0);
		mbuf_u32(&mb, i);
		mbuf_bytes(&mb, h, sizeof(h));
		mbuf_bytes(&mb, h, 0);
		mbuf_str(&mb, "x");
		mbuf_str(&mb, "");
		mbuf_str(&mb, "");
		ATF_CHECK_MSG(parse_len(&mb, mb.len, OP_SESSION_LIST,
		    &req) == -1, "op %d with a handle", i);
		/* with neither: taken */
		mbuf_init(&mb);
		mbuf_u32(&mb, 1);
		mbuf_u32(&mb, i);
		mbuf_bytes(&mb, h, sizeof(h));
		mbuf_bytes(&mb, h, 0);
		mbuf_str(&mb, "");
		mbuf_str(&mb, "");
		mbuf_str(&mb, "");
		ATF_CHECK_MSG(parse_len(&mb, mb.len, OP_SESSION_LIST,
		    &req) == 0, "op %d", i);
		ATF_CHECK_EQ(req.sess.instance, 1);
		ATF_CHECK(memcmp(req.sess.token_hash, h, sizeof(h)) == 0);
	}
	ATF_CHECK_EQ(req.op, OP_ACCOUNT_LIST);	/* the last op */
	/* a revoke with no target at all: taken, it revokes nothing */
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_LIST, &req) == 0);
	v = AUTH_OP_REVOKE;		/* the op: the second u32 */
	memcpy(mb.buf + 4, &v, sizeof(v));
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_LIST, &req) == 0);
	ATF_CHECK_EQ(req.op, OP_SESSION_REVOKE);
	/* get-session's ops belong to IMSG_DB_SESSION_GET */
	for (i = 0; i <= AUTH_OP_MAX; i++) {
		if (i >= AUTH_OP_LIST && i < AUTH_OP_MAX)
			continue;
		v = i;
		memcpy(mb.buf + 4, &v, sizeof(v));
		ATF_CHECK_MSG(parse_len(&mb, mb.len, OP_SESSION_LIST,
		    &req) == -1, "op %d", i);
	}
	build(&mb, op_flds, 0, PROC_MAX_INSTANCES);
	ATF_CHECK(parse_len(&mb, mb.len, OP_SESSION_LIST, &req) == -1);

	/* a string with a NUL in it */
	mbuf_init(&mb);
	mbuf_bytes(&mb, "a\0b", 3);
	ATF_CHECK(parse_len(&mb, mb.len, OP_CRED_GET, &req) == -1);

	/* JWKS_LOAD takes nothing */
	mbuf_init(&mb);
	ATF_CHECK(parse_len(&mb, 0, OP_JWKS_LOAD, &req) == 0);
	mbuf_u32(&mb, 0);
	ATF_CHECK(parse_len(&mb, mb.len, OP_JWKS_LOAD, &req) == -1);
}

/* Result rows: every column is checked before it is copied. */
ATF_TC(rec_bounds);
ATF_TC_HEAD(rec_bounds, tc)
{
	atf_tc_set_md_var(tc, "descr", "a session and its user from a "
	    "result row: NULLs, lengths, booleans, times");
}
ATF_TC_BODY(rec_bounds, tc)
{
	static struct auth_rec	 r;
	PGresult		*res;
	uint64_t		 be;
	char			 b;
	int			 i;

	res = rec_result();
	ATF_REQUIRE(ops_rec_get(res, 0, &r) == 0);
	ATF_CHECK(ops_rec_get(res, 1, &r) == -1);
	ATF_CHECK(ops_rec_get(res, -1, &r) == -1);
	PQclear(res);
	ATF_CHECK_STREQ(r.s.id, "sess0123");
	ATF_CHECK_EQ(r.s.expires, 1800000000123ULL);
	ATF_CHECK_EQ(r.s.created, 1700000000000ULL);
	ATF_CHECK_EQ(r.s.updated, 1700000000456ULL);
	ATF_CHECK_STREQ(r.s.ip, "");
	ATF_CHECK_STREQ(r.s.ua, "curl/8");
	ATF_CHECK_STREQ(r.s.user_id, "user0123");
	ATF_CHECK_STREQ(r.u.id, "user0123");
	ATF_CHECK_STREQ(r.u.email, "a@example.com");
	ATF_CHECK_EQ(r.u.email_verified, 1);
	ATF_CHECK_EQ(r.u.has_image, 0);
	ATF_CHECK_STREQ(r.u.image, "");
	ATF_CHECK_EQ(r.u.created, 1600000000000ULL);
	ATF_CHECK_STREQ(r.u.role, "user");
	ATF_CHECK_EQ(r.u.has_ban_reason, 0);
	ATF_CHECK_EQ(r.u.ban_expires, 0);

	/* strings at their limits, and one byte over */
	ATF_CHECK(rec_try_len(0, 's', CERTAOS_MAX_ID) == 0);
	ATF_CHECK(rec_try_len(0, 's', CERTAOS_MAX_ID + 1) == -1);
	ATF_CHECK(rec_try_len(4, '1', CERTAOS_MAX_IP) == 0);
	ATF_CHECK(rec_try_len(4, '1', CERTAOS_MAX_IP + 1) == -1);
	ATF_CHECK(rec_try_len(5, 'u', CERTAOS_MAX_UA) == 0);
	ATF_CHECK(rec_try_len(5, 'u', CERTAOS_MAX_UA + 1) == -1);
	ATF_CHECK(rec_try_len(6, 'u', CERTAOS_MAX_ID + 1) == -1);
	ATF_CHECK(rec_try_len(7, 'u', CERTAOS_MAX_ID + 1) == -1);
	ATF_CHECK(rec_try_len(8, 'n', CERTAOS_MAX_NAME) == 0);
	ATF_CHECK(rec_try_len(8, 'n', CERTAOS_MAX_NAME + 1) == -1);
	ATF_CHECK(rec_try_len(9, 'e', CERTAOS_MAX_EMAIL) == 0);
	ATF_CHECK(rec_try_len(9, 'e', CERTAOS_MAX_EMAIL + 1) == -1);
	ATF_CHECK(rec_try_len(11, 'i', CERTAOS_MAX_IMAGE) == 0);
	ATF_CHECK(rec_try_len(11, 'i', CERTAOS_MAX_IMAGE + 1) == -1);
	ATF_CHECK(rec_try_len(11, 'i', 0) == 0);	/* "" is not NULL */
	ATF_CHECK(rec_try_len(14, 'r', CERTAOS_MAX_ROLE) == 0);
	ATF_CHECK(rec_try_len(14, 'r', CERTAOS_MAX_ROLE + 1) == -1);
	ATF_CHECK(rec_try_len(16, 'b', CERTAOS_MAX_REASON) == 0);
	ATF_CHECK(rec_try_len(16, 'b', CERTAOS_MAX_REASON + 1) == -1);
	/* ids and the email are never empty; no NUL inside a string */
	ATF_CHECK(rec_try_len(0, 's', 0) == -1);
	ATF_CHECK(rec_try_len(7, 'u', 0) == -1);
	ATF_CHECK(rec_try_len(9, 'e', 0) == -1);
	ATF_CHECK(rec_try(9, "a\0b", 3) == -1);
	/* NULL only where the column may be */
	for (i = 0; i < REC_NCOLS; i++)
		ATF_CHECK_EQ_MSG(rec_try(i, NULL, -1),
		    (i == 11 || i == 16 || i == 17) ? 0 : -1,
		    "column %d NULL", i);
	/* times: 8 bytes, not before the epoch */
	ATF_CHECK(rec_try(1, "1234", 4) == -1);
	be = htobe64((uint64_t)-1000);
	ATF_CHECK(rec_try(2, &be, sizeof(be)) == -1);
	ATF_CHECK(rec_try(17, &be, sizeof(be)) == -1);
	be = htobe64(5);
	ATF_CHECK(rec_try(17, &be, sizeof(be)) == 0);
	/* booleans: one byte, 0 or 1 */
	b = 2;
	ATF_CHECK(rec_try(10, &b, 1) == -1);
	ATF_CHECK(rec_try(15, "\001\000", 2) == -1);
	b = 1;
	ATF_CHECK(rec_try(18, &b, 1) == 0);
}

/*
 * The schema of 0002_accounts and every account and session operation,
 * against a real PostgreSQL.
 */
NEEDS_PG(accounts, 180);
ATF_TC_BODY(accounts, tc)
{
	static struct auth_rec	 r, r2;
	struct dbproc		 d;
	struct pg		 pg;
	char			 alice[CERTAOS_MAX_ID + 1];
	char			 carol[CERTAOS_MAX_ID + 1];
	char			 uid[CERTAOS_MAX_ID + 1];
	char			 pw[CERTAOS_MAX_PWHASH + 1], sql[512];
	const char		*out;
	uint64_t		 now, exp1;
	int			 i;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);

	/* the schema */
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(tablename, ' ' "
	    "ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"),
	    "accounts audit_log invitations jwks mail_outbox "
	    "schema_migrations sessions users verifications");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT certaos_id() ~ '^[0-9a-f]{32}$'"
	    " AND certaos_id() <> certaos_id()"), "t");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(tgname, ' ' ORDER BY "
	    "tgname) FROM pg_trigger WHERE tgrelid = 'sessions'::regclass AND "
	    "NOT tgisinternal"),
	    "sessions_notify_delete sessions_notify_update");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(tgname, ' ' ORDER BY "
	    "tgname) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND "
	    "NOT tgisinternal"), "users_notify_delete users_notify_update");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM pg_indexes WHERE "
	    "indexname IN ('sessions_user_id', 'accounts_user_id', "
	    "'audit_log_user_at', 'audit_log_at')"), "4");

	/* sign-up: the user, the credential account, the session, audit */
	now = now_ms();
	exp1 = now + 7 * 86400 * 1000ULL;
	ATF_REQUIRE_EQ(db_signup(&d, "Alice@Example.COM", "Alice", NULL,
	    "$argon2id$alice", 1, exp1, &r), AUTH_OK);
	strlcpy(alice, r.u.id, sizeof(alice));
	ATF_CHECK_EQ(strlen(alice), 32);
	ATF_CHECK_STREQ(r.u.email, "alice@example.com");
	ATF_CHECK_STREQ(r.u.name, "Alice");
	ATF_CHECK_EQ(r.u.has_image, 0);
	ATF_CHECK_EQ(r.u.email_verified, 0);
	ATF_CHECK_STREQ(r.u.role, "user");
	ATF_CHECK_EQ(r.u.banned, 0);
	ATF_CHECK_EQ(r.u.has_ban_reason, 0);
	ATF_CHECK_EQ(r.u.ban_expires, 0);
	ATF_CHECK_EQ(r.u.two_factor, 0);
	CHECK_NEAR(r.u.created, now, 60000);
	ATF_CHECK_STREQ(r.s.user_id, alice);
	ATF_CHECK_EQ(strlen(r.s.id), 32);
	ATF_CHECK_EQ(r.s.expires, exp1);
	CHECK_NEAR(r.s.created, now, 60000);
	ATF_CHECK_STREQ(r.s.ip, "192.0.2.1");
	ATF_CHECK_STREQ(r.s.ua, "t_db/1.0");
	/* the same email in other letters: taken, nothing written */
	ATF_CHECK_EQ(db_signup(&d, "ALICE@example.com", "Other", NULL,
	    "$argon2id$other", 2, exp1, &r2), AUTH_USER_EXISTS);
	ATF_CHECK_EQ(db_signup(&d, "bob@example.com", "", "https://x/b.png",
	    "$argon2id$bob", 3, now + 86400 * 1000ULL, &r2), AUTH_OK);
	ATF_CHECK_EQ(r2.u.has_image, 1);
	ATF_CHECK_STREQ(r2.u.image, "https://x/b.png");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM users"), "2");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(provider_id || ' ' "
	    "|| (account_id = user_id) || ' ' || password, ',' ORDER BY "
	    "password) FROM accounts"),
	    "credential true $argon2id$alice,credential true $argon2id$bob");
	/* lifetimes: the seconds to the expiry asked for */
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(lifetime::text, ' ' "
	    "ORDER BY lifetime) FROM sessions"), "86400 604800");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(event || ' ' || "
	    "outcome || ' ' || email || ' ' || (user_id IS NOT NULL) || "
	    "' ' || ip || ' ' || user_agent, ',' ORDER BY id) "
	    "FROM audit_log"),
	    "sign-up ok alice@example.com true 192.0.2.1 t_db/1.0,"
	    "sign-up user-exists alice@example.com false 192.0.2.1 t_db/1.0,"
	    "sign-up ok bob@example.com true 192.0.2.1 t_db/1.0");

	/* the CHECKs */
	ATF_CHECK(pg_try(&pg, "INSERT INTO users (name, email) VALUES "
	    "('x', 'Upper@example.com')") != 0);
	ATF_CHECK(strstr(pg_out(&pg), "violates check constraint") != NULL);
	ATF_CHECK(pg_try(&pg, "INSERT INTO users (name, email) VALUES "
	    "('x', '')") != 0);
	ATF_CHECK(pg_try(&pg, "INSERT INTO users (name, email) VALUES "
	    "(repeat('n', 257), 'n@example.com')") != 0);
	snprintf(sql, sizeof(sql), "INSERT INTO sessions (token_hash, "
	    "user_id, expires_at, lifetime) VALUES ('\\x00', '%s', now(), 1)",
	    alice);
	ATF_CHECK(pg_try(&pg, sql) != 0);
	snprintf(sql, sizeof(sql), "INSERT INTO accounts (account_id, "
	    "provider_id, user_id) VALUES ('elsewhere', 'credential', '%s')",
	    alice);
	ATF_CHECK(pg_try(&pg, sql) != 0);
	ATF_CHECK(pg_try(&pg, "INSERT INTO accounts (account_id, "
	    "provider_id, user_id) VALUES ('x', 'github', 'nobody')") != 0);

	/* credentials */
	ATF_CHECK_EQ(db_cred(&d, "aLiCe@example.com", uid, sizeof(uid), pw,
	    sizeof(pw)), 1);
	ATF_CHECK_STREQ(uid, alice);
	ATF_CHECK_STREQ(pw, "$argon2id$alice");
	ATF_CHECK_EQ(db_cred(&d, "nobody@example.com", uid, sizeof(uid), pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(uid, "");
	ATF_CHECK_STREQ(pw, "");
	ATF_CHECK_EQ(db_cred(&d, "", uid, sizeof(uid), pw, sizeof(pw)), 0);
	/* a user who came in another way has no password */
	strlcpy(carol, pg_query(&pg, "INSERT INTO users (name, email) VALUES "
	    "('Carol', 'carol@example.com') RETURNING id"), sizeof(carol));
	carol[strcspn(carol, "\n")] = '\0';	/* psql's "INSERT 0 1" */
	snprintf(sql, sizeof(sql), "INSERT INTO accounts (account_id, "
	    "provider_id, user_id) VALUES ('4711', 'github', '%s')", carol);
	pg_query(&pg, sql);
	ATF_CHECK_EQ(db_cred(&d, "carol@example.com", uid, sizeof(uid), pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(uid, carol);
	ATF_CHECK_STREQ(pw, "");

	/* sign-in's session */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 4, now + 86400 * 1000ULL,
	    &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_STREQ(r.s.user_id, alice);
	ATF_CHECK_EQ(r.s.expires, now + 86400 * 1000ULL);
	ATF_CHECK_STREQ(r.s.ip, "2001:db8::1");
	ATF_CHECK_STREQ(r.s.ua, "");
	ATF_CHECK_EQ(db_session_new(&d, "nobody", 5, now + 1000, &r),
	    AUTH_BAD_CREDENTIALS);
	/* a ban keeps the session from being made, until it expires */
	snprintf(sql, sizeof(sql), "UPDATE users SET banned = true, "
	    "ban_reason = 'spam' WHERE id = '%s'", carol);
	pg_query(&pg, sql);
	ATF_CHECK_EQ(db_session_new(&d, carol, 6, now + 60000, &r),
	    AUTH_BANNED);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE "
	    "user_id = '%s'", carol);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "0");
	snprintf(sql, sizeof(sql), "UPDATE users SET ban_expires = "
	    "now() - interval '1 second' WHERE id = '%s'", carol);
	pg_query(&pg, sql);
	ATF_REQUIRE_EQ(db_session_new(&d, carol, 6, now + 60000, &r),
	    AUTH_OK);
	ATF_CHECK_EQ(r.u.banned, 1);
	ATF_CHECK_EQ(r.u.has_ban_reason, 1);
	ATF_CHECK_STREQ(r.u.ban_reason, "spam");
	CHECK_NEAR(r.u.ban_expires, now, 60000);

	/* get-session: answered on the web channel */
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_EQ(r.s.expires, exp1);	/* renewed a moment ago */
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 99, &r), AUTH_NO_SESSION);
	/* due for renewal: now() + lifetime, a short one stays short */
	snprintf(sql, sizeof(sql), "UPDATE sessions SET updated_at = now() - "
	    "interval '2 days', expires_at = now() + interval '1 hour' WHERE "
	    "token_hash IN (%s, ", hash_sql(1));
	strlcat(sql, hash_sql(4), sizeof(sql));
	strlcat(sql, ")", sizeof(sql));
	pg_query(&pg, sql);
	now = now_ms();
	/* the cached answer until the cache hears of the change */
	for (i = 0; i < 200; i++) {
		ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
		if (r.s.expires != exp1)
			break;
		usleep(10000);
	}
	CHECK_NEAR(r.s.expires, now + 7 * 86400 * 1000ULL, 60000);
	CHECK_NEAR(r.s.updated, now, 60000);
	ATF_CHECK(r.s.expires != exp1);
	exp1 = r.s.expires;
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 4, &r), AUTH_OK);
	CHECK_NEAR(r.s.expires, now + 86400 * 1000ULL, 60000);
	/* not due again: unchanged */
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_EQ(r.s.expires, exp1);
	/*
	 * expired: gone for get-session (as soon as the cache hears of it:
	 * psql is another connection)
	 */
	snprintf(sql, sizeof(sql), "UPDATE sessions SET expires_at = now() - "
	    "interval '1 second' WHERE token_hash = %s", hash_sql(4));
	pg_query(&pg, sql);
	(void)db_session_until(&d, 4, AUTH_NO_SESSION, NULL, 2000, &r);

	/* settings from IMSG_CFG_DB: a shorter lifetime caps the renewal */
	db_config_session(&d, pg.conninfo, 3600, 1);
	db_config_ack(&d);
	snprintf(sql, sizeof(sql), "UPDATE sessions SET updated_at = now() - "
	    "interval '5 seconds' WHERE token_hash = %s", hash_sql(1));
	pg_query(&pg, sql);
	now = now_ms();
	for (i = 0; i < 200; i++) {
		ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
		if (r.s.expires < now + 7200 * 1000ULL)
			break;
		usleep(10000);
	}
	CHECK_NEAR(r.s.expires, now + 3600 * 1000ULL, 60000);
	db_config_session(&d, pg.conninfo, CERTAOS_SESSION_LIFETIME,
	    CERTAOS_SESSION_UPDATE);
	db_config_ack(&d);

	/* a web worker db has no channel to: logged, dropped */
	db_session_send(&d, 3, AUTH_OP_GET, 1, 4242);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK(count_in_file(d.log, "for web[3]: no channel") == 1);

	/* sign-out: the record of what was deleted, announced */
	snprintf(sql, sizeof(sql), "SELECT id FROM sessions WHERE "
	    "token_hash = %s", hash_sql(1));
	strlcpy(uid, pg_query(&pg, sql), sizeof(uid));
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_DELETE, 1, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.id, uid);
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_DELETE, 1, &r), AUTH_NO_SESSION);
	/* expired sessions can still be signed out of */
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_DELETE, 4, &r), AUTH_OK);

	/* the trigger: deleting and expiring announce the token hash */
	snprintf(sql, sizeof(sql), "LISTEN certaos_sessions; UPDATE sessions "
	    "SET expires_at = now() - interval '1 second' WHERE token_hash = "
	    "%s", hash_sql(3));
	out = pg_query(&pg, sql);
	ATF_CHECK_MSG(strstr(out, "\"certaos_sessions\" with payload") !=
	    NULL, "%s", out);
	snprintf(sql, sizeof(sql), "LISTEN certaos_sessions; UPDATE sessions "
	    "SET expires_at = now() + interval '1 hour' WHERE token_hash = %s",
	    hash_sql(6));
	out = pg_query(&pg, sql);
	ATF_CHECK_MSG(strstr(out, "Asynchronous") == NULL, "%s", out);
	snprintf(sql, sizeof(sql), "LISTEN certaos_sessions; DELETE FROM "
	    "users WHERE id = '%s'", carol);
	out = pg_query(&pg, sql);
	ATF_CHECK_MSG(strstr(out, "\"certaos_sessions\" with payload") !=
	    NULL, "%s", out);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 6, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session_new(&d, carol, 7, now + 60000, &r),
	    AUTH_BAD_CREDENTIALS);

	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
	ATF_CHECK_EQ(count_in_file(d.log, "migrations: applied "
	    "0002_accounts"), 1);
}


/* ---- the session cache, in process ---- */

/* A cached answer: its first byte says which session it is. */
static int
cache_put(int seed, const char *uid, uint64_t expires, uint64_t updated,
    uint64_t gen)
{
	unsigned char	 h[DB_HASH_LEN], ans[40];

	hash_fill(h, seed);
	memset(ans, seed, sizeof(ans));
	return (cache_fill(h, uid, expires, updated, ans, 1 + seed % 40,
	    gen));
}

/* The first byte of the answer for seed, -1 for none. */
static int
cache_get(int seed, uint64_t now, uint32_t update)
{
	unsigned char		 h[DB_HASH_LEN];
	const unsigned char	*a;
	size_t			 len;

	hash_fill(h, seed);
	if ((a = cache_lookup(h, now, update, &len)) == NULL)
		return (-1);
	ATF_CHECK_EQ(len, 1 + (size_t)seed % 40);
	return (a[0]);
}

static void
cache_drop(int seed)
{
	unsigned char	 h[DB_HASH_LEN];

	hash_fill(h, seed);
	cache_drop_hash(h);
}

ATF_TC(cache_unit);
ATF_TC_HEAD(cache_unit, tc)
{
	atf_tc_set_md_var(tc, "descr", "session cache: hit, miss, expiry, "
	    "renewal, invalidation, the race with answers in flight, "
	    "eviction");
}
ATF_TC_BODY(cache_unit, tc)
{
	struct cache_stats	 cs;
	unsigned char		 h[DB_HASH_LEN];
	char			 hex[DB_HASH_LEN * 2 + 1], uid[16];
	uint64_t		 now = 1700000000000ULL, day = 86400000ULL;
	uint64_t		 g;
	size_t			 len;
	int			 i;

	/* off until a LISTEN stands: nothing kept, nothing found */
	ATF_CHECK_EQ(cache_on(), 0);
	ATF_CHECK_EQ(cache_put(1, "u1", now + day, now, cache_gen()), 0);
	ATF_CHECK_EQ(cache_get(1, now, 3600), -1);

	/* a request from before the LISTEN: its answer is not kept */
	g = cache_gen();
	cache_set(1);
	ATF_CHECK_EQ(cache_on(), 1);
	ATF_CHECK_EQ(cache_put(1, "u1", now + day, now, g), 0);
	ATF_CHECK_EQ(cache_put(1, "u1", now + day, now, cache_gen()), 1);
	ATF_CHECK_EQ(cache_get(1, now, 3600), 1);
	ATF_CHECK_EQ(cache_get(2, now, 3600), -1);

	/* due for its renewal: a miss, but kept for the refresh */
	ATF_CHECK_EQ(cache_get(1, now + 3600 * 1000, 3600), -1);
	ATF_CHECK_EQ(cache_get(1, now + 3599 * 1000, 3600), 1);
	ATF_CHECK_EQ(cache_get(1, now, 0), -1);		/* update-age 0 */
	/* a refresh replaces it */
	ATF_CHECK_EQ(cache_put(1, "u1", now + 2 * day, now + day,
	    cache_gen()), 1);
	ATF_CHECK_EQ(cache_get(1, now + day + 1000, 3600), 1);
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.entries, 1);

	/* expired, or within CACHE_SKEW_MS of it: a miss, and dropped */
	ATF_CHECK_EQ(cache_put(3, "u3", now + 10000, now, cache_gen()), 1);
	ATF_CHECK_EQ(cache_get(3, now + 10000 - CACHE_SKEW_MS - 1, 3600), 3);
	ATF_CHECK_EQ(cache_get(3, now + 10000 - CACHE_SKEW_MS, 3600), -1);
	ATF_CHECK_EQ(cache_get(3, now, 3600), -1);

	/* dropped by hash, by user, all */
	ATF_CHECK_EQ(cache_put(4, "u4", now + day, now, cache_gen()), 1);
	ATF_CHECK_EQ(cache_put(5, "u4", now + day, now, cache_gen()), 1);
	ATF_CHECK_EQ(cache_put(6, "u6", now + day, now, cache_gen()), 1);
	cache_drop(4);
	ATF_CHECK_EQ(cache_get(4, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(5, now, 3600), 5);
	ATF_CHECK_EQ(cache_put(4, "u4", now + day, now, cache_gen()), 1);
	cache_drop_user("u4");
	ATF_CHECK_EQ(cache_get(4, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(5, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(6, now, 3600), 6);
	ATF_CHECK_EQ(cache_get(1, now, 3600), 1);
	cache_flush();
	ATF_CHECK_EQ(cache_get(6, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(1, now, 3600), -1);
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.entries, 0);

	/*
	 * The race: an answer read before an invalidation, arriving after
	 * it, is not kept if the invalidation may concern it.
	 */
	g = cache_gen();
	cache_drop(7);
	ATF_CHECK_EQ(cache_put(7, "u7", now + day, now, g), 0);
	ATF_CHECK_EQ(cache_put(8, "u7", now + day, now, g), 1);
	g = cache_gen();
	cache_drop_user("u9");
	ATF_CHECK_EQ(cache_put(9, "u9", now + day, now, g), 0);
	ATF_CHECK_EQ(cache_put(10, "u10", now + day, now, g), 1);
	g = cache_gen();
	cache_flush();
	ATF_CHECK_EQ(cache_put(11, "u11", now + day, now, g), 0);
	ATF_CHECK_EQ(cache_put(11, "u11", now + day, now, cache_gen()), 1);
	/* more invalidations than the ring remembers: none is kept */
	g = cache_gen();
	for (i = 0; i < CACHE_RING - 1; i++)
		cache_drop(100 + i);
	ATF_CHECK_EQ(cache_put(12, "u12", now + day, now, g), 1);
	g = cache_gen() - CACHE_RING + 1;
	cache_drop(99);
	ATF_CHECK_EQ(cache_put(13, "u13", now + day, now, g), 1);
	ATF_CHECK_EQ(cache_put(14, "u14", now + day, now, g - 1), 0);
	ATF_CHECK_EQ(cache_put(14, "u14", now + day, now, cache_gen() + 1),
	    0);
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.refused, 6);
	ATF_CHECK_EQ(cache_get(12, now, 3600), 12);

	/* notifications: a token hash in hex, a user id */
	hash_fill(h, 12);
	ATF_REQUIRE(hex_encode(h, sizeof(h), hex, sizeof(hex)) ==
	    DB_HASH_LEN * 2);
	cache_notify(DB_NOTIFY_SESSIONS, hex);
	ATF_CHECK_EQ(cache_get(12, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(13, now, 3600), 13);
	cache_notify(DB_NOTIFY_USERS, "u13");
	ATF_CHECK_EQ(cache_get(13, now, 3600), -1);
	ATF_CHECK_EQ(cache_get(11, now, 3600), 11);
	/* other channels are none of its business */
	cache_notify(DB_NOTIFY_CHANNEL, "kid");
	cache_notify("elsewhere", "");
	ATF_CHECK_EQ(cache_get(11, now, 3600), 11);
	/* a payload that names nothing empties it */
	hex[10] = 'x';
	cache_notify(DB_NOTIFY_SESSIONS, hex);
	ATF_CHECK_EQ(cache_get(11, now, 3600), -1);
	ATF_CHECK_EQ(cache_put(11, "u11", now + day, now, cache_gen()), 1);
	cache_notify(DB_NOTIFY_USERS, "");
	ATF_CHECK_EQ(cache_get(11, now, 3600), -1);

	/* eviction: the least recently used goes first */
	for (i = 0; i < CACHE_MAX; i++) {
		snprintf(uid, sizeof(uid), "e%d", i);
		hash_fill(h, 0);
		h[0] = i >> 8;
		h[1] = i;
		ATF_REQUIRE(cache_fill(h, uid, now + day, now, "x", 1,
		    cache_gen()) == 1);
	}
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.entries, CACHE_MAX);
	ATF_CHECK_EQ(cs.evictions, 0);
	/* 0 used again, 1 not: 1 is the one evicted */
	hash_fill(h, 0);
	h[0] = 0;
	h[1] = 0;
	ATF_CHECK(cache_lookup(h, now, 3600, &len) != NULL);
	ATF_CHECK_EQ(cache_put(20, "u20", now + day, now, cache_gen()), 1);
	ATF_CHECK(cache_lookup(h, now, 3600, &len) != NULL);
	h[1] = 1;
	ATF_CHECK(cache_lookup(h, now, 3600, &len) == NULL);
	h[1] = 2;
	ATF_CHECK(cache_lookup(h, now, 3600, &len) != NULL);
	ATF_CHECK_EQ(cache_get(20, now, 3600), 20);
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.entries, CACHE_MAX);
	ATF_CHECK_EQ(cs.evictions, 1);

	/* off: emptied, and nothing kept until it is on again */
	cache_set(0);
	ATF_CHECK_EQ(cache_get(20, now, 3600), -1);
	ATF_CHECK_EQ(cache_put(20, "u20", now + day, now, cache_gen()), 0);
	cache_stats(&cs);
	ATF_CHECK_EQ(cs.entries, 0);
	ATF_CHECK(cs.hits > 0 && cs.misses > 0 && cs.fills > 0);
}

/* ---- list and revoke, against PostgreSQL ---- */

NEEDS_PG(sessions, 180);
ATF_TC_BODY(sessions, tc)
{
	static struct auth_session	 rows[DB_LIST_MAX + 1];
	static struct auth_rec		 r, r2;
	uint32_t			 cur[DB_LIST_MAX + 1];
	struct dbproc			 d;
	struct pg			 pg;
	char				 alice[CERTAOS_MAX_ID + 1];
	char				 bob[CERTAOS_MAX_ID + 1];
	char				 id1[CERTAOS_MAX_ID + 1];
	char				 sql[512];
	uint64_t			 now;
	int				 n, i;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);
	now = now_ms();

	ATF_REQUIRE_EQ(db_signup(&d, "alice@example.com", "Alice", NULL,
	    "$x", 1, now + 86400000, &r), AUTH_OK);
	strlcpy(alice, r.u.id, sizeof(alice));
	strlcpy(id1, r.s.id, sizeof(id1));
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 2, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 3, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_signup(&d, "bob@example.com", "Bob", NULL, "$x",
	    10, now + 86400000, &r2), AUTH_OK);
	strlcpy(bob, r2.u.id, sizeof(bob));

	/* list: newest first, the asking one marked, its record at the end */
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_LIST, 2, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_REQUIRE_EQ(n, 3);
	ATF_CHECK_STREQ(rows[0].id, session_id(&pg, 3));
	ATF_CHECK_STREQ(rows[1].id, session_id(&pg, 2));
	ATF_CHECK_STREQ(rows[2].id, id1);
	ATF_CHECK(cur[0] == 0 && cur[1] == 1 && cur[2] == 0);
	for (i = 0; i < n; i++) {
		ATF_CHECK_STREQ(rows[i].user_id, alice);
		ATF_CHECK_EQ(rows[i].expires, now + 86400000);
	}
	ATF_CHECK(rows[0].created >= rows[1].created &&
	    rows[1].created >= rows[2].created);
	ATF_CHECK_STREQ(rows[2].ip, "192.0.2.1");
	ATF_CHECK_STREQ(rows[2].ua, "t_db/1.0");
	ATF_CHECK_STREQ(r.s.id, session_id(&pg, 2));
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_STREQ(r.u.email, "alice@example.com");
	/* an expired session is neither listed nor may it list */
	snprintf(sql, sizeof(sql), "UPDATE sessions SET expires_at = now() - "
	    "interval '1 second' WHERE token_hash = %s", hash_sql(3));
	pg_query(&pg, sql);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_LIST, 1, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(n, 2);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_LIST, 3, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_LIST, 99, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(n, 0);
	/* at most DB_LIST_MAX, the newest */
	snprintf(sql, sizeof(sql), "INSERT INTO sessions (token_hash, user_id,"
	    " expires_at, lifetime, created_at) SELECT sha256(i::text::bytea),"
	    " '%s', now() + interval '1 hour', 3600, now() - i * interval "
	    "'1 second' FROM generate_series(1, %d) i", bob, DB_LIST_MAX + 5);
	pg_query(&pg, sql);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_LIST, 10, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(n, DB_LIST_MAX);
	ATF_CHECK_STREQ(rows[0].id, session_id(&pg, 10));
	ATF_CHECK_EQ(cur[0], 1);
	snprintf(sql, sizeof(sql), "DELETE FROM sessions WHERE user_id = '%s'"
	    " AND token_hash <> %s", bob, hash_sql(10));
	pg_query(&pg, sql);

	/* revoke by token hash; another user's session is out of reach */
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, 2, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(n, 0);
	ATF_CHECK_STREQ(r.s.id, id1);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 2, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, 10, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 10, &r2), AUTH_OK);
	/* by handle; both given (keys cannot always tell): either one */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 4, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 5, now + 86400000, &r),
	    AUTH_OK);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, -1,
	    session_id(&pg, 4), rows, cur, nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 4, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, 5, "nonesuch",
	    rows, cur, nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 5, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, -1,
	    session_id(&pg, 10), rows, cur, nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 10, &r2), AUTH_OK);
	/* no target: nothing goes, still ok */
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 1, -1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	/* no asking session: nothing happens */
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 99, 1, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r2), AUTH_OK);

	/* the others, then all (the asking one too) */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 6, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 7, now + 86400000, &r),
	    AUTH_OK);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE_OTHERS, 6, -1, "", rows,
	    cur, nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.id, session_id(&pg, 6));
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 7, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 6, &r2), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 10, &r2), AUTH_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE "
	    "user_id = '%s'", alice);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "1");
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 7, now + 86400000, &r),
	    AUTH_OK);
	strlcpy(id1, session_id(&pg, 6), sizeof(id1));
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE_ALL, 6, -1, "", rows,
	    cur, nitems(rows), &n, &r), AUTH_OK);
	/* the asking record, though it went too */
	ATF_CHECK_STREQ(r.s.id, id1);
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "0");
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 6, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 10, &r2), AUTH_OK);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE_ALL, 6, -1, "", rows,
	    cur, nitems(rows), &n, &r), AUTH_NO_SESSION);

	/*
	 * The audit trail: one row per revoke, naming what went (the
	 * others: 1, 7 and the expired 3).
	 */
	snprintf(sql, sizeof(sql), "SELECT string_agg(event || ' ' || outcome"
	    " || ' ' || (user_id = '%s') || ' ' || email || ' ' || "
	    "coalesce(array_length(string_to_array(detail, ' '), 1), 0), ','"
	    " ORDER BY id) FROM audit_log WHERE event LIKE 'revoke%%'", alice);
	ATF_CHECK_STREQ(pg_query(&pg, sql),
	    "revoke-session ok true alice@example.com 1,"
	    "revoke-session ok true alice@example.com 0,"
	    "revoke-session ok true alice@example.com 1,"
	    "revoke-session ok true alice@example.com 1,"
	    "revoke-session ok true alice@example.com 0,"
	    "revoke-session ok true alice@example.com 0,"
	    "revoke-other-sessions ok true alice@example.com 3,"
	    "revoke-sessions ok true alice@example.com 2");
	/* each with the asking client's address and agent */
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT bool_and(ip = '192.0.2.9'"
	    " AND user_agent = 't_db/1.0') FROM audit_log"
	    " WHERE event LIKE 'revoke%'"), "t");
	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
}

/* ---- the session cache in certaos-db, against PostgreSQL ---- */

NEEDS_PG(cache, 180);
ATF_TC_BODY(cache, tc)
{
	static struct auth_session	 rows[4];
	static struct auth_rec		 r;
	uint32_t			 cur[4];
	struct dbproc			 d, d2;
	struct pg			 pg;
	char				 alice[CERTAOS_MAX_ID + 1];
	char				 sql[512];
	uint64_t			 now, exp;
	long				 ms;
	pid_t				 listener;
	int				 n;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);
	db_wait_log(&d, "session cache on", 1, 5000);
	now = now_ms();
	ATF_REQUIRE_EQ(db_signup(&d, "alice@example.com", "Alice", NULL,
	    "$x", 1, now + 86400000, &r), AUTH_OK);
	strlcpy(alice, r.u.id, sizeof(alice));

	/* a hit: what PostgreSQL now says is not asked */
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	pg_quiet_ua(&pg, 1, "quietly changed");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "t_db/1.0");
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_EQ(r.s.expires, now + 86400000);
	/* sign-out: gone at once */
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_DELETE, 1, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_NO_SESSION);

	/* a delete elsewhere, heard of */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 2, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 2, &r), AUTH_OK);
	pg_quiet_ua(&pg, 2, "quiet");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 2, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "");
	snprintf(sql, sizeof(sql), "DELETE FROM sessions WHERE token_hash = "
	    "%s", hash_sql(2));
	pg_query(&pg, sql);
	ms = db_session_until(&d, 2, AUTH_NO_SESSION, NULL, 2000, &r);
	printf("a delete by psql took %ld ms to be seen\n", ms);

	/* a session changed elsewhere: its user agent, an earlier expiry */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 3, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_OK);
	snprintf(sql, sizeof(sql), "UPDATE sessions SET user_agent = 'loud' "
	    "WHERE token_hash = %s", hash_sql(3));
	pg_query(&pg, sql);
	(void)db_session_until(&d, 3, AUTH_OK, "loud", 2000, &r);
	snprintf(sql, sizeof(sql), "UPDATE sessions SET expires_at = "
	    "now() + interval '1 hour' WHERE token_hash = %s", hash_sql(3));
	pg_query(&pg, sql);
	exp = now_ms() + 3600000;
	ms = 0;
	do {
		ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_OK);
		if (r.s.expires < now + 86400000)
			break;
		usleep(10000);
	} while ((ms += 10) < 2000);
	CHECK_NEAR(r.s.expires, exp, 60000);

	/* a user changed elsewhere: a ban shows at once */
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_OK);
	ATF_CHECK_EQ(r.u.banned, 0);
	snprintf(sql, sizeof(sql), "UPDATE users SET banned = true, "
	    "ban_reason = 'spam' WHERE id = '%s'", alice);
	pg_query(&pg, sql);
	ms = 0;
	do {
		ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_OK);
		if (r.u.banned)
			break;
		usleep(10000);
	} while ((ms += 10) < 2000);
	ATF_CHECK_EQ(r.u.banned, 1);
	ATF_CHECK_STREQ(r.u.ban_reason, "spam");
	/* an UPDATE that changes nothing is not announced */
	snprintf(sql, sizeof(sql), "LISTEN certaos_users; UPDATE users SET "
	    "banned = true WHERE id = '%s'", alice);
	ATF_CHECK_MSG(strstr(pg_query(&pg, sql), "Asynchronous") == NULL,
	    "%s", pg_out(&pg));
	snprintf(sql, sizeof(sql), "LISTEN certaos_users; UPDATE users SET "
	    "banned = false WHERE id = '%s'", alice);
	ATF_CHECK_MSG(strstr(pg_query(&pg, sql), "\"certaos_users\" with "
	    "payload") != NULL, "%s", pg_out(&pg));
	/* a renewal that pushes the expiry later is not either */
	snprintf(sql, sizeof(sql), "LISTEN certaos_sessions; UPDATE sessions "
	    "SET expires_at = expires_at + interval '1 hour', updated_at = "
	    "now() WHERE token_hash = %s", hash_sql(3));
	ATF_CHECK_MSG(strstr(pg_query(&pg, sql), "Asynchronous") == NULL,
	    "%s", pg_out(&pg));

	/* expiry: checked on every hit */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 4, now_ms() + 4000, &r),
	    AUTH_OK);
	exp = r.s.expires;
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 4, &r), AUTH_OK);
	pg_quiet_ua(&pg, 4, "quiet");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 4, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "");
	while (now_ms() < exp + 50)
		usleep(20000);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 4, &r), AUTH_NO_SESSION);

	/* revokes drop what they revoke before they answer */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 5, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 6, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 5, &r), AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 6, &r), AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE_OTHERS, 5, -1, "", rows,
	    cur, nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 6, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 3, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 5, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session_op(&d, AUTH_OP_REVOKE, 5, 5, "", rows, cur,
	    nitems(rows), &n, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 5, &r), AUTH_NO_SESSION);

	/* another certaos-db on the same database: its sign-out, heard */
	db_start(tc, &d2, "db2.log", pg.conninfo);
	db_wait_ping(&d2, 1, 20000);
	db_wait_log(&d2, "session cache on", 1, 5000);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 7, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 7, &r), AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d2, AUTH_OP_GET, 7, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d2, AUTH_OP_DELETE, 7, &r), AUTH_OK);
	ms = db_session_until(&d, 7, AUTH_NO_SESSION, NULL, 2000, &r);
	printf("a sign-out by another instance took %ld ms to be seen\n", ms);

	/* the listening connection lost: emptied, then on again */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 8, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 8, &r), AUTH_OK);
	pg_quiet_ua(&pg, 8, "quiet");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 8, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "");
	/* one listener each, named so in pg_stat_activity */
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM pg_stat_activity"
	    " WHERE application_name = 'certaos-db listening'"), "2");
	ATF_CHECK_EQ(count_in_file(d.log, "no longer listens"), 0);
	/* d's listener: the one d2 does not have (d2's came later) */
	pg_query(&pg, "SELECT pg_terminate_backend(min(pid)) FROM "
	    "pg_stat_activity WHERE application_name = 'certaos-db "
	    "listening' AND backend_start = (SELECT min(backend_start) FROM "
	    "pg_stat_activity WHERE application_name = 'certaos-db "
	    "listening')");
	db_wait_log(&d, "no longer listens", 1, 5000);
	(void)db_session_until(&d, 8, AUTH_OK, "quiet", 5000, &r);
	db_wait_log(&d, "session cache on", 2, 10000);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 8, &r), AUTH_OK);
	pg_quiet_ua(&pg, 8, "quieter");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 8, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "quiet");
	ATF_CHECK_EQ(count_in_file(d2.log, "no longer listens"), 0);

	/*
	 * A listener cut off without a word (its backend stopped): the
	 * cache answers nothing once it has been quiet DB_LISTEN_FRESH ms,
	 * and the connection is given up when its ping goes unanswered.
	 */
	kill(d2.pid, SIGKILL);
	waitpid(d2.pid, NULL, 0);
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 9, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 9, &r), AUTH_OK);
	pg_quiet_ua(&pg, 9, "quiet");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 9, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "");
	for (ms = 0; ms < 5000; ms += 100) {
		snprintf(sql, sizeof(sql), "%s", pg_query(&pg, "SELECT pid "
		    "FROM pg_stat_activity WHERE application_name = "
		    "'certaos-db listening'"));
		if (strchr(sql, '\n') == NULL && atoi(sql) > 0)
			break;
		usleep(100000);
	}
	ATF_REQUIRE_MSG(atoi(sql) > 0 && strchr(sql, '\n') == NULL,
	    "listeners: %s", sql);
	listener = atoi(sql);
	ATF_REQUIRE(kill(listener, SIGSTOP) == 0);
	ms = db_session_until(&d, 9, AUTH_OK, "quiet", 15000, &r);
	printf("no hits %ld ms after the listener stopped\n", ms);
	ATF_CHECK(ms >= DB_LISTEN_FRESH - DB_LISTEN_PING - 500);
	db_wait_log(&d, "no longer listens", 2, (CERTAOS_DB_TIMEOUT + 5) *
	    1000);
	kill(listener, SIGCONT);
	db_wait_log(&d, "session cache on", 3, 10000);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 9, &r), AUTH_OK);
	pg_quiet_ua(&pg, 9, "quieter");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 9, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.s.ua, "quiet");

	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
}

/* ---- account changes, against PostgreSQL ---- */

NEEDS_PG(account, 180);
ATF_TC_BODY(account, tc)
{
	static struct auth_rec	 r, r2;
	struct dbproc		 d;
	struct pg		 pg;
	char			 alice[CERTAOS_MAX_ID + 1];
	char			 bob[CERTAOS_MAX_ID + 1];
	char			 carol[CERTAOS_MAX_ID + 1];
	char			 uid[CERTAOS_MAX_ID + 1];
	char			 pw[CERTAOS_MAX_PWHASH + 1], sql[512];
	uint64_t		 now;
	int			 i;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_wait_ping(&d, 1, 20000);
	db_wait_log(&d, "session cache on", 1, 5000);
	now = now_ms();
	ATF_REQUIRE_EQ(db_signup(&d, "alice@example.com", "Alice", NULL,
	    "$argon2id$a", 1, now + 86400000, &r), AUTH_OK);
	strlcpy(alice, r.u.id, sizeof(alice));
	ATF_REQUIRE_EQ(db_signup(&d, "bob@example.com", "Bob", NULL,
	    "$argon2id$b", 10, now + 86400000, &r), AUTH_OK);
	strlcpy(bob, r.u.id, sizeof(bob));
	strlcpy(carol, pg_query(&pg, "INSERT INTO users (name, email) VALUES "
	    "('Carol', 'carol@example.com') RETURNING id"), sizeof(carol));
	carol[strcspn(carol, "\n")] = '\0';
	snprintf(sql, sizeof(sql), "INSERT INTO sessions (token_hash, user_id,"
	    " expires_at, lifetime) VALUES (%s, '%s', now() + interval "
	    "'1 hour', 3600)", hash_sql(20), carol);
	pg_query(&pg, sql);

	/* the asking session's credential */
	ATF_CHECK_EQ(db_session_cred(&d, 1, uid, sizeof(uid), pw,
	    sizeof(pw)), 1);
	ATF_CHECK_STREQ(uid, alice);
	ATF_CHECK_STREQ(pw, "$argon2id$a");
	ATF_CHECK_EQ(db_session_cred(&d, 99, uid, sizeof(uid), pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(uid, "");
	ATF_CHECK_EQ(db_session_cred(&d, 20, uid, sizeof(uid), pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(uid, carol);
	ATF_CHECK_STREQ(pw, "");

	/* update-user: the record as it is now, the cache with it */
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_REQUIRE_EQ(db_user_update(&d, 1, USER_F_NAME, "Alicia", NULL,
	    &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.name, "Alicia");
	ATF_CHECK_EQ(r.u.has_image, 0);
	ATF_CHECK_STREQ(r.s.id, session_id(&pg, 1));
	ATF_CHECK(r.u.updated >= r.u.created);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.name, "Alicia");
	ATF_REQUIRE_EQ(db_user_update(&d, 1, USER_F_IMAGE, "ignored",
	    "https://img.example/a.png", &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.name, "Alicia");
	ATF_CHECK_EQ(r.u.has_image, 1);
	ATF_CHECK_STREQ(r.u.image, "https://img.example/a.png");
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.image, "https://img.example/a.png");
	ATF_REQUIRE_EQ(db_user_update(&d, 1, USER_F_NAME | USER_F_IMAGE,
	    "Al", NULL, &r), AUTH_OK);
	ATF_CHECK_STREQ(r.u.name, "Al");
	ATF_CHECK_EQ(r.u.has_image, 0);
	ATF_CHECK_EQ(db_user_update(&d, 99, USER_F_NAME, "x", NULL, &r),
	    AUTH_NO_SESSION);
	snprintf(sql, sizeof(sql), "SELECT name FROM users WHERE id = '%s'",
	    bob);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "Bob");

	/* change-password, sessions kept */
	ATF_REQUIRE_EQ(db_session_new(&d, alice, 2, now + 86400000, &r),
	    AUTH_OK);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 2, &r), AUTH_OK);
	ATF_REQUIRE_EQ(db_pw_set(&d, 1, alice, "$argon2id$a2", -1, &r),
	    AUTH_OK);
	ATF_CHECK_STREQ(r.s.id, session_id(&pg, 1));
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_EQ(db_cred(&d, "alice@example.com", uid, sizeof(uid), pw,
	    sizeof(pw)), 1);
	ATF_CHECK_STREQ(pw, "$argon2id$a2");
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r), AUTH_OK);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 2, &r), AUTH_OK);
	/* not the user keys verified, or no such session: nothing */
	ATF_CHECK_EQ(db_pw_set(&d, 1, bob, "$argon2id$evil", -1, &r),
	    AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_pw_set(&d, 99, alice, "$argon2id$evil", 30, &r),
	    AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_pw_set(&d, 20, carol, "$argon2id$evil", -1, &r),
	    AUTH_NO_SESSION);
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM accounts WHERE "
	    "password = '$argon2id$evil'"), "0");
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 99, &r), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 30, &r), AUTH_NO_SESSION);

	/* with revokeOtherSessions: all gone, at once, and a new one */
	ATF_REQUIRE_EQ(db_pw_set(&d, 1, alice, "$argon2id$a3", 3, &r),
	    AUTH_OK);
	ATF_CHECK_STREQ(r.u.id, alice);
	ATF_CHECK_STREQ(r.s.ip, "198.51.100.7");
	ATF_CHECK_STREQ(r.s.ua, "t_db/pw");
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 1, &r2), AUTH_NO_SESSION);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 2, &r2), AUTH_NO_SESSION);
	ATF_REQUIRE_EQ(db_session(&d, AUTH_OP_GET, 3, &r2), AUTH_OK);
	ATF_CHECK_STREQ(r2.s.id, r.s.id);
	ATF_CHECK_EQ(db_session(&d, AUTH_OP_GET, 10, &r2), AUTH_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE "
	    "user_id = '%s'", alice);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "1");
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(event || ' ' || "
	    "outcome || ' ' || ip || ' ' || user_agent || ' ' || "
	    "coalesce(array_length(string_to_array(detail, ' '), 1), 0), ','"
	    " ORDER BY id) FROM audit_log WHERE event = 'change-password'"),
	    "change-password ok 198.51.100.7 t_db/pw 0,"
	    "change-password ok 198.51.100.7 t_db/pw 2");

	/* rehash: only over the hash it replaces; no answer */
	db_pw_rehash(&d, alice, "$argon2id$old", "$argon2id$wrong");
	db_pw_rehash(&d, alice, "$argon2id$a3", "$argon2id$a4");
	snprintf(sql, sizeof(sql), "SELECT password FROM accounts WHERE "
	    "user_id = '%s'", alice);
	for (i = 0; i < 100; i++) {
		if (strcmp(pg_query(&pg, sql), "$argon2id$a4") == 0)
			break;
		usleep(20000);
	}
	ATF_CHECK_STREQ(pg_query(&pg, sql), "$argon2id$a4");
	ATF_CHECK_EQ(db_ping(&d), 1);
	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
}


/* A mail request: 0 parsed, -1 refused. */
static int
mail_parse_one(struct mbuf *mb, enum db_op op)
{
	static struct db_req	 req;

	return (parse_len(mb, mb->len, op, &req));
}

static void
mail_claim_build(struct mbuf *mb, uint32_t max, uint32_t lease)
{
	mbuf_init(mb);
	mbuf_u32(mb, max);
	mbuf_u32(mb, lease);
}

static void
mail_done_build(struct mbuf *mb, uint64_t id, uint32_t outcome,
    const char *err, uint32_t retry, uint32_t attempts)
{
	mbuf_init(mb);
	mbuf_u64(mb, id);
	mbuf_u32(mb, outcome);
	mbuf_str(mb, err);
	mbuf_u32(mb, retry);
	mbuf_u32(mb, attempts);
}

static void
mail_enqueue_build(struct mbuf *mb, const char *to, const char *tmpl,
    size_t sealedlen)
{
	static unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED + 1];

	memset(sealed, 0xa5, sizeof(sealed));
	mbuf_init(mb);
	mbuf_str(mb, to);
	mbuf_str(mb, tmpl);
	mbuf_bytes(mb, sealed, sealedlen);
}

ATF_TC(mail_parse);
ATF_TC_HEAD(mail_parse, tc)
{
	atf_tc_set_md_var(tc, "descr", "outbox requests: fields within "
	    "their bounds, claims and outcomes within range");
}
ATF_TC_BODY(mail_parse, tc)
{
	static struct mbuf	 mb;
	char			 big[CERTAOS_MAX_MAIL_ERROR + 2];

	mail_enqueue_build(&mb, "a@example.org", "test", 100);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), 0);
	mail_enqueue_build(&mb, "a@example.org", "test",
	    CERTAOS_MAX_MAIL_SEALED);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), 0);
	mail_enqueue_build(&mb, "a@example.org", "test",
	    CERTAOS_MAX_MAIL_SEALED + 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), -1);
	mail_enqueue_build(&mb, "", "test", 100);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), -1);
	mail_enqueue_build(&mb, "a@example.org", "", 100);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), -1);
	mail_enqueue_build(&mb, "a@example.org", "test", 0);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), -1);
	mail_enqueue_build(&mb, "a@example.org", "test", 100);
	mbuf_u32(&mb, 0);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_ENQUEUE), -1);

	mail_claim_build(&mb, 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), 0);
	mail_claim_build(&mb, DB_MAIL_CLAIM_MAX, DB_MAIL_LEASE_MAX);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), 0);
	mail_claim_build(&mb, 0, 60);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), -1);
	mail_claim_build(&mb, DB_MAIL_CLAIM_MAX + 1, 60);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), -1);
	mail_claim_build(&mb, 4, 0);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), -1);
	mail_claim_build(&mb, 4, DB_MAIL_LEASE_MAX + 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), -1);
	mb.len = 4;
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_CLAIM), -1);

	mail_done_build(&mb, 1, MAIL_SENT, "", 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), 0);
	mail_done_build(&mb, INT64_MAX, MAIL_PERMFAIL, "x",
	    CERTAOS_MAIL_RETRY_MAX, CERTAOS_MAIL_ATTEMPTS_MAX);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), 0);
	mail_done_build(&mb, 0, MAIL_SENT, "", 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, (uint64_t)INT64_MAX + 1, MAIL_SENT, "", 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, 1, MAIL_OUTCOME_MAX, "", 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, 1, MAIL_SENT, "", 0, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, 1, MAIL_SENT, "", CERTAOS_MAIL_RETRY_MAX + 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, 1, MAIL_SENT, "", 1, 0);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	mail_done_build(&mb, 1, MAIL_SENT, "", 1,
	    CERTAOS_MAIL_ATTEMPTS_MAX + 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mail_done_build(&mb, 1, MAIL_TEMPFAIL, big, 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), -1);
	big[sizeof(big) - 2] = '\0';
	mail_done_build(&mb, 1, MAIL_TEMPFAIL, big, 1, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_DONE), 0);

	mbuf_init(&mb);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_QUEUE), 0);
	mbuf_u32(&mb, 1);
	ATF_CHECK_EQ(mail_parse_one(&mb, OP_MAIL_QUEUE), -1);
}

/* The next message on mail's channel, nudges counted and skipped. */
static void
mail_expect(struct dbproc *d, uint32_t type, uint32_t id, struct imsg *imsg,
    int *nudges)
{
	int	 r;

	for (;;) {
		r = recv_msg(&d->mail, imsg, 5000);
		ATF_REQUIRE_MSG(r == 1, "no type %u on mail's channel; log: %s",
		    type, slurp(d->log));
		if (imsg_get_type(imsg) == IMSG_DB_MAIL_NUDGE &&
		    type != IMSG_DB_MAIL_NUDGE) {
			ATF_REQUIRE_EQ(imsg_get_len(imsg), 0);
			(*nudges)++;
			imsg_free(imsg);
			continue;
		}
		break;
	}
	ATF_REQUIRE_EQ_MSG(imsg_get_type(imsg), type, "got type %u, not %u",
	    imsg_get_type(imsg), type);
	ATF_REQUIRE_EQ(imsg_get_id(imsg), id);
}

/* Claim: the ids of the rows db leased, their number returned. */
static int
mail_claim(struct dbproc *d, uint32_t max, uint64_t *ids, uint32_t *att,
    int *nudges)
{
	static struct mbuf	 mb;
	static unsigned char	 sealed[CERTAOS_MAX_MAIL_SEALED];
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 id = next_id++;
	size_t			 n;
	int32_t			 v;
	int			 rows = 0;

	mail_claim_build(&mb, max, 600);
	send_msg(&d->mail, IMSG_DB_MAIL_CLAIM, id, -1, mb.buf, mb.len);
	for (;;) {
		ATF_REQUIRE_MSG(recv_msg(&d->mail, &imsg, 5000) == 1,
		    "no answer to a claim; log: %s", slurp(d->log));
		if (imsg_get_type(&imsg) == IMSG_DB_MAIL_NUDGE) {
			(*nudges)++;
			imsg_free(&imsg);
			continue;
		}
		ATF_REQUIRE_EQ(imsg_get_id(&imsg), id);
		mread_init(&mr, &imsg);
		if (imsg_get_type(&imsg) == IMSG_DB_MAIL_CLAIMED) {
			v = mread_i32(&mr);
			ATF_REQUIRE_EQ(mread_end(&mr), 0);
			imsg_free(&imsg);
			ATF_CHECK_EQ(v, rows);
			return (rows);
		}
		ATF_REQUIRE_EQ(imsg_get_type(&imsg), IMSG_DB_MAIL_ROW);
		ATF_REQUIRE(rows < (int)max);
		ids[rows] = mread_u64(&mr);
		att[rows] = mread_u32(&mr);
		n = mread_bytes(&mr, sealed, sizeof(sealed));
		ATF_REQUIRE_EQ(mread_end(&mr), 0);
		ATF_CHECK_EQ(n, 64);
		ATF_CHECK(sealed[0] == 0xa5 && sealed[63] == 0xa5);
		imsg_free(&imsg);
		rows++;
	}
}

static void
mail_done(struct dbproc *d, uint64_t rid, uint32_t outcome, const char *err,
    uint32_t retry, uint32_t attempts)
{
	static struct mbuf	 mb;

	mail_done_build(&mb, rid, outcome, err, retry, attempts);
	send_msg(&d->mail, IMSG_DB_MAIL_DONE, next_id++, -1, mb.buf, mb.len);
}

/* Poll a query until it gives want (outcomes have no answer). */
static void
pg_until(struct pg *pg, const char *sql, const char *want)
{
	int	 i;

	for (i = 0; i < 250; i++) {
		if (strcmp(pg_query(pg, sql), want) == 0)
			return;
		usleep(20000);
	}
	ATF_CHECK_STREQ_MSG(pg_query(pg, sql), want, "%s", sql);
}

/*
 * The outbox against a real PostgreSQL: queueing nudges mail, a claim
 * leases rows so that a second claim does not get them, outcomes count
 * attempts, back off doubling and fail for good, and the listing shows
 * what is not delivered.
 */
NEEDS_PG(mail, 120);
ATF_TC_BODY(mail, tc)
{
	static struct mbuf	 mb;
	struct dbproc		 d;
	struct pg		 pg;
	struct imsg		 imsg;
	struct mread		 mr;
	char			 sql[512], to[CERTAOS_MAX_EMAIL + 1];
	char			 tmpl[CERTAOS_MAX_MAIL_TMPL + 1];
	char			 err[CERTAOS_MAX_MAIL_ERROR + 1];
	uint64_t		 ids[8], a, b, qid, next;
	uint32_t		 att[8], qatt, failed;
	int			 nudges = 0, i;

	pg_init(&pg);
	pg_start(&pg);
	db_start(tc, &d, "db.log", pg.conninfo);
	db_peer(&d, PROC_MAIL);
	db_wait_ping(&d, 1, 20000);
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(indexname, ' ' ORDER "
	    "BY indexname) FROM pg_indexes WHERE tablename = 'mail_outbox'"),
	    "mail_outbox_due mail_outbox_pkey mail_outbox_unsent");

	/* queued: the parent hears so, mail is nudged */
	for (i = 0; i < 2; i++) {
		mail_enqueue_build(&mb, i == 0 ? "a@example.org" :
		    "b@example.org", "test", 64);
		send_msg(&d.parent, IMSG_DB_MAIL_ENQUEUE, 50 + i, -1, mb.buf,
		    mb.len);
		ATF_CHECK_EQ(expect_i32(&d, &d.parent, IMSG_DB_MAIL_QUEUED,
		    50 + i, 5000), 1);
		mail_expect(&d, IMSG_DB_MAIL_NUDGE, 0, &imsg, &nudges);
		imsg_free(&imsg);
	}
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT string_agg(recipient || ' ' || "
	    "template || ' ' || attempts || ' ' || length(sealed), ',' ORDER "
	    "BY id) FROM mail_outbox"),
	    "a@example.org test 0 64,b@example.org test 0 64");

	/* a lease keeps a row from a second claim */
	ATF_REQUIRE_EQ(mail_claim(&d, 1, ids, att, &nudges), 1);
	a = ids[0];
	ATF_CHECK_EQ(att[0], 0);
	ATF_REQUIRE_EQ(mail_claim(&d, 4, ids, att, &nudges), 1);
	b = ids[0];
	ATF_CHECK(a != b);
	ATF_CHECK_EQ(mail_claim(&d, 4, ids, att, &nudges), 0);
	snprintf(sql, sizeof(sql), "SELECT lease_until > now() + interval "
	    "'9 minutes' FROM mail_outbox WHERE id = %llu",
	    (unsigned long long)a);
	ATF_CHECK_STREQ(pg_query(&pg, sql), "t");

	/* sent */
	mail_done(&d, b, MAIL_SENT, "", 30, 3);
	snprintf(sql, sizeof(sql), "SELECT attempts || ' ' || (sent_at IS NOT "
	    "NULL) || ' ' || (lease_until IS NULL) || ' ' || (failed_at IS "
	    "NULL) FROM mail_outbox WHERE id = %llu", (unsigned long long)b);
	pg_until(&pg, sql, "1 true true true");

	/* temporary: counted, put off by the first backoff, then doubled */
	snprintf(sql, sizeof(sql), "SELECT attempts || ' ' || round(extract("
	    "epoch FROM next_attempt - now()) / 10) || ' ' || (lease_until IS "
	    "NULL) || ' ' || (failed_at IS NULL) || ' ' || last_error FROM "
	    "mail_outbox WHERE id = %llu", (unsigned long long)a);
	mail_done(&d, a, MAIL_TEMPFAIL, "first", 100, 3);
	pg_until(&pg, sql, "1 10 true true first");
	ATF_CHECK_EQ(mail_claim(&d, 4, ids, att, &nudges), 0);
	snprintf(sql, sizeof(sql), "UPDATE mail_outbox SET next_attempt = "
	    "now() WHERE id = %llu", (unsigned long long)a);
	pg_query(&pg, sql);
	ATF_REQUIRE_EQ(mail_claim(&d, 4, ids, att, &nudges), 1);
	ATF_CHECK_EQ(ids[0], a);
	ATF_CHECK_EQ(att[0], 1);
	mail_done(&d, a, MAIL_TEMPFAIL, "second", 100, 3);
	snprintf(sql, sizeof(sql), "SELECT attempts || ' ' || round(extract("
	    "epoch FROM next_attempt - now()) / 10) || ' ' || (failed_at IS "
	    "NULL) || ' ' || last_error FROM mail_outbox WHERE id = %llu",
	    (unsigned long long)a);
	pg_until(&pg, sql, "2 20 true second");
	/* the last attempt: failed for good, kept */
	snprintf(sql, sizeof(sql), "UPDATE mail_outbox SET next_attempt = "
	    "now() WHERE id = %llu", (unsigned long long)a);
	pg_query(&pg, sql);
	ATF_REQUIRE_EQ(mail_claim(&d, 4, ids, att, &nudges), 1);
	mail_done(&d, a, MAIL_TEMPFAIL, "third", 100, 3);
	snprintf(sql, sizeof(sql), "SELECT attempts || ' ' || (failed_at IS "
	    "NOT NULL) || ' ' || (sent_at IS NULL) || ' ' || last_error FROM "
	    "mail_outbox WHERE id = %llu", (unsigned long long)a);
	pg_until(&pg, sql, "3 true true third");
	/* an outcome for a row that is done changes nothing */
	mail_done(&d, a, MAIL_SENT, "", 100, 3);
	mail_done(&d, b, MAIL_PERMFAIL, "late", 100, 3);
	ATF_CHECK_EQ(db_ping(&d), 1);
	usleep(200000);
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM mail_outbox WHERE "
	    "(sent_at IS NULL) = (failed_at IS NULL)"), "0");
	ATF_CHECK_EQ(mail_claim(&d, 4, ids, att, &nudges), 0);

	/* the listing: the failed row, not the sent one */
	send_msg(&d.parent, IMSG_DB_MAIL_QUEUE, 60, -1, NULL, 0);
	expect(&d, &d.parent, IMSG_CTL_MAIL_QROW, 60, 5000, &imsg);
	mread_init(&mr, &imsg);
	qid = mread_u64(&mr);
	(void)mread_str(&mr, to, sizeof(to));
	(void)mread_str(&mr, tmpl, sizeof(tmpl));
	qatt = mread_u32(&mr);
	next = mread_u64(&mr);
	failed = mread_u32(&mr);
	(void)mread_str(&mr, err, sizeof(err));
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	ATF_CHECK_EQ(qid, a);
	ATF_CHECK_STREQ(to, "a@example.org");
	ATF_CHECK_STREQ(tmpl, "test");
	ATF_CHECK_EQ(qatt, 3);
	ATF_CHECK(next > 0);
	ATF_CHECK_EQ(failed, 1);
	ATF_CHECK_STREQ(err, "third");
	ATF_CHECK_EQ(expect_i32(&d, &d.parent, IMSG_DB_MAIL_QUEUE_END, 60,
	    5000), 1);

	/* a row queued by another daemon: heard through NOTIFY */
	nudges = 0;
	pg_query(&pg, "INSERT INTO mail_outbox (recipient, template, sealed) "
	    "VALUES ('c@example.org', 'test', '\\x00')");
	mail_expect(&d, IMSG_DB_MAIL_NUDGE, 0, &imsg, &nudges);
	imsg_free(&imsg);
	ATF_CHECK_EQ(waitpid(d.pid, NULL, WNOHANG), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, jwks);
	ATF_TP_ADD_TC(tp, outage);
	ATF_TP_ADD_TC(tp, hung_server);
	ATF_TP_ADD_TC(tp, start_down);
	ATF_TP_ADD_TC(tp, two_instances);
	ATF_TP_ADD_TC(tp, migration_fails);
	ATF_TP_ADD_TC(tp, reload);
	ATF_TP_ADD_TC(tp, unexpected_type);
	ATF_TP_ADD_TC(tp, bad_payload);
	ATF_TP_ADD_TC(tp, mkmigrations);
	ATF_TP_ADD_TC(tp, catalogue);
	ATF_TP_ADD_TC(tp, parse);
	ATF_TP_ADD_TC(tp, rec_bounds);
	ATF_TP_ADD_TC(tp, accounts);
	ATF_TP_ADD_TC(tp, cache_unit);
	ATF_TP_ADD_TC(tp, sessions);
	ATF_TP_ADD_TC(tp, cache);
	ATF_TP_ADD_TC(tp, account);
	ATF_TP_ADD_TC(tp, mail_parse);
	ATF_TP_ADD_TC(tp, mail);
	return (atf_no_error());
}
