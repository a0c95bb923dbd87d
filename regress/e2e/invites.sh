# End to end: invitations (certaosctl user invite, user invites) and the
# signup policy (signup open | invite-only | closed).

. "$(atf_get_srcdir)/lib.subr"

# inv_start [conf lines]: a daemon delivering mail into the spool $D
inv_start()
{
	e2e_init
	e2e_spool
	e2e_conf "rate-limit off" "mail dir \"$D\"" \
	    "mail from \"auth@example.org\"" "$@"
	e2e_start
	B=http://127.0.0.1:$PORT/api/auth
}

inv_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	W=$(pwd)
	e2e_cleanup
	e2e_spool_cleanup
}

sql()
{
	e2e_psql "$DB" -At -c "$1"
}

# signup EMAIL [json members]: the status; body in $W/body
signup()
{
	curl -s -o "$W/body" -w '%{http_code}' \
	    -H 'content-type: application/json' \
	    -H "origin: http://127.0.0.1:$PORT" --data-binary \
	    "{\"name\":\"N\",\"email\":\"$1\",\"password\":\"password123\"$2}" \
	    "$B/sign-up/email"
}

atf_test_case invite_only cleanup
invite_only_head()
{
	atf_set "descr" "signup invite-only: only an invited address signs up;" \
	    "the link's token gives the role and attributes and verifies" \
	    "the address; the invitation serves once"
	e2e_head
}
invite_only_body()
{
	inv_start "signup invite-only" \
	    "invite url \"https://app.example/join?x=1\""
	atf_check_equal 403 "$(signup nobody@example.org)"
	atf_check -o inline:'{"message":"Sign-up is by invitation only","code":"INVITATION_REQUIRED"}' \
	    cat "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from users")"

	atf_check -o inline:'Ann@Example.org: invited as editor, the link mailed\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite Ann@Example.org --role editor --attr team=blue \
	    --attr level=3 --expires 2d
	e2e_next_mail
	atf_check_equal ann@example.org "$TO"
	atf_check -o match:'^https://app\.example/join\?x=1&invite=[A-Za-z0-9]{32}&email=ann%40example\.org$' \
	    echo "$LINK"
	tok=$(echo "$LINK" | sed 's/.*invite=\([A-Za-z0-9]*\).*/\1/')
	atf_check -o match:'^ann@example\.org +editor .*\{"team": "blue", "level": "3"\}$' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invites
	# the token is kept as its hash only
	atf_check_equal 1 "$(sql "select count(*) from invitations
	    where token_hash = sha256(convert_to('$tok', 'UTF8'))")"

	# someone else's address with the token: not invited
	atf_check_equal 403 "$(signup eve@example.org ",\"invite\":\"$tok\"")"
	atf_check_equal 200 "$(signup ann@example.org ",\"invite\":\"$tok\"")"
	atf_check -o inline:'"editor"\ntrue\n' \
	    jq '.user.role, .user.emailVerified' "$W/body"
	atf_check_equal '{"team": "blue", "level": "3"}' \
	    "$(sql "select attributes from users where email = 'ann@example.org'")"
	atf_check -o match:'^attributes: +\{"team": "blue", "level": "3"\}$' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user show ann@example.org
	atf_check_equal 1 "$(sql "select count(*) from invitations i join
	    users u on u.id = i.user_id where i.redeemed_at is not null")"
	atf_check -o not-match:'ann@' "$CERTAOSCTL" -s "$W/ctl.sock" user invites
	# verified by the token: no verification mail
	sleep 1
	atf_check_equal 1 "$(ls "$D" | wc -l)"
	atf_check_equal 1 "$(sql "select count(*) from audit_log
	    where event = 'sign-up' and detail = 'invitation'")"
	atf_check_equal 2 "$(sql "select count(*) from audit_log
	    where event = 'sign-up' and outcome = 'not-invited'")"
	atf_check_equal 'ann@example.org|ok' "$(sql "select email, outcome
	    from audit_log where event = 'invite'")"
}
invite_only_cleanup()
{
	inv_cleanup
}

atf_test_case by_email cleanup
by_email_head()
{
	atf_set "descr" "signup open: a sign-up of an invited address without" \
	    "the token gets the role once the address is verified"
	e2e_head
}
by_email_body()
{
	inv_start
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" user invite cy@example.org --role editor \
	    --attr a=1
	e2e_next_mail
	atf_check_equal 200 "$(signup cy@example.org)"
	atf_check -o inline:'"user"\nfalse\n' \
	    jq '.user.role, .user.emailVerified' "$W/body"
	e2e_next_mail
	atf_check -o match:'/verify-email\?token=' echo "$LINK"
	atf_check_equal 302 "$(curl -s -o /dev/null -w '%{http_code}' "$LINK")"
	atf_check_equal 'editor|{"a": "1"}|t' "$(sql "select role, attributes,
	    email_verified from users")"
	atf_check -o not-match:'cy@' "$CERTAOSCTL" -s "$W/ctl.sock" user invites
}
by_email_cleanup()
{
	inv_cleanup
}

