/* lreplay.c - emucore.replay(text, opts) and the "oktell.replay" userdata:
 * a box holding a running okt_replay (src/emu/replay.h). Close (stop(),
 * __gc, __close) stops and joins its thread. lua/oktell/emulator.lua
 * reads the file and makes the API of emulator.replay over it. */
#include "lreplay.h"
#include "replay.h"

#include <string.h>

#define MT "oktell.replay"

typedef struct lreplay {
    okt_replay *r;   /* NULL once stopped */
} lreplay;

static lreplay *check_box(lua_State *L)
{
    return luaL_checkudata(L, 1, MT);
}

static int push_stopped(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "replay stopped");
    lua_pushliteral(L, "closed");
    return 3;
}

/* emucore.replay(text, opts) -> replay | nil, msg, code ("invalid": a bad
 * recording or option, which lua/oktell/emulator.lua raises) */
static int l_replay(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    /* the box first, so nothing C-owned is held if Lua runs out of memory */
    lreplay *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->r = NULL;
    luaL_setmetatable(L, MT);
    okt_err err;
    okt_err_clear(&err);
    json_t *opts = NULL;
    if (!lua_isnoneornil(L, 2) && !(opts = lokt_to_json(L, 2, &err)))
        return luaL_argerror(L, 2, err.msg);
    okt_replay *r = okt_replay_new(text, len, opts, &err);
    json_decref(opts);
    if (!r)
        return lokt_pusherr(L, &err);
    if (okt_replay_start(r, &err) != 0) {
        okt_replay_free(r);
        return lokt_pusherr(L, &err);
    }
    b->r = r;
    return 1;
}

static int l_port(lua_State *L)
{
    lreplay *b = check_box(L);
    if (!b->r)
        return push_stopped(L);
    lua_pushinteger(L, okt_replay_port(b->r));
    return 1;
}

/* replay:status() -> {done =, requests =, requests_served =, events =,
 * events_sent =, unexpected =, left = {...}, refused = {...}} */
static int l_status(lua_State *L)
{
    lreplay *b = check_box(L);
    if (!b->r)
        return push_stopped(L);
    json_t *s = okt_replay_status(b->r);
    if (!s)
        return luaL_error(L, "replay: out of memory");
    /* small; converting it raises only on Lua OOM, leaking s at worst
     * once (as emucore's control results) */
    lokt_push_json(L, s);
    json_decref(s);
    return 1;
}

static int l_stop(lua_State *L)
{
    lreplay *b = check_box(L);
    okt_replay *r = b->r;
    b->r = NULL;
    okt_replay_free(r);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    lreplay *b = check_box(L);
    if (b->r)
        lua_pushfstring(L, "oktell.replay (port %d)", okt_replay_port(b->r));
    else
        lua_pushliteral(L, "oktell.replay (stopped)");
    return 1;
}

static const luaL_Reg methods[] = {
    {"port", l_port},
    {"status", l_status},
    {"stop", l_stop},
    {"close", l_stop},
    {NULL, NULL},
};

void lemu_open_replay(lua_State *L)
{
    lokt_newclass(L, MT, methods, l_stop, l_tostring);
    lua_pushcfunction(L, l_replay);
    lua_setfield(L, -2, "replay");
}
