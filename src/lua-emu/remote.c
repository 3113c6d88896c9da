/* remote.c - emucore.attach(spec [, timeout]): a blocking JSON Lines
 * client of an emulator's control channel (src/emu/channel.h), so that
 * lua/oktell/emulator.lua gives an emulator started by another process
 * (bin/oktell-emu --control ...) the same methods as one it started
 * itself. The box holds a socket; control(cmd, args) sends one request
 * and waits for its answer, skipping watch records. No Lua socket library
 * is needed. */
#include "lokt.h"
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MT "oktell.emulator.remote"
#define MAX_ANSWER (4 * 1024 * 1024)

typedef struct lremote {
    int fd;                 /* -1 once closed */
    char *buf;              /* received, not yet a whole line */
    size_t n, cap;
    long long next_id;
    int timeout_ms;
    char spec[160];
} lremote;

static lremote *check(lua_State *L)
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

static void shut(lremote *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    free(r->buf);
    r->buf = NULL;
    r->n = r->cap = 0;
}

/* Connect to "unix:PATH" or "tcp:HOST:PORT"; the fd, or -1 with err. */
static int dial(const char *spec, int timeout_ms, okt_err *err)
{
    int fd = -1;
    if (!strncmp(spec, "unix:", 5)) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (!spec[5] || strlen(spec + 5) >= sizeof sa.sun_path) {
            okt_err_set(err, OKT_EINVAL, "attach: unix:PATH expected");
            return -1;
        }
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", spec + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            okt_err_set(err, OKT_EREFUSED, "attach %s: %s", spec,
                        strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    if (strncmp(spec, "tcp:", 4) || !strrchr(spec + 4, ':')) {
        okt_err_set(err, OKT_EINVAL,
                    "attach: \"unix:PATH\" or \"tcp:HOST:PORT\" expected");
        return -1;
    }
    char host[128];
    const char *colon = strrchr(spec + 4, ':');
    size_t hl = (size_t)(colon - (spec + 4));
    const char *h = spec + 4;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host) {
        okt_err_set(err, OKT_EINVAL, "attach: tcp:HOST:PORT expected");
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        okt_err_set(err, OKT_EINVAL, "attach %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    int eno = ECONNREFUSED;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
                                      SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            struct pollfd p = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (errno != EINPROGRESS || poll(&p, 1, timeout_ms) != 1 ||
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
                eno = soerr ? soerr : errno == EINPROGRESS ? ETIMEDOUT : errno;
                close(fd);
                fd = -1;
                continue;
            }
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    freeaddrinfo(ai);
    if (fd < 0)
        okt_err_set(err, OKT_EREFUSED, "attach %s: %s", spec, strerror(eno));
    return fd;
}

/* emucore.attach(spec [, timeout seconds]) -> remote | nil, msg, code */
static int l_attach(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    lua_Number t = luaL_optnumber(L, 2, 10);
    luaL_argcheck(L, t > 0 && t < 86400, 2, "timeout: seconds expected");
    lremote *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    r->fd = -1;
    luaL_setmetatable(L, MT);
    okt_err err;
    okt_err_clear(&err);
    r->timeout_ms = (int)(t * 1000);
    snprintf(r->spec, sizeof r->spec, "%s", spec);
    r->fd = dial(spec, r->timeout_ms, &err);
    if (r->fd < 0)
        return lokt_pusherr(L, &err);
    return 1;
}

/* Send all of text; 0, or -1 (the channel is gone). */
static int send_all(lremote *r, const char *text, size_t len)
{
    while (len) {
        ssize_t n = send(r->fd, text, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The next whole line (NUL-terminated in place, valid until the next
 * call), or NULL with *code: OKT_ETIMEOUT, OKT_ECLOSED. */
static char *next_line(lremote *r, size_t *len, int *code)
{
    static const size_t chunk = 16384;
    for (;;) {
        char *nl = r->n ? memchr(r->buf, '\n', r->n) : NULL;
        if (nl) {
            *nl = '\0';
            *len = (size_t)(nl - r->buf);
            return r->buf;
        }
        if (r->n + chunk > MAX_ANSWER) {
            *code = OKT_EPROTOCOL;
            return NULL;
        }
        if (r->n + chunk > r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4 * chunk;
            char *b = realloc(r->buf, cap);
            if (!b) {
                *code = OKT_ENOMEM;
                return NULL;
            }
            r->buf = b;
            r->cap = cap;
        }
        struct pollfd p = {r->fd, POLLIN, 0};
        int pr = poll(&p, 1, r->timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            *code = OKT_ETIMEOUT;
            return NULL;
        }
        ssize_t n = pr > 0 ? recv(r->fd, r->buf + r->n, chunk, 0) : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *code = OKT_ECLOSED;
            return NULL;
        }
        r->n += (size_t)n;
    }
}

static void consume(lremote *r, size_t len)
{
    memmove(r->buf, r->buf + len + 1, r->n - len - 1);
    r->n -= len + 1;
}

/* remote:control(cmd [, args]) -> result | true | nil, msg, code: the
 * same answers as a started emulator's control. */
static int l_control(lua_State *L)
{
    lremote *r = check(L);
    const char *cmd = luaL_checkstring(L, 2);
    okt_err err;
    okt_err_clear(&err);
    json_t *args = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        args = lokt_to_json(L, 3, &err);
        if (!args)
            return luaL_argerror(L, 3, err.msg);
    }
    if (r->fd < 0) {
        json_decref(args);
        return push_closed(L);
    }
    long long id = ++r->next_id;
    json_t *req = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)id, "cmd",
                            cmd, "args", args ? args : json_object());
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text) {
        okt_err_set(&err, OKT_ENOMEM, "out of memory");
        return lokt_pusherr(L, &err);
    }
    size_t tl = strlen(text);
    int rc = send_all(r, text, tl);
    if (rc == 0)
        rc = send_all(r, "\n", 1);
    free(text);
    if (rc) {
        shut(r);
        return push_closed(L);
    }
    json_t *ans = NULL;
    for (;;) {
        size_t len;
        int code = 0;
        char *line = next_line(r, &len, &code);
        if (!line) {
            shut(r);
            okt_err_set(&err, code, "emulator control channel: %s",
                        code == OKT_ETIMEOUT ? "no answer in time"
                                             : "closed");
            return lokt_pusherr(L, &err);
        }
        json_t *j = json_loadb(line, len, 0, NULL);
        consume(r, len);
        const json_t *jid = json_object_get(j, "id");
        if (json_is_integer(jid) && json_integer_value(jid) == id) {
            ans = j;
            break;
        }
        json_decref(j);   /* a watch record, or an answer we gave up */
    }
    if (!json_is_true(json_object_get(ans, "ok"))) {
        const char *code = json_string_value(json_object_get(ans, "code"));
        const char *msg = json_string_value(json_object_get(ans, "error"));
        lua_pushnil(L);
        lua_pushstring(L, msg ? msg : "refused");
        lua_pushstring(L, code ? code : "server");
        json_decref(ans);
        return 3;
    }
    /* As in emucore's control: the result is small; converting it can
     * only raise on Lua OOM, and then it leaks at worst once. */
    const json_t *res = json_object_get(ans, "result");
    if (res && !json_is_true(res) && !json_is_null(res))
        lokt_push_json(L, res);
    else
        lua_pushboolean(L, 1);
    json_decref(ans);
    return 1;
}

