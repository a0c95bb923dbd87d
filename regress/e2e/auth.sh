# End to end: the Better Auth core endpoints (sign-up, sign-in,
# get-session, sign-out) against a real certaosd and PostgreSQL.  The
# expected shapes were taken from Better Auth 1.7.5 (../shared/reference).

. "$(atf_get_srcdir)/lib.subr"

# POST a JSON body: auth_post PATH BODY [curl args...]; sets $W/body,
# $W/headers, prints the status.
auth_post()
{
	_path=$1; _body=$2; shift 2
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
	    -H 'content-type: application/json' "$@" --data-binary "$_body" \
	    "http://127.0.0.1:$PORT/api/auth$_path"
}

# The Origin our issuer has: trusted without configuration.
auth_origin()
{
	echo "origin: http://127.0.0.1:$PORT"
}

auth_signup()
{
	auth_post /sign-up/email \
	    "{\"name\":\"$1\",\"email\":\"$2\",\"password\":\"$3\"}" \
	    -H "$(auth_origin)"
}

# the session cookie's value (still %-encoded) from the last headers
auth_cookie()
{
	sed -n 's/^[Ss]et-[Cc]ookie: certaos\.session_token=\([^;]*\);.*/\1/p' \
	    "$W/headers" | tr -d '\r' | head -1
}

# Rate limits have their own test (ratelimit.sh): off here, where one
# client signs in many times in a row.
auth_start()
{
	e2e_init
	e2e_conf "rate-limit off" "$@"
	e2e_start
}

