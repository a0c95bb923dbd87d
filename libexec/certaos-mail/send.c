/*
 * send.c: the three ways a message leaves: the sendmail command, an SMTP
 * relay, a directory.  Each runs to the end before it returns (the mail
 * process is a leaf nobody waits on), bounded by the step timeout, and
 * says whether the message went (MAIL_SENT), may go later
 * (MAIL_TEMPFAIL) or never will (MAIL_PERMFAIL), with why in err.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certaos.h"
#include "log.h"
#include "mail.h"

struct smtp {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	time_t		 deadline;
	int		 timeout;
	char		 buf[MAIL_MAX_REPLY];
	size_t		 len;		/* bytes in buf */
	char		 reply[MAIL_MAX_REPLY];	/* the last reply, one line */
	int		 ext_starttls;
	int		 ext_plain;
	int		 ext_login;
};

static int	 split_args(char *, char **, int);
static int	 wait_child(pid_t, time_t, int *);
static int	 smtp_connect(struct smtp *, const char *, uint32_t);
static int	 smtp_tls(struct smtp *, const struct cfg_mail *);
static int	 smtp_write(struct smtp *, const char *, size_t);
static int	 smtp_printf(struct smtp *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	 smtp_reply(struct smtp *);
static int	 smtp_fill(struct smtp *);
static int	 smtp_io_wait(struct smtp *, short);
static int	 smtp_data(struct smtp *, const char *, size_t);
static void	 smtp_close(struct smtp *);
static void	 b64(const void *, size_t, char *, size_t);

void
send_init(void)
{
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		fatalx("OPENSSL_init_ssl");
}

/* The command's words, split at blanks (no shell, no quoting). */
static int
split_args(char *cmd, char **argv, int max)
{
	char	*p, *w;
	int	 n = 0;

	for (p = cmd; (w = strsep(&p, " \t")) != NULL; ) {
		if (*w == '\0')
			continue;
		if (n >= max - 1)
			return (-1);
		argv[n++] = w;
	}
	argv[n] = NULL;
	return (n);
}

/* 0 and its status, or -1 when the deadline came first (it is killed). */
static int
wait_child(pid_t pid, time_t deadline, int *status)
{
	pid_t	 r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return (0);
		if (r == -1 && errno != EINTR)
			return (-1);
		if (time(NULL) >= deadline) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, status, 0);
			return (-1);
		}
		usleep(20 * 1000);
	}
}

