/* conn.c - core.connect and the "oktell.conn" userdata: a box holding a
 * pointer to an okt_conn (src/core/conn.h). Pull interface only (pollfd,
 * events, timeout, step, next_event, trace); nothing here calls back into
 * Lua. */
#include "lokt.h"
#include "conn.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MT "oktell.conn"
#define MAX_URLS 10

typedef struct lconn {
    okt_conn *c;     /* NULL once closed */
    okt_event ev;    /* the event being pushed: owned here so a Lua error
                        while building its table leaks nothing */
    okt_trace *tr;   /* the wire trace, taken from c at close so that
                        conn:trace() still gives its tail; freed by __gc */
    char *text;      /* the trace record being pushed, owned as ev is */
} lconn;

static lconn *check_box(lua_State *L)
{
    return luaL_checkudata(L, 1, MT);
}

static int push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "connection closed");
    lua_pushliteral(L, "closed");
    return 3;
}

/* Seconds (number > 0) -> ms; raises on a bad value. 0 when absent. */
static int opt_seconds(lua_State *L, int idx, const char *key, int argn,
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

/* The string at idx (a string) as C text; raises when it holds a NUL
 * byte, which C would silently cut there ("123\0x" logging in as "123"). */
static const char *c_text(lua_State *L, int idx, const char *key, int argn,
                          const char *fname)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len)
        luaL_error(L, "bad argument #%d to '%s' ('%s' must not contain NUL "
                   "bytes)", argn, fname, key);
    return s;
}

/* A string field or nil; raises on another type. Leaves nothing. The
 * string stays valid: the table at idx anchors it. */
static const char *opt_string(lua_State *L, int idx, const char *key,
                              const char *fname)
{
    lua_getfield(L, idx, key);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "bad argument #1 to '%s' ('%s' must be a string)",
                       fname, key);
        s = c_text(L, -1, key, 1, fname);
    }
    lua_pop(L, 1);
    return s;
}

/* Boolean field or nil (-> dflt); raises on another type. */
static int opt_bool(lua_State *L, int idx, const char *key, int dflt,
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

/* core.connect{urls=, login=, password=, timeout=, open_timeout=, ping=,
 *              cafile=, verify=, subscribe=, trace=} -> conn | nil, msg, code */
static int l_connect(lua_State *L)
{
    const char *fn = "connect";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    const char *urls[MAX_URLS];
    size_t nurls = 0;
    lua_getfield(L, 1, "urls");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, 1, "url");
    }
    /* stack: 2 = urls (anchored: it is a field of arg 1) */
    if (lua_type(L, 2) == LUA_TSTRING) {
        urls[nurls++] = c_text(L, 2, "urls", 1, fn);
    } else if (lua_type(L, 2) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, 2);
        if (n < 1)
            return luaL_error(L, "bad argument #1 to '%s' ('urls' is empty)",
                              fn);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 2, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "bad argument #1 to '%s' ('urls' must "
                                  "hold strings)", fn);
            const char *u = c_text(L, -1, "urls", 1, fn);
            if (nurls < MAX_URLS)   /* oktell.js uses the first 10 too */
                urls[nurls++] = u;
            lua_pop(L, 1);
        }
    } else {
        return luaL_error(L, "bad argument #1 to '%s' ('urls' must be a "
                          "string or a list of strings)", fn);
    }
    lua_getfield(L, 1, "login");   /* 3 */
    if (lua_type(L, 3) != LUA_TSTRING)
        return luaL_error(L, "bad argument #1 to '%s' ('login' must be a "
                          "string)", fn);
    const char *login = c_text(L, 3, "login", 1, fn);
    const char *password = opt_string(L, 1, "password", fn);
    const char *cafile = opt_string(L, 1, "cafile", fn);
    int timeout = opt_seconds(L, 1, "timeout", 1, fn);
    int open_timeout = opt_seconds(L, 1, "open_timeout", 1, fn);
    int ping = opt_seconds(L, 1, "ping", 1, fn);
    int verify = opt_bool(L, 1, "verify", 1, fn);
    int trace = opt_bool(L, 1, "trace", 0, fn);
    /* subscribe: the names given to subscribeevent; nil: the default set */
    const char *subs[65];
    int have_subs = 0;
    lua_getfield(L, 1, "subscribe");   /* 4 */
    if (!lua_isnil(L, 4)) {
        if (lua_type(L, 4) != LUA_TTABLE)
            return luaL_error(L, "bad argument #1 to '%s' ('subscribe' must "
                              "be a list of strings)", fn);
        lua_Integer n = luaL_len(L, 4);
        if (n < 0 || n > 64)   /* __len may say anything */
            return luaL_error(L, "bad argument #1 to '%s' ('subscribe' must "
                              "hold 0 to 64 names)", fn);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 4, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "bad argument #1 to '%s' ('subscribe' "
                                  "must hold strings)", fn);
            subs[i - 1] = c_text(L, -1, "subscribe", 1, fn);
            lua_pop(L, 1);
        }
        subs[n] = NULL;
        have_subs = 1;
    }

    /* The box first: if Lua cannot allocate it, nothing C-side leaks. */
    lconn *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, MT);

    okt_conn_cfg cfg;
    okt_conn_cfg_init(&cfg);
    cfg.urls = urls;
    cfg.nurls = nurls;
    cfg.session.login = login;
    cfg.session.password = password ? password : "";
    if (timeout)
        cfg.session.timeout_ms = timeout;
    if (open_timeout)
        cfg.session.open_ms = open_timeout;
    if (ping)
        cfg.session.ping_ms = ping;
    if (have_subs)
        cfg.session.subscribe = subs;
    cfg.session.trace = trace;
    cfg.ws.cafile = cafile;
    cfg.ws.verify = verify;
    okt_err err;
    b->c = okt_conn_new(&cfg, okt_now_ms(), &err);
    if (!b->c)
        return lokt_pusherr(L, &err);
    return 1;
}

