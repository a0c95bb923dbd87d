# End to end: the emailed flows (email verification, password reset,
# change-email, delete-user) through a real certaosd, its outbox and
# `mail dir`.  Shapes follow Better Auth 1.7.5 recorded with mail on;
# where we differ (a reset revokes every session) the test says so.

. "$(atf_get_srcdir)/lib.subr"

# flows_start [conf lines]: a daemon that delivers into the spool $D
flows_start()
{
	e2e_init
	e2e_spool
	e2e_conf "rate-limit off" "mail dir \"$D\"" \
	    "mail from \"auth@example.org\"" "$@"
	e2e_start
	B=http://127.0.0.1:$PORT/api/auth
	ORIGIN="origin: http://127.0.0.1:$PORT"
}

flows_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	W=$(pwd)
	e2e_cleanup
	e2e_spool_cleanup
}

# post PATH BODY [curl args]: the status; body in $W/body, headers in
# $W/headers
post()
{
	_p=$1; _b=$2; shift 2
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
	    -H 'content-type: application/json' -H "$ORIGIN" "$@" \
	    --data-binary "$_b" "$B$_p"
}

# get URL [curl args]
get()
{
	_u=$1; shift
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' "$@" "$_u"
}

body()
{
	cat "$W/body"
}

header()
{
	tr -d '\r' < "$W/headers" | sed -n "s/^$1: //Ip" | head -1
}

sql()
{
	e2e_psql "$DB" -At -c "$1"
}

# no_more_mail: nothing beyond the NMAIL mails seen (after a moment)
no_more_mail()
{
	sleep 1
	atf_check_equal "$NMAIL" "$(ls "$D" | wc -l)"
}

# signup NAME EMAIL [json members]: 200 expected; session cookie in
# $W/jar.EMAIL
signup()
{
	atf_check_equal 200 "$(post /sign-up/email \
	    "{\"name\":\"$1\",\"email\":\"$2\",\"password\":\"password123\"$3}" \
	    -c "$W/jar.$2")"
}

token_of()
{
	echo "$1" | sed -n 's/.*token=\([A-Za-z0-9]*\).*/\1/p'
}

atf_test_case verify cleanup
verify_head()
{
	atf_set "descr" "sign-up mails a verification link; opening it" \
	    "verifies the address and signs in; a replay changes nothing;" \
	    "a bad token is 401 or a redirect with the error"
	e2e_head
}
verify_body()
{
	flows_start
	signup Alice alice@example.org ',"callbackURL":"/welcome"'
	atf_check -o inline:'false\n' jq .user.emailVerified "$W/body"
	e2e_next_mail
	atf_check_equal alice@example.org "$TO"
	atf_check -o match:"^http://127.0.0.1:$PORT/api/auth/verify-email\?token=[A-Za-z0-9]{32}&callbackURL=%2Fwelcome\$" \
	    echo "$LINK"
	tok=$(token_of "$LINK")
	# db holds the token's hash only, and the mail sealed
	atf_check_equal 0 "$(sql "select count(*) from verifications
	    where encode(value_hash, 'escape') like '%$tok%'")"
	atf_check_equal 1 "$(sql "select count(*) from verifications
	    where value_hash = sha256(convert_to('$tok', 'UTF8'))")"
	atf_check_equal f "$(sql "select bool_or(position(convert_to('$tok',
	    'UTF8') in sealed) > 0) from mail_outbox")"

	atf_check_equal 302 "$(get "$LINK")"
	atf_check_equal "http://127.0.0.1:$PORT/welcome" "$(header location)"
	atf_check -o match:'^certaos\.session_token=[A-Za-z0-9]{32}\.' \
	    echo "$(header set-cookie)"
	atf_check -o match:'^[A-Za-z0-9]{32}\.' echo "$(header set-auth-token)"
	btok=$(header set-auth-token)
	atf_check_equal 200 "$(get "$B/get-session" \
	    -H "authorization: Bearer $btok")"
	atf_check -o inline:'"alice@example.org"\ntrue\n' \
	    jq '.user.email, .user.emailVerified' "$W/body"
	nsess=$(sql "select count(*) from sessions")
	atf_check_equal 2 "$nsess"

	# a replay: no session, no cookie, the same answer
	atf_check_equal 200 "$(get "$B/verify-email?token=$tok")"
	atf_check -o inline:'{"status":true,"user":null}' cat "$W/body"
	atf_check_equal "" "$(header set-cookie)"
	atf_check_equal "$nsess" "$(sql "select count(*) from sessions")"

	atf_check_equal 401 "$(get "$B/verify-email?token=nope")"
	atf_check -o inline:'{"message":"Invalid token","code":"INVALID_TOKEN"}' cat "$W/body"
	atf_check_equal 302 "$(get "$B/verify-email?token=nope&callbackURL=/cb%3Fa%3D1")"
	atf_check_equal "http://127.0.0.1:$PORT/cb?a=1&error=INVALID_TOKEN" \
	    "$(header location)"
	atf_check_equal 400 "$(get "$B/verify-email")"
	atf_check -o match:'"code":"VALIDATION_ERROR"' cat "$W/body"
	atf_check_equal 403 "$(get "$B/verify-email?token=$tok&callbackURL=https://evil.example/")"
	atf_check -o match:'"code":"INVALID_CALLBACK_URL"' cat "$W/body"
	atf_check_equal 1 "$(sql "select count(*) from audit_log
	    where event = 'verify-email' and outcome = 'ok'")"
}
verify_cleanup()
{
	flows_cleanup
}

