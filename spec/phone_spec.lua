-- API §6 (calls, queue and numbers) of the Lua client against the
-- emulator's call model: every method blocking and in a managed coroutine,
-- the pre-checks (bad_state), the server's refusals, rights, and the
-- queue's fairness as two operators see it.
local oktell = require "oktell"
local emulator = require "oktell.emulator"
local now = require("oktell.core").now

local X = "74951234567"

local CONFIG = {
  licenses = 4,
  users = {
    {login = "A", password = "1", number = "101"},
    {login = "B", password = "2", number = "102"},
    {login = "N", password = "3", number = "103", rights = {canuseacm = false, canusemessagingout = false}},
  },
  numbers = {{number = "500", kind = "queue"}, {number = "333", kind = "ivr", name = "Menu"}},
  break_reasons = {{id = 1, name = "Обед"}, {id = 2, name = "Тренинг"}},
}

local function with(fn, cfg)
  local emu = assert(emulator.start(cfg or CONFIG))
  local ok, err = xpcall(function() return fn(emu) end, debug.traceback)
  emu:stop()
  if not ok then error(err, 0) end
end

local function connect(emu, login, password, extra)
  local o = {url = emu.url, login = login, password = password, timeout = 3}
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(oktell.connect(o))
end

local function pack(...) return {n = select("#", ...), ...} end

local function assert_fail(code, t, number)
  assert.are.equal(3, t.n, "three values")
  assert.is_nil(t[1])
  assert.is_string(t[2])
  assert.are.equal(code, t[3], t[2])
  if number then assert.matches("%(" .. number .. "%)$", t[2]) end
end

-- Wait until the line shows `state` (the emulator reacts at once; events
-- may lag a turn).
local function until_state(c, state, t)
  local stop = now() + (t or 3)
  local s
  repeat
    s = c:phone_state()
    if s == state then return s end
    oktell.sleep(0.02)
  until now() > stop
  return s
end

-- Both modes: the body as a plain blocking script, and inside oktell.run.
local MODES = {
  blocking = function(f) return f() end,
  coroutine = function(f)
    local r
    oktell.run(function() r = pack(f()) end)
    return (table.unpack or unpack)(r, 1, r.n)
  end,
}

