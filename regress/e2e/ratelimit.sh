# End to end: rate limits as Better Auth 1.7.5 answers them (429,
# X-Retry-After, its body), counted across the web workers, by client
# address (X-Forwarded-For from trusted proxies only), per path.

. "$(atf_get_srcdir)/lib.subr"

RL_BODY='{"message":"Too many requests. Please try again later."}'

# rl_signin [curl args...]: a sign-in with a wrong password; the status
rl_signin()
{
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
	    -H 'content-type: application/json' \
	    -H "origin: http://127.0.0.1:$PORT" "$@" --data-binary \
	    '{"email":"x@example.com","password":"wrong-password"}' \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email"
}

# rl_header name: a header's value from the last response
rl_header()
{
	sed -n "s/^$1: *//Ip" "$W/headers" | tr -d '\r'
}

# rl_expect_429 status: a refusal in Better Auth's shape
rl_expect_429()
{
	atf_check_equal 429 "$1"
	atf_check_equal 'text/plain;charset=UTF-8' "$(rl_header content-type)"
	atf_check -o inline:"$RL_BODY" cat "$W/body"
}

atf_test_case builtin cleanup
builtin_head()
{
	atf_set "descr" "the built-in stricter rules: 3 requests then 429 on" \
	    "sign-up, change-password, change-email, request-password-reset" \
	    "and send-verification-email, each counted apart"
	e2e_head
}
builtin_body()
{
	e2e_init
	e2e_conf
	e2e_start
	for p in /sign-up/email /change-password /change-email \
	    /request-password-reset /send-verification-email; do
		for i in 1 2 3; do
			s=$(curl -s -o /dev/null -w '%{http_code}' \
			    -H 'content-type: application/json' \
			    -H "origin: http://127.0.0.1:$PORT" -d '{}' \
			    "http://127.0.0.1:$PORT/api/auth$p")
			[ "$s" != 429 ] || atf_fail "$p: 429 at request $i"
		done
		rl_expect_429 "$(curl -s -o "$W/body" -D "$W/headers" \
		    -w '%{http_code}' -H 'content-type: application/json' \
		    -H "origin: http://127.0.0.1:$PORT" -d '{}' \
		    "http://127.0.0.1:$PORT/api/auth$p")"
		r=$(rl_header x-retry-after)
		case $p in
		/request-password-reset|/send-verification-email)
			[ "$r" -ge 59 ] && [ "$r" -le 60 ] ||
			    atf_fail "$p: X-Retry-After $r, want 59 or 60" ;;
		*)
			[ "$r" -ge 9 ] && [ "$r" -le 10 ] ||
			    atf_fail "$p: X-Retry-After $r, want 9 or 10" ;;
		esac
	done
	# the general rule still lets the rest through
	atf_check_equal 200 "$(e2e_get /api/auth/ok)"
}
builtin_cleanup()
{
	e2e_cleanup
}

