-- wrk script: eth_getBalance for addresses read from ADDRESSES (one per
-- line, existing and missing accounts mixed), picked at random; counts
-- answers by HTTP status and checks each body is a JSON-RPC answer.

local addresses = {}
local path = os.getenv("ADDRESSES") or "addresses.txt"
for line in io.lines(path) do
    if #line > 0 then addresses[#addresses + 1] = line end
end

local counts, bad = {}, 0

function init(args)
    math.randomseed(os.time() + math.floor(os.clock() * 1000000))
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
    if status == 200 and not body:find('"result":"0x', 1, true) then
        bad = bad + 1
    end
end
