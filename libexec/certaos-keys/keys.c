/*
 * certaos-keys: the only process that holds the master secret's derived
 * keys and the JWKS private keys.  The master hands it the secret; it
 * loads the sealed signing keys through the db process (generating and
 * storing the missing ones), and answers the web workers' requests to
 * sign, HMAC, hash and verify, and to sign up, sign in and check
 * sessions (auth.c).  It never touches the network.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <event.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "certaos.h"
#include "crypto.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "keys.h"

static const enum jws_alg keys_algs[] = { JWS_RS256, JWS_ES256, JWS_EDDSA };

struct keys_state {
	/* configuration in use, and the one being received */
	struct cfg_keys		 cfg;
	struct cfg_keys		 newcfg;
	int			 have_newcfg;
	unsigned char		 secret[CERTAOS_MAX_SECRET];
	size_t			 secretlen;	/* 0: none received */
	int			 configured;
	struct subkeys		 sk;

	/* the key set and its loading */
	struct keyset		 set;
	struct keylist		 loading;
	int			 started;
	int			 load_inflight;
	int			 reload_again;	/* NOTIFY while busy */
	int			 inserts;	/* INSERTs without an answer */
	int			 insert_failed;
	int			 after_insert;	/* this load follows inserts */
	uint32_t		 insert_id;
	int			 backoff;	/* s */
	struct event		 retry_ev;
	int			 retry_set;
	int			 db_ok;		/* last load succeeded */

	/* a password worker: its argon2id memory, kept while busy */
	struct event		 idle_ev;
	int			 idle_set;
};

static struct proc_child	 pc;
static struct keys_state	 ks;
static struct mbuf		 mb;
static char			 jwsbuf[MAX_IMSGSIZE];

static void	 keys_dispatch_parent(struct imsgev *, struct imsg *);
static void	 keys_dispatch_web(struct imsgev *, struct imsg *);
static void	 keys_dispatch_db(struct imsgev *, struct imsg *);
static void	 keys_dispatch_mail(struct imsgev *, struct imsg *);
static void	 keys_peer_up(struct imsgev *);
static void	 keys_cfg_done(void);
static void	 keys_status(struct imsgev *, struct imsg *);
static void	 keys_start(void);
static void	 keys_load(void);
static void	 keys_retry_later(void);
static void	 keys_retry(int, short, void *);
static void	 keys_row(struct imsg *);
static void	 keys_end(struct imsg *);
static void	 keys_inserted(struct imsg *);
static void	 keys_generate_missing(void);
static void	 keys_changed(void);
static void	 keys_sign(struct imsgev *, struct imsg *);
static void	 keys_hmac(struct imsgev *, struct imsg *);
static void	 keys_pwhash(struct imsgev *, struct imsg *);
static void	 keys_pwverify(struct imsgev *, struct imsg *);
static void	 keys_error(struct imsgev *, uint32_t, const char *);
static void	 keys_send(struct imsgev *, uint32_t, uint32_t);
static void	 keys_wipe_imsg(struct imsg *);
static void	 keys_worker_busy(void);
static void	 keys_worker_idle(int, short, void *);

