-- oktell.emulator: the Oktell server emulator (API.md §5). It runs in its own
-- thread inside this process (src/emu, loaded as the C module
-- oktell.emucore, apart from the client's oktell.core), so it keeps
-- answering while the caller blocks. Rules: docs/EMULATOR.md; wire:
-- docs/PROTOCOL.md.
--
--   local emu = emulator.start{host =, port =, licenses =, users =, tasks =,
--                              max_message =,  -- largest WebSocket message accepted
--                              numbers =, break_reasons =, procedures =, roles =,
--                              ring_timeout =, missed_to_off =, wrapup =, speed =,
--                              seed =, control =}  -- the call model (docs/EMULATOR.md)
--   Bounds on hostile peers and careless scripts (docs/EMULATOR.md): session_ttl,
--   max_sessions, max_sessions_per_user, login_failures, login_lockout,
--   max_output, max_connections, max_memory, login_timeout, write_timeout.
--   An unknown key raises, naming it and the known keys.
--   emu.url; emu:offer(user, {task =, mode =, number =, text =, idinlist =})
--   emu:finish(user, "answered" | "failed"); emu:enqueue{number =}
--   emu:set_line(user, state); emu:lock_task(id, editor); emu:unlock_task(id)
--   emu:snapshot(user); emu:pause(on); emu:drop(user); emu:stop()
--   calls: emu:call_in(number, to, {patience =, name =, talk =}) -> chainid
--   emu:answer_as_abonent(id | number); emu:hangup_abonent(id | number)
--   emu:abonent(number, {answer = s | false, busy =}); emu:phone(user, action, number)
--   emu:calls(); emu:queue(); emu:stats(); emu:traffic{...} -> t; t:stats(); t:stop()
--   local remote = emulator.attach("unix:PATH" | "tcp:HOST:PORT")  -- the same methods
--   local rep = emulator.replay(file [, {host =, port =, speed =}])
--   rep.url; rep:done(); rep:wait([timeout]); rep:status(); rep:stop()
--
-- users[i]: login, password, name, isoperator, line (a state name or false),
-- redirect_number, and optionally id, number, callerid, info, group, group_id,
-- role, role_id, rights, subordinates, intercom, agent = {answer =, wrapup =}.
-- tasks[i]: id, name, type ("call" | "text"), active, and
-- optionally code, idproject, idlist. With no users: the reference's Peter /
-- 123 with redirect number "100"; with no tasks: the reference's dialing
-- task; licenses: 2.
--
-- Misuse (wrong argument types, an unknown user, task or state name) raises;
-- a call the rules refuse returns nil, message, code ("not_settable"); any
-- call on a stopped emulator returns nil, "emulator stopped", "closed".
local emucore = require "oktell.emucore"
local compat = require "oktell.compat"

-- An integer: the integer subtype on Lua 5.3/5.4, an integral number on
-- 5.1, 5.2 and LuaJIT (which have no integer subtype).
local is_integer = compat.is_integer

local M = {}

local Emu = {}
Emu.__index = Emu

local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), (level or 2) + 1)
end

local function check(n, fname, v, want, level)
  if type(v) ~= want then
    argerror(n, fname, want .. " expected, got " .. type(v), (level or 2) + 1)
  end
end

local function opt(n, fname, v, want)
  if v ~= nil and type(v) ~= want then
    argerror(n, fname, want .. " expected, got " .. type(v), 3)
  end
end

-- A control call's answer: its result alone on success, nil, msg, code on
-- failure (so a call that worked returns exactly one value).
local function result(res, msg, code)
  if res == nil then return nil, msg, code end
  return res
end

-- One control call; "invalid" from the core is misuse and raises, naming
-- the method's argument (argn) the way luaL_argerror does. Callers must not
-- tail-call it (`return result(control(...))`), so that the error level
-- below still reaches their caller.
local function control(self, fname, argn, cmd, args)
  local h = self._h
  if not h then return nil, "emulator stopped", "closed" end
  local res, msg, code = h:control(cmd, args)
  if res == nil and code == "invalid" then argerror(argn, fname, msg, 3) end
  return res, msg, code
