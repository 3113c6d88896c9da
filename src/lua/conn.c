/* conn.c - core.connect and the "oktell.conn" userdata: a box holding a
 * pointer to an okt_conn (src/core/conn.h). Pull interface only (pollfd,
 * events, timeout, step, next_event, trace, set_trace); nothing here calls
 * back into Lua. */
#include "lokt.h"
#include "conn.h"

#include <limits.h>
#include <math.h>
#include <poll.h>
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

/* core.connect{urls=, login=, password=, timeout=, open_timeout=, ping=,
 *              cafile=, verify=, subscribe=, trace=, max_output=,
 *              max_memory=}
 *   -> conn | nil, msg, code */
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
        urls[nurls++] = lokt_c_text(L, 2, "urls", 1, fn);
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
            const char *u = lokt_c_text(L, -1, "urls", 1, fn);
            if (nurls < MAX_URLS)   /* oktell.js uses the first 10 too */
                urls[nurls++] = u;
            lua_pop(L, 1);
        }
    } else {
        return luaL_error(L, "bad argument #1 to '%s' ('urls' must be a "
                          "string or a list of strings)", fn);
    }
    okt_conn_cfg cfg;
    okt_conn_cfg_init(&cfg);
    const char *subs[LOKT_MAX_SUBSCRIBE + 1];
    lokt_session_opts(L, 1, fn, &cfg.session, subs);   /* pushes 3, 4 */
    const char *cafile = lokt_opt_string(L, 1, "cafile", fn);
    int verify = lokt_opt_bool(L, 1, "verify", 1, fn);
    size_t max_output = lokt_opt_bytes(L, 1, "max_output", OKT_MIN_WS_OUT,
                                       OKT_MAX_SIZE_OPTION, fn);
    size_t max_memory = lokt_opt_bytes(L, 1, "max_memory", OKT_MIN_MEMORY,
                                       OKT_MAX_SIZE_OPTION, fn);

    /* The box first: if Lua cannot allocate it, nothing C-side leaks. */
    lconn *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, MT);

    cfg.urls = urls;
    cfg.nurls = nurls;
    cfg.ws.cafile = cafile;
    cfg.ws.verify = verify;
    if (max_output)
        cfg.ws.max_out = max_output;
    cfg.max_memory = max_memory;   /* 0: the default */
    okt_err err;
    b->c = okt_conn_new(&cfg, okt_now_ms(), &err);
    if (!b->c)
        return lokt_pusherr(L, &err);
    return 1;
}

/* core.check_url(url) -> true | nil, "oktell: bad url '<url>': <why>",
 * "invalid": the check core.connect and core.wire make, for the Lua side
 * to raise the same words before any I/O. */
