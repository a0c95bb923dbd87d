# End to end: the session cache of certaos-db, with two certaosd
# instances on one database (same issuer, secret and database, each its
# own port).  What one instance does to a session or a user shows on the
# other at once: as soon as PostgreSQL's notification arrives, which the
# tests give at most about a second.

. "$(atf_get_srcdir)/lib.subr"

# cache_start: instance A as every test starts one, then B beside it.
cache_start()
{
	e2e_init
	e2e_conf
	e2e_start
	PORTA=$PORT
	PORTB=$(e2e_free_port)
	echo "$PORTB" > "$W/portb"
	sed -e "/^listen on/s/ port $PORTA\$/ port $PORTB/" \
	    -e "s|$W/ctl.sock|$W/ctlb.sock|" "$W/certaos.conf" > "$W/b.conf"
	grep -q "port $PORTB" "$W/b.conf" || atf_fail "cannot write b.conf"
	"$CERTAOSD" -d -f "$W/b.conf" >>"$W/b.log" 2>&1 &
	echo $! > "$W/b.pid"
	_i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PORTB/health")" = 200 ]; do
		_i=$((_i + 1))
		if [ $_i -ge 150 ] || ! kill -0 "$(cat "$W/b.pid")" 2>/dev/null
		then
			cat "$W/b.log" >&2
			atf_fail "instance B did not become healthy"
		fi
		sleep 0.2
	done
}

cache_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	if [ -f b.pid ]; then
		kill -TERM "$(cat b.pid)" 2>/dev/null
		sleep 1
		kill -KILL "$(cat b.pid)" 2>/dev/null
	fi
	e2e_cleanup
}

# on A|B method path [curl args]: body in $W/body, status on stdout
on()
{
	case $1 in
	A) _port=$PORTA ;;
	B) _port=$PORTB ;;
	esac
	_m=$2; _path=$3; shift 3
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' -X "$_m" \
	    "$@" "http://127.0.0.1:$_port/api/auth$_path"
}

# signup NAME EMAIL on A: the token in $TOKEN, the cookie in $COOKIE
signup()
{
	atf_check_equal 200 "$(on A POST /sign-up/email \
	    -H 'content-type: application/json' \
	    -H "origin: http://127.0.0.1:$PORTA" --data-binary \
	    "{\"name\":\"$1\",\"email\":\"$2\",\"password\":\"password123\"}")"
	TOKEN=$(jq -r .token "$W/body")
	COOKIE=$(sed -n \
	    's/^[Ss]et-[Cc]ookie: certaos\.session_token=\([^;]*\);.*/\1/p' \
	    "$W/headers" | tr -d '\r' | head -1)
	[ -n "$COOKIE" ] || atf_fail "no session cookie"
}

# session A|B jq-filter [curl args]: get-session, the filter's output
# (or the status, when it is not 200)
session()
{
	_on=$1; _f=$2; shift 2
	_s=$(on "$_on" GET /get-session "$@")
	if [ "$_s" = 200 ]; then
		jq -r "$_f" "$W/body"
	else
		echo "status $_s"
	fi
}

# until_seen A|B want jq-filter [curl args]: get-session until the filter
# says want, for at most about a second
until_seen()
{
	_on=$1; _want=$2; _f=$3; shift 3
	_i=0
	while [ "$(session "$_on" "$_f" "$@")" != "$_want" ]; do
		_i=$((_i + 1))
		[ $_i -lt 20 ] || atf_fail "get-session on $_on: $_f is" \
		    "$(jq -c "$_f" "$W/body"), not $_want, after a second"
		sleep 0.05
	done
	echo "$_on saw $_f = $_want after $_i retries"
}

