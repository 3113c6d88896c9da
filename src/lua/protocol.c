/* protocol.c - oktell.core binding of the protocol table (src/core/protocol.h):
 *   core.protocol() -> {
 *     wire   = {{request, reply, source, reply_source, bare, no_result,
 *                params = {field...}, reply_fields = {field...}}...},
 *     api    = {{lua, com, wire, fixed = {…} | nil, argform = "none" | "table"
 *                | "one", args = {arg...}, ret, field, refusal, extra,
 *                xml_in, xml_out}...},
 *     events = {{lua, id, refname, wire = {…} | nil, subscribe, fields,
 *                source, payload_source}...},
 *     groups = {{name, members = {…}}...},
 *     errors = {{request, error, errormsg, code, meaning, source}...},
 *     shapes = {{name, where, fields = {field...}, source}...},
 *     ext_field, confirm_words = {…}, task_types = {…} }
 *   field = {wire, lua, type, required, secret, core, source}
 *   arg   = {lua, wire, type, required, index, alias, words, lookup, alt_wire}
 *   core.error_code(request, error, errormsg, fallback) -> Lua code string
 * Types and codes are the strings of the Lua API ("int", "not_settable").
 * The Lua client builds its methods and checks from this table, so every
 * wire fact stays written once, in C. */
#include "lokt.h"
#include "protocol.h"
#include "states.h"
#include <math.h>

#include <stdlib.h>
#include <string.h>

#include "b64.h"

static const char *const ptypes[] = {
    [OKT_PT_STRING] = "string",       [OKT_PT_INT] = "int",
    [OKT_PT_BOOL] = "bool",           [OKT_PT_USERSTATE] = "userstate",
    [OKT_PT_LINESTATE] = "linestate", [OKT_PT_OBJECT] = "object",
    [OKT_PT_ARRAY] = "array",         [OKT_PT_STRINGS] = "strings",
    [OKT_PT_ANY] = "any"};
static const char *const atypes[] = {
    [OKT_AT_STRING] = "string",       [OKT_AT_ID] = "id",
    [OKT_AT_BOOL] = "bool",           [OKT_AT_BOOL12] = "bool12",
    [OKT_AT_USERSTATE] = "userstate", [OKT_AT_WORD] = "word",
    [OKT_AT_INT] = "int"};
static const char *const argforms[] = {
    [OKT_ARGS_NONE] = "none", [OKT_ARGS_TABLE] = "table",
    [OKT_ARGS_ONE] = "one"};
static const char *const rets[] = {
    [OKT_RET_TRUE] = "true",           [OKT_RET_TABLE] = "table",
    [OKT_RET_LINESTATE] = "linestate", [OKT_RET_FIELD] = "field",
    [OKT_RET_OK_OR_FALSE] = "ok_or_false",
    [OKT_RET_TASKRESULT] = "taskresult"};

static void set_s(lua_State *L, const char *k, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_b(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v != 0);
    lua_setfield(L, -2, k);
}

