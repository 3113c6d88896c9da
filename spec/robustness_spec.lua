-- Wrong types from Lua (house rules, issues 2-4): every oktell.core and
-- oktell.emucore function and every method of the conn and emulator
-- userdata, fed values of every kind. Each call must raise "bad argument #n
-- to 'name' (reason)" or return a value / nil, message, code; never crash,
-- never cut a string silently, never answer with an empty reason or the
-- code "ok". Run under `make check` these also catch out-of-bounds reads
-- and undefined behaviour in the binding and the core.
local core = require "oktell.core"
local emucore = require "oktell.emucore"
local emulator = require "oktell.emulator"
local E = require "emu_helper"
local helper = require "helper"

local CODES = {
  timeout = true, closed = true, refused = true, auth = true, license = true,
  not_settable = true, bad_xml = true, protocol = true, server = true,
  nomem = true, invalid = true, tls = true,
}

local deep = {}
do
  local t = deep
  for _ = 1, 10000 do
    local n = {}
    t[1] = n
    t = n
  end
end
local cyclic = {}
cyclic.self = cyclic
local cyclic_list = {}
cyclic_list[1] = cyclic_list

-- name, value
local VALUES = {
  { "nil", nil }, { "true", true }, { "false", false }, { "0", 0 }, { "-1", -1 },
  { "1.5", 1.5 }, { "nan", 0 / 0 }, { "inf", math.huge }, { "-inf", -math.huge },
  { "1e300", 1e300 }, { "mininteger", math.mininteger or -2 ^ 63 },
  { "maxinteger", math.maxinteger or 2 ^ 53 }, -- 5.3+; else the largest exact double
  { "empty string", "" }, { "NUL string", "x\0y" }, { "invalid UTF-8", "\255\254\192" },
  { "{}", {} }, { "list", { 1, 2 } }, { "deep table", deep }, { "cyclic table", cyclic },
  { "cyclic list", cyclic_list }, { "function", print }, { "thread", coroutine.create(function() end) },
  { "userdata", io.stdout }, { "NaN field", { a = 0 / 0 } }, { "NaN item", { 0 / 0 } },
  { "invalid UTF-8 key", { ["\255"] = 1 } }, { "NUL key", { ["a\0b"] = 1 } },
  { "float key", { [1.5] = 1 } }, { "boolean key", { [true] = 1 } },
}

