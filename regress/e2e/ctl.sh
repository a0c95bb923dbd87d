# End to end: the operator commands of certaosctl (user, audit, import
# better-auth) against a real certaosd and PostgreSQL, and the audit
# trail of sign-in and sign-out.

. "$(atf_get_srcdir)/lib.subr"

# A scrypt hash Better Auth 1.7.5 made for "password123" (as in auth.sh).
CTL_SCRYPT=b5041974388c5abf38bfca82760a7e50:23dac3a1cf18ace1674fbd8be39d8b9ccd3a360dd238f612efbdc9b0a8201c03719dc42f8c4df7047b7b498d61b81c2077aaabe21df6b73f8a06e9a7be88a018

ctl_signup()
{
	e2e_post /sign-up/email \
	    "{\"name\":\"$1\",\"email\":\"$2\",\"password\":\"password123\"}"
}

# ctl_signin EMAIL PASSWORD [curl args]: status; the token in $W/token
ctl_signin()
{
	_e=$1; _p=$2; shift 2
	_s=$(e2e_post /sign-in/email \
	    "{\"email\":\"$_e\",\"password\":\"$_p\"}" "$@")
	jq -r '.token // empty' "$W/body" > "$W/token" 2>/dev/null
	echo "$_s"
}

# get-session with a bearer token: the body on stdout
ctl_session()
{
	curl -s -H "Authorization: Bearer $1" \
	    "http://127.0.0.1:$PORT/api/auth/get-session"
}

ctl_start()
{
	e2e_init
	e2e_conf "rate-limit off"
	e2e_start
	# atf_check runs programs, not functions
	CTL="$CERTAOSCTL -s $W/ctl.sock"
}

ctl_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	if [ -f dbname ] && [ -f pg ]; then
		read -r PGHOST PGPORT < pg
		e2e_psql postgres -c "drop database if exists \
		    $(cat dbname)_ba with (force)" >/dev/null 2>&1
	fi
	e2e_cleanup
}

atf_test_case users cleanup
users_head()
{
	atf_set "descr" "user list, show and set-role, with their errors" \
	    "and audit rows"
	e2e_head
}
users_body()
{
	ctl_start
	atf_check_equal 200 "$(ctl_signup Alice Alice@Example.com)"
	atf_check_equal 200 "$(ctl_signup Bob bob@example.com)"

	atf_check -o save:"$W/list" $CTL user list
	atf_check -o match:'^EMAIL +NAME +ROLE +VERIFIED +STATUS +CREATED$' \
	    head -1 "$W/list"
	atf_check -o match:'^alice@example.com +Alice +user +no +active +20[0-9-]+T[0-9:]+Z$' \
	    sed -n 2p "$W/list"
	atf_check -o match:'^bob@example.com +Bob +user ' sed -n 3p "$W/list"
	atf_check_equal 3 "$(wc -l < "$W/list")"
	atf_check -o save:"$W/list" $CTL user list --limit 1
	atf_check_equal 2 "$(wc -l < "$W/list")"

	# a role change: audited, and the user object shows it at once
	atf_check -o inline:'alice@example.com: role admin\n' \
	    $CTL user set-role ALICE@example.com admin
	atf_check -o save:"$W/list" $CTL user list --role admin
	atf_check_equal 2 "$(wc -l < "$W/list")"
	atf_check -o match:'^alice@example.com ' sed -n 2p "$W/list"
	atf_check_equal 200 "$(ctl_signin alice@example.com password123)"
	atf_check -o inline:'"admin"\n' jq .user.role "$W/body"
	atf_check -o inline:'"admin"\n' -x \
	    "curl -s -H 'Authorization: Bearer $(cat "$W/token")' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .user.role"

	atf_check -o save:"$W/show" $CTL user show alice@EXAMPLE.com
	atf_check -o match:'^email: +alice@example.com$' cat "$W/show"
	atf_check -o match:'^role: +admin$' cat "$W/show"
	atf_check -o match:'^credential: +argon2id$' cat "$W/show"
	atf_check -o match:'^live sessions: +2$' cat "$W/show"
	atf_check -o match:'^last sign-in: +20[0-9-]+T[0-9:]+Z$' \
	    cat "$W/show"
	atf_check -o match:'^banned: +no$' cat "$W/show"
	atf_check -o save:"$W/show" $CTL user show bob@example.com
	atf_check -o match:'^last sign-in: +never$' cat "$W/show"
	atf_check -o match:'^attributes: +\{\}$' cat "$W/show"

	atf_check -o save:"$W/audit" $CTL audit --user alice@example.com
	atf_check -o match:' role-change +ok +alice@example.com .*certaosctl: role user -> admin$' \
	    cat "$W/audit"

	# errors: a clear message and status 1
	atf_check -s exit:1 -e match:'no such user' \
	    $CTL user show nobody@example.com
	atf_check -s exit:1 -e match:'no such user' \
	    $CTL user set-role nobody@example.com admin
	atf_check -s exit:1 -e match:'no such user' \
	    $CTL user disable nobody@example.com
	atf_check -s exit:1 -e match:'no such user' \
	    $CTL user enable nobody@example.com
	atf_check -s exit:1 -e match:'limit' $CTL user list --limit 0
	atf_check -s exit:1 -e match:'usage' $CTL user show
	atf_check -s exit:1 -e match:'role' $CTL user set-role \
	    bob@example.com "$(printf '%070d' 0)"
	atf_check -s exit:1 -e match:'unknown argument' $CTL user list --bogus
	# the daemon is unharmed
	atf_check -o match:'^bob@example.com' $CTL user list --role user
	e2e_alive || atf_fail "certaosd died"
}
users_cleanup()
{
	ctl_cleanup
}

