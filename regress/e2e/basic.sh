# End to end: a real certaosd on a real PostgreSQL, asked over HTTP.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case health cleanup
health_head()
{
	atf_set "descr" "/health round-trips db and keys and says ok"
	e2e_head
}
health_body()
{
	e2e_init
	e2e_conf
	e2e_start
	atf_check_equal 200 "$(e2e_get /health)"
	atf_check -o inline:'{"status":"ok","db":"ok","keys":"ok"}' \
	    cat "$W/body"
	atf_check -o match:'^[Cc]ontent-[Tt]ype: application/json' \
	    cat "$W/headers"
	# An access log line per request: method, path, status, bytes, time.
	atf_check -o match:'"GET /health" 200 [0-9]+ [0-9]+us' \
	    cat "$W/daemon.log"
}
health_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case jwks cleanup
jwks_head()
{
	atf_set "descr" "the JWKS publishes RS256, ES256 and EdDSA public keys"
	e2e_head
}
jwks_body()
{
	e2e_init
	e2e_conf
	e2e_start
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	j=$W/body
	atf_check -o inline:'3\n' jq '.keys | length' "$j"
	# every key: kty, kid, alg, use
	atf_check -o inline:'true\n' jq \
	    '[.keys[] | has("kty") and has("kid") and has("alg") and
	    .use == "sig"] | all' "$j"
	atf_check -o inline:'"ES256"\n"EdDSA"\n"RS256"\n' jq \
	    '[.keys[].alg] | sort | .[]' "$j"
	atf_check -o inline:'true\n' jq '[.keys[] | select(.alg == "RS256") |
	    .kty == "RSA" and (.n | length) >= 342 and .e == "AQAB"] | all' "$j"
	atf_check -o inline:'true\n' jq '[.keys[] | select(.alg == "ES256") |
	    .kty == "EC" and .crv == "P-256" and (.x | length) == 43 and
	    (.y | length) == 43] | all' "$j"
	atf_check -o inline:'true\n' jq '[.keys[] | select(.alg == "EdDSA") |
	    .kty == "OKP" and .crv == "Ed25519" and (.x | length) == 43] |
	    all' "$j"
	# no private members, anywhere
	atf_check -o inline:'false\n' jq \
	    '[.keys[] | has("d") or has("p") or has("q") or has("dp") or
	    has("dq") or has("qi")] | any' "$j"
	# kids are unique
	atf_check -o inline:'3\n' jq '[.keys[].kid] | unique | length' "$j"
	atf_check -o match:'^[Cc]ontent-[Tt]ype: application/json' \
	    cat "$W/headers"
}
jwks_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case restart_same_kids cleanup
restart_same_kids_head()
{
	atf_set "descr" "keys are stored sealed in the database: a restart" \
	    "publishes the same kids"
	e2e_head
}
restart_same_kids_body()
{
	e2e_init
	e2e_conf
	e2e_start
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	jq -S . "$W/body" > "$W/jwks.1"
	e2e_stop
	e2e_start
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	jq -S . "$W/body" > "$W/jwks.2"
	atf_check -o empty diff "$W/jwks.1" "$W/jwks.2"
	# three rows, private keys sealed (no PEM or DER header in clear)
	atf_check_equal 3 "$(e2e_psql "$DB" -tAc 'select count(*) from jwks')"
	atf_check_equal 0 "$(e2e_psql "$DB" -tAc "select count(*) from jwks
	    where private_sealed::text like '%PRIVATE%' or
	    position('\\x3082'::bytea in private_sealed) = 1")"
}
restart_same_kids_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case discovery cleanup
discovery_head()
{
	atf_set "descr" "openid-configuration names the issuer and jwks_uri"
	e2e_head
}
discovery_body()
{
	e2e_init
	e2e_conf
	e2e_start
	for p in /.well-known/openid-configuration \
	    /api/auth/.well-known/openid-configuration; do
		atf_check_equal 200 "$(e2e_get $p)"
		atf_check -o inline:"\"http://127.0.0.1:$PORT\"\n" \
		    jq .issuer "$W/body"
		atf_check -o \
		    inline:"\"http://127.0.0.1:$PORT/api/auth/jwks\"\n" \
		    jq .jwks_uri "$W/body"
	done
	atf_check_equal 404 "$(e2e_get /nope)"
	atf_check -o inline:'"NOT_FOUND"\n' jq .code "$W/body"
	atf_check -o match:'.' jq -r .message "$W/body"
}
discovery_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case ctl_status cleanup
ctl_status_head()
{
	atf_set "descr" "certaosctl status lists every process, the" \
	    "database and the key ids"
	e2e_head
}
ctl_status_body()
{
	e2e_init
	e2e_conf
	e2e_start
	atf_check -o save:"$W/status" "$CERTAOSCTL" -s "$W/ctl.sock" status
	atf_check -o match:"^parent +0 +$(e2e_pid) " cat "$W/status"
	atf_check -o match:"^db +0 +$(e2e_child_pid certaos-db) " \
	    cat "$W/status"
	atf_check -o match:"^keys +0 +$(e2e_child_pid certaos-keys) " \
	    cat "$W/status"
	atf_check -o match:'^web +0 ' cat "$W/status"
	atf_check -o match:'^web +1 ' cat "$W/status"
	atf_check -o match:'^mail +0 ' cat "$W/status"
	atf_check -o match:'^database: reachable$' cat "$W/status"
	e2e_get /api/auth/jwks >/dev/null
	for k in $(jq -r '.keys[].kid' "$W/body"); do
		atf_check -o match:"^keys: 3 loaded: .*$k" cat "$W/status"
	done
	# abbreviations, and clear errors
	atf_check -o match:'^web ' "$CERTAOSCTL" -s "$W/ctl.sock" st
	atf_check -s exit:1 -e match:'unknown argument: bogus' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" bogus
	atf_check -s exit:1 -e match:'missing argument' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" log
	atf_check -o empty "$CERTAOSCTL" -s "$W/ctl.sock" log verbose
	atf_check -o empty "$CERTAOSCTL" -s "$W/ctl.sock" log brief
	atf_check -s exit:1 \
	    -e match:"is certaosd running\? \($W/nonexistent.sock: No such file or directory\)" \
	    "$CERTAOSCTL" -s "$W/nonexistent.sock" status
	# the socket: 0660, group of the daemon's user when run as root
	atf_check -o match:'^srw-rw---- ' ls -l "$W/ctl.sock"
	if [ "$(id -u)" = 0 ]; then
		atf_check -o inline:'root:_certaos\n' stat -c %U:%G \
		    "$W/ctl.sock"
	fi
}
ctl_status_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case health
	atf_add_test_case jwks
	atf_add_test_case restart_same_kids
	atf_add_test_case discovery
	atf_add_test_case ctl_status
}
