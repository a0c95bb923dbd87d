# End to end: a TLS listener, TLS 1.2 at least, certificates reloaded.

. "$(atf_get_srcdir)/lib.subr"

# mkcert name: a self-signed certificate and key for 127.0.0.1
mkcert()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -days 2 -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" \
	    -keyout "$W/$1.key" -out "$W/$1.crt" >/dev/null 2>&1 ||
	    atf_fail "openssl could not make a certificate"
	chmod 600 "$W/$1.key"
}

atf_test_case tls cleanup
tls_head()
{
	atf_set "descr" "HTTPS on a tls listener, beside a plain one;" \
	    "TLS 1.1 refused; a reload brings a new certificate"
	e2e_head
}
tls_body()
{
	e2e_init
	mkcert one
	mkcert two
	TPORT=$(e2e_free_port)
	tlsconf() {
		e2e_conf "listen on 127.0.0.1 port $TPORT tls {" \
		    "	certificate \"$W/$1.crt\"" "	key \"$W/$1.key\"" "}"
	}
	tlsconf one
	e2e_start
	url=https://127.0.0.1:$TPORT
	atf_check -o inline:'{"status":"ok","db":"ok","keys":"ok"}' \
	    curl -s --cacert "$W/one.crt" "$url/health"
	atf_check -o inline:'3\n' sh -c \
	    "curl -s --cacert $W/one.crt $url/api/auth/jwks | jq '.keys | length'"
	# TLS 1.1 and older are refused
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -s -k --tlsv1.1 --tls-max 1.1 "$url/health"
	# plain HTTP on the TLS port gets nowhere, the daemon stays up
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -s -m 5 "http://127.0.0.1:$TPORT/health"
	atf_check_equal 200 "$(e2e_get /health)"

	# reload: new connections get the new certificate
	tlsconf two
	atf_check -o match:'reloaded' "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check -o inline:'{"status":"ok","db":"ok","keys":"ok"}' \
	    curl -s --cacert "$W/two.crt" "$url/health"
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -s --cacert "$W/one.crt" "$url/health"
}
tls_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case secure_cookies cleanup
secure_cookies_head()
{
	atf_set "descr" "an https issuer: cookies named __Secure-<prefix>" \
	    "with Secure; get-session reads that name only"
	e2e_head
}
secure_cookies_body()
{
	e2e_init
	mkcert one
	TPORT=$(e2e_free_port)
	url=https://127.0.0.1:$TPORT
	E2E_ISSUER=$url
	e2e_conf "rate-limit off" "listen on 127.0.0.1 port $TPORT tls {" \
	    "	certificate \"$W/one.crt\"" "	key \"$W/one.key\"" "}"
	e2e_start
	atf_check_equal 200 "$(curl -s --cacert "$W/one.crt" -o "$W/body" \
	    -D "$W/headers" -w '%{http_code}' -H "origin: $url" \
	    -H 'content-type: application/json' --data-binary \
	    '{"name":"Sid","email":"sid@example.com","password":"password123"}' \
	    "$url/api/auth/sign-up/email")"
	tok=$(jq -r .token "$W/body")
	tr -d '\r' < "$W/headers" | grep -i '^set-cookie:' > "$W/cookies"
	atf_check -o match:"^Set-Cookie: __Secure-certaos\.session_token=$tok\.[A-Za-z0-9%]+; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax; Secure\$" \
	    cat "$W/cookies"
	cookie=$(sed -n 's/^Set-Cookie: __Secure-certaos\.session_token=\([^;]*\);.*/\1/p' \
	    "$W/cookies")
	atf_check -o inline:'"sid@example.com"\n' sh -c "curl -s \
	    --cacert $W/one.crt -H 'cookie: __Secure-certaos.session_token=$cookie' \
	    $url/api/auth/get-session | jq .user.email"
	# the plain name is not ours on https
	atf_check -o inline:'null' curl -s --cacert "$W/one.crt" \
	    -H "cookie: certaos.session_token=$cookie" \
	    "$url/api/auth/get-session"
	# sign-out clears the __Secure- cookie
	curl -s --cacert "$W/one.crt" -o /dev/null -D "$W/headers" \
	    -H "origin: $url" -H "cookie: __Secure-certaos.session_token=$cookie" \
	    -X POST "$url/api/auth/sign-out"
	atf_check -o match:'^Set-Cookie: __Secure-certaos\.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax; Secure' \
	    sh -c "tr -d '\\r' < $W/headers"
}
secure_cookies_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case tls_key_mode cleanup
tls_key_mode_head()
{
	atf_set "descr" "a TLS key readable by others is refused"
	e2e_head
	atf_set "require.user" "root"
}
tls_key_mode_body()
{
	e2e_init
	mkcert one
	chmod 644 "$W/one.key"
	TPORT=$(e2e_free_port)
	e2e_conf "listen on 127.0.0.1 port $TPORT tls {" \
	    "	certificate \"$W/one.crt\"" "	key \"$W/one.key\"" "}"
	atf_check -s exit:1 -e match:"one.key: mode 0644, must be 0600 or 0400" \
	    "$CERTAOSD" -n -f "$W/certaos.conf"
}
tls_key_mode_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case tls
	atf_add_test_case secure_cookies
	atf_add_test_case tls_key_mode
}
