# End to end: password hashing on the password workers (keys[1..]), so
# that session checks on keys[0] never wait behind a hash, and hashing
# spreads over the workers.  SIGSTOP stands in for a long hash: a
# stopped worker is one that is busy for as long as we like.

. "$(atf_get_srcdir)/lib.subr"

w_signin()
{
	_email=$1; shift
	e2e_post /sign-in/email \
	    "{\"email\":\"$_email\",\"password\":\"password123\"}" "$@"
}

# w_workers sig: send sig to every password worker
w_workers()
{
	for _i in 1 2; do
		_p=$(e2e_instance_pid certaos-keys $_i)
		[ -n "$_p" ] || atf_fail "no keys[$_i]"
		kill "-$1" "$_p"
	done
}

w_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	# a stopped worker would keep the daemon from stopping
	for _p in $(pgrep -x certaos-keys); do
		kill -CONT "$_p" 2>/dev/null
	done
	e2e_cleanup
}

atf_test_case session_while_hashing cleanup
session_while_hashing_head()
{
	atf_set "descr" "get-session, sign-out and /health answer while" \
	    "every password worker is busy; sign-in waits for them"
	e2e_head
}
session_while_hashing_body()
{
	e2e_init
	e2e_conf "rate-limit off"
	e2e_start
	atf_check_equal 200 "$(e2e_post /sign-up/email \
	    '{"name":"Ann","email":"ann@example.org","password":"password123"}')"
	tok=$(jq -r .token "$W/body")
	atf_check_equal 200 "$(w_signin ann@example.org)"

	w_workers STOP
	# a sign-in now waits on a stopped worker
	w_signin ann@example.org -m 2 > "$W/stalled" || true
	atf_check -o inline:'000' cat "$W/stalled"
	# while keys[0] answers the session path at once
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -m 2 \
	    -H "authorization: Bearer $tok")"
	atf_check -o inline:'ann@example.org\n' jq -r .user.email "$W/body"
	atf_check_equal 200 "$(e2e_get /health -m 2)"
	atf_check_equal 200 "$(e2e_get /api/auth/jwks -m 2)"
	atf_check_equal 200 "$(e2e_post /sign-out '{}' -m 2 \
	    -H "authorization: Bearer $tok")"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -m 2 \
	    -H "authorization: Bearer $tok")"
	atf_check -o inline:'null' cat "$W/body"

	w_workers CONT
	atf_check_equal 200 "$(w_signin ann@example.org -m 20)"
	atf_check -o inline:'ann@example.org\n' jq -r .user.email "$W/body"
}
session_while_hashing_cleanup() { w_cleanup; }

atf_test_case spread cleanup
spread_head()
{
	atf_set "descr" "sign-ins spread over the password workers: one" \
	    "stopped worker does not stop the others'"
	e2e_head
}
spread_body()
{
	e2e_init
	# one web worker, so that one process decides where each goes
	e2e_conf "rate-limit off"
	sed -i 's/^prefork 2$/prefork 1/' "$W/certaos.conf"
	e2e_start
	for u in a b c d; do
		atf_check_equal 200 "$(e2e_post /sign-up/email \
		    "{\"name\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"password123\"}")"
	done
	p1=$(e2e_instance_pid certaos-keys 1)
	kill -STOP "$p1"
	pids=
	for u in a b c d; do
		curl -s -o /dev/null -w '%{http_code}\n' -m 30 \
		    -H 'content-type: application/json' \
		    -H "origin: http://127.0.0.1:$PORT" --data-binary \
		    "{\"email\":\"$u@example.org\",\"password\":\"password123\"}" \
		    "http://127.0.0.1:$PORT/api/auth/sign-in/email" \
		    > "$W/in.$u" &
		pids="$pids $!"
	done
	# those keys[2] took answer while keys[1] is stopped
	i=0
	while [ "$(cat "$W"/in.? | grep -c '^200$')" -lt 2 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || atf_fail "fewer than two sign-ins answered" \
		    "with one worker stopped"
		sleep 0.1
	done
	# and some went to keys[1]: they wait for it
	sleep 1
	[ "$(cat "$W"/in.? | grep -c '^200$')" -lt 4 ] ||
	    atf_fail "no sign-in went to keys[1]"
	kill -CONT "$p1"
	# shellcheck disable=SC2086
	wait $pids
	atf_check -o inline:'200\n200\n200\n200\n' cat "$W/in.a" "$W/in.b" \
	    "$W/in.c" "$W/in.d"
}
spread_cleanup() { w_cleanup; }

atf_init_test_cases()
{
	atf_add_test_case session_while_hashing
	atf_add_test_case spread
}
