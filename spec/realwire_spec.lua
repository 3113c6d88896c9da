-- The public Lua API (API.md §3-4) against tests/realserver/fake_oktell.py:
-- a server that answers exactly as the frames captured from real Oktell
-- servers show (fact sheet §14.1) and announces none of our extensions. It
-- shares no code with our emulator, so this is the check that the client
-- speaks the real protocol, not just our own dialect of it (issue 9).
--
-- The fake logs every frame the client sends (one JSON line each), which
-- the specs read to check what was sent and what never was; it takes
-- commands (events to push, replies to alter, drops) as JSON files in a
-- control directory. One fresh fake per test.
local oktell = require "oktell"
local helper = require "helper"
local now = require("oktell.core").now -- a wall clock, for the "at once" checks

local FAKE = "tests/realserver/fake_oktell.py"
local PETER_ID = "3F2504E0-4F89-11D3-9A0C-0305E82C3301" -- the fake's default Peter
local TASK = "0f398eb4-5d78-446c-84f4-6892ab72751b"
local CARD_B64 = "0JrQsNGA0YLQvtGH0LrQsA==" -- base64 of the UTF-8 "Карточка"

-- Names only our emulator serves (fact sheet §15): never sent to this server.
local EXTENSIONS = {
  "cc_setbusyinexternaltask", "cc_setfreeinexternaltask", "cc_checkbusyinexternaltask",
  "tm_settaskactive", "tm_setconfirmusage", "tm_setconfirmresult", "getcurrentuserfullinfo",
}

-- JSON ------------------------------------------------------------------------

