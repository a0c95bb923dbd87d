/*
 * t_pwhash: argon2id password hashes.  Besides the round trip, hashes made
 * by the argon2(1) reference command line must verify.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "certaos.h"
#include "crypto.h"

/*
 * Made with Debian's argon2 package, independently of this code:
 *   printf password | argon2 somesalt -id -m 10 -t 2 -p 1 -e
 */
static const char cli_vector[] =
    "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$"
    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk";

/* Cheap parameters for the cases that do not test the defaults. */
static const struct argon2_params cheap = { 64, 1, 1 };

ATF_TC_WITHOUT_HEAD(roundtrip_defaults);
ATF_TC_BODY(roundtrip_defaults, tc)
{
	struct argon2_params	 def = {
		CERTAOS_ARGON2_MEMORY, CERTAOS_ARGON2_TIME,
		CERTAOS_ARGON2_LANES
	};
	char			 enc[CERTAOS_MAX_PWHASH];
	char			 enc2[CERTAOS_MAX_PWHASH];
	const char		*pw = "correct horse battery staple";

	ATF_REQUIRE_EQ(pw_hash(&def, pw, strlen(pw), enc, sizeof(enc)), 0);
	ATF_CHECK_MSG(strncmp(enc, "$argon2id$v=19$m=19456,t=2,p=1$",
	    31) == 0, "%s", enc);
	ATF_CHECK_EQ(pw_verify(enc, pw, strlen(pw)), 1);
	ATF_CHECK_EQ(pw_verify(enc, pw, strlen(pw) - 1), 0);
	ATF_CHECK_EQ(pw_verify(enc, "Correct horse battery staple",
	    strlen(pw)), 0);
	ATF_CHECK_EQ(pw_verify(enc, "", 0), 0);

	/* NULL params mean the defaults; a fresh salt each time. */
	ATF_REQUIRE_EQ(pw_hash(NULL, pw, strlen(pw), enc2, sizeof(enc2)), 0);
	ATF_CHECK(strncmp(enc2, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	ATF_CHECK(strcmp(enc, enc2) != 0);
	ATF_CHECK_EQ(pw_verify(enc2, pw, strlen(pw)), 1);
}

ATF_TC_WITHOUT_HEAD(binary_and_empty);
ATF_TC_BODY(binary_and_empty, tc)
{
	char		 enc[CERTAOS_MAX_PWHASH];
	const char	 pw[] = { 'a', '\0', 'b' };

	/* The length counts, not the NUL. */
	ATF_REQUIRE_EQ(pw_hash(&cheap, pw, sizeof(pw), enc, sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_verify(enc, pw, sizeof(pw)), 1);
	ATF_CHECK_EQ(pw_verify(enc, "a", 1), 0);
	ATF_REQUIRE_EQ(pw_hash(&cheap, "", 0, enc, sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_verify(enc, "", 0), 1);
	ATF_CHECK_EQ(pw_verify(enc, "x", 1), 0);
}

ATF_TC_WITHOUT_HEAD(password_limit);
ATF_TC_BODY(password_limit, tc)
{
	char	 pw[CERTAOS_MAX_PASSWORD + 1], enc[CERTAOS_MAX_PWHASH];

	memset(pw, 'p', sizeof(pw));
	ATF_REQUIRE_EQ(pw_hash(&cheap, pw, CERTAOS_MAX_PASSWORD, enc,
	    sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_verify(enc, pw, CERTAOS_MAX_PASSWORD), 1);
	/* limit + 1 */
	ATF_CHECK_EQ(pw_hash(&cheap, pw, CERTAOS_MAX_PASSWORD + 1, enc,
	    sizeof(enc)), -1);
	ATF_REQUIRE_EQ(pw_hash(&cheap, pw, CERTAOS_MAX_PASSWORD, enc,
	    sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_verify(enc, pw, CERTAOS_MAX_PASSWORD + 1), -1);
}

ATF_TC_WITHOUT_HEAD(param_bounds);
ATF_TC_BODY(param_bounds, tc)
{
	struct argon2_params	 p;
	char			 enc[CERTAOS_MAX_PWHASH];

	p = cheap;
	p.memory = 7;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);
	p.memory = 4194305;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);
	p = cheap;
	p.time = 0;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);
	p.time = 101;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);
	p = cheap;
	p.lanes = 0;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);
	p.lanes = 17;
	ATF_CHECK_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), -1);

	/* The lower bounds themselves are accepted (8 KiB, 1 pass). */
	p.memory = 8;
	p.time = 1;
	p.lanes = 1;
	ATF_REQUIRE_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), 0);
	ATF_CHECK(strncmp(enc, "$argon2id$v=19$m=8,t=1,p=1$", 27) == 0);
	ATF_CHECK_EQ(pw_verify(enc, "x", 1), 1);
	/* Two lanes. */
	p.memory = 64;
	p.lanes = 2;
	ATF_REQUIRE_EQ(pw_hash(&p, "x", 1, enc, sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_verify(enc, "x", 1), 1);

	/* Output buffer too small. */
	ATF_CHECK_EQ(pw_hash(&cheap, "x", 1, enc, 40), -1);
}

