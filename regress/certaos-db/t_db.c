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
	    "schema_migrations"), "1|0001_init");
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
	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) FROM "
	    "schema_migrations"), "1");
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
	struct dbproc		 d;
	struct pg		 pg;
	struct timespec		 t0;
	int			 n;

	pg_init(&pg);		/* not started */
	db_start(tc, &d, "db.log", pg.conninfo);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_CHECK_EQ(db_ping(&d), 0);
	ATF_CHECK_EQ(db_load(&d, rows, 4, &n, 1000), 0);
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

	ATF_CHECK_STREQ(pg_query(&pg, "SELECT count(*) || ' ' || max(version)"
	    " FROM schema_migrations"), "1 1");
	a1 = count_in_file(d1.log, "migrations: applied 0001_init");
	a2 = count_in_file(d2.log, "migrations: applied 0001_init");
	u1 = count_in_file(d1.log, "migrations: up to date (version 1)");
	u2 = count_in_file(d2.log, "migrations: up to date (version 1)");
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
	ATF_CHECK(migrate_latest() >= 1);
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
	return (atf_no_error());
}
