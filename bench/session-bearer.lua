-- session-bearer.lua: wrk script for GET /api/auth/get-session with
-- "Authorization: Bearer" (a hot session: answered from certaos-db's
-- cache).
--	CERTAOS_TOKEN='token.sig=' wrk -t1 -c32 -d10s --latency \
--	    -s bench/session-bearer.lua http://127.0.0.1:8080
-- CERTAOS_TOKEN is the raw token or the signed one (set-auth-token); the
-- path is /api/auth/get-session unless the URL names another.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("CERTAOS_TOKEN")
if token == nil or token == "" then
	io.stderr:write("session-bearer.lua: CERTAOS_TOKEN is not set\n")
	os.exit(1)
end

if wrk.path == nil or wrk.path == "" or wrk.path == "/" then
	wrk.path = "/api/auth/get-session"
end
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function done(summary, latency, requests)
	report(summary, latency)
end
