#!/bin/sh
# tests/hosts/tarantool.sh - oktell inside Tarantool (2.x, LuaJIT, fibers),
# end to end, with lua/oktell/tarantool.lua (a pump fiber waiting in
# socket.iowait, calls from fibers through okt.call):
#
# * the example (examples/tarantool/oktell_app.lua) runs for a second
#   against bin/oktell-emu (port 0) and logs the operator's state;
# * a test script run by tarantool: the emulator runs in a lua5.4 helper
#   started through Tarantool's popen (it prints its URL, then obeys
#   "pause", "resume", "drop USER" on stdin - the emulator's control calls
#   - and ends at end of input, so it never outlives the test), while a
#   ticker fiber counts 1 ms sleeps and records the longest gap between
#   them (the longest stall of the tx thread). Checked: events reach a
#   handler, which calls the client itself; with the emulator paused, 200
#   okt.call()s from 200 fibers are in flight at once while the ticker
#   keeps advancing, and all 200 are answered once it resumes; 100 more
#   clients connect from 100 fibers (memory per connection: RSS with 1
#   and with 101 clients); after the server drops the session the client
#   reconnects (a new descriptor) and calls work again.
#
# Last line: "N passed, M failed". KEEP=1 keeps the temp dir.
#
# Needs: `make` (Lua 5.4: the emulator) and the LuaJIT build (`make
# LUA=luajit` or `make all-lua`), tarantool.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
LUA=${LUA:-lua5.4}
STALL_MS=${STALL_MS:-200} # the ticker's budget: longest gap between 1 ms sleeps
passed=0
failed=0
tmp=$(mktemp -d)
emu_pid=
tt_pid=

ok() { echo "ok - $*"; passed=$((passed + 1)); }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