atf_test_case disable cleanup
disable_head()
{
	atf_set "descr" "user disable ends the user's sessions at once," \
	    "through the session cache too; enable lets the user back"
	e2e_head
}
disable_body()
{
	ctl_start
	atf_check_equal 200 "$(ctl_signup Carol carol@example.com)"
	atf_check_equal 200 "$(ctl_signin carol@example.com password123)"
	tok=$(cat "$W/token")
	# twice: the second answer comes from the session cache
	atf_check -o inline:'"carol@example.com"\n' -x \
	    "curl -s -H 'Authorization: Bearer $tok' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .user.email"
	atf_check -o inline:'"carol@example.com"\n' -x \
	    "curl -s -H 'Authorization: Bearer $tok' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .user.email"

	atf_check -o inline:'carol@example.com: disabled, sessions deleted\n' \
	    $CTL user disable Carol@Example.com --reason "left the company"
	atf_check_equal null "$(ctl_session "$tok")"
	atf_check_equal 403 "$(ctl_signin carol@example.com password123)"
	atf_check -o inline:'"BANNED_USER"\n' jq .code "$W/body"
	atf_check -o save:"$W/show" $CTL user show carol@example.com
	atf_check -o match:'^banned: +yes$' cat "$W/show"
	atf_check -o match:'^ban reason: +left the company$' cat "$W/show"
	atf_check -o match:'^ban expires: +never$' cat "$W/show"
	atf_check -o match:'^live sessions: +0$' cat "$W/show"
	atf_check -o match:'^carol@example.com .* disabled ' \
	    $CTL user list

	atf_check -o inline:'carol@example.com: enabled\n' \
	    $CTL user enable carol@example.com
	atf_check_equal 200 "$(ctl_signin carol@example.com password123)"
	atf_check -o inline:'"carol@example.com"\n' -x \
	    "curl -s -H 'Authorization: Bearer $(cat "$W/token")' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .user.email"

	atf_check -o save:"$W/audit" $CTL audit --user carol@example.com
	atf_check -o match:' disable +ok .*certaosctl: role user, reason: left the company, sessions deleted: 2$' \
	    cat "$W/audit"
	atf_check -o match:' enable +ok .*was: disabled \(left the company\)$' \
	    cat "$W/audit"
	atf_check -o match:' sign-in +banned +carol@example.com ' \
	    cat "$W/audit"
}
disable_cleanup()
{
	ctl_cleanup
}

