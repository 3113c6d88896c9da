#!/bin/sh
# shellcheck disable=SC2046 # set -- $(sip ...): its words on purpose
# tests/hosts/kamailio.sh - oktell inside Kamailio (app_lua, KEMI, Lua 5.1),
# end to end: the emulator (bin/oktell-emu, port 0), Kamailio in the
# foreground with examples/kamailio/kamailio.cfg (two UDP workers, each with
# its own connection, made on its first request), SIP OPTIONS sent one at a
# time by a small python3 UDP client, the operator's state changed by
# another session (a Lua one-shot) between rounds. Checks every answer (200
# with X-Oktell-State equal to the state just set), a header-named
# operator, an unknown one (404), a worker idle past two ping intervals
# (answers after a fresh login), the server gone (503 at once) and back
# (200 again), memory per connection (RSS of the workers with 1 and with
# 101 operators' connections), a clean log and a clean stop. Last line:
# "N passed, M failed" (every request counts as a check). KEEP=1 keeps the
# temp dir (config, kamailio.log, every answer).
#
# Kamailio cannot take port 0 for a listen= line (0 means its default,
# 5060), so python3 asks the kernel for a free UDP port first (bind to port
# 0, read it, close) and the config gets that one.
#
# Needs: `make` (Lua 5.4 build: the emulator and the state changer) and the
# Lua 5.1 build (`make LUA=lua5.1`, or `make all-lua`), kamailio,
# kamailio-lua-modules, python3.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
LUA=${LUA:-lua5.4}
ROUNDS=${ROUNDS:-10}       # state changes
PER_ROUND=${PER_ROUND:-20} # requests after each change
MAX_MS=${MAX_MS:-1000}     # a request's budget
PING=1                     # the script's keepalive interval, short for the idle check
passed=0
failed=0
tmp=$(mktemp -d)
emu_pid=
kam_pid=

ok() { echo "ok - $*"; passed=$((passed + 1)); }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

cleanup() {
    [ -n "$kam_pid" ] && kill "$kam_pid" 2>/dev/null && wait "$kam_pid" 2>/dev/null
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
MODDIR=/usr/lib/x86_64-linux-gnu/kamailio/modules
for f in /usr/sbin/kamailio "$MODDIR/app_lua.so" "$MODDIR/sl.so" "$MODDIR/pv.so" \
         "$ROOT/build/oktell/core.so" "$ROOT/build/oktell/emucore.so" "$ROOT/build/lua5.1/oktell/core.so"; do
    if [ ! -e "$f" ]; then
        nok "missing $f (kamailio, kamailio-lua-modules, make, make LUA=lua5.1)"
        finish
    fi
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

# The operator's state, changed as another session of Peter would.
cat >"$tmp/setstate.lua" <<'EOF'
local oktell = require "oktell"
local c = assert(oktell.connect{ url = arg[1], login = "Peter", password = "123", timeout = 5 })
assert(c:set_user_state{ state = arg[2] })
c:close()
EOF
setstate() {
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/build/?.so;;" "$LUA" "$tmp/setstate.lua" "$url" "$1"
}

# ---- the SIP client ----------------------------------------------------------
# sip.py PORT COUNT RURI_USERS [OPERATOR_HEADER]: COUNT OPTIONS for each
# user of the comma-separated list, one after the other, one line each:
# "CODE STATE_OR_ERROR MS" ("timeout - MS" when no answer within 3 s).
cat >"$tmp/sip.py" <<'EOF'
import socket, sys, time
port, count, users = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
hdr = sys.argv[4] if len(sys.argv) > 4 else None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3)
lport = s.getsockname()[1]
for i, user in [(i, u) for u in users for i in range(count)]:
    branch = "z9hG4bK-%d-%d-%d" % (lport, i, time.time_ns())
    ruri = "sip:%s@127.0.0.1:%d" % (user, port) if user else "sip:127.0.0.1:%d" % port
    msg = ("OPTIONS %s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:oktell-test@127.0.0.1>;tag=%d\r\n"
           "To: <%s>\r\n"
           "Call-ID: %s@127.0.0.1\r\n"
           "CSeq: 1 OPTIONS\r\n" % (ruri, lport, branch, i, ruri, branch))
    if hdr:
        msg += "X-Oktell-Operator: %s\r\n" % hdr
    msg += "Content-Length: 0\r\n\r\n"
    t0 = time.monotonic()
    s.sendto(msg.encode(), ("127.0.0.1", port))
    while True:
        try:
            data = s.recv(65535).decode("utf-8", "replace")
        except socket.timeout:
            print("timeout - %d" % ((time.monotonic() - t0) * 1000), flush=True)
            break
        if branch not in data:
            continue  # a late answer to an earlier request
        ms = (time.monotonic() - t0) * 1000
        head = data.split("\r\n\r\n")[0].split("\r\n")
        code = head[0].split()[1]
        val = "-"
        for h in head[1:]:
            name, _, v = h.partition(":")
            if name.strip().lower() in ("x-oktell-state", "x-oktell-error"):
                val = v.strip()
        print("%s %s %.3f" % (code, val, ms), flush=True)
        break
