-- examples/nginx/oktell_state.lua: the operator's state as JSON, two ways
-- (examples/nginx/nginx.conf).
--
--   /state?login=Peter       from this worker's cache. A connection held in
--                            a timer (okt.worker, started in
--                            init_worker_by_lua) receives userstate events
--                            and writes them here; the request only reads
--                            a Lua table: it never touches the timer's
--                            client or socket.
--   /state/live?login=Peter  a short connection made, used and closed by the
--                            request itself (its calls yield to nginx).
--
-- Each worker has its own Lua state, so its own cache and connection; to
-- share one connection between the workers, write into an ngx.shared dict
-- instead of `cache`.
local okt = require "oktell.ngx"

local M = {}

local URL = os.getenv("OKTELL_URL") or "ws://127.0.0.1:4066"
local LOGIN = os.getenv("OKTELL_LOGIN") or "Peter"
local PASSWORD = os.getenv("OKTELL_PASSWORD") or "123"
local PASSWORDS = { [LOGIN] = PASSWORD } -- the operators this server may ask for

local cache = {} -- login -> {state =, code =, at =} (this worker)

-- JSON for flat tables of strings, numbers and booleans (no cjson here).
local function json(t)
    local out = {}
    for k, v in pairs(t) do
        local s
        if type(v) == "string" then
            s = '"' .. v:gsub('[%c"\\]', function(c)
                return string.format("\\u%04x", c:byte())
            end) .. '"'
        else
            s = tostring(v)
        end
        out[#out + 1] = '"' .. k .. '":' .. s
    end
    table.sort(out)
    return "{" .. table.concat(out, ",") .. "}"
end

local function reply(status, t)
    ngx.status = status
    ngx.say(json(t))
end

local function store(login, st)
    cache[login] = { state = st.state, code = st.code, at = ngx.now() }
end

--- init_worker_by_lua: the event-fed cache of this worker.
function M.init_worker()
    okt.worker(function()
        local c, err, code = okt.connect{ url = URL, login = LOGIN, password = PASSWORD, timeout = 5 }
        if not c then
            error("oktell: cannot connect to " .. URL .. ": " .. tostring(err) .. " (" .. tostring(code) .. ")")
        end
        -- Handlers run in this timer; they may call the client (same timer).
        c:on("userstate", function(ev) store(LOGIN, ev) end)
        c:on("disconnect", function() cache[LOGIN] = nil end)
        c:on("reconnect", function()
            local st = c:user_state()
            if st then store(LOGIN, st) end
        end)
        local st, msg = c:user_state()
        if not st then error("oktell: user_state: " .. tostring(msg)) end
        store(LOGIN, st)
        ngx.log(ngx.NOTICE, "oktell: ", LOGIN, " is ", st.state, " (serving events)")
        -- okt.worker goes on serving c (events, keepalive, reconnects)
    end)
end

--- /state?login=...
function M.cached()
    local login = ngx.var.arg_login or LOGIN
    local e = cache[login]
    if not e then
        return reply(PASSWORDS[login] and 503 or 404,
            { login = login, error = PASSWORDS[login] and "no state yet" or "unknown operator" })
    end
    reply(200, { login = login, state = e.state, code = e.code, source = "cache",
        age = math.floor((ngx.now() - e.at) * 1000) / 1000, pid = ngx.worker.pid() })
end

--- /state/live?login=...
function M.live()
    local login = ngx.var.arg_login or LOGIN
    local password = PASSWORDS[login]
    if not password then return reply(404, { login = login, error = "unknown operator" }) end
    local c, err, code = okt.connect{ url = URL, login = login, password = password, timeout = 2, reconnect = false }
    if not c then return reply(502, { login = login, error = tostring(err), code = tostring(code) }) end
    local st, msg, c2 = c:user_state()
    c:close()
    if not st then return reply(502, { login = login, error = tostring(msg), code = tostring(c2) }) end
    reply(200, { login = login, state = st.state, code = st.code, source = "live" })
end

return M