static void push_strings(lua_State *L, const char *const *v)
{
    lua_newtable(L);
    for (lua_Integer i = 0; v && v[i]; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_fields(lua_State *L, const okt_field *f)
{
    lua_newtable(L);
    for (lua_Integer i = 0; f && f[i].wire; i++) {
        lua_createtable(L, 0, 7);
        set_s(L, "wire", f[i].wire);
        set_s(L, "lua", f[i].lua);
        set_s(L, "type", ptypes[f[i].type]);
        set_b(L, "required", f[i].flags & OKT_PF_REQUIRED);
        set_b(L, "secret", f[i].flags & OKT_PF_SECRET);
        set_b(L, "core", f[i].flags & OKT_PF_CORE);
        set_s(L, "source", f[i].source);
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_wire(lua_State *L)
{
    size_t n;
    const okt_wire_method *w = okt_proto_wire_methods(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 8);
        set_s(L, "request", w[i].request);
        set_s(L, "reply", w[i].reply);
        set_s(L, "source", w[i].source);
        set_s(L, "reply_source", w[i].reply_source);
        set_b(L, "bare", w[i].bare);
        set_b(L, "no_result", w[i].no_result);
        push_fields(L, w[i].params);
        lua_setfield(L, -2, "params");
        push_fields(L, w[i].reply_fields);
        lua_setfield(L, -2, "reply_fields");
        lua_pushinteger(L, (lua_Integer)i + 1);   /* core.check's ref */
        lua_setfield(L, -2, "fref");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* `fixed` is JSON text in the table: pushed as a Lua table. */
static void push_fixed(lua_State *L, const char *text)
{
    if (!text)
        return;
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        luaL_error(L, "oktell.core: bad fixed params in the protocol table");
    lokt_push_json(L, j);
    json_decref(j);
    lua_setfield(L, -2, "fixed");
}

static void push_api(lua_State *L)
{
    size_t n;
    const okt_api_method *a = okt_proto_api_methods(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 12);
        set_s(L, "lua", a[i].lua);
        set_s(L, "com", a[i].com);
        set_s(L, "wire", a[i].wire);
        push_fixed(L, a[i].fixed);
        set_s(L, "argform", argforms[a[i].argform]);
        lua_newtable(L);
        for (lua_Integer k = 0; a[i].args[k].lua; k++) {
            const okt_arg *g = &a[i].args[k];
            lua_createtable(L, 0, 7);
            set_s(L, "lua", g->lua);
            set_s(L, "wire", g->wire);
            set_s(L, "type", atypes[g->type]);
            set_b(L, "required", g->flags & OKT_AF_REQUIRED);
            set_b(L, "index", g->flags & OKT_AF_INDEX);
            set_b(L, "alias", g->flags & OKT_AF_ALIAS);
            set_s(L, "lookup", g->lookup);
            set_s(L, "alt_wire", g->alt_wire);
            if (g->words) {
                push_strings(L, g->words);
                lua_setfield(L, -2, "words");
            }
            lua_rawseti(L, -2, k + 1);
        }
        lua_setfield(L, -2, "args");
        set_s(L, "ret", rets[a[i].ret]);
        set_s(L, "field", a[i].field);
        set_s(L, "refusal", okt_errname(a[i].refusal));
        set_s(L, "extra", a[i].extra);
        set_s(L, "xml_in", a[i].xml_in);
        set_s(L, "xml_out", a[i].xml_out);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void push_events(lua_State *L)
{
    size_t n;
    const okt_event_def *e = okt_proto_events(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 8);
        set_s(L, "lua", e[i].lua);
        lua_pushinteger(L, e[i].id);
        lua_setfield(L, -2, "id");
        set_s(L, "refname", e[i].refname);
        if (e[i].wire) {
            push_strings(L, e[i].wire);
            lua_setfield(L, -2, "wire");
        }
        set_s(L, "subscribe", e[i].subscribe);
        push_fields(L, e[i].fields);
        lua_setfield(L, -2, "fields");
        lua_pushinteger(L, -(lua_Integer)i - 1);  /* core.check's ref */
        lua_setfield(L, -2, "fref");
        set_s(L, "source", e[i].source);
        set_s(L, "payload_source", e[i].payload_source);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static int l_protocol(lua_State *L)
{
    size_t n;
    lua_createtable(L, 0, 8);
    push_wire(L);
    lua_setfield(L, -2, "wire");
    push_api(L);
    lua_setfield(L, -2, "api");
    push_events(L);
    lua_setfield(L, -2, "events");

    const okt_event_group *g = okt_proto_event_groups(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        set_s(L, "name", g[i].name);
        push_strings(L, g[i].members);
        lua_setfield(L, -2, "members");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "groups");

    const okt_server_error *se = okt_proto_server_errors(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 6);
        set_s(L, "request", se[i].request);
        if (se[i].error) {
            lua_pushinteger(L, (lua_Integer)se[i].error);
            lua_setfield(L, -2, "error");
        }
        set_s(L, "errormsg", se[i].errormsg);
        set_s(L, "code", okt_errname(se[i].code));
        set_s(L, "meaning", se[i].meaning);
        set_s(L, "source", se[i].source);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "errors");

    const okt_shape *sh = okt_proto_shapes(&n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 4);
        set_s(L, "name", sh[i].name);
        set_s(L, "where", sh[i].where);
        push_fields(L, sh[i].fields);
        lua_setfield(L, -2, "fields");
        set_s(L, "source", sh[i].source);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "shapes");

    set_s(L, "ext_field", OKT_PROTO_EXT_FIELD);
    push_strings(L, okt_proto_confirm_words);
    lua_setfield(L, -2, "confirm_words");
    push_strings(L, okt_proto_task_types);
    lua_setfield(L, -2, "task_types");
    return 1;
}

/* core.error_code(request, error, errormsg, fallback): the Lua code of a
 * failed reply; fallback is a code name ("server" when nil). */
static int l_error_code(lua_State *L)
{
    const char *req = luaL_optstring(L, 1, NULL);
    long long error = 0;
    if (lokt_isinteger(L, 2))
        error = (long long)lua_tointeger(L, 2);
    else if (lua_type(L, 2) == LUA_TSTRING) {
        /* real servers send numbers as strings too (§14.1) */
        lua_Integer v;
        if (lua_stringtonumber(L, lua_tostring(L, 2)) && lokt_isinteger(L, -1)) {
            v = lua_tointeger(L, -1);
            error = (long long)v;
        }
        lua_settop(L, 4);
    }
    const char *msg = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
    const char *fb = luaL_optstring(L, 4, "server");
    int fallback = OKT_ESERVER;
    for (int c = 0; c < OKT_ECODE_COUNT; c++)
        if (!strcmp(okt_errname(c), fb))
            fallback = c;
    lua_pushstring(L, okt_errname(okt_proto_error_code(req, error, msg,
                                                       fallback)));
    return 1;
}

/* core.b64decode(s) -> the decoded bytes, or nil, msg, "protocol". The
 * task events carry their text as base64 (textb64). */
static int l_b64decode(lua_State *L)
{
    size_t n, m;
    const char *s = luaL_checklstring(L, 1, &n);
    okt_err e;
    unsigned char *out = okt_b64_decode(s, n, &m, &e);
    if (!out) {
        if (e.code == OKT_EINVAL)
            e.code = OKT_EPROTOCOL;
        return lokt_pusherr(L, &e);
    }
    lua_pushlstring(L, (const char *)out, m);
    free(out);
    return 1;
}

/* core.json_encode(v) -> compact JSON text with sorted keys (jansson), or
 * nil, msg, "invalid" for a value JSON cannot hold. For tools that print
 * what the API returns (bin/oktell --json). */
static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    okt_err e;
    json_t *j = lokt_to_json(L, 1, &e);
    if (!j)
        return lokt_pusherr(L, &e);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    if (!text) {
        okt_err_set(&e, OKT_ENOMEM, "json_encode: out of memory");
        return lokt_pusherr(L, &e);
    }
    lua_pushstring(L, text);
    free(text);
    return 1;
}

/* ---- core.check: a reply's or an event's fields, checked and named ----
 *
 * core.check(d, ref, t, what...) -> checked, t | nil, why
 * d: the message's data table; ref: the field list, n > 0 the reply fields
 * of wire method n (core.protocol().wire[n].fref), n < 0 the payload of
 * event -n (events[-n].fref). checked: the values by wire key, converted
 * (codes given as strings become integers, 0/1 flags booleans); t (made
 * when nil): the values under their Lua names, a state's code as `code`
 * and its short name, a flag left out as false. why (on the first bad or
 * missing field) starts with the what... strings joined. The per-field
 * work the client did in Lua for every reply and event (issue 12). */

static const okt_field *field_list(lua_State *L, lua_Integer ref)
{
    size_t n;
    if (ref > 0) {
        const okt_wire_method *w = okt_proto_wire_methods(&n);
        if ((size_t)ref <= n)
            return w[ref - 1].reply_fields;
    } else if (ref < 0) {
        const okt_event_def *e = okt_proto_events(&n);
        if ((size_t)-ref <= n)
            return e[-ref - 1].fields;
    }
    luaL_argerror(L, 2, "unknown field list");
    return NULL;
}

/* A string of decimal digits (an optional '-' first), as codes come from
 * the wire (§14.1): 1 with *n, or with *real set when it has more digits
 * than an integer surely holds (then *d, when d is given); else 0. */
static int digits_int(const char *s, size_t len, lua_Integer *n, double *d,
                      int *real)
{
    *real = 0;
    size_t i = s[0] == '-';
    if (i == len)
        return 0;
    for (size_t j = i; j < len; j++)
        if (s[j] < '0' || s[j] > '9')
            return 0;
    if (len - i > 18) {
        *real = 1;
        if (d)
            *d = strtod(s, NULL);
        return 1;
    }
    *n = (lua_Integer)strtoll(s, NULL, 10);
    return 1;
}

/* An integer as the client takes it from the wire (§14.1: codes come as
 * numbers or as strings of digits): 1 with *out, else 0. */
static int wire_int(lua_State *L, int idx, lua_Integer *out, int *real)
{
    *real = 0;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        if (lokt_isinteger(L, idx)) {
            *out = lua_tointeger(L, idx);
            return 1;
        }
        lua_Number v = lua_tonumber(L, idx);
        if (v == floor(v) && v > -HUGE_VAL && v < HUGE_VAL) {
            *real = 1;   /* integral but beyond what an integer holds */
            return 1;
        }
        return 0;
    }
    if (lua_type(L, idx) != LUA_TSTRING)
        return 0;
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return digits_int(s, len, out, NULL, real);
}

/* Push the checked value of the field at idx, or return the reason it is
 * refused (nothing pushed). */
static const char *check_value(lua_State *L, int idx, int type)
{
    lua_Integer n = 0;
    int real;
    switch (type) {
    case OKT_PT_STRING:
        if (lua_type(L, idx) != LUA_TSTRING)
            return "a string expected";
        lua_pushvalue(L, idx);
        return NULL;
    case OKT_PT_INT:
        if (!wire_int(L, idx, &n, &real))
            return "an integer expected";
        if (real)
            lua_pushnumber(L, lua_type(L, idx) == LUA_TNUMBER
                                  ? lua_tonumber(L, idx)
                                  : strtod(lua_tostring(L, idx), NULL));
        else
            lua_pushinteger(L, n);
        return NULL;
    case OKT_PT_BOOL:
        if (lua_type(L, idx) == LUA_TBOOLEAN) {
            lua_pushvalue(L, idx);
            return NULL;
        }
        if (lua_type(L, idx) == LUA_TNUMBER &&
            (lua_tonumber(L, idx) == 0 || lua_tonumber(L, idx) == 1)) {
            lua_pushboolean(L, lua_tonumber(L, idx) == 1);
            return NULL;
        }
        return "a boolean expected";
    case OKT_PT_USERSTATE:
        if (!wire_int(L, idx, &n, &real) || real || !okt_userstate_name(n))
            return "a user state code expected";
        lua_pushinteger(L, n);
        return NULL;
    case OKT_PT_LINESTATE:
        if (!wire_int(L, idx, &n, &real)) {
            if (lua_type(L, idx) != LUA_TSTRING)
                return "a line state expected";
            int c = okt_linestate_code(lua_tostring(L, idx));
            if (c < 0)
                return "a line state expected";
            n = c;
        } else if (real) {
            return "a line state expected";
        }
        if (!okt_linestate_name(n))
            return "a line state expected";
        lua_pushinteger(L, n);
        return NULL;
    case OKT_PT_OBJECT:
        if (lua_type(L, idx) != LUA_TTABLE)
            return "an object expected";
        lua_rawgeti(L, idx, 1);
        if (!lua_isnil(L, -1)) {
            /* a non-empty sequence is an array, not an object */
            lua_pop(L, 1);
            return "an object expected";
        }
        lua_pop(L, 1);
        lua_pushvalue(L, idx);
        return NULL;
    case OKT_PT_ARRAY:
        if (lua_type(L, idx) != LUA_TTABLE)
            return "an array expected";
        lua_pushvalue(L, idx);
        return NULL;
    case OKT_PT_STRINGS:
        if (lua_type(L, idx) == LUA_TSTRING) {
            lua_createtable(L, 1, 0);
            lua_pushvalue(L, idx);
            lua_rawseti(L, -2, 1);
            return NULL;
        }
        if (lua_type(L, idx) != LUA_TTABLE)
            return "a list of strings expected";
        for (lua_Integer i = 1;; i++) {
            lua_rawgeti(L, idx, i);
            int ty = lua_type(L, -1);
            lua_pop(L, 1);
            if (ty == LUA_TNIL)
                break;
            if (ty != LUA_TSTRING)
                return "a list of strings expected";
        }
        lua_pushvalue(L, idx);
        return NULL;
    default:
        lua_pushvalue(L, idx);
        return NULL;
    }
}

/* The key strings of a field list as Lua strings, made once per list and
 * kept in a registry table (pushing a kept string costs no hashing of C
 * text): {wire1, lua1 or false, wire2, ..., [KEEP_SLOT] = core.keep's
 * mask of the list, when it was given}. Pushes it. */
#define KEEP_SLOT 0
#define FIELD_KEYS "oktell.fieldkeys"
static void field_keys(lua_State *L, lua_Integer ref, const okt_field *f)
{
    lua_getfield(L, LUA_REGISTRYINDEX, FIELD_KEYS);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, FIELD_KEYS);
    }
    lua_rawgeti(L, -1, ref);
    if (!lua_isnil(L, -1)) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_Integer i = 0;
    for (; f && f->wire; f++) {
        lua_pushstring(L, f->wire);
        lua_rawseti(L, -2, ++i);
        if (f->lua)
            lua_pushstring(L, f->lua);
        else
            lua_pushboolean(L, 0);
        lua_rawseti(L, -2, ++i);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ref);
    lua_remove(L, -2);
}

/* Store a checked value: stack key (the wire one), value; both popped.
 * The value goes into checked under the key, and into t under the
 * field's Lua name (keys[2i + 2]); a state as `code` and its short name. */
static void store_field(lua_State *L, const okt_field *f, int keys, int i,
                        int checked, int t)
{
    if (checked) {
        lua_pushvalue(L, -1);
        lua_insert(L, -3);            /* value, key, value */
        lua_rawset(L, checked);       /* value */
    } else {
        lua_remove(L, -2);            /* value */
    }
    if (!f->lua) {
        lua_pop(L, 1);
    } else if (f->type == OKT_PT_USERSTATE || f->type == OKT_PT_LINESTATE) {
        lua_Integer c = lua_tointeger(L, -1);
        lua_setfield(L, t, "code");
        lua_pushstring(L, f->type == OKT_PT_USERSTATE ? okt_userstate_name(c)
                                                      : okt_linestate_name(c));
        lua_setfield(L, t, f->type == OKT_PT_USERSTATE ? "state" : f->lua);
    } else {
        lua_rawgeti(L, keys, 2 * i + 2);
        lua_insert(L, -2);
        lua_rawset(L, t);
    }
}

/* ---- the same from the JSON a reply came as (conn:pump) ---------------- */

/* Field lists longer than this are pushed whole (the keep mask travels as a
 * Lua number, exact to 53 bits). */
#define KEEP_MAX 52

/* An integer as the client takes it from the wire: 1 with *n (or *d and
 * *real when it is integral but too big), else 0. */
static int json_wire_int(const json_t *v, lua_Integer *n, double *d, int *real)
{
    *real = 0;
    if (json_is_integer(v)) {
        *n = (lua_Integer)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != floor(x))
            return 0;
        *real = 1;
        *d = x;
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    return digits_int(json_string_value(v), json_string_length(v), n, d,
                      real);
}

/* Push the checked value of JSON v as core.check would from the table
 * lokt_push_json makes of it; 0 (nothing pushed) when it is refused.
 * push 0: the check alone (a lean push's field nobody reads), nothing
 * pushed either way. */
static int json_checked(lua_State *L, const json_t *v, int type, int push)
{
    lua_Integer n = 0;
    double d = 0;
    int real;
    switch (type) {
    case OKT_PT_STRING:
        if (!json_is_string(v))
            return 0;
        if (push)
            lua_pushlstring(L, json_string_value(v), json_string_length(v));
        return 1;
    case OKT_PT_INT:
        if (!json_wire_int(v, &n, &d, &real))
            return 0;
        if (!push)
            return 1;
        if (real)
            lua_pushnumber(L, (lua_Number)d);
        else
            lua_pushinteger(L, n);
        return 1;
    case OKT_PT_BOOL:
        if (json_is_boolean(v)) {
            if (push)
                lua_pushboolean(L, json_is_true(v));
            return 1;
        }
        if (json_is_number(v) &&
            (json_number_value(v) == 0 || json_number_value(v) == 1)) {
            if (push)
                lua_pushboolean(L, json_number_value(v) == 1);
            return 1;
        }
        return 0;
    case OKT_PT_USERSTATE:
        if (!json_wire_int(v, &n, &d, &real) || real ||
            !okt_userstate_name(n))
            return 0;
        if (push)
            lua_pushinteger(L, n);
        return 1;
    case OKT_PT_LINESTATE:
        if (!json_wire_int(v, &n, &d, &real)) {
            if (!json_is_string(v))
                return 0;
            int c = okt_linestate_code(json_string_value(v));
            if (c < 0)
                return 0;
            n = c;
        } else if (real) {
            return 0;
        }
        if (!okt_linestate_name(n))
            return 0;
        if (push)
            lua_pushinteger(L, n);
        return 1;
    case OKT_PT_OBJECT:
        /* as a Lua table: an empty array is an empty table too */
        if (!json_is_object(v) && !(json_is_array(v) && !json_array_size(v)))
            return 0;
        if (push)
            lokt_push_json(L, v);
        return 1;
    case OKT_PT_ARRAY:
        if (!json_is_array(v) && !json_is_object(v))
            return 0;
        if (push)
            lokt_push_json(L, v);
        return 1;
    case OKT_PT_STRINGS:
        if (json_is_string(v) && !push)
            return 1;
        if (json_is_string(v)) {
            lua_createtable(L, 1, 0);
            lua_pushlstring(L, json_string_value(v), json_string_length(v));
            lua_rawseti(L, -2, 1);
            return 1;
        }
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *x = json_array_get(v, i);
                if (json_is_null(x))
                    break;   /* the sequence ends there in Lua */
                if (!json_is_string(x))
                    return 0;
            }
        } else if (!json_is_object(v)) {
            return 0;
        }
        if (push)
            lokt_push_json(L, v);
        return 1;
    default:
        if (push)
            lokt_push_json(L, v);
        return 1;
    }
}

