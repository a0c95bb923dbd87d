/*
 * t_keys: certaos-keys, exec'd for real.  The test plays the master on
 * fd 3, the db process and a web worker on channels it hands over with
 * IMSG_CTL_PROCFD, and checks what a user of the keys process relies on:
 * keys generated once and stored sealed, the same kids after a restart,
 * signatures that verify against the published JWKS, HMACs under the
 * HKDF-derived key, argon2id, and refusal of bad rows and bad messages;
 * sign-up, sign-in and session checks as web and db see them (auth.c).
 * The keystore.c units are tested in-process at the end; auth.c's
 * token primitives in t_auth.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <atf-c.h>
#include <yajl/yajl_tree.h>

#include "certaos.h"
#include "authrec.h"
#include "crypto.h"
#include "msg.h"
#include "proc.h"
#include "../../libexec/certaos-keys/keys.h"

#define WAIT_MS		60000		/* RSA keygen under ASan is slow */
#define NALGS		3

struct kchild {
	pid_t		 pid;
	struct imsgbuf	 parent;
	struct imsgbuf	 db;
	struct imsgbuf	 web;
	int		 have_db, have_web;
};

static const char *const algnames[NALGS] = { "RS256", "ES256", "EdDSA" };

static struct mbuf	 mb;

static int
alg_index(const char *alg)
{
	int	 i;

	for (i = 0; i < NALGS; i++)
		if (strcmp(alg, algnames[i]) == 0)
			return (i);
	return (-1);
}

static void
xflush(struct imsgbuf *ib)
{
	ATF_REQUIRE_MSG(imsgbuf_flush(ib) == 0, "flush: %s", strerror(errno));
}

static void
xsend(struct imsgbuf *ib, uint32_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	ATF_REQUIRE(imsg_compose(ib, type, id, 0, fd, data, len) != -1);
	xflush(ib);
}

static void
xsend_mbuf(struct imsgbuf *ib, uint32_t type, uint32_t id)
{
	ATF_REQUIRE(mbuf_compose(&mb, ib, type, id) == 0);
	xflush(ib);
}

/* Next message, waiting for it; fails the test on timeout or EOF. */
static void
xrecv(struct imsgbuf *ib, struct imsg *imsg)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	for (;;) {
		n = imsg_get(ib, imsg);
		ATF_REQUIRE_MSG(n != -1, "imsg_get: malformed message");
		if (n > 0)
			return;
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		ATF_REQUIRE_MSG(poll(&pfd, 1, WAIT_MS) == 1,
		    "timed out waiting for a message");
		r = imsgbuf_read(ib);
		ATF_REQUIRE_MSG(r != -1, "imsgbuf_read: %s", strerror(errno));
		ATF_REQUIRE_MSG(r != 0, "certaos-keys closed the channel");
	}
}

static void
xexpect(struct imsgbuf *ib, struct imsg *imsg, uint32_t type)
{
	xrecv(ib, imsg);
	ATF_REQUIRE_EQ_MSG(imsg_get_type(imsg), type,
	    "got imsg type %u, expected %u", imsg_get_type(imsg), type);
}

/* Nothing waiting on the channel for ms milliseconds. */
static int
quiet(struct imsgbuf *ib, int ms)
{
	struct pollfd	 pfd;

	if (ib->rlen > 0)
		return (0);
	pfd.fd = ib->fd;
	pfd.events = POLLIN;
	return (poll(&pfd, 1, ms) == 0);
}

static void
attach(struct kchild *kc, struct imsgbuf *mine, int proc)
{
	struct ctl_procfd	 pf;
	int			 sv[2];

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	ATF_REQUIRE(imsgbuf_init(mine, sv[0]) == 0);
	pf.proc = proc;
	pf.instance = 0;
	/* imsg closes sv[1] once sent */
	xsend(&kc->parent, IMSG_CTL_PROCFD, 0, sv[1], &pf, sizeof(pf));
}

static void
configure_params(struct kchild *kc, const unsigned char *secret,
    size_t secretlen, uint32_t m, uint32_t t, uint32_t p)
{
	struct cfg_keys	 cfg;
	struct imsg	 imsg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.argon2_memory = m;
	cfg.argon2_time = t;
	cfg.argon2_lanes = p;
	xsend(&kc->parent, IMSG_CFG_KEYS, 0, -1, &cfg, sizeof(cfg));
	xsend(&kc->parent, IMSG_CFG_SECRET, 0, -1, secret, secretlen);
	xsend(&kc->parent, IMSG_CFG_DONE, 0, -1, NULL, 0);
	xexpect(&kc->parent, &imsg, IMSG_CFG_ACK);
	imsg_free(&imsg);
}

static void
configure(struct kchild *kc, const unsigned char *secret, size_t secretlen)
{
	/* small argon2id parameters: fast tests */
	configure_params(kc, secret, secretlen, 1024, 1, 1);
}

