/*
 * t_parse.c: the certaos.conf grammar (bin/certaosd/parse.y).
 *
 * Each case writes its configuration into the test's work directory,
 * parses it with parse_config() and checks the resulting structure, or,
 * for a broken file, that NULL comes back and that stderr holds exactly
 * the expected "file:line: message" lines.  Every limit is tried at its
 * value and at its value + 1.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <atf-c.h>

#include "certaos.h"
#include "certaosd.h"
#include "log.h"

#define CONF		"t.conf"
#define ERRFILE		"stderr.txt"
#define REQUIRED	"secret file \"secret\"\n" \
			"database \"dbname=certaos\"\n"
#define MINIMAL		REQUIRED "listen on 127.0.0.1 port 8080\n"
/* what print_config writes for rate limits left as they are */
#define RL_DEFAULTS	"rate-limit on\n" \
			"rate-limit entries 16384\n" \
			"rate-limit window 10 max 100\n" \
			"rate-limit \"/sign-in/*\" window 10 max 3\n" \
			"rate-limit \"/sign-up/*\" window 10 max 3\n" \
			"rate-limit \"/change-password\" window 10 max 3\n" \
			"rate-limit \"/change-email\" window 10 max 3\n" \
			"rate-limit \"/request-password-reset\" window 60 " \
			    "max 3\n" \
			"rate-limit \"/send-verification-email\" window 60 " \
			    "max 3\n" \
			"rate-limit \"/two-factor/*\" window 10 max 3\n" \
			"rate-limit \"/oauth2/token\" window 60 max 20\n" \
			"rate-limit \"/oauth2/authorize\" window 60 max 30\n" \
			"rate-limit \"/oauth2/introspect\" window 60 " \
			    "max 100\n" \
			"rate-limit \"/oauth2/revoke\" window 60 max 30\n" \
			"rate-limit \"/oauth2/register\" window 60 max 5\n" \
			"rate-limit \"/oauth2/userinfo\" window 60 max 60\n"

static char	 errbuf[64 * 1024];

static void	 write_file(const char *, const char *);
static struct certaosd_config *parse_text(const char *);
static struct certaosd_config *parse_file(const char *);
static void	 expect_error(const char *, const char *);
static void	 expect_ok(const char *);
static size_t	 count_lines(const char *);
static struct listen_config *listener(struct certaosd_config *, uint32_t);
static char	*print_to_string(struct certaosd_config *);
static int	 symset_str(const char *);

static void
write_file(const char *name, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(name, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) >= 0);
	ATF_REQUIRE(fclose(fp) == 0);
}

/* Parse a file, with what the parser logs to stderr kept in errbuf. */
static struct certaosd_config *
parse_file(const char *name)
{
	struct certaosd_config	*conf;
	ssize_t			 n;
	int			 fd, saved;

	log_init(1, LOG_DAEMON);
	log_procinit("t_parse");
	fflush(stderr);
	ATF_REQUIRE((saved = dup(STDERR_FILENO)) != -1);
	ATF_REQUIRE((fd = open(ERRFILE, O_RDWR | O_CREAT | O_TRUNC,
	    0600)) != -1);
	ATF_REQUIRE(dup2(fd, STDERR_FILENO) != -1);
	conf = parse_config(name);
	fflush(stderr);
	ATF_REQUIRE(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	ATF_REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
	n = read(fd, errbuf, sizeof(errbuf) - 1);
	ATF_REQUIRE(n >= 0);
	errbuf[n] = '\0';
	close(fd);
	/* Show what was logged in the test's own output. */
	fputs(errbuf, stderr);
	return (conf);
}

static struct certaosd_config *
parse_text(const char *text)
{
	write_file(CONF, text);
	return (parse_file(CONF));
}

/* The file does not parse and stderr is exactly the expected lines. */
static void
expect_error(const char *text, const char *errors)
{
	struct certaosd_config	*conf;

	conf = parse_text(text);
	ATF_CHECK_MSG(conf == NULL, "a broken file parsed");
	config_free(conf);
	ATF_CHECK_STREQ(errors, errbuf);
}

static void
expect_ok(const char *text)
{
	struct certaosd_config	*conf;

	conf = parse_text(text);
	ATF_CHECK_MSG(conf != NULL, "a good file did not parse: %s", errbuf);
	ATF_CHECK_STREQ("", errbuf);
	config_free(conf);
}

static size_t
count_lines(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return (n);
}

static struct listen_config *
listener(struct certaosd_config *conf, uint32_t id)
{
	struct listen_config	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (l->id == id)
			return (l);
	return (NULL);
}

static char *
print_to_string(struct certaosd_config *conf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ATF_REQUIRE((fp = open_memstream(&buf, &len)) != NULL);
	print_config(fp, conf);
	ATF_REQUIRE(fclose(fp) == 0);
	return (buf);
}

/* cmdline_symset() takes a writable string, as getopt's optarg is. */
static int
symset_str(const char *s)
{
	char	 def[64];

	ATF_REQUIRE(strlcpy(def, s, sizeof(def)) < sizeof(def));
	return (cmdline_symset(def));
}

ATF_TC_WITHOUT_HEAD(keywords);
ATF_TC_BODY(keywords, tc)
{
	static const char *const want[] = {
		"app-name", "argon2id", "attempts", "auth", "body-size",
		"ca", "certificate", "change-confirmation", "chroot",
		"closed", "control",
		"cookie", "database", "delete-user", "dir", "email",
		"entries", "file", "fresh-age", "from", "header",
		"header-size", "idle", "include", "invite",
		"invite-only", "issuer", "key", "length", "lifetime",
		"limit", "listen", "mail", "max", "memory", "noverify",
		"off", "on", "open", "optional", "parallelism",
		"password", "pool", "port", "prefix", "prefork",
		"rate-limit", "remember-off", "required", "retry",
		"secret", "sendmail", "session", "signup", "smtp",
		"socket", "starttls", "templates", "time", "timeout",
		"tls", "trusted-origins", "trusted-proxy", "update-age",
		"url", "user", "verification", "window", "workers"
	};
	size_t	 i;

	ATF_CHECK_EQ(1, parse_keywords_sorted());
	for (i = 0; i < nitems(want); i++) {
		ATF_REQUIRE(parse_keyword(i) != NULL);
		ATF_CHECK_STREQ(want[i], parse_keyword(i));
	}
	ATF_CHECK(parse_keyword(nitems(want)) == NULL);
}

ATF_TC_WITHOUT_HEAD(defaults);
ATF_TC_BODY(defaults, tc)
{
	struct certaosd_config	*conf;
	struct listen_config	*l;
	long			 ncpu;

	conf = parse_text(MINIMAL);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("", errbuf);
	ATF_CHECK_STREQ(CERTAOS_ISSUER, conf->issuer);
	ATF_CHECK_STREQ("secret", conf->secret_file);
	ATF_CHECK_STREQ("dbname=certaos", conf->database);
	ATF_CHECK_EQ(4, conf->db_pool);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > CERTAOS_MAX_PREFORK)
		ncpu = CERTAOS_MAX_PREFORK;
	ATF_CHECK_EQ(ncpu, (long)conf->prefork);
	ATF_CHECK_EQ(8192, conf->max_header);
	ATF_CHECK_EQ(1024 * 1024, conf->max_body);
	ATF_CHECK_EQ(10, conf->timeout_header);
	ATF_CHECK_EQ(60, conf->timeout_idle);
	ATF_CHECK_STREQ("_certaos", conf->user);
	ATF_CHECK_STREQ("/var/empty", conf->chroot);
	ATF_CHECK_STREQ("/run/certaos/certaosd.sock", conf->control_socket);
	ATF_CHECK_EQ(19456, conf->argon2_memory);
	ATF_CHECK_EQ(2, conf->argon2_time);
	ATF_CHECK_EQ(1, conf->argon2_lanes);
	ATF_CHECK_EQ(CERTAOS_PW_MIN, conf->pw_min);
	ATF_CHECK_EQ(CERTAOS_PW_MAX, conf->pw_max);
	ATF_CHECK_EQ(CERTAOS_SESSION_LIFETIME, conf->session_lifetime);
	ATF_CHECK_EQ(CERTAOS_SESSION_UPDATE, conf->session_update);
	ATF_CHECK_EQ(CERTAOS_SESSION_SHORT, conf->session_short);
	ATF_CHECK_STREQ(CERTAOS_COOKIE_PREFIX, conf->cookie_prefix);
	ATF_CHECK_EQ(0, conf->norigins);
	ATF_REQUIRE((l = TAILQ_FIRST(&conf->listeners)) != NULL);
	ATF_CHECK(TAILQ_NEXT(l, entry) == NULL);
	ATF_CHECK_EQ(0, l->id);
	ATF_CHECK_STREQ("127.0.0.1", l->addr);
	ATF_CHECK_EQ(8080, l->port);
	ATF_CHECK_EQ(0, l->tls);
	ATF_CHECK_EQ(-1, l->fd);
	ATF_CHECK(l->cert == NULL && l->key == NULL);
	ATF_CHECK(conf->secret == NULL);
	config_free(conf);
}

