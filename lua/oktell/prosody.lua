-- oktell.prosody: oktell inside Prosody (0.12, Lua 5.4, net.server).
--
--   local oktell = require "oktell"
--   local okt = require "oktell.prosody"
--   local client = assert(oktell.connect{url = ..., login = ..., password = ...})
--   local watch = okt.watch(module, client)  -- Prosody's loop now drives it
--   client:on("userstate", function(ev) module:log("info", "now %s", ev.state) end)
--   function module.unload() watch:close(); client:close() end
--
-- The pattern (docs/HOSTS.md §4): Prosody's loop (net.server, epoll by
-- default) watches the client's descriptor (client:pollfd(), through
-- server.watchfd) and a module timer follows client:timeout(); each wake
-- does one non-blocking oktell.step(0), which runs the client's I/O, its
-- handlers and every managed coroutine. So handlers may call the client
-- (the call yields; its reply comes with a later wake) and Prosody keeps
-- serving meanwhile.
--
-- * Connect at load: a blocking oktell.connect in the plugin's main chunk
--   delays only Prosody's startup (module loading runs in a util.async
--   runner). After load nothing blocks: a lost connection is re-made by
--   the client itself (reconnect = true, the default), through wakes.
-- * A reconnect brings a new socket, so a new descriptor (or the same
--   number for a new socket): after every wake the watch compares the
--   client's connection with the one it watches and registers the new one.
-- * Write interest follows client:events() ("rw" while output waits).
-- * Errors of handlers and spawned coroutines, and oktell's own log lines
--   (info and above), go to Prosody's log (source "oktell"); call
--   oktell.on_error / oktell.on_log after requiring this to send them
--   elsewhere.
local oktell = require "oktell"
local server = require "net.server"
local logger = require "util.logger"

local type, tostring, error, rawget, pairs, setmetatable = type, tostring, error, rawget, pairs, setmetatable
local min = math.min
local concat, sort = table.concat, table.sort

local M = {}

local SLICE = 1 -- seconds: the longest a timer sleeps (a bound, not a poll)

local log = logger.init("oktell")

oktell.on_error(function(err, tb)
    log("error", "error in a handler: %s", tostring(tb or err))
end)
oktell.on_log(function(level, msg, fields)
    local parts = {}
    for k, v in pairs(fields or {}) do parts[#parts + 1] = k .. "=" .. tostring(v) end
    sort(parts)
    log(level, "%s %s", msg, concat(parts, " "))
end, "info")

local function noop() end

-- Every open watch. One step turns every client (and every managed
-- coroutine), so after each step every watch follows its client: a wake
-- of one client's descriptor may have given another work to do.
local watches = {}

-- One turn, then every watch but `skip` (a timer about to return its own
-- delay) follows its client.
local function step(skip)
    oktell.step(0)
    for w in pairs(watches) do
        if w ~= skip then w:_follow(true) end
    end
end

local W = {}
W.__index = W

-- Follow the client: the descriptor to watch (a reconnect brings a new
-- connection, whose descriptor may even reuse the old number), its write
-- interest, the next timer (rescheduled when `reschedule`). Returns the
-- timer's delay.
function W:_follow(reschedule)
    local client = self.client
    local conn = rawget(client, "conn") -- private: the connection object
    local fd = client:pollfd()
    if conn ~= self.conn or fd ~= self.fd then
        self:_unwatch()
        if fd then
            local w = self
            local function wake()
                if watches[w] then step() end
            end
            self.watcher = server.watchfd(fd, wake)
            self.watcher.onwritable = wake
            self.conn, self.fd, self.write = conn, fd, false
        end
    end
    if self.watcher then
        local ev = client:events()
        local wr = ev ~= nil and ev:find("w", 1, true) ~= nil
        if wr ~= self.write then
            self.watcher:set(true, wr)
            self.write = wr
        end
    end
    local t = client:timeout()
    t = t and min(t, SLICE) or SLICE
    if reschedule and self.timer then self.timer:reschedule(t) end
    return t
end

function W:_unwatch()
    local watcher = self.watcher
    if watcher then
        -- The socket may be closed already (a reconnect): epoll has dropped
        -- it then and del() just fails; either way, never call us again.
        watcher.onreadable, watcher.onwritable = noop, noop
        watcher:close()
    end
    self.watcher, self.conn, self.fd, self.write = nil, nil, nil, nil
end

--- watch:close(): stop watching (the client stays open).
function W:close()
    if not watches[self] then return end
    watches[self] = nil
    self:_unwatch()
    if self.timer then self.timer:stop() end
    self.timer = nil
end

--- okt.watch(module, client) -> watch: drive client (and oktell's loop)
--- from Prosody's. `module` is the plugin's module API object: the timer
--- is the module's (module:add_timer), so it ends with the module too.
function M.watch(module, client)
    if type(module) ~= "table" or type(module.add_timer) ~= "function" then
        error("bad argument #1 to 'watch' (the plugin's module object expected)", 2)
    end
    if type(client) ~= "table" or type(client.pollfd) ~= "function" then
        error("bad argument #2 to 'watch' (an oktell client expected)", 2)
    end
    local self = setmetatable({ client = client }, W)
    watches[self] = true
    self.timer = module:add_timer(0, function()
        if not watches[self] then return nil end
        step(self)
        return self:_follow(false)
    end)
    self:_follow(false)
    return self
end

return M
