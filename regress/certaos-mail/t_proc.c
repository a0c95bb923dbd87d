/*
 * t_proc: the certaos-mail process between a fake master, db and keys.
 * It claims when started and when nudged, has keys open each row,
 * delivers, and reports the outcome of each: sent, refused for good (a
 * recipient that would inject a header, a message that does not open)
 * or tried again later (no such template).  An unknown message is
 * fatal.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"
#include "imsg.h"
#include "msg.h"
#include "proc.h"

struct mailproc {
	pid_t		 pid;
	struct imsgbuf	 parent, db, keys;
	char		 dir[PATH_MAX];
	char		 log[PATH_MAX];
};

static char *
slurp(const char *path)
{
	static char	 buf[65536];
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

static void
send_msg(struct imsgbuf *ib, uint32_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	ATF_REQUIRE(imsg_compose(ib, type, id, 0, fd, data, len) != -1);
	ATF_REQUIRE(imsgbuf_flush(ib) == 0);
}

/* 1 a message, 0 timeout, -1 closed */
static int
recv_msg(struct imsgbuf *ib, struct imsg *imsg, int ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	for (;;) {
		ATF_REQUIRE((n = imsg_get(ib, imsg)) != -1);
		if (n > 0)
			return (1);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ms) <= 0)
			return (0);
		switch (imsgbuf_read(ib)) {
		case 0:
			return (-1);
		case -1:
			if (errno != EAGAIN && errno != EINTR)
				return (-1);
		}
	}
}

static void
expect(struct mailproc *m, struct imsgbuf *ib, uint32_t type,
    struct imsg *imsg)
{
	ATF_REQUIRE_MSG(recv_msg(ib, imsg, 10000) == 1, "no type %u; log: %s",
	    type, slurp(m->log));
	ATF_REQUIRE_EQ_MSG(imsg_get_type(imsg), type, "type %u, not %u",
	    imsg_get_type(imsg), type);
}

static void
peer(struct mailproc *m, enum certaos_proc proc, struct imsgbuf *ib)
{
	struct ctl_procfd	 pf;
	int			 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	pf.proc = proc;
	pf.instance = 0;
	send_msg(&m->parent, IMSG_CTL_PROCFD, 0, sv[1], &pf, sizeof(pf));
	ATF_REQUIRE(imsgbuf_init(ib, sv[0]) == 0);
}