atf_test_case send_verification cleanup
send_verification_head()
{
	atf_set "descr" "send-verification-email: the same answer for any" \
	    "address without a session, a mail only to an unverified user;" \
	    "with a session, another address or a verified one is refused"
	e2e_head
}
send_verification_body()
{
	flows_start
	signup Bob bob@example.org
	e2e_next_mail
	signup Carol carol@example.org
	e2e_next_mail
	for e in bob@example.org nobody@example.org BOB@example.org; do
		atf_check_equal 200 "$(post /send-verification-email \
		    "{\"email\":\"$e\"}")"
		atf_check -o inline:'{"status":true}' cat "$W/body"
	done
	e2e_next_mail
	atf_check_equal bob@example.org "$TO"
	e2e_next_mail
	atf_check_equal bob@example.org "$TO"
	no_more_mail
	# signed in as bob
	atf_check_equal 400 "$(post /send-verification-email \
	    '{"email":"carol@example.org"}' -b "$W/jar.bob@example.org")"
	atf_check -o inline:'{"message":"Email mismatch","code":"EMAIL_MISMATCH"}' cat "$W/body"
	get "$LINK" >/dev/null
	atf_check_equal 400 "$(post /send-verification-email \
	    '{"email":"bob@example.org"}' -b "$W/jar.bob@example.org")"
	atf_check -o inline:'{"message":"Email is already verified","code":"EMAIL_ALREADY_VERIFIED"}' cat "$W/body"
	atf_check_equal 400 "$(post /send-verification-email '{"email":"x"}')"
	atf_check -o match:'"code":"VALIDATION_ERROR"' cat "$W/body"
	no_more_mail
}
send_verification_cleanup()
{
	flows_cleanup
}

atf_test_case required cleanup
required_head()
{
	atf_set "descr" "email verification required: sign-up answers the" \
	    "user and no session, a taken address the same shape and no" \
	    "mail; sign-in is 403 EMAIL_NOT_VERIFIED until the link is used"
	e2e_head
}
required_body()
{
	flows_start "email verification required"
	signup Dan dan@example.org
	atf_check -o inline:'null\n"dan@example.org"\nfalse\n' \
	    jq '.token, .user.email, .user.emailVerified' "$W/body"
	atf_check_equal "" "$(header set-cookie)"
	atf_check_equal 0 "$(sql "select count(*) from sessions")"
	e2e_next_mail
	id=$(jq -r .user.id "$W/body")
	atf_check_equal "$id" "$(sql "select id from users")"
	# the address is taken: the same answer, another id, nothing kept
	signup Eve DAN@example.org
	atf_check -o inline:'null\n"dan@example.org"\n"Eve"\n' \
	    jq '.token, .user.email, .user.name' "$W/body"
	atf_check -o not-inline:"\"$id\"\n" jq .user.id "$W/body"
	atf_check_equal 1 "$(sql "select count(*) from users")"
	no_more_mail

	atf_check_equal 403 "$(post /sign-in/email \
	    '{"email":"dan@example.org","password":"password123"}')"
	atf_check -o inline:'{"message":"Email not verified","code":"EMAIL_NOT_VERIFIED"}' cat "$W/body"
	atf_check_equal 401 "$(post /sign-in/email \
	    '{"email":"dan@example.org","password":"wrong-password"}')"
	atf_check_equal 0 "$(sql "select count(*) from sessions")"
	atf_check_equal 1 "$(sql "select count(*) from audit_log
	    where event = 'sign-in' and outcome = 'unverified'")"
	atf_check_equal 302 "$(get "$LINK")"
	atf_check_equal "http://127.0.0.1:$PORT/" "$(header location)"
	atf_check -o match:'^certaos\.session_token=' echo "$(header set-cookie)"
	atf_check_equal 200 "$(post /sign-in/email \
	    '{"email":"dan@example.org","password":"password123"}')"
	atf_check -o inline:'true\n' jq .user.emailVerified "$W/body"
}
required_cleanup()
{
	flows_cleanup
}

