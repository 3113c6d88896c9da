-- The contract of docs/API.md, promise by promise (§0-§5). Every expected
-- value comes from API.md, docs/EMULATOR.md or the reference's samples in
-- spec/fixtures (read with an independent oracle where a table is large),
-- never from what the implementation printed.
local oktell = require "oktell"
local emulator = require "oktell.emulator"
local helper = require "helper"
local xml = oktell.xml

local with_emulator, connect, fixture = helper.with_emulator, helper.connect, helper.fixture

local TASK = "0f398eb4-5d78-446c-84f4-6892ab72751b"
local TASK_NAME = "Прозвон клиентов"
local LOCK_TEXT = "Задачу монопольно редактирует Сидоров Иван"

-- Return values as a packed table: shapes are compared with their length.
local pack = helper.pack
local shl, shr, band, bor = helper.shl, helper.shr, helper.band, helper.bor

-- `nil, message, code` exactly.
local function assert_fail(code, t)
  assert.are.equal(3, t.n, "three values")
  assert.is_nil(t[1])
  assert.is_string(t[2])
  assert.are_not.equal("", t[2])
  assert.are.equal(code, t[3])
end

-- Base64 (RFC 4648) both ways, for the event text oracle.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64decode(s)
  local out, bits, n = {}, 0, 0
  for c in s:gmatch("[^=%s]") do
    bits = bor(shl(band(bits, 0xFFFF), 6), B64:find(c, 1, true) - 1)
    n = n + 6
    if n >= 8 then
      n = n - 8
      out[#out + 1] = string.char(band(shr(bits, n), 255))
    end
  end
  return table.concat(out)
end

-- UTF-8 -> UTF-16 (with an optional BOM) and UTF-16LE -> UTF-8.
local function utf16(s, be) return helper.utf16(s, be, true) end

local function from_utf16le(s)
  local out, i = {}, 1
  while i < #s do
    local u = bor(s:byte(i), shl(s:byte(i + 1), 8))
    i = i + 2
    if u >= 0xD800 and u < 0xDC00 then
      local l = bor(s:byte(i), shl(s:byte(i + 1), 8))
      i = i + 2
      u = 0x10000 + shl(u - 0xD800, 10) + (l - 0xDC00)
    end
    out[#out + 1] = helper.utf8_char(u)
  end
  return table.concat(out)
end

-- The userinfo sample read with Lua patterns (not the codec): its rights.
local function sample_rights()
  local rights, titles = {}, {}
  for k, v, t in fixture("userinfo.xml"):gmatch(
      '<property_cdata key="(%w+)" value="(%d)"><!%[CDATA%[(.-)%]%]></property_cdata>') do
    rights[k] = v == "1"
    titles[k] = t
  end
  return rights, titles
end

-- The userinfo sample as API.md §2's "userinfo" kind, field by field.
local function sample_userinfo()
  local rights, titles = sample_rights()
  return {
    id = "da803f01-ea77-40fa-bc9d-e2efb36fd5a8", type = 1, type_name = "utUser", name = "Петр",
    isoperator = true, group = { id = "c4e3b424-3048-4cce-a2e4-033c532a7d99", name = "Программисты" },
    login = "Peter", password = "123",
    role = { id = "41fbf675-8f73-488e-83ca-c108b915f51d", name = "Администратор" },
    callerid = "", info = "", rights = rights, right_titles = titles,
  }
end

local SAMPLE_TEXT_B64 = fixture("event121.xml"):match('key="textb64"><!%[CDATA%[(.-)%]%]>')

local function sample_event(id, name)
  return {
    id = id, name = name, idtask = TASK, idproject = "ab37c6e6-e983-458a-8621-5e0921ade3d1",
    taskname = TASK_NAME, taskcode = "", idlist = "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410",
    idinlist = 67, number = "120151112", textb64 = SAMPLE_TEXT_B64, text = b64decode(SAMPLE_TEXT_B64),
  }
end

-- Two operators, one licence, the reference's task (API.md §5's shapes).
local function two_users(extra)
  local o = {
    licenses = 1,
    users = {
      { login = "Peter", password = "123", name = "Петр", isoperator = true, line = "ready",
        redirect_number = "100" },
      { login = "Ivan", password = "456", name = "Иван", isoperator = true, line = false },
    },
    tasks = { { id = TASK, name = TASK_NAME, type = "call", active = false } },
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local function lua_cmd(code)
  return "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='" .. helper.CPATH .. "' "
      .. helper.LUA .. " -e '" .. code .. "' 2>&1"
end

describe("API.md §1 state enums", function()
  local us, ls = oktell.userstate, oktell.linestate
  local USER = { disconnected = 0, ready = 1, lunch = 2, off = 3, fullbusy = 5, reserved = 6, wophone = 7 }
  local USER_REF = { usDisconnected = 0, usReady = 1, usLunch = 2, usOff = 3, usFullbusy = 5, usReserved = 6,
    usWOphone = 7 }
  local LINE = { disconnected = 0x1, off = 0x2, ready = 0x4, hookup = 0x8, incomingcall = 0x10,
    commutated = 0x20, wait = 0x40, flash = 0x80, waitdown = 0x100, listenbusy = 0x200, undefined = 0x400,
    reserved = 0x800, reservedbytask = 0x1000 }
  local LINE_REF = { lsDisconnected = 0x1, lsOff = 0x2, lsReady = 0x4, lsHookUp = 0x8, lsIncomingCall = 0x10,
    lsCommutated = 0x20, lsWait = 0x40, lsFlash = 0x80, lsWaitDown = 0x100, lsListenBusy = 0x200,
    lsUndefined = 0x400, lsReserved = 0x800, lsReservedByTask = 0x1000 }

  it("the examples of §1 hold exactly", function()
    assert.are.equal(1, us.ready)
    assert.are.equal(1, us.usReady)
    assert.are.equal("ready", us[1])
    assert.are.same({ n = 2, "ready", "usReady" }, pack(us.name(1)))
    assert.are.equal(4, ls.ready)
    assert.are.equal(4, ls.lsReady)
    assert.are.equal("commutated", ls[0x20])
  end)

  it("every user state: name -> code, reference name -> code, code -> name, name(code)", function()
    for name, code in pairs(USER) do
      assert.are.equal(code, us[name], name)
      assert.are.equal(name, us[code], code)
      assert.are.equal("integer", helper.int_type(us[name]))
    end
    for ref, code in pairs(USER_REF) do
      assert.are.equal(code, us[ref], ref)
      assert.are.same({ n = 2, us[code], ref }, pack(us.name(code)))
    end
  end)

  it("every line state: name -> code, reference name -> code, code -> name, name(code)", function()
    for name, code in pairs(LINE) do
      assert.are.equal(code, ls[name], name)
      assert.are.equal(name, ls[code], code)
    end
    for ref, code in pairs(LINE_REF) do
      assert.are.equal(code, ls[ref], ref)
      assert.are.same({ n = 2, ls[code], ref }, pack(ls.name(code)))
    end
  end)

  it("unknown codes and names give nil", function()
    for _, c in ipairs { -1, 4, 8, 100 } do
      assert.is_nil(us[c], c)
      assert.is_nil(us.name(c), c)
    end
    for _, c in ipairs { 0, 3, 0x2000, -4 } do
      assert.is_nil(ls[c], c)
      assert.is_nil(ls.name(c), c)
    end
    assert.is_nil(us.sleeping)
    assert.is_nil(ls.sleeping)
    assert.is_nil(us.name("sleeping"))
  end)

  it("a line value with several flags set gives nil", function()
    for _, v in ipairs { 0x6, 0x3, 0x24, 0x1001, 0x1FFF } do
      assert.is_nil(ls[v], v)
      assert.is_nil(ls.name(v), v)
    end
  end)

  it("both tables are read-only: assignment raises and changes nothing", function()
    assert.has_error(function() us.ready = 9 end)
    assert.has_error(function() us.brandnew = 9 end)
    assert.has_error(function() us[4] = "busy" end)
    assert.has_error(function() ls.ready = 9 end)
    assert.has_error(function() ls[0x6] = "both" end)
    assert.are.equal(1, us.ready)
    assert.is_nil(us.brandnew)
    assert.is_nil(us[4])
    assert.are.equal(4, ls.ready)
    assert.is_nil(ls[0x6])
  end)
end)

describe("API.md §2 oktell.xml", function()
  local KIND_OF = {
    ["userinfo.xml"] = "userinfo", ["getuserstate.xml"] = "userstate", ["setuserstate1.xml"] = "userstate",
    ["setuserstate2.xml"] = "userstate", ["linestate.xml"] = "linestate", ["settaskactive.xml"] = "settaskactive",
    ["settaskactiveresult.xml"] = "settaskactiveresult", ["confirmresult.xml"] = "confirmresult",
    ["event121.xml"] = "event", ["event122.xml"] = "event", ["event123.xml"] = "event",
  }
  local VALUE_OF = {
    ["userinfo.xml"] = sample_userinfo(),
    ["getuserstate.xml"] = { state = "ready", code = 1, redirect = false },
    ["setuserstate1.xml"] = { state = "lunch", code = 2, redirect = false, description = "Ушел на обед" },
    ["setuserstate2.xml"] = { state = "ready", code = 1, redirect = true },
    ["linestate.xml"] = { state = "ready", code = 4 },
    ["settaskactive.xml"] = { tasktype = "call", idtask = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", active = true },
    ["settaskactiveresult.xml"] = { success = false, errormessage = LOCK_TEXT },
    ["confirmresult.xml"] = { result = "ok" },
    ["event121.xml"] = sample_event(121, "tminterfaceconfirm"),
    ["event122.xml"] = sample_event(122, "tminterfacereserve"),
    ["event123.xml"] = { id = 123, name = "tminterfaceclose", idtask = TASK },
  }

  it("the oracle read the samples (45 rights, a Russian event text)", function()
    local rights, titles = sample_rights()
    local n = 0
    for _ in pairs(rights) do n = n + 1 end
    assert.are.equal(45, n)
    assert.are.equal("Расширенное рабочее место", titles.extwp)
    assert.are.equal("Вы зарезервированы на выполнение задачи", b64decode(SAMPLE_TEXT_B64):match("^[^\n]+"))
  end)

  for name, kind in pairs(KIND_OF) do
    it("decode(" .. name .. ") gives exactly value, kind (UTF-8 text declared utf-16)", function()
      assert.are.same({ n = 2, VALUE_OF[name], kind }, pack(xml.decode(fixture(name))))
    end)
    it("decode(" .. name .. ") from UTF-16LE and UTF-16BE with a BOM", function()
      assert.are.same({ n = 2, VALUE_OF[name], kind }, pack(xml.decode(utf16(fixture(name)))))
      assert.are.same({ n = 2, VALUE_OF[name], kind }, pack(xml.decode(utf16(fixture(name), true))))
    end)
    it("decode(encode(" .. kind .. ", v)) == v for " .. name .. ", in both encodings", function()
      local v = VALUE_OF[name]
      assert.are.same({ n = 2, v, kind }, pack(xml.decode(xml.encode(kind, v))))
      assert.are.same({ n = 2, v, kind }, pack(xml.decode(xml.encode(kind, v, { encoding = "utf-8" }))))
      assert.are.same({ n = 2, v, kind }, pack(xml.decode(xml.encode(kind, v, { encoding = "utf-16" }))))
    end)
  end

  it("encode writes UTF-8 with encoding=\"utf-8\" and the root version 80710 by default", function()
    local s = xml.encode("linestate", { state = "ready" })
    assert.are.equal("string", type(s))
    assert.matches('^<%?xml[^>]*encoding="utf%-8"', s)
    assert.matches('<oktellcommapper[^>]* version="80710"', s)
    assert.are.equal(s, xml.encode("linestate", { state = "ready" }, { encoding = "utf-8" }))
    assert.is_true(helper.utf8_len(xml.encode("userstate", { state = "lunch", description = "Ушел на обед" })) ~= nil)
  end)

  it("encoding = \"utf-16\" writes UTF-16LE with a BOM and encoding=\"utf-16\"", function()
    local s = xml.encode("userstate", { state = "lunch", description = "Ушел на обед" }, { encoding = "utf-16" })
    assert.are.equal("\255\254", s:sub(1, 2))
    assert.are.equal(0, #s % 2)
    local text = from_utf16le(s:sub(3))
    assert.matches('^<%?xml[^>]*encoding="utf%-16"', text)
    assert.matches('<oktellcommapper[^>]* version="80710"', text)
    assert.truthy(text:find("Ушел на обед", 1, true))
  end)

  it("a state given by name gets its code, and the other way round", function()
    local cases = {
      { "userstate", { state = "off" }, { state = "off", code = 3 } },
      { "userstate", { code = 2 }, { state = "lunch", code = 2 } },
      { "userstate", { state = "usWOphone" }, { state = "wophone", code = 7 } },
      { "userstate", { state = "lunch", code = 2, redirect = true }, { state = "lunch", code = 2, redirect = true } },
      { "linestate", { state = "hookup" }, { state = "hookup", code = 8 } },
      { "linestate", { code = 0x1000 }, { state = "reservedbytask", code = 0x1000 } },
      { "linestate", { state = "lsIncomingCall" }, { state = "incomingcall", code = 0x10 } },
    }
    for _, c in ipairs(cases) do
      assert.are.same({ n = 2, c[3], c[1] }, pack(xml.decode(xml.encode(c[1], c[2]))))
    end
  end)

  it("every user and line state code survives encode/decode", function()
    for code = 0, 7 do
      local name = oktell.userstate[code]
      if name then
        assert.are.same({ state = name, code = code }, (xml.decode(xml.encode("userstate", { code = code }))))
      end
    end
    for bit = 0, 12 do
      local code = shl(1, bit)
      assert.are.same({ state = oktell.linestate[code], code = code },
        (xml.decode(xml.encode("linestate", { state = oktell.linestate[code] }))))
    end
  end)

  it("the other derived fields: event name <-> id, text <-> textb64, type_name from type", function()
    assert.are.same({ id = 122, name = "tminterfacereserve", idtask = "t" },
      (xml.decode(xml.encode("event", { name = "tminterfacereserve", idtask = "t" }))))
    assert.are.same({ id = 123, name = "tminterfaceclose", idtask = "t" },
      (xml.decode(xml.encode("event", { id = 123, idtask = "t" }))))
    local ev = xml.decode(xml.encode("event", { id = 121, idtask = "t", text = "Звонок на номер: 120151112" }))
    assert.are.equal("tminterfaceconfirm", ev.name)
    assert.are.equal("Звонок на номер: 120151112", ev.text)
    assert.are.equal("Звонок на номер: 120151112", b64decode(ev.textb64))
    local info = xml.decode(xml.encode("userinfo", { id = "u", login = "l", type = 1 }))
    assert.are.same({ id = "u", login = "l", type = 1, type_name = "utUser" }, info)
  end)

  it("settaskactive: wire 1 activates, 2 deactivates; text tasks", function()
    local s = xml.encode("settaskactive", { tasktype = "text", idtask = "i", active = false })
    assert.matches('key="active" value="2"', s)
    assert.matches('key="active" value="1"', xml.encode("settaskactive", { tasktype = "call", idtask = "i",
      active = true }))
    local two = fixture("settaskactive.xml"):gsub('key="active" value="1"', 'key="active" value="2"')
    assert.are.same({ tasktype = "call", idtask = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", active = false },
      (xml.decode(two)))
  end)

  it("confirmresult: wire 0/1/2 or the words, both decode", function()
    local words = { [0] = "ok", [1] = "skip", [2] = "delete" }
    for wire, word in pairs(words) do
      for _, v in ipairs { tostring(wire), word } do
        local s = fixture("confirmresult.xml"):gsub('key="result" value="0"', 'key="result" value="' .. v .. '"')
        assert.are.same({ n = 2, { result = word }, "confirmresult" }, pack(xml.decode(s)))
      end
      assert.are.same({ result = word }, (xml.decode(xml.encode("confirmresult", { result = word }))))
      assert.are.same({ result = word }, (xml.decode(xml.encode("confirmresult", { result = wire }))))
    end
  end)

  it("settaskactiveresult: errormessage may be nil", function()
    assert.are.same({ success = true }, (xml.decode(xml.encode("settaskactiveresult", { success = true }))))
    local s = fixture("settaskactiveresult.xml"):gsub("<property_cdata key=\"errormessage\">.-</property_cdata>", "")
    assert.are.same({ success = false }, (xml.decode(s)))
  end)

  it("userstate: description may be nil", function()
    local v = xml.decode(fixture("setuserstate2.xml"))
    assert.is_nil(v.description)
  end)

  it("ignores unknown elements and attributes (newer servers, stray markup)", function()
    assert.are.same({ result = "ok" }, (xml.decode(fixture("confirmresult.xml"))))
    local s = fixture("linestate.xml"):gsub('<property_simple key="state"',
      '<future x="1"><deep/></future><property_simple key="newfield" value="7" />'
      .. '<property_simple extra="y" key="state"')
    assert.are.same({ n = 2, { state = "ready", code = 4 }, "linestate" }, pack(xml.decode(s)))
  end)

  local REQUIRED = {
    { "userinfo.xml", '<property_simple key="id"[^>]*/>' },
    { "userinfo.xml", '<property_cdata key="login">.-</property_cdata>' },
    { "getuserstate.xml", '<property_simple key="state"[^>]*/>' },
    { "linestate.xml", '<property_simple key="state"[^>]*/>' },
    { "settaskactive.xml", '<property_simple key="tasktype"[^>]*/>' },
    { "settaskactive.xml", '<property_simple key="idtask"[^>]*/>' },
    { "settaskactive.xml", '<property_simple key="active"[^>]*/>' },
    { "settaskactiveresult.xml", '<property_simple key="success"[^>]*/>' },
    { "confirmresult.xml", '<property_simple key="result"[^>]*/>' },
    { "event121.xml", ' id="121"' },
    { "event121.xml", '<property_simple key="idtask"[^>]*/>' },
    { "event123.xml", '<property_simple key="idtask"[^>]*/>' },
  }
  for _, r in ipairs(REQUIRED) do
    it("bad_xml when a required field is missing: " .. r[1] .. " without " .. r[2], function()
      local s, n = fixture(r[1]):gsub(r[2], "")
      assert.are.equal(1, n)
      assert_fail("bad_xml", pack(xml.decode(s)))
    end)
  end

  it("bad_xml when a code is not a known state (including several line flags)", function()
    local us4 = fixture("getuserstate.xml"):gsub('value="1" name="usReady"', 'value="4"')
    assert_fail("bad_xml", pack(xml.decode(us4)))
    assert_fail("bad_xml", pack(xml.decode((fixture("linestate.xml"):gsub('value="4" name="lsReady"', 'value="6"')))))
    assert_fail("bad_xml", pack(xml.decode((fixture("linestate.xml"):gsub('value="4" name="lsReady"', 'value="0"')))))
  end)

  it("bad_xml for what is not an oktellcommapper document", function()
    for _, s in ipairs { "", "not xml", "<a/>", "<oktellcommapper version=\"80710\"><data", "\255\254<\0" } do
      assert_fail("bad_xml", pack(xml.decode(s)))
      assert_fail("bad_xml", pack(xml.parse(s)))
    end
  end)

  it("encode misuse raises naming the argument: state and code disagree, unknown names, bad kinds", function()
    local function raises(pat, f)
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.matches(pat, tostring(err))
    end
    raises("bad argument #2 to 'encode'", function() xml.encode("userstate", { state = "off", code = 2 }) end)
    raises("bad argument #2 to 'encode'", function() xml.encode("linestate", { state = "ready", code = 8 }) end)
    raises("bad argument #2 to 'encode'", function() xml.encode("userstate", { state = "sleeping" }) end)
    raises("bad argument #2 to 'encode'", function() xml.encode("linestate", { code = 6 }) end)
    raises("bad argument #1 to 'encode'", function() xml.encode("nosuchkind", {}) end)
    raises("bad argument #1 to 'encode'", function() xml.encode(nil, {}) end)
    raises("bad argument #2 to 'encode'", function() xml.encode("userstate", "off") end)
    raises("bad argument #3 to 'encode'", function()
      xml.encode("userstate", { state = "off" }, { encoding = "koi8-r" })
    end)
    raises("bad argument #1 to 'decode'", function() xml.decode(nil) end)
    raises("bad argument #1 to 'parse'", function() xml.parse(42) end)
    raises("bad argument #1 to 'build'", function() xml.build("doc") end)
    -- the caller's line is blamed, as luaL_argerror does
    local ok, err = pcall(function() xml.decode(nil) end)
    assert.is_false(ok)
    assert.matches("api_contract_spec%.lua:%d+:", err)
    -- state and code that agree are fine
    assert.are.same({ state = "off", code = 3 }, (xml.decode(xml.encode("userstate", { state = "off", code = 3 }))))
  end)

  it("parse gives the generic tree of §2 (attributes as strings, only those present, CDATA as text)", function()
    assert.are.same({
      version = "80710", name = "userstate",
      items = { {
        tag = "property_set", name = "currentstateinfo",
        items = {
          { tag = "property_simple", key = "state", value = "2" },
          { tag = "property_cdata", key = "description", text = "Ушел на обед" },
          { tag = "property_simple", key = "redirect", value = "0" },
        },
      } },
    }, xml.parse(fixture("setuserstate1.xml")))
    assert.are.same({
      version = "80710",
      items = { {
        tag = "event", id = "123", name = "tminterfaceclose",
        items = { { tag = "property_simple", key = "idtask", value = TASK } },
      } },
    }, xml.parse(fixture("event123.xml")))
    local doc = xml.parse(fixture("userinfo.xml"))
    assert.are.equal("userinfo", doc.name)
    assert.are.same({ tag = "property_simple", key = "type", value = "1", name = "utUser" }, doc.items[2])
    assert.are.same({ tag = "property_cdata", key = "role", value = "41fbf675-8f73-488e-83ca-c108b915f51d",
      text = "Администратор" }, doc.items[8])
    local coll = doc.items[11]
    assert.are.equal("property_collection", coll.tag)
    assert.are.equal("properties", coll.name)
    assert.are.equal("1", coll.count)
    assert.are.equal("role", coll.items[1].name)
    assert.are.equal("41fbf675-8f73-488e-83ca-c108b915f51d", coll.items[1].id)
    assert.are.same({ tag = "property_cdata", key = "extwp", value = "1", text = "Расширенное рабочее место" },
      coll.items[1].items[1])
  end)

  it("build is the inverse of parse, in both encodings", function()
    for name in pairs(KIND_OF) do
      local doc = xml.parse(fixture(name))
      assert.are.same(doc, xml.parse(xml.build(doc)), name)
      local u16 = xml.build(doc, { encoding = "utf-16" })
      assert.are.equal("\255\254", u16:sub(1, 2))
      assert.are.same(doc, xml.parse(u16), name)
      assert.are.same({ n = 2, VALUE_OF[name], KIND_OF[name] }, pack(xml.decode(xml.build(doc))))
    end
  end)
end)

describe("API.md §3 client", function()
  helper.guard()
  local saved, errors
  before_each(function()
    errors = {}
    saved = oktell.on_error(function(e) errors[#errors + 1] = e end)
  end)
  after_each(function()
    oktell.on_error(saved)
    assert.are.same({}, errors)
  end)

  it("connect returns a client; its methods are there in both styles", function()
    with_emulator(two_users(), function(emu)
      local t = pack(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 20,
        reconnect = true, confirm_usage = false })
      assert.are.equal(1, t.n)
      local c = t[1]
      for _, m in ipairs { "user_info", "user_state", "set_user_state", "line_state", "callcenter_inside",
        "callcenter_enter", "callcenter_exit", "set_busy_in_external_task", "set_free_in_external_task",
        "check_busy_in_external_task", "set_task_active", "set_confirm_usage", "set_confirm_result", "close",
        "GetCurrentUserFullInfo", "GetUserState", "SetUserState", "GetLineState", "CallCenter_IsInside",
        "CallCenter_Enter", "CallCenter_Exit", "CallCenter_SetBusyInExternalTask",
        "CallCenter_SetFreeInExternalTask", "CallCenter_CheckBusyInExternalTask", "TM_SetTaskActive",
        "TM_SetConfirmUsage", "TM_SetConfirmResult", "on", "off", "wait", "pollfd", "events", "timeout" } do
        assert.is_function(c[m], m)
      end
      assert.are.same({ n = 1, true }, pack(c:close()))
    end)
  end)

  it("url may be a list tried in turn", function()
    with_emulator(function(emu)
      local c = assert(oktell.connect { url = { helper.closed_port(), emu.url }, login = "Peter", password = "123" })
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
    end)
  end)

  it("user_info gives the userinfo table; GetCurrentUserFullInfo its XML (the reference's Peter by default)",
    function()
      with_emulator(function(emu)
        local c = connect(emu)
        assert.are.same({ n = 1, sample_userinfo() }, pack(c:user_info()))
        local s = c:GetCurrentUserFullInfo()
        assert.is_string(s)
        assert.are.same({ n = 2, sample_userinfo(), "userinfo" }, pack(xml.decode(s)))
        c:close()
      end)
    end)

  it("user_state / GetUserState: the userstate table and its XML", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      -- EMULATOR.md: a user is ready at login, redirect off
      assert.are.same({ n = 1, { state = "ready", code = 1, redirect = false } }, pack(c:user_state()))
      assert.are.same({ n = 2, { state = "ready", code = 1, redirect = false }, "userstate" },
        pack(xml.decode(c:GetUserState())))
      assert.is_true(c:callcenter_enter())
      assert.are.same({ n = 1, true }, pack(c:set_user_state { state = "lunch", description = "Ушел на обед" }))
      local want = { state = "lunch", code = 2, redirect = false, description = "Ушел на обед" }
      assert.are.same({ n = 1, want }, pack(c:user_state()))
      assert.are.same({ n = 2, want, "userstate" }, pack(xml.decode(c:GetUserState())))
      c:close()
    end)
  end)

  it("set_user_state: by name, reference name or code, redirect; true or nil, msg, 'not_settable'", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      -- lunch outside the call-center is refused (EMULATOR.md)
      assert_fail("not_settable", pack(c:set_user_state { state = "lunch" }))
      assert_fail("not_settable", pack(c:set_user_state { state = "reserved" }))
      assert_fail("not_settable", pack(c:set_user_state { state = "disconnected" }))
      assert.are.same({ state = "ready", code = 1, redirect = false }, c:user_state())
      assert.are.same({ n = 1, true }, pack(c:set_user_state { state = "usOff" }))
      assert.are.equal("off", emu:snapshot("Peter").userstate)
      assert.are.same({ n = 1, true }, pack(c:set_user_state { state = 1, redirect = true }))
      assert.are.same({ state = "ready", code = 1, redirect = true }, c:user_state())
      assert.is_true(emu:snapshot("Peter").redirect)
      assert.are.same({ n = 1, true }, pack(c:set_user_state { redirect = false }))
      assert.is_false(c:user_state().redirect)
      -- Ivan has no redirect number
      local i = connect(emu, { login = "Ivan", password = "456" })
      assert_fail("not_settable", pack(i:set_user_state { redirect = true }))
      i:close()
      c:close()
    end)
  end)

  it("SetUserState on the default emulator: both samples answered true; a refusal changes nothing", function()
    with_emulator({}, function(emu)
      local c = connect(emu)
      -- sample 1 asks for lunch outside the call-center: refused, but the
      -- reference's method is void, so the answer is just true
      assert.are.same({ n = 1, true }, pack(c:SetUserState(fixture("setuserstate1.xml"))))
      assert.are.equal("ready", emu:snapshot("Peter").userstate)
      assert.are.same({ state = "ready", code = 1, redirect = false }, c:user_state())
      -- sample 2: ready with redirect on; the default user has a redirect number
      assert.are.same({ n = 1, true }, pack(c:SetUserState(fixture("setuserstate2.xml"))))
      assert.are.same({ state = "ready", code = 1, redirect = true }, c:user_state())
      c:close()
    end)
  end)

  it("SetUserState takes the reference's XML samples; void: true", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.is_true(c:callcenter_enter())
      assert.are.same({ n = 1, true }, pack(c:SetUserState(fixture("setuserstate1.xml"))))
      assert.are.same({ state = "lunch", code = 2, redirect = false, description = "Ушел на обед" }, c:user_state())
      assert.are.equal("lunch", emu:snapshot("Peter").userstate)
      assert.are.same({ n = 1, true }, pack(c:SetUserState(utf16(fixture("setuserstate2.xml")))))
      assert.are.same({ state = "ready", code = 1, redirect = true }, c:user_state())
      assert_fail("bad_xml", pack(c:SetUserState("<not xml")))
      assert_fail("bad_xml", pack(c:SetUserState(fixture("linestate.xml"))))
      assert.has_error(function() c:SetUserState({ state = "ready" }) end)
      c:close()
    end)
  end)

  it("line_state: name, code; 'disconnected', 1 with no line; GetLineState its XML", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      assert.are.same({ n = 2, { state = "ready", code = 4 }, "linestate" }, pack(xml.decode(c:GetLineState())))
      assert.is_true(emu:set_line("Peter", "hookup"))
      assert.are.same({ n = 2, "hookup", 8 }, pack(c:line_state()))
      assert.are.same({ state = "hookup", code = 8 }, (xml.decode(c:GetLineState())))
      local i = connect(emu, { login = "Ivan", password = "456" })
      assert.are.same({ n = 2, "disconnected", 1 }, pack(i:line_state()))
      assert.are.same({ state = "disconnected", code = 1 }, (xml.decode(i:GetLineState())))
      i:close()
      c:close()
    end)
  end)

  it("call-center: inside bool, enter true or false, msg, 'license', exit true; COM names alike", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local i = connect(emu, { login = "Ivan", password = "456" })
      assert.are.same({ n = 1, false }, pack(c:callcenter_inside()))
      assert.are.same({ n = 1, false }, pack(c:CallCenter_IsInside()))
      assert.are.same({ n = 1, true }, pack(c:callcenter_enter()))
      assert.are.same({ n = 1, true }, pack(c:callcenter_inside()))
      assert.are.same({ n = 1, true }, pack(c:CallCenter_IsInside()))
      -- one licence, held by Peter
      local t = pack(i:callcenter_enter())
      assert.are.equal(3, t.n)
      assert.is_false(t[1])
      assert.is_string(t[2])
      assert.are.equal("license", t[3])
      local u = pack(i:CallCenter_Enter())
      assert.is_false(u[1])
      assert.are.equal("license", u[3])
      assert.are.same({ n = 1, true }, pack(c:callcenter_exit()))
      assert.are.same({ n = 1, false }, pack(c:callcenter_inside()))
      assert.are.same({ n = 1, true }, pack(i:CallCenter_Enter()))
      assert.is_true(emu:snapshot("Ivan").inside)
      assert.are.same({ n = 1, true }, pack(i:CallCenter_Exit()))
      assert.is_false(emu:snapshot("Ivan").inside)
      i:close()
      c:close()
    end)
  end)

  it("external task: busy / check / free give exactly true or false, both styles", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.is_true(c:callcenter_enter())
      assert.are.same({ n = 1, false }, pack(c:check_busy_in_external_task()))
      assert.are.same({ n = 1, false }, pack(c:set_free_in_external_task()))
      assert.are.same({ n = 1, true }, pack(c:set_busy_in_external_task()))
      assert.is_true(emu:snapshot("Peter").external)
      assert.are.same({ n = 1, false }, pack(c:set_busy_in_external_task()))
      assert.are.same({ n = 1, true }, pack(c:check_busy_in_external_task()))
      assert.are.same({ n = 1, true }, pack(c:CallCenter_CheckBusyInExternalTask()))
      assert.are.same({ n = 1, true }, pack(c:set_free_in_external_task()))
      assert.are.same({ n = 1, false }, pack(c:CallCenter_CheckBusyInExternalTask()))
      assert.are.same({ n = 1, false }, pack(c:CallCenter_SetFreeInExternalTask()))
      assert.are.same({ n = 1, true }, pack(c:CallCenter_SetBusyInExternalTask()))
      assert.are.same({ n = 1, false }, pack(c:CallCenter_SetBusyInExternalTask()))
      assert.are.same({ n = 1, true }, pack(c:CallCenter_SetFreeInExternalTask()))
      assert.is_false(emu:snapshot("Peter").external)
      c:close()
    end)
  end)

  it("set_task_active: true, or false, errormessage; TM_SetTaskActive returns the result XML", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.are.same({ n = 1, true }, pack(c:set_task_active { tasktype = "call", idtask = TASK, active = true }))
      assert.are.same({ n = 1, true }, pack(c:set_task_active { tasktype = "call", idtask = TASK, active = false }))
      assert.is_true(emu:lock_task(TASK, "Сидоров Иван"))
      assert.are.same({ n = 2, false, LOCK_TEXT },
        pack(c:set_task_active { tasktype = "call", idtask = TASK, active = true }))
      local req = xml.encode("settaskactive", { tasktype = "call", idtask = TASK, active = true })
      local s = c:TM_SetTaskActive(req)
      assert.is_string(s)
      assert.are.same({ n = 2, { success = false, errormessage = LOCK_TEXT }, "settaskactiveresult" },
        pack(xml.decode(s)))
      assert.is_true(emu:unlock_task(TASK))
      assert.are.same({ n = 2, { success = true }, "settaskactiveresult" }, pack(xml.decode(c:TM_SetTaskActive(req))))
      -- the reference's sample names an unknown task: answered, not successful
      local r = xml.decode(c:TM_SetTaskActive(fixture("settaskactive.xml")))
      assert.is_false(r.success)
      assert.is_string(r.errormessage)
      assert_fail("bad_xml", pack(c:TM_SetTaskActive(fixture("confirmresult.xml"))))
      c:close()
    end)
  end)

  it("set_confirm_usage / TM_SetConfirmUsage: true; set_confirm_result / TM_SetConfirmResult: bool", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.are.same({ n = 1, true }, pack(c:set_confirm_usage(true)))
      assert.are.same({ n = 1, true }, pack(c:TM_SetConfirmUsage(true)))
      -- nothing pending: answered false
      for _, r in ipairs { "ok", "skip", "delete", 0, 1, 2 } do
        assert.are.same({ n = 1, false }, pack(c:set_confirm_result(r)))
      end
      assert.are.same({ n = 1, false }, pack(c:TM_SetConfirmResult(fixture("confirmresult.xml"))))
      assert.is_true(c:callcenter_enter())
      local results = { { "ok", 0 }, { "skip", 1 }, { "delete", 2 } }
      for _, r in ipairs(results) do
        for _, how in ipairs { "word", "code", "xml" } do
          assert.is_true(emu:offer("Peter", { task = TASK, mode = "confirm", number = "120151112", idinlist = 67 }))
          assert(c:wait("tminterfaceconfirm", 3))
          assert.is_true(emu:snapshot("Peter").confirm_pending)
          local t
          if how == "word" then
            t = pack(c:set_confirm_result(r[1]))
          elseif how == "code" then
            t = pack(c:set_confirm_result(r[2]))
          else
            t = pack(c:TM_SetConfirmResult(xml.encode("confirmresult", { result = r[1] })))
          end
          assert.are.same({ n = 1, true }, t)
          assert.is_false(emu:snapshot("Peter").confirm_pending)
          if r[1] == "ok" then
            assert(c:wait("tminterfacereserve", 3))
            assert.is_true(emu:finish("Peter", "failed"))
          end
          assert(c:wait("tminterfaceclose", 3))
        end
      end
      assert.are.same({ n = 1, true }, pack(c:TM_SetConfirmUsage(false)))
      c:close()
    end)
  end)

  it("close returns true, again true", function()
    with_emulator(function(emu)
      local c = connect(emu)
      assert.are.same({ n = 1, true }, pack(c:close()))
      assert.are.same({ n = 1, true }, pack(c:close()))
      assert_fail("closed", pack(c:user_state()))
    end)
  end)

  it("<close> closes (Lua 5.4)", function()
    if not helper.LUA54 then pending("<close> is Lua 5.4 syntax") end
    with_emulator(function(emu)
      -- compiled at run time: older Luas cannot parse `<close>`
      local inner = assert(helper.load([[
        local connect, emu, assert = ...
        local d <close> = connect(emu)
        assert.is_true(emu:snapshot("Peter").connected)
        return d]], "=close_chunk"))(connect, emu, assert)
      assert_fail("closed", pack(inner:user_state()))
      assert.is_true(helper.eventually(function() return not emu:snapshot("Peter").connected end))
    end)
  end)

  it("bool methods give nil, msg, code when no answer could be had ('timeout', then 'closed')", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { timeout = 0.3 })
      local bools = {
        function() return c:callcenter_inside() end, function() return c:callcenter_enter() end,
        function() return c:set_busy_in_external_task() end, function() return c:set_free_in_external_task() end,
        function() return c:check_busy_in_external_task() end, function() return c:set_confirm_result("ok") end,
        function() return c:CallCenter_IsInside() end, function() return c:CallCenter_Enter() end,
        function() return c:CallCenter_SetBusyInExternalTask() end,
        function() return c:CallCenter_SetFreeInExternalTask() end,
        function() return c:CallCenter_CheckBusyInExternalTask() end,
        function() return c:TM_SetConfirmResult(fixture("confirmresult.xml")) end,
      }
      local others = {
        function() return c:user_info() end, function() return c:user_state() end,
        function() return c:set_user_state { state = "off" } end, function() return c:line_state() end,
        function() return c:callcenter_exit() end,
        function() return c:set_task_active { tasktype = "call", idtask = TASK, active = true } end,
        function() return c:set_confirm_usage(true) end, function() return c:GetCurrentUserFullInfo() end,
        function() return c:GetUserState() end, function() return c:SetUserState(fixture("setuserstate2.xml")) end,
        function() return c:GetLineState() end, function() return c:CallCenter_Exit() end,
        function() return c:TM_SetTaskActive(fixture("settaskactive.xml")) end,
        function() return c:TM_SetConfirmUsage(true) end,
      }
      assert.is_true(emu:pause(true))
      assert_fail("timeout", pack(bools[1]()))
      assert_fail("timeout", pack(others[2]()))
      c:close()
      for i, f in ipairs(bools) do assert_fail("closed", pack(f()), i) end
      for i, f in ipairs(others) do assert_fail("closed", pack(f()), i) end
      assert.is_true(emu:pause(false))
    end)
  end)

  it("with confirm usage off (the default) the client answers 121 with ok; handlers still see it", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.is_true(c:callcenter_enter())
      local seen = {}
      c:on("tminterfaceconfirm", function(ev) seen[#seen + 1] = ev.id end)
      assert.is_true(emu:offer("Peter", { task = TASK, mode = "confirm", number = "120151112", idinlist = 67 }))
      local ev = assert(c:wait("tminterfacereserve", 3)) -- dialing started by the client's own "ok"
      assert.are.equal(122, ev.id)
      assert.are.same({ 121 }, seen)
      assert.is_false(emu:snapshot("Peter").confirm_pending)
      assert.is_true(emu:snapshot("Peter").dialing)
      c:close()
    end)
  end)

  it("confirm_usage = true at connect is TM_SetConfirmUsage(true): the prompt waits for the script", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { confirm_usage = true })
      assert.is_true(c:callcenter_enter())
      assert.is_true(emu:offer("Peter", { task = TASK, mode = "confirm", number = "120151112", idinlist = 67 }))
      assert(c:wait(121, 3))
      oktell.sleep(0.1)
      assert.is_true(emu:snapshot("Peter").confirm_pending)
      assert.is_true(c:set_confirm_result("skip"))
      assert(c:wait(123, 3))
      c:close()
    end)
  end)

  it("misuse raises naming the argument; an unknown state name too", function()
    with_emulator(function(emu)
      local c = connect(emu)
      local cases = {
        { "set_user_state", function() c:set_user_state { state = "sleeping" } end },
        { "set_user_state", function() c:set_user_state("ready") end },
        { "set_task_active", function() c:set_task_active { tasktype = "voice", idtask = TASK, active = true } end },
        { "set_confirm_usage", function() c:set_confirm_usage("yes") end },
        { "set_confirm_result", function() c:set_confirm_result("maybe") end },
        { "SetUserState", function() c:SetUserState(42) end },
        { "TM_SetTaskActive", function() c:TM_SetTaskActive() end },
        { "TM_SetConfirmUsage", function() c:TM_SetConfirmUsage("yes") end },
        { "TM_SetConfirmResult", function() c:TM_SetConfirmResult(0) end },
        { "connect", function() oktell.connect() end },
        { "connect", function() oktell.connect { url = emu.url } end },
      }
      for _, k in ipairs(cases) do
        local ok, err = pcall(k[2])
        assert.is_false(ok, k[1])
        assert.matches("bad argument #1 to '" .. k[1] .. "'", err, 1, true)
        assert.matches("api_contract_spec%.lua:%d+:", err)
      end
      c:close()
    end)
  end)
