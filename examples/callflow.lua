-- examples/callflow.lua: one operator's working session, start to end, against
-- the embedded emulator (`make demo`). Prints a readable transcript.
--
--   log in as Peter -> user and rights -> enter the call-center -> a confirm
--   prompt arrives (the card's text decoded) and is answered ok -> the call is
--   answered -> post-call work inside an external task -> free -> lunch with a
--   description -> ready -> exit.
local oktell = require "oktell"
local emulator = require "oktell.emulator"

local TASK = "0f398eb4-5d78-446c-84f4-6892ab72751b"
local CARD = table.concat({
  "Вы зарезервированы на выполнение задачи",
  "",
  "Задача «Виртуальная машина»",
  "Звонок на номер: 120151112",
  "Продолжить дозвон по указанным параметрам?",
}, "\n")

local function say(fmt, ...)
  io.write(string.format(fmt, ...), "\n")
end
local function step(title)
  say("")
  say("== %s", title)
end
local function check(v, ...)
  if v == nil then
    local msg, code = ...
    error(("failed: %s (%s)"):format(tostring(msg), tostring(code)), 2)
  end
  return v, ...
end

local emu = assert(emulator.start {
  port = 0,
  licenses = 2,
  users = { { login = "Peter", password = "123", name = "Петр", isoperator = true, line = "ready",
              redirect_number = "100" } },
  tasks = { { id = TASK, name = "Прозвон клиентов", type = "call", active = false } },
})
say("emulator listening at %s", emu.url)

step("log in")
local c = check(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 5 })
-- Events are printed as they arrive (each handler runs in its own coroutine).
c:on("userstate", function(ev)
  say("   [event] user state -> %s (%d)%s", ev.state, ev.code,
      ev.description and (" \"" .. ev.description .. "\"") or "")
end)
c:on("linestate", function(ev) say("   [event] line state -> %s (0x%x)", ev.state, ev.code) end)
c:on("callcenter", function(ev) say("   [event] call-center: %s", ev.inside and "inside" or "outside") end)

local info = check(c:user_info())
say("user      %s (login %s, id %s)", info.name, info.login, info.id)
say("operator  %s", tostring(info.isoperator))
if info.group then say("group     %s", tostring(info.group.name)) end
if info.role then say("role      %s", tostring(info.role.name)) end
local keys = {}
for k, on in pairs(info.rights or {}) do if on then keys[#keys + 1] = k end end
table.sort(keys)
say("rights    %d granted:", #keys)
for _, k in ipairs(keys) do
  say("          %-30s %s", k, (info.right_titles or {})[k] or "")
end
local st = check(c:user_state())
say("state     %s (%d), redirect %s", st.state, st.code, tostring(st.redirect))
say("line      %s (%d)", check(c:line_state()))

step("enter the call-center")
say("CallCenter_Enter -> %s", tostring(c:callcenter_enter()))
say("CallCenter_IsInside -> %s", tostring(c:callcenter_inside()))

step("a confirm prompt arrives")
check(c:set_confirm_usage(true))
say("TM_SetConfirmUsage(true): this script answers prompts itself")
c:on("tminterfaceconfirm", function(ev)
  say("   [event 121] %s: task \"%s\", number %s, subscriber #%d", ev.name, ev.taskname, ev.number, ev.idinlist)
  say("   card text:")
  for line in (ev.text .. "\n"):gmatch("(.-)\n") do say("   | %s", line) end
  local ok = c:set_confirm_result("ok")
  say("   TM_SetConfirmResult(ok) -> %s", tostring(ok))
end)
emu:offer("Peter", { task = TASK, mode = "confirm", number = "120151112", text = CARD, idinlist = 67 })
local dialing = check(c:wait("tminterfacereserve", 5))
say("   [event 122] %s: dialing %s", dialing.name, dialing.number)

step("the call is answered")
emu:finish("Peter", "answered")
local closed = check(c:wait("tminterfaceclose", 5))
say("   [event 123] %s: prompt closed (task %s)", closed.name, closed.idtask)
say("line      %s (%d)", check(c:line_state()))
say("state     %s", check(c:user_state()).state)

say("... talking ...")
oktell.sleep(0.1)
emu:finish("Peter", "failed") -- the caller hangs up
oktell.sleep(0.05)

step("post-call work inside an external task")
say("CallCenter_SetBusyInExternalTask -> %s", tostring(c:set_busy_in_external_task()))
oktell.sleep(0.05)
say("CallCenter_CheckBusyInExternalTask -> %s", tostring(c:check_busy_in_external_task()))
say("state     %s (the queue cannot take this operator while the card is open)", check(c:user_state()).state)
say("... writing the call notes ...")
oktell.sleep(0.2)

step("free")
say("CallCenter_SetFreeInExternalTask -> %s", tostring(c:set_free_in_external_task()))
oktell.sleep(0.05)
say("state     %s", check(c:user_state()).state)

step("lunch with a description")
say("SetUserState(lunch) -> %s", tostring(check(c:set_user_state { state = "lunch", description = "Ушел на обед" })))
oktell.sleep(0.05)
st = check(c:user_state())
say("state     %s: \"%s\"", st.state, st.description or "")
say("GetUserState() ->")
for line in check(c:GetUserState()):gsub("%s+$", ""):gmatch("[^\n]+") do say("   %s", line) end

step("ready")
say("SetUserState(ready) -> %s", tostring(check(c:set_user_state { state = "ready" })))
oktell.sleep(0.05)

step("exit")
say("CallCenter_Exit -> %s", tostring(c:callcenter_exit()))
oktell.sleep(0.05)
c:close()
emu:stop()
say("")
say("done.")