atf_test_case reset cleanup
reset_head()
{
	atf_set "descr" "password reset: the same answer for any address," \
	    "the link redirects with its token, the new password works, the" \
	    "old one and every session end, a token serves once"
	e2e_head
}
reset_body()
{
	flows_start
	signup Fay fay@example.org
	e2e_next_mail
	msg='{"status":true,"message":"If this email exists in our system, check your email for the reset link"}'
	atf_check_equal 200 "$(post /request-password-reset \
	    '{"email":"nobody@example.org","redirectTo":"/reset"}')"
	atf_check -o inline:"$msg" cat "$W/body"
	atf_check_equal 200 "$(post /request-password-reset \
	    '{"email":"FAY@example.org","redirectTo":"/reset"}')"
	atf_check -o inline:"$msg" cat "$W/body"
	e2e_next_mail
	no_more_mail
	atf_check_equal fay@example.org "$TO"
	atf_check -o match:"^http://127.0.0.1:$PORT/api/auth/reset-password/[A-Za-z0-9]{32}\?callbackURL=%2Freset\$" \
	    echo "$LINK"
	tok=$(echo "$LINK" | sed 's|.*/reset-password/\([A-Za-z0-9]*\).*|\1|')
	atf_check_equal 302 "$(get "$LINK")"
	atf_check_equal "http://127.0.0.1:$PORT/reset?token=$tok" \
	    "$(header location)"
	atf_check_equal 302 "$(get "$B/reset-password/nope?callbackURL=/reset")"
	atf_check_equal "http://127.0.0.1:$PORT/reset?error=INVALID_TOKEN" \
	    "$(header location)"
	atf_check_equal 400 "$(get "$B/reset-password/$tok")"

	atf_check_equal 400 "$(post /reset-password \
	    "{\"newPassword\":\"short\",\"token\":\"$tok\"}")"
	atf_check -o match:'"code":"PASSWORD_TOO_SHORT"' cat "$W/body"
	atf_check_equal 400 "$(post /reset-password \
	    '{"newPassword":"new-password-1","token":"nope"}')"
	atf_check -o inline:'{"message":"Invalid token","code":"INVALID_TOKEN"}' cat "$W/body"
	atf_check_equal 200 "$(post /reset-password \
	    "{\"newPassword\":\"new-password-1\",\"token\":\"$tok\"}")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	atf_check_equal 400 "$(post /reset-password \
	    "{\"newPassword\":\"new-password-2\",\"token\":\"$tok\"}")"
	# stricter than Better Auth: the sessions of before are gone
	atf_check_equal 200 "$(get "$B/get-session" -b "$W/jar.fay@example.org")"
	atf_check -o inline:'null' cat "$W/body"
	atf_check_equal 401 "$(post /sign-in/email \
	    '{"email":"fay@example.org","password":"password123"}')"
	atf_check_equal 200 "$(post /sign-in/email \
	    '{"email":"fay@example.org","password":"new-password-1"}')"
	atf_check_equal 0 "$(sql "select count(*) from verifications
	    where identifier = 'reset-password'")"
	# the mail, then the reset, each with the client's address
	atf_check_equal 'fay@example.org|mail-sent|127.0.0.1 fay@example.org|ok|127.0.0.1' \
	    "$(sql "select string_agg(email || '|' || outcome || '|' || ip, ' '
	    order by id) from audit_log where event = 'reset-password'")"
}
reset_cleanup()
{
	flows_cleanup
}

