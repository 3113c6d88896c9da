-- oktell.client: the Client object of API §3-4 over oktell.core's conn.
--
-- A client wraps one conn (the C pollable connection that logs in by
-- itself) and adds: requests that block or yield by context (oktell.loop),
-- the reference's methods in both styles (tables and XML), events turned into
-- the API's tables and dispatched to handlers (one managed coroutine per
-- handler call, in arrival order), the automatic "ok" to confirm prompts,
-- and reconnect with back-off.
--
-- Every method, its argument checks, its reply checks and every event name
-- come from the protocol table of the C core (core.protocol(),
-- src/core/protocol.c): nothing here names a wire request, a wire event or
-- a reply field of its own.
local core = require "oktell.core"
local compat = require "oktell.compat"
local loop = require "oktell.loop"
local states = require "oktell.states"
local xml = require "oktell.xml"
local log = require "oktell.log"
local record = require "oktell.record"

local type, error, tostring, tonumber, pairs, ipairs, pcall, next, getmetatable =
    type, error, tostring, tonumber, pairs, ipairs, pcall, next, getmetatable
-- where tables get no __gc (Lua 5.1, LuaJIT), a userdata runs Client.__gc
local setmetatable, callable, utf8_valid = compat.setmetatable, compat.callable, compat.utf8_valid
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local now = core.now
local core_check = core.check
local waiter, park, wake, deadline = loop.waiter, loop.park, loop.wake, loop.deadline
local userstate, linestate = states.userstate, states.linestate

local M = {}

local Client = {}
Client.__index = Client
Client.__name = "oktell.client"

local BACKOFF_MIN, BACKOFF_MAX = 0.05, 5

local P = core.protocol()

-- Raise as luaL_argerror does; `level` 3 blames the caller of the method
-- that called this (4 when called through one more helper).
local function argerror(n, fname, msg, level)
    error("bad argument #" .. n .. " to '" .. fname .. "' (" .. msg .. ")", level or 3)
end

local function is_int(v)
    return type(v) == "number" and v == floor(v) and v > -huge and v < huge
end

-- Text a script hands to the server: UTF-8, and no NUL or other control
-- character (a NUL would cut the JSON text short on some servers).
local function text_problem(s)
    if not utf8_valid(s) then return "is not valid UTF-8" end
    if s:find("[%z\1-\8\11\12\14-\31\127]") then return "holds a control character" end
    return nil
end

-- Protocol table lookups ------------------------------------------------------

local WIRE = {}                -- request name -> wire method
for _, w in ipairs(P.wire) do
    WIRE[w.request] = w
    w.field_of = {}
    for _, f in ipairs(w.reply_fields) do w.field_of[f.wire] = f end
end

local EVENTS, EVENT_OF = {}, {}  -- lua name -> def; any accepted name -> lua name
for _, e in ipairs(P.events) do
    EVENTS[e.lua] = e
    EVENT_OF[e.lua] = e.lua
    if e.id ~= 0 then EVENT_OF[tostring(e.id)] = e.lua end
    if e.refname then EVENT_OF[e.refname:lower()] = e.lua end
    for _, w in ipairs(e.wire or {}) do EVENT_OF[w:lower()] = e.lua end
end

local API = {}
for _, a in ipairs(P.api) do API[a.lua] = a end

