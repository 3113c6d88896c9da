-- examples/kamailio/oktell_route.lua: a KEMI routing script for Kamailio's
-- app_lua (examples/kamailio/kamailio.cfg). Each SIP request naming an
-- operator is answered statelessly with the operator's state in Oktell:
--
--   200 OK                   X-Oktell-State: ready (the state's short name)
--   503 Oktell Unavailable   X-Oktell-Error: refused | timeout | closed | ...
--   404 Unknown Operator     no password for that operator here
--
-- The operator is named by an X-Oktell-Operator header, else by the R-URI
-- user (OPTIONS sip:Peter@proxy). A request naming nobody gets 200 (an
-- OPTIONS keepalive) or 404.
--
-- The pattern (docs/HOSTS.md §3): Kamailio runs this script in each of
-- its worker processes and calls ksr_request_route() once per message;
-- nothing runs in between. So each worker keeps one client per operator,
-- made on the first request that needs it, and asks with a short
-- synchronous call (the worker is busy until the reply, so the timeouts
-- are short). Before each call one oktell.step(0) takes in what arrived
-- meanwhile (events, a close); a client whose call fails is dropped, and
-- the request tries once more over a fresh login. A worker idle for more
-- than two ping intervals (OKTELL_PING, default 15 s) finds its connection
-- dead on the next request and logs in again then.
--
-- Environment: OKTELL_URL (default ws://127.0.0.1:4066), OKTELL_OPERATORS
-- ("Peter:123,Anna:secret") or OKTELL_LOGIN + OKTELL_PASSWORD,
-- OKTELL_TIMEOUT (seconds per call and for the login, default 1),
-- OKTELL_PING. oktell itself is found next to this script in a checkout
-- (../../lua and ../../build/lua5.1: `make LUA=lua5.1`), else where
-- OKTELL_LUA_PATH / OKTELL_LUA_CPATH or package.path say (luarocks
-- --lua-version 5.1).

do
    local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
    local root = here .. "/../.."
    package.path = (os.getenv("OKTELL_LUA_PATH") or (root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua"))
        .. ";" .. package.path
    package.cpath = (os.getenv("OKTELL_LUA_CPATH") or (root .. "/build/lua5.1/?.so")) .. ";" .. package.cpath
end

local oktell = require "oktell"

local KSR = KSR -- Kamailio's KEMI functions (a global of app_lua)
local tonumber, tostring = tonumber, tostring

local URL = os.getenv("OKTELL_URL") or "ws://127.0.0.1:4066"
local TIMEOUT = tonumber(os.getenv("OKTELL_TIMEOUT") or "") or 1
local PING = tonumber(os.getenv("OKTELL_PING") or "")

-- login -> password: the operators this proxy may ask about.
local PASSWORDS = {}
for login, password in (os.getenv("OKTELL_OPERATORS") or ""):gmatch("([^:,%s]+):([^,]*)") do
    PASSWORDS[login] = password
end
if os.getenv("OKTELL_LOGIN") then
    PASSWORDS[os.getenv("OKTELL_LOGIN")] = os.getenv("OKTELL_PASSWORD") or ""
end

local clients = {} -- login -> client, in this worker process

local function connect(login)
    local c, msg, code = oktell.connect {
        url = URL, login = login, password = PASSWORDS[login],
        timeout = TIMEOUT, open_timeout = TIMEOUT, ping = PING,
        -- no background here to reconnect in: a lost client is dropped
        -- and the next request logs in anew
        reconnect = false,
    }
    if not c then
        KSR.warn("oktell: cannot log in " .. login .. " at " .. URL .. ": " .. tostring(msg) .. "\n")
        return nil, msg, code
    end
    KSR.info("oktell: " .. login .. " logged in at " .. URL .. " (pid " .. tostring(KSR.pv.get("$pp")) .. ")\n")
    clients[login] = c
    return c
end

local function forget(login)
    local c = clients[login]
    clients[login] = nil
    if c then c:close() end
end

-- The operator's state: userstate table | nil, msg, code.
local function lookup(login)
    -- What arrived since the last request: events (no handlers here, they
    -- are dropped), the keepalive, a close by the server.
    oktell.step(0)
    local msg, code
    for _ = 1, 2 do
        local c = clients[login]
        if not c then
            c, msg, code = connect(login)
            if not c then return nil, msg, code end
        end
        local st
        st, msg, code = c:user_state()
        if st then return st end
        KSR.warn("oktell: user_state of " .. login .. ": " .. tostring(msg) .. "\n")
        forget(login)
        if code ~= "closed" then break end -- a closed client: once more, fresh
    end
    return nil, msg, code
end

local function operator()
    local h = KSR.hdr.get("X-Oktell-Operator")
    if h and h ~= "" then return (h:gsub("^%s+", ""):gsub("%s+$", "")) end
    return KSR.pv.get("$rU")
end

-- Kamailio calls this for every SIP request (cfgengine "lua").
function ksr_request_route()
    if KSR.is_ACK() then return 1 end
    local login = operator()
    if not login or login == "" then
        if KSR.is_OPTIONS() then
            KSR.sl.sl_send_reply(200, "OK")
        else
            KSR.sl.sl_send_reply(404, "Not Found")
        end
        return 1
    end
    if not PASSWORDS[login] then
        KSR.sl.sl_send_reply(404, "Unknown Operator")
        return 1
    end
    local st, _, code = lookup(login)
    if st then
        KSR.hdr.append_to_reply("X-Oktell-State: " .. st.state .. "\r\n")
        KSR.sl.sl_send_reply(200, "OK")
    else
        KSR.hdr.append_to_reply("X-Oktell-Error: " .. tostring(code) .. "\r\n")
        KSR.sl.sl_send_reply(503, "Oktell Unavailable")
    end
    return 1
end

