-- The oktell.conn binding (src/lua/conn.c) over a real server: the embedded
-- emulator, plus the misuse and "refused" paths, and the wire trace. Nothing
-- here depends on the names the emulator gives its replies.
local core = require "oktell.core"
local emulator = require "oktell.emulator"
local helper = require "helper"

-- Turn one conn until an event of type `want` arrives (returned) or `limit`
-- seconds pass (nil). Other events are appended to `seen`.
local function pump(conn, want, seen, limit)
  local stop = core.now() + (limit or 5)
  while core.now() < stop do
    local ev = conn:next_event()
    while ev do
      if ev.type == want then return ev end
      if seen then seen[#seen + 1] = ev end
      ev = conn:next_event()
    end
    local t = conn:timeout()
    if t == nil or t > 0.05 then t = 0.05 end
    local fd, e = conn:pollfd(), conn:events()
    if fd and e then core.poll({ fd, e }, t) else core.poll({}, t) end
    assert(conn:step())
  end
  return nil
end

-- A port with nothing listening on it: an emulator started and stopped.
local function dead_url()
  local emu = emulator.start { port = 0 }
  local url = emu.url
  emu:stop()
  return url
end

describe("core.connect misuse", function()
  local good = { urls = { "ws://127.0.0.1:1" }, login = "Peter", password = "123" }
  local function with(k, v)
    local o = {}
    for key, val in pairs(good) do o[key] = val end
    o[k] = v
    return o
  end

  it("raises on wrong argument types", function()
    assert.has_error(function() core.connect() end)
    assert.has_error(function() core.connect("ws://x") end)
    for _, case in ipairs {
      { "urls", 42 }, { "urls", {} }, { "urls", { 1 } }, { "login", false },
      { "password", 123 }, { "timeout", "10" }, { "timeout", -1 }, { "open_timeout", 0 },
      { "ping", "x" }, { "verify", "yes" }, { "cafile", 5 }, { "subscribe", "x" },
      { "trace", "yes" }, { "max_output", 100 }, { "max_output", "1M" }, { "max_output", 65536.5 },
    } do
      local ok, err = pcall(core.connect, with(case[1], case[2]))
      assert.is_false(ok, case[1])
      assert.matches("bad argument #1 to 'connect'", err, 1, true)
      assert.matches(case[1], err, 1, true)
    end
  end)

  it("returns nil, msg, 'invalid' for a URL that is not ws:// or wss://", function()
    local c, msg, code = core.connect(with("urls", { "http://127.0.0.1:80" }))
    assert.is_nil(c)
    assert.is_string(msg)
    assert.equals("invalid", code)
  end)
end)

describe("oktell.conn refused", function()
  it("reports 'refused' as a closed event when no URL answers", function()
    local u1, u2 = dead_url(), dead_url()
    local conn = assert(core.connect { urls = { u1, u2 }, login = "Peter", password = "123" })
    assert.equals("handshake", conn:state())
    local ev = pump(conn, "closed")
    assert.is_table(ev)
    assert.equals("refused", ev.code)
    assert.matches("2 URLs", ev.message, 1, true)
    assert.equals("closed", conn:state())
    assert.is_nil(conn:pollfd())
    assert.is_nil(conn:events())
    assert.is_nil(conn:timeout())
    local id, msg, code = conn:request("getuserstate")
    assert.is_nil(id)
    assert.is_string(msg)
    assert.equals("closed", code)
    assert.is_true(conn:close())
  end)

  it("a single string URL is accepted", function()
    local conn = assert(core.connect { urls = dead_url(), login = "Peter", password = "123" })
    local ev = pump(conn, "closed")
    assert.equals("refused", ev and ev.code)
    conn:close()
  end)
end)

describe("oktell.conn against the emulator", function()
  local emu
  before_each(function() emu = assert(emulator.start { port = 0 }) end)
  after_each(function()
    emu:stop()
    collectgarbage()
  end)

  local function ready_conn(extra)
    local o = { urls = { emu.url }, login = "Peter", password = "123" }
    for k, v in pairs(extra or {}) do o[k] = v end
    local conn = assert(core.connect(o))
    local ev = pump(conn, "ready")
    assert.is_table(ev, "no ready event")
    return conn, ev
  end

  it("logs in and exposes the pollable", function()
    local conn, ev = ready_conn()
    assert.is_string(ev.data.userid)
    assert.equals("ready", conn:state())
    assert.is_number(conn:pollfd())
    local e = conn:events()
    assert.is_true(e == "r" or e == "rw")
    local t = conn:timeout()
    assert.is_number(t)
    assert.is_true(t > 0 and t <= 15)   -- the keepalive ping
    conn:close()
  end)

  it("fails over from a dead URL to a live one", function()
    local conn = assert(core.connect { urls = { dead_url(), emu.url }, login = "Peter", password = "123" })
    assert.is_table(pump(conn, "ready"))
    conn:close()
  end)

  it("answers requests by id, with params", function()
    local conn = ready_conn()
    local a = assert(conn:request("getuserstate"))
    local b = assert(conn:request("getuserstate", nil, 5))
    assert.is_true(helper.int_type(a) == "integer" and b > a)
    local seen = {}
    local r1 = pump(conn, "reply", seen)
    local r2 = pump(conn, "reply", seen)
    assert.same({ a, b }, { r1.id, r2.id })
    assert.equals("1", r1.data.userstateid) -- a string, as a real server sends it
    -- a state change: the reply, and the userstatechanged event (subscribed)
    local id = assert(conn:request("setuserstate", { userstateid = 3 }))
    local r = pump(conn, "reply", seen)
    assert.equals(id, r.id)
    assert.is_true(r.data.result == nil or r.data.result == 1)   -- absent: success
    local ev = pump(conn, "event", seen)
    assert.is_table(ev)
    assert.equals("userstatechanged", ev.name)
    assert.equals("3", ev.data.userstateid)
    conn:close()
  end)

  it("raises on request misuse", function()
    local conn = ready_conn()
    assert.has_error(function() conn:request() end)
    assert.has_error(function() conn:request("x", 5) end)
    assert.has_error(function() conn:request("x", { 1, 2 }) end)
    assert.has_error(function() conn:request("x", nil, -1) end)
    assert.has_error(function() conn:request("x", { f = function() end }) end)
    conn:close()
  end)

  it("wrong password closes with 'auth'", function()
    local conn = assert(core.connect { urls = { emu.url }, login = "Peter", password = "nope" })
    local ev = pump(conn, "closed")
    assert.is_table(ev)
    assert.equals("auth", ev.code)
    assert.is_nil(ev.message:find("nope", 1, true))
    assert.is_nil(conn:pollfd())
    conn:close()
  end)

  it("a request times out while the server is paused", function()
    local conn = ready_conn()
    emu:pause(true)
    local id = assert(conn:request("getuserstate", nil, 0.2))
    local t0 = core.now()
    local ev = pump(conn, "error")
    assert.is_table(ev)
    assert.equals(id, ev.id)
    assert.equals("timeout", ev.code)
    assert.is_true(core.now() - t0 >= 0.15)
    emu:pause(false)
    conn:close()
  end)

  it("a silent server is dead after two ping intervals", function()
    local conn = ready_conn { ping = 0.2 }
    emu:pause(true)
    local id = assert(conn:request("getuserstate"))
    local seen = {}
    local ev = pump(conn, "closed", seen, 3)
    assert.is_table(ev)
    assert.equals("timeout", ev.code)
    assert.equals(1, #seen)
    assert.same({ "error", id, "closed" }, { seen[1].type, seen[1].id, seen[1].code })
    emu:pause(false)
    conn:close()
  end)

  it("a drop fails pending requests 'closed', then closes", function()
    local conn = ready_conn()
    emu:pause(true)
    local a = assert(conn:request("getuserstate"))
    local b = assert(conn:request("getuserstate"))
    -- let both requests reach the server before it drops us
    for _ = 1, 5 do conn:step() core.poll({}, 0.01) end
    emu:drop("Peter")
    local seen = {}
    local ev = pump(conn, "closed", seen)
    assert.is_table(ev)
    assert.equals("closed", ev.code)
    assert.equals(2, #seen)
    assert.same({ a, "closed" }, { seen[1].id, seen[1].code })
    assert.same({ b, "closed" }, { seen[2].id, seen[2].code })
    emu:pause(false)
    conn:close()
  end)

  it("close is idempotent; methods after it return nil, 'closed'", function()
    local conn = ready_conn()
    assert.is_true(conn:close())
    assert.is_true(conn:close())
    for _, m in ipairs { "step", "state", "next_event" } do
      local v, msg, code = conn[m](conn)
      assert.is_nil(v, m)
      assert.equals("connection closed", msg)
      assert.equals("closed", code)
    end
    local v, msg, code = conn:request("getuserstate")
    assert.is_nil(v)
    assert.equals("connection closed", msg)
    assert.equals("closed", code)
    assert.is_nil(conn:pollfd())
    assert.is_nil(conn:events())
    assert.is_nil(conn:timeout())
    assert.matches("closed", tostring(conn))
  end)

  it("supports <close> (Lua 5.4)", function()
    if not helper.LUA54 then pending("<close> is Lua 5.4 syntax") end
    -- compiled at run time: older Luas cannot parse `<close>`
    local conn = assert(helper.load([[
      local ready_conn, assert = ...
      local conn <close> = ready_conn()
      assert.equals("ready", conn:state())
      return conn]], "=close_chunk"))(ready_conn, assert)
    assert.equals("connection closed", select(2, conn:state()))
  end)

  it("supports __gc", function()
    ready_conn()   -- dropped on the floor: __gc closes it
    collectgarbage()
    collectgarbage()
    -- the emulator sees the sessions go away
    local stop = core.now() + 2
    while emu:sessions() > 0 and core.now() < stop do core.poll({}, 0.02) end
    assert.equals(0, emu:sessions())
  end)

  it("subscribes to a custom list", function()
    local conn = ready_conn { subscribe = {} }
    local id = assert(conn:request("setuserstate", { userstateid = 3 }))
    local seen = {}
    local r = pump(conn, "reply", seen)
    assert.equals(id, r.id)
    -- no userstatechanged: nothing subscribed
    pump(conn, "event", seen, 0.3)
    for _, ev in ipairs(seen) do assert.is_not.equals("event", ev.type) end
    conn:close()
  end)

  -- The default subscriptions: each distinct `subscribe` name of the
  -- protocol table's events, in table order.
  local function table_subs()
    local names, seen = {}, {}
    for _, ev in ipairs(core.protocol().events) do
      if ev.subscribe and not seen[ev.subscribe] then
        seen[ev.subscribe] = true
        names[#names + 1] = ev.subscribe
      end
    end
    return names
  end

  local HASH = "202cb962ac59075b964b07152d234b70"   -- md5("123")

  it("traces the wire in order, secrets masked, drained on each call", function()
    local conn = ready_conn { trace = true }
    local id = assert(conn:request("getuserstate"))
    local r = pump(conn, "reply")
    assert.equals(id, r.id)
    local recs, dropped = conn:trace()
    assert.equals(0, dropped)
    assert.is_true(#recs >= 6)
    for _, rec in ipairs(recs) do
      assert.is_true(rec.dir == ">" or rec.dir == "<")
      assert.is_string(rec.frame)
      assert.is_nil(rec.frame:find(HASH, 1, true))
      assert.is_nil(rec.frame:find(("%x"):rep(32)))
    end
    assert.same({ ">", "<", ">", "<" }, { recs[1].dir, recs[2].dir, recs[3].dir, recs[4].dir })
    assert.matches('^%["ping",{"qid":"1"}%]$', recs[1].frame)
    assert.matches('"qid":"1"', recs[2].frame)
    assert.matches('^%["login",', recs[3].frame)
    assert.matches('"Password":"%*%*%*","password":"%*%*%*"', recs[3].frame)
    assert.matches('"qid":"2"', recs[4].frame)
    -- one bare subscribeevent per name, all sent before any is answered;
    -- each answered later (whatever else the server sends in between)
    local subs, qids, i = {}, {}, 5
    while recs[i] and recs[i].dir == ">" do
      local name, q = recs[i].frame:match('^%["subscribeevent",{"eventmethod":%["([^"]+)"%],"qid":"(%d+)"}%]$')
      assert.is_string(name, recs[i].frame)
      subs[#subs + 1], qids[#qids + 1] = name, q
      i = i + 1
    end
    assert.same(table_subs(), subs)
    local function find(dir, text, from)
      for k = from, #recs do
        if recs[k].dir == dir and recs[k].frame:find(text, 1, true) then return k end
      end
    end
    for _, q in ipairs(qids) do
      assert.is_number(find("<", ('"qid":"%s"'):format(q), i), q)
    end
    -- the request, then its reply (matched by qid)
    local q = ('"qid":"%d"'):format(id)
    local k = find(">", q, i)
    assert.is_number(k)
    assert.matches('^%["getuserstate",', recs[k].frame)
    assert.is_number(find("<", q, k + 1))
    -- drained
    local again, d2 = conn:trace()
    assert.same({}, again)
    assert.equals(0, d2)
    -- the logout of a close is still there after it
    conn:close()
    local tail = conn:trace()
    assert.is_true(#tail >= 1)
    assert.equals(">", tail[#tail].dir)
    assert.matches('^%["logout",', tail[#tail].frame)
    assert.same({}, (conn:trace()))
  end)

  it("masks the session id of the login reply", function()
    local conn = ready_conn { trace = true }
    local recs = conn:trace()
    local reply = recs[4].frame
    assert.equals("<", recs[4].dir)
    assert.matches('"qid":"2"', reply)
    assert.matches('"sessionid":"%*%*%*"', reply)
    conn:close()
  end)

  it("keeps no trace unless asked", function()
    local conn = ready_conn()
    local recs, dropped = conn:trace()
    assert.same({}, recs)
    assert.equals(0, dropped)
    conn:close()
    assert.same({}, (conn:trace()))
  end)

  it("traces a failed login, without the password's hash", function()
    local conn = assert(core.connect { urls = { emu.url }, login = "Peter", password = "nope",
                                       trace = true })
    assert.is_table(pump(conn, "closed"))
    local recs = conn:trace()
    assert.equals(4, #recs)
    assert.matches('^%["login",', recs[3].frame)
    for _, rec in ipairs(recs) do
      assert.is_nil(rec.frame:find(("%x"):rep(32)))
    end
    conn:close()
  end)
end)
