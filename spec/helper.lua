-- spec/helper.lua: shared tools of the end-to-end specs.
--   helper.with_emulator(opts, fn)  start an emulator on port 0, call fn(emu), always stop it
--   helper.connect(emu, extra)       oktell.connect as Peter/123 (extra overrides), asserts success
--   helper.guard()                   in a describe block: after_each collects garbage and fails if
--                                    a client or emulator is still open
--   helper.fd_count()                open descriptors of this process (/proc/self/fd)
--   helper.fixture(name)             the text of spec/fixtures/<name>
--   helper.utf16(s, be, bom)         UTF-8 text as UTF-16LE (BE if be), BOM first if bom
--   helper.closed_port()             a local URL nothing listens on
-- and what the specs need to run unchanged on Lua 5.1, 5.2, 5.3, 5.4 and
-- LuaJIT (written here, not taken from oktell.compat, so that the specs do
-- not lean on the code they check):
--   helper.pack(...), helper.unpack(t, i, j)    table.pack / table.unpack
--   helper.int_type(v)               math.type(v); where numbers are doubles
--                                    only, "integer" for an integral number
--   helper.shl(a, n), helper.shr(a, n), helper.band(a, m), helper.bor(a, b)
--                                    bit operations on non-negative integers
--                                    (m = 2^k - 1; a and b without common bits)
--   helper.utf8_char(cp), helper.utf8_codes(s)   utf8.char / utf8.codes
--   helper.utf8_len(s)               utf8.len (strict: nil for bad UTF-8)
--   helper.read_all(f), helper.read_line(f)      f:read("*a") / f:read("*l")
--   helper.LUA54                     true on Lua 5.4 (`<close>`)
--   helper.load(src, name)           load() of a text chunk on every version
--   helper.isyieldable()             coroutine.isyieldable(); on 5.1 and 5.2:
--                                    running in a coroutine other than the main one
--   helper.LUA                       this interpreter's name (lua5.1 ... luajit),
--                                    for child processes
--   helper.CPATH                     ./build/<LUA>/?.so;; (the modules built for it)
local oktell = require "oktell"
local loop = require "oktell.loop"

local H = {}

H.unpack = table.unpack or unpack
H.pack = table.pack or function(...) return { n = select("#", ...), ... } end
H.LUA54 = _VERSION == "Lua 5.4"
H.LUA = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")
H.CPATH = "./" .. (os.getenv("B") or "build") .. "/" .. H.LUA .. "/?.so;;"

function H.int_type(v)
  if math.type then return math.type(v) end
  if type(v) ~= "number" then return nil end
  if v == math.floor(v) and v >= -2 ^ 63 and v < 2 ^ 63 then return "integer" end
  return "float"
end

function H.shl(a, n) return math.floor(a * 2 ^ n) end
function H.shr(a, n) return math.floor(a / 2 ^ n) end
function H.band(a, m) return a % (m + 1) end
function H.bor(a, b) return a + b end

function H.utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + H.shr(cp, 6), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + H.shr(cp, 12), 0x80 + H.shr(cp, 6) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + H.shr(cp, 18), 0x80 + H.shr(cp, 12) % 64, 0x80 + H.shr(cp, 6) % 64, 0x80 + cp % 64)
end