atf_test_case change_email cleanup
change_email_head()
{
	atf_set "descr" "change-email mails the new address; its link" \
	    "changes and verifies it; the same or a taken address changes" \
	    "nothing"
	e2e_head
}
change_email_body()
{
	flows_start
	signup Gus gus@example.org
	e2e_next_mail
	signup Hal hal@example.org
	e2e_next_mail
	jar=$W/jar.gus@example.org
	atf_check_equal 400 "$(post /change-email '{"newEmail":"GUS@example.org"}' -b "$jar")"
	atf_check -o inline:'{"message":"Email is the same"}' cat "$W/body"
	atf_check_equal 200 "$(post /change-email '{"newEmail":"hal@example.org"}' -b "$jar")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	no_more_mail
	atf_check_equal 401 "$(post /change-email '{"newEmail":"g2@example.org"}')"
	atf_check_equal 200 "$(post /change-email \
	    '{"newEmail":"g2@example.org","callbackURL":"/changed"}' -b "$jar")"
	e2e_next_mail
	atf_check_equal g2@example.org "$TO"
	atf_check_equal gus@example.org "$(sql "select email from users where name = 'Gus'")"
	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal "http://127.0.0.1:$PORT/changed" "$(header location)"
	atf_check_equal 't|g2@example.org' "$(sql "select email_verified, email
	    from users where name = 'Gus'")"
	atf_check_equal 200 "$(get "$B/get-session" -b "$jar")"
	atf_check -o inline:'"g2@example.org"\n' jq .user.email "$W/body"
	# the link served once
	atf_check_equal 302 "$(get "$LINK")"
	atf_check_equal "http://127.0.0.1:$PORT/changed?error=INVALID_TOKEN" \
	    "$(header location)"
}
change_email_cleanup()
{
	flows_cleanup
}

atf_test_case change_email_confirm cleanup
change_email_confirm_head()
{
	atf_set "descr" "change-email of a verified address: the current" \
	    "address confirms first, then the new one gets its link; each" \
	    "link serves once; a taken address gets nothing"
	e2e_head
}
change_email_confirm_body()
{
	flows_start
	signup Ivy ivy@example.org
	e2e_next_mail
	jar=$W/jar.ivy@example.org
	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal t "$(sql "select email_verified from users
	    where name = 'Ivy'")"
	signup Jon jon@example.org
	e2e_next_mail

	# a taken address: the same answer, and no mail to anyone
	atf_check_equal 200 "$(post /change-email \
	    '{"newEmail":"jon@example.org"}' -b "$jar")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	no_more_mail

	atf_check_equal 200 "$(post /change-email \
	    '{"newEmail":"Ivy2@example.org","callbackURL":"/moved"}' -b "$jar")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	e2e_next_mail
	atf_check_equal ivy@example.org "$TO"
	atf_check -o match:'^Subject: Confirm the change of your CertaOS email address' \
	    grep '^Subject:' "$M"
	atf_check -o match:"^http://127.0.0.1:$PORT/api/auth/verify-email\?token=[A-Za-z0-9]{32}&callbackURL=%2Fmoved\$" \
	    echo "$LINK"
	confirm=$LINK
	ctok=$(token_of "$confirm")
	atf_check_equal 1 "$(sql "select count(*) from verifications
	    where identifier = 'change-email-confirm'
	    and value_hash = sha256(convert_to('$ctok', 'UTF8'))
	    and data = 'ivy2@example.org'")"
	# nothing went to the new address yet, nothing changed
	no_more_mail
	atf_check_equal ivy@example.org "$(sql "select email from users
	    where name = 'Ivy'")"

	# opened without a session: it confirms, signs nobody in
	atf_check_equal 302 "$(get "$confirm")"
	atf_check_equal "http://127.0.0.1:$PORT/moved" "$(header location)"
	atf_check_equal "" "$(header set-cookie)"
	e2e_next_mail
	atf_check_equal ivy2@example.org "$TO"
	atf_check -o match:'^Subject: Confirm your new CertaOS email address' \
	    grep '^Subject:' "$M"
	atf_check -o match:"^http://127.0.0.1:$PORT/api/auth/verify-email\?token=[A-Za-z0-9]{32}&callbackURL=%2Fmoved\$" \
	    echo "$LINK"
	atf_check_equal ivy@example.org "$(sql "select email from users
	    where name = 'Ivy'")"
	# the confirmation served once
	atf_check_equal 302 "$(get "$confirm")"
	atf_check_equal "http://127.0.0.1:$PORT/moved?error=INVALID_TOKEN" \
	    "$(header location)"
	no_more_mail

	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal "http://127.0.0.1:$PORT/moved" "$(header location)"
	atf_check_equal 't|ivy2@example.org' "$(sql "select email_verified,
	    email from users where name = 'Ivy'")"
	atf_check_equal 200 "$(get "$B/get-session" -b "$jar")"
	atf_check -o inline:'"ivy2@example.org"\n' jq .user.email "$W/body"
	atf_check_equal 'ivy@example.org|mail-sent| ivy2@example.org|ok|ivy2@example.org' \
	    "$(sql "select string_agg(email || '|' || outcome || '|' ||
	    coalesce(detail, ''), ' ' order by id) from audit_log
	    where event = 'change-email'")"

	# without a callbackURL the confirmation answers JSON
	atf_check_equal 200 "$(post /change-email \
	    '{"newEmail":"ivy3@example.org"}' -b "$jar")"
	e2e_next_mail
	atf_check_equal ivy2@example.org "$TO"
	atf_check_equal 200 "$(get "$B/verify-email?token=$(token_of "$LINK")")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	e2e_next_mail
	atf_check_equal ivy3@example.org "$TO"
	atf_check_equal 2 "$(sql "select count(*) from audit_log
	    where event = 'change-email-confirm' and outcome = 'ok'")"
}
change_email_confirm_cleanup()
{
	flows_cleanup
}

