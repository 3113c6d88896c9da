-- The emulator's call model from Lua (docs/EMULATOR.md "Calls"): the
-- control methods of oktell.emulator, seen by a wire client (the core
-- connection of spec/emu_helper.lua: the Lua client's call methods come
-- later), and the control channel of bin/oktell-emu with
-- emulator.attach.
local emulator = require "oktell.emulator"
local core = require "oktell.core"
local E = require "emu_helper"

-- The state events, the prompts' group and every call event of the table.
local SUBSCRIBE = {}
for _, e in ipairs(core.protocol().events) do
  if e.subscribe then SUBSCRIBE[#SUBSCRIBE + 1] = e.subscribe end
end

local function with(opts, fn)
  local emu = assert(emulator.start(opts))
  local ok, err = xpcall(function() return fn(emu) end, debug.traceback)
  emu:stop()
  if not ok then error(err, 0) end
end

local function connect(emu, login, password)
  return E.connect(emu, login, password, {subscribe = SUBSCRIBE})
end

local USERS = {
  licenses = 3,
  users = {
    {login = "A", password = "1", number = "101"},
    {login = "B", password = "2", number = "102"},
    {login = "C", password = "3", number = "103", line = false},
  },
  numbers = {{number = "500", kind = "queue"}, {number = "333", kind = "ivr", name = "Menu"}},
}

local X = "74951234567"

describe("emulator calls", function()
  it("call_in rings a user; the wire client answers and sees the phone events", function()
    with(USERS, function(emu)
      local a = connect(emu, "A", "1")
      local id = assert(emu:call_in(X, "A", {name = "Иван"}))
      assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", id)
      local ev = a:event("phoneevent_ringstarted")
      assert.equals("A", ev.userlogin)
      local li = a:call("getextendedlineinfo")
      assert.equals("lsIncomingCall", li.linestatestr)
      assert.equals(X, li.abonent.number)
      assert.equals("Иван", li.abonent.name)
      assert.is_true(li.abonent.isringing)
      assert.equals(id, li.chainid)
      assert.equals("6", a:call("getuserstate").userstateid)
      local s = emu:snapshot("A")
      assert.equals("ring", s.phone)
      assert.equals(id, s.chainid)
      a:clear()
      assert.equals(1, a:call("pbxanswercall").result)
      ev = a:event("phoneevent_commstarted")
      assert.is_false(ev.isconference)
      assert.equals("talk", emu:snapshot("A").phone)
      local calls = emu:calls()
      assert.equals(1, #calls)
      assert.same({chainid = id, from = X, to = "101", stage = "talk", user = "A"},
        {chainid = calls[1].chainid, from = calls[1].from, to = calls[1].to,
         stage = calls[1].stage, user = calls[1].user})
      assert.is_number(calls[1].since)
      assert.is_true(emu:hangup_abonent(id))
      assert.is_table(a:event("phoneevent_commstopped"))
      assert.equals("1", a:call("getuserstate").userstateid)
      local r, msg, code = emu:hangup_abonent(id)
      assert.is_nil(r)
      assert.equals("no such call", msg)
      assert.equals("not_settable", code)
      a:close()
    end)
  end)

  it("refuses a call to a user who cannot take it: nil, \"busy\", \"not_settable\"", function()
    with(USERS, function(emu)
      local r, msg, code = emu:call_in(X, "B")   -- offline
      assert.is_nil(r)
      assert.equals("busy", msg)
      assert.equals("not_settable", code)
      assert.equals(1, emu:stats().refused)
    end)
  end)

  it("the handset and the far end: phone dial / pickup / hangup, abonent", function()
    with(USERS, function(emu)
      local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
      assert.is_true(emu:phone("A", "dial", "102"))
      assert.equals("dial", emu:snapshot("A").phone)
      assert.is_table(b:event("phoneevent_ringstarted"))
      assert.is_true(emu:phone("B", "pickup"))
      assert.is_table(a:event("phoneevent_commstarted"))
      assert.is_true(emu:phone("A", "hangup"))
      assert.is_table(b:event("phoneevent_commstopped"))
      local r, why = emu:phone("A", "hangup")
      assert.is_nil(r)
      assert.equals("no call", why)
      -- a click-to-call from the wire to a number that answers after 0 s
      assert.is_true(emu:abonent("74957654321", {answer = 0}))
      a:clear()
      assert.equals(1, a:call("pbxautocallstart", {number = "74957654321", intercom = true}).result)
      assert.is_table(a:event("phoneevent_acmcallstarted"))
      assert.is_table(a:event("phoneevent_acmcallstopped"))
      assert.is_table(a:event("phoneevent_commstarted"))
      assert.equals("talk", emu:snapshot("A").phone)
      -- hold: flashstatechanged, the held party in the snapshot
      assert.equals(1, a:call("pbxmakeflash", {mode = "switch"}).result)
      assert.is_true(a:event("flashstatechanged").isflashing)
      assert.equals("74957654321", emu:snapshot("A").held)
      a:close()
      b:close()
    end)
  end)

  it("the queue: emu:queue, getcurrentqueue, dispatch to an operator inside", function()
    with(USERS, function(emu)
      local a = connect(emu, "A", "1")
      assert.truthy(emu:call_in(X, "queue", {patience = 60}))
      assert.truthy(emu:call_in("74950000001", "500"))
      local q = emu:queue()
      assert.equals(2, #q)
      assert.equals(X, q[1].number)
      assert.is_number(q[1].waited)
      assert.equals(0, #a:call("getcurrentqueue").queue)   -- outside
      assert.equals(1, a:call("setuserstate", {oncallcenter = true}).result)
      -- ready and inside: the first caller rings at once, as a task
      assert.equals(X, a:call("getextendedlineinfo").abonent.number)
      local st = a:call("getuserstate")
      assert.equals("6", st.userstateid)
      assert.is_true(st.ontask)
      local items = a:call("getcurrentqueue").queue
      assert.equals(1, #items)
      assert.equals("74950000001", items[1].number)
      assert.is_true(items[1].isextline)
      assert.is_string(items[1].chainid)
      assert.equals(1, a:call("pbxanswercall").result)
      local s = emu:stats()
      assert.equals(2, s.offered)
      assert.equals(1, s.answered)
      assert.equals(1, s.waiting)
      assert.equals(1, s.talking)
      a:close()
    end)
  end)

  it("numbers, users, break reasons, custom events and procedures on the wire", function()
    local cfg = {
      users = {{login = "A", password = "1", number = "101", subordinates = {"B"}},
               {login = "B", password = "2", number = "102"}},
      break_reasons = {{id = 3, name = "Обед"}},
      procedures = {Web_GetLines = {{{"id", "name"}, {1, "l1"}}}},
      numbers = {{number = "333", kind = "ivr"}},
    }
    with(cfg, function(emu)
      local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
      local nums = a:call("getpbxnumbers", {mode = "full"}).numbers
      assert.equals(3, #nums)
      assert.equals("intRule", nums[1].typestr)
      assert.equals("intIVR", nums[3].typestr)
      local users = a:call("getallusernumbers", {fillsubordinates = true}).users
      assert.is_true(users[2].sub)
      assert.equals(3, a:call("cc_getlunchtypes").items[1].id)
      assert.is_true(a:call("getversion").alloweddbstoredprocs.web_getlines)
      local r = a:call("execpredefineddbstoredproc", {procedure = "Web_GetLines", inputparams = {}})
      assert.equals(0, r.errorcode)
      assert.same({{{"id", "name"}, {1, "l1"}}}, r.dataset)
      assert.equals(1, a:call("triggercustomevent", {eventname = "hello", eventparam = {x = 1},
                                                    recipients = false, sendback = "0"}).result)
      local ev = b:event("customevent")
      assert.equals("hello", ev.eventname)
      assert.same({x = 1}, ev.eventparam)
      assert.is_true(a:no_event("customevent", 0.1))
      -- a number's state reaches every user
      assert.truthy(emu:call_in(X, "A"))
      local ns = b:event("pbxnumberstatechanged")
      assert.same({{num = "101", numstateid = 6}}, ns.numbers)
      a:close()
      b:close()
    end)
  end)

  it("a missing right: error 52710; other refusals: oktell.js's number in the text only", function()
    local cfg = {users = {{login = "A", password = "1", rights = {canuseacm = false}}}}
    with(cfg, function(emu)
      local a = connect(emu, "A", "1")
      local r = a:call("pbxautocallstart", {number = X})
      assert.equals(0, r.result)
      assert.equals(52710, r.error)
      assert.matches("canuseacm", r.errormsg)
      r = a:call("pbxanswercall")
      assert.equals(0, r.result)
      assert.is_nil(r.error)
      assert.equals("incorrect state (2901)", r.errormsg)
      a:close()
    end)
  end)

  it("conferences from the wire: create, events to the handling session", function()
    with(USERS, function(emu)
      local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
      assert.equals(1, a:call("createnewconference", {
        conference = {id = "conf-1", room = 7, name = "", everyonecaninvite = true},
        competitors = {{userlogin = "A"}, {number = "102"}},
      }).result)
      local ev = a:event("phoneevent_commstarted")
      assert.is_true(ev.isconference)
      assert.equals("conf-1", ev.confid)
      assert.equals(1, a:call("confhandleevent", {conferenceid = "conf-1", eventtype = "competitors",
                                                 handle = true}).result)
      assert.equals(1, b:call("pbxanswercall").result)
      ev = a:event("confcompetitorstatechanged")
      assert.equals("conf-1", ev.eventinfo.conference.id)
      assert.equals("Active", ev.eventinfo.competitor.confstatestr)
      local info = a:call("getconferenceinfo", {conferenceid = "conf-1"})
      assert.equals(2, #info.competitors)
      assert.is_false(info.conference.isghost)
      assert.equals("conference", emu:snapshot("B").phone)
      assert.equals("conf-1", emu:snapshot("B").conference)
      a:close()
      b:close()
    end)
  end)

  it("traffic with virtual agents at speed \"max\": the same seed gives the same statistics", function()
    local function run(seed)
      local cfg = {speed = "max", licenses = 3,
                   users = {{login = "A", agent = {answer = 2, wrapup = 5}},
                            {login = "B", agent = {answer = 2, wrapup = 5}},
                            {login = "C", agent = {answer = 3}}}}
      local stats
      with(cfg, function(emu)
        local t = assert(emu:traffic{rate = 0.05, talk = 60, patience = 40, to = "queue",
                                     numbers = "7495#######", duration = 3600, seed = seed, sl = 20})
        for _ = 1, 500 do
          stats = assert(t:stats())
          if not stats.running and stats.waiting == 0 and stats.talking == 0 then break end
          core.poll({}, 0.01)
        end
        assert.is_true(t:stop())
      end)
      return stats
    end
    local s1, s2, s3 = run(5), run(5), run(6)
    assert.is_false(s1.running)
    assert.equals(s1.offered, s1.answered + s1.abandoned)
    assert.same(s1, s2)
    assert.are_not.same(s1, s3)
    assert.is_true(s1.service_level > 0 and s1.service_level <= 1)
    assert.is_true(s1.mean_wait <= s1.max_wait)
  end)

  it("speed \"max\" takes no WebSocket login", function()
    with({speed = "max"}, function(emu)
      local c, msg, code = E.try_connect(emu, "Peter", "123")
      assert.is_nil(c)
      assert.equals("refused", code)
      assert.matches("Service not available", msg, 1, true)
    end)
  end)

  it("raises on misuse of the call methods", function()
    with(USERS, function(emu)
      assert.has_error(function() emu:call_in(nil, "A") end)
      assert.has_error(function() emu:call_in(X, "A", {patience = "long"}) end)
      assert.has_error(function() emu:phone("A", "jump") end)
      assert.has_error(function() emu:phone("Nobody", "hangup") end)
      assert.has_error(function() emu:phone("A", "dial") end)
      assert.has_error(function() emu:abonent(X, {answer = "soon"}) end)
      assert.has_error(function() emu:traffic{rate = 0} end)
      assert.has_error(function() emu:traffic{rate = 1, talk = "x"} end)
      assert.has_error(function() emu:answer_as_abonent({}) end)
    end)
    assert.has_error(function() emulator.start{speed = "fast"} end)
    assert.has_error(function() emulator.start{numbers = {{number = "5", kind = "fax"}}} end)
    assert.has_error(function() emulator.start{users = {{login = "A", agent = 5}}} end)
    assert.has_error(function() emulator.start{control = "http://x"} end)
    assert.has_error(function() emulator.start{control = "tcp:10.0.0.1:1"} end)
  end)
end)

describe("control channel", function()
  it("emulator.attach gives an emulator started elsewhere the same methods", function()
    local path = os.tmpname()
    os.remove(path)
    with({users = USERS.users, control = "unix:" .. path}, function(emu)
      assert.equals("unix:" .. path, emu.control)
      local remote = assert(emulator.attach("unix:" .. path))
      assert.equals(emu.url, remote.url)
      local a = connect(emu, "A", "1")
      local id = assert(remote:call_in(X, "A"))
      assert.is_table(a:event("phoneevent_ringstarted"))
      assert.equals("ring", remote:snapshot("A").phone)
      assert.equals(id, remote:calls()[1].chainid)
      assert.is_true(remote:phone("A", "pickup"))
      assert.equals("talk", emu:snapshot("A").phone)
      local r, msg, code = remote:call_in(X, "B")
      assert.is_nil(r)
      assert.equals("busy", msg)
      assert.equals("not_settable", code)
      assert.has_error(function() remote:call_in(X, "A", {patience = "x"}) end)
      assert.has_error(function() remote:phone("Nobody", "pickup") end)
      assert.equals(1, remote:sessions())
      assert.is_true(remote:stop())   -- the channel only
      local gone, _, why = remote:snapshot("A")
      assert.is_nil(gone)
      assert.equals("closed", why)
      assert.equals("talk", emu:snapshot("A").phone)
      a:close()
    end)
    local f = io.open(path, "r")
    assert.is_nil(f)   -- the socket is gone with the emulator
  end)

  it("tcp on loopback, port 0 picks one", function()
    with({control = "tcp:127.0.0.1:0"}, function(emu)
      assert.matches("^tcp:127%.0%.0%.1:%d+$", emu.control)
      local remote = assert(emulator.attach(emu.control))
      assert.is_true(remote:enqueue{number = X})
      assert.equals(X, remote:queue()[1].number)
      remote:close()
    end)
    local r, _, code = emulator.attach("unix:/nonexistent/sock")
    assert.is_nil(r)
    assert.equals("refused", code)
    assert.has_error(function() emulator.attach("ftp:x") end)
  end)

  it("bin/oktell-emu --control stdio: the URL, then one answer per request line; end of file stops it", function()
    local cfg = os.tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write('return {users = {{login = "A", password = "1"}}}\n')
    f:close()
    local reqs = table.concat({
      '{"id": 1, "cmd": "call_in", "args": {"from": "' .. X .. '", "to": "queue"}}',
      '{"id": "two", "cmd": "queue"}',
      '{"id": 3, "cmd": "call_in", "args": {"from": "1", "to": "A"}}',
      'not json',
      '{"id": 5, "cmd": "nosuch"}',
    }, "\n") .. "\n"
    local input = os.tmpname()
    f = assert(io.open(input, "w"))
    f:write(reqs)
    f:close()
    -- stdin must be a pipe (a regular file cannot be polled)
    local p = assert(io.popen("cat " .. input .. " | timeout 10 lua5.4 bin/oktell-emu --listen 127.0.0.1:0 "
      .. "--control stdio --config " .. cfg, "r"))
    local out = {}
    for line in p:lines() do out[#out + 1] = line end
    local ok = p:close()
    os.remove(cfg)
    os.remove(input)
    assert.is_true(ok)
    assert.matches("^ws://127%.0%.0%.1:%d+$", out[1])
    local dk = require "dkjson"
    local a1 = dk.decode(out[2])
    assert.equals(1, a1.id)
    assert.is_true(a1.ok)
    assert.is_string(a1.result)
    local a2 = dk.decode(out[3])
    assert.equals("two", a2.id)
    assert.equals(X, a2.result[1].number)
    local a3 = dk.decode(out[4])
    assert.same({id = 3, ok = false, code = "not_settable", error = "busy"}, a3)
    local a4 = dk.decode(out[5])
    assert.is_false(a4.ok)
    assert.equals("invalid", a4.code)
    local a5 = dk.decode(out[6])
    assert.equals(5, a5.id)
    assert.equals("invalid", a5.code)
    assert.equals(6, #out)
  end)
end)
