-- signin.lua: wrk script for POST /api/auth/sign-in/email, each request
-- one argon2id verification in certaos-keys.
--	CERTAOS_EMAIL=bench@example.com CERTAOS_PASSWORD=... \
--	CERTAOS_ORIGIN=http://127.0.0.1:8080 \
--	    wrk -t1 -c4 -d10s --latency -s bench/signin.lua http://127.0.0.1:8080
-- CERTAOS_ORIGIN is the issuer's origin (always trusted).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local email = os.getenv("CERTAOS_EMAIL")
local password = os.getenv("CERTAOS_PASSWORD")
if email == nil or password == nil then
	io.stderr:write("signin.lua: CERTAOS_EMAIL or CERTAOS_PASSWORD " ..
	    "is not set\n")
	os.exit(1)
end

wrk.method = "POST"
wrk.path = "/api/auth/sign-in/email"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', email, password)
wrk.headers["Origin"] = os.getenv("CERTAOS_ORIGIN")

function done(summary, latency, requests)
	report(summary, latency)
end
