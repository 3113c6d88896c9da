-- examples/dialer.lua: a preview dialer on API §6. For each card the task
-- manager offers (a confirm prompt, emu:offer here), the operator's script
-- confirms, places the call (client:call), talks, hangs up, does its
-- post-call work, and takes the next card.
--   lua5.4 examples/dialer.lua
local oktell = require "oktell"
local emulator = require "oktell.emulator"

local TASK = "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410"
local CARDS = {
  { number = "74951110001", text = "Иванов Иван\nДоговор 17/3, продление", talk = 0.3 },
  { number = "74951110002", text = "Петрова Анна\nпросила перезвонить позже" },
  { number = "74951110003", text = "ООО «Ромашка»\nсчёт 42", talk = 0.2 },
}

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") end
local function check(v, ...)
  if v == nil then error(("failed: %s (%s)"):format(tostring((...)), tostring(select(2, ...))), 2) end
  return v, ...
end

local emu = check(emulator.start {
  port = 0, licenses = 1,
  users = { { login = "Peter", password = "123", number = "101", isoperator = true } },
  tasks = { { id = TASK, name = "Прозвон клиентов", type = "call", active = true } },
})

oktell.run(function()
  local c = check(oktell.connect { url = emu.url, login = "Peter", password = "123", confirm_usage = true })
  check(c:callcenter_enter())
  for i, card in ipairs(CARDS) do
    -- the task manager offers the card; the script reads the prompt
    check(emu:offer("Peter", { task = TASK, mode = "confirm", number = card.number, text = card.text,
                               idinlist = i }))
    local ev = check(c:wait("tminterfaceconfirm", 5))
    say("card %d: %s — %s", i, ev.number or card.number, (ev.text or ""):gsub("\n", " / "))
    if (ev.text or ""):find("перезвонить позже", 1, true) then
      check(c:set_confirm_result("skip"))
      say("  skipped: asked to call later")
    else
      check(c:set_confirm_result("ok"))
      emu:finish("Peter", "failed")   -- the task's own dialing is not used: this script dials
      check(emu:abonent(card.number, { answer = 0.1 }))
      check(c:call(card.number, { intercom = true }))
      repeat oktell.sleep(0.05) until c:phone_state() == "talk"
      local li = check(c:line_info())
      say("  talking with %s", li.abonent and li.abonent.phone or "?")
      oktell.sleep(card.talk)
      check(c:hangup())
      repeat oktell.sleep(0.05) until c:phone_state() == "ready"
      -- post-call work: busy in an external task while the notes are written
      check(c:set_busy_in_external_task())
      say("  post-call work…")
      oktell.sleep(0.1)
      check(c:set_free_in_external_task())
      say("  done, next card")
    end
  end
  c:close()
end)
emu:stop()
say("dialer: all cards handled")
