-- jwks.lua: wrk script for GET /api/auth/jwks (served from the web
-- worker's cache).
--	wrk -t1 -c32 -d10s --latency -s bench/jwks.lua http://127.0.0.1:8080
-- The path is /api/auth/jwks unless the URL names another.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

if wrk.path == nil or wrk.path == "" or wrk.path == "/" then
	wrk.path = "/api/auth/jwks"
end
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
	report(summary, latency)
end
