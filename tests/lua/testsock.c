/* testsock.c - tests.testsock, a tiny blocking TCP client for the specs
 * only (spec/wire_spec.lua, spec/ngx_spec.lua): oktell has no socket
 * library of its own to offer Lua, and the sans-IO wire needs a host to
 * move its bytes. Built into $(B)/$(LUA)/tests/testsock.so per Lua ABI;
 * never installed.
 *
 *   fd | nil, err = testsock.connect(host, port)
 *   n | nil, err = testsock.send(fd, bytes)            (all of them)
 *   bytes | nil, "timeout" | "closed" | err = testsock.recv(fd, max, seconds)
 *   testsock.close(fd)
 */
#include <lua.h>
#include <lauxlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(lua_State *L, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(errno));
    return 2;
}

static int l_connect(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    int port = (int)luaL_checkinteger(L, 2);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return luaL_argerror(L, 1, "an IPv4 address expected");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(L, "socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return fail(L, "connect");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    lua_pushinteger(L, fd);
    return 1;
}

static int l_send(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return fail(L, "send");
        off += (size_t)k;
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int l_recv(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    lua_Integer max = luaL_checkinteger(L, 2);
    lua_Number t = luaL_optnumber(L, 3, -1);
    luaL_argcheck(L, max > 0 && max <= (1 << 24), 2, "1 .. 16 MiB");
    int ms = t < 0 ? -1 : (int)ceil(t * 1000.0);
    struct pollfd p = {fd, POLLIN, 0};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return fail(L, "poll");
    if (r == 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "timeout");
        return 2;
    }
    char *buf = malloc((size_t)max);
    if (!buf)
        return luaL_error(L, "out of memory");
    ssize_t k;
    do
        k = recv(fd, buf, (size_t)max, 0);
    while (k < 0 && errno == EINTR);
    if (k <= 0) {
        int e = errno;
        free(buf);
        lua_pushnil(L);
        if (k == 0)
            lua_pushliteral(L, "closed");
        else
            lua_pushfstring(L, "recv: %s", strerror(e));
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)k);   /* (a memory error here leaks buf:
                                             acceptable in a test helper) */
    free(buf);
    return 1;
}

static int l_close(lua_State *L)
{
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

int luaopen_tests_testsock(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"connect", l_connect}, {"send", l_send}, {"recv", l_recv},
        {"close", l_close}, {NULL, NULL},
    };
    lua_newtable(L);
    /* not luaL_setfuncs: Lua 5.1 and LuaJIT have none */
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    return 1;
}