atf_test_case change_email_direct cleanup
change_email_direct_head()
{
	atf_set "descr" "email change-confirmation off: a verified address" \
	    "is not asked, the new one gets its link at once"
	e2e_head
}
change_email_direct_body()
{
	flows_start "email change-confirmation off"
	signup Kay kay@example.org
	e2e_next_mail
	jar=$W/jar.kay@example.org
	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal 200 "$(post /change-email \
	    '{"newEmail":"kay2@example.org"}' -b "$jar")"
	e2e_next_mail
	atf_check_equal kay2@example.org "$TO"
	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal 't|kay2@example.org' "$(sql "select email_verified,
	    email from users where name = 'Kay'")"
}
change_email_direct_cleanup()
{
	flows_cleanup
}

atf_test_case secrets cleanup
secrets_head()
{
	atf_set "descr" "the emailed flows: db never holds a link's token or" \
	    "a reset's new password in clear"
	e2e_head
	atf_set "require.user" "root"
}
secrets_body()
{
	flows_start
	signup Pat pat@example.org
	e2e_next_mail
	vtok=$(token_of "$LINK")
	atf_check_equal 302 "$(get "$LINK")"
	atf_check_equal 200 "$(post /request-password-reset \
	    '{"email":"pat@example.org","redirectTo":"/reset"}')"
	e2e_next_mail
	rtok=$(echo "$LINK" | sed 's|.*/reset-password/\([A-Za-z0-9]*\).*|\1|')
	pw=New-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
	atf_check_equal 200 "$(post /reset-password \
	    "{\"newPassword\":\"$pw\",\"token\":\"$rtok\"}")"
	atf_check_equal 200 "$(post /sign-in/email \
	    "{\"email\":\"pat@example.org\",\"password\":\"$pw\"}")"
	hash=$(sql "select password from accounts")

	e2e_memdump "$(e2e_child_pid certaos-db 1)" "$W/db.mem"
	grep -a -q -F "$hash" "$W/db.mem" ||
	    atf_fail "scan does not work: the hash is not in db's memory"
	for s in "$vtok" "$rtok" "$pw"; do
		if grep -a -q -F "$s" "$W/db.mem"; then
			atf_fail "db holds $s in clear"
		fi
	done
}
secrets_cleanup()
{
	flows_cleanup
}