EOF
sip() { python3 "$tmp/sip.py" "$port" "$@"; }

# ---- kamailio --------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/run"
sed -e "s|@PORT@|$port|g" -e "s|@ROOT@|$ROOT|g" examples/kamailio/kamailio.cfg >"$tmp/kamailio.cfg"
operators="Peter:123"
for i in $(seq 100); do operators="$operators,op$i:pw"; done
start_kamailio() {
    # -DD: no daemon, but the UDP workers are forked (one Lua state each);
    # -E: log to stderr. As root too: it needs no -u/-g here.
    OKTELL_URL=$url OKTELL_OPERATORS=$operators OKTELL_PING=$PING \
        kamailio -f "$tmp/kamailio.cfg" -P "$tmp/run/kamailio.pid" -Y "$tmp/run" -w "$tmp" \
        -DD -E -m 32 -M 8 >>"$tmp/kamailio.log" 2>&1 &
    kam_pid=$!
}
start_kamailio
up=0
for _ in $(seq 100); do
    case "$(sip 1 "" 2>/dev/null)" in 200*) up=1; break ;; esac
    sleep 0.05
done
if [ "$up" = 1 ]; then
    ok "kamailio answers OPTIONS on udp 127.0.0.1:$port"
else
    nok "kamailio did not come up: $(tail -n 5 "$tmp/kamailio.log")"
    finish
fi
workers=$(ps -o pid= --ppid "$kam_pid" | xargs)

# ---- rounds: change the state, then PER_ROUND requests that must show it ------
n=0
state=ready
: >"$tmp/ms"
for round in $(seq "$ROUNDS"); do
    if [ "$state" = ready ]; then state=off; else state=ready; fi
    if [ "$round" -gt 1 ]; then
        if ! setstate "$state" 2>"$tmp/set.err"; then
            nok "round $round: set_user_state $state: $(cat "$tmp/set.err")"
            continue
        fi
    else
        state=ready # before any worker's login nothing holds a state: the login makes Peter ready
    fi
    i=0
    sip "$PER_ROUND" Peter >"$tmp/round$round" 2>&1
    while read -r code val ms; do
        i=$((i + 1))
        n=$((n + 1))
        echo "$ms" >>"$tmp/ms"
        if [ "$code $val" = "200 $state" ]; then
            ok "round $round request $i: 200 X-Oktell-State: $val in $ms ms"
        else
            nok "round $round request $i: $code $val in $ms ms, want 200 $state"
        fi
    done <"$tmp/round$round"
    [ "$i" = "$PER_ROUND" ] || nok "round $round: $i of $PER_ROUND answers: $(tail -n 2 "$tmp/round$round")"
done
stats() { sort -n "$1" | awk '{ a[NR] = $1 } END { printf "median %.2f ms, longest %.2f ms over %d", a[int((NR + 1) / 2)], a[NR], NR }'; }
median=$(sort -n "$tmp/ms" | awk '{ a[NR] = $1 } END { printf "%d", a[int((NR + 1) / 2)] }')
longest=$(sort -n "$tmp/ms" | tail -n 1)
if [ "$median" -lt 5 ] && awk -v m="$longest" -v b="$MAX_MS" 'BEGIN { exit !(m < b) }'; then
    ok "round trips: $(stats "$tmp/ms") (median < 5 ms, longest < $MAX_MS ms)"
