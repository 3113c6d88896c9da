-- oktell.client: the Client object of API §3-4 over oktell.core's conn.
--
-- A client wraps one conn (the C pollable connection that logs in by
-- itself) and adds: requests that block or yield by context (oktell.loop),
-- the reference's methods in both styles (tables and XML), events turned into
-- the API's tables and dispatched to handlers (one managed coroutine per
-- handler call, in arrival order), the automatic "ok" to confirm prompts,
-- and reconnect with back-off.
local core = require "oktell.core"
local loop = require "oktell.loop"
local states = require "oktell.states"
local xml = require "oktell.xml"

local type, error, tostring, pairs, ipairs, setmetatable, pcall, next =
    type, error, tostring, pairs, ipairs, setmetatable, pcall, next
local math_type = math.type
local now = core.now
local waiter, park, wake, deadline = loop.waiter, loop.park, loop.wake, loop.deadline
local userstate, linestate = states.userstate, states.linestate

local M = {}

local Client = {}
Client.__index = Client
Client.__name = "oktell.client"

local BACKOFF_MIN, BACKOFF_MAX = 0.05, 5

-- Event names of API §4, with the aliases a script may use.
local EVENTS = {
    tminterfaceconfirm = "tminterfaceconfirm", tminterfacereserve = "tminterfacereserve",
    tminterfaceclose = "tminterfaceclose", userstate = "userstate", linestate = "linestate",
    callcenter = "callcenter", disconnect = "disconnect", reconnect = "reconnect",
    userstatechanged = "userstate", linestatechanged = "linestate",
    ["121"] = "tminterfaceconfirm", ["122"] = "tminterfacereserve", ["123"] = "tminterfaceclose",
}
local TASK_EVENT_ID = { tminterfaceconfirm = 121, tminterfacereserve = 122, tminterfaceclose = 123 }

-- Raise as luaL_argerror does; `level` 3 blames the caller of the method
-- that called this (4 when called through one more helper).
local function argerror(n, fname, msg, level)
    error("bad argument #" .. n .. " to '" .. fname .. "' (" .. msg .. ")", level or 3)
end

local function event_name(name, n, fname)
    local key
    if math_type(name) == "integer" then
        key = tostring(name)
    elseif type(name) == "string" then
        key = name:lower()
    else
        argerror(n, fname, "event name expected, got " .. type(name), 4)
    end
    local e = EVENTS[key]
    if not e then argerror(n, fname, "unknown event '" .. tostring(name) .. "'", 4) end
    return e
end

local function closed_error(self)
    if self.status == "closed" then
        return nil, "oktell: client is closed", "closed"
    end
    return nil, "oktell: not connected (" .. (self.last_error or "connection lost") .. ")", "closed"
end

-- Server refusal (result 0) -> message, code of API §0.
local function refusal(data)
    local e = data.error
    local code = "server"
    if e == 4002 or e == 4003 then
        code = "not_settable"
    elseif e == 4010 then
        code = "license"
    end
    local msg = data.errormsg
    if type(msg) ~= "string" or msg == "" then
        msg = e and ("server error " .. tostring(e)) or "server refused the request"
    end
    return msg, code
end

local function truthy(v)
    return v == true or v == 1 or v == "1" or v == "true"
end

local function userstate_table(d)
    local code = d.userstateid
    if math_type(code) ~= "integer" then code = tonumber(code) and math.tointeger(tonumber(code)) end
    local desc = d.description
    if desc == "" then desc = nil end
    return {
        state = code and userstate[code] or nil,
        code = code,
        redirect = truthy(d.onredirect),
        description = type(desc) == "string" and desc or nil,
    }
end

local function linestate_of(d)
    local code = d.linestateid
    if math_type(code) ~= "integer" then code = tonumber(code) and math.tointeger(tonumber(code)) end
    local name = code and linestate[code]
    if not name and type(d.linestatestr) == "string" then
        code = linestate[d.linestatestr]
        name = code and linestate[code]
    end
    return name, code
end

-- The API's "event" kind table (text decoded from textb64). The decoding is
-- oktell.xml's: the wire fields are encoded as the reference's event
-- document and decoded back, so lua/ parses nothing itself.
local FIELDS = { "idtask", "idproject", "taskname", "taskcode", "idlist", "idinlist", "number", "textb64" }
local function task_event(name, d)
    local t = { id = TASK_EVENT_ID[name], name = name }
    for _, k in ipairs(FIELDS) do
        local v = d[k]
        if v ~= nil then
            if k == "idinlist" then
                v = math.tointeger(tonumber(v)) or v
            elseif type(v) ~= "string" then
                v = tostring(v)
            end
            t[k] = v
        end
    end
    if t.idtask == nil then t.idtask = "" end
    local ok, v = pcall(xml.encode, "event", t)
    if ok and v then
        local ev = xml.decode(v)
        if type(ev) == "table" then return ev end
    end
    return t