int
send_sendmail(const char *command, const char *msg, size_t len,
    int timeout, char *err, size_t errlen)
{
	char			 cmd[CERTAOS_MAX_MAIL_CMD];
	char			*argv[MAIL_MAX_ARGS];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 sa;
	sigset_t		 sigs;
	struct pollfd		 pfd;
	time_t			 deadline = time(NULL) + timeout;
	size_t			 off = 0;
	ssize_t			 n;
	pid_t			 pid;
	int			 p[2], status, e;

	if (strlcpy(cmd, command, sizeof(cmd)) >= sizeof(cmd) ||
	    split_args(cmd, argv, MAIL_MAX_ARGS) < 1) {
		(void)snprintf(err, errlen, "bad sendmail command");
		return (MAIL_TEMPFAIL);
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return (MAIL_TEMPFAIL);
	}
	/*
	 * The message on its stdin, stdout to /dev/null, nothing of ours
	 * beyond stdio (our channel to the master is fd 3), and SIGPIPE,
	 * which we ignore, back to its default.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGPIPE);
	if ((e = posix_spawn_file_actions_init(&fa)) != 0 ||
	    (e = posix_spawnattr_init(&sa)) != 0) {
		(void)snprintf(err, errlen, "posix_spawn: %s", strerror(e));
		close(p[0]);
		close(p[1]);
		return (MAIL_TEMPFAIL);
	}
	if ((e = posix_spawn_file_actions_adddup2(&fa, p[0],
	    STDIN_FILENO)) != 0 ||
	    (e = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
	    "/dev/null", O_WRONLY, 0)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa,
	    STDERR_FILENO + 1)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&sa, &sigs)) != 0 ||
	    (e = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawn(&pid, argv[0], &fa, &sa, argv, environ)) != 0) {
		(void)snprintf(err, errlen, "cannot execute %s: %s", argv[0],
		    strerror(e));
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&sa);
		close(p[0]);
		close(p[1]);
		return (MAIL_TEMPFAIL);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[0]);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (off < len) {
		pfd.fd = p[1];
		pfd.events = POLLOUT;
		if (time(NULL) >= deadline ||
		    (poll(&pfd, 1, 1000) == -1 && errno != EINTR))
			break;
		if ((n = write(p[1], msg + off, len - off)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;	/* it exited early: its status says why */
		}
		off += n;
	}
	close(p[1]);
	if (wait_child(pid, deadline, &status) == -1) {
		(void)snprintf(err, errlen, "sendmail timed out after %d s, "
		    "killed", timeout);
		return (MAIL_TEMPFAIL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && off == len)
		return (MAIL_SENT);
	if (WIFSIGNALED(status))
		(void)snprintf(err, errlen, "sendmail killed by signal %d",
		    WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		(void)snprintf(err, errlen, "sendmail exited with status %d",
		    WEXITSTATUS(status));
	else
		(void)snprintf(err, errlen, "sendmail did not read the "
		    "whole message");
	return (MAIL_TEMPFAIL);
}

int
send_dir(const char *dir, uint64_t id, const char *msg, size_t len,
    char *err, size_t errlen)
{
	char		 tmp[PATH_MAX], path[PATH_MAX];
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%llu.%d.tmp", dir,
	    (unsigned long long)id, (int)getpid()) >= sizeof(tmp) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%llu.eml", dir,
	    (unsigned long long)id) >= sizeof(path)) {
		(void)snprintf(err, errlen, "mail dir path too long");
		return (MAIL_TEMPFAIL);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return (MAIL_TEMPFAIL);
	}
	while (off < len) {
		if ((n = write(fd, msg + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += n;
	}
	if (off != len || fsync(fd) == -1 || close(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (off != len)
			close(fd);
		(void)unlink(tmp);
		return (MAIL_TEMPFAIL);
	}
	if (rename(tmp, path) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return (MAIL_TEMPFAIL);
	}
	return (MAIL_SENT);
}

/*
 * SMTP.  A blocking conversation with a deadline per step; 4xx is a
 * temporary failure, 5xx to RCPT or DATA a permanent one (this message
 * cannot go), 5xx before (greeting, EHLO, STARTTLS, AUTH, MAIL) a
 * temporary one: it is the relay's set-up that fails, not the message,
 * and the operator may fix it.
 */
static void
b64(const void *in, size_t len, char *out, size_t outsz)
{
	if (outsz < (len + 2) / 3 * 4 + 1) {
		out[0] = '\0';
		return;
	}
	(void)EVP_EncodeBlock((unsigned char *)out, in, len);
}

static int
smtp_io_wait(struct smtp *s, short events)
{
	struct pollfd	 pfd;
	time_t		 left;

	for (;;) {
		if ((left = s->deadline - time(NULL)) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		pfd.fd = s->fd;
		pfd.events = events;
		switch (poll(&pfd, 1, left * 1000)) {
		case -1:
			if (errno == EINTR)
				continue;
			return (-1);
		case 0:
			errno = ETIMEDOUT;
			return (-1);
		default:
			return (0);
		}
	}
}

static int
smtp_connect(struct smtp *s, const char *host, uint32_t port)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[16];
	socklen_t	 sl;
	int		 e, soerr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	(void)snprintf(serv, sizeof(serv), "%u", port);
	if ((e = getaddrinfo(host, serv, &hints, &res)) != 0) {
		(void)snprintf(s->reply, sizeof(s->reply), "%s: %s", host,
		    gai_strerror(e));
		return (-1);
	}
	s->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s->fd = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol)) == -1)
			continue;
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		sl = sizeof(soerr);
		if (errno == EINPROGRESS && smtp_io_wait(s, POLLOUT) == 0 &&
		    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ==
		    0 && soerr == 0)
			break;
		if (errno == EINPROGRESS)
			errno = soerr;
		e = errno;
		close(s->fd);
		s->fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (s->fd == -1) {
		(void)snprintf(s->reply, sizeof(s->reply), "connect %s port "
		    "%u: %s", host, port, strerror(errno));
		return (-1);
	}
	return (0);
}

