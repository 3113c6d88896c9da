-- The client end to end against the emulator: every method in both styles,
-- every event, blocking and coroutine modes, and the failure codes.
local oktell = require "oktell"
local helper = require "helper"
local xml = oktell.xml

local with_emulator, connect = helper.with_emulator, helper.connect

local TASK = "0f398eb4-5d78-446c-84f4-6892ab72751b"
local CARD = "Вы зарезервированы на выполнение задачи\n\nЗвонок на номер: 120151112"

local function two_users(extra)
  local o = {
    licenses = 1,
    users = {
      { login = "Peter", password = "123", name = "Петр", isoperator = true, line = "ready",
        redirect_number = "100" },
      { login = "Ivan", password = "456", name = "Иван", isoperator = true, line = "ready" },
    },
    tasks = { { id = TASK, name = "Прозвон клиентов", type = "call", active = false } },
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("oktell client", function()
  helper.guard()
  local saved_on_error
  local errors
  before_each(function()
    errors = {}
    saved_on_error = oktell.on_error(function(e) errors[#errors + 1] = e end)
  end)
  after_each(function()
    oktell.on_error(saved_on_error)
    assert.are.same({}, errors)
  end)

  describe("methods, idiomatic and COM styles", function()
    it("user_info / GetCurrentUserFullInfo", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local info = assert(c:user_info())
        assert.are.equal("Peter", info.login)
        assert.are.equal("Петр", info.name)
        assert.is_string(info.id)
        assert.is_true(info.isoperator)
        assert.are.equal("table", type(info.rights))
        assert.are.equal("123", info.password) -- filled from connect, as the COM returns it
        local s = assert(c:GetCurrentUserFullInfo())
        local v, kind = xml.decode(s)
        assert.are.equal("userinfo", kind)
        assert.are.equal(info.id, v.id)
        assert.are.equal("Peter", v.login)
        assert.are.same(info.rights, v.rights)
        c:close()
      end)
    end)

    it("user_state / GetUserState / set_user_state / SetUserState", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        local st = assert(c:user_state())
        assert.are.equal("ready", st.state)
        assert.are.equal(1, st.code)
        assert.is_false(st.redirect)
        local v, kind = xml.decode(assert(c:GetUserState()))
        assert.are.equal("userstate", kind)
        assert.are.equal("ready", v.state)
        assert.are.equal(1, v.code)

        assert.is_true(c:set_user_state { state = "off" })
        assert.are.equal("off", c:user_state().state)
        assert.are.equal("off", emu:snapshot("Peter").userstate)
        assert.is_true(c:set_user_state { state = oktell.userstate.ready })
        assert.are.equal("ready", emu:snapshot("Peter").userstate)

        -- the reference's second sample: ready with redirect on
        assert.is_true(c:SetUserState(helper.fixture("setuserstate2.xml")))
        assert.is_true(c:user_state().redirect)
        assert.is_true(c:set_user_state { state = "ready", redirect = false })
        assert.is_false(c:user_state().redirect)

        -- the first sample asks for lunch: settable only inside the call-center.
        -- SetUserState is void (COM): true once answered, and nothing changed.
        assert.is_true(c:SetUserState(helper.fixture("setuserstate1.xml")))
        assert.are.equal("ready", c:user_state().state)
        assert.are.equal("ready", emu:snapshot("Peter").userstate)
        assert.is_true(c:callcenter_enter())
        assert.is_true(c:SetUserState(helper.fixture("setuserstate1.xml")))
        st = c:user_state()
        assert.are.equal("lunch", st.state)
        assert.are.equal("Ушел на обед", st.description)
        assert.are.equal("lunch", emu:snapshot("Peter").userstate)

        local n, m, k = c:SetUserState("<not xml")
        assert.is_nil(n); assert.is_string(m); assert.are.equal("bad_xml", k)
        n, m, k = c:SetUserState(helper.fixture("linestate.xml"))
        assert.is_nil(n); assert.is_string(m); assert.are.equal("bad_xml", k)
        c:close()
      end)
    end)

    it("not_settable for states the server sets itself", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        for _, s in ipairs { "reserved", "disconnected", "wophone" } do
          local ok, msg, code = c:set_user_state { state = s }
          assert.is_nil(ok)
          assert.is_string(msg)
          assert.are.equal("not_settable", code)
        end
        assert.are.equal("ready", emu:snapshot("Peter").userstate)
        c:close()
      end)
    end)

    it("line_state / GetLineState, and with no line", function()
      with_emulator({ users = {
        { login = "Peter", password = "123", name = "Петр", isoperator = true, line = "ready" },
        { login = "Nolan", password = "1", name = "Без линии", isoperator = true, line = false },
      } }, function(emu)
        local c = connect(emu)
        assert.are.same({ "ready", 4 }, { c:line_state() })
        emu:set_line("Peter", "hookup")
        assert.are.same({ "hookup", 8 }, { c:line_state() })
        local v, kind = xml.decode(assert(c:GetLineState()))
        assert.are.equal("linestate", kind)
        assert.are.equal("hookup", v.state)
        assert.are.equal(8, v.code)
        c:close()
        local n = connect(emu, { login = "Nolan", password = "1" })
        assert.are.same({ "disconnected", 1 }, { n:line_state() })
        n:close()
      end)
    end)

    it("call-center enter / exit / inside in both styles", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        assert.is_false(c:callcenter_inside())
        assert.is_false(c:CallCenter_IsInside())
        assert.is_true(c:callcenter_enter())
        assert.is_true(c:callcenter_inside())
        assert.is_true(emu:snapshot("Peter").inside)
        assert.is_true(c:CallCenter_Enter()) -- inside already: still true
        assert.is_true(c:callcenter_exit())
        assert.is_false(c:callcenter_inside())
        assert.is_true(c:CallCenter_Enter())
        assert.is_true(c:CallCenter_IsInside())
        assert.is_true(c:CallCenter_Exit())
        assert.is_false(emu:snapshot("Peter").inside)
        c:close()
      end)
    end)

    it("license: no free seat gives false, msg, 'license'", function()
      with_emulator(two_users(), function(emu)
        local ivan = connect(emu, { login = "Ivan", password = "456" })
        local peter = connect(emu)
        assert.is_true(ivan:callcenter_enter())
        local ok, msg, code = peter:callcenter_enter()
        assert.is_false(ok)
        assert.is_string(msg)
        assert.are.equal("license", code)
        ok, msg, code = peter:CallCenter_Enter()
        assert.is_false(ok)
        assert.is_string(msg)
        assert.are.equal("license", code)
        assert.is_true(ivan:callcenter_exit())
        assert.is_true(peter:callcenter_enter())
        ivan:close()
        peter:close()
      end)
    end)

    it("external task: busy / check / free in both styles", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        assert.is_false(c:check_busy_in_external_task())
        assert.is_false(c:set_free_in_external_task())
        assert.is_true(c:set_busy_in_external_task())
        assert.is_true(emu:snapshot("Peter").external)
        assert.is_true(c:check_busy_in_external_task())
        assert.is_true(c:CallCenter_CheckBusyInExternalTask())
        assert.is_false(c:set_busy_in_external_task())
        assert.is_false(c:CallCenter_SetBusyInExternalTask())
        assert.are.equal("fullbusy", c:user_state().state)
        assert.is_true(c:set_free_in_external_task())
        assert.is_false(c:CallCenter_SetFreeInExternalTask())
        assert.is_true(c:CallCenter_SetBusyInExternalTask())
        assert.is_true(c:CallCenter_SetFreeInExternalTask())
        assert.are.equal("ready", c:user_state().state)
        c:close()
      end)
    end)

    it("set_task_active / TM_SetTaskActive, with the lock's errormessage", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:set_task_active { tasktype = "call", idtask = TASK, active = true })
        assert.is_true(c:set_task_active { tasktype = "call", idtask = TASK, active = false })
        emu:lock_task(TASK, "Сидоров Иван")
        local ok, em = c:set_task_active { tasktype = "call", idtask = TASK, active = true }
        assert.is_false(ok)
        assert.are.equal("Задачу монопольно редактирует Сидоров Иван", em)
        local doc = xml.encode("settaskactive", { tasktype = "call", idtask = TASK, active = true })
        local v, kind = xml.decode(assert(c:TM_SetTaskActive(doc)))
        assert.are.equal("settaskactiveresult", kind)
        assert.is_false(v.success)
        assert.are.equal("Задачу монопольно редактирует Сидоров Иван", v.errormessage)
        emu:unlock_task(TASK)
        v = xml.decode(assert(c:TM_SetTaskActive(doc)))
        assert.is_true(v.success)
        assert.is_false(c:set_task_active { tasktype = "call", idtask = "no-such-task", active = true })
        c:close()
      end)
    end)

    it("set_confirm_usage / TM_SetConfirmUsage and set_confirm_result with nothing pending", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        assert.is_true(c:set_confirm_usage(true))
        assert.is_true(c:TM_SetConfirmUsage(false))
        assert.is_false(c:set_confirm_result("ok"))
        assert.is_false(c:set_confirm_result(2))
        assert.is_false(c:TM_SetConfirmResult(helper.fixture("confirmresult.xml")))
        c:close()
      end)
    end)
  end)

  describe("events", function()
    it("a confirm prompt with confirm usage off is answered ok by the client; handlers see it", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        local seen = {}
        c:on("tminterfaceconfirm", function(ev) seen[#seen + 1] = ev end)
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "120151112", text = CARD, idinlist = 67 })
        local ev = assert(c:wait("tminterfacereserve", 3)) -- the client's own "ok" started dialing
        assert.are.equal(122, ev.id)
        assert.are.equal(1, #seen)
        local p = seen[1]
        assert.are.equal(121, p.id)
        assert.are.equal("tminterfaceconfirm", p.name)
        assert.are.equal(TASK, p.idtask)
        assert.are.equal("120151112", p.number)
        assert.are.equal(67, p.idinlist)
        assert.are.equal(CARD, p.text)
        assert.is_false(emu:snapshot("Peter").confirm_pending)
        emu:finish("Peter", "answered")
        local close = assert(c:wait("tminterfaceclose", 3))
        assert.are.equal(123, close.id)
        assert.are.equal(TASK, close.idtask)
        c:close()
      end)
    end)

    -- API §3: with confirm usage off the automatic "ok" goes only once every
    -- handler of the prompt has ended without answering it.
    it("confirm usage off: a handler's own answer wins, even after oktell.sleep", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        local answered, reserved = nil, false
        c:on("tminterfaceconfirm", function()
          oktell.sleep(0.1)
          answered = helper.pack(c:set_confirm_result("skip"))
        end)
        c:on("tminterfacereserve", function() reserved = true end)
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "555", text = "x", idinlist = 1 })
        assert(c:wait("tminterfaceclose", 3)) -- "skip" closes the prompt
        oktell.sleep(0.1)
        assert.are.same({ n = 1, true }, answered)
        assert.is_false(reserved) -- no "ok" went before it
        assert.is_false(emu:snapshot("Peter").confirm_pending)
        c:close()
      end)
    end)

    it("confirm usage off: 'ok' at once without handlers, after a handler that errors or sleeps and returns", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        local now = require("oktell.core").now
        local function prompt(n)
          local t0 = now()
          emu:offer("Peter", { task = TASK, mode = "confirm", number = tostring(n), text = "x", idinlist = n })
          local ev = assert(c:wait("tminterfacereserve", 3)) -- the client's "ok" started dialing
          local dt = now() - t0
          assert.are.equal(tostring(n), ev.number)
          emu:finish("Peter", "failed")
          assert(c:wait("tminterfaceclose", 3))
          return dt
        end
        assert.is_true(prompt(1) < 0.5)
        local raised = {}
        local prev = oktell.on_error(function(e) raised[#raised + 1] = e end)
        local id = c:on("tminterfaceconfirm", function() error("handler failed") end)
        prompt(2)
        oktell.on_error(prev)
        assert.are.equal(1, #raised)
        assert.matches("handler failed", tostring(raised[1]))
        c:off(id)
        local ended
        c:on("tminterfaceconfirm", function()
          oktell.sleep(0.2)
          ended = now()
        end)
        local dt3 = prompt(3)
        assert.is_true(dt3 >= 0.199, "ok after " .. dt3 .. " s") -- (clock in ms, as a float)
        assert.is_number(ended)
        c:close()
      end)
    end)

    it("with confirm usage on the prompt stays pending until the script answers", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu, { confirm_usage = true })
        assert.is_true(c:callcenter_enter())
        local got
        c:on(121, function(ev) got = ev end)
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "555", text = "x", idinlist = 1 })
        assert(c:wait("TMInterfaceConfirm", 3))
        oktell.sleep(0.1)
        assert.is_true(emu:snapshot("Peter").confirm_pending)
        assert.are.equal("reserved", emu:snapshot("Peter").userstate)
        assert.are.equal("555", got.number)
        assert.is_true(c:set_confirm_result("ok"))
        assert(c:wait("tminterfacereserve", 3))
        assert.is_false(c:set_confirm_result("ok")) -- nothing pending any more
        emu:finish("Peter", "failed")
        assert(c:wait(123, 3))
        -- skip through the COM method
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "556", text = "y", idinlist = 2 })
        assert(c:wait(121, 3))
        local doc = xml.encode("confirmresult", { result = "skip" })
        assert.is_true(c:TM_SetConfirmResult(doc))
        assert(c:wait("tminterfaceclose", 3))
        c:close()
      end)
    end)

    it("notify mode: 122 at once; answered call: 123, line commutated, user fullbusy", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        local states, lines = {}, {}
        c:on("userstate", function(ev) states[#states + 1] = ev.state end)
        c:on("linestate", function(ev) lines[#lines + 1] = ev end)
        emu:offer("Peter", { task = TASK, mode = "notify", number = "777", text = "z", idinlist = 3 })
        local ev = assert(c:wait("tminterfacereserve", 3))
        assert.are.equal("777", ev.number)
        assert.are.equal("z", ev.text)
        emu:finish("Peter", "answered")
        assert(c:wait("tminterfaceclose", 3))
        assert(helper.eventually(function() return #lines > 0 end))
        assert.are.equal("commutated", lines[#lines].state)
        assert.are.equal(0x20, lines[#lines].code)
        assert(helper.eventually(function() return states[#states] == "fullbusy" end))
        assert.are.same({ "commutated", 0x20 }, { c:line_state() })
        c:close()
      end)
    end)

    it("userstate, linestate and callcenter events; on/off; wait", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local cc = {}
        local id = c:on("callcenter", function(ev) cc[#cc + 1] = ev.inside end)
        assert.is_number(id)
        local w
        oktell.spawn(function() w = c:wait("userstate", 3) end)
        oktell.step(0) -- let the waiter register before the change
        assert.is_true(c:set_user_state { state = "off" })
        assert(helper.eventually(function() return w ~= nil end))
        assert.are.same({ state = "off", code = 3, redirect = false }, { state = w.state, code = w.code,
          redirect = w.redirect })
        assert.is_true(c:callcenter_enter())
        assert(c:wait("userstate", 3) or true)
        assert(helper.eventually(function() return #cc == 1 end))
        assert.is_true(cc[1])
        assert.is_true(c:off(id))
        assert.is_false(c:off(id))
        assert.is_true(c:callcenter_exit())
        oktell.sleep(0.1)
        assert.are.equal(1, #cc)
        local t = oktell.spawn(function() end) -- unrelated
        assert.are.equal("thread", type(t))
        oktell.spawn(function() oktell.sleep(0.01); emu:set_line("Peter", "hookup") end)
        local l = assert(c:wait("linestate", 3))
        assert.are.same({ state = "hookup", code = 8 }, l)
        local n, m, k = c:wait("tminterfaceclose", 0.05)
        assert.is_nil(n); assert.are.equal("timeout", m); assert.are.equal("timeout", k)
        c:close()
      end)
    end)

    it("events of one client reach handlers in arrival order, each in its own coroutine", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local seen, cos = {}, {}
        c:on("linestate", function(ev)
          seen[#seen + 1] = ev.state
          cos[coroutine.running()] = true
        end)
        local seq = { "hookup", "ready", "incomingcall", "commutated", "ready" }
        for _, s in ipairs(seq) do emu:set_line("Peter", s) end
        assert(helper.eventually(function() return #seen == #seq end))
        assert.are.same(seq, seen)
        local n = 0
        for _ in pairs(cos) do n = n + 1 end
        assert.are.equal(#seq, n)
        c:close()
      end)
    end)

    it("back-to-back blocking calls keep timers, coroutines and handlers going", function()
      -- (one client and nothing queued: the call waits inside conn:pump,
      -- bounded by the nearest timer)
      with_emulator({}, function(emu)
        local c = connect(emu)
        local ticks, lines = 0, {}
        c:on("linestate", function(ev) lines[#lines + 1] = ev.state end)
        oktell.spawn(function()
          for _ = 1, 5 do
            oktell.sleep(0.01)
            ticks = ticks + 1
          end
          emu:set_line("Peter", "hookup")
        end)
        local calls = 0
        while (ticks < 5 or #lines < 1) and calls < 20000 do
          assert(c:user_state())
          calls = calls + 1
        end
        assert.are.equal(5, ticks)
        assert.are.same({ "hookup" }, lines)
        c:close()
      end)
    end)

    it("handlers may call methods and sleep; their errors go to on_error", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local got
        c:on("linestate", function()
          oktell.sleep(0.01)
          got = c:user_state().state
          error("handler boom", 0)
        end)
        emu:set_line("Peter", "hookup")
        assert(helper.eventually(function() return #errors == 1 end))
        assert.are.equal("ready", got)
        assert.are.equal("handler boom", errors[1])
        errors = {}
        -- a nested run/step inside a handler is misuse: it raises there
        c:on("userstate", function() oktell.step(0) end)
        c:set_user_state { state = "off" }
        assert(helper.eventually(function() return #errors == 1 end))
        assert.matches("step", errors[1])
        errors = {}
        c:close()
      end)
    end)

    it("a callable table is a handler as a function is; other values are refused", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local got = {}
        local h = setmetatable({}, { __call = function(self, ev, client)
          got[#got + 1] = { self = self, state = ev.state, client = client, me = client:user_state().state }
        end })
        assert.is_number(c:on("linestate", h))
        emu:set_line("Peter", "hookup")
        assert(helper.eventually(function() return #got == 1 end))
        assert.are.equal(h, got[1].self)
        assert.are.equal("hookup", got[1].state)
        assert.are.equal(c, got[1].client)
        assert.are.equal("ready", got[1].me)
        assert.has_error(function() c:on("linestate", {}) end,
          "bad argument #2 to 'on' (function expected, got table)")
        assert.are.same({}, errors)
        c:close()
      end)
    end)

    -- Issue 10 item 5: the waiter of a call whose yield failed stayed
    -- registered, and the reply resumed the coroutine later (dead by then).
    it("a call whose yield fails leaves no waiter: its reply resumes nothing", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local res = {}
        oktell.run(function()
          -- a C function between the coroutine and the yield: fails on every Lua
          local ok, err = pcall(table.sort, { 1, 2 }, function(a, b) c:user_state(); return a < b end)
          res.ok, res.err = ok, err
          -- a coroutine oktell does not manage cannot wait inside the loop
          res.ok2, res.err2 = pcall(coroutine.wrap(function() return c:user_state() end))
          res.after = c:user_state().state -- this coroutine parks normally afterwards
        end)
        assert.is_false(res.ok)
        assert.matches("yield", res.err)
        assert.is_false(res.ok2)
        assert.matches("unmanaged coroutine", res.err2)
        assert.are.equal("ready", res.after)
        oktell.sleep(0.05) -- the failed call's reply has come by now
        assert.are.same({}, errors)
        c:close()
      end)
    end)

    -- Lua 5.1 (PUC) cannot yield across pcall: there a call that must wait
    -- fails inside pcall in a managed coroutine; 5.2+ and LuaJIT yield.
    it("a method called inside pcall in a managed coroutine", function()
      local can = coroutine.wrap(function() return pcall(coroutine.yield, "yielded") end)() == "yielded"
      with_emulator({}, function(emu)
        local c = connect(emu)
        local r
        oktell.run(function() r = helper.pack(pcall(c.user_state, c)) end)
        if can then
          assert.is_true(r[1])
          assert.are.equal("ready", r[2].state)
        else
          assert.is_false(r[1])
          assert.matches("yield across", r[2])
        end
        oktell.sleep(0.05)
        assert.are.same({}, errors)
        -- outside a managed coroutine it blocks, pcall or not, on every Lua
        local ok, st = pcall(c.user_state, c)
        assert.is_true(ok)
        assert.are.equal("ready", st.state)
        c:close()
      end)
    end)

    it("event names: numbers, reference names, unknown names raise", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        assert.is_number(c:on(121, function() end))
        assert.is_number(c:on("TMInterfaceReserve", function() end))
        assert.is_number(c:on("tminterfaceclose", function() end))
        assert.has_error(function() c:on("nosuchevent", function() end) end)
        assert.has_error(function() c:on("userstate", 5) end)
        assert.has_error(function() c:wait(5, 1) end)
        c:close()
      end)
    end)
  end)

  describe("coroutine mode", function()
    it("methods yield inside oktell.run and many requests are in flight at once", function()
      with_emulator({}, function(emu)
        local results = {}
        local r = oktell.run(function()
          local c = connect(emu)
          for i = 1, 20 do
            oktell.spawn(function() results[i] = c:user_state().state end)
          end
          oktell.spawn(function() results.line = c:line_state() end)
          oktell.sleep(0.05)
          return c
        end)
        assert.are.equal(20, #results)
        for i = 1, 20 do assert.are.equal("ready", results[i]) end
        assert.are.equal("ready", results.line)
        r:close()
      end)
    end)

    it("every method gives the same answer blocking and inside a managed coroutine", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        local doc_task = xml.encode("settaskactive", { tasktype = "call", idtask = TASK, active = true })
        local calls = {
          { "user_info", function() return c:user_info().login end },
          { "user_state", function() return c:user_state().state end },
          { "set_user_state", function() return c:set_user_state { state = "ready" } end },
          { "line_state", function() return (c:line_state()) end },
          { "callcenter_enter", function() return c:callcenter_enter() end },
          { "callcenter_inside", function() return c:callcenter_inside() end },
          { "set_busy_in_external_task", function() return c:set_busy_in_external_task() end },
          { "check_busy_in_external_task", function() return c:check_busy_in_external_task() end },
          { "set_free_in_external_task", function() return c:set_free_in_external_task() end },
          { "set_task_active", function() return c:set_task_active { tasktype = "call", idtask = TASK,
            active = true } end },
          { "set_confirm_usage", function() return c:set_confirm_usage(false) end },
          { "set_confirm_result", function() return c:set_confirm_result("skip") end },
          { "callcenter_exit", function() return c:callcenter_exit() end },
          { "GetCurrentUserFullInfo", function() return xml.decode(c:GetCurrentUserFullInfo()).login end },
          { "GetUserState", function() return xml.decode(c:GetUserState()).state end },
          { "SetUserState", function() return c:SetUserState(helper.fixture("setuserstate2.xml")) end },
          { "GetLineState", function() return xml.decode(c:GetLineState()).state end },
          { "CallCenter_Enter", function() return c:CallCenter_Enter() end },
          { "CallCenter_IsInside", function() return c:CallCenter_IsInside() end },
          { "CallCenter_SetBusyInExternalTask", function() return c:CallCenter_SetBusyInExternalTask() end },
          { "CallCenter_CheckBusyInExternalTask", function() return c:CallCenter_CheckBusyInExternalTask() end },
          { "CallCenter_SetFreeInExternalTask", function() return c:CallCenter_SetFreeInExternalTask() end },
          { "TM_SetTaskActive", function() return xml.decode(c:TM_SetTaskActive(doc_task)).success end },
          { "TM_SetConfirmUsage", function() return c:TM_SetConfirmUsage(false) end },
          { "TM_SetConfirmResult", function() return c:TM_SetConfirmResult(helper.fixture("confirmresult.xml")) end },
          { "CallCenter_Exit", function() return c:CallCenter_Exit() end },
        }
        local blocking, managed = {}, {}
        for i, call in ipairs(calls) do blocking[i] = call[2]() end
        oktell.run(function()
          for i, call in ipairs(calls) do
            managed[i] = call[2]()
            assert(helper.isyieldable(), "not managed")
          end
        end)
        for i, call in ipairs(calls) do
          assert.is_not_nil(blocking[i], call[1])
          assert.are.equal(blocking[i], managed[i], call[1])
        end
        c:close()
      end)
    end)

    it("connect yields too: two clients log in concurrently", function()
      with_emulator(two_users(), function(emu)
        local a, b = oktell.run(function()
          local x, y
          oktell.spawn(function() y = connect(emu, { login = "Ivan", password = "456" }) end)
          x = connect(emu)
          while not y do oktell.sleep(0.005) end
          return x, y
        end)
        assert.are.equal("Peter", a:user_info().login)
        assert.are.equal("Ivan", b:user_info().login)
        a:close(); b:close()
      end)
    end)
  end)

  describe("serving", function()
    it("oktell.run() serves handlers until oktell.stop()", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        local seen = {}
        c:on("linestate", function(ev)
          seen[#seen + 1] = ev.state
          if #seen == 3 then oktell.stop() end
        end)
        oktell.spawn(function()
          for _, s in ipairs { "hookup", "ready", "hookup" } do emu:set_line("Peter", s); oktell.sleep(0.01) end
        end)
        assert.is_true(oktell.run())
        assert.are.same({ "hookup", "ready", "hookup" }, seen)
        c:close()
      end)
    end)

    it("oktell.run() returns once every client is closed", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        c:on("userstate", function(ev) if ev.state == "off" then c:close() end end)
        oktell.spawn(function() c:set_user_state { state = "off" } end)
        local t0 = require("oktell.core").now()
        assert.is_true(oktell.run())
        assert.is_true(require("oktell.core").now() - t0 < 3)
        local ok, _, code = c:user_state()
        assert.is_nil(ok)
        assert.are.equal("closed", code)
      end)
    end)

    it("a client with handlers stays alive unreferenced; one without is collected and closed", function()
      with_emulator({}, function(emu)
        local got
        do
          local c = connect(emu)
          c:on("linestate", function(ev, client) got = ev.state; client:close() end)
        end
        collectgarbage()
        collectgarbage()
        emu:set_line("Peter", "hookup")
        oktell.run()
        assert.are.equal("hookup", got)
        assert.is_truthy(connect(emu)) -- dropped at once
        assert.is_true(emu:snapshot("Peter").connected)
        collectgarbage()
        collectgarbage()
        assert(helper.eventually(function() return not emu:snapshot("Peter").connected end))
      end)
    end)
  end)

  describe("failures", function()
    it("auth: a wrong password, and no password in the message", function()
      with_emulator({}, function(emu)
        local c, msg, code = oktell.connect { url = emu.url, login = "Peter", password = "s3cr3t-wrong" }
        assert.is_nil(c)
        assert.are.equal("auth", code)
        assert.is_string(msg)
        assert.is_nil(msg:find("s3cr3t", 1, true))
      end)
    end)

    it("refused: nothing listens", function()
      local c, msg, code = oktell.connect { url = helper.closed_port(), login = "Peter", password = "123" }
      assert.is_nil(c)
      assert.is_string(msg)
      assert.are.equal("refused", code)
    end)

    it("refused for each URL of a list, the next URL is tried", function()
      with_emulator({}, function(emu)
        local c = connect(emu, { url = { helper.closed_port(), emu.url } })
        assert.are.equal("ready", c:user_state().state)
        c:close()
      end)
    end)

    it("timeout: a server that stops answering", function()
      with_emulator({}, function(emu)
        local c = connect(emu, { timeout = 0.3, reconnect = false })
        emu:pause(true)
        local t0 = require("oktell.core").now()
        local ok, msg, code = c:user_state()
        local dt = require("oktell.core").now() - t0
        emu:pause(false)
        assert.is_nil(ok)
        assert.is_string(msg)
        assert.are.equal("timeout", code)
        assert.is_true(dt >= 0.25 and dt < 3)
        emu:pause(true)
        local b, m2, c2 = c:callcenter_inside() -- bool method: nil when no answer
        emu:pause(false)
        assert.is_nil(b)
        assert.is_string(m2)
        assert.are.equal("timeout", c2)
        c:close()
        emu:pause(true)
        local n, m3, c3 = oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 0.3,
          open_timeout = 0.3 }
        emu:pause(false)
        assert.is_nil(n)
        assert.is_string(m3)
        assert.are.equal("timeout", c3) -- connected, but no answer to the handshake
      end)
    end)

    it("closed: every method of a closed client fails 'closed'; close is idempotent", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        assert.is_true(c:close())
        assert.is_true(c:close())
        local calls = {
          function() return c:user_info() end, function() return c:user_state() end,
          function() return c:set_user_state { state = "off" } end, function() return c:line_state() end,
          function() return c:callcenter_inside() end, function() return c:callcenter_enter() end,
          function() return c:callcenter_exit() end, function() return c:set_busy_in_external_task() end,
          function() return c:set_free_in_external_task() end,
          function() return c:check_busy_in_external_task() end,
          function() return c:set_task_active { tasktype = "call", idtask = TASK, active = true } end,
          function() return c:set_confirm_usage(true) end, function() return c:set_confirm_result("ok") end,
          function() return c:GetUserState() end, function() return c:GetLineState() end,
          function() return c:GetCurrentUserFullInfo() end, function() return c:CallCenter_Enter() end,
          function() return c:TM_SetConfirmResult(helper.fixture("confirmresult.xml")) end,
          function() return c:wait("userstate", 1) end,
        }
        for i, f in ipairs(calls) do
          local r, msg, code = f()
          assert.is_nil(r, "call " .. i)
          assert.is_string(msg)
          assert.are.equal("closed", code, "call " .. i)
        end
      end)
    end)

    it("misuse raises with the argument named", function()
      with_emulator({}, function(emu)
        assert.has_error(function() oktell.connect("x") end)
        assert.has_error(function() oktell.connect { url = emu.url } end)
        assert.has_error(function() oktell.connect { url = 5, login = "Peter" } end)
        local c = connect(emu)
        assert.has_error(function() c:set_user_state { state = "nap" } end,
          "bad argument #1 to 'set_user_state' (unknown user state 'nap')")
        assert.has_error(function() c:set_user_state "off" end)
        assert.has_error(function() c:set_user_state { state = "off", code = 1 } end)
        assert.has_error(function() c:set_confirm_result("maybe") end)
        assert.has_error(function() c:set_confirm_usage("yes") end)
        assert.has_error(function() c:set_task_active { tasktype = "fax", idtask = TASK, active = true } end)
        assert.has_error(function() c:SetUserState(42) end)
        c:close()
      end)
    end)
  end)

  describe("reconnect", function()
    it("after a drop: disconnect, calls fail 'closed' at once, reconnect, confirm usage restored", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu, { confirm_usage = true })
        assert.is_true(c:callcenter_enter())
        local log = {}
        c:on("disconnect", function(ev) log[#log + 1] = "disconnect:" .. tostring(ev.code) end)
        c:on("reconnect", function() log[#log + 1] = "reconnect" end)
        local pending
        oktell.spawn(function() pending = { c:wait("reconnect", 5) } end)
        oktell.step(0)
        emu:drop("Peter")
        local d = assert(c:wait("disconnect", 3))
        assert.is_string(d.message)
        local t0 = require("oktell.core").now()
        local ok, _, code = c:user_state()
        if ok == nil then -- still down: failed at once
          assert.are.equal("closed", code)
          assert.is_true(require("oktell.core").now() - t0 < 1) -- far below any request timeout
        end
        assert(helper.eventually(function() return pending ~= nil end, 5))
        assert.are.same({ "disconnect:closed", "reconnect" }, log)
        assert.is_string(c:user_state().state)
        assert.is_true(c:callcenter_inside())
        -- events are subscribed again
        oktell.spawn(function() emu:set_line("Peter", "hookup") end)
        assert.are.equal("hookup", assert(c:wait("linestate", 3)).state)
        -- confirm usage is on again: a prompt stays pending
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "1", text = "t", idinlist = 5 })
        assert(c:wait(121, 3))
        oktell.sleep(0.1)
        assert.is_true(emu:snapshot("Peter").confirm_pending)
        assert.is_true(c:set_confirm_result("delete"))
        c:close()
      end)
    end)

    it("a server that goes away and comes back on the same port: back-off, then reconnect", function()
      local port
      local c
      with_emulator({}, function(emu)
        port = tonumber(emu.url:match(":(%d+)$"))
        c = connect(emu)
      end)
      assert(c:wait("disconnect", 3))
      local ok, _, code = c:user_state()
      assert.is_nil(ok)
      assert.are.equal("closed", code)
      oktell.sleep(0.3) -- a few failed attempts while nothing listens
      with_emulator({ port = port }, function()
        assert(c:wait("reconnect", 10))
        assert.are.equal("ready", c:user_state().state)
        c:close()
      end)
    end)

    it("reconnect = false ends the client on a drop", function()
      with_emulator({}, function(emu)
        local c = connect(emu, { reconnect = false })
        local w
        oktell.spawn(function() w = c:wait("userstate") end)
        oktell.step(0)
        emu:drop("Peter")
        local d = assert(c:wait("disconnect", 3))
        assert.is_string(d.message)
        assert(helper.eventually(function() return w ~= nil or c:wait("userstate", 0) == nil end))
        local ok, _, code = c:user_state()
        assert.is_nil(ok)
        assert.are.equal("closed", code)
        assert.is_true(c:close())
      end)
    end)

    -- Events a script relies on arrive with the true reason (issue 11).
    it("a drop while a prompt is pending: a local tminterfaceclose marked reason = 'disconnect'", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu, { confirm_usage = true })
        assert.is_true(c:callcenter_enter())
        emu:offer("Peter", { task = TASK, mode = "confirm", number = "9", text = "t", idinlist = 9 })
        assert(c:wait(121, 3))
        local order = {}
        c:on("disconnect", function() order[#order + 1] = "disconnect" end)
        c:on("tminterfaceclose", function() order[#order + 1] = "tminterfaceclose" end)
        local close
        oktell.spawn(function() close = { c:wait("tminterfaceclose", 5) } end)
        oktell.step(0)
        emu:drop("Peter")
        assert(helper.eventually(function() return close ~= nil end, 5))
        local ev = close[1]
        assert.is_table(ev, tostring(close[2]))
        assert.are.equal(123, ev.id)
        assert.are.equal("tminterfaceclose", ev.name)
        assert.are.equal(TASK, ev.idtask)
        assert.are.equal("disconnect", ev.reason)
        assert(c:wait("reconnect", 5))
        assert.are.same({ "disconnect", "tminterfaceclose" }, order)
        -- no prompt pending now: a second drop makes no 123
        order = {}
        emu:drop("Peter")
        assert(c:wait("reconnect", 5))
        assert.are.same({ "disconnect" }, order)
        c:close()
      end)
    end)

    it("after a reconnect the user state is read again: a userstate event when it changed", function()
      with_emulator(two_users(), function(emu)
        local c = connect(emu)
        assert.is_true(c:callcenter_enter())
        assert.is_true(c:set_user_state { state = "lunch" })
        assert.are.equal("lunch", assert(c:wait("userstate", 3)).state)
        local log = {}
        c:on("userstate", function(ev) log[#log + 1] = "userstate:" .. ev.state end)
        c:on("reconnect", function() log[#log + 1] = "reconnect" end)
        emu:drop("Peter") -- the emulator makes the next login ready, and says nothing of it
        assert(c:wait("reconnect", 5))
        oktell.sleep(0.05)
        assert.are.same({ "userstate:ready", "reconnect" }, log)
        -- unchanged: no event
        log = {}
        emu:drop("Peter")
        assert(c:wait("reconnect", 5))
        oktell.sleep(0.05)
        assert.are.same({ "reconnect" }, log)
        c:close()
      end)
    end)

    it("reconnect = false: a drop fails pending calls and waits with the real cause, and says it after", function()
      with_emulator({}, function(emu)
        local c = connect(emu, { reconnect = false })
        local call, waited, cause
        c:on("disconnect", function(ev) cause = ev.message end)
        emu:pause(true)
        oktell.spawn(function() call = helper.pack(c:user_state()) end)
        oktell.spawn(function() waited = helper.pack(c:wait("userstate", 5)) end)
        oktell.step(0)
        emu:drop("Peter")
        assert(helper.eventually(function() return call ~= nil and waited ~= nil and cause ~= nil end, 5))
        emu:pause(false)
        -- the transport's own words: "peer vanished ..." or "connection reset by peer"
        assert.truthy(cause:find("peer", 1, true), cause)
        for _, r in ipairs { call, waited } do
          assert.is_nil(r[1])
          assert.are.equal("closed", r[3])
          assert.matches(cause, r[2], 1, true)
          assert.is_nil(r[2]:find("client is closed", 1, true), r[2])
        end
        local ok, msg, code = c:user_state()
        assert.is_nil(ok)
        assert.are.equal("closed", code)
        assert.are.equal("oktell: connection lost (" .. cause .. "); reconnect is off", msg)
        assert.is_true(c:close())
        -- closed by the script: that is what it says then
        assert.are.same({ n = 3, nil, "oktell: client is closed", "closed" }, helper.pack(c:user_state()))
      end)
    end)

    it("the emulator going away: pending calls fail, none hangs", function()
      local c, emu
      with_emulator({}, function(e)
        emu = e
        c = connect(e, { timeout = 2 })
      end)
      assert.is_not_nil(emu)
      local t0 = require("oktell.core").now()
      local ok, _, code = c:user_state()
      assert.is_nil(ok)
      assert.is_true(code == "closed" or code == "timeout")
      assert.is_true(require("oktell.core").now() - t0 < 3)
      c:close()
    end)
  end)

  describe("urls", function()
    it("wss:// to a plain ws:// server fails at once: 'refused', the TLS handshake named", function()
      with_emulator({}, function(emu)
        local now = require("oktell.core").now
        local url = emu.url:gsub("^ws:", "wss:")
        local t0 = now()
        local c, msg, code = oktell.connect { url = url, login = "Peter", password = "123", verify = false,
          timeout = 5 }
        local dt = now() - t0
        assert.is_nil(c)
        assert.are.equal("refused", code)
        assert.matches("TLS handshake", msg, 1, true)
        assert.matches("non-TLS bytes", msg, 1, true)
        assert.is_true(dt < 1, "failed after " .. dt .. " s")
      end)
    end)

    it("a bad URL is misuse with one message shape, from the client and from the core alike", function()
      local core = require "oktell.core"
      for _, u in ipairs { "http://127.0.0.1:4066", "ws://", "wss://", "ws://h:0", "ws://h:99999", "ws://[::1",
        "ws://a b/", "ws://h/p q", "", "ws://h:80x", "ws://user:s3cr3t@h/" } do
        local ok, err = pcall(oktell.connect, { url = { "ws://127.0.0.1:1", u }, login = "Peter", password = "1" })
        assert.is_false(ok, u)
        local want = "oktell: bad url '" .. u:gsub("user:s3cr3t@", "***@") .. "': "
        assert.matches("bad argument #1 to 'connect' (" .. want, err, 1, true)
        assert.is_nil(err:find("s3cr3t", 1, true))
        local c, msg, code = core.connect { urls = { u }, login = "Peter", password = "1" }
        assert.is_nil(c, u)
        assert.are.equal("invalid", code)
        assert.are.equal(want, msg:sub(1, #want))
        assert.are.equal(err:match("%((oktell: bad url .*)%)$"), msg)
      end
    end)
  end)

  describe("lifetime", function()
    -- The emulator runs in this process: its end of a socket closes a moment
    -- after ours, so descriptor counts are compared once it has settled.
    local function settled(emu, base)
      return helper.eventually(function()
        return not emu:snapshot("Peter").connected and (not base or helper.fd_count() <= base)
      end, 3)
    end

    it("<close> frees the connection (Lua 5.4)", function()
      if not helper.LUA54 then pending("<close> is Lua 5.4 syntax") end
      with_emulator({}, function(emu)
        local base = helper.fd_count()
        -- compiled at run time: older Luas cannot parse `<close>`
        assert(helper.load([[
          local connect, emu, assert, helper, base = ...
          local c <close> = connect(emu)
          assert.is_true(helper.fd_count() > base)
          assert.is_true(emu:snapshot("Peter").connected)
          assert.are.equal("ready", c:user_state().state)]], "=close_chunk"))(connect, emu, assert, helper, base)
        assert(settled(emu, base))
        assert.are.equal(base, helper.fd_count())
      end)
    end)

    -- On Lua 5.1 and LuaJIT a table's __gc never runs: there the client's
    -- finalizer runs from a userdata it holds (oktell.compat).
    it("__gc: a dropped client's own finalizer closes it", function()
      with_emulator({}, function(emu)
        local base = helper.fd_count()
        local ran = false
        local mt
        do
          local c = connect(emu)
          assert.is_true(c:user_state() ~= nil)
          assert.is_true(helper.fd_count() > base)
          mt = getmetatable(c)
          c.gc_probe = true
        end
        local gc = mt.__gc
        mt.__gc = function(self)
          if rawget(self, "gc_probe") then ran = true end
          return gc(self)
        end
        collectgarbage()
        collectgarbage()
        mt.__gc = gc
        assert.is_true(ran, "the client's __gc did not run")
        assert(settled(emu, base))
        assert.are.equal(base, helper.fd_count())
      end)
    end)

    it("connect/close cycles leak no descriptor and no memory", function()
      with_emulator({}, function(emu)
        local c = connect(emu)
        c:close()
        assert(settled(emu))
        oktell.sleep(0.1)
        collectgarbage()
        local fds = helper.fd_count()
        local mem = collectgarbage("count")
        for i = 1, 300 do
          local x = connect(emu)
          if i % 2 == 0 then x:close() end -- the others go to __gc
        end
        collectgarbage()
        collectgarbage()
        assert(settled(emu, fds))
        assert(helper.eventually(function() return helper.fd_count() == fds end), "descriptors leaked")
        -- a collected client's finalizer closes it, and the loop turns above
        -- deliver that close; only then is the client garbage for good
        collectgarbage()
        collectgarbage()
        local grew = collectgarbage("count") - mem
        assert.is_true(grew < 256, ("Lua memory grew by %.0f KiB"):format(grew))
      end)
    end)
  end)
end)
