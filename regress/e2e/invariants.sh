# End to end: DESIGN.md invariant 1, checked in the memory of the running
# processes.  The web process must never hold the master secret or the
# database connection string; the scan is shown to work by finding the
# connection string in the db process, which must hold it.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case web_holds_no_secrets cleanup
web_holds_no_secrets_head()
{
	atf_set "descr" "the web workers' and mail's memory holds neither" \
	    "the secret nor the database conninfo"
	e2e_head
	atf_set "require.user" "root"
}
web_holds_no_secrets_body()
{
	e2e_init
	e2e_conf
	e2e_start
	# exercise every route first
	e2e_get /health >/dev/null
	e2e_get /api/auth/jwks >/dev/null
	e2e_get /.well-known/openid-configuration >/dev/null
	secret=$(cat "$W/secret")

	dbpid=$(e2e_child_pid certaos-db)
	e2e_memdump "$dbpid" "$W/db.mem"
	[ -s "$W/db.mem" ] || atf_fail "could not read the db process memory"
	grep -a -q -F "dbname=$DB" "$W/db.mem" ||
	    atf_fail "scan does not work: conninfo not found in db"

	for n in 1 2; do
		pid=$(e2e_child_pid certaos-web $n)
		e2e_memdump "$pid" "$W/web$n.mem"
		[ -s "$W/web$n.mem" ] || atf_fail "could not read web memory"
		if grep -a -q -F "$secret" "$W/web$n.mem"; then
			atf_fail "web[$n] holds the master secret"
		fi
		if grep -a -q -F "dbname=$DB" "$W/web$n.mem"; then
			atf_fail "web[$n] holds the database conninfo"
		fi
	done
	# the secret reaches keys only: not the db either
	if grep -a -q -F "$secret" "$W/db.mem"; then
		atf_fail "db holds the master secret"
	fi
	# nor mail, which holds neither the conninfo
	mailpid=$(e2e_child_pid certaos-mail)
	e2e_memdump "$mailpid" "$W/mail.mem"
	[ -s "$W/mail.mem" ] || atf_fail "could not read the mail memory"
	if grep -a -q -F "$secret" "$W/mail.mem"; then
		atf_fail "mail holds the master secret"
	fi
	if grep -a -q -F "dbname=$DB" "$W/mail.mem"; then
		atf_fail "mail holds the database conninfo"
	fi
	rm -f "$W"/*.mem
}
web_holds_no_secrets_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case secret_file_checks cleanup
secret_file_checks_head()
{
	atf_set "descr" "a secret file readable by others, or not owned by" \
	    "root, or too short, is refused"
	e2e_head
	atf_set "require.user" "root"
}
secret_file_checks_body()
{
	e2e_init
	e2e_conf
	atf_check -e match:'configuration OK' "$CERTAOSD" -n -f "$W/certaos.conf"
	chmod 640 "$W/secret"
	atf_check -s exit:1 -e match:"secret: mode 0640, must be 0600 or 0400" \
	    "$CERTAOSD" -n -f "$W/certaos.conf"
	chmod 400 "$W/secret"
	atf_check -e match:'configuration OK' "$CERTAOSD" -n -f "$W/certaos.conf"
	chown _certaos "$W/secret"
	atf_check -s exit:1 -e match:"secret: must be owned by root" \
	    "$CERTAOSD" -n -f "$W/certaos.conf"
	chown root "$W/secret"
	chmod 600 "$W/secret"
	head -c 31 "$W/secret" > "$W/short" && chmod 600 "$W/short"
	sed -i "s|$W/secret|$W/short|" "$W/certaos.conf"
	atf_check -s exit:1 -e match:"short: size 31, must be 32 to 1024 bytes" \
	    "$CERTAOSD" -n -f "$W/certaos.conf"
}
secret_file_checks_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case web_holds_no_secrets
	atf_add_test_case secret_file_checks
}