atf_test_case audit cleanup
audit_head()
{
	atf_set "descr" "audit shows sign-in success and both kinds of" \
	    "failure with ip and user agent, and sign-out; filters"
	e2e_head
}
audit_body()
{
	ctl_start
	atf_check_equal 200 "$(ctl_signup Dave dave@example.com)"
	atf_check_equal 200 "$(ctl_signin dave@example.com password123 \
	    -A 'probe/1.0 (ok)')"
	tok=$(cat "$W/token")
	atf_check_equal 401 "$(ctl_signin dave@example.com wrongpass1 \
	    -A 'probe/1.0 (bad)')"
	atf_check_equal 401 "$(ctl_signin nobody@example.com password123 \
	    -A 'probe/1.0 (nobody)')"
	atf_check_equal 200 "$(e2e_post /sign-out '{}' \
	    -H "Authorization: Bearer $tok" -A 'probe/1.0 (out)')"

	# the failures are written asynchronously: wait for them
	n=0
	while ! $CTL audit | grep -q 'unknown-email'; do
		n=$((n + 1))
		[ $n -lt 50 ] || atf_fail "no unknown-email row"
		sleep 0.1
	done
	atf_check -o save:"$W/audit" $CTL audit
	atf_check -o match:'^TIME +EVENT +OUTCOME +EMAIL +IP +USER-AGENT DETAIL$' \
	    head -1 "$W/audit"
	atf_check -o match:'^20[0-9-]+T[0-9:]+Z +sign-in +ok +dave@example.com +127.0.0.1 +"probe/1.0 \(ok\)"' \
	    cat "$W/audit"
	atf_check -o match:' sign-in +bad-password +dave@example.com +127.0.0.1 +"probe/1.0 \(bad\)"' \
	    cat "$W/audit"
	atf_check -o match:' sign-in +unknown-email +nobody@example.com +127.0.0.1 +"probe/1.0 \(nobody\)"' \
	    cat "$W/audit"
	atf_check -o match:' sign-out +ok +dave@example.com +127.0.0.1 +"probe/1.0 \(out\)"' \
	    cat "$W/audit"
	atf_check -o match:' sign-up +ok +dave@example.com ' cat "$W/audit"
	# newest last
	atf_check -o match:'sign-out' tail -1 "$W/audit"

	atf_check -o save:"$W/audit" $CTL audit --user nobody@example.com
	atf_check_equal 2 "$(wc -l < "$W/audit")"
	atf_check -o save:"$W/audit" $CTL audit --limit 2
	atf_check_equal 3 "$(wc -l < "$W/audit")"
	atf_check -o match:'sign-out' tail -1 "$W/audit"
	atf_check -o save:"$W/audit" $CTL audit --since 1h
	atf_check_equal 6 "$(wc -l < "$W/audit")"
	atf_check -o save:"$W/audit" $CTL audit --since 2099-01-01
	atf_check_equal 1 "$(wc -l < "$W/audit")"
	atf_check -o save:"$W/audit" $CTL audit --since 2000-01-01T00:00:00Z
	atf_check_equal 6 "$(wc -l < "$W/audit")"
	atf_check -s exit:1 -e match:'ISO 8601' $CTL audit --since yesterday
	atf_check -s exit:1 -e match:'ISO 8601' $CTL audit --since 5w
}
audit_cleanup()
{
	ctl_cleanup
}

