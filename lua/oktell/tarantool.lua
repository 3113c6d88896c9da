-- oktell.tarantool: oktell inside Tarantool (2.x, LuaJIT, cooperative
-- fibers on one event loop).
--
--   local okt = require "oktell.tarantool"    -- before any oktell.connect
--   local c = assert(okt.connect{url = "ws://10.0.0.5:4066", login = "Peter", password = "123"})
--   local st = okt.call(c.user_state, c)      -- from any fiber: it waits, others run
--   c:on("userstate", function(ev) ch:put(ev, 0) end)  -- handlers: never block the fiber
--
-- The pattern (docs/HOSTS.md §5): a blocking poll(2) would stop every
-- fiber, so nothing here waits in poll(2).
--
-- * One pump fiber ("oktell") turns oktell's loop: each turn runs what is
--   runnable, does the clients' I/O, and waits up to the nearest deadline
--   (at most SLICE) in socket.iowait on the client's descriptor - which
--   yields the fiber - then takes what is ready with a zero-timeout poll.
--   This module gives the loop that fiber-friendly wait (oktell.loop.new
--   with its own poll), so every client, handler and managed coroutine
--   made after the require lives on it.
-- * Fibers call through okt.call(fn, ...): fn runs as an oktell-managed
--   coroutine (oktell.spawn) in the pump fiber, where a client method
--   yields until its reply, and its results come back over a
--   fiber.channel; the calling fiber waits on the channel, so any number
--   of fibers may have calls in flight at once. okt.connect(opts) is
--   okt.call(oktell.connect, opts).
-- * Handlers (client:on) and okt.call/okt.spawn bodies run inside the
--   pump fiber: call the client there directly and use oktell.sleep, but
--   do not yield the fiber itself (fiber.sleep, blocking channel or socket
--   operations, box calls that yield); hand results to fibers with a
--   non-blocking ch:put(v, 0).
-- * Do not call a client method directly from a fiber: outside a managed
--   coroutine it would turn the loop itself, and with the pump inside a
--   turn it raises "blocking call from an unmanaged coroutine inside a
--   running loop". The same for oktell.step/run.
-- * URLs with host names resolve with getaddrinfo, which blocks: prefer
--   addresses.
local core = require "oktell.core"
local loop = require "oktell.loop"
local compat = require "oktell.compat"
local fiber = require "fiber"
local socket = require "socket"
local tlog = require "log"

local type, error, tostring, pcall = type, error, tostring, pcall
local pack, unpack = compat.pack, compat.unpack

local M = {}

local SLICE = 0.25 -- seconds: the longest the pump waits in one turn

M.SLICE = SLICE

-- The fiber waiting in the loop's poll right now (the pump, normally),
-- woken early when new work is queued.
local waiting

local IOEV = { r = "R", w = "W", rw = "RW" }

-- Several descriptors: a fresh epoll set per wait (through the FFI), its
-- descriptor waited on with socket.iowait: readable once any member is
-- ready. Fresh, so a descriptor closed and its number reused by a
-- reconnect is never missed.
local ep_ctl
local function epoll_wait_many(fds, n, timeout)
    if not ep_ctl then
        local ffi = require "ffi"
        pcall(ffi.cdef, ffi.arch == "x64" and [[
            struct oktell_epoll_event { uint32_t events; uint64_t data; } __attribute__ ((__packed__));
        ]] or [[
            struct oktell_epoll_event { uint32_t events; uint64_t data; };
        ]])
        pcall(ffi.cdef, [[
            int epoll_create1(int flags);
            int epoll_ctl(int epfd, int op, int fd, struct oktell_epoll_event *event);
            int close(int fd);
        ]])
        local ev = ffi.new("struct oktell_epoll_event")
        local C = ffi.C
        ep_ctl = {
            create = function() return C.epoll_create1(0x80000) end, -- EPOLL_CLOEXEC
            add = function(ep, fd, mask)
                ev.events = mask
                ev.data = fd
                return C.epoll_ctl(ep, 1, fd, ev) -- EPOLL_CTL_ADD
            end,
            close = function(ep) C.close(ep) end,
        }
    end
    local ep = ep_ctl.create()
    if ep < 0 then
        fiber.sleep(timeout) -- out of descriptors: fall back to a timed turn
        return
    end
    for i = 1, n, 2 do
        local e = fds[i + 1]
        local mask = 0
        if e:find("r", 1, true) then mask = mask + 0x001 end -- EPOLLIN
        if e:find("w", 1, true) then mask = mask + 0x004 end -- EPOLLOUT
        ep_ctl.add(ep, fds[i], mask)
    end
    socket.iowait(ep, "R", timeout)
    ep_ctl.close(ep)
