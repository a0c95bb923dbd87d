-- health.lua: wrk script for GET /health (a round trip to the db and the
-- keys processes per request).
--	wrk -t1 -c32 -d10s --latency -s bench/health.lua http://127.0.0.1:8080
-- The path is /health unless the URL names another.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

if wrk.path == nil or wrk.path == "" or wrk.path == "/" then
	wrk.path = "/health"
end
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
	report(summary, latency)
end
