-- bin/oktell as a child process against an emulator of this process
-- (it serves from its own thread while the spec waits for the child).
local oktell = require "oktell"
local emulator = require "oktell.emulator"
local dkjson = require "dkjson"

local BIN = "bin/oktell"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function tmpname()
  local n = os.tmpname()
  os.remove(n)
  return n
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- The command line that runs bin/oktell with `env` (false: unset) and args.
-- LD_PRELOAD is dropped: under `make check` it holds the sanitizer runtimes,
-- which the shell tools the CLI starts (stty, sh) must not load.
local function command(env, args)
  local parts = { "env", "-u", "LD_PRELOAD", "-u", "OKTELL_TRACE" }
  for k, v in pairs(env) do
    if v == false then
      parts[#parts + 1] = "-u"
      parts[#parts + 1] = k
    end
  end
  for k, v in pairs(env) do
    if v ~= false then parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  end
  parts[#parts + 1] = "LUA_PATH=" .. shell_quote("./lua/?.lua;./lua/?/init.lua;;")
  parts[#parts + 1] = "LUA_CPATH=" .. shell_quote("./build/?.so;;")
  parts[#parts + 1] = "lua5.4"
  parts[#parts + 1] = BIN
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  return table.concat(parts, " ")
end

describe("bin/oktell", function()
  local emu, client

  -- Run bin/oktell; returns stdout, stderr, exit code.
  local function oktell_cmd(args, env)
    local e = { OKTELL_URL = emu.url, OKTELL_LOGIN = "Peter", OKTELL_PASSWORD = "123" }
    for k, v in pairs(env or {}) do e[k] = v end
    local err = tmpname()
    -- the exit status comes back as the last line: close() gives it only on
    -- Lua 5.2+ (5.1 and LuaJIT say just true)
    local p = assert(io.popen(command(e, args) .. " 2>" .. err .. " </dev/null; echo \"EXIT $?\"", "r"))
    local out = p:read("*a")
    p:close()
    local code
    out = out:gsub("EXIT (%d+)\n$", function(c) code = tonumber(c) return "" end)
    local errtext = slurp(err) or ""
    os.remove(err)
    return out, errtext, code
  end

  setup(function()
    emu = assert(emulator.start { port = 0 })
    -- Peter stays logged in here, so the state a child sets survives the
    -- child's logout (a user with no session is usDisconnected).
    client = assert(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 5 })
  end)

  teardown(function()
    if client then client:close() end
    if emu then emu:stop() end
  end)

  it("status prints a readable block", function()
    local out, err, code = oktell_cmd({ "status" })
    assert.are.equal(0, code, err)
    assert.matches("user%s+Петр\n", out)
    assert.matches("login%s+Peter\n", out)
    assert.matches("state%s+ready %(1%)\n", out)
    assert.matches("line%s+ready %(4%)\n", out)
    assert.matches("call%-center%s+outside\n", out)
    -- the emulator announces the external-task extension (a real server
    -- does not: then "n/a")
    assert.matches("external task%s+free\n", out)
    assert.matches("rights%s+[^\n]*extwp", out)
    assert.is_nil(out:find("123", 1, true), "the password is never printed")
  end)

  it("status --json prints one JSON object", function()
    local out, err, code = oktell_cmd({ "status", "--json" })
    assert.are.equal(0, code, err)
    assert.are.equal(1, select(2, out:gsub("\n", "")), "one line")
    local t = dkjson.decode(out, 1, dkjson.null)
    assert.are.equal("table", type(t))
    assert.are.equal("Peter", t.user.login)
    assert.are.equal("Петр", t.user.name)
    assert.are.equal("string", type(t.user.id))
    assert.are.equal("ready", t.state)
    assert.are.equal(1, t.state_code)
    assert.are.equal(false, t.redirect)
    assert.are.equal("ready", t.line)
    assert.are.equal(4, t.line_code)
    assert.are.equal(false, t.inside)
    assert.are.equal(false, t.external)
    assert.is_nil(t.user.password)
    assert.is_nil(out:find("password", 1, true))
  end)

  -- Put Peter back as the other specs expect him (ready, outside).
  local function restore()
    client:set_user_state { state = "ready" }
    client:callcenter_exit()
  end

  it("set lunch after enter; status shows it; exit", function()
    finally(restore)
    local _, err, code = oktell_cmd({ "enter" })
    assert.are.equal(0, code, err)
    _, err, code = oktell_cmd({ "set", "lunch", "--description", "Ушел на обед" })
    assert.are.equal(0, code, err)
    assert.are.equal("lunch", emu:snapshot("Peter").userstate)
    local out
    out, err, code = oktell_cmd({ "status" })
    assert.are.equal(0, code, err)
    assert.matches("state%s+lunch %(2%)\n", out)
    assert.matches("call%-center%s+inside\n", out)
    out, err, code = oktell_cmd({ "status", "--json" })
    assert.are.equal(0, code, err)
    local t = dkjson.decode(out)
    assert.are.equal("lunch", t.state)
    assert.are.equal(true, t.inside)
    _, err, code = oktell_cmd({ "set", "ready" })
    assert.are.equal(0, code, err)
    _, err, code = oktell_cmd({ "exit" })
    assert.are.equal(0, code, err)
    local snap = emu:snapshot("Peter")
    assert.are.equal("ready", snap.userstate)
    assert.are.equal(false, snap.inside)
  end)

  it("set lunch outside the call-center is refused by the server: exit 6", function()
    finally(restore)
    local _, err, code = oktell_cmd({ "set", "lunch" })
    assert.are.equal(6, code)
    assert.matches("not_settable", err)
  end)

  it("set with an unknown state is a usage error: exit 1", function()
    local _, err, code = oktell_cmd({ "set", "nap" })
    assert.are.equal(1, code)
    assert.matches("unknown state 'nap'", err)
    _, _, code = oktell_cmd({ "set", "99" })
    assert.are.equal(1, code)
    _, _, code = oktell_cmd({ "set" })
    assert.are.equal(1, code)
  end)

  it("a wrong password: exit 2", function()
    local out, err, code = oktell_cmd({ "status" }, { OKTELL_PASSWORD = "wrong" })
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("auth", err)
    assert.is_nil(err:find("wrong", 1, true), "the password is not echoed")
  end)

  it("an unreachable server: exit 3", function()
    local _, err, code = oktell_cmd({ "--url", "ws://127.0.0.1:1", "status" })
    assert.are.equal(3, code)
    assert.matches("refused", err)
  end)

  it("a server that does not answer: exit 4", function()
    emu:pause(true)
    local ok, out, err, code = pcall(oktell_cmd, { "--timeout", "0.5", "status" })
    emu:pause(false)
    assert(ok, out)
    assert.are.equal(4, code, err)
  end)

  it("refuses a password on the command line: exit 1, and says why", function()
    for _, args in ipairs({ { "status", "--password", "x" }, { "--password=x", "status" } }) do
      local out, err, code = oktell_cmd(args)
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("no %-%-password option", err)
      assert.matches("OKTELL_PASSWORD", err)
    end
  end)

  it("needs a URL and a login; knows its commands and options", function()
    local _, err, code = oktell_cmd({ "status" }, { OKTELL_URL = false })
    assert.are.equal(1, code)
    assert.matches("OKTELL_URL", err)
    _, err, code = oktell_cmd({ "status" }, { OKTELL_LOGIN = false })
    assert.are.equal(1, code)
    assert.matches("OKTELL_LOGIN", err)
    _, _, code = oktell_cmd({ "frobnicate" })
    assert.are.equal(1, code)
    _, _, code = oktell_cmd({ "status", "--frob" })
    assert.are.equal(1, code)
    _, _, code = oktell_cmd({ "enter", "--json" })
    assert.are.equal(1, code)
    _, _, code = oktell_cmd({})
    assert.are.equal(1, code)
  end)

  it("--version prints oktell._VERSION", function()
    local out, _, code = oktell_cmd({ "--version" })
    assert.are.equal(0, code)
    assert.are.equal("oktell " .. oktell._VERSION .. "\n", out)
  end)

  it("call places a call and hangup ends it; answer with nothing ringing is refused: exit 6", function()
    local out, err, code = oktell_cmd({ "call", "74951234567" })
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    assert.are.equal(1, #emu:calls())
    out, err, code = oktell_cmd({ "hangup" })
    assert.are.equal(0, code, err .. out)
    local t0 = os.time()
    while #emu:calls() > 0 and os.time() - t0 < 5 do oktell.sleep(0.05) end
    assert.are.equal(0, #emu:calls())
    out, err, code = oktell_cmd({ "answer" })
    assert.are.equal(6, code, out)
    assert.matches("answer", err)
    out, err, code = oktell_cmd({ "call" })
    assert.are.equal(1, code, out)
    assert.matches("NUMBER", err)
  end)

  it("--help lists every command and every exit code; so does the man page", function()
    local out, _, code = oktell_cmd({ "--help" })
    assert.are.equal(0, code)
    local man = assert(slurp("man/oktell.1"))
    for _, c in ipairs({ "status", "set", "enter", "exit", "call", "answer", "hangup", "transfer", "watch",
        "trace", "emu", "help" }) do
      assert.matches("oktell " .. c, out, 1, true)
      assert.matches(".B oktell " .. c, man, 1, true)
    end
    local codes = { [0] = "ok", "usage", "auth", "refused", "timeout", "closed", "server", "protocol", "internal" }
    codes[130] = "interrupted"
    for n, name in pairs(codes) do
      assert.matches("\n%s*" .. n .. "%s+" .. name .. "%s", out)
      assert.matches("\n%.TP\n\\fB" .. n .. "\\fR %(" .. name .. "%)", man)
    end
    -- per-command help
    for _, args in ipairs({ { "help", "set" }, { "set", "--help" } }) do
      local h
      h, _, code = oktell_cmd(args)
      assert.are.equal(0, code)
      assert.matches("^usage: oktell set STATE", h)
      assert.matches("%-%-no%-redirect", h)
    end
  end)

  -- (--foreground: else timeout sends SIGINT twice, to the child and to its
  -- process group, and when the first was handled before the second came,
  -- lua.c, which resets SIGINT to the default in its handler, is killed by
  -- the second: exit 130 now and then.)
  -- bin/oktell ARGS in the background under `timeout -s INT secs`; its
  -- stdout, stderr and exit code go to files the spec polls (the loop turns
  -- meanwhile, so the spec's own client keeps working).
  local function background(args, secs)
    local base = tmpname()
    local e = { OKTELL_URL = emu.url, OKTELL_LOGIN = "Peter", OKTELL_PASSWORD = "123" }
    os.execute("(timeout --foreground --preserve-status -s INT " .. secs .. " " .. command(e, args)
      .. " >" .. base .. ".out 2>" .. base .. ".err </dev/null; echo $? >" .. base .. ".rc) &")
    local h = {}
    -- the text of the file once it matches pattern (or at the deadline)
    function h.wait_for(ext, pattern, limit)
      local t0 = os.time()
      repeat
        local s = slurp(base .. ext)
        if s and s:find(pattern) then return s end
        oktell.sleep(0.05)
      until os.time() - t0 > limit
      return slurp(base .. ext) or ""
    end
    function h.clean()
      for _, ext in ipairs({ ".out", ".err", ".rc" }) do os.remove(base .. ext) end
    end
    return h
  end

  it("watch prints an event line, and exits 0 on SIGINT", function()
    finally(restore)
    local h = background({ "watch", "userstate" }, 3)
    finally(h.clean)
    -- the watcher says so on stderr once its handlers are set
    assert.matches("watching userstate as Peter", h.wait_for(".err", "watching", 5))
    assert(client:set_user_state { state = "off" })
    local out = h.wait_for(".out", "\n", 5)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d userstate state=off code=3 redirect=false\n$", out)
    assert.are.equal("0\n", h.wait_for(".rc", "\n", 8))
  end)

  it("watch reports a dropped connection and the reconnect", function()
    local h = background({ "watch", "disconnect", "reconnect" }, 3)
    finally(h.clean)
    assert.matches("watching disconnect, reconnect", h.wait_for(".err", "watching", 5))
    assert(emu:drop("Peter"))
    local out = h.wait_for(".out", "reconnect", 5)
    -- a message with spaces is written as a JSON string
    assert.matches('^%S+ disconnect code=closed message="[^"\n]* [^"\n]*"\n%S+ reconnect\n', out)
    assert.are.equal("0\n", h.wait_for(".rc", "\n", 8))
    -- the spec's own client reconnects too
    local t0 = os.time()
    while not client:user_state() and os.time() - t0 < 5 do oktell.sleep(0.05) end
    assert.truthy(client:user_state())
  end)

  it("emu prints its URL and logins, never passwords, and exits 0 on SIGINT", function()
    local cfg = tmpname()
    local f = assert(io.open(cfg, "w"))
    f:write([[return { users = { { login = "Peter", password = "s3cret" },
                                 { login = "Anna", password = "hunter2", line = false } } }]])
    f:close()
    local p = assert(io.popen("timeout --foreground --preserve-status -s INT 2 "
      .. command({}, { "emu", "--listen", "127.0.0.1:0", "--config", cfg }) .. " 2>/dev/null </dev/null"
      .. "; echo \"EXIT $?\""))
    local out = p:read("*a")
    p:close()
    local code
    out = out:gsub("EXIT (%d+)\n$", function(c) code = tonumber(c) return "" end)
    os.remove(cfg)
    assert.are.equal(0, code)
    assert.matches("^ws://127%.0%.0%.1:%d+\nusers: Peter, Anna\n$", out)
    assert.is_nil(out:find("s3cret", 1, true))
    assert.is_nil(out:find("hunter2", 1, true))
  end)
end)
