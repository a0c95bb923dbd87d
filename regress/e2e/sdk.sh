# End to end: Better Auth's own client SDK (better-auth/client 1.7.5,
# from the npm registry, pinned by regress/sdk/package-lock.json) drives
# certaosd as an app would, changing nothing but baseURL.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case client cleanup
client_head()
{
	atf_set "descr" "better-auth/client: sign-up, get-session, the" \
	    "refusals' codes, sign-in, list and revoke sessions, update-user," \
	    "change-password, sign-out"
	e2e_head "" "node npm" 300
}
client_body()
{
	e2e_init
	# the SDK, once per build tree
	S=$B/sdk
	if [ ! -f "$S/node_modules/better-auth/package.json" ]; then
		mkdir -p "$S"
		cp "$(atf_config_get srcdir)/regress/sdk/package.json" \
		    "$(atf_config_get srcdir)/regress/sdk/package-lock.json" "$S/"
		(cd "$S" && npm ci --no-audit --no-fund --ignore-scripts) \
		    > "$W/npm.log" 2>&1 || {
			cat "$W/npm.log" >&2
			atf_fail "npm ci of the Better Auth client failed"
		}
	fi
	cp "$(atf_config_get srcdir)/regress/sdk/client.mjs" "$S/client.mjs"
	e2e_conf "rate-limit off"
	e2e_start
	atf_check -o match:'^sdk: 11 steps ok$' -e empty \
	    node "$S/client.mjs" "http://127.0.0.1:$PORT"
}
client_cleanup()
{
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case client
}