atf_test_case signin cleanup
signin_head()
{
	atf_set "descr" "the 4th sign-in in 10 s gets 429 with X-Retry-After;" \
	    "other paths have counters of their own; the connection stays"
	e2e_head
}
signin_body()
{
	e2e_init
	e2e_conf
	e2e_start
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin)"
	done
	rl_expect_429 "$(rl_signin)"
	r=$(rl_header x-retry-after)
	[ "$r" -ge 9 ] && [ "$r" -le 10 ] ||
	    atf_fail "X-Retry-After: $r, want 9 or 10"
	# refused requests do not count, and change nothing
	rl_expect_429 "$(rl_signin)"
	# sign-up and get-session count apart
	atf_check_equal 200 "$(curl -s -o /dev/null -w '%{http_code}' \
	    -H 'content-type: application/json' \
	    -H "origin: http://127.0.0.1:$PORT" \
	    --data-binary \
	    '{"name":"Y","email":"y@example.com","password":"password123"}' \
	    "http://127.0.0.1:$PORT/api/auth/sign-up/email")"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session)"
	# a 429 keeps the connection open: the next request reuses it
	curl -s -o /dev/null -o /dev/null \
	    -w '%{http_code} %{num_connects}\n' \
	    -H 'content-type: application/json' -d '{}' \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email" \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email" > "$W/conns"
	atf_check -o inline:'429 1\n429 0\n' cat "$W/conns"
	atf_check -o match:'"POST /api/auth/sign-in/email" 429 56 ' \
	    cat "$W/daemon.log"
}
signin_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case forwarded cleanup
forwarded_head()
{
	atf_set "descr" "behind a trusted proxy, each X-Forwarded-For" \
	    "address has its own counters"
	e2e_head
}
forwarded_body()
{
	e2e_init
	e2e_conf "trusted-proxy { 127.0.0.1 ::1 }"
	e2e_start
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin)"
	done
	rl_expect_429 "$(rl_signin)"
	# another client through the proxy
	for i in 1 2 3; do
		atf_check_equal 401 \
		    "$(rl_signin -H 'x-forwarded-for: 198.51.100.9')"
	done
	rl_expect_429 "$(rl_signin -H 'x-forwarded-for: 198.51.100.9')"
	# the last hop counts: the one the proxy added
	atf_check_equal 401 "$(rl_signin \
	    -H 'x-forwarded-for: 198.51.100.9, 203.0.113.7')"
	rl_expect_429 "$(rl_signin \
	    -H 'x-forwarded-for: 203.0.113.8, 198.51.100.9')"
	# IPv6 clients by /64
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin \
		    -H "x-forwarded-for: 2001:db8:1:2::$i")"
	done
	rl_expect_429 "$(rl_signin -H 'x-forwarded-for: 2001:db8:1:2::ff')"
	atf_check_equal 401 "$(rl_signin -H 'x-forwarded-for: 2001:db8:1:3::1')"
	# not an address: the proxy itself, already refused
	rl_expect_429 "$(rl_signin -H 'x-forwarded-for: unknown')"
}
forwarded_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case untrusted cleanup
untrusted_head()
{
	atf_set "descr" "without trusted-proxy, X-Forwarded-For is ignored:" \
	    "every request counts for the peer"
	e2e_head
}
untrusted_body()
{
	e2e_init
	e2e_conf
	e2e_start
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin \
		    -H "x-forwarded-for: 198.51.100.$i")"
	done
	rl_expect_429 "$(rl_signin -H 'x-forwarded-for: 198.51.100.4')"
	rl_expect_429 "$(rl_signin)"
}
untrusted_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case workers cleanup
workers_head()
{
	atf_set "descr" "two web workers count together: exactly max" \
	    "requests pass, whichever worker serves them"
	e2e_head
}
workers_body()
{
	e2e_init
	e2e_conf 'rate-limit "/ok" window 5m max 120'
	atf_check -o inline:'prefork 2\n' grep '^prefork' "$W/certaos.conf"
	e2e_start
	# 8 clients at once, 25 connections each: the workers race to
	# accept them.  (The server closes first: the TIME_WAIT stays on
	# its port, not on 200 ephemeral ports a later test could pick.)
	cpids=
	for c in 1 2 3 4 5 6 7 8; do
		(
			for i in $(seq 25); do
				curl -s -o /dev/null -w '%{http_code}\n' \
				    -H 'connection: close' \
				    "http://127.0.0.1:$PORT/api/auth/ok"
			done
		) > "$W/codes.$c" &
		cpids="$cpids $!"
	done
	wait $cpids
	cat "$W"/codes.* | sort | uniq -c | awk '{print $2, $1}' > "$W/counts"
	atf_check -o inline:'200 120\n429 80\n' cat "$W/counts"
	# both workers served some
	for w in 0 1; do
		n=$(grep -c "web\[$w\]: .*\"GET /api/auth/ok\"" "$W/daemon.log")
		[ "$n" -gt 0 ] || atf_fail "web[$w] served no request"
	done
	atf_check_equal 200 "$(e2e_get /health)"
}
workers_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case off cleanup
off_head()
{
	atf_set "descr" "rate-limit off never answers 429"
	e2e_head
}
off_body()
{
	e2e_init
	e2e_conf "rate-limit off" "rate-limit window 10s max 1"
	e2e_start
	for i in 1 2 3 4 5 6 7 8; do
		atf_check_equal 401 "$(rl_signin)"
		atf_check_equal 200 "$(e2e_get /api/auth/ok)"
	done
}
off_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case window cleanup
window_head()
{
	atf_set "descr" "after the window the path works again"
	e2e_head
}
window_body()
{
	e2e_init
	e2e_conf 'rate-limit "/sign-in/*" window 2s max 3'
	e2e_start
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin)"
	done
	rl_expect_429 "$(rl_signin)"
	r=$(rl_header x-retry-after)
	[ "$r" -ge 1 ] && [ "$r" -le 2 ] || atf_fail "X-Retry-After: $r"
	sleep 2.2
	atf_check_equal 401 "$(rl_signin)"
	atf_check_equal 401 "$(rl_signin)"
	atf_check_equal 401 "$(rl_signin)"
	rl_expect_429 "$(rl_signin)"
}
window_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case outside cleanup
outside_head()
{
	atf_set "descr" "/health and paths outside the base path are never" \
	    "limited; unknown paths under it are, per rule"
	e2e_head
}
outside_body()
{
	e2e_init
	e2e_conf "rate-limit window 1m max 2"
	e2e_start
	for i in 1 2 3 4 5; do
		atf_check_equal 200 "$(e2e_get /health)"
		atf_check_equal 200 \
		    "$(e2e_get /.well-known/openid-configuration)"
		atf_check_equal 404 "$(e2e_get /nowhere)"
	done
	atf_check_equal 200 "$(e2e_get /api/auth/ok)"
	atf_check_equal 200 "$(e2e_get /api/auth/ok)"
	atf_check_equal 429 "$(e2e_get /api/auth/ok)"
	# unknown paths: one counter for all of them (default rule)
	atf_check_equal 404 "$(e2e_get /api/auth/a)"
	atf_check_equal 404 "$(e2e_get /api/auth/b)"
	atf_check_equal 429 "$(e2e_get /api/auth/c)"
	# and wrong methods count as well
	atf_check_equal 405 "$(e2e_get /api/auth/jwks -X POST)"
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	atf_check_equal 429 "$(e2e_get /api/auth/jwks)"
	# a target so long that the path is not known whole counts
	# against the strictest rule (here the default one)
	long=$(printf '%0300d' 0)
	for i in 1 2; do
		atf_check_equal 200 "$(e2e_get /api/auth/x \
		    --request-target "http://h$long/api/auth/ok")"
	done
	atf_check_equal 429 "$(e2e_get /api/auth/x \
	    --request-target "http://h$long/api/auth/ok")"
}
outside_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case reload cleanup
reload_head()
{
	atf_set "descr" "counts go on across a reload; a reload can turn" \
	    "the limits off"
	e2e_head
}
reload_body()
{
	e2e_init
	e2e_conf
	e2e_start
	for i in 1 2 3; do
		atf_check_equal 401 "$(rl_signin)"
	done
	rl_expect_429 "$(rl_signin)"
	e2e_conf "rate-limit entries 2048"
	atf_check -o inline:'reload: configuration reloaded\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check -o match:'rate-limit entries changed: needs a restart' \
	    cat "$W/daemon.log"
	rl_expect_429 "$(rl_signin)"
	e2e_conf "rate-limit off"
	atf_check -o inline:'reload: configuration reloaded\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check_equal 401 "$(rl_signin)"
	e2e_conf
	atf_check -o inline:'reload: configuration reloaded\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" reload
	rl_expect_429 "$(rl_signin)"
	# the table is mapped, not held open
	for p in $(pgrep -P "$(e2e_pid)") $(e2e_pid); do
		ls -l /proc/$p/fd 2>/dev/null | grep -q memfd &&
		    atf_fail "pid $p holds the table's descriptor"
	done
	true
}
reload_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case signin
	atf_add_test_case builtin
	atf_add_test_case forwarded
	atf_add_test_case untrusted
	atf_add_test_case workers
	atf_add_test_case off
	atf_add_test_case window
	atf_add_test_case outside
	atf_add_test_case reload
}
