/* wire.c - core.wire and the "oktell.wire" userdata: a box holding a
 * pointer to an okt_wire (src/core/wire.h), the sans-IO connection a host
 * driver (lua/oktell/ngx.lua) runs over its own sockets: bytes in (feed),
 * bytes out (output), a deadline to wake at. Pull interface only; the
 * clock is read here (core.now's), never in the core. */
#include "lokt.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define MT "oktell.wire"

typedef struct lwire {
    okt_wire *w;     /* NULL once closed */
    okt_event ev;    /* the event being pushed (see conn.c) */
    okt_trace *tr;   /* the trace, kept after close for wire:trace() */
    char *text;      /* the trace record being pushed */
    char *bye;       /* close's goodbye bytes while being pushed */
    size_t byelen;
} lwire;

static lwire *check_box(lua_State *L)
{
    return luaL_checkudata(L, 1, MT);
}

/* core.wire{url=, login=, password=, timeout=, open_timeout=, ping=,
 *           subscribe=, trace=} -> wire | nil, msg, code */
static int l_wire(lua_State *L)
{
    const char *fn = "wire";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "url");   /* 2: anchors the text */
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "bad argument #1 to '%s' ('url' must be a "
                          "string)", fn);
    okt_wire_cfg cfg;
    okt_wire_cfg_init(&cfg);
    cfg.url = lokt_c_text(L, 2, "url", 1, fn);
    const char *subs[LOKT_MAX_SUBSCRIBE + 1];
    lokt_session_opts(L, 1, fn, &cfg.session, subs);   /* pushes 3, 4 */

    /* The box first: if Lua cannot allocate it, nothing C-side leaks.
     * lua_newuserdata: the one call every Lua ABI has (5.4: a macro). */
    lwire *b = lua_newuserdata(L, sizeof *b);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, MT);
    okt_err err;
    b->w = okt_wire_new(&cfg, okt_now_ms(), &err);
    if (!b->w)
        return lokt_pusherr(L, &err);
    return 1;
}

/* Free the wire. keep_bye: its goodbye (logout, close frame) goes to
 * b->bye for close() to return. */
static void close_box(lwire *b, int keep_bye)
{
    if (b->w) {
        okt_wire_close(b->w, okt_now_ms());   /* traces the logout */
        const char *p;
        size_t n;
        if (keep_bye && okt_wire_output(b->w, &p, &n) &&
            (b->bye = malloc(n)) != NULL) {
            memcpy(b->bye, p, n);
            b->byelen = n;
        }
        if (!b->tr)
            b->tr = okt_wire_take_trace(b->w);
        okt_wire_free(b->w);
        b->w = NULL;
    }
    okt_event_clear(&b->ev);
    free(b->text);
    b->text = NULL;
}

/* wire:close() -> true, goodbye bytes (or nil): what to write before the
 * host closes its socket. Idempotent (true alone later). */
static int l_close(lua_State *L)
{
    lwire *b = check_box(L);
    close_box(b, 1);
    lua_pushboolean(L, 1);
    if (!b->bye)
        return 1;
    lua_pushlstring(L, b->bye, b->byelen);   /* on a memory error __gc frees */
    free(b->bye);
    b->bye = NULL;
    return 2;
}

/* __close: as close, keeping the trace (wire:trace() still gives it) */
static int l_close_quiet(lua_State *L)
{
    close_box(check_box(L), 0);
    return 0;
}

static int l_gc(lua_State *L)
{
    lwire *b = check_box(L);
    close_box(b, 0);
    okt_trace_free(b->tr);
    b->tr = NULL;
    free(b->bye);
    b->bye = NULL;
    return 0;
}

