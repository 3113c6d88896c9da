/* core.c - luaopen_oktell_core: registers every binding file's functions
 * into one module table, plus the loop helpers the Lua scheduler needs
 * (a monotonic clock and poll over several descriptors) and the one UTF-8
 * check of the Lua side (Lua 5.1, 5.2 and LuaJIT have no utf8 library,
 * and 5.3's utf8.len lets surrogates through where 5.4's does not). */
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
        if (!lokt_isinteger(L, -2)) {
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

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* core.utf8_valid(s) -> true | false */
static int l_utf8_valid(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    lua_pushboolean(L, utf8_valid((const unsigned char *)s, n));
    return 1;
}

int luaopen_oktell_core(lua_State *L)
{
    lua_newtable(L);
    lua_pushliteral(L, OKT_VERSION);
    lua_setfield(L, -2, "_VERSION");
    lua_pushinteger(L, LOKT_T_ONLY);
    lua_setfield(L, -2, "T_ONLY");
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, l_poll);
    lua_setfield(L, -2, "poll");
    lua_pushcfunction(L, l_utf8_valid);
    lua_setfield(L, -2, "utf8_valid");
    lokt_open_states(L);
    lokt_open_xml(L);
    lokt_open_conn(L);
    lokt_open_wire(L);
    lokt_open_protocol(L);
    lokt_open_record(L);
    return 1;
}
