/* lokt.h - shared helpers of the oktell.core binding (src/lua), also used
 * by the emulator's oktell.emucore (src/lua-emu).
 * The binding holds no protocol logic: check arguments, make one core call,
 * push the result. Runtime failures are pushed as nil, message, code. */
#ifndef LOKT_H
#define LOKT_H

#include "lcompat.h"   /* lua.h, lauxlib.h, and the 5.3 API on 5.1/5.2/LuaJIT */
#include <jansson.h>

#include "okt.h"
#include "session.h"

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

/* --- what core.connect and core.wire share (session.c) ---
 * Option tables: a field of the wrong type raises luaL_error in the words
 * of luaL_argerror ("bad argument #n to 'fname' (...)"). */

/* The string at idx as C text; raises when it holds a NUL byte, which C
 * would silently cut there ("123\0x" logging in as "123"). */
const char *lokt_c_text(lua_State *L, int idx, const char *key, int argn,
                        const char *fname);
/* A string field or nil; the table at idx anchors the string. */
const char *lokt_opt_string(lua_State *L, int idx, const char *key,
                            const char *fname);
/* A boolean field, or dflt when nil. */
int lokt_opt_bool(lua_State *L, int idx, const char *key, int dflt,
                  const char *fname);
/* Seconds (a number > 0) as ms, rounded up; 0 when absent. */
int lokt_opt_seconds(lua_State *L, int idx, const char *key, int argn,
                     const char *fname);
/* A size in bytes: an integral number from min to max; 0 when absent. */
size_t lokt_opt_bytes(lua_State *L, int idx, const char *key, size_t min,
                      size_t max, const char *fname);

#define LOKT_MAX_SUBSCRIBE 64
/* The session options of the table at idx into cfg: login (required),
 * password, timeout, open_timeout, ping (seconds), subscribe (a list of at
 * most LOKT_MAX_SUBSCRIBE names, kept in subs), trace. Pushes two values
 * (login, subscribe) that anchor the strings cfg points to: keep them on
 * the stack while cfg is in use. */
void lokt_session_opts(lua_State *L, int idx, const char *fname,
                       okt_session_cfg *cfg,
                       const char *subs[LOKT_MAX_SUBSCRIBE + 1]);

/* The request arguments at 2..4 (method, params table or nil, timeout in
 * seconds or nil): returns the method; *params gets a new JSON object or
 * NULL, *timeout_ms 0 for the session's. Raises on misuse, holding
 * nothing then. */
const char *lokt_request_args(lua_State *L, json_t **params, int *timeout_ms);
/* The name of an okt_session_state() value: "handshake", "login",
 * "ready", "redirect", "closed". */
void lokt_push_state(lua_State *L, int state);
/* nil, "connection closed", "closed": any method of a closed box. */
int lokt_push_closed(lua_State *L);
/* The table next_event gives for ev: {type = "reply" | "error" | "event" |
 * "ready" | "closed", id, name, data, message, code}. */
void lokt_push_event(lua_State *L, const okt_event *ev);
/* A message's data (obj) checked against field list ref (core.check's
 * ref: > 0 a wire method's reply fields, then only a reply the server did
 * not refuse; < 0 an event's payload): pushes the checked values by wire
 * key and the Lua-named table, as core.check makes them, and returns 1;
 * returns 0 with nothing pushed otherwise. lean: every field is checked
 * all the same, but the first table holds only the fields core.keep named
 * for ref (false in its place when none were): the client reads no more
 * of it. */
int lokt_push_checked(lua_State *L, const json_t *obj, int ref, int lean);
/* Added to a ref (an event's fref in conn:pump's checks, subtracted; a
 * reply's check in conn:request, added) for a lean push (core.T_ONLY). */
#define LOKT_T_ONLY 0x100000
/* {{dir = ">" | "<", frame = text}, ...}: the records next() hands out.
 * *text is the record being pushed, owned by the caller's box so that a
 * Lua error while pushing leaks nothing. Pushes 1 value. */
typedef int (*lokt_next_trace)(void *src, int *dir, char **text);
int lokt_push_trace(lua_State *L, lokt_next_trace next, void *src,
                    char **text);

/* Registration hooks: each adds its functions to the table on the top of
 * the stack (the oktell.core module table). One per binding file. */
void lokt_open_states(lua_State *L);
void lokt_open_xml(lua_State *L);
void lokt_open_conn(lua_State *L);
void lokt_open_wire(lua_State *L);
void lokt_open_protocol(lua_State *L);
void lokt_open_record(lua_State *L);

#endif