atf_test_case delete cleanup
delete_head()
{
	atf_set "descr" "delete-user checks the password, then mails a" \
	    "link; the callback needs the user's own session and deletes" \
	    "the user, its sessions and accounts, and clears the cookies"
	e2e_head
}
delete_body()
{
	flows_start
	signup Ida ida@example.org
	e2e_next_mail
	signup Jo jo@example.org
	e2e_next_mail
	jar=$W/jar.ida@example.org
	atf_check_equal 401 "$(post /delete-user '{}')"
	atf_check_equal 400 "$(post /delete-user '{"password":"wrong-pass"}' -b "$jar")"
	atf_check -o inline:'{"message":"Invalid password","code":"INVALID_PASSWORD"}' cat "$W/body"
	no_more_mail
	atf_check_equal 200 "$(post /delete-user \
	    '{"password":"password123","callbackURL":"/bye"}' -b "$jar")"
	atf_check -o inline:'{"success":true,"message":"Verification email sent"}' cat "$W/body"
	e2e_next_mail
	atf_check_equal ida@example.org "$TO"
	atf_check -o match:"^http://127.0.0.1:$PORT/api/auth/delete-user/callback\?token=[A-Za-z0-9]{32}&callbackURL=%2Fbye\$" \
	    echo "$LINK"
	atf_check_equal 2 "$(sql "select count(*) from users")"
	atf_check_equal 404 "$(get "$LINK")"
	atf_check -o inline:'{"message":"Failed to get user info","code":"FAILED_TO_GET_USER_INFO"}' cat "$W/body"
	atf_check_equal 404 "$(get "$LINK" -b "$W/jar.jo@example.org")"
	atf_check -o inline:'{"message":"Invalid token","code":"INVALID_TOKEN"}' cat "$W/body"
	atf_check_equal 302 "$(get "$LINK" -b "$jar")"
	atf_check_equal "http://127.0.0.1:$PORT/bye" "$(header location)"
	atf_check -o match:'certaos\.session_token=; Max-Age=0' \
	    tr -d '\r' < "$W/headers"
	atf_check_equal 'jo@example.org' "$(sql "select email from users")"
	atf_check_equal 0 "$(sql "select count(*) from sessions s
	    where not exists (select 1 from users u where u.id = s.user_id)")"
	atf_check_equal 1 "$(sql "select count(*) from accounts")"
	atf_check_equal 1 "$(sql "select count(*) from audit_log
	    where event = 'delete-user' and email = 'ida@example.org'")"
	atf_check_equal 200 "$(get "$B/get-session" -b "$jar")"
	atf_check -o inline:'null' cat "$W/body"
}
delete_cleanup()
{
	flows_cleanup
}

atf_test_case no_mail cleanup
no_mail_head()
{
	atf_set "descr" "without a mail method the emailed flows say they" \
	    "are not enabled, nothing is queued, and delete-user works" \
	    "with a fresh session alone"
	e2e_head
}
no_mail_body()
{
	e2e_init
	e2e_conf "rate-limit off"
	e2e_start
	B=http://127.0.0.1:$PORT/api/auth
	ORIGIN="origin: http://127.0.0.1:$PORT"
	signup Kim kim@example.org
	atf_check_equal false "$(jq .user.emailVerified "$W/body")"
	jar=$W/jar.kim@example.org
	atf_check_equal 400 "$(post /send-verification-email '{"email":"kim@example.org"}')"
	atf_check -o inline:'{"message":"Verification email isn'"'"'t enabled","code":"VERIFICATION_EMAIL_NOT_ENABLED"}' cat "$W/body"
	atf_check_equal 400 "$(post /request-password-reset '{"email":"kim@example.org"}')"
	atf_check -o inline:'{"message":"Reset password isn'"'"'t enabled","code":"RESET_PASSWORD_DISABLED"}' cat "$W/body"
	atf_check_equal 400 "$(post /change-email '{"newEmail":"k2@example.org"}' -b "$jar")"
	atf_check -o inline:'{"message":"Verification email isn'"'"'t enabled"}' cat "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from mail_outbox")"
	atf_check_equal 0 "$(sql "select count(*) from verifications")"
	atf_check_equal 200 "$(post /delete-user '{}' -b "$jar")"
	atf_check -o inline:'{"success":true,"message":"User deleted"}' cat "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from users")"
}
no_mail_cleanup()
{
	flows_cleanup
}

