-- examples/decode_samples.lua: decodes every XML sample of the reference
-- (spec/fixtures/) with oktell.xml.decode and prints it as a Lua table.
-- An interim demo until the client and the emulator exist.
--   LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/?.so;;' lua5.4 examples/decode_samples.lua
local oktell = require "oktell"

local SAMPLES = {
  "userinfo", "getuserstate", "setuserstate1", "setuserstate2", "linestate",
  "settaskactive", "settaskactiveresult", "confirmresult",
  "event121", "event122", "event123",
}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  return keys
end

local function dump(v, indent)
  if type(v) == "string" then return (("%q"):format(v):gsub("\\\n", "\\n")) end
  if type(v) ~= "table" then return tostring(v) end
  indent = indent or ""
  local inner = indent .. "  "
  local out = {"{"}
  for _, k in ipairs(sorted_keys(v)) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. dump(k) .. "]")
    out[#out + 1] = ("%s%s = %s,"):format(inner, key, dump(v[k], inner))
  end
  out[#out + 1] = indent .. "}"
  return table.concat(out, "\n")
end

local dir = arg and arg[1] or "spec/fixtures"
local failed = 0
for _, name in ipairs(SAMPLES) do
  local f = assert(io.open(dir .. "/" .. name .. ".xml", "rb"))
  local s = f:read("*a")
  f:close()
  local value, kind, code = oktell.xml.decode(s)
  if value then
    print(("-- %s.xml: kind %q"):format(name, kind))
    print(dump(value))
  else
    failed = failed + 1
    print(("-- %s.xml: %s (%s)"):format(name, kind, code))
  end
  print()
end

print(("-- user states: ready = %d, %s; line state 0x20 = %s"):format(
  oktell.userstate.ready, table.concat({oktell.userstate.name(2)}, "/"), oktell.linestate[0x20]))
os.exit(failed == 0 and 0 or 1)