-- The code points of s, or nil at the first byte that does not start a
-- strict UTF-8 sequence (overlong, surrogate, above U+10FFFF, cut short).
local function decode_all(s)
  local cps, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, cp, min
    if c < 0x80 then len, cp, min = 1, c, 0
    elseif c >= 0xC2 and c <= 0xDF then len, cp, min = 2, c - 0xC0, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, cp, min = 3, c - 0xE0, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, cp, min = 4, c - 0xF0, 0x10000
    else return nil end
    if i + len - 1 > n then return nil end
    for k = 1, len - 1 do
      local cc = s:byte(i + k)
      if cc < 0x80 or cc > 0xBF then return nil end
      cp = cp * 64 + (cc - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
    cps[#cps + 1] = cp
    i = i + len
  end
  return cps
end

function H.utf8_len(s)
  local cps = decode_all(s)
  return cps and #cps
end

function H.utf8_codes(s)
  local cps = assert(decode_all(s), "invalid UTF-8")
  local i = 0
  return function()
    i = i + 1
    if cps[i] then return i, cps[i] end
  end
end

function H.isyieldable()
  if coroutine.isyieldable then return coroutine.isyieldable() end
  local co, main = coroutine.running()
  return co ~= nil and not main
end

function H.read_all(f) return f:read("*a") end
function H.read_line(f) return f:read("*l") end

-- load(text) where 5.1 has loadstring for text
function H.load(src, name)
  return (loadstring or load)(src, name)
end

local running = {} -- emulators started through with_emulator and not yet stopped

function H.with_emulator(opts, fn)
  if fn == nil then opts, fn = {}, opts end
  local emulator = require "oktell.emulator"
  opts.port = opts.port or 0
  local emu = assert(emulator.start(opts))
  running[emu] = true
  -- a closure: 5.1's xpcall passes no arguments
  local ok, err = xpcall(function() return fn(emu) end, debug.traceback)
  running[emu] = nil
  emu:stop()
  if not ok then error(err, 0) end
end

function H.connect(emu, extra)
  local o = { url = emu.url, login = "Peter", password = "123", timeout = 5 }
  for k, v in pairs(extra or {}) do o[k] = v end
  local c, msg, code = oktell.connect(o)
  assert(c, ("connect failed: %s (%s)"):format(tostring(msg), tostring(code)))
  return c
end

function H.open_clients()
  return loop.stats().pollables
end

function H.guard()
  local after_each = require("busted").after_each
  local assert = require "luassert"
  after_each(function()
    collectgarbage()
    collectgarbage()
    -- Let the loop hand out what closing queued (closed waiters, handlers).
    if loop.stats().runnable > 0 then loop.step(0) end
    local n = H.open_clients()
    local e = 0
    for _ in pairs(running) do e = e + 1 end
    -- close leftovers so one failed test does not fail every later one
    for _, p in ipairs(loop.list()) do p:close() end
    for emu in pairs(running) do running[emu] = nil; emu:stop() end
    assert.are.equal(0, n, "a client was left open")
    assert.are.equal(0, e, "an emulator was left running")
  end)
end

-- Open descriptors of this process. /proc/self/fdinfo/N exists for every
-- open N (sockets included); a lookup of a closed N fails before any
-- descriptor is allocated, so probing does not disturb the count.
function H.fd_count()
  local n = 0
  for fd = 0, 4095 do
    local f = io.open("/proc/self/fdinfo/" .. fd)
    if f then
      n = n + 1
      f:close()
    end
  end
  return n
end

-- Written from the UTF-8 bytes with utf8_codes, not with the codec under
-- test, so the specs' UTF-16 inputs are independent of it.
function H.utf16(s, be, bom)
  local out = {}
  if bom then out[1] = be and "\254\255" or "\255\254" end
  local shr, band = H.shr, H.band
  local function unit(u)
    out[#out + 1] = be and string.char(shr(u, 8), band(u, 255)) or string.char(band(u, 255), shr(u, 8))
  end
  for _, c in H.utf8_codes(s) do
    if c >= 0x10000 then
      c = c - 0x10000
      unit(0xD800 + shr(c, 10))
      unit(0xDC00 + band(c, 0x3FF))
    else
      unit(c)
    end
  end
  return table.concat(out)
end

function H.fixture(name)
  local f = assert(io.open("spec/fixtures/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- A port that refuses: bind nothing, pick one the kernel just freed.
function H.closed_port()
  return "ws://127.0.0.1:1"
end

-- Wait (blocking, loop running) until pred() holds or t seconds pass.
function H.eventually(pred, t)
  local deadline = loop.now() + (t or 2)
  while not pred() do
    if loop.now() > deadline then return false end
    oktell.sleep(0.005)
  end
  return true
end

return H
