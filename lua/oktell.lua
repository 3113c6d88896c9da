-- oktell: the public module. Glues the parts together; each part lives in
-- lua/oktell/*.lua over the C module oktell.core.
local states = require "oktell.states"

local M = {}
M.xml = require "oktell.xml"
M.userstate = states.userstate
M.linestate = states.linestate

local loop = require "oktell.loop"
local client = require "oktell.client"

--- oktell.connect{url =, login =, password =, timeout =, reconnect =, confirm_usage =}
--- -> client | nil, message, code. Blocks (or yields in a managed coroutine)
--- until logged in.
M.connect = client.connect

-- The scheduler (API §4).
M.spawn = loop.spawn
M.sleep = loop.sleep
M.run = loop.run
M.stop = loop.stop
M.step = loop.step
M.on_error = loop.on_error

return M
