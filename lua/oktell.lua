-- oktell: the public module. Glues the parts together; each part lives in
-- lua/oktell/*.lua over the C module oktell.core.
local states = require "oktell.states"

local M = {}
M.xml = require "oktell.xml"
M.userstate = states.userstate
M.linestate = states.linestate

return M
