-- types/: the LuaCATS stubs match the live module and docs/API.md §1-5.
-- The stubs are read with plain pattern matching: `---@class NAME` and its
-- `---@field` lines, the variable the class is bound to (`local Client = {}`),
-- `function VAR.name(` / `function VAR:name(`, and `---@alias` values.
local oktell = require "oktell"
local emulator = require "oktell.emulator"

local STUBS = { "types/oktell.lua", "types/oktell/emulator.lua" }

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- classes[name] = {fields = {name = true}, functions = {name = true}};
-- aliases[name] = {value = true} (string literals only)
local function parse_stubs(files)
  local classes, aliases, var_class = {}, {}, {}
  local function class(name)
    classes[name] = classes[name] or { fields = {}, functions = {} }
    return classes[name]
  end
  for _, file in ipairs(files) do
    local current, alias
    for line in (slurp(file) .. "\n"):gmatch("([^\n]*)\n") do
      local cname = line:match("^%-%-%-@class%s+%b()%s*([%w_%.]+)") or line:match("^%-%-%-@class%s+([%w_%.]+)")
      local aname, arest = line:match("^%-%-%-@alias%s+([%w_%.]+)(.*)$")
      if cname then
        current, alias = class(cname), nil
        current.name = cname
      elseif aname then
        alias, current = {}, nil
        aliases[aname] = alias
        for v in arest:gmatch('"([^"]*)"') do alias[v] = true end
      elseif line:find("^%-%-%-") then
        local f = line:match("^%-%-%-@field%s+([%a_][%w_]*)")
        if f and current then current.fields[f] = true end
        local v = line:match('^%-%-%-|%s*"([^"]*)"')
        if v and alias then alias[v] = true end
      else
        if current then
          local var = line:match("^local%s+([%w_]+)%s*=") or line:match("^([%w_%.]+)%s*=")
          if var then var_class[var] = current end
        end
        current, alias = nil, nil
        local var, name = line:match("^function%s+([%w_%.]+)[%.:]([%w_]+)%s*%(")
        if var then
          local c = var_class[var]
          assert(c, file .. ": function " .. var .. "." .. name .. " of no class")
          c.functions[name] = true
        end
      end
    end
  end
  return classes, aliases
end

local function keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- The public names (not _private, not __meta) on an object's metatable
-- chain (through __index tables).
local function methods_of(obj)
  local names, seen = {}, {}
  local mt = getmetatable(obj)
  while type(mt) == "table" and not seen[mt] do
    seen[mt] = true
    local idx = rawget(mt, "__index")
    if type(idx) ~= "table" then break end
    for k, v in pairs(idx) do
      if type(k) == "string" and not k:find("^_") and type(v) == "function" then names[k] = true end
    end
    mt = getmetatable(idx)
  end
  return names
end

local function member(c, name)
  return c.fields[name] or c.functions[name]
end

-- docs/API.md sections 1 to 5.
local function api_text()
  local doc = slurp("docs/API.md")
  local a = assert(doc:find("\n## 1%."), "API.md §1")
  local b = assert(doc:find("\n## 6%."), "API.md §6")
  return doc:sub(a, b), doc
end

