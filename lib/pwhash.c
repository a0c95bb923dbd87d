/*
 * pwhash.c: argon2id password hashes in the PHC string format,
 * $argon2id$v=19$m=M,t=T,p=P$salt$hash, on libargon2.
 *
 * The parameters of a stored hash are checked against the same bounds as
 * the configured ones before any work is done, so a bad row cannot make
 * the keys process allocate gigabytes or spin for minutes.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "certaos.h"
#include "crypto.h"

#define PW_SALT_LEN	16
#define PW_HASH_LEN	32
#define PW_MEMORY_MIN	8		/* KiB */
#define PW_MEMORY_MAX	4194304		/* KiB: 4 GiB */
#define PW_TIME_MIN	1
#define PW_TIME_MAX	100
#define PW_LANES_MIN	1
#define PW_LANES_MAX	16
#define PW_PREFIX	"$argon2id$v=19$"
#define PW_B64(n)	(((n) * 4 + 2) / 3)	/* unpadded base64 */

static int	 params_valid(const struct argon2_params *);
static int	 parse_u32(const char **, const char *, uint32_t *);
static int	 encoded_params(const char *, struct argon2_params *);
static size_t	 b64_run(const char *);
static int	 pw_compute(const struct argon2_params *, const void *,
		    size_t, unsigned char *, size_t, unsigned char *);
static int	 pw_alloc(uint8_t **, size_t);
static void	 pw_free(uint8_t *, size_t);
static int	 b64_encode(const unsigned char *, size_t, char *, size_t);
static ssize_t	 b64_decode(const char *, size_t, unsigned char *, size_t);

static int
params_valid(const struct argon2_params *ap)
{
	if (ap->memory < PW_MEMORY_MIN || ap->memory > PW_MEMORY_MAX)
		return (0);
	if (ap->time < PW_TIME_MIN || ap->time > PW_TIME_MAX)
		return (0);
	if (ap->lanes < PW_LANES_MIN || ap->lanes > PW_LANES_MAX)
		return (0);
	/* argon2 needs 8 KiB per lane. */
	if (ap->memory < 8 * ap->lanes)
		return (0);
	return (1);
}

/* "<key><digits>" at *sp; advances *sp past the digits. */
static int
parse_u32(const char **sp, const char *key, uint32_t *v)
{
	const char	*s = *sp;
	size_t		 klen = strlen(key);
	uint64_t	 n = 0;
	int		 digits = 0;

	if (strncmp(s, key, klen) != 0)
		return (-1);
	s += klen;
	/* No sign, no leading zero, no overflow. */
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return (-1);
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (*s - '0');
		if (n > UINT32_MAX || ++digits > 10)
			return (-1);
		s++;
	}
	if (digits == 0)
		return (-1);
	*v = (uint32_t)n;
	*sp = s;
	return (0);
}

/*
 * The parameters of an encoded argon2id v=19 hash, and the shape of the
 * rest: what argon2id_verify() would accept with a shorter hash is
 * refused here.
 */
static int
encoded_params(const char *enc, struct argon2_params *ap)
{
	const char	*s = enc;
	size_t		 n;

	if (strncmp(s, PW_PREFIX, strlen(PW_PREFIX)) != 0)
		return (-1);
	s += strlen(PW_PREFIX);
	if (parse_u32(&s, "m=", &ap->memory) == -1 ||
	    parse_u32(&s, ",t=", &ap->time) == -1 ||
	    parse_u32(&s, ",p=", &ap->lanes) == -1 || *s++ != '$')
		return (-1);
	/* Salt of 8 bytes or more, then a hash of exactly PW_HASH_LEN. */
	if ((n = b64_run(s)) < PW_B64(8) || s[n] != '$')
		return (-1);
	s += n + 1;
	if ((n = b64_run(s)) != PW_B64(PW_HASH_LEN) || s[n] != '\0')
		return (-1);
	return (0);
}

/* Length of the run of unpadded standard base64 characters at s. */
static size_t
b64_run(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/')
			continue;
		break;
	}
	return (n);
}

