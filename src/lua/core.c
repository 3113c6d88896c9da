/* core.c - luaopen_oktell_core: registers every binding file's functions
 * into one module table, plus the loop helpers the Lua scheduler needs
 * (a monotonic clock and poll over several descriptors). */
#include "lokt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)okt_now_ms() / 1000.0);
    return 1;
}

/* poll({fd, events, fd, events, ...}, timeout_seconds_or_nil)
 * events are "r", "w" or "rw"; returns a table fd -> "r"/"w"/"rw"/"e" of
 * ready descriptors (empty on timeout). EINTR counts as a timeout. */
static int l_poll(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int timeout_ms = -1;
    if (!lua_isnoneornil(L, 2)) {
        lua_Number t = luaL_checknumber(L, 2);
        /* Round up, as cqueues f2ms does, so a deadline is never polled
         * early into a busy loop. */
        if (t != t || t < 0)
            timeout_ms = 0;
        else if (t > 2000000.0)
            timeout_ms = 2000000000;
        else
            timeout_ms = (int)ceil(t * 1000.0);
    }
    lua_Integer n = (lua_Integer)luaL_len(L, 1) / 2;
    if (n > 65536)
        return luaL_argerror(L, 1, "too many descriptors");
    struct pollfd stackfds[64];
    struct pollfd *fds = n <= 64 ? stackfds : malloc(sizeof *fds * (size_t)n);
    if (!fds)
        return luaL_error(L, "out of memory");
    nfds_t k = 0;
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, 1, 2 * i + 1);
        lua_rawgeti(L, 1, 2 * i + 2);
        if (!lua_isinteger(L, -2)) {
            /* a non-integer used to be polled as fd 0 */
            if (fds != stackfds)
                free(fds);
            return luaL_argerror(L, 1, "descriptor expected at odd index");
        }
        lua_Integer fdi = lua_tointeger(L, -2);
        int fd = fdi > INT_MAX ? -1 : (int)fdi;
        size_t evlen = 0;
        const char *ev = lua_tolstring(L, -1, &evlen);
        short e = 0;
        /* only the bytes the string has: "" is one byte long */
        if (ev && memchr(ev, 'r', evlen < 2 ? evlen : 2))
            e |= POLLIN;
        if (ev && memchr(ev, 'w', evlen < 2 ? evlen : 2))
            e |= POLLOUT;
        lua_pop(L, 2);
        if (fd < 0)
            continue;
        fds[k].fd = fd;
        fds[k].events = e;
        fds[k].revents = 0;
        k++;
    }
    int rc = poll(fds, k, timeout_ms);
    int saved = errno;
    lua_createtable(L, 0, rc > 0 ? rc : 0);
    for (nfds_t i = 0; rc > 0 && i < k; i++) {
        short r = fds[i].revents;
        if (!r)
            continue;
        const char *s = (r & (POLLERR | POLLHUP | POLLNVAL)) ? "e"
                        : (r & POLLIN) && (r & POLLOUT) ? "rw"
                        : (r & POLLIN)                  ? "r"
                                                        : "w";
        lua_pushstring(L, s);
        lua_rawseti(L, -2, fds[i].fd);
    }
    if (fds != stackfds)
        free(fds);
    if (rc < 0 && saved != EINTR) {
        lua_pop(L, 1);
        okt_err e;
        okt_err_set(&e, OKT_EINVAL, "poll: %s", strerror(saved));
        return lokt_pusherr(L, &e);
    }
    return 1;
}

int luaopen_oktell_core(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, l_poll);
    lua_setfield(L, -2, "poll");
    lokt_open_states(L);
    lokt_open_xml(L);
    lokt_open_conn(L);
    lokt_open_wire(L);
    lokt_open_protocol(L);
    return 1;
}
