-- The scheduler alone (no server): spawn, sleep, run, stop, step, on_error.
local loop = require "oktell.loop"
local core = require "oktell.core"
local helper = require "helper"

describe("oktell.loop", function()
  local saved
  before_each(function() saved = loop.on_error(function() end) end)
  after_each(function()
    loop.on_error(saved)
    local st = loop.stats()
    assert.are.equal(0, st.managed)
    assert.are.equal(0, st.runnable)
  end)

  it("run(fn, ...) returns fn's results and passes its arguments", function()
    local a, b, c = loop.run(function(x, y) return y, x, "z" end, 1, 2)
    assert.are.same({ 2, 1, "z" }, { a, b, c })
  end)

  it("run(fn) waits for every spawned coroutine, in the order their sleeps end", function()
    local order = {}
    loop.run(function()
      loop.spawn(function() loop.sleep(0.06); order[#order + 1] = "slow" end)
      loop.spawn(function() loop.sleep(0.02); order[#order + 1] = "fast" end)
      order[#order + 1] = "main"
    end)
    assert.are.same({ "main", "fast", "slow" }, order)
  end)

  it("sleep yields inside a managed coroutine and lets others run meanwhile", function()
    local ticks = 0
    local t0 = core.now()
    loop.run(function()
      loop.spawn(function()
        for _ = 1, 5 do ticks = ticks + 1; loop.sleep(0.005) end
      end)
      loop.sleep(0.05)
    end)
    assert.are.equal(5, ticks)
    assert.is_true(core.now() - t0 >= 0.049)
  end)

  it("sleep in the main chunk blocks and keeps running managed coroutines", function()
    local done = false
    loop.spawn(function() loop.sleep(0.01); done = true end)
    local t0 = core.now()
    loop.sleep(0.04)
    assert.is_true(done)
    assert.is_true(core.now() - t0 >= 0.039)
  end)

  it("spawn returns the coroutine and passes arguments; plain yields give the turn away", function()
    local seen = {}
    local co = loop.spawn(function(a, b)
      seen[#seen + 1] = a
      coroutine.yield()
      seen[#seen + 1] = b
    end, "x", "y")
    assert.are.equal("thread", type(co))
    loop.run(function() seen[#seen + 1] = "run" end)
    assert.are.same({ "x", "run", "y" }, seen)
  end)

  it("an error in a spawned coroutine goes to on_error with a traceback and the loop goes on", function()
    local got, tb
    loop.on_error(function(e, t) got, tb = e, t end)
    local after = false
    loop.run(function()
      loop.spawn(function() error("boom", 0) end)
      loop.sleep(0.01)
      after = true
    end)
    assert.are.equal("boom", got)
    assert.matches("traceback", tb)
    assert.is_true(after)
  end)

  it("the default on_error writes to stderr and the previous handler is returned", function()
    local mine = function() end
    loop.on_error(mine)
    assert.are.equal(mine, loop.on_error(nil))
    assert.has_error(function() loop.on_error(42) end)
  end)

  it("run(fn) re-raises fn's own error", function()
    local ok, err = pcall(loop.run, function() error({ code = 7 }) end)
    assert.is_false(ok)
    assert.are.equal(7, err.code)
  end)

  it("a nested run or step from inside the loop is misuse and raises", function()
    local e1, e2
    loop.run(function()
      e1 = select(2, pcall(loop.step, 0))
      e2 = select(2, pcall(loop.run, function() end))
    end)
    assert.matches("step", e1)
    assert.matches("run", e2)
  end)

  it("step(timeout) runs one turn and returns true", function()
    local n = 0
    loop.spawn(function() n = n + 1 end)
    assert.is_true(loop.step(0))
    assert.are.equal(1, n)
    local t0 = core.now()
    assert.is_true(loop.step(0.02))  -- nothing to do: waits up to the timeout at most
    assert.is_true(core.now() - t0 < 0.5)
  end)

  it("run() with nothing to serve returns at once; stop() ends a serving run", function()
    assert.is_true(loop.run())
    loop.spawn(function() loop.sleep(0.01); loop.stop() end)
    loop.spawn(function() loop.sleep(0.01) end)
    assert.is_true(loop.run())
    loop.run(function() end) -- drain
  end)

  it("waiters complete exactly once and hand back up to three values", function()
    local w = loop.waiter()
    assert.is_true(loop.wake(w, nil, "m", "c"))
    assert.is_false(loop.wake(w, "again"))
    assert.are.same({ nil, "m", "c" }, { loop.park(w) })
    local r
    loop.run(function()
      local w2 = loop.waiter()
      loop.spawn(function() loop.wake(w2, "hello", nil, nil, 1) end)
      r = helper.pack(loop.park(w2))
    end)
    assert.are.equal(1, r.n)
    assert.are.equal("hello", r[1])
  end)

  it("a deadline wakes a waiter with timeout values", function()
    local w = loop.waiter()
    loop.deadline(w, core.now() + 0.01, nil, "timeout", "timeout")
    assert.are.same({ nil, "timeout", "timeout" }, { loop.park(w) })
  end)

  it("blocking on a waiter nothing can wake raises instead of hanging", function()
    local w = loop.waiter()
    assert.has_error(function() loop.park(w) end)
  end)

  it("misuse raises with the argument named", function()
    assert.has_error(function() loop.spawn(1) end, "bad argument #1 to 'spawn' (function expected, got number)")
    assert.has_error(function() loop.sleep("x") end, "bad argument #1 to 'sleep' (number expected, got string)")
    assert.has_error(function() loop.step("x") end, "bad argument #1 to 'step' (number expected, got string)")
  end)

  -- Issue 10 item 5: a coroutine whose yield failed stayed registered on
  -- its waiter, and the waiter's wake later resumed it (dead, or parked on
  -- something else).
  it("a park whose yield fails leaves nothing registered: the wake resumes nothing", function()
    local errors = {}
    loop.on_error(function(e) errors[#errors + 1] = tostring(e) end)
    local w = loop.waiter()
    local perr, after
    loop.spawn(function()
      w = loop.waiter()
      -- a C function between the coroutine and the yield: fails on every Lua
      local ok, e = pcall(table.sort, { 1, 2, 3 }, function(a, b) loop.park(w); return a < b end)
      perr = not ok and e
      after = true
    end)
    loop.step(0)
    assert.is_true(after)
    assert.matches("yield", perr)
    assert.is_true(loop.wake(w, "late", nil, nil, 1)) -- the coroutine has ended
    loop.step(0)
    assert.are.same({}, errors)
  end)

  it("a park whose yield failed does not wake the coroutine's next park early", function()
    local w, order = nil, {}
    loop.run(function()
      loop.spawn(function()
        w = loop.waiter()
        pcall(string.gsub, "x", "x", function() loop.park(w) end)
        order[#order + 1] = "failed"
        loop.sleep(0.05) -- parked on another waiter now
        order[#order + 1] = "slept"
      end)
      loop.spawn(function()
        loop.sleep(0.01)
        loop.wake(w, "stale", nil, nil, 1)
        order[#order + 1] = "woke"
      end)
    end)
    assert.are.same({ "failed", "woke", "slept" }, order)
  end)

  -- Lua 5.1 (PUC) cannot yield across pcall; 5.2+ and LuaJIT can.
  it("park inside pcall: yields where the Lua can, else fails and leaves nothing registered", function()
    local can = coroutine.wrap(function() return pcall(coroutine.yield, "yielded") end)() == "yielded"
    local errors = {}
    loop.on_error(function(e) errors[#errors + 1] = tostring(e) end)
    local w, res
    loop.run(function()
      loop.spawn(function()
        w = loop.waiter()
        res = helper.pack(pcall(loop.park, w))
      end)
      loop.spawn(function() loop.sleep(0.01); loop.wake(w, "hello", nil, nil, 1) end)
    end)
    if can then
      assert.are.same({ n = 2, true, "hello" }, res)
    else
      assert.is_false(res[1])
      assert.matches("yield across", res[2])
    end
    assert.are.same({}, errors)
  end)

  it("a callable table is accepted alike by spawn and run; other values are refused alike", function()
    local seen = {}
    local obj = setmetatable({}, { __call = function(self, a, b)
      seen[#seen + 1] = { self = self, a = a, b = b }
      loop.sleep(0.001) -- a managed coroutine: it may yield
      return a, b
    end })
    loop.spawn(obj, "s1", "s2")
    assert.are.same({ n = 2, "r1", "r2" }, helper.pack(loop.run(obj, "r1", "r2")))
    assert.are.equal(2, #seen)
    assert.are.equal(obj, seen[1].self)
    assert.are.same({ "s1", "s2" }, { seen[1].a, seen[1].b })
    for _, f in ipairs { loop.spawn, loop.run } do
      assert.has_error(function() f({}) end)
      assert.has_error(function() f(setmetatable({}, { __index = function() end })) end)
    end
    assert.has_error(function() loop.run({}) end, "bad argument #1 to 'run' (function expected, got table)")
    assert.has_error(function() loop.spawn({}) end, "bad argument #1 to 'spawn' (function expected, got table)")
  end)

  -- HOSTS.md §2: ngx_lua replaces coroutine.create/resume/yield/status/wrap
  -- with versions bound to one request or timer and keeps the standard
  -- ones as coroutine._create and so on; a coroutine of ours resumed from a
  -- later timer must be a standard one.
  it("uses coroutine._create/_resume/_yield/_status when they exist (ngx_lua)", function()
    local names = { "create", "resume", "yield", "status", "wrap" }
    local orig, used = {}, {}
    for _, k in ipairs(names) do orig[k] = coroutine[k] end
    for _, k in ipairs(names) do
      local f = orig[k]
      -- rawset: the specs change the standard library on purpose here
      rawset(coroutine, "_" .. k, function(...) used[k] = true; return f(...) end)
      rawset(coroutine, k, function() error("ngx_lua's coroutine." .. k .. " used") end)
    end
    package.loaded["oktell.loop"] = nil
    local ok, err = pcall(function()
      local nl = require "oktell.loop"
      local order = {}
      local r = nl.run(function()
        nl.spawn(function() nl.sleep(0.002); order[#order + 1] = "spawned" end)
        nl.sleep(0.001)
        order[#order + 1] = "main"
        return "done"
      end)
      assert.are.equal("done", r)
      assert.are.same({ "main", "spawned" }, order)
    end)
    for _, k in ipairs(names) do
      rawset(coroutine, k, orig[k])
      rawset(coroutine, "_" .. k, nil)
    end
    package.loaded["oktell.loop"] = loop
    assert(ok, err)
    assert.is_true(used.create and used.resume and used.yield and used.status)
  end)

  it("many coroutines sleeping on the timer heap wake in deadline order", function()
    local order = {}
    loop.run(function()
      for i = 10, 1, -1 do
        loop.spawn(function() loop.sleep(i * 0.002); order[#order + 1] = i end)
      end
    end)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, order)
  end)
end)