for mode, run in pairs(MODES) do
  describe("phone (" .. mode .. ")", function()
    it("line_info / phone_state: ready, ring, talk; the abonent table", function()
      with(function(emu)
        local a = connect(emu, "A", "1")
        run(function()
          local li = assert(a:line_info())
          assert.equals("ready", li.state)
          assert.is_false(li.autocall)
          assert.is_nil(li.abonent)
          assert.is_table(li.raw)
          assert.equals("ready", a:phone_state())
          local id = assert(emu:call_in(X, "A", {name = "Иван"}))
          assert.equals("ring", until_state(a, "ring"))
          li = assert(a:line_info())
          assert.equals("ring", li.state)
          assert.equals(X, li.abonent.key)
          assert.equals(X, li.abonent.phone)
          assert.equals("Иван", li.abonent.name)
          assert.equals(id, li.chainid)
          assert.equals(li.abonent, li.abonents[1])
          assert.is_true(a:answer())
          li = assert(a:line_info())
          assert.equals("talk", li.state)
          assert.equals("commutated", li.line)
          assert.is_number(li.talk_seconds)
          assert.is_true(a:hangup())
          assert.equals("ready", until_state(a, "ready"))
        end)
        a:close()
      end)
    end)

    it("call: a click-to-call; hangup aborts it; pre-checks refuse with oktell.js's numbers", function()
      with(function(emu)
        local a = connect(emu, "A", "1")
        run(function()
          assert(emu:abonent("74957654321", {answer = 0}))
          assert.is_true(a:call("74957654321", {intercom = true}))
          assert.equals("talk", until_state(a, "talk"))
          -- talking with that number: 2105
          assert_fail("bad_state", pack(a:call("74957654321")), 2105)
          -- a consultation call puts the party on hold
          assert(emu:abonent("74950000002", {answer = 0}))
          assert.is_true(a:call("74950000002", {intercom = true}))
          assert.equals("talk", until_state(a, "talk"))
          local li = assert(a:line_info())
          assert.equals("74957654321", li.hold and li.hold.phone)
          assert_fail("bad_state", pack(a:call("74950000003")), 2101)
          local h = assert(a:hold_info())
          assert.equals("74957654321", h.phone)
          assert.is_true(a:toggle())
          assert.equals("74950000002", assert(a:line_info()).hold.phone)
          -- hangup with a party on hold joins the two parties (consultative)
          assert.is_true(a:hangup())
          assert.equals("ready", until_state(a, "ready"))
          assert.is_false(a:hold_info())
        end)
        a:close()
      end)
    end)

    it("answer, decline, hold, flash, transfer: pre-checks and † results", function()
      with(function(emu)
        local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
        run(function()
          assert_fail("bad_state", pack(a:answer()), 2901)
          assert_fail("bad_state", pack(a:decline()), 2901)
          assert_fail("bad_state", pack(a:hold()), 2402)
          assert_fail("bad_state", pack(a:toggle()), 2402)
          assert_fail("bad_state", pack(a:transfer("102")), 2303)
          assert_fail("bad_state", pack(a:hangup()), 2901)
          -- decline a ring
          assert(emu:call_in(X, "A"))
          assert.equals("ring", until_state(a, "ring"))
          assert.is_true(a:decline())
          assert.equals("ready", until_state(a, "ready"))
          -- hold and back with flash
          assert(emu:call_in(X, "A"))
          assert.equals("ring", until_state(a, "ring"))
          assert.is_true(a:answer(2))
          assert.is_true(a:hold())
          local li = assert(a:line_info())
          assert.equals(X, li.hold.phone)
          assert.is_true(a:flash("switch"))
          li = assert(a:line_info())
          assert.is_nil(li.hold)
          assert_fail("bad_state", pack(a:transfer()), 2302)
          -- a blind transfer to B
          assert.is_true(a:transfer("102"))
          assert.equals("ready", until_state(a, "ready"))
          assert.equals("ring", until_state(b, "ring"))
          assert.is_true(b:answer())
          assert.equals(X, b:line_info().abonent.phone)
          assert.is_true(b:hangup())
        end)
        a:close()
        b:close()
      end)
    end)

    it("misuse raises, naming the argument", function()
      with(function(emu)
        local a = connect(emu, "A", "1")
        run(function()
          assert.error_matches(function() a:call() end, "bad argument #1 to 'call'")
          assert.error_matches(function() a:call("") end, "bad argument #1 to 'call'")
          assert.error_matches(function() a:call("1", {speed = 1}) end, "unknown option 'speed'")
          assert.error_matches(function() a:flash("hop") end, "bad argument #1 to 'flash'")
          assert.error_matches(function() a:answer("x") end, "bad argument #1 to 'answer'")
          assert.error_matches(function() a:transfer({}) end, "bad argument #1 to 'transfer'")
          assert.error_matches(function() a:on_custom("x") end, "bad argument #2 to 'on_custom'")
          assert.error_matches(function() a:exec(nil) end, "bad argument #1 to 'exec'")
          -- integers are numbers
          assert(emu:abonent("74955555555", {answer = 0}))
          assert.is_true(a:call(74955555555, {intercom = true}))
          assert.equals("talk", until_state(a, "talk"))
          assert.is_true(a:hangup())
        end)
        a:close()
      end)
    end)

    it("rights: a missing canuseacm is \"rights\"; server refusals keep their text", function()
      with(function(emu)
        local n = connect(emu, "N", "3")
        run(function()
          assert_fail("rights", pack(n:call("74957654321")))
          assert_fail("rights", pack(n:trigger_event("x", "y")))
          local t = pack(n:exec("nosuchproc_or_method"))
          assert.is_nil(t[1])
        end)
        n:close()
      end)
    end)

    it("conferences: create, info, invite, kick, leave; from a call", function()
      with(function(emu)
        local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
        run(function()
          assert_fail("bad_state", pack(a:conference_create({})), 2203)
          assert_fail("bad_state", pack(a:conference_leave()), 2501)
          local id = assert(a:conference_create({"102"}))
          assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", id)
          local info = assert(a:conference_info(id))
          assert.is_table(info.conference)
          assert.is_table(info.competitors)
          assert.is_true(#info.competitors >= 1)
          assert(emu:abonent("74950000009", {answer = 0}))
          assert.is_true(a:conference_invite({"74950000009"}, id))
          assert.is_true(a:conference_kick("74950000009", id))
          assert.is_true(a:conference_leave(id))
          -- from a talk
          for _ = 1, 50 do if a:phone_state() == "ready" then break end oktell.sleep(0.02) end
          for _ = 1, 50 do if b:phone_state() == "ready" then break end oktell.sleep(0.02) end
          assert(emu:call_in(X, "A"))
          assert.equals("ring", until_state(a, "ring"))
          assert.is_true(a:answer())
          local cid = assert(a:conference_from_call())
          assert.is_string(cid)
          assert.equals(cid, assert(a:line_info()).conference.id)
          assert.is_true(a:conference_leave())
        end)
        a:close()
        b:close()
      end)
    end)

    it("lists: queue, numbers, users, break_reasons; exec of a method", function()
      with(function(emu)
        local a = connect(emu, "A", "1")
        run(function()
          local q = assert(a:queue())
          assert.same({}, q)
          local ns = assert(a:numbers())
          local seen = {}
          for _, x in ipairs(ns) do seen[x.number] = x end
          assert.is_table(seen["101"])
          assert.is_table(seen["500"])
          assert.is_boolean(seen["101"].group)
          local us = assert(a:users())
          assert.is_true(#us >= 3)
          assert.is_string(us[1].id)
          local br = assert(a:break_reasons())
          assert.same({id = 1, name = "Обед"}, br[1])
          local r = assert(a:exec("getuserstate"))
          assert.is_table(r)
        end)
        a:close()
      end)
    end)

    it("events: custom events round trip, on_custom, commstarted/ringstarted with raw, phone", function()
      with(function(emu)
        local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
        local got, phone = {}, {}
        b:on_custom("ping", function(param, ev) got[#got + 1] = {param, ev.raw ~= nil} end)
        a:on("phone", function(ev) phone[#phone + 1] = ev.state end)
        run(function()
          assert.is_true(a:trigger_event("ping", "hello"))
          for _ = 1, 100 do if got[1] then break end oktell.sleep(0.02) end
          assert.same({"hello", true}, got[1])
          assert(emu:call_in(X, "A"))
          local ev = assert(a:wait("ringstarted", 3), "ringstarted")
          assert.is_table(ev.raw)
          local comm
          local hid = a:on("phoneevent_commstarted", function(e) comm = comm or e end)
          assert.is_true(a:answer())
          for _ = 1, 100 do if comm then break end oktell.sleep(0.02) end
          a:off(hid)
          assert.is_false(comm.conference)
          assert.is_table(comm.raw)
          assert.is_true(a:hangup())
          assert.is_table(a:wait("commstopped", 3))
          for _ = 1, 100 do if phone[#phone] == "ready" then break end oktell.sleep(0.02) end
        end)
        assert.equals("ring", phone[1])
        assert.equals("ready", phone[#phone])
        a:close()
        b:close()
      end)
    end)
  end)
end

describe("phone: server refusals and the userstate reason", function()
  it("a refusal the pre-check lets through keeps the server's text and number", function()
    with(function(emu)
      local a = connect(emu, "A", "1")
      assert(emu:call_in(X, "A"))
      assert.equals("ring", until_state(a, "ring"))
      assert.is_true(a:answer())
      -- "next": oktell.js allows it, the emulator refuses it (2601)
      assert_fail("bad_state", pack(a:flash("next")), 2601)
      -- exec sends any request: the refusal is classified the same way
      assert_fail("bad_state", pack(a:exec("pbxmaketransfer", {transferto = ""})), 2304)
      assert.is_true(a:hangup())
      a:close()
    end)
  end)

  it("kicking from another's conference without being a director is \"rights\"", function()
    with(function(emu)
      local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
      assert(emu:abonent("74950000009", {answer = 0}))
      local id = assert(a:conference_create({"102", "74950000009"}))
      for _ = 1, 100 do if b:line_info().conference then break end oktell.sleep(0.02) end
      assert_fail("rights", pack(b:conference_kick("74950000009", id)))
      a:close()
      b:close()
    end)
  end)

  it("the userstate table has `reason` on a break with a reason", function()
    with(function(emu)
      local a = connect(emu, "A", "1")
      assert.is_true(a:callcenter_enter())
      local got
      a:on("userstate", function(ev) got = ev end)
      assert.is_true(a:set_user_state{state = "lunch", description = "Тренинг"})
      local u = assert(a:user_state())
      assert.equals("lunch", u.state)
      assert.equals(2, u.reason)
      for _ = 1, 100 do if got then break end oktell.sleep(0.02) end
      assert.equals(2, got and got.reason)
      assert.is_true(a:set_user_state{state = "ready"})
      assert.is_nil(assert(a:user_state()).reason)
      a:close()
    end)
  end)
end)

describe("phone: a held party joins the conference", function()
  it("conference_invite with the held party's number: checkcanconnecttogether, connect", function()
    with(function(emu)
      local a = connect(emu, "A", "1")
      assert(emu:abonent("74950000001", {answer = 0}))
      assert(emu:abonent("74950000002", {answer = 0}))
      assert.is_true(a:call("74950000001", {intercom = true}))
      assert.equals("talk", until_state(a, "talk"))
      assert.is_true(a:call("74950000002", {intercom = true}))
      for _ = 1, 100 do
        local li = a:line_info()
        if li.state == "talk" and li.hold then break end
        oktell.sleep(0.02)
      end
      local id = assert(a:conference_from_call())
      local li = assert(a:line_info())
      assert.equals(id, li.conference.id)
      assert.equals("74950000001", li.hold and li.hold.phone)
      assert.is_true(a:conference_invite({"74950000001"}))
      for _ = 1, 100 do if not assert(a:line_info()).hold then break end oktell.sleep(0.02) end
      li = assert(a:line_info())
      assert.is_nil(li.hold)
      local phones = {}
      for _, x in ipairs(assert(a:conference_info()).competitors) do phones[x.phone or x.key] = true end
      assert.is_true(phones["74950000001"])
      -- nothing on hold any more: the same number is invited the ordinary way
      a:close()
    end)
  end)
end)

describe("phone: getversion's dated minimums", function()
  it("a server dated before a method's minimum gives \"unsupported\" (1101), read once", function()
    with(function(emu)
      local a = connect(emu, "A", "1")
      -- a server that says it is from 2012-08: flash/transfer/trigger ok
      -- (120725), getallusernumbers not (120920), nor answer (131218)
      local real, asked = a._call, 0
      a._call = function(self, method, params)
        if method == "getversion" then
          asked = asked + 1
          return {result = 1, version = {dated = 120801}}
        end
        return real(self, method, params)
      end
      assert_fail("unsupported", pack(a:users()), 1101)
      assert_fail("unsupported", pack(a:break_reasons()), 1101)
      assert(emu:call_in(X, "A"))
      assert.equals("ring", until_state(a, "ring"))
      assert_fail("unsupported", pack(a:answer()), 1101)
      assert.is_true(a:decline())
      assert.is_true(a:trigger_event("x", "y"))
      assert.equals(1, asked)
      a:close()
    end)
  end)
end)

describe("phone: the derived queue event and numberstate", function()
  it("polls getcurrentqueue every queue_interval while a handler exists: entered / left", function()
    with(function(emu)
      local a = connect(emu, "A", "1", {queue_interval = 0.05})
      local b = connect(emu, "B", "2")
      local evs, ns = {}, {}
      assert.is_true(b:callcenter_enter())
      assert.is_true(b:set_user_state{state = "lunch"})
      local id = a:on("queue", function(ev) evs[#evs + 1] = ev end)
      a:on("numberstate", function(ev) ns[#ns + 1] = ev end)
      assert(emu:call_in("74950000001", "A"))   -- A rings: the second waits in A's personal queue
      assert(emu:call_in("74950000002", "A"))
      for _ = 1, 100 do if evs[1] then break end oktell.sleep(0.02) end
      assert.is_table(evs[1])
      assert.equals("74950000002", evs[1].entered[1].phone)
      assert.equals(1, #evs[1].queue)
      assert.is_true(a:decline())
      for _ = 1, 100 do if #evs >= 2 then break end oktell.sleep(0.02) end
      assert.equals("74950000002", evs[2].left[1].phone)
      assert.is_true(a:off(id))
      assert.is_table(ns[1])
      assert.is_string(ns[1].numbers[1].number)
      assert.is_number(ns[1].numbers[1].code)
      a:close()
      b:close()
    end)
  end)
end)

describe("phone: the queue seen from two operators", function()
  it("dispatches the longest-waiting caller to the longest-idle operator", function()
    with(function(emu)
      local a, b = connect(emu, "A", "1"), connect(emu, "B", "2")
      assert(emu:call_in("74950000001", "queue"))
      assert(emu:call_in("74950000002", "queue"))
      assert(emu:call_in("74950000003", "queue"))
      assert.is_true(a:callcenter_enter())
      -- A, inside, gets the head at once
      assert.equals("ring", until_state(a, "ring"))
      assert.equals("74950000001", a:line_info().abonent.phone)
      local q = assert(a:queue())
      assert.equals(2, #q)
      assert.equals("74950000002", q[1].phone)
      assert.is_true(b:callcenter_enter())
      assert.equals("ring", until_state(b, "ring"))
      assert.equals("74950000002", b:line_info().abonent.phone)
      assert.is_true(a:answer())
      assert.is_true(b:answer())
      -- A hangs up first: A has been idle longer when the next caller comes
      assert.is_true(a:hangup())
      assert.is_true(b:hangup())
      assert(emu:call_in("74950000004", "queue"))
      local ra, rb
      for _ = 1, 200 do
        ra, rb = a:phone_state(), b:phone_state()
        if ra == "ring" or rb == "ring" then break end
        oktell.sleep(0.02)
      end
      -- after wrap-up, the head (…0003, the longest waiting) rings one of them
      local who = ra == "ring" and a or b
      assert.equals("74950000003", who:line_info().abonent.phone)
      a:close()
      b:close()
    end, (function()
      local c = {}
      for k, v in pairs(CONFIG) do c[k] = v end
      c.wrapup = 0
      return c
    end)())
  end)
end)
