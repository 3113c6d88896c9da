-- mod_oktell: operators' Oktell states inside Prosody (0.12, Lua 5.4).
--
-- Logs in each configured operator when the module loads, then keeps the
-- clients on Prosody's own loop (oktell.prosody: the descriptor watched by
-- net.server, a module timer, one non-blocking step per wake). Each
-- operator's userstate event is logged and stored; the handler then asks
-- the client for the line state itself (a call from a handler: it yields,
-- and its reply arrives with a later wake while Prosody goes on serving).
--
-- Other modules read the states through this module's API:
--
--   local oktell_mod = module:depends("oktell")
--   local st = oktell_mod.get_state("Peter")  -- {state =, code =, line =, at =} or nil
--
-- and hook "oktell-userstate" ({login =, state =, code =}) on the global
-- event bus (prosody.events).
--
-- prosody.cfg.lua:
--
--   plugin_paths = { "/path/to/oktell-lua/examples/prosody" }
--   modules_enabled = { ..., "oktell" }
--   oktell_url = "ws://oktell.example:4066"
--   oktell_operators = { Peter = "123" }   -- login = password
--   -- where oktell is, unless installed for Lua 5.4 (luarocks):
--   oktell_lua_path = "/path/to/oktell-lua/lua/?.lua"
--   oktell_lua_cpath = "/path/to/oktell-lua/build/lua5.4/?.so"
--
-- A blocking login at load delays Prosody's startup only (docs/HOSTS.md
-- §4); keep the number of operators and the timeout modest.

module:set_global() -- one set of connections for the whole server

local lua_path = module:get_option_string("oktell_lua_path")
local lua_cpath = module:get_option_string("oktell_lua_cpath")
if lua_path then package.path = lua_path .. ";" .. package.path end
if lua_cpath then package.cpath = lua_cpath .. ";" .. package.cpath end

local oktell = require "oktell"
local okt = require "oktell.prosody"

local tostring, pairs, os_time = tostring, pairs, os.time

local url = module:get_option_string("oktell_url", "ws://127.0.0.1:4066")
local operators = module:get_option("oktell_operators", {})
local timeout = module:get_option_number("oktell_timeout", 5)

local states = {}  -- login -> {state =, code =, line =, at =}
local clients = {} -- login -> {client =, watch =}

--- The operator's state as last seen (nil: not known).
function get_state(login) -- luacheck: ignore 131 (the module's API)
    return states[login]
end

local function follow(login, client)
    client:on("userstate", function(ev)
        local st = { state = ev.state, code = ev.code, at = os_time() }
        states[login] = st
        module:log("info", "oktell: %s userstate %s (%s)", login, ev.state, tostring(ev.code))
        prosody.events.fire_event("oktell-userstate", { login = login, state = ev.state, code = ev.code })
        -- The handler's own call: answered through a later wake.
        local line, code = client:line_state()
        if line then
            st.line = line
            module:log("info", "oktell: %s line %s (%s), asked from the handler", login, line, tostring(code))
        else
            module:log("warn", "oktell: %s line_state failed: %s", login, tostring(code))
        end
    end)
    client:on("disconnect", function(ev)
        states[login] = nil
        module:log("warn", "oktell: %s disconnected: %s", login, tostring(ev.message))
    end)
    client:on("reconnect", function()
        local st = client:user_state()
        if st then states[login] = { state = st.state, code = st.code, at = os_time() } end
        module:log("info", "oktell: %s reconnected, %s", login, st and st.state or "state unknown")
    end)
end

local n = 0
for login, password in pairs(operators) do
    local client, err, code = oktell.connect {
        url = url, login = login, password = password, timeout = timeout,
    }
    if client then
        follow(login, client)
        clients[login] = { client = client, watch = okt.watch(module, client) }
        local st = client:user_state()
        if st then states[login] = { state = st.state, code = st.code, at = os_time() } end
        n = n + 1
    else
        module:log("error", "oktell: cannot log in %s at %s: %s (%s)", login, url, tostring(err), tostring(code))
    end
end
module:log("info", "oktell: %d operators logged in at %s", n, url)

function module.unload()
    for login, c in pairs(clients) do
        c.watch:close()
        c.client:close()
        clients[login] = nil
    end
end
