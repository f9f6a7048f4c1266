-- wrk script for bench/bench.sh: eth_getBalance for addresses read from
-- ADDRESSES (one per line, half existing and half missing accounts, from
-- bench_addresses in bench/lib.sh), picked at random.  The same script
-- drives the module and the static reference.
--
-- Each thread counts answers by HTTP status, 200 answers whose body is not
-- a JSON-RPC result ("bad"), and body bytes; done() adds the threads up
-- and prints one machine-readable line for bench.sh:
--
--   BENCH requests=.. rps=.. p50_us=.. p99_us=.. avg_us=.. non200=..
--         bad=.. connect=.. read=.. write=.. timeout=.. body_avg=.. codes=..

local addresses = {}
local path = os.getenv("ADDRESSES") or "addresses.txt"
for line in io.lines(path) do
    if #line > 0 then addresses[#addresses + 1] = line end
end

-- globals, so that done() can read them from each thread with thread:get()
counts, bad, bytes = {}, 0, 0

local threads, n = {}, 0

function setup(thread)
    n = n + 1
    thread:set("id", n)
    threads[#threads + 1] = thread
end

function init(args)
    math.randomseed(os.time() * 1000 + (id or 0) * 7919
                    + math.floor(os.clock() * 1000000))
end

function request()
    local a = addresses[math.random(#addresses)]
    local body = '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["'
        .. a .. '","latest"]}'
    return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                      body)
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    bytes = bytes + #body
    if status == 200 and not body:find('"result":"0x', 1, true) then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local total, non200, nbad, nbytes, n200 = {}, 0, 0, 0, 0
    for _, t in ipairs(threads) do
        for status, c in pairs(t:get("counts") or {}) do
            total[status] = (total[status] or 0) + c
        end
        nbad = nbad + (t:get("bad") or 0)
        nbytes = nbytes + (t:get("bytes") or 0)
    end
    local codes, answered = {}, 0
    for status, c in pairs(total) do
        answered = answered + c
        if status == 200 then n200 = c else non200 = non200 + c end
        codes[#codes + 1] = status .. ":" .. c
    end
    table.sort(codes)
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d rps=%.1f p50_us=%d p99_us=%d avg_us=%.0f"
        .. " non200=%d bad=%d connect=%d read=%d write=%d timeout=%d"
        .. " body_avg=%.1f codes=%s\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        non200, nbad, e.connect, e.read, e.write, e.timeout,
        answered > 0 and nbytes / answered or 0,
        #codes > 0 and table.concat(codes, ",") or "none"))
end
