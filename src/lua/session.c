/* session.c - what core.connect (conn.c) and core.wire (wire.c) share: the
 * session's options, the event tables of next_event and the trace lists,
 * so both userdata types check and answer exactly alike. */
#include "lokt.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *lokt_c_text(lua_State *L, int idx, const char *key, int argn,
                        const char *fname)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len)
        luaL_error(L, "bad argument #%d to '%s' ('%s' must not contain NUL "
                   "bytes)", argn, fname, key);
    return s;
}

int lokt_opt_seconds(lua_State *L, int idx, const char *key, int argn,
                     const char *fname)
{
    int ms = 0;
    lua_getfield(L, idx, key);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "bad argument #%d to '%s' ('%s' must be a number)",
                       argn, fname, key);
        lua_Number t = lua_tonumber(L, -1);
        if (!(t > 0))
            luaL_error(L, "bad argument #%d to '%s' ('%s' must be positive)",
                       argn, fname, key);
        double v = ceil(t * 1000.0);
        ms = v > (double)(INT_MAX / 4) ? INT_MAX / 4 : (int)v;
        if (ms < 1)
            ms = 1;
    }
    lua_pop(L, 1);
    return ms;
}

size_t lokt_opt_bytes(lua_State *L, int idx, const char *key, size_t min,
                      size_t max, const char *fname)
{
    size_t n = 0;
    lua_getfield(L, idx, key);
    if (!lua_isnil(L, -1)) {
        lua_Number v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1)
                                                      : -1;
        /* compared as doubles: a huge value must not be cast first */
        if (!(v >= (lua_Number)min && v <= (lua_Number)max) || v != floor(v))
            luaL_error(L, "bad argument #1 to '%s' ('%s' must be a whole "
                       "number of bytes from %d to %d)", fname, key,
                       (int)min, (int)max);
        n = (size_t)v;
    }
    lua_pop(L, 1);
    return n;
}

const char *lokt_opt_string(lua_State *L, int idx, const char *key,
                            const char *fname)
{
    lua_getfield(L, idx, key);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "bad argument #1 to '%s' ('%s' must be a string)",
                       fname, key);
        s = lokt_c_text(L, -1, key, 1, fname);
    }
    lua_pop(L, 1);
    return s;
}

int lokt_opt_bool(lua_State *L, int idx, const char *key, int dflt,
                  const char *fname)
{
    lua_getfield(L, idx, key);
    int v = dflt;
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "bad argument #1 to '%s' ('%s' must be a boolean)",
                       fname, key);
        v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

void lokt_session_opts(lua_State *L, int idx, const char *fname,
                       okt_session_cfg *cfg,
                       const char *subs[LOKT_MAX_SUBSCRIBE + 1])
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, "login");   /* stays: anchors the text */
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "bad argument #1 to '%s' ('login' must be a string)",
                   fname);
    cfg->login = lokt_c_text(L, -1, "login", 1, fname);
    const char *password = lokt_opt_string(L, idx, "password", fname);
    cfg->password = password ? password : "";
    int timeout = lokt_opt_seconds(L, idx, "timeout", 1, fname);
    int open_timeout = lokt_opt_seconds(L, idx, "open_timeout", 1, fname);
    int ping = lokt_opt_seconds(L, idx, "ping", 1, fname);
    if (timeout)
        cfg->timeout_ms = timeout;
    if (open_timeout)
        cfg->open_ms = open_timeout;
    if (ping)
        cfg->ping_ms = ping;
    cfg->trace = lokt_opt_bool(L, idx, "trace", 0, fname);
    /* subscribe: the names given to subscribeevent; nil: the default set */
    lua_getfield(L, idx, "subscribe");   /* stays: anchors the names */
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "bad argument #1 to '%s' ('subscribe' must be a "
                       "list of strings)", fname);
        lua_Integer n = luaL_len(L, -1);
        if (n < 0 || n > LOKT_MAX_SUBSCRIBE)   /* __len may say anything */
            luaL_error(L, "bad argument #1 to '%s' ('subscribe' must hold 0 "
                       "to %d names)", fname, LOKT_MAX_SUBSCRIBE);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "bad argument #1 to '%s' ('subscribe' must hold "
                           "strings)", fname);
            subs[i - 1] = lokt_c_text(L, -1, "subscribe", 1, fname);
            lua_pop(L, 1);
        }
        subs[n] = NULL;
        cfg->subscribe = subs;
    }
}

