-- oktell.compat: what Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1 do differently,
-- in one place, so that every other module runs unchanged on all five.
--
--   compat.pack(...), compat.unpack(t, i, j)   table.pack / table.unpack
--   compat.is_integer(v)      an integer: the integer subtype on 5.3/5.4; an
--                             integral number (2.0 too) where numbers are
--                             only doubles (5.1, 5.2, LuaJIT)
--   compat.tointeger(v)       v as an integer when compat.is_integer(v), else nil
--   compat.callable(v)        a function, or a value whose metatable has __call
--   compat.utf8_valid(s)      strict UTF-8 (oktell.core: one rule everywhere)
--   compat.setmetatable(t, mt)  setmetatable, and where tables get no __gc
--                             (5.1, LuaJIT) a userdata that runs mt.__gc(t)
--                             when t is collected
--   compat.table_gc           true where a table's own __gc runs (5.2+)
local core = require "oktell.core"

local M = {}

local type, select, getmetatable, setmetatable = type, select, getmetatable, setmetatable
local floor, huge = math.floor, math.huge
local math_type = math.type

M.unpack = table.unpack or unpack

M.pack = table.pack or function(...)
    return { n = select("#", ...), ... }
end

if math_type then
    function M.is_integer(v)
        return math_type(v) == "integer"
    end
else
    -- 2^63: the integers a lua_Integer holds, as the C side checks them
    local LIMIT = 9223372036854775808
    function M.is_integer(v)
        return type(v) == "number" and v == floor(v) and v >= -LIMIT and v < LIMIT
    end
end

function M.tointeger(v)
    if M.is_integer(v) then return v end
    -- 5.3/5.4: a float with an integral value is converted
    if math_type and type(v) == "number" and v == floor(v) and v > -huge and v < huge then
        return math.tointeger(v)
    end
    return nil
end

-- debug.getmetatable: a __metatable field must not hide __call
local getmt = debug.getmetatable or getmetatable
function M.callable(v)
    if type(v) == "function" then return true end
    local mt = getmt(v)
    return type(mt) == "table" and mt.__call ~= nil
end

M.utf8_valid = core.utf8_valid

-- PUC 5.1 and LuaJIT run __gc for userdata only. newproxy (5.1, LuaJIT)
-- makes a userdata whose __gc calls the table's __gc (the one its
-- metatable has then, as 5.2+ does); the table holds it, so both become
-- garbage together.
M.table_gc = _VERSION ~= "Lua 5.1"
local newproxy = rawget(_G, "newproxy") -- absent on 5.2+ (and Prosody warns on a read)
local GC = {}             -- the key of the proxy in its table

if M.table_gc or not newproxy then
    M.setmetatable = setmetatable
else
    function M.setmetatable(t, mt)
        setmetatable(t, mt)
        if mt.__gc and rawget(t, GC) == nil then
            local p = newproxy(true)
            getmetatable(p).__gc = function()
                local m = getmetatable(t)
                local gc = type(m) == "table" and m.__gc
                if gc then gc(t) end
            end
            rawset(t, GC, p)
        end
        return t
    end
end

return M
