/* states.c - oktell.core binding of the state enums:
 *   core.states() -> {user = {def...}, line = {def...}}
 *   def = {code = 1, name = "ready", ref = "usReady", settable = true}
 *   core.state_code(kind, name) -> code | nil
 * lua/oktell/states.lua builds the read-only API tables from it, so the
 * codes and names stay defined once, in src/core/states.c. */
#include "lokt.h"
#include "states.h"

static void push_defs(lua_State *L, const okt_state_def *d, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, d[i].code);
        lua_setfield(L, -2, "code");
        lua_pushstring(L, d[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, d[i].refname);
        lua_setfield(L, -2, "ref");
        lua_pushboolean(L, d[i].settable);
        lua_setfield(L, -2, "settable");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int l_states(lua_State *L)
{
    size_t n;
    const okt_state_def *d;
    lua_createtable(L, 0, 2);
    d = okt_userstates(&n);
    push_defs(L, d, n);
    lua_setfield(L, -2, "user");
    d = okt_linestates(&n);
    push_defs(L, d, n);
    lua_setfield(L, -2, "line");
    return 1;
}

/* core.state_code("user" | "line", name) -> code or nil: the one rule by
 * which state names are matched (states.h: short names exactly, reference
 * names ignoring ASCII case). */
static int l_state_code(lua_State *L)
{
    static const char *const kinds[] = {"user", "line", NULL};
    int line = luaL_checkoption(L, 1, NULL, kinds);
    const char *name = luaL_checkstring(L, 2);
    int c = line ? okt_linestate_code(name) : okt_userstate_code(name);
    if (c < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, c);
    return 1;
}

void lokt_open_states(lua_State *L)
{
    lua_pushcfunction(L, l_state_code);
    lua_setfield(L, -2, "state_code");
    lua_pushcfunction(L, l_states);
    lua_setfield(L, -2, "states");
}
