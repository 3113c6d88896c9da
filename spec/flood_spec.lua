-- The emulator's `flood` control command, a bench extension (docs/EMULATOR.md,
-- "Control channel"; bench/client.lua's events case): count toggles of the
-- user's line, each a set_line reaction sending the usual linestatechanged.
local emulator = require "oktell.emulator"
local E = require "emu_helper"

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function with(fn)
  local emu = assert(emulator.start{})
  local ok, err = xpcall(function() return fn(emu) end, debug.traceback)
  emu:stop()
  if not ok then error(err, 0) end
end

describe("emulator flood (bench extension)", function()
  it("toggles the line count times, one linestatechanged each, as set_line sends it", function()
    with(function(emu)
      local c = E.connect(emu)
      assert.equals(5, emu._h:control("flood", {user = "Peter", count = 5}))
      local want = {"lsHookUp", "lsReady", "lsHookUp", "lsReady", "lsHookUp"}
      local seen = {}
      for i = 1, 5 do
        local ev = c:event("linestatechanged")
        assert.truthy(ev, "event " .. i)
        assert.equals(want[i], ev.linestatestr)
        assert.equals("Peter", ev.userlogin)
        assert.matches(UUID4, ev.qid)
        assert.is_nil(seen[ev.qid])
        seen[ev.qid] = true
      end
      assert.is_true(c:no_event("linestatechanged", 0.2))
      -- the line is really in the last state; the user state did not move
      assert.equals("hookup", emu:snapshot("Peter").linestate)
      assert.is_true(c:no_event("userstatechanged", 0.05))
      -- the next flood starts away from it
      emu._h:control("flood", {user = "Peter", count = 1})
      assert.equals("lsReady", c:event("linestatechanged").linestatestr)
      c:close()
    end)
  end)

  it("checks its arguments: a known user, 1..65536 toggles", function()
    with(function(emu)
      local h = emu._h
      local res, msg, code = h:control("flood", {user = "nobody", count = 1})
      assert.is_nil(res)
      assert.equals("invalid", code)
      assert.matches("unknown user", msg)
      for _, n in ipairs {0, -1, 65537, 1.5, "3"} do
        res, msg, code = h:control("flood", {user = "Peter", count = n})
        assert.is_nil(res, tostring(n))
        assert.equals("invalid", code)
        assert.matches("count", msg)
      end
      assert.equals(65536, h:control("flood", {user = "Peter", count = 65536}))
    end)
  end)

  it("goes through the output bound: a flood over max_output at once cuts the peer", function()
    local emu = assert(emulator.start{max_output = 65536})
    local ok, err = xpcall(function()
      local c = E.connect(emu)
      assert.equals(5000, emu._h:control("flood", {user = "Peter", count = 5000}))
      assert.truthy(c:closed(5))
      -- within the bound it is served
      local d = E.connect(emu)
      assert.equals(100, emu._h:control("flood", {user = "Peter", count = 100}))
      for i = 1, 100 do assert.truthy(d:event("linestatechanged"), "event " .. i) end
      d:close()
    end, debug.traceback)
    emu:stop()
    if not ok then error(err, 0) end
  end)
end)