atf_test_case signout cleanup
signout_head()
{
	atf_set "descr" "a session signed out on one instance is dead on" \
	    "the other at once, by cookie and by bearer"
	e2e_head
}
signout_body()
{
	cache_start
	signup Ann ann@example.com
	c="cookie: certaos.session_token=$COOKIE"
	b="authorization: Bearer $TOKEN"
	# both instances know it, and have it cached
	for i in 1 2; do
		for x in "B $c" "B $b" "A $c"; do
			atf_check_equal ann@example.com \
			    "$(session "${x%% *}" .user.email -H "${x#* }")"
		done
	done
	# cached: a change no trigger announces is not seen (no query)
	ua=$(session A .session.userAgent -H "$c")
	e2e_psql "$DB" -c "set session_replication_role = replica;
	    update sessions set user_agent = 'changed quietly'" >/dev/null ||
	    atf_fail "cannot update the session"
	atf_check_equal "$ua" "$(session A .session.userAgent -H "$c")"
	atf_check_equal "$ua" "$(session B .session.userAgent -H "$b")"
	atf_check_equal 200 "$(on A POST /sign-out -H "$c" \
	    -H "origin: http://127.0.0.1:$PORTA")"
	atf_check -o inline:'{"success":true}' cat "$W/body"
	# where it was signed out: no waiting at all
	atf_check_equal null "$(session A . -H "$c")"
	atf_check_equal null "$(session A . -H "$b")"
	until_seen B null . -H "$c"
	atf_check_equal null "$(session B . -H "$b")"
}
signout_cleanup()
{
	cache_cleanup
}

atf_test_case ban cleanup
ban_head()
{
	atf_set "descr" "a ban written straight into the database shows in" \
	    "get-session's user on both instances at once"
	e2e_head
}
ban_body()
{
	cache_start
	signup Bea bea@example.com
	b="authorization: Bearer $TOKEN"
	for i in 1 2; do
		atf_check_equal false "$(session A .user.banned -H "$b")"
		atf_check_equal false "$(session B .user.banned -H "$b")"
	done
	e2e_psql "$DB" -c "update users set banned = true, ban_reason = 'spam'
	    where email = 'bea@example.com'" >/dev/null ||
	    atf_fail "cannot ban"
	until_seen A true .user.banned -H "$b"
	until_seen B true .user.banned -H "$b"
	atf_check_equal spam "$(session A .user.banReason -H "$b")"
	atf_check_equal spam "$(session B .user.banReason -H "$b")"
	# and a deleted user's sessions are gone everywhere
	e2e_psql "$DB" -c "delete from users where email = 'bea@example.com'" \
	    >/dev/null || atf_fail "cannot delete the user"
	until_seen A null . -H "$b"
	until_seen B null . -H "$b"
}
ban_cleanup()
{
	cache_cleanup
}

atf_test_case revoke cleanup
revoke_head()
{
	atf_set "descr" "sessions revoked on one instance are dead on the" \
	    "other at once"
	e2e_head
}
revoke_body()
{
	cache_start
	signup Cid cid@example.com
	first=$TOKEN
	atf_check_equal 200 "$(on A POST /sign-in/email \
	    -H 'content-type: application/json' \
	    --data-binary \
	    '{"email":"cid@example.com","password":"password123"}')"
	second=$(jq -r .token "$W/body")
	for t in "$first" "$second"; do
		atf_check_equal cid@example.com "$(session A .user.email \
		    -H "authorization: Bearer $t")"
		atf_check_equal cid@example.com "$(session A .user.email \
		    -H "authorization: Bearer $t")"
	done
	# B revokes the others: A's cached second session dies
	atf_check_equal 200 "$(on B POST /revoke-other-sessions \
	    -H 'content-type: application/json' \
	    -H "authorization: Bearer $first" --data-binary '{}')"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	until_seen A null . -H "authorization: Bearer $second"
	atf_check_equal cid@example.com "$(session A .user.email \
	    -H "authorization: Bearer $first")"
	# then all of them, the asking one too
	atf_check_equal 200 "$(on B POST /revoke-sessions \
	    -H 'content-type: application/json' \
	    -H "authorization: Bearer $first" --data-binary '{}')"
	atf_check_equal null "$(session B . -H "authorization: Bearer $first")"
	until_seen A null . -H "authorization: Bearer $first"
}
revoke_cleanup()
{
	cache_cleanup
}

atf_test_case account cleanup
account_head()
{
	atf_set "descr" "two instances: one session revoked, a password" \
	    "changed with revokeOtherSessions, a user disabled with" \
	    "certaosctl, each on one instance, shows on the other at once"
	e2e_head
}
account_body()
{
	cache_start
	signup Dee dee@example.com
	first=$TOKEN
	for n in 2 3; do
		atf_check_equal 200 "$(on A POST /sign-in/email \
		    -H 'content-type: application/json' --data-binary \
		    '{"email":"dee@example.com","password":"password123"}')"
		eval "t$n=\$(jq -r .token "$W/body")"
	done
	for t in "$first" "$t2" "$t3"; do
		atf_check_equal dee@example.com "$(session A .user.email \
		    -H "authorization: Bearer $t")"
	done
	# B revokes one session by its token: A's cache lets it go
	atf_check_equal 200 "$(on B POST /revoke-session \
	    -H 'content-type: application/json' \
	    -H "authorization: Bearer $first" \
	    --data-binary "{\"token\":\"$t2\"}")"
	until_seen A null . -H "authorization: Bearer $t2"
	atf_check_equal dee@example.com "$(session A .user.email \
	    -H "authorization: Bearer $t3")"

	# B changes the password and ends the other sessions
	atf_check_equal 200 "$(on B POST /change-password \
	    -H 'content-type: application/json' \
	    -H "authorization: Bearer $first" --data-binary \
	    '{"currentPassword":"password123","newPassword":"password456","revokeOtherSessions":true}')"
	fresh=$(jq -r .token "$W/body")
	until_seen A null . -H "authorization: Bearer $t3"
	until_seen A null . -H "authorization: Bearer $first"
	atf_check_equal dee@example.com "$(session A .user.email \
	    -H "authorization: Bearer $fresh")"

	# the operator disables the user through B's control socket
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctlb.sock" user disable \
	    dee@example.com
	until_seen A null . -H "authorization: Bearer $fresh"
	atf_check_equal 403 "$(on A POST /sign-in/email \
	    -H 'content-type: application/json' --data-binary \
	    '{"email":"dee@example.com","password":"password456"}')"
}
account_cleanup()
{
	cache_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case signout
	atf_add_test_case ban
	atf_add_test_case revoke
	atf_add_test_case account
}
