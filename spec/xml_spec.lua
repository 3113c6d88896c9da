-- luacheck: max line length 180
-- oktell.xml (API.md §2): every sample of the reference (spec/fixtures/),
-- both output encodings, the generic tree, misuse, and every bad input of
-- issue 2 item 5.
local oktell = require "oktell"
local helper = require "helper"
local xml = oktell.xml

local function fixture(name)
  local f = assert(io.open("spec/fixtures/" .. name .. ".xml", "rb"))
  local s = helper.read_all(f)
  f:close()
  return s
end

-- Independent oracles: a plain Lua base64 decoder and UTF-16 encoders, so
-- the codec's answers are checked against code that shares nothing with it.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function unbase64(s)
  local bits, out = {}, {}
  s = s:gsub("[^%w%+/=]", "")
  for c in s:gmatch("[^=]") do
    local v = B64:find(c, 1, true) - 1
    for i = 5, 0, -1 do bits[#bits + 1] = helper.band(helper.shr(v, i), 1) end
  end
  for i = 1, #bits - 7, 8 do
    local b = 0
    for j = 0, 7 do b = b * 2 + bits[i + j] end
    out[#out + 1] = string.char(b)
  end
  return table.concat(out)
end

local utf16 = helper.utf16

local function decode_ok(s)
  local v, kind, code = xml.decode(s)
  assert(v, tostring(kind) .. " " .. tostring(code))
  return v, kind
end

local function bad(s, pattern)
  local v, msg, code = xml.decode(s)
  assert.is_nil(v)
  assert.equal("bad_xml", code)
  assert.is_string(msg)
  if pattern then assert.truthy(msg:find(pattern), msg) end
end

local function doc(dataname, body)
  return '<?xml version="1.0" encoding="utf-8"?>\n<oktellcommapper version="80710">' ..
    (dataname and ('<data name="' .. dataname .. '">') or "<data>") ..
    body .. "</data></oktellcommapper>"
end

-- every fixture: name, kind, expected value (from the reference's text)
local TEXT121_PREFIX = "Вы зарезервированы на выполнение задачи"
local B64_121 = fixture("event121"):match("<!%[CDATA%[([%w%+/=]+)%]%]>")

local function event(id, name)
  return {
    id = id, name = name,
    idtask = "0f398eb4-5d78-446c-84f4-6892ab72751b",
    idproject = "ab37c6e6-e983-458a-8621-5e0921ade3d1",
    taskname = "Прозвон клиентов", taskcode = "",
    idlist = "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410",
    idinlist = 67, number = "120151112",
    textb64 = B64_121, text = unbase64(B64_121),
  }
end

-- rights as listed in the reference's sample, read with a pattern (not the codec)
local function sample_rights()
  local s = fixture("userinfo")
  local set = s:match('<property_set name="role".->(.-)</property_set>')
  local rights, titles = {}, {}
  for k, v, t in set:gmatch('<property_cdata key="(%w+)" value="(%d)"><!%[CDATA%[(.-)%]%]></property_cdata>') do
    rights[k] = v == "1"
    titles[k] = t
  end
  return rights, titles
end

local RIGHTS, TITLES = sample_rights()

local CASES = {
  {"userinfo", "userinfo", {
    id = "da803f01-ea77-40fa-bc9d-e2efb36fd5a8", type = 1, type_name = "utUser",
    name = "Петр", isoperator = true,
    group = {id = "c4e3b424-3048-4cce-a2e4-033c532a7d99", name = "Программисты"},
    login = "Peter", password = "123",
    role = {id = "41fbf675-8f73-488e-83ca-c108b915f51d", name = "Администратор"},
    callerid = "", info = "", rights = RIGHTS, right_titles = TITLES,
  }},
  {"getuserstate", "userstate", {state = "ready", code = 1, redirect = false}},
  {"setuserstate1", "userstate",
    {state = "lunch", code = 2, redirect = false, description = "Ушел на обед"}},
  {"setuserstate2", "userstate", {state = "ready", code = 1, redirect = true}},
  {"linestate", "linestate", {state = "ready", code = 4}},
  {"settaskactive", "settaskactive",
    {tasktype = "call", idtask = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", active = true}},
  {"settaskactiveresult", "settaskactiveresult",
    {success = false, errormessage = "Задачу монопольно редактирует Сидоров Иван"}},
  {"confirmresult", "confirmresult", {result = "ok"}},
  {"event121", "event", event(121, "tminterfaceconfirm")},
  {"event122", "event", event(122, "tminterfacereserve")},
  {"event123", "event",
    {id = 123, name = "tminterfaceclose", idtask = "0f398eb4-5d78-446c-84f4-6892ab72751b"}},
}

describe("oktell.xml.decode of the reference's samples", function()
  it("the rights oracle found the sample's 45 rights", function()
    local n = 0
    for _ in pairs(RIGHTS) do n = n + 1 end
    assert.equal(45, n)
    assert.equal("Расширенное рабочее место", TITLES.extwp)
    assert.equal("Редактирование клиентов", TITLES.viewofficeclientsedit)
  end)

  for _, c in ipairs(CASES) do
    local name, kind, want = c[1], c[2], c[3]
    it(name .. " decodes every field", function()
      local s = fixture(name)
      assert.truthy(s:find('encoding="utf-16"', 1, true)) -- stored as printed
      local v, k = decode_ok(s)
      assert.equal(kind, k)
      assert.same(want, v)
    end)

    for _, enc in ipairs {"utf-8", "utf-16"} do
      it(name .. " re-encodes in " .. enc .. " and decodes to the same value", function()
        local v = decode_ok(fixture(name))
        local out = xml.encode(kind, v, {encoding = enc})
        assert.is_string(out)
        if enc == "utf-16" then
          assert.equal("\255\254", out:sub(1, 2))
          assert.equal(0, #out % 2)
          assert.truthy(out:find(utf16('encoding="utf-16"'), 1, true))
          assert.truthy(out:find(utf16('<oktellcommapper version="80710">'), 1, true))
        else
          assert.equal('<?xml version="1.0" encoding="utf-8"?>', out:match("^[^\n]*"))
          assert.truthy(out:find('<oktellcommapper version="80710">', 1, true))
          assert.truthy(helper.utf8_len(out))
        end
        local v2, k2 = decode_ok(out)
        assert.equal(kind, k2)
        assert.same(v, v2)
      end)
    end

    it(name .. " decodes from UTF-16LE and UTF-16BE with a BOM", function()
      local s = fixture(name)
      assert.same(want, (decode_ok(utf16(s, false, true))))
      assert.same(want, (decode_ok(utf16(s, true, true))))
      assert.same(want, (decode_ok("\239\187\191" .. s))) -- UTF-8 BOM
    end)
  end

  it("event 121 text is the base64 decoded Russian text", function()
    local v = decode_ok(fixture("event121"))
    assert.equal(TEXT121_PREFIX, v.text:sub(1, #TEXT121_PREFIX))
    assert.truthy(v.text:find("Звонок на номер: 120151112", 1, true))
    assert.truthy(helper.utf8_len(v.text))
  end)

  it("the confirmresult sample keeps its stray wiki <span> and decodes", function()
    local s = fixture("confirmresult")
    assert.truthy(s:find('<span style="color:darkviolet">', 1, true))
    assert.same({result = "ok"}, (decode_ok(s)))
  end)
end)

describe("oktell.xml.decode values", function()
  it("accepts confirmresult as 0/1/2 and as words", function()
    for i, w in ipairs {"ok", "skip", "delete"} do
      local set = '<property_set name="confirmresult"><property_simple key="result" value="%s" /></property_set>'
      assert.same({result = w}, (decode_ok(doc("confirmresult", set:format(i - 1)))))
      assert.same({result = w}, (decode_ok(doc("confirmresult", set:format(w)))))
    end
  end)

  it("settaskactive: 1 activates, 2 deactivates; text tasks", function()
    local body = '<property_set name="params"><property_simple key="tasktype" value="text" />' ..
      '<property_simple key="idtask" value="t1" /><property_simple key="active" value="2" /></property_set>'
    assert.same({tasktype = "text", idtask = "t1", active = false}, (decode_ok(doc("settaskactive", body))))
  end)

  it("every user and line state code decodes to its name", function()
    for code = 0, 7 do
      local name = oktell.userstate[code]
      local s = doc("userstate", ('<property_set name="currentstateinfo"><property_simple key="state" value="%d" /></property_set>'):format(code))
      if name then
        assert.same({state = name, code = code}, (decode_ok(s)))
      else
        bad(s, "unknown state")
      end
    end
    for bit = 0, 12 do
      local code = helper.shl(1, bit)
      local s = doc("linestate", ('<property_set name="currentlinestateinfo"><property_simple key="state" value="%d" /></property_set>'):format(code))
      assert.same({state = oktell.linestate[code], code = code}, (decode_ok(s)))
    end
  end)

  it("ignores unknown elements and attributes", function()
    local body = '<x-new a="1"><property_simple key="state" value="3" /></x-new>' ..
      '<property_set name="currentstateinfo" extra="y"><property_simple key="state" value="2" future="z" />' ..
      '<property_simple key="mood" value="good" /></property_set>'
    assert.same({state = "lunch", code = 2}, (decode_ok(doc("userstate", body))))
  end)

  it("decodes entities and character references in attributes and text", function()
    local body = '<property_simple key="success" value="1" /><property_cdata key="errormessage">' ..
      '<![CDATA[a]]>&amp;&lt;&#38;&#13;<![CDATA[]]]]><![CDATA[>]]></property_cdata>'
    assert.same({success = true, errormessage = "a&<&\r]]>"}, (decode_ok(doc("settaskactiveresult", body))))
    local v = decode_ok(doc(nil, '<event id="123"><property_simple key="idtask" value="a&amp;b&#38;c&quot;&lt;" /></event>'))
    assert.equal('a&b&c"<', v.idtask)
  end)

  it("accepts UTF-8 with an encoding=\"utf-16\" declaration and BOM-less UTF-16", function()
    local s = fixture("linestate")
    assert.same({state = "ready", code = 4}, (decode_ok(s)))
    assert.same({state = "ready", code = 4}, (decode_ok(utf16(s:gsub("^%s+", ""), false, false))))
    assert.same({state = "ready", code = 4}, (decode_ok(utf16(s:gsub("^%s+", ""), true, false))))
  end)

  it("carries characters beyond the BMP through UTF-16", function()
    local v = {success = false, errormessage = "emoji 😀 and Ж"}
    for _, enc in ipairs {"utf-8", "utf-16"} do
      assert.same(v, (decode_ok(xml.encode("settaskactiveresult", v, {encoding = enc}))))
    end
  end)
end)

describe("oktell.xml.encode", function()
  local ROUND = {
    {"userinfo", {id = "u1", login = "Ivan"}},
    {"userinfo", {id = "u1", login = "Ivan", name = "Иван", type = 1, type_name = "utUser",
      isoperator = false, group = {id = "g"}, role = {id = "r", name = "Оператор"},
      password = "", callerid = "100", info = "x]]>y\r\nz",
      rights = {extwp = true, viewadmin = false, canusefax = true},
      right_titles = {extwp = "Расширенное", viewadmin = "Админ"}}},
    {"userstate", {state = "off", code = 3}},
    {"userstate", {state = "fullbusy", code = 5, redirect = true, description = "<&>\"'"}},
    {"linestate", {state = "reservedbytask", code = 0x1000}},
    {"settaskactive", {tasktype = "text", idtask = "id", active = false}},
    {"settaskactiveresult", {success = true}},
    {"confirmresult", {result = "delete"}},
    {"event", {id = 122, name = "tminterfacereserve", idtask = "t", idinlist = 1,
      text = "Привет", textb64 = "0J/RgNC40LLQtdGC"}},
    {"event", {id = 123, name = "tminterfaceclose", idtask = "t"}},
  }
  for i, c in ipairs(ROUND) do
    it(("decode(encode(%s, v)) == v (%d)"):format(c[1], i), function()
      for _, enc in ipairs {"utf-8", "utf-16"} do
        local v, k = decode_ok(xml.encode(c[1], c[2], {encoding = enc}))
        assert.equal(c[1], k)
        assert.same(c[2], v)
      end
    end)
  end

  it("completes derived fields", function()
    assert.same({state = "lunch", code = 2}, (decode_ok(xml.encode("userstate", {code = 2}))))
    assert.same({state = "lunch", code = 2}, (decode_ok(xml.encode("userstate", {state = "usLunch"}))))
    assert.same({state = "hookup", code = 8}, (decode_ok(xml.encode("linestate", {state = "hookup"}))))
    assert.same({id = 121, name = "tminterfaceconfirm", idtask = "t", text = "hi", textb64 = "aGk="},
      (decode_ok(xml.encode("event", {name = "tminterfaceconfirm", idtask = "t", text = "hi"}))))
    assert.same({id = "u", login = "l", type = 1, type_name = "utUser"},
      (decode_ok(xml.encode("userinfo", {id = "u", login = "l", type = 1}))))
    assert.same({result = "skip"}, (decode_ok(xml.encode("confirmresult", {result = 1}))))
  end)

  it("writes the reference's layout", function()
    local s = xml.encode("userstate", {state = "lunch", description = "Ушел на обед", redirect = false})
    assert.truthy(s:find('<data name="userstate">', 1, true))
    assert.truthy(s:find('<property_set name="currentstateinfo">', 1, true))
    assert.truthy(s:find('<property_simple key="state" value="2" name="usLunch" />', 1, true))
    assert.truthy(s:find('<property_cdata key="description"><![CDATA[Ушел на обед]]></property_cdata>', 1, true))
    assert.truthy(s:find('<property_simple key="redirect" value="0" />', 1, true))
    local e = xml.encode("settaskactive", {tasktype = "call", idtask = "x", active = false})
    assert.truthy(e:find('<property_simple key="active" value="2" />', 1, true))
  end)

  it("raises on misuse, naming the argument", function()
    local function raises(pat, f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      assert.truthy(tostring(err):find(pat), tostring(err))
    end
    raises("bad argument #1 to 'encode'", xml.encode, 42, {})
    raises("bad argument #1 to 'encode'.*unknown kind", xml.encode, "nope", {})
    raises("bad argument #2 to 'encode'", xml.encode, "userstate", "ready")
    raises("bad argument #2 to 'encode'.*disagree", xml.encode, "userstate", {state = "lunch", code = 1})
    raises("bad argument #2 to 'encode'.*unknown user state", xml.encode, "userstate", {state = "asleep"})
    raises("bad argument #2 to 'encode'", xml.encode, "userstate", {code = 4})
    raises("bad argument #2 to 'encode'", xml.encode, "linestate", {code = 6})
    raises("bad argument #2 to 'encode'", xml.encode, "linestate", {state = "ready", code = 8})
    raises("bad argument #2 to 'encode'.*missing", xml.encode, "userinfo", {id = "x"})
    raises("bad argument #2 to 'encode'", xml.encode, "userinfo", {id = "x", login = {}})
    raises("bad argument #2 to 'encode'", xml.encode, "settaskactive", {tasktype = "fax", idtask = "x", active = true})
    raises("bad argument #2 to 'encode'", xml.encode, "confirmresult", {result = "maybe"})
    raises("bad argument #2 to 'encode'", xml.encode, "event", {id = 121, name = "tminterfaceclose", idtask = "t"})
    raises("bad argument #2 to 'encode'", xml.encode, "event", {id = 124, idtask = "t"})
    raises("bad argument #2 to 'encode'.*base64", xml.encode, "event", {id = 123, idtask = "t", textb64 = "!!"})
    raises("bad argument #2 to 'encode'.*control", xml.encode, "settaskactiveresult",
      {success = true, errormessage = "a\1b"})
    raises("bad argument #2 to 'encode'", xml.encode, "userstate", {state = "ready", fn = print})
    raises("bad argument #3 to 'encode'", xml.encode, "userstate", {state = "ready"}, {encoding = "latin1"})
    raises("bad argument #3 to 'encode'", xml.encode, "userstate", {state = "ready"}, "utf-16")
    raises("bad argument #1 to 'decode'", xml.decode, nil)
    raises("bad argument #1 to 'parse'", xml.parse, {})
    raises("bad argument #1 to 'build'", xml.build, "x")
    raises("bad argument #1 to 'build'", xml.build, {items = {{tag = "script"}}})
    raises("bad argument #2 to 'build'", xml.build, {}, {encoding = 16})
  end)
end)

describe("oktell.xml.parse / build", function()
  it("gives the generic tree of the userinfo sample", function()
    local d = assert(xml.parse(fixture("userinfo")))
    assert.equal("80710", d.version)
    assert.equal("userinfo", d.name)
    assert.same({tag = "property_simple", key = "id", value = "da803f01-ea77-40fa-bc9d-e2efb36fd5a8"}, d.items[1])
    assert.same({tag = "property_simple", key = "type", value = "1", name = "utUser"}, d.items[2])
    assert.same({tag = "property_cdata", key = "name", text = "Петр"}, d.items[3])
    assert.same({tag = "property_cdata", key = "role", value = "41fbf675-8f73-488e-83ca-c108b915f51d",
      text = "Администратор"}, d.items[8])
    assert.same({tag = "property_cdata", key = "info", text = ""}, d.items[10])
    local coll = d.items[11]
    assert.equal("property_collection", coll.tag)
    assert.equal("properties", coll.name)
    assert.equal("1", coll.count)
    local set = coll.items[1]
    assert.equal("property_set", set.tag)
    assert.equal("role", set.name)
    assert.equal("41fbf675-8f73-488e-83ca-c108b915f51d", set.id)
    assert.equal(45, #set.items)
    assert.same({tag = "property_cdata", key = "extwp", value = "1", text = "Расширенное рабочее место"}, set.items[1])
  end)

  it("gives events with their id and name", function()
    local d = assert(xml.parse(fixture("event123")))
    assert.is_nil(d.name)
    assert.same({{tag = "event", id = "123", name = "tminterfaceclose", items = {
      {tag = "property_simple", key = "idtask", value = "0f398eb4-5d78-446c-84f4-6892ab72751b"}}}}, d.items)
  end)

  for _, c in ipairs(CASES) do
    it("build(parse(s)) keeps every attribute and CDATA of " .. c[1], function()
      local s = fixture(c[1])
      local d = assert(xml.parse(s))
      for _, enc in ipairs {"utf-8", "utf-16"} do
        local out = assert(xml.build(d, {encoding = enc}))
        assert.same(d, assert(xml.parse(out)))
        -- and the typed view is unchanged
        assert.same(c[3], (decode_ok(out)))
      end
      -- every attribute value and CDATA of the sample is in the rebuilt text
      local out = xml.build(d)
      -- (of the elements of the format: the wiki's <span> is not one)
      local known = {oktellcommapper = true, data = true, property_simple = true,
        property_cdata = true, property_set = true, property_collection = true, event = true}
      local body = s:match("%?>(.*)$")
      local checked = 0
      for tag, attrs in body:gmatch("<([%w_]+)([^>]*)>") do
        if known[tag] then
          for k, v in attrs:gmatch('([%w_]+)="([^"]*)"') do
            assert.truthy(out:find(k .. '="' .. v .. '"', 1, true), k .. "=" .. v)
            checked = checked + 1
          end
        end
      end
      assert.truthy(checked >= 3)
      for t in s:gmatch("<!%[CDATA%[(.-)%]%]>") do
        assert.truthy(out:find("<![CDATA[" .. t .. "]]>", 1, true), t)
      end
    end)
  end

  it("keeps unknown attributes and awkward text", function()
    local d = {version = "80710", name = "custom", items = {
      {tag = "property_set", name = "s", extra = "e&\"<>\t\n", items = {
        {tag = "property_cdata", key = "k", text = "]]>\r\n\tx"},
        {tag = "property_simple", key = "n", value = "1"},
      }},
    }}
    assert.same(d, assert(xml.parse(xml.build(d))))
    assert.same(d, assert(xml.parse(xml.build(d, {encoding = "utf-16"}))))
  end)

  it("rejects bad input like decode does", function()
    local v, msg, code = xml.parse("<root/>")
    assert.is_nil(v)
    assert.equal("bad_xml", code)
    assert.truthy(msg:find("oktellcommapper"))
  end)
end)

describe("oktell.xml bad input", function()
  it("not XML", function()
    bad("")
    bad("hello")
    bad("{\"json\": true}")
    bad("\0\0\0\0")
  end)
  it("wrong root", function()
    bad('<oktell version="80710"><data name="linestate"/></oktell>', "oktellcommapper")
  end)
  it("no data or wrong data name", function()
    bad('<oktellcommapper version="80710"/>', "data")
    bad(doc("bogus", ""), "bogus")
    bad(doc(nil, "<property_simple key='state' value='1'/>"))
  end)
  it("missing required fields", function()
    local set = '<property_set name="x">%s</property_set>'
    bad(doc("userinfo", '<property_cdata key="login"><![CDATA[a]]></property_cdata>'), "id")
    bad(doc("userinfo", '<property_simple key="id" value="a" />'), "login")
    bad(doc("userstate", set:format('<property_simple key="redirect" value="0" />')), "state")
    bad(doc("linestate", set:format("")), "state")
    bad(doc("settaskactive", set:format('<property_simple key="idtask" value="a" /><property_simple key="active" value="1" />')), "tasktype")
    bad(doc("settaskactive", set:format('<property_simple key="tasktype" value="call" /><property_simple key="active" value="1" />')), "idtask")
    bad(doc("settaskactive", set:format('<property_simple key="tasktype" value="call" /><property_simple key="idtask" value="a" />')), "active")
    bad(doc("settaskactiveresult", set:format("")), "success")
    bad(doc("confirmresult", set:format("")), "result")
    bad(doc(nil, '<event id="121"></event>'), "idtask")
    bad(doc(nil, '<event name="tminterfaceclose"><property_simple key="idtask" value="a" /></event>'), "id")
  end)
  it("non-numeric or unknown codes", function()
    local st = '<property_set name="s"><property_simple key="state" value="%s" /></property_set>'
    bad(doc("userstate", st:format("ready")), "number")
    bad(doc("userstate", st:format("")), "number")
    bad(doc("userstate", st:format("4")), "unknown")
    bad(doc("userstate", st:format("99999999999999999999999")), "number")
    bad(doc("linestate", st:format("6")), "unknown")
    bad(doc("linestate", st:format("0")), "unknown")
    bad(doc("linestate", st:format("0x4")), "number")
    bad(doc("userinfo", '<property_simple key="id" value="a" /><property_cdata key="login"><![CDATA[b]]></property_cdata><property_simple key="type" value="user" />'), "type")
    bad(doc(nil, '<event id="12x"><property_simple key="idtask" value="a" /></event>'), "id")
    bad(doc(nil, '<event id="124"><property_simple key="idtask" value="a" /></event>'), "unknown event")
    bad(doc(nil, '<event id="121"><property_simple key="idtask" value="a" /><property_simple key="idinlist" value="six" /></event>'), "idinlist")
    bad(doc("confirmresult", '<property_simple key="result" value="3" />'), "result")
    bad(doc("settaskactive", '<property_simple key="tasktype" value="fax" /><property_simple key="idtask" value="a" /><property_simple key="active" value="1" />'), "tasktype")
    bad(doc("settaskactiveresult", '<property_simple key="success" value="maybe" />'), "success")
  end)
  it("invalid base64", function()
    local ev = '<event id="121"><property_simple key="idtask" value="a" /><property_cdata key="textb64"><![CDATA[%s]]></property_cdata></event>'
    bad(doc(nil, ev:format("!!!notbase64")), "base64")
    bad(doc(nil, ev:format("abc")), "base64")
    bad(doc(nil, ev:format("/w==")), "UTF%-8") -- decodes to a lone 0xFF byte
    assert.equal("", decode_ok(doc(nil, ev:format(""))).text)
  end)
  it("broken UTF-16", function()
    local s = utf16(fixture("linestate"), false, true)
    bad(s:sub(1, -2), "UTF%-16")                                   -- odd length
    bad(s:sub(1, 40) .. "\0\216" .. s:sub(41), "UTF%-16")          -- lone high surrogate
    bad(s:sub(1, 40) .. "\0\220" .. s:sub(41), "UTF%-16")          -- lone low surrogate
    bad(utf16(fixture("linestate"), true, true):sub(1, -2), "UTF%-16")
  end)
  it("invalid UTF-8", function()
    bad(doc("settaskactiveresult", '<property_simple key="success" value="\255" />'))
  end)
  it("truncated input", function()
    for _, c in ipairs(CASES) do
      local s = fixture(c[1])
      local cut = s:find("</oktellcommapper>", 1, true)
      for _, n in ipairs {1, 10, math.floor(#s / 3), math.floor(#s / 2), cut} do
        bad(s:sub(1, n))
      end
    end
  end)
  it("a 100 MB document fails fast", function()
    local unit = '<property_simple key="a" value="b" />'
    local big = doc("userinfo", unit:rep(math.floor(100 * 1024 * 1024 / #unit)))
    assert.truthy(#big > 100 * 1024 * 1024 - 100)
    local t = os.clock()
    bad(big, "OKT_MAX_XML_BYTES")
    assert.truthy(os.clock() - t < 2) -- bounded work, not a speed goal
  end)
  it("size limit: at 16 MiB parses, one byte over fails", function()
    local limit = 16 * 1024 * 1024
    local head = doc("linestate", '<property_simple key="state" value="4" />')
    -- padding in comments: libxml2 refuses a single 10 MB run of blanks
    local pad = "<!--" .. ("-"):rep(0) .. ("c"):rep(993) .. "-->"
    local n = math.floor((limit - #head) / #pad)
    local at = head .. pad:rep(n) .. (" "):rep(limit - #head - n * #pad)
    assert.equal(limit, #at)
    assert.same({state = "ready", code = 4}, (decode_ok(at)))
    bad(at .. " ", "OKT_MAX_XML_BYTES")
  end)
  it("10,000-deep nesting fails fast", function()
    local t = os.clock()
    bad(doc("userstate", ("<property_set>"):rep(10000) .. ("</property_set>"):rep(10000)), "deeper")
    bad(("<a>"):rep(10000))
    assert.truthy(os.clock() - t < 2) -- bounded work, not a speed goal
  end)
  it("depth limit: 64 levels parse, 65 fail", function()
    -- root and data are levels 1 and 2
    local function nest(n)
      return doc("linestate", ('<property_set name="s">'):rep(n) ..
        '<property_simple key="state" value="4" />' .. ("</property_set>"):rep(n))
    end
    assert.same({state = "ready", code = 4}, (decode_ok(nest(61))))
    bad(nest(62), "deeper")
    local d = assert(xml.parse(nest(61)))
    local leaf = d.items[1]
    for _ = 1, 60 do leaf = leaf.items[1] end
    assert.same({tag = "property_simple", key = "state", value = "4"}, leaf.items[1])
    -- build takes Lua tables through lokt_to_json (OKT_MAX_JSON_DEPTH = 64
    -- table levels, two per XML level), so round-trip a shallower one
    d = assert(xml.parse(nest(25)))
    assert.same(d, assert(xml.parse(assert(xml.build(d)))))
  end)
  it("element limit: 100000 parse, 100001 fail", function()
    local unit = '<property_simple key="x" />'
    local at = doc("linestate", '<property_simple key="state" value="4" />' .. unit:rep(100000 - 3))
    assert.same({state = "ready", code = 4}, (decode_ok(at)))
    bad(doc("linestate", '<property_simple key="state" value="4" />' .. unit:rep(100000 - 2)), "OKT_MAX_XML_ITEMS")
  end)
  it("never loads external entities (XXE) nor the network", function()
    bad('<?xml version="1.0"?><!DOCTYPE oktellcommapper [<!ENTITY e SYSTEM "file:///etc/passwd">]>' ..
      '<oktellcommapper><data name="linestate"><property_simple key="state" value="&e;" /></data></oktellcommapper>', "DOCTYPE")
    bad('<?xml version="1.0"?><!DOCTYPE oktellcommapper SYSTEM "http://127.0.0.1:9/evil.dtd">' ..
      '<oktellcommapper><data name="linestate"><property_simple key="state" value="4" /></data></oktellcommapper>', "DOCTYPE")
    bad('<oktellcommapper><data name="linestate"><property_simple key="state" value="&ext;" /></data></oktellcommapper>')
    bad('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><oktellcommapper/>')
  end)
  it("never expands entities without bound (billion laughs)", function()
    local ents = {'<!ENTITY a "aaaaaaaaaa">'}
    local prev = "a"
    for i = 1, 9 do
      local name = "e" .. i
      ents[#ents + 1] = ('<!ENTITY %s "%s">'):format(name, ("&" .. prev .. ";"):rep(10))
      prev = name
    end
    local t = os.clock()
    bad('<?xml version="1.0"?><!DOCTYPE oktellcommapper [' .. table.concat(ents) .. ']>' ..
      '<oktellcommapper><data name="settaskactiveresult"><property_simple key="success" value="1" />' ..
      '<property_cdata key="errormessage">&e9;</property_cdata></data></oktellcommapper>', "DOCTYPE")
    assert.truthy(os.clock() - t < 2) -- bounded work, not a speed goal
  end)
end)
