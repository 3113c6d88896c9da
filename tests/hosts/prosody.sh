#!/bin/sh
# tests/hosts/prosody.sh - oktell inside Prosody (0.12, Lua 5.4), end to
# end: the emulator (bin/oktell-emu, port 0), Prosody in the foreground
# (prosody -F) with examples/prosody/prosody.cfg.lua and mod_oktell
# (examples/prosody/mod_oktell.lua over lua/oktell/prosody.lua). The
# operator's state is changed by another session (a Lua one-shot) round
# after round; each change must reach the plugin's userstate handler (its
# log line) quickly, and the handler's own client call (line_state) must be
# answered. Meanwhile a python3 prober opens XMPP client connections to
# Prosody's c2s port one after the other and times each up to the stream
# features: Prosody keeps serving, and the longest wait is its longest
# stall. The server then goes away and comes back: the client reconnects
# (a new descriptor, re-registered with Prosody's loop) and the events flow
# again. Then memory per connection (Prosody's RSS with 1 and with 101
# operators logged in), a clean log and a clean stop (SIGTERM). Last line:
# "N passed, M failed". KEEP=1 keeps the temp dir.
#
# Prosody's c2s_ports cannot say "any free port" and tell which it took,
# so python3 asks the kernel for one first (bind to port 0, read it, close).
# As root, the config gets run_as_root = true (else mod_posix refuses to
# start, docs/HOSTS.md §4).
#
# Needs: `make` (the Lua 5.4 build: the emulator, the state changer and
# Prosody's own Lua), prosody, python3.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
LUA=${LUA:-lua5.4}
ROUNDS=${ROUNDS:-10}     # state changes before and after the reconnect, each
MAX_MS=${MAX_MS:-300}    # an event's budget, from the change to the log line
STALL_MS=${STALL_MS:-250} # the prober's budget per connection
passed=0
failed=0
tmp=$(mktemp -d)
emu_pid=
pro_pid=
probe_pid=

ok() { echo "ok - $*"; passed=$((passed + 1)); }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

