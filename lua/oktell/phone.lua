-- oktell.phone: the calls, queue and numbers of API §6, mixed into the
-- Client by the hook at the end of lua/oktell/client.lua. Every wire name
-- comes from the protocol table (core.protocol()): W.PBXANSWERCALL is the
-- request protocol.h spells OKT_W_PBXANSWERCALL; events go by their Lua
-- names from the same table.
local core = require "oktell.core"
local compat = require "oktell.compat"
local loop = require "oktell.loop"
local states = require "oktell.states"

local type, error, tostring, tonumber, pairs, ipairs, setmetatable, rawset =
    type, error, tostring, tonumber, pairs, ipairs, setmetatable, rawset
local callable = compat.callable
local floor, huge, random = math.floor, math.huge, math.random
local format = string.format
local now = core.now
local linestate = states.linestate

local P = core.protocol()

-- W.<REQUEST UPPER-CASED> -> the wire request; an unknown one raises (a
-- table without the request is a build error, not a runtime surprise).
local W = setmetatable({}, { __index = function(_, k) error("oktell.phone: no wire request " .. tostring(k), 2) end })
for _, w in ipairs(P.wire) do rawset(W, w.request:upper(), w.request) end

-- Lua event names of the table that come from the phone and the PBX.
local EV = {}
for _, e in ipairs(P.events) do EV[e.lua] = e end
local CUSTOM = EV.customevent.lua

-- Error values the table knows as "rights" (52710).
local RIGHTS = {}
for _, e in ipairs(P.errors) do
    if e.code == "rights" and e.error then RIGHTS[e.error] = true end
end

-- oktell.js's client error numbers that mean "bad_state" (§6.0).
local function bad_state_number(n)
    return (n >= 2001 and n <= 2108) or (n >= 2201 and n <= 2208) or (n >= 2301 and n <= 2304)
        or (n >= 2401 and n <= 2402) or n == 2501 or n == 2601 or n == 2901
end

-- oktell.js's texts (fact sheet §8.2, oktell.js L1476-1557).
local TEXT = {
    [1101] = "server version is too old for this method",
    [2001] = "user disconnected", [2002] = "phone not connected",
    [2101] = "user has hold call and is talking now", [2102] = "user in conference now",
    [2103] = "phone state not valid for call", [2104] = "user state - busy",
    [2105] = "calling number is talking with us", [2107] = "call failed",
    [2201] = "no numbers to invite", [2202] = "conference error",
    [2203] = "no number to create conference", [2204] = "conference create error",
    [2205] = "bad user or phone state for creating conference", [2206] = "cant invite hold abonent",
    [2208] = "cant create conference while in callcenter in break",
    [2302] = "no number for transfer", [2303] = "nothing to transfer",
    [2402] = "nothing to toggle, no hold", [2501] = "not in conference",
    [2601] = "bad flash mode", [2701] = "queue error", [2901] = "incorrect state",
    [2902] = "phone probably does not support intercom calls",
}
local function refuse(n, code)
    return nil, format("%s (%d)", TEXT[n] or "refused", n), code or "bad_state"
end

-- The code of a server refusal (§6.0).
local function refusal_code(reply)
    local e = tonumber(reply and reply.error)
    if e and RIGHTS[e] then return "rights" end
    local n = tonumber(tostring(reply and reply.errormsg or ""):match("%((%d+)%)%s*$")) or e
    if n == 1101 then return "unsupported" end
    if n and bad_state_number(n) then return "bad_state" end
    return "server"
end

-- The `dated` minimums (§6.0).
local DATED = {
    [W.PBXMAKEFLASH] = 120725, [W.PBXMAKETRANSFER] = 120725, [W.TRIGGERCUSTOMEVENT] = 120725,
    [W.GETALLUSERNUMBERS] = 120920, [W.CC_GETLUNCHTYPES] = 130101, [W.PBXANSWERCALL] = 131218,
}

local function argerror(n, fname, msg, level)
    error("bad argument #" .. n .. " to '" .. fname .. "' (" .. msg .. ")", level or 3)
