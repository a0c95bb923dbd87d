# The leak check of the end-to-end path: the master and every child under
# valgrind (a VG=1 build, whose children run without seccomp, which
# valgrind cannot live under).  make test runs it on obj-vg/ only.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case no_leaks cleanup
no_leaks_head()
{
	atf_set "descr" "start, serve every route, reload, stop: valgrind" \
	    "finds no error and no leak in any process"
	e2e_head valgrind valgrind 600
}
no_leaks_body()
{
	e2e_init
	D=$(mktemp -d /tmp/certaos-e2e-vg.XXXXXX)
	echo "$D" > "$W/spool"
	chmod 755 "$D"
	[ "$(id -u)" = 0 ] && chown _certaos "$D"
	e2e_conf "password argon2id memory 64 time 1" "rate-limit off" \
	    "mail dir \"$D\"" "mail from \"auth@example.org\""
	valgrind -q --vgdb=no --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=99 "$CERTAOSD" -d -f "$W/certaos.conf" \
	    >"$W/daemon.log" 2>&1 &
	echo $! > "$W/daemon.pid"
	e2e_wait_health 200 240 || {
		cat "$W/daemon.log" >&2
		atf_fail "certaosd did not become healthy under valgrind"
	}
	for p in /health /api/auth/jwks /.well-known/openid-configuration \
	    /nope; do
		e2e_get $p >/dev/null
	done
	printf 'GARBAGE\r\n\r\n' | nc -q 2 127.0.0.1 "$PORT" >/dev/null
	vg_accounts
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" status
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check_equal 200 "$(e2e_get /health)"
	kill -TERM "$(e2e_pid)"
	e2e_wait_exit 120 || atf_fail "certaosd did not stop"
	atf_check_equal 0 "$E2E_STATUS"
	# valgrind's reports start with ==pid==
	if grep -q '^==[0-9]*==' "$W/daemon.log"; then
		grep '^==[0-9]*==' "$W/daemon.log" | head -n 60 >&2
		atf_fail "valgrind reported errors or leaks"
	fi
	atf_check -o not-match:'did not stop, killing it' cat "$W/daemon.log"
}
no_leaks_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	W=$(pwd)
	e2e_cleanup
	[ -f "$W/spool" ] && rm -rf "$(cat "$W/spool")"
	true
}

# vg_link N: the first link of the N-th mail delivered to $D
vg_link()
{
	_i=0
	while [ "$(ls "$D" | wc -l)" -lt "$1" ]; do
		_i=$((_i + 1))
		[ $_i -lt 300 ] || atf_fail "mail $1 did not come"
		sleep 0.2
	done
	python3 -c '
import email, email.policy, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
    policy=email.policy.default)
t = m.get_body(preferencelist=("plain",)).get_content()
print(re.search(r"https?://\S+", t).group(0))' "$D/$(ls -t "$D" | head -1)"
}

# The account routes and the emailed flows, each once.
vg_accounts()
{
	_j=$W/jar
	atf_check_equal 200 "$(e2e_post /sign-up/email \
	    '{"name":"V","email":"v@example.org","password":"password123"}' \
	    -c "$_j")"
	atf_check_equal 200 "$(curl -s -o /dev/null -w '%{http_code}' -b "$_j" \
	    "http://127.0.0.1:$PORT/api/auth/get-session")"
	atf_check_equal 302 "$(curl -s -o /dev/null -w '%{http_code}' \
	    "$(vg_link 1)")"
	atf_check_equal 200 "$(e2e_post /sign-in/email \
	    '{"email":"v@example.org","password":"password123"}' -c "$_j")"
	atf_check_equal 200 "$(e2e_post /request-password-reset \
	    '{"email":"v@example.org"}')"
	_t=$(vg_link 2 | sed 's|.*/reset-password/\([A-Za-z0-9]*\).*|\1|')
	atf_check_equal 200 "$(e2e_post /reset-password \
	    "{\"newPassword\":\"password456\",\"token\":\"$_t\"}")"
	atf_check_equal 200 "$(e2e_post /sign-in/email \
	    '{"email":"v@example.org","password":"password456"}' -c "$_j")"
	atf_check_equal 200 "$(e2e_post /delete-user \
	    '{"password":"password456"}' -b "$_j")"
	atf_check_equal 302 "$(curl -s -o /dev/null -w '%{http_code}' -b "$_j" \
	    "$(vg_link 3)")"
	atf_check_equal 400 "$(e2e_post /sign-in/email '{')"
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" user invite \
	    w@example.org --role editor --attr team=a
	atf_check -o match:'^w@example.org' "$CERTAOSCTL" -s "$W/ctl.sock" \
	    user invites
	_t=$(vg_link 4 | sed 's/.*invite=\([A-Za-z0-9]*\).*/\1/')
	atf_check_equal 200 "$(e2e_post /sign-up/email \
	    "{\"name\":\"W\",\"email\":\"w@example.org\",\"password\":\"password123\",\"invite\":\"$_t\"}")"
}

atf_init_test_cases()
{
	atf_add_test_case no_leaks
}
