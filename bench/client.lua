-- bench/client.lua: the Lua client's cost over the raw binding.
--   1. user_state() round trips/s from one client: blocking, and with 64
--      managed coroutines in flight (goal >= 20,000 rt/s in flight);
--   2. events/s delivered to Lua handlers;
--   3. memory per connected client with 1,000 clients in one Lua process
--      (goal <= 64 KiB per client).
-- Baseline, measured in the same run: the raw oktell.core conn driven by a
-- hand-written request / step / next_event loop (no coroutines, no tables
-- of the API), so each ratio shows what the Lua layer costs.
-- Env: N (round trips per measurement, default 20000), CLIENTS (default 1000).
local oktell = require "oktell"
local core = require "oktell.core"
local emulator = require "oktell.emulator"

io.stdout:setvbuf("line")
local N = tonumber(os.getenv("N")) or 20000
local CLIENTS = tonumber(os.getenv("CLIENTS")) or 1000
local DEPTH = 64

local now = core.now
local function line(name, value, unit, base)
  if base then
    io.write(string.format("%-44s %12.0f %-6s (%.2fx of baseline)\n", name, value, unit, value / base))
  else
    io.write(string.format("%-44s %12.0f %s\n", name, value, unit))
  end
end

-- Raw conn helpers (the baseline) -------------------------------------------

local function raw_connect(url)
  local conn = assert(core.connect { urls = { url }, login = "Peter", password = "123", timeout = 10 })
  while true do
    local fd = conn:pollfd()
    if fd then core.poll({ fd, conn:events() or "r" }, conn:timeout() or 1) end
    conn:step()
    local ev = conn:next_event()
    while ev do
      if ev.type == "ready" then return conn end
      if ev.type == "closed" then error("raw connect: " .. tostring(ev.message)) end
      ev = conn:next_event()
    end
  end
end

-- Keep `depth` requests in flight until n replies arrived; returns seconds.
-- Written as tight as a user of the raw binding would: step, drain, and
-- poll for input only when no reply was there.
local function raw_round_trips(conn, n, depth)
  local sent, got = 0, 0
  local t0 = now()
  local fds = { conn:pollfd(), "r" }
  while got < n do
    while sent < n and sent - got < depth do
      assert(conn:request("getuserstate"))
      sent = sent + 1
    end
    conn:step()
    local ev = conn:next_event()
    local any = false
    while ev do
      if ev.type == "reply" then got = got + 1; any = true
      elseif ev.type == "error" or ev.type == "closed" then error("raw: " .. tostring(ev.message)) end
      ev = conn:next_event()
    end
    if not any and got < n then core.poll(fds, conn:timeout()) end
  end
  return now() - t0
end

local function raw_events(conn, emu, n)
  local got = 0
  local lines = { "ready", "hookup" } -- i = 1 -> hookup: every call is a change
  local t0 = now()
  for i = 1, n do
    emu:set_line("Peter", lines[i % 2 + 1])
    if i % 200 == 0 or i == n then
      conn:step()
      local ev = conn:next_event()
      while ev do
        if ev.type == "event" and ev.name == "linestatechanged" then got = got + 1 end
        ev = conn:next_event()
      end
    end
  end
  while got < n do
    core.poll({ conn:pollfd(), "r" }, 1)
    conn:step()
    local ev = conn:next_event()
    while ev do
      if ev.type == "event" and ev.name == "linestatechanged" then got = got + 1 end
      ev = conn:next_event()
    end
  end
  return now() - t0
end

-- Memory: RSS of this process ---------------------------------------------------

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

