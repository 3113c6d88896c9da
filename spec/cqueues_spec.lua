-- A client driven from a cqueues controller: the client is a cqueues-style
-- pollable (pollfd / events / timeout), oktell.step(0) does the work.
local has_cqueues, cqueues = pcall(require, "cqueues")
local oktell = require "oktell"
local helper = require "helper"
local now = require("oktell.core").now

if not has_cqueues then
  describe("oktell client under cqueues", function()
    pending("cqueues is not installed for this Lua")
  end)
  return
end

describe("oktell client under cqueues", function()
  helper.guard()

  it("answers the pollable protocol", function()
    helper.with_emulator({}, function(emu)
      local c = helper.connect(emu)
      assert.is_number(c:pollfd())
      assert.is_true(c:events() == "r" or c:events() == "rw" or c:events() == "w")
      local t = c:timeout()
      assert.is_true(t == nil or type(t) == "number")
      c:close()
      assert.is_nil(c:pollfd())
    end)
  end)

  it("a cqueues coroutine polls the client and steps oktell; managed coroutines make the calls", function()
    helper.with_emulator({}, function(emu)
      local c = helper.connect(emu)
      local cq = cqueues.new()
      local results, ticks = {}, 0
      local done = false
      for i = 1, 10 do
        oktell.spawn(function() results[i] = c:user_state().state end)
      end
      oktell.spawn(function()
        c:set_user_state { state = "off" }
        results.off = c:user_state().state
      end)
      -- an unrelated cqueues coroutine keeps running meanwhile
      cq:wrap(function()
        while not done do ticks = ticks + 1; cqueues.sleep(0.001) end
      end)
      cq:wrap(function()
        local deadline = cqueues.monotime() + 5
        while (#results < 10 or not results.off) and cqueues.monotime() < deadline do
          cqueues.poll(c, c:timeout() or 1)
          oktell.step(0)
        end
        done = true
      end)
      assert(cq:loop())
      assert.are.equal(10, #results)
      for i = 1, 10 do assert.are.equal("ready", results[i]) end
      assert.are.equal("off", results.off)
      assert.is_true(ticks > 0)
      c:close()
    end)
  end)

  -- The pollable promise both ways at once: one cqueues coroutine drives
  -- oktell with oktell.step() (as the pollable protocol says) while others
  -- of the same controller are inside client calls or oktell.sleep, each
  -- waiting in the controller meanwhile.
  it("oktell.step() from one cqueues coroutine while others are inside client calls", function()
    helper.with_emulator({}, function(emu)
      local c = helper.connect(emu)
      local cq = cqueues.new()
      local got, slept, done, steps = {}, nil, 0, 0
      emu:pause(true)
      for i = 1, 3 do
        cq:wrap(function()
          local st, m = c:user_state()
          got[i] = st and st.state or m
          done = done + 1
        end)
      end
      cq:wrap(function()
        local t0 = now()
        oktell.sleep(0.1)
        slept = now() - t0
        done = done + 1
      end)
      cq:wrap(function()
        cqueues.sleep(0.05)
        emu:pause(false)
      end)
      cq:wrap(function()
        local deadline = cqueues.monotime() + 5
        while done < 4 and cqueues.monotime() < deadline do
          cqueues.poll(c, c:timeout() or 0.05)
          -- not in pcall: PUC Lua 5.1 cannot yield across it (step(0.01)
          -- waits in the controller)
          oktell.step(steps % 2 == 0 and 0 or 0.01)
          steps = steps + 1
        end
      end)
      assert(cq:loop())
      assert.are.same({ "ready", "ready", "ready" }, got)
      assert.is_true(slept >= 0.099 and slept < 0.5, tostring(slept))
      assert.is_true(steps > 0)
      c:close()
    end)
  end)

  it("inside a cqueues coroutine a blocking method lets the controller's other coroutines run", function()
    helper.with_emulator({}, function(emu)
      local c = helper.connect(emu)
      local cq = cqueues.new()
      local order = {}
      cq:wrap(function()
        emu:pause(true)
        cq:wrap(function()
          local st = c:user_state() -- blocked until the emulator resumes
          order[#order + 1] = st and st.state
        end)
        cqueues.sleep(0.05)
        order[#order + 1] = "other"
        emu:pause(false)
      end)
      assert(cq:loop())
      assert.are.same({ "other", "ready" }, order)
      c:close()
    end)
  end)
end)