/* exec certaos-keys with the parent channel on fd 3, and configure it */
static void
spawn(const atf_tc_t *tc, struct kchild *kc, const unsigned char *secret,
    size_t secretlen, int attach_peers)
{
	struct passwd	*pw;
	char		 path[PATH_MAX], empty[PATH_MAX];
	int		 sv[2];

	memset(kc, 0, sizeof(*kc));
	(void)snprintf(path, sizeof(path), "%s/libexec/certaos-keys",
	    atf_tc_get_config_var(tc, "builddir"));
	/* as root it chroots, as certaosd runs it: into an empty directory */
	ATF_REQUIRE(getcwd(empty, sizeof(empty) - 8) != NULL);
	(void)strlcat(empty, "/empty", sizeof(empty));
	ATF_REQUIRE(mkdir(empty, 0755) == 0 || errno == EEXIST);
	ATF_REQUIRE_MSG(access(path, X_OK) == 0, "%s: %s", path,
	    strerror(errno));
	ATF_REQUIRE((pw = getpwuid(geteuid())) != NULL);
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	ATF_REQUIRE((kc->pid = fork()) != -1);
	if (kc->pid == 0) {
		if (dup2(sv[1], PROC_PARENT_FD) == -1)
			_exit(127);
		closefrom(PROC_PARENT_FD + 1);
		execl(path, "certaos-keys", "-P", "keys", "-I", "0", "-u",
		    pw->pw_name, "-c", empty, "-d", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ATF_REQUIRE(imsgbuf_init(&kc->parent, sv[0]) == 0);
	imsgbuf_allow_fdpass(&kc->parent);
	configure(kc, secret, secretlen);
	if (attach_peers) {
		attach(kc, &kc->db, PROC_DB);
		kc->have_db = 1;
		attach(kc, &kc->web, PROC_WEB);
		kc->have_web = 1;
		xsend(&kc->parent, IMSG_CTL_START, 0, -1, NULL, 0);
	}
}

/* Wait for the child's exit and return its wait status. */
static int
reap(struct kchild *kc)
{
	int	 status, i;

	for (i = 0; i < 200; i++) {
		if (waitpid(kc->pid, &status, WNOHANG) == kc->pid)
			return (status);
		usleep(50000);
	}
	kill(kc->pid, SIGKILL);
	ATF_REQUIRE(waitpid(kc->pid, &status, 0) == kc->pid);
	atf_tc_fail("certaos-keys did not exit");
	return (status);
}

/* Close every channel: the child must go away (it fails closed). */
static void
stop(struct kchild *kc)
{
	if (kc->have_web)
		imsgbuf_clear(&kc->web), close(kc->web.fd);
	if (kc->have_db)
		imsgbuf_clear(&kc->db), close(kc->db.fd);
	imsgbuf_clear(&kc->parent);
	close(kc->parent.fd);
	(void)reap(kc);
}

static void
recv_row(struct imsg *imsg, struct keyrow *row)
{
	struct mread	 mr;

	memset(row, 0, sizeof(*row));
	mread_init(&mr, imsg);
	mread_str(&mr, row->kid, sizeof(row->kid));
	mread_str(&mr, row->alg, sizeof(row->alg));
	mread_str(&mr, row->jwk, sizeof(row->jwk));
	row->sealedlen = mread_bytes(&mr, row->sealed, sizeof(row->sealed));
	row->created = mread_u64(&mr);
	ATF_REQUIRE_MSG(mread_end(&mr) == 0, "malformed IMSG_DB_JWKS_INSERT");
}

/* An inserted row's kid must be its public JWK's RFC 7638 thumbprint. */
static void
check_row(const struct keyrow *row)
{
	EVP_PKEY	*pk;
	enum jws_alg	 alg;
	char		 tp[CERTAOS_MAX_KID + 1];

	ATF_REQUIRE_MSG(alg_index(row->alg) != -1, "alg %s", row->alg);
	ATF_REQUIRE((pk = jwk_public_import(row->jwk, strlen(row->jwk),
	    &alg)) != NULL);
	ATF_REQUIRE_STREQ(jws_alg_name(alg), row->alg);
	ATF_REQUIRE(jwk_thumbprint(pk, alg, tp, sizeof(tp)) == 0);
	ATF_REQUIRE_STREQ(tp, row->kid);
	EVP_PKEY_free(pk);
	/* sealed: nothing of the private key in clear, tag and nonce there */
	ATF_REQUIRE(row->sealedlen > SEAL_OVERHEAD);
	ATF_REQUIRE(row->created > 0);
}

static void
send_rows(struct kchild *kc, const struct keyrow *rows, int n, int32_t ok)
{
	int	 i;

	for (i = 0; i < n; i++) {
		mbuf_init(&mb);
		mbuf_str(&mb, rows[i].kid);
		mbuf_str(&mb, rows[i].alg);
		mbuf_str(&mb, rows[i].jwk);
		mbuf_bytes(&mb, rows[i].sealed, rows[i].sealedlen);
		mbuf_u64(&mb, rows[i].created);
		xsend_mbuf(&kc->db, IMSG_DB_JWKS_ROW, 0);
	}
	xsend(&kc->db, IMSG_DB_JWKS_END, 0, -1, &ok, sizeof(ok));
}

/* Receive n INSERTs, check them, answer each with r. */
static void
take_inserts(struct kchild *kc, struct keyrow *rows, int n, int32_t r)
{
	struct imsg	 imsg;
	int		 i, seen[NALGS] = { 0 };

	for (i = 0; i < n; i++) {
		xexpect(&kc->db, &imsg, IMSG_DB_JWKS_INSERT);
		recv_row(&imsg, &rows[i]);
		check_row(&rows[i]);
		ATF_REQUIRE_MSG(seen[alg_index(rows[i].alg)]++ == 0,
		    "two inserts for %s", rows[i].alg);
		xsend(&kc->db, IMSG_DB_JWKS_INSERTED, imsg_get_id(&imsg), -1,
		    &r, sizeof(r));
		imsg_free(&imsg);
	}
}

static uint32_t
expect_changed(struct kchild *kc)
{
	struct imsg	 imsg;
	uint32_t	 gen;

	xexpect(&kc->web, &imsg, IMSG_KEYS_JWKS_CHANGED);
	ATF_REQUIRE(imsg_get_data(&imsg, &gen, sizeof(gen)) == 0);
	imsg_free(&imsg);
	return (gen);
}

/*
 * First start on an empty database: LOAD -> END(1), three INSERTs,
 * INSERTED(1) each, LOAD again -> the rows.  rows gets them.
 */
static void
first_start(const atf_tc_t *tc, struct kchild *kc,
    const unsigned char *secret, size_t secretlen, struct keyrow *rows)
{
	struct imsg	 imsg;

	spawn(tc, kc, secret, secretlen, 1);
	xexpect(&kc->db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(kc, NULL, 0, 1);
	take_inserts(kc, rows, NALGS, 1);
	xexpect(&kc->db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(kc, rows, NALGS, 1);
	ATF_REQUIRE_EQ(expect_changed(kc), 1);
}

static int32_t
ping(struct kchild *kc)
{
	struct imsg	 imsg;
	int32_t		 n;

	xsend(&kc->web, IMSG_KEYS_PING, 7, -1, NULL, 0);
	xexpect(&kc->web, &imsg, IMSG_KEYS_PONG);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 7);
	ATF_REQUIRE(imsg_get_data(&imsg, &n, sizeof(n)) == 0);
	imsg_free(&imsg);
	return (n);
}

static uint32_t
jwks_get(struct kchild *kc, char *doc, size_t docsz)
{
	struct imsg	 imsg;
	struct mread	 mr;
	uint32_t	 gen;

	xsend(&kc->web, IMSG_KEYS_JWKS_GET, 8, -1, NULL, 0);
	xexpect(&kc->web, &imsg, IMSG_KEYS_JWKS);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 8);
	mread_init(&mr, &imsg);
	gen = mread_u32(&mr);
	mread_str(&mr, doc, docsz);
	ATF_REQUIRE(mread_end(&mr) == 0);
	imsg_free(&imsg);
	return (gen);
}

/*
 * Split {"keys":[{...},{...}]} into its member objects (JWKs hold no
 * nested objects or braces in strings, but skip strings anyway).
 */
static int
jwks_split(const char *doc, char objs[][CERTAOS_MAX_JWK], int max)
{
	const char	*p, *start = NULL;
	int		 n = 0, depth = 0, instr = 0;
	size_t		 len;

	if ((p = strchr(doc, '[')) == NULL)
		return (-1);
	for (; *p != '\0'; p++) {
		if (instr) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				instr = 0;
			continue;
		}
		if (*p == '"')
			instr = 1;
		else if (*p == '{' && depth++ == 0)
			start = p;
		else if (*p == '}' && --depth == 0) {
			if (n == max)
				return (-1);
			len = p - start + 1;
			if (len >= CERTAOS_MAX_JWK)
				return (-1);
			memcpy(objs[n], start, len);
			objs[n][len] = '\0';
			n++;
		}
	}
	return (n);
}

static const char *
ystr(yajl_val obj, const char *name)
{
	const char	*path[2] = { name, NULL };
	yajl_val	 v;

	v = yajl_tree_get(obj, path, yajl_t_string);
	return (v == NULL ? NULL : YAJL_GET_STRING(v));
}

/*
 * Check a JWKS document: n keys, RS256 first, each with kty, kid, alg
 * and use "sig" and no private member.  kids[] gets the kids by alg.
 */
static void
check_jwks(const char *doc, int n, char kids[NALGS][CERTAOS_MAX_KID + 1])
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
	    "k", "oth" };
	const char	*keyspath[] = { "keys", NULL };
	const char	*kid, *alg, *use, *kty;
	yajl_val	 root, keys, k;
	size_t		 i, j;
	char		 err[256];
	int		 ai;

	for (i = 0; i < NALGS; i++)
		kids[i][0] = '\0';
	root = yajl_tree_parse(doc, err, sizeof(err));
	ATF_REQUIRE_MSG(root != NULL, "JWKS is not JSON: %s", err);
	keys = yajl_tree_get(root, keyspath, yajl_t_array);
	ATF_REQUIRE_MSG(keys != NULL, "no keys array: %s", doc);
	ATF_REQUIRE_EQ_MSG(YAJL_GET_ARRAY(keys)->len, (size_t)n,
	    "%zu keys, expected %d", YAJL_GET_ARRAY(keys)->len, n);
	for (i = 0; i < YAJL_GET_ARRAY(keys)->len; i++) {
		k = YAJL_GET_ARRAY(keys)->values[i];
		ATF_REQUIRE(YAJL_IS_OBJECT(k));
		ATF_REQUIRE((kty = ystr(k, "kty")) != NULL);
		ATF_REQUIRE((kid = ystr(k, "kid")) != NULL);
		ATF_REQUIRE((alg = ystr(k, "alg")) != NULL);
		ATF_REQUIRE((use = ystr(k, "use")) != NULL);
		ATF_REQUIRE_STREQ(use, "sig");
		ATF_REQUIRE((ai = alg_index(alg)) != -1);
		ATF_REQUIRE_STREQ(kty, ai == 0 ? "RSA" : ai == 1 ? "EC" :
		    "OKP");
		ATF_REQUIRE_MSG(kids[ai][0] == '\0', "two %s keys", alg);
		(void)strlcpy(kids[ai], kid, sizeof(kids[ai]));
		for (j = 0; j < nitems(priv); j++)
			ATF_REQUIRE_MSG(ystr(k, priv[j]) == NULL,
			    "private member \"%s\" in the JWKS", priv[j]);
		if (i == 0 && n == NALGS)
			ATF_REQUIRE_STREQ(alg, "RS256");
	}
	yajl_tree_free(root);
}

/* Send SIGN; 0 and the JWS in out, or -1 and the error reason in out. */
static int
sign(struct kchild *kc, const char *alg, const char *kid,
    const char *payload, char *out, size_t outsz)
{
	struct imsg	 imsg;
	struct mread	 mr;
	int		 ret;

	mbuf_init(&mb);
	mbuf_str(&mb, alg);
	mbuf_str(&mb, kid);
	mbuf_bytes(&mb, payload, strlen(payload));
	xsend_mbuf(&kc->web, IMSG_KEYS_SIGN, 9);
	xrecv(&kc->web, &imsg);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 9);
	if (imsg_get_type(&imsg) == IMSG_KEYS_SIGNED)
		ret = 0;
	else if (imsg_get_type(&imsg) == IMSG_KEYS_ERROR)
		ret = -1;
	else
		atf_tc_fail("SIGN answered with type %u",
		    imsg_get_type(&imsg));
	mread_init(&mr, &imsg);
	mread_str(&mr, out, outsz);
	ATF_REQUIRE(mread_end(&mr) == 0);
	imsg_free(&imsg);
	return (ret);
}

/* Independent of lib/crypto.c: OpenSSL's own HKDF and HMAC. */
static void
expected_hmac(const unsigned char *secret, size_t secretlen,
    const char *info, const void *data, size_t len, unsigned char *mac)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5], *p = params;
	unsigned char	 key[32];
	unsigned int	 maclen = 32;
	char		 salt[] = "certaos v1", digest[] = "SHA256";

	ATF_REQUIRE((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL);
	ATF_REQUIRE((kctx = EVP_KDF_CTX_new(kdf)) != NULL);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)secret, secretlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    salt, strlen(salt));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)(uintptr_t)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	ATF_REQUIRE(EVP_KDF_derive(kctx, key, sizeof(key), params) == 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	ATF_REQUIRE(HMAC(EVP_sha256(), key, sizeof(key), data, len, mac,
	    &maclen) != NULL);
	ATF_REQUIRE_EQ(maclen, 32);
}

/* HMAC request; 0 and the mac, or -1 on IMSG_KEYS_ERROR. */
static int
hmac(struct kchild *kc, uint32_t purpose, const char *data,
    unsigned char *mac)
{
	struct imsg	 imsg;
	struct mread	 mr;
	char		 why[64];

	mbuf_init(&mb);
	mbuf_u32(&mb, purpose);
	mbuf_bytes(&mb, data, strlen(data));
	xsend_mbuf(&kc->web, IMSG_KEYS_HMAC, 10);
	xrecv(&kc->web, &imsg);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 10);
	mread_init(&mr, &imsg);
	if (imsg_get_type(&imsg) == IMSG_KEYS_ERROR) {
		mread_str(&mr, why, sizeof(why));
		ATF_REQUIRE(mread_end(&mr) == 0);
		imsg_free(&imsg);
		return (-1);
	}
	ATF_REQUIRE_EQ(imsg_get_type(&imsg), IMSG_KEYS_HMAC_RESULT);
	ATF_REQUIRE_EQ(mread_bytes(&mr, mac, 32), 32);
	ATF_REQUIRE(mread_end(&mr) == 0);
	imsg_free(&imsg);
	return (0);
}

