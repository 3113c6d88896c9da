-- oktell.record: the wire transcript of a client's session, for tests that
-- replay it (emulator.replay, API.md §3 and §5).
--
--   local rec = oktell.record(client, "session.jsonl")   -- or an open file
--   ...                                                  -- every frame in and out
--   rec:stop()                                           -- closes a file it opened
--
-- The file is JSON lines: a header {"oktell_record": 1, "version", "login",
-- "url"}, then {"t": seconds since the recording started, "dir": ">" | "<" |
-- "!", "frame": the frame's JSON value}. The core writes each line
-- (core.record_line): the frames come from the connection's trace, whose
-- secrets are masked already, and are masked once more there (any key with
-- "pass" in it, and sessionid), so no password, hash or session id is
-- ever written.
--
-- A recorder is fed by its client (Client:_trace) after each turn of the
-- connection; the client switches the core's trace on for as long as a
-- recorder or a trace function wants it.
local core = require "oktell.core"
local log = require "oktell.log"

local type, tostring, setmetatable, pcall = type, tostring, setmetatable, pcall
local io_open, io_type = io.open, io.type
local now = core.now
local record_line, record_header = core.record_line, core.record_header

local M = {}

local Recorder = {}
Recorder.__index = Recorder
Recorder.__name = "oktell.recorder"

-- Write one line; the first failure is kept (stop() reports it) and ends
-- the writing.
function Recorder:_put(line)
    if self.failed or not self.fh then return end
    local ok, err = self.fh:write(line, "\n")
    if not ok then
        self.failed = "oktell.record: cannot write: " .. tostring(err)
        log.emit("warn", self.failed)
    end
end

-- Frames from the client's trace: {dir = ">" | "<" | "!", frame = text}.
function Recorder:_feed(list)
    if self.stopped then return end
    local t = now() - self.t0
    for i = 1, #list do
        self:_put(record_line(t, list[i].dir, list[i].frame))
    end
    if #list > 0 and self.fh and not self.failed then self.fh:flush() end
end

--- rec:stop() -> true | nil, message, "io": stop recording, writing the
--- frames traced so far; a file the recorder opened is closed. Again true.
function Recorder:stop()
    if self.stopped then return true end
    local client = self.client
    if client then client:_unrecord(self) end
    self.stopped = true
    local fh = self.fh
    self.fh = nil
    if fh then
        if self.own then
            local ok, err = fh:close()
            if not ok and not self.failed then self.failed = "oktell.record: cannot close: " .. tostring(err) end
        elseif not self.failed and io_type(fh) == "file" then
            fh:flush()
        end
    end
    if self.failed then return nil, self.failed, "io" end
    return true
end
Recorder.close = Recorder.stop
Recorder.__close = Recorder.stop

function Recorder:__tostring()
    return "oktell.recorder (" .. (self.stopped and "stopped" or "recording") .. ")"
end

-- Is `file` something record() takes: a path, or an open file handle?
function M.valid_file(file)
    return type(file) == "string" or io_type(file) == "file"
end

-- A recorder writing to `file` (a path, opened for writing, or an open file
-- handle), its header naming login and url. nil, message, "io" when the
-- file cannot be opened or written. Not attached to any client yet.
function M.new(file, login, url)
    local fh, own = file, false
    if type(file) == "string" then
        local f, err = io_open(file, "wb")
        if not f then return nil, "oktell.record: cannot open " .. err, "io" end
        fh, own = f, true
    end
    local self = setmetatable({ fh = fh, own = own, t0 = now() }, Recorder)
    local ok, line = pcall(record_header, core._VERSION, login, url)
    if not ok then
        self:stop()
        return nil, "oktell.record: " .. tostring(line), "io"
    end
    self:_put(line)
    if self.failed then
        local _, msg = self:stop()
        return nil, msg, "io"
    end
    fh:flush()
    return self
end

M.Recorder = Recorder
return M