static void
start(const atf_tc_t *tc, struct mailproc *m)
{
	static struct cfg_mail	 cm;
	struct passwd		*pw;
	struct imsg		 imsg;
	char			 path[PATH_MAX], cwd[PATH_MAX - 64];
	int			 sv[2], fd;

	memset(m, 0, sizeof(*m));
	ATF_REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(m->dir, sizeof(m->dir), "%s/spool", cwd);
	snprintf(m->log, sizeof(m->log), "%s/mail.log", cwd);
	ATF_REQUIRE(mkdir(m->dir, 0777) == 0);
	ATF_REQUIRE(chmod(m->dir, 0777) == 0);
	snprintf(path, sizeof(path), "%s/libexec/certaos-mail",
	    atf_tc_get_config_var(tc, "builddir"));
	ATF_REQUIRE((pw = getpwuid(getuid())) != NULL);
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	ATF_REQUIRE((m->pid = fork()) != -1);
	if (m->pid == 0) {
		if ((fd = open(m->log, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) != -1)
			dup2(fd, 2);
		if (dup2(sv[1], PROC_PARENT_FD) == -1)
			_exit(126);
		closefrom(PROC_PARENT_FD + 1);
		execl(path, "certaos-mail", "-P", "mail", "-I", "0", "-u",
		    pw->pw_name, "-d", "-v", "-v", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ATF_REQUIRE(imsgbuf_init(&m->parent, sv[0]) == 0);
	imsgbuf_allow_fdpass(&m->parent);

	memset(&cm, 0, sizeof(cm));
	cm.method = MAIL_DIR;
	strlcpy(cm.dir, m->dir, sizeof(cm.dir));
	strlcpy(cm.from, "Test <auth@example.org>", sizeof(cm.from));
	snprintf(cm.shipped, sizeof(cm.shipped), "%s/share/templates",
	    atf_tc_get_config_var(tc, "builddir"));
	cm.retry = 30;
	cm.attempts = 10;
	cm.timeout = 5;
	strlcpy(cm.app, "T", sizeof(cm.app));
	send_msg(&m->parent, IMSG_CFG_MAIL, 0, -1, &cm, sizeof(cm));
	send_msg(&m->parent, IMSG_CFG_DONE, 7, -1, NULL, 0);
	expect(m, &m->parent, IMSG_CFG_ACK, &imsg);
	imsg_free(&imsg);
	peer(m, PROC_DB, &m->db);
	peer(m, PROC_KEYS, &m->keys);
	send_msg(&m->parent, IMSG_CTL_START, 0, -1, NULL, 0);
}

/*
 * One round: the claim db gets answered with one row, keys' open
 * answered with plain (NULL: does not open); the outcome and error.
 */
static uint32_t
round_trip(struct mailproc *m, uint64_t id, const char *to,
    const char *tmpl, int opens, char *err, size_t errlen)
{
	static struct mbuf	 mb, plain;
	struct imsg		 imsg;
	struct mread		 mr;
	uint32_t		 claim, outcome, max, lease;
	unsigned char		 sealed[16];
	size_t			 n;

	expect(m, &m->db, IMSG_DB_MAIL_CLAIM, &imsg);
	claim = imsg_get_id(&imsg);
	mread_init(&mr, &imsg);
	max = mread_u32(&mr);
	lease = mread_u32(&mr);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	ATF_CHECK(max >= 1 && max <= 16);
	ATF_CHECK(lease >= 60 && lease <= 3600);

	memset(sealed, 0x5a, sizeof(sealed));
	mbuf_init(&mb);
	mbuf_u64(&mb, id);
	mbuf_u32(&mb, 0);
	mbuf_bytes(&mb, sealed, sizeof(sealed));
	send_msg(&m->db, IMSG_DB_MAIL_ROW, claim, -1, mb.buf, mb.len);
	mbuf_init(&mb);
	mbuf_i32(&mb, 1);
	send_msg(&m->db, IMSG_DB_MAIL_CLAIMED, claim, -1, mb.buf, mb.len);

	expect(m, &m->keys, IMSG_KEYS_MAIL_OPEN, &imsg);
	mread_init(&mr, &imsg);
	ATF_CHECK_EQ(mread_u64(&mr), id);
	n = mread_bytes(&mr, sealed, sizeof(sealed));
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	ATF_CHECK_EQ(n, sizeof(sealed));
	mbuf_init(&plain);
	mbuf_str(&plain, to);
	mbuf_str(&plain, tmpl);
	mbuf_u32(&plain, 1);
	mbuf_str(&plain, "url");
	mbuf_str(&plain, "https://example.org/x?token=T0KEN");
	mbuf_init(&mb);
	mbuf_i32(&mb, opens);
	mbuf_u64(&mb, id);
	mbuf_bytes(&mb, plain.buf, opens ? plain.len : 0);
	send_msg(&m->keys, IMSG_KEYS_MAIL_OPENED, imsg_get_id(&imsg), -1,
	    mb.buf, mb.len);
	imsg_free(&imsg);

	expect(m, &m->db, IMSG_DB_MAIL_DONE, &imsg);
	mread_init(&mr, &imsg);
	ATF_CHECK_EQ(mread_u64(&mr), id);
	outcome = mread_u32(&mr);
	(void)mread_str(&mr, err, errlen);
	ATF_CHECK_EQ(mread_u32(&mr), 30);
	ATF_CHECK_EQ(mread_u32(&mr), 10);
	ATF_REQUIRE_EQ(mread_end(&mr), 0);
	imsg_free(&imsg);
	return (outcome);
}

ATF_TC_WITH_CLEANUP(deliveries);
ATF_TC_HEAD(deliveries, tc)
{
	atf_tc_set_md_var(tc, "descr", "claims, opens, delivers and reports "
	    "each outcome; refuses header injection for good");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(deliveries, tc)
{
	struct mailproc	 m;
	struct imsg	 imsg;
	char		 err[CERTAOS_MAX_MAIL_ERROR + 1], path[PATH_MAX + 16];
	const char	*f;
	int		 status;

	start(tc, &m);

	/* delivered into the directory, the outcome reported */
	ATF_CHECK_EQ(round_trip(&m, 5, "bob@example.net", "verify-email", 1,
	    err, sizeof(err)), MAIL_SENT);
	ATF_CHECK_STREQ(err, "");
	snprintf(path, sizeof(path), "%s/5.eml", m.dir);
	f = slurp(path);
	ATF_CHECK(strstr(f, "\nTo: bob@example.net\n") != NULL);
	ATF_CHECK(strstr(f, "From: Test <auth@example.org>\n") != NULL);
	ATF_CHECK(strstr(f, "multipart/alternative") != NULL);
	ATF_CHECK(strstr(f, "token=3DT0KEN") != NULL);

	/* a nudge claims at once; an injecting recipient: for good */
	send_msg(&m.db, IMSG_DB_MAIL_NUDGE, 0, -1, NULL, 0);
	ATF_CHECK_EQ(round_trip(&m, 6, "x@example.net\nBcc: y@example.net",
	    "test", 1, err, sizeof(err)), MAIL_PERMFAIL);
	ATF_CHECK(strncmp(err, "refused", 7) == 0);
	snprintf(path, sizeof(path), "%s/6.eml", m.dir);
	ATF_CHECK(access(path, F_OK) == -1);

	send_msg(&m.db, IMSG_DB_MAIL_NUDGE, 0, -1, NULL, 0);
	ATF_CHECK_EQ(round_trip(&m, 7, "c@example.net", "test", 0, err,
	    sizeof(err)), MAIL_PERMFAIL);
	ATF_CHECK_STREQ(err, "the sealed message does not open");

	send_msg(&m.db, IMSG_DB_MAIL_NUDGE, 0, -1, NULL, 0);
	ATF_CHECK_EQ(round_trip(&m, 8, "c@example.net", "nosuch", 1, err,
	    sizeof(err)), MAIL_TEMPFAIL);
	ATF_CHECK_STREQ(err, "no template nosuch");

	/* status, then an unknown message from db: fatal */
	send_msg(&m.parent, IMSG_CTL_STATUS, 9, -1, NULL, 0);
	expect(&m, &m.parent, IMSG_CTL_STATUS_REPLY, &imsg);
	ATF_CHECK_EQ(imsg_get_len(&imsg), sizeof(struct ctl_status));
	imsg_free(&imsg);
	send_msg(&m.db, IMSG_DB_PONG, 0, -1, NULL, 0);
	ATF_REQUIRE_EQ(waitpid(m.pid, &status, 0), m.pid);
	ATF_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	ATF_CHECK_MSG(strstr(slurp(m.log), "unexpected imsg type") != NULL,
	    "%s", slurp(m.log));
}
ATF_TC_CLEANUP(deliveries, tc)
{
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, deliveries);
	return (atf_no_error());
}