static int l_check_url(lua_State *L)
{
    size_t len;
    const char *u = luaL_checklstring(L, 1, &len);
    okt_err err;
    if (strlen(u) != len)
        okt_err_set(&err, OKT_EINVAL, "oktell: bad url: it holds a NUL byte");
    else if (okt_ws_check_url(u, &err) == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    return lokt_pusherr(L, &err);
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

/* OKT_WANT_* bits as the loop polls them: "rw", "r", "w" or nil. */
static void push_want(lua_State *L, int ev)
{
    if ((ev & OKT_WANT_READ) && (ev & OKT_WANT_WRITE))
        lua_pushliteral(L, "rw");
    else if (ev & OKT_WANT_READ)
        lua_pushliteral(L, "r");
    else if (ev & OKT_WANT_WRITE)
        lua_pushliteral(L, "w");
    else
        lua_pushnil(L);
}

/* An absolute deadline (ms, -1: none) as the seconds from now until it
 * (0 when past), or nil. */
static void push_due(lua_State *L, int64_t d, int64_t now)
{
    if (d < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, d > now ? (lua_Number)(d - now) / 1000.0 : 0.0);
}

static int l_events(lua_State *L)
{
    lconn *b = check_box(L);
    push_want(L, b->c ? okt_conn_events(b->c) : 0);
    return 1;
}

static int l_timeout(lua_State *L)
{
    lconn *b = check_box(L);
    push_due(L, b->c ? okt_conn_deadline(b->c) : -1, okt_now_ms());
    return 1;
}

static int l_step(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return lokt_push_closed(L);
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
        return lokt_push_closed(L);
    lokt_push_state(L, okt_conn_state(b->c));
    return 1;
}

/* conn:request(method, params_or_nil [, timeout_seconds [, check [, flush]]])
 *   -> id [, due] | nil, msg, code
 * check: a wire method's fref (core.protocol()): its reply comes out of
 * pump already checked against that method's reply fields (see pump).
 * flush: write it at once; due then gives the seconds until the conn has
 * work due, as pump's timeout does (0: now, output the socket did not
 * take or a failure's events; nil: none). */
static int l_request(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return lokt_push_closed(L);
    lua_Integer tag = luaL_optinteger(L, 5, 0);
    luaL_argcheck(L, tag >= 0 && tag <= INT_MAX, 5, "bad reply check");
    int flush = lua_toboolean(L, 6);
    json_t *params;
    int tmo;
    const char *method = lokt_request_args(L, &params, &tmo);
    okt_err err;
    int64_t now = okt_now_ms();
    int64_t id = okt_conn_request_tag(b->c, method, params, tmo, (int)tag,
                                      now, &err);   /* params stolen */
    if (id < 0)
        return lokt_pusherr(L, &err);
    lua_pushinteger(L, (lua_Integer)id);
    if (!flush)
        return 1;
    /* A caller about to block on this reply: write it now, so the loop's
     * next move is the poll for the answer (one turn less, no syscall
     * more). Anything left to do at once (output the socket did not take,
     * a failure's events) is reported for the loop to pump. */
    okt_conn_step(b->c, OKT_WANT_WRITE, now, &err);
    int64_t d = okt_conn_deadline(b->c);
    if (okt_conn_events(b->c) & OKT_WANT_WRITE)
        d = now;
    push_due(L, d, now);
    return 2;
}

static int l_next_event(lua_State *L)
{
    lconn *b = check_box(L);
    if (!b->c)
        return lokt_push_closed(L);
    okt_event_clear(&b->ev);
    if (!okt_conn_next_event(b->c, &b->ev)) {
        lua_pushnil(L);
        return 1;
    }
    lokt_push_event(L, &b->ev);
    okt_event_clear(&b->ev);
    return 1;
}

/* The readiness poll reported ("r", "w", "rw", "e"; true: unknown, try
 * both) as OKT_WANT_* bits; nil or false: none, only work that is due. */
static int ready_bits(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *r = lua_tostring(L, idx);
        if (r[0] == 'e')
            return OKT_WANT_READ | OKT_WANT_WRITE;
        return (strchr(r, 'r') ? OKT_WANT_READ : 0) |
               (strchr(r, 'w') ? OKT_WANT_WRITE : 0);
    }
    return lua_toboolean(L, idx) ? OKT_WANT_READ | OKT_WANT_WRITE : 0;
}

/* conn:pump(ready, out [, start [, max [, checks]]]) -> n, fd, want, timeout
 * One loop turn's work in one call (issue 12): the I/O poll reported ready
 * (ready a number: the wait itself, poll(2) on this conn alone for at most
 * that many seconds, for a blocking caller with nothing else to serve)
 * (no speculative recv: ready nil reads nothing; queued output is written
 * whatever poll said, a socket being writable nearly always), timers, and
 * up to max (64) queued events stored into out from index start (1) as
 * triples: id, data, false for a reply; id, checked, t for the reply of a
 * request made with a check that passed it (the tables core.check makes,
 * built from the JSON at once: the reply's table is made once, in C);
 * name, data, false for a server event, or name, checked, t for one that
 * checks ({wire name = an event's fref}) names and that passed the check
 * (lean, core.keep's fields only, when its fref came minus core.T_ONLY;
 * a reply's when its request's check came plus core.T_ONLY);
 * 0, the next_event table, false
 * for anything else. Then what the loop needs to wait:
 * the fd (nil when none), the readiness to wait for ("r", "rw", nil) and
 * when work is due (core.now()'s clock, seconds; nil: none). */
/* pump's wait (ready given as seconds): poll the conn's own descriptor for
 * what it wants, at most that long; the readiness bits it found (a signal:
 * none, the caller's loop looks again). */
static int wait_ready(okt_conn *c, lua_Number t)
{
    int fd = okt_conn_fd(c);
    int want = okt_conn_events(c);
    if (fd < 0 || !want)
        return 0;
    int ms = t != t || t <= 0 ? 0 : t > 2000000.0 ? 2000000000
                                                  : (int)ceil(t * 1000.0);
    struct pollfd p = {.fd = fd,
                       .events = (short)(((want & OKT_WANT_READ) ? POLLIN : 0) |
                                         ((want & OKT_WANT_WRITE) ? POLLOUT : 0))};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        return OKT_WANT_READ | OKT_WANT_WRITE;
    return ((p.revents & POLLIN) ? OKT_WANT_READ : 0) |
           ((p.revents & POLLOUT) ? OKT_WANT_WRITE : 0);
}

static int l_pump(lua_State *L)
{
    lconn *b = check_box(L);
    int rev = lua_type(L, 2) == LUA_TNUMBER
                  ? (b->c ? wait_ready(b->c, lua_tonumber(L, 2)) : 0)
                  : ready_bits(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer k = luaL_optinteger(L, 4, 1);
    lua_Integer max = luaL_optinteger(L, 5, 64);
    int checks = lua_type(L, 6) == LUA_TTABLE;
    if (!b->c)
        return lokt_push_closed(L);
    okt_err err;
    int64_t now = okt_now_ms();
    rev |= okt_conn_events(b->c) & OKT_WANT_WRITE;
    if (okt_conn_step(b->c, rev, now, &err) != 0)
        return lokt_pusherr(L, &err);
    lua_Integer n = 0;
    while (n < max) {
        okt_event_clear(&b->ev);
        if (!okt_conn_next_event(b->c, &b->ev))
            break;
        okt_event *ev = &b->ev;
        if (ev->type == OKT_EV_REPLY) {
            lua_pushinteger(L, (lua_Integer)ev->id);
            int tag = ev->tag, lean = tag >= LOKT_T_ONLY;
            if (lean)
                tag -= LOKT_T_ONLY;
            if (!tag || !lokt_push_checked(L, ev->data, tag, lean)) {
                lokt_push_json(L, ev->data);
                lua_pushboolean(L, 0);
            }
        } else if (ev->type == OKT_EV_SERVER) {
            lua_pushstring(L, ev->name ? ev->name : "");
            int ref = 0, lean = 0;
            if (checks) {
                lua_pushvalue(L, -1);
                lua_rawget(L, 6);
                ref = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
                lua_pop(L, 1);
                if (ref <= -LOKT_T_ONLY) {
                    ref += LOKT_T_ONLY;
                    lean = 1;
                }
            }
            if (ref >= 0 || !lokt_push_checked(L, ev->data, ref, lean)) {
                lokt_push_json(L, ev->data);
                lua_pushboolean(L, 0);
            }
        } else {
            lua_pushinteger(L, 0);
            lokt_push_event(L, ev);
            lua_pushboolean(L, 0);
        }
        lua_rawseti(L, 3, k + 2);
        lua_rawseti(L, 3, k + 1);
        lua_rawseti(L, 3, k);
        k += 3;
        n++;
    }
    okt_event_clear(&b->ev);
    lua_pushinteger(L, n);
    int fd = okt_conn_fd(b->c);
    if (fd < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, fd);
    push_want(L, okt_conn_events(b->c));
    /* absolute, on core.now()'s clock: the caller keeps it as is */
    int64_t d = okt_conn_deadline(b->c);
    if (d < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)(d > now ? d : now) / 1000.0);
    return 4;
}

/* conn:trace() -> {{dir = ">" | "<", frame = text}, ...}, dropped: the
 * records kept since the last call, oldest first (an empty table when
 * tracing is off), and how many were dropped so far (OKT_MAX_TRACE). */
static int next_trace(void *src, int *dir, char **text)
{
    lconn *b = src;
    return b->c ? okt_conn_next_trace(b->c, dir, text)
                : okt_trace_next(b->tr, dir, text);
}

static int l_trace(lua_State *L)
{
    lconn *b = check_box(L);
    lokt_push_trace(L, next_trace, b, &b->text);
    size_t dropped = b->c ? okt_conn_trace_dropped(b->c)
                          : okt_trace_dropped(b->tr);
    lua_pushinteger(L, (lua_Integer)dropped);
    return 2;
}

/* conn:set_trace(on) -> true | nil, msg, code: start (or stop) tracing a
 * live connection from its next frame (oktell.record on a client that was
 * connected without `trace`). */
static int l_set_trace(lua_State *L)
{
    lconn *b = check_box(L);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (!b->c)
        return lokt_push_closed(L);
    okt_err err;
    if (okt_conn_set_trace(b->c, lua_toboolean(L, 2), &err) != 0)
        return lokt_pusherr(L, &err);
    lua_pushboolean(L, 1);
    return 1;
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
    {"pump", l_pump},
    {"trace", l_trace},
    {"set_trace", l_set_trace},
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
    lua_pushcfunction(L, l_check_url);
    lua_setfield(L, -2, "check_url");
}
