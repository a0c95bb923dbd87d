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
	e2e_conf "password argon2id memory 64 time 1"
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
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case no_leaks
}