static void close_box(lconn *b)
{
    if (b->c) {
        okt_conn_close(b->c, okt_now_ms());   /* traces the logout */
        if (!b->tr)
            b->tr = okt_conn_take_trace(b->c);
        okt_conn_free(b->c);
        b->c = NULL;
    }
    okt_event_clear(&b->ev);
    free(b->text);
    b->text = NULL;
}

static int l_close(lua_State *L)
{
    close_box(check_box(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    lconn *b = check_box(L);
    close_box(b);
    okt_trace_free(b->tr);
    b->tr = NULL;
    return 0;
}

static int l_pollfd(lua_State *L)
{
    lconn *b = check_box(L);
    int fd = b->c ? okt_conn_fd(b->c) : -1;
    if (fd < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, fd);
    return 1;
}

static int l_events(lua_State *L)
{
    lconn *b = check_box(L);
    int ev = b->c ? okt_conn_events(b->c) : 0;
    if ((ev & OKT_WANT_READ) && (ev & OKT_WANT_WRITE))
        lua_pushliteral(L, "rw");
    else if (ev & OKT_WANT_READ)
        lua_pushliteral(L, "r");
    else if (ev & OKT_WANT_WRITE)
        lua_pushliteral(L, "w");
    else
        lua_pushnil(L);
    return 1;
}

static int l_timeout(lua_State *L)
{
    lconn *b = check_box(L);
    int64_t d = b->c ? okt_conn_deadline(b->c) : -1;
    if (d < 0) {
        lua_pushnil(L);
        return 1;
    }
    int64_t rel = d - okt_now_ms();
    lua_pushnumber(L, rel > 0 ? (lua_Number)rel / 1000.0 : 0.0);
    return 1;
}

static int l_step(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return push_closed(L);
    okt_err err;
    if (okt_conn_step(b->c, OKT_WANT_READ | OKT_WANT_WRITE, okt_now_ms(),
                      &err) != 0)
        return lokt_pusherr(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_state(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return push_closed(L);
    static const char *const names[] = {"handshake", "login", "ready",
                                        "redirect", "closed"};
    int st = okt_conn_state(b->c);
    lua_pushstring(L, st >= 0 && st <= OKT_S_CLOSED ? names[st] : "closed");
    return 1;
}

/* conn:request(method, params_or_nil [, timeout_seconds]) -> id | nil, msg, code */
static int l_request(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return push_closed(L);
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
    json_t *params = NULL;
    if (!lua_isnoneornil(L, 3)) {
        okt_err cerr;
        params = lokt_to_json(L, 3, &cerr);
        if (!params)   /* nothing held: raising is safe */
            return luaL_argerror(L, 3, cerr.msg);
        if (!json_is_object(params)) {
            json_decref(params);
            return luaL_argerror(L, 3, "params must be a table with string "
                                 "keys, not a list");
        }
    }
    okt_err err;
    int64_t id = okt_conn_request(b->c, method, params, tmo, okt_now_ms(),
                                  &err);   /* params stolen */
    if (id < 0)
        return lokt_pusherr(L, &err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static int l_next_event(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return push_closed(L);
    okt_event_clear(&b->ev);
    if (!okt_conn_next_event(b->c, &b->ev)) {
        lua_pushnil(L);
        return 1;
    }
    okt_event *ev = &b->ev;
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
    okt_event_clear(&b->ev);
    return 1;
}

/* conn:trace() -> {{dir = ">" | "<", frame = text}, ...}, dropped: the
 * records kept since the last call, oldest first (an empty table when
 * tracing is off), and how many were dropped so far (OKT_MAX_TRACE). */
static int l_trace(lua_State *L)
{
    lconn *b = check_box(L);
    lua_newtable(L);
    lua_Integer n = 0;
    int dir;
    free(b->text);
    b->text = NULL;
    while (b->c ? okt_conn_next_trace(b->c, &dir, &b->text)
                : okt_trace_next(b->tr, &dir, &b->text)) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, dir == '>' ? ">" : "<");
        lua_setfield(L, -2, "dir");
        lua_pushstring(L, b->text);
        lua_setfield(L, -2, "frame");
        lua_rawseti(L, -2, ++n);
        free(b->text);
        b->text = NULL;
    }
    size_t dropped = b->c ? okt_conn_trace_dropped(b->c)
                          : okt_trace_dropped(b->tr);
    lua_pushinteger(L, (lua_Integer)dropped);
    return 2;
}

static int l_tostring(lua_State *L)
{
    lconn *b = check_box(L);
    lua_pushfstring(L, "oktell.conn (%s)", b->c ? "open" : "closed");
    return 1;
}

static const luaL_Reg methods[] = {
    {"pollfd", l_pollfd},
    {"events", l_events},
    {"timeout", l_timeout},
    {"step", l_step},
    {"state", l_state},
    {"request", l_request},
    {"next_event", l_next_event},
    {"trace", l_trace},
    {"close", l_close},
    {NULL, NULL},
};

void lokt_open_conn(lua_State *L)
{
    lokt_newclass(L, MT, methods, l_close, l_tostring);
    /* __gc also frees the trace kept after close; __close keeps it */
    luaL_getmetatable(L, MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_connect);
    lua_setfield(L, -2, "connect");
}