-- Call f(...) and check the outcome is one of the allowed shapes; returns
-- the packed results.
local function check(what, f, ...)
  local r = helper.pack(pcall(f, ...))
  if not r[1] then
    assert.is_string(r[2], what)
    assert.matches("bad argument #%d+ to '[^']+' %(.+%)", r[2], nil, false, what .. ": " .. r[2])
  elseif r[2] == nil and r.n >= 3 then
    assert.is_string(r[3], what)
    assert.is_true(#r[3] > 0, what .. ": empty message")
    assert.is_true(CODES[r[4]] == true, what .. ": code " .. tostring(r[4]))
  end
  return r
end

local function closeit(r)
  if r[1] and type(r[2]) == "userdata" then r[2]:close() end
end

describe("robustness: oktell.core functions and wrong types", function()
  it("every function raises 'bad argument' or returns nil, message, code", function()
    for _, v in ipairs(VALUES) do
      local n, x = v[1], v[2]
      check("now " .. n, core.now, x)
      check("states " .. n, core.states, x)
      check("poll #1 " .. n, core.poll, x, 0)
      if x ~= nil and (type(x) ~= "number" or x ~= x or x <= 0) then -- nil or > 0 would wait
        check("poll #2 " .. n, core.poll, {}, x)
      end
      check("xml_decode " .. n, core.xml_decode, x)
      check("xml_parse " .. n, core.xml_parse, x)
      check("xml_encode #1 " .. n, core.xml_encode, x, {}, false)
      check("xml_encode #2 " .. n, core.xml_encode, "userstate", x, false)
      check("xml_encode #3 " .. n, core.xml_encode, "userstate", { state = 1 }, x)
      for _, k in ipairs(core.xml_kinds) do
        check("xml_encode " .. k .. " " .. n, core.xml_encode, k,
          { state = x, code = x, id = x, text = x, name = x, result = x, active = x,
            number = x, type = x, idtask = x, rights = x, role = x }, false)
      end
      check("xml_build #1 " .. n, core.xml_build, x, false)
      check("xml_build value " .. n, core.xml_build,
        { items = { { tag = "property_simple", key = "k", value = x } } }, x)
      check("xml_build fields " .. n, core.xml_build,
        { version = x, name = x, items = { { tag = x, key = x, text = x, items = x } } })
      closeit(check("connect " .. n, core.connect, x))
      for _, f in ipairs { "urls", "url", "login", "password", "timeout", "open_timeout",
                           "ping", "cafile", "verify", "subscribe", "trace" } do
        local cfg = { url = "ws://127.0.0.1:1", login = "a", password = "b" }
        cfg[f] = x
        closeit(check("connect." .. f .. " " .. n, core.connect, cfg))
      end
      closeit(check("connect.urls[2] " .. n, core.connect,
        { urls = { "ws://127.0.0.1:1", x }, login = "a" }))
      closeit(check("connect.subscribe[1] " .. n, core.connect,
        { url = "ws://127.0.0.1:1", login = "a", subscribe = { x } }))
      closeit(check("emu_start " .. n, emucore.start, x))
      for _, f in ipairs { "host", "port", "licenses", "users", "tasks", "max_message" } do
        closeit(check("emu_start." .. f .. " " .. n, emucore.start, { [f] = x }))
      end
      closeit(check("emu_start.users[1] " .. n, emucore.start, { users = { x } }))
      for _, f in ipairs { "login", "password", "line", "isoperator", "redirect_number" } do
        closeit(check("emu_start user." .. f .. " " .. n, emucore.start,
          { users = { { login = "u", [f] = x } } }))
      end
    end
  end)

  it("every conn and emulator method does the same, open and closed", function()
    local c = assert(core.connect { url = "ws://127.0.0.1:1", login = "a", password = "b" })
    local e = assert(emucore.start {})
    local cm = getmetatable(c).__index
    local em = getmetatable(e).__index
    for _, v in ipairs(VALUES) do
      local n, x = v[1], v[2]
      for _, m in ipairs { "pollfd", "events", "timeout", "step", "state", "next_event", "trace" } do
        check("conn:" .. m .. " self " .. n, cm[m], x)
        check("conn:" .. m .. " arg " .. n, cm[m], c, x)
      end
      check("conn:request method " .. n, cm.request, c, x)
      check("conn:request params " .. n, cm.request, c, "getuserstate", x)
      check("conn:request timeout " .. n, cm.request, c, "getuserstate", {}, x)
      for _, m in ipairs { "port", "sessions", "control", "stop", "close" } do
        if x ~= nil then check("emulator:" .. m .. " self " .. n, em[m], x) end
      end
      check("emulator:control cmd " .. n, em.control, e, x)
      for _, cmd in ipairs { "offer", "finish", "enqueue", "set_line", "lock_task",
                             "unlock_task", "snapshot", "pause", "drop", "nonsense" } do
        check("emulator:control " .. cmd .. " " .. n, em.control, e, cmd, x)
        for _, f in ipairs { "user", "mode", "task", "number", "text", "idinlist",
                             "outcome", "state", "editor", "on" } do
          check("emulator:control " .. cmd .. "." .. f .. " " .. n, em.control, e, cmd,
            { user = "Peter", mode = "notify", [f] = x })
        end
      end
    end
    c:close()
    e:stop()
    for _, m in ipairs { "step", "state", "request", "next_event" } do
      local r = check("closed conn:" .. m, cm[m], c, "getuserstate")
      assert.same({ true, nil, "connection closed", "closed" }, { r[1], r[2], r[3], r[4] })
    end
    for _, m in ipairs { "port", "sessions", "control" } do
      local r = check("stopped emulator:" .. m, em[m], e, "snapshot", { user = "Peter" })
      assert.same({ true, nil, "emulator stopped", "closed" }, { r[1], r[2], r[3], r[4] })
    end
    assert.is_true(c:close())
    assert.is_true(e:stop())
  end)

  it("a method called on the wrong userdata raises naming the type", function()
    local c = assert(core.connect { url = "ws://127.0.0.1:1", login = "a", password = "b" })
    local e = assert(emucore.start {})
    local ok, err = pcall(c.step, e)
    assert.is_false(ok)
    assert.matches("oktell.conn expected", err, 1, true)
    ok, err = pcall(e.control, c, "snapshot")
    assert.is_false(ok)
    assert.matches("oktell.emulator expected", err, 1, true)
    c:close()
    e:stop()
  end)
end)

describe("robustness: regressions", function()
  -- core.poll read ev[1] of a one-byte "" (ASan: heap-buffer-overflow).
  it("poll reads no further than the events string", function()
    for _, ev in ipairs { "", "r", "w", "rw", "x" } do
      assert.is_table(core.poll({ 0, ev }, 0))
    end
  end)

  -- A non-integer descriptor was polled as fd 0 (stdin).
  it("poll refuses a descriptor that is not an integer", function()
    for _, fd in ipairs { "abc", 1.5, true, {} } do
      local ok, err = pcall(core.poll, { fd, "r" }, 0)
      assert.is_false(ok)
      assert.matches("bad argument #1 to '[^']+' %(descriptor", err)
    end
  end)

  -- A negative __len wrote subs[-1] on the C stack. (The C side honours
  -- __len on 5.1 and LuaJIT too: compat-5.3's luaL_len.)
  it("connect refuses a 'subscribe' list of negative length", function()
    local bad = setmetatable({}, { __len = function() return -1 end })
    local ok, err = pcall(core.connect, { url = "ws://127.0.0.1:1", login = "a", subscribe = bad })
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'connect' (", err, 1, true)
    assert.matches("subscribe", err, 1, true)
  end)

  -- NaN / inf / invalid UTF-8 keys came back as nil, "ok", "ok" (or a wrong
  -- reason), NUL keys were cut at the NUL.
  it("a table JSON cannot hold is refused with its reason and code 'invalid'", function()
    local cases = {
      { { a = 0 / 0 }, "finite" }, { { 0 / 0 }, "finite" }, { { a = math.huge }, "finite" },
      { { ["\255"] = 1 }, "UTF-8" }, { { ["a\0b"] = 1 }, "NUL" },
      { { { { x = { -math.huge } } } }, "finite" },
    }
    for _, case in ipairs(cases) do
      local doc = { items = { { tag = "property_simple", key = "k", value = "v", extra = case[1] } } }
      local v, msg, code = core.xml_build(doc)
      assert.is_nil(v)
      assert.equal("invalid", code)
      assert.matches(case[2], msg, 1, true)
      v, msg, code = core.xml_encode("userstate", { state = 1, x = case[1] })
      assert.is_nil(v)
      assert.equal("invalid", code)
      assert.matches(case[2], msg, 1, true)
      local ok, err = pcall(emucore.start, { users = case[1] })
      assert.is_false(ok)
      assert.matches("bad argument #1 to '[^']+' %(", err)
      assert.matches(case[2], err, 1, true)
    end
  end)

  -- The codec turned any float into a long long before checking its range
  -- (undefined behaviour for 1e300; `make check` traps float-cast-overflow).
  it("xml_encode and xml_build refuse a float beyond the integers", function()
    for _, x in ipairs { 1e300, -1e300, 2 ^ 63, -2 ^ 64 } do
      for _, k in ipairs(core.xml_kinds) do
        local v, msg, code = core.xml_encode(k, { state = x, code = x, id = x, result = x,
          active = x, text = x, idtask = "t", number = x, name = x })
        assert.is_nil(v, k)
        assert.is_string(msg)
        assert.equal("invalid", code)
      end
      local v, _, code = core.xml_build { items = { { tag = "property_simple", key = "k", value = x } } }
      assert.is_nil(v)
      assert.equal("invalid", code)
    end
    -- integral floats in range are still written as integers
    local s = assert(core.xml_build { items = { { tag = "property_simple", key = "k", value = 3.0 } } })
    assert.matches('value="3"', s, 1, true)
  end)

  -- NUL bytes cut credentials, URLs and method names at the NUL: a
  -- password "123\0anything" logged in as "123".
  it("NUL bytes in credentials, URLs and names are refused, not cut", function()
    local good = { url = "ws://127.0.0.1:1", login = "Peter", password = "123" }
    for _, f in ipairs { "url", "login", "password", "cafile" } do
      local cfg = {}
      for k, v in pairs(good) do cfg[k] = v end
      cfg[f] = (cfg[f] or "/etc/ssl/certs/ca.pem") .. "\0junk"
      local ok, err = pcall(core.connect, cfg)
      assert.is_false(ok, f)
      assert.matches("bad argument #1 to 'connect' (", err, 1, true)
      assert.matches(f, err, 1, true)
      assert.matches("NUL", err, 1, true)
    end
    local ok, err = pcall(core.connect, { urls = { "ws://127.0.0.1:1", "ws://127.0.0.1:2\0x" }, login = "a" })
    assert.is_false(ok)
    assert.matches("NUL", err, 1, true)
    ok, err = pcall(core.connect, { url = "ws://127.0.0.1:1", login = "a", subscribe = { "userstatechanged\0x" } })
    assert.is_false(ok)
    assert.matches("NUL", err, 1, true)
    local c = assert(core.connect(good))
    ok, err = pcall(c.request, c, "getuserstate\0x")
    assert.is_false(ok)
    assert.matches("bad argument #2 to '[^']+' %(.*NUL", err)
    c:close()
    local e = assert(emucore.start {})
    ok, err = pcall(e.control, e, "snapshot\0x", { user = "Peter" })
    assert.is_false(ok)
    assert.matches("bad argument #2 to '[^']+' %(.*NUL", err)
    e:stop()
  end)

  it("the emulator refuses a password cut by a NUL byte", function()
    local emu = emulator.start { port = 0 }
    local c = E.try_connect(emu, "Peter", "123")
    assert.truthy(c)
    c:close()
    local ok, c2 = pcall(E.try_connect, emu, "Peter", "123\0anything")
    if ok and c2 then c2:close() end
    assert.is_false(ok)
    emu:stop()
  end)

  -- A URL that fails before any request (a bad host) closed the session
  -- with memset(NULL, 0, 0) (UBSan: null pointer passed as argument 1).
  it("a URL that fails at once ends with 'refused' or 'invalid', cleanly", function()
    for _, url in ipairs { "ws://bad host/", "ws://127.0.0.1:99999/", "ws://[::1/" } do
      local c, msg, code = core.connect { url = url, login = "a", password = "b" }
      if c then
        local ev = c:next_event()
        assert.is_table(ev, url)
        assert.equal("closed", ev.type)
        assert.truthy(ev.code == "refused" or ev.code == "invalid", ev.code)
        assert.is_string(ev.message)
        c:close()
      else
        assert.is_string(msg)
        assert.truthy(CODES[code])
      end
    end
  end)
end)

describe("robustness: sizes", function()
  it("a 20 MB document is bad_xml at once", function()
    local big = "<oktellcommapper>" .. string.rep("a", 20 * 1024 * 1024)
    local t0 = core.now()
    for _, f in ipairs { core.xml_decode, core.xml_parse } do
      local v, msg, code = f(big)
      assert.is_nil(v)
      assert.equal("bad_xml", code)
      assert.matches("OKT_MAX_XML_BYTES", msg, 1, true)
    end
    assert.is_true(core.now() - t0 < 2)
  end)

  it("deep and cyclic tables are refused, not followed", function()
    for _, t in ipairs { deep, cyclic, cyclic_list } do
      local v, msg, code = core.xml_build { items = { { tag = "property_set", key = "k", x = t } } }
      assert.is_nil(v)
      assert.equal("invalid", code)
      assert.matches("nested deeper", msg, 1, true)
    end
  end)

  it("a request too large for the server ends that session only", function()
    local emu = emulator.start { port = 0, max_message = 4096 }
    local a = E.connect(emu)
    local b = E.connect(emu)
    local id = assert(a.conn:request("getuserstate", { pad = string.rep("x", 8192) }))
    local closed = a:closed(3)
    assert.is_table(closed)
    assert.truthy(closed.code == "closed" or closed.code == "protocol", closed.code)
    assert.is_number(id)
    local r = assert(b:call("getuserstate"))
    assert.equal("1", r.userstateid) -- served (a real server's reply has no result)
    a:close()
    b:close()
    emu:stop()
  end)
end)