atf_test_case invite_only_email cleanup
invite_only_email_head()
{
	atf_set "descr" "invite-only: the invited address signs up without" \
	    "the token and gets the role once verified; an expired" \
	    "invitation admits nobody, with or without its token"
	e2e_head
}
invite_only_email_body()
{
	inv_start "signup invite-only"
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" user invite \
	    gil@example.org --role editor
	e2e_next_mail
	atf_check_equal 200 "$(signup Gil@example.org)"
	atf_check -o inline:'"user"\nfalse\n' \
	    jq '.user.role, .user.emailVerified' "$W/body"
	e2e_next_mail
	atf_check_equal gil@example.org "$TO"
	atf_check_equal 302 "$(curl -s -o /dev/null -w '%{http_code}' "$LINK")"
	atf_check_equal 'editor|t' "$(sql "select role, email_verified
	    from users where email = 'gil@example.org'")"

	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" user invite \
	    hal@example.org --role editor
	e2e_next_mail
	tok=$(echo "$LINK" | sed 's/.*invite=\([A-Za-z0-9]*\).*/\1/')
	sql "update invitations set expires_at = now() - interval '1 minute'
	    where email = 'hal@example.org'" >/dev/null
	atf_check -o not-match:'hal@' "$CERTAOSCTL" -s "$W/ctl.sock" \
	    user invites
	atf_check_equal 403 "$(signup hal@example.org ",\"invite\":\"$tok\"")"
	atf_check -o inline:'"INVITATION_REQUIRED"\n' jq .code "$W/body"
	atf_check_equal 403 "$(signup hal@example.org)"
	atf_check -o inline:'"INVITATION_REQUIRED"\n' jq .code "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from users
	    where email = 'hal@example.org'")"
}
invite_only_email_cleanup()
{
	inv_cleanup
}

atf_test_case no_verification cleanup
no_verification_head()
{
	atf_set "descr" "with email verification off, a sign-up of an invited" \
	    "address redeems the invitation at once"
	e2e_head
}
no_verification_body()
{
	inv_start "email verification off"
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" user invite dee@example.org --role admin
	e2e_next_mail
	atf_check_equal 200 "$(signup DEE@example.org)"
	atf_check -o inline:'"admin"\n' jq .user.role "$W/body"
}
no_verification_cleanup()
{
	inv_cleanup
}

atf_test_case closed cleanup
closed_head()
{
	atf_set "descr" "signup closed refuses every sign-up"
	e2e_head
}
closed_body()
{
	inv_start "signup closed"
	atf_check_equal 400 "$(signup a@example.org)"
	atf_check -o inline:'{"message":"Email and password sign up is not enabled","code":"EMAIL_PASSWORD_SIGN_UP_DISABLED"}' \
	    cat "$W/body"
	atf_check_equal 0 "$(sql "select count(*) from users")"
}
closed_cleanup()
{
	inv_cleanup
}

atf_test_case refused cleanup
refused_head()
{
	atf_set "descr" "user invite refuses a bad address, role, attribute" \
	    "or duration; nothing is stored or mailed"
	e2e_head
}
refused_body()
{
	inv_start
	atf_check -s exit:1 -e match:'--role is required' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite a@example.org
	atf_check -s exit:1 -e match:'not an email address' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite 'a b@example.org' --role x
	atf_check -s exit:1 -e match:'a role has' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite a@example.org --role 'x y'
	atf_check -s exit:1 -e match:'an attribute is' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite a@example.org --role x --attr 'a b=1'
	atf_check -s exit:1 -e match:'KEY=VALUE' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite a@example.org --role x --attr novalue
	atf_check -s exit:1 -e match:'1s to 365d' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invite a@example.org --role x --expires 400d
	atf_check_equal 0 "$(sql "select count(*) from invitations")"
	sleep 1
	atf_check_equal 0 "$(ls "$D" | wc -l)"
	atf_check -o inline:'EMAIL                            ROLE         INVITED              EXPIRES              ATTRIBUTES\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" user invites
}
refused_cleanup()
{
	inv_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case invite_only
	atf_add_test_case invite_only_email
	atf_add_test_case by_email
	atf_add_test_case no_verification
	atf_add_test_case closed
	atf_add_test_case refused
}