ATF_TC_WITHOUT_HEAD(full);
ATF_TC_BODY(full, tc)
{
	struct certaosd_config	*conf;
	struct listen_config	*l;

	conf = parse_text(
	    "# every statement\n"
	    "issuer \"https://auth.example.com//\"   # slashes dropped\n"
	    "secret file \"/etc/certaos/secret\"\n"
	    "database \"host=/var/run/postgresql dbname=certaos\"\n"
	    "database pool 16\n"
	    "prefork 3\n"
	    "\n"
	    "listen on 127.0.0.1 port 8080\n"
	    "listen on 0:0::0 port 443 tls {\n"
	    "\tcertificate \"/etc/ssl/x.crt\"\n"
	    "\n"
	    "\tkey \"/etc/ssl/private/x.key\"\n"
	    "}\n"
	    "listen on * port 8443 tls { key \"k\" certificate \"c\" }\n"
	    "limit header-size 16K\n"
	    "limit body-size 2M\n"
	    "timeout header 2m\n"
	    "timeout idle 1h\n"
	    "user \"www\"\n"
	    "chroot \"/var/lib/certaos\"\n"
	    "control socket \"/run/c.sock\"\n"
	    "password argon2id parallelism 4 memory 65536\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("https://auth.example.com", conf->issuer);
	ATF_CHECK_STREQ("/etc/certaos/secret", conf->secret_file);
	ATF_CHECK_STREQ("host=/var/run/postgresql dbname=certaos",
	    conf->database);
	ATF_CHECK_EQ(16, conf->db_pool);
	ATF_CHECK_EQ(3, conf->prefork);
	ATF_CHECK_EQ(16 * 1024, conf->max_header);
	ATF_CHECK_EQ(2 * 1024 * 1024, conf->max_body);
	ATF_CHECK_EQ(120, conf->timeout_header);
	ATF_CHECK_EQ(3600, conf->timeout_idle);
	ATF_CHECK_STREQ("www", conf->user);
	ATF_CHECK_STREQ("/var/lib/certaos", conf->chroot);
	ATF_CHECK_STREQ("/run/c.sock", conf->control_socket);
	ATF_CHECK_EQ(65536, conf->argon2_memory);
	ATF_CHECK_EQ(2, conf->argon2_time);	/* omitted: default */
	ATF_CHECK_EQ(4, conf->argon2_lanes);

	ATF_REQUIRE((l = listener(conf, 0)) != NULL);
	ATF_CHECK(l == TAILQ_FIRST(&conf->listeners));
	ATF_CHECK_STREQ("127.0.0.1", l->addr);
	ATF_CHECK_EQ(8080, l->port);
	ATF_CHECK_EQ(0, l->tls);
	ATF_REQUIRE((l = listener(conf, 1)) != NULL);
	ATF_CHECK_STREQ("::", l->addr);		/* canonical form */
	ATF_CHECK_EQ(443, l->port);
	ATF_CHECK_EQ(1, l->tls);
	ATF_CHECK_STREQ("/etc/ssl/x.crt", l->cert_file);
	ATF_CHECK_STREQ("/etc/ssl/private/x.key", l->key_file);
	ATF_REQUIRE((l = listener(conf, 2)) != NULL);
	ATF_CHECK(l == TAILQ_LAST(&conf->listeners, listen_list));
	ATF_CHECK_STREQ("0.0.0.0", l->addr);	/* "*" */
	ATF_CHECK_EQ(8443, l->port);
	ATF_CHECK_EQ(1, l->tls);
	ATF_CHECK_STREQ("c", l->cert_file);
	ATF_CHECK_STREQ("k", l->key_file);
	config_free(conf);
}

ATF_TC_WITHOUT_HEAD(sizes_and_times);
ATF_TC_BODY(sizes_and_times, tc)
{
	static const struct {
		const char	*stmt;
		size_t		 off;
		uint32_t	 want;
	} t[] = {
#define OFF(f)	offsetof(struct certaosd_config, f)
		{ "limit header-size 1024", OFF(max_header), 1024 },
		{ "limit header-size 1K", OFF(max_header), 1024 },
		{ "limit header-size 64K", OFF(max_header), 65536 },
		{ "limit header-size 65536", OFF(max_header), 65536 },
		{ "limit body-size 1K", OFF(max_body), 1024 },
		{ "limit body-size 1048576", OFF(max_body), 1048576 },
		{ "limit body-size 64M", OFF(max_body), 64 * 1024 * 1024 },
		{ "limit body-size 65536K", OFF(max_body), 64 * 1024 * 1024 },
		{ "timeout header 1", OFF(timeout_header), 1 },
		{ "timeout header 59s", OFF(timeout_header), 59 },
		{ "timeout header 60m", OFF(timeout_header), 3600 },
		{ "timeout idle 3600", OFF(timeout_idle), 3600 },
		{ "timeout idle 1h", OFF(timeout_idle), 3600 },
		{ "timeout idle 5m", OFF(timeout_idle), 300 }
#undef OFF
	};
	struct certaosd_config	*conf;
	char			 text[1024];
	uint32_t		 got;
	size_t			 i;

	for (i = 0; i < nitems(t); i++) {
		snprintf(text, sizeof(text), MINIMAL "%s\n", t[i].stmt);
		conf = parse_text(text);
		ATF_CHECK_MSG(conf != NULL, "%s: %s", t[i].stmt, errbuf);
		if (conf == NULL)
			continue;
		memcpy(&got, (char *)conf + t[i].off, sizeof(got));
		ATF_CHECK_EQ_MSG(t[i].want, got, "%s: got %u", t[i].stmt,
		    got);
		config_free(conf);
	}
}

/* Each limit at its bound is accepted and at bound + 1 refused. */
ATF_TC_WITHOUT_HEAD(ranges);
ATF_TC_BODY(ranges, tc)
{
	static const struct {
		const char	*stmt;
		const char	*error;		/* NULL: accepted */
	} t[] = {
		{ "prefork 1", NULL },
		{ "prefork 64", NULL },
		{ "prefork 0", "prefork 0: out of range (1-64)" },
		{ "prefork 65", "prefork 65: out of range (1-64)" },
		{ "prefork -1", "prefork -1: out of range (1-64)" },
		{ "database pool 64", NULL },
		{ "database pool 65",
		    "database pool 65: out of range (1-64)" },
		{ "database pool 0", "database pool 0: out of range (1-64)" },
		{ "limit header-size 1023",
		    "header-size 1023: out of range (1024-65536)" },
		{ "limit header-size 65537",
		    "header-size 65537: out of range (1024-65536)" },
		{ "limit header-size 1M",
		    "header-size 1M: out of range (1024-65536)" },
		{ "limit body-size 67108865",
		    "body-size 67108865: out of range (1024-67108864)" },
		{ "limit body-size 65M",
		    "body-size 65M: out of range (1024-67108864)" },
		{ "limit body-size 1023",
		    "body-size 1023: out of range (1024-67108864)" },
		{ "limit body-size 1G", "invalid body-size \"1G\"" },
		{ "limit body-size 1k", "invalid body-size \"1k\"" },
		{ "limit body-size K", "invalid body-size \"K\"" },
		{ "limit body-size 9999999999999999999M",
		    "body-size 9999999999999999999M: out of range "
		    "(1024-67108864)" },
		{ "timeout header 0",
		    "timeout header 0: out of range (1-3600)" },
		{ "timeout header 3601",
		    "timeout header 3601: out of range (1-3600)" },
		{ "timeout idle 61m",
		    "timeout idle 61m: out of range (1-3600)" },
		{ "timeout idle 2h",
		    "timeout idle 2h: out of range (1-3600)" },
		{ "timeout idle 10x", "invalid timeout idle \"10x\"" },
		{ "listen on ::1 port 65535", NULL },
		{ "listen on ::1 port 65536",
		    "port 65536: out of range (1-65535)" },
		{ "listen on ::1 port 0", "port 0: out of range (1-65535)" },
		{ "password argon2id memory 8 time 1 parallelism 1", NULL },
		{ "password argon2id memory 4194304 time 100 parallelism 16",
		    NULL },
		{ "password argon2id memory 7",
		    "argon2id memory 7: out of range (8-4194304)" },
		{ "password argon2id memory 4194305",
		    "argon2id memory 4194305: out of range (8-4194304)" },
		{ "password argon2id time 101",
		    "argon2id time 101: out of range (1-100)" },
		{ "password argon2id time 0",
		    "argon2id time 0: out of range (1-100)" },
		{ "password argon2id parallelism 17",
		    "argon2id parallelism 17: out of range (1-16)" },
		{ "password argon2id memory 8 parallelism 2",
		    "argon2id memory 8: less than 8 KiB per lane" },
		{ "prefork 99999999999999999999",
		    "\"99999999999999999999\" invalid number: too large" },
		{ "timeout idle 1d",
		    "timeout idle 1d: out of range (1-3600)" },
		{ "session lifetime 300", NULL },
		{ "session lifetime 299",
		    "session lifetime 299: out of range (5m-365d)" },
		{ "session lifetime 365d", NULL },
		{ "session lifetime 31536001",
		    "session lifetime 31536001: out of range (5m-365d)" },
		{ "session lifetime 8761h",
		    "session lifetime 8761h: out of range (5m-365d)" },
		{ "session lifetime -7d",
		    "session lifetime -7d: out of range (5m-365d)" },
		{ "session lifetime 99999999999999999999d",
		    "session lifetime 99999999999999999999d: out of range "
		    "(5m-365d)" },
		{ "session lifetime 1w", "invalid session lifetime \"1w\"" },
		{ "session lifetime d", "invalid session lifetime \"d\"" },
		{ "session lifetime 1dd", "invalid session lifetime \"1dd\"" },
		{ "session update-age 0", NULL },
		{ "session update-age -1",
		    "session update-age -1: out of range (0-365d)" },
		{ "session update-age 604800", NULL },
		{ "session update-age 604801",
		    "session update-age 604801: longer than the session "
		    "lifetime (7d)" },
		{ "session update-age 31536001",
		    "session update-age 31536001: out of range (0-365d)" },
		{ "session remember-off 300", NULL },
		{ "session remember-off 299",
		    "session remember-off 299: out of range (5m-365d)" },
		{ "session remember-off 0",
		    "session remember-off 0: out of range (5m-365d)" },
		{ "session fresh-age 0", NULL },
		{ "session fresh-age 1s", NULL },
		{ "session fresh-age 366d",
		    "session fresh-age 366d: out of range (0-365d)" },
		{ "session remember-off 7d", NULL },
		{ "session remember-off 10081m",
		    "session remember-off 10081m: longer than the session "
		    "lifetime (7d)" },
		{ "password length 1 128", NULL },
		{ "password length 0 128",
		    "password length minimum 0: out of range (1-128)" },
		{ "password length 8 129",
		    "password length maximum 129: out of range (1-128)" },
		{ "password length 9 8",
		    "password length minimum 9: out of range (1-8)" },
		{ "password length 1 0",
		    "password length maximum 0: out of range (1-128)" },
		{ "password length -1 8",
		    "password length minimum -1: out of range (1-8)" }
	};
	char		 text[1024], want[1024];
	size_t		 i;

	for (i = 0; i < nitems(t); i++) {
		/* The statement is on line 4, after the minimal config. */
		snprintf(text, sizeof(text), MINIMAL "%s\n", t[i].stmt);
		if (t[i].error == NULL) {
			expect_ok(text);
			continue;
		}
		snprintf(want, sizeof(want), "t_parse: " CONF ":4: %s\n",
		    t[i].error);
		expect_error(text, want);
	}
}

ATF_TC_WITHOUT_HEAD(listeners);
ATF_TC_BODY(listeners, tc)
{
	struct certaosd_config	*conf;
	char			 text[4096];
	size_t			 i;
	int			 len;

	/* CERTAOS_MAX_LISTENERS is accepted, one more is refused. */
	len = snprintf(text, sizeof(text), REQUIRED);
	for (i = 0; i < CERTAOS_MAX_LISTENERS; i++)
		len += snprintf(text + len, sizeof(text) - len,
		    "listen on 127.0.0.1 port %zu\n", 1000 + i);
	conf = parse_text(text);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(CERTAOS_MAX_LISTENERS - 1,
	    TAILQ_LAST(&conf->listeners, listen_list)->id);
	config_free(conf);
	snprintf(text + len, sizeof(text) - len,
	    "listen on 127.0.0.1 port 2000\n");
	expect_error(text, "t_parse: " CONF ":19: too many listeners "
	    "(max 16)\n");

	/* The same address and port twice, also written differently. */
	expect_error(MINIMAL "listen on 127.0.0.1 port 8080\n",
	    "t_parse: " CONF ":4: duplicate listener 127.0.0.1 port 8080\n");
	expect_error(REQUIRED "listen on ::0 port 1\nlisten on 0::0 port 1\n",
	    "t_parse: " CONF ":4: duplicate listener :: port 1\n");
	expect_error(REQUIRED "listen on * port 1\nlisten on 0.0.0.0 port 1\n",
	    "t_parse: " CONF ":4: duplicate listener 0.0.0.0 port 1\n");
	/* Same address, other port; other family, same port: fine. */
	expect_ok(MINIMAL "listen on 127.0.0.1 port 8081\n"
	    "listen on ::1 port 8080\n");

	expect_error(REQUIRED "listen on localhost port 80\n",
	    "t_parse: " CONF ":3: invalid address \"localhost\"\n");
	expect_error(REQUIRED "listen on 10.0.0.1/24 port 80\n",
	    "t_parse: " CONF ":3: invalid address \"10.0.0.1/24\"\n");
	expect_error(REQUIRED "listen on 1 port 80\n",
	    "t_parse: " CONF ":3: invalid address \"1\"\n");

	/* A tls block needs both files; errors inside it are all seen. */
	expect_error(REQUIRED "listen on ::1 port 443 tls {\n"
	    "\tcertificate \"c\"\n}\n",
	    "t_parse: " CONF ":3: tls block requires a certificate and a "
	    "key\n");
	expect_error(REQUIRED "listen on ::1 port 443 tls { }\n",
	    "t_parse: " CONF ":3: tls block requires a certificate and a "
	    "key\n");
	expect_error(REQUIRED "listen on ::1 port 443 tls {\n"
	    "\tcertificate \"c\"\n\tcertificate \"d\"\n\tkey \"k\"\n}\n",
	    "t_parse: " CONF ":5: certificate already set\n");
	expect_error(MINIMAL "listen on ::1 port 443 tls {\n"
	    "\tcertificat \"c\"\n\tkey \"k\" x\n\tkey \"k\"\n}\n"
	    "prefork 0\n",
	    "t_parse: " CONF ":5: unknown keyword \"certificat\"\n"
	    "t_parse: " CONF ":6: syntax error\n"
	    "t_parse: " CONF ":7: key already set\n"
	    "t_parse: " CONF ":4: tls block requires a certificate and a "
	    "key\n"
	    "t_parse: " CONF ":9: prefork 0: out of range (1-64)\n");
	expect_error(MINIMAL "listen on ::1 port 443 tls {\n"
	    "\tcertificate \"c\"\n",
	    "t_parse: " CONF ":5: unexpected end of file\n");
}

ATF_TC_WITHOUT_HEAD(strings);
ATF_TC_BODY(strings, tc)
{
	struct certaosd_config	*conf;

	conf = parse_text(MINIMAL
	    "user \"a \\\"quoted\\\" \\\\ name\\x\"\n"
	    "issuer \"http://h:1/p/\"\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("a \"quoted\" \\ name\\x", conf->user);
	ATF_CHECK_STREQ("http://h:1/p", conf->issuer);
	config_free(conf);

	expect_error(MINIMAL "issuer \"ftp://h\"\n",
	    "t_parse: " CONF ":4: issuer \"ftp://h\": must start with "
	    "http:// or https://\n");
	expect_error(MINIMAL "issuer \"https://h/?a=b\"\n",
	    "t_parse: " CONF ":4: issuer \"https://h/?a=b\": must not have "
	    "a query or fragment\n");
	expect_error(MINIMAL "issuer \"https://h#f\"\n",
	    "t_parse: " CONF ":4: issuer \"https://h#f\": must not have "
	    "a query or fragment\n");
	expect_error(MINIMAL "issuer \"https:///\"\n",
	    "t_parse: " CONF ":4: issuer \"https:///\": no host\n");
	expect_error(MINIMAL "issuer \"https://a b\"\n",
	    "t_parse: " CONF ":4: issuer: invalid character 0x20\n");
	expect_error(MINIMAL "chroot \"var/empty\"\n",
	    "t_parse: " CONF ":4: chroot \"var/empty\": not an absolute "
	    "path\n");
	expect_error(MINIMAL "control socket \"run/s\"\n",
	    "t_parse: " CONF ":4: control socket \"run/s\": not an absolute "
	    "path\n");
	expect_error(MINIMAL "user \"\"\n",
	    "t_parse: " CONF ":4: user: empty string\n");
	expect_error(MINIMAL "database \"unterminated\nprefork 0\n",
	    "t_parse: " CONF ":4: unterminated quoted string\n"
	    "t_parse: " CONF ":5: prefork 0: out of range (1-64)\n");
	expect_error(MINIMAL "user \"a\001\"\n",
	    "t_parse: " CONF ":4: unexpected character 0x01 in quoted "
	    "string\n");
	expect_error(MINIMAL "prefork 2;\n",
	    "t_parse: " CONF ":4: unexpected character ';'\n");
	expect_error(MINIMAL "user \xc3\xa9\n",
	    "t_parse: " CONF ":4: unexpected character 0xc3\n");
	expect_error(MINIMAL "prefork \001 2\n",
	    "t_parse: " CONF ":4: unexpected character 0x01\n");
}

/* Long values: the lexer's cap, and each field's own. */
ATF_TC_WITHOUT_HEAD(long_tokens);
ATF_TC_BODY(long_tokens, tc)
{
	struct certaosd_config	*conf;
	char			*text, *want, *exp;
	size_t			 size = 3 * CERTAOS_MAX_TOKEN;
	size_t			 n;

	ATF_REQUIRE((text = malloc(size)) != NULL);
	ATF_REQUIRE((want = malloc(size)) != NULL);

	/* CERTAOS_MAX_TOKEN - 1 bytes is the longest token: lexed. */
	n = snprintf(text, size, MINIMAL "user \"");
	memset(text + n, 'u', CERTAOS_MAX_TOKEN - 1);
	text[n + CERTAOS_MAX_TOKEN - 1] = '\0';
	strlcat(text, "\"\n", size);
	expect_error(text, "t_parse: " CONF ":4: user too long (max 255 "
	    "bytes)\n");
	n = snprintf(text, size, MINIMAL "user ");
	memset(text + n, 'u', CERTAOS_MAX_TOKEN - 1);
	text[n + CERTAOS_MAX_TOKEN - 1] = '\0';
	strlcat(text, "\n", size);
	expect_error(text, "t_parse: " CONF ":4: user too long (max 255 "
	    "bytes)\n");

	/* One more, quoted or bare, is a lexer error; the next line counts. */
	n = snprintf(text, size, MINIMAL "user \"");
	memset(text + n, 'u', CERTAOS_MAX_TOKEN);
	text[n + CERTAOS_MAX_TOKEN] = '\0';
	strlcat(text, "\"\nprefork 0\n", size);
	expect_error(text, "t_parse: " CONF ":4: string too long (max 8191 "
	    "bytes)\nt_parse: " CONF ":5: prefork 0: out of range (1-64)\n");
	n = snprintf(text, size, MINIMAL "user ");
	memset(text + n, 'u', CERTAOS_MAX_TOKEN);
	text[n + CERTAOS_MAX_TOKEN] = '\0';
	strlcat(text, "\nprefork 0\n", size);
	expect_error(text, "t_parse: " CONF ":4: string too long (max 8191 "
	    "bytes)\nt_parse: " CONF ":5: prefork 0: out of range (1-64)\n");

	/* The issuer at its limit and one over. */
	n = snprintf(text, size, MINIMAL "issuer \"https://");
	memset(text + n, 'h', CERTAOS_MAX_ISSUER - 1 - 8);
	text[n + CERTAOS_MAX_ISSUER - 1 - 8] = '\0';
	strlcat(text, "\"\n", size);
	conf = parse_text(text);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(CERTAOS_MAX_ISSUER - 1, strlen(conf->issuer));
	config_free(conf);
	n = snprintf(text, size, MINIMAL "issuer \"https://");
	memset(text + n, 'h', CERTAOS_MAX_ISSUER - 8);
	text[n + CERTAOS_MAX_ISSUER - 8] = '\0';
	strlcat(text, "\"\n", size);
	expect_error(text, "t_parse: " CONF ":4: issuer too long (max 511 "
	    "bytes)\n");

	/* The conninfo at its limit and one over. */
	n = snprintf(text, size, "secret file \"s\"\n"
	    "listen on ::1 port 1\ndatabase \"");
	memset(text + n, 'd', CERTAOS_MAX_CONNINFO - 1);
	text[n + CERTAOS_MAX_CONNINFO - 1] = '\0';
	strlcat(text, "\"\n", size);
	expect_ok(text);
	n = snprintf(text, size, "secret file \"s\"\n"
	    "listen on ::1 port 1\ndatabase \"");
	memset(text + n, 'd', CERTAOS_MAX_CONNINFO);
	text[n + CERTAOS_MAX_CONNINFO] = '\0';
	strlcat(text, "\"\n", size);
	expect_error(text, "t_parse: " CONF ":3: database too long (max 1023 "
	    "bytes)\n");

	/* A control socket path must fit in sun_path (108 with the NUL). */
	snprintf(want, size, "/%0106d", 0);
	snprintf(text, size, MINIMAL "control socket \"%s\"\n", want);
	expect_ok(text);
	snprintf(want, size, "/%0107d", 0);
	snprintf(text, size, MINIMAL "control socket \"%s\"\n", want);
	ATF_REQUIRE(asprintf(&exp, "t_parse: " CONF ":4: control socket "
	    "\"%s\": path too long (max 107 bytes)\n", want) != -1);
	expect_error(text, exp);
	free(exp);

	free(text);
	free(want);
}

ATF_TC_WITHOUT_HEAD(macros);
ATF_TC_BODY(macros, tc)
{
	struct certaosd_config	*conf;

	/* Defined in the file, used bare; a number may be a value. */
	conf = parse_text(
	    "root = \"/var/lib/certaos\"\n"
	    "n=3\n"
	    "lo = \"127.0.0.1\"\n"
	    "tlsfiles = \"certificate c key k\"\n"
	    MINIMAL
	    "chroot $root\n"
	    "prefork $n\n"
	    "listen on $lo port 443 tls { $tlsfiles }\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("/var/lib/certaos", conf->chroot);
	ATF_CHECK_EQ(3, conf->prefork);
	ATF_CHECK_STREQ("c", TAILQ_LAST(&conf->listeners, listen_list)->
	    cert_file);
	config_free(conf);

	expect_error(MINIMAL "prefork $nope\nprefork 0\n",
	    "t_parse: " CONF ":4: macro '$nope' not defined\n"
	    "t_parse: " CONF ":5: prefork 0: out of range (1-64)\n");
	expect_error(MINIMAL "prefork $\n",
	    "t_parse: " CONF ":4: '$' without a macro name\n");
	expect_error(MINIMAL "a-b = \"1\"\n",
	    "t_parse: " CONF ":4: invalid macro name \"a-b\"\n");
	/* A '$' inside a value is not expanded again: no recursion. */
	expect_error("a = \"$a\"\n" MINIMAL "prefork $a\n",
	    "t_parse: " CONF ":5: unexpected character '$'\n");

	/* -D wins over the file, and survives from one parse to the next. */
	ATF_CHECK_EQ(-1, symset_str("noequals"));
	ATF_CHECK_EQ(-1, symset_str("=x"));
	ATF_CHECK_EQ(-1, symset_str("bad-name=x"));
	ATF_CHECK_EQ(-1, symset_str("nl=a\nb"));
	ATF_CHECK_EQ(0, symset_str("n=5"));
	ATF_CHECK_EQ(0, symset_str("ci=a=b"));
	conf = parse_text("n = 3\n" MINIMAL "prefork $n\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(5, conf->prefork);
	config_free(conf);
	conf = parse_text(MINIMAL "prefork $n\nuser \"x\"\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(5, conf->prefork);
	config_free(conf);

	/* A macro of one file is gone when the next file is parsed. */
	expect_ok("m = 7\n" MINIMAL "prefork $m\n");
	expect_error(MINIMAL "prefork $m\n",
	    "t_parse: " CONF ":4: macro '$m' not defined\n");
}

ATF_TC_WITHOUT_HEAD(include);
ATF_TC_BODY(include, tc)
{
	struct certaosd_config	*conf;
	char			 name[32], text[64];
	int			 i;

	write_file("inc-db.conf", "database \"dbname=x\"\ndatabase pool 9");
	conf = parse_text("secret file \"s\"\n"
	    "include \"inc-db.conf\"\n"
	    "listen on ::1 port 1\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("dbname=x", conf->database);
	ATF_CHECK_EQ(9, conf->db_pool);		/* last line, no '\n' */
	config_free(conf);

	/* Errors carry the name of the file they are in. */
	write_file("inc-bad.conf", "\nprefork 0\n");
	expect_error(MINIMAL "include \"inc-bad.conf\"\ndatabase pool 65\n",
	    "t_parse: inc-bad.conf:2: prefork 0: out of range (1-64)\n"
	    "t_parse: " CONF ":5: database pool 65: out of range (1-64)\n");
	expect_error(MINIMAL "include \"inc-none.conf\"\nprefork 65\n",
	    "t_parse: " CONF ":4: could not open include file "
	    "\"inc-none.conf\": No such file or directory\n"
	    "t_parse: " CONF ":5: prefork 65: out of range (1-64)\n");

	/* A chain of CERTAOS_MAX_INCLUDE includes, then one more. */
	for (i = 1; i <= CERTAOS_MAX_INCLUDE + 1; i++) {
		snprintf(name, sizeof(name), "chain%d.conf", i);
		snprintf(text, sizeof(text), "include \"chain%d.conf\"\n",
		    i + 1);
		write_file(name, text);
	}
	snprintf(name, sizeof(name), "chain%d.conf", CERTAOS_MAX_INCLUDE);
	write_file(name, "prefork 5\n");
	conf = parse_text(MINIMAL "include \"chain1.conf\"\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(5, conf->prefork);
	config_free(conf);
	snprintf(text, sizeof(text), "include \"chain%d.conf\"\n",
	    CERTAOS_MAX_INCLUDE + 1);
	write_file(name, text);
	write_file("chain9.conf", "prefork 5\n");
	expect_error(MINIMAL "include \"chain1.conf\"\n",
	    "t_parse: chain8.conf:1: include depth exceeded (max 8)\n");

	/* A file including itself stops at the limit. */
	write_file("self.conf", "\ninclude \"self.conf\"\n");
	conf = parse_text(MINIMAL "include \"self.conf\"\n");
	ATF_CHECK(conf == NULL);
	ATF_CHECK_STREQ("t_parse: self.conf:2: include depth exceeded "
	    "(max 8)\n", errbuf);
}

ATF_TC_WITHOUT_HEAD(statements);
ATF_TC_BODY(statements, tc)
{
	static const char *const twice[] = {
		"issuer \"http://a\"", "issuer",
		"database pool 2", "database pool",
		"prefork 2", "prefork",
		"limit header-size 2K", "limit header-size",
		"limit body-size 2K", "limit body-size",
		"timeout header 2", "timeout header",
		"timeout idle 2", "timeout idle",
		"user \"u\"", "user",
		"chroot \"/c\"", "chroot",
		"control socket \"/s\"", "control socket",
		"password argon2id", "password argon2id",
		"password length 8 9", "password length",
		"cookie prefix \"a\"", "cookie prefix",
		"session lifetime 1d", "session lifetime",
		"session update-age 1h", "session update-age",
		"session remember-off 1h", "session remember-off",
		"email change-confirmation off", "email change-confirmation"
	};
	char		 text[512], want[512];
	size_t		 i;

	/* A singleton statement given twice is an error. */
	for (i = 0; i < nitems(twice); i += 2) {
		snprintf(text, sizeof(text), MINIMAL "%s\n%s\n", twice[i],
		    twice[i]);
		snprintf(want, sizeof(want), "t_parse: " CONF ":5: %s "
		    "already set\n", twice[i + 1]);
		expect_error(text, want);
	}
	expect_error(MINIMAL "secret file \"t\"\n",
	    "t_parse: " CONF ":4: secret file already set\n");
	expect_error(MINIMAL "database \"t\"\n",
	    "t_parse: " CONF ":4: database already set\n");
	expect_error(MINIMAL "password argon2id time 2 time 3\n",
	    "t_parse: " CONF ":4: argon2id time already set\n");

	/* Required statements, reported once each, without a line. */
	expect_error("", "t_parse: " CONF ": missing secret file\n"
	    "t_parse: " CONF ": missing database\n"
	    "t_parse: " CONF ": missing listen on\n");
	expect_error("database \"x\"\nlisten on ::1 port 1\n",
	    "t_parse: " CONF ": missing secret file\n");
	expect_error("secret file \"x\"\nlisten on ::1 port 1\n",
	    "t_parse: " CONF ": missing database\n");
	expect_error(REQUIRED, "t_parse: " CONF ": missing listen on\n");

	/* Syntax: unknown keywords, missing and extra arguments. */
	expect_error(MINIMAL "prefrok 2\n",
	    "t_parse: " CONF ":4: unknown keyword \"prefrok\"\n");
	expect_error(MINIMAL "prefork\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "prefork 2 3\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "prefork \"2\"\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "x =\n", "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "listen on ::1 port 1 tls\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "}\n", "t_parse: " CONF ":4: syntax error\n");

	/* Comments, blank lines, continuations, no final newline. */
	expect_ok("# comment\n\n   \t\n" REQUIRED
	    "listen on 127.0.0.1 \\\n  port 1 # comment \"x\n"
	    "user \"#not a comment\"\nprefork 2");
}

/* Every error of a file is reported, each on its own line. */
ATF_TC_WITHOUT_HEAD(all_errors);
ATF_TC_BODY(all_errors, tc)
{
	expect_error(
	    "prefork 0\n"
	    "prefork 65\n"
	    "bogus\n"
	    "listen on nowhere port 1\n"
	    "\n"
	    "limit body-size 1\n"
	    "timeout idle 0\n"
	    "user \"unterminated\n"
	    "chroot relative\n",
	    "t_parse: " CONF ":1: prefork 0: out of range (1-64)\n"
	    "t_parse: " CONF ":2: prefork already set\n"
	    "t_parse: " CONF ":3: unknown keyword \"bogus\"\n"
	    "t_parse: " CONF ":4: invalid address \"nowhere\"\n"
	    "t_parse: " CONF ":6: body-size 1: out of range (1024-67108864)\n"
	    "t_parse: " CONF ":7: timeout idle 0: out of range (1-3600)\n"
	    "t_parse: " CONF ":8: unterminated quoted string\n"
	    "t_parse: " CONF ":9: chroot \"relative\": not an absolute path\n"
	    "t_parse: " CONF ": missing secret file\n"
	    "t_parse: " CONF ": missing database\n");
	ATF_CHECK_EQ(10, count_lines(errbuf));
}

ATF_TC_WITHOUT_HEAD(sessions);
ATF_TC_BODY(sessions, tc)
{
	static const struct {
		const char	*stmt;
		uint32_t	 lifetime, update, shortlived;
	} t[] = {
		{ "session lifetime 30d", 2592000, 86400, 86400 },
		{ "session lifetime 2d", 172800, 86400, 86400 },
		/* Shorter than the defaults: they shrink with it. */
		{ "session lifetime 1h", 3600, 3600, 3600 },
		{ "session lifetime 5m", 300, 300, 300 },
		{ "session lifetime 300", 300, 300, 300 },
		{ "session lifetime 365d", 31536000, 86400, 86400 },
		{ "session lifetime 8760h", 31536000, 86400, 86400 },
		{ "session lifetime 525600m", 31536000, 86400, 86400 },
		{ "session lifetime 31536000s", 31536000, 86400, 86400 },
		{ "session update-age 0", 604800, 0, 86400 },
		{ "session update-age 7d", 604800, 604800, 86400 },
		{ "session remember-off 7d", 604800, 86400, 604800 },
		{ "session remember-off 5m", 604800, 86400, 300 },
		{ "session lifetime 5m update-age 0 remember-off 5m", 300, 0,
		    300 },
		{ "session update-age 1h lifetime 2h", 7200, 3600, 7200 },
		{ "session remember-off 2h\nsession lifetime 2h", 7200, 7200,
		    7200 },
		{ "session remember-off 365d update-age 365d lifetime 365d",
		    31536000, 31536000, 31536000 }
	};
	struct certaosd_config	*conf;
	char			 text[1024];
	size_t			 i;

	for (i = 0; i < nitems(t); i++) {
		snprintf(text, sizeof(text), MINIMAL "%s\n", t[i].stmt);
		conf = parse_text(text);
		ATF_CHECK_MSG(conf != NULL, "%s: %s", t[i].stmt, errbuf);
		if (conf == NULL)
			continue;
		ATF_CHECK_EQ_MSG(t[i].lifetime, conf->session_lifetime,
		    "%s: lifetime %u", t[i].stmt, conf->session_lifetime);
		ATF_CHECK_EQ_MSG(t[i].update, conf->session_update,
		    "%s: update-age %u", t[i].stmt, conf->session_update);
		ATF_CHECK_EQ_MSG(t[i].shortlived, conf->session_short,
		    "%s: remember-off %u", t[i].stmt, conf->session_short);
		config_free(conf);
	}

	/*
	 * update-age and remember-off are checked against the lifetime at
	 * the end of the file, where it is known: reported at their line,
	 * in their file, after the errors found on the way.
	 */
	expect_error(MINIMAL "session update-age 2h\nprefork 0\n"
	    "session lifetime 1h\n",
	    "t_parse: " CONF ":5: prefork 0: out of range (1-64)\n"
	    "t_parse: " CONF ":4: session update-age 2h: longer than the "
	    "session lifetime (1h)\n");
	write_file("inc-sess.conf", "\nsession remember-off 61m\n");
	expect_error(MINIMAL "include \"inc-sess.conf\"\n"
	    "session lifetime 1h update-age 3601\n",
	    "t_parse: " CONF ":5: session update-age 3601: longer than the "
	    "session lifetime (1h)\n"
	    "t_parse: inc-sess.conf:2: session remember-off 61m: longer than "
	    "the session lifetime (1h)\n");
	/* A bad lifetime is reported alone. */
	expect_error(MINIMAL "session lifetime 4m update-age 1d\n",
	    "t_parse: " CONF ":4: session lifetime 4m: out of range "
	    "(5m-365d)\n");
	expect_error(MINIMAL "session lifetime 1h lifetime 2h\n",
	    "t_parse: " CONF ":4: session lifetime already set\n");
	expect_error(MINIMAL "session\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "session lifetime\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "session length 1d\n",
	    "t_parse: " CONF ":4: syntax error\n");
}

ATF_TC_WITHOUT_HEAD(cookie_prefix);
ATF_TC_BODY(cookie_prefix, tc)
{
	static const char *const good[] = {
		"certaos", "better-auth", "a", "A_b-9", "123",
		"abcdefghijklmnopqrstuvwxyz012345"	/* 32 */
	};
	struct certaosd_config	*conf;
	char			 text[1024];
	size_t			 i;

	for (i = 0; i < nitems(good); i++) {
		snprintf(text, sizeof(text), MINIMAL "cookie prefix \"%s\"\n",
		    good[i]);
		conf = parse_text(text);
		ATF_CHECK_MSG(conf != NULL, "%s: %s", good[i], errbuf);
		if (conf == NULL)
			continue;
		ATF_CHECK_STREQ(good[i], conf->cookie_prefix);
		config_free(conf);
	}
	/* Unquoted, a word or a number. */
	conf = parse_text(MINIMAL "cookie prefix better-auth\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("better-auth", conf->cookie_prefix);
	config_free(conf);
	conf = parse_text(MINIMAL "cookie prefix 42\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ("42", conf->cookie_prefix);
	config_free(conf);

	expect_error(MINIMAL "cookie prefix "
	    "\"abcdefghijklmnopqrstuvwxyz0123456\"\n",
	    "t_parse: " CONF ":4: cookie prefix too long (max 32 bytes)\n");
	expect_error(MINIMAL "cookie prefix \"\"\n",
	    "t_parse: " CONF ":4: cookie prefix: empty string\n");
	expect_error(MINIMAL "cookie prefix \"a.b\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character '.'\n");
	expect_error(MINIMAL "cookie prefix \"a b\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character ' '\n");
	expect_error(MINIMAL "cookie prefix \"a=b\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character '='\n");
	expect_error(MINIMAL "cookie prefix \"a;b\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character ';'\n");
	expect_error(MINIMAL "cookie prefix \"a\tb\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character 0x09\n");
	expect_error(MINIMAL "cookie prefix \"caf\xc3\xa9\"\n",
	    "t_parse: " CONF ":4: cookie prefix: invalid character 0xc3\n");
	expect_error(MINIMAL "cookie prefix\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "cookie \"x\"\n",
	    "t_parse: " CONF ":4: syntax error\n");
}

ATF_TC_WITHOUT_HEAD(password_length);
ATF_TC_BODY(password_length, tc)
{
	struct certaosd_config	*conf;

	conf = parse_text(MINIMAL "password length 12 64\n"
	    "password argon2id time 3\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(12, conf->pw_min);
	ATF_CHECK_EQ(64, conf->pw_max);
	ATF_CHECK_EQ(3, conf->argon2_time);
	config_free(conf);
	conf = parse_text(MINIMAL "password length 1 1\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(1, conf->pw_min);
	ATF_CHECK_EQ(1, conf->pw_max);
	config_free(conf);
	conf = parse_text(MINIMAL "password length 128 128\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(CERTAOS_MAX_PASSWORD, conf->pw_min);
	ATF_CHECK_EQ(CERTAOS_MAX_PASSWORD, conf->pw_max);
	config_free(conf);

	expect_error(MINIMAL "password length 8\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "password length 8 128 256\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "password length 8 long\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "password length 8 128\npassword length 8 128\n",
	    "t_parse: " CONF ":5: password length already set\n");
	expect_error(MINIMAL "password argon2id\npassword argon2id\n",
	    "t_parse: " CONF ":5: password argon2id already set\n");
}

ATF_TC_WITHOUT_HEAD(origins);
ATF_TC_BODY(origins, tc)
{
	static const struct {
		const char	*written;
		const char	*stored;
	} t[] = {
		{ "https://app.example.com", "https://app.example.com" },
		{ "https://App.Example.COM", "https://app.example.com" },
		{ "HTTP://localhost:3000", "http://localhost:3000" },
		{ "https://a.example:443", "https://a.example" },
		{ "https://a.example:00443", "https://a.example" },
		{ "http://a.example:80", "http://a.example" },
		{ "http://a.example:443", "http://a.example:443" },
		{ "https://a.example:80", "https://a.example:80" },
		{ "https://a.example:1", "https://a.example:1" },
		{ "https://a.example:65535", "https://a.example:65535" },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
		{ "http://[::1]:3000", "http://[::1]:3000" },
		{ "http://[0:0:0:0:0:0:0:1]", "http://[::1]" },
		{ "http://[::]", "http://[::]" },
		{ "http://[1::]", "http://[1::]" },
		{ "http://[::FFFF:192.0.2.1]", "http://[::ffff:c000:201]" },
		{ "http://[1:0:0:2:0:0:0:3]", "http://[1:0:0:2::3]" },
		{ "http://[1:0:0:2:0:0:3:4]", "http://[1::2:0:0:3:4]" },
		{ "http://[1:0:2:0:3:0:4:0]", "http://[1:0:2:0:3:0:4:0]" },
		{ "https://[2001:DB8::1]:443", "https://[2001:db8::1]" }
	};
	static const struct {
		const char	*written;
		const char	*error;
	} bad[] = {
		{ "ftp://a.example", "must start with http:// or https://" },
		{ "a.example", "must start with http:// or https://" },
		{ "//a.example", "must start with http:// or https://" },
		{ "https:/a.example", "must start with http:// or https://" },
		{ "https://", "no host" },
		{ "https:///", "no host" },
		{ "https://:443", "no host" },
		{ "https://a.example/", "must not end with '/'" },
		{ "https://a.example:8443/", "must not end with '/'" },
		{ "https://a.example/x", "must not have a path" },
		{ "https://a.example//", "must not have a path" },
		{ "https://a.example?", "must not have a query or fragment" },
		{ "https://a.example#x", "must not have a query or fragment" },
		{ "https://u:p@a.example", "invalid port" },
		{ "https://u@a.example", "invalid host" },
		{ "https://a_b.example", "invalid host" },
		{ "https://*.example.com", "invalid host" },
		{ "https://[::1", "invalid host" },
		{ "https://[::1]x", "invalid host" },
		{ "https://[::g]", "invalid host" },
		{ "https://[]", "invalid host" },
		{ "https://[fe80::1%25eth0]", "invalid host" },
		{ "https://a.example:", "invalid port" },
		{ "https://a.example:0", "invalid port" },
		{ "https://a.example:65536", "invalid port" },
		{ "https://a.example:99999999999999999999", "invalid port" },
		{ "https://a.example:-1", "invalid port" },
		{ "https://a.example:1:2", "invalid port" }
	};
	struct certaosd_config	*conf;
	char			 text[1024], want[1024], *origin;
	size_t			 i;
	int			 len;

	for (i = 0; i < nitems(t); i++) {
		snprintf(text, sizeof(text), MINIMAL "trusted-origins { "
		    "\"%s\" }\n", t[i].written);
		conf = parse_text(text);
		ATF_CHECK_MSG(conf != NULL, "%s: %s", t[i].written, errbuf);
		if (conf == NULL)
			continue;
		ATF_CHECK_EQ(1, conf->norigins);
		ATF_CHECK_STREQ_MSG(t[i].stored, conf->origins[0], "%s",
		    t[i].written);
		config_free(conf);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), MINIMAL "trusted-origins { "
		    "\"%s\" }\n", bad[i].written);
		snprintf(want, sizeof(want), "t_parse: " CONF ":4: trusted "
		    "origin \"%s\": %s\n", bad[i].written, bad[i].error);
		expect_error(text, want);
	}
	expect_error(MINIMAL "trusted-origins { \"https://a b\" }\n",
	    "t_parse: " CONF ":4: trusted origin: invalid character 0x20\n");
	expect_error(MINIMAL "trusted-origins { \"https://caf\xc3\xa9\" }\n",
	    "t_parse: " CONF ":4: trusted origin: invalid character 0xc3\n");

	/* Several blocks accumulate, lines and comments inside; in order. */
	conf = parse_text(MINIMAL "trusted-origins { https://a.example }\n"
	    "trusted-origins {\n"
	    "\n"
	    "\t\"http://localhost:3000\"\t# the dev server\n"
	    "\t\"http://[::1]:3000\" \"http://127.0.0.1:3000\"\n"
	    "}\n"
	    "trusted-origins { }\n"
	    "trusted-origins {\n}\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_REQUIRE_EQ(4, conf->norigins);
	ATF_CHECK_STREQ("https://a.example", conf->origins[0]);
	ATF_CHECK_STREQ("http://localhost:3000", conf->origins[1]);
	ATF_CHECK_STREQ("http://[::1]:3000", conf->origins[2]);
	ATF_CHECK_STREQ("http://127.0.0.1:3000", conf->origins[3]);
	config_free(conf);

	/* Duplicates, also once normalized, also across blocks. */
	expect_error(MINIMAL "trusted-origins { \"https://a.example\" }\n"
	    "trusted-origins {\n\t\"HTTPS://A.example:443\"\n}\n",
	    "t_parse: " CONF ":6: duplicate trusted origin "
	    "\"https://a.example\"\n");
	expect_error(MINIMAL "trusted-origins { \"http://[::1]\" "
	    "\"http://[0::1]:80\" }\n",
	    "t_parse: " CONF ":4: duplicate trusted origin "
	    "\"http://[::1]\"\n");

	/* CERTAOS_MAX_ORIGINS, over two blocks; then one more. */
	len = snprintf(text, sizeof(text), MINIMAL "trusted-origins {\n");
	for (i = 0; i < CERTAOS_MAX_ORIGINS; i++) {
		if (i == CERTAOS_MAX_ORIGINS / 2)
			len += snprintf(text + len, sizeof(text) - len,
			    "}\ntrusted-origins {\n");
		len += snprintf(text + len, sizeof(text) - len,
		    "\"https://a%zu.example\"\n", i);
	}
	ATF_REQUIRE((size_t)len + 64 < sizeof(text));
	strlcat(text, "}\n", sizeof(text));
	conf = parse_text(text);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(CERTAOS_MAX_ORIGINS, conf->norigins);
	ATF_CHECK_STREQ("https://a15.example",
	    conf->origins[CERTAOS_MAX_ORIGINS - 1]);
	config_free(conf);
	text[len] = '\0';
	strlcat(text, "\"https://more.example\"\n}\n", sizeof(text));
	expect_error(text, "t_parse: " CONF ":23: too many trusted origins "
	    "(max 16)\n");

	/* CERTAOS_MAX_ORIGIN - 1 bytes, and one more. */
	ATF_REQUIRE((origin = malloc(CERTAOS_MAX_ORIGIN + 1)) != NULL);
	memset(origin, 'a', CERTAOS_MAX_ORIGIN);
	memcpy(origin, "https://", 8);
	origin[CERTAOS_MAX_ORIGIN - 1] = '\0';
	snprintf(text, sizeof(text), MINIMAL "trusted-origins { \"%s\" }\n",
	    origin);
	conf = parse_text(text);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_STREQ(origin, conf->origins[0]);
	config_free(conf);
	origin[CERTAOS_MAX_ORIGIN - 1] = 'a';
	origin[CERTAOS_MAX_ORIGIN] = '\0';
	snprintf(text, sizeof(text), MINIMAL "trusted-origins { \"%s\" }\n",
	    origin);
	expect_error(text, "t_parse: " CONF ":4: trusted origin too long "
	    "(max 255 bytes)\n");
	free(origin);

	/* Syntax: each bad line of a block is reported, and what follows. */
	expect_error(MINIMAL "trusted-origins {\n\t8080\n\t\"https://ok\"\n"
	    "\t\"ftp://x\" 1\n}\nprefork 0\n",
	    "t_parse: " CONF ":5: syntax error\n"
	    "t_parse: " CONF ":7: trusted origin \"ftp://x\": must start "
	    "with http:// or https://\n"
	    "t_parse: " CONF ":7: syntax error\n"
	    "t_parse: " CONF ":9: prefork 0: out of range (1-64)\n");
	expect_error(MINIMAL "trusted-origins { \"https://a\" 1 }\n"
	    "prefork 0\n",
	    "t_parse: " CONF ":4: syntax error\n"
	    "t_parse: " CONF ":5: prefork 0: out of range (1-64)\n");
	expect_error(MINIMAL "trusted-origins \"https://a\"\n",
	    "t_parse: " CONF ":4: syntax error\n");
	expect_error(MINIMAL "trusted-origins {\n\"https://a\"\n",
	    "t_parse: " CONF ":5: unexpected end of file\n");
}

/* The new statements print in a form that parses back to itself. */
ATF_TC_WITHOUT_HEAD(reparse_accounts);
ATF_TC_BODY(reparse_accounts, tc)
{
	struct certaosd_config	*conf;
	char			*first, *second;

	conf = parse_text(MINIMAL "prefork 1\n"
	    "session update-age 30m lifetime 2h\n"
	    "cookie prefix better-auth\n"
	    "password length 10 100\n"
	    "email change-confirmation off\n"
	    "trusted-origins { \"HTTPS://App.Example:443\" "
	    "\"http://[::1]:3000\" }\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	first = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_MSG(strstr(first,
	    "password length 10 100\n"
	    "session lifetime 7200 update-age 1800 remember-off 7200\n"
	    "session fresh-age 86400\n"
	    "cookie prefix \"better-auth\"\n"
	    "trusted-origins {\n"
	    "\t\"https://app.example\"\n"
	    "\t\"http://[::1]:3000\"\n"
	    "}\n"
	    "email verification optional\n"
	    "email change-confirmation off\n"
	    "delete-user on\n"
	    "signup open\n"
	    "rate-limit on\n") != NULL, "%s", first);
	conf = parse_text(first);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	second = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_STREQ(first, second);
	free(first);
	free(second);
}

/* print_config's output parses back to the same output. */
ATF_TC_WITHOUT_HEAD(reparse);
ATF_TC_BODY(reparse, tc)
{
	struct certaosd_config	*conf;
	char			*first, *second;

	conf = parse_text("issuer \"https://a.example/\"\n"
	    "secret file \"/s \\\"q\\\" \\\\\"\n"
	    "database \"host=/run/postgresql dbname=certaos\"\n"
	    "prefork 2\n"
	    "listen on * port 80\n"
	    "listen on ::1 port 443 tls { certificate \"c\" key \"k\" }\n"
	    "limit body-size 4M\ntimeout idle 2m\n"
	    "password argon2id time 3\n"
	    "password workers 3\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	first = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_STREQ(
	    "issuer \"https://a.example\"\n"
	    "secret file \"/s \\\"q\\\" \\\\\"\n"
	    "database \"host=/run/postgresql dbname=certaos\"\n"
	    "database pool 4\n"
	    "prefork 2\n"
	    "user \"_certaos\"\n"
	    "chroot \"/var/empty\"\n"
	    "control socket \"/run/certaos/certaosd.sock\"\n"
	    "limit header-size 8192\n"
	    "limit body-size 4194304\n"
	    "timeout header 10\n"
	    "timeout idle 120\n"
	    "password argon2id memory 19456 time 3 parallelism 1\n"
	    "password workers 3\n"
	    "password length 8 128\n"
	    "session lifetime 604800 update-age 86400 remember-off 86400\n"
	    "session fresh-age 86400\n"
	    "cookie prefix \"certaos\"\n"
	    "email verification optional\n"
	    "email change-confirmation on\n"
	    "delete-user on\n"
	    "signup open\n"
	    RL_DEFAULTS
	    "listen on 0.0.0.0 port 80\n"
	    "listen on ::1 port 443 tls {\n"
	    "\tcertificate \"c\"\n"
	    "\tkey \"k\"\n"
	    "}\n", first);

	conf = parse_text(first);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	second = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_STREQ(first, second);
	free(first);
	free(second);
}

/* Rate limits: the rules in force, the built-in ones included. */
ATF_TC_WITHOUT_HEAD(ratelimit);
ATF_TC_BODY(ratelimit, tc)
{
	struct certaosd_config	*conf;
	char			*first, *second;
	uint32_t		 i;

	conf = parse_text(MINIMAL);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(conf->rl_enabled, 1);
	ATF_CHECK_EQ(conf->rl_entries, CERTAOS_RL_ENTRIES_DEF);
	ATF_CHECK_EQ(conf->rl_window, 10);
	ATF_CHECK_EQ(conf->rl_max, 100);
	ATF_CHECK_EQ(conf->rl_nrules, 13);
	ATF_CHECK_STREQ(conf->rl_rules[0].path, "/sign-in/*");
	ATF_CHECK_EQ(conf->rl_rules[0].window, 10);
	ATF_CHECK_EQ(conf->rl_rules[0].max, 3);
	ATF_CHECK_EQ(conf->nproxies, 0);
	first = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_MSG(strstr(first, RL_DEFAULTS) != NULL, "%s", first);
	free(first);

	/* a rule replaces the built-in one of its path, in its place */
	conf = parse_text(MINIMAL "rate-limit off\n"
	    "rate-limit \"/get-session\" window 1m max 1000\n"
	    "rate-limit window 1h max 1\n"
	    "rate-limit /sign-up/* window 20s max 2\n"
	    "rate-limit entries 1024\n"
	    "trusted-proxy { 127.0.0.1\n10.1.0.0/16 }\n"
	    "trusted-proxy { 2001:db8::/32 }\n");
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	ATF_CHECK_EQ(conf->rl_enabled, 0);
	ATF_CHECK_EQ(conf->rl_entries, 1024);
	ATF_CHECK_EQ(conf->rl_window, 3600);
	ATF_CHECK_EQ(conf->rl_max, 1);
	ATF_REQUIRE_EQ(conf->rl_nrules, 14);
	ATF_CHECK_STREQ(conf->rl_rules[1].path, "/sign-up/*");
	ATF_CHECK_EQ(conf->rl_rules[1].window, 20);
	ATF_CHECK_EQ(conf->rl_rules[1].max, 2);
	ATF_CHECK_STREQ(conf->rl_rules[13].path, "/get-session");
	ATF_CHECK_EQ(conf->rl_rules[13].window, 60);
	ATF_CHECK_EQ(conf->rl_rules[13].max, 1000);
	ATF_REQUIRE_EQ(conf->nproxies, 3);
	ATF_CHECK_EQ(conf->proxies[1].af, 4);
	ATF_CHECK_EQ(conf->proxies[1].plen, 16);
	ATF_CHECK_EQ(conf->proxies[1].addr[1], 1);
	ATF_CHECK_EQ(conf->proxies[2].af, 6);
	ATF_CHECK_EQ(conf->proxies[2].plen, 32);
	first = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_MSG(strstr(first,
	    "rate-limit off\n"
	    "rate-limit entries 1024\n"
	    "rate-limit window 3600 max 1\n"
	    "rate-limit \"/sign-in/*\" window 10 max 3\n"
	    "rate-limit \"/sign-up/*\" window 20 max 2\n") != NULL, "%s",
	    first);
	ATF_CHECK_MSG(strstr(first,
	    "rate-limit \"/oauth2/userinfo\" window 60 max 60\n"
	    "rate-limit \"/get-session\" window 60 max 1000\n"
	    "trusted-proxy {\n"
	    "\t127.0.0.1\n"
	    "\t10.1.0.0/16\n"
	    "\t2001:db8::/32\n"
	    "}\n"
	    "listen on") != NULL, "%s", first);
	conf = parse_text(first);
	ATF_REQUIRE_MSG(conf != NULL, "%s", errbuf);
	second = print_to_string(conf);
	config_free(conf);
	ATF_CHECK_STREQ(first, second);
	free(first);
	free(second);

	/* the last rule and proxy that fit, and one more */
	first = NULL;
	for (i = 0; i < CERTAOS_MAX_RL_RULES - 13; i++) {
		second = first;
		ATF_REQUIRE(asprintf(&first, "%srate-limit \"/r%u\" window 1 "
		    "max 1\n", second != NULL ? second : MINIMAL, i) != -1);
		free(second);
	}
	for (i = 0; i < CERTAOS_MAX_PROXIES; i++) {
		second = first;
		ATF_REQUIRE(asprintf(&first, "%strusted-proxy { 10.0.0.%u }\n",
		    second, i) != -1);
		free(second);
	}
	expect_ok(first);
	second = first;
	ATF_REQUIRE(asprintf(&first, "%srate-limit \"/x\" window 1 max 1\n"
	    "rate-limit \"/two-factor/*\" window 1 max 1\n"
	    "trusted-proxy { ::1 }\n", second) != -1);
	expect_error(first,
	    "t_parse: " CONF ":87: too many rate-limit rules (max 64, the "
	    "built-in ones included)\n"
	    "t_parse: " CONF ":89: too many trusted proxies (max 32)\n");
	free(first);
	free(second);
}

/* Rate-limit values at their limits, and one past them. */
ATF_TC_WITHOUT_HEAD(ratelimit_limits);
ATF_TC_BODY(ratelimit_limits, tc)
{
	char	 path[CERTAOS_MAX_RL_PATH + 1], *text;

	expect_ok(MINIMAL "rate-limit entries 1024\n");
	expect_ok(MINIMAL "rate-limit entries 1048576\n");
	expect_ok(MINIMAL "rate-limit window 1d max 1000000\n");
	expect_ok(MINIMAL "rate-limit window 1s max 1\n");
	expect_ok(MINIMAL "trusted-proxy { 0.0.0.0/0 ::/0 ::/128 }\n");
	expect_error(MINIMAL "rate-limit entries 1023\n"
	    "rate-limit \"/a\" window 86401 max 1000001\n"
	    "rate-limit window 0 max 1\n"
	    "trusted-proxy { 1.2.3.4/33 ::/129 }\n",
	    "t_parse: " CONF ":4: rate-limit entries 1023: out of range "
	    "(1024-1048576)\n"
	    "t_parse: " CONF ":5: rate-limit window 86401: out of range "
	    "(1-1d)\n"
	    "t_parse: " CONF ":5: rate-limit max 1000001: out of range "
	    "(1-1000000)\n"
	    "t_parse: " CONF ":6: rate-limit window 0: out of range (1-1d)\n"
	    "t_parse: " CONF ":7: trusted-proxy \"1.2.3.4/33\": prefix length "
	    "out of range (0-32)\n"
	    "t_parse: " CONF ":7: trusted-proxy \"::/129\": prefix length "
	    "out of range (0-128)\n");
	expect_error(MINIMAL "rate-limit entries 1048577\n",
	    "t_parse: " CONF ":4: rate-limit entries 1048577: out of range "
	    "(1024-1048576)\n");

	/* a path of 63 bytes, and of 64 */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[CERTAOS_MAX_RL_PATH - 1] = '\0';
	ATF_REQUIRE(asprintf(&text, MINIMAL "rate-limit \"%s\" window 1 "
	    "max 1\n", path) != -1);
	expect_ok(text);
	free(text);
	path[CERTAOS_MAX_RL_PATH - 1] = 'p';
	path[CERTAOS_MAX_RL_PATH] = '\0';
	ATF_REQUIRE(asprintf(&text, MINIMAL "rate-limit \"%s\" window 1 "
	    "max 1\n", path) != -1);
	expect_error(text, "t_parse: " CONF ":4: rate-limit path too long "
	    "(max 63 bytes)\n");
	free(text);
}

ATF_TC_WITHOUT_HEAD(no_file);
ATF_TC_BODY(no_file, tc)
{
	struct certaosd_config	*conf;

	conf = parse_file("does-not-exist.conf");
	ATF_CHECK(conf == NULL);
	ATF_CHECK_STREQ("t_parse: does-not-exist.conf: No such file or "
	    "directory\n", errbuf);
	config_free(NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, keywords);
	ATF_TP_ADD_TC(tp, defaults);
	ATF_TP_ADD_TC(tp, full);
	ATF_TP_ADD_TC(tp, sizes_and_times);
	ATF_TP_ADD_TC(tp, ranges);
	ATF_TP_ADD_TC(tp, listeners);
	ATF_TP_ADD_TC(tp, strings);
	ATF_TP_ADD_TC(tp, long_tokens);
	ATF_TP_ADD_TC(tp, macros);
	ATF_TP_ADD_TC(tp, include);
	ATF_TP_ADD_TC(tp, statements);
	ATF_TP_ADD_TC(tp, all_errors);
	ATF_TP_ADD_TC(tp, sessions);
	ATF_TP_ADD_TC(tp, cookie_prefix);
	ATF_TP_ADD_TC(tp, password_length);
	ATF_TP_ADD_TC(tp, origins);
	ATF_TP_ADD_TC(tp, reparse);
	ATF_TP_ADD_TC(tp, ratelimit);
	ATF_TP_ADD_TC(tp, ratelimit_limits);
	ATF_TP_ADD_TC(tp, reparse_accounts);
	ATF_TP_ADD_TC(tp, no_file);
	return (atf_no_error());
}
