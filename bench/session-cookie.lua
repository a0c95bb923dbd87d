-- session-cookie.lua: wrk script for GET /api/auth/get-session with the
-- session cookie (a hot session: answered from certaos-db's cache).
--	CERTAOS_COOKIE='token.sig%3D' wrk -t1 -c32 -d10s --latency \
--	    -s bench/session-cookie.lua http://127.0.0.1:8080
-- CERTAOS_COOKIE is the cookie's value as Set-Cookie gave it; the path is
-- /api/auth/get-session unless the URL names another.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local cookie = os.getenv("CERTAOS_COOKIE")
if cookie == nil or cookie == "" then
	io.stderr:write("session-cookie.lua: CERTAOS_COOKIE is not set\n")
	os.exit(1)
end
local name = os.getenv("CERTAOS_COOKIE_NAME") or "certaos.session_token"

if wrk.path == nil or wrk.path == "" or wrk.path == "/" then
	wrk.path = "/api/auth/get-session"
end
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"
wrk.headers["Cookie"] = name .. "=" .. cookie

function done(summary, latency, requests)
	report(summary, latency)
end