static int info_field(lua_State *L, const char *key)
{
    lua_settop(L, 1);
    lua_pushcfunction(L, l_control);
    lua_pushvalue(L, 1);
    lua_pushliteral(L, "info");
    lua_call(L, 2, 3);
    if (lua_isnil(L, -3))
        return 3;
    lua_pop(L, 2);
    lua_getfield(L, -1, key);
    return 1;
}

static int l_port(lua_State *L)
{
    return info_field(L, "port");
}

static int l_sessions(lua_State *L)
{
    return info_field(L, "sessions");
}

/* close, __gc, __close: the channel only; the emulator keeps running */
static int l_close(lua_State *L)
{
    shut(check(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_tostring(lua_State *L)
{
    lremote *r = check(L);
    if (r->fd >= 0)
        lua_pushfstring(L, "oktell.emulator (attached to %s)", r->spec);
    else
        lua_pushliteral(L, "oktell.emulator (detached)");
    return 1;
}

static const luaL_Reg methods[] = {
    {"control", l_control},
    {"port", l_port},
    {"sessions", l_sessions},
    {"stop", l_close},
    {"close", l_close},
    {NULL, NULL},
};

void lokt_open_remote(lua_State *L)
{
    lokt_newclass(L, MT, methods, l_close, l_tostring);
    lua_pushcfunction(L, l_attach);
    lua_setfield(L, -2, "attach");
}
