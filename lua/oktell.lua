-- oktell: the public module. Glues the parts together; each part lives in
-- lua/oktell/*.lua over the C module oktell.core.
local core = require "oktell.core"
local states = require "oktell.states"
local log = require "oktell.log"

local M = {}

-- The release, from the one place it is written (OKT_VERSION in
-- src/core/okt.h, exported by the C core).
M._VERSION = core._VERSION
M.xml = require "oktell.xml"
M.userstate = states.userstate
M.linestate = states.linestate

local loop = require "oktell.loop"
local client = require "oktell.client"

--- oktell.connect{url =, login =, password =, timeout =, reconnect =, confirm_usage =}
--- -> client | nil, message, code. Blocks (or yields in a managed coroutine)
--- until logged in.
M.connect = client.connect

--- oktell.record(client, file) -> recorder | nil, message, code: the wire
--- transcript of the client's session, for emulator.replay.
M.record = client.record

-- The scheduler (API §4).
M.spawn = loop.spawn
M.sleep = loop.sleep
M.run = loop.run
M.stop = loop.stop
M.step = loop.step
M.on_error = loop.on_error

-- Logging: silent until a script sets a handler (lua/oktell/log.lua).
M.on_log = log.on_log

return M