cleanup() {
    [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null && wait "$probe_pid" 2>/dev/null
    [ -n "$pro_pid" ] && kill "$pro_pid" 2>/dev/null && wait "$pro_pid" 2>/dev/null
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# ---- what this needs -------------------------------------------------------
for f in /usr/bin/prosody "$ROOT/build/oktell/core.so" "$ROOT/build/oktell/emucore.so" \
         "$ROOT/build/lua5.4/oktell/core.so"; do
    [ -e "$f" ] || { nok "missing $f (prosody, make)"; finish; }
done
for c in python3 "$LUA"; do
    command -v "$c" >/dev/null || { nok "missing command $c"; finish; }
done

# ---- the emulator: Peter and 100 more operators (the memory check) ------------
{
    echo 'local users = {{login = "Peter", password = "123"}}'
    echo 'for i = 1, 100 do users[#users + 1] = {login = "op" .. i, password = "pw"} end'
    echo 'return {users = users, licenses = 2}'
} >"$tmp/emu.conf"
start_emu() { # [PORT]
    "$LUA" bin/oktell-emu --config "$tmp/emu.conf" --listen "127.0.0.1:${1:-0}" >"$tmp/emu.out" 2>"$tmp/emu.err" &
    emu_pid=$!
    url=
    for _ in $(seq 100); do
        url=$(head -n 1 "$tmp/emu.out" 2>/dev/null)
        [ -n "$url" ] && break
        sleep 0.05
    done
}
start_emu
case "$url" in
ws://*) ok "emulator at $url" ;;
*) nok "emulator did not start: $(cat "$tmp/emu.err")"; finish ;;
esac

cat >"$tmp/setstate.lua" <<'EOF'
local oktell = require "oktell"
local c = assert(oktell.connect{ url = arg[1], login = "Peter", password = "123", timeout = 5 })
assert(c:set_user_state{ state = arg[2] })
c:close()
EOF
setstate() {
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/build/?.so;;" "$LUA" "$tmp/setstate.lua" "$url" "$1"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- prosody -----------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
root_line=
[ "$(id -u)" = 0 ] && root_line="run_as_root = true"
# start_prosody NAME OPERATORS: a fresh dir $tmp/NAME, log $tmp/NAME/prosody.log
start_prosody() {
    dir=$tmp/$1
    mkdir -p "$dir/data" "$dir/certs"
    sed -e "s|@PORT@|$port|g" -e "s|@ROOT@|$ROOT|g" -e "s|@DIR@|$dir|g" -e "s|@URL@|$url|g" \
        -e "s|@OPERATORS@|$2|" -e "s|@RUN_AS_ROOT@|$root_line|" \
        examples/prosody/prosody.cfg.lua >"$dir/prosody.cfg.lua"
    log=$dir/prosody.log
    prosody -F --config "$dir/prosody.cfg.lua" >"$dir/prosody.out" 2>&1 &
    pro_pid=$!
}
# count PATTERN: lines of $log that match (0 when none, or no log yet)
count() {
    c=$(grep -c -- "$1" "$log" 2>/dev/null)
    echo "${c:-0}"
}
# wait_log PATTERN COUNT [TRIES]: until PATTERN has COUNT lines in $log
wait_log() {
    for _ in $(seq "${3:-200}"); do
        [ "$(count "$1")" -ge "$2" ] && return 0
        sleep 0.01
    done
    return 1
}
stop_prosody() {
    kill "$pro_pid"
    for _ in $(seq 100); do
        kill -0 "$pro_pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pro_pid" 2>/dev/null; then
        nok "$1: prosody still running 5 s after SIGTERM"
    else
        ok "$1: prosody stopped on SIGTERM"
    fi
    wait "$pro_pid" 2>/dev/null
    pro_pid=
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pro_pid/status"; }

start_prosody one 'Peter = "123"'
if wait_log 'Activated service .c2s. on \[127.0.0.1\]' 1 500 && wait_log 'oktell: 1 operators logged in' 1; then
    ok "prosody up: Peter logged in at load, c2s on port $port"
else
    nok "prosody did not come up: $(tail -n 5 "$log" 2>/dev/null) $(cat "$tmp/one/prosody.out")"
    finish
fi
sleep 0.3
rss1=$(rss)

# ---- the prober: XMPP connections one after the other, each timed -------------
cat >"$tmp/probe.py" <<'EOF'
import socket, sys, time, os
port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hello = (b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
         b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
with open(out, "w") as f:
    while not os.path.exists(stop):
        t0 = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(hello)
            data = b""
            while b"</stream:features>" not in data and b"<stream:error" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            res = "features" if b"</stream:features>" in data else "other"
        except OSError as e:
            res = "error:" + type(e).__name__
        f.write("%s %.3f\n" % (res, (time.monotonic() - t0) * 1000))
        f.flush()
        time.sleep(0.01)
EOF
python3 "$tmp/probe.py" "$port" "$tmp/probe.out" "$tmp/probe.stop" &
probe_pid=$!

# ---- rounds: a change elsewhere -> the handler's log line, and its own call -----
ev_ms=$tmp/event.ms
: >"$ev_ms"
state=ready
# round LABEL: change the state, wait for the event and the handler's call
round() {
    if [ "$state" = ready ]; then state=off; else state=ready; fi
    nev=$(count "oktell: Peter userstate $state ")
    ncall=$(count 'oktell: Peter line .* asked from the handler')
    if ! setstate "$state" 2>"$tmp/set.err"; then
        nok "$1: set_user_state $state: $(cat "$tmp/set.err")"
        return
    fi
    t0=$(now_ms)
    if wait_log "oktell: Peter userstate $state " $((nev + 1)); then
        ms=$(($(now_ms) - t0))
        echo "$ms" >>"$ev_ms"
        if [ "$ms" -lt "$MAX_MS" ]; then
            ok "$1: userstate $state reached the handler in $ms ms"
        else
            nok "$1: userstate $state reached the handler in $ms ms, budget $MAX_MS ms"
        fi
    else
        nok "$1: no userstate $state in the log: $(tail -n 3 "$log")"
        return
    fi
    if wait_log 'oktell: Peter line .* asked from the handler' $((ncall + 1)); then
        ok "$1: the handler's own line_state call was answered"
    else
        nok "$1: the handler's line_state call got no answer: $(tail -n 3 "$log")"
    fi
}
for r in $(seq "$ROUNDS"); do round "round $r"; done

# ---- the server goes away and comes back: reconnect, a new descriptor -----------
emu_port=${url##*:}
kill "$emu_pid" && wait "$emu_pid" 2>/dev/null
emu_pid=
wait_log 'oktell: Peter disconnected' 1 && ok "server gone: the disconnect handler ran" ||
    nok "server gone: no disconnect in the log"
start_emu "$emu_port"
state=ready # a fresh server: the login makes Peter ready
if wait_log 'oktell: Peter reconnected, ready' 1 1000; then
    ok "server back: reconnected (Peter ready)"
else
    nok "server back: no reconnect in the log: $(tail -n 3 "$log")"
fi
for r in $(seq "$ROUNDS"); do round "after the reconnect, round $r"; done

touch "$tmp/probe.stop"
wait "$probe_pid" 2>/dev/null
probe_pid=
served=$(grep -c '^features ' "$tmp/probe.out")
others=$(grep -vc '^features ' "$tmp/probe.out")
longest=$(awk '{ print $2 }' "$tmp/probe.out" | sort -n | tail -n 1)
median=$(awk '{ print $2 }' "$tmp/probe.out" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
if [ "$served" -gt 20 ] && [ "$others" = 0 ] &&
   awk -v m="$longest" -v b="$STALL_MS" 'BEGIN { exit !(m < b) }'; then
    ok "c2s kept serving: $served connections got their stream features, median $median ms, longest $longest ms"
else
    nok "c2s: $served served, $others not ($(grep -v '^features ' "$tmp/probe.out" | head -n 2)), longest $longest ms (budget $STALL_MS ms)"
fi

bad=$(grep -E '	(error|warn)	' "$log" | grep -v -e 'oktell: Peter disconnected' -e 'connection lost' \
    -e 'reconnect failed' -e 'No stream features' | head -n 5)
[ -z "$bad" ] && ok "prosody.log: no error or unexpected warning" || nok "prosody.log: $bad"
stop_prosody "1 operator"

# ---- memory per connection: 101 operators at load --------------------------------
ops='Peter = "123"'
for i in $(seq 100); do ops="$ops, op$i = \"pw\""; done
start_prosody many "$ops"
if wait_log 'Activated service .c2s. on \[127.0.0.1\]' 1 1000 && wait_log 'oktell: 101 operators logged in' 1; then
    sleep 0.3
    rss101=$(rss)
    per=$(( (rss101 - rss1) / 100 ))
    ok "101 operators logged in at load; RSS $rss1 -> $rss101 KiB: about $per KiB per connection"
else
    per="?"
    nok "101 operators: $(grep -E 'oktell' "$log" | tail -n 3)"
fi
stop_prosody "101 operators"

nev=$(wc -l <"$ev_ms")
echo "# $nev events (and as many handler calls) over a reconnect: event latency median $(sort -n "$ev_ms" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') ms, longest $(sort -n "$ev_ms" | tail -n 1) ms; c2s: $served connections served, longest $longest ms; $per KiB RSS per connection"
finish
