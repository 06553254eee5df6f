-- serve_clicks.lua - wrk script for `sessrec serve`: replays test-split
-- sessions as click requests, POST /v1/sessions/{id}/clicks {"item": ..., "k": 20}.
-- SR_CLICKS names a file of "session item" lines in session order.
--
-- Visitors: each wrk thread plays SR_VISITORS visitors (set it to the
-- connections per thread), taking turns request by request. Each visitor walks
-- the test sessions click by click from its own starting place, so one
-- session's clicks are sent one after the other, about one round of the
-- connections apart, as a visitor clicks; session ids carry the thread,
-- visitor and round, so every replay makes fresh sessions. (With one visitor
-- per thread, consecutive clicks of one session go out on different
-- connections at once and wait for each other in the server: a visitor
-- clicking ten times in the same millisecond, which is not what a shop sees.)
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
    nvis = tonumber(os.getenv("SR_VISITORS") or "") or 1
    if nvis < 1 then nvis = 1 end
    visitors = {}
    for v = 1, nvis do
        visitors[v] = { pos = 1 + ((tid * nvis + v) * 7919) % #clicks, round = 0 }
    end
    turn = 1
    headers = { ["Content-Type"] = "application/json" }
end

function request()
    local v = visitors[turn]
    local id = turn
    turn = turn % nvis + 1
    local c = clicks[v.pos]
    v.pos = v.pos + 1
    if v.pos > #clicks then
        v.pos = 1
        v.round = v.round + 1
    end
    return wrk.format("POST", "/v1/sessions/" .. c[1] .. "-" .. tid .. "-" .. id .. "-" .. v.round ..
        "/clicks", headers, '{"item":"' .. c[2] .. '","k":20}')
end
