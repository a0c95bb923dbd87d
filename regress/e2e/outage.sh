# End to end: PostgreSQL goes away and comes back; certaosd rides it out.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case db_outage cleanup
db_outage_head()
{
	atf_set "descr" "PostgreSQL stopped: /health 503 at once, the JWKS" \
	    "still served; started again: 200 without a restart"
	e2e_head
}
db_outage_body()
{
	e2e_init
	pgctl="sh $(atf_config_get srcdir)/regress/tools/pgctl.sh"
	pport=$(e2e_free_port)
	e2e_privpg
	$pgctl start "$PRIVPG" "$pport" >/dev/null ||
	    atf_fail "cannot start a private PostgreSQL"
	PGHOST=$PRIVPG/run PGPORT=$pport DB=certaos
	e2e_conf
	e2e_start
	pids=$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')

	$pgctl stop "$PRIVPG"
	e2e_wait_health 503 10 || atf_fail "/health did not turn 503"
	atf_check_equal 503 "$(e2e_get /health)"
	atf_check -o inline:'{"status":"unavailable","db":"unavailable","keys":"ok"}' \
	    cat "$W/body"
	# fail fast: no request waits for the database
	t=$(curl -s -o /dev/null -w '%{time_total}' \
	    "http://127.0.0.1:$PORT/health")
	atf_check -o inline:'fast\n' sh -c \
	    "echo $t | awk '{ print (\$1 < 1.0) ? \"fast\" : \"slow \" \$1 }'"
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"

	$pgctl start "$PRIVPG" "$pport" >/dev/null ||
	    atf_fail "cannot restart PostgreSQL"
	e2e_wait_health 200 30 || atf_fail "/health did not come back"
	atf_check -o inline:'{"status":"ok","db":"ok","keys":"ok"}' \
	    sh -c "curl -s http://127.0.0.1:$PORT/health"
	# the same processes: nothing was restarted
	atf_check_equal "$pids" \
	    "$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')"
}
db_outage_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case db_down_at_start cleanup
db_down_at_start_head()
{
	atf_set "descr" "certaosd starts without PostgreSQL, answers 503," \
	    "and comes up by itself when it appears"
	e2e_head
}
db_down_at_start_body()
{
	e2e_init
	pgctl="sh $(atf_config_get srcdir)/regress/tools/pgctl.sh"
	pport=$(e2e_free_port)
	e2e_privpg
	$pgctl start "$PRIVPG" "$pport" >/dev/null || atf_fail "no PostgreSQL"
	$pgctl stop "$PRIVPG"
	PGHOST=$PRIVPG/run PGPORT=$pport DB=certaos
	e2e_conf
	"$CERTAOSD" -d -f "$W/certaos.conf" >>"$W/daemon.log" 2>&1 &
	echo $! > "$W/daemon.pid"
	e2e_wait_health 503 15 || atf_fail "no 503 while the database is down"
	$pgctl start "$PRIVPG" "$pport" >/dev/null || atf_fail "no PostgreSQL"
	e2e_wait_health 200 40 || atf_fail "did not come up"
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	atf_check -o inline:'3\n' jq '.keys | length' "$W/body"
}
db_down_at_start_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case db_outage
	atf_add_test_case db_down_at_start
}
