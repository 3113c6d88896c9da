-- spec/emu_helper.lua: a small blocking wire client for the emulator specs,
-- over the core connection (require("oktell.core").connect): it speaks the
-- method and event names of docs/PROTOCOL.md directly, without the client
-- library's own behaviour (auto-answering prompts, re-login, ...).
--
--   local E = require "emu_helper"
--   local c = E.connect(emu, "Peter", "123")   -- logged in, or error
--   local r = c:call("getuserstate")           -- reply data (a refusal too)
--   local ev = c:event("userstatechanged")      -- first queued/arriving event of that name
--   c:no_event("dlgcard_closeall", 0.2)         -- true when none arrives in 0.2 s
--   c:close()
--
-- It subscribes to the wire events the emulator sends (SUBSCRIBE) unless
-- `extra` names its own `subscribe` list.
local core = require "oktell.core"

local E = {}

-- The state events and the prompts' group (fact sheet §2.5).
E.SUBSCRIBE = {"userstatechanged", "linestatechanged", "dlgcard"}

local Client = {}
Client.__index = Client

local function turn(self, t)
  local conn = self.conn
  local fd = conn:pollfd()
  local to = conn:timeout()
  if to == nil or to > t then to = t end
  if fd then
    core.poll({fd, conn:events() or "r"}, to)
  elseif to > 0 then
    core.poll({}, to)
  end
  conn:step()
  while true do
    local ev = conn:next_event()
    if not ev then break end
    self.q[#self.q + 1] = ev
  end
end

-- Take the first queued item for which pred holds, waiting up to t seconds.
local function take(self, pred, t)
  local deadline = core.now() + (t or 3)
  while true do
    for i, ev in ipairs(self.q) do
      if pred(ev) then
        table.remove(self.q, i)
        return ev
      end
    end
    local left = deadline - core.now()
    if left <= 0 then return nil end
    turn(self, math.min(left, 0.05))
  end
end

--- E.connect(emu, login, password [, extra]) -> client (raises on failure);
--- E.try_connect(...) -> client | nil, message, code
function E.try_connect(emu, login, password, extra)
  local o = {urls = {emu.url}, login = login or "Peter", password = password or "123", timeout = 3,
             subscribe = E.SUBSCRIBE}
  for k, v in pairs(extra or {}) do o[k] = v end
  local conn, msg, code = core.connect(o)
  if not conn then return nil, msg, code end
  local self = setmetatable({conn = conn, q = {}}, Client)
  local ev = take(self, function(e) return e.type == "ready" or e.type == "closed" end, 5)
  if not ev then
    conn:close()
    return nil, "login timed out", "timeout"
  end
  if ev.type == "closed" then
    conn:close()
    return nil, ev.message, ev.code
  end
  self.login_reply = ev.data
  return self
end

function E.connect(emu, login, password, extra)
  local c, msg, code = E.try_connect(emu, login, password, extra)
  assert(c, ("connect failed: %s (%s)"):format(tostring(msg), tostring(code)))
  return c
end

--- c:call(method [, params [, t]]) -> reply data | nil, message, code
function Client:call(method, params, t)
  local id, msg, code = self.conn:request(method, params, t)
  if not id then return nil, msg, code end
  local ev = take(self, function(e)
    return (e.type == "reply" or e.type == "error") and e.id == id
  end, (t or 3) + 1)
  if not ev then return nil, "no reply", "timeout" end
  if ev.type == "error" then return nil, ev.message, ev.code end
  return ev.data
end

--- c:event(name [, t]) -> event data | nil (the first queued or arriving)
function Client:event(name, t)
  local ev = take(self, function(e) return e.type == "event" and e.name == name end, t)
  return ev and ev.data
end

--- c:closed([t]) -> the "closed" event ({message, code}) | nil
function Client:closed(t)
  return take(self, function(e) return e.type == "closed" end, t)
end

function Client:no_event(name, t)
  return self:event(name, t or 0.2) == nil
end

--- c:clear(): drop queued events (not pending replies)
function Client:clear()
  turn(self, 0)
  local keep = {}
  for _, ev in ipairs(self.q) do
    if ev.type ~= "event" then keep[#keep + 1] = ev end
  end
  self.q = keep
end

function Client:close()
  return self.conn:close()
end
Client.__close = Client.close

return E
