-- examples/traffic_demo.lua: a short call-center traffic scenario at the
-- emulator's fastest clock (speed "max"): callers arrive at the queue, five
-- virtual agents answer them; prints the service-level table.
--   lua5.4 examples/traffic_demo.lua [seconds-of-emulated-traffic]
local emulator = require "oktell.emulator"

local DURATION = tonumber(arg and arg[1]) or 3600

local users = {}
for i = 1, 5 do
  users[i] = { login = "agent" .. i, password = "x", number = tostring(200 + i), agent = { answer = 3, wrapup = 10 } }
end
local emu = assert(emulator.start { port = 0, licenses = 5, users = users, speed = "max", seed = 7 })

-- one call every 40 s, 3 minutes of talk, callers wait 90 s at most
local t = assert(emu:traffic { rate = 1 / 40, talk = 180, patience = 90, to = "queue",
                                numbers = "7495#######", duration = DURATION, sl = 20 })
local s
for _ = 1, 1000 do
  s = assert(t:stats())
  if not s.running and (s.waiting or 0) == 0 and (s.talking or 0) == 0 then break end
  require("oktell").sleep(0.01)
end
emu:stop()

print(("traffic: %d emulated seconds, 5 virtual agents, seed 7"):format(DURATION))
print(("%-10s %-10s %-10s %-10s %-16s"):format("offered", "answered", "abandoned", "mean wait", "service level"))
print(("%-10d %-10d %-10d %-10s %-16s"):format(s.offered or 0, s.answered or 0, s.abandoned or 0,
  ("%.1f s"):format(s.mean_wait or 0), ("%.1f%% (%d s)"):format(100 * (s.service_level or 0), s.sl or 20)))
