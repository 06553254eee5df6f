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
--
-- wrk runs on the same two cores as the server, so its own work per request
-- counts against the server's figures: each request's text is put together
-- from two pieces made once per click in init() and the visitor's tag (one
-- concatenation, no wrk.format). The bytes sent are the same as
-- wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
-- gives; this took wrk's CPU from 42-44 to 32-33 us per request.
local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

function init(args)
    local host = wrk.headers["Host"]
    pre, post = {}, {}
    for line in io.lines(os.getenv("SR_CLICKS")) do
        local s, it = line:match("^(%S+)%s+(%S+)")
        if s then
            local body = '{"item":"' .. it .. '","k":20}'
            pre[#pre + 1] = "POST /v1/sessions/" .. s .. "-"
            post[#post + 1] = "/clicks HTTP/1.1\r\nHost: " .. host ..
                "\r\nContent-Type: application/json\r\nContent-Length: " .. #body ..
                "\r\n\r\n" .. body
        end
    end
    n = #pre
    nvis = tonumber(os.getenv("SR_VISITORS") or "") or 1
    if nvis < 1 then nvis = 1 end
    pos, round, tag = {}, {}, {}
    for v = 1, nvis do
        pos[v] = 1 + ((tid * nvis + v) * 7919) % n
        round[v] = 0
        tag[v] = tid .. "-" .. v .. "-0" -- the session id's suffix: thread, visitor, round
    end
    turn = 1
end

function request()
    local v = turn
    turn = turn % nvis + 1
    local p = pos[v]
    local r = pre[p] .. tag[v] .. post[p]
    if p == n then -- this visitor starts the sessions over, as new sessions
        pos[v] = 1
        round[v] = round[v] + 1
        tag[v] = tid .. "-" .. v .. "-" .. round[v]
    else
        pos[v] = p + 1
    end
    return r
end