end

function M.start(opts)
  if opts == nil then opts = {} end
  check(1, "start", opts, "table")
  opt(1, "start", opts.host, "string")
  if opts.port ~= nil and not is_integer(opts.port) then
    argerror(1, "start", "'port' must be an integer")
  end
  if opts.licenses ~= nil and not is_integer(opts.licenses) then
    argerror(1, "start", "'licenses' must be an integer")
  end
  opt(1, "start", opts.users, "table")
  opt(1, "start", opts.tasks, "table")
  for _, k in ipairs{"numbers", "break_reasons", "procedures", "roles"} do
    opt(1, "start", opts[k], "table")
  end
  for _, k in ipairs{"ring_timeout", "wrapup", "seed"} do
    opt(1, "start", opts[k], "number")
  end
  opt(1, "start", opts.missed_to_off, "boolean")
  opt(1, "start", opts.control, "string")
  if opts.speed ~= nil and opts.speed ~= "max" and type(opts.speed) ~= "number" then
    argerror(1, "start", "'speed' must be a number or \"max\"")
  end
  local h, msg, code = emucore.start(opts)
  if not h then
    if code == "invalid" then argerror(1, "start", msg) end
    return nil, msg, code
  end
  local host = opts.host or "127.0.0.1"
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  local port = h:port()
  local info = opts.control and h:control("info")
  return setmetatable({
    _h = h,
    host = host,
    port = port,
    url = ("ws://%s:%d"):format(host, port),
    control = info and info.control or false,  -- the channel's address (port 0 resolved)
  }, Emu)
end

--- emu:offer(user, {task =, mode = "confirm" | "notify", number =, text =, idinlist =})
function Emu:offer(user, o)
  check(1, "offer", user, "string")
  o = o or {}
  check(2, "offer", o, "table")
  local mode = o.mode or "confirm"
  if mode ~= "confirm" and mode ~= "notify" then
    argerror(2, "offer", "mode must be \"confirm\" or \"notify\"")
  end
  opt(2, "offer", o.task, "string")
  opt(2, "offer", o.text, "string")
  if o.idinlist ~= nil and not is_integer(o.idinlist) then
    argerror(2, "offer", "'idinlist' must be an integer")
  end
  local number = o.number
  if is_integer(number) then number = ("%d"):format(number) end
  opt(2, "offer", number, "string")
  return result(control(self, "offer", 1, "offer", {
    user = user, task = o.task, mode = mode, number = number,
    text = o.text, idinlist = o.idinlist,
  }))
end

--- emu:finish(user, "answered" | "failed")
function Emu:finish(user, outcome)
  check(1, "finish", user, "string")
  if outcome ~= "answered" and outcome ~= "failed" then
    argerror(2, "finish", "\"answered\" or \"failed\" expected")
  end
  return result(control(self, "finish", 1, "finish", {user = user, outcome = outcome}))
end

--- emu:enqueue({number = "…"}) (a number alone is accepted too)
function Emu:enqueue(o)
  if type(o) == "string" or is_integer(o) then o = {number = o} end
  check(1, "enqueue", o, "table")
  local number = o.number
  if is_integer(number) then number = ("%d"):format(number) end
  if type(number) ~= "string" or number == "" then
    argerror(1, "enqueue", "'number' must be a non-empty string")
  end
  return result(control(self, "enqueue", 1, "enqueue", {number = number}))
end

--- emu:set_line(user, state): a line state name ("hookup", "lsHookUp")
function Emu:set_line(user, state)
  check(1, "set_line", user, "string")
  check(2, "set_line", state, "string")
  if not self._h then return nil, "emulator stopped", "closed" end
  local res, msg, code = self._h:control("set_line", {user = user, state = state})
  if res == nil and code == "invalid" then
    argerror(msg:find("line state", 1, true) and 2 or 1, "set_line", msg)
  end
  return result(res, msg, code)
end

--- emu:lock_task(id, editor): TM_SetTaskActive then fails naming the editor
function Emu:lock_task(id, editor)
  check(1, "lock_task", id, "string")
  check(2, "lock_task", editor, "string")
  if editor == "" then argerror(2, "lock_task", "editor name expected") end
  return result(control(self, "lock_task", 1, "lock_task", {task = id, editor = editor}))