cleanup() {
    [ -n "$tt_pid" ] && kill "$tt_pid" 2>/dev/null && wait "$tt_pid" 2>/dev/null
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    # the helper ends with its input; if tarantool died too hard, end it here
    for p in $(pgrep -f "$tmp/emuctl.lua" 2>/dev/null); do kill "$p" 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

for f in /usr/bin/tarantool "$ROOT/build/oktell/core.so" "$ROOT/build/oktell/emucore.so" \
         "$ROOT/build/luajit/oktell/core.so"; do
    [ -e "$f" ] || { nok "missing $f (tarantool, make, make LUA=luajit)"; finish; }
done
command -v "$LUA" >/dev/null || { nok "missing command $LUA"; finish; }

# ---- the example, for a second ------------------------------------------------
"$LUA" bin/oktell-emu --listen 127.0.0.1:0 >"$tmp/emu.out" 2>"$tmp/emu.err" &
emu_pid=$!
url=
for _ in $(seq 100); do
    url=$(head -n 1 "$tmp/emu.out" 2>/dev/null)
    [ -n "$url" ] && break
    sleep 0.05
done
OKTELL_URL=$url OKTELL_SECONDS=1 OKTELL_EVERY=0.2 tarantool examples/tarantool/oktell_app.lua >"$tmp/app.out" 2>&1 &
tt_pid=$!
wait "$tt_pid"
rc=$?
tt_pid=
n=$(grep -c 'oktell: Peter is ready' "$tmp/app.out")
if [ "$rc" = 0 ] && [ "$n" -ge 3 ]; then
    ok "examples/tarantool/oktell_app.lua: logged in, asked $n times from its fiber, exited 0"
else
    nok "examples/tarantool/oktell_app.lua: exit $rc, $n answers: $(tail -n 3 "$tmp/app.out")"
fi
kill "$emu_pid" && wait "$emu_pid" 2>/dev/null
emu_pid=

# ---- the emulator helper (run by the test through popen) ------------------------
cat >"$tmp/emuctl.lua" <<'EOF'
local root = arg[1]
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath
local emulator = require "oktell.emulator"
local users = { { login = "Peter", password = "123" } }
for i = 1, 100 do users[#users + 1] = { login = "op" .. i, password = "pw" } end
local emu = assert(emulator.start { port = 0, users = users, licenses = 2 })
io.stdout:write(emu.url, "\n")
io.stdout:flush()
for line in io.stdin:lines() do
    local cmd, a = line:match("^(%S+)%s*(.-)$")
    local ok, err = true, nil
    if cmd == "pause" then ok, err = emu:pause(true)
    elseif cmd == "resume" then ok, err = emu:pause(false)
    elseif cmd == "drop" then ok, err = emu:drop(a)
    end
    io.stdout:write(ok and "ok " or "error ", line, ok and "" or (": " .. tostring(err)), "\n")
    io.stdout:flush()
end
emu:stop()
EOF

# ---- the test, inside tarantool ---------------------------------------------------
cat >"$tmp/test.lua" <<'EOF'
local ROOT, TMP, LUA, STALL_MS = arg[1], arg[2], arg[3], tonumber(arg[4])
package.path = ROOT .. "/lua/?.lua;" .. package.path
package.cpath = ROOT .. "/build/luajit/?.so;" .. package.cpath
local fiber = require "fiber"
local popen = require "popen"
local clock = require "clock"
local okt = require "oktell.tarantool"

local passed, failed = 0, 0
local function check(cond, msg)
    if cond then passed = passed + 1; print("ok - " .. msg)
    else failed = failed + 1; print("not ok - " .. msg) end
end
local function rss()
    local f = io.open("/proc/self/status")
    local kb = f:read("*a"):match("VmRSS:%s*(%d+)")
    f:close()
    return tonumber(kb)
end

-- The ticker: another fiber, sleeping 1 ms at a time.
local ticks, gap, last = 0, 0, clock.monotonic()
local ticker_on = true
fiber.create(function()
    while ticker_on do
        fiber.sleep(0.001)
        local t = clock.monotonic()
        if t - last > gap then gap = t - last end
        last = t
        ticks = ticks + 1
    end
end)

-- The emulator in its own process, controlled over its stdin.
local ph = assert(popen.new({ LUA, TMP .. "/emuctl.lua", ROOT },
    { stdin = popen.opts.PIPE, stdout = popen.opts.PIPE }))
local buf = ""
local function readline(timeout)
    local deadline = clock.monotonic() + timeout
    while not buf:find("\n", 1, true) do
        local left = deadline - clock.monotonic()
        if left <= 0 then return nil end
        local chunk = ph:read({ timeout = left })
        if not chunk or chunk == "" then return nil end
        buf = buf .. chunk
    end
    local line, rest = buf:match("^(.-)\n(.*)$")
    buf = rest
    return line
end
local function emu(cmd)
    ph:write(cmd .. "\n")
    return readline(5)
end

local url = readline(10)
check(url and url:match("^ws://"), "emulator (a lua5.4 helper under popen) at " .. tostring(url))
if not url then os.exit(1) end

local c, err = okt.connect { url = url, login = "Peter", password = "123", timeout = 5 }
check(c ~= nil, "okt.connect from the main fiber: " .. tostring(c or err))
if not c then os.exit(1) end

-- Events reach a handler, which calls the client itself.
local evch = fiber.channel(16)
c:on("userstate", function(ev)
    local line = c:line_state()
    evch:put({ ev.state, line }, 0)
end)
local other = assert(okt.connect { url = url, login = "Peter", password = "123", timeout = 5 })
for _, want in ipairs({ "off", "ready", "off", "ready" }) do
    local ok = okt.call(other.set_user_state, other, { state = want })
    local ev = evch:get(3)
    check(ok and ev and ev[1] == want and ev[2] ~= nil,
        "another session set " .. want .. ": the handler saw it and its line_state call got " ..
        tostring(ev and ev[2]))
end
okt.call(other.close, other)

-- 200 calls in flight from 200 fibers while the emulator holds its answers.
gap = 0
check(emu("pause") == "ok pause", "emulator paused")
local done = fiber.channel(200)
local t0, ticks0 = clock.monotonic(), ticks
for _ = 1, 200 do
    fiber.create(function()
        local st, msg = okt.call(c.user_state, c)
        done:put(st and st.state or ("error: " .. tostring(msg)), 0)
    end)
end
fiber.sleep(0.3)
local held_ticks = ticks - ticks0
local inflight = okt.stats().managed
check(done:count() == 0 and inflight >= 200,
    "while paused: 0 answered, " .. inflight .. " managed coroutines (200 calls in flight)")
check(held_ticks >= 100, "the ticker advanced " .. held_ticks .. " times in 0.3 s meanwhile")
local t1 = clock.monotonic()
check(emu("resume") == "ok resume", "emulator resumed")
local answered, right = 0, 0
for _ = 1, 200 do
    local s = done:get(5)
    if not s then break end
    answered = answered + 1
    if s == "ready" then right = right + 1 end
end
local t2 = clock.monotonic()
check(answered == 200 and right == 200, string.format(
    "all 200 answered (%d ready) %.0f ms after the resume, %.0f ms after they were issued",
    right, (t2 - t1) * 1000, (t2 - t0) * 1000))
check(gap * 1000 < STALL_MS, string.format("longest gap between ticks %.1f ms (budget %d ms)",
    gap * 1000, STALL_MS))
local calls_gap = gap

-- Memory per connection: 100 more clients, connected from 100 fibers.
collectgarbage()
collectgarbage()
local rss1 = rss()
gap = 0
local tl = clock.monotonic()
local conns = fiber.channel(100)
for i = 1, 100 do
    fiber.create(function()
        local ci, e = okt.connect { url = url, login = "op" .. i, password = "pw", timeout = 5 }
        conns:put(ci or e, 0)
    end)
end
local many = {}
for _ = 1, 100 do
    local ci = conns:get(10)
    if type(ci) == "table" then many[#many + 1] = ci end
end
local login_ms = (clock.monotonic() - tl) * 1000
collectgarbage()
collectgarbage()
local rss101 = rss()
local per = math.floor((rss101 - rss1) / 100)
check(#many == 100, string.format("100 more clients connected; RSS %d -> %d KiB: about %d KiB per connection",
    rss1, rss101, per))
check(gap * 1000 < STALL_MS, string.format("100 logins in %.0f ms; longest gap between ticks meanwhile %.1f ms",
    login_ms, gap * 1000))
-- With 101 descriptors the pump waits on all of them at once (an epoll
-- set): a reply is taken when it arrives, not at the end of a slice.
local slowest = 0
for _ = 1, 20 do
    local ts = clock.monotonic()
    okt.call(c.user_state, c)
    slowest = math.max(slowest, clock.monotonic() - ts)
end
check(slowest < okt.SLICE / 2, string.format("with 101 clients open, 20 calls one after the other: slowest %.1f ms",
    slowest * 1000))
for _, ci in ipairs(many) do okt.call(ci.close, ci) end

-- The server drops the session: the client reconnects (a new descriptor).
local rc = fiber.channel(1)
c:on("reconnect", function() rc:put(true, 0) end)
check(emu("drop Peter") == "ok drop Peter", "emulator dropped Peter's sessions")
check(rc:get(5) == true, "the client reconnected")
local st = okt.call(c.user_state, c)
check(st and st.state == "ready", "after the reconnect okt.call answers: " .. tostring(st and st.state))

okt.call(c.close, c)
okt.stop()
ticker_on = false
ph:shutdown({ stdin = true })
local status = ph:wait({ timeout = 5 })
check(status and status.state == "exited", "the emulator helper ended with its input")
ph:close()
print(string.format("# 200 calls in flight: ticker %d ticks in 0.3 s, longest gap %.1f ms; %d KiB RSS per connection",
    held_ticks, calls_gap * 1000, per))
print(string.format("# tarantool: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
EOF
timeout 60 tarantool "$tmp/test.lua" "$ROOT" "$tmp" "$(command -v "$LUA")" "$STALL_MS" >"$tmp/test.out" 2>&1 &
tt_pid=$!
wait "$tt_pid"
rc=$?
tt_pid=
cat "$tmp/test.out"
p=$(grep -c '^ok - ' "$tmp/test.out")
f=$(grep -c '^not ok - ' "$tmp/test.out")
passed=$((passed + p))
failed=$((failed + f))
[ "$rc" = 0 ] && [ "$p" -gt 0 ] && ok "tarantool test script exited 0" || nok "tarantool test script exited $rc"
left=$(pgrep -f "$tmp/emuctl.lua")
[ -z "$left" ] && ok "no emulator helper left behind" || nok "emulator helper still running: $left"
finish
