/* bench/luasym.c - a plain Lua 5.4 interpreter (luasym SCRIPT [ARGS...]),
 * linked with Debian's static liblua5.4.a, for bench/profile.sh: the
 * packaged lua5.4 binary is stripped (and its -dbgsym package is not in
 * the main archive), so perf cannot name the VM's functions in it; the
 * static library keeps its symbols. Same VM code, same build flags.
 *
 * As lua5.4 runs a script: the standard libraries, `arg` (arg[0] the
 * script, arg[-1] this program, arg[1..] the arguments, also passed as
 * `...`), errors with a traceback on stderr and exit status 1, the Lua API
 * exported (-Wl,-E) for C modules. No options, no REPL. Without
 * arguments (as `make bench` runs every bench program) it says what it is.
 * Built by its own rule in the Makefile. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("luasym: a Lua 5.4 interpreter with the VM's symbols, for "
               "bench/profile.sh (usage: luasym SCRIPT [ARGS...])\n");
        return 0;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "luasym: out of memory\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_createtable(L, argc - 2, 2);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, traceback);
    int status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (int i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, 1);
    }
    if (status != LUA_OK)
        fprintf(stderr, "luasym: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