atf_test_case signup cleanup
signup_head()
{
	atf_set "descr" "sign-up returns the token and the user in Better" \
	    "Auth's shape, with its cookie and set-auth-token"
	e2e_head
}
signup_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup Alice Alice@Example.COM \
	    password123)"
	b=$W/body
	atf_check -o inline:'["token","user"]\n' jq -c keys_unsorted "$b"
	atf_check -o inline:'["name","email","emailVerified","image","createdAt","updatedAt","twoFactorEnabled","role","banned","banReason","banExpires","id"]\n' \
	    jq -c '.user | keys_unsorted' "$b"
	# emails are stored and returned in lower case
	atf_check -o inline:'"alice@example.com"\n' jq .user.email "$b"
	atf_check -o inline:'"Alice" false null "user" false null null false\n' \
	    sh -c "jq -r '[.user.name, .user.emailVerified, .user.image,
	    .user.role, .user.banned, .user.banReason, .user.banExpires,
	    .user.twoFactorEnabled] | map(tojson) | join(\" \")' $b"
	atf_check -o match:'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$' \
	    jq -r .user.createdAt "$b"
	token=$(jq -r .token "$b")
	echo "$token" | grep -Eq '^[A-Za-z0-9]{32}$' ||
	    atf_fail "token $token is not 32 alphanumerics"

	# the cookie: token.signature, %-encoded, and its attributes
	atf_check -o match:"^Set-Cookie: certaos\.session_token=$token\.[A-Za-z0-9%]+; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax[^;]*$" \
	    grep -i '^set-cookie: certaos.session_token=' "$W/headers"
	atf_check -o match:"^set-auth-token: $token\.[A-Za-z0-9+/]{43}=" \
	    grep -i '^set-auth-token:' "$W/headers"
	atf_check -o match:'^Access-Control-Expose-Headers: set-auth-token' \
	    grep -i '^access-control-expose-headers:' "$W/headers"
	# plain HTTP: no Secure attribute, no __Secure- prefix
	if grep -qi 'secure' "$W/headers"; then
		atf_fail "Secure cookie on plain HTTP"
	fi

	# the same email again, in another case: 422
	atf_check_equal 422 "$(auth_signup Other ALICE@example.com \
	    password456)"
	atf_check -o inline:'{"message":"User already exists. Use another email.","code":"USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"}' \
	    cat "$b"
	atf_check_equal 1 "$(e2e_psql "$DB" -tA -c \
	    "select count(*) from users")"
}
signup_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case signin cleanup
signin_head()
{
	atf_set "descr" "sign-in: right, wrong and unknown; the two failures" \
	    "cannot be told apart"
	e2e_head
}
signin_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup Bob bob@example.com password123)"
	uid=$(jq -r .user.id "$W/body")

	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"BOB@example.com","password":"password123"}' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'["redirect","token","user"]\n' \
	    jq -c keys_unsorted "$W/body"
	atf_check -o inline:"false\n\"$uid\"\n" jq '.redirect, .user.id' \
	    "$W/body"
	atf_check -o match:'^Set-Cookie: certaos\.session_token=' \
	    cat "$W/headers"

	# with a callbackURL: redirect true, url echoed
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"bob@example.com","password":"password123","callbackURL":"/dashboard"}' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'["redirect","token","url","user"]\n' \
	    jq -c keys_unsorted "$W/body"
	atf_check -o inline:'true\n"/dashboard"\n' jq '.redirect, .url' \
	    "$W/body"

	atf_check_equal 401 "$(auth_post /sign-in/email \
	    '{"email":"bob@example.com","password":"wrong-password"}' \
	    -H "$(auth_origin)")"
	cp "$W/body" "$W/wrong"
	atf_check_equal 401 "$(auth_post /sign-in/email \
	    '{"email":"nobody@example.com","password":"wrong-password"}' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}' \
	    cat "$W/body"
	atf_check cmp "$W/body" "$W/wrong"
	if grep -qi '^set-cookie' "$W/headers"; then
		atf_fail "a failed sign-in set a cookie"
	fi

	# two sessions now (sign-up, sign-in twice), stored as hashes only
	atf_check_equal 3 "$(e2e_psql "$DB" -tA -c \
	    "select count(*) from sessions where user_id = '$uid'")"
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"bob@example.com","password":"password123"}' \
	    -H "$(auth_origin)")"
	tok=$(jq -r .token "$W/body")
	atf_check_equal 1 "$(e2e_psql "$DB" -tA -c \
	    "select count(*) from sessions where token_hash = sha256('$tok')")"
	e2e_psql "$DB" -tA -c "select * from sessions" > "$W/rows"
	if grep -q -F "$tok" "$W/rows"; then
		atf_fail "a session token is stored in clear"
	fi
	e2e_psql "$DB" -tA -c "select password from accounts" > "$W/rows"
	atf_check -o match:'^\$argon2id\$v=19\$m=19456,t=2,p=1\$' cat "$W/rows"
}
signin_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case session cleanup
session_head()
{
	atf_set "descr" "get-session by cookie, by signed and raw bearer;" \
	    "sign-out takes effect at once"
	e2e_head
}
session_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup Carol carol@example.com \
	    password123)"
	tok=$(jq -r .token "$W/body")
	uid=$(jq -r .user.id "$W/body")
	cookie=$(auth_cookie)
	signed=$(sed -n 's/^set-auth-token: //p' "$W/headers" | tr -d '\r')

	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: other=1; certaos.session_token=$cookie" \
	    -A 'test-agent/1.0')"
	atf_check -o inline:'["session","user"]\n' jq -c keys_unsorted \
	    "$W/body"
	atf_check -o inline:'["expiresAt","token","createdAt","updatedAt","ipAddress","userAgent","userId","activeOrganizationId","impersonatedBy","id"]\n' \
	    jq -c '.session | keys_unsorted' "$W/body"
	atf_check -o inline:"\"$tok\"\n\"$uid\"\n\"$uid\"\n\"carol@example.com\"\n" \
	    jq '.session.token, .session.userId, .user.id, .user.email' \
	    "$W/body"
	atf_check -o inline:'"127.0.0.1"\n' jq .session.ipAddress "$W/body"
	# expiry: seven days after creation
	atf_check -o inline:'604800\n' jq '((.session.expiresAt |
	    sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.session.createdAt |
	    sub("\\.[0-9]+Z$"; "Z") | fromdate))' "$W/body"

	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $signed")"
	atf_check -o inline:"\"$tok\"\n" jq .session.token "$W/body"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $tok")"
	atf_check -o inline:"\"$tok\"\n" jq .session.token "$W/body"

	# nothing: null; a badly signed cookie: null, cookies left alone
	atf_check_equal 200 "$(e2e_get /api/auth/get-session)"
	atf_check -o inline:'null' cat "$W/body"
	bad="$tok.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$bad")"
	atf_check -o inline:'null' cat "$W/body"
	if grep -qi '^set-cookie' "$W/headers"; then
		atf_fail "a badly signed cookie was cleared"
	fi
	# an unsigned token in the cookie is refused (bearer only)
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$tok")"
	atf_check -o inline:'null' cat "$W/body"

	# sign-out, then the cookie and both bearers are dead at once
	atf_check_equal 200 "$(curl -s -o "$W/body" -D "$W/headers" \
	    -w '%{http_code}' -X POST -H "$(auth_origin)" \
	    -H "cookie: certaos.session_token=$cookie" \
	    "http://127.0.0.1:$PORT/api/auth/sign-out")"
	atf_check -o inline:'{"success":true}' cat "$W/body"
	atf_check -o match:'^Set-Cookie: certaos\.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax' \
	    cat "$W/headers"
	atf_check_equal 0 "$(e2e_psql "$DB" -tA -c \
	    "select count(*) from sessions")"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$cookie")"
	atf_check -o inline:'null' cat "$W/body"
	# a well-signed token for no session clears the stale cookies
	atf_check -o match:'^Set-Cookie: certaos\.session_token=; Max-Age=0' \
	    cat "$W/headers"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $signed")"
	atf_check -o inline:'null' cat "$W/body"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $tok")"
	atf_check -o inline:'null' cat "$W/body"
}
session_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case remember cleanup
remember_head()
{
	atf_set "descr" "rememberMe false: a browser-session cookie and a" \
	    "shorter server-side session"
	e2e_head
}
remember_body()
{
	auth_start
	atf_check_equal 200 "$(auth_post /sign-up/email \
	    '{"name":"D","email":"d@example.com","password":"password123","rememberMe":false}' \
	    -H "$(auth_origin)")"
	atf_check -o match:'^Set-Cookie: certaos\.session_token=[^;]+; Path=/; HttpOnly; SameSite=Lax' \
	    grep -i '^set-cookie: certaos.session_token' "$W/headers"
	if grep -i '^set-cookie: certaos.session_token' "$W/headers" |
	    grep -qi 'max-age'; then
		atf_fail "rememberMe false still gave a persistent cookie"
	fi
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: certaos\.session_token=\([^;]*\);.*/\1/p' \
	    "$W/headers" | tr -d '\r')
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$cookie")"
	atf_check -o inline:'86400\n' jq '((.session.expiresAt |
	    sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.session.createdAt |
	    sub("\\.[0-9]+Z$"; "Z") | fromdate))' "$W/body"
}
remember_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case validation cleanup
validation_head()
{
	atf_set "descr" "bad input gets Better Auth's 4xx and codes, never" \
	    "a 5xx, and the daemon keeps serving"
	e2e_head
}
validation_body()
{
	auth_start
	o=$(auth_origin)
	p128=$(printf 'p%.0s' $(seq 128))
	check() {
		_want=$1; _code=$2; _body=$3; shift 3
		_got=$(auth_post /sign-up/email "$_body" -H "$o" "$@")
		[ "$_got" = "$_want" ] ||
		    atf_fail "$_body: status $_got, want $_want"
		jq -e --arg c "$_code" '.code == $c' "$W/body" >/dev/null ||
		    atf_fail "$_body: body $(cat "$W/body"), want $_code"
	}
	check 400 PASSWORD_TOO_SHORT \
	    '{"name":"a","email":"a@example.com","password":"1234567"}'
	check 400 PASSWORD_TOO_LONG \
	    "{\"name\":\"a\",\"email\":\"a@example.com\",\"password\":\"x$p128\"}"
	# 100 characters but 200 bytes: over what keys takes, refused here
	e100=$(printf '\303\251%.0s' $(seq 100))
	check 400 PASSWORD_TOO_LONG \
	    "{\"name\":\"a\",\"email\":\"a@example.com\",\"password\":\"$e100\"}"
	atf_check_equal 401 "$(auth_post /sign-in/email \
	    "{\"email\":\"a@example.com\",\"password\":\"$e100\"}" -H "$o")"
	check 400 VALIDATION_ERROR \
	    '{"name":"a","email":"foo","password":"password123"}'
	check 400 VALIDATION_ERROR \
	    '{"name":"a","email":" a@example.com ","password":"password123"}'
	check 400 VALIDATION_ERROR '{"email":"a@example.com","password":"password123"}'
	check 400 VALIDATION_ERROR \
	    '{"name":5,"email":"a@example.com","password":"password123"}'
	check 400 VALIDATION_ERROR \
	    '{"name":"a","email":"a@example.com","password":"password123","rememberMe":"no"}'
	check 400 VALIDATION_ERROR '[1,2]'
	check 400 BAD_REQUEST '{"name":"a",'
	check 400 BAD_REQUEST '{"name":"\xff\xfe"}'
	check 415 UNSUPPORTED_MEDIA_TYPE \
	    '{"name":"a","email":"a@example.com","password":"password123"}' \
	    -H 'content-type: text/plain'
	check 403 INVALID_CALLBACK_URL \
	    '{"name":"a","email":"a@example.com","password":"password123","callbackURL":"http://evil.example/"}'
	check 403 INVALID_CALLBACK_URL \
	    '{"name":"a","email":"a@example.com","password":"password123","callbackURL":"//evil.example/"}'
	# Better Auth's origin check reads four fields of any POST body
	cred='"email":"a@example.com","password":"password123"'
	for f in errorCallbackURL:ERROR_CALLBACK_URL \
	    newUserCallbackURL:NEW_USER_CALLBACK_URL \
	    redirectTo:REDIRECT_URL callbackURL:CALLBACK_URL; do
		atf_check_equal 403 "$(auth_post /sign-in/email \
		    "{$cred,\"${f%%:*}\":\"https://evil.example/x\"}" -H "$o")"
		atf_check -o inline:"\"INVALID_${f#*:}\"\n" jq .code "$W/body"
	done
	atf_check_equal 403 "$(auth_post /sign-in/email \
	    "{$cred,\"redirectTo\":\"//evil.example/\"}" -H "$o")"
	atf_check -o inline:'{"message":"Invalid redirectURL","code":"INVALID_REDIRECT_URL"}' \
	    cat "$W/body"
	# in that order: callbackURL first
	atf_check_equal 403 "$(auth_post /sign-in/email \
	    "{$cred,\"errorCallbackURL\":\"http://evil.example/\",\"callbackURL\":\"http://evil.example/\"}" \
	    -H "$o")"
	atf_check -o inline:'"INVALID_CALLBACK_URL"\n' jq .code "$W/body"
	# the query's callbackURL when the body has none
	atf_check_equal 403 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    -H 'content-type: application/json' -H "$o" --data-binary "{$cred}" \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email?callbackURL=https://evil.example/")"
	atf_check -o inline:'"INVALID_CALLBACK_URL"\n' jq .code "$W/body"
	# not a string: 400 without a code, as Better Auth
	atf_check_equal 400 "$(auth_post /sign-in/email \
	    "{$cred,\"errorCallbackURL\":5}" -H "$o")"
	atf_check -o inline:'{"message":"Invalid errorCallbackURL: expected a string"}' \
	    cat "$W/body"
	# relative paths a browser could take for another host
	for u in '/\\evil.example' '/%2F%2Fevil.example' '/a%5cb' '/a\tb'; do
		atf_check_equal 403 "$(auth_post /sign-in/email \
		    "{$cred,\"callbackURL\":\"$u\"}" -H "$o")"
	done
	# routes that do not read the field are checked as well
	atf_check_equal 403 "$(auth_post /sign-out \
	    '{"errorCallbackURL":"https://evil.example/"}' -H "$o")"
	atf_check -o inline:'"INVALID_ERROR_CALLBACK_URL"\n' jq .code "$W/body"
	atf_check_equal 403 "$(auth_post /request-password-reset \
	    '{"email":"a@example.com","redirectTo":"https://evil.example/"}' -H "$o")"
	atf_check -o inline:'"INVALID_REDIRECT_URL"\n' jq .code "$W/body"
	atf_check_equal 403 "$(auth_post /change-email \
	    '{"newEmail":"b@example.com","callbackURL":"https://evil.example/"}' -H "$o")"
	atf_check -o inline:'"INVALID_CALLBACK_URL"\n' jq .code "$W/body"
	atf_check_equal 403 "$(auth_post /delete-user \
	    '{"callbackURL":"https://evil.example/"}' -H "$o")"
	atf_check -o inline:'"INVALID_CALLBACK_URL"\n' jq .code "$W/body"
	# what is fine passes on to the route (no such user: 401)
	atf_check_equal 401 "$(auth_post /sign-in/email \
	    "{$cred,\"callbackURL\":\"/dashboard?x=1\",\"errorCallbackURL\":\"http://127.0.0.1:$PORT/err\",\"newUserCallbackURL\":\"\"}" \
	    -H "$o")"
	# no body and no content type at all
	atf_check_equal 400 "$(curl -s -o "$W/body" -w '%{http_code}' -X POST \
	    -H "$o" "http://127.0.0.1:$PORT/api/auth/sign-up/email")"
	atf_check -o inline:'"VALIDATION_ERROR"\n' jq .code "$W/body"
	# wrong method: 405 naming the right one (Better Auth says 404)
	atf_check_equal 405 "$(e2e_get /api/auth/sign-in/email)"
	atf_check -o match:'^Allow: POST' cat "$W/headers"
	atf_check_equal 200 "$(e2e_get '/api/auth/ok?x=1')"
	atf_check -o inline:'{"ok":true}' cat "$W/body"
	atf_check_equal 404 "$(e2e_get /api/auth/ok/)"
	# 128 characters is the longest accepted; 8 the shortest
	atf_check_equal 200 "$(auth_signup a a@example.com "$p128")"
	atf_check_equal 200 "$(auth_signup b b@example.com 12345678)"
	# ... and nothing went wrong inside
	atf_check_equal 200 "$(e2e_get /health)"
	atf_check_equal 2 "$(e2e_psql "$DB" -tA -c \
	    "select count(*) from users")"
}
validation_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case origin cleanup
origin_head()
{
	atf_set "descr" "cookie-authenticated state changes need a trusted" \
	    "Origin; bearer requests do not"
	e2e_head
}
origin_body()
{
	auth_start 'trusted-origins { "http://app.example:3000" }'
	atf_check_equal 200 "$(auth_signup E e@example.com password123)"
	cookie=$(auth_cookie)
	signed=$(sed -n 's/^set-auth-token: //p' "$W/headers" | tr -d '\r')
	out() {
		curl -s -o "$W/body" -w '%{http_code}' -X POST "$@" \
		    "http://127.0.0.1:$PORT/api/auth/sign-out"
	}
	c="cookie: certaos.session_token=$cookie"
	atf_check_equal 403 "$(out -H "$c" -H 'origin: http://evil.example')"
	atf_check -o inline:'{"message":"Invalid origin","code":"INVALID_ORIGIN"}' \
	    cat "$W/body"
	atf_check_equal 403 "$(out -H "$c")"
	atf_check -o inline:'{"message":"Missing or null Origin","code":"MISSING_OR_NULL_ORIGIN"}' \
	    cat "$W/body"
	atf_check_equal 403 "$(out -H "$c" -H 'origin: null')"
	atf_check -o inline:'"MISSING_OR_NULL_ORIGIN"\n' jq .code "$W/body"
	# the session survived all three
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -H "$c")"
	atf_check -o inline:'"e@example.com"\n' jq .user.email "$W/body"
	# a configured trusted origin may sign in with the cookie on
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"e@example.com","password":"password123","callbackURL":"http://app.example:3000/home"}' \
	    -H "$c" -H 'origin: http://app.example:3000')"
	# GET is never checked; a bearer request carries no cookie risk
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -H "$c" \
	    -H 'origin: http://evil.example')"
	atf_check -o inline:'"e@example.com"\n' jq .user.email "$W/body"
	atf_check_equal 200 "$(out -H "authorization: Bearer $signed")"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -H "$c")"
	atf_check -o inline:'null' cat "$W/body"
}
origin_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case secrets cleanup
secrets_head()
{
	atf_set "descr" "the db process never sees a plaintext password or" \
	    "token; web never holds a password hash"
	e2e_head
}
secrets_body()
{
	auth_start
	pw=Pw-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
	atf_check_equal 200 "$(auth_signup F f@example.com "$pw")"
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    "{\"email\":\"f@example.com\",\"password\":\"$pw\"}" \
	    -H "$(auth_origin)")"
	tok=$(jq -r .token "$W/body")
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $tok")"
	hash=$(e2e_psql "$DB" -tA -c "select password from accounts")

	dbpid=$(e2e_child_pid certaos-db 1)
	e2e_memdump "$dbpid" "$W/db.mem"
	grep -a -q -F "$hash" "$W/db.mem" ||
	    atf_fail "scan does not work: the hash is not in db's memory"
	if grep -a -q -F "$pw" "$W/db.mem"; then
		atf_fail "db holds the plaintext password"
	fi
	if grep -a -q -F "$tok" "$W/db.mem"; then
		atf_fail "db holds a plaintext session token"
	fi
	for n in 1 2; do
		pid=$(e2e_child_pid certaos-web $n)
		e2e_memdump "$pid" "$W/web$n.mem"
		if grep -a -q -F "$hash" "$W/web$n.mem"; then
			atf_fail "web[$n] holds a password hash"
		fi
	done
}
secrets_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case manage cleanup
manage_head()
{
	atf_set "descr" "list-sessions hands out handles, not other sessions'" \
	    "tokens; the revokes act on the user's own sessions at once"
	e2e_head
}
manage_body()
{
	auth_start
	o=$(auth_origin)
	signin() {
		auth_post /sign-in/email \
		    '{"email":"g@example.com","password":"password123"}' \
		    -H "$o" -A "$1" >/dev/null
		jq -r .token "$W/body"
	}
	alive() {
		e2e_get /api/auth/get-session \
		    -H "authorization: Bearer $1" >/dev/null
		jq -r 'if . == null then "dead" else "alive" end' "$W/body"
	}
	atf_check_equal 200 "$(auth_signup G g@example.com password123)"
	a=$(jq -r .token "$W/body")
	b=$(signin agent-b)
	c=$(signin agent-c)
	atf_check_equal 200 "$(auth_signup H h@example.com password123)"
	other=$(jq -r .token "$W/body")

	atf_check_equal 200 "$(e2e_get /api/auth/list-sessions \
	    -H "authorization: Bearer $a")"
	atf_check -o inline:'3\n' jq length "$W/body"
	atf_check -o inline:'["expiresAt","token","createdAt","updatedAt","ipAddress","userAgent","userId","activeOrganizationId","impersonatedBy","id"]\n' \
	    jq -c '.[0] | keys_unsorted' "$W/body"
	# the asking session shows its token, the others their handle
	atf_check -o inline:'1\n' jq --arg t "$a" '[.[] | select(.token ==
	    $t)] | length' "$W/body"
	for t in "$b" "$c"; do
		if grep -q -F "$t" "$W/body"; then
			atf_fail "list-sessions gave out another session's token"
		fi
	done
	hc=$(jq -r '.[] | select(.userAgent == "agent-c") | .token' "$W/body")
	[ "$hc" = "$(jq -r '.[] | select(.userAgent == "agent-c") | .id' \
	    "$W/body")" ] || atf_fail "the handle is not the session id"

	rev() {
		auth_post "$1" "$2" -H "authorization: Bearer $a"
	}
	# by token, by handle; another user's session is out of reach
	atf_check_equal 200 "$(rev /revoke-session "{\"token\":\"$b\"}")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	atf_check_equal dead "$(alive "$b")"
	atf_check_equal 200 "$(rev /revoke-session "{\"token\":\"$hc\"}")"
	atf_check_equal dead "$(alive "$c")"
	atf_check_equal 200 "$(rev /revoke-session \
	    "{\"token\":\"$other\"}")"
	atf_check_equal alive "$(alive "$other")"
	atf_check_equal alive "$(alive "$a")"
	atf_check_equal 400 "$(rev /revoke-session '{}')"
	atf_check -o inline:'"VALIDATION_ERROR"\n' jq .code "$W/body"

	d=$(signin agent-d)
	atf_check_equal 200 "$(rev /revoke-other-sessions '{}')"
	atf_check_equal dead "$(alive "$d")"
	atf_check_equal alive "$(alive "$a")"
	atf_check_equal 200 "$(rev /revoke-sessions '{}')"
	atf_check_equal dead "$(alive "$a")"
	atf_check_equal alive "$(alive "$other")"
	# each revoke is in the audit trail, with the client's address
	atf_check_equal 'revoke-other-sessions revoke-session revoke-sessions' \
	    "$(e2e_psql "$DB" -tA -c "select string_agg(distinct event, ' '
	    order by event) from audit_log where event like 'revoke%'")"
	atf_check_equal 0 "$(e2e_psql "$DB" -tA -c "select count(*)
	    from audit_log where event like 'revoke%' and
	    (ip is distinct from '127.0.0.1' or user_agent not like 'curl/%')")"

	# no session: 401; a cookie from a foreign origin: 403
	atf_check_equal 401 "$(e2e_get /api/auth/list-sessions)"
	atf_check -o inline:'{"message":"Unauthorized","code":"UNAUTHORIZED"}' \
	    cat "$W/body"
	atf_check_equal 401 "$(rev /revoke-sessions '{}')"
	e=$(signin agent-e)
	atf_check_equal 403 "$(auth_post /revoke-sessions '{}' \
	    -H 'origin: http://evil.example' \
	    -H "cookie: certaos.session_token=$e")"
}
manage_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case scrypt cleanup
scrypt_head()
{
	atf_set "descr" "a user moved over from Better Auth, with its scrypt" \
	    "hash, signs in with the old password"
	e2e_head
}
scrypt_body()
{
	auth_start
	# /health answers once the migrations ran
	atf_check_equal 200 "$(e2e_get /health)"
	# made by Better Auth 1.7.5 for "password123"
	h=b5041974388c5abf38bfca82760a7e50:23dac3a1cf18ace1674fbd8be39d8b9ccd3a360dd238f612efbdc9b0a8201c03719dc42f8c4df7047b7b498d61b81c2077aaabe21df6b73f8a06e9a7be88a018
	e2e_psql "$DB" -c "insert into users (id, name, email)
	    values ('u1', 'Old', 'old@example.com');
	    insert into accounts (account_id, provider_id, user_id, password)
	    values ('u1', 'credential', 'u1', '$h')" >/dev/null ||
	    atf_fail "cannot insert the imported user"
	atf_check_equal 401 "$(auth_post /sign-in/email \
	    '{"email":"old@example.com","password":"password124"}' \
	    -H "$(auth_origin)")"
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"old@example.com","password":"password123"}' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'"u1"\n' jq .user.id "$W/body"
}
scrypt_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case account cleanup
account_head()
{
	atf_set "descr" "update-user and change-password; an imported scrypt" \
	    "hash becomes argon2id at its first sign-in"
	e2e_head
}
account_body()
{
	auth_start
	o=$(auth_origin)
	atf_check_equal 200 "$(auth_signup K k@example.com password123)"
	t=$(jq -r .token "$W/body")
	b="authorization: Bearer $t"

	atf_check_equal 200 "$(auth_post /update-user \
	    '{"name":"Kay","image":"https://img.example/k.png"}' -H "$b")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -H "$b")"
	atf_check -o inline:'"Kay"\n"https://img.example/k.png"\n' \
	    jq '.user.name, .user.image' "$W/body"
	atf_check_equal 200 "$(auth_post /update-user '{"image":null}' \
	    -H "$b")"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session -H "$b")"
	atf_check -o inline:'"Kay"\nnull\n' jq '.user.name, .user.image' \
	    "$W/body"
	atf_check_equal 400 "$(auth_post /update-user \
	    '{"email":"x@example.com"}' -H "$b")"
	atf_check -o inline:'"EMAIL_CAN_NOT_BE_UPDATED"\n' jq .code "$W/body"
	atf_check_equal 400 "$(auth_post /update-user '{}' -H "$b")"
	atf_check_equal 401 "$(auth_post /update-user '{"name":"x"}')"

	# verify-password
	atf_check_equal 200 "$(auth_post /verify-password \
	    '{"password":"password123"}' -H "$b")"
	atf_check -o inline:'{"status":true}' cat "$W/body"
	atf_check_equal 400 "$(auth_post /verify-password \
	    '{"password":"wrong1234"}' -H "$b")"
	atf_check -o inline:'{"message":"Invalid password","code":"INVALID_PASSWORD"}' \
	    cat "$W/body"
	atf_check_equal 400 "$(auth_post /verify-password '{}' -H "$b")"
	atf_check -o inline:'"VALIDATION_ERROR"\n' jq .code "$W/body"
	atf_check_equal 401 "$(auth_post /verify-password \
	    '{"password":"password123"}')"

	# change-password: no session, wrong current, too short, right
	atf_check_equal 401 "$(auth_post /change-password \
	    '{"currentPassword":"password123","newPassword":"password456"}' \
	    -H "$o")"
	atf_check -o inline:'{"message":"Unauthorized","code":"UNAUTHORIZED"}' \
	    cat "$W/body"
	atf_check_equal 400 "$(auth_post /change-password \
	    '{"currentPassword":"nope12345","newPassword":"newpass123"}' \
	    -H "$b")"
	atf_check -o inline:'{"message":"Invalid password","code":"INVALID_PASSWORD"}' \
	    cat "$W/body"
	atf_check_equal 400 "$(auth_post /change-password \
	    '{"currentPassword":"password123","newPassword":"short"}' \
	    -H "$b")"
	atf_check -o inline:'"PASSWORD_TOO_SHORT"\n' jq .code "$W/body"
	atf_check_equal 200 "$(auth_post /change-password \
	    '{"currentPassword":"password123","newPassword":"newpass123"}' \
	    -H "$b")"
	atf_check -o inline:'null\n"k@example.com"\n' \
	    jq '.token, .user.email' "$W/body"
	atf_check_equal 401 "$(auth_post /sign-in/email \
	    '{"email":"k@example.com","password":"password123"}' -H "$o")"
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"k@example.com","password":"newpass123"}' -H "$o")"
	t2=$(jq -r .token "$W/body")
	# revokeOtherSessions: every old session goes, a new one comes
	atf_check_equal 200 "$(auth_post /change-password \
	    '{"currentPassword":"newpass123","newPassword":"newpass456","revokeOtherSessions":true}' \
	    -H "$b")"
	t3=$(jq -r .token "$W/body")
	echo "$t3" | grep -Eq '^[A-Za-z0-9]{32}$' ||
	    atf_fail "no new session token: $t3"
	atf_check -o match:'^Set-Cookie: certaos\.session_token=' \
	    cat "$W/headers"
	for x in "$t" "$t2"; do
		e2e_get /api/auth/get-session \
		    -H "authorization: Bearer $x" >/dev/null
		atf_check -o inline:'null' cat "$W/body"
	done
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "authorization: Bearer $t3")"
	atf_check -o inline:'"k@example.com"\n' jq .user.email "$W/body"

	# an imported scrypt hash is replaced by argon2id on sign-in
	h=b5041974388c5abf38bfca82760a7e50:23dac3a1cf18ace1674fbd8be39d8b9ccd3a360dd238f612efbdc9b0a8201c03719dc42f8c4df7047b7b498d61b81c2077aaabe21df6b73f8a06e9a7be88a018
	e2e_psql "$DB" -c "insert into users (id, name, email)
	    values ('u1', 'Old', 'old@example.com');
	    insert into accounts (account_id, provider_id, user_id, password)
	    values ('u1', 'credential', 'u1', '$h')" >/dev/null
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"old@example.com","password":"password123"}' -H "$o")"
	n=0
	until e2e_psql "$DB" -tA -c "select password from accounts where
	    user_id = 'u1'" | grep -q '^\$argon2id\$'; do
		n=$((n + 1))
		[ $n -lt 50 ] || atf_fail "the scrypt hash was not replaced"
		sleep 0.1
	done
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"old@example.com","password":"password123"}' -H "$o")"
}
account_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case jwt cleanup
jwt_head()
{
	atf_set "descr" "/token: an RS256 JWT of the session's user, with a" \
	    "kid from the JWKS"
	e2e_head
}
jwt_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup J j@example.com password123)"
	t=$(jq -r .token "$W/body")
	uid=$(jq -r .user.id "$W/body")
	atf_check_equal 401 "$(e2e_get /api/auth/token)"
	atf_check_equal 200 "$(e2e_get /api/auth/token \
	    -H "authorization: Bearer $t")"
	jwt=$(jq -r .token "$W/body")
	b64d() {
		_s=$(echo "$1" | tr '_-' '/+')
		case $((${#_s} % 4)) in
		2) _s="$_s==" ;;
		3) _s="$_s=" ;;
		esac
		echo "$_s" | base64 -d
	}
	b64d "$(echo "$jwt" | cut -d. -f1)" > "$W/hdr"
	b64d "$(echo "$jwt" | cut -d. -f2)" > "$W/claims"
	atf_check -o inline:'"RS256"\n' jq .alg "$W/hdr"
	kid=$(jq -r .kid "$W/hdr")
	atf_check_equal 200 "$(e2e_get /api/auth/jwks)"
	atf_check -o inline:'"RS256"\n' jq --arg k "$kid" \
	    '.keys[] | select(.kid == $k) | .alg' "$W/body"
	atf_check -o inline:"\"$uid\"\n\"$uid\"\n\"j@example.com\"\n900\n" \
	    jq '.sub, .id, .email, .exp - .iat' "$W/claims"
	atf_check -o inline:"\"http://127.0.0.1:$PORT\"\n\"http://127.0.0.1:$PORT\"\n" \
	    jq '.iss, .aud' "$W/claims"
}
jwt_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