-- Arguments whose value may name an item of a list the server keeps (a
-- break reason): sent as the item's id, and read back from it.
local NAMED = {}
for _, a in ipairs(P.api) do
    a.named = {}   -- this method's own such arguments
    for _, g in ipairs(a.args) do
        if g.lookup then
            NAMED[#NAMED + 1] = g
            a.named[#a.named + 1] = g
        end
    end
end

-- What the client reads of a reply's (or event's) checked wire fields, for
-- conn:pump's lean pushes (core.keep): every field is checked all the same,
-- but only these are kept by wire name; the rest go into the Lua table
-- alone. A method's own field, the ids of named items (_item_names; also
-- lua/oktell/phone.lua's break reason), the texts of a task result. Per
-- wire method, for every API method that calls it: LEAN[wire] is the check
-- a request passes.
local LEAN = {}
do
    local keep = {}
    local function add(set, w, name)
        if name and w.field_of[name] and not set[name] then
            set[name] = true
            set[#set + 1] = name
        end
    end
    for _, a in ipairs(P.api) do
        local w = a.wire and WIRE[a.wire]
        if w then
            local set = keep[w] or {}
            keep[w] = set
            add(set, w, a.field)
            for _, g in ipairs(NAMED) do add(set, w, g.alt_wire) end
            if a.ret == "taskresult" then
                for _, f in ipairs(w.reply_fields) do
                    if f.type == "string" then add(set, w, f.wire) end
                end
            end
        end
    end
    for w, set in pairs(keep) do
        core.keep(w.fref, set)
        LEAN[w.request] = w.fref + core.T_ONLY
    end
    -- events: userstate's named items and call-center flag
    -- (_server_event); linestate and the prompts read their Lua table only
    local e = EVENTS.userstate
    local has, set = {}, {}
    for _, f in ipairs(e.fields) do has[f.wire] = true end
    for _, g in ipairs(NAMED) do
        if has[g.alt_wire] then set[#set + 1] = g.alt_wire end
    end
    local inside = API.callcenter_inside.field
    if has[inside] then set[#set + 1] = inside end
    core.keep(e.fref, set)
end

-- API methods whose request is Oktell's own: always offered (_offered).
local OWN = {}
for _, a in ipairs(P.api) do
    if a.wire and WIRE[a.wire] and WIRE[a.wire].source then OWN[a] = true end
end

-- Reply field checks ------------------------------------------------------------

-- An integer from the wire (a list item's id), or nil. Real servers
-- send codes as strings or numbers (§14.1), so "7" is 7; anything else of
-- the wrong type or an unknown state is refused.
local function to_int(v)
    if is_int(v) then return v end
    if type(v) == "string" and v:find("^%-?%d+$") then return tonumber(v) end
    return nil
end

-- A list of strings (one string counts as a list of it), or nil, why.
local function strings_of(v)
    if type(v) == "string" then return { v } end
    if type(v) ~= "table" then return nil, "a list of strings expected" end
    for i = 1, #v do if type(v[i]) ~= "string" then return nil, "a list of strings expected" end end
    return v
end

-- An event name of API §4 (a Lua name, the reference's name, a wire name,
-- or the reference's id) -> the Lua name; misuse raises.
local function event_name(name, n, fname)
    local key
    if is_int(name) then
        key = tostring(name)
    elseif type(name) == "string" then
        key = name:lower()
    else
        argerror(n, fname, "event name expected, got " .. type(name), 4)
    end
    local e = EVENT_OF[key]
    if not e then argerror(n, fname, "unknown event '" .. tostring(name) .. "'", 4) end
    return e
end

local function closed_error(self)
    if self.status == "closed" then
        return nil, self.end_why or "oktell: client is closed", "closed"
    end
    return nil, "oktell: not connected (" .. (self.last_error or "connection lost") .. ")", "closed"
end

-- Shared by the clients that need no table of their own (read-only):
-- the `wire` map when none is given, the recorders when there are none
-- (_record and _unrecord replace the list, never change it in place), the
-- default subscriptions (made at the first connect) and the extension
-- sets the servers announced (one table per distinct set, while used).
local NO_WIRE, NO_RECORDERS = {}, {}
local DEFAULT_SUBS
local EXT_SETS = setmetatable({}, { __mode = "v" })
local EVENT_CHECKS = setmetatable({}, { __mode = "k" })  -- event map -> pump's checks
local NO_FIELDS = setmetatable({}, { __newindex = function() error("oktell: internal: NO_FIELDS is read-only", 2) end })

-- Client internals -----------------------------------------------------------

function Client:_conn_opts()
    local o = self.opts
    return {
        urls = o.urls, login = o.login, password = o.password, timeout = o.timeout,
        open_timeout = o.open_timeout, ping = o.ping, cafile = o.cafile, verify = o.verify,
        subscribe = self.subscribe, trace = self:_tracing() or nil, max_output = o.max_output,
        max_memory = o.max_memory,
    }
end

-- Does anyone want the frames: a trace function or a recorder?
function Client:_tracing()
    return self.trace_fn ~= nil or self.recorders[1] ~= nil
end

function Client:_fail_pending(msg, code)
    local pending = self.pending
    if next(pending) == nil then return end
    self.pending = {}
    for _, w in pairs(pending) do wake(w, nil, msg, code) end
end

-- Hand ev to every handler of name (a managed coroutine each) and to the
-- waits. on_all (optional) runs once every one of those handler calls has
-- ended, at once when there are none.
local loop_call = loop.call
function Client:_emit(name, ev, on_all)
    local hs = self.handlers[name]
    if not on_all then
        -- (the event path: no closure)
        if hs then
            for i = 1, #hs do loop_call(hs[i].fn, ev, self) end
        end
    else
        local n = hs and #hs or 0
        local function one_ended()
            n = n - 1
            if n == 0 then on_all() end
        end
        for i = 1, n do loop_call(hs[i].fn, ev, self, one_ended) end
        if n == 0 then on_all() end
    end
    local ws = self.waits[name]
    if ws then
        self.waits[name] = nil
        for i = 1, #ws do wake(ws[i], ev, nil, nil, 1) end
    end
end

-- A protocol surprise that costs no caller anything (a malformed event):
-- noted, so a script can look at it; the event is dropped.
function Client:_surprise(why)
    self.last_surprise = why
    log.emit("warn", why, { login = self.opts.login })
end

local INSIDE_FIELD = API.callcenter_inside.field

-- pre: d came checked (conn:pump, for the events self.event_checks
-- names): d is the checked table, pre the event's table.
function Client:_server_event(wname, d, pre)
    local event_of = self.event_of  -- real names come in lower case: no new string
    local lname = event_of[wname] or event_of[wname:lower()]
    local e = lname and EVENTS[lname]
    if not e then return end
    -- (false with pre: pump built the Lua table only; nothing reads d then)
    if type(d) ~= "table" then d = pre and NO_FIELDS or {} end
    self:_phone_event(lname, d)  -- API §6 hook (lua/oktell/phone.lua)
    local checked, t = d, pre
    if pre then
        if e.id ~= 0 then t.id, t.name = e.id, lname end
    else
        checked, t = core_check(d, e.fref, e.id ~= 0 and { id = e.id, name = lname } or nil, "event ", wname)
        if not checked then return self:_surprise("oktell: " .. t) end
    end
    if lname == "userstate" then
        self:_item_names(t, checked)
        if t.code ~= nil then
            self:_known_state(t)
            self:_emit(lname, t)
        end
        local inside = checked[INSIDE_FIELD]
        if inside ~= nil then
            local was = self.inside
            self.inside = inside
            if was ~= nil and was ~= inside then self:_emit("callcenter", { inside = inside }) end
        end
    elseif lname == "linestate" then
        if t.state then
            self:_emit(lname, t)
        else
            -- Oktell itself sends no fields (§6.4): ask, as oktell.js does.
            loop.call(function()
                local s, c = self:line_state()
                if s then self:_emit(lname, { state = s, code = c }) end
            end)
        end
    elseif e.id ~= 0 then
        -- a task manager prompt (121/122/123): the API's "event" table
        if t.idtask == nil then t.idtask = "" end
        if t.textb64 then t.text = core.b64decode(t.textb64) end
        -- the prompt on screen: 121 or 122 until its 123 (see _on_closed)
        local prompt = lname ~= "tminterfaceclose" and { id = t.id, idtask = t.idtask } or nil
        self.prompt = prompt
        if lname ~= "tminterfaceconfirm" then return self:_emit(lname, t) end
        if self.confirm_usage or not self:_offered(API.set_confirm_result) then
            return self:_emit(lname, t)
        end
        -- Confirm usage off: answer "ok" as the reference's client core
        -- does, once every handler of this prompt has ended without
        -- answering it (set_confirm_result), unless another prompt, a 122,
        -- a 123 or a drop came meanwhile.
        self:_emit(lname, t, function()
            if self.prompt == prompt and not prompt.answered then
                loop.call(function() self:set_confirm_result(0) end)
            end
        end)
    end
end

-- The wire method whose reply announces the server's extensions
-- (getversion) and the one whose reply names the user (login).
local VERSION, LOGIN
for _, w in ipairs(P.wire) do
    if w.field_of[P.ext_field] then VERSION = w end
    for _, f in ipairs(w.reply_fields) do if f.lua == "userid" then LOGIN = w end end
end

-- The last user state the client heard of (an event or a user_state
-- reply), for the userstate event a reconnect owes when it changed.
function Client:_known_state(t)
    self.last_code, self.last_redirect = t.code, t.redirect
end

-- After login (first connect or reconnect): learn what the server offers
-- beyond Oktell's own requests, the call-center flag, restore confirm
-- usage, read the user state. Returns true, whether the call-center flag
-- changed, and the user state when it changed since the client last heard
-- of it (a drop hides the changes the server made meanwhile).
function Client:_setup()
    local d, msg, code, answered = self:_call(VERSION.request)
    if not d and not answered then return nil, msg, code end
    local ext = {}
    local list = d and strings_of(d[P.ext_field] or {})
    for _, name in ipairs(list or {}) do ext[name:lower()] = true end
    local names = {}
    for n in pairs(ext) do names[#names + 1] = n end
    sort(names)
    local key = concat(names, " ")
    -- clients of servers that announce the same set share one (read-only)
    local shared = EXT_SETS[key]
    if shared then ext = shared else EXT_SETS[key] = ext end
    self.ext = ext
    if log.enabled("debug") then
        log.emit("debug", "server extensions", { list = key })
    end
    local inside, m1, c1 = self:callcenter_inside()
    if inside == nil then return nil, m1, c1 end
    local was = self.inside
    self.inside = inside
    if self.confirm_usage then
        local r, m2, c2 = self:set_confirm_usage(true)
        if not r and c2 ~= "unsupported" then return nil, m2, c2 end
    end
    local code0, redirect0 = self.last_code, self.last_redirect
    local st = self:user_state() -- best effort: the connection stands without it
    local changed = st and code0 ~= nil and (st.code ~= code0 or st.redirect ~= redirect0)
    return true, was ~= nil and was ~= inside, changed and st or nil
end

-- The codes of API §0; the core may end a connection with others ("tls",
-- "nomem"), which reach scripts as "refused" while connecting and as
-- "closed" after.
local CODES = {
    timeout = true, closed = true, refused = true, auth = true, license = true,
    not_settable = true, bad_xml = true, protocol = true, server = true,
}

function Client:_on_closed(msg, code)
    if not CODES[code] then code = self.ready_w and "refused" or "closed" end
    local conn = self.conn
    self.conn = nil
    self.held = nil
    self.dirty = false
    if conn then
        if self:_tracing() and conn.trace then self:_trace(conn) end
        self.trace_conn = nil
        conn:close()
    end
    self.last_error = msg
    self:_fail_pending(msg or "connection lost", "closed")
    if self.ready_w then
        local w = self.ready_w
        self.ready_w = nil
        wake(w, nil, msg, code)
        return
    end
    if self.status == "closed" then return end
    local was_up = self.status == "ready"
    if was_up then
        log.emit("warn", "connection lost", { login = self.opts.login, code = code, message = msg,
            reconnect = self.opts.reconnect })
        self:_emit("disconnect", { message = msg, code = code })
        -- A prompt on screen will get no 123 from this connection: close
        -- it here, so a script waiting for one is not stuck.
        local p = self.prompt
        if p then
            self.prompt = nil
            local e = EVENTS.tminterfaceclose
            self:_emit("tminterfaceclose", { id = e.id, name = e.lua, idtask = p.idtask, reason = "disconnect" })
        end
    elseif self.status == "connecting" then
        log.emit("warn", "reconnect failed", { login = self.opts.login, attempt = self.attempts,
            code = code, message = msg, retry_in = self.backoff })
    end
    if self.opts.reconnect then
        self.status = "down"
        if was_up then self.backoff = BACKOFF_MIN end
        self.retry_at = now() + self.backoff
        self.backoff = math.min(self.backoff * 2, BACKOFF_MAX)
    else
        log.emit("error", "connection lost, not reconnecting", { login = self.opts.login, code = code,
            message = msg })
        self:_end("oktell: connection lost (" .. tostring(msg) .. "); reconnect is off")
    end
end

function Client:_retry()
    self.retry_at = nil
    self.attempts = (self.attempts or 0) + 1
    log.emit("info", "reconnecting", { login = self.opts.login, attempt = self.attempts })
    local conn, msg = self.open(self:_conn_opts())
    if not conn then
        log.emit("warn", "reconnect failed", { login = self.opts.login, attempt = self.attempts,
            message = msg, retry_in = self.backoff })
        self.last_error = msg
        self.retry_at = now() + self.backoff
        self.backoff = math.min(self.backoff * 2, BACKOFF_MAX)
        return
    end
    self.conn = conn
    self.pumps = conn.pump ~= nil
    self.dirty = true
    self.status = "connecting"
end

function Client:_on_ready(data)
    self.items = {}   -- lists are asked again after each login
    local checked = core_check(type(data) == "table" and data or {}, LOGIN.fref, nil, LOGIN.request)
    self.userid = checked and checked.userid or nil
    if self.ready_w then
        local w = self.ready_w
        self.ready_w = nil
        self.status = "ready"
        wake(w, true, nil, nil, 1)
        return
    end
    if self.status ~= "connecting" then return end
    log.emit("info", "reconnected", { login = self.opts.login, attempts = self.attempts })
    self.attempts = 0
    self.status = "ready"
    self.backoff = BACKOFF_MIN
    self.last_error = nil
    loop.call(function()
        local ok, changed, state = self:_setup()
        if ok and state then self:_emit("userstate", state) end
        if ok and changed then self:_emit("callcenter", { inside = self.inside }) end
        if self.status == "ready" then self:_emit("reconnect", {}) end
    end)
end

function Client:_on_conn_event(ev)
    local t = ev.type
    if t == "reply" then
        local w = self.pending[ev.id]
        if w then
            self.pending[ev.id] = nil
            wake(w, ev.data, nil, nil, 1)
        end
    elseif t == "error" then
        local w = self.pending[ev.id]
        if w then
            self.pending[ev.id] = nil
            wake(w, nil, ev.message, ev.code)
        end
    elseif t == "event" then
        self:_server_event(ev.name, ev.data)
    elseif t == "ready" then
        self:_on_ready(ev.data)
    elseif t == "closed" then
        self:_on_closed(ev.message, ev.code)
    end
end

-- The loop's side of the pollable: work due now? (A client whose conn has
-- pump is read through its fields instead: loop.lua's fast pollables.)
function Client:_due(t)
    if self.dirty or self.held then return true end
    local conn = self.conn
    if conn then
        local d = conn:timeout()
        if d and d <= 0 then return true end
    end
    local r = self.retry_at
    return r ~= nil and t >= r
end

-- Seconds until this client needs a turn (nil: only when its fd is ready).
function Client:_timeout()
    local d
    local conn = self.conn
    if conn then
        if self.pumps then
            local at = self.due_at
            if at then d = at - now() end
        else
            d = conn:timeout()
        end
    end
    local r = self.retry_at
    if r then
        local rd = r - now()
        if not d or rd < d then d = rd end
    end
    if d and d < 0 then d = 0 end
    return d
end

-- Conn events handed out per turn; the rest wait for the next turn (the
-- conn says it has work due at once), so timers, coroutines and other
-- clients get their turn under any flood of events.
local EVENTS_PER_TURN = 64

-- One turn: do the I/O, then hand queued conn events on. Once a reply
-- has woken its caller, the next server event is held back until the next
-- turn, so the caller's code (say, a wait() for the event its request
-- causes) runs before any later event is handed out.
function Client:_turn(ready, t)
    local conn = self.conn
    if conn and self.pumps then
        self.dirty = false
        self:_pump(conn, ready)
    elseif conn then
        self.dirty = false
        local ok, msg, code = conn:step()
        if self:_tracing() and conn.trace then self:_trace(conn) end
        local woke, n = false, 0
        repeat
            n = n + 1
            local ev = self.held
            if ev then
                self.held = nil
            else
                ev = conn:next_event()
            end
            if ev then
                local ty = ev.type
                if ty == "reply" or ty == "error" then
                    if self.pending[ev.id] then woke = true end
                    self:_on_conn_event(ev)
                elseif woke then
                    self.held = ev
                    break
                else
                    self:_on_conn_event(ev)
                end
            end
        until not ev or self.conn ~= conn or n >= EVENTS_PER_TURN
        if not ok and self.conn == conn and conn:state() == "closed" and not self.held then
            self:_on_closed(msg, code)
        end
    end
    local r = self.retry_at
    if r and (t or now()) >= r and self.status == "down" then self:_retry() end
end

-- The turn of a conn with pump: one call into C does the I/O poll found
-- ready, writes what is queued, and hands out up to EVENTS_PER_TURN
-- events as triples in self.batch (id, data, pre: a reply, pre its Lua
-- table when it came checked; name, data: a server event; 0, table:
-- anything else). The entries held back by the rule
-- above wait at the front of the batch for the next turn.
function Client:_pump(conn, ready)
    local out = self.batch
    if not out then
        out = {}
        self.batch = out
    end
    local held = self.held or 0
    local n, fd, want, due_at = conn:pump(ready, out, 3 * held + 1, EVENTS_PER_TURN - held, self.event_checks)
    if (self.trace_fn or self.recorders[1]) and conn.trace then self:_trace(conn) end
    if not n then
        -- the box was closed under us: the conn ended
        self.held = nil
        if self.conn == conn then self:_on_closed(fd, want) end
        return
    end
    self.fd, self.want, self.due_at = fd, want, due_at
    local last = 3 * (held + n)
    local pending = self.pending
    local woke = false
    local i = 1
    while i < last do
        local key, val, pre = out[i], out[i + 1], out[i + 2]
        local kt = type(key)
        if kt == "number" and key > 0 then
            local w = pending[key]
            if w then
                pending[key] = nil
                woke = true
                -- (a lean reply with nothing kept: false for its checked table)
                if pre then wake(w, val or NO_FIELDS, pre, nil, 2) else wake(w, val, nil, nil, 1) end
            end
        elseif kt == "string" then
            if woke then break end
            self:_server_event(key, val, pre)
        else
            local ty = val.type
            if ty == "error" then
                if pending[val.id] then woke = true end
            elseif woke then
                break
            end
            self:_on_conn_event(val)
        end
        out[i], out[i + 1], out[i + 2] = nil, nil, nil
        i = i + 3
        if self.conn ~= conn then
            -- closed (or reconnecting): what is left belonged to the old conn
            for j = i, last do out[j] = nil end
            self.held = nil
            return
        end
    end
    if i < last then
        -- hold the rest: move it to the front for the next turn
        local j = 1
        for k = i, last do
            out[j] = out[k]
            out[k] = nil
            j = j + 1
        end
        self.held = (last - i + 1) / 3
        self.due_at = now()
    else
        self.held = nil
    end
end

-- Hand the frames the conn recorded to the trace function and to the
-- recorders (secrets are masked by the core before they are recorded).
-- `dropped` counts since the conn began: only what is new is reported.
function Client:_trace(conn)
    local list, dropped = conn:trace()
    local fn = self.trace_fn
    if self.trace_conn ~= conn then self.trace_conn, self.trace_dropped = conn, 0 end
    if dropped and dropped > self.trace_dropped then
        local n = dropped - self.trace_dropped
        self.trace_dropped = dropped
        log.emit("warn", "trace frames dropped", { count = n })
        list[#list + 1] = { dir = "!", frame = n .. " frames not traced (trace buffer full)" }
    end
    local recs = self.recorders
    for i = 1, #recs do recs[i]:_feed(list) end
    if not fn then return end
    for i = 1, #list do
        local ok, err = pcall(fn, list[i].dir, list[i].frame)
        if not ok then loop.call(error, err, 0) end
    end
end

-- Recorders (oktell.record): a live conn starts tracing with the first
-- one; it stops when neither a recorder nor a trace function is left.
function Client:_record(rec)
    local conn = self.conn
    if conn and not self:_tracing() then
        if not conn.set_trace then
            return nil, "oktell.record: this transport cannot trace a live connection", "unsupported"
        end
        local ok, msg, code = conn:set_trace(true)
        if not ok then return nil, msg, code end
    end
    local recs = {}
    for i = 1, #self.recorders do recs[i] = self.recorders[i] end
    recs[#recs + 1] = rec
    self.recorders = recs
    return true
end

function Client:_unrecord(rec)
    local conn = self.conn
    -- what was traced up to now goes to every recorder first
    if conn and conn.trace then self:_trace(conn) end
    local recs = {}
    for i = 1, #self.recorders do
        if self.recorders[i] ~= rec then recs[#recs + 1] = self.recorders[i] end
    end
    self.recorders = recs
    if conn and conn.set_trace and not self:_tracing() then conn:set_trace(false) end
end

-- Send one request and wait (yield or block) for its reply. Returns the
-- reply object, or nil, msg, code[, answered, reply] (answered: the server
-- refused; the reply is handed back for its error values). check (a wire
-- method's fref, optional): a conn with pump may hand the reply back
-- checked against that method's reply fields: then the reply object is
-- the checked table and a 6th value its Lua table.
function Client:_call(method, params, check)
    if self.status ~= "ready" then return closed_error(self) end
    local conn = self.conn
    -- no parameters: the core formats the request without a JSON tree
    if params and next(params) == nil then params = nil end
    local w = waiter()
    -- A caller that blocks (not a managed coroutine, so nothing else is
    -- about to add to this turn's output) has a conn with pump write the
    -- request at once: the loop's next move is the poll for the reply.
    local flush = self.pumps and not w.co
    local id, msg, code = conn:request(method, params, nil, check, flush)
    if not id then return nil, msg, code end
    self.pending[id] = w
    if flush then
        -- msg: seconds until the conn has work due (the request's deadline)
        if msg == 0 then self.dirty = true elseif msg then self.due_at = now() + msg end
    else
        self.dirty = true
    end
    local data, m, c = park(w)
    if data == nil then
        if c == "timeout" then
            log.emit("warn", "request timed out", { method = method, timeout = self.opts.timeout })
        end
        return nil, m, c
    end
    local r = data.result
    if r == 0 or r == false or r == "0" then
        local em = data.errormsg
        if type(em) ~= "string" or em == "" then
            em = data.error and ("server error " .. tostring(data.error)) or "server refused the request"
        end
        return nil, em, "server", true, data
    end
    return data, nil, nil, nil, nil, m
end

-- finalizing: called from __gc (maybe while the host shuts its Lua state
-- down): the transport frees what it holds but does no I/O.
-- why: the cause when the connection ended the client (a drop with
-- reconnect off): pending calls, waits and later calls say it.
function Client:_end(why, finalizing)
    self.status = "closed"
    self.end_why = why
    self.held = nil
    self.retry_at = nil
    if self.conn then
        local conn = self.conn
        self.conn = nil
        conn:close(finalizing)
        -- the logout the close sent; never from a finalizer (no user code there)
        if not finalizing and self:_tracing() and conn.trace then self:_trace(conn) end
        self.trace_conn = nil
    end
    -- a recorder the `record` option made ends with its client
    local own = self.own_recorder
    if own then
        self.own_recorder = nil
        own:stop()
    end
    self:_fail_pending(why or "oktell: client is closed", "closed")
    why = why or "oktell: client is closed"
    if self.ready_w then
        local w = self.ready_w
        self.ready_w = nil
        wake(w, nil, why, "closed")
    end
    local waits = self.waits
    self.waits = {}
    for _, ws in pairs(waits) do
        for i = 1, #ws do wake(ws[i], nil, why, "closed") end
    end
    -- A finalized client has left the loop's weak set already; asking the
    -- loop now could reach a host API that is gone (nginx closing the
    -- worker's Lua state).
    if not finalizing then loop.remove(self) end
end

-- Public: connect -------------------------------------------------------------

local function positive(v) return type(v) == "number" and v > 0 and v < huge end
-- A size option: whole bytes, at least `min` (the core's lower bound), at
-- most a GiB.
local function bytes(min) return function(v) return is_int(v) and v >= min and v <= 2 ^ 30 end end

-- Every connect option, how it is checked, and what a bad value is told.
local OPTIONS = {
    url = { function(v) return type(v) == "string" or type(v) == "table" end, "a string or a list of strings" },
    urls = { function(v) return type(v) == "string" or type(v) == "table" end, "a string or a list of strings" },
    login = { function(v) return type(v) == "string" end, "a string" },
    password = { function(v) return type(v) == "string" end, "a string" },
    timeout = { positive, "a positive number" },
    open_timeout = { positive, "a positive number" },
    ping = { positive, "a positive number" },
    reconnect = { function(v) return type(v) == "boolean" end, "a boolean" },
    confirm_usage = { function(v) return type(v) == "boolean" end, "a boolean" },
    verify = { function(v) return type(v) == "boolean" end, "a boolean" },
    cafile = { function(v) return type(v) == "string" end, "a string" },
    wire = { function(v) return type(v) == "table" end, "a table of Lua name -> wire name" },
    trace = { callable, "a function" },
    record = { record.valid_file, "a file name or an open file" },
    queue_interval = { positive, "a positive number" },  -- API §6.3 (oktell.phone)
    max_output = { bytes(65536), "a whole number of bytes from 65536 to 2^30" },
    max_memory = { bytes(1048576), "a whole number of bytes from 1048576 to 2^30" },
}
local OPTION_NAMES = {}
for k in pairs(OPTIONS) do OPTION_NAMES[#OPTION_NAMES + 1] = k end
sort(OPTION_NAMES)

local function check_opts(o)
    if type(o) ~= "table" then argerror(1, "connect", "table expected, got " .. type(o), 4) end
    for k, v in pairs(o) do
        local c = OPTIONS[k]
        if not c then
            argerror(1, "connect", "unknown option '" .. tostring(k) .. "' (known: "
                .. concat(OPTION_NAMES, ", ") .. ")", 4)
        end
        if not c[1](v) then argerror(1, "connect", "'" .. k .. "' must be " .. c[2] .. ", got " .. type(v), 4) end
    end
    local urls = o.url or o.urls
    if urls == nil then argerror(1, "connect", "'url' (string or list) expected, got nil", 4) end
    if type(urls) == "string" then urls = { urls } end
    if #urls == 0 then argerror(1, "connect", "'url' list is empty", 4) end
    local list = {}
    for i = 1, #urls do
        if type(urls[i]) ~= "string" then argerror(1, "connect", "'url' must hold strings", 4) end
        list[i] = urls[i]
        -- the ones that will be tried (10), in the core's words
        if i <= 10 then
            local ok, why = core.check_url(urls[i])
            if not ok then argerror(1, "connect", why, 4) end
        end
    end
    if o.login == nil then argerror(1, "connect", "'login' (string) expected, got nil", 4) end
    -- wire: Lua method or event name -> the wire name a server uses for it.
    -- Without it every client shares the module's tables (read-only), so
    -- ten thousand clients do not hold ten thousand copies.
    local wire_of, event_of = NO_WIRE, EVENT_OF
    for k, v in pairs(o.wire or {}) do
        if wire_of == NO_WIRE then
            wire_of, event_of = {}, {}
            for k2, v2 in pairs(EVENT_OF) do event_of[k2] = v2 end
        end
        if type(k) ~= "string" or not (API[k] or EVENTS[k]) then
            argerror(1, "connect", "'wire' maps a Lua method or event name, got '" .. tostring(k) .. "'", 4)
        end
        if type(v) ~= "string" or not v:find("^[%w_]+$") then
            argerror(1, "connect", "'wire." .. k .. "' must be a wire name (letters, digits, _)", 4)
        end
        if API[k] then
            wire_of[k] = v
        elseif EVENTS[k].wire then
            event_of[v:lower()] = k
            wire_of[k] = v
        else
            argerror(1, "connect", "'wire." .. k .. "': the client makes this event itself", 4)
        end
    end
    local trace = o.trace
    if trace == nil and os.getenv("OKTELL_TRACE") == "1" then
        trace = function(dir, frame) io.stderr:write("oktell ", dir, " ", frame, "\n") end
    end
    return {
        urls = list, login = o.login, password = o.password or "", timeout = o.timeout,
        -- The login is a request too: `timeout` bounds it unless open_timeout is given.
        open_timeout = o.open_timeout or o.timeout, ping = o.ping, cafile = o.cafile, verify = o.verify,
        reconnect = o.reconnect ~= false, confirm_usage = o.confirm_usage == true,
        record = o.record,
        queue_interval = o.queue_interval,  -- API §6.3 (oktell.phone)
        max_output = o.max_output, max_memory = o.max_memory,
    }, wire_of, event_of, trace
end

-- The events to subscribe to: each event's subscription name (an event or
-- a group, §2.5), or the wire name the user mapped it to; once each.
local function subscriptions(wire_of)
    local list, seen = {}, {}
    for _, e in ipairs(P.events) do
        local name = wire_of[e.lua] or e.subscribe
        if name and not seen[name] then
            seen[name] = true
            list[#list + 1] = name
        end
    end
    return list
end

local function close_gc(self)
    if self.status ~= "closed" then self:_end() end
end

local function finalize(self)
    if self.status ~= "closed" then self:_end(nil, true) end
end

-- The transport seam: a client gets its conn (and every reconnect's) from
-- open(conn options). core.connect makes the core's own poll-driven socket;
-- a host driver that owns the I/O (lua/oktell/ngx.lua) passes a function
-- whose objects have the conn's methods (step, next_event, request, trace,
-- state, close, timeout, pollfd, events) over its own sockets.
local function connect(opts, wire_of, event_of, trace, open)
    local subscribe
    if wire_of == NO_WIRE then
        DEFAULT_SUBS = DEFAULT_SUBS or subscriptions(NO_WIRE)
        subscribe = DEFAULT_SUBS
    else
        subscribe = subscriptions(wire_of)
    end
    local self = setmetatable({
        opts = opts, status = "connecting", pending = {}, handlers = {}, waits = {},
        nhandlers = 0, confirm_usage = false, backoff = BACKOFF_MIN, dirty = true, items = {},
        wire_of = wire_of, event_of = event_of, trace_fn = trace, subscribe = subscribe,
        open = open, recorders = NO_RECORDERS,
    }, Client)
    -- The events whose tables pump builds from the JSON at once (their
    -- handlers get only the checked table; phone events keep their payload
    -- for lua/oktell/phone.lua, so they come plain): one table per event
    -- map, shared as the map is.
    local checks = EVENT_CHECKS[event_of]
    if not checks then
        checks = {}
        for wname, lname in pairs(event_of) do
            local e = EVENTS[lname]
            -- lean (T_ONLY): what core.keep named is kept by wire name
            -- (userstate's: see LEAN), nothing for linestate and the prompts
            if e and (e.id ~= 0 or lname == "linestate" or lname == "userstate") then
                checks[wname] = e.fref - core.T_ONLY
            end
        end
        EVENT_CHECKS[event_of] = checks
    end
    self.event_checks = checks
    if opts.record ~= nil then
        -- from the first frame: the conn traces from its start
        local rec, rmsg, rcode = record.new(opts.record, opts.login, opts.urls[1])
        if not rec then return nil, rmsg, rcode end
        rec.client = self
        self.recorders = { rec }
        self.own_recorder = rec
    end
    local conn, msg, code = open(self:_conn_opts())
    if not conn then
        -- The core refuses bad arguments (a URL that is not ws:// or wss://,
        -- a login that is not UTF-8, a password CP1251 cannot hold): misuse.
        if self.own_recorder then self.own_recorder:stop() end
        if code == "invalid" then argerror(1, "connect", msg, 4) end
        return nil, msg, code
    end
    self.conn = conn
    self.pumps = conn.pump ~= nil
    local w = waiter()
    self.ready_w = w
    loop.add(self)
    -- The conn has its own open timeout; this only guards against a conn that
    -- never reports either way.
    deadline(w, now() + (opts.open_timeout or 10) * #opts.urls + 5, nil, "oktell: connect timed out", "timeout")
    local ok, m, c = park(w)
    if not ok then
        self.ready_w = nil
        self:_end()
        log.emit("warn", "connect failed", { login = opts.login, code = c, message = m })
        return nil, m, c
    end
    self.confirm_usage = opts.confirm_usage
    local r, m2, c2 = self:_setup()
    if not r then
        self:_end()
        log.emit("warn", "connect failed", { login = opts.login, code = c2, message = m2 })
        return nil, m2, c2
    end
    log.emit("info", "connected", { login = opts.login })
    return self
end

-- Not tail calls (Lua 5.1 counts levels across them otherwise): misuse
-- errors blame the caller's line, from check_opts and from connect.
function M.connect(o)
    local opts, wire_of, event_of, trace = check_opts(o)
    local c, msg, code = connect(opts, wire_of, event_of, trace, core.connect)
    if c then return c end
    return nil, msg, code
end

-- oktell.record(client, file) -> recorder | nil, message, code: record the
-- client's wire transcript from now on (lua/oktell/record.lua).
function M.record(c, file)
    if getmetatable(c) ~= Client then argerror(1, "record", "oktell client expected, got " .. type(c)) end
    if not record.valid_file(file) then
        argerror(2, "record", "file name or open file expected, got " .. type(file))
    end
    if c.status == "closed" then return nil, "oktell: client is closed", "closed" end
    local rec, msg, code = record.new(file, c.opts.login, c.opts.urls[1])
    if not rec then return nil, msg, code end
    local ok, m2, c2 = c:_record(rec)
    if not ok then
        rec:stop()
        return nil, m2, c2
    end
    rec.client = c
    return rec
end

-- For host drivers: connect over open(conn options) (see connect above).
function M.connect_with(o, open)
    local opts, wire_of, event_of, trace = check_opts(o)
    local c, msg, code = connect(opts, wire_of, event_of, trace, open)
    if c then return c end
    return nil, msg, code
end

-- Public: the methods of API §3, made from the protocol table ------------------

-- Is this method's request one the server knows? Oktell's own requests
-- always; our extensions only when the server announced them (getversion)
-- or the user mapped the method to a wire name of their own.
function Client:_offered(a, wire)
    wire = wire or a.wire
    if wire == a.wire and self.wire_of[a.lua] then return true end
    if WIRE[wire].source then return true end
    return self.ext ~= nil and self.ext[wire] == true
end

-- Lua argument types (the protocol table's okt_atype): the wire value of
-- v, or nil, why.
local ARG = {
    string = function(v)
        if type(v) ~= "string" then return nil, "must be a string, got " .. type(v) end
        local p = text_problem(v)
        if p then return nil, p end
        return v
    end,
    id = function(v)
        if type(v) ~= "string" or v == "" then return nil, "must be a non-empty string" end
        local p = text_problem(v)
        if p then return nil, p end
        return v
    end,
    bool = function(v)
        if type(v) == "boolean" then return v end
        return nil, "must be a boolean, got " .. type(v)
    end,
    bool12 = function(v)
        if v == true or v == 1 then return 1 elseif v == false or v == 2 then return 2 end
        return nil, "must be a boolean"
    end,
    userstate = function(v)
        if type(v) == "string" then
            local c = userstate[v]
            if c then return c end
            return nil, "unknown user state '" .. v .. "'"
        elseif is_int(v) then
            if userstate[v] then return v end
            return nil, "unknown user state " .. v
        end
        return nil, "must be a state name or code, got " .. type(v)
    end,
    int = function(v)
        if is_int(v) then return v end
        return nil, "must be an integer, got " .. tostring(v)
    end,
    word = function(v, g)
        if type(v) == "string" then
            for _, w in ipairs(g.words) do if w == v then return w end end
        elseif g.index and is_int(v) and g.words[v + 1] then
            return g.words[v + 1]
        end
        local list = '"' .. concat(g.words, '", "') .. '"'
        if g.index then list = list .. " or 0.." .. (#g.words - 1) end
        return nil, "must be " .. list .. ", got " .. tostring(v)
    end,
}

local function arg_names(a)
    local names = {}
    for _, g in ipairs(a.args) do names[#names + 1] = "'" .. g.lua .. "'" end
    return concat(names, ", ")
end

-- The wire parameters of a call of method `a`, checked; misuse raises,
-- blaming the script (`level` counted from here).
-- Called only for a method with something to send (method_call).
local function build_params(a, fname, level, ...)
    local fixed = a.fixed
    local params = {}
    if fixed then for k, v in pairs(fixed) do params[k] = v end end
    if a.argform == "none" then return params end
    local t, table_form = ..., a.argform == "table"
    if table_form then
        if type(t) ~= "table" then argerror(1, fname, "table expected, got " .. type(t), level) end
        for k in pairs(t) do
            local known = false
            for _, g in ipairs(a.args) do if g.lua == k then known = true end end
            if not known then
                argerror(1, fname, "unknown key '" .. tostring(k) .. "' (known: " .. arg_names(a) .. ")", level)
            end
        end
    else
        t = { [a.args[1].lua] = t }
    end
    local given, by_wire = false, {}
    for _, g in ipairs(a.args) do
        local v = t[g.lua]
        local what = table_form and ("'" .. g.lua .. "' ") or ""
        if v == nil then
            if g.required then argerror(1, fname, what .. "expected", level) end
        else
            local x, why = ARG[g.type](v, g)
            if x == nil then
                -- "unknown user state 'nap'" names the value already
                argerror(1, fname, why:find("^unknown") and why or what .. why, level)
            end
            local other = by_wire[g.wire]
            if other and params[g.wire] ~= x then
                argerror(1, fname, "'" .. other .. "' and '" .. g.lua .. "' disagree", level)
            end
            by_wire[g.wire] = g.lua
            params[g.wire] = x
            given = true
        end
    end
    if table_form and not given then argerror(1, fname, arg_names(a) .. ": one expected", level) end
    return params
end

-- The reply d of wire method `wire` for method `a`, checked (core.check):
-- checked, w, t (t given: the Lua-named fields go into it) or nil, why.
-- pre: d came checked already (conn:pump; d is the checked table) with
-- pre its Lua table.
local function checked_reply(a, wire, d, t, pre)
    local w = WIRE[wire]
    local checked, lt = d, pre
    if not pre then checked, lt = core_check(d, w.fref, t, a.lua, " (", wire, " reply)") end
    if not checked then return nil, "oktell: " .. lt end
    if a.field and w.field_of[a.field] and checked[a.field] == nil then
        return nil, "oktell: " .. a.lua .. " (" .. wire .. " reply): field '" .. a.field .. "' missing"
    end
    return checked, w, lt
end

local FALSE_ON_REFUSAL = { ok_or_false = true, field = true, taskresult = true }

-- Call method `a` with checked wire params. Returns what the Lua method
-- returns, plus a 4th value: true when the server answered.
function Client:_invoke(a, params)
    if self.status ~= "ready" then return closed_error(self) end
    if not (OWN[a] or self:_offered(a)) then
        return nil, "oktell: " .. a.lua .. " is not offered by this server ('" .. a.wire
            .. "' is an oktell-lua extension it did not announce; map it with the 'wire' option)", "unsupported"
    end
    local wire = self.wire_of[a.lua] or a.wire
    local d, msg, code, answered, reply, pre = self:_call(wire, params, LEAN[a.wire])
    if not d then
        if not answered then return nil, msg, code end
        code = core.error_code(wire, reply.error, reply.errormsg, a.refusal)
        if FALSE_ON_REFUSAL[a.ret] then return false, msg, code, true end
        return nil, msg, code, true
    end
    local checked, w, t
    if pre and not a.field then
        checked, w, t = d, WIRE[a.wire], pre   -- what checked_reply says of it
    else
        checked, w, t = checked_reply(a, a.wire, d, nil, pre)
    end
    if not checked then
        log.emit("error", w, { method = a.lua, wire = wire })
        return nil, w, "protocol"
    end
    local ret = a.ret
    if ret == "table" then
        self:_item_names(t, checked)
        if a.extra and self:_offered(a, a.extra) then
            local d2, m2, c2 = self:_call(a.extra)
            if not d2 then return nil, m2, c2 end
            local more, w2 = checked_reply(a, a.extra, d2, t)
            if not more then
                log.emit("error", w2, { method = a.lua, wire = a.extra })
                return nil, w2, "protocol"
            end
        end
        return t, nil, nil, true
    elseif ret == "linestate" then
        local c = checked[a.field]
        return linestate[c], c, nil, true
    elseif ret == "field" then
        return checked[a.field], nil, nil, true
    elseif ret == "taskresult" then
        if checked[a.field] then return true, nil, nil, true end
        for _, f in ipairs(w.reply_fields) do
            if f.type == "string" and checked[f.wire] then return false, checked[f.wire], nil, true end
        end
        return false, nil, nil, true
    end
    return true, nil, nil, true
end

-- What a method does to the client itself once the server agreed.
local AFTER = {
    set_confirm_usage = function(self, a, params) self.confirm_usage = params[a.args[1].wire] end,
    user_state = function(self, _, _, t) self:_known_state(t) end,
    user_info = function(self, _, _, t)
        -- the id comes with the login reply; the reference's COM hands
        -- out the password too, from the connect options (never logged)
        if t.id == nil then t.id = self.userid end
        if t.login == nil then t.login = self.opts.login end
        t.password = self.opts.password
    end,
}

-- The items ({id, name}) of a list request such as cc_getlunchtypes,
-- asked once per login; {} when the server gives none.
function Client:_items(request)
    local items = self.items[request]
    if items then return items end
    items = {}
    local d = self:_call(request)
    local checked = d and core_check(d, WIRE[request].fref, nil, request)
    for _, f in ipairs(checked and WIRE[request].reply_fields or {}) do
        for _, it in ipairs(f.type == "array" and checked[f.wire] or {}) do
            local id = type(it) == "table" and to_int(it.id)
            if id and type(it.name) == "string" then items[#items + 1] = { id = id, name = it.name } end
        end
    end
    self.items[request] = items
    return items
end

-- A value that names a listed item goes as the item's id (oktell.js sends a
-- known break reason as lunchreasonid, free text as lunchreasonmsg).
function Client:_name_items(params, named)
    for _, g in ipairs(named or NAMED) do
        local v = params[g.wire]
        if v ~= nil and self.status == "ready" then
            for _, it in ipairs(self:_items(g.lookup)) do
                if it.name == v then
                    params[g.wire], params[g.alt_wire] = nil, it.id
                    break
                end
            end
        end
    end
end

-- The other way: a reply or event that gives only the item's id gets its
-- name, when the list is known.
function Client:_item_names(t, checked)
    for _, g in ipairs(NAMED) do
        local id = checked[g.alt_wire]
        if t[g.lua] == nil and id ~= nil then
            for _, it in ipairs(self.items[g.lookup] or {}) do
                if it.id == id then t[g.lua] = it.name end
            end
        end
    end
end

-- One call of method `a` from a script: r1, r2, r3, answered. `level`
-- makes misuse blame the script's line.
local SET_CONFIRM_RESULT = API.set_confirm_result
local function method_call(self, a, fname, level, ...)
    local params
    -- (no arguments and no fixed ones: nothing to send)
    if a.argform ~= "none" or a.fixed then params = build_params(a, fname, level, ...) end
    -- an answer to the prompt, whatever comes of it: the automatic "ok"
    -- is not sent for it any more
    if a == SET_CONFIRM_RESULT and self.prompt then self.prompt.answered = true end
    if a.named[1] then self:_name_items(params, a.named) end
    local r1, r2, r3, answered = self:_invoke(a, params)
    local after = AFTER[a.lua]
    if after and r1 then after(self, a, params, r1) end
    return r1, r2, r3, answered
end

-- As many results as there are: `true`, `name, code`, `nil, msg, code`.
local function results(r1, r2, r3)
    if r3 ~= nil then return r1, r2, r3 end
    if r2 ~= nil then return r1, r2 end
    return r1
end

for _, a in ipairs(P.api) do
    -- not tail calls: misuse errors count the method's own frame
    Client[a.lua] = function(self, ...)
        local r1, r2, r3 = method_call(self, a, a.lua, 5, ...)
        return results(r1, r2, r3)
    end
end

function Client:close()
    if self.status ~= "closed" then self:_end() end
    self.end_why = nil -- the script closed it: that is what later calls say
    return true
end

Client.__close = close_gc
Client.__gc = finalize

function Client:__tostring()
    return "oktell.client (" .. self.opts.login .. ", " .. self.status .. ")"
end

-- Public: COM-compatible methods (the reference's names and XML) --------------

local function encode(kind, v)
    local ok, s = pcall(xml.encode, kind, v)
    if not ok or type(s) ~= "string" then
        return nil, "oktell: cannot encode " .. kind .. ": " .. tostring(s), "protocol"
    end
    return s
end

-- The Lua method's arguments from the reference's XML document.
local function xml_args(a, s)
    local v, kind, c = xml.decode(s)
    if v == nil then return nil, kind, c or "bad_xml" end
    if kind ~= a.xml_in then
        return nil, "oktell: " .. a.xml_in .. " document expected, got " .. tostring(kind), "bad_xml"
    end
    local t = {}
    for _, g in ipairs(a.args) do t[g.lua] = v[g.lua] end
    if a.argform == "one" then return t[a.args[1].lua] end
    return t
end

-- The COM method's result from the Lua method's.
local function xml_result(a, r1, r2)
    if a.ret == "linestate" then return { state = r1, code = r2 } end
    if a.ret == "taskresult" then return { success = r1, errormessage = (not r1) and r2 or nil } end
    return r1
end

for _, a in ipairs(P.api) do
    Client[a.com] = function(self, ...)
        local r1, r2, r3, answered
        if a.xml_in then
            local s = ...
            if type(s) ~= "string" then argerror(1, a.com, "string expected, got " .. type(s)) end
            local args, m, c = xml_args(a, s)
            if args == nil then return nil, m, c end
            r1, r2, r3, answered = method_call(self, a, a.com, 5, args)
        else
            r1, r2, r3, answered = method_call(self, a, a.com, 5, ...)
        end
        -- Void in the reference: true once the server has answered, whether
        -- it applied the change or refused it (the COM library reports no
        -- refusal; the Lua method tells why).
        if a.ret == "true" and answered then return true end
        if r1 == nil then return nil, r2, r3 end
        if a.xml_out then return encode(a.xml_out, xml_result(a, r1, r2)) end
        return results(r1, r2, r3)
    end
end

-- Public: events --------------------------------------------------------------

local next_handler_id = 0

function Client:on(name, fn)
    name = event_name(name, 1, "on")
    if not callable(fn) then argerror(2, "on", "function expected, got " .. type(fn)) end
    next_handler_id = next_handler_id + 1
    local id = next_handler_id
    local hs = self.handlers[name]
    if not hs then
        hs = {}
        self.handlers[name] = hs
    end
    hs[#hs + 1] = { id = id, fn = fn }
    self.nhandlers = self.nhandlers + 1
    -- A client with handlers is served by oktell.run(): keep it alive.
    if self.status ~= "closed" then loop.anchor(self, true) end
    return id
end

function Client:off(id)
    for name, hs in pairs(self.handlers) do
        for i = 1, #hs do
            if hs[i].id == id then
                -- copy-on-write: an _emit in progress keeps its list
                local n = {}
                for j = 1, #hs do if j ~= i then n[#n + 1] = hs[j] end end
                self.handlers[name] = n[1] and n or nil
                self.nhandlers = self.nhandlers - 1
                if self.nhandlers == 0 then loop.anchor(self, false) end
                return true
            end
        end
    end
    return false
end

function Client:wait(name, timeout)
    name = event_name(name, 1, "wait")
    if timeout ~= nil and type(timeout) ~= "number" then
        argerror(2, "wait", "number expected, got " .. type(timeout))
    end
    if self.status == "closed" then return closed_error(self) end
    local w = waiter()
    local ws = self.waits[name]
    if not ws then
        ws = {}
        self.waits[name] = ws
    end
    ws[#ws + 1] = w
    if timeout then
        deadline(w, now() + (timeout > 0 and timeout or 0), nil, "timeout", "timeout")
    end
    local ev, msg, code = park(w)
    if ev ~= nil then return ev end -- the event alone, as on success elsewhere
    local cur = self.waits[name]
    if cur then
        for i = #cur, 1, -1 do
            if cur[i] == w then table.remove(cur, i) end
        end
        if not cur[1] then self.waits[name] = nil end
    end
    return nil, msg, code
end

-- Public: the cqueues-style pollable ---------------------------------------------

function Client:pollfd()
    local conn = self.conn
    if self.pumps then return conn and self.fd or nil end
    return conn and conn:pollfd() or nil
end

function Client:events()
    local conn = self.conn
    if self.pumps then return conn and self.want or nil end
    return conn and conn:events() or nil
end

function Client:timeout()
    if self.dirty or self.held then return 0 end
    local d = self:_timeout()
    local l = loop.timeout()
    if l and (not d or l < d) then d = l end
    return d
end

-- API §6 hook: calls, queue and numbers live in lua/oktell/phone.lua --------
require("oktell.phone").mixin(Client, { EVENT_OF = EVENT_OF })

M.Client = Client
return M
