#!/bin/sh
# tests/hosts/nginx.sh - oktell inside nginx (lua-nginx-module), end to end:
# the emulator (bin/oktell-emu, port 0), nginx from a temp prefix with
# examples/nginx/nginx.conf (worker_processes 2), several hundred requests
# to /state (the per-worker cache fed by userstate events) and /state/live
# (a connection per request), the operator's state changed through the
# emulator between rounds. Checks every answer, that the cache follows each
# change, that no request stalled (longest < MAX_MS), that error.log has no
# crash ("signal 11"), [alert], [error], [crit] or [emerg] line, and that a
# graceful stop (SIGQUIT) ends the workers' timers. Last line:
# "N passed, M failed" (every request counts as a check). KEEP=1 keeps the
# temp dir (nginx prefix, error.log, every answer).
#
# Needs: `make` (the Lua 5.4 build runs the emulator and the state changer),
# nginx, libnginx-mod-http-lua, curl, python3 (a free port), and oktell.core
# built for LuaJIT - nginx-lua's Lua - at $OKTELL_LUAJIT_CPATH (default
# build/luajit/?.so, the Makefile's place for it once the multi-Lua build
# lands).
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LUA=${LUA:-lua5.4}
CPATH=${OKTELL_LUAJIT_CPATH:-$ROOT/build/luajit/?.so}
ROUNDS=${ROUNDS:-8}       # state changes
PER_ROUND=${PER_ROUND:-40} # requests after each change (1 in 4 live)
PAR=${PAR:-8}             # requests in flight at once
MAX_MS=${MAX_MS:-1000}    # a request's budget
passed=0
failed=0
tmp=$(mktemp -d)
emu_pid=
ngx_pid=

ok() { echo "ok - $*"; passed=$((passed + 1)); }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

