-- The release is written once (OKT_VERSION, src/core/okt.h): the C core
-- exports it, the module re-exports it, and the release rockspec and the
-- changelog are named after it.
local oktell = require "oktell"
local core = require "oktell.core"

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

describe("version", function()
  it("oktell._VERSION is oktell.core._VERSION, X.Y.Z", function()
    assert.is_string(oktell._VERSION)
    assert.matches("^%d+%.%d+%.%d+$", oktell._VERSION)
    assert.are.equal(core._VERSION, oktell._VERSION)
  end)

  it("comes from OKT_VERSION in src/core/okt.h", function()
    local h = assert(slurp("src/core/okt.h"))
    assert.are.equal(oktell._VERSION, h:match('#define OKT_VERSION "([^"]*)"'))
  end)

  -- a rockspec is a Lua chunk of assignments: run it in its own table
  -- (loadfile's env argument is 5.2+; 5.1 and LuaJIT have setfenv)
  local function loadspec(path, env)
    local chunk = assert(loadfile(path))
    local setenv = rawget(_G, "setfenv")
    if setenv then
      setenv(chunk, env)
    else
      chunk = assert(loadfile(path, "t", env))
    end
    return chunk
  end

  it("names the release rockspec, whose version matches", function()
    local path = "rockspec/oktell-" .. oktell._VERSION .. "-1.rockspec"
    local env = {}
    loadspec(path, env)()
    assert.are.equal("oktell", env.package)
    assert.are.equal(oktell._VERSION .. "-1", env.version)
    -- the same build as the scm rockspec
    local scm = {}
    loadspec("rockspec/oktell-scm-1.rockspec", scm)()
    assert.are.same(scm.build, env.build)
    assert.are.same(scm.dependencies, env.dependencies)
  end)

  it("has a CHANGELOG.md entry", function()
    local log = assert(slurp("CHANGELOG.md"))
    assert.truthy(log:find("\n## [" .. oktell._VERSION .. "]", 1, true))
  end)

  it("tools/rockspec.sh --check agrees", function()
    -- without the sanitizer runtimes `make check` preloads (the shell
    -- tools are not built for them)
    local p = io.popen("env -u LD_PRELOAD sh tools/rockspec.sh --check 2>&1")
    local out = p:read("*a")
    local ok = p:close()
    assert.is_true(ok == true, out)
  end)
end)