atf_test_case stale_delete cleanup
stale_delete_head()
{
	atf_set "descr" "without a mail method, delete-user with no password" \
	    "needs a session younger than fresh-age"
	e2e_head
}
stale_delete_body()
{
	e2e_init
	e2e_conf "rate-limit off" "session fresh-age 1"
	e2e_start
	B=http://127.0.0.1:$PORT/api/auth
	ORIGIN="origin: http://127.0.0.1:$PORT"
	signup Lou lou@example.org
	sleep 2
	jar=$W/jar.lou@example.org
	atf_check_equal 400 "$(post /delete-user '{}' -b "$jar")"
	atf_check -o inline:'{"message":"Session expired. Re-authenticate to perform this action.","code":"SESSION_EXPIRED"}' cat "$W/body"
	atf_check_equal 1 "$(sql "select count(*) from users")"
	atf_check_equal 200 "$(post /delete-user '{"password":"password123"}' -b "$jar")"
	atf_check -o inline:'{"success":true,"message":"User deleted"}' cat "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from users")"
}
stale_delete_cleanup()
{
	flows_cleanup
}

atf_test_case bad_input cleanup
bad_input_head()
{
	atf_set "descr" "malformed bodies and queries on the flows' routes" \
	    "get a 400 with a JSON error; the daemon lives on"
	e2e_head
}
bad_input_body()
{
	flows_start
	signup Max max@example.org
	jar=$W/jar.max@example.org
	long=$(head -c 5000 /dev/zero | tr '\0' a)
	for r in /send-verification-email /request-password-reset \
	    /change-email /reset-password /delete-user; do
		for b in '{' '[]' '{"email":1,"newEmail":[],"newPassword":{},"password":2}' \
		    "{\"email\":\"$long@x.org\",\"newEmail\":\"$long\",\"newPassword\":\"$long\",\"password\":\"$long\"}" \
		    '{"email":"a\u0000@x.org","newEmail":"a\u0000@x.org","newPassword":"a\u0000aaaaaaaa","token":"\u0000"}'; do
			st=$(post "$r" "$b" -b "$jar")
			case $st in
			4??) ;;
			*) atf_fail "$r $b: $st" ;;
			esac
			atf_check -o match:'"message"' cat "$W/body"
		done
	done
	for q in 'token=%zz' 'token=%00' "token=$long" 'callbackURL=%ff%fe&token=a'; do
		st=$(get "$B/verify-email?$q")
		case $st in
		4??) ;;
		*) atf_fail "verify-email?$q: $st" ;;
		esac
	done
	atf_check_equal 400 "$(get "$B/reset-password/x?callbackURL=%zz")"
	atf_check_equal 0 "$(sql "select count(*) from verifications
	    where identifier <> 'verify-email'")"
	# empty tokens: refused in web, never a malformed request to keys
	atf_check_equal 401 "$(get "$B/verify-email?token=")"
	atf_check -o inline:'{"message":"Invalid token","code":"INVALID_TOKEN"}' \
	    cat "$W/body"
	atf_check_equal 302 "$(get "$B/verify-email?token=&callbackURL=/v")"
	atf_check_equal "http://127.0.0.1:$PORT/v?error=INVALID_TOKEN" \
	    "$(header location)"
	atf_check_equal 404 "$(get "$B/delete-user/callback?token=" -b "$jar")"
	atf_check_equal 400 "$(post /reset-password \
	    '{"newPassword":"password123","token":""}')"
	atf_check_equal 200 "$(post /delete-user '{"token":"","password":""}' \
	    -b "$jar")"
	atf_check_equal 302 "$(get "$B/reset-password/%20?callbackURL=/r")"
	atf_check -o not-match:'fatal' cat "$W/daemon.log"
	atf_check_equal 200 "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PORT/health")"
}
bad_input_cleanup()
{
	flows_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case verify
	atf_add_test_case send_verification
	atf_add_test_case required
	atf_add_test_case reset
	atf_add_test_case change_email
	atf_add_test_case change_email_confirm
	atf_add_test_case change_email_direct
	atf_add_test_case secrets
	atf_add_test_case delete
	atf_add_test_case no_mail
	atf_add_test_case stale_delete
	atf_add_test_case bad_input
}