else
    nok "round trips: $(stats "$tmp/ms") (want median < 5 ms, longest < $MAX_MS ms)"
fi

# ---- the operator named by a header; one the script has no password for -----
set -- $(sip 1 someone Peter)
[ "${1:-} ${2:-}" = "200 $state" ] && ok "X-Oktell-Operator: Peter -> 200 $2" ||
    nok "X-Oktell-Operator: Peter -> $*, want 200 $state"
set -- $(sip 1 Nobody)
[ "${1:-}" = 404 ] && ok "unknown operator -> 404" || nok "unknown operator -> $*, want 404"

# ---- idle past two ping intervals: the connection is found dead, a fresh login -
logins() { grep -c 'oktell: Peter logged in' "$tmp/kamailio.log"; }
before=$(logins)
sleep $((2 * PING + 1))
set -- $(sip 1 Peter)
after=$(logins)
if [ "${1:-} ${2:-}" = "200 $state" ] && [ "$after" = $((before + 1)) ]; then
    ok "after $((2 * PING + 1)) s idle: 200 $2 in $3 ms, over a fresh login"
else
    nok "after $((2 * PING + 1)) s idle: $*, want 200 $state; logins $before -> $after, want one more"
fi

# ---- memory per connection: the workers' RSS with 1, then 101 operators --------
rss() { # total VmRSS (KiB) of the workers
    t=0
    for p in $workers; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
sip 10 Peter >/dev/null # every worker has its first connection (and oktell loaded)
rss1=$(rss)
sip 1 "$(seq -s, -f 'op%g' 100)" >"$tmp/ops"
rss101=$(rss)
nops=$(grep -c '^200 ready' "$tmp/ops")
per=$(( (rss101 - rss1) / 100 ))
if [ "$nops" = 100 ]; then
    ok "100 more operators answered; workers' RSS $rss1 -> $rss101 KiB: about $per KiB per connection"
else
    nok "$nops of 100 more operators answered 200 ready: $(grep -v '^200' "$tmp/ops" | head -n 3)"
fi

# ---- the server goes away and comes back ----------------------------------------
emu_port=${url##*:}
kill "$emu_pid" && wait "$emu_pid" 2>/dev/null
emu_pid=
set -- $(sip 1 Peter)
if [ "${1:-}" = 503 ] && awk -v m="${3:-99999}" -v b="$MAX_MS" 'BEGIN { exit !(m < b) }'; then
    ok "server gone: 503 (X-Oktell-Error: $2) in $3 ms"
else
    nok "server gone: $*, want 503 within $MAX_MS ms"
fi
start_emu "$emu_port"
back=0
for _ in $(seq 50); do
    set -- $(sip 1 Peter)
    [ "${1:-}" = 200 ] && { back=1; break; }
    sleep 0.1
done
[ "$back" = 1 ] && ok "server back: 200 X-Oktell-State: $2 (logged in again)" || nok "server back: $*"

# ---- a clean log, a clean stop -------------------------------------------------
logins=$(logins)
bad=$(grep -E ' (ERROR|CRITICAL|ALERT|BUG):' "$tmp/kamailio.log" | grep -v 'oktell: ' | head -n 5)
if [ -z "$bad" ]; then
    ok "kamailio.log: no ERROR/CRITICAL line ($logins logins of Peter)"
else
    nok "kamailio.log: $bad"
fi
kill "$kam_pid"
stopped=0
for _ in $(seq 100); do
    alive=
    for p in $kam_pid $workers; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && { stopped=1; break; }
    sleep 0.05
done
wait "$kam_pid" 2>/dev/null
kam_pid=
[ "$stopped" = 1 ] && ok "SIGTERM: kamailio and its workers ($workers) ended" ||
    nok "still running 5 s after SIGTERM:$alive"
echo "# $n OPTIONS over $ROUNDS states: $(stats "$tmp/ms"); $per KiB RSS per connection"
finish
