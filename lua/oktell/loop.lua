-- oktell.loop: the scheduler behind oktell.spawn/sleep/run/stop/step.
--
-- It owns a FIFO of runnable managed coroutines, a heap of timers and a set
-- of pollables (clients). One turn: run what is runnable, let every pollable
-- that needs it do its I/O (which wakes waiters and queues handler calls),
-- poll the descriptors up to the nearest deadline, wake due timers.
--
-- A "waiter" is the one primitive everything blocks on: park(w) suspends the
-- caller until wake(w, ...) is called. Inside a managed coroutine park
-- yields; outside one (the main chunk) it turns the loop until woken, so
-- handlers keep running while the main chunk blocks.
--
-- A waiter's coroutine counts as parked on it only once its yield has
-- reached the loop: a yield that fails (inside pcall on Lua 5.1, inside a
-- C function such as table.sort's comparator anywhere) leaves nothing
-- registered, so the waiter's later wake resumes nothing.
local core = require "oktell.core"
local compat = require "oktell.compat"

local now = core.now
local pack, unpack, callable = compat.pack, compat.unpack, compat.callable

-- The standard coroutine functions. ngx_lua replaces coroutine.create,
-- resume, yield, status and wrap with versions bound to the request or
-- timer that runs them, and keeps the standard ones as coroutine._create
-- and so on (HOSTS.md §2): a coroutine of ours resumed by a later timer
-- must be a standard one, or the worker crashes.
local coroutine = coroutine
local function co_fn(name)
    return coroutine["_" .. name] or coroutine[name]
end
local std_running = co_fn("running")
local STD = {
    create = co_fn("create"), resume = co_fn("resume"), running = std_running,
    status = co_fn("status"), yield = co_fn("yield"),
    -- 5.3+ and LuaJIT; on 5.1 and 5.2 any coroutine but the main one (a
    -- pcall or a C function on the way may still make the yield fail).
    isyieldable = co_fn("isyieldable") or function()
        local co, main = std_running()
        return co ~= nil and not main
    end,
}

local traceback = debug.traceback
local type, error, tostring, pairs = type, error, tostring, pairs
local floor, huge = math.floor, math.huge

-- Yielded by park() (with the waiter) so a plain coroutine.yield inside a
-- managed coroutine (which just gives the turn away) can be told apart.
local PARK = setmetatable({}, { __name = "oktell.park" })
-- Returned by a handler call's body when its function has returned.
local DONE = setmetatable({}, { __name = "oktell.done" })

local function default_on_error(err, tb)
    io.stderr:write("oktell: error in a managed coroutine: ", tostring(tb or err), "\n")
end
local on_error = default_on_error

local function report(err, co)
    local tb = traceback(co, tostring(err))
    local ok, e2 = pcall(on_error, err, tb, co)
    if not ok then
        io.stderr:write("oktell: error in on_error handler: ", tostring(e2), "\n")
    end
end

-- One scheduler, waiting for I/O with poll(fds, timeout) (core.poll's
-- contract: a list of fd, events pairs; a table of the ready ones). A host
-- driver that owns the I/O makes one per host context with its own poll
-- (lua/oktell/ngx.lua: cosockets, one per request or timer), so that no
-- context ever steps another's sockets or resumes another's coroutines.
-- The module itself (the end of this file) answers for the scheduler of
-- the running context: the one made here at load, unless a driver says
-- otherwise. (The body is not indented, to keep it readable as one.)
local function new(poll, colib)
local native = poll == core.poll  -- the cqueues hand-off below needs real fds
-- A driver whose scheduler lives inside one host context (a request or
-- timer of ngx_lua) passes that host's coroutine library: its coroutines
-- then stay the host's own, so a cosocket call inside them yields to the
-- host. The scheduler made at load uses the standard functions (above).
colib = colib or STD
local co_create, co_resume, co_running, co_status, co_yield =
    colib.create, colib.resume, colib.running, colib.status, colib.yield
local co_isyieldable = colib.isyieldable or STD.isyieldable

local M = {}

local managed = {} -- coroutine -> record (strong: a managed coroutine lives until it ends)
local nmanaged = 0
local runq, rhead, rtail = {}, 1, 0                -- FIFO of records to resume
local timers, ntimers = {}, 0                      -- binary heap of {t, w, seq}
local tseq = 0
local pollables = setmetatable({}, { __mode = "k" }) -- pollable -> true
local anchored = {}                                -- strong refs: pollables that must stay alive
M._anchored = anchored
local npollables = 0
local turning = false      -- inside a turn (resuming coroutines or doing I/O)
local stopping = false

local function push(rec)
    rtail = rtail + 1
    runq[rtail] = rec
end

-- Timer heap ---------------------------------------------------------------

local function heap_push(t, w)
    tseq = tseq + 1
    local e = { t = t, w = w, seq = tseq }
    ntimers = ntimers + 1
    local i = ntimers
    timers[i] = e
    while i > 1 do
        local p = floor(i / 2)
        local pe = timers[p]
        if pe.t < t or (pe.t == t and pe.seq < e.seq) then break end
        timers[i], timers[p] = pe, e
        i = p
    end
    return e
end

local ndead = 0 -- entries whose waiter completed before the deadline

-- Rebuild the heap without dead entries, so early-completed waits (every
-- connect and timed wait that succeeds) do not pile up until they expire.
local function heap_compact()
    local live = {}
    for i = 1, ntimers do
        local e = timers[i]
        if e.w then live[#live + 1] = e end
    end
    table.sort(live, function(a, b) return a.t < b.t or (a.t == b.t and a.seq < b.seq) end)
    timers, ntimers, ndead = live, #live, 0
end

local function heap_pop()
    local top = timers[1]
    local last = timers[ntimers]
    timers[ntimers] = nil
    ntimers = ntimers - 1
    if ntimers > 0 then
        local i = 1
        timers[1] = last
        while true do
            local l, r, s = 2 * i, 2 * i + 1, i
            if l <= ntimers and (timers[l].t < timers[s].t or
                (timers[l].t == timers[s].t and timers[l].seq < timers[s].seq)) then s = l end
            if r <= ntimers and (timers[r].t < timers[s].t or
                (timers[r].t == timers[s].t and timers[r].seq < timers[s].seq)) then s = r end
            if s == i then break end
            timers[i], timers[s] = timers[s], timers[i]
            i = s
        end
    end
    return top
end

-- Waiters ------------------------------------------------------------------

-- A waiter belongs to the coroutine that will park on it (nil: the main
-- chunk or an unmanaged coroutine, which block by turning the loop).
function M.waiter()
    local co = co_running()
    -- every field wake() sets, made at once (no rehash when it sets them)
    return { co = managed[co] and co or nil, done = false, sched = M, a = false, b = false, c = false, n = 0 }
end

-- Wake w with up to three values (nil, msg, code or a result). Later wakes
-- of the same waiter are ignored: each waiter completes exactly once.
function M.wake(w, a, b, c, n)
    if w.done then return false end
    w.done = true
    w.a, w.b, w.c, w.n = a, b, c, n or 3
    if w.timer then
        w.timer.w = nil
        w.timer = nil
        ndead = ndead + 1
        if ndead > 64 and ndead * 2 > ntimers then heap_compact() end
    end
    -- Resume its coroutine only if that is parked on w right now.
    local co = w.co
    local rec = co and managed[co]
    if rec and rec.parked == w then
        rec.parked = nil
        push(w)
    end
    return true
end

-- Wake w with (nil, "timeout", "timeout") at absolute time t.
function M.deadline(w, t, a, b, c, n)
    w.ta, w.tb, w.tc, w.tn = a, b, c, n
    w.timer = heap_push(t, w)
end

local turn, fast_turn -- forward

-- Inside a cqueues-run coroutine, give the cqueues controller the turn
-- instead of blocking the whole process in poll(2).
local function cq_poll(timeout)
    local cq = package.loaded.cqueues
    local objs, n = {}, 0
    for p in pairs(pollables) do
        if p:pollfd() then n = n + 1; objs[n] = p end
    end
    n = n + 1
    objs[n] = timeout
    cq.poll(unpack(objs, 1, n))
end

function M.park(w)
    if w.co then
        if w.co ~= co_running() then
            error("oktell: a waiter was parked from another coroutine", 2)
        end
        -- The loop's resume() records the coroutine as parked on w once
        -- this yield has reached it; if the yield fails, it raises here and
        -- nothing stays registered.
        while not w.done do
            co_yield(PARK, w)
        end
    else
        if turning then
            error("oktell: blocking call from an unmanaged coroutine inside a running loop " ..
                "(use oktell.spawn)", 2)
        end
        while not w.done do
            if not fast_turn() then turn(nil, w) end
            if not w.done and rhead > rtail and ntimers == 0 and M.count() == 0 then
                error("oktell: blocked forever (no client, timer or coroutine can wake this call)", 2)
            end
        end
    end
    local n = w.n
    if n == 0 then return end
    if n == 1 then return w.a end
    if n == 2 then return w.a, w.b end
    return w.a, w.b, w.c
end

-- Managed coroutines -------------------------------------------------------

local function finish_rec(co)
    if managed[co] then
        managed[co] = nil
        nmanaged = nmanaged - 1
    end
end

-- rec: a managed coroutine's own record (first run, or back after a plain
-- yield) or a waiter it was parked on (woken).
local function resume(rec)
    local co = rec.co
    local srec = managed[co] -- the spawn record: completion hooks live there
    if not srec then return end
    local ok, y, yw
    local fn = rec.call
    if fn then
        -- a handler call's first run (M.call): made suspended, never seen
        -- by anyone else, so no status to ask
        rec.call = nil
        local a, b = rec.a, rec.b
        rec.a, rec.b = nil, nil
        ok, y, yw = co_resume(co, fn, a, b)
    else
        if co_status(co) ~= "suspended" then return end
        srec.parked = nil
        if rec.args then
            local args = rec.args
            rec.args = nil
            ok, y, yw = co_resume(co, unpack(args, 1, args.n))
        else
            ok, y, yw = co_resume(co)
        end
    end
    if not ok then
        finish_rec(co)
        if srec and srec.on_fail then
            srec.on_fail(y, co)
        else
            report(y, co)
        end
        if srec.on_end then srec.on_end() end
        return
    end
    -- PARK is ours: a coroutine that yielded it is suspended (asking its
    -- status, a call into C, is needed only otherwise)
    if y == PARK and yw and not yw.done then
        -- parked: wake(yw) queues it again
        srec.parked = yw
    elseif y == DONE then
        -- a handler call has ended (M.call's records have no on_done)
        managed[co] = nil
        nmanaged = nmanaged - 1
        local e = srec.on_end
        if e then e() end
    elseif co_status(co) == "dead" then
        finish_rec(co)
        if srec.on_done then srec.on_done() end
        if srec.on_end then srec.on_end() end
    else
        -- a plain coroutine.yield (or a park whose waiter completed
        -- meanwhile): give the turn away, come back next turn
        push(srec)
    end
end

-- A coroutine body for fn: a function as it is, a callable table or
-- userdata (__call) through a function, since coroutine.create takes
-- functions only. Accepted alike by spawn, run and client:on.
local function body(fn)
    if type(fn) == "function" then return fn end
    return function(...) return fn(...) end
end

-- The body of every handler call's coroutine (M.call): it returns DONE
-- when fn has, which tells resume() the coroutine is dead without asking.
local function call_body(fn, a, b)
    fn(a, b)
    return DONE
end

-- Raise "bad argument #1 to 'name' (function expected, got T)" unless fn
-- can be called.
function M.check_callable(fn, n, name, level)
    if not callable(fn) then
        error("bad argument #" .. n .. " to '" .. name .. "' (function expected, got " .. type(fn) .. ")",
            (level or 2) + 1)
    end
end

--- Start fn(...) as a managed coroutine (it first runs at the next turn).
function M.spawn(fn, ...)
    M.check_callable(fn, 1, "spawn", 2)
    local co = co_create(body(fn))
    local rec = { co = co, args = pack(...) }
    managed[co] = rec
    nmanaged = nmanaged + 1
    push(rec)
    return co
end

-- Internal: spawn with completion hooks (used by run(fn) and by clients).
local function spawn_rec(fn, args, on_done, on_fail)
    local co = co_create(body(fn))
    local rec = { co = co, args = args, on_done = on_done, on_fail = on_fail }
    managed[co] = rec
    nmanaged = nmanaged + 1
    push(rec)
    return co, rec
end
M.spawn_rec = spawn_rec

-- Queue fn(a, b) as a managed coroutine without packing varargs (the event
-- path: one coroutine per handler call). on_end (optional) is called once
-- it has ended, returned or failed (its error reported first).
function M.call(fn, a, b, on_end)
    -- one coroutine per call (API §4: each handler call runs in its own),
    -- all on one body: fn comes with the first resume (no closure)
    local co = co_create(call_body)
    local rec = { co = co, call = fn, a = a, b = b, on_end = on_end }
    managed[co] = rec
    nmanaged = nmanaged + 1
    push(rec)
    return co
end

function M.in_managed()
    local co = co_running()
    return managed[co] ~= nil
end

-- Pollables ----------------------------------------------------------------

-- A pollable answers pollfd(), events(), _due(now), _timeout() and
-- _turn(ready, now). A fast pollable (p.pumps true: a client on the core's
-- own socket, lua/oktell/client.lua) is read through its fields instead,
-- which its turns keep current: conn (nil: no connection), fd and want
-- (what to poll), dirty or held (work due now), due_at and retry_at
-- (absolute times work falls due, or nil).
function M.add(p)
    if not pollables[p] then
        pollables[p] = true
        npollables = npollables + 1
    end
end

function M.remove(p)
    if pollables[p] then
        pollables[p] = nil
        npollables = npollables - 1
    end
    anchored[p] = nil
end

-- Keep p alive while it has handlers or waiters (open means reachable);
-- an unanchored client is collected (and closed) when the script drops it.
function M.anchor(p, on)
    if on then anchored[p] = true else anchored[p] = nil end
end

-- The open pollables (for specs that close what a failed test left open).
function M.list()
    local l = {}
    for p in pairs(pollables) do l[#l + 1] = p end
    return l
end

function M.count()
    local n = 0
    for _ in pairs(pollables) do n = n + 1 end
    npollables = n
    return n
end

-- The turn -----------------------------------------------------------------

local function run_queue()
    -- Only what was queued before this pass: handlers that queue more work
    -- (or plain-yield) run in the next pass, so one turn always ends.
    local last = rtail
    while rhead <= last do
        local rec = runq[rhead]
        runq[rhead] = nil
        rhead = rhead + 1
        resume(rec)
    end
    if rhead > rtail then rhead, rtail = 1, 0 end
end

local function fire_timers(t)
    while ntimers > 0 and timers[1].t <= t do
        local e = heap_pop()
        local w = e.w
        if not w then ndead = ndead - 1 end
        if w and not w.done then
            w.timer = nil
            M.wake(w, w.ta, w.tb, w.tc, w.tn)
        end
    end
end

local scratch_fds, scratch_ps = {}, {}

-- Has pollable p work due at t? A fast pollable (see above) says it by its
-- fields, without a method call: a turn over thousands of idle clients
-- stays cheap.
local function due(p, t)
    if not p.pumps then return p:_due(t) end
    if p.dirty or p.held then return true end
    local at, r = p.due_at, p.retry_at
    return (at ~= nil and t >= at) or (r ~= nil and t >= r)
end

-- One turn. `timeout` caps the poll (nil: up to the nearest deadline);
-- `w` (optional) is a waiter whose completion ends the wait early;
-- `goal` (optional) is run()'s end condition: once it holds (say fn ended
-- without ever yielding) the turn does not sleep.
--
-- The turn is three parts: before (run, fire, due work, how long to wait),
-- the wait, after (I/O, timers, run). A wait that yields to a cqueues
-- controller runs outside pcall (Lua 5.1 cannot yield across it) and
-- outside the turn: meanwhile the controller's other coroutines may use
-- oktell, even turn the loop themselves.
local function turn_before(timeout, w, goal)
    run_queue()
    local t = now()
    fire_timers(t)
    -- Let pollables with work due (written requests, queued events,
    -- expired deadlines) do it before deciding how long to sleep.
    local wait = timeout or huge
    local nf, np = 0, 0
    for p in pairs(pollables) do
        np = np + 1
        scratch_ps[np] = p
    end
    for i = 1, np do
        local p = scratch_ps[i]
        if due(p, t) then p:_turn(nil, t) end
    end
    local busy = rhead <= rtail or (w and w.done) or stopping or (goal and goal())
    if busy then
        wait = 0
    else
        -- Deadlines of waiters that completed early must not bound the sleep.
        while ntimers > 0 and not timers[1].w do
            heap_pop()
            ndead = ndead - 1
        end
        if ntimers > 0 then
            local d = timers[1].t - now()
            if d < wait then wait = d end
        end
    end
    -- One pass: each pollable's wait bound and its descriptor.
    local soonest = huge   -- absolute, from fast pollables
    for i = 1, np do
        local p = scratch_ps[i]
        local fd, ev
        if p.pumps then
            if p.conn then
                if p.dirty or p.held then
                    soonest = 0
                else
                    local at = p.due_at
                    if at and at < soonest then soonest = at end
                end
                fd, ev = p.fd, p.want
            end
            local r = p.retry_at
            if r and r < soonest then soonest = r end
        else
            if not busy then
                local d = p:_timeout()
                if d and d < wait then wait = d end
            end
            fd = p:pollfd()
            if fd then ev = p:events() end
        end
        if fd and ev then
            scratch_fds[nf + 1] = fd
            scratch_fds[nf + 2] = ev
            nf = nf + 2
        end
    end
    if not busy and soonest < huge then
        local d = soonest - now()
        if d < wait then wait = d end
    end
    if wait < 0 then wait = 0 end
    return wait, nf, np
end

-- true: wait in cqueues (the yield happens outside pcall); else the
-- ready table of poll (nil: no wait at all).
-- Inside a coroutine a cqueues controller runs (with real fds to hand
-- it): a wait yields to the controller instead of blocking the process.
local function in_cqueues()
    local cq = package.loaded.cqueues
    return native and cq and cq.running and cq.running() and co_isyieldable()
end

local function turn_poll(wait, nf)
    if nf > 0 or wait > 0 then
        if wait == huge then
            if nf == 0 then
                wait = 0 -- nothing could ever wake us: do not hang
            else
                wait = nil
            end
        end
        if wait ~= 0 and in_cqueues() then return true, wait end
        for i = nf + 1, #scratch_fds do scratch_fds[i] = nil end
        return poll(scratch_fds, wait)
    end
    return nil
end

local function turn_after(ready, nf, np, ps)
    local t = now()
    for i = 1, np do
        local p = ps[i]
        ps[i] = nil
        local fd
        if p.pumps then fd = p.conn and p.fd else fd = p:pollfd() end
        local r = ready and fd and (ready == true or ready[fd])
        if r or due(p, t) then p:_turn(r, t) end
    end
    for i = 1, nf do scratch_fds[i] = nil end
    fire_timers(t)
    run_queue()
end

function turn(timeout, w, goal)
    turning = true
    local ok, wait, nf, np = pcall(turn_before, timeout, w, goal)
    local ready, cqwait
    if ok then
        ok, ready, cqwait = pcall(turn_poll, wait, nf)
        if not ok then wait = ready end -- the error (a signal's "interrupted!")
    end
    local ps = scratch_ps
    if ok and ready == true then
        -- A turn run from the wait uses the scratch list: keep our own.
        ps = {}
        for i = 1, np do
            ps[i] = scratch_ps[i]
            scratch_ps[i] = nil
        end
        turning = false
        cq_poll(cqwait) -- cqueues does not say which is ready: all try
        turning = true
    end
    if ok then ok, wait = pcall(turn_after, ready, nf, np, ps) end
    turning = false
    if not ok then
        for i = 1, #scratch_ps do scratch_ps[i] = nil end
        error(wait, 0)
    end
end

-- After a fast turn: the timers it waited for, the coroutines its events
-- queued.
local function fast_after()
    fire_timers(now())
    run_queue()
end

-- The turn of a blocking call when nothing else can want the turn: one
-- pollable, a fast one (a client on the core's own socket) with a
-- connection and no work due before its deadline, no coroutine queued,
-- no cqueues controller to hand the wait to. The wait and the work are one
-- call into C (the client's _turn with the wait as its readiness:
-- conn:pump polls its own descriptor): no poll table, no scan of
-- pollables. false: not so, turn() does it.
fast_turn = function()
    if rhead <= rtail or npollables ~= 1 or not native or stopping then return false end
    local p = next(pollables)
    local at = p.due_at
    if not p.pumps or not p.conn or not at or p.dirty or p.held or p.retry_at then return false end
    if in_cqueues() then return false end
    -- deadlines of waiters that completed early do not bound the wait
    while ntimers > 0 and not timers[1].w do
        heap_pop()
        ndead = ndead - 1
    end
    if ntimers > 0 and timers[1].t < at then at = timers[1].t end
    local wait = at - now()
    if wait <= 0 then return false end
    turning = true
    local ok, err = pcall(p._turn, p, wait)
    if ok and (ntimers > 0 or rhead <= rtail) then ok, err = pcall(fast_after) end
    turning = false
    if not ok then error(err, 0) end
    return true
end

local function check_not_nested(name)
    if turning then
        error("oktell." .. name .. ": called from inside the running loop (a handler or managed coroutine)", 3)
    end
    if managed[co_running()] then
        error("oktell." .. name .. ": called from a managed coroutine", 3)
    end
end

--- One turn of the loop, for embedding in a foreign loop.
function M.step(timeout)
    check_not_nested("step")
    if timeout ~= nil and type(timeout) ~= "number" then
        error("bad argument #1 to 'step' (number expected, got " .. type(timeout) .. ")", 2)
    end
    turn(timeout or 0)
    return true
end

--- Sleep: yields inside a managed coroutine, else turns the loop.
function M.sleep(s)
    if type(s) ~= "number" then
        error("bad argument #1 to 'sleep' (number expected, got " .. type(s) .. ")", 2)
    end
    local w = M.waiter()
    if s <= 0 and not w.co then
        if not turning then turn(0) end
        return
    end
    M.deadline(w, now() + (s > 0 and s or 0), nil, nil, nil, 0)
    M.park(w)
end

--- run(fn, ...): fn as a managed coroutine, loop until it and every other
--- managed coroutine ended. run(): serve until stop() or no client is open.
function M.run(fn, ...)
    check_not_nested("run")
    stopping = false
    if fn == nil then
        local function served() return M.count() == 0 and nmanaged == 0 end
        while not stopping do
            if served() then break end
            turn(nil, nil, served)
        end
        stopping = false
        return true
    end
    M.check_callable(fn, 1, "run", 2)
    local res, failed, ferr
    local args = pack(...)
    spawn_rec(function() res = pack(fn(unpack(args, 1, args.n))) end, { n = 0 },
        nil, function(e) failed, ferr = true, e end)
    local function ended() return nmanaged == 0 and rhead > rtail end
    while not ended() do
        turn(nil, nil, ended)
    end
    stopping = false
    if failed then error(ferr, 0) end
    return unpack(res, 1, res.n)
end

function M.stop()
    stopping = true
end

--- on_error(fn): where errors of handlers and spawned coroutines go.
--- Returns the previous function. nil restores the default.
function M.on_error(fn)
    if fn ~= nil and type(fn) ~= "function" then
        error("bad argument #1 to 'on_error' (function expected, got " .. type(fn) .. ")", 2)
    end
    local prev = on_error
    on_error = fn or default_on_error
    return prev
end

-- For pollables: 0 when the loop has runnable work, else seconds to the
-- nearest timer (nil: none).
function M.timeout()
    if rhead <= rtail then return 0 end
    if ntimers > 0 then
        local d = timers[1].t - now()
        return d > 0 and d or 0
    end
    return nil
end

function M.stats()
    return { managed = nmanaged, runnable = rtail - rhead + 1, timers = ntimers, pollables = M.count() }
end

M.now = now
M.PARK = PARK

return M
end

-- The module: the scheduler of the running context --------------------------
--
-- Every function answers for current(): the scheduler made at load, unless
-- a host driver installed a resolver (set_context). A waiter goes back to
-- the scheduler that made it, a pollable to the one it was added to, so a
-- wake or a close from elsewhere (a __gc) never queues work in the wrong
-- context.

local main = new(core.poll)
local current = function() return main end
local owner = setmetatable({}, { __mode = "k" }) -- pollable -> its scheduler

local F = {}

for _, name in ipairs({ "spawn", "spawn_rec", "in_managed", "list", "count", "step", "sleep",
    "run", "stop", "timeout", "stats" }) do
    -- tail calls: misuse errors raised inside still blame the caller
    F[name] = function(...) return current()[name](...) end
end

-- Fixed arities, no varargs: these run for every request, event and wake.
function F.call(fn, a, b, on_end)
    return current().call(fn, a, b, on_end)
end
function F.park(w)
    return (w.sched or current()).park(w)
end
function F.wake(w, a, b, c, n)
    return (w.sched or current()).wake(w, a, b, c, n)
end
function F.deadline(w, t, a, b, c, n)
    return (w.sched or current()).deadline(w, t, a, b, c, n)
end
function F.waiter()
    return current().waiter()
end

function F.add(p)
    local s = current()
    owner[p] = s
    return s.add(p)
end

function F.remove(p)
    local s = owner[p] or current()
    owner[p] = nil
    return s.remove(p)
end

function F.anchor(p, on)
    return (owner[p] or current()).anchor(p, on)
end

F.on_error = main.on_error   -- one handler for every scheduler
F.check_callable = main.check_callable
F.now = now
F.PARK = PARK
F._anchored = main._anchored

--- new(poll [, colib]): a scheduler of its own, waiting with poll(fds,
--- timeout), its coroutines made by colib (default: the standard ones).
F.new = new

--- set_context(fn): fn() returns the scheduler of the running host
--- context (made with new); nil restores the one made at load.
function F.set_context(fn)
    if fn ~= nil and type(fn) ~= "function" then
        error("bad argument #1 to 'set_context' (function expected, got " .. type(fn) .. ")", 2)
    end
    current = fn or function() return main end
end

return F