ATF_TC_WITHOUT_HEAD(malformed);
ATF_TC_BODY(malformed, tc)
{
	static const char *const bad[] = {
		"",
		"password",
		"$argon2id$",
		/* other variants and versions */
		"$argon2i$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=16$m=1024,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		/* truncated hash, no hash, no salt */
		"$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7q",
		"$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$",
		"$argon2id$v=19$m=1024,t=2,p=1$",
		/* bad base64 */
		"$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0H*k",
		/* parameters out of bounds or malformed */
		"$argon2id$v=19$m=8388608,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=1024,t=1000,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=1024,t=2,p=64$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=-1024,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$t=2,m=1024,p=1$c29tZXNhbHQ$"
		    "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
	};
	char	 longenc[CERTAOS_MAX_PWHASH + 2];
	size_t	 i;

	for (i = 0; i < nitems(bad); i++)
		ATF_CHECK_EQ_MSG(pw_verify(bad[i], "password", 8), -1, "%s",
		    bad[i]);
	ATF_CHECK_EQ(pw_verify(NULL, "password", 8), -1);
	/* Longer than CERTAOS_MAX_PWHASH. */
	memset(longenc, 'A', sizeof(longenc) - 1);
	longenc[sizeof(longenc) - 1] = '\0';
	memcpy(longenc, cli_vector, strlen(cli_vector));
	ATF_CHECK_EQ(pw_verify(longenc, "password", 8), -1);
}

ATF_TC_WITHOUT_HEAD(cli_vector);
ATF_TC_BODY(cli_vector, tc)
{
	ATF_CHECK_EQ(pw_verify(cli_vector, "password", 8), 1);
	ATF_CHECK_EQ(pw_verify(cli_vector, "passwore", 8), 0);
	ATF_CHECK_EQ(pw_verify(cli_vector, "password!", 9), 0);
}

/* A fresh hash from argon2(1), when it is installed. */
ATF_TC_WITHOUT_HEAD(cli_fresh);
ATF_TC_BODY(cli_fresh, tc)
{
	char	 enc[CERTAOS_MAX_PWHASH], *nl;
	FILE	*p;
	int	 st;

	if (system("command -v argon2 >/dev/null 2>&1") != 0)
		atf_tc_skip("argon2(1) not installed (Debian package argon2)");
	p = popen("printf 'hunter2 \\303\\251' | "
	    "argon2 'a salt of mine' -id -m 12 -t 3 -p 2 -e", "r");
	ATF_REQUIRE(p != NULL);
	ATF_REQUIRE(fgets(enc, sizeof(enc), p) != NULL);
	st = pclose(p);
	ATF_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if ((nl = strchr(enc, '\n')) != NULL)
		*nl = '\0';
	ATF_REQUIRE_MSG(strncmp(enc, "$argon2id$v=19$m=4096,t=3,p=2$",
	    30) == 0, "%s", enc);
	ATF_CHECK_EQ(pw_verify(enc, "hunter2 \303\251", 10), 1);
	ATF_CHECK_EQ(pw_verify(enc, "hunter2 e", 9), 0);
}

/*
 * A hash made by Better Auth 1.7.5 itself (the reference server, for
 * "password123"): it verifies, and nothing else does.
 */
ATF_TC_WITHOUT_HEAD(better_auth_scrypt);
ATF_TC_BODY(better_auth_scrypt, tc)
{
	const char	*enc = "b5041974388c5abf38bfca82760a7e50:"
	    "23dac3a1cf18ace1674fbd8be39d8b9ccd3a360dd238f612efbdc9b0a8201c03"
	    "719dc42f8c4df7047b7b498d61b81c2077aaabe21df6b73f8a06e9a7be88a018";
	char		 bad[256];
	struct argon2_params cur = { 19456, 2, 1 };

	ATF_CHECK_EQ(pw_is_scrypt(enc), 1);
	ATF_CHECK_EQ(pw_verify(enc, "password123", 11), 1);
	ATF_CHECK_EQ(pw_verify(enc, "password124", 11), 0);
	ATF_CHECK_EQ(pw_verify(enc, "password12", 10), 0);
	ATF_CHECK_EQ(pw_is_current(enc, &cur), 0);
	/* one key digit changed: no match */
	strlcpy(bad, enc, sizeof(bad));
	bad[40] = bad[40] == '0' ? '1' : '0';
	ATF_CHECK_EQ(pw_verify(bad, "password123", 11), 0);
	/* the salt is the text: a changed salt digit, no match */
	strlcpy(bad, enc, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	ATF_CHECK_EQ(pw_verify(bad, "password123", 11), 0);
	/* not the form: upper case, short, no colon */
	strlcpy(bad, enc, sizeof(bad));
	bad[33] = 'A';
	ATF_CHECK_EQ(pw_is_scrypt(bad), 0);
	ATF_CHECK_EQ(pw_verify(bad, "password123", 11), -1);
	ATF_CHECK_EQ(pw_is_scrypt("abcd:ef"), 0);
	ATF_CHECK_EQ(pw_verify("abcd:ef", "password123", 11), -1);
}

ATF_TC_WITHOUT_HEAD(is_current);
ATF_TC_BODY(is_current, tc)
{
	struct argon2_params	 other = { cheap.memory, cheap.time + 1, 1 };
	char			 enc[CERTAOS_MAX_PWHASH];

	ATF_REQUIRE_EQ(pw_hash(&cheap, "pw", 2, enc, sizeof(enc)), 0);
	ATF_CHECK_EQ(pw_is_current(enc, &cheap), 1);
	ATF_CHECK_EQ(pw_is_current(enc, &other), 0);
	ATF_CHECK_EQ(pw_is_current("garbage", &cheap), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, roundtrip_defaults);
	ATF_TP_ADD_TC(tp, binary_and_empty);
	ATF_TP_ADD_TC(tp, password_limit);
	ATF_TP_ADD_TC(tp, param_bounds);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, cli_vector);
	ATF_TP_ADD_TC(tp, cli_fresh);
	ATF_TP_ADD_TC(tp, better_auth_scrypt);
	ATF_TP_ADD_TC(tp, is_current);
	return (atf_no_error());
}