end

local function str(v)
    if type(v) == "number" and v == floor(v) and v > -huge and v < huge then return format("%d", v) end
    if type(v) == "string" and v ~= "" then return v end
    return nil
end

local function zeros(s) return s ~= nil and s:find("^[0%-]*$") ~= nil end

-- A number argument: a non-empty string or an integer; misuse raises.
local function number_arg(v, n, fname)
    local s = str(v)
    if not s then argerror(n, fname, "number expected (a non-empty string or an integer), got " .. type(v), 4) end
    return s
end

local function opts_arg(o, n, fname, known)
    if o == nil then return {} end
    if type(o) ~= "table" then argerror(n, fname, "table expected, got " .. type(o), 4) end
    for k in pairs(o) do
        if not known[k] then argerror(n, fname, "unknown option '" .. tostring(k) .. "'", 4) end
    end
    return o
end

local function numbers_arg(v, n, fname, optional)
    if v == nil and optional then return {} end
    if type(v) ~= "table" then v = { v } end
    local out = {}
    for i, x in ipairs(v) do
        local s = str(x)
        if not s then argerror(n, fname, "number " .. i .. " is not a non-empty string or an integer", 4) end
        out[#out + 1] = s
    end
    return out
end

-- The abonent table of §6.1 (oktell.js createAbonent) -------------------------

local GONE = { Exited = true, MisInviteBusy = true, MisInviteNotRespond = true, MisInviteTimeout = true,
    MisInviteStop = true, MisInviteAbort = true, MisInviteRefuse = true }

local function abonent(a)
    if type(a) ~= "table" then return nil end
    local chain = str(a.chainid)
    if zeros(chain) then chain = nil end
    local key = str(a.competitorid) or str(a.number) or str(a.userid) or str(a.callerid) or chain
    if not key then return nil end
    local t = {
        key = key,
        phone = str(a.number) or str(a.callerid) or str(a.calledid),
        name = str(a.simplename) or str(a.username) or str(a.name) or str(a.caption) or str(a.userlogin)
            or str(a.number) or str(a.ivrname),
        chainid = chain, external = a.isextline == true, ivr = a.isivr == true, ivr_name = str(a.ivrname),
    }
    if str(a.userid) then
        t.user = { id = str(a.userid), name = str(a.username), login = str(a.userlogin), comment = str(a.usercomment) }
    end
    if str(a.competitorid) then
        t.competitor = { id = str(a.competitorid), creator = a.iscreator == true, director = a.isdirector == true,
            ghost = a.isghost == true, ghost_major = a.isghostmajor == true, hidden = a.ishidden == true,
            state = str(a.confstatestr) }
    end
    return t
end

local function abonents(list)
    local out = {}
    for _, a in ipairs(type(list) == "table" and list or {}) do
        if not (type(a) == "table" and GONE[a.confstatestr]) then
            local t = abonent(a)
            if t then out[#out + 1] = t end
        end
    end
    return out
end

-- Per-connection state -----------------------------------------------------

local function ph(self)
    local s = self._ph
    if not s or s.conn ~= self.conn then
        s = { conn = self.conn, state = "ready", tracking = false, seq = 0, confs = {} }
        self._ph = s
    end
    return s
end

-- getversion's `dated`, read once per connection (0 when not given).
local function dated(self)
    local s = ph(self)
    if s.dated == nil then
        local v = self:_call(W.GETVERSION)
        s.dated = v and type(v.version) == "table" and tonumber(v.version.dated) or 0
    end
    return s.dated
end

-- One request: the reply, or nil, msg, code with the §6 codes.
local function req(self, wire, params)
    local min = DATED[wire]
    if min then
        if dated(self) < min then
            return nil, format("%s needs a server dated %d or later (1101)", wire, min), "unsupported"
        end
    end
    local d, msg, code, answered, reply = self:_call(wire, params)
    if d then return d end
    if answered then return nil, msg, refusal_code(reply) end
    return nil, msg, code
end

-- A fire-and-forget request (†): true on a truthy reply; with no reply, true
-- when a line or phone event of this user came meanwhile.
local function ff(self, wire, params)
    local s = ph(self)
    local seq = s.seq
    local d, msg, code = req(self, wire, params)
    if d then return true end
    if code == "timeout" and ph(self).seq ~= seq then return true end
    return nil, msg, code
end

-- §6.1 ---------------------------------------------------------------------

local function line_name(ls)
    if type(ls) ~= "string" then return nil end
    local n = ls:gsub("^ls", ""):lower()
    if linestate[n] then return n, linestate[n] end
    return nil
end

-- oktell.js's state decision [L3289-3343]; updates the tracking.
local function decide(s, d)
    local a = type(d.abonent) == "table" and d.abonent or {}
    local ls = d.linestatestr
    local prev = s.state
    local st, auto
    auto = false
    if s.tracking and not a.isautocall and prev == "ready" then
        st = "backring"
    elseif a.isautocall then
        st, auto, s.tracking = "call", true, false
    elseif a.isringing then
        st = (a.direction == "acm_callback" or prev == "backring") and "backring" or "ring"
    elseif (not s.tracking and (a.iscommutated or a.iswaitinginflash or a.isconference))
        or (ls == "lsCommutated" and a.isivr and not a.iswaitingforanswer) then
        st = "talk"
    elseif str(a.extline) or str(a.number) then
        st, s.tracking = "call", false
    elseif ls == "lsDisconnected" then
        st = "disconnected"
    elseif ls ~= "lsReserved" then
        st, s.tracking = "ready", false
    else
        st = prev
    end
    s.state, s.autocall = st, auto
    return st, auto, prev
end

local function line_info(self)
    local d, msg, code = req(self, W.GETEXTENDEDLINEINFO)
    if not d then return nil, msg, code end
    local s = ph(self)
    local st, auto, prev = decide(s, d)
    local a = type(d.abonent) == "table" and d.abonent or {}
    local line, lcode = line_name(d.linestatestr)
    local t = { state = st, previous = prev, autocall = auto, line = line, code = lcode,
        talk_seconds = tonumber(d.timertalklensec) or 0, raw = d }
    local chain = str(d.chainid)
    if not zeros(chain) then t.chainid = chain end
    local conf = str(a.conferenceid)
    if zeros(conf) then conf = nil end
    if conf then
        t.conference = { id = conf, creator = false }
        local ci = req(self, W.GETCONFERENCEINFO, { conferenceid = conf })
        t.abonents = {}
        if ci then
            for _, c in ipairs(type(ci.competitors) == "table" and ci.competitors or {}) do
                if type(c) == "table" and c.userid == self.userid then
                    t.conference.creator = c.iscreator == true
                end
            end
            t.abonents = abonents(ci.competitors)
        end
        if not s.confs[conf] then
            s.confs[conf] = true
            req(self, W.CONFHANDLEEVENT, { conferenceid = conf, eventtype = "competitors", handle = true })
        end
    else
        for id in pairs(s.confs) do
            s.confs[id] = nil
            req(self, W.CONFHANDLEEVENT, { conferenceid = id, eventtype = "competitors", handle = false })
        end
        t.abonent = abonent(a)
        t.abonents = { t.abonent }
    end
    if d.isflashing and type(d.flashed) == "table" then
        local fc = str(d.flashed.conferenceid)
        if fc and not zeros(fc) then
            t.hold = { conference = { id = fc, name = str(d.flashed.conferencename), room = d.flashed.conferenceroom } }
        else
            t.hold = abonent(d.flashed)
        end
    end
    return t
end

local function user_busy(self)
    local u = self:_call(W.GETUSERSTATE)
    local c = u and tonumber(u.userstateid)
    return c, u
end

-- The mixin ------------------------------------------------------------------

local M = {}

function M.mixin(Client, hook)
    local event_of = hook.EVENT_OF

    -- the derived events
    event_of.phone, event_of.queue = "phone", "queue"

    -- §6.2 "Break reasons in §3": a userstate table (user_state,
    -- set_user_state, the userstate event) gains `reason`, the break
    -- reason's id, while the state is 2 (lunch) or 5 (fullbusy). Both are
    -- made through _item_names, which sees the checked wire fields.
    local REASON_FIELD
    for _, a in ipairs(P.api) do
        for _, g in ipairs(a.args) do
            if g.lookup == W.CC_GETLUNCHTYPES then REASON_FIELD = g.alt_wire end
        end
    end
    local item_names = Client._item_names
    function Client:_item_names(t, checked)
        item_names(self, t, checked)
        local id = REASON_FIELD and checked[REASON_FIELD]
        if id == nil then return end
        id = tonumber(id)
        if id and (t.code == 2 or t.code == 5) and t.reason == nil then t.reason = id end
    end

    function Client:line_info()
        return line_info(self)
    end

    function Client:phone_state()
        local t, msg, code = line_info(self)
        if not t then return nil, msg, code end
        return t.state
    end

    function Client:call(number, o)
        number = number_arg(number, 1, "call")
        o = opts_arg(o, 2, "call", { sequence = true, intercom = true })
        if o.sequence ~= nil and o.sequence ~= "user" and o.sequence ~= "abonent" then
            argerror(2, "call", "'sequence' must be \"user\" or \"abonent\"", 3)
        end
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        local uc = user_busy(self)
        if uc == 0 then return refuse(2001) end
        if li.state == "disconnected" then return refuse(2002) end
        if li.state == "talk" and li.hold then return refuse(2101) end
        if li.conference then return refuse(2102) end
        if li.state == "ring" or li.state == "backring" or li.state == "call" then return refuse(2103) end
        if li.state == "ready" and uc and uc ~= 1 then return refuse(2104) end
        if li.abonent and li.abonent.phone == number then return refuse(2105) end
        local params = { number = number, sequence = o.sequence or "user" }
        if o.intercom then params.intercom, params.sequence = true, "user" end
        local d, m, c = req(self, W.PBXAUTOCALLSTART, params)
        if not d then return nil, m, c end
        return true
    end

    function Client:answer(timeout)
        if timeout ~= nil and type(timeout) ~= "number" then
            argerror(1, "answer", "number expected, got " .. type(timeout), 3)
        end
        timeout = timeout or 3
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if li.state ~= "ring" and li.state ~= "backring" then return refuse(2901) end
        local ok, m, c = ff(self, W.PBXANSWERCALL)
        if not ok then return nil, m, c end
        local until_t = now() + timeout
        while true do
            li, msg, code = line_info(self)
            if not li then return nil, msg, code end
            if li.state == "talk" or li.state == "call" then return true end
            if now() >= until_t then return refuse(2902, "timeout") end
            loop.sleep(0.05)
        end
    end

    local function hangup_plain(self, li)
        if li.state == "call" and li.autocall then return ff(self, W.PBXAUTOCALLABORT) end
        if li.state == "talk" or li.state == "call" or li.hold then return ff(self, W.PBXABORTCALL) end
        if li.state == "ring" or li.state == "backring" then return ff(self, W.PBXDECLINECALL) end
        return refuse(2901)
    end

    function Client:hangup(number)
        if number ~= nil then number = number_arg(number, 1, "hangup") end
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if number then
            local s = ph(self)
            if s.me == nil then
                local u = self:_call(W.GETMYUSERINFO)
                s.me = u and str(u.mainpbxnumber) or false
            end
            local me = s.me
            if li.hold and ((li.abonent and li.abonent.phone == number) or number == me) then
                return ff(self, W.PBXMAKEFLASH, { mode = "abort" })
            end
            if li.conference then
                if number == me then return self:conference_leave(li.conference.id) end
                return self:conference_kick(number, li.conference.id)
            end
        end
        return hangup_plain(self, li)
    end

    function Client:decline()
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if li.state ~= "ring" and li.state ~= "backring" then return refuse(2901) end
        return ff(self, W.PBXDECLINECALL)
    end

    function Client:hold()
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if li.state ~= "talk" and not li.hold then return refuse(2402) end
        return ff(self, W.PBXMAKEFLASH, { mode = "switch" })
    end

    function Client:toggle()
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if not li.hold then return refuse(2402) end
        return ff(self, W.PBXMAKEFLASH, { mode = "switch" })
    end

    local MODES = { switch = true, abort = true, next = true }
    function Client:flash(mode)
        if not MODES[mode] then argerror(1, "flash", "mode must be \"switch\", \"abort\" or \"next\"", 3) end
        return ff(self, W.PBXMAKEFLASH, { mode = mode })
    end

    function Client:hold_info()
        local d, msg, code = req(self, W.GETFLASHEDABONENTINFO)
        if not d then return nil, msg, code end
        if not d.containsflashed then return false end
        return abonent(d.abonent) or false
    end

    function Client:transfer(number)
        if number ~= nil then number = number_arg(number, 1, "transfer") end
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if li.state ~= "talk" then return refuse(2303) end
        if li.hold then
            if number == nil or (li.hold.phone == number) then return ff(self, W.PBXABORTCALL) end
            return ff(self, W.PBXMAKETRANSFER, { transferto = number })
        end
        if number == nil then return refuse(2302) end
        return ff(self, W.PBXMAKETRANSFER, { transferto = number })
    end

    -- conferences --------------------------------------------------------------

    local function guid()
        local h = {}
        for i = 1, 32 do h[i] = format("%x", random(0, 15)) end
        local s = table.concat(h)
        return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21)
    end

    -- a user's GUID, else a number ({intnumber} before dated 140929 [L3861-3870])
    local function invitee(self, n, creating)
        if n:find("^%x+%-%x+%-%x+%-%x+%-%x+$") then return { userid = n } end
        if creating and dated(self) < 140929 then return { intnumber = n } end
        return { number = n }
    end

    local function on_break(self)
        local u = self:_call(W.GETUSERSTATE)
        return u and u.onlunch == true and u.oncallcenter == true
    end

    function Client:conference_create(numbers)
        numbers = numbers_arg(numbers, 1, "conference_create")
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if on_break(self) then return refuse(2208) end
        if li.state ~= "ready" or li.conference then return refuse(2205) end
        if #numbers == 0 then return refuse(2203) end
        local id = guid()
        local comps = { { userlogin = self.opts.login } }
        for _, n in ipairs(numbers) do comps[#comps + 1] = invitee(self, n, true) end
        local d, m, c = req(self, W.CREATENEWCONFERENCE, {
            conference = { id = id, room = random(0, 10000), name = "", description = "", accessmode = "free",
                isselector = false, record = true, recordrights = "selected", everyonecaninvite = true,
                canvieweachother = true },
            competitors = comps })
        if not d then return nil, m, c end
        return id
    end

    function Client:conference_invite(numbers, id)
        numbers = numbers_arg(numbers, 1, "conference_invite")
        if id ~= nil and not str(id) then argerror(2, "conference_invite", "conference id expected", 3) end
        if on_break(self) then return refuse(2208) end
        if #numbers == 0 then return refuse(2201) end
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if not id then
            if not li.conference then return refuse(2501) end
            id = li.conference.id
        end
        -- the party on hold joins through connecttogathertoconference [L3914-3932]
        local held = li.hold and li.hold.phone
        local comps, join = {}, false
        for _, n in ipairs(numbers) do
            if n == held then join = true else comps[#comps + 1] = invitee(self, n) end
        end
        if join then
            local ok = req(self, W.CHECKCANCONNECTTOGATHERTOCONFERENCE)
            if not (ok and ok.canconnecttogather) then return refuse(2206) end
            local r, m, c = ff(self, W.CONNECTTOGATHERTOCONFERENCE)
            if not r then return nil, m, c end
        end
        if #comps == 0 then return true end
        local d, m, c = req(self, W.INVITETOCONFERENCE, { conferenceid = id, competitors = comps })
        if not d then return nil, m, c end
        return true
    end

    function Client:conference_from_call(numbers)
        numbers = numbers_arg(numbers, 1, "conference_from_call", true)
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if on_break(self) then return refuse(2208) end
        if li.state ~= "talk" then return refuse(2205) end
        -- register before sending, so the event cannot be missed
        local got
        local hid = self:on(EV.commstarted.lua, function(ev)
            if ev.conference and ev.conference_id then got = got or ev.conference_id end
        end)
        local ok, m, c = ff(self, W.BUILDCONFERENCEFROMCOMMUTATION)
        local until_t = now() + 2
        while ok and not got and now() < until_t do loop.sleep(0.02) end
        self:off(hid)
        if not ok then return nil, m, c end
        if not got then return refuse(2202, "timeout") end
        if #numbers > 0 then
            local r, m2, c2 = self:conference_invite(numbers, got)
            if not r then return nil, m2, c2 end
        end
        return got
    end

    local function conf_id(self, id, n, fname)
        if id ~= nil then
            if not str(id) then argerror(n, fname, "conference id expected", 4) end
            return id
        end
        local li, msg, code = line_info(self)
        if not li then return nil, msg, code end
        if not li.conference then return refuse(2501) end
        return li.conference.id
    end

    function Client:conference_info(id)
        local cid, msg, code = conf_id(self, id, 1, "conference_info")
        if not cid then return nil, msg, code end
        local d, m, c = req(self, W.GETCONFERENCEINFO, { conferenceid = cid })
        if not d then return nil, m, c end
        return { conference = d.conference, competitors = abonents(d.competitors), raw = d }
    end

    function Client:conference_leave(id)
        local cid, msg, code = conf_id(self, id, 1, "conference_leave")
        if not cid then return nil, msg, code end
        return ff(self, W.EXITCONFERENCE, { conferenceid = cid })
    end

    function Client:conference_kick(number, id)
        number = number_arg(number, 1, "conference_kick")
        local cid, msg, code = conf_id(self, id, 2, "conference_kick")
        if not cid then return nil, msg, code end
        local d, m, c = req(self, W.GETCONFERENCECOMPETITORS, { conferenceid = cid })
        if not d then return nil, m, c end
        for _, x in ipairs(type(d.competitorlist) == "table" and d.competitorlist or {}) do
            if type(x) == "table" and (str(x.number) == number or str(x.userid) == number
                or str(x.competitorid) == number) then
                return ff(self, W.CONFDISCONNECTCOMPETITOR,
                    { conferenceid = cid, competitor = { competitorid = x.competitorid } })
            end
        end
        return refuse(2501)
    end

    -- lists ------------------------------------------------------------------------

    function Client:queue()
        local d, msg, code = req(self, W.GETCURRENTQUEUE)
        if not d then return nil, msg, code end
        if type(d.queue) ~= "table" then return refuse(2701, "server") end
        local out = {}
        for _, a in ipairs(d.queue) do
            local t = abonent(a)
            if t then
                t.waited = tonumber(a.waitsec)
                out[#out + 1] = t
            end
        end
        return out
    end

    function Client:numbers()
        local d, msg, code = req(self, W.GETPBXNUMBERS, { mode = "full" })
        if not d then return nil, msg, code end
        local out = {}
        for _, n in ipairs(type(d.numbers) == "table" and d.numbers or {}) do
            if type(n) == "table" then
                local c = tonumber(n.state)
                out[#out + 1] = { id = str(n.id), number = str(n.number), code = c,
                    state = c and states.userstate[c] or nil, caption = str(n.caption),
                    type = str(n.typestr), group = n.isgroup == true,
                    department = (n.departmentid or n.department)
                        and { id = str(n.departmentid), name = str(n.department) } or nil }
            end
        end
        return out
    end

    function Client:users()
        local d, msg, code = req(self, W.GETALLUSERNUMBERS, { fillsubordinates = true })
        if not d then return nil, msg, code end
        local out = {}
        for _, u in ipairs(type(d.users) == "table" and d.users or {}) do
            if type(u) == "table" then
                out[#out + 1] = { id = str(u.id), name = str(u.name), number = str(u.main),
                    numbers = type(u.nums) == "table" and u.nums or {}, subordinate = u.sub == true }
            end
        end
        return out
    end

    function Client:break_reasons()
        local d, msg, code = req(self, W.CC_GETLUNCHTYPES)
        if not d then return nil, msg, code end
        local out = {}
        for _, it in ipairs(type(d.items) == "table" and d.items or {}) do
            local id = type(it) == "table" and tonumber(it.id)
            if id then out[#out + 1] = { id = id, name = str(it.name) } end
        end
        return out
    end

    -- custom events and procedures -------------------------------------------------

    function Client:trigger_event(name, param, o)
        if not str(name) then argerror(1, "trigger_event", "event name expected", 3) end
        o = opts_arg(o, 3, "trigger_event", { to = true, sendback = true })
        local to = false
        if o.to ~= nil then
            if type(o.to) ~= "table" then argerror(3, "trigger_event", "'to' must be a list of user ids", 3) end
            to = o.to
        end
        return ff(self, W.TRIGGERCUSTOMEVENT, { userid = self.userid, userlogin = self.opts.login,
            eventname = name, eventparam = param, recipients = to, sendback = o.sendback and 1 or "0" })
    end

    function Client:on_custom(name, fn)
        if not str(name) then argerror(1, "on_custom", "event name expected", 3) end
        if not callable(fn) then argerror(2, "on_custom", "function expected, got " .. type(fn), 3) end
        return self:on(CUSTOM, function(ev)
            if ev.name == name then return fn(ev.param, ev) end
        end)
    end

    function Client:exec(method, params)
        if not str(method) then argerror(1, "exec", "method name expected", 3) end
        if params ~= nil and type(params) ~= "table" then
            argerror(2, "exec", "table expected, got " .. type(params), 3)
        end
        local s = ph(self)
        if s.procs == nil then
            s.procs = {}
            local v = self:_call(W.GETVERSION, { showalloweddbstoredprocs = 1 })
            for k, x in pairs(v and type(v.alloweddbstoredprocs) == "table" and v.alloweddbstoredprocs or {}) do
                if type(k) == "string" then s.procs[k:lower()] = true end
                if type(x) == "string" then s.procs[x:lower()] = true end
            end
        end
        if not s.procs[method:lower()] then return req(self, method, params) end
        local d, msg, code = req(self, W.EXECPREDEFINEDDBSTOREDPROC, { procedure = method,
            userid = self.userid, userlogin = self.opts.login, inputparams = params or {} })
        if not d then return nil, msg, code end
        if tonumber(d.errorcode or 0) ~= 0 then
            return nil, "procedure error " .. tostring(d.errorcode), "server"
        end
        local sets = {}
        local raw = d.dataset or d.datasets
        if type(raw) == "table" and type(raw[1]) == "table" and type(raw[1][1]) ~= "table" then raw = { raw } end
        for _, tbl in ipairs(type(raw) == "table" and raw or {}) do
            local rows, cols = {}, tbl[1]
            for i = 2, #tbl do
                local row = {}
                for j, col in ipairs(type(cols) == "table" and cols or {}) do row[col] = tbl[i][j] end
                rows[#rows + 1] = row
            end
            sets[#sets + 1] = rows
        end
        return { datasets = sets, raw = d }
    end

    -- events (§6.3) -------------------------------------------------------------------

    local RECHECK = { [EV.ringstarted.lua] = 0, [EV.ringstopped.lua] = 0, [EV.acmcallstarted.lua] = 0,
        [EV.linestate.lua] = 0.5, [EV.flash.lua] = 0.5, [EV.acmcallstopped.lua] = 0.7,
        [EV.commstopped.lua] = 0.7, [EV.commstarted.lua] = 0.7 }

    local function wants(self, name)
        return self.handlers[name] ~= nil or self.waits[name] ~= nil
    end

    local function hold_key(h)
        if not h then return "" end
        if h.conference then return "c:" .. tostring(h.conference.id) end
        return h.key
    end

    function Client:_phone_check()
        local s = ph(self)
        local was = s.shown or { state = "ready", key = "", hold = "" }
        local li = line_info(self)
        if not li then return end
        local key = li.abonent and li.abonent.key or (li.conference and li.conference.id) or ""
        local now_t = { state = li.state, key = key, hold = hold_key(li.hold) }
        s.shown = now_t
        if now_t.state ~= was.state or now_t.key ~= was.key or now_t.hold ~= was.hold then
            self:_emit("phone", { state = li.state, previous = was.state, info = li })
        end
    end

    -- The hook's entry: every server event, before client.lua's own handling.
    local ACM_STARTED, LINESTATE, USERSTATE = EV.acmcallstarted.lua, EV.linestate.lua, EV.userstate.lua
    function Client:_phone_event(lname, d)
        local e = EV[lname]
        if not e then return end
        local s = ph(self)
        if lname == ACM_STARTED then s.tracking = true end
        local delay = RECHECK[lname]
        if delay then
            s.seq = s.seq + 1
            if self.handlers.phone or self.waits.phone then
                loop.spawn(function()
                    if delay > 0 then loop.sleep(delay) end
                    if self.status == "ready" then self:_phone_check() end
                end)
            end
        end
        if lname == LINESTATE or lname == USERSTATE or e.id ~= 0 or not e.wire then return end
        local t = { raw = d }
        if lname == EV.commstarted.lua then
            t.conference = d.isconference == true
            t.conference_id = str(d.confid)
        elseif lname == EV.ivrstarted.lua then
            t.routing = d.isroutingivr
        elseif lname == EV.conference.lua then
            local ei = type(d.eventinfo) == "table" and d.eventinfo or {}
            t.conference_id, t.competitors = str(ei.conferenceid), abonents(ei.competitorlist)
        elseif lname == EV.competitor.lua then
            local ei = type(d.eventinfo) == "table" and d.eventinfo or {}
            t.conference_id = type(ei.conference) == "table" and str(ei.conference.id) or nil
            t.competitor = abonent(ei.competitor)
        elseif lname == EV.numberstate.lua then
            t.numbers = {}
            for _, n in ipairs(type(d.numbers) == "table" and d.numbers or {}) do
                if type(n) == "table" then
                    local c = tonumber(n.numstateid)
                    t.numbers[#t.numbers + 1] = { number = str(n.num), code = c,
                        state = c and states.userstate[c] or nil }
                end
            end
        elseif lname == CUSTOM then
            t.name, t.param = str(d.eventname), d.eventparam
        end
        self:_emit(lname, t)
    end

    -- the derived "queue" event: polled while a handler or waiter exists
    local on = Client.on
    function Client:on(name, fn)
        local id = on(self, name, fn)
        if (name == "queue") and not self._queue_poll then
            self._queue_poll = true
            loop.spawn(function()
                local last = {}
                while self.status ~= "closed" and wants(self, "queue") do
                    if self.status == "ready" then
                        local q = self:queue()
                        if q then
                            local seen, entered, left = {}, {}, {}
                            for _, a in ipairs(q) do
                                seen[a.key] = true
                                if not last[a.key] then entered[#entered + 1] = a end
                            end
                            for k, a in pairs(last) do if not seen[k] then left[#left + 1] = a end end
                            if #entered > 0 or #left > 0 then
                                self:_emit("queue", { queue = q, entered = entered, left = left })
                            end
                            last = {}
                            for _, a in ipairs(q) do last[a.key] = a end
                        end
                    end
                    loop.sleep(self.opts.queue_interval or 5)
                end
                self._queue_poll = nil
            end)
        end
        return id
    end
end

M.abonent = abonent
return M