# POST a form body: auth_form PATH BODY [curl args...], as auth_post
auth_form()
{
	_path=$1; _body=$2; shift 2
	curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
	    -H 'content-type: application/x-www-form-urlencoded' "$@" \
	    --data-binary "$_body" "http://127.0.0.1:$PORT/api/auth$_path"
}

atf_test_case form cleanup
form_head()
{
	atf_set "descr" "sign-up and sign-in take form-encoded bodies as" \
	    "Better Auth does (every value a string); other routes do not"
	e2e_head
}
form_body()
{
	auth_start
	# %-escapes and '+' decode; the name keeps its spaces
	atf_check_equal 200 "$(auth_form /sign-up/email \
	    'name=Form+User%20%C3%A9&email=Form%40Example.com&password=password123&callbackURL=%2Fhome' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'"Form User é"\n"form@example.com"\n' \
	    jq '.user.name, .user.email' "$W/body"
	atf_check_equal 200 "$(auth_form /sign-in/email \
	    'email=form%40example.com&password=password123&callbackURL=/x' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'true\n"/x"\n' jq '.redirect, .url' "$W/body"
	atf_check_equal 401 "$(auth_form /sign-in/email \
	    'email=form%40example.com&password=wrong-password')"
	atf_check -o match:'"INVALID_EMAIL_OR_PASSWORD"' cat "$W/body"

	# a boolean cannot be written in a form: Better Auth's zod error
	atf_check_equal 400 "$(auth_form /sign-in/email \
	    'email=form%40example.com&password=password123&rememberMe=false')"
	atf_check -o inline:'{"message":"[body.rememberMe] Invalid input: expected boolean, received string","code":"VALIDATION_ERROR"}' \
	    cat "$W/body"
	# bad escapes, a decoded NUL, bad UTF-8, a repeated field: 400
	for f in 'email=a%40b.c&password=pass%zzword' \
	    'email=a%40b.c&password=pass%2' 'email=a%40b.c&pass%word=x' \
	    'email=a%40b.c&password=%FF%FEpassword'; do
		atf_check_equal 400 "$(auth_form /sign-in/email "$f")"
		atf_check -o inline:'{"message":"Invalid form data in request body","code":"BAD_REQUEST"}' \
		    cat "$W/body"
	done
	atf_check_equal 400 "$(auth_form /sign-in/email \
	    'email=a%40b.c&password=x%00y')"
	atf_check -o match:'password' cat "$W/body"
	atf_check_equal 400 "$(auth_form /sign-in/email \
	    'email=a%40b.c&password=abcdefgh&password=password123')"
	atf_check -o match:'duplicate' cat "$W/body"
	atf_check_equal 400 "$(auth_form /sign-in/email 'password=abcdefgh')"
	atf_check -o match:'body.email' cat "$W/body"
	# an empty form is no body at all
	atf_check_equal 400 "$(auth_form /sign-in/email '')"
	atf_check -o inline:'{"message":"[body] Invalid input: expected object, received undefined","code":"VALIDATION_ERROR"}' \
	    cat "$W/body"
	# the same size limit as JSON
	head -c 1100000 /dev/zero | tr '\0' a > "$W/big"
	atf_check_equal 413 "$(curl -s -o /dev/null -w '%{http_code}' \
	    -H 'content-type: application/x-www-form-urlencoded' \
	    --data-binary "@$W/big" \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email")"

	# the other routes take JSON only, and say so
	atf_check_equal 415 "$(auth_form /revoke-session 'token=x' \
	    -H "$(auth_origin)")"
	atf_check -o inline:'{"message":"Content-Type \"application/x-www-form-urlencoded\" is not allowed. Allowed types: application/json","code":"UNSUPPORTED_MEDIA_TYPE"}' \
	    cat "$W/body"
	atf_check_equal 415 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    -H 'content-type: text/plain' --data-binary x \
	    "http://127.0.0.1:$PORT/api/auth/sign-in/email")"
	atf_check -o inline:'{"message":"Content-Type \"text/plain\" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json","code":"UNSUPPORTED_MEDIA_TYPE"}' \
	    cat "$W/body"
}
form_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case fresh cleanup
fresh_head()
{
	atf_set "descr" "session fresh-age: list-sessions refuses a session" \
	    "older than it with 403 SESSION_NOT_FRESH; 0 turns it off"
	e2e_head
}
fresh_body()
{
	auth_start "session fresh-age 2s"
	atf_check_equal 200 "$(auth_signup Fay fay@example.com password123)"
	tok=$(jq -r .token "$W/body")
	list() {
		curl -s -o "$W/body" -w '%{http_code}' \
		    -H "authorization: Bearer $tok" \
		    "http://127.0.0.1:$PORT/api/auth/list-sessions"
	}
	atf_check_equal 200 "$(list)"
	atf_check -o inline:'1\n' jq length "$W/body"
	sleep 3
	atf_check_equal 403 "$(list)"
	atf_check -o inline:'{"message":"Session is not fresh","code":"SESSION_NOT_FRESH"}' \
	    cat "$W/body"
	# get-session does not care
	atf_check_equal 200 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    -H "authorization: Bearer $tok" \
	    "http://127.0.0.1:$PORT/api/auth/get-session")"
	atf_check -o inline:'"fay@example.com"\n' jq .user.email "$W/body"

	# fresh-age 0: never stale
	e2e_stop
	e2e_conf "rate-limit off" "session fresh-age 0"
	e2e_start
	atf_check_equal 200 "$(list)"
}
fresh_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case client_ip cleanup
client_ip_head()
{
	atf_set "descr" "sessions record the client's address: the peer, or" \
	    "X-Forwarded-For's last hop from a trusted proxy"
	e2e_head
}
client_ip_body()
{
	auth_start
	atf_check_equal 200 "$(auth_post /sign-up/email \
	    '{"name":"Ian","email":"ian@example.com","password":"password123"}' \
	    -H 'x-forwarded-for: 203.0.113.7')"
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"ian@example.com","password":"password123"}' \
	    -H 'x-forwarded-for: 203.0.113.7')"
	atf_check_equal "127.0.0.1 127.0.0.1" "$(e2e_psql "$DB" -tA -c \
	    "select ip_address from sessions order by created_at" | xargs)"

	e2e_stop
	e2e_conf "rate-limit off" "trusted-proxy { 127.0.0.1 }"
	e2e_start
	atf_check_equal 200 "$(auth_post /sign-in/email \
	    '{"email":"ian@example.com","password":"password123"}' \
	    -H 'x-forwarded-for: 198.51.100.1, 203.0.113.9')"
	tok=$(jq -r .token "$W/body")
	atf_check_equal 200 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    -H "authorization: Bearer $tok" \
	    "http://127.0.0.1:$PORT/api/auth/get-session")"
	atf_check -o inline:'"203.0.113.9"\n' jq .session.ipAddress "$W/body"
	# not an address: the proxy's own
	atf_check_equal 200 "$(auth_form /sign-in/email \
	    'email=ian%40example.com&password=password123' \
	    -H 'x-forwarded-for: nonsense')"
	atf_check_equal 127.0.0.1 "$(e2e_psql "$DB" -tA -c \
	    "select ip_address from sessions order by created_at desc limit 1")"
}
client_ip_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case cors cleanup
cors_head()
{
	atf_set "descr" "CORS for trusted origins only, with credentials;" \
	    "preflights from them get 204, from others 404"
	e2e_head
}
cors_body()
{
	auth_start 'trusted-origins { "http://app.example:3000" }'
	app="origin: http://app.example:3000"
	u="http://127.0.0.1:$PORT/api/auth"

	# a sign-up from the app: readable by it, token exposed
	atf_check_equal 200 "$(auth_post /sign-up/email \
	    '{"name":"Cy","email":"cy@example.com","password":"password123"}' \
	    -H "$app")"
	tr -d '\r' < "$W/headers" > "$W/h"
	atf_check -o inline:'Access-Control-Allow-Origin: http://app.example:3000\n' \
	    grep -i '^access-control-allow-origin:' "$W/h"
	atf_check -o inline:'Access-Control-Allow-Credentials: true\n' \
	    grep -i '^access-control-allow-credentials:' "$W/h"
	atf_check -o inline:'Vary: Origin\n' grep -i '^vary:' "$W/h"
	atf_check -o match:'set-auth-token' \
	    grep -i '^access-control-expose-headers:' "$W/h"
	tok=$(jq -r .token "$W/body")

	# get-session from the issuer's own origin, by bearer
	curl -s -o "$W/body" -D "$W/headers" -H "$(auth_origin)" \
	    -H "authorization: Bearer $tok" "$u/get-session"
	tr -d '\r' < "$W/headers" > "$W/h"
	atf_check -o inline:"Access-Control-Allow-Origin: http://127.0.0.1:$PORT\n" \
	    grep -i '^access-control-allow-origin:' "$W/h"
	atf_check -o match:'set-auth-jwt' \
	    grep -i '^access-control-expose-headers:' "$W/h"

	# a foreign origin, or none: no CORS header at all
	for o in "origin: http://evil.example" "origin: null" "x-no: origin"; do
		curl -s -o /dev/null -D "$W/headers" -H "$o" \
		    -H "authorization: Bearer $tok" "$u/get-session"
		if grep -qi '^access-control-allow\|^vary:' "$W/headers"; then
			atf_fail "CORS headers for $o"
		fi
	done

	# preflights
	pre() {
		curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
		    -X OPTIONS "$@"
	}
	atf_check_equal 204 "$(pre -H "$app" \
	    -H 'access-control-request-method: POST' \
	    -H 'access-control-request-headers: content-type' \
	    "$u/sign-in/email")"
	tr -d '\r' < "$W/headers" > "$W/h"
	atf_check -o inline:'Access-Control-Allow-Methods: POST\n' \
	    grep -i '^access-control-allow-methods:' "$W/h"
	atf_check -o match:'content-type, authorization' \
	    grep -i '^access-control-allow-headers:' "$W/h"
	atf_check -o inline:'Access-Control-Max-Age: 600\n' \
	    grep -i '^access-control-max-age:' "$W/h"
	atf_check -o match:'^Access-Control-Allow-Credentials: true' cat "$W/h"
	if grep -qi '^content-length:' "$W/h"; then
		atf_fail "204 with a Content-Length"
	fi
	atf_check -s exit:0 test ! -s "$W/body"
	atf_check_equal 204 "$(pre -H "$app" \
	    -H 'access-control-request-method: GET' "$u/get-session")"
	atf_check -o match:'^Access-Control-Allow-Methods: GET, HEAD' \
	    tr -d '\r' < "$W/headers"
	# untrusted, no origin, or not a preflight: 404 as Better Auth
	atf_check_equal 404 "$(pre -H 'origin: http://evil.example' \
	    -H 'access-control-request-method: POST' "$u/sign-in/email")"
	if grep -qi '^access-control-' "$W/headers"; then
		atf_fail "CORS headers for a foreign preflight"
	fi
	atf_check_equal 404 "$(pre "$u/sign-in/email")"
	atf_check_equal 404 "$(pre -H "$app" "$u/sign-in/email")"
	atf_check_equal 404 "$(pre -H "$app" \
	    -H 'access-control-request-method: POST' "$u/nope")"
}
cors_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case error_page cleanup
error_page_head()
{
	atf_set "descr" "GET /error: our own HTML page, the query's error" \
	    "and error_description shown escaped, nothing loaded from outside"
	e2e_head
}
error_page_body()
{
	auth_start
	u="http://127.0.0.1:$PORT/api/auth/error"
	atf_check_equal 200 "$(curl -s -o "$W/body" -D "$W/headers" \
	    -w '%{http_code}' "$u?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E+%26+more")"
	tr -d '\r' < "$W/headers" > "$W/h"
	atf_check -o inline:'Content-Type: text/html; charset=utf-8\n' \
	    grep -i '^content-type:' "$W/h"
	atf_check -o match:"default-src 'none'" \
	    grep -i '^content-security-policy:' "$W/h"
	atf_check -o match:'<code id="error">access_denied</code>' cat "$W/body"
	atf_check -o match:'<p id="error_description">&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; more</p>' \
	    cat "$W/body"
	if grep -q '<script\|src=\|href=' "$W/body"; then
		atf_fail "the page loads or runs something"
	fi
	atf_check_equal 200 "$(curl -s -o "$W/body" -w '%{http_code}' \
	    "$u?error=%22%27%3E")"
	atf_check -o match:'<code id="error">&quot;&#39;&gt;</code>' \
	    cat "$W/body"
	# no query, or one that cannot be read (or kept): "unknown"
	long=$(head -c 3000 /dev/zero | tr '\0' x)
	for q in "" "?error=%zz" "?error=a&error=b" "?error=$long"; do
		atf_check_equal 200 "$(curl -s -o "$W/body" -w '%{http_code}' \
		    "$u$q")"
		atf_check -o match:'<code id="error">unknown</code>' \
		    cat "$W/body"
		atf_check -s exit:1 grep -q error_description "$W/body"
	done
	atf_check_equal 405 "$(curl -s -o /dev/null -w '%{http_code}' \
	    -X POST "$u")"
}
error_page_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case session_jwt cleanup
session_jwt_head()
{
	atf_set "descr" "get-session sets set-auth-jwt; a worker signs a" \
	    "session's JWT once and signs again when the user changes"
	e2e_head
}
session_jwt_body()
{
	# one worker, so that the second request finds the first's JWT
	e2e_init
	e2e_conf "rate-limit off"
	sed -i 's/^prefork 2$/prefork 1/' "$W/certaos.conf"
	e2e_start
	atf_check_equal 200 "$(auth_signup Jo jo@example.com password123)"
	tok=$(jq -r .token "$W/body")
	uid=$(jq -r .user.id "$W/body")
	gs() {
		curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' \
		    -H "authorization: Bearer $tok" \
		    "http://127.0.0.1:$PORT/api/auth/get-session"
		echo
		tr -d '\r' < "$W/headers" | sed -n 's/^set-auth-jwt: //p'
	}
	jwt_claims() {
		echo "$1" | cut -d. -f2 | tr '_-' '/+' |
		    awk '{ while (length($0) % 4) $0 = $0 "="; print }' |
		    base64 -d
	}
	out=$(gs)
	atf_check_equal 200 "$(echo "$out" | head -1)"
	jwt1=$(echo "$out" | sed -n 2p)
	[ -n "$jwt1" ] || atf_fail "no set-auth-jwt"
	atf_check -o match:'set-auth-jwt' \
	    grep -i '^access-control-expose-headers:' "$W/headers"
	atf_check -o match:'^Pragma: no-cache' tr -d '\r' < "$W/headers"
	jwt_claims "$jwt1" > "$W/claims"
	atf_check -o inline:"\"$uid\"\n\"Jo\"\n900\n" \
	    jq '.sub, .name, .exp - .iat' "$W/claims"
	atf_check -o inline:'"RS256"\n' sh -c "echo '$jwt1' | cut -d. -f1 |
	    tr '_-' '/+' | awk '{ while (length(\$0) % 4) \$0 = \$0 \"=\";
	    print }' | base64 -d | jq .alg"

	# a second later: the same JWT, not signed again
	sleep 1.2
	jwt2=$(gs | sed -n 2p)
	atf_check_equal "$jwt1" "$jwt2"

	# the user changes: a new JWT with the new name
	atf_check_equal 200 "$(auth_post /update-user '{"name":"Joanna"}' \
	    -H "authorization: Bearer $tok")"
	jwt3=$(gs | sed -n 2p)
	[ "$jwt3" != "$jwt1" ] || atf_fail "stale JWT after update-user"
	atf_check -o inline:'"Joanna"\n' sh -c "echo '$jwt3' | cut -d. -f2 |
	    tr '_-' '/+' | awk '{ while (length(\$0) % 4) \$0 = \$0 \"=\";
	    print }' | base64 -d | jq .name"

	# no session: no JWT
	curl -s -o "$W/body" -D "$W/headers" \
	    "http://127.0.0.1:$PORT/api/auth/get-session"
	atf_check -s exit:1 grep -qi '^set-auth-jwt' "$W/headers"

	# a reload that changes the issuer: no JWT of the old one is kept
	sed -i "s|^issuer .*|issuer \"http://localhost:$PORT\"|" \
	    "$W/certaos.conf"
	kill -HUP "$(e2e_pid)"
	i=0
	until grep -q 'configuration reloaded' "$W/daemon.log"; do
		i=$((i + 1))
		[ $i -lt 50 ] || atf_fail "no reload in the log"
		sleep 0.2
	done
	jwt4=$(gs | sed -n 2p)
	atf_check -o inline:"\"http://localhost:$PORT\"\n" sh -c "echo '$jwt4' |
	    cut -d. -f2 | tr '_-' '/+' | awk '{ while (length(\$0) % 4)
	    \$0 = \$0 \"=\"; print }' | base64 -d | jq .iss"
}
session_jwt_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case accounts cleanup
accounts_head()
{
	atf_set "descr" "list-accounts and account-info in Better Auth's" \
	    "shapes; no secret of an account leaves the database"
	e2e_head
}
accounts_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup Al al@example.com password123)"
	tok=$(jq -r .token "$W/body")
	uid=$(jq -r .user.id "$W/body")
	ck=$(auth_cookie)
	get() {
		curl -s -o "$W/body" -w '%{http_code}' "$@"
	}
	u="http://127.0.0.1:$PORT/api/auth"

	atf_check_equal 200 "$(get -H "authorization: Bearer $tok" \
	    "$u/list-accounts")"
	atf_check -o inline:'[["accountId","providerId","userId","createdAt","updatedAt","id","scopes"]]\n' \
	    jq -c 'map(keys_unsorted)' "$W/body"
	atf_check -o inline:"\"$uid\" \"credential\" \"$uid\" []\n" \
	    sh -c "jq -r '.[0] | [.accountId, .providerId, .userId,
	    .scopes] | map(tojson) | join(\" \")' $W/body"
	aid=$(jq -r '.[0].id' "$W/body")
	if grep -qi 'password\|argon2' "$W/body"; then
		atf_fail "list-accounts shows a password"
	fi
	# by cookie too; a linked account with scopes
	e2e_psql "$DB" -qc "insert into accounts (account_id, provider_id,
	    user_id, access_token, scope) values ('gh-1', 'github', '$uid',
	    'secret-access-token', 'read:user, user:email')"
	atf_check_equal 200 "$(get -H "cookie: certaos.session_token=$ck" \
	    "$u/list-accounts")"
	atf_check -o inline:'["credential","github"]\n[[],["read:user","user:email"]]\n' \
	    jq -c 'map(.providerId), map(.scopes)' "$W/body"
	if grep -q 'secret-access-token' "$W/body"; then
		atf_fail "list-accounts shows a provider token"
	fi
	atf_check_equal 401 "$(get "$u/list-accounts")"
	atf_check -o inline:'{"message":"Unauthorized","code":"UNAUTHORIZED"}' \
	    cat "$W/body"

	# account-info: by the account's id; no provider is configured
	atf_check_equal 400 "$(get -H "authorization: Bearer $tok" \
	    "$u/account-info?accountId=$aid")"
	atf_check -o inline:'{"message":"Account is not associated with a configured social provider.","code":"PROVIDER_NOT_CONFIGURED"}' \
	    cat "$W/body"
	atf_check_equal 400 "$(get -H "authorization: Bearer $tok" \
	    "$u/account-info?accountId=$uid")"
	atf_check -o inline:'{"message":"Account not found","code":"ACCOUNT_NOT_FOUND"}' \
	    cat "$W/body"
	atf_check_equal 400 "$(get -H "authorization: Bearer $tok" \
	    "$u/account-info")"
	atf_check -o inline:'{"message":"[query] Invalid input","code":"VALIDATION_ERROR"}' \
	    cat "$W/body"
	atf_check_equal 401 "$(get "$u/account-info?accountId=$aid")"

	# another user's account is not found
	atf_check_equal 200 "$(auth_signup Bo bo@example.com password123)"
	tok2=$(jq -r .token "$W/body")
	atf_check_equal 400 "$(get -H "authorization: Bearer $tok2" \
	    "$u/account-info?accountId=$aid")"
	atf_check -o match:'ACCOUNT_NOT_FOUND' cat "$W/body"
	atf_check_equal 200 "$(get -H "authorization: Bearer $tok2" \
	    "$u/list-accounts")"
	atf_check -o inline:'1\n' jq length "$W/body"
}
accounts_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case dont_remember cleanup
dont_remember_head()
{
	atf_set "descr" "rememberMe false sets Better Auth's dont_remember" \
	    "cookie; a slid session's cookie comes again, lasting, unless" \
	    "dont_remember comes with it"
	e2e_head
}
dont_remember_body()
{
	auth_start "session update-age 0"
	o=$(auth_origin)
	atf_check_equal 200 "$(auth_signup Di di@example.com password123)"
	# remembered: no dont_remember
	atf_check -s exit:1 grep -qi 'dont_remember=true' "$W/headers"

	si() {
		auth_post /sign-in/email "{\"email\":\"di@example.com\",\"password\":\"password123\"$1}" -H "$o"
	}
	atf_check_equal 200 "$(si ',"rememberMe":false')"
	tr -d '\r' < "$W/headers" > "$W/h"
	atf_check -o match:'^Set-Cookie: certaos\.dont_remember=true\.[A-Za-z0-9%]+; Path=/; HttpOnly; SameSite=Lax$' \
	    grep -i '^set-cookie: certaos.dont_remember' "$W/h"
	dr=$(sed -n 's/^Set-Cookie: certaos\.dont_remember=\([^;]*\);.*/\1/p' \
	    "$W/h")
	ck=$(auth_cookie)
	tok=$(jq -r .token "$W/body")
	# the same value for every session
	atf_check_equal 200 "$(si ',"rememberMe":false')"
	atf_check_equal "$dr" "$(tr -d '\r' < "$W/headers" |
	    sed -n 's/^Set-Cookie: certaos\.dont_remember=\([^;]*\);.*/\1/p')"

	gs() {
		curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' "$@" \
		    "http://127.0.0.1:$PORT/api/auth/get-session"
		tr -d '\r' < "$W/headers" > "$W/h"
	}
	# update-age 0: each get-session slides the session
	sleep 1.2
	# with dont_remember: no lasting cookie
	atf_check_equal 200 "$(gs -H "cookie: certaos.session_token=$ck; certaos.dont_remember=$dr")"
	atf_check -o inline:'"di@example.com"\n' jq .user.email "$W/body"
	atf_check -s exit:1 grep -qi '^set-cookie:' "$W/h"
	atf_check -s exit:1 grep -qi '^set-auth-token:' "$W/h"
	# a forged dont_remember counts for nothing: cookie re-issued
	atf_check_equal 200 "$(gs -H "cookie: certaos.session_token=$ck; certaos.dont_remember=true.AAAA")"
	atf_check -o match:"^Set-Cookie: certaos\.session_token=$tok\.[^;]+; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax" \
	    grep -i '^set-cookie:' "$W/h"
	atf_check -o match:"^set-auth-token: $tok\." cat "$W/h"
	atf_check -o inline:'Access-Control-Expose-Headers: set-auth-token, set-auth-jwt\n' \
	    grep -i '^access-control-expose-headers:' "$W/h"
	# a raw bearer token: nothing to sign here, no cookie
	atf_check_equal 200 "$(gs -H "authorization: Bearer $tok")"
	atf_check -s exit:1 grep -qi '^set-cookie:' "$W/h"

	# sign-out clears it
	atf_check_equal 200 "$(auth_post /sign-out '{}' -H "$o" \
	    -H "cookie: certaos.session_token=$ck; certaos.dont_remember=$dr")"
	atf_check -o match:'^Set-Cookie: certaos\.dont_remember=; Max-Age=0' \
	    tr -d '\r' < "$W/headers"
}
dont_remember_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

