-- report.lua: the summary line bench/run reads, shared by the wrk scripts.
-- Latency figures are in milliseconds.

function report(summary, latency)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
	    "BENCH requests=%d rps=%.0f p50=%.3f p90=%.3f p99=%.3f " ..
	    "errors=%d non2xx=%d bytes=%d\n",
	    summary.requests, summary.requests / secs,
	    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
	    latency:percentile(99) / 1000,
	    e.connect + e.read + e.write + e.timeout, e.status,
	    summary.bytes))
end