describe("types/ stubs", function()
  local classes, aliases = parse_stubs(STUBS)
  local emu, client

  setup(function()
    emu = assert(emulator.start { port = 0 })
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 5 })
  end)

  teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  it("declare the classes they are checked against", function()
    for _, name in ipairs({ "oktell", "oktell.xml", "oktell.Client", "oktell.UserStateEnum",
                            "oktell.LineStateEnum", "oktell.emulator", "oktell.Emulator",
                            "oktell.ConnectOptions", "oktell.EmulatorOptions", "oktell.Recorder",
                            "oktell.Replay", "oktell.ReplayOptions", "oktell.ReplayStatus" }) do
      assert.is_table(classes[name], name)
    end
  end)

  -- Both ways: every live name has a stub, every stub names something live.
  local function both_ways(cname, live, exists)
    local c = classes[cname]
    for _, name in ipairs(keys(live)) do
      assert.is_truthy(member(c, name), cname .. ": no stub for live '" .. name .. "'")
    end
    for _, list in ipairs({ c.fields, c.functions }) do
      for _, name in ipairs(keys(list)) do
        assert.is_truthy(exists(name), cname .. ": stub '" .. name .. "' names nothing in the module")
      end
    end
  end

  it("cover the oktell module, and nothing more", function()
    local live = {}
    for k in pairs(oktell) do live[k] = true end
    both_ways("oktell", live, function(n) return oktell[n] ~= nil end)
    -- functions are stubbed as functions
    for name in pairs(classes.oktell.functions) do assert.is_function(oktell[name], name) end
  end)

  it("cover oktell.xml", function()
    local live = {}
    for k in pairs(oktell.xml) do live[k] = true end
    both_ways("oktell.xml", live, function(n) return oktell.xml[n] ~= nil end)
  end)

  it("cover the state enums: every name, the reference names, name() and settable()", function()
    local live = { name = true, settable = true }
    for k in pairs(oktell.userstate) do live[k] = true end
    both_ways("oktell.UserStateEnum", live, function(n) return oktell.userstate[n] ~= nil end)
    live = { name = true }
    for k in pairs(oktell.linestate) do live[k] = true end
    both_ways("oktell.LineStateEnum", live, function(n) return oktell.linestate[n] ~= nil end)
    for k in pairs(oktell.userstate) do
      local _, ref = oktell.userstate.name(k)
      assert.is_truthy(classes["oktell.UserStateEnum"].fields[ref], ref)
      assert.is_truthy(aliases["oktell.UserStateName"][k], k)
    end
    for k in pairs(oktell.linestate) do
      local _, ref = oktell.linestate.name(k)
      assert.is_truthy(classes["oktell.LineStateEnum"].fields[ref], ref)
      assert.is_truthy(aliases["oktell.LineStateName"][k], k)
    end
    for v in pairs(aliases["oktell.UserStateName"]) do assert.is_number(oktell.userstate[v], v) end
    for v in pairs(aliases["oktell.LineStateName"]) do assert.is_number(oktell.linestate[v], v) end
  end)

  it("cover every method of a connected client, both styles", function()
    local live = methods_of(client)
    assert.is_true(live.user_info and live.GetCurrentUserFullInfo and live.on or false)
    both_ways("oktell.Client", live, function(n) return type(client[n]) == "function" end)
  end)

  it("cover the emulator module and an emulator's methods and fields", function()
    local live = {}
    for k in pairs(emulator) do live[k] = true end
    both_ways("oktell.emulator", live, function(n) return emulator[n] ~= nil end)
    live = methods_of(emu)
    for k in pairs(emu) do
      if type(k) == "string" and not k:find("^_") then live[k] = true end
    end
    both_ways("oktell.Emulator", live, function(n) return emu[n] ~= nil end)
  end)

  it("cover a recorder and a replay, their methods and fields", function()
    local path = os.tmpname()
    local rec = assert(oktell.record(client, path))
    both_ways("oktell.Recorder", methods_of(rec), function(n) return type(rec[n]) == "function" end)
    assert.is_true(rec:stop())
    local rep = assert(emulator.replay(path))
    os.remove(path)
    local live = methods_of(rep)
    for k in pairs(rep) do
      if type(k) == "string" and not k:find("^_") then live[k] = true end
    end
    both_ways("oktell.Replay", live, function(n) return rep[n] ~= nil end)
    local status = {}
    for k in pairs(rep:status()) do status[k] = true end
    both_ways("oktell.ReplayStatus", status, function(n) return status[n] end)
    rep:stop()
  end)

  it("name every event, log level and XML kind the module knows", function()
    local ev = aliases["oktell.EventName"]
    for name in pairs(ev) do
      local id = client:on(name, function() end)
      assert.is_true(client:off(id), name)
    end
    for _, lvl in ipairs(require("oktell.log").levels) do
      assert.is_truthy(aliases["oktell.LogLevel"][lvl], lvl)
    end
    assert.are.equal(#require("oktell.log").levels, #keys(aliases["oktell.LogLevel"]))
    for _, k in ipairs(oktell.xml.kinds) do assert.is_truthy(aliases["oktell.XmlKind"][k], k) end
    assert.are.equal(#oktell.xml.kinds, #keys(aliases["oktell.XmlKind"]))
  end)

  it("cover every connect option the client accepts", function()
    local ok, err = pcall(oktell.connect, { url = emu.url, login = "Peter", no_such_option = 1 })
    assert.is_false(ok)
    local list = tostring(err):match("%(known: ([^)]*)%)")
    if not list then
      return pending("the client's unknown-option error lists no known options: " .. tostring(err))
    end
    local live = {}
    for name in list:gmatch("[%w_]+") do live[name] = true end
    both_ways("oktell.ConnectOptions", live, function(n) return live[n] end)
  end)

  describe("against docs/API.md §1-5", function()
    local text = api_text()

    it("every function and method named there has a stub", function()
      local where = {
        ["oktell%.xml%.([%a_][%w_]*)"] = "oktell.xml",
        ["oktell%.userstate%.([%a_][%w_]*)"] = "oktell.UserStateEnum",
        ["oktell%.linestate%.([%a_][%w_]*)"] = "oktell.LineStateEnum",
        ["oktell%.([%a_][%w_]*)"] = "oktell",
        ["client:([%a_][%w_]*)"] = "oktell.Client",
        ["emu[:%.]([%a_][%w_]*)"] = "oktell.Emulator",
        ["emulator%.([%a_][%w_]*)"] = "oktell.emulator",
        ["%f[%w]rep[:%.]([%a_][%w_]*)"] = "oktell.Replay",
        ["%f[%w]rec:([%a_][%w_]*)"] = "oktell.Recorder",
      }
      local n = 0
      for pattern, cname in pairs(where) do
        for name in text:gmatch(pattern) do
          n = n + 1
          assert.is_truthy(member(classes[cname], name), cname .. ": API.md names '" .. name .. "'")
        end
      end
      assert.is_true(n > 40, "API.md names " .. n)
    end)

    it("every row of the method table has both methods stubbed", function()
      local rows = 0
      for line in text:gmatch("[^\n]+") do
        local m = line:match("^| `client:([%w_]+)[%({]")
        if m then
          rows = rows + 1
          assert.is_truthy(classes["oktell.Client"].functions[m], m)
          local com = line:match("| ([%w_]+) |$")
          if com then assert.is_truthy(classes["oktell.Client"].functions[com], com) end
        end
      end
      assert.is_true(rows >= 14, "rows " .. rows)
    end)

    it("every connect option of the options table is a field", function()
      local opts = text:match("Every option and its default:%s*\n(.-)\n\n")
      assert.is_string(opts)
      local n = 0
      for line in opts:gmatch("[^\n]+") do
        for name in (line:match("^| ([^|]+) |") or ""):gmatch("`([%w_]+)`") do
          n = n + 1
          assert.is_truthy(classes["oktell.ConnectOptions"].fields[name], name)
        end
      end
      assert.is_true(n >= 12, "options " .. n)
    end)

    it("every emulator.start option and user/task field is a field", function()
      local block = text:match("emulator%.start(%b{})")
      assert.is_string(block)
      local fields = {}
      for _, c in ipairs({ "oktell.EmulatorOptions", "oktell.EmulatorUser", "oktell.EmulatorTask" }) do
        for k in pairs(classes[c].fields) do fields[k] = true end
      end
      for name in block:gmatch("([%a_][%w_]*)%s*=") do
        assert.is_truthy(fields[name], name)
      end
    end)

    it("every event name is in the oktell.EventName alias, and no other", function()
      local para = text:match("Event names:(.-)Events of one client")
      assert.is_string(para)
      local names = {}
      for name in para:gmatch('`"([%w_]+)"`') do names[name] = true end
      names.event = nil -- "with the `"event"` table above": the XML kind of their table
      assert.are.same(names, aliases["oktell.EventName"])
    end)

    it("every failure code of §0 is in the oktell.ErrorCode alias", function()
      local _, doc = api_text()
      local para = doc:match("## 0%. Conventions(.-)%- Misuse")
      local n = 0
      for code in para:gmatch('`"([%w_]+)"`') do
        n = n + 1
        assert.is_truthy(aliases["oktell.ErrorCode"][code], code)
      end
      assert.is_true(n >= 12)
    end)
  end)
end)
