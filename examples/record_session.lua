-- examples/record_session.lua: record a session for your tests.
--
--   lua examples/record_session.lua [FILE]       (FILE: session.jsonl)
--
-- Runs `session` below against the embedded emulator with the `record`
-- option: log in, read the user state, enter the call-center, set and
-- reset a state, take a 121 confirm prompt (sent with emu:offer), close.
-- FILE then holds the wire transcript, one JSON line per frame, passwords
-- and session ids masked. spec/replay_spec.lua is the test a user writes
-- next: emulator.replay(FILE) serves the transcript back, and the same
-- `session` runs against it and must see the same results and the same
-- prompt. Record against your real Oktell the same way (url, login and
-- password of yours) to test your code against what it really answers.
--
-- Loaded with dofile (as the spec does) it runs nothing and returns
-- {session = fn, record = fn}.
local oktell = require "oktell"
local emulator = require "oktell.emulator"

local M = {}

M.TASK = "0f398eb4-5d78-446c-84f4-6892ab72751b"
M.PROMPT = { task = M.TASK, mode = "confirm", number = "120151112", text = "Карточка клиента",
             idinlist = 67 }

local function check(v, msg, code)
  if v == nil then error(("failed: %s (%s)"):format(tostring(msg), tostring(code)), 2) end
  return v
end

--- The code under test: what a script does with its client. `prompt`
--- makes the server send a 121 prompt (emu:offer while recording; nil
--- against a replay, which sends the recorded one by itself). Returns
--- what it saw.
function M.session(client, prompt)
  local seen = {}
  client:on("tminterfaceconfirm", function(ev) seen[#seen + 1] = ev.number end)
  local out = {}
  out.start = check(client:user_state()).state          -- "ready"
  out.entered = check(client:callcenter_enter())        -- true
  check(client:set_user_state { state = "lunch", description = "Обед" })
  out.lunch = check(client:user_state()).state           -- "lunch"
  check(client:set_user_state { state = "ready" })
  if prompt then prompt() end
  local ev = check(client:wait("tminterfaceconfirm", 5))
  out.prompt = { number = ev.number, text = ev.text, idinlist = ev.idinlist }
  -- confirm usage is off: the client has answered "ok" by itself; this
  -- reply comes after that answer's, so the recording holds it
  out.after = check(client:user_state()).state
  out.seen = seen
  return out
end

--- Record one run of `session` to file against a fresh emulator; returns
--- what the session saw.
function M.record(file)
  local emu = check(emulator.start { port = 0 })
  local client = check(oktell.connect { url = emu.url, login = "Peter", password = "123", timeout = 5,
                                        reconnect = false, record = file })
  local ok, out = pcall(M.session, client, function() check(emu:offer("Peter", M.PROMPT)) end)
  client:close()   -- the logout is recorded too; the file is closed
  emu:stop()
  if not ok then error(out, 0) end
  return out
end

if arg and arg[0] and arg[0]:find("record_session%.lua$") then
  local file = arg[1] or "session.jsonl"
  local out = M.record(file)
  print(("recorded %s: %s -> lunch %s -> prompt %s \"%s\" -> %s"):format(file, out.start, out.lunch,
    out.prompt.number, out.prompt.text, out.after))
end

return M
