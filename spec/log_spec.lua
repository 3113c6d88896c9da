-- oktell.on_log / oktell.log: silent by default, levels, masking, misuse.
local oktell = require "oktell"
local log = require "oktell.log"

describe("oktell.on_log", function()
  local lines

  before_each(function()
    lines = {}
  end)

  after_each(function()
    oktell.on_log(nil)
  end)

  local function collect(level, message, fields)
    lines[#lines + 1] = { level = level, message = message, fields = fields }
  end

  it("is oktell.log.on_log", function()
    assert.are.equal(log.on_log, oktell.on_log)
  end)

  it("is silent by default: emit does nothing and nothing is enabled", function()
    for _, lvl in ipairs(log.levels) do
      assert.is_false(log.enabled(lvl))
      assert.has_no.errors(function() log.emit(lvl, "nobody listens", { a = 1 }) end)
    end
  end)

  it("levels are debug, info, warn, error", function()
    assert.are.same({ "debug", "info", "warn", "error" }, log.levels)
  end)

  it("passes lines at the level or above (default info)", function()
    oktell.on_log(collect)
    assert.is_false(log.enabled("debug"))
    assert.is_true(log.enabled("info"))
    log.emit("debug", "d")
    log.emit("info", "i", { attempt = 2 })
    log.emit("warn", "w")
    log.emit("error", "e")
    assert.are.same({ "info", "warn", "error" }, { lines[1].level, lines[2].level, lines[3].level })
    assert.are.equal(3, #lines)
    assert.are.equal("i", lines[1].message)
    assert.are.same({ attempt = 2 }, lines[1].fields)
    assert.are.same({}, lines[2].fields)

    lines = {}
    oktell.on_log(collect, "debug")
    log.emit("debug", "d")
    assert.are.equal(1, #lines)
    lines = {}
    oktell.on_log(collect, "error")
    log.emit("warn", "w")
    log.emit("error", "e")
    assert.are.equal(1, #lines)
    assert.are.equal("e", lines[1].message)
  end)

  it("returns the previous handler and level; nil silences", function()
    local function other() end
    local prev, prev_level = oktell.on_log(collect, "warn")
    assert.is_nil(prev)
    assert.are.equal("info", prev_level)
    prev, prev_level = oktell.on_log(other)
    assert.are.equal(collect, prev)
    assert.are.equal("warn", prev_level)
    prev = oktell.on_log(nil)
    assert.are.equal(other, prev)
    log.emit("error", "e")
    assert.are.equal(0, #lines)
  end)

  it("masks fields that name a secret, on a copy", function()
    oktell.on_log(collect, "debug")
    local fields = { login = "Peter", password = "123", pass_hash = "abc", url = "ws://x" }
    log.emit("info", "login", fields)
    assert.are.same({ login = "Peter", password = "***", pass_hash = "***", url = "ws://x" }, lines[1].fields)
    assert.are.equal("123", fields.password)
  end)

  it("a handler's error goes to stderr, not to the caller", function()
    -- luacheck: push ignore 122 (swap io.stderr for a recorder)
    local stderr = io.stderr
    local written = {}
    io.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end }
    oktell.on_log(function() error("boom") end)
    local ok = pcall(log.emit, "error", "x")
    io.stderr = stderr
    -- luacheck: pop
    assert.is_true(ok)
    assert.matches("on_log handler: .*boom", table.concat(written))
  end)

  it("raises on misuse, naming the argument", function()
    assert.has_error(function() oktell.on_log(42) end,
      "bad argument #1 to 'on_log' (function or nil expected, got number)")
    assert.has_error(function() oktell.on_log(collect, "verbose") end,
      "bad argument #2 to 'on_log' (level must be \"debug\", \"info\", \"warn\" or \"error\", got 'verbose')")
    assert.has_error(function() log.emit("loud", "x") end)
    assert.has_error(function() log.emit("info", 42) end,
      "bad argument #2 to 'emit' (string expected, got number)")
    assert.has_error(function() log.emit("info", "x", "y") end,
      "bad argument #3 to 'emit' (table or nil expected, got string)")
    assert.has_error(function() log.enabled("nope") end)
  end)
end)

describe("the client's log lines", function()
  local emulator = require "oktell.emulator"
  after_each(function() oktell.on_log(nil) end)

  it("tell of the connect, a drop, the reconnect and a timeout", function()
    local lines = {}
    oktell.on_log(function(level, msg, fields) lines[#lines + 1] = { level = level, msg = msg, fields = fields } end,
      "debug")
    local emu = emulator.start { port = 0 }
    local c = assert(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 0.3 })
    local seen = {}
    for _, l in ipairs(lines) do seen[l.msg] = l end
    assert.is_table(seen.connected)
    assert.is_table(seen["server extensions"])
    assert.truthy(seen["server extensions"].fields.list:find("cc_setbusyinexternaltask", 1, true))
    emu:drop("Peter")
    assert.is_table(c:wait("reconnect", 5))
    seen = {}
    for _, l in ipairs(lines) do seen[l.msg] = l end
    assert.equals("warn", seen["connection lost"].level)
    assert.equals("info", seen.reconnecting.level)
    assert.equals("info", seen.reconnected.level)
    emu:pause(true)
    local ok, _, code = c:user_state()
    assert.is_nil(ok)
    assert.equals("timeout", code)
    emu:pause(false)
    seen = {}
    for _, l in ipairs(lines) do seen[l.msg] = l end
    assert.equals("getuserstate", seen["request timed out"].fields.method)
    for _, l in ipairs(lines) do
      for _, v in pairs(l.fields or {}) do assert.falsy(tostring(v):find("123", 1, true)) end
    end
    c:close()
    emu:stop()
  end)
end)