static void
pwhash(struct kchild *kc, const char *pw, char *enc, size_t encsz)
{
	struct imsg	 imsg;
	struct mread	 mr;

	mbuf_init(&mb);
	mbuf_bytes(&mb, pw, strlen(pw));
	xsend_mbuf(&kc->web, IMSG_KEYS_PWHASH, 11);
	xexpect(&kc->web, &imsg, IMSG_KEYS_PWHASH_RESULT);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 11);
	mread_init(&mr, &imsg);
	mread_str(&mr, enc, encsz);
	ATF_REQUIRE(mread_end(&mr) == 0);
	imsg_free(&imsg);
}

static int32_t
pwverify(struct kchild *kc, const char *pw, const char *enc)
{
	struct imsg	 imsg;
	int32_t		 r;

	mbuf_init(&mb);
	mbuf_bytes(&mb, pw, strlen(pw));
	mbuf_str(&mb, enc);
	xsend_mbuf(&kc->web, IMSG_KEYS_PWVERIFY, 12);
	xexpect(&kc->web, &imsg, IMSG_KEYS_PWVERIFY_RESULT);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), 12);
	ATF_REQUIRE(imsg_get_data(&imsg, &r, sizeof(r)) == 0);
	imsg_free(&imsg);
	return (r);
}

static void
random_secret(unsigned char *secret, size_t len)
{
	ATF_REQUIRE(RAND_bytes(secret, len) == 1);
}

ATF_TC(first_start);
ATF_TC_HEAD(first_start, tc)
{
	atf_tc_set_md_var(tc, "descr", "generates, stores and then serves "
	    "three signing keys; sign, hmac, argon2id; fatal on bad input");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(first_start, tc)
{
	struct kchild		 kc;
	struct keyrow		 rows[NALGS];
	struct imsg		 imsg;
	struct ctl_status	 st;
	EVP_PKEY		*pk;
	enum jws_alg		 alg;
	static char		 doc[MAX_IMSGSIZE], jws[MAX_IMSGSIZE];
	static char		 objs[NALGS][CERTAOS_MAX_JWK];
	char			 kids[NALGS][CERTAOS_MAX_KID + 1];
	char			 hdr[512], enc[CERTAOS_MAX_PWHASH];
	unsigned char		 secret[48], mac[32], want[32];
	unsigned char		 other[48];
	const char		*dot;
	int			 i, j, status;
	ssize_t			 hlen;

	random_secret(secret, sizeof(secret));
	first_start(tc, &kc, secret, sizeof(secret), rows);

	ATF_REQUIRE_EQ(ping(&kc), 3);

	/* JWKS: three keys, the same kids as stored in the database */
	ATF_REQUIRE_EQ(jwks_get(&kc, doc, sizeof(doc)), 1);
	check_jwks(doc, NALGS, kids);
	for (i = 0; i < NALGS; i++)
		ATF_REQUIRE_STREQ(kids[alg_index(rows[i].alg)], rows[i].kid);

	/* SIGN with each alg verifies with the key taken from the JWKS */
	ATF_REQUIRE_EQ(jwks_split(doc, objs, NALGS), NALGS);
	for (i = 0; i < NALGS; i++) {
		ATF_REQUIRE((pk = jwk_public_import(objs[i], strlen(objs[i]),
		    &alg)) != NULL);
		ATF_REQUIRE_EQ(sign(&kc, jws_alg_name(alg), "",
		    "{\"sub\":\"alice\"}", jws, sizeof(jws)), 0);
		ATF_REQUIRE_EQ_MSG(jws_verify(pk, alg, jws, strlen(jws)), 1,
		    "%s JWS does not verify: %s", jws_alg_name(alg), jws);
		/* the header names the kid */
		ATF_REQUIRE((dot = strchr(jws, '.')) != NULL);
		ATF_REQUIRE((hlen = base64url_decode(jws, dot - jws, hdr,
		    sizeof(hdr) - 1)) > 0);
		hdr[hlen] = '\0';
		ATF_REQUIRE_MSG(strstr(hdr, kids[alg_index(
		    jws_alg_name(alg))]) != NULL, "kid not in header %s", hdr);
		/* a JWS from another alg's key does not verify */
		for (j = 0; j < NALGS; j++) {
			if (j == alg_index(jws_alg_name(alg)))
				continue;
			ATF_REQUIRE_EQ(sign(&kc, algnames[j], kids[j],
			    "{\"sub\":\"alice\"}", jws, sizeof(jws)), 0);
			ATF_REQUIRE(jws_verify(pk, alg, jws,
			    strlen(jws)) != 1);
		}
		EVP_PKEY_free(pk);
	}
	ATF_REQUIRE_EQ(sign(&kc, "ES256", "not-a-kid", "{}", jws,
	    sizeof(jws)), -1);
	ATF_REQUIRE_STREQ(jws, "unknown kid");
	/* a kid of another alg is not a kid of this one */
	ATF_REQUIRE_EQ(sign(&kc, "ES256", kids[0], "{}", jws, sizeof(jws)),
	    -1);
	ATF_REQUIRE_STREQ(jws, "unknown kid");
	ATF_REQUIRE_EQ(sign(&kc, "HS256", "", "{}", jws, sizeof(jws)), -1);
	ATF_REQUIRE_STREQ(jws, "unknown alg");

	/* HMAC under HKDF(secret, "certaos v1", purpose) */
	ATF_REQUIRE_EQ(hmac(&kc, HMAC_COOKIE, "session=abc", mac), 0);
	expected_hmac(secret, sizeof(secret), "cookie", "session=abc", 11,
	    want);
	ATF_REQUIRE(memcmp(mac, want, 32) == 0);
	ATF_REQUIRE_EQ(hmac(&kc, HMAC_TOKEN, "session=abc", mac), 0);
	expected_hmac(secret, sizeof(secret), "token", "session=abc", 11,
	    want);
	ATF_REQUIRE(memcmp(mac, want, 32) == 0);
	ATF_REQUIRE_EQ(hmac(&kc, 99, "x", mac), -1);

	/* argon2id */
	pwhash(&kc, "correct horse", enc, sizeof(enc));
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=1$", 30)
	    == 0, "encoded: %s", enc);
	ATF_REQUIRE_EQ(pw_verify(enc, "correct horse", 13), 1);
	ATF_REQUIRE_EQ(pwverify(&kc, "correct horse", enc), 1);
	ATF_REQUIRE_EQ(pwverify(&kc, "correct horsf", enc), 0);
	ATF_REQUIRE_EQ(pwverify(&kc, "correct horse", "$argon2id$junk"), 0);

	/* status */
	xsend(&kc.parent, IMSG_CTL_STATUS, 0, -1, NULL, 0);
	xexpect(&kc.parent, &imsg, IMSG_CTL_STATUS_REPLY);
	ATF_REQUIRE(imsg_get_data(&imsg, &st, sizeof(st)) == 0);
	imsg_free(&imsg);
	ATF_REQUIRE_EQ(st.proc, PROC_KEYS);
	ATF_REQUIRE_EQ(st.pid, kc.pid);
	ATF_REQUIRE_EQ(st.nkeys, 3);
	for (i = 0; i < NALGS; i++)
		ATF_REQUIRE_MSG(strstr(st.kids, kids[i]) != NULL,
		    "kid %s not in status \"%s\"", kids[i], st.kids);

	/* reload with another secret: refused, the running keys stay */
	memcpy(other, secret, sizeof(other));
	other[0] ^= 1;
	configure(&kc, other, sizeof(other));
	ATF_REQUIRE_EQ(hmac(&kc, HMAC_COOKIE, "session=abc", mac), 0);
	expected_hmac(secret, sizeof(secret), "cookie", "session=abc", 11,
	    want);
	ATF_REQUIRE(memcmp(mac, want, 32) == 0);
	ATF_REQUIRE_EQ(ping(&kc), 3);

	/* a message type keys does not take: it exits non-zero */
	xsend(&kc.web, IMSG_DB_PING, 0, -1, NULL, 0);
	status = reap(&kc);
	ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %#x", status);
}