-- An emulator in a child process, so its sessions do not count in our RSS.
local function child_emulator()
  local lua = os.getenv("LUA") or "lua5.4"
  local cmd = "exec " .. lua .. [[ -e '
    local f = io.open("/proc/self/stat"); local pid = f:read("*l"):match("^(%d+)"); f:close()
    local emu = require("oktell.emulator").start{port = 0}
    io.write(pid, " ", emu.url, "\n"); io.stdout:flush()
    require("oktell.core").poll({}, 3600)' ]]
  local p = io.popen(cmd, "r")
  local l = p:read("*l")
  local pid, url = l:match("^(%d+) (%S+)")
  return url, function() os.execute("kill " .. pid .. " 2>/dev/null"); p:close() end
end

-- Runs ------------------------------------------------------------------------------

-- 1. memory per connected client. Each side runs in a fresh process of its
--    own (this script with arg "mem-raw" / "mem-client"), so neither reuses
--    memory the other freed; the emulator runs in a third process.
local function measure_memory(kind, url)
  collectgarbage()
  collectgarbage()
  local rss0, lua0 = rss_kib(), collectgarbage("count")
  local held = {}
  if kind == "mem-raw" then
    for i = 1, CLIENTS do held[i] = raw_connect(url) end
  else
    oktell.run(function()
      for i = 1, CLIENTS do
        oktell.spawn(function()
          held[i] = assert(oktell.connect { url = url, login = "Peter", password = "123", timeout = 30 })
        end)
        if i % 50 == 0 then oktell.sleep(0) end
      end
    end)
  end
  collectgarbage()
  collectgarbage()
  local rss1, lua1 = rss_kib(), collectgarbage("count")
  local n = 0
  for _ in pairs(held) do n = n + 1 end
  io.write(string.format("%d %.0f %.0f\n", n, (rss1 - rss0) * 1024 / n, (lua1 - lua0) * 1024 / n))
  for _, x in pairs(held) do x:close() end
end

if arg and (arg[1] == "mem-raw" or arg[1] == "mem-client") then
  measure_memory(arg[1], arg[2])
  os.exit(0)
end

io.write(string.format("bench/client.lua: N=%d round trips, %d in flight, %d clients\n", N, DEPTH, CLIENTS))
do
  local url, stop_child = child_emulator()
  local lua = os.getenv("LUA") or "lua5.4"
  local res = {}
  for _, kind in ipairs { "mem-raw", "mem-client" } do
    local p = io.popen(lua .. " " .. (arg and arg[0] or "bench/client.lua") .. " " .. kind .. " " .. url, "r")
    local n, rss, heap = p:read("*l"):match("^(%d+) (%S+) (%S+)")
    p:close()
    res[kind] = { n = tonumber(n), rss = tonumber(rss), heap = tonumber(heap) }
  end
  stop_child()
  local r, c = res["mem-raw"], res["mem-client"]
  line("raw conns connected", r.n, "")
  line("memory per raw conn (process RSS)", r.rss, "bytes")
  line("clients connected", c.n, "")
  line("memory per client (process RSS)", c.rss, "bytes", r.rss)
  line("  of which Lua heap", c.heap, "bytes")
end

local emu = assert(emulator.start { port = 0 })

-- Each figure is the best of ROUNDS runs, raw and Lua interleaved, so load
-- from other processes on the machine hits both sides alike.
local ROUNDS = tonumber(os.getenv("ROUNDS")) or 3
local function best(f)
  local b = 0
  for _ = 1, ROUNDS do
    local r = f()
    if r > b then b = r end
  end
  return b
end

-- 2. round trips
local raw = raw_connect(emu.url)
raw_round_trips(raw, 1000, 1) -- warm up
local c = assert(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 10 })
for _ = 1, 1000 do c:user_state() end

local function lua_blocking()
  local t0 = now()
  for _ = 1, N do assert(c:user_state()) end
  return N / (now() - t0)
end

local function lua_in_flight()
  local rate
  oktell.run(function()
    local per = math.floor(N / DEPTH)
    local done = 0
    local t1 = now()
    for _ = 1, DEPTH do
      oktell.spawn(function()
        for _ = 1, per do assert(c:user_state()) end
        done = done + 1
      end)
    end
    while done < DEPTH do oktell.sleep(0.001) end
    rate = per * DEPTH / (now() - t1)
  end)
  return rate
end

local raw_block = best(function() return N / raw_round_trips(raw, N, 1) end)
local lua_block = best(lua_blocking)
local raw_flight = best(function() return N / raw_round_trips(raw, N, DEPTH) end)
local lua_flight = best(lua_in_flight)

line("raw conn: blocking round trips", raw_block, "rt/s")
line("client:user_state() blocking", lua_block, "rt/s", raw_block)
line("raw conn: 64 in flight", raw_flight, "rt/s")
line("client:user_state(), 64 coroutines", lua_flight, "rt/s", raw_flight)

-- 3. events
local NE = math.floor(N / 2)
local raw_ev = best(function() return NE / raw_events(raw, emu, NE) end)
raw:close()

local got = 0
c:on("linestate", function() got = got + 1 end)
local lines = { "ready", "hookup" } -- i = 1 -> hookup: every call is a change
local lua_ev = best(function()
  got = 0
  local t2 = now()
  for i = 1, NE do
    emu:set_line("Peter", lines[i % 2 + 1])
    if i % 200 == 0 then oktell.step(0) end
  end
  while got < NE do oktell.step(1) end
  return NE / (now() - t2)
end)
line("raw conn: events drained", raw_ev, "ev/s")
line("client:on handlers (one coroutine each)", lua_ev, "ev/s", raw_ev)
c:close()
emu:stop()