end

function Emu:unlock_task(id)
  check(1, "unlock_task", id, "string")
  return result(control(self, "unlock_task", 1, "unlock_task", {task = id}))
end

local SNAP_FIELDS = {"inside", "external", "connected", "confirm_pending", "dialing", "redirect",
                     "wrapup"}

--- emu:snapshot(user) -> {userstate =, linestate =, inside =, external =,
--- connected =, confirm_pending =, dialing =, redirect =, wrapup =,
--- phone = <the line's stage>, chainid =, held = <the held party's number>,
--- conference = <its id>}
function Emu:snapshot(user)
  check(1, "snapshot", user, "string")
  local res, msg, code = control(self, "snapshot", 1, "snapshot", {user = user})
  if not res then return nil, msg, code end
  local s = {userstate = res.userstate, linestate = res.linestate, phone = res.phone,
             chainid = res.chainid, held = res.held, conference = res.conference}
  for _, k in ipairs(SNAP_FIELDS) do s[k] = res[k] == true end
  return s
end

-- Calls (docs/EMULATOR.md "Calls") ------------------------------------------

-- A number argument: a string, or an integer written as one.
local function number_arg(n, fname, v)
  if is_integer(v) then v = ("%d"):format(v) end
  if type(v) ~= "string" or v == "" then
    argerror(n, fname, "number: non-empty string expected, got " .. type(v), 3)
  end
  return v
end

-- seconds, or false (never)
local function secs(n, fname, o, key)
  local v = o[key]
  if v ~= nil and v ~= false and (type(v) ~= "number" or v < 0) then
    argerror(n, fname, "'" .. key .. "' must be seconds or false", 3)
  end
  return v
end

--- emu:call_in(number, to [, {patience =, name =, talk =}]) -> chainid:
--- an outside caller calls a user (login or number), a number, or "queue"
function Emu:call_in(number, to, o)
  number = number_arg(1, "call_in", number)
  to = number_arg(2, "call_in", to)
  o = o or {}
  check(3, "call_in", o, "table")
  opt(3, "call_in", o.name, "string")
  local args = {from = number, to = to, name = o.name,
                patience = secs(3, "call_in", o, "patience"), talk = secs(3, "call_in", o, "talk")}
  local res, msg, code = control(self, "call_in", 1, "call_in", args)
  return result(res, msg, code)
end

--- emu:answer_as_abonent(chainid | number): the far end picks up
function Emu:answer_as_abonent(id)
  id = number_arg(1, "answer_as_abonent", id)
  return result(control(self, "answer_as_abonent", 1, "answer_as_abonent", {id = id}))
end

--- emu:hangup_abonent(chainid | number): the far end hangs up
function Emu:hangup_abonent(id)
  id = number_arg(1, "hangup_abonent", id)
  return result(control(self, "hangup_abonent", 1, "hangup_abonent", {id = id}))
end

--- emu:abonent(number, {answer = s | false, busy = bool}): how that number
--- behaves when dialled (default: it rings until answered)
function Emu:abonent(number, o)
  number = number_arg(1, "abonent", number)
  o = o or {}
  check(2, "abonent", o, "table")
  opt(2, "abonent", o.busy, "boolean")
  local answer = secs(2, "abonent", o, "answer")
  return result(control(self, "abonent", 1, "abonent", {number = number, answer = answer, busy = o.busy}))
end

local PHONE = {pickup = true, hangup = true, dial = true}

--- emu:phone(user, "pickup" | "hangup" | "dial" [, number]): the handset
function Emu:phone(user, action, number)
  check(1, "phone", user, "string")
  if not PHONE[action] then argerror(2, "phone", "\"pickup\", \"hangup\" or \"dial\" expected") end
  if action == "dial" then number = number_arg(3, "phone", number) end
  return result(control(self, "phone", 1, "phone", {user = user, action = action, number = number}))
end