int
main(int argc, char *argv[])
{
	struct rlimit	 rl;
	unsigned char	 seed[32];

	proc_init(&pc, argc, argv, PROC_KEYS);
	/*
	 * argon2id and scrypt take tens of megabytes a hash.  A fixed mmap
	 * threshold keeps glibc from raising it after the first free, so
	 * that memory goes back to the system after each hash instead of
	 * staying in the heap of an idle daemon.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);

	/* No core file, no ptrace by the same uid: this process holds keys. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");

	/* All of OpenSSL's files are read now: the chroot is empty. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
	    NULL) != 1)
		fatalx("OPENSSL_init_crypto");
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		fatalx("RAND_bytes: the random generator is not seeded");
	explicit_bzero(seed, sizeof(seed));

	keyset_init(&ks.set);
	keylist_init(&ks.loading);
	ks.backoff = KEYS_BACKOFF_MIN;

	/*
	 * keys[0] signs, checks session tokens and holds the signing keys;
	 * keys[1..] hash passwords.  A worker yields the CPU to the
	 * processes on the session path (web, keys[0], db) at once, so that
	 * a storm of sign-ins does not make get-session wait; with the CPUs
	 * otherwise idle it hashes at full speed all the same.
	 */
	if (pc.instance > 0 && setpriority(PRIO_PROCESS, 0,
	    KEYS_WORKER_NICE) == -1)
		log_warn("setpriority");
	/* and keeps its argon2id memory between hashes (pwhash.c) */
	if (pc.instance > 0)
		pw_memory_keep(1);

	proc_sandbox(&pc);

	pc.dispatch[PROC_PARENT] = keys_dispatch_parent;
	pc.dispatch[PROC_WEB] = keys_dispatch_web;
	pc.dispatch[PROC_DB] = keys_dispatch_db;
	pc.dispatch[PROC_MAIL] = keys_dispatch_mail;
	pc.peer_up = keys_peer_up;
	proc_run(&pc);
	/* NOTREACHED */
}

/* The payload may have held a secret: wipe it before imsg_free. */
static void
keys_wipe_imsg(struct imsg *imsg)
{
	if (imsg->data != NULL)
		explicit_bzero(imsg->data, imsg_get_len(imsg));
}

static void
keys_send(struct imsgev *iev, uint32_t type, uint32_t id)
{
	if (mbuf_compose(&mb, &iev->ibuf, type, id) == -1)
		fatalx("%s: cannot compose imsg %u to %s", __func__, type,
		    iev->name);
	mbuf_clear(&mb);
	imsgev_add(iev);
}

static void
keys_error(struct imsgev *iev, uint32_t id, const char *why)
{
	mbuf_init(&mb);
	mbuf_str(&mb, why);
	keys_send(iev, IMSG_KEYS_ERROR, id);
}

/*
 * Parent: configuration (CFG_KEYS, CFG_SECRET, then DONE), START and
 * STATUS.
 */
