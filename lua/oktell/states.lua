-- oktell.states: the read-only enum tables oktell.userstate / oktell.linestate
-- (API.md §1), built from the one definition in src/core/states.c.
--   t.ready --> 1, t.usReady --> 1, t[1] --> "ready", t.name(1) --> "ready", "usReady"
--   nil for unknown codes and names (and line values with several flags);
--   assignment raises. userstate.settable(x) tells whether a user may set it.
local core = require "oktell.core"

local M = {}

local function make(list, what)
  local def_of, short = {}, {}
  for _, d in ipairs(list) do
    def_of[d.code] = d
    short[d.name] = d.code
  end
  -- Names are matched by the core's one rule (core.state_code).
  local kind = what == "userstate" and "user" or "line"
  local state_code = core.state_code

  local function lookup(x)
    if type(x) == "string" then
      local c = state_code(kind, x)
      return c and def_of[c]
    elseif type(x) == "number" then
      -- 3.0 finds key 3 (no math.tointeger: LuaJIT hosts load this file)
      return def_of[x]
    end
    return nil
  end

  local funcs = {}
  function funcs.name(x)
    local d = lookup(x)
    if d then return d.name, d.ref end
    return nil
  end
  if what == "userstate" then
    function funcs.settable(x)
      local d = lookup(x)
      return d ~= nil and d.settable
    end
  end

  return setmetatable({}, {
    __index = function(_, k)
      if funcs[k] then return funcs[k] end
      if type(k) == "string" then return state_code(kind, k) end
      local d = lookup(k)
      return d and d.name
    end,
    __newindex = function(_, k)
      error(("oktell.%s is read-only (cannot set '%s')"):format(what, tostring(k)), 2)
    end,
    __pairs = function() return next, short, nil end,
    __metatable = "oktell." .. what,
  })
end

local defs = core.states()
M.userstate = make(defs.user, "userstate")
M.linestate = make(defs.line, "linestate")

return M
