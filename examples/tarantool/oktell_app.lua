#!/usr/bin/env tarantool
-- examples/tarantool/oktell_app.lua: an operator's Oktell state inside a
-- Tarantool application (oktell.tarantool: a pump fiber, calls from any
-- fiber through okt.call).
--
--   OKTELL_URL=ws://127.0.0.1:4066 OKTELL_LOGIN=Peter OKTELL_PASSWORD=123 \
--       tarantool examples/tarantool/oktell_app.lua
--
-- Logs the operator's state, then every change (userstate events), and
-- asks again every OKTELL_EVERY seconds from a fiber of its own; ends
-- after OKTELL_SECONDS (default: never). oktell is found next to this
-- script in a checkout (../../lua and ../../build/luajit: `make
-- LUA=luajit`), else where OKTELL_LUA_PATH / OKTELL_LUA_CPATH or
-- package.path say.
do
    local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
    local root = here .. "/../.."
    package.path = (os.getenv("OKTELL_LUA_PATH") or (root .. "/lua/?.lua")) .. ";" .. package.path
    package.cpath = (os.getenv("OKTELL_LUA_CPATH") or (root .. "/build/luajit/?.so")) .. ";" .. package.cpath
end

local fiber = require "fiber"
local log = require "log"
local okt = require "oktell.tarantool" -- before any connect: the loop waits in fibers

local URL = os.getenv("OKTELL_URL") or "ws://127.0.0.1:4066"
local LOGIN = os.getenv("OKTELL_LOGIN") or "Peter"
local PASSWORD = os.getenv("OKTELL_PASSWORD") or "123"
local EVERY = tonumber(os.getenv("OKTELL_EVERY") or "") or 10
local SECONDS = tonumber(os.getenv("OKTELL_SECONDS") or "")

local client, err = okt.connect { url = URL, login = LOGIN, password = PASSWORD, timeout = 5 }
if not client then
    log.error("oktell: cannot log in %s at %s: %s", LOGIN, URL, tostring(err))
    os.exit(1)
end

-- Handlers run in the pump fiber: hand events on without blocking it.
local events = fiber.channel(64)
client:on("userstate", function(ev) events:put(ev, 0) end)
fiber.create(function()
    while true do
        local ev = events:get()
        log.info("oktell: %s is now %s (event)", LOGIN, ev.state)
    end
end)

-- Any fiber asks; it waits on a channel while the others run.
fiber.create(function()
    while true do
        local st, msg = okt.call(client.user_state, client)
        log.info("oktell: %s is %s", LOGIN, st and st.state or ("unknown: " .. tostring(msg)))
        fiber.sleep(EVERY)
    end
end)

-- A function for the rest of the application (or IPROTO clients once
-- box.cfg{} is called and the function is granted).
rawset(_G, "oktell_state", function()
    local st = okt.call(client.user_state, client)
    return st and st.state
end)

if SECONDS then
    fiber.sleep(SECONDS)
    okt.call(client.close, client)
    os.exit(0)
end