static void
keys_dispatch_parent(struct imsgev *iev, struct imsg *imsg)
{
	size_t	 len;

	switch (imsg_get_type(imsg)) {
	case IMSG_CFG_KEYS:
		if (imsg_get_data(imsg, &ks.newcfg, sizeof(ks.newcfg)) == -1)
			fatalx("%s: bad IMSG_CFG_KEYS", __func__);
		if (ks.newcfg.argon2_time < 1 || ks.newcfg.argon2_lanes < 1 ||
		    ks.newcfg.argon2_memory < 8 * ks.newcfg.argon2_lanes)
			fatalx("%s: bad argon2 parameters m=%u t=%u p=%u",
			    __func__, ks.newcfg.argon2_memory,
			    ks.newcfg.argon2_time, ks.newcfg.argon2_lanes);
		ks.have_newcfg = 1;
		break;
	case IMSG_CFG_SECRET:
		len = imsg_get_len(imsg);
		if (len < CERTAOS_MIN_SECRET || len > CERTAOS_MAX_SECRET ||
		    imsg_get_data(imsg, ks.secret, len) == -1)
			fatalx("%s: bad IMSG_CFG_SECRET (%zu bytes)", __func__,
			    len);
		keys_wipe_imsg(imsg);
		ks.secretlen = len;
		break;
	case IMSG_CFG_DONE:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_CFG_DONE", __func__);
		keys_cfg_done();
		if (imsgev_compose(iev, IMSG_CFG_ACK, imsg_get_id(imsg), 0, -1,
		    NULL, 0) == -1)
			fatal("%s: compose", __func__);
		keys_start();
		break;
	case IMSG_CTL_START:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_CTL_START", __func__);
		keys_start();
		break;
	case IMSG_CTL_STATUS:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_CTL_STATUS", __func__);
		keys_status(iev, imsg);
		break;
	case IMSG_KEYS_MAIL_TEST:
		keys_mail_test(iev, imsg);
		break;
	case IMSG_KEYS_INVITE:
		invite_make(iev, imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

/* mail: open the outbox messages it claimed, nothing else. */
static void
keys_dispatch_mail(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_KEYS_MAIL_OPEN:
		keys_mail_open_req(iev, imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
keys_cfg_done(void)
{
	struct subkeys	 sk;

	if (!ks.configured && (!ks.have_newcfg || ks.secretlen == 0))
		fatalx("%s: configuration without %s", __func__,
		    ks.have_newcfg ? "a secret" : "IMSG_CFG_KEYS");
	if (ks.have_newcfg) {
		ks.cfg = ks.newcfg;
		ks.have_newcfg = 0;
	}
	if (ks.secretlen > 0) {
		if (subkeys_derive(&sk, ks.secret, ks.secretlen) == -1)
			fatalx("%s: cannot derive keys from the secret",
			    __func__);
		explicit_bzero(ks.secret, sizeof(ks.secret));
		ks.secretlen = 0;
		if (!ks.sk.set) {
			ks.sk = sk;
		} else if (!subkeys_equal(&ks.sk, &sk)) {
			/* the sealed keys would no longer open */
			log_warnx("the secret changed: refused, keeping the "
			    "running one (restart certaosd to change it)");
		}
		subkeys_wipe(&sk);
	}
	auth_configure(&ks.cfg, &ks.sk);
	pw_memory_release();		/* of the dummy hash, if one was made */
	keys_mail_configure(&ks.sk);
	flow_configure(&ks.cfg);
	invite_configure(&ks.cfg);
	if (!ks.configured)
		log_debug("configured: argon2id m=%u t=%u p=%u",
		    ks.cfg.argon2_memory, ks.cfg.argon2_time,
		    ks.cfg.argon2_lanes);
	else
		log_info("configuration reloaded: argon2id m=%u t=%u p=%u",
		    ks.cfg.argon2_memory, ks.cfg.argon2_time,
		    ks.cfg.argon2_lanes);
	ks.configured = 1;
}

static void
keys_status(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_status	 st;

	memset(&st, 0, sizeof(st));
	st.proc = PROC_KEYS;
	st.instance = pc.instance;
	st.pid = getpid();
	st.started = pc.started;
	st.db_ok = ks.db_ok;
	st.nkeys = ks.set.nkeys;
	keyset_kids(&ks.set, st.kids, sizeof(st.kids));
	if (imsgev_compose(iev, IMSG_CTL_STATUS_REPLY, imsg_get_id(imsg), 0,
	    -1, &st, sizeof(st)) == -1)
		fatal("%s: compose", __func__);
}

static void
keys_peer_up(struct imsgev *iev)
{
	uint32_t	 gen;

	switch (iev->peer) {
	case PROC_DB:
		keys_start();
		break;
	case PROC_WEB:
		/* a worker that came late learns that keys exist */
		if (ks.set.generation > 0) {
			gen = ks.set.generation;
			if (imsgev_compose(iev, IMSG_KEYS_JWKS_CHANGED, 0, 0,
			    -1, &gen, sizeof(gen)) == -1)
				fatal("%s: compose", __func__);
		}
		break;
	default:
		break;
	}
}

/*
 * The key set.  Loading starts once the config is taken and the db
 * channel is up, whichever comes last (or at IMSG_CTL_START).
 */
static void
keys_start(void)
{
	/* the password workers neither load nor make signing keys */
	if (pc.instance != 0 || ks.started || !ks.configured ||
	    proc_peer(&pc, PROC_DB) == NULL)
		return;
	ks.started = 1;
	keys_load();
}

static void
keys_load(void)
{
	struct imsgev	*db;

	if (ks.load_inflight || ks.inserts > 0) {
		ks.reload_again = 1;
		return;
	}
	if ((db = proc_peer(&pc, PROC_DB)) == NULL)
		fatalx("%s: no channel to db", __func__);
	if (ks.retry_set) {
		evtimer_del(&ks.retry_ev);
		ks.retry_set = 0;
	}
	ks.reload_again = 0;
	keylist_free(&ks.loading);
	ks.load_inflight = 1;
	if (imsgev_compose(db, IMSG_DB_JWKS_LOAD, 0, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
	log_debug("loading the key set");
}

static void
keys_retry_later(void)
{
	struct timeval	 tv;

	if (ks.retry_set)
		return;
	evtimer_set(&ks.retry_ev, keys_retry, NULL);
	if (pc.evbase != NULL)
		event_base_set(pc.evbase, &ks.retry_ev);
	timerclear(&tv);
	tv.tv_sec = ks.backoff;
	evtimer_add(&ks.retry_ev, &tv);
	ks.retry_set = 1;
	log_debug("next key set load in %d s", ks.backoff);
	ks.backoff *= 2;
	if (ks.backoff > KEYS_BACKOFF_MAX)
		ks.backoff = KEYS_BACKOFF_MAX;
}

static void
keys_retry(int fd, short event, void *arg)
{
	ks.retry_set = 0;
	keys_load();
}

static void
keys_dispatch_db(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_DB_JWKS_ROW:
		if (!ks.load_inflight)
			fatalx("%s: IMSG_DB_JWKS_ROW without a load",
			    __func__);
		keys_row(imsg);
		break;
	case IMSG_DB_JWKS_END:
		if (!ks.load_inflight)
			fatalx("%s: IMSG_DB_JWKS_END without a load",
			    __func__);
		keys_end(imsg);
		break;
	case IMSG_DB_JWKS_INSERTED:
		if (ks.inserts == 0)
			fatalx("%s: IMSG_DB_JWKS_INSERTED without an insert",
			    __func__);
		keys_inserted(imsg);
		break;
	case IMSG_DB_CRED:
		auth_db_cred(iev, imsg);
		break;
	case IMSG_DB_AUTH_REPLY:
		auth_db_reply(iev, imsg);
		break;
	case IMSG_DB_FLOW_USER:
		flow_db_user(iev, imsg);
		break;
	case IMSG_DB_FLOW_DONE:
		flow_db_done(iev, imsg);
		break;
	case IMSG_DB_JWKS_NOTIFY:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_DB_JWKS_NOTIFY", __func__);
		if (ks.started) {
			log_debug("jwks changed in the database");
			keys_load();
		}
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
}

static void
keys_row(struct imsg *imsg)
{
	struct mread	 mr;
	const char	*why;
	uint64_t	 created;
	size_t		 sealedlen;
	static unsigned char sealed[CERTAOS_MAX_SEALED];
	static char	 jwk[CERTAOS_MAX_JWK + 1];
	char		 kid[CERTAOS_MAX_KID + 1], alg[KEYS_MAX_ALG];

	mread_init(&mr, imsg);
	mread_str(&mr, kid, sizeof(kid));
	mread_str(&mr, alg, sizeof(alg));
	mread_str(&mr, jwk, sizeof(jwk));
	sealedlen = mread_bytes(&mr, sealed, sizeof(sealed));
	created = mread_u64(&mr);
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_DB_JWKS_ROW", __func__);

	if (keylist_add_row(&ks.loading, &ks.sk, kid, alg, sealed, sealedlen,
	    created, &why) == -1)
		log_warnx("jwks row %s (%s) refused: %s", kid, alg, why);
	else
		log_debug("jwks row %s (%s) loaded", kid, alg);
	explicit_bzero(sealed, sizeof(sealed));
}

static void
keys_end(struct imsg *imsg)
{
	int32_t		 ok;
	size_t		 i;
	int		 missing = 0, changed;

	if (imsg_get_data(imsg, &ok, sizeof(ok)) == -1)
		fatalx("%s: bad IMSG_DB_JWKS_END", __func__);
	ks.load_inflight = 0;
	ks.db_ok = (ok == 1);
	if (ok != 1) {
		keylist_free(&ks.loading);
		log_warnx("cannot load the key set: database unavailable");
		if (ks.reload_again)
			keys_load();
		else
			keys_retry_later();
		return;
	}
	if ((changed = keyset_swap(&ks.set, &ks.loading)) == -1)
		fatalx("%s: cannot build the JWKS", __func__);
	keylist_free(&ks.loading);
	if (changed)
		keys_changed();
	if (ks.reload_again) {
		keys_load();
		return;
	}
	for (i = 0; i < nitems(keys_algs); i++)
		if (keyset_find(&ks.set, keys_algs[i], NULL) == NULL)
			missing++;
	if (missing == 0) {
		ks.after_insert = 0;
		ks.backoff = KEYS_BACKOFF_MIN;
		return;
	}
	if (ks.after_insert) {
		/* inserted, reloaded, still missing: do not spin */
		log_warnx("%d signing key(s) still missing after an insert",
		    missing);
		ks.after_insert = 0;
		keys_retry_later();
		return;
	}
	keys_generate_missing();
}

static void
keys_generate_missing(void)
{
	struct imsgev	*db;
	struct keyrow	*row;
	size_t		 i;

	if ((db = proc_peer(&pc, PROC_DB)) == NULL)
		fatalx("%s: no channel to db", __func__);
	if ((row = malloc(sizeof(*row))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < nitems(keys_algs); i++) {
		if (keyset_find(&ks.set, keys_algs[i], NULL) != NULL)
			continue;
		if (keyrow_generate(&ks.sk, keys_algs[i], time(NULL),
		    row) == -1) {
			log_warnx("cannot generate a %s key",
			    jws_alg_name(keys_algs[i]));
			continue;
		}
		mbuf_init(&mb);
		mbuf_str(&mb, row->kid);
		mbuf_str(&mb, row->alg);
		mbuf_str(&mb, row->jwk);
		mbuf_bytes(&mb, row->sealed, row->sealedlen);
		mbuf_u64(&mb, row->created);
		keys_send(db, IMSG_DB_JWKS_INSERT, ++ks.insert_id);
		ks.inserts++;
		log_info("new %s key %s", row->alg, row->kid);
	}
	freezero(row, sizeof(*row));
	ks.insert_failed = 0;
	if (ks.inserts == 0)
		keys_retry_later();
}

static void
keys_inserted(struct imsg *imsg)
{
	int32_t		 r;

	if (imsg_get_data(imsg, &r, sizeof(r)) == -1 || r < -1 || r > 1)
		fatalx("%s: bad IMSG_DB_JWKS_INSERTED", __func__);
	if (r == -1)
		ks.insert_failed = 1;
	else if (r == 0)
		log_info("another instance stored a key first: using it");
	if (--ks.inserts > 0)
		return;
	if (ks.insert_failed && !ks.reload_again) {
		log_warnx("cannot store new keys: database unavailable");
		keys_retry_later();
		return;
	}
	ks.after_insert = !ks.insert_failed;
	keys_load();
}

/* The set changed: tell every web worker the new generation. */
static void
keys_changed(void)
{
	struct imsgev	*iev;
	uint32_t	 gen = ks.set.generation;

	log_info("key set generation %u: %d key(s)", gen, ks.set.nkeys);
	TAILQ_FOREACH(iev, &pc.peers, entry) {
		if (iev->peer != PROC_WEB)
			continue;
		if (imsgev_compose(iev, IMSG_KEYS_JWKS_CHANGED, 0, 0, -1,
		    &gen, sizeof(gen)) == -1)
			fatal("%s: compose", __func__);
	}
}

/* Web: the requests.  The id rides in the peerid and is echoed. */
static void
keys_dispatch_web(struct imsgev *iev, struct imsg *imsg)
{
	int32_t		 n;
	uint32_t	 id = imsg_get_id(imsg);

	switch (imsg_get_type(imsg)) {
	case IMSG_KEYS_PING:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_KEYS_PING", __func__);
		n = ks.set.nkeys;
		if (imsgev_compose(iev, IMSG_KEYS_PONG, id, 0, -1, &n,
		    sizeof(n)) == -1)
			fatal("%s: compose", __func__);
		break;
	case IMSG_KEYS_JWKS_GET:
		if (imsg_get_len(imsg) != 0)
			fatalx("%s: bad IMSG_KEYS_JWKS_GET", __func__);
		mbuf_init(&mb);
		mbuf_u32(&mb, ks.set.jwks == NULL ? 0 : ks.set.generation);
		mbuf_str(&mb, ks.set.jwks == NULL ? "{\"keys\":[]}" :
		    ks.set.jwks);
		keys_send(iev, IMSG_KEYS_JWKS, id);
		break;
	case IMSG_KEYS_SIGN:
		keys_sign(iev, imsg);
		break;
	case IMSG_KEYS_HMAC:
		keys_hmac(iev, imsg);
		break;
	case IMSG_KEYS_PWHASH:
		keys_pwhash(iev, imsg);
		break;
	case IMSG_KEYS_PWVERIFY:
		keys_pwverify(iev, imsg);
		break;
	case IMSG_KEYS_SIGNUP:
		auth_signup(iev, imsg);
		break;
	case IMSG_KEYS_SIGNIN:
		auth_signin(iev, imsg);
		break;
	case IMSG_KEYS_SESSION:
		auth_session(iev, imsg);
		break;
	case IMSG_KEYS_SESSION_OP:
		auth_session_op(iev, imsg);
		break;
	case IMSG_KEYS_PW_CHANGE:
		auth_pw_change(iev, imsg);
		break;
	case IMSG_KEYS_USER_UPDATE:
		auth_user_update(iev, imsg);
		break;
	case IMSG_KEYS_PW_CHECK:
		auth_pw_check(iev, imsg);
		break;
	case IMSG_KEYS_DONT_REMEMBER:
		auth_dont_remember(iev, imsg);
		break;
	case IMSG_KEYS_FLOW_SEND:
		flow_send_req(iev, imsg);
		break;
	case IMSG_KEYS_FLOW_USE:
		flow_use_req(iev, imsg);
		break;
	default:
		imsgev_unexpected(iev, imsg);
	}
	keys_worker_busy();
}

/*
 * A password worker gives its argon2id memory back once it has had no
 * request for KEYS_WORKER_IDLE seconds: a storm hashes in kept memory,
 * an idle daemon holds none.
 */
static void
keys_worker_busy(void)
{
	struct timeval	 tv;

	if (pc.instance == 0)
		return;
	if (!ks.idle_set) {
		evtimer_set(&ks.idle_ev, keys_worker_idle, NULL);
		event_base_set(pc.evbase, &ks.idle_ev);
		ks.idle_set = 1;
	}
	timerclear(&tv);
	tv.tv_sec = KEYS_WORKER_IDLE;
	evtimer_add(&ks.idle_ev, &tv);
}

static void
keys_worker_idle(int fd, short event, void *arg)
{
	pw_memory_release();
}

static void
keys_sign(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	struct keyent	*ke;
	enum jws_alg	 alg;
	size_t		 len;
	ssize_t		 n;
	static unsigned char payload[CERTAOS_MAX_JWS_INPUT];
	char		 algname[KEYS_MAX_ALG], kid[CERTAOS_MAX_KID + 1];

	mread_init(&mr, imsg);
	mread_str(&mr, algname, sizeof(algname));
	mread_str(&mr, kid, sizeof(kid));
	len = mread_bytes(&mr, payload, sizeof(payload));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_SIGN", __func__);

	if ((alg = jws_alg_from_name(algname)) == JWS_NONE) {
		keys_error(iev, imsg_get_id(imsg), "unknown alg");
		return;
	}
	if ((ke = keyset_find(&ks.set, alg, kid)) == NULL) {
		keys_error(iev, imsg_get_id(imsg), kid[0] == '\0' ? "no key" :
		    "unknown kid");
		return;
	}
	if ((n = jws_sign(ke->pkey, alg, ke->kid, payload, len, jwsbuf,
	    sizeof(jwsbuf))) == -1) {
		log_warnx("%s: cannot sign with %s", __func__, ke->kid);
		keys_error(iev, imsg_get_id(imsg), "sign failed");
		return;
	}
	mbuf_init(&mb);
	mbuf_str(&mb, jwsbuf);
	keys_send(iev, IMSG_KEYS_SIGNED, imsg_get_id(imsg));
}

static void
keys_hmac(struct imsgev *iev, struct imsg *imsg)
{
	struct mread		 mr;
	const unsigned char	*key;
	uint32_t		 purpose;
	size_t			 len;
	static unsigned char	 data[KEYS_MAX_HMAC_INPUT];
	unsigned char		 mac[SHA256_LEN];

	mread_init(&mr, imsg);
	purpose = mread_u32(&mr);
	len = mread_bytes(&mr, data, sizeof(data));
	if (mread_end(&mr) == -1)
		fatalx("%s: bad IMSG_KEYS_HMAC", __func__);

	if ((key = subkeys_hmac_key(&ks.sk, purpose)) == NULL) {
		keys_error(iev, imsg_get_id(imsg), "unknown purpose");
		return;
	}
	if (hmac_sha256(key, KEYS_SUBKEY_LEN, data, len, mac) == -1)
		fatalx("%s: hmac_sha256", __func__);
	explicit_bzero(data, len);
	mbuf_init(&mb);
	mbuf_bytes(&mb, mac, sizeof(mac));
	keys_send(iev, IMSG_KEYS_HMAC_RESULT, imsg_get_id(imsg));
	explicit_bzero(mac, sizeof(mac));
}

static void
keys_pwhash(struct imsgev *iev, struct imsg *imsg)
{
	struct argon2_params	 ap;
	struct mread		 mr;
	size_t			 len;
	int			 r;
	unsigned char		 pw[CERTAOS_MAX_PASSWORD];
	char			 enc[CERTAOS_MAX_PWHASH];

	mread_init(&mr, imsg);
	len = mread_bytes(&mr, pw, sizeof(pw));
	r = mread_end(&mr);
	keys_wipe_imsg(imsg);
	if (r == -1)
		fatalx("%s: bad IMSG_KEYS_PWHASH", __func__);

	ap.memory = ks.cfg.argon2_memory;
	ap.time = ks.cfg.argon2_time;
	ap.lanes = ks.cfg.argon2_lanes;
	/* CPU-bound (tens of ms): inline in the loop for now */
	r = pw_hash(&ap, pw, len, enc, sizeof(enc));
	explicit_bzero(pw, sizeof(pw));
	if (r == -1) {
		log_warnx("%s: argon2id failed", __func__);
		keys_error(iev, imsg_get_id(imsg), "hash failed");
		return;
	}
	mbuf_init(&mb);
	mbuf_str(&mb, enc);
	keys_send(iev, IMSG_KEYS_PWHASH_RESULT, imsg_get_id(imsg));
}

static void
keys_pwverify(struct imsgev *iev, struct imsg *imsg)
{
	struct mread	 mr;
	size_t		 len;
	int		 r;
	int32_t		 match;
	unsigned char	 pw[CERTAOS_MAX_PASSWORD];
	char		 enc[CERTAOS_MAX_PWHASH];

	mread_init(&mr, imsg);
	len = mread_bytes(&mr, pw, sizeof(pw));
	mread_str(&mr, enc, sizeof(enc));
	r = mread_end(&mr);
	keys_wipe_imsg(imsg);
	if (r == -1) {
		explicit_bzero(pw, sizeof(pw));
		fatalx("%s: bad IMSG_KEYS_PWVERIFY", __func__);
	}

	r = pw_verify(enc, pw, len);
	explicit_bzero(pw, sizeof(pw));
	if (r == -1)
		log_debug("%s: malformed encoded hash", __func__);
	match = (r == 1);
	if (imsgev_compose(iev, IMSG_KEYS_PWVERIFY_RESULT, imsg_get_id(imsg),
	    0, -1, &match, sizeof(match)) == -1)
		fatal("%s: compose", __func__);
}