/* wire:feed(bytes) -> true | nil, msg, code */
static int l_feed(lua_State *L)
{
    lwire *b = check_box(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (!b->w)
        return lokt_push_closed(L);
    okt_err err;
    if (okt_wire_feed(b->w, s, n, okt_now_ms(), &err) != 0)
        return lokt_pusherr(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* wire:output() -> the pending bytes as one string (taken), or nil */
static int l_output(lua_State *L)
{
    lwire *b = check_box(L);
    if (!b->w)
        return lokt_push_closed(L);
    const char *p;
    size_t n;
    if (!okt_wire_output(b->w, &p, &n)) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, p, n);   /* raises before anything is taken */
    okt_wire_consume(b->w, n);
    return 1;
}

/* wire:deadline() -> absolute seconds on core.now()'s clock (0: act now),
 * or nil when nothing is due */
static int l_deadline(lua_State *L)
{
    lwire *b = check_box(L);
    int64_t d = b->w ? okt_wire_deadline(b->w) : -1;
    if (d < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)d / 1000.0);
    return 1;
}

static int l_tick(lua_State *L)
{
    lwire *b = check_box(L);
    if (!b->w)
        return lokt_push_closed(L);
    okt_wire_tick(b->w, okt_now_ms());
    lua_pushboolean(L, 1);
    return 1;
}

static int l_state(lua_State *L)
{
    lwire *b = check_box(L);
    if (!b->w)
        return lokt_push_closed(L);
    lokt_push_state(L, okt_wire_state(b->w));
    return 1;
}

/* wire:request(method, params_or_nil [, timeout_seconds]) -> id | nil, msg, code */
static int l_request(lua_State *L)
{
    lwire *b = check_box(L);
    if (!b->w)
        return lokt_push_closed(L);
    json_t *params;
    int tmo;
    const char *method = lokt_request_args(L, &params, &tmo);
    okt_err err;
    int64_t id = okt_wire_request(b->w, method, params, tmo, okt_now_ms(),
                                  &err);   /* params stolen */
    if (id < 0)
        return lokt_pusherr(L, &err);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

static int l_next_event(lua_State *L)
{
    lwire *b = check_box(L);
    if (!b->w)
        return lokt_push_closed(L);
    okt_event_clear(&b->ev);
    if (!okt_wire_next_event(b->w, &b->ev)) {
        lua_pushnil(L);
        return 1;
    }
    lokt_push_event(L, &b->ev);
    okt_event_clear(&b->ev);
    return 1;
}

/* wire:closed([why]) -> true: the host's socket dropped */
static int l_closed(lua_State *L)
{
    lwire *b = check_box(L);
    const char *why = luaL_optstring(L, 2, NULL);
    if (!b->w)
        return lokt_push_closed(L);
    okt_err err;
    okt_err_set(&err, OKT_ECLOSED, "%s", why && *why ? why : "connection lost");
    okt_wire_transport_closed(b->w, &err, okt_now_ms());
    lua_pushboolean(L, 1);
    return 1;
}

/* wire:redirect() -> the wss:// URL to reconnect to after a
 * websocketredirect (state "redirect"), or nil */
static int l_redirect(lua_State *L)
{
    lwire *b = check_box(L);
    const char *u = b->w ? okt_wire_redirect_url(b->w) : NULL;
    if (u)
        lua_pushstring(L, u);
    else
        lua_pushnil(L);
    return 1;
}

/* wire:reopen([url]) -> true | nil, msg, code: the host connected anew (to
 * the redirect URL by default); the session goes on over it */
static int l_reopen(lua_State *L)
{
    lwire *b = check_box(L);
    const char *url = NULL;
    if (!lua_isnoneornil(L, 2))
        url = lokt_c_text(L, 2, "url", 1, "reopen");
    if (!b->w)
        return lokt_push_closed(L);
    okt_err err;
    if (okt_wire_reopen(b->w, url, okt_now_ms(), &err) != 0)
        return lokt_pusherr(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int next_trace(void *src, int *dir, char **text)
{
    lwire *b = src;
    return b->w ? okt_wire_next_trace(b->w, dir, text)
                : okt_trace_next(b->tr, dir, text);
}

/* wire:trace() -> records, dropped (as conn:trace()) */
static int l_trace(lua_State *L)
{
    lwire *b = check_box(L);
    lokt_push_trace(L, next_trace, b, &b->text);
    size_t dropped = b->w ? okt_wire_trace_dropped(b->w)
                          : okt_trace_dropped(b->tr);
    lua_pushinteger(L, (lua_Integer)dropped);
    return 2;
}

/* wire:set_trace(on) -> true | nil, msg, code (as conn:set_trace) */
static int l_set_trace(lua_State *L)
{
    lwire *b = check_box(L);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (!b->w)
        return lokt_push_closed(L);
    okt_err err;
    if (okt_wire_set_trace(b->w, lua_toboolean(L, 2), &err) != 0)
        return lokt_pusherr(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    lwire *b = check_box(L);
    lua_pushfstring(L, "oktell.wire (%s)", b->w ? "open" : "closed");
    return 1;
}

static const luaL_Reg methods[] = {
    {"feed", l_feed},
    {"output", l_output},
    {"deadline", l_deadline},
    {"tick", l_tick},
    {"state", l_state},
    {"request", l_request},
    {"next_event", l_next_event},
    {"trace", l_trace},
    {"set_trace", l_set_trace},
    {"closed", l_closed},
    {"redirect", l_redirect},
    {"reopen", l_reopen},
    {"close", l_close},
    {NULL, NULL},
};

void lokt_open_wire(lua_State *L)
{
    lokt_newclass(L, MT, methods, l_close_quiet, l_tostring);
    /* __gc also frees the trace kept after close; __close keeps it */
    luaL_getmetatable(L, MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_wire);
    lua_setfield(L, -2, "wire");
}