--- emu:calls() -> {{chainid, from, to, stage, user, since}, ...}
function Emu:calls()
  local res, msg, code = control(self, "calls", 1, "calls")
  if res == true then res = {} end
  return result(res, msg, code)
end

--- emu:queue() -> {{number, chainid, waited}, ...} (the call-center queue)
function Emu:queue()
  local res, msg, code = control(self, "queue", 1, "queue")
  if res == true then res = {} end
  return result(res, msg, code)
end

--- emu:stats() -> totals: {offered, answered, abandoned, refused, waiting,
--- talking, max_wait, mean_wait, service_level, sl}
function Emu:stats()
  return result(control(self, "stats", 1, "stats"))
end

local Traffic = {}
Traffic.__index = Traffic

--- t:stats() -> as emu:stats(), for this traffic, and running
function Traffic:stats()
  return result(control(self.emu, "stats", 1, "traffic_stats", {id = self.id}))
end

--- t:stop(): no more arrivals (the calls in progress go on)
function Traffic:stop()
  return result(control(self.emu, "stop", 1, "traffic_stop", {id = self.id}))
end

--- emu:traffic{rate =, talk =, patience =, to =, numbers =, duration =,
--- seed =, sl =} -> t: Poisson arrivals (rate per emulated second), talk
--- and patience in seconds (a number: exponential mean; {min, max}:
--- uniform; false: never)
function Emu:traffic(o)
  check(1, "traffic", o, "table")
  if type(o.rate) ~= "number" or o.rate <= 0 then argerror(1, "traffic", "'rate' must be > 0") end
  opt(1, "traffic", o.to, "string")
  opt(1, "traffic", o.numbers, "string")
  opt(1, "traffic", o.duration, "number")
  opt(1, "traffic", o.sl, "number")
  if o.seed ~= nil and not is_integer(o.seed) then argerror(1, "traffic", "'seed' must be an integer") end
  local res, msg, code = control(self, "traffic", 1, "traffic", o)
  if not res then return nil, msg, code end
  return setmetatable({emu = self, id = res.id}, Traffic)
end

--- emu:pause(true | false): stop answering (sessions stay open) / resume
function Emu:pause(on)
  if on == nil then on = true end
  check(1, "pause", on, "boolean")
  return result(control(self, "pause", 1, "pause", {on = on}))
end

--- emu:drop(user): close that user's sessions abruptly
function Emu:drop(user)
  check(1, "drop", user, "string")
  return result(control(self, "drop", 1, "drop", {user = user}))
end

--- emulator.attach("unix:PATH" | "tcp:HOST:PORT" [, timeout]) -> an object
--- with the started emulator's methods, over the control channel of an
--- emulator another process runs (bin/oktell-emu --control ...); its stop()
--- only closes the channel.
function M.attach(spec, timeout)
  check(1, "attach", spec, "string")
  opt(2, "attach", timeout, "number")
  local h, msg, code = emucore.attach(spec, timeout)
  if not h then
    if code == "invalid" then argerror(1, "attach", msg) end
    return nil, msg, code
  end
  local info, imsg, icode = h:control("info")
  if not info then
    h:close()
    return nil, imsg, icode
  end
  local host = info.host
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  return setmetatable({
    _h = h,
    host = host,
    port = info.port,
    url = ("ws://%s:%d"):format(host, info.port),
    control = info.control,
  }, Emu)
end

--- emu:sessions() -> live transport sessions (for tests and benchmarks)
function Emu:sessions()
  if not self._h then return nil, "emulator stopped", "closed" end
  return self._h:sessions()
end

--- emu:stop(): close every session, stop the thread; true (again true later)
function Emu:stop()
  local h = self._h
  self._h = nil
  if h then h:stop() end
  return true
end
Emu.close = Emu.stop
Emu.__close = Emu.stop

function Emu:__tostring()
  return self._h and ("oktell.emulator (%s)"):format(self.url) or "oktell.emulator (stopped)"
end

-- Replay --------------------------------------------------------------------
-- emulator.replay(file [, {host =, port = 0, speed = 1}]): a recording made
-- by oktell.record served back to one client (src/emu/replay.c says how a
-- request finds its recorded answer and when events go out).

