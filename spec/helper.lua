-- spec/helper.lua: shared tools of the end-to-end specs.
--   helper.with_emulator(opts, fn)  start an emulator on port 0, call fn(emu), always stop it
--   helper.connect(emu, extra)       oktell.connect as Peter/123 (extra overrides), asserts success
--   helper.guard()                   in a describe block: after_each collects garbage and fails if
--                                    a client or emulator is still open
--   helper.fd_count()                open descriptors of this process (/proc/self/fd)
--   helper.fixture(name)             the text of spec/fixtures/<name>
--   helper.utf16(s, be, bom)         UTF-8 text as UTF-16LE (BE if be), BOM first if bom
--   helper.closed_port()             a local URL nothing listens on
local oktell = require "oktell"
local loop = require "oktell.loop"

local H = {}

local running = {} -- emulators started through with_emulator and not yet stopped

function H.with_emulator(opts, fn)
  if fn == nil then opts, fn = {}, opts end
  local emulator = require "oktell.emulator"
  opts.port = opts.port or 0
  local emu = assert(emulator.start(opts))
  running[emu] = true
  local ok, err = xpcall(fn, debug.traceback, emu)
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

-- Written from the UTF-8 bytes with utf8.codes, not with the codec under
-- test, so the specs' UTF-16 inputs are independent of it.
function H.utf16(s, be, bom)
  local out = {}
  if bom then out[1] = be and "\254\255" or "\255\254" end
  local function unit(u)
    out[#out + 1] = be and string.char(u >> 8, u & 255) or string.char(u & 255, u >> 8)
  end
  for _, c in utf8.codes(s) do
    if c >= 0x10000 then
      c = c - 0x10000
      unit(0xD800 + (c >> 10))
      unit(0xDC00 + (c & 0x3FF))
    else
      unit(c)
    end
  end
  return table.concat(out)
end

function H.fixture(name)
  local f = assert(io.open("spec/fixtures/" .. name, "rb"))
  local s = f:read("a")
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
