#!/bin/sh
# Regenerates the build.modules block of rockspec/oktell-scm-1.rockspec from
# the tree (the builtin backend needs every C source and Lua module named).
# `tools/rockspec.sh --check` fails when the committed rockspec is stale.
set -eu
cd "$(dirname "$0")/.."
spec=rockspec/oktell-scm-1.rockspec
# One C module: its name, then its sources.
cmod() {
    name=$1
    shift
    echo "      [\"$name\"] = {"
    echo '         sources = {'
    for f in "$@"; do echo "            \"$f\","; done
    echo '         },'
    echo '         defines = { "_GNU_SOURCE" },'
    echo '         -- $(LUA_INCDIR) holds compat-5.3.h for Lua 5.1 and 5.2 (lua-compat53-dev)'
    echo '         incdirs = { "src/core", "src/emu", "src/lua", "$(LUA_INCDIR)", "$(LIBXML2_INCDIR)/libxml2",'
    echo '                     "$(JANSSON_INCDIR)", "$(WSLAY_INCDIR)", "$(OPENSSL_INCDIR)" },'
    echo '         libdirs = { "$(LIBXML2_LIBDIR)", "$(JANSSON_LIBDIR)", "$(WSLAY_LIBDIR)", "$(OPENSSL_LIBDIR)" },'
    echo '         libraries = { "xml2", "jansson", "wslay", "ssl", "crypto", "pthread" },'
    echo '      },'
}
gen() {
    # the client: no emulator code (as the Makefile builds it)
    cmod oktell.core src/core/*.c src/lua/*.c
    # the emulator: its own module over the same core
    cmod oktell.emucore src/core/*.c src/emu/*.c src/lua/aux.c src/lua/lcompat.c src/lua-emu/*.c
    echo '      oktell = "lua/oktell.lua",'
    for f in lua/oktell/*.lua; do
        m=$(basename "$f" .lua)
        echo "      [\"oktell.$m\"] = \"$f\","
    done
}
new=$(mktemp)
trap 'rm -f "$new"' EXIT
awk -v block="$(gen)" '
    /^   modules = \{/ { print; print block; skip = 1; next }
    skip && /^   \},/ { skip = 0 }
    !skip { print }
' "$spec" > "$new"
if [ "${1:-}" = --check ]; then
    if ! cmp -s "$new" "$spec"; then
        echo "rockspec is stale: run tools/rockspec.sh" >&2
        diff -u "$spec" "$new" >&2 || true
        exit 1
    fi
    echo "ok - rockspec lists every source"
else
    cp "$new" "$spec"
fi
