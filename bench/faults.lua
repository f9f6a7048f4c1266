-- wrk script for bench/faults.sh: eth_getBalance for addresses whose
-- balances are known, every answer checked.
--
-- EXPECTED   file of "index,address,hex" lines written by faults.sh from
--            the database (existing accounts and missing ones, "0x0")
-- KEEPALIVE  1: keep connections open; otherwise "Connection: close"
-- STOP_AFTER total answers after which the threads stop (THREADS: -t);
--            each thread touches STOP_DIR/stop.<n> when it stops
-- STUCK_MS   a request unanswered for longer than this when wrk ends is
--            counted as unanswered (default 5000)
-- TIMELINE   file to write answers per 100 ms: "ms ok e32603 e32005 bad"
--
-- The JSON-RPC id is request number * 100000 + address index: the index
-- gives the expected balance, the request number makes each id unique so
-- that an answer can be matched with the request it answers.  Answers:
--   ok      200, "result" equal to the expected hex quantity
--   e32603  503, Retry-After, JSON-RPC error -32603 (database unusable)
--   e32005  503, Retry-After, JSON-RPC error -32005 (queue full / wait)
--   bad     anything else: another status, a wrong balance, an id that
--           was not asked for, a malformed body
-- done() prints "faults: <name> <value>" lines for faults.sh.

local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } faults_timespec_t;
int clock_gettime(int clock, faults_timespec_t *tp);
]]

local ts = ffi.new("faults_timespec_t")

-- wall-clock milliseconds: comparable with the times faults.sh records
local function now_ms()
    ffi.C.clock_gettime(0, ts)      -- CLOCK_REALTIME
    return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1e6)
end

local SPAN = 100000

local addr, want, naddr = {}, {}, 0
for line in io.lines(os.getenv("EXPECTED") or "expected.csv") do
    local i, a, h = line:match("^(%d+),(0x%x+),(0x%x+)$")
    if i then
        i = tonumber(i)
        addr[i], want[i] = a, h
        if i + 1 > naddr then naddr = i + 1 end
    end
end
assert(naddr > 0 and naddr < SPAN, "faults.lua: no addresses in EXPECTED")

local headers = { ["Content-Type"] = "application/json" }
if os.getenv("KEEPALIVE") ~= "1" then
    headers["Connection"] = "close"
end

local stop_after = tonumber(os.getenv("STOP_AFTER") or "0")
local nthreads = tonumber(os.getenv("THREADS") or "1")
local stop_dir = os.getenv("STOP_DIR")

-- Per thread (each thread has its own copy of these globals).  done()
-- reads them with thread:get(), which in wrk 4.1.0 copies numbers and
-- strings but crashes on nested tables (script_copy_value() pops one slot
-- too many): what done() needs is kept in numbers and strings.
seq = 0
nsent = 0
nanswered = 0
n_ok, n_e32603, n_e32005, n_bad = 0, 0, 0, 0
max_ok, max_503 = 0, 0
thread_no = 0
samples = ""           -- the first bad answers, one a line
timeline = ""          -- finished 100 ms buckets: "ms ok e32603 e32005 bad"
cur_b, cur_ok, cur_e32603, cur_e32005, cur_bad = 0, 0, 0, 0, 0
pending = ""           -- the requests in flight at cur_b: "id time" lines
pending_at = 0

local sent = {}        -- id -> time sent, until answered
local nsamples = 0
local stopped = false
local threads = {}