atf_test_case import cleanup
import_head()
{
	atf_set "descr" "import better-auth copies users, accounts and" \
	    "sessions from a database laid out as Better Auth's; twice" \
	    "imports nothing new"
	e2e_head
}
import_body()
{
	ctl_start
	BA=$(cat "$W/dbname")_ba
	e2e_psql postgres -c "create database $BA" >/dev/null ||
	    atf_fail "cannot create $BA"
	e2e_psql "$BA" -v ON_ERROR_STOP=1 \
	    -f "$(atf_config_get srcdir)/regress/e2e/ba-schema.sql" \
	    >/dev/null || atf_fail "cannot load Better Auth's schema"
	tok=AbCdEfGhIjKlMnOpQrStUvWxYz012345
	long=$(printf '%0300d' 0)
	e2e_psql "$BA" -v ON_ERROR_STOP=1 -c "
	    insert into \"user\" (id, name, email, \"emailVerified\",
	        \"createdAt\", \"updatedAt\", role, banned, \"twoFactorEnabled\")
	    values ('baUser1', 'Erin', 'Erin@Example.com', true,
	        '2025-01-02 03:04:05+00', now(), 'admin', false, false),
	      ('baUser2', '$long', 'long@example.com', false, now(), now(),
	        null, null, null);
	    insert into account (id, \"accountId\", \"providerId\", \"userId\",
	        password, \"updatedAt\")
	    values ('baAcct1', 'baUser1', 'credential', 'baUser1',
	        '$CTL_SCRYPT', now()),
	      ('baAcct2', 'x', 'credential', 'baUser1', 'x:y', now());
	    insert into session (id, \"expiresAt\", token, \"updatedAt\",
	        \"ipAddress\", \"userAgent\", \"userId\")
	    values ('baSess1', now() + interval '7 days', '$tok', now(),
	        '10.0.0.1', 'Mozilla/5.0', 'baUser1'),
	      ('baSess2', now() - interval '1 day', 'expiredtoken', now(),
	        null, null, 'baUser1')" >/dev/null ||
	    atf_fail "cannot fill the Better Auth database"
	src="host=$PGHOST port=$PGPORT dbname=$BA user=postgres"

	atf_check -o save:"$W/import" -e save:"$W/warn" \
	    $CTL import better-auth "$src"
	atf_check -o match:'^users: 1 imported, 0 skipped .*, 1 refused$' \
	    cat "$W/import"
	atf_check -o match:'^accounts: 1 imported, 0 skipped .*, 1 refused$' \
	    cat "$W/import"
	atf_check -o match:'^sessions: 1 imported, 1 skipped ' \
	    cat "$W/import"
	atf_check -o match:'user baUser2: name too long: refused' \
	    cat "$W/warn"
	atf_check -o match:'account baAcct2: a credential whose accountId' \
	    cat "$W/warn"

	# the database holds the token's hash only
	atf_check_equal 1 "$(e2e_psql "$(cat "$W/dbname")" -At -c \
	    "select count(*) from sessions
	    where token_hash = sha256('$tok'::bytea)")"
	atf_check -o save:"$W/show" $CTL user show erin@example.com
	atf_check -o match:'^id: +baUser1$' cat "$W/show"
	atf_check -o match:'^role: +admin$' cat "$W/show"
	atf_check -o match:'^email verified: +yes$' cat "$W/show"
	atf_check -o match:'^credential: +scrypt-imported$' cat "$W/show"
	atf_check -o match:'^created: +2025-01-02T03:04:05Z$' cat "$W/show"

	# the raw token works as a bearer token, the password signs in
	atf_check -o inline:'"erin@example.com"\n' -x \
	    "curl -s -H 'Authorization: Bearer $tok' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .user.email"
	atf_check -o inline:'"baSess1"\n' -x \
	    "curl -s -H 'Authorization: Bearer $tok' \
	    http://127.0.0.1:$PORT/api/auth/get-session | jq .session.id"
	atf_check_equal 200 "$(ctl_signin Erin@example.com password123)"
	atf_check -o inline:'"baUser1"\n' jq .user.id "$W/body"

	# again: nothing new
	atf_check -o save:"$W/import" -e ignore \
	    $CTL import better-auth "$src"
	atf_check -o match:'^users: 0 imported, 1 skipped' cat "$W/import"
	atf_check -o match:'^accounts: 0 imported, 1 skipped' \
	    cat "$W/import"
	atf_check -o match:'^sessions: 0 imported, 2 skipped' \
	    cat "$W/import"

	atf_check -s exit:1 -e match:'cannot connect to the source' \
	    $CTL import better-auth "host=$PGHOST port=$PGPORT dbname=nonesuch user=postgres"
	atf_check -s exit:1 -e match:'no Better Auth tables' \
	    $CTL import better-auth \
	    "host=$PGHOST port=$PGPORT dbname=$(cat "$W/dbname") user=postgres"
	e2e_alive || atf_fail "certaosd died"
}
import_cleanup()
{
	ctl_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case users
	atf_add_test_case disable
	atf_add_test_case audit
	atf_add_test_case import
}
