-- The protocol table (core.protocol()) and what the client and the emulator
-- build from it: every API method in both styles, extensions announced by
-- the emulator and negotiated by the client, the `wire` and `trace`
-- options, strict option checks.
local oktell = require "oktell"
local core = require "oktell.core"
local emulator = require "oktell.emulator"

local P = core.protocol()

local function find(list, key, value)
  for _, v in ipairs(list) do
    if v[key] == value then return v end
  end
  return nil
end

describe("the protocol table", function()
  it("names a wire method for every API method and event subscription", function()
    assert.is_true(#P.api >= 13)
    for _, a in ipairs(P.api) do
      assert.is_table(find(P.wire, "request", a.wire), a.lua)
      if a.extra then assert.is_table(find(P.wire, "request", a.extra), a.lua) end
      for _, g in ipairs(a.args) do
        assert.is_string(g.wire, a.lua)
      end
    end
    for _, e in ipairs(P.events) do
      if e.wire then
        assert.is_string(e.subscribe, e.lua)
        local group = find(P.groups, "name", e.subscribe)
        for _, w in ipairs(e.wire) do
          -- subscribed by its own name or by a group that holds it
          if group then
            local member = false
            for _, m in ipairs(group.members) do member = member or m == w end
            assert.is_true(member, w)
          else
            assert.equals(e.subscribe, w)
          end
        end
      end
    end
  end)

  it("marks secrets: passwords, their hashes and session ids", function()
    local login = find(P.wire, "request", "login")
    local secret = {}
    for _, f in ipairs(login.params) do if f.secret then secret[f.wire] = true end end
    assert.same({ Password = true, password = true, sessionid = true }, secret)
  end)

  it("maps the known server error values to the API's codes", function()
    assert.equals("auth", core.error_code("login", nil, "Wrong login/pass combination"))
    assert.equals("license", core.error_code("login", 50025))
    assert.equals("license", core.error_code("login", "50025"))
    assert.equals("rights", core.error_code("attachasghost", 52710))
    assert.equals("server", core.error_code("login", 12345, "something else"))
    assert.equals("not_settable", core.error_code("setuserstate", 7, "no", "not_settable"))
  end)
end)

describe("the client built from the table", function()
  local emu, client
  before_each(function()
    emu = emulator.start { port = 0 }
  end)
  after_each(function()
    if client then client:close() end
    client = nil
    emu:stop()
  end)

  it("has every API method in both styles", function()
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123" })
    for _, a in ipairs(P.api) do
      assert.is_function(client[a.lua], a.lua)
      assert.is_function(client[a.com], a.com)
    end
  end)

  it("learns the extensions the emulator announces and uses them", function()
    local frames = {}
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123",
      trace = function(dir, frame) frames[#frames + 1] = { dir, frame } end })
    assert.is_true(client:set_busy_in_external_task())
    assert.is_true(client:check_busy_in_external_task())
    local info = assert(client:user_info())
    assert.is_true(info.rights.extwp)
    -- every request the table marks as ours was announced by getversion
    local announced
    for _, f in ipairs(frames) do
      if f[1] == "<" and f[2]:find('"' .. P.ext_field .. '"', 1, true) then announced = f[2] end
    end
    assert.is_string(announced)
    for _, w in ipairs(P.wire) do
      if not w.source then assert.truthy(announced:find('"' .. w.request .. '"', 1, true), w.request) end
    end
  end)

  it("traces every frame in order, with secrets masked", function()
    local frames = {}
    -- the emulator refuses the password, so connect fails: the trace saw it
    local c, _, code = oktell.connect { url = emu.url, login = "Peter", password = "Secret123",
      trace = function(dir, frame) frames[#frames + 1] = { dir, frame } end }
    assert.is_nil(c)
    assert.equals("auth", code)
    assert.is_true(#frames >= 2)
    assert.equals(">", frames[1][1])
    assert.truthy(frames[1][2]:find('"ping"', 1, true))
    local login
    for _, f in ipairs(frames) do
      assert.falsy(f[2]:find("Secret123", 1, true))
      assert.falsy(f[2]:find("%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x"))
      if f[1] == ">" and f[2]:find('"login"', 1, true) then login = f[2] end
    end
    assert.is_string(login)
    assert.truthy(login:find('"Password": *"%*%*%*"'))
    assert.truthy(login:find('"password": *"%*%*%*"'))
  end)

  it("sends a method under the wire name the user maps it to", function()
    local frames = {}
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123",
      wire = { set_confirm_usage = "nosuchrequest" },
      trace = function(dir, frame) frames[#frames + 1] = { dir, frame } end })
    local ok, msg, code = client:set_confirm_usage(true)
    assert.is_nil(ok)
    assert.is_string(msg)
    assert.equals("server", code)
    local sent = false
    for _, f in ipairs(frames) do
      sent = sent or (f[1] == ">" and f[2]:find('"nosuchrequest"', 1, true) ~= nil)
    end
    assert.is_true(sent)
  end)

  it("refuses unknown options and bad wire maps, naming them", function()
    local ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", tiemout = 1 })
    assert.is_false(ok)
    assert.truthy(err:find("tiemout", 1, true))
    assert.truthy(err:find("timeout", 1, true))
    ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", wire = { no_such_method = "x" } })
    assert.is_false(ok)
    assert.truthy(err:find("no_such_method", 1, true))
    ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", wire = { user_state = "bad name!" } })
    assert.is_false(ok)
    assert.truthy(err:find("user_state", 1, true))
    ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", wire = { disconnect = "x" } })
    assert.is_false(ok)
    assert.truthy(err:find("disconnect", 1, true))
    ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", trace = "yes" })
    assert.is_false(ok)
    assert.truthy(err:find("trace", 1, true))
  end)

  it("refuses unknown keys and bad values of method arguments, naming them", function()
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123" })
    local ok, err = pcall(client.set_user_state, client, { stat = "ready" })
    assert.is_false(ok)
    assert.truthy(err:find("'stat'", 1, true))
    ok, err = pcall(client.set_user_state, client, { state = "lunch", description = "a\0b" })
    assert.is_false(ok)
    assert.truthy(err:find("description", 1, true))
    ok, err = pcall(client.set_user_state, client, { state = "lunch", code = 1 })
    assert.is_false(ok)
    assert.truthy(err:find("disagree", 1, true))
    ok, err = pcall(client.set_task_active, client, { tasktype = "fax", idtask = "x", active = true })
    assert.is_false(ok)
    assert.truthy(err:find("tasktype", 1, true))
  end)
end)

describe("a description that names a break reason", function()
  it("goes as lunchreasonid, as oktell.js sends it, and reads back as the name", function()
    local emu = emulator.start { port = 0 }
    local frames = {}
    local client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123",
      trace = function(dir, frame) frames[#frames + 1] = { dir, frame } end })
    assert.is_true(client:callcenter_enter())
    assert.is_true(client:set_user_state { state = "lunch", description = "Перерыв" })
    local st = assert(client:user_state())
    -- API §6.2: the userstate table gains `reason` (the reason's id) on a break
    assert.same({ state = "lunch", code = 2, redirect = false, description = "Перерыв", reason = 2 }, st)
    assert.is_true(client:set_user_state { state = "lunch", description = "у врача" })
    assert.equals("у врача", client:user_state().description)
    local by_id, by_text = false, false
    for _, f in ipairs(frames) do
      if f[1] == ">" and f[2]:find('"setuserstate"', 1, true) then
        by_id = by_id or (f[2]:find('"lunchreasonid": *2') ~= nil and not f[2]:find("lunchreasonmsg", 1, true))
        by_text = by_text or f[2]:find('"lunchreasonmsg": *"у врача"') ~= nil
      end
    end
    assert.is_true(by_id)
    assert.is_true(by_text)
    client:close()
    emu:stop()
  end)
end)

describe("a break reason by its id", function()
  it("goes as lunchreasonid and reads back as the userstate table's reason", function()
    local emu = emulator.start { port = 0 }
    local client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123" })
    assert.is_true(client:callcenter_enter())
    assert.is_true(client:set_user_state { state = "lunch", reason = 2 })
    local st = assert(client:user_state())
    assert.equals("lunch", st.state)
    assert.equals(2, st.reason)
    local ok, err = pcall(client.set_user_state, client, { state = "lunch", reason = "x" })
    assert.is_false(ok)
    assert.truthy(err:find("reason", 1, true))
    client:close()
    emu:stop()
  end)
end)