local Replay = {}
Replay.__index = Replay

-- The recording's text: a path is read whole, an open file from where it
-- stands. nil, message, "io" when it cannot be read.
local function slurp(file)
  local f, own = file, false
  if type(file) == "string" then
    local err
    f, err = io.open(file, "rb")
    if not f then return nil, "replay: cannot open " .. err, "io" end
    own = true
  end
  local text, err = f:read("*a")
  if own then f:close() end
  if not text then return nil, "replay: cannot read: " .. tostring(err), "io" end
  return text
end

--- emulator.replay(file [, opts]) -> replay | nil, message, code. file: a
--- path or an open file. A file that is no recording, or that holds a
--- password, hash or session id unmasked, raises (misuse).
function M.replay(file, opts)
  if type(file) ~= "string" and io.type(file) ~= "file" then
    argerror(1, "replay", "file name or open file expected, got " .. type(file))
  end
  if opts == nil then opts = {} end
  check(2, "replay", opts, "table")
  for k in pairs(opts) do
    if k ~= "host" and k ~= "port" and k ~= "speed" then
      argerror(2, "replay", "unknown key '" .. tostring(k) .. "' (known: host, port, speed)")
    end
  end
  opt(2, "replay", opts.host, "string")
  if opts.port ~= nil and not is_integer(opts.port) then
    argerror(2, "replay", "'port' must be an integer")
  end
  if opts.speed ~= nil and not (type(opts.speed) == "number" and opts.speed > 0) then
    argerror(2, "replay", "'speed' must be a number > 0")
  end
  local text, msg, code = slurp(file)
  if not text then return nil, msg, code end
  local h
  h, msg, code = emucore.replay(text, opts)
  if not h then
    if code == "invalid" then
      argerror(1, "replay", (type(file) == "string" and (file .. ": ") or "") .. msg)
    end
    return nil, msg, code
  end
  local host = opts.host or "127.0.0.1"
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  local port = h:port()
  return setmetatable({
    _h = h,
    host = host,
    port = port,
    url = ("ws://%s:%d"):format(host, port),
  }, Replay)
end

--- rep:status() -> {done =, requests =, requests_served =, events =,
--- events_sent =, unexpected =, left = {method, ...}, refused = {method, ...}}
function Replay:status()
  local h = self._h
  if not h then return nil, "replay stopped", "closed" end
  local s = h:status()
  s.left = s.left or {}
  s.refused = s.refused or {}
  return s
end

--- rep:done() -> true when every recorded request (pings aside) was served
--- and every recorded event sent
function Replay:done()
  local s = self:status()
  return s ~= nil and s.done == true
end

local function progress(s)
  local t = ("requests %d of %d served, events %d of %d sent"):format(
    s.requests_served, s.requests, s.events_sent, s.events)
  if s.left[1] then t = t .. "; next: " .. table.concat(s.left, ", ") end
  if s.refused[1] then t = t .. "; not recorded: " .. table.concat(s.refused, ", ") end
  return t
end

--- rep:wait([timeout]) -> true | nil, message, "timeout": wait (default 10 s)
--- until done(), running the oktell loop meanwhile (yields inside a
--- managed coroutine), so a client in this process keeps working
function Replay:wait(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    argerror(1, "wait", "number expected, got " .. type(timeout))
  end
  local loop = require "oktell.loop"
  local deadline = loop.now() + (timeout or 10)
  while true do
    local s, msg, code = self:status()
    if not s then return nil, msg, code end
    if s.done then return true end
    if loop.now() >= deadline then
      return nil, "replay: not every recorded exchange was served (" .. progress(s) .. ")", "timeout"
    end
    loop.sleep(0.01)
  end
end

--- rep:stop(): close the connection, stop the thread; true (again true later)
function Replay:stop()
  local h = self._h
  self._h = nil
  if h then h:stop() end
  return true
end
Replay.close = Replay.stop
Replay.__close = Replay.stop

function Replay:__tostring()
  return self._h and ("oktell.replay (%s)"):format(self.url) or "oktell.replay (stopped)"
end

return M
