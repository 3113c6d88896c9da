/* aux.c - JSON <-> Lua conversion and error pushing, shared by every
 * binding file. */
#include "lokt.h"

#include <math.h>
#include <string.h>

int lokt_pusherr(lua_State *L, const okt_err *err)
{
    lua_pushnil(L);
    lua_pushstring(L, err->msg[0] ? err->msg : okt_errname(err->code));
    lua_pushstring(L, okt_errname(err->code));
    return 3;
}

void lokt_newclass(lua_State *L, const char *name, const luaL_Reg *methods,
                   lua_CFunction close, lua_CFunction tostring)
{
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);    /* luaL_newlib needs an array, not a pointer */
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

static void push_json(lua_State *L, const json_t *v, int depth)
{
    /* Input came through jansson's parser or our own builders, both depth
     * bounded; the stack check guards deep-but-legal trees. */
    luaL_checkstack(L, 4, "oktell: JSON too deep");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, key, val) {
            if (json_is_null(val))
                continue;
            push_json(L, val, depth + 1);
            lua_setfield(L, -2, key);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i, n = json_array_size(v);
        lua_createtable(L, (int)n, 0);
        for (i = 0; i < n; i++) {
            push_json(L, json_array_get(v, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushnil(L);
        break;
    }
}

void lokt_push_json(lua_State *L, const json_t *v)
{
    if (!v)
        lua_pushnil(L);
    else
        push_json(L, v, 0);
}

/* Length of the table's sequence if its keys are exactly 1..n, else 0. */
static lua_Integer seq_len(lua_State *L, int idx)
{
    lua_Integer n = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lokt_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (k > max)
            max = k;
        n++;
    }
    return n == max ? n : 0;
}

static json_t *to_json(lua_State *L, int idx, okt_err *err, unsigned depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER: {
        json_t *j;
        if (lokt_isinteger(L, idx)) {
            j = json_integer((json_int_t)lua_tointeger(L, idx));
        } else {
            lua_Number d = lua_tonumber(L, idx);
            if (!isfinite(d)) {   /* jansson refuses NaN and inf */
                okt_err_set(err, OKT_EINVAL, "cannot convert %s (not a "
                            "finite number)", d != d ? "nan" : "inf");
                return NULL;
            }
            j = json_real(d);
        }
        if (!j)
            okt_err_set(err, OKT_ENOMEM, "out of memory");
        return j;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j)
            okt_err_set(err, OKT_EINVAL, "string is not valid UTF-8");
        return j;
    }
    case LUA_TTABLE:
        break;
    default:
        okt_err_set(err, OKT_EINVAL, "cannot convert a %s",
                    luaL_typename(L, idx));
        return NULL;
    }
    if (depth >= OKT_MAX_JSON_DEPTH) {
        okt_err_set(err, OKT_EINVAL, "table nested deeper than %u (a cycle?)",
                    OKT_MAX_JSON_DEPTH);
        return NULL;
    }
    if (!lua_checkstack(L, 6)) {
        okt_err_set(err, OKT_ENOMEM, "Lua stack exhausted");
        return NULL;
    }
    lua_Integer n = seq_len(L, idx);
    json_t *out;
    if (n > 0) {
        out = json_array();
        for (lua_Integer i = 1; out && i <= n; i++) {
            lua_rawgeti(L, idx, i);
            json_t *e = to_json(L, -1, err, depth + 1);
            lua_pop(L, 1);
            if (!e || json_array_append_new(out, e) != 0) {
                if (e)
                    okt_err_set(err, OKT_ENOMEM, "out of memory");
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    out = json_object();
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
        char buf[32];
        const char *key;
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t klen;
            key = lua_tolstring(L, -2, &klen);
            if (strlen(key) != klen) {   /* C would cut the key there */
                okt_err_set(err, OKT_EINVAL, "table key holds a NUL byte");
                lua_pop(L, 2);
                json_decref(out);
                return NULL;
            }
        } else if (lokt_isinteger(L, -2)) {
            snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, -2));
            key = buf;
        } else {
            okt_err_set(err, OKT_EINVAL, "table key of type %s",
                        luaL_typename(L, -2));
            lua_pop(L, 2);
            json_decref(out);
            return NULL;
        }
        json_t *e = to_json(L, -1, err, depth + 1);
        lua_pop(L, 1);
        /* e == NULL: the value's own reason is in err already */
        if (!e || json_object_set_new(out, key, e) != 0) {
            if (e)
                okt_err_set(err, OKT_EINVAL, "table key is not valid UTF-8");
            lua_pop(L, 1);
            json_decref(out);
            return NULL;
        }
    }
    if (!out)
        okt_err_set(err, OKT_ENOMEM, "out of memory");
    return out;
}

json_t *lokt_to_json(lua_State *L, int idx, okt_err *err)
{
    okt_err_clear(err);
    return to_json(L, idx, err, 0);
}
