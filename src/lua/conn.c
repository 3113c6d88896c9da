/* conn.c - placeholder registration until this binding file is written. */
#include "lokt.h"

void lokt_open_conn(lua_State *L)
{
    (void)L;
}