end

-- Client internals -----------------------------------------------------------

function Client:_conn_opts()
    local o = self.opts
    return {
        urls = o.urls, login = o.login, password = o.password, timeout = o.timeout,
        open_timeout = o.open_timeout, ping = o.ping, cafile = o.cafile, verify = o.verify,
    }
end

function Client:_fail_pending(msg, code)
    local pending = self.pending
    if next(pending) == nil then return end
    self.pending = {}
    for _, w in pairs(pending) do wake(w, nil, msg, code) end
end

function Client:_emit(name, ev)
    local hs = self.handlers[name]
    if hs then
        for i = 1, #hs do
            loop.call(hs[i].fn, ev, self)
        end
    end
    local ws = self.waits[name]
    if ws then
        self.waits[name] = nil
        for i = 1, #ws do wake(ws[i], ev, nil, nil, 1) end
    end
end

function Client:_server_event(name, d)
    if type(d) ~= "table" then d = {} end
    if name == "userstatechanged" then
        self:_emit("userstate", userstate_table(d))
        if d.oncallcenter ~= nil then
            local inside = truthy(d.oncallcenter)
            local was = self.inside
            self.inside = inside
            if was ~= nil and was ~= inside then
                self:_emit("callcenter", { inside = inside })
            end
        end
    elseif name == "linestatechanged" then
        local st, code = linestate_of(d)
        if st then
            self:_emit("linestate", { state = st, code = code })
        else
            -- Oktell itself sends no fields: ask, as oktell.js does.
            loop.call(function()
                local s, c = self:line_state()
                if s then self:_emit("linestate", { state = s, code = c }) end
            end)
        end
    elseif TASK_EVENT_ID[name] then
        local ev = task_event(name, d)
        self:_emit(name, ev)
        if name == "tminterfaceconfirm" and not self.confirm_usage then
            -- Confirm usage off: answer as the reference's client core does.
            loop.call(function() self:set_confirm_result("ok") end)
        end
    end
end

-- After login (first connect or reconnect): learn the call-center flag,
-- restore confirm usage.
function Client:_setup()
    local d, msg, code = self:_call("getuserstate")
    if not d then return nil, msg, code end
    local inside = truthy(d.oncallcenter)
    local was = self.inside
    self.inside = inside
    if self.confirm_usage then
        local r, m2, c2 = self:_call("tm_setconfirmusage", { use = true })
        if not r then return nil, m2, c2 end
    end
    return true, was ~= nil and was ~= inside
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
    if conn then conn:close() end
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
        self:_emit("disconnect", { message = msg, code = code })
    end
    if self.opts.reconnect then
        self.status = "down"
        if was_up then self.backoff = BACKOFF_MIN end
        self.retry_at = now() + self.backoff
        self.backoff = math.min(self.backoff * 2, BACKOFF_MAX)
    else
        self:_end("oktell: connection lost (" .. tostring(msg) .. ")")
    end
end

function Client:_retry()
    self.retry_at = nil
    local conn, msg = core.connect(self:_conn_opts())
    if not conn then
        self.last_error = msg
        self.retry_at = now() + self.backoff
        self.backoff = math.min(self.backoff * 2, BACKOFF_MAX)
        return
    end
    self.conn = conn
    self.status = "connecting"
end

function Client:_on_ready()
    if self.ready_w then
        local w = self.ready_w
        self.ready_w = nil
        self.status = "ready"
        wake(w, true, nil, nil, 1)
        return
    end
    if self.status ~= "connecting" then return end
    self.status = "ready"
    self.backoff = BACKOFF_MIN
    self.last_error = nil
    loop.call(function()
        local ok, changed = self:_setup()
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
        self:_on_ready()
    elseif t == "closed" then
        self:_on_closed(ev.message, ev.code)
    end
end

-- The loop's side of the pollable: work due now?
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
    if conn then d = conn:timeout() end
    local r = self.retry_at
    if r then
        local rd = r - now()
        if not d or rd < d then d = rd end
    end
    if d and d < 0 then d = 0 end
    return d
end

-- One turn: do the I/O, then hand every queued conn event on. Once a reply
-- has woken its caller, the next server event is held back until the next
-- turn, so the caller's code (say, a wait() for the event its request
-- causes) runs before any later event is handed out.
function Client:_turn(_, t)
    local conn = self.conn
    if conn then
        self.dirty = false
        local ok, msg, code = conn:step()
        local woke = false
        repeat
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
        until not ev or self.conn ~= conn
        if not ok and self.conn == conn and conn:state() == "closed" and not self.held then
            self:_on_closed(msg, code)
        end
    end
    local r = self.retry_at
    if r and (t or now()) >= r and self.status == "down" then self:_retry() end