atf_test_case cookie_prefix cleanup
cookie_prefix_head()
{
	atf_set "descr" "cookie prefix better-auth: the cookies carry" \
	    "Better Auth's names, and get-session reads them"
	e2e_head
}
cookie_prefix_body()
{
	auth_start 'cookie prefix "better-auth"'
	atf_check_equal 200 "$(auth_post /sign-up/email \
	    '{"name":"Bo","email":"bo@example.com","password":"password123","rememberMe":false}' \
	    -H "$(auth_origin)")"
	tr -d '\r' < "$W/headers" | grep -i '^set-cookie:' > "$W/cookies"
	atf_check -o match:'^Set-Cookie: better-auth\.session_token=[A-Za-z0-9]{32}\.[^;]+; Path=/; HttpOnly; SameSite=Lax$' \
	    grep session_token "$W/cookies"
	atf_check -o match:'^Set-Cookie: better-auth\.dont_remember=true\.' \
	    grep dont_remember "$W/cookies"
	cookie=$(sed -n 's/^Set-Cookie: better-auth\.session_token=\([^;]*\);.*/\1/p' \
	    "$W/cookies")
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: better-auth.session_token=$cookie")"
	atf_check -o inline:'"bo@example.com"\n' jq .user.email "$W/body"
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$cookie")"
	atf_check -o inline:'null' cat "$W/body"
}
cookie_prefix_cleanup()
{
	e2e_cleanup
}

