/* lcompat.h - one Lua C API for every Lua the binding is built for: 5.1,
 * 5.2, 5.3, 5.4 and LuaJIT 2.1. Every binding file gets lua.h and
 * lauxlib.h through here (lokt.h includes it).
 *
 * Older than 5.3: lua-compat53's compat-5.3.h (Debian lua-compat53-dev)
 * supplies the 5.3 API the binding uses (lua_absindex, luaL_len,
 * luaL_setfuncs, luaL_setmetatable, lua_isinteger, lua_stringtonumber,
 * luaL_Buffer, ...). Its functions are compiled once per module, in
 * lcompat.c, under the prefix okt_compat53_ and with hidden visibility, so
 * that two modules (or a host's own copy) never clash.
 *
 * Older than 5.4: lua_newuserdatauv without user values.
 *
 * Numbers: 5.1, 5.2 and LuaJIT have no integer subtype. There
 * lua_pushinteger pushes an integral double, and lokt_isinteger() accepts
 * any integral number in lua_Integer's range (2.0 counts as 2), where 5.3
 * and 5.4 want the integer subtype. */
#ifndef LCOMPAT_H
#define LCOMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 503
#define COMPAT53_PREFIX okt_compat53
#define COMPAT53_API __attribute__((visibility("hidden"))) extern
#include "compat-5.3.h"
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, size, nuv) \
    ((void)(nuv), lua_newuserdata((L), (size)))
#endif

/* Is the value at idx an integer (see above)? */
static inline int lokt_isinteger(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 503
    return lua_isinteger(L, idx);
#else
    if (lua_type(L, idx) != LUA_TNUMBER)
        return 0;
    lua_Number n = lua_tonumber(L, idx);
    /* the range test first: casting a double outside it is undefined */
    return n >= -9223372036854775808.0 && n < 9223372036854775808.0 &&
           n == (lua_Number)(lua_Integer)n;
#endif
}

#endif