end)

describe("API.md §4 events and coroutines", function()
  helper.guard()
  local saved, errors
  before_each(function()
    errors = {}
    saved = oktell.on_error(function(e) errors[#errors + 1] = tostring(e) end)
  end)
  after_each(function()
    oktell.on_error(saved)
  end)

  local CARD = "Вы зарезервированы на выполнение задачи\n\nЗвонок на номер: 120151112"
  local function offer(emu, mode)
    return emu:offer("Peter", { task = TASK, mode = mode, number = "120151112", text = CARD, idinlist = 67 })
  end

  it("on takes the name, 121 or \"TMInterfaceConfirm\"; returns distinct ids; off removes", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { confirm_usage = true })
      assert.is_true(c:callcenter_enter())
      local got = {}
      local ids = {
        c:on("tminterfaceconfirm", function(ev) got[#got + 1] = "name:" .. ev.id end),
        c:on(121, function(ev) got[#got + 1] = "code:" .. ev.id end),
        c:on("TMInterfaceConfirm", function(ev) got[#got + 1] = "ref:" .. ev.id end),
      }
      assert.are_not.equal(ids[1], ids[2])
      assert.are_not.equal(ids[2], ids[3])
      assert.are_not.equal(ids[1], ids[3])
      assert.is_true(offer(emu, "confirm"))
      assert(c:wait("tminterfaceconfirm", 3))
      assert.is_true(helper.eventually(function() return #got == 3 end))
      table.sort(got)
      assert.are.same({ "code:121", "name:121", "ref:121" }, got)
      assert.is_true(c:set_confirm_result("skip"))
      assert(c:wait(123, 3))
      c:off(ids[1])
      c:off(ids[3])
      got = {}
      assert.is_true(offer(emu, "confirm"))
      assert(c:wait("TMInterfaceConfirm", 3))
      oktell.sleep(0.05)
      assert.are.same({ "code:121" }, got)
      assert.is_true(c:set_confirm_result("skip"))
      assert(c:wait(123, 3))
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("the aliases of 122 and 123: codes and the reference's names", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.is_true(c:callcenter_enter())
      local seen = {}
      c:on(122, function(ev) seen[#seen + 1] = ev.name end)
      c:on("TMInterfaceReserve", function(ev) seen[#seen + 1] = ev.name end)
      c:on("TMInterfaceClose", function(ev) seen[#seen + 1] = ev.name end)
      c:on(123, function(ev) seen[#seen + 1] = ev.name end)
      assert.is_true(offer(emu, "notify"))
      assert(c:wait(122, 3))
      assert.is_true(emu:finish("Peter", "failed"))
      assert(c:wait("TMInterfaceClose", 3))
      assert.is_true(helper.eventually(function() return #seen == 4 end))
      assert.are.same({ "tminterfacereserve", "tminterfacereserve", "tminterfaceclose", "tminterfaceclose" }, seen)
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("the prompt events carry the \"event\" table of §2 (text is textb64 decoded; 123 only idtask)", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { confirm_usage = true })
      assert.is_true(c:callcenter_enter())
      assert.is_true(offer(emu, "confirm"))
      local ev = assert(c:wait("tminterfaceconfirm", 3))
      assert.are.equal(121, ev.id)
      assert.are.equal("tminterfaceconfirm", ev.name)
      assert.are.equal(TASK, ev.idtask)
      assert.are.equal(TASK_NAME, ev.taskname)
      assert.are.equal("120151112", ev.number)
      assert.are.equal(67, ev.idinlist)
      assert.are.equal(CARD, ev.text)
      assert.are.equal(CARD, b64decode(ev.textb64))
      for _, k in ipairs { "idproject", "taskcode", "idlist" } do assert.is_string(ev[k], k) end
      -- the event table is exactly what the codec gives for it
      assert.are.same(ev, (xml.decode(xml.encode("event", ev))))
      assert.is_true(c:set_confirm_result("ok"))
      local r = assert(c:wait("tminterfacereserve", 3))
      assert.are.equal(122, r.id)
      assert.are.equal("tminterfacereserve", r.name)
      assert.are.equal(CARD, r.text)
      assert.is_true(emu:finish("Peter", "answered"))
      assert.are.same({ n = 1, { id = 123, name = "tminterfaceclose", idtask = TASK } },
        pack(c:wait("tminterfaceclose", 3)))
      c:close()
    end)
  end)

  it("wait: nil, \"timeout\", \"timeout\"; only events arriving after the call", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.are.same({ n = 3, nil, "timeout", "timeout" }, pack(c:wait("tminterfaceclose", 0.05)))
      assert.are.same({ n = 3, nil, "timeout", "timeout" }, pack(c:wait(123, 0)))
      assert.is_true(c:set_user_state { state = "off" })
      oktell.sleep(0.2) -- the userstate event has come and gone
      assert.are.same({ n = 3, nil, "timeout", "timeout" }, pack(c:wait("userstate", 0.1)))
      oktell.spawn(function() c:set_user_state { state = "ready" } end)
      assert.are.same({ n = 1, { state = "ready", code = 1, redirect = false } }, pack(c:wait("userstate", 3)))
      c:close()
    end)
  end)

  it("userstate, linestate, callcenter events carry the tables of §4", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local seen = {}
      for _, n in ipairs { "userstate", "linestate", "callcenter" } do
        c:on(n, function(ev) seen[#seen + 1] = { n, ev } end)
      end
      assert.is_true(c:callcenter_enter())
      assert.is_true(helper.eventually(function()
        for _, s in ipairs(seen) do if s[1] == "callcenter" then return true end end
      end))
      seen = {}
      assert.is_true(c:set_user_state { state = "lunch", description = "Ушел на обед" })
      assert.is_true(helper.eventually(function() return #seen >= 1 end))
      assert.are.same({ "userstate", { state = "lunch", code = 2, redirect = false, description = "Ушел на обед" } },
        seen[1])
      seen = {}
      assert.is_true(emu:set_line("Peter", "hookup"))
      assert.is_true(helper.eventually(function()
        for _, s in ipairs(seen) do if s[1] == "linestate" then return true end end
      end))
      local found
      for _, s in ipairs(seen) do if s[1] == "linestate" then found = s[2] end end
      assert.are.same({ state = "hookup", code = 8 }, found)
      assert.are.same({ n = 1, { inside = false } }, pack((function()
        oktell.spawn(function() c:callcenter_exit() end)
        return c:wait("callcenter", 3)
      end)()))
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("disconnect ({message, code}) and reconnect ({}) after a drop", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local d, r
      c:on("disconnect", function(ev) d = ev end)
      c:on("reconnect", function(ev) r = ev end)
      assert.is_true(emu:drop("Peter"))
      assert(c:wait("reconnect", 5))
      assert.is_table(d)
      assert.is_string(d.message)
      assert.are.equal("closed", d.code)
      assert.is_true(helper.eventually(function() return r ~= nil end))
      assert.are.same({}, r)
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("events of one client reach handlers in arrival order, each call in its own managed coroutine", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local order, cos = {}, {}
      c:on("userstate", function(ev)
        local co = coroutine.running()
        assert.is_true(helper.isyieldable())
        cos[co] = true
        order[#order + 1] = ev.state
      end)
      oktell.spawn(function()
        for _, s in ipairs { "off", "ready", "off", "ready" } do
          assert.is_true(c:set_user_state { state = s })
        end
      end)
      assert.is_true(helper.eventually(function() return #order == 4 end, 3))
      assert.are.same({ "off", "ready", "off", "ready" }, order)
      local n = 0
      for _ in pairs(cos) do n = n + 1 end
      assert.are.equal(4, n)
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("a handler may call client:set_confirm_result(\"ok\") and oktell.sleep(...) directly", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { confirm_usage = true })
      assert.is_true(c:callcenter_enter())
      local answered
      c:on("tminterfaceconfirm", function()
        oktell.sleep(0.05)
        answered = pack(c:set_confirm_result("ok"))
      end)
      assert.is_true(offer(emu, "confirm"))
      local ev = assert(c:wait("tminterfacereserve", 3))
      assert.are.equal(122, ev.id)
      assert.are.same({ n = 1, true }, answered)
      c:close()
      assert.are.same({}, errors)
    end)
  end)

  it("a method yields inside a managed coroutine and blocks (running the loop) in the main chunk", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { timeout = 0.3 })
      -- yields: the second coroutine runs while the first waits for its reply
      local order = oktell.run(function()
        local o = {}
        oktell.spawn(function()
          assert.are.equal("ready", (c:line_state()))
          o[#o + 1] = "A"
        end)
        oktell.spawn(function() o[#o + 1] = "B" end)
        oktell.sleep(0.2)
        return o
      end)
      assert.are.same({ "B", "A" }, order)
      -- blocks in the main chunk, and managed coroutines run meanwhile
      local ticks = 0
      oktell.spawn(function()
        for _ = 1, 5 do
          oktell.sleep(0.02)
          ticks = ticks + 1
        end
      end)
      assert.is_true(emu:pause(true))
      assert_fail("timeout", pack(c:user_state()))
      assert.are.equal(5, ticks)
      assert.is_true(emu:pause(false))
      c:close()
    end)
  end)

  it("spawn returns the coroutine; sleep blocks outside and yields inside", function()
    local t = pack(oktell.spawn(function(a, b) return a + b end, 1, 2))
    assert.are.equal(1, t.n)
    assert.are.equal("thread", type(t[1]))
    oktell.sleep(0.01)
    assert.are.equal("dead", coroutine.status(t[1]))
    local t0 = helper and require("oktell.loop").now()
    oktell.sleep(0.1)
    assert.is_true(require("oktell.loop").now() - t0 >= 0.09)
    local log = {}
    oktell.run(function()
      oktell.spawn(function() oktell.sleep(0.06) log[#log + 1] = "slow" end)
      oktell.spawn(function() oktell.sleep(0.02) log[#log + 1] = "fast" end)
    end)
    assert.are.same({ "fast", "slow" }, log)
  end)

  it("run(fn, ...) returns fn's results after every managed coroutine ended; re-raises fn's error", function()
    local done = false
    assert.are.same({ n = 3, 3, "x", nil }, pack(oktell.run(function(a, b)
      oktell.spawn(function() oktell.sleep(0.05) done = true end)
      return a + b, "x", nil
    end, 1, 2)))
    assert.is_true(done)
    local ok, err = pcall(oktell.run, function() oktell.sleep(0.01) error("boom") end)
    assert.is_false(ok)
    assert.matches("boom", err)
    local e = {}
    local ok2, err2 = pcall(oktell.run, function() error(e) end)
    assert.is_false(ok2)
    assert.are.equal(e, err2)
  end)

  it("run(fn) leaves clients open; run() serves until stop(), or until every client is closed", function()
    with_emulator(two_users(), function(emu)
      local c = oktell.run(function() return connect(emu) end)
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      -- a fn that never yields ends run at once, open client or not
      local loop = require "oktell.loop"
      local t0 = loop.now()
      assert.are.same({ n = 1, 42 }, pack(oktell.run(function() return 42 end)))
      assert.is_false(pcall(oktell.run, function() error("at once") end))
      assert.is_true(loop.now() - t0 < 2, "run(fn) waited for the client's next deadline")
      local seen = 0
      c:on("userstate", function()
        seen = seen + 1
        if seen == 2 then oktell.stop() end
      end)
      oktell.spawn(function()
        c:set_user_state { state = "off" }
        c:set_user_state { state = "ready" }
      end)
      assert.are.same({ n = 1, true }, pack(oktell.run()))
      assert.are.equal(2, seen)
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      oktell.spawn(function() oktell.sleep(0.05) c:close() end)
      oktell.run() -- returns once the client is closed
      assert_fail("closed", pack(c:line_state()))
    end)
    assert.are.same({}, errors)
  end)

  it("step([timeout]) runs one turn", function()
    local ran = false
    oktell.spawn(function() ran = true end)
    assert.is_true(oktell.step())
    assert.is_true(ran)
    local loop = require "oktell.loop"
    local t0 = loop.now()
    assert.is_true(oktell.step(0.05))
    assert.is_true(loop.now() - t0 < 1)
  end)

  it("errors in handlers and spawned coroutines go to on_error; the loop goes on", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      c:on("userstate", function() error("handler failed") end)
      oktell.spawn(function() error("spawn failed") end)
      assert.is_true(c:set_user_state { state = "off" })
      assert.is_true(helper.eventually(function() return #errors == 2 end))
      table.sort(errors)
      assert.matches("handler failed", errors[1])
      assert.matches("spawn failed", errors[2])
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
    end)
  end)

  it("the default on_error writes the message and a traceback to stderr", function()
    local p = assert(io.popen(lua_cmd([[
      local oktell = require "oktell"
      oktell.spawn(function() error("spawned-boom") end)
      oktell.sleep(0.01)
      print("still-running")]])))
    local out = helper.read_all(p)
    p:close()
    assert.matches("spawned%-boom", out)
    assert.matches("stack traceback", out)
    assert.matches("still%-running", out)
  end)

  it("a client is a cqueues-style pollable: pollfd, events, timeout", function()
    with_emulator(function(emu)
      local c = connect(emu)
      local fd = c:pollfd()
      assert.are.equal("integer", helper.int_type(fd))
      assert.is_true(fd >= 0)
      local ev = c:events()
      assert.is_true(ev == "r" or ev == "w" or ev == "rw", tostring(ev))
      local t = c:timeout()
      assert.is_true(t == nil or (type(t) == "number" and t >= 0))
      c:close()
    end)
  end)

  it("on/wait misuse raises naming the argument", function()
    with_emulator(function(emu)
      local c = connect(emu)
      for _, f in ipairs {
        function() c:on("nosuchevent", print) end, function() c:on("userstate", 42) end,
        function() c:wait("nosuchevent", 1) end, function() c:wait("userstate", "soon") end,
        function() oktell.spawn(42) end, function() oktell.sleep("1") end, function() oktell.run(42) end,
        function() oktell.step("1") end, function() oktell.on_error(42) end,
      } do
        local ok, err = pcall(f)
        assert.is_false(ok)
        assert.matches("bad argument #%d to '[%w_]+'", err)
      end
      c:close()
    end)
  end)
end)

describe("API.md §5 emulator", function()
  helper.guard()
  local saved
  before_each(function() saved = oktell.on_error(function() end) end)
  after_each(function() oktell.on_error(saved) end)

  local function inside_peter(emu, extra)
    local c = connect(emu, extra)
    assert.is_true(c:callcenter_enter())
    return c
  end

  it("start returns once it listens; url is ws://HOST:PORT with the chosen free port; stop is true twice", function()
    local emu = emulator.start { host = "127.0.0.1", port = 0 }
    local port = emu.url:match("^ws://127%.0%.0%.1:(%d+)$")
    assert.is_string(port)
    assert.is_true(tonumber(port) > 0)
    local c = connect(emu) -- no wait needed: it listens already
    assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
    c:close()
    assert.are.same({ n = 1, true }, pack(emu:stop()))
    assert.are.same({ n = 1, true }, pack(emu:stop()))
    assert_fail("closed", pack(emu:snapshot("Peter")))
    assert_fail("closed", pack(emu:pause(true)))
  end)

  it("the default user is the reference's Peter / 123, an operator with a ready line", function()
    with_emulator(function(emu)
      local c = connect(emu)
      local info = c:user_info()
      assert.are.equal("Peter", info.login)
      assert.are.equal("Петр", info.name)
      assert.is_true(info.isoperator)
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
      assert_fail("auth", pack(oktell.connect { url = emu.url, login = "Peter", password = "1234" }))
    end)
  end)

  it("users: login, password, name, isoperator, line (false: none), redirect_number", function()
    with_emulator({
      users = {
        { login = "Anna", password = "секрет", name = "Анна", isoperator = false, line = "off" },
        { login = "Boris", password = "b", name = "Борис", isoperator = true, line = false, redirect_number = "100" },
      },
    }, function(emu)
      local a = connect(emu, { login = "Anna", password = "секрет" })
      local ia = a:user_info()
      assert.are.equal("Анна", ia.name)
      assert.is_false(ia.isoperator)
      assert.are.same({ n = 2, "off", 2 }, pack(a:line_state()))
      assert_fail("not_settable", pack(a:set_user_state { redirect = true }))
      local b = connect(emu, { login = "Boris", password = "b" })
      assert.are.equal("Борис", b:user_info().name)
      assert.are.same({ n = 2, "disconnected", 1 }, pack(b:line_state()))
      assert.are.equal("wophone", b:user_state().state)
      assert.is_true(b:set_user_state { redirect = true })
      assert.is_true(emu:snapshot("Boris").redirect)
      a:close()
      b:close()
    end)
  end)

  it("licenses: concurrent call-center seats", function()
    with_emulator({
      licenses = 2,
      users = { { login = "A", password = "1" }, { login = "B", password = "2" }, { login = "C", password = "3" } },
    }, function(emu)
      local cs = {}
      for i, l in ipairs { "A", "B", "C" } do cs[i] = connect(emu, { login = l, password = tostring(i) }) end
      assert.is_true(cs[1]:callcenter_enter())
      assert.is_true(cs[2]:callcenter_enter())
      local t = pack(cs[3]:callcenter_enter())
      assert.is_false(t[1])
      assert.are.equal("license", t[3])
      assert.is_true(cs[1]:callcenter_exit())
      assert.is_true(cs[3]:callcenter_enter())
      for _, c in ipairs(cs) do c:close() end
    end)
  end)

  it("tasks: the configured task switches; lock_task / unlock_task", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.is_true(c:set_task_active { tasktype = "call", idtask = TASK, active = true })
      assert.are.same({ n = 1, true }, pack(emu:lock_task(TASK, "Сидоров Иван")))
      assert.are.same({ n = 2, false, LOCK_TEXT }, pack(c:set_task_active { tasktype = "call", idtask = TASK,
        active = false }))
      assert.are.same({ n = 1, true }, pack(emu:unlock_task(TASK)))
      assert.is_true(c:set_task_active { tasktype = "call", idtask = TASK, active = false })
      c:close()
    end)
  end)

  it("offer confirm sends 121, notify sends 122; finish answered: 123, commutated, fullbusy", function()
    with_emulator(two_users(), function(emu)
      local c = inside_peter(emu, { confirm_usage = true })
      assert.are.same({ n = 1, true }, pack(emu:offer("Peter", { task = TASK, mode = "confirm",
        number = "120151112", text = "Карточка", idinlist = 67 })))
      local s = emu:snapshot("Peter") -- taken effect before offer returned
      assert.is_true(s.confirm_pending)
      assert.are.equal("reserved", s.userstate)
      local ev = assert(c:wait(121, 3))
      assert.are.same({ 121, TASK, "120151112", "Карточка", 67 }, { ev.id, ev.idtask, ev.number, ev.text, ev.idinlist })
      assert.is_true(c:set_confirm_result("skip"))
      assert(c:wait(123, 3))
      assert.are.same({ n = 1, true }, pack(emu:offer("Peter", { task = TASK, mode = "notify", number = "7" })))
      assert.are.equal("reserved", emu:snapshot("Peter").userstate)
      assert.are.equal("7", assert(c:wait(122, 3)).number)
      assert.are.same({ n = 1, true }, pack(emu:finish("Peter", "answered")))
      s = emu:snapshot("Peter")
      assert.are.equal("commutated", s.linestate)
      assert.are.equal("fullbusy", s.userstate)
      assert.are.same({ id = 123, name = "tminterfaceclose", idtask = TASK }, c:wait(123, 3))
      assert.are.same({ n = 1, true }, pack(emu:finish("Peter", "failed")))
      s = emu:snapshot("Peter")
      assert.are.equal("ready", s.linestate)
      assert.are.equal("ready", s.userstate)
      c:close()
    end)
  end)

  it("finish failed during a prompt: 123 and the states settle to ready", function()
    with_emulator(two_users(), function(emu)
      local c = inside_peter(emu, { confirm_usage = true })
      assert.is_true(emu:offer("Peter", { task = TASK, mode = "confirm", number = "1" }))
      assert(c:wait(121, 3))
      assert.is_true(emu:finish("Peter", "failed"))
      assert.are.same({ id = 123, name = "tminterfaceclose", idtask = TASK }, c:wait(123, 3))
      local s = emu:snapshot("Peter")
      assert.are.same({ "ready", "ready", false }, { s.userstate, s.linestate, s.confirm_pending })
      c:close()
    end)
  end)

  it("enqueue: a waiting caller is connected back when the user is freed from the external task", function()
    with_emulator(two_users(), function(emu)
      local c = inside_peter(emu)
      assert.is_true(c:set_busy_in_external_task())
      assert.are.same({ n = 1, true }, pack(emu:enqueue { number = "74951234567" }))
      assert.are.equal("fullbusy", emu:snapshot("Peter").userstate)
      assert.is_true(c:set_free_in_external_task())
      local s = emu:snapshot("Peter")
      assert.are.equal("incomingcall", s.linestate)
      assert.are.equal("reserved", s.userstate)
      assert.are.same({ n = 2, "incomingcall", 0x10 }, pack(c:line_state()))
      c:close()
    end)
  end)

  it("set_line changes the line at once; the client sees it and gets the linestate event", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      assert.are.same({ n = 1, true }, pack(emu:set_line("Peter", "hookup")))
      assert.are.equal("hookup", emu:snapshot("Peter").linestate)
      assert.are.same({ state = "hookup", code = 8 }, c:wait("linestate", 3))
      assert.are.same({ n = 2, "hookup", 8 }, pack(c:line_state()))
      assert.is_true(emu:set_line("Peter", "lsOff"))
      assert.are.equal("off", emu:snapshot("Peter").linestate)
      assert.are.equal("wophone", emu:snapshot("Peter").userstate)
      c:close()
    end)
  end)

  it("snapshot: userstate and linestate as names, the other fields as booleans", function()
    with_emulator(two_users(), function(emu)
      local s = emu:snapshot("Peter")
      assert.are.equal("disconnected", s.userstate)
      assert.are.equal("ready", s.linestate)
      for _, k in ipairs { "inside", "external", "connected", "confirm_pending" } do
        assert.are.equal(false, s[k], k)
      end
      local c = inside_peter(emu)
      assert.is_true(c:set_busy_in_external_task())
      s = emu:snapshot("Peter")
      assert.are.same({ "fullbusy", "ready", true, true, true, false },
        { s.userstate, s.linestate, s.inside, s.external, s.connected, s.confirm_pending })
      assert.are.equal("disconnected", emu:snapshot("Ivan").linestate)
      c:close()
    end)
  end)

  it("pause stops answering with sessions open (timeout); pause(false) resumes", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu, { timeout = 0.3 })
      assert.are.same({ n = 1, true }, pack(emu:pause(true)))
      assert_fail("timeout", pack(c:user_state()))
      assert.is_true(emu:snapshot("Peter").connected)
      assert.are.same({ n = 1, true }, pack(emu:pause(false)))
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
    end)
  end)

  it("drop closes the user's sessions abruptly: disconnect, then reconnect", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local d
      c:on("disconnect", function(ev) d = ev end)
      assert.are.same({ n = 1, true }, pack(emu:drop("Peter")))
      assert(c:wait("reconnect", 5))
      assert.are.equal("closed", d.code)
      assert.is_true(emu:snapshot("Peter").connected)
      c:close()
    end)
  end)

  it("stop closes the sessions: a client gets disconnect and calls fail", function()
    local emu = emulator.start { port = 0 }
    local c = connect(emu, { reconnect = false })
    oktell.spawn(function() emu:stop() end)
    local d = assert(c:wait("disconnect", 3))
    assert.is_string(d.message)
    assert.are.equal("closed", d.code)
    assert_fail("closed", pack(c:user_state()))
    c:close()
  end)

  it("serves from its own thread: a child process is answered while this one blocks", function()
    with_emulator(function(emu)
      local p = assert(io.popen(lua_cmd(([[
        local oktell = require "oktell"
        local c = assert(oktell.connect{url = "%s", login = "Peter", password = "123"})
        print(c:line_state())
        print(c:callcenter_enter())
        c:close()]]):format(emu.url))))
      local out = helper.read_all(p) -- blocks this process until the child ends
      p:close()
      assert.are.equal("ready\t4\ntrue\n", out)
      assert.is_true(emu:snapshot("Peter").inside)
    end)
  end)

  it("bin/oktell-emu --listen HOST:PORT --config FILE serves another process", function()
    local cfg = os.tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write('return {licenses = 1, users = {{login = "Zoe", password = "9", name = "Зоя", line = "hookup"},',
      ' {login = "Yan", password = "8"}}}\n')
    f:close()
    -- find a free port, then hand it to the emulator process
    local probe = emulator.start { port = 0 }
    local port = probe.url:match(":(%d+)$")
    probe:stop()
    local p = assert(io.popen("sh -c 'echo $$; exec " .. helper.LUA .. " bin/oktell-emu --listen 127.0.0.1:" .. port
      .. " --config " .. cfg .. "'", "r"))
    local pid = helper.read_line(p)
    local url = helper.read_line(p)
    local ok, err = pcall(function()
      assert.are.equal("ws://127.0.0.1:" .. port, url)
      local z = assert(oktell.connect { url = url, login = "Zoe", password = "9", reconnect = false })
      assert.are.equal("Зоя", z:user_info().name)
      assert.are.same({ n = 2, "hookup", 8 }, pack(z:line_state()))
      assert.is_true(z:callcenter_enter())
      local y = assert(oktell.connect { url = url, login = "Yan", password = "8", reconnect = false })
      assert.are.equal("license", select(3, y:callcenter_enter())) -- licenses = 1
      y:close()
      z:close()
    end)
    os.execute("kill -INT " .. pid)
    p:close()
    os.remove(cfg)
    if not ok then error(err, 0) end
  end)

  it("misuse raises naming the argument", function()
    with_emulator(two_users(), function(emu)
      for _, k in ipairs {
        { "offer", function() emu:offer(42) end }, { "offer", function() emu:offer("Nobody", {}) end },
        { "finish", function() emu:finish("Peter", "maybe") end },
        { "set_line", function() emu:set_line("Peter", "sideways") end },
        { "lock_task", function() emu:lock_task("no-such-task", "X") end },
        { "snapshot", function() emu:snapshot() end }, { "pause", function() emu:pause("yes") end },
        { "drop", function() emu:drop(42) end }, { "enqueue", function() emu:enqueue {} end },
        { "start", function() emulator.start { port = "x" } end },
      } do
        local ok, err = pcall(k[2])
        assert.is_false(ok, k[1])
        assert.matches("bad argument #%d to '" .. k[1] .. "'", err)
        assert.matches("api_contract_spec%.lua:%d+:", err)
      end
    end)
  end)
end)

describe("API.md §0 conventions", function()
  helper.guard()

  it("'refused' when nothing listens, for every URL of a list", function()
    assert_fail("refused", pack(oktell.connect { url = helper.closed_port(), login = "Peter", password = "123" }))
    assert_fail("refused", pack(oktell.connect { url = { helper.closed_port(), helper.closed_port() },
      login = "Peter", password = "123" }))
  end)

  it("'auth' for a bad login or password, and the message never holds the password", function()
    with_emulator(function(emu)
      -- the login hash is md5hex of the password (ASCII here, so CP1251 = ASCII)
      local h = io.popen("printf %s 'bad-pw-77' | md5sum")
      local md5 = helper.read_all(h):match("^(%x+)")
      h:close()
      assert.are.equal(32, #md5)
      for _, o in ipairs { { "Peter", "bad-pw-77" }, { "Nobody", "bad-pw-77" } } do
        local t = pack(oktell.connect { url = emu.url, login = o[1], password = o[2] })
        assert_fail("auth", t)
        assert.is_nil(t[2]:find("bad-pw-77", 1, true))
        assert.is_nil(t[2]:lower():find(md5, 1, true))
      end
    end)
  end)

  it("'timeout' when the server does not answer, also at login", function()
    with_emulator(function(emu)
      assert.is_true(emu:pause(true))
      local loop = require "oktell.loop"
      local t0 = loop.now()
      assert_fail("timeout", pack(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 0.3 }))
      assert.is_true(loop.now() - t0 < 3)
      assert.is_true(emu:pause(false))
    end)
  end)

  it("'closed' for a closed client, 'license', 'not_settable', 'bad_xml'", function()
    with_emulator(two_users(), function(emu)
      local c = connect(emu)
      local i = connect(emu, { login = "Ivan", password = "456" })
      assert.is_true(i:callcenter_enter())
      assert.are.equal("license", select(3, c:callcenter_enter()))
      assert_fail("not_settable", pack(c:set_user_state { state = "lunch" }))
      assert_fail("bad_xml", pack(c:SetUserState("<oktellcommapper")))
      c:close()
      i:close()
      assert_fail("closed", pack(c:user_state()))
    end)
  end)

  it("bad arguments raise naming the argument instead of failing with a code §0 does not list", function()
    with_emulator(function(emu)
      local c = connect(emu)
      for _, k in ipairs {
        { "connect", function() oktell.connect { url = "http://127.0.0.1:4066", login = "Peter", password = "1" } end },
        { "connect", function() oktell.connect { url = emu.url, login = "Pe\255ter", password = "123" } end },
        { "connect", function() oktell.connect { url = emu.url, login = "Peter", password = "\240\159\152\128" } end },
        { "set_user_state", function() c:set_user_state { state = "off", description = "bad\255" } end },
        { "set_task_active", function() c:set_task_active { tasktype = "call", idtask = "\255", active = true } end },
        { "encode", function() xml.encode("userstate", { state = "off", description = "bad\255" }) end },
      } do
        local ok, err = pcall(k[2])
        assert.is_false(ok, k[1])
        assert.matches("bad argument #%d to '" .. k[1] .. "'", err)
        assert.is_nil(err:find("\240\159\152\128", 1, true))
      end
      assert.are.same({ n = 2, "ready", 4 }, pack(c:line_state()))
      c:close()
    end)
  end)

  it("strings are UTF-8 out whatever the XML encoding was", function()
    local v8 = xml.decode(fixture("userinfo.xml"))
    local v16 = xml.decode(utf16(fixture("userinfo.xml"), true))
    assert.are.same(v8, v16)
    assert.are.equal("Петр", v16.name)
    assert.are.equal("Петр", xml.parse(utf16(fixture("userinfo.xml"))).items[3].text)
  end)
end)
