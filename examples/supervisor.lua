-- examples/supervisor.lua: a supervisor's view of a call-center, on API §6.
-- The emulator runs traffic into the queue at 120x speed with four virtual
-- agents; the supervisor (a client of its own) watches the queue ("queue"
-- event), the operators' numbers ("numberstate") and prints the service
-- level live; it ends after ten emulated minutes.
--   lua5.4 examples/supervisor.lua
local oktell = require "oktell"
local emulator = require "oktell.emulator"
local now = require("oktell.core").now

local SPEED, MINUTES = 120, 10

local users = { { login = "boss", password = "1", number = "100", name = "Супервизор", isoperator = false } }
for i = 1, 4 do
  users[#users + 1] = { login = "agent" .. i, password = "x", number = tostring(200 + i),
                        agent = { answer = 3, wrapup = 15 } }
end
local emu = assert(emulator.start { port = 0, licenses = 5, users = users, speed = SPEED, seed = 3 })
local traffic = assert(emu:traffic { rate = 1 / 50, talk = 150, patience = 60, to = "queue",
                                      numbers = "7495#######", duration = MINUTES * 60, sl = 20 })

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") end

oktell.run(function()
  local c = assert(oktell.connect { url = emu.url, login = "boss", password = "1", queue_interval = 0.25 })
  -- inside the call-center, getcurrentqueue lists its queue (not an operator: no call rings here)
  local inside, why = c:callcenter_enter()
  if not inside then say("(cannot enter the call-center: %s; the queue shows personal calls only)", why) end
  local busy = {}
  c:on("numberstate", function(ev)
    for _, n in ipairs(ev.numbers) do busy[n.number] = n.state end
  end)
  c:on("queue", function(ev)
    for _, a in ipairs(ev.entered) do say("  queue + %s", a.phone or a.key) end
    for _, a in ipairs(ev.left) do say("  queue - %s", a.phone or a.key) end
  end)
  local nums = assert(c:numbers())
  local agents = {}
  for _, n in ipairs(nums) do
    if n.number and n.number:find("^20%d$") then agents[#agents + 1] = n.number end
  end
  table.sort(agents)
  local stop_at = now() + MINUTES * 60 / SPEED
  while now() < stop_at do
    oktell.sleep(1)
    local s = assert(emu:stats())
    local line = {}
    for _, n in ipairs(agents) do line[#line + 1] = n .. ":" .. tostring(busy[n] or "?") end
    say("[%4.0f s] waiting %d, talking %d, answered %d, abandoned %d, SL %.0f%% | %s",
      (MINUTES * 60) - (stop_at - now()) * SPEED, s.waiting or 0, s.talking or 0, s.answered or 0,
      s.abandoned or 0, 100 * (s.service_level or 0), table.concat(line, " "))
  end
  traffic:stop()
  c:close()
end)
local s = emu:stats()
emu:stop()
say("supervisor: offered %d, answered %d, abandoned %d, mean wait %.1f s, service level %.0f%%",
  s.offered or 0, s.answered or 0, s.abandoned or 0, s.mean_wait or 0, 100 * (s.service_level or 0))
