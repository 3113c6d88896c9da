-- Recorded sessions (API §3 `record`, oktell.record; §5 emulator.replay).
--
-- "The example test" first: examples/record_session.lua records a session
-- against the emulator; its recording is replayed and the same script runs
-- against the replay, and must see the same results and the same prompt.
-- That is the test a user copies. Then what the file holds (no secrets),
-- recording a live client, and the replay's refusals.
local oktell = require "oktell"
local emulator = require "oktell.emulator"
local core = require "oktell.core"
local helper = require "helper"

local example = dofile("examples/record_session.lua")

local function tmpname()
  local n = os.tmpname()
  os.remove(n)
  return n .. ".jsonl"
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function lines(text)
  local t = {}
  for l in text:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- Connect to a replay as the recorded user (any password will do).
local function connect(rep, extra)
  local o = { url = rep.url, login = "Peter", password = "not the one recorded", timeout = 3,
              reconnect = false }
  for k, v in pairs(extra or {}) do o[k] = v end
  return oktell.connect(o)
end

-- md5 of "123" as sent (both hashes are the same for digits)
local HASH_123 = "202cb962ac59075b964b07152d234b70"

describe("recorded sessions", function()
  helper.guard()

  describe("the example test", function()
    local file, recorded

    setup(function()
      file = tmpname()
      recorded = example.record(file)
    end)

    teardown(function() os.remove(file) end)

    it("records the session it runs", function()
      assert.are.equal("ready", recorded.start)
      assert.is_true(recorded.entered)
      assert.are.equal("lunch", recorded.lunch)
      assert.are.same({ number = "120151112", text = "Карточка клиента", idinlist = 67 }, recorded.prompt)
      assert.are.same({ "120151112" }, recorded.seen)
    end)

    it("replays it: the same script sees the same results and the same prompt", function()
      local rep = assert(emulator.replay(file))
      local client = assert(connect(rep))
      local out = example.session(client)   -- no prompt call: the replay sends the recorded one
      client:close()
      assert.are.same(recorded, out)
      assert.is_true(rep:wait(3))
      assert.is_true(rep:done())
      local s = rep:status()
      assert.are.equal(0, s.unexpected)
      assert.are.equal(s.requests, s.requests_served)
      assert.are.equal(s.events, s.events_sent)
      assert.is_true(s.events >= 2)
      rep:stop()
    end)

    it("replays the committed recording too (the format stays readable)", function()
      local rep = assert(emulator.replay("spec/fixtures/record_session.jsonl"))
      local client = assert(connect(rep))
      local out = example.session(client)
      client:close()
      assert.are.same(recorded, out)
      assert.is_true(rep:wait(3))
      rep:stop()
    end)

    it("takes an open file, and a speed", function()
      local f = assert(io.open(file, "rb"))
      local rep = assert(emulator.replay(f, { speed = 50 }))
      f:close()
      local client = assert(connect(rep))
      assert.are.same(recorded, example.session(client))
      client:close()
      assert.is_true(rep:wait(3))
      rep:stop()
    end)

    it("holds one JSON line per frame, and no password, hash or session id", function()
      local text = slurp(file)
      local ls = lines(text)
      assert.matches('^{"oktell_record":1,"version":"' .. oktell._VERSION:gsub("%.", "%%.")
        .. '","login":"Peter","url":"ws://127%.0%.0%.1:%d+"}$', ls[1])
      local last = -1
      for i = 2, #ls do
        local t, dir = ls[i]:match('^{"t":(%d+%.%d%d%d),"dir":"([<>!])","frame":%[".*}$')
        assert.is_truthy(t, ls[i])
        assert.is_true(tonumber(t) >= last, "t never goes back")
        last = tonumber(t)
        assert.is_truthy(dir)
      end
      assert.is_nil(text:find(HASH_123, 1, true))
      assert.is_nil(text:find(HASH_123:upper(), 1, true))
      assert.is_nil(text:find('"123"', 1, true))
      -- the login request: both hashes masked, userlogin kept
      local login = assert(text:match('\n({[^\n]*%["login",[^\n]*)'))
      assert.matches('"userlogin":"Peter"', login)
      assert.matches('"Password":"%*%*%*"', login)
      assert.matches('"password":"%*%*%*"', login)
      -- the login reply: the session id masked
      assert.matches('"sessionid":"%*%*%*"', assert(text:match('\n({[^\n]*%["loginresult",[^\n]*)')))
      assert.is_nil(text:find('"sessionid":"[^*]'))
      -- the close: the logout is the last frame
      assert.matches('%["logout",', ls[#ls])
    end)
  end)

  describe("oktell.record", function()
    it("records a live client connected without trace, and feeds a trace function as well", function()
      helper.with_emulator(function(emu)
        local seen = {}
        local client = helper.connect(emu, { trace = function(dir, frame) seen[#seen + 1] = dir .. frame end })
        local file = tmpname()
        local rec = assert(oktell.record(client, file))
        assert.are.equal("ready", client:user_state().state)
        assert.is_true(rec:stop())
        assert.is_true(rec:stop())                 -- again true
        assert.is_true(client:callcenter_inside() ~= nil)  -- after stop: not recorded
        client:close()
        local ls = lines(slurp(file))
        os.remove(file)
        assert.are.equal(3, #ls)                   -- header, getuserstate, its reply
        assert.matches('%["getuserstate",', ls[2])
        assert.matches('%["getuserstateresult",', ls[3])
        -- the trace function saw the login and everything after
        assert.matches('^>%["login",', seen[3])
        assert.matches('^>%["logout",', seen[#seen])
      end)
    end)

    it("switches the core's trace on for a live connection and off again", function()
      helper.with_emulator(function(emu)
        local client = helper.connect(emu)
        local conn = client.conn
        assert.are.same({}, (conn:trace()))         -- no trace without the option
        local f = io.tmpfile()
        local rec = assert(oktell.record(client, f))
        assert.is_truthy(client:user_state())
        assert.is_true(rec:stop())
        assert.are.equal("file", io.type(f))        -- a handle given is not closed
        f:seek("set")
        local text = f:read("*a")
        f:close()
        assert.matches('%["getuserstateresult",', text)
        assert.is_truthy(client:user_state())
        assert.are.same({}, (conn:trace()))         -- off once the recorder stopped
        client:close()
      end)
    end)

    it("records from the first frame with connect{record = ...}, the login included", function()
      helper.with_emulator(function(emu)
        local file = tmpname()
        local client = helper.connect(emu, { record = file })
        client:close()                              -- closes the file the option opened
        local ls = lines(slurp(file))
        os.remove(file)
        assert.matches('%["ping",', ls[2])
        assert.matches('%["login",', ls[4])
        assert.matches('%["logout",', ls[#ls])
      end)
    end)

    it("refuses misuse, and says when the file cannot be written", function()
      helper.with_emulator(function(emu)
        local client = helper.connect(emu)
        assert.has_error(function() oktell.record({}, "x") end)
        assert.has_error(function() oktell.record(client, 42) end)
        local r, msg, code = oktell.record(client, "/nonexistent/dir/x.jsonl")
        assert.is_nil(r)
        assert.matches("cannot open", msg)
        assert.are.equal("io", code)
        client:close()
        r, msg, code = oktell.record(client, tmpname())
        assert.is_nil(r)
        assert.matches("closed", msg)
        assert.are.equal("closed", code)
        local c2, m2, c2code = oktell.connect { url = emu.url, login = "Peter", password = "123",
                                                record = "/nonexistent/dir/x.jsonl" }
        assert.is_nil(c2)
        assert.matches("cannot open", m2)
        assert.are.equal("io", c2code)
        assert.has_error(function()
          oktell.connect { url = emu.url, login = "Peter", record = 1 }
        end, nil)
      end)
    end)

    it("masks what names a password at any depth, even fields the protocol table does not know", function()
      local line = core.record_line(1.5, ">",
        '["changepassword",{"userlogin":"Peter","oldPassword":"a","x":[{"sippass":"b","sipPassWord":"c"}],'
        .. '"sessionid":"d","qid":"1"}]')
      assert.are.equal('{"t":1.500,"dir":">","frame":["changepassword",{"userlogin":"Peter","oldPassword":"***",'
        .. '"x":[{"sippass":"***","sipPassWord":"***"}],"sessionid":"***","qid":"1"}]}', line)
      -- text that is not JSON is never written raw
      assert.are.equal('{"t":0.000,"dir":"<","frame":"<unparsable 13 bytes>"}',
        core.record_line(0, "<", '{"Password":1'))
    end)
  end)

  describe("emulator.replay", function()
    local file

    setup(function()
      file = tmpname()
      example.record(file)
    end)

    teardown(function() os.remove(file) end)

    it("answers a request that was not recorded with a refusal naming it", function()
      local rep = assert(emulator.replay(file))
      local client = assert(connect(rep))
      local r, msg, code = client:line_state()      -- getextendedlineinfo: never recorded
      assert.is_nil(r)
      assert.are.equal("replay: no recorded answer for getextendedlineinfo", msg)
      assert.are.equal("server", code)
      client:close()
      local s = rep:status()
      assert.are.equal(1, s.unexpected)
      assert.are.same({ "getextendedlineinfo" }, s.refused)
      rep:stop()
    end)

    it("answers each method's requests in recorded order, and tells what is left", function()
      local rep = assert(emulator.replay(file))
      local client = assert(connect(rep))
      -- the recorded getuserstate replies: ready (connect's own), ready, lunch, reserved
      assert.are.equal("ready", client:user_state().state)
      assert.are.equal("lunch", client:user_state().state)
      assert.are.equal("reserved", client:user_state().state)
      local r, msg, code = client:user_state()
      assert.is_nil(r)
      assert.matches("no recorded answer for getuserstate", msg)
      assert.are.equal("server", code)
      assert.is_false(rep:done())
      local ok, why, wcode = rep:wait(0.2)
      assert.is_nil(ok)
      assert.are.equal("timeout", wcode)
      assert.matches("next: setuserstate", why)
      assert.matches("not recorded: getuserstate", why)
      client:close()
      rep:stop()
    end)

    it("logs in the recorded user whatever the password, and no one else", function()
      local rep = assert(emulator.replay(file))
      local c, msg, code = connect(rep, { login = "Paul" })
      assert.is_nil(c)
      assert.are.equal("auth", code)
      assert.matches("Wrong login/pass combination", msg)
      c = assert(connect(rep, { login = "peter", password = "" }))   -- the login in any case
      c:close()
      rep:stop()
    end)

    it("sends events at their recorded offsets from the login, divided by speed", function()
      local text = table.concat({
        '{"oktell_record":1,"version":"0","login":"Peter","url":"ws://x"}',
        '{"t":0.000,"dir":">","frame":["ping",{"qid":"1"}]}',
        '{"t":0.001,"dir":"<","frame":["pong",{"result":1,"qid":"1"}]}',
        '{"t":1.000,"dir":">","frame":["login",{"userlogin":"Peter","Password":"***","qid":"2"}]}',
        '{"t":1.001,"dir":"<","frame":["loginresult",{"result":1,"userid":"u","sessionid":"***","qid":"2"}]}',
        '{"t":1.500,"dir":"<","frame":["userstatechanged",{"userstateid":"3","userstate":"3","qid":"e1"}]}',
      }, "\n") .. "\n"
      local path = tmpname()
      spit(path, text)
      -- the client's own requests after login were not recorded: refused,
      -- and connect goes on (getversion) or fails (getuserstate): use the
      -- core connection, which only logs in
      for _, case in ipairs({ { speed = 1, min = 0.4 }, { speed = 10, max = 0.3 } }) do
        local rep = assert(emulator.replay(path, { speed = case.speed }))
        local conn = assert(core.connect { urls = rep.url, login = "Peter", password = "x", subscribe = {} })
        local t0, got
        while core.now() - (t0 or core.now()) < 3 and not got do
          core.poll({ conn:pollfd(), conn:events() or "r" }, 0.05)
          conn:step()
          local ev = conn:next_event()
          while ev do
            if ev.type == "ready" then t0 = core.now() end
            if ev.type == "event" then got = core.now() end
            ev = conn:next_event()
          end
        end
        conn:close()
        assert.is_truthy(got, "the event came")
        if case.min then assert.is_true(got - t0 >= case.min, tostring(got - t0)) end
        if case.max then assert.is_true(got - t0 <= case.max, tostring(got - t0)) end
        assert.is_true(rep:wait(1))
        rep:stop()
      end
      os.remove(path)
    end)

    it("refuses a file that holds a password, a hash or a session id unmasked", function()
      local text = slurp(file)
      for _, bad in ipairs({ '"Password":"' .. HASH_123 .. '"', '"password":"' .. HASH_123 .. '"',
                             '"sessionid":"1234"' }) do
        local key = bad:match('^"(%w+)"')
        local path = tmpname()
        spit(path, (text:gsub('"' .. key .. '":"%*%*%*"', bad, 1)))
        local ok, err = pcall(emulator.replay, path)
        os.remove(path)
        assert.is_false(ok)
        assert.matches("'" .. key .. "' holds a value that is not masked", err)
        assert.matches("line %d+", err)
      end
    end)

    it("refuses what is no recording, and says when the file cannot be read", function()
      local path = tmpname()
      spit(path, '{"hello":1}\n')
      local ok, err = pcall(emulator.replay, path)
      assert.is_false(ok)
      assert.matches("not an oktell recording", err)
      spit(path, '{"oktell_record":1,"login":"Peter"}\n{"t":0,"dir":">","frame":"x"}\nnot json\n')
      ok, err = pcall(emulator.replay, path)
      assert.is_false(ok)
      assert.matches("line 3: not a JSON object", err)
      spit(path, '{"oktell_record":2,"login":"Peter"}\n')
      ok, err = pcall(emulator.replay, path)
      assert.is_false(ok)
      assert.matches("format 2", err)
      os.remove(path)
      local r, msg, code = emulator.replay(path)
      assert.is_nil(r)
      assert.matches("cannot open", msg)
      assert.are.equal("io", code)
      assert.has_error(function() emulator.replay(file, { sped = 2 }) end, nil)
      assert.has_error(function() emulator.replay(file, { speed = 0 }) end, nil)
      assert.has_error(function() emulator.replay(42) end, nil)
    end)

    it("serves one client at a time, and a later one after it", function()
      local rep = assert(emulator.replay(file))
      local c1 = assert(connect(rep))
      local c2, _, code = connect(rep)
      assert.is_nil(c2)
      assert.are.equal("refused", code)
      c1:close()
      assert.is_true(helper.eventually(function()
        local c3 = connect(rep)
        if c3 then c3:close() end
        return c3 ~= nil
      end, 2))
      rep:stop()
      assert.is_true(rep:stop())
      local s, msg, scode = rep:status()
      assert.is_nil(s)
      assert.are.equal("replay stopped", msg)
      assert.are.equal("closed", scode)
    end)
  end)
end)
