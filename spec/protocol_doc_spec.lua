-- docs/PROTOCOL.md against the protocol table (core.protocol(), from
-- src/core/protocol.c): every request, reply and event name of the table is
-- written there in backticks, so is every name that is our extension, and
-- each request's row says where it comes from: "our extension" for a request
-- no source shows, "as Oktell (<source>)" for the others.
local core = require "oktell.core"

local function read_doc()
  local f = assert(io.open("docs/PROTOCOL.md", "r"))
  local text = f:read("*a")
  f:close()
  return text
end

local doc = read_doc()
local proto = core.protocol()

local function mentioned(name)
  return doc:find("`" .. name .. "`", 1, true) ~= nil
end

-- The row of the requests table for a request: the line that starts with
-- its name in backticks.
local function row_of(request)
  local head = "| `" .. request .. "` |"
  for line in doc:gmatch("[^\n]+") do
    if line:sub(1, #head) == head then return line end
  end
  return nil
end

-- Every wire name of fields no source shows: parameters, reply fields and
-- event payloads.
local function extension_fields()
  local names, seen = {}, {}
  local function add(fields)
    for _, f in ipairs(fields or {}) do
      if f.source == nil and not seen[f.wire] then
        seen[f.wire] = true
        names[#names + 1] = f.wire
      end
    end
  end
  for _, w in ipairs(proto.wire) do
    add(w.params)
    add(w.reply_fields)
  end
  for _, e in ipairs(proto.events) do add(e.fields) end
  return names
end

describe("docs/PROTOCOL.md", function()
  it("names every request and reply of the protocol table", function()
    assert.is_true(#proto.wire > 0)
    for _, w in ipairs(proto.wire) do
      assert.is_true(mentioned(w.request), "request " .. w.request)
      assert.is_true(mentioned(w.reply), "reply " .. w.reply)
    end
  end)

  it("names every wire event of the table", function()
    local n = 0
    for _, e in ipairs(proto.events) do
      for _, name in ipairs(e.wire or {}) do
        n = n + 1
        assert.is_true(mentioned(name), "event " .. name)
      end
    end
    assert.is_true(n > 0)
  end)

  it("names every group the emulator expands", function()
    for _, g in ipairs(proto.groups) do
      assert.is_true(mentioned(g.name), "group " .. g.name)
    end
  end)

  it("names every extension: requests, fields and the getversion field", function()
    assert.is_true(mentioned(proto.ext_field), "ext_field " .. proto.ext_field)
    local fields = extension_fields()
    assert.is_true(#fields > 0)
    for _, name in ipairs(fields) do
      assert.is_true(mentioned(name), "extension field " .. name)
    end
  end)

  it("marks each extension request 'our extension' on its row, and the others with their source", function()
    local ext = 0
    for _, w in ipairs(proto.wire) do
      local row = row_of(w.request)
      assert.is_not_nil(row, "no row for " .. w.request)
      if w.source == nil then
        ext = ext + 1
        assert.is_truthy(row:find("our extension", 1, true), w.request .. ": " .. row)
      else
        assert.is_truthy(row:find("as Oktell (" .. w.source .. ")", 1, true), w.request .. ": " .. row)
        assert.is_falsy(row:find("| our extension |", 1, true), w.request .. ": " .. row)
      end
    end
    assert.is_true(ext > 0)
  end)

  it("names every shape of the table and each of its fields", function()
    assert.is_true(#proto.shapes > 0)
    for _, sh in ipairs(proto.shapes) do
      local row = row_of(sh.name)
      assert.is_not_nil(row, "no row for shape " .. sh.name)
      for _, f in ipairs(sh.fields) do
        assert.is_truthy(row:find("`" .. f.wire .. "`", 1, true), sh.name .. "." .. f.wire)
      end
    end
  end)

  it("lists the login refusals with the table's texts", function()
    for _, e in ipairs(proto.errors) do
      if e.request == "login" and e.errormsg then
        assert.is_true(mentioned(e.errormsg), "login errormsg " .. e.errormsg)
      end
    end
  end)
end)
