/* record.c - oktell.core binding of the recording format (src/core/
 * record.h), for lua/oktell/record.lua:
 *   core.record_line(t_seconds, dir, frame) -> line (no newline)
 *   core.record_header(version, login, url) -> line
 * Each line is made by the core, which masks secrets once more. */
#include "lokt.h"
#include "record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pushes the C string its light userdata points to: run under lua_pcall
 * so that a Lua memory error cannot leak the malloc'd line. */
static int push_text(lua_State *L)
{
    lua_pushstring(L, lua_touserdata(L, 1));
    return 1;
}

/* Push line (malloc'd, freed here) as a string; NULL raises "out of
 * memory". */
static int push_line(lua_State *L, char *line)
{
    if (!line)
        return luaL_error(L, "record: out of memory");
    lua_pushcfunction(L, push_text);
    lua_pushlightuserdata(L, line);
    int rc = lua_pcall(L, 1, 1, 0);
    free(line);
    if (rc != 0)
        return lua_error(L);
    return 1;
}

static int l_record_line(lua_State *L)
{
    lua_Number t = luaL_checknumber(L, 1);
    size_t dl, fl;
    const char *dir = luaL_checklstring(L, 2, &dl);
    const char *frame = luaL_checklstring(L, 3, &fl);
    luaL_argcheck(L, dl == 1 && (*dir == '>' || *dir == '<' || *dir == '!'),
                  2, "\">\", \"<\" or \"!\" expected");
    /* NaN and negatives are 0; an absurd offset is capped (a year) */
    double ms = t == t && t > 0 ? floor(t * 1000.0 + 0.5) : 0.0;
    if (ms > 366.0 * 86400000.0)
        ms = 366.0 * 86400000.0;
    luaL_checkstack(L, 3, NULL);
    return push_line(L, okt_record_line((int64_t)ms, *dir, frame, fl));
}

static int l_record_header(lua_State *L)
{
    const char *s[3];
    for (int i = 0; i < 3; i++) {
        size_t n;
        s[i] = luaL_checklstring(L, i + 1, &n);
        luaL_argcheck(L, strlen(s[i]) == n, i + 1, "NUL byte in text");
    }
    const char *version = s[0], *login = s[1], *url = s[2];
    luaL_checkstack(L, 3, NULL);
    char *line = okt_record_header(version, login, url);
    if (!line)
        return luaL_error(L, "record: login and url must be UTF-8");
    return push_line(L, line);
}

void lokt_open_record(lua_State *L)
{
    lua_pushcfunction(L, l_record_line);
    lua_setfield(L, -2, "record_line");
    lua_pushcfunction(L, l_record_header);
    lua_setfield(L, -2, "record_header");
}