int
pw_hash(const struct argon2_params *params, const void *pw, size_t pwlen,
    char *out, size_t outsz)
{
	struct argon2_params	 def = {
		CERTAOS_ARGON2_MEMORY, CERTAOS_ARGON2_TIME,
		CERTAOS_ARGON2_LANES
	};
	unsigned char		 salt[PW_SALT_LEN], raw[PW_HASH_LEN];
	size_t			 need;
	int			 n;

	if (out == NULL || outsz == 0)
		return (-1);
	out[0] = '\0';
	if (params == NULL)
		params = &def;
	if ((pw == NULL && pwlen != 0) || pwlen > CERTAOS_MAX_PASSWORD)
		return (-1);
	if (!params_valid(params))
		return (-1);
	need = argon2_encodedlen(params->time, params->memory, params->lanes,
	    PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
	if (need > outsz || need > CERTAOS_MAX_PWHASH)
		return (-1);
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return (-1);

	if (pw_compute(params, pw, pwlen, salt, sizeof(salt), raw) == -1) {
		explicit_bzero(salt, sizeof(salt));
		return (-1);
	}
	n = snprintf(out, outsz, "%sm=%u,t=%u,p=%u$", PW_PREFIX,
	    params->memory, params->time, params->lanes);
	if (n < 0 || (size_t)n >= outsz ||
	    b64_encode(salt, sizeof(salt), out + n, outsz - n) == -1 ||
	    strlcat(out, "$", outsz) >= outsz ||
	    b64_encode(raw, sizeof(raw), out + strlen(out),
	    outsz - strlen(out)) == -1) {
		explicit_bzero(salt, sizeof(salt));
		explicit_bzero(raw, sizeof(raw));
		explicit_bzero(out, outsz);
		return (-1);
	}
	explicit_bzero(salt, sizeof(salt));
	explicit_bzero(raw, sizeof(raw));
	return (0);
}

/*
 * Better Auth's own hashes, for databases moved over: "<salt>:<key>",
 * a 32-digit hex salt whose text (not its bytes) salts scrypt with
 * N=16384, r=16, p=1 into a 64-byte key, written as 128 hex digits.
 * Better Auth NFKC-normalises the password first; an ASCII password is
 * its own normal form, and the others are compared as given.
 */
#define SCRYPT_SALT_HEX		32
#define SCRYPT_KEY_LEN		64
#define SCRYPT_N		16384
#define SCRYPT_R		16
#define SCRYPT_P		1

static int
is_lowerhex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (1);
}

int
pw_is_scrypt(const char *encoded)
{
	return (strlen(encoded) == SCRYPT_SALT_HEX + 1 + 2 * SCRYPT_KEY_LEN &&
	    encoded[SCRYPT_SALT_HEX] == ':' &&
	    is_lowerhex(encoded, SCRYPT_SALT_HEX) &&
	    is_lowerhex(encoded + SCRYPT_SALT_HEX + 1, 2 * SCRYPT_KEY_LEN));
}

