#!/bin/sh
# bench/profile.sh - a perf profile of bench/client.lua's 64-in-flight case
# (client:user_state() from 64 managed coroutines), for the before / after
# notes of issue 12: the top ten functions by self share, then the share of
# each shared object.
#
# The emulator runs in its own process (bin/oktell-emu, as bench/client.lua
# runs it; pinned to the last CPU and the client to the first when taskset
# and two CPUs are there), the client under `perf record -F 999 -g`.
# The client runs under build/bench/luasym (bench/luasym.c: the same Lua
# 5.4 VM, from the static liblua5.4.a, whose symbols the packaged lua5.4
# binary has stripped) when it is built, so perf can name the VM's
# functions; else under lua5.4. Functions of an object without symbols
# cannot be named: their addresses are summed into one line per object,
# "(no symbols)  [object]".
#
# usage: sh bench/profile.sh      env: N (requests, 200000), LUA (the
#        interpreter: build/bench/luasym if built, else lua5.4),
#        KEEP=FILE (keep perf.data there, e.g. for a flame graph:
#        perf script -i FILE | stackcollapse-perf.pl | flamegraph.pl)
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
if [ -z "${LUA:-}" ]; then
    if [ -x "$B/bench/luasym" ]; then LUA=$B/bench/luasym; else LUA=lua5.4; fi
fi
N=${N:-200000}
command -v perf >/dev/null 2>&1 || { echo "profile.sh: perf is not installed (apt-get install -y linux-perf)"; exit 2; }

tmp=$(mktemp -d)
emu=
cleanup() {
    [ -n "$emu" ] && kill "$emu" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

emu_pin= cli_pin=
ncpu=$(nproc 2>/dev/null || echo 1)
if [ "${PIN:-1}" != 0 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    emu_pin="taskset -c $((ncpu - 1))"
    cli_pin="taskset -c 0"
fi

$emu_pin lua5.4 bin/oktell-emu --listen 127.0.0.1:0 >"$tmp/url" 2>"$tmp/emu.err" &
emu=$!
i=0
while ! grep -q '^ws://' "$tmp/url" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$emu" 2>/dev/null; then
        echo "profile.sh: the emulator did not start:"; cat "$tmp/emu.err"; exit 1
    fi
    sleep 0.1
done
url=$(head -n 1 "$tmp/url")

EMU_PID=$emu $cli_pin perf record -F 999 -g -o "$tmp/perf.data" -- \
    "$LUA" bench/client.lua child flight "$url" "$N" >"$tmp/out" 2>"$tmp/perf.err" || {
    echo "profile.sh: perf record failed:"; cat "$tmp/out" "$tmp/perf.err"; exit 1; }
rate=$(sed -n 's/^rate \([0-9.]*\).*/\1/p' "$tmp/out")
samples=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$tmp/perf.err")
echo "client:user_state(), 64 coroutines, N=$N, $LUA: ${rate:-?} rt/s under perf (${samples:-?} samples at 999 Hz)"
echo

# --sort dso,symbol: "12.34%  libfoo.so  [.] name"; unresolved names are
# addresses (0x...), summed per object.
perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
awk '/^ *[0-9.]+%/ {
        pct = $1; sub(/%/, "", pct); dso = $2
        sym = $4
        if (sym ~ /^0x[0-9a-f]+$/) sym = "(no symbols)"
        share[sym "  [" dso "]"] += pct; bydso[dso] += pct
     }
     END {
        for (k in share) printf "F %7.2f%%  %s\n", share[k], k
        for (d in bydso) printf "D %7.2f%%  %s\n", bydso[d], d
     }' >"$tmp/report"
echo "top ten functions by self share:"
sed -n 's/^F //p' "$tmp/report" | sort -rn | head -n 10
echo
echo "by shared object:"
sed -n 's/^D //p' "$tmp/report" | sort -rn | head -n 8
if [ -n "${KEEP:-}" ]; then
    cp "$tmp/perf.data" "$KEEP"
    echo
    echo "perf.data kept at $KEEP"
fi
