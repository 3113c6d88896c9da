-- oktell.log: where the library's log lines go (oktell.on_log). Silent by
-- default: nothing is formatted or written until a script sets a handler.
--
--   oktell.on_log(fn [, level])   fn(level, message, fields) for every line at
--                                 `level` or above (default "info"); nil: silent.
--                                 Returns the previous fn and level.
--   log.emit(level, message [, fields])   for the library's own modules
--   log.enabled(level)            would a line at this level reach a handler?
--
-- Levels, least severe first: "debug", "info", "warn", "error". `fields` is a
-- flat table of extra values (url, code, attempt, ...); the handler gets a
-- copy in which any key that names a secret (password, hash, secret, token)
-- is masked, so no log line can carry a password (API §0).
local type, error, tostring, pairs, ipairs, pcall, getmetatable =
    type, error, tostring, pairs, ipairs, pcall, getmetatable

local M = {}

M.levels = { "debug", "info", "warn", "error" }

local RANK = {}
for i, name in ipairs(M.levels) do RANK[name] = i end

local handler   -- nil: silent
local threshold = RANK.info

local function check_level(level, n, fname)
    if RANK[level] == nil then
        error(("bad argument #%d to '%s' (level must be \"debug\", \"info\", \"warn\" or \"error\", got %s)")
            :format(n, fname, type(level) == "string" and ("'" .. level .. "'") or type(level)), 3)
    end
    return RANK[level]
end

local function callable(v)
    if type(v) == "function" then return true end
    local mt = getmetatable(v)
    return type(mt) == "table" and mt.__call ~= nil
end

--- on_log(fn [, level]) -> previous fn, previous level
function M.on_log(fn, level)
    if fn ~= nil and not callable(fn) then
        error("bad argument #1 to 'on_log' (function or nil expected, got " .. type(fn) .. ")", 2)
    end
    local rank = RANK.info
    if level ~= nil then rank = check_level(level, 2, "on_log") end
    local prev, prev_level = handler, M.levels[threshold]
    handler, threshold = fn, rank
    return prev, prev_level
end

--- enabled(level) -> true when a line at `level` reaches a handler
function M.enabled(level)
    local rank = check_level(level, 1, "enabled")
    return handler ~= nil and rank >= threshold
end

local function secret(k)
    if type(k) ~= "string" then return false end
    k = k:lower()
    return k:find("pass", 1, true) or k:find("hash", 1, true) or k:find("secret", 1, true)
        or k:find("token", 1, true) or false
end

--- emit(level, message [, fields]): hand one line to the handler, if any.
--- A handler's error is written to stderr and does not reach the caller.
function M.emit(level, message, fields)
    local rank = check_level(level, 1, "emit")
    if type(message) ~= "string" then
        error("bad argument #2 to 'emit' (string expected, got " .. type(message) .. ")", 2)
    end
    if fields ~= nil and type(fields) ~= "table" then
        error("bad argument #3 to 'emit' (table or nil expected, got " .. type(fields) .. ")", 2)
    end
    local fn = handler
    if fn == nil or rank < threshold then return end
    local copy = {}
    for k, v in pairs(fields or {}) do
        copy[k] = secret(k) and "***" or v
    end
    local ok, err = pcall(fn, level, message, copy)
    if not ok then
        io.stderr:write("oktell: error in on_log handler: ", tostring(err), "\n")
    end
end

return M