static int
pw_verify_scrypt(const char *encoded, const void *pw, size_t pwlen)
{
	unsigned char	 want[SCRYPT_KEY_LEN], raw[SCRYPT_KEY_LEN];
	int		 rc;

	if (hex_decode(encoded + SCRYPT_SALT_HEX + 1, 2 * SCRYPT_KEY_LEN,
	    want, sizeof(want)) != SCRYPT_KEY_LEN)
		return (-1);
	if (EVP_PBE_scrypt(pw, pwlen, (const unsigned char *)encoded,
	    SCRYPT_SALT_HEX, SCRYPT_N, SCRYPT_R, SCRYPT_P,
	    (uint64_t)128 * SCRYPT_N * SCRYPT_R * 2, raw, sizeof(raw)) != 1)
		return (-1);
	rc = ct_equal(raw, want, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(want, sizeof(want));
	return (rc);
}

/* 1 if encoded is argon2id with exactly these parameters */
int
pw_is_current(const char *encoded, const struct argon2_params *want)
{
	struct argon2_params	 ap;

	if (encoded_params(encoded, &ap) == -1)
		return (0);
	return (ap.memory == want->memory && ap.time == want->time &&
	    ap.lanes == want->lanes);
}

/*
 * About how long (ms) a Better Auth scrypt hash takes to verify here,
 * from a run at a sixteenth of its work and memory (scrypt's cost is
 * linear in N): keys answers every refused sign-in no sooner than the
 * slowest kind of hash it may meet would take.  0 if scrypt fails.
 */
uint32_t
pw_scrypt_cost_ms(void)
{
	struct timespec	 t0, t1;
	unsigned char	 raw[SCRYPT_KEY_LEN];
	uint64_t	 ms;
	int		 rc;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		return (0);
	rc = EVP_PBE_scrypt("dummy", 5, (const unsigned char *)"salt", 4,
	    SCRYPT_N / 16, SCRYPT_R, SCRYPT_P,
	    (uint64_t)128 * (SCRYPT_N / 16) * SCRYPT_R * 2, raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	if (rc != 1 || clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
		return (0);
	ms = ((uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 +
	    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec) * 16 / 1000000;
	return (ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

int
pw_verify(const char *encoded, const void *pw, size_t pwlen)
{
	struct argon2_params	 ap;
	const char		*sp, *hp;
	unsigned char		 salt[64], want[PW_HASH_LEN], raw[PW_HASH_LEN];
	ssize_t			 saltlen;
	int			 rc;

	if (encoded == NULL || (pw == NULL && pwlen != 0) ||
	    pwlen > CERTAOS_MAX_PASSWORD)
		return (-1);
	if (strnlen(encoded, CERTAOS_MAX_PWHASH + 1) > CERTAOS_MAX_PWHASH)
		return (-1);
	if (pw_is_scrypt(encoded))
		return (pw_verify_scrypt(encoded, pw, pwlen));
	if (encoded_params(encoded, &ap) == -1 || !params_valid(&ap))
		return (-1);

	/* salt and hash, as encoded_params() found them */
	sp = strrchr(encoded, '$');
	hp = sp + 1;
	while (--sp > encoded && *sp != '$')
		;
	sp++;
	if ((saltlen = b64_decode(sp, (size_t)(hp - 1 - sp), salt,
	    sizeof(salt))) == -1 ||
	    b64_decode(hp, strlen(hp), want, sizeof(want)) != PW_HASH_LEN)
		return (-1);
	if (pw_compute(&ap, pw, pwlen, salt, (size_t)saltlen, raw) == -1)
		return (-1);
	rc = ct_equal(raw, want, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(want, sizeof(want));
	return (rc);
}

/*
 * The working memory of argon2id, m KiB.  A fresh mapping costs the
 * kernel a fault and a zeroed page for every 4 KiB of it before argon2
 * writes a byte: on the virtual machines we run on, that is two thirds
 * of a hash at the default cost (90 ms fresh, 30 ms in kept memory).  A
 * process that hashes all day keeps its mapping between hashes; argon2
 * wipes it after each (its clear_internal_memory, on by default) before
 * pw_free() is called.  One mapping: pw_compute() is not reentrant.
 */
static struct {
	uint8_t	*p;
	size_t	 len;
	int	 keep;
} arena;

static int
pw_alloc(uint8_t **mem, size_t len)
{
	void	*p;

	*mem = NULL;
	if (arena.p != NULL && arena.len != len)
		pw_memory_release();	/* another cost: remap */
	if (arena.p == NULL) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return (ARGON2_MEMORY_ALLOCATION_ERROR);
		arena.p = p;
		arena.len = len;
	}
	*mem = arena.p;
	return (ARGON2_OK);
}

static void
pw_free(uint8_t *mem, size_t len)
{
	if (!arena.keep)
		pw_memory_release();
}

void
pw_memory_keep(int on)
{
	arena.keep = on;
	if (!on)
		pw_memory_release();
}

void
pw_memory_release(void)
{
	if (arena.p != NULL)
		(void)munmap(arena.p, arena.len);
	arena.p = NULL;
	arena.len = 0;
}

/*
 * One argon2id computation on this thread.  libargon2's high-level calls
 * start a thread per lane; the keys process may not create threads (its
 * seccomp filter and RLIMIT_NPROC), so lanes are computed in turn.  The
 * result is the same: threads do not change the hash.
 */
static int
pw_compute(const struct argon2_params *ap, const void *pw, size_t pwlen,
    unsigned char *salt, size_t saltlen, unsigned char *out)
{
	argon2_context	 ctx;
	unsigned char	 pwcopy[CERTAOS_MAX_PASSWORD + 1];
	int		 rc;

	if (pwlen > CERTAOS_MAX_PASSWORD)
		return (-1);
	if (pwlen > 0)
		memcpy(pwcopy, pw, pwlen);
	memset(&ctx, 0, sizeof(ctx));
	ctx.out = out;
	ctx.outlen = PW_HASH_LEN;
	ctx.pwd = pwcopy;
	ctx.pwdlen = pwlen;
	ctx.salt = salt;
	ctx.saltlen = saltlen;
	ctx.t_cost = ap->time;
	ctx.m_cost = ap->memory;
	ctx.lanes = ap->lanes;
	ctx.threads = 1;
	ctx.version = ARGON2_VERSION_13;
	ctx.flags = ARGON2_DEFAULT_FLAGS;
	ctx.allocate_cbk = pw_alloc;
	ctx.free_cbk = pw_free;
	rc = argon2_ctx(&ctx, Argon2_id);
	explicit_bzero(pwcopy, sizeof(pwcopy));
	if (rc != ARGON2_OK) {
		explicit_bzero(out, PW_HASH_LEN);
		return (-1);
	}
	return (0);
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* standard base64 without padding, NUL-terminated, as PHC strings use */
static int
b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	if (PW_B64(len) + 1 > outsz)
		return (-1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
	}
	out[o] = '\0';
	return (0);
}

static ssize_t
b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
	const char	*p;
	size_t		 i, o = 0;
	uint32_t	 v = 0;
	int		 bits = 0;

	if (len % 4 == 1)
		return (-1);
	for (i = 0; i < len; i++) {
		if (in[i] == '\0' || (p = strchr(b64chars, in[i])) == NULL)
			return (-1);
		v = v << 6 | (uint32_t)(p - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return (-1);
			out[o++] = (v >> bits) & 0xff;
		}
	}
	/* the unused low bits of the last character must be zero */
	if ((v & ((1U << bits) - 1)) != 0)
		return (-1);
	return ((ssize_t)o);
}
