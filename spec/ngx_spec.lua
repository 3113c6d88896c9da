-- spec/ngx_spec.lua: lua/oktell/ngx.lua, the OpenResty driver, under Lua 5.4
-- with a fake `ngx`: cosockets made of a test-only blocking TCP client
-- (tests/lua/testsock.c), ngx.ctx switched by the spec to play requests and
-- timers. A cosocket used from a context other than the one that made it
-- raises, as nginx's does ("bad request"), so the specs prove that one
-- context never steps another's connection. The real thing runs in
-- tests/hosts/nginx.sh.
local core = require "oktell.core"
local loop = require "oktell.loop"
local oktell = require "oktell"
local helper = require "helper"
local sock = require "tests.testsock"

local F -- the fake's state: current context, phase, timers, log
local okt -- oktell.ngx, loaded over the fake

local function fake_ngx()
  local ngx = { ERR = 4, NOTICE = 6 }
  setmetatable(ngx, {
    __index = function(_, k)
      if k == "ctx" then
        if not F.ctx then error("fake ngx: no request (ngx.ctx outside a context)", 2) end
        return F.ctx
      end
    end,
  })
  function ngx.get_phase() return F.phase end
  function ngx.sleep(t) core.poll({}, t) end
  function ngx.log(_, ...) F.log[#F.log + 1] = table.concat({ ... }) end
  ngx.worker = { exiting = function() return F.exiting end }
  ngx.timer = {
    at = function(delay, fn)
      F.timers[#F.timers + 1] = { delay = delay, fn = fn }
      return true
    end,
  }
  local S = {}
  S.__index = S
  local function own(s)
    if s.owner ~= F.ctx then error("fake ngx: bad request (a cosocket of another context)", 3) end
  end
  function S:settimeout(ms) own(self); self.ms = ms end
  function S:connect(host, port)
    own(self)
    local fd, err = sock.connect(host, port)
    if not fd then return nil, err end
    self.fd = fd
    F.sockets = F.sockets + 1
    return 1
  end
  function S:sslhandshake() own(self); return nil, "no TLS in the fake" end
  function S:send(data) own(self); return sock.send(self.fd, data) end
  function S:receiveany(max)
    own(self)
    assert(self.ms and self.ms >= 1, "a timeout of 0 means nginx's default")
    return sock.recv(self.fd, max, self.ms / 1000)
  end
  function S:close()
    own(self)
    if self.fd then
      sock.close(self.fd)
      self.fd = nil
      F.sockets = F.sockets - 1
    end
    return 1
  end
  ngx.socket = { tcp = function() return setmetatable({ owner = F.ctx }, S) end }
  return ngx
end

-- Run fn as the request or timer `ctx` would.
local function in_ctx(ctx, fn)
  local prev = F.ctx
  F.ctx = ctx
  local ok, err = pcall(fn)
  F.ctx = prev
  if not ok then error(err, 0) end
end

local function peter(emu, extra)
  local o = { url = emu.url, login = "Peter", password = "123", timeout = 3 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("oktell.ngx", function()
  setup(function()
    F = { ctx = nil, phase = "content", exiting = false, timers = {}, log = {}, sockets = 0 }
    rawset(_G, "ngx", fake_ngx())
    package.loaded["oktell.ngx"] = nil
    okt = require "oktell.ngx"
  end)

  teardown(function()
    loop.set_context(nil)
    loop.on_error(nil)
    package.loaded["oktell.ngx"] = nil
    rawset(_G, "ngx", nil)
  end)

  before_each(function()
    F.phase, F.exiting, F.timers, F.log = "content", false, {}, {}
  end)

  after_each(function()
    assert.are.equal(0, F.sockets, "a cosocket was left open")
  end)

  it("runs a request's client over cosockets: connect, calls, close", function()
    helper.with_emulator(function(emu)
      local R = {}
      in_ctx(R, function()
        local c = assert(okt.connect(peter(emu)))
        assert.are.equal(1, F.sockets)
        assert.are.equal("ready", assert(c:user_state()).state)
        assert.is_true(c:set_user_state{ state = "off" })
        assert.are.equal("off", c:user_state().state)
        assert.are.equal(1, loop.stats().pollables)
        c:close()
        assert.are.equal(0, loop.stats().pollables)
        -- (oktell.sleep, as every scheduler function, needs a context here)
        assert.is_true(helper.eventually(function() return emu:sessions() == 0 end))
      end)
      assert.is_table(R["oktell.ngx.scheduler"]) -- its own scheduler
    end)
  end)

  it("keeps contexts apart: one never steps another's connection or handlers", function()
    helper.with_emulator(function(emu)
      local T, R = {}, {}
      local c1
      local seen = {}
      in_ctx(T, function()
        c1 = assert(okt.connect(peter(emu)))
        c1:on("userstate", function(ev) seen[#seen + 1] = { state = ev.state, ctx = F.ctx } end)
      end)
      in_ctx(R, function()
        local c2 = assert(okt.connect(peter(emu)))
        assert.is_true(c2:set_user_state{ state = "off" })
        oktell.sleep(0.1) -- R's loop turns: R's connection only
        c2:close()
      end)
      assert.are.equal(0, #seen) -- T's event waits in T's socket
      in_ctx(T, function()
        assert.is_true(helper.eventually(function() return #seen > 0 end))
        c1:close()
      end)
      assert.are.equal("off", seen[1].state)
      assert.are.equal(T, seen[1].ctx) -- the handler ran in T, its own context
    end)
  end)

  it("refuses to connect where nginx has no cosockets, before any socket", function()
    F.phase = "init_worker"
    in_ctx({}, function()
      assert.has_error(function() okt.connect{ url = "ws://127.0.0.1:1", login = "Peter" } end,
        "oktell.ngx: no cosockets in init_worker_by_lua*: start a timer (okt.worker or ngx.timer.at)")
    end)
    assert.are.equal(0, F.sockets)
  end)

  it("tries the URLs in turn and says refused when none connects", function()
    helper.with_emulator(function(emu)
      in_ctx({}, function()
        local c, msg, code = okt.connect{ url = helper.closed_port(), login = "Peter", password = "123" }
        assert.is_nil(c)
        assert.are.equal("refused", code)
        assert.matches("127.0.0.1:1", msg)
        c = assert(okt.connect(peter(emu, { url = { helper.closed_port(), emu.url } })))
        assert.is_table(c:user_state())
        c:close()
      end)
    end)
  end)

  it("blames the caller for misuse, as oktell.connect does", function()
    in_ctx({}, function()
      assert.has_error(function() okt.connect{ url = "ws://h/" } end,
        "bad argument #1 to 'connect' ('login' (string) expected, got nil)")
    end)
  end)

  it("tells a request that the server went away", function()
    helper.with_emulator(function(emu)
      in_ctx({}, function()
        local c = assert(okt.connect(peter(emu, { reconnect = false })))
        local gone
        c:on("disconnect", function(ev) gone = ev end)
        emu:drop("Peter")
        assert.is_true(helper.eventually(function() return gone ~= nil end))
        assert.are.equal("closed", gone.code)
        local r, _, code = c:user_state()
        assert.is_nil(r)
        assert.are.equal("closed", code)
        c:close()
      end)
    end)
  end)

  it("okt.worker: a timer serves its client's events until the worker exits", function()
    helper.with_emulator(function(emu)
      F.phase = "init_worker"
      local got
      assert.is_true(okt.worker(function()
        local c = assert(okt.connect(peter(emu)))
        c:on("userstate", function(ev)
          got = { state = ev.state, ctx = F.ctx }
          F.exiting = true -- the worker is told to stop
        end)
        -- someone else changes the state: the event reaches this timer
        in_ctx({}, function()
          local other = assert(okt.connect(peter(emu)))
          assert(other:set_user_state{ state = "off" })
          other:close()
        end)
      end, 0.01))
      assert.are.equal(1, #F.timers)
      assert.are.equal(0, F.timers[1].delay)
      F.phase = "timer"
      local TM = {}
      in_ctx(TM, function() F.timers[1].fn(false) end) -- returns once exiting
      assert.are.same({ state = "off", ctx = TM }, got)
      assert.are.equal(1, #F.timers) -- exiting: not started again
      in_ctx(TM, function() assert.are.equal(0, loop.stats().pollables) end)
      F.timers[1].fn(true) -- premature: nothing
    end)
  end)

  it("okt.worker: a failing function is logged and started again", function()
    assert.is_true(okt.worker(function() error("no server today") end, 0.5))
    F.phase = "timer"
    in_ctx({}, function() F.timers[1].fn(false) end)
    assert.matches("no server today", F.log[1])
    assert.are.equal(2, #F.timers)
    assert.are.equal(0.5, F.timers[2].delay)
    assert.has_error(function() okt.worker("x") end,
      "bad argument #1 to 'worker' (function expected, got string)")
  end)
end)
