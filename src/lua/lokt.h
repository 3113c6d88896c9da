/* lokt.h - shared helpers of the oktell.core binding (src/lua), also used
 * by the emulator's oktell.emucore (src/lua-emu).
 * The binding holds no protocol logic: check arguments, make one core call,
 * push the result. Runtime failures are pushed as nil, message, code. */
#ifndef LOKT_H
#define LOKT_H

#include "lcompat.h"   /* lua.h, lauxlib.h, and the 5.3 API on 5.1/5.2/LuaJIT */
#include <jansson.h>

#include "okt.h"

/* Push nil, err->msg, okt_errname(err->code); returns 3. */
int lokt_pusherr(lua_State *L, const okt_err *err);

/* Push a JSON value as Lua: object -> table, array -> sequence, string,
 * integer, real, boolean; null -> nil (as a table field: absent).
 * Raises only on Lua memory errors (caller must not hold C memory then). */
void lokt_push_json(lua_State *L, const json_t *v);

/* Convert the Lua value at idx into a new JSON value (caller owns it).
 * A table whose keys are exactly 1..n (n >= 1) becomes an array, any other
 * table an object (keys must be strings, or integers written as strings);
 * an empty table becomes an empty object. Strings must be valid UTF-8.
 * Nesting beyond OKT_MAX_JSON_DEPTH (or a cycle) fails. Returns NULL and
 * fills err (code OKT_EINVAL) on an unconvertible value; never raises. */
json_t *lokt_to_json(lua_State *L, int idx, okt_err *err);

/* Create (once) the metatable `name` for a box userdata: methods as
 * __index, `close` as __gc and __close (one idempotent function, as
 * LuaSocket does), and __tostring. Leaves the stack as it was. */
void lokt_newclass(lua_State *L, const char *name, const luaL_Reg *methods,
                   lua_CFunction close, lua_CFunction tostring);

/* Registration hooks: each adds its functions to the table on the top of
 * the stack (the oktell.core module table). One per binding file. */
void lokt_open_states(lua_State *L);
void lokt_open_xml(lua_State *L);
void lokt_open_conn(lua_State *L);
void lokt_open_protocol(lua_State *L);

#endif
