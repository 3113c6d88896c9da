-- oktell.ngx: oktell inside nginx (lua-nginx-module, OpenResty), over
-- cosockets. The Client of oktell.client runs unchanged; its bytes go
-- through core.wire (the sans-IO connection: bytes in, bytes out, a
-- deadline) and ngx.socket.tcp, so a call yields to nginx instead of
-- blocking the worker.
--
--   local okt = require "oktell.ngx"
--   local c, err = okt.connect{url = "ws://pbx:4066", login = "Peter", password = "123"}
--   local state = c and c:user_state()
--   c:close()
--
-- The pattern (docs/HOSTS.md §2):
--
-- * Every nginx context (a request, a timer run) gets its own oktell
--   scheduler, kept in ngx.ctx: its clients, timers and handler coroutines.
--   Waiting happens in the context's own coroutine, in a cosocket receive
--   (or ngx.sleep) bounded by the wire's deadline. No context ever steps
--   another's sockets or resumes another's coroutines: a cosocket lives as
--   long as the request or timer that made it, and a coroutine of one
--   request resumed in another crashes the worker.
-- * Short calls from a request: okt.connect, the calls, close - all in the
--   handler (content_by_lua*, access_by_lua*, rewrite_by_lua*, and
--   ngx.timer callbacks: wherever cosockets are allowed). Close the client
--   before the handler returns; what is left open is dropped with the
--   request.
-- * A connection that receives events lives in a timer: okt.worker(fn) in
--   init_worker_by_lua* runs fn in a timer (ngx.timer.at(0, ...)) that
--   then serves its clients - handlers, reconnects - until the worker
--   exits. Handlers hand state to requests through a Lua table (per
--   worker) or an ngx.shared dict (all workers), never through a client
--   or a cosocket: a request must not call a client the timer made.
-- * One oktell flow per request: light threads (ngx.thread) of one
--   request share its scheduler and must not wait on it at the same time.
-- * TLS (wss://) is nginx's: sslhandshake with the URL's host name,
--   verified against lua_ssl_trusted_certificate unless verify = false;
--   the cafile option is not used here. URLs are tried in turn until one
--   accepts the TCP connection (and TLS); a websocketredirect is followed.
--
-- * nginx.conf: `lua_socket_log_errors off;` - the driver waits in reads
--   bounded by its deadlines, and nginx would log each timeout at [error];
--   `resolver ...;` when the URLs name hosts (cosockets resolve through
--   nginx's resolver, not getaddrinfo).
--
-- Not in init_by_lua* or init_worker_by_lua* directly (no cosockets
-- there): start a timer.
local core = require "oktell.core"
local loop = require "oktell.loop"
local client = require "oktell.client"
local states = require "oktell.states"

local ngx = ngx -- the host's global (.luacheckrc: read_globals)
local type, error, tostring, tonumber, setmetatable, pcall, xpcall, ipairs =
    type, error, tostring, tonumber, setmetatable, pcall, xpcall, ipairs
local ceil, min = math.ceil, math.min
local now = core.now

local M = {}

local RECV_MAX = 65536 -- bytes taken per receive
local SLICE = 1        -- seconds: longest wait, so an exiting worker is noticed
local SHARE = 0.01     -- seconds per socket when one context waits on several

-- Transport: one core.wire over one cosocket -----------------------------------
--
-- The object the Client holds as its conn (the methods of core.connect's
-- conn). pollfd() returns the transport itself: the scheduler hands it back
-- to this driver's poll, which does the waiting.

local T = {}
T.__index = T

-- ws[s]://host[:port][/...] -> tls, host, port
local function endpoint(url)
    local scheme, rest = url:match("^([wW][sS][sS]?)://(.*)$")
    if not scheme then return nil, "url must start with ws:// or wss://" end
    local tls = #scheme == 3
    local host, port = rest:match("^%[([^%]]+)%]:?(%d*)")
    if not host then host, port = rest:match("^([^:/?#]+):?(%d*)") end
    if not host then return nil, "bad host in url" end
    port = tonumber(port) or (tls and 443 or 80)
    return tls, host, port
end

-- A connected cosocket (TLS done for wss://), or nil, why.
local function open_socket(url, o)
    local tls, host, port = endpoint(url)
    if tls == nil then return nil, host end
    local sock = ngx.socket.tcp()
    sock:settimeout(ceil((o.open_timeout or 10) * 1000))
    local ok, err = sock:connect(host, port)
    if not ok then return nil, "connect to " .. host .. ":" .. port .. ": " .. tostring(err) end
    if tls then
        local sess, e2 = sock:sslhandshake(nil, host, o.verify ~= false)
        if not sess then
            sock:close()
            return nil, "TLS handshake with " .. host .. ": " .. tostring(e2)
        end
    end
    return sock
end

-- The Client's open(conn options): URLs in turn until one connects.
local function open(o)
    local last
    for _, url in ipairs(o.urls) do
        local sock, msg = open_socket(url, o)
        if sock then
            local w, m2, c2 = core.wire{
                url = url, login = o.login, password = o.password, timeout = o.timeout,
                open_timeout = o.open_timeout, ping = o.ping, subscribe = o.subscribe, trace = o.trace,
            }
            if not w then
                sock:close()
                return nil, m2, c2
            end
            return setmetatable({ sock = sock, wire = w, opts = o }, T)
        end
        last = url .. ": " .. msg
    end
    if #o.urls > 1 then last = "all " .. #o.urls .. " URLs failed; last: " .. last end
    return nil, last, "refused"
end

function T:pollfd()
    return self.sock and self or nil
end

function T:events()
    return self.sock and "r" or nil
end

function T:timeout()
    local d = self.wire:deadline()
    if not d then return nil end
    d = d - now()
    return d > 0 and d or 0
end

-- The socket is gone: drop it, tell the wire (its events say the rest).
function T:_lost(why)
    local sock = self.sock
    self.sock = nil
    if sock then sock:close() end
    self.wire:closed(why)
end

function T:_flush()
    local out = self.wire:output()
    while out and self.sock do
        local ok, err = self.sock:send(out)
        if not ok then return self:_lost("send failed: " .. tostring(err)) end
        out = self.wire:output()
    end
end

-- websocketredirect: the same session over a new (TLS) connection.
function T:_redirect()
    if self.sock then self.sock:close() end
    self.sock = nil
    local url = self.wire:redirect()
    if not url then return self.wire:closed("redirect: no URL (out of memory)") end
    local sock, msg = open_socket(url, self.opts)
    if not sock then return self.wire:closed("redirect to " .. url .. ": " .. msg) end
    self.sock = sock
    local ok, m2 = self.wire:reopen(url)
    if not ok then self:_lost(m2) end
end

-- Wait up to `timeout` seconds (at least 1 ms) for bytes; true when
-- something happened (bytes fed, or the socket ended).
function T:_wait(timeout)
    local sock = self.sock
    if not sock then return false end
    local ms = ceil(timeout * 1000)
    sock:settimeout(ms >= 1 and ms or 1) -- 0 would mean nginx's default (60 s)
    local data, err = sock:receiveany(RECV_MAX)
    if data then
        self.wire:feed(data)
        return true
    end
    if err == "timeout" then return false end
    self:_lost(err == "closed" and "connection closed by peer" or ("receive failed: " .. tostring(err)))
    return true
end

function T:step()
    local w = self.wire
    w:tick()
    if w:state() == "redirect" then self:_redirect() end
    if self.sock then self:_flush() end
    return true
end

function T:request(method, params, timeout)
    return self.wire:request(method, params, timeout)
end

function T:next_event()
    return self.wire:next_event()
end

function T:trace()
    return self.wire:trace()
end

function T:set_trace(on)
    return self.wire:set_trace(on)
end

function T:state()
    return self.wire:state()
end

-- Logout and a close frame, then the socket. Never raises. From a __gc
-- (finalizing) it touches no socket: the cosocket may belong to a finished
-- request, or nginx may be closing the worker's Lua state; nginx closes
-- its sockets itself.
function T:close(finalizing)
    local _, bye = self.wire:close()
    local sock = self.sock
    self.sock = nil
    if sock and not finalizing then
        if bye then pcall(sock.send, sock, bye) end
        pcall(sock.close, sock)
    end
    return true
end

-- The scheduler of each nginx context -----------------------------------------

local KEY = "oktell.ngx.scheduler" -- in ngx.ctx

-- poll for a scheduler of this driver: fds holds transports.
local function make_poll(get_sched)
    return function(fds, timeout)
        local n = #fds
        local t0 = now()
        local wait = timeout and min(timeout, SLICE) or SLICE
        if n == 0 then
            -- at least 1 ms: nginx's unit (a 0 ms sleep warns, unpatched)
            if wait > 0 then ngx.sleep(wait > 0.001 and wait or 0.001) end
        elseif n == 2 then
            local t = fds[1]
            if t:_wait(wait) then return { [t] = "r" } end
        else
            -- several connections in one context: each its share in turn
            repeat
                for i = 1, n, 2 do
                    local t = fds[i]
                    if t:_wait(min(SHARE, wait)) then return { [t] = "r" } end
                end
            until now() - t0 >= wait
        end
        if ngx.worker.exiting() then get_sched().stop() end
        return {}
    end
end

local function context_scheduler()
    local phase = ngx.get_phase()
    if phase == "init" or phase == "init_worker" then
        error("oktell.ngx: no cosockets in " .. phase .. "_by_lua*: start a timer (okt.worker or ngx.timer.at)", 3)
    end
    local ctx = ngx.ctx
    local s = ctx[KEY]
    if not s then
        -- ngx_lua's own coroutines: a cosocket call inside one yields to
        -- nginx, and this scheduler never outlives its request or timer
        s = loop.new(make_poll(function() return ctx[KEY] end), coroutine)
        ctx[KEY] = s
    end
    return s
end

loop.set_context(context_scheduler)

-- Errors in handlers go to nginx's error log, not to stderr.
loop.on_error(function(err, tb)
    ngx.log(ngx.ERR, "oktell: error in a handler: ", tostring(tb or err))
end)

-- Public ----------------------------------------------------------------------

--- okt.connect{...}: oktell.connect (API §3) over a cosocket. Blocks the
--- calling request or timer only (it yields to nginx), until logged in.
--- client | nil, message, code.
function M.connect(o)
    context_scheduler() -- no socket is made where nginx has none
    return client.connect_with(o, open) -- a tail call: misuse blames the caller
end

--- okt.worker(fn [, retry]): run fn() in a timer of its own (a scheduler
--- of its own), then serve the clients it opened (handlers, reconnects)
--- until the worker exits. When fn raises, or everything it opened has
--- closed, start over in a new timer after `retry` seconds (default 1).
--- true | nil, err (as ngx.timer.at).
function M.worker(fn, retry)
    if type(fn) ~= "function" then
        error("bad argument #1 to 'worker' (function expected, got " .. type(fn) .. ")", 2)
    end
    retry = retry or 1
    local run
    run = function(premature)
        if premature then return end
        local ok, err = xpcall(fn, debug.traceback)
        if not ok then
            ngx.log(ngx.ERR, "oktell: worker function failed: ", tostring(err))
        else
            loop.run() -- serve until stop (worker exiting) or nothing is open
        end
        for _, p in ipairs(loop.list()) do p:close() end
        if not ngx.worker.exiting() then
            local ok2, e2 = ngx.timer.at(retry, run)
            if not ok2 then ngx.log(ngx.ERR, "oktell: cannot restart the worker timer: ", e2) end
        end
    end
    return ngx.timer.at(0, run)
end

-- The scheduler functions (API §4), each for the calling context.
M.sleep = loop.sleep
M.spawn = loop.spawn
M.run = loop.run
M.stop = loop.stop
M.step = loop.step
M.on_error = loop.on_error
M.userstate = states.userstate
M.linestate = states.linestate

-- For tests and other drivers: the transport factory.
M._open = open

return M
