# End to end: reload with a good and with a broken configuration.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case reload_good cleanup
reload_good_head()
{
	atf_set "descr" "SIGHUP and certaosctl reload apply a new limit" \
	    "without dropping an established connection"
	e2e_head
}
reload_good_body()
{
	e2e_init
	e2e_conf
	e2e_start
	pids=$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')
	# 4000 bytes: within the default 1M limit
	head -c 4000 /dev/zero | tr '\0' a > "$W/big"
	s=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$W/big" \
	    -H 'content-type: application/json' \
	    "http://127.0.0.1:$PORT/api/auth/nothing")
	atf_check_equal 404 "$s"

	# a keep-alive connection that spans the reload
	( printf 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n'; sleep 3
	  printf 'GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
	) | nc -q 5 127.0.0.1 "$PORT" > "$W/keepalive" &
	ncpid=$!
	sleep 1
	e2e_conf "limit body-size 2K"
	kill -HUP "$(e2e_pid)"
	i=0
	until grep -q 'configuration reloaded' "$W/daemon.log"; do
		i=$((i + 1))
		[ $i -lt 50 ] || atf_fail "no reload in the log"
		sleep 0.2
	done
	wait $ncpid
	atf_check -o inline:'2\n' sh -c "grep -a -o 'HTTP/1.1 200' $W/keepalive |
	    wc -l"

	atf_check_equal 413 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    --data-binary @"$W/big" -H 'content-type: application/json' \
	    "http://127.0.0.1:$PORT/api/auth/nothing")"
	atf_check -o inline:'"PAYLOAD_TOO_LARGE"\n' jq .code "$W/body"

	e2e_conf
	atf_check -o inline:'reload: configuration reloaded\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check_equal 404 "$(curl -s -o /dev/null -w '%{http_code}' \
	    --data-binary @"$W/big" -H 'content-type: application/json' \
	    "http://127.0.0.1:$PORT/api/auth/nothing")"
	atf_check_equal "$pids" \
	    "$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')"
}
reload_good_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case reload_broken cleanup
reload_broken_head()
{
	atf_set "descr" "a broken file keeps the running configuration and" \
	    "every error is logged with file:line"
	e2e_head
}
reload_broken_body()
{
	e2e_init
	e2e_conf "limit body-size 2K"
	e2e_start
	cp "$W/certaos.conf" "$W/good.conf"
	{
		cat "$W/good.conf"
		echo "prefork 0"
		echo "this is not a statement"
		echo "limit body-size 5M"
	} > "$W/certaos.conf"
	n=$(wc -l < "$W/good.conf")
	kill -HUP "$(e2e_pid)"
	i=0
	until grep -q 'keeping the running configuration' "$W/daemon.log"; do
		i=$((i + 1))
		[ $i -lt 50 ] || atf_fail "no failed reload in the log"
		sleep 0.2
	done
	atf_check -o match:"certaos.conf:$((n + 1)): " cat "$W/daemon.log"
	atf_check -o match:"certaos.conf:$((n + 2)): " cat "$W/daemon.log"
	atf_check -s exit:1 -e match:'configuration has errors' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" reload
	# still serving, with the old limit
	atf_check_equal 200 "$(e2e_get /health)"
	head -c 4000 /dev/zero | tr '\0' a > "$W/big"
	atf_check_equal 413 "$(curl -s -o /dev/null -w '%{http_code}' \
	    --data-binary @"$W/big" -H 'content-type: application/json' \
	    "http://127.0.0.1:$PORT/api/auth/nothing")"
	e2e_alive || atf_fail "certaosd died"
}
reload_broken_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case reload_restart_only cleanup
reload_restart_only_head()
{
	atf_set "descr" "what needs a restart keeps its running value on" \
	    "reload, and every reload says so"
	e2e_head
}
reload_restart_only_body()
{
	e2e_init
	e2e_conf
	e2e_start
	sed -i -e 's/^prefork 2$/prefork 3/' \
	    -e "s/dbname=$DB /dbname=${DB}_other /" "$W/certaos.conf"
	for n in 1 2; do
		atf_check -o match:reloaded "$CERTAOSCTL" -s "$W/ctl.sock" reload
		atf_check -o inline:"$n\n" grep -c \
		    'reload: database changed: needs a restart' "$W/daemon.log"
		atf_check -o inline:"$n\n" grep -c \
		    'reload: prefork changed: needs a restart' "$W/daemon.log"
	done
	atf_check -o inline:'2\n' sh -c "$CERTAOSCTL -s $W/ctl.sock status |
	    grep -c '^web '"
	atf_check -o match:'^database: reachable$' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" status
	atf_check_equal 200 "$(e2e_get /health)"
}
reload_restart_only_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case reload_restart_only
	atf_add_test_case reload_good
	atf_add_test_case reload_broken
}