function setup(thread)
    thread:set("thread_no", #threads + 1)
    threads[#threads + 1] = thread
end

function init(args)
    math.randomseed(os.time() + thread_no * 7919)
end

function request()
    seq = seq + 1
    local i = math.random(naddr) - 1
    local id = seq * SPAN + i
    -- wrk calls the first thread's request() once to check what it
    -- returns, and never sends that one
    if not (thread_no == 1 and seq == 1) then
        sent[id] = now_ms()
        nsent = nsent + 1
    end
    return wrk.format("POST", nil, headers,
        string.format('{"jsonrpc":"2.0","id":%d,"method":"eth_getBalance",'
                      .. '"params":["%s","latest"]}', id, addr[i]))
end

local function sample(why, status, body)
    if nsamples < 5 then
        nsamples = nsamples + 1
        samples = samples .. string.format("%s: HTTP %d %s\n", why, status,
                                           body:sub(1, 200):gsub("\n", " "))
    end
end

-- a new 100 ms bucket: the last one goes into the timeline, and the
-- requests in flight are written down for done()
local function next_bucket(b, t)
    if cur_b ~= 0 then
        timeline = timeline .. string.format("%d %d %d %d %d\n", cur_b * 100,
            cur_ok, cur_e32603, cur_e32005, cur_bad)
    end
    cur_b, cur_ok, cur_e32603, cur_e32005, cur_bad = b, 0, 0, 0, 0

    local p = {}
    for id, t0 in pairs(sent) do
        p[#p + 1] = string.format("%d %d", id, t0)
    end
    pending = table.concat(p, "\n")
    pending_at = t
end

function response(status, hdrs, body)
    local t = now_ms()
    local id = tonumber(body:match('"id":(%d+)'))
    local t0 = id and sent[id]
    local kind = "bad"

    nanswered = nanswered + 1

    if t0 == nil then
        sample("answer to no request in flight", status, body)

    else
        sent[id] = nil
        local lat = t - t0

        if status == 200 then
            local r = body:match('^{"jsonrpc":"2%.0","result":"(0x%x+)","id":%d+}$')
            if r and r == want[id % SPAN] then
                kind = "ok"
                if lat > max_ok then max_ok = lat end
            else
                sample("wrong answer for " .. addr[id % SPAN] .. " (expected "
                       .. want[id % SPAN] .. ")", status, body)
            end

        elseif status == 503 then
            local code = body:match('^{"jsonrpc":"2%.0","error":{"code":(%-%d+),'
                                    .. '"message":"[^"]*"},"id":%d+}$')
            if hdrs["Retry-After"] == nil then
                sample("503 without Retry-After", status, body)
            elseif code == "-32603" then
                kind = "e32603"
            elseif code == "-32005" then
                kind = "e32005"
            else
                sample("503 with an unexpected body", status, body)
            end
            if kind ~= "bad" and lat > max_503 then max_503 = lat end

        else
            sample("unexpected status", status, body)
        end
    end

    local b = math.floor(t / 100)
    if b ~= cur_b then
        next_bucket(b, t)
    end

    if kind == "ok" then
        n_ok = n_ok + 1; cur_ok = cur_ok + 1
    elseif kind == "e32603" then
        n_e32603 = n_e32603 + 1; cur_e32603 = cur_e32603 + 1
    elseif kind == "e32005" then
        n_e32005 = n_e32005 + 1; cur_e32005 = cur_e32005 + 1
    else
        n_bad = n_bad + 1; cur_bad = cur_bad + 1
    end

    if stop_after > 0 and not stopped
       and nanswered >= math.ceil(stop_after / nthreads)
    then
        stopped = true
        next_bucket(b, t)
        if stop_dir then
            local f = io.open(stop_dir .. "/stop." .. thread_no, "w")
            if f then f:close() end
        end
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local now = now_ms()
    local stuck_ms = tonumber(os.getenv("STUCK_MS") or "5000")
    local total = { sent = 0, answered = 0, ok = 0, e32603 = 0, e32005 = 0,
                    bad = 0, stuck = 0, inflight = 0, maxok = 0, max503 = 0 }
    local tl, bad = {}, {}

    local function add_bucket(ms, ok, a, b, x)
        local r = tl[ms]
        if r == nil then
            r = { 0, 0, 0, 0 }
            tl[ms] = r
        end
        r[1], r[2], r[3], r[4] = r[1] + ok, r[2] + a, r[3] + b, r[4] + x
    end

    for _, t in ipairs(threads) do
        local sent_n, answered_n = t:get("nsent"), t:get("nanswered")
        total.sent = total.sent + sent_n
        total.answered = total.answered + answered_n
        total.ok = total.ok + t:get("n_ok")
        total.e32603 = total.e32603 + t:get("n_e32603")
        total.e32005 = total.e32005 + t:get("n_e32005")
        total.bad = total.bad + t:get("n_bad")
        total.maxok = math.max(total.maxok, t:get("max_ok"))
        total.max503 = math.max(total.max503, t:get("max_503"))

        for line in t:get("timeline"):gmatch("[^\n]+") do
            local ms, ok, a, b, x = line:match("(%d+) (%d+) (%d+) (%d+) (%d+)")
            add_bucket(tonumber(ms), tonumber(ok), tonumber(a), tonumber(b),
                       tonumber(x))
        end
        if t:get("cur_b") ~= 0 then
            add_bucket(t:get("cur_b") * 100, t:get("cur_ok"),
                       t:get("cur_e32603"), t:get("cur_e32005"),
                       t:get("cur_bad"))
        end

        -- of the requests not answered, those in flight at the last bucket
        -- and sent long before the end got no answer, the others were cut
        -- off by wrk's stop; all of them if the last bucket is long past
        local unanswered = sent_n - answered_n
        local old = 0
        for id, t0 in t:get("pending"):gmatch("(%d+) (%d+)") do
            if now - tonumber(t0) > stuck_ms then old = old + 1 end
        end
        if now - t:get("pending_at") > stuck_ms then old = unanswered end
        old = math.min(old, unanswered)
        total.stuck = total.stuck + old
        total.inflight = total.inflight + unanswered - old

        for s in t:get("samples"):gmatch("[^\n]+") do bad[#bad + 1] = s end
    end

    local e = summary.errors
    local out = {
        { "sent", total.sent },
        { "answered", total.answered },
        { "ok", total.ok },
        { "e32603", total.e32603 },
        { "e32005", total.e32005 },
        { "bad", total.bad },
        { "stuck", total.stuck },
        { "inflight", total.inflight },
        { "connect_errors", e.connect },
        { "read_errors", e.read },
        { "write_errors", e.write },
        { "timeouts", e.timeout },
        { "max_ms_ok", total.maxok },
        { "max_ms_503", total.max503 },
        { "latency_max_us", latency.max },
        { "latency_p50_us", latency:percentile(50) },
        { "latency_p99_us", latency:percentile(99) },
        { "latency_p999_us", latency:percentile(99.9) },
        { "duration_us", summary.duration },
    }
    for _, kv in ipairs(out) do
        io.write(string.format("faults: %s %d\n", kv[1], kv[2]))
    end
    for _, s in ipairs(bad) do
        io.write("faults: sample " .. s .. "\n")
    end

    local path = os.getenv("TIMELINE")
    if path then
        local keys = {}
        for ms in pairs(tl) do keys[#keys + 1] = ms end
        table.sort(keys)
        local f = assert(io.open(path, "w"))
        for _, ms in ipairs(keys) do
            local r = tl[ms]
            f:write(string.format("%d %d %d %d %d\n", ms, r[1], r[2], r[3], r[4]))
        end
        f:close()
    end
end