ATF_TC(sign_limits);
ATF_TC_HEAD(sign_limits, tc)
{
	atf_tc_set_md_var(tc, "descr", "a 6000-byte payload is signed; "
	    "a signing input over CERTAOS_MAX_JWS_INPUT is an error; a "
	    "payload over it is fatal");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(sign_limits, tc)
{
	struct kchild	 kc;
	struct keyrow	 rows[NALGS];
	EVP_PKEY	*pk;
	enum jws_alg	 alg;
	static char	 payload[CERTAOS_MAX_JWS_INPUT + 2];
	static char	 jws[MAX_IMSGSIZE];
	unsigned char	 secret[32];
	int		 i, status;

	random_secret(secret, sizeof(secret));
	first_start(tc, &kc, secret, sizeof(secret), rows);
	/*
	 * jws.c bounds the signing input (b64 header "." b64 payload) by
	 * CERTAOS_MAX_JWS_INPUT: 6000 bytes fit, 8192 do not.
	 */
	memset(payload, 'a', 6000);
	ATF_REQUIRE_EQ(sign(&kc, "RS256", "", payload, jws, sizeof(jws)), 0);
	for (i = 0; i < NALGS; i++)
		if (strcmp(rows[i].alg, "RS256") == 0)
			break;
	ATF_REQUIRE(i < NALGS);
	ATF_REQUIRE((pk = jwk_public_import(rows[i].jwk, strlen(rows[i].jwk),
	    &alg)) != NULL);
	ATF_REQUIRE_EQ(jws_verify(pk, alg, jws, strlen(jws)), 1);
	EVP_PKEY_free(pk);
	memset(payload, 'a', CERTAOS_MAX_JWS_INPUT);
	ATF_REQUIRE_EQ(sign(&kc, "RS256", "", payload, jws, sizeof(jws)), -1);
	ATF_REQUIRE_STREQ(jws, "sign failed");
	ATF_REQUIRE_EQ(ping(&kc), 3);

	payload[CERTAOS_MAX_JWS_INPUT] = 'a';
	mbuf_init(&mb);
	mbuf_str(&mb, "RS256");
	mbuf_str(&mb, "");
	mbuf_bytes(&mb, payload, strlen(payload));
	xsend_mbuf(&kc.web, IMSG_KEYS_SIGN, 9);
	status = reap(&kc);
	ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %#x", status);
}

ATF_TC(restart);
ATF_TC_HEAD(restart, tc)
{
	atf_tc_set_md_var(tc, "descr", "a restart loads the stored keys, "
	    "inserts none and publishes the same kids");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(restart, tc)
{
	struct kchild	 kc;
	struct keyrow	 rows[NALGS];
	struct imsg	 imsg;
	static char	 doc[MAX_IMSGSIZE], jws[MAX_IMSGSIZE];
	char		 kids[NALGS][CERTAOS_MAX_KID + 1];
	char		 kids2[NALGS][CERTAOS_MAX_KID + 1];
	unsigned char	 secret[32];
	int		 i;

	random_secret(secret, sizeof(secret));
	first_start(tc, &kc, secret, sizeof(secret), rows);
	(void)jwks_get(&kc, doc, sizeof(doc));
	check_jwks(doc, NALGS, kids);
	stop(&kc);

	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, rows, NALGS, 1);
	ATF_REQUIRE_EQ(expect_changed(&kc), 1);
	ATF_REQUIRE_EQ(ping(&kc), 3);
	/* the PONG came after END was handled: any INSERT would be queued */
	ATF_REQUIRE_MSG(quiet(&kc.db, 500), "keys sent something to db");
	ATF_REQUIRE_EQ(jwks_get(&kc, doc, sizeof(doc)), 1);
	check_jwks(doc, NALGS, kids2);
	for (i = 0; i < NALGS; i++) {
		ATF_REQUIRE_STREQ(kids[i], kids2[i]);
		ATF_REQUIRE_EQ(sign(&kc, algnames[i], kids[i], "{}", jws,
		    sizeof(jws)), 0);
	}

	/* NOTIFY: reload; the same rows change nothing */
	xsend(&kc.db, IMSG_DB_JWKS_NOTIFY, 0, -1, NULL, 0);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, rows, NALGS, 1);
	ATF_REQUIRE_EQ(ping(&kc), 3);
	ATF_REQUIRE(quiet(&kc.web, 0));
	ATF_REQUIRE(quiet(&kc.db, 200));
	stop(&kc);
}

ATF_TC(tampered);
ATF_TC_HEAD(tampered, tc)
{
	atf_tc_set_md_var(tc, "descr", "a tampered sealed key is refused, "
	    "not published, and replaced by a new key of its alg");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(tampered, tc)
{
	struct kchild	 kc;
	struct keyrow	 rows[NALGS], fresh[1], all[NALGS + 1];
	struct imsg	 imsg;
	static char	 doc[MAX_IMSGSIZE], jws[MAX_IMSGSIZE];
	char		 kids[NALGS][CERTAOS_MAX_KID + 1];
	unsigned char	 secret[32];
	int		 i, es = -1;
	int32_t		 one = 1;

	random_secret(secret, sizeof(secret));
	first_start(tc, &kc, secret, sizeof(secret), rows);
	stop(&kc);
	for (i = 0; i < NALGS; i++)
		if (strcmp(rows[i].alg, "ES256") == 0)
			es = i;
	ATF_REQUIRE(es != -1);
	rows[es].sealed[rows[es].sealedlen / 2] ^= 0x01;

	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, rows, NALGS, 1);
	ATF_REQUIRE_EQ(expect_changed(&kc), 1);
	/* only ES256 is generated again, under a new kid */
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_INSERT);
	recv_row(&imsg, &fresh[0]);
	imsg_free(&imsg);
	check_row(&fresh[0]);
	ATF_REQUIRE_STREQ(fresh[0].alg, "ES256");
	ATF_REQUIRE(strcmp(fresh[0].kid, rows[es].kid) != 0);
	ATF_REQUIRE_EQ(ping(&kc), 2);
	ATF_REQUIRE(quiet(&kc.db, 200));
	ATF_REQUIRE_EQ(jwks_get(&kc, doc, sizeof(doc)), 1);
	check_jwks(doc, 2, kids);
	ATF_REQUIRE(strstr(doc, rows[es].kid) == NULL);
	ATF_REQUIRE_EQ(sign(&kc, "ES256", "", "{}", jws, sizeof(jws)), -1);
	ATF_REQUIRE_STREQ(jws, "no key");

	/* stored: the reload has the bad row and the new one */
	xsend(&kc.db, IMSG_DB_JWKS_INSERTED, 1, -1, &one, sizeof(one));
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	memcpy(all, rows, sizeof(rows));
	all[NALGS] = fresh[0];
	send_rows(&kc, all, NALGS + 1, 1);
	ATF_REQUIRE_EQ(expect_changed(&kc), 2);
	ATF_REQUIRE_EQ(jwks_get(&kc, doc, sizeof(doc)), 2);
	check_jwks(doc, NALGS, kids);
	ATF_REQUIRE_STREQ(kids[1], fresh[0].kid);
	ATF_REQUIRE(quiet(&kc.db, 200));
	stop(&kc);
}

ATF_TC(wrong_secret);
ATF_TC_HEAD(wrong_secret, tc)
{
	atf_tc_set_md_var(tc, "descr", "rows sealed under another secret "
	    "are refused; new keys are generated");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(wrong_secret, tc)
{
	struct kchild	 kc;
	struct keyrow	 rows[NALGS], fresh[NALGS];
	struct imsg	 imsg;
	static char	 doc[MAX_IMSGSIZE];
	char		 kids[NALGS][CERTAOS_MAX_KID + 1];
	unsigned char	 secret[32];
	int		 i, j;
	uint32_t	 gen;

	random_secret(secret, sizeof(secret));
	first_start(tc, &kc, secret, sizeof(secret), rows);
	stop(&kc);

	secret[5] ^= 0x80;
	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, rows, NALGS, 1);
	ATF_REQUIRE_EQ(ping(&kc), 0);
	gen = jwks_get(&kc, doc, sizeof(doc));
	ATF_REQUIRE_EQ(gen, 0);
	ATF_REQUIRE_STREQ(doc, "{\"keys\":[]}");
	check_jwks(doc, 0, kids);
	take_inserts(&kc, fresh, NALGS, 0);
	for (i = 0; i < NALGS; i++)
		for (j = 0; j < NALGS; j++)
			ATF_REQUIRE(strcmp(fresh[i].kid, rows[j].kid) != 0);
	/* INSERTED 0 ("another instance won"): reload and use the db's */
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, fresh, NALGS, 1);
	ATF_REQUIRE_EQ(expect_changed(&kc), 1);
	ATF_REQUIRE_EQ(ping(&kc), 3);
	stop(&kc);
}

