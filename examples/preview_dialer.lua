-- examples/preview_dialer.lua: a preview-dialing assistant. Confirm usage is
-- on, so every dialing prompt (event 121) waits for this script's answer:
--   delete  numbers on the do-not-call list (the subscriber leaves the list),
--   skip    cards that ask to call later,
--   ok      everything else (dialing starts: event 122).
-- Runs against the embedded emulator:
--   lua5.4 examples/preview_dialer.lua [ws://host:port login password]
local oktell = require "oktell"

local TASK = "9ac6f54c-d042-4e89-b9a3-5ad2e20c3410"
local DO_NOT_CALL = { ["74950000000"] = true }

local function decide(ev)
  if DO_NOT_CALL[ev.number] then return "delete", "on the do-not-call list" end
  if (ev.text or ""):find("перезвонить позже", 1, true) then return "skip", "asked to call later" end
  return "ok", "dial"
end

local url, login, password = arg[1], arg[2] or "Peter", arg[3] or "123"
local emu
if not url then
  emu = assert(require("oktell.emulator").start {
    port = 0, licenses = 1,
    tasks = { { id = TASK, name = "Прозвон клиентов", type = "call", active = true } },
  })
  url = emu.url
end

local cards = {
  { number = "120151112", idinlist = 67, text = "Иванов Иван\nДоговор 17/3, продление" },
  { number = "74950000000", idinlist = 68, text = "Петров Пётр\nОтказ от звонков" },
  { number = "79161234567", idinlist = 69, text = "Сидорова Анна\nПросила перезвонить позже" },
  { number = "78123456789", idinlist = 70, text = "ООО «Ромашка»\nНовый клиент" },
}

local tally = { ok = 0, skip = 0, delete = 0 }

oktell.run(function()
  local c = assert(oktell.connect { url = url, login = login, password = password, confirm_usage = true })
  assert(c:callcenter_enter())
  print(("logged in as %s, inside the call-center, confirm usage on"):format(login))

  c:on("tminterfaceconfirm", function(ev)
    local answer, why = decide(ev)
    local first = (ev.text or ""):match("^[^\n]*")
    local ok = c:set_confirm_result(answer)
    tally[answer] = tally[answer] + 1
    print(("prompt  #%d %-12s -> %-6s %-24s %s%s"):format(ev.idinlist, ev.number, answer, "(" .. why .. ")",
      first, ok and "" or " [not accepted]"))
  end)
  c:on("tminterfacereserve", function(ev) print(("dialing #%d %s"):format(ev.idinlist, ev.number)) end)

  for _, card in ipairs(cards) do
    if emu then
      emu:offer(login, { task = TASK, mode = "confirm", number = card.number, text = card.text,
                         idinlist = card.idinlist })
      -- after "ok" the call is dialed: let the subscriber not answer, then the prompt closes
      local ev = c:wait("tminterfaceclose", 0.3)
      if not ev then
        emu:finish(login, "failed")
        c:wait("tminterfaceclose", 2)
      end
    end
  end
  if not emu then oktell.sleep(30) end
  print(("answered: ok %d, skip %d, delete %d"):format(tally.ok, tally.skip, tally.delete))
  c:callcenter_exit()
  c:close()
end)
if emu then emu:stop() end
