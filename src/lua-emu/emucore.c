/* emucore.c - luaopen_oktell_emucore: the emulator's own Lua module,
 * emucore.start(cfg), and the "oktell.emulator" userdata: a box holding a
 * pointer to a running okt_emu (src/emu/emu.h). Close (stop(), __gc,
 * __close) stops and joins the emulator's thread; it is bounded since the
 * thread is woken through its eventfd.
 *
 * A module of its own so that the client's oktell.core carries no server
 * code; it shares the JSON helpers of src/lua/aux.c (lokt.h). */
#include "lokt.h"
#include "emu.h"
#include "remote.h"
#include "lreplay.h"

#include <string.h>

#define MT "oktell.emulator"

typedef struct lemu {
    okt_emu *e;   /* NULL once stopped */
} lemu;

static lemu *check_box(lua_State *L)
{
    return luaL_checkudata(L, 1, MT);
}

static int push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "emulator stopped");
    lua_pushliteral(L, "closed");
    return 3;
}

/* emucore.start(cfg) -> emulator | nil, msg, code ("invalid" for a bad
 * config: lua/oktell/emulator.lua raises it as misuse) */
static int l_emu_start(lua_State *L)
{
    okt_err err;
    okt_err_clear(&err);
    json_t *cfg = NULL;
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TTABLE);
        cfg = lokt_to_json(L, 1, &err);
        if (!cfg)
            return luaL_argerror(L, 1, err.msg);
    }
    /* The box first, so nothing C-owned is held if Lua runs out of memory. */
    lemu *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->e = NULL;
    luaL_setmetatable(L, MT);
    okt_emu *e = okt_emu_new(cfg, &err);
    json_decref(cfg);
    if (!e)
        return lokt_pusherr(L, &err);   /* "invalid" for a bad config */
    if (okt_emu_start(e, &err) != 0) {
        okt_emu_free(e);
        return lokt_pusherr(L, &err);
    }
    b->e = e;
    return 1;
}

static int l_port(lua_State *L)
{
    lemu *b = check_box(L);
    if (!b->e)
        return push_closed(L);
    lua_pushinteger(L, okt_emu_port(b->e));
    return 1;
}

static int l_sessions(lua_State *L)
{
    lemu *b = check_box(L);
    if (!b->e)
        return push_closed(L);
    lua_pushinteger(L, (lua_Integer)okt_emu_sessions(b->e));
    return 1;
}

/* emu:control(cmd, args) -> result (table, string) | true | nil, msg,
 * code */
static int l_control(lua_State *L)
{
    lemu *b = check_box(L);
    size_t clen;
    const char *cmd = luaL_checklstring(L, 2, &clen);
    luaL_argcheck(L, strlen(cmd) == clen, 2,
                  "command must not contain NUL bytes");
    okt_err err;
    okt_err_clear(&err);
    json_t *args = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        args = lokt_to_json(L, 3, &err);
        if (!args)
            return luaL_argerror(L, 3, err.msg);
    }
    if (!b->e) {
        json_decref(args);
        return push_closed(L);
    }
    json_t *res = NULL;
    int rc = okt_emu_control(b->e, cmd, args, &res, &err);
    json_decref(args);
    if (rc != 0)
        return lokt_pusherr(L, &err);
    /* The result is small; converting it can only raise on Lua OOM, and
     * then res leaks at worst once: keep it simple. */
    if (res && !json_is_true(res) && !json_is_null(res))
        lokt_push_json(L, res);   /* an object, a list, a chainid */
    else
        lua_pushboolean(L, 1);
    json_decref(res);
    return 1;
}

static int l_stop(lua_State *L)
{
    lemu *b = check_box(L);
    okt_emu *e = b->e;
    b->e = NULL;
    okt_emu_free(e);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    lemu *b = check_box(L);
    if (b->e)
        lua_pushfstring(L, "oktell.emulator (port %d)", okt_emu_port(b->e));
    else
        lua_pushliteral(L, "oktell.emulator (stopped)");
    return 1;
}

static const luaL_Reg methods[] = {
    {"port", l_port},
    {"sessions", l_sessions},
    {"control", l_control},
    {"stop", l_stop},
    {"close", l_stop},
    {NULL, NULL},
};

int luaopen_oktell_emucore(lua_State *L)
{
    lokt_newclass(L, MT, methods, l_stop, l_tostring);
    lua_newtable(L);
    lua_pushcfunction(L, l_emu_start);
    lua_setfield(L, -2, "start");
    lokt_open_remote(L);
    lemu_open_replay(L);   /* emucore.replay: src/lua-emu/lreplay.c */
    return 1;
}
