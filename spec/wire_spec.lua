-- spec/wire_spec.lua: core.wire, the sans-IO connection a host driver runs
-- over its own sockets (src/lua/wire.c). The specs play the host: a test-only
-- blocking TCP client (tests/lua/testsock.c) moves the bytes between the wire
-- and the emulator. The byte path itself (framing, splits down to one byte,
-- limits) is covered by tests/c/test_wire.c; here: the binding's arguments,
-- results and errors, the event tables (the same as conn:next_event's), the
-- trace, close and the closed box.
local core = require "oktell.core"
local helper = require "helper"
local sock = require "tests.testsock"

local function port_of(url) return tonumber(url:match(":(%d+)$")) end

-- The host's turn: write the output, wait for input up to the deadline (at
-- most `max` s), feed it `chunk` bytes at a time, tick; collect events.
local function turn(w, fd, events, max, chunk)
  local out = w:output()
  if out then assert(sock.send(fd, out)) end
  local d = w:deadline()
  local wait = max or 0.05
  if d then wait = math.max(0, math.min(wait, d - core.now())) end
  local data, err = sock.recv(fd, 65536, wait)
  if data then
    if chunk then
      for i = 1, #data, chunk do assert(w:feed(data:sub(i, i + chunk - 1))) end
    else
      assert(w:feed(data))
    end
  elseif err == "closed" then
    w:closed("eof")
  end
  w:tick()
  while true do
    local ev = w:next_event()
    if not ev then break end
    events[#events + 1] = ev
  end
end

-- Turn until an event of `ty` arrives (returned) or t seconds pass.
local function until_event(w, fd, ty, t, chunk)
  local events = {}
  local deadline = core.now() + (t or 3)
  while core.now() < deadline do
    turn(w, fd, events, 0.05, chunk)
    for _, ev in ipairs(events) do
      if ev.type == ty then return ev, events end
    end
  end
  return nil, events
end

local function open(emu, extra)
  local o = { url = emu.url, login = "Peter", password = "123", timeout = 3 }
  for k, v in pairs(extra or {}) do o[k] = v end
  local w = assert(core.wire(o))
  local fd = assert(sock.connect("127.0.0.1", port_of(emu.url)))
  return w, fd
end

describe("core.wire", function()
  helper.guard()

  it("checks its arguments as core.connect does", function()
    assert.has_error(function() core.wire() end)
    assert.has_error(function() core.wire{ login = "Peter" } end,
      "bad argument #1 to 'wire' ('url' must be a string)")
    assert.has_error(function() core.wire{ url = "ws://h/" } end,
      "bad argument #1 to 'wire' ('login' must be a string)")
    assert.has_error(function() core.wire{ url = "ws://h/", login = "P", timeout = -1 } end,
      "bad argument #1 to 'wire' ('timeout' must be positive)")
    assert.has_error(function() core.wire{ url = "ws://h/", login = "P", trace = 1 } end,
      "bad argument #1 to 'wire' ('trace' must be a boolean)")
    assert.has_error(function() core.wire{ url = "ws://h/\0x", login = "P" } end,
      "bad argument #1 to 'wire' ('url' must not contain NUL bytes)")
    local many = {}
    for i = 1, 65 do many[i] = "e" .. i end
    assert.has_error(function() core.wire{ url = "ws://h/", login = "P", subscribe = many } end,
      "bad argument #1 to 'wire' ('subscribe' must hold 0 to 64 names)")
    local w, msg, code = core.wire{ url = "http://h/", login = "P" }
    assert.is_nil(w)
    assert.are.equal("invalid", code)
    assert.matches("ws://", msg)
    -- misuse of a method raises too
    local w2 = assert(core.wire{ url = "ws://h/", login = "P" })
    assert.has_error(function() w2:feed() end)
    assert.has_error(function() w2:request() end)
    assert.has_error(function() w2:request("getuserstate", { 1, 2 }) end)
    w2:close()
  end)

  it("hands out the upgrade request at once and says when to wake", function()
    local w = assert(core.wire{ url = "wss://pbx.example.org/oktell", login = "Peter", open_timeout = 2 })
    assert.are.equal("handshake", w:state())
    assert.are.equal(0, w:deadline()) -- bytes wait: act now
    local req = w:output()
    assert.matches("^GET /oktell HTTP/1.1\r\nHost: pbx.example.org\r\n", req)
    assert.is_nil(w:output()) -- taken
    local d = w:deadline()
    assert.is_true(d > core.now() + 1 and d <= core.now() + 2.01) -- the open timeout
    assert.is_nil(w:redirect())
    assert.matches("^oktell.wire %(open%)", tostring(w))
    w:close()
    assert.matches("^oktell.wire %(closed%)", tostring(w))
  end)

  for _, chunk in ipairs({ false, 1 }) do
    it("logs in, asks and gets events against the emulator" .. (chunk and ", one byte at a time" or ""), function()
      helper.with_emulator(function(emu)
        local w, fd = open(emu)
        local ready = until_event(w, fd, "ready", 3, chunk or nil)
        assert.is_table(ready)
        assert.are.equal("ready", w:state())
        assert.is_string(ready.data.userid)
        local id = assert(w:request("getuserstate"))
        local reply = until_event(w, fd, "reply", 3, chunk or nil)
        assert.are.same({ "data", "id", "type" }, (function()
          local k = {}
          for n in pairs(reply) do k[#k + 1] = n end
          table.sort(k)
          return k
        end)())
        assert.are.equal(id, reply.id)
        assert.are.equal("1", reply.data.userstateid)
        -- a change made here comes back as an event too
        assert(w:request("setuserstate", { userstateid = 3 }))
        local ev = until_event(w, fd, "event", 3, chunk or nil)
        assert.are.equal("userstatechanged", ev.name)
        assert.are.equal("3", ev.data.userstateid)
        local ok, bye = w:close()
        assert.is_true(ok)
        assert.is_string(bye) -- logout and a close frame, for the host to send
        sock.send(fd, bye)
        sock.close(fd)
        assert.is_true(w:close()) -- idempotent, nothing more to send
        assert.is_true(helper.eventually(function() return emu:sessions() == 0 end))
      end)
    end)
  end

  it("times out a request by its deadline", function()
    helper.with_emulator(function(emu)
      local w, fd = open(emu)
      assert(until_event(w, fd, "ready"))
      emu:pause(true)
      local id = assert(w:request("getuserstate", nil, 0.1))
      local err = until_event(w, fd, "error", 3)
      assert.are.same({ type = "error", id = id, code = "timeout", message = err.message }, err)
      assert.matches("timed out", err.message)
      emu:pause(false)
      w:close()
      sock.close(fd)
    end)
  end)

  it("hears the transport drop: pending requests fail closed, then closed", function()
    helper.with_emulator(function(emu)
      local w, fd = open(emu)
      assert(until_event(w, fd, "ready"))
      local id = assert(w:request("getuserstate"))
      assert(w:output())
      assert.is_true(w:closed("connection reset"))
      local e1, e2 = w:next_event(), w:next_event()
      assert.are.same({ type = "error", id = id, code = "closed", message = e1.message }, e1)
      assert.are.same({ type = "closed", code = "closed", message = "connection reset" }, e2)
      assert.are.equal("closed", w:state())
      assert.is_true(w:feed("late bytes")) -- dropped
      local id2, msg, code = w:request("getuserstate")
      assert.is_nil(id2)
      assert.are.equal("closed", code)
      assert.is_string(msg)
      w:close()
      sock.close(fd)
    end)
  end)

  it("reports an EOF from the server (the emulator drops the user)", function()
    helper.with_emulator(function(emu)
      local w, fd = open(emu)
      assert(until_event(w, fd, "ready"))
      emu:drop("Peter")
      local ev = until_event(w, fd, "closed", 3)
      assert.are.equal("closed", ev.code)
      w:close()
      sock.close(fd)
    end)
  end)

  it("keeps a wire trace with secrets masked, also after close", function()
    helper.with_emulator(function(emu)
      local w, fd = open(emu, { trace = true })
      assert(until_event(w, fd, "ready"))
      local list, dropped = w:trace()
      assert.are.equal(0, dropped)
      local login
      for _, r in ipairs(list) do
        assert.is_true(r.dir == ">" or r.dir == "<")
        if r.dir == ">" and r.frame:find('"login"', 1, true) then login = r.frame end
      end
      assert.is_string(login)
      assert.matches("***", login, 1, true)
      assert.is_nil(login:find("202cb962", 1, true))
      w:close()
      local tail = w:trace() -- the logout, kept after close
      assert.are.equal(">", tail[1].dir)
      assert.matches("logout", tail[1].frame)
      sock.close(fd)
    end)
  end)

  it("refuses reopen outside a redirect or the handshake", function()
    helper.with_emulator(function(emu)
      local w, fd = open(emu)
      assert(until_event(w, fd, "ready"))
      local ok, msg, code = w:reopen("ws://127.0.0.1:1/")
      assert.is_nil(ok)
      assert.are.equal("invalid", code)
      assert.matches("reopen", msg)
      w:close()
      sock.close(fd)
    end)
  end)

  it("answers closed from every method of a closed box", function()
    local w = assert(core.wire{ url = "ws://h/", login = "P" })
    assert.is_true(w:close())
    for _, m in ipairs({ "output", "tick", "state", "next_event" }) do
      local r, msg, code = w[m](w)
      assert.is_nil(r, m)
      assert.are.equal("connection closed", msg)
      assert.are.equal("closed", code)
    end
    local r, _, code = w:feed("x")
    assert.is_nil(r)
    assert.are.equal("closed", code)
    assert.is_nil(w:deadline())
    assert.is_nil(w:redirect())
    assert.are.same({}, (w:trace()))
  end)

  it("frees what it holds when collected unclosed", function()
    for _ = 1, 20 do
      local w = core.wire{ url = "ws://h/", login = "P", trace = true }
      w:request("getuserstate") -- refused (not ready), nothing leaks
    end
    collectgarbage()
    collectgarbage()
  end)
end)