cleanup() {
    [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# ---- what this needs -------------------------------------------------------
jit_so=$(echo "$CPATH" | sed 's|?|oktell/core|')
for f in /usr/sbin/nginx /usr/lib/nginx/modules/ndk_http_module.so \
         /usr/lib/nginx/modules/ngx_http_lua_module.so "$ROOT/build/oktell/core.so" \
         "$ROOT/build/oktell/emucore.so" "$jit_so"; do
    if [ ! -e "$f" ]; then
        nok "missing $f (nginx, libnginx-mod-http-lua, make, and the LuaJIT build of oktell.core)"
        finish
    fi
done
for c in curl python3 "$LUA"; do
    command -v "$c" >/dev/null || { nok "missing command $c"; finish; }
done

# ---- the emulator ----------------------------------------------------------
"$LUA" bin/oktell-emu --listen 127.0.0.1:0 >"$tmp/emu.out" 2>"$tmp/emu.err" &
emu_pid=$!
url=
for _ in $(seq 100); do
    url=$(head -n 1 "$tmp/emu.out" 2>/dev/null)
    [ -n "$url" ] && break
    sleep 0.05
done
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

# ---- nginx -----------------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/ngx/tmp" "$tmp/req"
user=
[ "$(id -u)" = 0 ] && user="user root root;"
sed -e "s|@PREFIX@|$tmp/ngx|g" -e "s|@PORT@|$port|g" -e "s|@ROOT@|$ROOT|g" \
    -e "s|@CPATH@|$CPATH|g" -e "s|@USER@|$user|g" examples/nginx/nginx.conf >"$tmp/ngx/nginx.conf"
OKTELL_URL=$url OKTELL_LOGIN=Peter OKTELL_PASSWORD=123 \
    nginx -p "$tmp/ngx/" -c "$tmp/ngx/nginx.conf" >"$tmp/nginx.out" 2>&1 &
ngx_pid=$!
base="http://127.0.0.1:$port"
# up once /state answers from the cache (a worker's timer has logged in)
up=0
for _ in $(seq 200); do
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$base/state?login=Peter")
    [ "$code" = 200 ] && { up=1; break; }
    sleep 0.05
done
if [ "$up" = 1 ]; then
    ok "nginx serves /state on port $port"
else
    nok "nginx did not come up: $(tail -n 5 "$tmp/ngx/error.log" 2>/dev/null) $(cat "$tmp/nginx.out")"
    finish
fi

# ---- rounds: change the state, wait for the cache, fire requests ------------
# One request: NAME PATH -> $tmp/req/NAME.body and NAME.meta ("code seconds").
cat >"$tmp/req.sh" <<EOF
#!/bin/sh
curl -s -m 5 -o "$tmp/req/\$1.body" -w '%{http_code} %{time_total}' "$base\$2" >"$tmp/req/\$1.meta"
EOF

n=0
state=ready
for round in $(seq "$ROUNDS"); do
    if [ "$state" = ready ]; then state=off; else state=ready; fi
    if ! setstate "$state" 2>"$tmp/set.err"; then
        nok "round $round: set_user_state $state: $(cat "$tmp/set.err")"
        continue
    fi
    # the cache follows: answers show the new state within 3 s
    followed=0
    for _ in $(seq 60); do
        body=$(curl -s -m 1 "$base/state?login=Peter")
        case "$body" in *"\"state\":\"$state\""*) followed=1; break ;; esac
        sleep 0.05
    done
    if [ "$followed" = 1 ]; then
        ok "round $round: /state follows the change to $state"
    else
        nok "round $round: /state still says $body, want $state"
    fi
    sleep 0.1 # the event reaches the other worker too
    : >"$tmp/batch"
    for i in $(seq "$PER_ROUND"); do
        n=$((n + 1))
        if [ $((i % 4)) = 0 ]; then
            echo "$round-$i-live-$state /state/live?login=Peter" >>"$tmp/batch"
        else
            echo "$round-$i-cache-$state /state?login=Peter" >>"$tmp/batch"
        fi
    done
    xargs -P "$PAR" -n 2 sh "$tmp/req.sh" <"$tmp/batch"
done

# ---- the answers -----------------------------------------------------------
max_ms=0
max_name=
pids=
for meta in "$tmp"/req/*.meta; do
    name=$(basename "$meta" .meta)
    want=${name##*-}
    set -- $(cat "$meta")
    code=${1:-000}
    ms=$(awk -v t="${2:-99}" 'BEGIN { printf "%d", t * 1000 }')
    body=$(cat "$tmp/req/$name.body" 2>/dev/null)
    if [ "$ms" -gt "$max_ms" ]; then max_ms=$ms; max_name=$name; fi
    case "$name" in *-live-*) echo "$ms" >>"$tmp/ms.live" ;; *) echo "$ms" >>"$tmp/ms.cache" ;; esac
    case "$name" in *-cache-*)
        pid=$(echo "$body" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
        case " $pids " in *" $pid "*) ;; *) pids="$pids $pid" ;; esac ;;
    esac
    case "$code $body" in
    "200 "*"\"state\":\"$want\""*) ok "$name: $code in $ms ms" ;;
    *) nok "$name: HTTP $code in $ms ms: $body" ;;
    esac
done
nreq=$(ls "$tmp"/req/*.meta 2>/dev/null | wc -l)
[ "$nreq" = "$n" ] && ok "$nreq requests answered" || nok "$nreq of $n requests answered"
nw=$(echo $pids | wc -w)
[ "$nw" = 2 ] && ok "both workers answered from their caches (pids$pids)" ||
    nok "cache answers came from $nw worker(s) (pids$pids), want 2"
if [ "$max_ms" -lt "$MAX_MS" ]; then
    ok "longest request $max_ms ms ($max_name), budget $MAX_MS ms"
else
    nok "longest request $max_ms ms ($max_name), budget $MAX_MS ms"
fi

# ---- the server goes away and comes back: the timers' clients reconnect -----
emu_port=${url##*:}
kill "$emu_pid" && wait "$emu_pid" 2>/dev/null
emu_pid=
gone=0
for _ in $(seq 60); do
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$base/state?login=Peter")
    [ "$code" = 503 ] && { gone=1; break; }
    sleep 0.05
done
[ "$gone" = 1 ] && ok "server gone: /state says 503 (no state)" || nok "server gone: /state still says $code"
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$base/state/live?login=Peter")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$code" = 502 ] && [ "$ms" -lt "$MAX_MS" ] && ok "server gone: /state/live says 502 in $ms ms" ||
    nok "server gone: /state/live says $code in $ms ms"
"$LUA" bin/oktell-emu --listen "127.0.0.1:$emu_port" >"$tmp/emu2.out" 2>"$tmp/emu2.err" &
emu_pid=$!
back=0
for _ in $(seq 200); do
    body=$(curl -s -m 1 "$base/state?login=Peter")
    case "$body" in *'"state":"ready"'*) back=1; break ;; esac
    sleep 0.05
done
[ "$back" = 1 ] && ok "server back: /state follows again (reconnected)" ||
    nok "server back: /state says $body $(cat "$tmp/emu2.err")"

# ---- a graceful stop ends the timers; the log is clean -----------------------
kill -QUIT "$ngx_pid"
stopped=0
for _ in $(seq 100); do
    kill -0 "$ngx_pid" 2>/dev/null || { stopped=1; break; }
    sleep 0.05
done
if [ "$stopped" = 1 ]; then
    wait "$ngx_pid" 2>/dev/null
    ngx_pid=
    ok "graceful stop (SIGQUIT) within 5 s"
else
    nok "nginx still running 5 s after SIGQUIT (a timer that does not end?)"
fi
log="$tmp/ngx/error.log"
crashes=$(grep -c 'signal 11' "$log")
bad=$(grep -E '\[(alert|error|crit|emerg)\]' "$log")
logins=$(grep -c 'oktell: Peter is' "$log")
warns=$(grep -c '\[warn\]' "$log")
if [ "$crashes" = 0 ] && [ -z "$bad" ]; then
    ok "error.log: no crash, no [alert]/[error]/[crit]/[emerg] ($logins timer logins, $warns [warn])"
else
    nok "error.log: $crashes crashes; $bad"
fi
# median / longest per kind, for the record
stats() { sort -n "$1" | awk '{ a[NR] = $1 } END { printf "median %d ms, longest %d ms", a[int((NR + 1) / 2)], a[NR] }'; }
echo "# $n requests over $ROUNDS state changes, $nw workers, $crashes worker crashes, longest $max_ms ms"
echo "# /state (cache): $(stats "$tmp/ms.cache"); /state/live: $(stats "$tmp/ms.live")"
finish
