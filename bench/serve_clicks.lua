-- serve_clicks.lua - wrk script for `sessrec serve`: replays test-split
-- sessions as click requests, POST /v1/sessions/{id}/clicks {"item": ..., "k": 20}.
-- SR_CLICKS names a file of "session item" lines in session order. Each wrk
-- thread starts at a different place and suffixes the session ids with its
-- number and a round counter, so every replay makes fresh sessions.
local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

function init(args)
    clicks = {}
    for line in io.lines(os.getenv("SR_CLICKS")) do
        local s, it = line:match("^(%S+)%s+(%S+)")
        if s then
            clicks[#clicks + 1] = { s, it }
        end
    end
    pos = 1 + (tid * 7919) % #clicks
    round = 0
    headers = { ["Content-Type"] = "application/json" }
end

function request()
    local c = clicks[pos]
    pos = pos + 1
    if pos > #clicks then
        pos = 1
        round = round + 1
    end
    return wrk.format("POST", "/v1/sessions/" .. c[1] .. "-" .. tid .. "-" .. round .. "/clicks",
        headers, '{"item":"' .. c[2] .. '","k":20}')
end