end

-- Send one request and wait (yield or block) for its reply. Returns the
-- reply object, or nil, msg, code[, answered] (answered: the server refused).
function Client:_call(method, params)
    if self.status ~= "ready" then return closed_error(self) end
    local conn = self.conn
    local id, msg, code = conn:request(method, params)
    if not id then return nil, msg, code end
    local w = waiter()
    self.pending[id] = w
    self.dirty = true
    local data, m, c = park(w)
    if data == nil then return nil, m, c end
    local r = data.result
    if r == 0 or r == false then
        local em, ec = refusal(data)
        return nil, em, ec, true
    end
    return data
end

function Client:_end(why)
    self.status = "closed"
    self.held = nil
    self.retry_at = nil
    if self.conn then
        local conn = self.conn
        self.conn = nil
        conn:close()
    end
    self:_fail_pending(why or "oktell: client is closed", "closed")
    if self.ready_w then
        local w = self.ready_w
        self.ready_w = nil
        wake(w, nil, "oktell: client is closed", "closed")
    end
    local waits = self.waits
    self.waits = {}
    for _, ws in pairs(waits) do
        for i = 1, #ws do wake(ws[i], nil, "oktell: client is closed", "closed") end
    end
    loop.remove(self)
end

-- Public: connect -------------------------------------------------------------

local function check_opts(o)
    if type(o) ~= "table" then argerror(1, "connect", "table expected, got " .. type(o), 4) end
    local urls = o.url or o.urls
    if type(urls) == "string" then
        urls = { urls }
    elseif type(urls) == "table" then
        if #urls == 0 then argerror(1, "connect", "'url' list is empty", 4) end
        for i = 1, #urls do
            if type(urls[i]) ~= "string" then argerror(1, "connect", "'url' must hold strings", 4) end
        end
    else
        argerror(1, "connect", "'url' (string or list) expected, got " .. type(urls), 4)
    end
    if type(o.login) ~= "string" then argerror(1, "connect", "'login' (string) expected, got " .. type(o.login), 4) end
    if o.password ~= nil and type(o.password) ~= "string" then
        argerror(1, "connect", "'password' must be a string", 4)
    end
    for _, k in ipairs { "timeout", "open_timeout", "ping" } do
        if o[k] ~= nil and (type(o[k]) ~= "number" or o[k] <= 0) then
            argerror(1, "connect", "'" .. k .. "' must be a positive number", 4)
        end
    end
    for _, k in ipairs { "reconnect", "confirm_usage", "verify" } do
        if o[k] ~= nil and type(o[k]) ~= "boolean" then argerror(1, "connect", "'" .. k .. "' must be a boolean", 4) end
    end
    if o.cafile ~= nil and type(o.cafile) ~= "string" then argerror(1, "connect", "'cafile' must be a string", 4) end
    local list = {}
    for i = 1, #urls do list[i] = urls[i] end
    return {
        urls = list, login = o.login, password = o.password or "", timeout = o.timeout,
        -- The login is a request too: `timeout` bounds it unless open_timeout is given.
        open_timeout = o.open_timeout or o.timeout, ping = o.ping, cafile = o.cafile, verify = o.verify,
        reconnect = o.reconnect ~= false, confirm_usage = o.confirm_usage == true,
    }
end

local function close_gc(self)
    if self.status ~= "closed" then self:_end() end
end

function M.connect(o)
    local opts = check_opts(o)
    local conn, msg, code = core.connect {
        urls = opts.urls, login = opts.login, password = opts.password, timeout = opts.timeout,
        open_timeout = opts.open_timeout, ping = opts.ping, cafile = opts.cafile, verify = opts.verify,
    }
    if not conn then
        -- The core refuses bad arguments (a URL that is not ws:// or wss://,
        -- a login that is not UTF-8, a password CP1251 cannot hold): misuse.
        if code == "invalid" then argerror(1, "connect", msg) end
        return nil, msg, code
    end
    local self = setmetatable({
        opts = opts, conn = conn, status = "connecting", pending = {}, handlers = {}, waits = {},
        nhandlers = 0, confirm_usage = false, backoff = BACKOFF_MIN, dirty = true,
    }, Client)
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
        return nil, m, c
    end
    self.confirm_usage = opts.confirm_usage
    local r, m2, c2 = self:_setup()
    if not r then
        self:_end()
        return nil, m2, c2
    end
    return self