end

-- The loop's poll (core.poll's contract): wait without blocking the
-- thread, then take what is ready.
local function fiber_poll(fds, timeout)
    local n = #fds
    if timeout ~= 0 then
        local wait = (timeout == nil or timeout > SLICE) and SLICE or timeout
        waiting = fiber.self()
        if n == 0 then
            fiber.sleep(wait)
        elseif n == 2 then
            socket.iowait(fds[1], IOEV[fds[2]] or "R", wait)
        else
            epoll_wait_many(fds, n, wait)
        end
        waiting = nil
    end
    if n == 0 then return {} end
    return core.poll(fds, 0)
end

local sched = loop.new(fiber_poll)
loop.set_context(function() return sched end)

loop.on_error(function(err, tb)
    tlog.error("oktell: error in a handler: %s", tostring(tb or err))
end)

-- New work was queued: a waiting pump takes it at once.
local function kick()
    local w = waiting
    if w and w ~= fiber.self() and w:status() ~= "dead" then w:wakeup() end
end

local pump
local running = false

local function pump_body()
    fiber.self():name("oktell")
    while running do
        if waiting then
            -- someone else is inside a turn (a direct client call from a
            -- fiber): let it finish
            fiber.sleep(SLICE)
        else
            local ok, err = pcall(sched.step, SLICE)
            if not ok then
                tlog.error("oktell: the pump's turn failed: %s", tostring(err))
                fiber.sleep(SLICE)
            end
            -- a turn that did not wait (work was due) still lets others run
            fiber.yield()
        end
    end
    pump = nil
end

--- okt.start(): start the pump fiber (okt.call and okt.connect do it).
function M.start()
    running = true
    if not pump then pump = fiber.create(pump_body) end
    return pump
end

--- okt.stop(): end the pump fiber after its current turn (clients stay
--- open, unserved; close them first).
function M.stop()
    running = false
    kick()
end

--- okt.spawn(fn, ...): oktell.spawn in the pump's loop, started at once.
function M.spawn(fn, ...)
    M.start()
    local co = sched.spawn(fn, ...)
    kick()
    return co
end

--- okt.call(fn, ...): run fn(...) as an oktell-managed coroutine and wait
--- (yielding this fiber only) for its results; fn's error is raised here.
--- Inside a managed coroutine already (a handler): just fn(...).
function M.call(fn, ...)
    loop.check_callable(fn, 1, "call", 2)
    if sched.in_managed() then return fn(...) end
    M.start()
    local ch = fiber.channel(1)
    local args = pack(...)
    local res
    sched.spawn_rec(function() res = pack(fn(unpack(args, 1, args.n))) end, { n = 0 },
        function() ch:put(true, 0) end,
        function(err) ch:put({ err = err }, 0) end)
    kick()
    local r = ch:get()
    if type(r) == "table" then error(r.err, 0) end
    return unpack(res, 1, res.n)
end

--- okt.connect(opts): oktell.connect (API §3) from a fiber.
--- client | nil, message, code.
function M.connect(opts)
    return M.call(require("oktell").connect, opts)
end

M.sleep = loop.sleep -- inside managed coroutines: oktell.sleep
M.stats = sched.stats

return M