ATF_TC(db_unavailable);
ATF_TC_HEAD(db_unavailable, tc)
{
	atf_tc_set_md_var(tc, "descr", "END 0 (database down): the load is "
	    "retried after about a second");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(db_unavailable, tc)
{
	struct kchild	 kc;
	struct imsg	 imsg;
	struct timespec	 t0, t1;
	unsigned char	 secret[32];
	double		 dt;

	random_secret(secret, sizeof(secret));
	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	send_rows(&kc, NULL, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ATF_REQUIRE(quiet(&kc.db, 700));
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ATF_REQUIRE_MSG(dt > 0.9 && dt < 5, "retried after %.2f s", dt);
	ATF_REQUIRE_EQ(ping(&kc), 0);
	stop(&kc);
}

ATF_TC(unsolicited);
ATF_TC_HEAD(unsolicited, tc)
{
	atf_tc_set_md_var(tc, "descr", "a db answer nobody asked for is "
	    "fatal");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(unsolicited, tc)
{
	struct kchild	 kc;
	struct imsg	 imsg;
	struct keyrow	 row;
	unsigned char	 secret[32];
	int32_t		 ok = 1;
	int		 status;

	random_secret(secret, sizeof(secret));
	spawn(tc, &kc, secret, sizeof(secret), 1);
	/* a second START changes nothing: one LOAD */
	xsend(&kc.parent, IMSG_CTL_START, 0, -1, NULL, 0);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	ATF_REQUIRE(quiet(&kc.db, 200));
	send_rows(&kc, NULL, 0, 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_INSERT);
	recv_row(&imsg, &row);
	imsg_free(&imsg);
	/* END without a LOAD in flight */
	xsend(&kc.db, IMSG_DB_JWKS_END, 0, -1, &ok, sizeof(ok));
	status = reap(&kc);
	ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %#x", status);
}

ATF_TC(bad_secret);
ATF_TC_HEAD(bad_secret, tc)
{
	atf_tc_set_md_var(tc, "descr", "a secret shorter than "
	    "CERTAOS_MIN_SECRET is fatal");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(bad_secret, tc)
{
	struct kchild	 kc;
	struct passwd	*pw;
	struct cfg_keys	 cfg;
	char		 path[PATH_MAX];
	unsigned char	 secret[CERTAOS_MIN_SECRET - 1];
	int		 sv[2], status;

	memset(&kc, 0, sizeof(kc));
	memset(secret, 'x', sizeof(secret));
	(void)snprintf(path, sizeof(path), "%s/libexec/certaos-keys",
	    atf_tc_get_config_var(tc, "builddir"));
	ATF_REQUIRE((pw = getpwuid(geteuid())) != NULL);
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	ATF_REQUIRE((kc.pid = fork()) != -1);
	if (kc.pid == 0) {
		if (dup2(sv[1], PROC_PARENT_FD) == -1)
			_exit(127);
		closefrom(PROC_PARENT_FD + 1);
		execl(path, "certaos-keys", "-P", "keys", "-I", "0", "-u",
		    pw->pw_name, "-d", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ATF_REQUIRE(imsgbuf_init(&kc.parent, sv[0]) == 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.argon2_memory = 1024;
	cfg.argon2_time = 1;
	cfg.argon2_lanes = 1;
	xsend(&kc.parent, IMSG_CFG_KEYS, 0, -1, &cfg, sizeof(cfg));
	xsend(&kc.parent, IMSG_CFG_SECRET, 0, -1, secret, sizeof(secret));
	status = reap(&kc);
	ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %#x", status);
}

ATF_TC(pwhash_reload);
ATF_TC_HEAD(pwhash_reload, tc)
{
	atf_tc_set_md_var(tc, "descr", "a reload's argon2id parameters "
	    "apply to the next hash, parallelism 2 included");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(pwhash_reload, tc)
{
	struct kchild	 kc;
	struct imsg	 imsg;
	char		 enc[CERTAOS_MAX_PWHASH];
	unsigned char	 secret[32];

	random_secret(secret, sizeof(secret));
	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	pwhash(&kc, "pw", enc, sizeof(enc));
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=1$", 30)
	    == 0, "encoded: %s", enc);
	/* reload: the same secret, new parameters */
	configure_params(&kc, secret, sizeof(secret), 2048, 2, 1);
	pwhash(&kc, "pw", enc, sizeof(enc));
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=2048,t=2,p=1$", 30)
	    == 0, "encoded: %s", enc);
	ATF_REQUIRE_EQ(pwverify(&kc, "pw", enc), 1);
	stop(&kc);
}

ATF_TC(pwhash_lanes);
ATF_TC_HEAD(pwhash_lanes, tc)
{
	atf_tc_set_md_var(tc, "descr", "argon2id with parallelism 2 works "
	    "in the sandboxed, single-threaded keys process");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(pwhash_lanes, tc)
{
	struct kchild	 kc;
	struct imsg	 imsg;
	char		 enc[CERTAOS_MAX_PWHASH];
	unsigned char	 secret[32];

	random_secret(secret, sizeof(secret));
	spawn(tc, &kc, secret, sizeof(secret), 1);
	xexpect(&kc.db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
	configure_params(&kc, secret, sizeof(secret), 1024, 1, 2);
	pwhash(&kc, "pw", enc, sizeof(enc));
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=2$", 30)
	    == 0, "encoded: %s", enc);
	ATF_REQUIRE_EQ(pwverify(&kc, "pw", enc), 1);
	ATF_REQUIRE_EQ(pw_verify(enc, "pw", 2), 1);
	stop(&kc);
}

/* Accounts and sessions (auth.c), with the test as web and as db. */

#define T_EMAIL		"alice@example.com"
/* Better Auth's scrypt hash of "password123" (as t_pwhash has it) */
#define BA_SCRYPT_PASSWORD123						\
	"b5041974388c5abf38bfca82760a7e50:23dac3a1cf18ace1674fbd8be39d8b9c"	\
	"cd3a360dd238f612efbdc9b0a8201c03719dc42f8c4df7047b7b498d61b81c20"	\
	"77aaabe21df6b73f8a06e9a7be88a018"
#define T_IP		"192.0.2.1"
#define T_UA		"t_keys/1.0"
#define T_IMAGE		"https://example.com/a.png"

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	ATF_REQUIRE(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static double
mono(void)
{
	struct timespec	 ts;

	ATF_REQUIRE(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* A record as db sends it. */
static void
make_rec(struct auth_rec *r, const char *uid, uint64_t expires)
{
	memset(r, 0, sizeof(*r));
	(void)strlcpy(r->s.id, "session-1", sizeof(r->s.id));
	r->s.expires = expires;
	r->s.created = r->s.updated = 1700000000123ULL;
	(void)strlcpy(r->s.ip, T_IP, sizeof(r->s.ip));
	(void)strlcpy(r->s.ua, T_UA, sizeof(r->s.ua));
	(void)strlcpy(r->s.user_id, uid, sizeof(r->s.user_id));
	(void)strlcpy(r->u.id, uid, sizeof(r->u.id));
	(void)strlcpy(r->u.name, "Alice", sizeof(r->u.name));
	(void)strlcpy(r->u.email, T_EMAIL, sizeof(r->u.email));
	r->u.has_image = 1;
	(void)strlcpy(r->u.image, T_IMAGE, sizeof(r->u.image));
	r->u.created = r->u.updated = 1700000000000ULL;
	(void)strlcpy(r->u.role, "user", sizeof(r->u.role));
}

static void
send_signup(struct kchild *kc, uint32_t id, uint32_t flags, const char *pw)
{
	mbuf_init(&mb);
	mbuf_u32(&mb, flags);
	mbuf_str(&mb, T_EMAIL);
	mbuf_str(&mb, "Alice");
	mbuf_nstr(&mb, 1, T_IMAGE);
	mbuf_bytes(&mb, pw, strlen(pw));
	mbuf_str(&mb, T_IP);
	mbuf_str(&mb, T_UA);
	mbuf_str(&mb, "");		/* callbackURL */
	mbuf_str(&mb, "");		/* no invitation */
	xsend_mbuf(&kc->web, IMSG_KEYS_SIGNUP, id);
}

static void
send_signin(struct kchild *kc, uint32_t id, uint32_t flags, const char *pw)
{
	mbuf_init(&mb);
	mbuf_u32(&mb, flags);
	mbuf_str(&mb, T_EMAIL);
	mbuf_bytes(&mb, pw, strlen(pw));
	mbuf_str(&mb, T_IP);
	mbuf_str(&mb, T_UA);
	xsend_mbuf(&kc->web, IMSG_KEYS_SIGNIN, id);
}

static void
send_session(struct kchild *kc, uint32_t id, uint32_t flags, uint32_t op,
    const char *presented)
{
	mbuf_init(&mb);
	mbuf_u32(&mb, flags);
	mbuf_u32(&mb, op);
	mbuf_str(&mb, presented);
	if (op == AUTH_OP_DELETE) {
		mbuf_str(&mb, T_IP);
		mbuf_str(&mb, T_UA);
	}
	xsend_mbuf(&kc->web, IMSG_KEYS_SESSION, id);
}

/* db's IMSG_DB_AUTH_REPLY */
static void
send_auth_reply(struct kchild *kc, uint32_t id, int32_t status,
    const struct auth_rec *rec)
{
	mbuf_init(&mb);
	mbuf_i32(&mb, status);
	if (status == AUTH_OK)
		authrec_write(&mb, rec);
	xsend_mbuf(&kc->db, IMSG_DB_AUTH_REPLY, id);
}

/* db's IMSG_DB_CRED */
static void
send_cred(struct kchild *kc, uint32_t id, int32_t status, const char *uid,
    const char *enc)
{
	mbuf_init(&mb);
	mbuf_i32(&mb, status);
	mbuf_str(&mb, uid);
	mbuf_str(&mb, enc);
	xsend_mbuf(&kc->db, IMSG_DB_CRED, id);
}

/* IMSG_KEYS_AUTH to web: the status; tok and rec when AUTH_OK */
static int32_t
recv_auth(struct kchild *kc, uint32_t id, char *tok, struct auth_rec *rec)
{
	struct imsg	 imsg;
	struct mread	 mr;
	int32_t		 status;
	char		 t[CERTAOS_MAX_CTOKEN + 1];

	xexpect(&kc->web, &imsg, IMSG_KEYS_AUTH);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), id);
	mread_init(&mr, &imsg);
	status = mread_i32(&mr);
	mread_str(&mr, t, sizeof(t));
	if (status == AUTH_OK) {
		ATF_REQUIRE(rec != NULL);
		ATF_REQUIRE(authrec_read(&mr, rec) == 0);
	}
	ATF_REQUIRE_MSG(mread_end(&mr) == 0, "malformed IMSG_KEYS_AUTH");
	imsg_free(&imsg);
	if (status != AUTH_OK)
		ATF_REQUIRE_STREQ(t, "");
	if (tok != NULL)
		(void)strlcpy(tok, t, CERTAOS_MAX_CTOKEN + 1);
	return (status);
}

/* "token.sig" with sig = base64(HMAC(cookie key, token)), computed here */
static void
check_signed(const unsigned char *secret, size_t secretlen, const char *s)
{
	unsigned char	 mac[32], b64[64];
	size_t		 i;

	ATF_REQUIRE_EQ_MSG(strlen(s), 77, "signed token %s", s);
	ATF_REQUIRE_EQ(s[32], '.');
	for (i = 0; i < 32; i++)
		ATF_REQUIRE(isalnum((unsigned char)s[i]));
	expected_hmac(secret, secretlen, "cookie", s, 32, mac);
	ATF_REQUIRE_EQ(EVP_EncodeBlock(b64, mac, sizeof(mac)), 44);
	ATF_REQUIRE_STREQ((char *)b64, s + 33);
}

/* the database's hash of a token: SHA-256 of its 32 characters */
static void
check_hash(const char *tok, const unsigned char *th)
{
	unsigned char	 want[32];
	unsigned int	 len = 0;

	ATF_REQUIRE(EVP_Digest(tok, 32, want, &len, EVP_sha256(), NULL) == 1);
	ATF_REQUIRE_MSG(memcmp(want, th, 32) == 0,
	    "token hash is not SHA-256 of the token");
}

static void
check_expires(uint64_t expires, uint64_t before, uint64_t after,
    uint64_t life)
{
	ATF_REQUIRE_MSG(expires >= before + life * 1000 &&
	    expires <= after + life * 1000, "expires %llu, expected in "
	    "[%llu, %llu]", (unsigned long long)expires,
	    (unsigned long long)(before + life * 1000),
	    (unsigned long long)(after + life * 1000));
}

/*
 * IMSG_DB_SESSION_GET: web's instance, op, and the token's hash; a
 * sign-out's address and agent
 */
static void
expect_session_get(struct kchild *kc, uint32_t id, uint32_t op,
    const unsigned char *th)
{
	struct imsg	 imsg;
	struct mread	 mr;
	unsigned char	 h[64];
	char		 s[64];

	xexpect(&kc->db, &imsg, IMSG_DB_SESSION_GET);
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), id);
	mread_init(&mr, &imsg);
	ATF_REQUIRE_EQ(mread_u32(&mr), 0);
	ATF_REQUIRE_EQ(mread_u32(&mr), op);
	ATF_REQUIRE_EQ(mread_bytes(&mr, h, sizeof(h)), 32);
	if (op == AUTH_OP_DELETE) {
		mread_str(&mr, s, sizeof(s));
		ATF_CHECK_STREQ(s, T_IP);
		mread_str(&mr, s, sizeof(s));
		ATF_CHECK_STREQ(s, T_UA);
	}
	ATF_REQUIRE(mread_end(&mr) == 0);
	ATF_REQUIRE(memcmp(h, th, 32) == 0);
	imsg_free(&imsg);
}

/* spawned, with the key set's LOAD taken and left unanswered */
static void
spawn_auth(const atf_tc_t *tc, struct kchild *kc, unsigned char *secret,
    size_t secretlen)
{
	struct imsg	 imsg;

	random_secret(secret, secretlen);
	spawn(tc, kc, secret, secretlen, 1);
	xexpect(&kc->db, &imsg, IMSG_DB_JWKS_LOAD);
	imsg_free(&imsg);
}

ATF_TC(auth_signup);
ATF_TC_HEAD(auth_signup, tc)
{
	atf_tc_set_md_var(tc, "descr", "sign-up: argon2id and a token hash "
	    "to db, the signed token to web; session checks of it, raw, "
	    "signed and tampered");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(auth_signup, tc)
{
	struct kchild	 kc;
	struct imsg	 imsg;
	struct mread	 mr;
	struct auth_rec	 rec, got;
	uint64_t	 t0, t1, expires;
	uint32_t	 dbid;
	unsigned char	 secret[32], th[64];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 name[CERTAOS_MAX_NAME + 1];
	char		 image[CERTAOS_MAX_IMAGE + 1];
	char		 ip[CERTAOS_MAX_IP + 1];
	char		 ua[CERTAOS_MAX_UA + 1], enc[CERTAOS_MAX_PWHASH];
	char		 tok[CERTAOS_MAX_CTOKEN + 1], raw[33];
	char		 bad[CERTAOS_MAX_CTOKEN + 1];
	int		 has_image;

	spawn_auth(tc, &kc, secret, sizeof(secret));

	t0 = now_ms();
	send_signup(&kc, 21, 0, "password1");
	xexpect(&kc.db, &imsg, IMSG_DB_SIGNUP);
	t1 = now_ms();
	dbid = imsg_get_id(&imsg);
	ATF_REQUIRE(dbid != 0);
	mread_init(&mr, &imsg);
	mread_str(&mr, email, sizeof(email));
	mread_str(&mr, name, sizeof(name));
	has_image = mread_nstr(&mr, image, sizeof(image));
	mread_str(&mr, enc, sizeof(enc));
	ATF_REQUIRE_EQ(mread_bytes(&mr, th, sizeof(th)), 32);
	expires = mread_u64(&mr);
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	/* no mail method configured here: a session, no link */
	ATF_REQUIRE_EQ(mread_u32(&mr), 1);
	ATF_REQUIRE_EQ(mread_u32(&mr), 0);
	ATF_REQUIRE_EQ(mread_bytes(&mr, th, sizeof(th)), 0);	/* no invite */
	ATF_REQUIRE_MSG(mread_end(&mr) == 0, "malformed IMSG_DB_SIGNUP");
	imsg_free(&imsg);
	ATF_REQUIRE_STREQ(email, T_EMAIL);
	ATF_REQUIRE_STREQ(name, "Alice");
	ATF_REQUIRE(has_image);
	ATF_REQUIRE_STREQ(image, T_IMAGE);
	ATF_REQUIRE_STREQ(ip, T_IP);
	ATF_REQUIRE_STREQ(ua, T_UA);
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=1$", 30)
	    == 0, "pwhash %s", enc);
	ATF_REQUIRE_EQ(pw_verify(enc, "password1", 9), 1);
	/* no session_lifetime configured: the default, 7 days */
	check_expires(expires, t0, t1, CERTAOS_SESSION_LIFETIME);

	make_rec(&rec, "user-1", expires);
	send_auth_reply(&kc, dbid, AUTH_OK, &rec);
	ATF_REQUIRE_EQ(recv_auth(&kc, 21, tok, &got), AUTH_OK);
	check_signed(secret, sizeof(secret), tok);
	check_hash(tok, th);
	ATF_REQUIRE_STREQ(got.s.id, "session-1");
	ATF_REQUIRE_EQ(got.s.expires, expires);
	ATF_REQUIRE_STREQ(got.u.email, T_EMAIL);
	ATF_REQUIRE_STREQ(got.u.image, T_IMAGE);
	(void)strlcpy(raw, tok, sizeof(raw));

	/* rememberMe false: a short session; the email is taken */
	t0 = now_ms();
	send_signup(&kc, 22, AUTH_F_SHORT, "password1");
	xexpect(&kc.db, &imsg, IMSG_DB_SIGNUP);
	t1 = now_ms();
	ATF_REQUIRE(imsg_get_id(&imsg) != dbid);
	dbid = imsg_get_id(&imsg);
	mread_init(&mr, &imsg);
	mread_str(&mr, email, sizeof(email));
	mread_str(&mr, name, sizeof(name));
	(void)mread_nstr(&mr, image, sizeof(image));
	mread_str(&mr, enc, sizeof(enc));
	ATF_REQUIRE_EQ(mread_bytes(&mr, th + 32, 32), 32);
	expires = mread_u64(&mr);
	imsg_free(&imsg);
	check_expires(expires, t0, t1, CERTAOS_SESSION_SHORT);
	ATF_REQUIRE(memcmp(th, th + 32, 32) != 0);
	send_auth_reply(&kc, dbid, AUTH_USER_EXISTS, NULL);
	ATF_REQUIRE_EQ(recv_auth(&kc, 22, NULL, NULL), AUTH_USER_EXISTS);

	/* the session: signed as a cookie, signed or raw as a bearer */
	send_session(&kc, 23, AUTH_F_SIGNED, AUTH_OP_GET, tok);
	expect_session_get(&kc, 23, AUTH_OP_GET, th);
	send_session(&kc, 24, 0, AUTH_OP_GET, tok);
	expect_session_get(&kc, 24, AUTH_OP_GET, th);
	send_session(&kc, 25, 0, AUTH_OP_DELETE, raw);
	expect_session_get(&kc, 25, AUTH_OP_DELETE, th);
	ATF_REQUIRE(quiet(&kc.web, 100));

	/* refused by keys, never reaching db */
	send_session(&kc, 26, AUTH_F_SIGNED, AUTH_OP_GET, raw);
	ATF_REQUIRE_EQ(recv_auth(&kc, 26, NULL, NULL), AUTH_BAD_TOKEN);
	(void)strlcpy(bad, tok, sizeof(bad));
	bad[40] = bad[40] == 'A' ? 'B' : 'A';
	send_session(&kc, 27, AUTH_F_SIGNED, AUTH_OP_GET, bad);
	ATF_REQUIRE_EQ(recv_auth(&kc, 27, NULL, NULL), AUTH_BAD_TOKEN);
	(void)strlcpy(bad, tok, sizeof(bad));
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	send_session(&kc, 28, 0, AUTH_OP_DELETE, bad);
	ATF_REQUIRE_EQ(recv_auth(&kc, 28, NULL, NULL), AUTH_BAD_TOKEN);
	send_session(&kc, 29, 0, AUTH_OP_GET, "");
	ATF_REQUIRE_EQ(recv_auth(&kc, 29, NULL, NULL), AUTH_BAD_TOKEN);
	ATF_REQUIRE(quiet(&kc.db, 200));
	ATF_REQUIRE_EQ(ping(&kc), 0);
	stop(&kc);
}

/* One sign-in up to db's IMSG_DB_CRED_GET; returns keys' id. */
static uint32_t
signin_cred_get(struct kchild *kc, uint32_t id, uint32_t flags,
    const char *pw)
{
	struct imsg	 imsg;
	struct mread	 mr;
	uint32_t	 dbid;
	char		 email[CERTAOS_MAX_EMAIL + 1];

	send_signin(kc, id, flags, pw);
	xexpect(&kc->db, &imsg, IMSG_DB_CRED_GET);
	dbid = imsg_get_id(&imsg);
	ATF_REQUIRE(dbid != 0);
	mread_init(&mr, &imsg);
	mread_str(&mr, email, sizeof(email));
	ATF_REQUIRE(mread_end(&mr) == 0);
	imsg_free(&imsg);
	ATF_REQUIRE_STREQ(email, T_EMAIL);
	return (dbid);
}

/* The audit row of a refused sign-in: what db gets, no password. */
static void
expect_audit(struct kchild *kc, const char *want_uid, uint32_t want_reason)
{
	struct imsg	 imsg;
	struct mread	 mr;
	uint32_t	 reason;
	char		 uid[CERTAOS_MAX_ID + 1];
	char		 email[CERTAOS_MAX_EMAIL + 1];
	char		 ip[CERTAOS_MAX_IP + 1], ua[CERTAOS_MAX_UA + 1];

	xexpect(&kc->db, &imsg, IMSG_DB_AUDIT_SIGNIN);
	mread_init(&mr, &imsg);
	mread_str(&mr, uid, sizeof(uid));
	mread_str(&mr, email, sizeof(email));
	reason = mread_u32(&mr);
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	ATF_REQUIRE_MSG(mread_end(&mr) == 0, "malformed IMSG_DB_AUDIT_SIGNIN");
	imsg_free(&imsg);
	ATF_REQUIRE_STREQ(uid, want_uid);
	ATF_REQUIRE_STREQ(email, T_EMAIL);
	ATF_REQUIRE_EQ(reason, want_reason);
	ATF_REQUIRE_STREQ(ip, T_IP);
	ATF_REQUIRE_STREQ(ua, T_UA);
}

/*
 * A sign-in with password2 that db answers with the credential (status,
 * uid, enc) and keys refuses: its time in seconds, the audit row taken.
 */
static double
refusal_time(struct kchild *kc, uint32_t id, int32_t status,
    const char *uid, const char *enc, uint32_t reason)
{
	uint32_t	 dbid;
	double		 t;

	dbid = signin_cred_get(kc, id, 0, "password2");
	t = mono();
	send_cred(kc, dbid, status, uid, enc);
	ATF_REQUIRE_EQ(recv_auth(kc, id, NULL, NULL), AUTH_BAD_CREDENTIALS);
	t = mono() - t;
	expect_audit(kc, uid, reason);
	return (t);
}

ATF_TC(auth_signin);
ATF_TC_HEAD(auth_signin, tc)
{
	atf_tc_set_md_var(tc, "descr", "sign-in: the credential, the "
	    "password checked in keys, a session under a token hash; wrong, "
	    "unknown, non-argon2 and unavailable; an unknown email costs an "
	    "argon2id run");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "300");
}
ATF_TC_BODY(auth_signin, tc)
{
	struct kchild		 kc;
	struct imsg		 imsg;
	struct mread		 mr;
	struct auth_rec		 rec, got;
	struct argon2_params	 ap = { 1024, 1, 1 };
	struct argon2_params	 slow = { 16384, 2, 1 };
	uint64_t		 t0, t1, expires;
	uint32_t		 dbid;
	unsigned char		 secret[32], th[64];
	char			 uid[CERTAOS_MAX_ID + 1];
	char			 ip[CERTAOS_MAX_IP + 1];
	char			 ua[CERTAOS_MAX_UA + 1];
	char			 enc[CERTAOS_MAX_PWHASH];
	char			 tok[CERTAOS_MAX_CTOKEN + 1];
	double			 t, wrong = 1e9, unknown = 1e9, scrypt = 1e9;
	int			 i;

	spawn_auth(tc, &kc, secret, sizeof(secret));
	ATF_REQUIRE(pw_hash(&ap, "password1", 9, enc, sizeof(enc)) == 0);

	t0 = now_ms();
	dbid = signin_cred_get(&kc, 31, 0, "password1");
	send_cred(&kc, dbid, 1, "user-1", enc);
	xexpect(&kc.db, &imsg, IMSG_DB_SESSION_NEW);
	t1 = now_ms();
	ATF_REQUIRE_EQ(imsg_get_id(&imsg), dbid);
	mread_init(&mr, &imsg);
	mread_str(&mr, uid, sizeof(uid));
	ATF_REQUIRE_EQ(mread_bytes(&mr, th, sizeof(th)), 32);
	expires = mread_u64(&mr);
	mread_str(&mr, ip, sizeof(ip));
	mread_str(&mr, ua, sizeof(ua));
	ATF_REQUIRE_MSG(mread_end(&mr) == 0, "malformed IMSG_DB_SESSION_NEW");
	imsg_free(&imsg);
	ATF_REQUIRE_STREQ(uid, "user-1");
	ATF_REQUIRE_STREQ(ip, T_IP);
	ATF_REQUIRE_STREQ(ua, T_UA);
	check_expires(expires, t0, t1, CERTAOS_SESSION_LIFETIME);
	make_rec(&rec, "user-1", expires);
	send_auth_reply(&kc, dbid, AUTH_OK, &rec);
	ATF_REQUIRE_EQ(recv_auth(&kc, 31, tok, &got), AUTH_OK);
	check_signed(secret, sizeof(secret), tok);
	check_hash(tok, th);
	ATF_REQUIRE_STREQ(got.u.id, "user-1");
	send_session(&kc, 32, AUTH_F_SIGNED, AUTH_OP_GET, tok);
	expect_session_get(&kc, 32, AUTH_OP_GET, th);

	/* a short session */
	t0 = now_ms();
	dbid = signin_cred_get(&kc, 33, AUTH_F_SHORT, "password1");
	send_cred(&kc, dbid, 1, "user-1", enc);
	xexpect(&kc.db, &imsg, IMSG_DB_SESSION_NEW);
	t1 = now_ms();
	mread_init(&mr, &imsg);
	mread_str(&mr, uid, sizeof(uid));
	ATF_REQUIRE_EQ(mread_bytes(&mr, th, sizeof(th)), 32);
	expires = mread_u64(&mr);
	imsg_free(&imsg);
	check_expires(expires, t0, t1, CERTAOS_SESSION_SHORT);
	/* banned at session creation: relayed as it is */
	send_auth_reply(&kc, dbid, AUTH_BANNED, NULL);
	ATF_REQUIRE_EQ(recv_auth(&kc, 33, NULL, NULL), AUTH_BANNED);

	/* refusals: no session asked of db */
	dbid = signin_cred_get(&kc, 34, 0, "password2");
	send_cred(&kc, dbid, 1, "user-1", enc);
	ATF_REQUIRE_EQ(recv_auth(&kc, 34, NULL, NULL), AUTH_BAD_CREDENTIALS);
	expect_audit(&kc, "user-1", AUDIT_SIGNIN_BAD_PASSWORD);
	dbid = signin_cred_get(&kc, 35, 0, "password1");
	send_cred(&kc, dbid, 0, "", "");
	ATF_REQUIRE_EQ(recv_auth(&kc, 35, NULL, NULL), AUTH_BAD_CREDENTIALS);
	expect_audit(&kc, "", AUDIT_SIGNIN_UNKNOWN_EMAIL);
	dbid = signin_cred_get(&kc, 38, 0, "password1");
	send_cred(&kc, dbid, 0, "user-1", "");
	ATF_REQUIRE_EQ(recv_auth(&kc, 38, NULL, NULL), AUTH_BAD_CREDENTIALS);
	expect_audit(&kc, "user-1", AUDIT_SIGNIN_NO_PASSWORD);
	/* a hash of no known kind: refused like a wrong password */
	dbid = signin_cred_get(&kc, 36, 0, "password1");
	send_cred(&kc, dbid, 1, "user-1", "0123456789abcdef:0123456789abcdef");
	ATF_REQUIRE_EQ(recv_auth(&kc, 36, NULL, NULL), AUTH_BAD_CREDENTIALS);
	expect_audit(&kc, "user-1", AUDIT_SIGNIN_BAD_PASSWORD);
	dbid = signin_cred_get(&kc, 37, 0, "password1");
	send_cred(&kc, dbid, -1, "", "");
	ATF_REQUIRE_EQ(recv_auth(&kc, 37, NULL, NULL), AUTH_UNAVAILABLE);
	ATF_REQUIRE(quiet(&kc.db, 200));

	/*
	 * With a visible cost: an unknown email takes about as long as a
	 * wrong password (the dummy hash has the configured cost).
	 */
	configure_params(&kc, secret, sizeof(secret), slow.memory, slow.time,
	    slow.lanes);
	ATF_REQUIRE(pw_hash(&slow, "password1", 9, enc, sizeof(enc)) == 0);
	for (i = 0; i < 3; i++) {
		t = refusal_time(&kc, 40, 1, "user-1", enc,
		    AUDIT_SIGNIN_BAD_PASSWORD);
		wrong = t < wrong ? t : wrong;
		t = refusal_time(&kc, 41, 0, "", "",
		    AUDIT_SIGNIN_UNKNOWN_EMAIL);
		unknown = t < unknown ? t : unknown;
	}
	ATF_REQUIRE_MSG(unknown > wrong / 2 && unknown < wrong * 2,
	    "unknown email %.3f s, wrong password %.3f s", unknown, wrong);

	/*
	 * A user imported with Better Auth's scrypt hash (several times
	 * argon2id's cost here): its refusal takes what an unknown
	 * email's does, and a wrong argon2id password too.
	 */
	for (i = 0; i < 3; i++) {
		t = refusal_time(&kc, 42, 1, "user-1", BA_SCRYPT_PASSWORD123,
		    AUDIT_SIGNIN_BAD_PASSWORD);
		scrypt = t < scrypt ? t : scrypt;
	}
	ATF_REQUIRE_MSG(unknown > scrypt / 1.5 && unknown < scrypt * 1.5,
	    "unknown email %.3f s, wrong password of a scrypt hash %.3f s",
	    unknown, scrypt);
	ATF_REQUIRE_MSG(wrong > scrypt / 1.5 && wrong < scrypt * 1.5,
	    "wrong password of argon2id %.3f s, of a scrypt hash %.3f s",
	    wrong, scrypt);
	stop(&kc);
}

ATF_TC(auth_timeout);
ATF_TC_HEAD(auth_timeout, tc)
{
	atf_tc_set_md_var(tc, "descr", "a sign-in db does not answer fails "
	    "after CERTAOS_DB_TIMEOUT s; the late answer is dropped; an "
	    "answer to a request never made is fatal");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(auth_timeout, tc)
{
	struct kchild	 kc;
	struct auth_rec	 rec;
	uint32_t	 dbid;
	unsigned char	 secret[32];
	double		 t;
	int		 status;

	spawn_auth(tc, &kc, secret, sizeof(secret));
	t = mono();
	dbid = signin_cred_get(&kc, 51, 0, "password1");
	ATF_REQUIRE_EQ(recv_auth(&kc, 51, NULL, NULL), AUTH_UNAVAILABLE);
	t = mono() - t;
	ATF_REQUIRE_MSG(t > CERTAOS_DB_TIMEOUT - 0.5 &&
	    t < CERTAOS_DB_TIMEOUT + 3, "timed out after %.2f s", t);
	send_cred(&kc, dbid, 0, "", "");
	make_rec(&rec, "user-1", 1);
	send_auth_reply(&kc, dbid, AUTH_OK, &rec);
	ATF_REQUIRE_EQ(ping(&kc), 0);
	ATF_REQUIRE(quiet(&kc.web, 100));
	ATF_REQUIRE(quiet(&kc.db, 100));

	send_cred(&kc, dbid + 1000, 0, "", "");
	status = reap(&kc);
	ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %#x", status);
}

ATF_TC(auth_malformed);
ATF_TC_HEAD(auth_malformed, tc)
{
	atf_tc_set_md_var(tc, "descr", "malformed account and session "
	    "messages are fatal");
	atf_tc_set_md_var(tc, "require.config", "builddir");
	atf_tc_set_md_var(tc, "timeout", "120");
}
ATF_TC_BODY(auth_malformed, tc)
{
	struct kchild	 kc;
	uint32_t	 dbid;
	unsigned char	 secret[32];
	char		 big[CERTAOS_MAX_CTOKEN + 2];
	int		 i, status;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 6; i++) {
		spawn_auth(tc, &kc, secret, sizeof(secret));
		switch (i) {
		case 0:		/* no such op */
			send_session(&kc, 1, 0, 0, "x");
			break;
		case 1:		/* longer than CERTAOS_MAX_CTOKEN */
			send_session(&kc, 1, AUTH_F_SIGNED, AUTH_OP_GET, big);
			break;
		case 2:		/* an unknown flag */
			send_signin(&kc, 1, 0x80, "password1");
			break;
		case 3:		/* a field missing */
			mbuf_init(&mb);
			mbuf_u32(&mb, 0);
			mbuf_u32(&mb, AUTH_OP_GET);
			xsend_mbuf(&kc.web, IMSG_KEYS_SESSION, 1);
			break;
		case 4:		/* a status out of range */
			dbid = signin_cred_get(&kc, 1, 0, "password1");
			send_cred(&kc, dbid, 2, "user-1", "");
			break;
		case 5:		/* the wrong answer for the state */
			dbid = signin_cred_get(&kc, 1, 0, "password1");
			send_auth_reply(&kc, dbid, AUTH_NO_SESSION, NULL);
			break;
		}
		status = reap(&kc);
		ATF_REQUIRE_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "case %d: status %#x", i, status);
		imsgbuf_clear(&kc.web);
		close(kc.web.fd);
		imsgbuf_clear(&kc.db);
		close(kc.db.fd);
		imsgbuf_clear(&kc.parent);
		close(kc.parent.fd);
	}
}

/* keystore.c, in-process */

static void
make_row(const struct subkeys *sk, enum jws_alg alg, struct keyrow *row)
{
	ATF_REQUIRE(keyrow_generate(sk, alg, 1000, row) == 0);
}

ATF_TC_WITHOUT_HEAD(keystore_rows);
ATF_TC_BODY(keystore_rows, tc)
{
	struct subkeys	 sk, sk2;
	struct keyrow	 a, b, c;
	struct keylist	 kl;
	struct keyset	 set;
	EVP_PKEY	*pkey;
	unsigned char	*der;
	ssize_t		 derlen, n;
	const char	*why;
	unsigned char	 secret[32];
	char		 kids[256];

	memset(secret, 7, sizeof(secret));
	ATF_REQUIRE(subkeys_derive(&sk, secret, sizeof(secret)) == 0);
	ATF_REQUIRE(subkeys_derive(&sk2, secret, sizeof(secret)) == 0);
	ATF_REQUIRE(subkeys_equal(&sk, &sk2));
	secret[0] = 8;
	ATF_REQUIRE(subkeys_derive(&sk2, secret, sizeof(secret)) == 0);
	ATF_REQUIRE(!subkeys_equal(&sk, &sk2));
	ATF_REQUIRE(subkeys_hmac_key(&sk, HMAC_COOKIE) != NULL);
	ATF_REQUIRE(subkeys_hmac_key(&sk, HMAC_MAX) == NULL);
	ATF_REQUIRE(memcmp(sk.cookie, sk.token, 32) != 0);

	make_row(&sk, JWS_EDDSA, &a);
	make_row(&sk, JWS_ES256, &b);
	keylist_init(&kl);
	ATF_REQUIRE(keylist_add_row(&kl, &sk, a.kid, a.alg, a.sealed,
	    a.sealedlen, a.created, &why) == 0);
	/* the same kid twice */
	ATF_REQUIRE(keylist_add_row(&kl, &sk, a.kid, a.alg, a.sealed,
	    a.sealedlen, a.created, &why) == -1);
	/* another secret */
	ATF_REQUIRE(keylist_add_row(&kl, &sk2, b.kid, b.alg, b.sealed,
	    b.sealedlen, b.created, &why) == -1);
	/* the blob of one row under another row's kid: AAD mismatch */
	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, b.alg, a.sealed,
	    a.sealedlen, a.created, &why) == -1);
	/* a wrong alg for the key */
	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, "EdDSA", b.sealed,
	    b.sealedlen, b.created, &why) == -1);
	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, "none", b.sealed,
	    b.sealedlen, b.created, &why) == -1);

	/*
	 * Key A sealed under B's kid as AAD opens, but its thumbprint is
	 * not B's kid: refused.
	 */
	ATF_REQUIRE((pkey = jwk_generate(JWS_ES256)) != NULL);
	ATF_REQUIRE((derlen = pkey_private_der(pkey, &der)) > 0);
	memset(&c, 0, sizeof(c));
	ATF_REQUIRE((n = seal_aes256gcm(sk.seal, der, derlen, b.kid,
	    strlen(b.kid), c.sealed, sizeof(c.sealed))) > 0);
	freezero(der, derlen);
	EVP_PKEY_free(pkey);
	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, "ES256", c.sealed, n,
	    1, &why) == -1);
	ATF_REQUIRE_STREQ(why, "kid is not the key's thumbprint");
	ATF_REQUIRE_EQ(keylist_count(&kl), 1);

	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, b.alg, b.sealed,
	    b.sealedlen, b.created, &why) == 0);
	ATF_REQUIRE_EQ(keylist_count(&kl), 2);

	/* the set: ES256 before EdDSA; the same keys again are no change */
	keyset_init(&set);
	ATF_REQUIRE_EQ(keyset_swap(&set, &kl), 1);
	ATF_REQUIRE_EQ(set.generation, 1);
	ATF_REQUIRE_EQ(set.nkeys, 2);
	ATF_REQUIRE(TAILQ_EMPTY(&kl));
	ATF_REQUIRE(strstr(set.jwks, b.kid) < strstr(set.jwks, a.kid));
	ATF_REQUIRE(keyset_find(&set, JWS_ES256, "") != NULL);
	ATF_REQUIRE(keyset_find(&set, JWS_ES256, a.kid) == NULL);
	ATF_REQUIRE(keyset_find(&set, JWS_RS256, NULL) == NULL);
	keyset_kids(&set, kids, sizeof(kids));
	ATF_REQUIRE(strstr(kids, a.kid) != NULL && strstr(kids, " ") != NULL);
	keyset_kids(&set, kids, 50);		/* room for one kid only */
	ATF_REQUIRE_STREQ(kids, b.kid);
	ATF_REQUIRE(keylist_add_row(&kl, &sk, a.kid, a.alg, a.sealed,
	    a.sealedlen, a.created, &why) == 0);
	ATF_REQUIRE(keylist_add_row(&kl, &sk, b.kid, b.alg, b.sealed,
	    b.sealedlen, b.created, &why) == 0);
	ATF_REQUIRE_EQ(keyset_swap(&set, &kl), 0);
	ATF_REQUIRE_EQ(set.generation, 1);
	ATF_REQUIRE_EQ(keyset_swap(&set, &kl), 1);	/* now empty */
	ATF_REQUIRE_STREQ(set.jwks, "{\"keys\":[]}");
	ATF_REQUIRE_EQ(set.generation, 2);
	keylist_free(&set.keys);
	free(set.jwks);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, first_start);
	ATF_TP_ADD_TC(tp, sign_limits);
	ATF_TP_ADD_TC(tp, restart);
	ATF_TP_ADD_TC(tp, tampered);
	ATF_TP_ADD_TC(tp, wrong_secret);
	ATF_TP_ADD_TC(tp, db_unavailable);
	ATF_TP_ADD_TC(tp, unsolicited);
	ATF_TP_ADD_TC(tp, bad_secret);
	ATF_TP_ADD_TC(tp, pwhash_reload);
	ATF_TP_ADD_TC(tp, pwhash_lanes);
	ATF_TP_ADD_TC(tp, auth_signup);
	ATF_TP_ADD_TC(tp, auth_signin);
	ATF_TP_ADD_TC(tp, auth_timeout);
	ATF_TP_ADD_TC(tp, auth_malformed);
	ATF_TP_ADD_TC(tp, keystore_rows);
	return (atf_no_error());
}