end

-- Public: methods of API §3 ------------------------------------------------

function Client:user_info()
    local d, msg, code = self:_call("getcurrentuserfullinfo")
    if not d then return nil, msg, code end
    local info = d.userinfo
    if type(info) ~= "table" then return nil, "oktell: reply without userinfo", "protocol" end
    -- The server never sends the password; the reference's COM returns it,
    -- so it is filled from the connect options (it is never logged).
    info.password = self.opts.password
    return info
end

function Client:user_state()
    local d, msg, code = self:_call("getuserstate")
    if not d then return nil, msg, code end
    return userstate_table(d)
end

local function state_code(v, n, fname)
    if type(v) == "string" then
        local c = userstate[v]
        if not c then argerror(n, fname, "unknown user state '" .. v .. "'", 4) end
        return c
    elseif math_type(v) == "integer" then
        if not userstate[v] then argerror(n, fname, "unknown user state " .. v, 4) end
        return v
    end
    argerror(n, fname, "'state' must be a state name or code, got " .. type(v), 4)
end

function Client:set_user_state(t)
    if type(t) ~= "table" then argerror(1, "set_user_state", "table expected, got " .. type(t)) end
    local params = {}
    local code
    if t.state ~= nil then code = state_code(t.state, 1, "set_user_state") end
    if t.code ~= nil then
        local c2 = state_code(t.code, 1, "set_user_state")
        if code and c2 ~= code then argerror(1, "set_user_state", "'state' and 'code' disagree") end
        code = c2
    end
    if code then params.userstateid = code end
    if t.description ~= nil then
        if type(t.description) ~= "string" then argerror(1, "set_user_state", "'description' must be a string") end
        if not utf8.len(t.description) then argerror(1, "set_user_state", "'description' is not valid UTF-8") end
        params.description = t.description
    end
    if t.redirect ~= nil then
        if type(t.redirect) ~= "boolean" then argerror(1, "set_user_state", "'redirect' must be a boolean") end
        params.onredirect = t.redirect
    end
    if next(params) == nil then argerror(1, "set_user_state", "'state', 'description' or 'redirect' expected") end
    local d, msg, c = self:_call("setuserstate", params)
    if not d then return nil, msg, c end
    return true
end

function Client:line_state()
    local d, msg, code = self:_call("getextendedlineinfo")
    if not d then return nil, msg, code end
    local name, c = linestate_of(d)
    if not name then return nil, "oktell: unknown line state in reply", "protocol" end
    return name, c
end

function Client:callcenter_inside()
    local d, msg, code = self:_call("getuserstate")
    if not d then return nil, msg, code end
    return truthy(d.oncallcenter)
end

function Client:callcenter_enter()
    local d, msg, code, answered = self:_call("setuserstate", { oncallcenter = true })
    if not d then
        if answered then return false, msg, code end
        return nil, msg, code
    end
    return true
end

function Client:callcenter_exit()
    local d, msg, code = self:_call("setuserstate", { oncallcenter = false })
    if not d then return nil, msg, code end
    return true
end

local function bool_call(self, method, params)
    local d, msg, code, answered = self:_call(method, params)
    if not d then
        if answered then return false, msg, code end
        return nil, msg, code
    end
    return truthy(d.success)
end

function Client:set_busy_in_external_task()
    return bool_call(self, "cc_setbusyinexternaltask")
end

function Client:set_free_in_external_task()
    return bool_call(self, "cc_setfreeinexternaltask")
end

function Client:check_busy_in_external_task()
    return bool_call(self, "cc_checkbusyinexternaltask")
end

function Client:set_task_active(t)
    local fname = "set_task_active"
    if type(t) ~= "table" then argerror(1, fname, "table expected, got " .. type(t)) end
    if t.tasktype ~= "call" and t.tasktype ~= "text" then
        argerror(1, fname, "'tasktype' must be \"call\" or \"text\"")
    end
    if type(t.idtask) ~= "string" or t.idtask == "" then argerror(1, fname, "'idtask' (string) expected") end
    if not utf8.len(t.idtask) then argerror(1, fname, "'idtask' is not valid UTF-8") end
    local active = t.active
    if active == 1 then active = true elseif active == 2 then active = false end
    if type(active) ~= "boolean" then argerror(1, fname, "'active' must be a boolean") end
    local d, msg, code, answered = self:_call("tm_settaskactive",
        { tasktype = t.tasktype, idtask = t.idtask, active = active and 1 or 2 })
    if not d then
        if answered then return false, msg, code end
        return nil, msg, code
    end
    if truthy(d.success) then return true end
    local em = d.errormessage
    return false, type(em) == "string" and em or nil
