-- bench/mem.lua: memory per idle connected connection (issue 12: <= 16 KiB,
-- 10,000 clients in one Lua process).
--
-- An emulator runs in a process of its own (bin/oktell-emu with a config
-- that lets 10,000+ connections in); each measurement runs in a fresh
-- process of this script, so none reuses memory another freed. For each
-- kind and N it prints the process RSS delta per connection (after
-- collectgarbage), and the Lua heap delta per connection.
--   raw:    core.connect conns, driven to "ready" by hand
--   client: oktell.connect clients (the full Lua client, after its setup)
-- Env: NS (list of N, default "1000 10000"), KINDS (default "raw client"),
--      CLIENT_MAX (largest N for kind client, default 10000), BATCH (raw
--      conns connecting at once, 500), WARMUP=0 (count the first
--      connection's one-time library costs too, as bench/client.lua
--      does), LUA (the interpreter; default: the one running this).
-- Usage: lua5.4 bench/mem.lua                (from the checkout, after make)
local core = require "oktell.core"

io.stdout:setvbuf("line")
-- the interpreter running this script (make bench LUA=...) runs the rest
local LUA = os.getenv("LUA") or (arg and arg[-1]) or "lua5.4"

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

local function gc()
  collectgarbage()
  collectgarbage()
end

-- N raw conns, all connecting at once, driven by one poll loop.
local function raw_conns(url, n)
  local conns, ready, left = {}, {}, n
  local BATCH = tonumber(os.getenv("BATCH")) or 500   -- connecting at once
  local started = 0
  local t0 = core.now()
  while left > 0 do
    while started < n and started - (n - left) < BATCH do
      started = started + 1
      local c = assert(core.connect { urls = { url }, login = "Peter", password = "123",
                                      timeout = 60, open_timeout = 60 })
      conns[started] = c
    end
    local fds = {}
    local wait = 0.5
    for i = 1, started do
      local c = conns[i]
      if not ready[i] then
        local fd = c:pollfd()
        if fd then
          fds[#fds + 1] = fd
          fds[#fds + 1] = c:events() or "r"
        end
        local d = c:timeout()
        if d and d < wait then wait = d end
      end
    end
    local r = core.poll(fds, wait < 0 and 0 or wait)
    for i = 1, started do
      if not ready[i] then
        local c = conns[i]
        local fd = c:pollfd()
        local d = c:timeout()
        if (fd and r[fd]) or (d and d <= 0) or not fd then
          c:step()
          local ev = c:next_event()
          while ev do
            if ev.type == "ready" then
              ready[i] = true
              left = left - 1
            elseif ev.type == "closed" then
              error("raw connect " .. i .. ": " .. tostring(ev.message))
            end
            ev = c:next_event()
          end
        end
      end
    end
    if core.now() - t0 > 600 then error("raw connect: too slow") end
  end
  return conns
end

local function clients(url, n)
  local oktell = require "oktell"
  local held, failed = {}, nil
  oktell.run(function()
    local done = 0
    for i = 1, n do
      oktell.spawn(function()
        local c, msg = oktell.connect { url = url, login = "Peter", password = "123",
                                        timeout = 120, open_timeout = 120 }
        if not c then failed = failed or msg end
        held[i] = c
        done = done + 1
      end)
      if i % 100 == 0 then oktell.sleep(0) end
    end
    while done < n do oktell.sleep(0.01) end
  end)
  if failed then error("client connect: " .. tostring(failed)) end
  return held
end

-- child mode: one measurement, one line "n rss_per heap_per seconds"
if arg[1] == "child" then
  local kind, n, url = arg[2], tonumber(arg[3]), arg[4]
  if os.getenv("WARMUP") ~= "0" then
    -- what the first connection costs once per process (OpenSSL, iconv,
    -- the resolver's modules: about 2.7 MB) is not a connection's
    local w = kind == "raw" and raw_conns(url, 1) or clients(url, 1)
    w[1]:close()
  end
  gc()
  local rss0, lua0 = rss_kib(), collectgarbage("count")
  local t0 = core.now()
  local held = kind == "raw" and raw_conns(url, n) or clients(url, n)
  local secs = core.now() - t0
  -- Idle: the turn a loop gives each connection when its deadline comes;
  -- a tenth of a second after its last message it frees its framing
  -- context then (src/core/conn.c PARK_AFTER_MS).
  if kind == "raw" then
    core.poll({}, 0.3)
    for i = 1, n do held[i]:step() end
  else
    local oktell = require "oktell"
    local idle_until = core.now() + 0.5
    while core.now() < idle_until do oktell.step(0.1) end
  end
  gc()
  local rss1, lua1 = rss_kib(), collectgarbage("count")
  local m = 0
  for _ in pairs(held) do m = m + 1 end
  io.write(string.format("%d %.0f %.0f %.1f\n", m, (rss1 - rss0) * 1024 / m,
                         (lua1 - lua0) * 1024 / m, secs))
  if os.getenv("MEM_PAUSE") then   -- look at /proc/<pid>/smaps meanwhile
    io.stderr:write("pid ", io.open("/proc/self/stat"):read("*l"):match("^(%d+)"), "\n")
    core.poll({}, tonumber(os.getenv("MEM_PAUSE")))
  end
  os.exit(0, false)   -- the emulator drops them; no need to close 10,000
end

-- The emulator: enough connections and stored sessions for every conn.
local conf = os.tmpname()
do
  local f = assert(io.open(conf, "w"))
  f:write("return { max_connections = 40000, max_sessions = 100000,",
          " max_sessions_per_user = 100000, login_timeout = 600 }\n")
  f:close()
end
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/.."
local ep = io.popen("exec " .. LUA .. " " .. dir .. "/bin/oktell-emu --config " .. conf
              .. " --listen 127.0.0.1:0 & echo pid $!", "r")
local pid = ep:read("*l"):match("^pid (%d+)")
local url = ep:read("*l")
assert(url and url:find("^ws://"), "emulator did not start")

local NS, KINDS = {}, {}
for x in (os.getenv("NS") or "1000 10000"):gmatch("%d+") do NS[#NS + 1] = tonumber(x) end
for x in (os.getenv("KINDS") or "raw client"):gmatch("%a+") do KINDS[#KINDS + 1] = x end
local CLIENT_MAX = tonumber(os.getenv("CLIENT_MAX")) or 10000

io.write(string.format("bench/mem.lua: emulator %s (pid %s)\n", url, pid))
io.write(string.format("%-8s %7s %10s %10s %10s %8s\n", "kind", "N", "connected", "RSS B/conn",
                       "Lua B/conn", "seconds"))
for _, kind in ipairs(KINDS) do
  for _, n in ipairs(NS) do
    if kind ~= "client" or n <= CLIENT_MAX then
      local p = io.popen(LUA .. " " .. arg[0] .. " child " .. kind .. " " .. n .. " " .. url, "r")
      local l = p:read("*l") or ""
      p:close()
      local m, rss, heap, secs = l:match("^(%d+) (%S+) (%S+) (%S+)")
      if not m then
        io.write(string.format("%-8s %7d   failed: %s\n", kind, n, l))
      else
        io.write(string.format("%-8s %7d %10d %10d %10d %8s\n", kind, n, tonumber(m), tonumber(rss),
                               tonumber(heap), secs))
      end
      -- let the emulator drop the last run's sessions
      core.poll({}, 1)
    end
  end
end
os.execute("kill " .. pid .. " 2>/dev/null")
ep:close()
os.remove(conf)