int lokt_push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "connection closed");
    lua_pushliteral(L, "closed");
    return 3;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

void lokt_push_event(lua_State *L, const okt_event *ev)
{
    lua_createtable(L, 0, 4);
    switch (ev->type) {
    case OKT_EV_REPLY:
        set_str(L, "type", "reply");
        lua_pushinteger(L, (lua_Integer)ev->id);
        lua_setfield(L, -2, "id");
        lokt_push_json(L, ev->data);
        lua_setfield(L, -2, "data");
        break;
    case OKT_EV_ERROR:
        set_str(L, "type", "error");
        lua_pushinteger(L, (lua_Integer)ev->id);
        lua_setfield(L, -2, "id");
        set_str(L, "message", ev->err.msg);
        set_str(L, "code", okt_errname(ev->err.code));
        break;
    case OKT_EV_SERVER:
        set_str(L, "type", "event");
        set_str(L, "name", ev->name ? ev->name : "");
        lokt_push_json(L, ev->data);
        lua_setfield(L, -2, "data");
        break;
    case OKT_EV_READY:
        set_str(L, "type", "ready");
        if (ev->data)
            lokt_push_json(L, ev->data);
        else
            lua_newtable(L);
        lua_setfield(L, -2, "data");
        break;
    default:
        set_str(L, "type", "closed");
        set_str(L, "message", ev->err.msg);
        set_str(L, "code", okt_errname(ev->err.code));
        break;
    }
}

int lokt_push_trace(lua_State *L, lokt_next_trace next, void *src,
                    char **text)
{
    lua_newtable(L);
    lua_Integer n = 0;
    int dir;
    free(*text);
    *text = NULL;
    while (next(src, &dir, text)) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, dir == '>' ? ">" : "<");
        lua_setfield(L, -2, "dir");
        lua_pushstring(L, *text);
        lua_setfield(L, -2, "frame");
        lua_rawseti(L, -2, ++n);
        free(*text);
        *text = NULL;
    }
    return 1;
}

void lokt_push_state(lua_State *L, int state)
{
    static const char *const names[] = {"handshake", "login", "ready",
                                        "redirect", "closed"};
    lua_pushstring(L, state >= 0 && state <= OKT_S_CLOSED ? names[state]
                                                          : "closed");
}

const char *lokt_request_args(lua_State *L, json_t **params, int *timeout_ms)
{
    *params = NULL;
    size_t mlen;
    const char *method = luaL_checklstring(L, 2, &mlen);
    luaL_argcheck(L, strlen(method) == mlen, 2,
                  "method name must not contain NUL bytes");
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    int tmo = 0;
    if (!lua_isnoneornil(L, 4)) {
        lua_Number t = luaL_checknumber(L, 4);
        luaL_argcheck(L, t > 0, 4, "timeout must be positive");
        double v = ceil(t * 1000.0);
        tmo = v > (double)(INT_MAX / 4) ? INT_MAX / 4 : (int)v;
    }
    *timeout_ms = tmo;
    if (!lua_isnoneornil(L, 3)) {
        okt_err cerr;
        json_t *p = lokt_to_json(L, 3, &cerr);
        if (!p)   /* nothing held: raising is safe */
            luaL_argerror(L, 3, cerr.msg);
        if (!json_is_object(p)) {
            json_decref(p);
            luaL_argerror(L, 3, "params must be a table with string keys, "
                          "not a list");
        }
        *params = p;   /* the last step: nothing below can raise */
    }
    return method;
}