end

function Client:set_confirm_usage(use)
    if type(use) ~= "boolean" then argerror(1, "set_confirm_usage", "boolean expected, got " .. type(use)) end
    local d, msg, code = self:_call("tm_setconfirmusage", { use = use })
    if not d then return nil, msg, code end
    self.confirm_usage = use
    return true
end

local CONFIRM = { ok = "ok", skip = "skip", delete = "delete", [0] = "ok", [1] = "skip", [2] = "delete" }

function Client:set_confirm_result(r)
    local word = CONFIRM[r]
    if not word or (type(r) ~= "string" and math_type(r) ~= "integer") then
        argerror(1, "set_confirm_result", "\"ok\", \"skip\", \"delete\", 0, 1 or 2 expected, got " .. tostring(r))
    end
    return bool_call(self, "tm_setconfirmresult", { confirmresult = word })
end

function Client:close()
    if self.status ~= "closed" then self:_end() end
    return true
end

Client.__close = close_gc
Client.__gc = close_gc

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

local function decode_kind(s, kind, fname)
    if type(s) ~= "string" then argerror(1, fname, "string expected, got " .. type(s), 4) end
    local v, k, c = xml.decode(s)
    if v == nil then return nil, k, c or "bad_xml" end
    if k ~= kind then return nil, "oktell: " .. kind .. " document expected, got " .. tostring(k), "bad_xml" end
    return v
end

function Client:GetCurrentUserFullInfo()
    local info, msg, code = self:user_info()
    if not info then return nil, msg, code end
    return encode("userinfo", info)
end

function Client:GetUserState()
    local st, msg, code = self:user_state()
    if not st then return nil, msg, code end
    return encode("userstate", st)
end

-- Void in the reference: true once the server has answered, whether it
-- applied the change or refused it (the COM library reports no refusal;
-- set_user_state returns nil, msg, "not_settable" for that). nil, msg, code
-- only when no answer could be had, or for XML that is not a userstate.
function Client:SetUserState(s)
    local v, msg, code = decode_kind(s, "userstate", "SetUserState")
    if not v then return nil, msg, code end
    local ok, m, c = self:set_user_state { code = v.code, state = v.code == nil and v.state or nil,
        description = v.description, redirect = v.redirect }
    if ok == nil and c ~= "not_settable" then return nil, m, c end
    return true
end

function Client:GetLineState()
    local name, code, c = self:line_state()
    if not name then return nil, code, c end
    return encode("linestate", { state = name, code = code })
end

function Client:CallCenter_IsInside() return self:callcenter_inside() end
function Client:CallCenter_Enter() return self:callcenter_enter() end
function Client:CallCenter_Exit() return self:callcenter_exit() end
function Client:CallCenter_SetBusyInExternalTask() return self:set_busy_in_external_task() end
function Client:CallCenter_SetFreeInExternalTask() return self:set_free_in_external_task() end
function Client:CallCenter_CheckBusyInExternalTask() return self:check_busy_in_external_task() end

function Client:TM_SetTaskActive(s)
    local v, msg, code = decode_kind(s, "settaskactive", "TM_SetTaskActive")
    if not v then return nil, msg, code end
    local ok, em, c = self:set_task_active(v)
    if ok == nil then return nil, em, c end
    return encode("settaskactiveresult", { success = ok, errormessage = (not ok) and em or nil })
end

function Client:TM_SetConfirmUsage(use)
    if type(use) ~= "boolean" then argerror(1, "TM_SetConfirmUsage", "boolean expected, got " .. type(use)) end
    return self:set_confirm_usage(use)
end

function Client:TM_SetConfirmResult(s)
    local v, msg, code = decode_kind(s, "confirmresult", "TM_SetConfirmResult")
    if not v then return nil, msg, code end
    return self:set_confirm_result(v.result)
end

-- Public: events --------------------------------------------------------------

local next_handler_id = 0

function Client:on(name, fn)
    name = event_name(name, 1, "on")
    if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
        argerror(2, "on", "function expected, got " .. type(fn))
    end
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
    if self.status == "closed" then return nil, "oktell: client is closed", "closed" end
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
    return conn and conn:pollfd() or nil
end

function Client:events()
    local conn = self.conn
    return conn and conn:events() or nil
end

function Client:timeout()
    if self.dirty or self.held then return 0 end
    local d = self:_timeout()
    local l = loop.timeout()
    if l and (not d or l < d) then d = l end
    return d
end

M.Client = Client
return M
