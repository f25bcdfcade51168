-- wrk script for http.sh's paced row: each connection waits PACE_MS milliseconds (default 1)
-- after every response before it sends the next request. The offered load is then about
-- connections / (PACE_MS + latency) requests per second: close for two servers that both keep
-- up (the one with the lower latency gets a little more), and the latency figures compare them
-- at about equal load rather than each at its own peak.
local pause = tonumber(os.getenv("PACE_MS") or "1")

function delay()
    return pause
end