static int
smtp_tls(struct smtp *s, const struct cfg_mail *cm)
{
	struct in6_addr	 a6;
	int		 isip, r;

	isip = inet_pton(AF_INET, cm->host, &a6) == 1 ||
	    inet_pton(AF_INET6, cm->host, &a6) == 1;
	if ((s->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1)
		goto fail;
	if (cm->noverify)
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_NONE, NULL);
	else {
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
		if ((cm->ca[0] != '\0' ? SSL_CTX_load_verify_locations(s->ctx,
		    cm->ca, NULL) : SSL_CTX_set_default_verify_paths(s->ctx))
		    != 1)
			goto fail;
	}
	if ((s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1)
		goto fail;
	if (!cm->noverify) {
		if (isip ? X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(s->ssl), cm->host) != 1 :
		    SSL_set1_host(s->ssl, cm->host) != 1)
			goto fail;
	}
	if (!isip && SSL_set_tlsext_host_name(s->ssl, cm->host) != 1)
		goto fail;
	for (;;) {
		if ((r = SSL_connect(s->ssl)) == 1)
			return (0);
		switch (SSL_get_error(s->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			if (smtp_io_wait(s, POLLIN) == -1)
				goto fail;
			continue;
		case SSL_ERROR_WANT_WRITE:
			if (smtp_io_wait(s, POLLOUT) == -1)
				goto fail;
			continue;
		default:
			goto fail;
		}
	}
 fail:
	if (s->ssl != NULL && SSL_get_verify_result(s->ssl) != X509_V_OK)
		(void)snprintf(s->reply, sizeof(s->reply), "TLS: certificate "
		    "of %s not verified: %s", cm->host,
		    X509_verify_cert_error_string(
		    SSL_get_verify_result(s->ssl)));
	else
		(void)snprintf(s->reply, sizeof(s->reply), "TLS with %s: %s",
		    cm->host, errno == ETIMEDOUT ? "timed out" :
		    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    "handshake failed");
	ERR_clear_error();
	return (-1);
}

static int
smtp_write(struct smtp *s, const char *p, size_t len)
{
	ssize_t	 n;
	int	 r;

	while (len > 0) {
		if (s->ssl != NULL) {
			if ((r = SSL_write(s->ssl, p, len)) > 0) {
				p += r;
				len -= r;
				continue;
			}
			r = SSL_get_error(s->ssl, r);
			if ((r != SSL_ERROR_WANT_READ &&
			    r != SSL_ERROR_WANT_WRITE) || smtp_io_wait(s,
			    r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) == -1)
				return (-1);
			continue;
		}
		if ((n = write(s->fd, p, len)) == -1) {
			if ((errno != EAGAIN && errno != EINTR) ||
			    smtp_io_wait(s, POLLOUT) == -1)
				return (-1);
			continue;
		}
		p += n;
		len -= n;
	}
	return (0);
}

static int
smtp_printf(struct smtp *s, const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return (-1);
	s->deadline = time(NULL) + s->timeout;
	n = smtp_write(s, line, n);
	explicit_bzero(line, sizeof(line));
	return (n);
}

/* More bytes into buf: 0, or -1 on an error, end of file or timeout. */
static int
smtp_fill(struct smtp *s)
{
	ssize_t	 n;
	int	 r;

	if (s->len >= sizeof(s->buf) - 1)
		return (-1);
	for (;;) {
		if (s->ssl != NULL) {
			if ((r = SSL_read(s->ssl, s->buf + s->len,
			    sizeof(s->buf) - 1 - s->len)) > 0) {
				s->len += r;
				return (0);
			}
			r = SSL_get_error(s->ssl, r);
			if ((r != SSL_ERROR_WANT_READ &&
			    r != SSL_ERROR_WANT_WRITE) || smtp_io_wait(s,
			    r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) == -1)
				return (-1);
			continue;
		}
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
		if (n > 0) {
			s->len += n;
			return (0);
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
		    smtp_io_wait(s, POLLIN) == -1)
			return (-1);
	}
}

/*
 * One reply, multi-line ones too: its code, or -1 on an I/O error.  The
 * last line lands in s->reply; EHLO's extensions are noted.
 */
static int
smtp_reply(struct smtp *s)
{
	char	*nl, line[MAIL_MAX_REPLY];
	size_t	 len, n;
	int	 code;

	s->deadline = time(NULL) + s->timeout;
	for (;;) {
		while ((nl = memchr(s->buf, '\n', s->len)) == NULL)
			if (smtp_fill(s) == -1) {
				(void)snprintf(s->reply, sizeof(s->reply),
				    "connection to the relay: %s", errno ==
				    ETIMEDOUT ? "timed out" : "lost");
				return (-1);
			}
		len = nl - s->buf;
		n = len < sizeof(line) ? len : sizeof(line) - 1;
		memcpy(line, s->buf, n);
		line[n] = '\0';
		memmove(s->buf, nl + 1, s->len - len - 1);
		s->len -= len + 1;
		len = n;
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (len > 3 && line[3] != ' ' &&
		    line[3] != '-')) {
			(void)snprintf(s->reply, sizeof(s->reply),
			    "malformed reply from the relay");
			return (-1);
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (len > 4) {
			if (strcasecmp(line + 4, "STARTTLS") == 0)
				s->ext_starttls = 1;
			if (strncasecmp(line + 4, "AUTH", 4) == 0) {
				if (strcasestr(line + 8, "PLAIN") != NULL)
					s->ext_plain = 1;
				if (strcasestr(line + 8, "LOGIN") != NULL)
					s->ext_login = 1;
			}
		}
		if (len == 3 || line[3] == ' ') {
			(void)strlcpy(s->reply, line, sizeof(s->reply));
			return (code);
		}
	}
}

/* The message, CRLF line ends, dot-stuffed, then the lone dot. */
static int
smtp_data(struct smtp *s, const char *msg, size_t len)
{
	char		 out[4096];
	size_t		 i, n = 0;
	int		 bol = 1;

	s->deadline = time(NULL) + s->timeout;
	for (i = 0; i < len; i++) {
		if (n + 3 > sizeof(out)) {
			if (smtp_write(s, out, n) == -1)
				return (-1);
			n = 0;
		}
		if (bol && msg[i] == '.')
			out[n++] = '.';
		if (msg[i] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			bol = 1;
			continue;
		}
		if (msg[i] == '\r')
			continue;
		out[n++] = msg[i];
		bol = 0;
	}
	if (n > 0 && smtp_write(s, out, n) == -1)
		return (-1);
	explicit_bzero(out, sizeof(out));
	return (smtp_write(s, bol ? ".\r\n" : "\r\n.\r\n",
	    bol ? 3 : 5));
}

static void
smtp_close(struct smtp *s)
{
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	if (s->fd != -1)
		close(s->fd);
	ERR_clear_error();
}

int
send_smtp(const struct cfg_mail *cm, const char *from, const char *to,
    const char *msg, size_t len, char *err, size_t errlen)
{
	struct smtp	 s;
	char		 helo[256], cred[2 * CERTAOS_MAX_MAIL_AUTH + 2];
	char		 enc[4 * sizeof(cred) / 3 + 8];
	size_t		 ul, pl;
	int		 code = 0, rv = MAIL_TEMPFAIL, step = 0;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.timeout = cm->timeout > 0 ? cm->timeout : CERTAOS_MAIL_TIMEOUT;
	s.deadline = time(NULL) + s.timeout;
	if (gethostname(helo, sizeof(helo)) == -1 || helo[0] == '\0' ||
	    !mail_header_ok(helo) || strchr(helo, ' ') != NULL)
		(void)strlcpy(helo, "localhost", sizeof(helo));

	if (smtp_connect(&s, cm->host, cm->port) == -1)
		goto done;
	if (cm->tls == MAIL_TLS_ON && smtp_tls(&s, cm) == -1)
		goto done;
	if ((code = smtp_reply(&s)) != 220)
		goto refused;
	if (smtp_printf(&s, "EHLO %s\r\n", helo) == -1 ||
	    (code = smtp_reply(&s)) != 250)
		goto refused;
	if (cm->tls == MAIL_TLS_STARTTLS) {
		if (!s.ext_starttls) {
			(void)snprintf(s.reply, sizeof(s.reply), "the relay "
			    "offers no STARTTLS");
			goto done;
		}
		if (smtp_printf(&s, "STARTTLS\r\n") == -1 ||
		    (code = smtp_reply(&s)) != 220)
			goto refused;
		/* what came before TLS is forgotten, as RFC 3207 says */
		s.len = 0;
		s.ext_plain = s.ext_login = s.ext_starttls = 0;
		if (smtp_tls(&s, cm) == -1)
			goto done;
		if (smtp_printf(&s, "EHLO %s\r\n", helo) == -1 ||
		    (code = smtp_reply(&s)) != 250)
			goto refused;
	}
	if (cm->user[0] != '\0') {
		/* only ever over TLS: the grammar refuses auth with tls off */
		if (s.ssl == NULL)
			goto done;
		ul = strlen(cm->user);
		pl = strlen(cm->password);
		if (s.ext_plain || !s.ext_login) {
			cred[0] = '\0';
			memcpy(cred + 1, cm->user, ul);
			cred[1 + ul] = '\0';
			memcpy(cred + 2 + ul, cm->password, pl);
			b64(cred, ul + pl + 2, enc, sizeof(enc));
			code = smtp_printf(&s, "AUTH PLAIN %s\r\n", enc);
			explicit_bzero(cred, sizeof(cred));
			explicit_bzero(enc, sizeof(enc));
			if (code == -1 || (code = smtp_reply(&s)) != 235)
				goto refused;
		} else {
			if (smtp_printf(&s, "AUTH LOGIN\r\n") == -1 ||
			    (code = smtp_reply(&s)) != 334)
				goto refused;
			b64(cm->user, ul, enc, sizeof(enc));
			if (smtp_printf(&s, "%s\r\n", enc) == -1 ||
			    (code = smtp_reply(&s)) != 334)
				goto refused;
			b64(cm->password, pl, enc, sizeof(enc));
			code = smtp_printf(&s, "%s\r\n", enc);
			explicit_bzero(enc, sizeof(enc));
			if (code == -1 || (code = smtp_reply(&s)) != 235)
				goto refused;
		}
	}
	if (smtp_printf(&s, "MAIL FROM:<%s>\r\n", from) == -1 ||
	    (code = smtp_reply(&s)) != 250)
		goto refused;
	/* from here a 5xx is about this message: permanent */
	step = 1;
	if (smtp_printf(&s, "RCPT TO:<%s>\r\n", to) == -1 ||
	    ((code = smtp_reply(&s)) != 250 && code != 251))
		goto refused_msg;
	if (smtp_printf(&s, "DATA\r\n") == -1 ||
	    (code = smtp_reply(&s)) != 354)
		goto refused_msg;
	if (smtp_data(&s, msg, len) == -1 || (code = smtp_reply(&s)) != 250)
		goto refused_msg;
	rv = MAIL_SENT;
	/* the message is taken: how QUIT goes does not matter */
	(void)smtp_printf(&s, "QUIT\r\n");
	(void)smtp_reply(&s);
	goto done;

 refused_msg:
	if (code >= 500 && code < 600 && step)
		rv = MAIL_PERMFAIL;
 refused:
	if (code > 0)
		(void)smtp_printf(&s, "QUIT\r\n");
 done:
	if (rv != MAIL_SENT)
		(void)snprintf(err, errlen, "smtp %s: %s", cm->host, s.reply);
	smtp_close(&s);
	return (rv);
}