atf_test_case pipelined cleanup
pipelined_head()
{
	atf_set "descr" "requests pipelined behind a get-session that waits" \
	    "for db are answered in order; clients gone while theirs waits" \
	    "leave the daemon serving"
	e2e_head
}
pipelined_body()
{
	auth_start
	atf_check_equal 200 "$(auth_signup Pia pia@example.com password123)"
	cookie=$(auth_cookie)
	pids=$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')

	# three requests in one write: get-session, /ok, get-session; the
	# answers, one line each: status, then the email or the body
	get="GET /api/auth/get-session HTTP/1.1\r\nHost: t\r\n"
	get="${get}Cookie: certaos.session_token=$cookie\r\n"
	python3 - "$PORT" "$get" > "$W/answers" <<'PY'
import json, socket, sys
get = sys.argv[2].replace("\\r\\n", "\r\n")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall((get + "\r\n" + "GET /api/auth/ok HTTP/1.1\r\nHost: t\r\n\r\n" +
    get + "Connection: close\r\n\r\n").encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
while data:
    head, data = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    n = [int(l.split(":")[1]) for l in lines
        if l.lower().startswith("content-length:")][0]
    body, data = data[:n], data[n:]
    j = json.loads(body)
    print(lines[0], j["user"]["email"] if "user" in j else json.dumps(j))
PY
	atf_check -o inline:'HTTP/1.1 200 OK pia@example.com\nHTTP/1.1 200 OK {"ok": true}\nHTTP/1.1 200 OK pia@example.com\n' \
	    cat "$W/answers"

	# clients that leave before their answer (FIN, and a reset)
	i=0
	while [ $i -lt 20 ]; do
		printf "$get\r\n" | nc -q 0 127.0.0.1 "$PORT" >/dev/null
		i=$((i + 1))
	done
	python3 - "$PORT" "$cookie" <<'PY'
import socket, struct, sys
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(("GET /api/auth/get-session HTTP/1.1\r\nHost: t\r\n"
        "Cookie: certaos.session_token=%s\r\n\r\n" % sys.argv[2]).encode())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
        struct.pack("ii", 1, 0))
    s.close()
PY
	atf_check_equal 200 "$(e2e_get /api/auth/get-session \
	    -H "cookie: certaos.session_token=$cookie")"
	atf_check -o inline:'"pia@example.com"\n' jq .user.email "$W/body"
	atf_check_equal "$pids" \
	    "$(e2e_children | awk '{print $1}' | sort | tr '\n' ' ')"
}
pipelined_cleanup()
{
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case signup
	atf_add_test_case signin
	atf_add_test_case session
	atf_add_test_case remember
	atf_add_test_case validation
	atf_add_test_case origin
	atf_add_test_case secrets
	atf_add_test_case manage
	atf_add_test_case scrypt
	atf_add_test_case account
	atf_add_test_case jwt
	atf_add_test_case form
	atf_add_test_case fresh
	atf_add_test_case client_ip
	atf_add_test_case cors
	atf_add_test_case error_page
	atf_add_test_case session_jwt
	atf_add_test_case accounts
	atf_add_test_case dont_remember
	atf_add_test_case cookie_prefix
	atf_add_test_case pipelined
}
