# End to end: whatever arrives, certaosd answers with the right 4xx and a
# JSON error, and keeps serving with the same processes.

. "$(atf_get_srcdir)/lib.subr"

# raw request on stdin → first line of the answer in $W/answer
raw()
{
	nc -q 3 -w 5 127.0.0.1 "$PORT" > "$W/answer" 2>/dev/null
	tr -d '\r' < "$W/answer" > "$W/answer.txt"
	head -n 1 "$W/answer.txt"
}

# the JSON body of the last raw answer
rawbody()
{
	sed '1,/^$/d' "$W/answer.txt"
}

atf_test_case limits cleanup
limits_head()
{
	atf_set "descr" "header size 431, body size 413, method 405, at" \
	    "the limit and one past it"
	e2e_head
}
limits_body()
{
	e2e_init
	e2e_conf "limit header-size 2048" "limit body-size 1K"
	e2e_start
	pids=$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')

	# a head of exactly 2048 bytes passes; 2049 is refused
	pre='GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: '
	base=$(printf "$pre\r\n\r\n" | wc -c)
	pad=$(head -c $((2048 - base)) /dev/zero | tr '\0' p)
	atf_check -o inline:'HTTP/1.1 200 OK\n' \
	    sh -c "printf '$pre%s\r\n\r\n' $pad | nc -q 3 127.0.0.1 $PORT |
	    head -n 1 | tr -d '\r'"
	printf "$pre%sp\r\n\r\n" "$pad" | raw >/dev/null
	atf_check -o match:'^HTTP/1.1 431 ' head -n 1 "$W/answer.txt"
	rawbody > "$W/json"
	atf_check -o inline:'"REQUEST_HEADER_FIELDS_TOO_LARGE"\n' \
	    jq .code "$W/json"

	# a body of exactly 1024 bytes is read; 1025 is refused
	head -c 1024 /dev/zero | tr '\0' a > "$W/b1024"
	head -c 1025 /dev/zero | tr '\0' a > "$W/b1025"
	atf_check_equal 404 "$(e2e_get /api/auth/nothing \
	    --data-binary @"$W/b1024" -H 'content-type: application/json')"
	atf_check_equal 413 "$(e2e_get /api/auth/nothing \
	    --data-binary @"$W/b1025" -H 'content-type: application/json')"
	atf_check -o inline:'"PAYLOAD_TOO_LARGE"\n' jq .code "$W/body"
	# a huge announced length is refused before any byte of it
	printf 'POST /api/auth/x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n' |
	    raw >/dev/null
	atf_check -o match:'^HTTP/1.1 413 ' head -n 1 "$W/answer.txt"

	# the wrong method on a known path
	atf_check_equal 405 "$(e2e_get /health -X POST)"
	atf_check -o inline:'"METHOD_NOT_ALLOWED"\n' jq .code "$W/body"
	atf_check -o match:'^[Aa]llow: .*GET' cat "$W/headers"
	atf_check_equal 405 "$(e2e_get /api/auth/jwks -X DELETE)"

	atf_check_equal 200 "$(e2e_get /health)"
	atf_check_equal "$pids" \
	    "$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')"
}
limits_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case garbage cleanup
garbage_head()
{
	atf_set "descr" "malformed requests get 400 (or 505) with a JSON" \
	    "error; the daemon keeps serving"
	e2e_head
}
garbage_body()
{
	e2e_init
	e2e_conf
	e2e_start
	pids=$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')

	printf 'GARBAGE\r\n\r\n' | raw >/dev/null
	atf_check -o match:'^HTTP/1.1 400 ' head -n 1 "$W/answer.txt"
	rawbody > "$W/json"
	atf_check -o inline:'"BAD_REQUEST"\n' jq .code "$W/json"
	atf_check -o match:'.' jq -r .message "$W/json"

	# NUL bytes in the head
	printf 'GET /he\000alth HTTP/1.1\r\nHost: t\r\n\r\n' | raw >/dev/null
	atf_check -o match:'^HTTP/1.1 400 ' head -n 1 "$W/answer.txt"
	# a bad Content-Length
	printf 'POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n' |
	    raw >/dev/null
	atf_check -o match:'^HTTP/1.1 400 ' head -n 1 "$W/answer.txt"
	# both Content-Length and Transfer-Encoding: request smuggling
	printf 'POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' |
	    raw >/dev/null
	atf_check -o match:'^HTTP/1.1 400 ' head -n 1 "$W/answer.txt"
	# the HTTP/2 preface
	printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' | raw >/dev/null
	atf_check -o match:'^HTTP/1.1 (400|505) ' head -n 1 "$W/answer.txt"
	# random bytes
	head -c 4096 /dev/urandom | raw >/dev/null
	atf_check -o match:'^HTTP/1.1 4[0-9][0-9] ' head -n 1 "$W/answer.txt"
	# TLS hello on a plain listener
	curl -s -k -o /dev/null "https://127.0.0.1:$PORT/health" || true

	atf_check_equal 200 "$(e2e_get /health)"
	atf_check_equal "$pids" \
	    "$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')"
	# the access log escapes what it did not make
	atf_check -o not-match:"$(printf '\001')" cat "$W/daemon.log"
}
garbage_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case slow_header cleanup
slow_header_head()
{
	atf_set "descr" "a head that does not arrive in time gets 408"
	e2e_head
}
slow_header_body()
{
	e2e_init
	e2e_conf "timeout header 2"
	e2e_start
	start=$(date +%s)
	( printf 'GET /health HTTP/1.1\r\nHost: t\r\n'; sleep 6 ) |
	    nc -q 1 -w 8 127.0.0.1 "$PORT" > "$W/answer"
	took=$(( $(date +%s) - start ))
	atf_check -o match:'^HTTP/1.1 408 ' sh -c "head -n 1 $W/answer"
	# nc ends when its input does (6 s); without the timer there
	# would be no answer at all, the head never being complete
	[ "$took" -le 9 ] || atf_fail "took ${took}s"
	atf_check_equal 200 "$(e2e_get /health)"
}
slow_header_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case many_connections cleanup
many_connections_head()
{
	atf_set "descr" "a burst of connections and requests leaves the" \
	    "daemon serving"
	e2e_head
}
many_connections_body()
{
	e2e_init
	e2e_conf
	e2e_start
	i=0
	cpids=
	while [ $i -lt 200 ]; do
		curl -s -o /dev/null -w '%{http_code}\n' \
		    "http://127.0.0.1:$PORT/health" >> "$W/codes" &
		cpids="$cpids $!"
		i=$((i + 1))
	done
	# not a bare wait: that would wait for certaosd too
	wait $cpids
	atf_check -o inline:'200\n' sort -u "$W/codes"
	atf_check_equal 200 "$(e2e_get /health)"
	e2e_alive || atf_fail "certaosd died"
}
many_connections_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case limits
	atf_add_test_case garbage
	atf_add_test_case slow_header
	atf_add_test_case many_connections
}
