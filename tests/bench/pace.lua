-- wrk script for http.sh's paced row: each connection waits PACE_MS milliseconds (default 1)
-- after every response before it sends the next request. The offered load is then about
-- connections / (PACE_MS + latency) requests per second, the same for any server that keeps
-- up, and the latency figures compare servers at equal load rather than at each one's peak.
local pause = tonumber(os.getenv("PACE_MS") or "1")

function delay()
    return pause
end