local function json_encode(v)
  local t = type(v)
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(ch) return ("\\u%04x"):format(ch:byte()) end) .. '"'
  elseif t == "number" then
    return helper.int_type(v) == "integer" and ("%d"):format(v) or ("%.17g"):format(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    local out = {}
    if #v > 0 then
      for i = 1, #v do out[i] = json_encode(v[i]) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    for k, x in pairs(v) do out[#out + 1] = json_encode(tostring(k)) .. ":" .. json_encode(x) end
    table.sort(out)
    return "{" .. table.concat(out, ",") .. "}"
  end
  error("json_encode: cannot encode a " .. t)
end

local ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- Enough JSON for the fake's log lines (null becomes nil).
local function json_decode(s)
  local pos = 1
  local function skip() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == '"' then
        pos = pos + 1
        return table.concat(out)
      elseif c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          local cp = tonumber(s:sub(pos + 2, pos + 5), 16)
          pos = pos + 6
          if cp >= 0xD800 and cp < 0xDC00 and s:sub(pos, pos + 1) == "\\u" then
            cp = 0x10000 + helper.shl(cp - 0xD800, 10) + (tonumber(s:sub(pos + 2, pos + 5), 16) - 0xDC00)
            pos = pos + 6
          end
          out[#out + 1] = helper.utf8_char(cp)
        else
          out[#out + 1] = ESCAPES[e] or e
          pos = pos + 2
        end
      else
        local j = assert(s:find('["\\]', pos), "json_decode: unterminated string")
        out[#out + 1] = s:sub(pos, j - 1)
        pos = j
      end
    end
  end
  local value
  local function list(close, item)
    pos = pos + 1
    skip()
    if s:sub(pos, pos) == close then
      pos = pos + 1
      return
    end
    repeat
      skip()
      item()
      skip()
      local c = s:sub(pos, pos)
      pos = pos + 1
    until c == close
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      list("}", function()
        local k = str()
        skip()
        pos = pos + 1 -- ':'
        t[k] = value()
      end)
      return t
    elseif c == "[" then
      local t, n = {}, 0
      list("]", function()
        n = n + 1
        t[n] = value()
      end)
      return t
    elseif c == '"' then
      return str()
    end
    for word, v in pairs { ["true"] = true, ["false"] = false, null = false } do
      if s:sub(pos, pos + #word - 1) == word then
        pos = pos + #word
        if word == "null" then return nil end
        return v
      end
    end
    local num = assert(s:match("^-?[%d.eE+-]+", pos), "json_decode: bad value at " .. pos)
    pos = pos + #num
    return tonumber(num)
  end
  return value()
end

-- The fake --------------------------------------------------------------------

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = helper.read_all(f)
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Start the fake (config: the table of its --config, nil for its default
-- Peter/123). Its pid comes from `echo $$` before `exec`, so killing it
-- leaves no process behind; LD_PRELOAD (the sanitizer run's) is not passed on.
local function start_fake(config)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. dir .. " && mkdir " .. dir .. "/ctl"))
  local f = { dir = dir, log = dir .. "/requests.log", ctl = dir .. "/ctl", n = 0 }
  local args = " --log " .. f.log .. " --control " .. f.ctl
  if config then
    write_file(dir .. "/config.json", json_encode(config))
    args = args .. " --config " .. dir .. "/config.json"
  end
  f.pipe = assert(io.popen("echo $$; exec env -u LD_PRELOAD python3 " .. FAKE .. args
    .. " 2>" .. dir .. "/stderr", "r"))
  f.pid = helper.read_line(f.pipe)
  local port = (helper.read_line(f.pipe) or ""):match("^PORT (%d+)$")
  if not port then
    local err = read_file(dir .. "/stderr")
    f.pipe:close()
    error("fake_oktell did not start: " .. tostring(err))
  end
  f.url = "ws://127.0.0.1:" .. port
  return f
end

local function stop_fake(f)
  os.execute("kill " .. f.pid .. " 2>/dev/null")
  f.pipe:close()
  os.execute("rm -rf " .. f.dir)
end

-- Wait, running oktell's loop, until pred() holds or t seconds pass.
local function eventually(pred, t)
  local deadline = now() + (t or 2)
  while not pred() do
    if now() > deadline then return false end
    oktell.sleep(0.005)
  end
  return true
end

-- Hand the fake a command; unless nowait, return once it has taken it (it
-- deletes the file, then runs the command before it reads any more input).
local function control(f, cmd, nowait)
  f.n = f.n + 1
  local name = ("%s/%04d"):format(f.ctl, f.n)
  write_file(name .. ".tmp", json_encode(cmd))
  assert(os.rename(name .. ".tmp", name .. ".json"))
  if not nowait then
    assert(eventually(function()
      local h = io.open(name .. ".json")
      if h then h:close() end
      return h == nil
    end, 3),
      "fake_oktell did not take a control command")
  end
end

-- The requests the client sent so far ({method =, params =} in order),
-- only those named method if given.
local function requests(f, method)
  local list = {}
  for line in (read_file(f.log) or ""):gmatch("[^\n]+") do
    local e = json_decode(line)
    if e.method and (method == nil or e.method == method) then list[#list + 1] = e end
  end
  return list
end

local function last_request(f, method)
  local list = requests(f, method)
  return list[#list]
end

local function pack(...) return { n = select("#", ...), ... } end

-- Tests -----------------------------------------------------------------------

describe("against a server that answers as real Oktell does (fake_oktell.py)", function()
  local fake, clients, errors, saved_on_error

  local function restart(config)
    stop_fake(fake)
    fake = start_fake(config)
  end

  local function connect(extra)
    local o = { url = fake.url, login = "Peter", password = "123", timeout = 3 }
    for k, v in pairs(extra or {}) do o[k] = v end
    local c, msg, code = oktell.connect(o)
    assert(c, ("connect failed: %s (%s)"):format(tostring(msg), tostring(code)))
    clients[#clients + 1] = c
    return c
  end

  -- Record the events of these names: returns the list, filled as they come.
  local function record(c, ...)
    local seen = {}
    for _, name in ipairs { ... } do
      c:on(name, function(ev) seen[#seen + 1] = { name = name, ev = ev } end)
    end
    return seen
  end

  local function first(seen, name)
    for _, s in ipairs(seen) do
      if s.name == name then return s.ev end
    end
  end

  before_each(function()
    clients, errors = {}, {}
    saved_on_error = oktell.on_error(function(e) errors[#errors + 1] = tostring(e) end)
    fake = start_fake()
  end)

  after_each(function()
    for _, c in ipairs(clients) do c:close() end
    stop_fake(fake)
    oktell.on_error(saved_on_error)
    assert.are.same({}, errors, "errors raised in handlers")
  end)

  describe("login", function()
    it("connects and logs in with the md5 hashes (§3)", function()
      connect()
      local hs = read_file(fake.log):match('"protocols": (%b[])')
      assert.matches('"json"', hs, 1, true)
      local login = assert(last_request(fake, "login"))
      assert.are.equal("Peter", login.params.userlogin)
      assert.are.equal("202cb962ac59075b964b07152d234b70", login.params.Password) -- md5("123")
    end)

    it("a wrong password is 'auth'", function()
      local c, msg, code = oktell.connect { url = fake.url, login = "Peter", password = "124", timeout = 3 }
      assert.is_nil(c)
      assert.are.equal("string", type(msg))
      assert.are.equal("auth", code)
    end)
  end)

  describe("user_state", function()
    it("is exactly {state = 'ready', code = 1, redirect = false}", function()
      local st = assert(connect():user_state())
      assert.are.equal("ready", st.state)
      assert.is_true(st.code == 1 or st.code == "1")
      assert.is_false(st.redirect)
      local keys = {}
      for k in pairs(st) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({ "code", "redirect", "state" }, keys)
    end)

    it("reads userstateid '7' (a string, as captured) as wophone, 7", function()
      local c = connect()
      control(fake, { override = "getuserstate", fields = { userstateid = "7", userstate = "7",
        userstatestr = "usWOphone" } })
      local st = assert(c:user_state())
      assert.are.equal("wophone", st.state)
      assert.are.equal(7, st.code)
    end)

    it("a userstateid that is no state code is 'protocol', naming the method and the field", function()
      local c = connect()
      control(fake, { override = "getuserstate", fields = { userstateid = "abc" } })
      local r = pack(c:user_state())
      assert.is_nil(r[1])
      assert.are.equal("protocol", r[3])
      assert.is_truthy(r[2]:find("user_state", 1, true) or r[2]:find("getuserstate", 1, true), r[2])
      assert.matches("userstateid", r[2], 1, true)
    end)

    it("onredirect = 'yes' (not a boolean) is 'protocol'", function()
      local c = connect()
      control(fake, { override = "getuserstate", fields = { onredirect = "yes" } })
      local r = pack(c:user_state())
      assert.is_nil(r[1])
      assert.are.equal("protocol", r[3])
    end)
  end)

  describe("set_user_state", function()
    it("{state = 'off'} sends setuserstate {userstateid = 3}; the userstate event follows", function()
      local c = connect()
      local seen = record(c, "userstate")
      assert.is_true(c:set_user_state { state = "off" })
      assert.is_true(eventually(function() return first(seen, "userstate") end), "no userstate event")
      local ev = first(seen, "userstate")
      assert.are.equal("off", ev.state)
      assert.are.equal(3, ev.code)
      assert.is_false(ev.redirect)
      assert.are.equal(3, last_request(fake, "setuserstate").params.userstateid)
    end)

    it("lunch outside the call-center is refused: 'not_settable'", function()
      local r = pack(connect():set_user_state { state = "lunch" })
      assert.is_nil(r[1])
      assert.are.equal("string", type(r[2]))
      assert.are.equal("not_settable", r[3])
    end)

    it("lunch with a description inside sends lunchreasonmsg (§5.3)", function()
      restart { users = { { login = "Peter", password = "123", name = "Петр", userid = PETER_ID,
        oncallcenter = true } } }
      assert.is_true(connect():set_user_state { state = "lunch", description = "Обед" })
      local p = last_request(fake, "setuserstate").params
      assert.are.equal(2, p.userstateid)
      assert.are.equal("Обед", p.lunchreasonmsg)
      assert.is_nil(p.description) -- not a wire field (§15)
    end)
  end)

  describe("call-center", function()
    it("callcenter_enter() sends setuserstate {oncallcenter = true} and is true", function()
      local c = connect()
      assert.is_false(c:callcenter_inside())
      assert.is_true(c:callcenter_enter())
      assert.is_true(last_request(fake, "setuserstate").params.oncallcenter)
      assert.is_true(c:callcenter_inside())
    end)

    it("with every licence taken, callcenter_enter() is false, msg, 'license'", function()
      restart { licenses = 1, users = {
        { login = "Peter", password = "123", name = "Петр", userid = PETER_ID },
        { login = "Ivan", password = "456", name = "Иван", oncallcenter = true },
      } }
      local c = connect()
      local r = pack(c:callcenter_enter())
      assert.is_false(r[1])
      assert.are.equal("string", type(r[2]))
      assert.are.equal("license", r[3])
      assert.is_false(c:callcenter_inside())
    end)

    it("callcenter_exit() is true; the callcenter event fires with {inside = …}", function()
      local c = connect()
      local seen = record(c, "callcenter")
      assert.is_true(c:callcenter_enter())
      assert.is_true(eventually(function() return #seen >= 1 end), "no callcenter event on enter")
      assert.are.same({ inside = true }, seen[1].ev)
      assert.is_true(c:callcenter_exit())
      assert.is_true(eventually(function() return seen[#seen].ev.inside == false end),
        "no callcenter event on exit")
      assert.are.same({ inside = false }, seen[#seen].ev)
      assert.is_false(c:callcenter_inside())
      assert.is_false(last_request(fake, "setuserstate").params.oncallcenter)
    end)
  end)

  describe("line_state", function()
    it("is 'ready', 4", function()
      assert.are.same({ n = 2, "ready", 4 }, pack(connect():line_state()))
    end)

    it("a linestatechanged without fields makes the client ask: linestate {commutated, 0x20}", function()
      local c = connect()
      local seen = record(c, "linestate")
      local asked = #requests(fake, "getextendedlineinfo")
      control(fake, { line = "lsCommutated", user = "Peter" })
      assert.is_true(eventually(function() return first(seen, "linestate") end), "no linestate event")
      assert.are.same({ state = "commutated", code = 0x20 }, first(seen, "linestate"))
      assert.is_true(#requests(fake, "getextendedlineinfo") > asked)
    end)
  end)

  describe("user_info", function()
    it("returns at once what getmyuserinfo and loginresult give, without rights", function()
      local c = connect()
      local t0 = now()
      local info = assert(c:user_info())
      assert.is_true(now() - t0 < 1)
      assert.are.equal(PETER_ID, info.id)
      assert.are.equal("Петр", info.name)
      assert.are.equal("Peter", info.login)
      assert.is_true(info.isoperator)
      assert.is_nil(info.rights)
      assert.are.same({}, requests(fake, "getcurrentuserfullinfo"))
    end)
  end)

  describe("our extensions are never sent to a server that did not announce them", function()
    local calls = {
      { "set_busy_in_external_task", "cc_setbusyinexternaltask", function(c) return c:set_busy_in_external_task() end },
      { "set_free_in_external_task", "cc_setfreeinexternaltask", function(c) return c:set_free_in_external_task() end },
      { "check_busy_in_external_task", "cc_checkbusyinexternaltask",
        function(c) return c:check_busy_in_external_task() end },
      { "set_task_active", "tm_settaskactive",
        function(c) return c:set_task_active { tasktype = "call", idtask = "x", active = true } end },
      { "set_confirm_result", "tm_setconfirmresult", function(c) return c:set_confirm_result("ok") end },
      { "set_confirm_usage", "tm_setconfirmusage", function(c) return c:set_confirm_usage(true) end },
    }
    for _, k in ipairs(calls) do
      local lua_name, wire, call = k[1], k[2], k[3]
      it(lua_name .. "() is nil, msg, 'unsupported' at once, and sends nothing", function()
        local c = connect()
        local t0 = now()
        local r = pack(call(c))
        assert.is_true(now() - t0 < 1, "took " .. (now() - t0) .. " s")
        assert.is_nil(r[1])
        assert.are.equal("string", type(r[2]))
        assert.are.equal("unsupported", r[3])
        assert.are.same({}, requests(fake, wire))
      end)
    end

    it("a whole session sends none of their names", function()
      local c = connect()
      c:on("tminterfaceconfirm", function() end)
      c:user_info()
      for _, k in ipairs(calls) do k[3](c) end
      c:user_state()
      for _, r in ipairs(requests(fake)) do
        for _, name in ipairs(EXTENSIONS) do assert.are_not.equal(name, r.method:lower()) end
        assert.is_nil(r.method:lower():find("^tminterface"), r.method)
        if r.method == "subscribeevent" and type(r.params.eventmethod) == "table" then
          for _, e in ipairs(r.params.eventmethod) do assert.is_nil(e:lower():find("^tminterface"), e) end
        end
      end
    end)

    it("the wire option maps one to a name of the user's: sent, and the refusal is 'server'", function()
      local c = connect { wire = { set_busy_in_external_task = "crm_busy" } }
      local r = pack(c:set_busy_in_external_task())
      assert.is_true(r[1] == false or r[1] == nil)
      assert.are.equal("server", r[3])
      assert.are.equal(1, #requests(fake, "crm_busy"))
      assert.are.same({}, requests(fake, "cc_setbusyinexternaltask"))
    end)
  end)

  describe("task prompts (dlgcard_* events)", function()
    local PROMPT = { idtask = TASK, idproject = "P-1", taskname = "Прозвон клиентов", taskcode = "T-1",
      idlist = "L-1", idinlist = 67, number = "120151112", textb64 = CARD_B64 }

    local function subscribed(name)
      for _, r in ipairs(requests(fake, "subscribeevent")) do
        local m = r.params.eventmethod
        if m == name or (type(m) == "table" and m[1] == name) then return true end
      end
      return false
    end

    it("are subscribed as the group dlgcard, one name per subscribeevent (§2.5)", function()
      local c = connect()
      c:on("tminterfaceconfirm", function() end)
      assert.is_true(eventually(function() return subscribed("dlgcard") end), "dlgcard not subscribed")
      for _, r in ipairs(requests(fake, "subscribeevent")) do
        assert.are.equal("table", type(r.params.eventmethod))
        assert.are.equal(1, #r.params.eventmethod, json_encode(r.params.eventmethod))
      end
    end)

    it("dlgcard_showconfirm reaches on('tminterfaceconfirm') and on(121) as the event table", function()
      local c = connect()
      local seen = record(c, "tminterfaceconfirm", 121)
      assert.is_true(eventually(function() return subscribed("dlgcard") end), "dlgcard not subscribed")
      control(fake, { event = "dlgcard_showconfirm", user = "Peter", payload = PROMPT })
      assert.is_true(eventually(function() return #seen >= 2 end), "handlers not called")
      for _, s in ipairs(seen) do
        local ev = s.ev
        assert.are.equal(121, ev.id)
        assert.are.equal("tminterfaceconfirm", ev.name)
        assert.are.equal(TASK, ev.idtask)
        assert.are.equal(67, ev.idinlist)
        assert.are.equal("120151112", ev.number)
        assert.are.equal("Карточка", ev.text)
      end
    end)

    it("with confirm usage off, the prompt's automatic answer is not sent (unannounced)", function()
      local c = connect()
      local seen = record(c, "tminterfaceconfirm")
      assert.is_true(eventually(function() return subscribed("dlgcard") end), "dlgcard not subscribed")
      control(fake, { event = "dlgcard_showconfirm", user = "Peter", payload = PROMPT })
      assert.is_true(eventually(function() return #seen >= 1 end), "handler not called")
      oktell.sleep(0.2)
      assert.are.same({}, requests(fake, "tm_setconfirmresult"))
    end)

    it("dlgcard_showreserve is 122 tminterfacereserve", function()
      local c = connect()
      local seen = record(c, 122)
      assert.is_true(eventually(function() return subscribed("dlgcard") end), "dlgcard not subscribed")
      control(fake, { event = "dlgcard_showreserve", user = "Peter", payload = PROMPT })
      assert.is_true(eventually(function() return #seen >= 1 end), "handler not called")
      assert.are.equal(122, seen[1].ev.id)
      assert.are.equal("tminterfacereserve", seen[1].ev.name)
      assert.are.equal("Карточка", seen[1].ev.text)
    end)

    it("dlgcard_closeall is 123 tminterfaceclose; wait() returns it", function()
      local c = connect()
      c:on("tminterfaceclose", function() end)
      assert.is_true(eventually(function() return subscribed("dlgcard") end), "dlgcard not subscribed")
      control(fake, { event = "dlgcard_closeall", user = "Peter", payload = { idtask = TASK } }, true)
      local ev, msg = c:wait("tminterfaceclose", 2)
      assert.is_table(ev, msg)
      assert.are.equal(123, ev.id)
      assert.are.equal("tminterfaceclose", ev.name)
      assert.are.equal(TASK, ev.idtask)
    end)
  end)

  it("a userstatechanged with a fresh uuid qid is an event, not a reply", function()
    local c = connect()
    local seen = record(c, "userstate")
    control(fake, { event = "userstatechanged", user = "Peter", payload = {
      userlogin = "Peter", userid = PETER_ID, userstateid = "5", userstate = "5", userstatestr = "usFullbusy",
      oncallcenter = false, onlunch = false, onredirect = false } })
    assert.is_true(eventually(function() return first(seen, "userstate") end), "no userstate event")
    local ev = first(seen, "userstate")
    assert.are.equal("fullbusy", ev.state)
    assert.are.equal(5, ev.code)
    -- the requests still get their own replies
    assert.are.equal("ready", assert(c:user_state()).state)
  end)

  it("trace sees every frame in order, secrets masked", function()
    local pw = "Пароль7"
    restart { users = { { login = "Peter", password = pw, name = "Петр", userid = PETER_ID } } }
    local frames = {}
    local c = connect { password = pw, trace = function(dir, frame)
      frames[#frames + 1] = { dir = dir, text = type(frame) == "string" and frame or json_encode(frame) }
    end }
    assert(c:user_state())
    local function find(dir, pattern, from)
      for i = from or 1, #frames do
        if frames[i].dir == dir and frames[i].text:find(pattern) then return i end
      end
    end
    for _, f in ipairs(frames) do
      assert.is_truthy(f.dir == ">" or f.dir == "<", f.dir)
      assert.is_nil(f.text:find(("%x"):rep(32)), f.text)
      assert.is_nil(f.text:find(pw, 1, true), f.text)
      assert.is_nil(f.text:lower():find("\\u041f\\u0430", 1, true), f.text) -- "Па", escaped
    end
    local ping = assert(find(">", '"ping"'), "no ping traced")
    local pong = assert(find("<", '"pingresult"', ping), "no ping reply traced")
    local login = assert(find(">", '"login"', pong), "no login traced")
    assert(find("<", '"loginresult"', login), "no login reply traced")
    assert.matches('"Password"%s*:%s*"%*%*%*"', frames[login].text)
    assert.matches('"password"%s*:%s*"%*%*%*"', frames[login].text)
  end)

  it("a dropped connection: disconnect, then reconnect, then it works again", function()
    local c = connect()
    local seen = record(c, "disconnect", "reconnect")
    control(fake, { drop = "Peter" })
    assert.is_true(eventually(function() return first(seen, "reconnect") end, 5), "no reconnect event")
    assert.are.equal("disconnect", seen[1].name)
    assert.are.equal("reconnect", seen[2].name)
    assert.are.equal("ready", assert(c:user_state()).state)
    assert.are.equal(2, #requests(fake, "login"))
  end)

  it("close() is true, and true again", function()
    local c = connect()
    assert.is_true(c:close())
    assert.is_true(c:close())
  end)
end)