/* Did the server refuse (the client's rule, lua/oktell/client.lua
 * Client:_call: result 0, false or "0")? */
static int refused(const json_t *obj)
{
    const json_t *r = json_object_get(obj, OKT_F_RESULT);
    if (!r)
        return 0;
    if (json_is_false(r))
        return 1;
    if (json_is_number(r))
        return json_number_value(r) == 0;
    return json_is_string(r) && !strcmp(json_string_value(r), "0");
}

int lokt_push_checked(lua_State *L, const json_t *obj, int ref, int lean)
{
    size_t n;
    const okt_field *f = NULL;
    if (ref > 0 && okt_proto_wire_methods(&n) && (size_t)ref <= n)
        f = okt_proto_wire_methods(&n)[ref - 1].reply_fields;
    else if (ref < 0 && okt_proto_events(&n) && (size_t)-ref <= n)
        f = okt_proto_events(&n)[-ref - 1].fields;
    if (!f || !json_is_object(obj) || (ref > 0 && refused(obj)))
        return 0;
    int base = lua_gettop(L);
    int nf = 0, nlua = 0;
    for (const okt_field *g = f; g->wire; g++, nf++)
        nlua += g->lua != NULL;
    field_keys(L, ref, f);
    int keys = base + 1;
    /* lean: every field is checked, but the checked table holds only the
     * kept ones (core.keep's mask, kept with the keys; false when none
     * are) */
    if (nf > KEEP_MAX)
        lean = 0;
    uint64_t keep = 1;
    if (lean) {
        lua_rawgeti(L, keys, KEEP_SLOT);
        keep = (uint64_t)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    /* checked; lean: false until a kept field is there (then made) */
    if (lean)
        lua_pushboolean(L, 0);
    else
        lua_createtable(L, 0, nf);
    /* t: the Lua-named fields, a state's second name, an event's id and
     * name (sized to fit: its size is garbage the collector pays for) */
    lua_createtable(L, 0, nlua + 2);
    int checked = base + 2, t = base + 3;
    /* Servers send a message's members in the table's order (ours, and
     * the captures): each field is first looked for at the iterator, in
     * one comparison, before the hash lookup. */
    void *it = json_object_iter((json_t *)obj);
    for (int i = 0; i < nf; i++, f++) {
        const json_t *v;
        if (it && !strcmp(json_object_iter_key(it), f->wire)) {
            v = json_object_iter_value(it);
            it = json_object_iter_next((json_t *)obj, it);
        } else {
            v = json_object_get(obj, f->wire);
        }
        if (!v || json_is_null(v)) {
            if (f->flags & OKT_PF_REQUIRED)
                goto fail;
            if (f->type == OKT_PT_BOOL && f->lua) {
                lua_rawgeti(L, keys, 2 * i + 2);
                lua_pushboolean(L, 0);
                lua_rawset(L, t);
            }
            continue;
        }
        int kept = lean ? (int)((keep >> i) & 1) : 1;
        if (!kept && !f->lua) {
            if (!json_checked(L, v, f->type, 0))   /* checked, not kept */
                goto fail;
            continue;
        }
        lua_rawgeti(L, keys, 2 * i + 1);
        if (!json_checked(L, v, f->type, 1))
            goto fail;
        if (kept && lean && !lua_istable(L, checked)) {
            lua_createtable(L, 0, 2);
            lua_replace(L, checked);
        }
        store_field(L, f, keys, i, kept ? checked : 0, t);   /* key, value */
    }
    lua_remove(L, keys);
    return 1;
fail:
    /* the Lua side checks the plain table again and says what is wrong */
    lua_settop(L, base);
    return 0;
}

/* core.keep(ref, {wire name, ...}): the fields of list ref a lean push
 * (conn:pump with a ref biased by core.T_ONLY) keeps in its checked
 * table; the rest are checked and only their Lua-named copies kept. */
static int l_keep(lua_State *L)
{
    lua_Integer ref = luaL_checkinteger(L, 1);
    const okt_field *f = field_list(L, ref);
    luaL_checktype(L, 2, LUA_TTABLE);
    uint64_t m = 0;
    int nf = 0;
    for (const okt_field *g = f; g && g->wire; g++)
        nf++;
    if (nf > KEEP_MAX)
        return luaL_error(L, "core.keep: list %d has over %d fields", (int)ref, KEEP_MAX);
    for (lua_Integer k = 1;; k++) {
        lua_rawgeti(L, 2, k);
        if (lua_isnil(L, -1))
            break;
        const char *w = luaL_checkstring(L, -1);
        int i = 0;
        for (const okt_field *g = f; g->wire; g++, i++)
            if (!strcmp(g->wire, w))
                break;
        if (i == nf)
            return luaL_error(L, "core.keep: no field '%s' in list %d", w, (int)ref);
        m |= (uint64_t)1 << i;
        lua_pop(L, 1);
    }
    field_keys(L, ref, f);
    lua_pushnumber(L, (lua_Number)m);
    lua_rawseti(L, -2, KEEP_SLOT);
    return 0;
}

static int check_failed(lua_State *L, int nwhat, int shown, const char *fmt,
                        const char *wire, const char *why)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < nwhat; i++) {
        lua_pushvalue(L, 4 + i);
        luaL_addvalue(&b);
    }
    if (shown)
        lua_pushfstring(L, fmt, wire, lua_tostring(L, shown), why);
    else
        lua_pushfstring(L, fmt, wire);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int l_check(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer ref = luaL_checkinteger(L, 2);
    const okt_field *f = field_list(L, ref);
    int top = lua_gettop(L);
    int nf = 0;
    for (const okt_field *g = f; g && g->wire; g++)
        nf++;
    if (lua_isnoneornil(L, 3)) {
        lua_settop(L, top < 3 ? 3 : top);
        lua_createtable(L, 0, nf + 1);
        lua_replace(L, 3);
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
    }
    int nwhat = top > 3 ? top - 3 : 0;
    field_keys(L, ref, f);
    int keys = lua_gettop(L);
    lua_createtable(L, 0, nf);   /* checked */
    int checked = lua_gettop(L);
    for (int i = 0; i < nf; i++, f++) {
        lua_rawgeti(L, keys, 2 * i + 1);   /* the wire key */
        lua_pushvalue(L, -1);
        lua_rawget(L, 1);
        int v = lua_gettop(L);             /* key at v - 1 */
        if (lua_isnil(L, v)) {
            if (f->flags & OKT_PF_REQUIRED) {
                lua_settop(L, checked);
                return check_failed(L, nwhat, 0, ": field '%s' missing",
                                    f->wire, NULL);
            }
            if (f->type == OKT_PT_BOOL && f->lua) {
                lua_rawgeti(L, keys, 2 * i + 2);
                lua_pushboolean(L, 0);
                lua_rawset(L, 3);
            }
            lua_pop(L, 2);
            continue;
        }
        const char *why = check_value(L, v, f->type);
        if (why) {
            luaL_tolstring(L, v, NULL);
            return check_failed(L, nwhat, lua_gettop(L),
                                ": field '%s' is %s (%s)", f->wire, why);
        }
        /* stack: key, v, converted */
        lua_pushvalue(L, v - 1);
        lua_insert(L, -2);
        store_field(L, f, keys, i, checked, 3);
        lua_pop(L, 2);   /* key, v */
    }
    lua_pushvalue(L, 3);
    return 2;
}

void lokt_open_protocol(lua_State *L)
{
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_b64decode);
    lua_setfield(L, -2, "b64decode");
    lua_pushcfunction(L, l_protocol);
    lua_setfield(L, -2, "protocol");
    lua_pushcfunction(L, l_error_code);
    lua_setfield(L, -2, "error_code");
    lua_pushcfunction(L, l_check);
    lua_setfield(L, -2, "check");
    lua_pushcfunction(L, l_keep);
    lua_setfield(L, -2, "keep");
}
