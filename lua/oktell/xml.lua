-- oktell.xml: the oktellcommapper XML codec (API.md §2), over oktell.core.
--   value, kind = xml.decode(s)               nil, msg, "bad_xml" on failure
--   s = xml.encode(kind, value [, opts])      opts.encoding "utf-8" | "utf-16"
--   doc = xml.parse(s)                        generic tree
--   s = xml.build(doc [, opts])               inverse of parse
-- Misuse (wrong types, unknown kind, a state given by name and code that
-- disagree) raises "bad argument #n to 'name' (...)".
local core = require "oktell.core"

local M = {}

local kinds = {}
for _, k in ipairs(core.xml_kinds) do kinds[k] = true end

-- `level` 3 (the default) blames the caller of the function that called
-- argerror; helpers one call deeper pass 4.
local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level or 3)
end

local function checktype(v, n, fname, want)
  if type(v) ~= want then
    argerror(n, fname, ("%s expected, got %s"):format(want, type(v)), 4)
  end
end

local encodings = {
  ["utf-8"] = false, utf8 = false, ["utf-16"] = true, utf16 = true,
  ["utf-16le"] = true,
}

-- opts -> utf16 flag
local function utf16_of(opts, n, fname)
  if opts == nil then return false end
  if type(opts) ~= "table" then
    argerror(n, fname, "table expected, got " .. type(opts), 4)
  end
  local e = opts.encoding
  if e == nil then return false end
  local flag = type(e) == "string" and encodings[e:lower()]
  if flag == nil or type(e) ~= "string" then
    argerror(n, fname, 'encoding must be "utf-8" or "utf-16"', 4)
  end
  return flag
end

function M.decode(s)
  checktype(s, 1, "decode", "string")
  return core.xml_decode(s)
end

function M.parse(s)
  checktype(s, 1, "parse", "string")
  return core.xml_parse(s)
end

function M.encode(kind, value, opts)
  checktype(kind, 1, "encode", "string")
  if not kinds[kind] then argerror(1, "encode", "unknown kind '" .. kind .. "'") end
  checktype(value, 2, "encode", "table")
  local utf16 = utf16_of(opts, 3, "encode")
  local s, msg, code = core.xml_encode(kind, value, utf16)
  if s == nil and code == "invalid" then argerror(2, "encode", msg) end
  if s == nil then return nil, msg, code end
  return s
end

function M.build(doc, opts)
  checktype(doc, 1, "build", "table")
  local utf16 = utf16_of(opts, 2, "build")
  local s, msg, code = core.xml_build(doc, utf16)
  if s == nil and code == "invalid" then argerror(1, "build", msg) end
  if s == nil then return nil, msg, code end
  return s
end

M.kinds = core.xml_kinds

return M
