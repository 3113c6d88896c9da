/* xml.c - oktell.core bindings of the oktellcommapper codec:
 *   core.xml_decode(s)              -> value, kind | nil, msg, code
 *   core.xml_encode(kind, v, utf16) -> s | nil, msg, code
 *   core.xml_parse(s)               -> doc | nil, msg, code
 *   core.xml_build(doc, utf16)      -> s | nil, msg, code
 *   core.xml_kinds                  -> {"userinfo", ...}
 * Misuse found by the core comes back as code "invalid"; lua/oktell/xml.lua
 * turns it into a raised "bad argument" error naming the argument.
 * C results are parked in a guard userdata before anything that may raise
 * (pushing strings and tables), so a Lua memory error cannot leak them. */
#include "lokt.h"
#include "commapper.h"

#include <stdlib.h>

#define GUARD "oktell.xmlguard"

typedef struct guard {
    json_t *j;
    char *s;
} guard;

static int guard_gc(lua_State *L)
{
    guard *g = luaL_checkudata(L, 1, GUARD);
    json_decref(g->j);
    free(g->s);
    g->j = NULL;
    g->s = NULL;
    return 0;
}

/* Pushes a new guard (may raise: nothing is held yet). */
static guard *new_guard(lua_State *L)
{
    guard *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->j = NULL;
    g->s = NULL;
    luaL_setmetatable(L, GUARD);
    return g;
}

static void release(guard *g)
{
    json_decref(g->j);
    free(g->s);
    g->j = NULL;
    g->s = NULL;
}

static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    guard *g = new_guard(L);
    okt_err err;
    const char *kind;
    okt_err_clear(&err);
    if (okt_xml_decode(s, len, &g->j, &kind, &err) != 0)
        return lokt_pusherr(L, &err);
    lokt_push_json(L, g->j);
    lua_pushstring(L, kind);
    release(g);
    return 2;
}

static int l_parse(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    guard *g = new_guard(L);
    okt_err err;
    okt_err_clear(&err);
    if (okt_xml_parse(s, len, &g->j, &err) != 0)
        return lokt_pusherr(L, &err);
    lokt_push_json(L, g->j);
    release(g);
    return 1;
}

static int push_out(lua_State *L, guard *g, size_t n)
{
    lua_pushlstring(L, g->s, n);
    release(g);
    return 1;
}

static int l_encode(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int utf16 = lua_toboolean(L, 3);
    guard *g = new_guard(L);
    okt_err err;
    size_t n;
    g->j = lokt_to_json(L, 2, &err);
    if (!g->j)
        return lokt_pusherr(L, &err);
    okt_err_clear(&err);
    if (okt_xml_encode(kind, g->j, utf16, &g->s, &n, &err) != 0) {
        release(g);
        return lokt_pusherr(L, &err);
    }
    return push_out(L, g, n);
}

static int l_build(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int utf16 = lua_toboolean(L, 2);
    guard *g = new_guard(L);
    okt_err err;
    size_t n;
    g->j = lokt_to_json(L, 1, &err);
    if (!g->j)
        return lokt_pusherr(L, &err);
    okt_err_clear(&err);
    if (okt_xml_build(g->j, utf16, &g->s, &n, &err) != 0) {
        release(g);
        return lokt_pusherr(L, &err);
    }
    return push_out(L, g, n);
}

void lokt_open_xml(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"xml_decode", l_decode},
        {"xml_encode", l_encode},
        {"xml_parse", l_parse},
        {"xml_build", l_build},
        {NULL, NULL},
    };
    okt_xml_init();
    if (luaL_newmetatable(L, GUARD)) {
        lua_pushcfunction(L, guard_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
    lua_newtable(L);
    for (int i = 0; okt_xml_kinds[i]; i++) {
        lua_pushstring(L, okt_xml_kinds[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "xml_kinds");
}
